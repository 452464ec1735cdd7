/*
 * tests/codecs/test_json.c -- msgpack <-> JSON: the contract event, exact
 * text for every type, escaping, invalid UTF-8, number formatting and
 * round trips, parse errors, the jansson seam.
 */
#include <float.h>
#include <locale.h>
#include <math.h>

#include <jansson.h>

#include "codec_test.h"
#include "codecs/mp_jansson.h"

/* msgpack bytes -> JSON text, checked against the exact expected text. */
static void assert_json(const tr_buf *mp, const char *want)
{
    tr_buf out;
    tr_buf_init(&out);
    tr_codec_error e = {{0}, 0, 0, 0};
    int rc = tr_json_from_mp(&out, mp->data, mp->len, &e);
    if (rc != TR_OK)
        fail_msg("tr_json_from_mp: %s (%s)", tr_err_name(rc), e.text);
    const char *got = tr_buf_cstr(&out);
    assert_non_null(got);
    if (strcmp(got, want) != 0)
        fail_msg("got  %s\nwant %s", got, want);
    tr_buf_fini(&out);
}

/* JSON text -> msgpack, into b (reset first). */
static void to_mp(tr_buf *b, const char *json)
{
    tr_buf_reset(b);
    tr_codec_error e;
    int rc = tr_json_to_mp(b, json, strlen(json), &e);
    if (rc != TR_OK)
        fail_msg("tr_json_to_mp(%s): %s (%s)", json, tr_err_name(rc), e.text);
}

/* ---- the contract ------------------------------------------------------ */

static void node_completed_round_trips(void **state)
{
    (void)state;
    tr_buf mp, text;
    tr_buf_init(&mp);
    tr_buf_init(&text);
    to_mp(&mp, NODE_COMPLETED_JSON);

    /* inside: the types the executor writes */
    tr_mp_val root, v;
    ASSERT_OK(tr_mp_read(mp.data, mp.len, &root, NULL));
    int64_t i = 0;
    double d = 0;
    ASSERT_OK(tr_mp_map_get(root, "seq", &v));
    assert_int_equal(tr_mp_typeof(v), TR_MP_INT);
    ASSERT_OK(tr_mp_get_int(v, &i));
    assert_int_equal(i, 1042);
    ASSERT_OK(tr_mp_map_get(root, "duration_ms", &v));
    assert_int_equal(tr_mp_typeof(v), TR_MP_FLOAT);
    ASSERT_OK(tr_mp_get_double(v, &d));
    assert_true(d == 45.2);
    ASSERT_OK(tr_mp_path(root, "outputs.price", &v));
    ASSERT_OK(tr_mp_get_double(v, &d));
    assert_true(d == 50234.56);

    /* the same bytes as the writer produces */
    tr_buf built;
    tr_buf_init(&built);
    build_node_completed(&built);
    assert_bytes(mp.data, mp.len, built.data, built.len);
    tr_buf_fini(&built);

    /* outside: equal as JSON values, and byte-identical text (key order is
     * kept and the numbers print as written) */
    ASSERT_OK(tr_json_from_mp(&text, mp.data, mp.len, NULL));
    json_error_t je;
    json_t *want = json_loads(NODE_COMPLETED_JSON, 0, &je);
    json_t *got = json_loadb((const char *)text.data, text.len, 0, &je);
    assert_non_null(want);
    assert_non_null(got);
    assert_true(json_equal(want, got));
    assert_string_equal(tr_buf_cstr(&text), NODE_COMPLETED_JSON);

    /* the jansson seam agrees */
    int err = -1;
    json_t *tree = tr__mp_to_jansson(root, &err);
    assert_non_null(tree);
    ASSERT_OK(err);
    assert_true(json_equal(want, tree));
    tr_buf again;
    tr_buf_init(&again);
    ASSERT_OK(tr__mp_from_jansson(&again, tree));
    assert_bytes(again.data, again.len, mp.data, mp.len);
    tr_buf_fini(&again);

    json_decref(tree);
    json_decref(want);
    json_decref(got);
    tr_buf_fini(&mp);
    tr_buf_fini(&text);
}

/* ---- exact text per type ----------------------------------------------- */

static void scalars_and_containers_print_exactly(void **state)
{
    (void)state;
    tr_buf b;
    tr_buf_init(&b);

    tr_mp_write_array(&b, 9);
    tr_mp_write_nil(&b);
    tr_mp_write_bool(&b, true);
    tr_mp_write_bool(&b, false);
    tr_mp_write_int(&b, 0);
    tr_mp_write_int(&b, -1);
    tr_mp_write_int(&b, INT64_MIN);
    tr_mp_write_int(&b, INT64_MAX);
    tr_mp_write_uint(&b, UINT64_MAX);
    tr_mp_write_raw(&b, "\xd0\x05", 2); /* signed encoding of 5 */
    assert_json(&b, "[null,true,false,0,-1,-9223372036854775808,"
                    "9223372036854775807,18446744073709551615,5]");

    tr_buf_reset(&b);
    tr_mp_write_map(&b, 3);
    tr_mp_write_cstr(&b, "a");
    tr_mp_write_map(&b, 0);
    tr_mp_write_cstr(&b, "b");
    tr_mp_write_array(&b, 0);
    tr_mp_write_cstr(&b, "");
    tr_mp_write_cstr(&b, "");
    assert_json(&b, "{\"a\":{},\"b\":[],\"\":\"\"}");

    tr_buf_reset(&b);
    tr_mp_write_int(&b, 42); /* a scalar at the top is fine */
    assert_json(&b, "42");
    tr_buf_fini(&b);
}

static void bin_and_ext(void **state)
{
    (void)state;
    tr_buf b;
    tr_buf_init(&b);
    tr_mp_write_array(&b, 6);
    tr_mp_write_bin(&b, NULL, 0);
    tr_mp_write_bin(&b, "\x00", 1);
    tr_mp_write_bin(&b, "\x00\x01", 2);
    tr_mp_write_bin(&b, "\x00\x01\x02", 3);
    tr_mp_write_bin(&b, "\xfb\xff\xbf", 3);
    tr_mp_write_raw(&b, "\xd5\xff\x01\x02", 4); /* fixext2, type -1 */
    assert_json(&b, "[\"\",\"AA==\",\"AAE=\",\"AAEC\",\"+/+/\","
                    "{\"ext\":-1,\"data\":\"AQI=\"}]");
    tr_buf_fini(&b);
}

static void non_string_keys_become_strings(void **state)
{
    (void)state;
    tr_buf b;
    tr_buf_init(&b);
    tr_mp_write_map(&b, 7);
    tr_mp_write_int(&b, 1);
    tr_mp_write_cstr(&b, "a");
    tr_mp_write_int(&b, -7);
    tr_mp_write_int(&b, 2);
    tr_mp_write_bool(&b, true);
    tr_mp_write_int(&b, 3);
    tr_mp_write_nil(&b);
    tr_mp_write_int(&b, 4);
    tr_mp_write_double(&b, 1.5);
    tr_mp_write_int(&b, 5);
    tr_mp_write_bin(&b, "\x00\x01", 2);
    tr_mp_write_int(&b, 6);
    tr_mp_write_array(&b, 2); /* key ["x", 1] */
    tr_mp_write_cstr(&b, "x");
    tr_mp_write_int(&b, 1);
    tr_mp_write_int(&b, 7);
    assert_json(&b, "{\"1\":\"a\",\"-7\":2,\"true\":3,\"null\":4,\"1.5\":5,"
                    "\"AAE=\":6,\"[\\\"x\\\",1]\":7}");

    tr_mp_val root;
    ASSERT_OK(tr_mp_read(b.data, b.len, &root, NULL));
    json_t *tree = tr__mp_to_jansson(root, NULL);
    assert_non_null(tree);
    assert_int_equal(json_integer_value(json_object_get(tree, "[\"x\",1]")), 7);
    assert_int_equal(json_integer_value(json_object_get(tree, "AAE=")), 6);
    json_decref(tree);
    tr_buf_fini(&b);
}

/* ---- strings ----------------------------------------------------------- */

static void escapes_controls_quotes_backslashes(void **state)
{
    (void)state;
    tr_buf b;
    tr_buf_init(&b);
    static const char s[] = "q\"b\\s/\b\f\n\r\t\x01\x1f\x7f end";
    tr_mp_write_str(&b, s, sizeof(s) - 1);
    assert_json(&b, "\"q\\\"b\\\\s/\\b\\f\\n\\r\\t\\u0001\\u001f\x7f end\"");

    tr_buf_reset(&b);
    tr_mp_write_str(&b, "nul\0here", 8);
    assert_json(&b, "\"nul\\u0000here\"");

    /* all 32 controls, and jansson reads every one back */
    char ctl[32];
    for (int i = 0; i < 32; i++)
        ctl[i] = (char)i;
    tr_buf_reset(&b);
    tr_mp_write_str(&b, ctl, sizeof(ctl));
    tr_buf text;
    tr_buf_init(&text);
    ASSERT_OK(tr_json_from_mp(&text, b.data, b.len, NULL));
    json_error_t je;
    json_t *j = json_loadb((const char *)text.data, text.len,
                           JSON_DECODE_ANY | JSON_ALLOW_NUL, &je);
    assert_non_null(j);
    assert_int_equal(json_string_length(j), 32);
    assert_memory_equal(json_string_value(j), ctl, 32);
    json_decref(j);
    tr_buf_fini(&text);
    tr_buf_fini(&b);
}

static void invalid_utf8_becomes_replacement(void **state)
{
    (void)state;
    static const struct {
        const char *in;
        size_t len;
        const char *want;
    } cases[] = {
        /* valid multibyte text passes through verbatim */
        {"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80", 9, "\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\""},
        {"a\xff" "b", 3, "\"a\xef\xbf\xbd" "b\""},                    /* stray byte */
        {"\x80", 1, "\"\xef\xbf\xbd\""},                              /* lone continuation */
        {"\xc0\xaf", 2, "\"\xef\xbf\xbd\xef\xbf\xbd\""},              /* overlong '/' */
        {"\xed\xa0\x80", 3, "\"\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\""}, /* surrogate */
        {"x\xe2\x82", 3, "\"x\xef\xbf\xbd\xef\xbf\xbd\""},            /* truncated at end */
        {"\xf4\x90\x80\x80", 4, "\"\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\""}, /* > U+10FFFF */
        {"\xf5", 1, "\"\xef\xbf\xbd\""},
    };
    tr_buf b;
    tr_buf_init(&b);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        tr_buf_reset(&b);
        tr_mp_write_str(&b, cases[i].in, cases[i].len);
        assert_json(&b, cases[i].want);

        /* the printed text is valid JSON for jansson (it rejects bad UTF-8) */
        tr_buf text;
        tr_buf_init(&text);
        ASSERT_OK(tr_json_from_mp(&text, b.data, b.len, NULL));
        json_error_t je;
        json_t *j = json_loadb((const char *)text.data, text.len, JSON_DECODE_ANY, &je);
        assert_non_null(j);

        /* and the jansson seam sanitizes the same way */
        tr_mp_val root;
        ASSERT_OK(tr_mp_read(b.data, b.len, &root, NULL));
        json_t *t = tr__mp_to_jansson(root, NULL);
        assert_non_null(t);
        assert_true(json_equal(j, t));
        json_decref(t);
        json_decref(j);
        tr_buf_fini(&text);
    }
    /* invalid UTF-8 in a key */
    tr_buf_reset(&b);
    tr_mp_write_map(&b, 1);
    tr_mp_write_str(&b, "k\xff", 2);
    tr_mp_write_int(&b, 1);
    assert_json(&b, "{\"k\xef\xbf\xbd\":1}");
    tr_buf_fini(&b);
}

/* ---- numbers ----------------------------------------------------------- */

static void doubles_print_shortest_round_trip(void **state)
{
    (void)state;
    static const struct {
        double d;
        const char *want;
    } cases[] = {
        {45.2, "45.2"},
        {0.1, "0.1"},
        {50234.56, "50234.56"},
        {1e300, "1e+300"},
        {-0.0, "-0.0"},
        {0.0, "0.0"},
        {3.0, "3.0"},
        {-2.5, "-2.5"},
        {1.0 / 3.0, "0.3333333333333333"},
        {0.1 + 0.2, "0.30000000000000004"},
        {1e21, "1e+21"},
        {123456789012345.0, "123456789012345.0"},
        {1e15, "1e+15"},
        {5e-324, "4.94065645841247e-324"},
        /* %.15g and %.16g of DBL_MAX round up past it (strtod: inf) */
        {DBL_MAX, "1.7976931348623157e+308"},
        {DBL_MIN, "2.2250738585072014e-308"},
        {9007199254740992.0, "9007199254740992.0"}, /* 2^53: 16 digits */
        {-1234.5678, "-1234.5678"},
    };
    tr_buf b, back;
    tr_buf_init(&b);
    tr_buf_init(&back);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        tr_buf_reset(&b);
        tr_mp_write_double(&b, cases[i].d);
        assert_json(&b, cases[i].want);

        /* text -> msgpack gives back the very same bits */
        to_mp(&back, cases[i].want);
        tr_mp_val v;
        ASSERT_OK(tr_mp_read(back.data, back.len, &v, NULL));
        assert_int_equal(tr_mp_typeof(v), TR_MP_FLOAT);
        double got = 1;
        ASSERT_OK(tr_mp_get_double(v, &got));
        if (memcmp(&got, &cases[i].d, sizeof(got)) != 0)
            fail_msg("%s read back as %.17g", cases[i].want, got);
    }
    tr_buf_fini(&b);
    tr_buf_fini(&back);
}

static void many_doubles_round_trip_bit_exact(void **state)
{
    (void)state;
    uint64_t s = 88172645463325252ull;
    tr_buf b, text, back;
    tr_buf_init(&b);
    tr_buf_init(&text);
    tr_buf_init(&back);
    enum { N = 20000 };
    double *vals = malloc(N * sizeof(double));
    assert_non_null(vals);
    tr_mp_write_array(&b, N);
    for (int i = 0; i < N; i++) {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        double d;
        if (i % 2 == 0) {
            memcpy(&d, &s, sizeof(d)); /* any bit pattern */
            if (!isfinite(d))
                d = (double)(int64_t)s;
        } else {
            d = (double)(s % 100000000) / 100.0; /* prices */
        }
        vals[i] = d;
        tr_mp_write_double(&b, d);
    }
    ASSERT_OK(tr_json_from_mp(&text, b.data, b.len, NULL));
    tr_codec_error e;
    ASSERT_OK(tr_json_to_mp(&back, (const char *)text.data, text.len, &e));
    tr_mp_val root, v;
    ASSERT_OK(tr_mp_read(back.data, back.len, &root, NULL));
    tr_mp_iter it;
    ASSERT_OK(tr_mp_iter_init(&it, root));
    int i = 0;
    while (tr_mp_iter_next(&it, NULL, &v) > 0) {
        double got;
        ASSERT_OK(tr_mp_get_double(v, &got));
        if (memcmp(&got, &vals[i], sizeof(got)) != 0)
            fail_msg("item %d: %.17g came back as %.17g", i, vals[i], got);
        i++;
    }
    assert_int_equal(i, N);
    free(vals);
    tr_buf_fini(&b);
    tr_buf_fini(&text);
    tr_buf_fini(&back);
}

/* The reference rule, written the slow way: the first of %.15g, %.16g,
 * %.17g that strtod reads back, plus ".0" when it looks like an integer.
 * The printer has a faster path for decimal-looking values; it must give
 * the same text. */
static void reference_double(char *out, size_t cap, double d)
{
    for (int prec = 15; prec <= 17; prec++) {
        snprintf(out, cap, "%.*g", prec, d);
        if (strtod(out, NULL) == d)
            break;
    }
    if (strpbrk(out, ".e") == NULL)
        strcat(out, ".0");
}

static void double_text_matches_printf_reference(void **state)
{
    (void)state;
    uint64_t s = 0x9e3779b97f4a7c15ull;
    tr_buf b, out;
    tr_buf_init(&b);
    tr_buf_init(&out);
    static const double fixed[] = {
        1e-4, 1.5e-4, 0.00015, 9.9999e-5, 999999999999999.0, 1e15 - 0.5,
        123456.789, 0.07, 100.0, 1e14, 12345678.9, 0.123456789,
        0.1234567891, 2.675, 1.005, 4.35, 0.3, 1e-5, 50234.56, -0.001};
    enum { N = 200000 };
    for (int i = 0; i < N; i++) {
        double d;
        if (i < (int)(sizeof(fixed) / sizeof(fixed[0]))) {
            d = fixed[i];
        } else {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            /* up to 15 digits and 18 decimals: every k of the fast path */
            int decimals = (int)(s % 19);
            double scale = 1;
            for (int k = 0; k < decimals; k++)
                scale *= 10;
            int64_t mant = (int64_t)((s >> 8) % (i % 2 ? 10000000000000ull : 1000000000000000ull));
            d = (double)mant / scale * ((s >> 3) & 1 ? -1 : 1);
            if (i % 3 == 0)
                d = d * 1.0000001; /* not decimal-looking: slow path */
        }
        char want[64];
        reference_double(want, sizeof(want), d);
        tr_buf_reset(&b);
        tr_buf_reset(&out);
        tr_mp_write_double(&b, d);
        ASSERT_OK(tr_json_from_mp(&out, b.data, b.len, NULL));
        const char *got = tr_buf_cstr(&out);
        if (strcmp(got, want) != 0)
            fail_msg("%.17g: got %s, want %s", d, got, want);
    }
    tr_buf_fini(&b);
    tr_buf_fini(&out);
}

static void nan_and_inf_are_null(void **state)
{
    (void)state;
    tr_buf b;
    tr_buf_init(&b);
    tr_mp_write_array(&b, 4);
    tr_mp_write_double(&b, NAN);
    tr_mp_write_double(&b, INFINITY);
    tr_mp_write_double(&b, -INFINITY);
    tr_mp_write_raw(&b, "\xca\x7f\xc0\x00\x00", 5); /* float32 NaN */
    assert_json(&b, "[null,null,null,null]");
    tr_mp_val root;
    ASSERT_OK(tr_mp_read(b.data, b.len, &root, NULL));
    json_t *t = tr__mp_to_jansson(root, NULL);
    assert_non_null(t);
    assert_true(json_is_null(json_array_get(t, 0)));
    assert_true(json_is_null(json_array_get(t, 2)));
    json_decref(t);
    tr_buf_fini(&b);
}

static void decimal_comma_locale_still_prints_a_point(void **state)
{
    (void)state;
    const char *names[] = {"de_DE.UTF-8", "de_DE.utf8", "fr_FR.UTF-8", "fr_FR.utf8"};
    const char *ok = NULL;
    for (size_t i = 0; i < 4 && ok == NULL; i++)
        ok = setlocale(LC_NUMERIC, names[i]);
    if (ok == NULL)
        skip(); /* no such locale installed */
    tr_buf b;
    tr_buf_init(&b);
    tr_mp_write_double(&b, 45.2);
    assert_json(&b, "45.2");
    setlocale(LC_NUMERIC, "C");
    tr_buf_fini(&b);
}

/* ---- JSON -> msgpack --------------------------------------------------- */

static void json_numbers_keep_their_kind(void **state)
{
    (void)state;
    tr_buf b;
    tr_buf_init(&b);
    to_mp(&b, "[1,-1,1.0,1e2,9223372036854775807,-9223372036854775808,0.5]");
    tr_mp_val root, v;
    ASSERT_OK(tr_mp_read(b.data, b.len, &root, NULL));
    static const tr_mp_type kinds[] = {TR_MP_INT, TR_MP_INT, TR_MP_FLOAT,
                                       TR_MP_FLOAT, TR_MP_INT, TR_MP_INT,
                                       TR_MP_FLOAT};
    for (uint32_t i = 0; i < 7; i++) {
        ASSERT_OK(tr_mp_array_at(root, i, &v));
        assert_int_equal(tr_mp_typeof(v), kinds[i]);
    }
    /* smallest encodings */
    assert_bytes(b.data, 3, "\x97\x01\xff", 3);
    int64_t i64;
    tr_mp_array_at(root, 5, &v);
    ASSERT_OK(tr_mp_get_int(v, &i64));
    assert_true(i64 == INT64_MIN);

    /* top-level scalars, strings with \u0000, unicode escapes */
    to_mp(&b, "42");
    ASSERT_BUF_BYTES(&b, "\x2a");
    to_mp(&b, "\"a\\u0000b\\u00e9\"");
    ASSERT_BUF_BYTES(&b, "\xa5" "a\x00" "b\xc3\xa9");
    to_mp(&b, " null ");
    ASSERT_BUF_BYTES(&b, "\xc0");
    tr_buf_fini(&b);
}

static void parse_errors_carry_position(void **state)
{
    (void)state;
    tr_buf b;
    tr_buf_init(&b);
    tr_mp_write_nil(&b); /* existing content must survive a failure */
    tr_codec_error e;
    memset(&e, 0, sizeof(e));
    const char *bad = "{\"a\":1,}";
    ASSERT_RC(TR_EPROTO, tr_json_to_mp(&b, bad, strlen(bad), &e));
    assert_int_equal(b.len, 1);
    assert_int_equal(e.line, 1);
    assert_int_equal(e.column, 8);
    assert_int_equal(e.position, 8);
    assert_true(strlen(e.text) > 0);

    const char *bad2 = "{\n  \"a\": [1, 2,\n  \"b\" tru\n}";
    ASSERT_RC(TR_EPROTO, tr_json_to_mp(&b, bad2, strlen(bad2), &e));
    assert_int_equal(e.line, 3);

    const char *big = "[18446744073709551615]"; /* beyond int64 */
    ASSERT_RC(TR_EPROTO, tr_json_to_mp(&b, big, strlen(big), &e));
    assert_non_null(strstr(e.text, "too big"));

    ASSERT_RC(TR_EPROTO, tr_json_to_mp(&b, "", 0, &e));
    ASSERT_RC(TR_EPROTO, tr_json_to_mp(&b, "[1] [2]", 7, &e));
    ASSERT_RC(TR_EINVAL, tr_json_to_mp(&b, NULL, 3, &e));
    ASSERT_RC(TR_EPROTO, tr_json_to_mp(&b, "\"\xff\"", 3, &e)); /* bad UTF-8 */
    assert_int_equal(b.len, 1);
    assert_int_equal(b.data[0], 0xc0);
    tr_buf_fini(&b);
}

static void json_nesting_limit(void **state)
{
    (void)state;
    for (int depth = TR_CODEC_MAX_DEPTH; depth <= TR_CODEC_MAX_DEPTH + 1; depth++) {
        char *s = malloc(2 * (size_t)depth + 1);
        assert_non_null(s);
        memset(s, '[', (size_t)depth);
        memset(s + depth, ']', (size_t)depth);
        s[2 * depth] = '\0';
        tr_buf b;
        tr_buf_init(&b);
        tr_codec_error e;
        int rc = tr_json_to_mp(&b, s, 2 * (size_t)depth, &e);
        if (depth <= TR_CODEC_MAX_DEPTH) {
            ASSERT_OK(rc);
            assert_int_equal(b.len, (size_t)depth);
        } else {
            ASSERT_RC(TR_EPROTO, rc);
            assert_non_null(strstr(e.text, "deep"));
            assert_int_equal(b.len, 0);
        }
        tr_buf_fini(&b);
        free(s);
    }
}

static void large_document_round_trips(void **state)
{
    (void)state;
    tr_buf mp, text, mp2, text2;
    tr_buf_init(&mp);
    tr_buf_init(&text);
    tr_buf_init(&mp2);
    tr_buf_init(&text2);
    enum { N = 10000 };
    tr_mp_write_array(&mp, N);
    for (int i = 0; i < N; i++) {
        tr_mp_write_map(&mp, 3);
        tr_mp_write_cstr(&mp, "i");
        tr_mp_write_int(&mp, i - 5000);
        tr_mp_write_cstr(&mp, "px");
        tr_mp_write_double(&mp, i * 1.25);
        tr_mp_write_cstr(&mp, "s");
        tr_mp_write_cstr(&mp, i % 3 == 0 ? "tab\there" : "plain");
    }
    ASSERT_OK(tr_json_from_mp(&text, mp.data, mp.len, NULL));
    tr_codec_error e;
    ASSERT_OK(tr_json_to_mp(&mp2, (const char *)text.data, text.len, &e));
    assert_bytes(mp2.data, mp2.len, mp.data, mp.len);
    ASSERT_OK(tr_json_from_mp(&text2, mp2.data, mp2.len, NULL));
    assert_bytes(text2.data, text2.len, text.data, text.len);
    assert_true(text.cap >= text.len && text.len > 300000);

    json_error_t je;
    json_t *j = json_loadb((const char *)text.data, text.len, 0, &je);
    assert_non_null(j);
    assert_int_equal(json_array_size(j), N);
    json_t *last = json_array_get(j, N - 1);
    assert_int_equal(json_integer_value(json_object_get(last, "i")), 4999);
    assert_true(json_real_value(json_object_get(last, "px")) == 9999 * 1.25);
    json_decref(j);
    tr_buf_fini(&mp);
    tr_buf_fini(&text);
    tr_buf_fini(&mp2);
    tr_buf_fini(&text2);
}

static void failed_write_restores_length(void **state)
{
    (void)state;
    tr_buf out;
    tr_buf_init(&out);
    tr_buf_append(&out, "prefix", 6);
    static const uint8_t bad[] = {0x92, 0xa1, 'x', 0xc1};
    tr_mp_val v = {bad, bad + sizeof(bad)};
    ASSERT_RC(TR_EPROTO, tr_json_write(&out, v));
    assert_int_equal(out.len, 6);
    ASSERT_OK(tr_buf_error(&out));
    tr_buf_fini(&out);
}

static void jansson_seam_errors(void **state)
{
    (void)state;
    tr_buf b;
    tr_buf_init(&b);
    tr_mp_write_array(&b, 1);
    tr_mp_write_uint(&b, (uint64_t)INT64_MAX + 1);
    tr_mp_val root;
    ASSERT_OK(tr_mp_read(b.data, b.len, &root, NULL));
    int err = 0;
    assert_null(tr__mp_to_jansson(root, &err));
    ASSERT_RC(TR_ERANGE, err);
    tr_mp_val bad = {(const uint8_t *)"\x91", (const uint8_t *)"\x91" + 1};
    assert_null(tr__mp_to_jansson(bad, &err));
    ASSERT_RC(TR_EPROTO, err);

    /* from a tree built in code: bin-like data, booleans, nesting */
    json_t *t = json_pack("{s:b,s:[i,f,n],s:s#}", "ok", 1, "v", -3, 2.5, "s",
                          "a\0b", (int)3);
    assert_non_null(t);
    tr_buf_reset(&b);
    ASSERT_OK(tr__mp_from_jansson(&b, t));
    assert_json(&b, "{\"ok\":true,\"v\":[-3,2.5,null],\"s\":\"a\\u0000b\"}");
    json_decref(t);
    tr_buf_fini(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(node_completed_round_trips),
        cmocka_unit_test(scalars_and_containers_print_exactly),
        cmocka_unit_test(bin_and_ext),
        cmocka_unit_test(non_string_keys_become_strings),
        cmocka_unit_test(escapes_controls_quotes_backslashes),
        cmocka_unit_test(invalid_utf8_becomes_replacement),
        cmocka_unit_test(doubles_print_shortest_round_trip),
        cmocka_unit_test(many_doubles_round_trip_bit_exact),
        cmocka_unit_test(double_text_matches_printf_reference),
        cmocka_unit_test(nan_and_inf_are_null),
        cmocka_unit_test(decimal_comma_locale_still_prints_a_point),
        cmocka_unit_test(json_numbers_keep_their_kind),
        cmocka_unit_test(parse_errors_carry_position),
        cmocka_unit_test(json_nesting_limit),
        cmocka_unit_test(large_document_round_trips),
        cmocka_unit_test(failed_write_restores_length),
        cmocka_unit_test(jansson_seam_errors),
    };
    return cmocka_run_group_tests_name("codecs.json", tests, NULL, NULL);
}
