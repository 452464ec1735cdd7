/*
 * tests/codecs/test_buf.c -- tr_buf and the msgpack writer: exact encodings,
 * growth, payload hand-off, reuse, sticky errors and out-of-memory paths.
 */
#include "codec_test.h"

/* ---- a failing allocator ------------------------------------------------ */

typedef struct fail_alloc {
    int allow;   /* allocations left before failures start (-1: never fail) */
    int allocs;  /* successful (re)allocations */
    int frees;
} fail_alloc;

static void *fa_realloc(void *ptr, size_t size, void *arg)
{
    fail_alloc *fa = arg;
    if (fa->allow == 0)
        return NULL;
    if (fa->allow > 0)
        fa->allow--;
    void *p = realloc(ptr, size);
    if (p != NULL)
        fa->allocs++;
    return p;
}

static void fa_free(void *ptr, void *arg)
{
    fail_alloc *fa = arg;
    if (ptr != NULL)
        fa->frees++;
    free(ptr);
}

/* ---- encodings --------------------------------------------------------- */

static void init_allocates_nothing(void **state)
{
    (void)state;
    tr_buf b;
    tr_buf_init(&b);
    assert_null(b.data);
    assert_int_equal(b.len, 0);
    assert_int_equal(b.cap, 0);
    assert_int_equal(tr_buf_error(&b), TR_OK);
    tr_mp_write_nil(&b);
    assert_int_equal(b.cap, TR_BUF_INIT_CAP);
    assert_int_equal(b.len, 1);
    tr_buf_fini(&b);
    assert_null(b.data);
    tr_buf_fini(&b); /* twice is fine */
}

static void scalars_encode_exactly(void **state)
{
    (void)state;
    tr_buf b;
    tr_buf_init(&b);

    tr_mp_write_nil(&b);
    tr_mp_write_bool(&b, true);
    tr_mp_write_bool(&b, false);
    ASSERT_BUF_BYTES(&b, "\xc0\xc3\xc2");

    tr_buf_reset(&b);
    tr_mp_write_int(&b, 0);
    tr_mp_write_int(&b, 127);
    tr_mp_write_int(&b, -1);
    tr_mp_write_int(&b, -32);
    tr_mp_write_int(&b, -33);
    tr_mp_write_int(&b, 128);
    tr_mp_write_int(&b, 65536);
    ASSERT_BUF_BYTES(&b, "\x00\x7f\xff\xe0\xd0\xdf\xcc\x80\xce\x00\x01\x00\x00");

    tr_buf_reset(&b);
    tr_mp_write_int(&b, INT64_MIN);
    tr_mp_write_uint(&b, UINT64_MAX);
    ASSERT_BUF_BYTES(&b, "\xd3\x80\x00\x00\x00\x00\x00\x00\x00"
                         "\xcf\xff\xff\xff\xff\xff\xff\xff\xff");

    tr_buf_reset(&b);
    tr_mp_write_double(&b, 1.5);
    ASSERT_BUF_BYTES(&b, "\xcb\x3f\xf8\x00\x00\x00\x00\x00\x00");

    tr_buf_reset(&b);
    tr_mp_write_cstr(&b, "abc");
    tr_mp_write_str(&b, "xyz", 0);
    tr_mp_write_str(&b, NULL, 0);
    tr_mp_write_bin(&b, "\x00\x01", 2);
    tr_mp_write_bin(&b, NULL, 0);
    ASSERT_BUF_BYTES(&b, "\xa3" "abc" "\xa0\xa0\xc4\x02\x00\x01\xc4\x00");

    tr_buf_reset(&b);
    char s32[32];
    memset(s32, 'x', sizeof(s32));
    tr_mp_write_str(&b, s32, sizeof(s32));
    assert_int_equal(b.len, 2 + 32);
    assert_int_equal(b.data[0], 0xd9);
    assert_int_equal(b.data[1], 32);

    tr_buf_reset(&b);
    tr_mp_write_map(&b, 1);
    tr_mp_write_cstr(&b, "k");
    tr_mp_write_array(&b, 2);
    tr_mp_write_int(&b, 1);
    tr_mp_write_raw(&b, "\x92\x01\x02", 3);
    tr_mp_write_map(&b, 16);
    tr_mp_write_array(&b, 70000);
    ASSERT_BUF_BYTES(&b, "\x81\xa1k\x92\x01\x92\x01\x02\xde\x00\x10"
                         "\xdd\x00\x01\x11\x70");
    tr_buf_fini(&b);
}

static void cstr_terminates_without_counting(void **state)
{
    (void)state;
    tr_buf b;
    tr_buf_init(&b);
    tr_buf_append(&b, "hello", 5);
    assert_string_equal(tr_buf_cstr(&b), "hello");
    assert_int_equal(b.len, 5);
    tr_buf_append(&b, "!", 1);
    assert_string_equal(tr_buf_cstr(&b), "hello!");
    tr_buf_fini(&b);
}

/* ---- payload hand-off -------------------------------------------------- */

static void finish_adopts_without_copy(void **state)
{
    (void)state;
    tr_buf b;
    tr_buf_init(&b);
    build_node_completed(&b);
    const uint8_t *storage = b.data;
    size_t len = b.len;
    tr_payload *p = NULL;
    ASSERT_OK(tr_buf_finish(&b, &p));
    assert_non_null(p);
    assert_ptr_equal(tr_payload_data(p), storage); /* no copy */
    assert_int_equal(tr_payload_len(p), len);
    assert_int_equal(tr_payload_refs(p), 1);
    /* the buffer is empty and reusable */
    assert_null(b.data);
    assert_int_equal(b.len, 0);
    tr_mp_write_nil(&b);
    ASSERT_BUF_BYTES(&b, "\xc0");
    tr_buf_fini(&b);

    tr_mp_val root, v;
    ASSERT_OK(tr_mp_read_payload(p, &root, NULL));
    ASSERT_OK(tr_mp_map_get(root, "seq", &v));
    int64_t seq = 0;
    ASSERT_OK(tr_mp_get_int(v, &seq));
    assert_int_equal(seq, 1042);
    tr_payload_unref(p); /* frees storage: ASan reports a leak otherwise */
}

static void finish_empty_gives_empty_payload(void **state)
{
    (void)state;
    tr_buf b;
    tr_buf_init(&b);
    tr_payload *p = NULL;
    ASSERT_OK(tr_buf_finish(&b, &p));
    assert_non_null(p);
    assert_int_equal(tr_payload_len(p), 0);
    tr_payload_unref(p);
}

static void copy_then_reset_reuses_storage(void **state)
{
    (void)state;
    tr_buf b;
    tr_buf_init(&b);
    const uint8_t *storage = NULL;
    for (int i = 0; i < 100; i++) {
        tr_buf_reset(&b);
        tr_mp_write_array(&b, 2);
        tr_mp_write_int(&b, i);
        tr_mp_write_cstr(&b, "x");
        if (storage == NULL)
            storage = b.data;
        assert_ptr_equal(b.data, storage); /* no reallocation on reuse */
        assert_int_equal(b.cap, TR_BUF_INIT_CAP);
        tr_payload *p = NULL;
        ASSERT_OK(tr_buf_copy(&b, &p));
        assert_ptr_not_equal(tr_payload_data(p), b.data);
        assert_bytes(tr_payload_data(p), tr_payload_len(p), b.data, b.len);
        tr_payload_unref(p);
    }
    tr_buf_fini(&b);
}

/* ---- growth ------------------------------------------------------------ */

static void large_array_grows_geometrically(void **state)
{
    (void)state;
    tr_buf b;
    tr_buf_init(&b);
    enum { N = 10000 };
    tr_mp_write_array(&b, N);
    size_t last_cap = 0;
    int growths = 0;
    for (int i = 0; i < N; i++) {
        if (i % 2 == 0) {
            tr_mp_write_int(&b, (int64_t)i * 1000003);
        } else {
            char s[32];
            int n = snprintf(s, sizeof(s), "item-%d", i);
            tr_mp_write_str(&b, s, (size_t)n);
        }
        if (b.cap != last_cap) {
            /* each growth at least doubles */
            if (last_cap != 0)
                assert_true(b.cap >= 2 * last_cap);
            last_cap = b.cap;
            growths++;
        }
    }
    ASSERT_OK(tr_buf_error(&b));
    assert_true(b.len > 50000);
    assert_true(growths < 12);

    tr_mp_val root, v;
    ASSERT_OK(tr_mp_read(b.data, b.len, &root, NULL));
    uint32_t count = 0;
    ASSERT_OK(tr_mp_count(root, &count));
    assert_int_equal(count, N);
    tr_mp_iter it;
    ASSERT_OK(tr_mp_iter_init(&it, root));
    int i = 0, rc;
    while ((rc = tr_mp_iter_next(&it, NULL, &v)) > 0) {
        if (i % 2 == 0) {
            int64_t x;
            ASSERT_OK(tr_mp_get_int(v, &x));
            assert_int_equal(x, (int64_t)i * 1000003);
        } else {
            char want[32];
            snprintf(want, sizeof(want), "item-%d", i);
            assert_true(tr_mp_str_eq(v, want));
        }
        i++;
    }
    assert_int_equal(rc, 0);
    assert_int_equal(i, N);
    tr_buf_fini(&b);
}

static void reserve_then_append_big_blob(void **state)
{
    (void)state;
    tr_buf b;
    tr_buf_init(&b);
    size_t n = 3u << 20; /* 3 MiB: bin32 */
    uint8_t *blob = malloc(n);
    assert_non_null(blob);
    for (size_t i = 0; i < n; i++)
        blob[i] = (uint8_t)(i * 7);
    tr_mp_write_bin(&b, blob, n);
    ASSERT_OK(tr_buf_error(&b));
    assert_int_equal(b.len, n + 5);
    assert_int_equal(b.data[0], 0xc6);
    tr_mp_val root;
    const uint8_t *got;
    size_t got_len;
    ASSERT_OK(tr_mp_read(b.data, b.len, &root, NULL));
    ASSERT_OK(tr_mp_get_bin(root, &got, &got_len));
    assert_int_equal(got_len, n);
    assert_memory_equal(got, blob, n);
    free(blob);
    tr_buf_fini(&b);
}

/* ---- errors ------------------------------------------------------------ */

static void sticky_enomem(void **state)
{
    (void)state;
    fail_alloc fa = {.allow = 1};
    tr_buf_allocator a = {fa_realloc, fa_free, &fa};
    tr_buf b;
    tr_buf_init_alloc(&b, &a);
    tr_mp_write_array(&b, 3);
    tr_mp_write_cstr(&b, "first");
    ASSERT_OK(tr_buf_error(&b));
    size_t len = b.len;
    /* needs to grow past TR_BUF_INIT_CAP: the second allocation fails */
    char big[TR_BUF_INIT_CAP];
    memset(big, 'y', sizeof(big));
    tr_mp_write_str(&b, big, sizeof(big));
    assert_int_equal(tr_buf_error(&b), TR_ENOMEM);
    assert_int_equal(b.len, len); /* content kept */
    /* every later call is a no-op, even ones that would fit */
    fa.allow = -1;
    tr_mp_write_nil(&b);
    tr_mp_write_int(&b, 1);
    tr_buf_append(&b, "z", 1);
    assert_int_equal(b.len, len);
    assert_int_equal(tr_buf_reserve(&b, 1), TR_ENOMEM);
    assert_null(tr_buf_cstr(&b));
    tr_payload *p = (tr_payload *)&fa; /* must be overwritten with NULL */
    ASSERT_RC(TR_ENOMEM, tr_buf_finish(&b, &p));
    assert_null(p);
    p = (tr_payload *)&fa;
    ASSERT_RC(TR_ENOMEM, tr_buf_copy(&b, &p));
    assert_null(p);
    /* reset clears the error; the storage is still usable */
    tr_buf_reset(&b);
    tr_mp_write_nil(&b);
    ASSERT_BUF_BYTES(&b, "\xc0");
    tr_buf_fini(&b);
    assert_int_equal(fa.frees, 1);
}

static void etoobig_is_sticky(void **state)
{
    (void)state;
    tr_buf b;
    tr_buf_init(&b);
    tr_mp_write_nil(&b);
    /* the length is refused before the pointer is read */
    tr_mp_write_str(&b, "x", (size_t)UINT32_MAX + 1);
    assert_int_equal(tr_buf_error(&b), TR_ETOOBIG);
    tr_mp_write_nil(&b);
    assert_int_equal(b.len, 1);
    tr_buf_reset(&b);
    tr_mp_write_bin(&b, "x", (size_t)UINT32_MAX + 1);
    assert_int_equal(tr_buf_error(&b), TR_ETOOBIG);
    tr_buf_fini(&b);
}

/* libuv's test-loop-oom idea: allow 0, 1, 2, ... allocations; every run
 * either fails with TR_ENOMEM and leaks nothing, or gives the right bytes. */
static void every_allocation_failure_is_enomem(void **state)
{
    (void)state;
    tr_buf ref;
    tr_buf_init(&ref);
    build_node_completed(&ref);
    for (int i = 0; i < 200; i++)
        tr_mp_write_cstr(&ref, "padding that forces several growths");
    ASSERT_OK(tr_buf_error(&ref));

    bool succeeded = false;
    for (int allow = 0; allow < 20 && !succeeded; allow++) {
        fail_alloc fa = {.allow = allow};
        tr_buf_allocator a = {fa_realloc, fa_free, &fa};
        tr_buf b;
        tr_buf_init_alloc(&b, &a);
        build_node_completed(&b);
        for (int i = 0; i < 200; i++)
            tr_mp_write_cstr(&b, "padding that forces several growths");
        tr_payload *p = NULL;
        int rc = tr_buf_finish(&b, &p);
        if (rc == TR_OK) {
            assert_bytes(tr_payload_data(p), tr_payload_len(p), ref.data,
                         ref.len);
            assert_int_equal(fa.frees, 0);
            tr_payload_unref(p); /* calls fa_free through the payload */
            assert_int_equal(fa.frees, 1);
            succeeded = true;
        } else {
            ASSERT_RC(TR_ENOMEM, rc);
            assert_null(p);
            tr_buf_fini(&b);
            assert_int_equal(fa.frees, allow > 0 ? 1 : 0);
        }
    }
    assert_true(succeeded);
    tr_buf_fini(&ref);
}

static void write_val_copies_a_subdocument(void **state)
{
    (void)state;
    tr_buf src, dst;
    tr_buf_init(&src);
    tr_buf_init(&dst);
    build_node_completed(&src);
    tr_mp_val root, outputs;
    ASSERT_OK(tr_mp_read(src.data, src.len, &root, NULL));
    ASSERT_OK(tr_mp_map_get(root, "outputs", &outputs));

    tr_mp_write_map(&dst, 1);
    tr_mp_write_cstr(&dst, "copied");
    tr_mp_write_val(&dst, outputs);
    ASSERT_OK(tr_buf_error(&dst));

    tr_mp_val r2, price;
    double d = 0;
    ASSERT_OK(tr_mp_read(dst.data, dst.len, &r2, NULL));
    ASSERT_OK(tr_mp_path(r2, "copied.price", &price));
    ASSERT_OK(tr_mp_get_double(price, &d));
    assert_true(d == 50234.56);

    /* a malformed value records TR_EPROTO */
    static const uint8_t bad[] = {0x92, 0x01};
    tr_mp_val badv = {bad, bad + sizeof(bad)};
    tr_mp_write_val(&dst, badv);
    assert_int_equal(tr_buf_error(&dst), TR_EPROTO);
    tr_buf_fini(&src);
    tr_buf_fini(&dst);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(init_allocates_nothing),
        cmocka_unit_test(scalars_encode_exactly),
        cmocka_unit_test(cstr_terminates_without_counting),
        cmocka_unit_test(finish_adopts_without_copy),
        cmocka_unit_test(finish_empty_gives_empty_payload),
        cmocka_unit_test(copy_then_reset_reuses_storage),
        cmocka_unit_test(large_array_grows_geometrically),
        cmocka_unit_test(reserve_then_append_big_blob),
        cmocka_unit_test(sticky_enomem),
        cmocka_unit_test(etoobig_is_sticky),
        cmocka_unit_test(every_allocation_failure_is_enomem),
        cmocka_unit_test(write_val_copies_a_subdocument),
    };
    return cmocka_run_group_tests_name("codecs.buf", tests, NULL, NULL);
}
