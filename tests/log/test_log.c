/*
 * tests/log/test_log.c -- the structured logging module (troupe/log.h).
 *
 * Most tests route lines to a capturing callback sink and check them
 * byte-for-byte (console) or by parsing them back with jansson (json).  The
 * concurrency tests are in test_log_threads.c.  Every test restores the
 * default configuration and an empty correlation context.
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <pthread.h>
#include <regex.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "troupe/error.h"
#include "troupe/log.h"

/* ---------------------------------------------------------------------------
 * A capturing sink
 * ------------------------------------------------------------------------ */

#define CAP_LINES 64

typedef struct capture {
    pthread_mutex_t mu;
    size_t count;
    char lines[CAP_LINES][TR_LOG_LINE_MAX + 1];
    size_t lens[CAP_LINES];
    /* copy of the last record's scalar fields and strings */
    tr_log_level level;
    int64_t ts_ms;
    char ts[32], module[TR_LOG_MODULE_MAX + 1], corr[TR_LOG_LABEL_MAX + 1];
    char msg[TR_LOG_LINE_MAX + 1];
    bool truncated;
    size_t nfields;
} capture;

static capture g_cap;

static void cap_sink(void *arg, const tr_log_record *rec)
{
    capture *c = arg;
    pthread_mutex_lock(&c->mu);
    if (c->count < CAP_LINES) {
        memcpy(c->lines[c->count], rec->line, rec->line_len);
        c->lines[c->count][rec->line_len] = '\0';
        c->lens[c->count] = rec->line_len;
    }
    c->count++;
    c->level = rec->level;
    c->ts_ms = rec->ts_ms;
    snprintf(c->ts, sizeof(c->ts), "%s", rec->ts);
    snprintf(c->module, sizeof(c->module), "%s", rec->module);
    snprintf(c->corr, sizeof(c->corr), "%s", rec->corr);
    snprintf(c->msg, sizeof(c->msg), "%.*s", (int)rec->msg_len, rec->msg);
    c->truncated = rec->truncated;
    c->nfields = rec->nfields;
    pthread_mutex_unlock(&c->mu);
}

static void use_capture(tr_log_format format, tr_log_level min)
{
    pthread_mutex_lock(&g_cap.mu);
    g_cap.count = 0;
    pthread_mutex_unlock(&g_cap.mu);
    tr_log_config cfg = {format, min, 2, cap_sink, &g_cap};
    assert_int_equal(tr_log_configure(&cfg), 0);
}

static const char *last_line(void)
{
    assert_true(g_cap.count >= 1 && g_cap.count <= CAP_LINES);
    return g_cap.lines[g_cap.count - 1];
}

/* Parses the last captured line as one JSON object (duplicates rejected). */
static json_t *last_json(void)
{
    const char *line = last_line();
    size_t len = g_cap.lens[g_cap.count - 1];
    assert_true(len >= 2 && line[len - 1] == '\n');
    assert_null(memchr(line, '\n', len - 1)); /* one physical line */
    json_error_t err;
    json_t *j = json_loadb(line, len, JSON_REJECT_DUPLICATES, &err);
    if (j == NULL)
        fail_msg("invalid JSON (%s at %d): %s", err.text, err.position, line);
    assert_true(json_is_object(j));
    return j;
}

static const char *jstr(json_t *obj, const char *key)
{
    json_t *v = json_object_get(obj, key);
    if (!json_is_string(v))
        fail_msg("field %s missing or not a string", key);
    return json_string_value(v);
}

static bool ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && memcmp(s + n - m, suffix, m) == 0;
}

static void check_ts(const char *ts)
{
    regex_t re;
    assert_int_equal(regcomp(&re, "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{3}Z$",
                             REG_EXTENDED | REG_NOSUB),
                     0);
    int rc = regexec(&re, ts, 0, NULL, 0);
    regfree(&re);
    if (rc != 0)
        fail_msg("bad timestamp '%s'", ts);
    /* UTC, not local time: it must name the same second as time(). */
    struct tm tm = {0};
    assert_int_equal(sscanf(ts, "%d-%d-%dT%d:%d:%d", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
                            &tm.tm_hour, &tm.tm_min, &tm.tm_sec),
                     6);
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    time_t t = timegm(&tm);
    time_t now = time(NULL);
    assert_true(t <= now && t >= now - 60);
}

static int setup(void **state)
{
    tr_log_ctx_restore((tr_log_ctx){0, NULL});
    return 0;
}

static int teardown(void **state)
{
    assert_int_equal(tr_log_configure(NULL), 0);
    tr_log_ctx_restore((tr_log_ctx){0, NULL});
    return 0;
}

/* ---------------------------------------------------------------------------
 * Names, parsing, configuration
 * ------------------------------------------------------------------------ */

static void parse_accepts_names_and_rejects_others(void **state)
{
    tr_log_level l;
    tr_log_format f;
    assert_int_equal(tr_log_level_parse("debug", &l), 0);
    assert_int_equal(l, TR_LOG_LEVEL_DEBUG);
    assert_int_equal(tr_log_level_parse("INFO", &l), 0);
    assert_int_equal(l, TR_LOG_LEVEL_INFO);
    assert_int_equal(tr_log_level_parse("warning", &l), 0);
    assert_int_equal(l, TR_LOG_LEVEL_WARN);
    assert_int_equal(tr_log_level_parse("error", &l), 0);
    assert_int_equal(l, TR_LOG_LEVEL_ERROR);
    assert_int_equal(tr_log_level_parse("off", &l), 0);
    assert_int_equal(l, TR_LOG_LEVEL_OFF);
    assert_int_equal(tr_log_level_parse("verbose", &l), TR_EINVAL);
    assert_int_equal(tr_log_level_parse("", &l), TR_EINVAL);
    assert_int_equal(tr_log_level_parse("info ", &l), TR_EINVAL);
    assert_int_equal(tr_log_level_parse(NULL, &l), TR_EINVAL);

    assert_int_equal(tr_log_format_parse("console", &f), 0);
    assert_int_equal(f, TR_LOG_FORMAT_CONSOLE);
    assert_int_equal(tr_log_format_parse("JSON", &f), 0);
    assert_int_equal(f, TR_LOG_FORMAT_JSON);
    assert_int_equal(tr_log_format_parse("text", &f), TR_EINVAL);
    assert_int_equal(tr_log_format_parse("json", NULL), TR_EINVAL);

    assert_string_equal(tr_log_level_name(TR_LOG_LEVEL_WARN), "warn");
    assert_string_equal(tr_log_format_name(TR_LOG_FORMAT_JSON), "json");
    assert_string_equal(tr_log_level_name((tr_log_level)42), "unknown");
}

static void configure_rejects_bad_config_and_changes_nothing(void **state)
{
    tr_log_config cur;
    tr_log_get_config(&cur);
    assert_int_equal(cur.format, TR_LOG_FORMAT_CONSOLE);
    assert_int_equal(cur.min_level, TR_LOG_LEVEL_INFO);
    assert_int_equal(cur.fd, 2);
    assert_null(cur.sink);

    tr_log_config bad = {TR_LOG_FORMAT_JSON, TR_LOG_LEVEL_DEBUG, -1, NULL, NULL};
    assert_int_equal(tr_log_configure(&bad), TR_EINVAL);
    bad = (tr_log_config){(tr_log_format)7, TR_LOG_LEVEL_DEBUG, 2, NULL, NULL};
    assert_int_equal(tr_log_configure(&bad), TR_EINVAL);
    bad = (tr_log_config){TR_LOG_FORMAT_JSON, (tr_log_level)9, 2, NULL, NULL};
    assert_int_equal(tr_log_configure(&bad), TR_EINVAL);

    tr_log_get_config(&cur);
    assert_int_equal(cur.format, TR_LOG_FORMAT_CONSOLE);
    assert_int_equal(cur.min_level, TR_LOG_LEVEL_INFO);
    assert_false(tr_log_enabled(TR_LOG_LEVEL_DEBUG));
    assert_true(tr_log_enabled(TR_LOG_LEVEL_INFO));
}

/* ---------------------------------------------------------------------------
 * Level filtering
 * ------------------------------------------------------------------------ */

static int g_evaluated;
static int side_effect(void)
{
    return ++g_evaluated;
}

static void levels_below_minimum_are_dropped_unevaluated(void **state)
{
    use_capture(TR_LOG_FORMAT_JSON, TR_LOG_LEVEL_WARN);
    assert_false(tr_log_enabled(TR_LOG_LEVEL_INFO));
    assert_true(tr_log_enabled(TR_LOG_LEVEL_WARN));
    assert_true(tr_log_level_enabled(TR_LOG_LEVEL_ERROR));

    g_evaluated = 0;
    TR_LOG_DEBUG("t", "d %d", side_effect());
    TR_LOG_INFO("t", "i %d", side_effect());
    assert_int_equal(g_evaluated, 0);
    assert_int_equal(g_cap.count, 0);
    TR_LOG_WARN("t", "w %d", side_effect());
    TR_LOG_ERROR("t", "e %d", side_effect());
    assert_int_equal(g_evaluated, 2);
    assert_int_equal(g_cap.count, 2);
    json_t *j = last_json();
    assert_string_equal(jstr(j, "level"), "error");
    assert_string_equal(jstr(j, "msg"), "e 2");
    json_decref(j);

    /* Direct calls filter too; invalid levels are never emitted. */
    tr_log(TR_LOG_LEVEL_INFO, "t", "direct");
    tr_log(TR_LOG_LEVEL_OFF, "t", "off is not a line level");
    tr_log((tr_log_level)-1, "t", "negative");
    TR_LOG_KV(TR_LOG_LEVEL_DEBUG, "t", "kv", TR_LOG_INT("n", side_effect()));
    assert_int_equal(g_cap.count, 2);
    assert_int_equal(g_evaluated, 2);

    use_capture(TR_LOG_FORMAT_JSON, TR_LOG_LEVEL_OFF);
    TR_LOG_ERROR("t", "nothing");
    assert_int_equal(g_cap.count, 0);

    use_capture(TR_LOG_FORMAT_JSON, TR_LOG_LEVEL_DEBUG);
    TR_LOG_DEBUG("t", "now %s", "visible");
    assert_int_equal(g_cap.count, 1);
    j = last_json();
    assert_string_equal(jstr(j, "level"), "debug");
    json_decref(j);
}

/* ---------------------------------------------------------------------------
 * Line formats
 * ------------------------------------------------------------------------ */

static void console_line_has_ts_level_module_corr_msg(void **state)
{
    use_capture(TR_LOG_FORMAT_CONSOLE, TR_LOG_LEVEL_DEBUG);
    tr_log_set_label("exec_arb_btc_001_1a2b3c4d");
    TR_LOG_INFO("runtime", "hello %d", 42);
    const char *line = last_line();
    char ts[25];
    memcpy(ts, line, 24);
    ts[24] = '\0';
    check_ts(ts);
    assert_string_equal(line + 24, " INFO  runtime [exec_arb_btc_001_1a2b3c4d] hello 42\n");

    tr_log_set_label(NULL);
    TR_LOG_WARN("actors", "x");
    assert_string_equal(last_line() + 24, " WARN  actors x\n");
    TR_LOG_ERROR(NULL, "no module");
    assert_string_equal(last_line() + 24, " ERROR - no module\n");
    TR_LOG_DEBUG("m", "%s", "");
    assert_string_equal(last_line() + 24, " DEBUG m \n");

    /* Control characters cannot break the line. */
    TR_LOG_INFO("m", "a\nb\tc\x01" "d\x7f");
    assert_string_equal(last_line() + 24, " INFO  m a\\nb\\tc\\x01d\\x7f\n");
}

static void json_line_fields_and_escaping_round_trip(void **state)
{
    use_capture(TR_LOG_FORMAT_JSON, TR_LOG_LEVEL_DEBUG);
    tr_log_set_label("exec_arb_btc_001_1a2b3c4d");
    const char *nasty = "q\"b\\s/\nnl\rcr\ttab\bbs\fff\x01\x1f\x7f e\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80";
    TR_LOG_WARN("run\"time", "%s", nasty);
    json_t *j = last_json();
    check_ts(jstr(j, "ts"));
    assert_string_equal(jstr(j, "level"), "warn");
    assert_string_equal(jstr(j, "module"), "run\"time");
    assert_string_equal(jstr(j, "corr"), "exec_arb_btc_001_1a2b3c4d");
    assert_string_equal(jstr(j, "msg"), nasty);
    assert_null(json_object_get(j, "truncated"));
    assert_int_equal(json_object_size(j), 5);
    json_decref(j);

    /* The raw text uses the short escapes and \u00XX for the rest. */
    const char *line = last_line();
    assert_non_null(strstr(line, "\"msg\":\"q\\\"b\\\\s/\\nnl\\rcr\\ttab\\bbs\\fff\\u0001\\u001f"));
    for (const char *p = line; *p != '\n'; p++)
        assert_true((unsigned char)*p >= 0x20);
    assert_true(strncmp(line, "{\"ts\":\"", 7) == 0);

    /* Invalid UTF-8 never reaches the JSON: each bad byte is U+FFFD. */
    TR_LOG_INFO("m", "bad\xff" "x\xc3" "y\xed\xa0\x80" "z");
    j = last_json();
    assert_string_equal(jstr(j, "msg"),
                        "bad\xef\xbf\xbdx\xef\xbf\xbdy\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbdz");
    json_decref(j);
}

static void corr_shows_label_else_hex_id_else_nothing(void **state)
{
    use_capture(TR_LOG_FORMAT_JSON, TR_LOG_LEVEL_DEBUG);
    json_t *j;

    TR_LOG_INFO("m", "none");
    j = last_json();
    assert_null(json_object_get(j, "corr"));
    json_decref(j);
    assert_string_equal(g_cap.corr, "");

    assert_int_equal(tr_log_set_corr(0x2a), 0);
    TR_LOG_INFO("m", "numeric");
    j = last_json();
    assert_string_equal(jstr(j, "corr"), "000000000000002a");
    json_decref(j);

    assert_null(tr_log_set_label("exec_a_00000001"));
    TR_LOG_INFO("m", "label wins");
    j = last_json();
    assert_string_equal(jstr(j, "corr"), "exec_a_00000001");
    json_decref(j);

    /* Nested handler context, then restore. */
    tr_log_ctx saved = tr_log_ctx_push(0xfedcba9876543210u, NULL);
    TR_LOG_INFO("m", "inner");
    j = last_json();
    assert_string_equal(jstr(j, "corr"), "fedcba9876543210");
    json_decref(j);
    tr_log_ctx saved2 = tr_log_ctx_push(7, "exec_b_00000002");
    TR_LOG_INFO("m", "innermost");
    j = last_json();
    assert_string_equal(jstr(j, "corr"), "exec_b_00000002");
    json_decref(j);
    tr_log_ctx_restore(saved2);
    tr_log_ctx_restore(saved);
    assert_int_equal(tr_log_ctx_save().corr, 0x2a);
    assert_string_equal(tr_log_ctx_save().label, "exec_a_00000001");
    TR_LOG_INFO("m", "outer again");
    j = last_json();
    assert_string_equal(jstr(j, "corr"), "exec_a_00000001");
    json_decref(j);

    assert_string_equal(tr_log_set_label(NULL), "exec_a_00000001");
    assert_int_equal(tr_log_set_corr(0), 0x2a);

    /* Console: same rule. */
    use_capture(TR_LOG_FORMAT_CONSOLE, TR_LOG_LEVEL_DEBUG);
    tr_log_set_corr(0x1234);
    TR_LOG_INFO("m", "x");
    assert_string_equal(last_line() + 24, " INFO  m [0000000000001234] x\n");
    tr_log_set_corr(0);
}

static void *other_thread_logs(void *arg)
{
    /* A fresh thread starts with no correlation, whatever main has set. */
    TR_LOG_INFO("other", "from thread");
    return NULL;
}

static void corr_is_thread_local(void **state)
{
    use_capture(TR_LOG_FORMAT_JSON, TR_LOG_LEVEL_DEBUG);
    tr_log_set_label("main_label");
    tr_log_set_corr(99);
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, other_thread_logs, NULL), 0);
    pthread_join(t, NULL);
    json_t *j = last_json();
    assert_string_equal(jstr(j, "module"), "other");
    assert_null(json_object_get(j, "corr"));
    json_decref(j);
    TR_LOG_INFO("main", "still mine");
    j = last_json();
    assert_string_equal(jstr(j, "corr"), "main_label");
    json_decref(j);
}

static void long_module_and_label_are_capped(void **state)
{
    use_capture(TR_LOG_FORMAT_JSON, TR_LOG_LEVEL_DEBUG);
    char module[300], label[300];
    memset(module, 'm', sizeof(module) - 1);
    module[sizeof(module) - 1] = '\0';
    memset(label, 'l', sizeof(label) - 1);
    label[sizeof(label) - 1] = '\0';
    tr_log_set_label(label);
    TR_LOG_INFO(module, "x");
    json_t *j = last_json();
    assert_int_equal(strlen(jstr(j, "module")), TR_LOG_MODULE_MAX);
    assert_int_equal(strlen(jstr(j, "corr")), TR_LOG_LABEL_MAX);
    json_decref(j);
}

/* ---------------------------------------------------------------------------
 * Truncation
 * ------------------------------------------------------------------------ */

static void check_truncated_json(const char *expect_char)
{
    size_t len = g_cap.lens[g_cap.count - 1];
    assert_true(len <= TR_LOG_LINE_MAX);
    assert_true(len > TR_LOG_LINE_MAX - 200); /* used most of the room */
    json_t *j = last_json();
    assert_true(json_is_true(json_object_get(j, "truncated")));
    const char *msg = jstr(j, "msg");
    assert_true(ends_with(msg, "...[truncated]"));
    if (expect_char != NULL) {
        /* everything before the marker is whole characters of the input */
        size_t body = strlen(msg) - strlen("...[truncated]");
        size_t cl = strlen(expect_char);
        assert_int_equal(body % cl, 0);
        for (size_t i = 0; i < body; i += cl)
            assert_memory_equal(msg + i, expect_char, cl);
    }
    json_decref(j);
    assert_true(g_cap.truncated);
}

static void long_messages_are_truncated_to_valid_json(void **state)
{
    use_capture(TR_LOG_FORMAT_JSON, TR_LOG_LEVEL_DEBUG);
    tr_log_set_label("exec_arb_btc_001_1a2b3c4d");
    static char big[20000];

    memset(big, 'x', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    TR_LOG_INFO("m", "%s", big);
    check_truncated_json("x");

    /* Escapes expand 2x and 6x: the cut never splits one. */
    memset(big, '"', sizeof(big) - 1);
    TR_LOG_INFO("m", "%s", big);
    check_truncated_json("\"");
    memset(big, '\x01', sizeof(big) - 1);
    TR_LOG_INFO("m", "%s", big);
    check_truncated_json("\x01");

    /* Multi-byte characters are never split (neither by the message buffer
     * nor by the line). */
    for (size_t i = 0; i + 3 < sizeof(big); i += 3)
        memcpy(big + i, "\xe2\x82\xac", 3);
    big[sizeof(big) - 1 - (sizeof(big) - 1) % 3] = '\0';
    TR_LOG_INFO("m", "%s", big);
    check_truncated_json("\xe2\x82\xac");
    tr_log_kv(TR_LOG_LEVEL_INFO, "m", big, NULL, 0);
    check_truncated_json("\xe2\x82\xac");

    /* Console: one line, capped, marker at the end. */
    use_capture(TR_LOG_FORMAT_CONSOLE, TR_LOG_LEVEL_DEBUG);
    memset(big, '\n', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    TR_LOG_INFO("m", "%s", big);
    size_t len = g_cap.lens[g_cap.count - 1];
    assert_true(len <= TR_LOG_LINE_MAX);
    assert_true(ends_with(last_line(), "\\n...[truncated]\n"));
    assert_null(memchr(last_line(), '\n', len - 1));
}

/* ---------------------------------------------------------------------------
 * Key/value fields
 * ------------------------------------------------------------------------ */

static void kv_fields_are_typed_in_json_and_logfmt_in_console(void **state)
{
    use_capture(TR_LOG_FORMAT_JSON, TR_LOG_LEVEL_DEBUG);
    TR_LOG_KV(TR_LOG_LEVEL_INFO, "executor", "node done", TR_LOG_STR("node", "fetch \"px\""),
              TR_LOG_INT("ms", -12), TR_LOG_UINT("big", UINT64_MAX), TR_LOG_UINT("u", 7), TR_LOG_F64("ratio", 0.1),
              TR_LOG_F64("nan", NAN), TR_LOG_BOOL("ok", true), TR_LOG_STR("nil", NULL),
              TR_LOG_STR("msg", "reserved key"));
    assert_int_equal(g_cap.nfields, 9);
    json_t *j = last_json();
    assert_string_equal(jstr(j, "msg"), "node done");
    assert_string_equal(jstr(j, "node"), "fetch \"px\"");
    assert_int_equal(json_integer_value(json_object_get(j, "ms")), -12);
    assert_string_equal(jstr(j, "big"), "18446744073709551615"); /* > INT64_MAX */
    assert_int_equal(json_integer_value(json_object_get(j, "u")), 7);
    assert_true(json_real_value(json_object_get(j, "ratio")) == 0.1);
    assert_true(json_is_null(json_object_get(j, "nan")));
    assert_true(json_is_true(json_object_get(j, "ok")));
    assert_true(json_is_null(json_object_get(j, "nil")));
    assert_string_equal(jstr(j, "_msg"), "reserved key");
    json_decref(j);

    use_capture(TR_LOG_FORMAT_CONSOLE, TR_LOG_LEVEL_DEBUG);
    TR_LOG_KV(TR_LOG_LEVEL_INFO, "executor", "node done", TR_LOG_STR("node", "fetch"),
              TR_LOG_STR("q", "a \"b\""), TR_LOG_STR("e", ""), TR_LOG_INT("ms", 12),
              TR_LOG_F64("r", 2.5), TR_LOG_BOOL("ok", false));
    assert_string_equal(last_line() + 24,
                        " INFO  executor node done node=fetch q=\"a \\\"b\\\"\" e=\"\" ms=12 r=2.5 ok=false\n");
}

static void kv_fields_that_do_not_fit_are_dropped_whole(void **state)
{
    use_capture(TR_LOG_FORMAT_JSON, TR_LOG_LEVEL_DEBUG);
    char val[200];
    memset(val, 'v', sizeof(val) - 1);
    val[sizeof(val) - 1] = '\0';
    tr_log_field fields[40];
    char keys[40][16];
    for (int i = 0; i < 40; i++) {
        snprintf(keys[i], sizeof(keys[i]), "k%d", i);
        fields[i] = TR_LOG_STR(keys[i], val);
    }
    tr_log_kv(TR_LOG_LEVEL_INFO, "m", "many", fields, 40);
    assert_true(g_cap.lens[g_cap.count - 1] <= TR_LOG_LINE_MAX);
    json_t *j = last_json();
    assert_true(json_is_true(json_object_get(j, "truncated")));
    assert_string_equal(jstr(j, "msg"), "many");
    assert_string_equal(jstr(j, "k0"), val);
    assert_null(json_object_get(j, "k39"));
    /* every field present is complete */
    const char *key;
    json_t *v;
    json_object_foreach(j, key, v)
    {
        if (key[0] == 'k')
            assert_string_equal(json_string_value(v), val);
    }
    json_decref(j);

    use_capture(TR_LOG_FORMAT_CONSOLE, TR_LOG_LEVEL_DEBUG);
    tr_log_kv(TR_LOG_LEVEL_INFO, "m", "many", fields, 40);
    assert_true(g_cap.lens[g_cap.count - 1] <= TR_LOG_LINE_MAX);
    assert_true(ends_with(last_line(), "v ...[truncated]\n"));
}

/* ---------------------------------------------------------------------------
 * Callback sink and fd sink
 * ------------------------------------------------------------------------ */

static int g_reentry_rc;

static void reentrant_sink(void *arg, const tr_log_record *rec)
{
    TR_LOG_ERROR("sink", "logging from a sink is dropped");
    g_reentry_rc = tr_log_configure(NULL);
    cap_sink(arg, rec);
}

static void callback_sink_gets_record_and_cannot_recurse(void **state)
{
    tr_log_config cfg = {TR_LOG_FORMAT_JSON, TR_LOG_LEVEL_INFO, -1, reentrant_sink, &g_cap};
    g_cap.count = 0;
    assert_int_equal(tr_log_configure(&cfg), 0);
    tr_log_set_corr(0xabc);
    uint64_t dropped = tr_log_dropped();
    g_reentry_rc = 0;
    TR_LOG_WARN("runtime", "value=%d", 5);
    assert_int_equal(g_cap.count, 1);
    assert_int_equal(g_cap.level, TR_LOG_LEVEL_WARN);
    assert_string_equal(g_cap.module, "runtime");
    assert_string_equal(g_cap.corr, "0000000000000abc");
    assert_string_equal(g_cap.msg, "value=5");
    assert_false(g_cap.truncated);
    assert_int_equal(strlen(g_cap.ts), 24);
    assert_true(g_cap.ts_ms / 1000 <= (int64_t)time(NULL));
    assert_true(g_cap.ts_ms / 1000 >= (int64_t)time(NULL) - 60);
    assert_int_equal(g_reentry_rc, TR_ESTATE);
    assert_int_equal(tr_log_dropped(), dropped + 1);
    json_t *j = last_json();
    assert_string_equal(jstr(j, "msg"), "value=5");
    json_decref(j);
    /* The configure attempted inside the sink changed nothing. */
    tr_log_config cur;
    tr_log_get_config(&cur);
    assert_ptr_equal(cur.sink, reentrant_sink);
}

static void fd_sink_writes_lines_and_preserves_errno(void **state)
{
    int p[2];
    assert_int_equal(pipe(p), 0);
    tr_log_config cfg = {TR_LOG_FORMAT_CONSOLE, TR_LOG_LEVEL_INFO, p[1], NULL, NULL};
    assert_int_equal(tr_log_configure(&cfg), 0);
    errno = 1234;
    TR_LOG_INFO("io", "to %s", "pipe");
    assert_int_equal(errno, 1234);
    char buf[256];
    ssize_t n = read(p[0], buf, sizeof(buf) - 1);
    assert_true(n > 24);
    buf[n] = '\0';
    assert_string_equal(buf + 24, " INFO  io to pipe\n");

    /* A write that fails is counted, and errno is still the caller's. */
    close(p[0]);
    close(p[1]);
    int fd = open("/dev/null", O_RDONLY);
    assert_true(fd >= 0);
    cfg.fd = fd;
    assert_int_equal(tr_log_configure(&cfg), 0);
    uint64_t dropped = tr_log_dropped();
    errno = 77;
    TR_LOG_ERROR("io", "lost");
    assert_int_equal(errno, 77);
    assert_int_equal(tr_log_dropped(), dropped + 1);
    assert_int_equal(tr_log_configure(NULL), 0);
    close(fd);
}

int main(void)
{
    pthread_mutex_init(&g_cap.mu, NULL);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(parse_accepts_names_and_rejects_others, setup, teardown),
        cmocka_unit_test_setup_teardown(configure_rejects_bad_config_and_changes_nothing, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(levels_below_minimum_are_dropped_unevaluated, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(console_line_has_ts_level_module_corr_msg, setup, teardown),
        cmocka_unit_test_setup_teardown(json_line_fields_and_escaping_round_trip, setup, teardown),
        cmocka_unit_test_setup_teardown(corr_shows_label_else_hex_id_else_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(corr_is_thread_local, setup, teardown),
        cmocka_unit_test_setup_teardown(long_module_and_label_are_capped, setup, teardown),
        cmocka_unit_test_setup_teardown(long_messages_are_truncated_to_valid_json, setup, teardown),
        cmocka_unit_test_setup_teardown(kv_fields_are_typed_in_json_and_logfmt_in_console, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(kv_fields_that_do_not_fit_are_dropped_whole, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(callback_sink_gets_record_and_cannot_recurse, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(fd_sink_writes_lines_and_preserves_errno, setup, teardown),
    };
    return cmocka_run_group_tests_name("log", tests, NULL, NULL);
}
