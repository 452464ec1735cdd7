/*
 * tests/log/test_log_threads.c -- logging under contention: lines written by
 * several threads through write(2) into a pipe and an O_APPEND file arrive
 * whole and in each thread's order, and tr_log_configure's grace period
 * holds while other threads log (see runtime/log.c).
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

static const char *jstr(json_t *obj, const char *key)
{
    json_t *v = json_object_get(obj, key);
    if (!json_is_string(v))
        fail_msg("field %s missing or not a string", key);
    return json_string_value(v);
}

/* ---------------------------------------------------------------------------
 * Concurrency: whole lines under contention
 * ------------------------------------------------------------------------ */

#define N_THREADS 4
#define N_LINES 10000

static char g_pad[3600];

static void *writer_thread(void *arg)
{
    int id = (int)(intptr_t)arg;
    char label[16];
    snprintf(label, sizeof(label), "t%d", id);
    tr_log_set_label(label);
    for (int i = 0; i < N_LINES; i++) {
        /* every 10th line is long (up to ~3.6 KB) to make tearing visible */
        int pad = (i % 10 == 0) ? (i / 10) % 3600 : 0;
        TR_LOG_INFO("load", "seq=%d %.*s", i, pad, g_pad);
    }
    tr_log_set_label(NULL);
    return NULL;
}

typedef struct reader {
    int fd;
    char *buf;
    size_t len, cap;
} reader;

static void *reader_thread(void *arg)
{
    reader *r = arg;
    for (;;) {
        if (r->cap - r->len < 65536) {
            r->cap = r->cap * 2 + 65536;
            r->buf = realloc(r->buf, r->cap);
            if (r->buf == NULL)
                abort();
        }
        ssize_t n = read(r->fd, r->buf + r->len, r->cap - r->len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        r->len += (size_t)n;
    }
    return NULL;
}

static void run_writers(void)
{
    pthread_t t[N_THREADS];
    for (int i = 0; i < N_THREADS; i++)
        assert_int_equal(pthread_create(&t[i], NULL, writer_thread, (void *)(intptr_t)i), 0);
    for (int i = 0; i < N_THREADS; i++)
        pthread_join(t[i], NULL);
}

/* Every line parses, belongs to a writer, and each writer's lines arrive
 * complete and in order. */
static void check_lines(const char *buf, size_t len)
{
    int next[N_THREADS] = {0};
    size_t lines = 0;
    assert_true(len > 0 && buf[len - 1] == '\n');
    const char *p = buf, *end = buf + len;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        assert_non_null(nl);
        json_error_t err;
        json_t *j = json_loadb(p, (size_t)(nl - p), JSON_REJECT_DUPLICATES, &err);
        if (j == NULL)
            fail_msg("line %zu is not whole JSON: %s", lines, err.text);
        const char *corr = jstr(j, "corr");
        int id = -1, seq = -1;
        assert_int_equal(sscanf(corr, "t%d", &id), 1);
        assert_true(id >= 0 && id < N_THREADS);
        assert_int_equal(sscanf(jstr(j, "msg"), "seq=%d", &seq), 1);
        if (seq != next[id])
            fail_msg("thread %d: expected seq %d, got %d", id, next[id], seq);
        int pad = (seq % 10 == 0) ? (seq / 10) % 3600 : 0;
        const char *msg = jstr(j, "msg");
        const char *sp = strchr(msg, ' ');
        assert_non_null(sp);
        assert_int_equal(strlen(sp + 1), (size_t)pad);
        next[id]++;
        lines++;
        json_decref(j);
        p = nl + 1;
    }
    assert_int_equal(lines, N_THREADS * N_LINES);
    for (int i = 0; i < N_THREADS; i++)
        assert_int_equal(next[i], N_LINES);
}

static void concurrent_lines_into_a_pipe_never_interleave(void **state)
{
    memset(g_pad, 'p', sizeof(g_pad));
    int p[2];
    assert_int_equal(pipe(p), 0);
    reader r = {.fd = p[0], .buf = NULL, .len = 0, .cap = 0};
    pthread_t rt;
    assert_int_equal(pthread_create(&rt, NULL, reader_thread, &r), 0);
    tr_log_config cfg = {TR_LOG_FORMAT_JSON, TR_LOG_LEVEL_INFO, p[1], NULL, NULL};
    assert_int_equal(tr_log_configure(&cfg), 0);
    uint64_t dropped = tr_log_dropped();

    run_writers();

    assert_int_equal(tr_log_configure(NULL), 0); /* nobody writes p[1] now */
    close(p[1]);
    pthread_join(rt, NULL);
    close(p[0]);
    assert_int_equal(tr_log_dropped(), dropped);
    check_lines(r.buf, r.len);
    free(r.buf);
}

static void concurrent_lines_into_an_append_file_never_interleave(void **state)
{
    memset(g_pad, 'p', sizeof(g_pad));
    char path[] = "/tmp/troupe_test_log_XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    unlink(path);
    assert_int_equal(fcntl(fd, F_SETFL, O_APPEND), 0);
    tr_log_config cfg = {TR_LOG_FORMAT_JSON, TR_LOG_LEVEL_INFO, fd, NULL, NULL};
    assert_int_equal(tr_log_configure(&cfg), 0);

    run_writers();

    assert_int_equal(tr_log_configure(NULL), 0);
    off_t size = lseek(fd, 0, SEEK_END);
    assert_true(size > 0);
    char *buf = malloc((size_t)size);
    assert_non_null(buf);
    assert_int_equal(pread(fd, buf, (size_t)size, 0), size);
    close(fd);
    check_lines(buf, (size_t)size);
    free(buf);
}

/* ---------------------------------------------------------------------------
 * Concurrency: reconfiguring while others log
 * ------------------------------------------------------------------------ */

typedef struct retire_sink {
    uint32_t retired;    /* set by the test once configure moved away */
    uint64_t calls;
    uint64_t violations; /* calls that began after retirement */
} retire_sink;

static void retiring_sink(void *arg, const tr_log_record *rec)
{
    retire_sink *s = arg;
    if (__atomic_load_n(&s->retired, __ATOMIC_ACQUIRE))
        __atomic_fetch_add(&s->violations, 1, __ATOMIC_RELAXED);
    __atomic_fetch_add(&s->calls, 1, __ATOMIC_RELAXED);
    /* linger, to widen the window in which configure must wait for us */
    for (volatile int i = 0; i < 200; i++)
        ;
    if (__atomic_load_n(&s->retired, __ATOMIC_ACQUIRE))
        __atomic_fetch_add(&s->violations, 1, __ATOMIC_RELAXED);
    if (rec->line_len == 0 || rec->line[rec->line_len - 1] != '\n')
        __atomic_fetch_add(&s->violations, 1, __ATOMIC_RELAXED); /* no cmocka off-thread */
}

static uint32_t g_stop;

static void *busy_logger(void *arg)
{
    tr_log_set_corr((uint64_t)(intptr_t)arg + 1);
    while (!__atomic_load_n(&g_stop, __ATOMIC_ACQUIRE))
        TR_LOG_INFO("busy", "line %d", 1);
    return NULL;
}

static void configure_waits_for_lines_using_the_old_sink(void **state)
{
    retire_sink s[2];
    memset(s, 0, sizeof(s));
    __atomic_store_n(&s[1].retired, 1, __ATOMIC_RELEASE);
    tr_log_config cfg = {TR_LOG_FORMAT_JSON, TR_LOG_LEVEL_INFO, -1, retiring_sink, &s[0]};
    assert_int_equal(tr_log_configure(&cfg), 0);

    g_stop = 0;
    pthread_t t[N_THREADS];
    for (int i = 0; i < N_THREADS; i++)
        assert_int_equal(pthread_create(&t[i], NULL, busy_logger, (void *)(intptr_t)i), 0);
    /* Let the loggers get going first (on a loaded machine, or under a
     * sanitizer, the rounds below could otherwise all pass before any line
     * is logged, and the race would not be exercised). */
    for (int spin = 0; spin < 100000 && __atomic_load_n(&s[0].calls, __ATOMIC_ACQUIRE) == 0;
         spin++)
        sched_yield();

    int cur = 0;
    for (int round = 0; round < 2000; round++) {
        int next = cur ^ 1;
        __atomic_store_n(&s[next].retired, 0, __ATOMIC_RELEASE);
        cfg.sink_arg = &s[next];
        cfg.format = (round & 2) ? TR_LOG_FORMAT_CONSOLE : TR_LOG_FORMAT_JSON;
        assert_int_equal(tr_log_configure(&cfg), 0);
        /* From here on nobody may enter or still be inside s[cur]. */
        __atomic_store_n(&s[cur].retired, 1, __ATOMIC_RELEASE);
        cur = next;
        if (round % 100 == 0)
            sched_yield();
    }
    __atomic_store_n(&g_stop, 1, __ATOMIC_RELEASE);
    for (int i = 0; i < N_THREADS; i++)
        pthread_join(t[i], NULL);
    assert_int_equal(tr_log_configure(NULL), 0);

    assert_true(s[0].calls + s[1].calls > 0);
    assert_int_equal(s[0].violations, 0);
    assert_int_equal(s[1].violations, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(concurrent_lines_into_a_pipe_never_interleave, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(concurrent_lines_into_an_append_file_never_interleave,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(configure_waits_for_lines_using_the_old_sink, setup,
                                        teardown),
    };
    return cmocka_run_group_tests_name("log.threads", tests, NULL, NULL);
}
