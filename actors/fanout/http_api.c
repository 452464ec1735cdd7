/*
 * actors/fanout/http_api.c -- the HTTP API's routes (docs/http-api.md).
 *
 * Design.  tr__api_handle is a pure function of a parsed request: it splits
 * the path into segments, finds the route (unknown path -> 404, known path
 * with another method -> 405), checks the bearer token on every POST when
 * server.auth_token is set (401), and calls the handler, which talks to the
 * engine directly.  It runs on the server's service thread, which is not a
 * runtime worker, so the *_sync state calls and emergency transitions (an
 * fsync each) may block it briefly: the API is an operator's tool, not a hot
 * path.  Every body is JSON built with jansson, errors included:
 * {"error": "...", "status": N}.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "actors/fanout/fanout_internal.h"

#define STORE_TIMEOUT_MS 5000
#define HISTORY_DEFAULT 20
#define HISTORY_MAX 1000

static void set_body(tr__http_resp *resp, int status, char *text)
{
    free(resp->body);
    resp->status = text ? status : 500;
    resp->content_type = "application/json";
    resp->body = text;
    resp->body_len = text ? strlen(text) : 0;
}

/* Respond with obj (its reference is consumed). */
static void json_resp(tr__http_resp *resp, int status, json_t *obj)
{
    /* 15 significant digits: every real we produce (times, P&L, limits)
     * prints as written (1.443, not 1.4430000000000001). */
    set_body(resp, status,
             obj ? json_dumps(obj, JSON_COMPACT | JSON_REAL_PRECISION(15)) : NULL);
    json_decref(obj);
}

void tr__api_error(tr__http_resp *resp, int status, const char *msg)
{
    json_resp(resp, status, json_pack("{s:s,s:i}", "error", msg, "status", status));
}

static const char *arg_get(const tr__http_req *req, const char *name)
{
    size_t n = strlen(name);
    for (unsigned i = 0; i < req->nargs; i++)
        if (strncmp(req->args[i], name, n) == 0 && req->args[i][n] == '=')
            return req->args[i] + n + 1;
    return NULL;
}

bool tr__token_eq(const char *want, const char *got)
{
    size_t n = strlen(want), m = strlen(got);
    unsigned diff = (unsigned)(n ^ m);
    for (size_t i = 0; i < n; i++) /* constant time in the token's length */
        diff |= (unsigned char)want[i] ^ (unsigned char)(i < m ? got[i] : 0);
    return diff == 0;
}

static bool authorized(const tr__api *api, const tr__http_req *req)
{
    if (api->auth_token == NULL || api->auth_token[0] == '\0')
        return true;
    return strncmp(req->auth, "Bearer ", 7) == 0 && tr__token_eq(api->auth_token, req->auth + 7);
}

/* The request body as a JSON object, or NULL after a 400. */
static json_t *body_object(const tr__http_req *req, tr__http_resp *resp)
{
    json_error_t jerr;
    json_t *b = req->body ? json_loadb(req->body, req->body_len, 0, &jerr) : NULL;
    if (!json_is_object(b)) {
        json_decref(b);
        tr__api_error(resp, 400, req->body ? "body must be a JSON object" : "body required");
        return NULL;
    }
    return b;
}

/* ---- health and emergency ----------------------------------------------- */

static void health(const tr__api *api, tr__http_resp *resp)
{
    tr_emergency_controller *g = tr_emergency_global(tr_engine_emergency(api->engine));
    tr_emergency_status st;
    const char *em = tr_emergency_status_get(g, &st) == 0 ? tr_emergency_state_name(st.effective)
                                                          : "unknown";
    double up = (double)(tr__serve_mono_ms() - api->started_ms) / 1000.0;
    json_resp(resp, 200,
              json_pack("{s:s,s:f,s:i,s:s}", "status", "ok", "uptime_s", up, "workers",
                        (int)tr_runtime_workers(tr_engine_runtime(api->engine)), "emergency",
                        em));
}

static tr_emergency_controller *controller_of(const tr__api *api, const char *id,
                                              tr__http_resp *resp)
{
    tr_emergency *em = tr_engine_emergency(api->engine);
    tr_emergency_controller *ctl = NULL;
    if (id == NULL)
        return tr_emergency_global(em);
    if (tr_emergency_controller_get(em, id, &ctl) != 0) {
        tr__api_error(resp, 400, "invalid controller id");
        return NULL;
    }
    return ctl;
}

static void status_resp(tr_emergency_controller *ctl, tr__http_resp *resp)
{
    char *json = NULL;
    if (tr_emergency_status_json(ctl, &json, NULL) != 0)
        tr__api_error(resp, 500, "cannot read the emergency status");
    else
        set_body(resp, 200, json);
}

static void emergency_get(const tr__api *api, const tr__http_req *req, tr__http_resp *resp)
{
    tr_emergency_controller *ctl = controller_of(api, arg_get(req, "controller"), resp);
    if (ctl != NULL)
        status_resp(ctl, resp);
}

static void emergency_post(const tr__api *api, const tr__http_req *req, const char *action,
                           tr__http_resp *resp)
{
    json_t *b = body_object(req, resp);
    if (b == NULL)
        return;
    const char *reason = json_string_value(json_object_get(b, "reason"));
    const char *cid = arg_get(req, "controller");
    if (cid == NULL)
        cid = json_string_value(json_object_get(b, "controller"));
    tr_emergency_controller *ctl;
    if (reason == NULL) {
        tr__api_error(resp, 400, "reason (a string) is required");
    } else if ((ctl = controller_of(api, cid, resp)) != NULL) {
        int rc;
        if (strcmp(action, "halt") == 0) {
            rc = tr_emergency_halt(ctl, reason);
        } else if (strcmp(action, "resume") == 0) {
            rc = tr_emergency_resume(ctl, reason);
        } else if (strcmp(action, "shutdown") == 0) {
            rc = tr_emergency_shutdown(ctl, reason);
        } else {
            json_t *c = json_object_get(b, "context");
            char *ctx = c ? json_dumps(c, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
            rc = tr_emergency_alert(ctl, reason, ctx);
            free(ctx);
        }
        if (rc == 0)
            status_resp(ctl, resp);
        else if (rc == TR_ESTATE)
            tr__api_error(resp, 409, tr_emergency_last_error());
        else
            tr__api_error(resp, rc == TR_EINVAL ? 400 : 500, tr_strerror(rc));
    }
    json_decref(b);
}

/* ---- workflows ------------------------------------------------------------ */

static void list_one(void *arg, const tr_wf_plan *plan)
{
    const char *bot = tr_wf_plan_bot_id(plan), *strat = tr_wf_plan_strategy_id(plan);
    const char *name = tr_wf_plan_name(plan);
    uint64_t every = tr_wf_plan_every_ms(plan);
    json_t *o = json_pack("{s:s,s:s?,s:s?,s:s?,s:I}", "id", tr_wf_plan_id(plan), "name", name,
                          "bot_id", bot, "strategy_id", strat, "node_count",
                          (json_int_t)tr_wf_plan_node_count(plan));
    if (o == NULL)
        return;
    json_object_set_new(o, "schedule_every_ms", every ? json_integer((json_int_t)every)
                                                      : json_null());
    json_array_append_new(arg, o);
}

static int by_id(const void *a, const void *b)
{
    const json_t *x = *(json_t *const *)a, *y = *(json_t *const *)b;
    return strcmp(json_string_value(json_object_get(x, "id")),
                  json_string_value(json_object_get(y, "id")));
}

static void workflows_get(const tr__api *api, tr__http_resp *resp)
{
    json_t *all = json_array();
    if (all == NULL)
        return tr__api_error(resp, 500, "out of memory");
    tr_engine_workflows(api->engine, list_one, all);
    size_t n = json_array_size(all);
    json_t **v = calloc(n ? n : 1, sizeof(*v));
    json_t *sorted = json_array();
    if (v != NULL && sorted != NULL) {
        for (size_t i = 0; i < n; i++)
            v[i] = json_array_get(all, i);
        qsort(v, n, sizeof(*v), by_id);
        for (size_t i = 0; i < n; i++)
            json_array_append(sorted, v[i]);
    }
    free(v);
    json_decref(all);
    json_resp(resp, 200, sorted);
}

static void workflows_post(const tr__api *api, const tr__http_req *req, tr__http_resp *resp)
{
    if (req->body == NULL || req->body_len == 0)
        return tr__api_error(resp, 400, "body required: a workflow definition");
    tr_wf_problems *probs = NULL;
    if (tr_wf_problems_new(&probs) != 0)
        return tr__api_error(resp, 500, "out of memory");
    tr_wf_plan *plan = NULL;
    int rc = tr_wf_parse_json(tr_engine_registry(api->engine), req->body, req->body_len,
                              "request", &plan, probs);
    if (rc != 0) {
        json_t *list = json_array();
        for (size_t k = 0; k < tr_wf_problems_count(probs); k++) {
            char line[1024];
            tr_wf_problem_format(tr_wf_problems_at(probs, k), line, sizeof line);
            json_array_append_new(list, json_string(line));
        }
        tr_wf_problems_free(probs);
        return json_resp(resp, 400,
                         json_pack("{s:s,s:i,s:o}", "error", "invalid workflow", "status",
                                   400, "problems", list));
    }
    tr_wf_problems_free(probs);
    rc = tr_engine_add_plan(api->engine, plan);
    if (rc == 0)
        json_resp(resp, 201, json_pack("{s:s,s:i}", "id", tr_wf_plan_id(plan), "node_count",
                                       (int)tr_wf_plan_node_count(plan)));
    else
        tr__api_error(resp, rc == TR_ENOMEM ? 500 : 400, tr_strerror(rc));
    tr_wf_plan_free(plan);
}

static void execute(const tr__api *api, const char *id, tr__http_resp *resp)
{
    tr_wf_plan *plan;
    if (tr_engine_plan_get(api->engine, id, &plan) != 0)
        return tr__api_error(resp, 404, "unknown workflow");
    tr_emergency *em = tr_engine_emergency(api->engine);
    tr_emergency_controller *g = tr_emergency_global(em), *ctl = g;
    const char *bot = tr_wf_plan_bot_id(plan);
    if (bot != NULL && tr_emergency_controller_get(em, bot, &ctl) != 0)
        ctl = g;
    tr_wf_plan_free(plan);
    tr_emergency_status own, glob;
    if (tr_emergency_status_get(ctl, &own) != 0 || tr_emergency_status_get(g, &glob) != 0)
        return tr__api_error(resp, 503, "emergency state unreadable");
    if (own.effective >= TR_EMERGENCY_HALT) {
        const tr_emergency_status *why = glob.state >= own.state ? &glob : &own;
        const char *err = own.effective == TR_EMERGENCY_SHUTDOWN ? "shutdown" : "halted";
        return json_resp(resp, 503,
                         json_pack("{s:s,s:s,s:s,s:i}", "error", err, "reason",
                                   why->halt_reason[0] ? why->halt_reason : why->reason,
                                   "controller_id", why->controller_id, "status", 503));
    }
    char exec_id[TR_EXEC_ID_MAX];
    int rc = tr_engine_execute(api->engine, id, NULL, NULL, exec_id);
    if (rc == 0)
        json_resp(resp, 202, json_pack("{s:s,s:s}", "execution_id", exec_id, "workflow_id", id));
    else if (rc == TR_ENOENT)
        tr__api_error(resp, 404, "unknown workflow");
    else
        tr__api_error(resp, rc == TR_ECLOSED ? 503 : 500, tr_strerror(rc));
}

static void executions(const tr__api *api, const tr__http_req *req, const char *id,
                       tr__http_resp *resp)
{
    tr_wf_plan *plan;
    if (tr_engine_plan_get(api->engine, id, &plan) != 0)
        return tr__api_error(resp, 404, "unknown workflow");
    tr_wf_plan_free(plan);
    long limit = HISTORY_DEFAULT;
    const char *l = arg_get(req, "limit");
    if (l != NULL) {
        char *end;
        limit = strtol(l, &end, 10);
        if (*l == '\0' || *end != '\0' || limit < 1 || limit > HISTORY_MAX)
            return tr__api_error(resp, 400, "limit must be an integer in 1..1000");
    }
    char *json = NULL;
    int rc = tr_state_history(tr_engine_state(api->engine), id, (uint32_t)limit, &json, NULL,
                              STORE_TIMEOUT_MS);
    if (rc < 0)
        return tr__api_error(resp, 503, tr_strerror(rc));
    set_body(resp, 200, json);
}

static void execution_get(const tr__api *api, const char *exec, tr__http_resp *resp)
{
    size_t n = strlen(exec);
    char wf[TR_EXEC_ID_MAX];
    if (n <= 5 + 9 || n >= sizeof wf || strncmp(exec, "exec_", 5) != 0 || exec[n - 9] != '_')
        return tr__api_error(resp, 404, "unknown execution");
    memcpy(wf, exec + 5, n - 14);
    wf[n - 14] = '\0';
    char key[512];
    char *status = NULL, *result = NULL;
    tr_state *st = tr_engine_state(api->engine);
    if (tr_state_key(key, sizeof key, TR_STATE_KEY_STATUS, wf, exec) < 0)
        return tr__api_error(resp, 404, "unknown execution");
    int rc = tr_state_get_sync(st, key, &status, NULL, STORE_TIMEOUT_MS);
    if (rc == TR_ENOENT)
        return tr__api_error(resp, 404, "unknown execution");
    if (rc != 0)
        return tr__api_error(resp, 503, tr_strerror(rc));
    if (tr_state_key(key, sizeof key, TR_STATE_KEY_RESULT, wf, exec) >= 0)
        (void)tr_state_get_sync(st, key, &result, NULL, STORE_TIMEOUT_MS);
    json_error_t jerr;
    json_t *s = json_loads(status, JSON_DECODE_ANY, &jerr);
    json_t *r = result ? json_loads(result, JSON_DECODE_ANY, &jerr) : NULL;
    free(status);
    free(result);
    json_resp(resp, 200,
              json_pack("{s:s,s:s,s:o,s:o}", "execution_id", exec, "workflow_id", wf, "status",
                        s ? s : json_null(), "result", r ? r : json_null()));
}

/* ---- routing -------------------------------------------------------------- */

#define SEG_MAX 6

/* The dashboard's routes: GET /, /dashboard, /api/workflows/{id}/plan (http_dashboard.c).
 * Returns whether it answered. */
bool tr__dashboard_route(const tr__api *api, const tr__http_req *req, tr__http_resp *resp);

void tr__api_handle(const tr__api *api, const tr__http_req *req, tr__http_resp *resp)
{
    if (tr__dashboard_route(api, req, resp))
        return;
    char path[TR__HTTP_PATH_MAX];
    const char *seg[SEG_MAX];
    int n = 0;
    snprintf(path, sizeof path, "%s", req->path);
    for (char *save = NULL, *t = strtok_r(path, "/", &save); t; t = strtok_r(NULL, "/", &save)) {
        if (n == SEG_MAX)
            return tr__api_error(resp, 404, "not found");
        seg[n++] = t;
    }
#define IS(i, s) (n > (i) && strcmp(seg[i], s) == 0)
    tr__http_method want; /* the route's method */
    int route = 0;
    if (n == 1 && IS(0, "health"))
        route = 1, want = TR__HTTP_GET;
    else if (n == 1 && IS(0, "metrics"))
        route = 2, want = TR__HTTP_GET;
    else if (n == 2 && IS(0, "api") && IS(1, "emergency"))
        route = 3, want = TR__HTTP_GET;
    else if (n == 3 && IS(0, "api") && IS(1, "emergency") &&
             (IS(2, "halt") || IS(2, "alert") || IS(2, "resume") || IS(2, "shutdown")))
        route = 4, want = TR__HTTP_POST;
    else if (n == 2 && IS(0, "api") && IS(1, "workflows"))
        route = req->method == TR__HTTP_POST ? 6 : 5, want = req->method == TR__HTTP_POST
                                                                 ? TR__HTTP_POST
                                                                 : TR__HTTP_GET;
    else if (n == 4 && IS(0, "api") && IS(1, "workflows") && IS(3, "execute"))
        route = 7, want = TR__HTTP_POST;
    else if (n == 4 && IS(0, "api") && IS(1, "workflows") && IS(3, "executions"))
        route = 8, want = TR__HTTP_GET;
    else if (n == 3 && IS(0, "api") && IS(1, "executions"))
        route = 9, want = TR__HTTP_GET;
    else
        return tr__api_error(resp, 404, "not found");
#undef IS
    if (req->method != want)
        return tr__api_error(resp, 405, "method not allowed");
    if (want == TR__HTTP_POST && !authorized(api, req))
        return tr__api_error(resp, 401, "unauthorized: Authorization: Bearer <token> required");
    switch (route) {
    case 1: return health(api, resp);
    case 2: return tr__api_metrics(api, resp);
    case 3: return emergency_get(api, req, resp);
    case 4: return emergency_post(api, req, seg[2], resp);
    case 5: return workflows_get(api, resp);
    case 6: return workflows_post(api, req, resp);
    case 7: return execute(api, seg[2], resp);
    case 8: return executions(api, req, seg[2], resp);
    default: return execution_get(api, seg[2], resp);
    }
}
