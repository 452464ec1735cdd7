/*
 * actors/fanout/http_dashboard.c -- the dashboard page (docs/dashboard.md).
 *
 * Design.  The page is one self-contained file, web/dashboard.html (inline
 * CSS, JS and SVG; nothing fetched from anywhere else).  The build turns it
 * into a byte array (cmake/embed.cmake -> dashboard_html.c in the build
 * tree), so the binary serves it with no runtime file lookup and no
 * dependency on the working directory.  tr__dashboard_route is called first
 * by the router (http_api.c) and answers:
 *
 *   GET /, GET /dashboard        the page (text/html; charset=utf-8)
 *   GET /api/workflows/{id}/plan the workflow's nodes with their
 *                                dependencies, so the page can draw the DAG
 *                                before (or without) any event
 *
 * Anything else returns false and the router carries on.  A known path with
 * another method is a 405, like every other route.  Runs on the server's
 * service thread; the plan is read through the engine's reference-counted
 * plan table, so it never blocks.
 */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "actors/fanout/fanout_internal.h"

/* From the generated dashboard_html.c. */
extern const unsigned char tr__dashboard_html[];
extern const size_t tr__dashboard_html_len;

bool tr__dashboard_route(const tr__api *api, const tr__http_req *req, tr__http_resp *resp);

static void page(tr__http_resp *resp)
{
    char *body = malloc(tr__dashboard_html_len + 1);
    if (body == NULL)
        return tr__api_error(resp, 500, "out of memory");
    memcpy(body, tr__dashboard_html, tr__dashboard_html_len);
    body[tr__dashboard_html_len] = '\0';
    free(resp->body);
    resp->status = 200;
    resp->content_type = "text/html; charset=utf-8";
    resp->cache_control = "no-store";
    resp->body = body;
    resp->body_len = tr__dashboard_html_len;
}

static json_t *node_json(const tr_wf_plan *plan, const tr_wf_node *nd)
{
    json_t *deps = json_array();
    for (uint32_t k = 0; deps != NULL && k < nd->ndeps; k++) {
        const tr_wf_node *d = tr_wf_plan_node(plan, nd->deps[k]);
        if (d != NULL)
            json_array_append_new(deps, json_string(d->id));
    }
    return json_pack("{s:s,s:s,s:s,s:s,s:o*}", "id", nd->id, "name", nd->name ? nd->name : nd->id,
                     "type", nd->type ? nd->type : "", "category",
                     tr_wf_category_name(nd->category), "depends_on", deps);
}

static void plan_get(const tr__api *api, const char *id, tr__http_resp *resp)
{
    tr_wf_plan *plan = NULL;
    if (tr_engine_plan_get(api->engine, id, &plan) != 0)
        return tr__api_error(resp, 404, "unknown workflow");
    json_t *nodes = json_array();
    for (uint32_t i = 0; nodes != NULL && i < tr_wf_plan_node_count(plan); i++)
        json_array_append_new(nodes, node_json(plan, tr_wf_plan_node(plan, i)));
    json_t *o = json_pack("{s:s,s:s?,s:s?,s:s?,s:o*}", "id", tr_wf_plan_id(plan), "name",
                          tr_wf_plan_name(plan), "bot_id", tr_wf_plan_bot_id(plan),
                          "strategy_id", tr_wf_plan_strategy_id(plan), "nodes", nodes);
    tr_wf_plan_free(plan);
    char *text = o ? json_dumps(o, JSON_COMPACT) : NULL;
    json_decref(o);
    if (text == NULL)
        return tr__api_error(resp, 500, "out of memory");
    free(resp->body);
    resp->status = 200;
    resp->content_type = "application/json";
    resp->body = text;
    resp->body_len = strlen(text);
}

bool tr__dashboard_route(const tr__api *api, const tr__http_req *req, tr__http_resp *resp)
{
    const char *p = req->path;
    bool is_page = strcmp(p, "/") == 0 || strcmp(p, "") == 0 || strcmp(p, "/dashboard") == 0 ||
                   strcmp(p, "/dashboard/") == 0;
    char id[TR__HTTP_PATH_MAX] = "";
    static const char pre[] = "/api/workflows/", suf[] = "/plan";
    size_t n = strlen(p), np = sizeof pre - 1, ns = sizeof suf - 1;
    bool is_plan = n > np + ns && strncmp(p, pre, np) == 0 && strcmp(p + n - ns, suf) == 0 &&
                   memchr(p + np, '/', n - np - ns) == NULL;
    if (!is_page && !is_plan)
        return false;
    if (req->method != TR__HTTP_GET) {
        tr__api_error(resp, 405, "method not allowed");
        return true;
    }
    if (is_page) {
        page(resp);
        return true;
    }
    memcpy(id, p + np, n - np - ns);
    id[n - np - ns] = '\0';
    plan_get(api, id, resp);
    return true;
}
