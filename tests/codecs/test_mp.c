/*
 * tests/codecs/test_mp.c -- the msgpack reader: round trips, lookups, type
 * acceptance rules, and hostile input (every truncation, 0xc1, huge declared
 * lengths, deep nesting, random corruption) under ASan.
 */
#include <math.h>

#include "codec_test.h"

/* Build into a fresh buffer and validate. */
static void read_ok(tr_buf *b, tr_mp_val *root)
{
    ASSERT_OK(tr_buf_error(b));
    tr_codec_error e;
    int rc = tr_mp_read(b->data, b->len, root, &e);
    if (rc != TR_OK)
        fail_msg("tr_mp_read: %s", e.text);
}

/* ---- round trips ------------------------------------------------------- */

static void every_type_round_trips(void **state)
{
    (void)state;
    tr_buf b;
    tr_buf_init(&b);
    tr_mp_write_array(&b, 14);
    tr_mp_write_nil(&b);
    tr_mp_write_bool(&b, true);
    tr_mp_write_bool(&b, false);
    tr_mp_write_int(&b, INT64_MIN);
    tr_mp_write_int(&b, -1);
    tr_mp_write_uint(&b, UINT64_MAX);
    tr_mp_write_double(&b, 45.2);
    tr_mp_write_double(&b, -0.0);
    tr_mp_write_str(&b, "a\0b", 3);
    tr_mp_write_bin(&b, "\x00\xff", 2);
    tr_mp_write_map(&b, 0);
    tr_mp_write_array(&b, 0);
    tr_mp_write_raw(&b, "\xd4\x05\x2a", 3); /* fixext1 type 5 */
    tr_mp_write_int(&b, 7);

    tr_mp_val root, v;
    read_ok(&b, &root);
    assert_int_equal(tr_mp_typeof(root), TR_MP_ARRAY);
    static const tr_mp_type types[14] = {
        TR_MP_NIL, TR_MP_BOOL, TR_MP_BOOL, TR_MP_INT, TR_MP_INT,
        TR_MP_INT, TR_MP_FLOAT, TR_MP_FLOAT, TR_MP_STR, TR_MP_BIN,
        TR_MP_MAP, TR_MP_ARRAY, TR_MP_EXT, TR_MP_INT};
    for (uint32_t i = 0; i < 14; i++) {
        ASSERT_OK(tr_mp_array_at(root, i, &v));
        assert_int_equal(tr_mp_typeof(v), types[i]);
    }
    bool bv;
    int64_t i64;
    uint64_t u64;
    double d;
    const char *s;
    const uint8_t *bin;
    size_t len;
    uint32_t n;

    tr_mp_array_at(root, 0, &v);
    assert_true(tr_mp_is_nil(v));
    tr_mp_array_at(root, 1, &v);
    ASSERT_OK(tr_mp_get_bool(v, &bv));
    assert_true(bv);
    tr_mp_array_at(root, 2, &v);
    ASSERT_OK(tr_mp_get_bool(v, &bv));
    assert_false(bv);
    tr_mp_array_at(root, 3, &v);
    ASSERT_OK(tr_mp_get_int(v, &i64));
    assert_true(i64 == INT64_MIN);
    tr_mp_array_at(root, 4, &v);
    ASSERT_OK(tr_mp_get_int(v, &i64));
    assert_int_equal(i64, -1);
    tr_mp_array_at(root, 5, &v);
    ASSERT_OK(tr_mp_get_uint(v, &u64));
    assert_true(u64 == UINT64_MAX);
    tr_mp_array_at(root, 6, &v);
    ASSERT_OK(tr_mp_get_double(v, &d));
    assert_true(d == 45.2);
    tr_mp_array_at(root, 7, &v);
    ASSERT_OK(tr_mp_get_double(v, &d));
    assert_true(d == 0.0 && signbit(d));
    tr_mp_array_at(root, 8, &v);
    ASSERT_OK(tr_mp_get_str(v, &s, &len));
    assert_int_equal(len, 3);
    assert_memory_equal(s, "a\0b", 3);
    /* the string points into the document */
    assert_true((const uint8_t *)s > b.data && (const uint8_t *)s < b.data + b.len);
    tr_mp_array_at(root, 9, &v);
    ASSERT_OK(tr_mp_get_bin(v, &bin, &len));
    assert_int_equal(len, 2);
    assert_memory_equal(bin, "\x00\xff", 2);
    tr_mp_array_at(root, 10, &v);
    ASSERT_OK(tr_mp_count(v, &n));
    assert_int_equal(n, 0);
    tr_mp_array_at(root, 11, &v);
    ASSERT_OK(tr_mp_count(v, &n));
    assert_int_equal(n, 0);
    tr_mp_array_at(root, 13, &v);
    ASSERT_OK(tr_mp_get_int(v, &i64));
    assert_int_equal(i64, 7);
    ASSERT_RC(TR_ENOENT, tr_mp_array_at(root, 14, &v));
    tr_buf_fini(&b);
}

/* ---- acceptance rules -------------------------------------------------- */

static tr_mp_val val_of(const void *bytes, size_t len)
{
    tr_mp_val v;
    ASSERT_OK(tr_mp_read(bytes, len, &v, NULL));
    return v;
}
#define VAL(lit) val_of((lit), sizeof(lit) - 1)

static void ints_accept_every_encoding(void **state)
{
    (void)state;
    static const struct {
        const char *bytes;
        size_t len;
        int64_t want;
    } cases[] = {
        {"\x05", 1, 5},
        {"\xcc\xff", 2, 255},
        {"\xcd\x01\x00", 3, 256},
        {"\xce\x00\x01\x00\x00", 5, 65536},
        {"\xcf\x00\x00\x00\x01\x00\x00\x00\x00", 9, 4294967296LL},
        {"\xd0\x05", 2, 5},      /* signed encodings of positives */
        {"\xd1\x00\x05", 3, 5},
        {"\xd2\x00\x00\x00\x05", 5, 5},
        {"\xd3\x00\x00\x00\x00\x00\x00\x00\x05", 9, 5},
        {"\xff", 1, -1},
        {"\xe0", 1, -32},
        {"\xd0\x80", 2, -128},
        {"\xd1\x80\x00", 3, -32768},
        {"\xd2\x80\x00\x00\x00", 5, INT32_MIN},
        {"\xd3\xff\xff\xff\xff\xff\xff\xff\xfe", 9, -2},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        tr_mp_val v = val_of(cases[i].bytes, cases[i].len);
        int64_t got = 0;
        ASSERT_OK(tr_mp_get_int(v, &got));
        assert_int_equal(got, cases[i].want);
        double d = 0;
        ASSERT_OK(tr_mp_get_double(v, &d));
        assert_true(d == (double)cases[i].want);
        uint64_t u = 0;
        ASSERT_RC(cases[i].want < 0 ? TR_ERANGE : TR_OK, tr_mp_get_uint(v, &u));
        if (cases[i].want >= 0)
            assert_int_equal(u, (uint64_t)cases[i].want);
    }
    int64_t i64 = 42;
    ASSERT_RC(TR_ERANGE, tr_mp_get_int(VAL("\xcf\x80\x00\x00\x00\x00\x00\x00\x00"), &i64));
    assert_int_equal(i64, 42);
    ASSERT_OK(tr_mp_get_int(VAL("\xcf\x7f\xff\xff\xff\xff\xff\xff\xff"), &i64));
    assert_true(i64 == INT64_MAX);
}

static void doubles_accept_floats_and_ints(void **state)
{
    (void)state;
    double d = 0;
    ASSERT_OK(tr_mp_get_double(VAL("\xca\x3f\xc0\x00\x00"), &d)); /* f32 1.5 */
    assert_true(d == 1.5);
    ASSERT_OK(tr_mp_get_double(VAL("\xca\x3d\xcc\xcc\xcd"), &d)); /* f32 0.1 */
    assert_true(d == (double)0.1f);
    ASSERT_OK(tr_mp_get_double(VAL("\xcb\x40\x46\x99\x99\x99\x99\x99\x9a"), &d));
    assert_true(d == 45.2);
    ASSERT_OK(tr_mp_get_double(VAL("\xd0\x9c"), &d)); /* int8 -100 */
    assert_true(d == -100.0);
    ASSERT_OK(tr_mp_get_double(VAL("\xcf\xff\xff\xff\xff\xff\xff\xff\xff"), &d));
    assert_true(d == 18446744073709551615.0);
}

static void wrong_types_are_einval(void **state)
{
    (void)state;
    int64_t i = 7;
    uint64_t u = 7;
    double d = 7;
    bool b = true;
    const char *s = NULL;
    const uint8_t *bin = NULL;
    size_t len = 0;
    uint32_t n = 0;
    ASSERT_RC(TR_EINVAL, tr_mp_get_int(VAL("\xcb\x40\x08\x00\x00\x00\x00\x00\x00"), &i)); /* 3.0 */
    ASSERT_RC(TR_EINVAL, tr_mp_get_uint(VAL("\xa1x"), &u));
    ASSERT_RC(TR_EINVAL, tr_mp_get_double(VAL("\xa1x"), &d));
    ASSERT_RC(TR_EINVAL, tr_mp_get_double(VAL("\xc3"), &d));
    ASSERT_RC(TR_EINVAL, tr_mp_get_bool(VAL("\x01"), &b));
    ASSERT_RC(TR_EINVAL, tr_mp_get_str(VAL("\xc4\x01x"), &s, &len));
    ASSERT_RC(TR_EINVAL, tr_mp_get_bin(VAL("\xa1x"), &bin, &len));
    ASSERT_RC(TR_EINVAL, tr_mp_count(VAL("\xc0"), &n));
    ASSERT_RC(TR_EINVAL, tr_mp_map_get(VAL("\x91\x01"), "a", &(tr_mp_val){0}));
    ASSERT_RC(TR_EINVAL, tr_mp_array_at(VAL("\x80"), 0, &(tr_mp_val){0}));
    tr_mp_iter it;
    ASSERT_RC(TR_EINVAL, tr_mp_iter_init(&it, VAL("\x01")));
    tr_mp_val k, v;
    assert_int_equal(tr_mp_iter_next(&it, &k, &v), 0);
    /* outputs untouched on failure */
    assert_int_equal(i, 7);
    assert_true(d == 7);
    assert_true(b);
    assert_null(s);
    /* a zeroed value is "no value" */
    tr_mp_val none = {0};
    assert_int_equal(tr_mp_typeof(none), TR_MP_INVALID);
    ASSERT_RC(TR_EPROTO, tr_mp_get_int(none, &i));
    assert_false(tr_mp_is_nil(none));
    assert_false(tr_mp_str_eq(none, ""));
}

/* ---- lookups ----------------------------------------------------------- */

static void map_and_path_lookups(void **state)
{
    (void)state;
    tr_buf b;
    tr_buf_init(&b);
    build_node_completed(&b);
    tr_mp_val root, v;
    read_ok(&b, &root);

    ASSERT_OK(tr_mp_map_get(root, "type", &v));
    assert_true(tr_mp_str_eq(v, "node_completed"));
    ASSERT_OK(tr_mp_map_find(root, "node_idXXX", 7, &v));
    assert_true(tr_mp_str_eq(v, "price_binance"));
    ASSERT_RC(TR_ENOENT, tr_mp_map_get(root, "missing", &v));
    ASSERT_RC(TR_ENOENT, tr_mp_map_get(root, "typ", &v)); /* prefix */
    ASSERT_RC(TR_ENOENT, tr_mp_map_get(root, "types", &v));

    double d = 0;
    ASSERT_OK(tr_mp_path(root, "outputs.price", &v));
    ASSERT_OK(tr_mp_get_double(v, &d));
    assert_true(d == 50234.56);
    ASSERT_OK(tr_mp_path(root, "outputs.volume", &v));
    ASSERT_OK(tr_mp_get_double(v, &d));
    assert_true(d == 1234.56);
    ASSERT_OK(tr_mp_path(root, "duration_ms", &v));
    ASSERT_OK(tr_mp_get_double(v, &d));
    assert_true(d == 45.2);
    ASSERT_OK(tr_mp_path(root, "", &v));
    assert_ptr_equal(v.p, root.p);
    ASSERT_RC(TR_ENOENT, tr_mp_path(root, "outputs.bid", &v));
    ASSERT_RC(TR_ENOENT, tr_mp_path(root, "nothing.price", &v));
    ASSERT_RC(TR_EINVAL, tr_mp_path(root, "seq.x", &v)); /* through an int */
    ASSERT_RC(TR_EINVAL, tr_mp_path(root, "outputs..price", &v));
    ASSERT_RC(TR_EINVAL, tr_mp_path(root, "outputs.", &v));
    ASSERT_RC(TR_EINVAL, tr_mp_path(root, ".outputs", &v));
    tr_buf_fini(&b);

    /* arrays by index, non-string keys, duplicates */
    tr_buf_init(&b);
    tr_mp_write_map(&b, 4);
    tr_mp_write_int(&b, 1); /* non-string key: never matches */
    tr_mp_write_cstr(&b, "int key");
    tr_mp_write_cstr(&b, "nodes");
    tr_mp_write_array(&b, 2);
    tr_mp_write_map(&b, 1);
    tr_mp_write_cstr(&b, "id");
    tr_mp_write_cstr(&b, "a");
    tr_mp_write_map(&b, 1);
    tr_mp_write_cstr(&b, "id");
    tr_mp_write_cstr(&b, "b");
    tr_mp_write_cstr(&b, "dup");
    tr_mp_write_int(&b, 1);
    tr_mp_write_cstr(&b, "dup");
    tr_mp_write_int(&b, 2);
    read_ok(&b, &root);
    ASSERT_OK(tr_mp_path(root, "nodes.1.id", &v));
    assert_true(tr_mp_str_eq(v, "b"));
    ASSERT_OK(tr_mp_path(root, "nodes.0.id", &v));
    assert_true(tr_mp_str_eq(v, "a"));
    ASSERT_RC(TR_ENOENT, tr_mp_path(root, "nodes.2.id", &v));
    ASSERT_RC(TR_EINVAL, tr_mp_path(root, "nodes.x", &v));
    ASSERT_RC(TR_EINVAL, tr_mp_path(root, "nodes.-1", &v));
    ASSERT_RC(TR_EINVAL, tr_mp_path(root, "nodes.99999999999", &v));
    ASSERT_RC(TR_ENOENT, tr_mp_path(root, "1", &v));
    int64_t i = 0;
    ASSERT_OK(tr_mp_path(root, "dup", &v));
    ASSERT_OK(tr_mp_get_int(v, &i));
    assert_int_equal(i, 1); /* first wins */
    tr_buf_fini(&b);
}

static void iteration_in_order(void **state)
{
    (void)state;
    tr_buf b;
    tr_buf_init(&b);
    build_node_completed(&b);
    tr_mp_val root, k, v;
    read_ok(&b, &root);
    static const char *keys[] = {
        "type", "seq", "execution_id", "workflow_id", "bot_id",
        "strategy_id", "node_id", "node_name", "node_category",
        "timestamp", "duration_ms", "status", "attempt", "outputs"};
    tr_mp_iter it;
    ASSERT_OK(tr_mp_iter_init(&it, root));
    int i = 0, rc;
    while ((rc = tr_mp_iter_next(&it, &k, &v)) > 0) {
        assert_true(i < 14);
        assert_true(tr_mp_str_eq(k, keys[i]));
        i++;
    }
    assert_int_equal(rc, 0);
    assert_int_equal(i, 14);
    tr_buf_fini(&b);
}

/* ---- hostile input ----------------------------------------------------- */

/* Every strict prefix of a valid document is refused, from an exact-size
 * heap copy so that ASan sees any read past the end; lookups on the
 * unvalidated prefix do not crash either. */
static void every_truncation_is_eproto(void **state)
{
    (void)state;
    tr_buf b;
    tr_buf_init(&b);
    tr_mp_write_map(&b, 3);
    tr_mp_write_cstr(&b, "event");
    build_node_completed(&b);
    tr_mp_write_cstr(&b, "misc");
    tr_mp_write_array(&b, 9);
    tr_mp_write_int(&b, -100000);
    tr_mp_write_uint(&b, UINT64_MAX);
    tr_mp_write_double(&b, 0.1);
    tr_mp_write_bin(&b, "\x01\x02\x03", 3);
    tr_mp_write_raw(&b, "\xca\x3f\xc0\x00\x00", 5);
    tr_mp_write_raw(&b, "\xc7\x02\x01\xaa\xbb", 5);
    tr_mp_write_str(&b, "a longer string that needs str8 encoding ........", 49);
    tr_mp_write_nil(&b);
    tr_mp_write_bool(&b, true);
    tr_mp_write_cstr(&b, "last");
    tr_mp_write_int(&b, 1);
    ASSERT_OK(tr_buf_error(&b));

    tr_mp_val root;
    ASSERT_OK(tr_mp_read(b.data, b.len, &root, NULL));
    for (size_t len = 0; len < b.len; len++) {
        uint8_t *copy = malloc(len > 0 ? len : 1);
        assert_non_null(copy);
        memcpy(copy, b.data, len);
        tr_codec_error e = {.line = 7};
        tr_mp_val r = {(const uint8_t *)1, (const uint8_t *)1};
        ASSERT_RC(TR_EPROTO, tr_mp_read(copy, len, &r, &e));
        assert_null(r.p);
        assert_int_equal(e.line, -1);
        assert_true(e.position <= len);
        assert_true(strstr(e.text, len == 0 ? "empty" : "truncated") != NULL);

        tr_buf out;
        tr_buf_init(&out);
        ASSERT_RC(TR_EPROTO, tr_json_from_mp(&out, copy, len, NULL));
        assert_int_equal(out.len, 0);

        /* lookups and printing on an unvalidated, truncated value */
        tr_mp_val raw = {copy, copy + len}, v;
        (void)tr_mp_path(raw, "event.outputs.price", &v);
        (void)tr_mp_path(raw, "misc.8", &v);
        (void)tr_mp_map_get(raw, "last", &v);
        (void)tr_json_write(&out, raw);
        tr_mp_write_val(&out, raw);
        tr_mp_iter it;
        if (tr_mp_iter_init(&it, raw) == TR_OK) {
            tr_mp_val k;
            while (tr_mp_iter_next(&it, &k, &v) > 0)
                (void)tr_json_write(&out, v);
        }
        tr_buf_fini(&out);
        free(copy);
    }
    tr_buf_fini(&b);
}

static void byte_c1_is_eproto(void **state)
{
    (void)state;
    tr_codec_error e;
    tr_mp_val v;
    ASSERT_RC(TR_EPROTO, tr_mp_read("\xc1", 1, &v, &e));
    assert_int_equal(e.position, 0);
    assert_non_null(strstr(e.text, "0xc1"));
    /* nested: {"a": [1, 0xc1]} */
    static const uint8_t nested[] = {0x81, 0xa1, 'a', 0x92, 0x01, 0xc1};
    ASSERT_RC(TR_EPROTO, tr_mp_read(nested, sizeof(nested), &v, &e));
    assert_int_equal(e.position, 5);
    assert_non_null(strstr(e.text, "0xc1"));
    /* unvalidated lookups reach the bad byte and report it */
    tr_mp_val raw = {nested, nested + sizeof(nested)}, x;
    ASSERT_OK(tr_mp_path(raw, "a.1", &x));
    assert_int_equal(tr_mp_typeof(x), TR_MP_INVALID);
    int64_t i = 0;
    ASSERT_RC(TR_EPROTO, tr_mp_get_int(x, &i));
    const uint8_t *bytes;
    size_t len;
    ASSERT_RC(TR_EPROTO, tr_mp_val_bytes(raw, &bytes, &len));
}

static void huge_declared_lengths_fail_fast(void **state)
{
    (void)state;
    static const struct {
        const char *bytes;
        size_t len;
    } cases[] = {
        {"\xdd\x0f\xff\xff\xff", 5},     /* array32, 268M items (msgpack-c: 8 GB) */
        {"\xdd\xff\xff\xff\xff", 5},     /* array32, 4G items */
        {"\xdf\xff\xff\xff\xff", 5},     /* map32 */
        {"\xdb\xff\xff\xff\xff", 5},     /* str32 of 4 GiB */
        {"\xc6\xff\xff\xff\xff", 5},     /* bin32 */
        {"\xc9\xff\xff\xff\xff\x01", 6}, /* ext32 */
        {"\x92\x01", 2},                 /* fixarray of 2 with 1 item */
        {"\x82\xa1k\x01", 4},           /* fixmap of 2 with 1 pair */
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        tr_mp_val v;
        tr_codec_error e;
        ASSERT_RC(TR_EPROTO, tr_mp_read(cases[i].bytes, cases[i].len, &v, &e));
        assert_int_equal(e.position, 0);
    }
}

static void trailing_bytes_and_empty(void **state)
{
    (void)state;
    tr_mp_val v;
    tr_codec_error e;
    ASSERT_RC(TR_EPROTO, tr_mp_read("\x01\x02", 2, &v, &e));
    assert_int_equal(e.position, 1);
    assert_non_null(strstr(e.text, "trailing"));
    ASSERT_RC(TR_EPROTO, tr_mp_read("", 0, &v, NULL));
    ASSERT_RC(TR_EINVAL, tr_mp_read(NULL, 3, &v, NULL));
    ASSERT_RC(TR_EPROTO, tr_mp_read(NULL, 0, &v, NULL));
    ASSERT_RC(TR_EINVAL, tr_mp_read_payload(NULL, &v, NULL));
}

static void nesting_limit(void **state)
{
    (void)state;
    for (int depth = TR_CODEC_MAX_DEPTH; depth <= TR_CODEC_MAX_DEPTH + 1; depth++) {
        tr_buf b;
        tr_buf_init(&b);
        for (int i = 0; i < depth - 1; i++)
            tr_mp_write_array(&b, 1);
        tr_mp_write_map(&b, 1);
        tr_mp_write_cstr(&b, "k");
        tr_mp_write_nil(&b);
        tr_mp_val v;
        tr_codec_error e;
        tr_buf out;
        tr_buf_init(&out);
        if (depth <= TR_CODEC_MAX_DEPTH) {
            ASSERT_OK(tr_mp_read(b.data, b.len, &v, &e));
            ASSERT_OK(tr_json_write(&out, v));
            assert_int_equal(out.len, 2 * (size_t)(depth - 1) + 10);
        } else {
            ASSERT_RC(TR_EPROTO, tr_mp_read(b.data, b.len, &v, &e));
            assert_non_null(strstr(e.text, "deep"));
            assert_int_equal(e.position, (size_t)TR_CODEC_MAX_DEPTH);
            tr_mp_val raw = {b.data, b.data + b.len};
            ASSERT_RC(TR_EPROTO, tr_json_write(&out, raw));
            assert_int_equal(out.len, 0);
        }
        tr_buf_fini(&out);
        tr_buf_fini(&b);
    }
    /* a million nested arrays: the reader's skip is iterative */
    size_t n = 1000000;
    uint8_t *deep = malloc(n + 1);
    assert_non_null(deep);
    memset(deep, 0x91, n);
    deep[n] = 0xc0;
    tr_mp_val v, raw = {deep, deep + n + 1};
    ASSERT_RC(TR_EPROTO, tr_mp_read(deep, n + 1, &v, NULL));
    const uint8_t *bytes;
    size_t len;
    ASSERT_OK(tr_mp_val_bytes(raw, &bytes, &len));
    assert_int_equal(len, n + 1);
    free(deep);
}

static uint32_t xorshift(uint32_t *s)
{
    uint32_t x = *s;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    return *s = x;
}

/* Random corruption of a valid document: never a crash or an over-read;
 * whatever validates also prints as JSON that jansson-free checks accept. */
static void random_corruption_never_crashes(void **state)
{
    (void)state;
    tr_buf b;
    tr_buf_init(&b);
    tr_mp_write_array(&b, 3);
    build_node_completed(&b);
    tr_mp_write_nil(&b);
    tr_mp_write_bin(&b, "\x00\x01\x02\x03", 4);
    tr_mp_write_int(&b, 99);
    ASSERT_OK(tr_buf_error(&b));
    uint32_t seed = 0x2545f491;
    int valid = 0;
    for (int round = 0; round < 20000; round++) {
        uint8_t *copy = malloc(b.len);
        assert_non_null(copy);
        memcpy(copy, b.data, b.len);
        int flips = 1 + (int)(xorshift(&seed) % 4);
        for (int f = 0; f < flips; f++)
            copy[xorshift(&seed) % b.len] = (uint8_t)xorshift(&seed);
        size_t len = b.len - (xorshift(&seed) % 3 == 0 ? xorshift(&seed) % b.len : 0);
        tr_mp_val v;
        tr_buf out;
        tr_buf_init(&out);
        int rc = tr_mp_read(copy, len, &v, NULL);
        if (rc == TR_OK) {
            valid++;
            ASSERT_OK(tr_json_write(&out, v));
        } else {
            ASSERT_RC(TR_EPROTO, rc);
            tr_mp_val raw = {copy, copy + len}, x;
            (void)tr_json_write(&out, raw);
            (void)tr_mp_path(raw, "0.outputs.price", &x);
        }
        tr_buf_fini(&out);
        free(copy);
    }
    assert_true(valid > 0);
    tr_buf_fini(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(every_type_round_trips),
        cmocka_unit_test(ints_accept_every_encoding),
        cmocka_unit_test(doubles_accept_floats_and_ints),
        cmocka_unit_test(wrong_types_are_einval),
        cmocka_unit_test(map_and_path_lookups),
        cmocka_unit_test(iteration_in_order),
        cmocka_unit_test(every_truncation_is_eproto),
        cmocka_unit_test(byte_c1_is_eproto),
        cmocka_unit_test(huge_declared_lengths_fail_fast),
        cmocka_unit_test(trailing_bytes_and_empty),
        cmocka_unit_test(nesting_limit),
        cmocka_unit_test(random_corruption_never_crashes),
    };
    return cmocka_run_group_tests_name("codecs.mp", tests, NULL, NULL);
}
