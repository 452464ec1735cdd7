/*
 * tests/config/test_config.c -- tr_config_load: presets, file override field
 * by field, environment over file over preset, and every error kind with
 * its exact message (field, source, expectation), several at once.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "troupe/config.h"

static char *noenv[] = {NULL};
static char tmp_path[256];

/* Write text to a fresh temporary file; its path is tmp_path. */
static const char *write_tmp(const char *text)
{
    snprintf(tmp_path, sizeof tmp_path, "/tmp/troupe_cfg_XXXXXX");
    int fd = mkstemp(tmp_path);
    assert_true(fd >= 0);
    size_t n = strlen(text);
    assert_int_equal(write(fd, text, n), (ssize_t)n);
    close(fd);
    return tmp_path;
}

static void assert_origin(const tr_config *cfg, const char *path,
                          tr_config_from from, const char *name)
{
    tr_config_origin o;
    assert_int_equal(tr_config_origin_of(cfg, path, &o), 0);
    if (o.from != from)
        fail_msg("%s: origin %d, expected %d", path, o.from, from);
    assert_string_equal(o.name, name);
}

/* Problem i names this field and source and reads exactly `message`. */
static void assert_problem(const tr_config_error *err, size_t i, const char *field,
                           const char *source, const char *message)
{
    assert_true(i < err->count);
    assert_string_equal(err->problems[i].field, field);
    assert_string_equal(err->problems[i].source, source);
    assert_string_equal(err->problems[i].message, message);
}

static void test_preset_development(void **state)
{
    (void)state;
    tr_config c;
    tr_config_error err;
    assert_int_equal(tr_config_load(&c, "development", NULL, noenv, &err), 0);
    assert_int_equal(err.count, 0);
    assert_string_equal(c.preset, "development");
    assert_null(c.file);
    assert_int_equal(c.state_backend, TR_CONFIG_BACKEND_MEMORY);
    assert_int_equal(c.events_backend, TR_CONFIG_BACKEND_MEMORY);
    assert_int_equal(c.log_format, TR_CONFIG_LOG_CONSOLE);
    assert_int_equal(c.log_level, TR_CONFIG_LOG_DEBUG);
    assert_string_equal(c.redis_url, "redis://localhost:6379/0");
    assert_int_equal(c.workers, 0);
    assert_string_equal(c.state_dir, "./troupe-state");
    assert_int_equal(c.resilience.retry_max_attempts, 2);
    assert_true(c.resilience.retry_min_wait_seconds == 1.0);
    assert_true(c.resilience.retry_max_wait_seconds == 60.0);
    assert_true(c.resilience.retry_exponential_base == 2.0);
    assert_true(c.resilience.retry_jitter);
    assert_int_equal(c.resilience.circuit_failure_threshold, 5);
    assert_true(c.resilience.circuit_timeout_seconds == 60.0);
    assert_true(c.resilience.node_timeout_seconds == 30.0);
    assert_string_equal(c.emergency.controller_id, "default");
    assert_true(c.emergency.daily_loss_limit == -100.0);
    assert_true(c.emergency.max_position_size == 10000.0);
    assert_true(c.emergency.max_drawdown_percent == 10.0);
    assert_true(c.emergency.auto_halt);
    assert_string_equal(c.server.listen, "127.0.0.1:8001");
    assert_string_equal(c.server.auth_token, "");
    assert_int_equal(c.server.allowed_origins.count, 1);
    assert_string_equal(c.server.allowed_origins.items[0], "*");
    assert_int_equal(c.server.max_payload, 1048576);
    assert_int_equal(c.server.send_queue, 1024);
    assert_int_equal(c.server.socket_send_buffer, 0);
    assert_int_equal(c.server.history, 1000);
    assert_int_equal(c.server.rate_limit, 0);
    assert_int_equal(c.server.slow_client, TR_CONFIG_SLOW_DROP);
    for (size_t i = 0; i < TR_CONFIG_NFIELDS; i++)
        assert_origin(&c, tr_config_field_path(i), TR_CONFIG_FROM_PRESET,
                      "development");
    tr_config_fini(&c);
    assert_null(c.redis_url);
    tr_config_fini(&c); /* twice is harmless */
}

static void test_preset_production(void **state)
{
    (void)state;
    tr_config c;
    assert_int_equal(tr_config_load(&c, "production", NULL, noenv, NULL), 0);
    assert_string_equal(c.preset, "production");
    assert_int_equal(c.state_backend, TR_CONFIG_BACKEND_REDIS);
    assert_int_equal(c.events_backend, TR_CONFIG_BACKEND_REDIS);
    assert_int_equal(c.log_format, TR_CONFIG_LOG_JSON);
    assert_int_equal(c.log_level, TR_CONFIG_LOG_INFO);
    assert_string_equal(c.redis_url, "redis://localhost:6379/0");
    assert_string_equal(c.state_dir, "/var/lib/troupe");
    assert_int_equal(c.resilience.retry_max_attempts, 3);
    assert_int_equal(c.resilience.circuit_failure_threshold, 10);
    assert_true(c.resilience.circuit_timeout_seconds == 120.0);
    assert_true(c.resilience.node_timeout_seconds == 30.0);
    assert_true(c.emergency.daily_loss_limit == -500.0);
    assert_int_equal(c.server.allowed_origins.count, 0);
    assert_null(c.server.allowed_origins.items);
    assert_int_equal(c.server.rate_limit, 100);
    assert_origin(&c, "emergency.daily_loss_limit", TR_CONFIG_FROM_PRESET,
                  "production");
    tr_config_fini(&c);
}

static void test_no_preset_is_default_and_troupe_env(void **state)
{
    (void)state;
    tr_config c;
    assert_int_equal(tr_config_load(&c, NULL, NULL, noenv, NULL), 0);
    assert_string_equal(c.preset, "development");
    assert_int_equal(c.resilience.retry_max_attempts, 2);
    assert_origin(&c, "workers", TR_CONFIG_FROM_DEFAULT, "default");
    tr_config_fini(&c);

    char *env[] = {"TROUPE_ENV=production", NULL};
    assert_int_equal(tr_config_load(&c, NULL, NULL, env, NULL), 0);
    assert_string_equal(c.preset, "production");
    assert_int_equal(c.state_backend, TR_CONFIG_BACKEND_REDIS);
    assert_origin(&c, "state_backend", TR_CONFIG_FROM_PRESET, "production");
    tr_config_fini(&c);

    /* An explicit preset wins over TROUPE_ENV. */
    assert_int_equal(tr_config_load(&c, "development", NULL, env, NULL), 0);
    assert_int_equal(c.state_backend, TR_CONFIG_BACKEND_MEMORY);
    tr_config_fini(&c);
}

static void test_unknown_preset(void **state)
{
    (void)state;
    tr_config c;
    tr_config_error err;
    assert_int_equal(tr_config_load(&c, "staging", NULL, noenv, &err), TR_EINVAL);
    assert_int_equal(err.count, 1);
    assert_problem(&err, 0, "", "preset",
                   "preset: unknown preset \"staging\"; expected development or "
                   "production");
    assert_null(c.preset);
    char *env[] = {"TROUPE_ENV=prod", NULL};
    assert_int_equal(tr_config_load(&c, NULL, NULL, env, &err), TR_EINVAL);
    assert_problem(&err, 0, "", "TROUPE_ENV",
                   "TROUPE_ENV: unknown preset \"prod\"; expected development "
                   "or production");
}

static void test_file_overrides_field_by_field(void **state)
{
    (void)state;
    const char *f = write_tmp(
        "{\"redis_url\": \"redis://cache:6380/2\",\n"
        " \"resilience\": {\"retry_max_attempts\": 5,\n"
        "                \"retry_min_wait_seconds\": \"250ms\",\n"
        "                \"circuit_timeout_seconds\": \"2m\"},\n"
        " \"server\": {\"allowed_origins\": [\"http://localhost:3000\", \"*\"]}}\n");
    tr_config base, c;
    assert_int_equal(tr_config_load(&base, "production", NULL, noenv, NULL), 0);
    assert_int_equal(tr_config_load(&c, "production", f, noenv, NULL), 0);
    assert_string_equal(c.file, f);
    assert_string_equal(c.redis_url, "redis://cache:6380/2");
    assert_int_equal(c.resilience.retry_max_attempts, 5);
    assert_true(c.resilience.retry_min_wait_seconds == 0.25);
    assert_true(c.resilience.circuit_timeout_seconds == 120.0);
    assert_int_equal(c.server.allowed_origins.count, 2);
    assert_string_equal(c.server.allowed_origins.items[0], "http://localhost:3000");
    assert_string_equal(c.server.allowed_origins.items[1], "*");

    /* Every other field keeps the preset's value and origin: compare the
     * per-field lines of `config show`. */
    static const char *const named[] = {
        "redis_url", "resilience.retry_max_attempts",
        "resilience.retry_min_wait_seconds",
        "resilience.circuit_timeout_seconds", "server.allowed_origins"};
    char *tb = tr_config_sources_text(&base, 0), *tc = tr_config_sources_text(&c, 0);
    assert_non_null(tb);
    assert_non_null(tc);
    char *sb, *sc;
    char *lb = strtok_r(tb, "\n", &sb), *lc = strtok_r(tc, "\n", &sc);
    for (size_t i = 0; i < TR_CONFIG_NFIELDS; i++) {
        assert_non_null(lb);
        assert_non_null(lc);
        bool is_named = false;
        for (size_t k = 0; k < sizeof named / sizeof named[0]; k++)
            is_named |= strcmp(named[k], tr_config_field_path(i)) == 0;
        if (is_named) {
            assert_origin(&c, tr_config_field_path(i), TR_CONFIG_FROM_FILE, f);
        } else {
            assert_string_equal(lc, lb);
            assert_origin(&c, tr_config_field_path(i), TR_CONFIG_FROM_PRESET,
                          "production");
        }
        lb = strtok_r(NULL, "\n", &sb);
        lc = strtok_r(NULL, "\n", &sc);
    }
    free(tb);
    free(tc);
    tr_config_fini(&base);
    tr_config_fini(&c);
    unlink(f);
}

static void test_env_beats_file_beats_preset(void **state)
{
    (void)state;
    const char *f = write_tmp("{\"log_level\": \"warn\", \"workers\": 4,\n"
                              " \"resilience\": {\"retry_max_attempts\": 5}}");
    char *env[] = {"PATH=/bin",
                   "TROUPE_RESILIENCE_RETRY_MAX_ATTEMPTS=7",
                   "TROUPE_WORKERS=8",
                   "TROUPE_RESILIENCE_RETRY_JITTER=off",
                   "TROUPE_RESILIENCE_NODE_TIMEOUT_SECONDS=1500ms",
                   "TROUPE_SERVER_LISTEN=0.0.0.0:9000",
                   "TROUPE_SERVER_ALLOWED_ORIGINS=http://a:1, https://b",
                   "TROUPE_SERVER_AUTH_TOKEN=",
                   "TROUPE_SERVER_SLOW_CLIENT=disconnect",
                   "TROUPE_EMERGENCY_DAILY_LOSS_LIMIT=-250.5",
                   "TROUPE_STATE_BACKEND=memory",
                   NULL};
    tr_config c;
    tr_config_error err;
    assert_int_equal(tr_config_load(&c, "production", f, env, &err), 0);
    assert_int_equal(c.resilience.retry_max_attempts, 7);
    assert_origin(&c, "resilience.retry_max_attempts", TR_CONFIG_FROM_ENV,
                  "TROUPE_RESILIENCE_RETRY_MAX_ATTEMPTS");
    assert_int_equal(c.workers, 8);
    assert_origin(&c, "workers", TR_CONFIG_FROM_ENV, "TROUPE_WORKERS");
    assert_int_equal(c.log_level, TR_CONFIG_LOG_WARN);
    assert_origin(&c, "log_level", TR_CONFIG_FROM_FILE, f);
    assert_int_equal(c.resilience.circuit_failure_threshold, 10);
    assert_origin(&c, "resilience.circuit_failure_threshold",
                  TR_CONFIG_FROM_PRESET, "production");
    assert_false(c.resilience.retry_jitter);
    assert_true(c.resilience.node_timeout_seconds == 1.5);
    assert_string_equal(c.server.listen, "0.0.0.0:9000");
    assert_int_equal(c.server.allowed_origins.count, 2);
    assert_string_equal(c.server.allowed_origins.items[0], "http://a:1");
    assert_string_equal(c.server.allowed_origins.items[1], "https://b");
    assert_string_equal(c.server.auth_token, "");
    assert_origin(&c, "server.auth_token", TR_CONFIG_FROM_ENV,
                  "TROUPE_SERVER_AUTH_TOKEN");
    assert_int_equal(c.server.slow_client, TR_CONFIG_SLOW_DISCONNECT);
    assert_true(c.emergency.daily_loss_limit == -250.5);
    assert_int_equal(c.state_backend, TR_CONFIG_BACKEND_MEMORY);
    assert_int_equal(c.events_backend, TR_CONFIG_BACKEND_REDIS);
    tr_config_fini(&c);
    unlink(f);
}

static void test_file_errors_all_reported(void **state)
{
    (void)state;
    const char *f = write_tmp(
        "{\"redis_ulr\": \"x\",\n"
        " \"workers\": \"4\",\n"
        " \"log_format\": \"xml\",\n"
        " \"resilience\": {\"retry_max_attempts\": 1000, \"retry_jitter\": 1},\n"
        " \"emergency\": {\"daily_loss_limit\": 500, \"bogus\": true},\n"
        " \"server\": {\"listen\": \"localhost\", \"allowed_origins\": [\"*\", 3],\n"
        "            \"slow_client\": \"block\"},\n"
        " \"state_dir\": \"\",\n"
        " \"redis_url\": \"http://cache:6379\"}\n");
    char *env[] = {"TROUPE_WORKERS=many", NULL};
    struct { const char *field, *msg; } want[] = {
        {"redis_ulr", "redis_ulr: unknown field; expected one of state_backend, "
                      "events_backend, log_format, log_level, redis_url, workers, "
                      "state_dir, resilience, emergency, server"},
        {"workers", "workers: wrong type (got string); expected an integer in 0..1024"},
        {"log_format", "log_format: bad value \"xml\"; expected one of console|json"},
        {"resilience.retry_max_attempts",
         "resilience.retry_max_attempts: out of range (got 1000); expected an "
         "integer in 1..100"},
        {"resilience.retry_jitter",
         "resilience.retry_jitter: wrong type (got integer); expected true or false"},
        {"emergency.daily_loss_limit",
         "emergency.daily_loss_limit: out of range (got 500); expected a number "
         "in -1e+12..0"},
        {"emergency.bogus",
         "emergency.bogus: unknown field; expected one of controller_id, "
         "daily_loss_limit, max_position_size, max_drawdown_percent, auto_halt"},
        {"server.listen",
         "server.listen: bad value \"localhost\"; expected host:port with port "
         "0..65535 (\"127.0.0.1:8001\")"},
        {"server.allowed_origins",
         "server.allowed_origins: wrong type (item 1 is integer); expected a list "
         "of strings (a JSON array, or comma-separated in the environment), each "
         "\"*\" or an origin http(s)://host[:port]"},
        {"server.slow_client",
         "server.slow_client: bad value \"block\"; expected one of drop|disconnect"},
        {"state_dir", "state_dir: value has 0 characters; expected a string of "
                      "1..4095 characters"},
        {"redis_url", "redis_url: bad value \"http://cache:6379\"; expected a URL "
                      "redis://[user:password@]host[:port][/db]"},
    };
    size_t nwant = sizeof want / sizeof want[0];
    tr_config c;
    tr_config_error err;
    assert_int_equal(tr_config_load(&c, "development", f, env, &err), TR_EINVAL);
    assert_int_equal(err.count, nwant + 1);
    char msg[1024];
    for (size_t i = 0; i < nwant; i++) {
        snprintf(msg, sizeof msg, "%s: %s", f, want[i].msg);
        assert_problem(&err, i, want[i].field, f, msg);
        assert_int_equal(err.problems[i].line, 0);
    }
    assert_problem(&err, nwant, "workers", "TROUPE_WORKERS",
                   "TROUPE_WORKERS: workers: bad value \"many\"; expected an "
                   "integer in 0..1024");
    /* On failure nothing is handed out. */
    assert_null(c.redis_url);
    assert_null(c.file);
    assert_null(c.preset);
    tr_config_fini(&c);
    unlink(f);
}

static void test_section_and_root_type(void **state)
{
    (void)state;
    tr_config c;
    tr_config_error err;
    char msg[512];
    const char *f = write_tmp("{\"emergency\": 5, \"server\": {\"port\": 8001}}");
    assert_int_equal(tr_config_load(&c, NULL, f, noenv, &err), TR_EINVAL);
    assert_int_equal(err.count, 2);
    snprintf(msg, sizeof msg, "%s: emergency: wrong type (got integer); expected an object", f);
    assert_problem(&err, 0, "emergency", f, msg);
    snprintf(msg, sizeof msg,
             "%s: server.port: unknown field; expected one of listen, auth_token, "
             "allowed_origins, max_payload, send_queue, socket_send_buffer, history, rate_limit, "
             "slow_client", f);
    assert_problem(&err, 1, "server.port", f, msg);
    unlink(f);

    f = write_tmp("{\"server.listen\": \"0.0.0.0:1\"}");
    assert_int_equal(tr_config_load(&c, NULL, f, noenv, &err), TR_EINVAL);
    assert_int_equal(err.count, 1);
    snprintf(msg, sizeof msg,
             "%s: server.listen: unknown field (sections nest as objects, keys "
             "have no '.'); expected one of state_backend, events_backend, "
             "log_format, log_level, redis_url, workers, state_dir, resilience, "
             "emergency, server", f);
    assert_problem(&err, 0, "server.listen", f, msg);
    unlink(f);

    f = write_tmp("[1, 2]");
    assert_int_equal(tr_config_load(&c, NULL, f, noenv, &err), TR_EINVAL);
    assert_int_equal(err.count, 1);
    snprintf(msg, sizeof msg, "%s: wrong type (got array); expected a JSON object", f);
    assert_problem(&err, 0, "", f, msg);
    unlink(f);
}

static void test_malformed_json_line_column(void **state)
{
    (void)state;
    tr_config c;
    tr_config_error err;
    char msg[512];
    const char *f = write_tmp("{\n  \"workers\": 4,\n  \"log_format\" \"json\"\n}\n");
    assert_int_equal(tr_config_load(&c, NULL, f, noenv, &err), TR_EINVAL);
    assert_int_equal(err.count, 1);
    assert_int_equal(err.problems[0].line, 3);
    assert_int_equal(err.problems[0].column, 21);
    snprintf(msg, sizeof msg, "%s:3:21: malformed JSON: ':' expected near '\"json\"'", f);
    assert_problem(&err, 0, "", f, msg);
    unlink(f);

    f = write_tmp("{\"workers\": 1,\n \"workers\": 2}");
    assert_int_equal(tr_config_load(&c, NULL, f, noenv, &err), TR_EINVAL);
    assert_int_equal(err.problems[0].line, 2);
    snprintf(msg, sizeof msg, "%s:2:10: malformed JSON: duplicate object key near "
             "'\"workers\"'", f);
    assert_problem(&err, 0, "", f, msg);
    unlink(f);
}

static void test_unreadable_file(void **state)
{
    (void)state;
    tr_config c;
    tr_config_error err;
    char *env[] = {"TROUPE_LOG_LEVEL=loud", NULL};
    const char *f = "/nonexistent-dir/troupe.json";
    assert_int_equal(tr_config_load(&c, NULL, f, env, &err), TR_EIO);
    assert_int_equal(err.count, 2);
    assert_problem(&err, 0, "", f,
                   "/nonexistent-dir/troupe.json: cannot read file: unable to open "
                   "/nonexistent-dir/troupe.json: No such file or directory");
    assert_problem(&err, 1, "log_level", "TROUPE_LOG_LEVEL",
                   "TROUPE_LOG_LEVEL: log_level: bad value \"loud\"; expected one "
                   "of debug|info|warn|error");
}

static void test_bad_env_values(void **state)
{
    (void)state;
    char *env[] = {"TROUPE_RESILIENCE_RETRY_JITTER=maybe",
                   "TROUPE_RESILIENCE_NODE_TIMEOUT_SECONDS=5 days",
                   "TROUPE_EMERGENCY_MAX_DRAWDOWN_PERCENT=150",
                   "TROUPE_SERVER_ALLOWED_ORIGINS=*,ftp://x",
                   "TROUPE_REDIS_URL=redis://h:99999",
                   "TROUPE_SERVER_MAX_PAYLOAD=12abc",
                   NULL};
    static const char *const want[][2] = {
        {"redis_url", "TROUPE_REDIS_URL: redis_url: bad value \"redis://h:99999\"; "
                      "expected a URL redis://[user:password@]host[:port][/db]"},
        {"resilience.retry_jitter",
         "TROUPE_RESILIENCE_RETRY_JITTER: resilience.retry_jitter: bad value "
         "\"maybe\"; expected true or false"},
        {"resilience.node_timeout_seconds",
         "TROUPE_RESILIENCE_NODE_TIMEOUT_SECONDS: resilience.node_timeout_seconds: "
         "bad value \"5 days\"; expected a duration in 0.001..86400 seconds (a "
         "number of seconds, or a string such as \"250ms\", \"2s\", \"1m\")"},
        {"emergency.max_drawdown_percent",
         "TROUPE_EMERGENCY_MAX_DRAWDOWN_PERCENT: emergency.max_drawdown_percent: "
         "out of range (got 150); expected a number in 0..100"},
        {"server.allowed_origins",
         "TROUPE_SERVER_ALLOWED_ORIGINS: server.allowed_origins: bad value "
         "\"ftp://x\"; expected a list of strings (a JSON array, or "
         "comma-separated in the environment), each \"*\" or an origin "
         "http(s)://host[:port]"},
        {"server.max_payload",
         "TROUPE_SERVER_MAX_PAYLOAD: server.max_payload: bad value \"12abc\"; "
         "expected an integer in 1024..67108864"},
    };
    tr_config c;
    tr_config_error err;
    assert_int_equal(tr_config_load(&c, "production", NULL, env, &err), TR_EINVAL);
    assert_int_equal(err.count, 6);
    for (size_t i = 0; i < 6; i++) {
        const char *var = strchr(want[i][1], ':');
        char source[128];
        snprintf(source, sizeof source, "%.*s", (int)(var - want[i][1]), want[i][1]);
        assert_problem(&err, i, want[i][0], source, want[i][1]);
    }
}

static void test_cross_field_rule(void **state)
{
    (void)state;
    tr_config c;
    tr_config_error err;
    char msg[512];
    const char *f = write_tmp("{\"resilience\": {\"retry_min_wait_seconds\": \"90s\"}}");
    assert_int_equal(tr_config_load(&c, NULL, f, noenv, &err), TR_EINVAL);
    assert_int_equal(err.count, 1);
    snprintf(msg, sizeof msg,
             "%s: resilience.retry_min_wait_seconds: 90 is greater than "
             "resilience.retry_max_wait_seconds (60, from default); expected at "
             "most resilience.retry_max_wait_seconds", f);
    assert_problem(&err, 0, "resilience.retry_min_wait_seconds", f, msg);
    /* Raising the maximum from the environment makes it valid. */
    char *env[] = {"TROUPE_RESILIENCE_RETRY_MAX_WAIT_SECONDS=2m", NULL};
    assert_int_equal(tr_config_load(&c, NULL, f, env, &err), 0);
    assert_true(c.resilience.retry_min_wait_seconds == 90.0);
    assert_true(c.resilience.retry_max_wait_seconds == 120.0);
    tr_config_fini(&c);
    unlink(f);
}

static void test_many_problems_counted(void **state)
{
    (void)state;
    char text[2048] = "{";
    for (int i = 0; i < 20; i++)
        snprintf(text + strlen(text), sizeof text - strlen(text), "%s\"x%d\": 0",
                 i ? ", " : "", i);
    strcat(text, "}");
    const char *f = write_tmp(text);
    tr_config c;
    tr_config_error err;
    assert_int_equal(tr_config_load(&c, NULL, f, noenv, &err), TR_EINVAL);
    assert_int_equal(err.count, 20);
    assert_string_equal(err.problems[TR_CONFIG_MAX_PROBLEMS - 1].field, "x15");
    unlink(f);
}

static void test_env_names_derived_from_paths(void **state)
{
    (void)state;
    size_t i;
    for (i = 0; tr_config_field_path(i); i++) {
        char want[128] = "TROUPE_";
        const char *p = tr_config_field_path(i);
        size_t k = strlen(want);
        for (; *p; p++)
            want[k++] = *p == '.' ? '_' : (char)(*p >= 'a' && *p <= 'z' ? *p - 32 : *p);
        want[k] = '\0';
        assert_string_equal(tr_config_field_env(i), want);
    }
    assert_int_equal(i, TR_CONFIG_NFIELDS);
    assert_null(tr_config_field_env(TR_CONFIG_NFIELDS));
    tr_config c;
    tr_config_origin o;
    assert_int_equal(tr_config_load(&c, NULL, NULL, noenv, NULL), 0);
    assert_int_equal(tr_config_origin_of(&c, "resilience.nope", &o), TR_ENOENT);
    assert_int_equal(tr_config_origin_of(&c, "resilience", &o), TR_ENOENT);
    tr_config_fini(&c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_preset_development),
        cmocka_unit_test(test_preset_production),
        cmocka_unit_test(test_no_preset_is_default_and_troupe_env),
        cmocka_unit_test(test_unknown_preset),
        cmocka_unit_test(test_file_overrides_field_by_field),
        cmocka_unit_test(test_env_beats_file_beats_preset),
        cmocka_unit_test(test_file_errors_all_reported),
        cmocka_unit_test(test_section_and_root_type),
        cmocka_unit_test(test_malformed_json_line_column),
        cmocka_unit_test(test_unreadable_file),
        cmocka_unit_test(test_bad_env_values),
        cmocka_unit_test(test_cross_field_rule),
        cmocka_unit_test(test_many_problems_counted),
        cmocka_unit_test(test_env_names_derived_from_paths),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
