/*
 * tests/config/test_config_show.c -- printing the configuration:
 * tr_config_to_json (exact text, round trip through a file, redaction),
 * tr_config_sources_text, and `troupe config show` (cli/cmd_config.c) run
 * in process with stdout/stderr captured, for its output and exit codes.
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

int tr_cmd_config(int argc, char **argv);

static char *noenv[] = {NULL};

static const char dev_json[] =
    "{\n"
    "  \"state_backend\": \"memory\",\n"
    "  \"events_backend\": \"memory\",\n"
    "  \"log_format\": \"console\",\n"
    "  \"log_level\": \"debug\",\n"
    "  \"redis_url\": \"redis://localhost:6379/0\",\n"
    "  \"workers\": 0,\n"
    "  \"state_dir\": \"./troupe-state\",\n"
    "  \"resilience\": {\n"
    "    \"retry_max_attempts\": 2,\n"
    "    \"retry_min_wait_seconds\": 1.0,\n"
    "    \"retry_max_wait_seconds\": 60.0,\n"
    "    \"retry_exponential_base\": 2.0,\n"
    "    \"retry_jitter\": true,\n"
    "    \"circuit_failure_threshold\": 5,\n"
    "    \"circuit_timeout_seconds\": 60.0,\n"
    "    \"node_timeout_seconds\": 30.0\n"
    "  },\n"
    "  \"emergency\": {\n"
    "    \"controller_id\": \"default\",\n"
    "    \"daily_loss_limit\": -100.0,\n"
    "    \"max_position_size\": 10000.0,\n"
    "    \"max_drawdown_percent\": 10.0,\n"
    "    \"auto_halt\": true\n"
    "  },\n"
    "  \"server\": {\n"
    "    \"listen\": \"127.0.0.1:8001\",\n"
    "    \"auth_token\": \"\",\n"
    "    \"allowed_origins\": [\n"
    "      \"*\"\n"
    "    ],\n"
    "    \"max_payload\": 1048576,\n"
    "    \"send_queue\": 1024,\n"
    "    \"socket_send_buffer\": 0,\n"
    "    \"history\": 1000,\n"
    "    \"rate_limit\": 0,\n"
    "    \"slow_client\": \"drop\"\n"
    "  }\n"
    "}";

static char *secret_env[] = {
    "TROUPE_SERVER_AUTH_TOKEN=s3cret",
    "TROUPE_REDIS_URL=redis://app:pw@cache:6380/1",
    "TROUPE_SERVER_ALLOWED_ORIGINS=http://a:3000,https://b",
    "TROUPE_RESILIENCE_RETRY_MIN_WAIT_SECONDS=0.1",
    NULL};

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static void test_json_development_exact(void **state)
{
    (void)state;
    tr_config c;
    assert_int_equal(tr_config_load(&c, "development", NULL, noenv, NULL), 0);
    char *j = tr_config_to_json(&c, 0);
    assert_non_null(j);
    assert_string_equal(j, dev_json);
    free(j);
    tr_config_fini(&c);
}

static void test_json_redaction(void **state)
{
    (void)state;
    tr_config c;
    assert_int_equal(tr_config_load(&c, "production", NULL, secret_env, NULL), 0);
    char *j = tr_config_to_json(&c, 0);
    assert_non_null(j);
    assert_non_null(strstr(j, "\"auth_token\": \"<redacted>\""));
    assert_non_null(strstr(j, "\"redis_url\": \"redis://app:<redacted>@cache:6380/1\""));
    assert_null(strstr(j, "s3cret"));
    assert_null(strstr(j, ":pw@"));
    free(j);
    j = tr_config_to_json(&c, TR_CONFIG_SHOW_SECRETS);
    assert_non_null(strstr(j, "\"auth_token\": \"s3cret\""));
    assert_non_null(strstr(j, "\"redis_url\": \"redis://app:pw@cache:6380/1\""));
    free(j);
    tr_config_fini(&c);
}

static void test_json_round_trip(void **state)
{
    (void)state;
    tr_config a, b;
    char path[] = "/tmp/troupe_show_XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    assert_int_equal(tr_config_load(&a, "production", NULL, secret_env, NULL), 0);
    char *ja = tr_config_to_json(&a, TR_CONFIG_SHOW_SECRETS);
    write_file(path, ja);
    /* Loaded over the *other* preset, the file alone reproduces it. */
    assert_int_equal(tr_config_load(&b, "development", path, noenv, NULL), 0);
    char *jb = tr_config_to_json(&b, TR_CONFIG_SHOW_SECRETS);
    assert_string_equal(jb, ja);
    for (size_t i = 0; i < TR_CONFIG_NFIELDS; i++)
        assert_int_equal(b.origin[i].from, TR_CONFIG_FROM_FILE);
    assert_true(b.resilience.retry_min_wait_seconds == 0.1);
    free(ja);
    free(jb);
    tr_config_fini(&a);
    tr_config_fini(&b);
    unlink(path);
}

/* `line` must be one whole line of `text`. */
static void assert_line(const char *text, const char *line)
{
    const char *p = text;
    size_t n = strlen(line);
    while (p && *p) {
        if (strncmp(p, line, n) == 0 && p[n] == '\n')
            return;
        p = strchr(p, '\n');
        p = p ? p + 1 : NULL;
    }
    fail_msg("line not found: [%s] in\n%s", line, text);
}

static void test_sources_text(void **state)
{
    (void)state;
    char path[] = "/tmp/troupe_show_XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    write_file(path, "{\"log_level\": \"warn\"}");
    tr_config c;
    assert_int_equal(tr_config_load(&c, "production", path, secret_env, NULL), 0);
    char *t = tr_config_sources_text(&c, 0);
    assert_non_null(t);
    char want[512];
    assert_line(t, "state_backend                        = \"redis\"                       "
                   "(preset production)");
    snprintf(want, sizeof want,
             "log_level                            = \"warn\"                        "
             "(file %s)", path);
    assert_line(t, want);
    assert_line(t, "resilience.retry_min_wait_seconds    = 0.1                           "
                   "(env TROUPE_RESILIENCE_RETRY_MIN_WAIT_SECONDS)");
    assert_line(t, "server.auth_token                    = \"<redacted>\"                  "
                   "(env TROUPE_SERVER_AUTH_TOKEN)");
    /* A value longer than the column pushes its origin right. */
    assert_line(t, "server.allowed_origins               = [\"http://a:3000\",\"https://b\"]  "
                   "(env TROUPE_SERVER_ALLOWED_ORIGINS)");
    size_t lines = 0;
    for (const char *p = t; *p; p++)
        lines += *p == '\n';
    assert_int_equal(lines, TR_CONFIG_NFIELDS);
    free(t);
    tr_config_fini(&c);

    assert_int_equal(tr_config_load(&c, NULL, NULL, noenv, NULL), 0);
    t = tr_config_sources_text(&c, 0);
    assert_line(t, "workers                              = 0                             "
                   "(default)");
    free(t);
    tr_config_fini(&c);
    unlink(path);
}

/* Run `troupe config ...` in process; returns its exit status and what it
 * wrote (malloc'd) to stdout and stderr. */
static int run_cli(char **out, char **errtext, int argc, ...)
{
    char *argv[16];
    va_list ap;
    va_start(ap, argc);
    for (int i = 0; i < argc; i++)
        argv[i] = va_arg(ap, char *);
    va_end(ap);
    argv[argc] = NULL;

    FILE *fo = tmpfile(), *fe = tmpfile();
    assert_non_null(fo);
    assert_non_null(fe);
    fflush(stdout);
    fflush(stderr);
    int so = dup(1), se = dup(2);
    dup2(fileno(fo), 1);
    dup2(fileno(fe), 2);
    int rc = tr_cmd_config(argc, argv);
    fflush(stdout);
    fflush(stderr);
    dup2(so, 1);
    dup2(se, 2);
    close(so);
    close(se);
    FILE *fs[2] = {fo, fe};
    char **dst[2] = {out, errtext};
    for (int k = 0; k < 2; k++) {
        long n = ftell(fs[k]);
        rewind(fs[k]);
        *dst[k] = calloc(1, (size_t)n + 1);
        assert_int_equal(fread(*dst[k], 1, (size_t)n, fs[k]), (size_t)n);
        fclose(fs[k]);
    }
    return rc;
}

static void test_cli_show(void **state)
{
    (void)state;
    char *out, *err;
    unsetenv("TROUPE_ENV");
    setenv("TROUPE_SERVER_HISTORY", "77", 1);

    /* --json: exactly the JSON document. */
    assert_int_equal(run_cli(&out, &err, 5, "config", "show", "--env",
                             "development", "--json"), 0);
    tr_config c;
    char *env[] = {"TROUPE_SERVER_HISTORY=77", NULL};
    assert_int_equal(tr_config_load(&c, "development", NULL, env, NULL), 0);
    char *j = tr_config_to_json(&c, 0), *s = tr_config_sources_text(&c, 0);
    char *want = malloc(strlen(j) + strlen(s) + 4);
    sprintf(want, "%s\n", j);
    assert_string_equal(out, want);
    assert_string_equal(err, "");
    free(out);
    free(err);

    /* Default: JSON, a blank line, the sources. */
    assert_int_equal(run_cli(&out, &err, 4, "config", "show", "--env", "development"), 0);
    sprintf(want, "%s\n\n%s", j, s);
    assert_string_equal(out, want);
    assert_non_null(strstr(out, "(env TROUPE_SERVER_HISTORY)"));
    free(out);
    free(err);

    /* --sources: only the table. */
    assert_int_equal(run_cli(&out, &err, 5, "config", "show", "--sources", "--env",
                             "development"), 0);
    assert_string_equal(out, s);
    free(out);
    free(err);
    free(want);
    free(j);
    free(s);
    tr_config_fini(&c);
    unsetenv("TROUPE_SERVER_HISTORY");
}

static void test_cli_errors(void **state)
{
    (void)state;
    char *out, *err;
    static const struct {
        int argc;
        char *argv[6];
        const char *first_line;
    } bad[] = {
        {1, {"config"}, "troupe config: missing subcommand\n"},
        {2, {"config", "list"}, "troupe config: unknown subcommand 'list'\n"},
        {3, {"config", "show", "--env"}, "troupe config: missing value for '--env'\n"},
        {3, {"config", "show", "--bogus"}, "troupe config: unknown option '--bogus'\n"},
        {4, {"config", "show", "--json", "--sources"},
         "troupe config: --json and --sources exclude each other\n"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(run_cli(&out, &err, bad[i].argc, bad[i].argv[0],
                                 bad[i].argv[1], bad[i].argv[2], bad[i].argv[3]),
                         2);
        assert_string_equal(out, "");
        assert_memory_equal(err, bad[i].first_line, strlen(bad[i].first_line));
        assert_non_null(strstr(err, "usage: troupe config show"));
        free(out);
        free(err);
    }

    /* An invalid configuration: every problem on stderr, exit 2. */
    setenv("TROUPE_WORKERS", "-1", 1);
    assert_int_equal(run_cli(&out, &err, 4, "config", "show", "--env", "staging"), 2);
    assert_string_equal(out, "");
    assert_string_equal(err, "troupe config: preset: unknown preset \"staging\"; "
                             "expected development or production\n"
                             "troupe config: invalid configuration (invalid argument)\n");
    free(out);
    free(err);
    assert_int_equal(run_cli(&out, &err, 4, "config", "show", "--config",
                             "/nonexistent-dir/t.json"), 2);
    assert_string_equal(out, "");
    assert_string_equal(err,
                        "troupe config: /nonexistent-dir/t.json: cannot read file: "
                        "unable to open /nonexistent-dir/t.json: No such file or "
                        "directory\n"
                        "troupe config: TROUPE_WORKERS: workers: out of range (got -1); "
                        "expected an integer in 0..1024\n"
                        "troupe config: invalid configuration (input/output error)\n");
    free(out);
    free(err);
    unsetenv("TROUPE_WORKERS");

    assert_int_equal(run_cli(&out, &err, 2, "config", "--help"), 0);
    assert_non_null(strstr(out, "usage: troupe config show"));
    free(out);
    free(err);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_json_development_exact),
        cmocka_unit_test(test_json_redaction),
        cmocka_unit_test(test_json_round_trip),
        cmocka_unit_test(test_sources_text),
        cmocka_unit_test(test_cli_show),
        cmocka_unit_test(test_cli_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
