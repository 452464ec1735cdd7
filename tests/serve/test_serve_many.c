/*
 * tests/serve/test_serve_many.c -- 1,000 concurrent /ws connections against
 * one server (engine + tr_serve_start on 127.0.0.1:0, temp state_dir).
 *
 * RLIMIT_NOFILE's soft limit is raised to the hard limit first (the test
 * process holds both ends of every connection).  One thread drives all
 * 1,000 clients on non-blocking sockets with epoll: connect, the RFC 6455
 * handshake of ws_client.h (request written, Sec-WebSocket-Accept checked),
 * a subscribe op, then frames parsed by ws_client.h's reader once a whole
 * frame is buffered.  They are spread over 10 workflow rooms (100 each);
 * every workflow runs RUNS times through the HTTP API.  A control
 * subscriber in all 10 rooms counts each workflow's events (up to RUNS
 * execution_completed).  Then every connection must have received exactly
 * that many events of its own room, seq 1, 2, ... with no gap, and nothing
 * from another room.  /metrics must show 1,000 connections, then 0 after
 * they are closed.  Every wait is bounded.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <time.h>

#include <cmocka.h>

#include "serve/ws_test.h"

#define NCONN 1000
#define NROOMS 10
#define RUNS 5
#define PHASE_MS 120000

enum { C_IDLE, C_CONNECTING, C_HANDSHAKE, C_SUBSCRIBING, C_READY, C_FAILED };

typedef struct conn {
    wsc c;
    int state;
    int room;
    uint64_t next_seq; /* next expected seq */
    int events;        /* workflow_event frames received */
    char why[96];      /* first failure */
} conn;

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void fail_conn(conn *k, const char *why)
{
    if (k->state != C_FAILED)
        snprintf(k->why, sizeof k->why, "%s", why);
    k->state = C_FAILED;
}

/* Non-blocking read of whatever is there; -1 on EOF/error. */
static int nb_fill(wsc *c)
{
    for (;;) {
        if (c->cap - c->len < 4096) {
            c->cap = c->cap ? c->cap * 2 : 8192;
            c->buf = realloc(c->buf, c->cap);
        }
        ssize_t r = recv(c->fd, c->buf + c->len, c->cap - c->len - 1, 0);
        if (r > 0) {
            c->len += (size_t)r;
            continue;
        }
        if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return 0;
        if (r < 0 && errno == EINTR)
            continue;
        return -1;
    }
}

/* 1 when a whole frame with fin set is buffered (so wsc_recv won't read),
 * 0 when not yet, -1 for a fragmented frame (not expected from the server). */
static int frame_ready(const wsc *c)
{
    if (c->len < 2)
        return 0;
    uint64_t len = c->buf[1] & 0x7f;
    size_t hl = len == 126 ? 4 : len == 127 ? 10 : 2;
    if (c->len < hl)
        return 0;
    if (len == 126)
        len = (uint64_t)c->buf[2] << 8 | c->buf[3];
    else if (len == 127) {
        len = 0;
        for (int i = 0; i < 8; i++)
            len = len << 8 | c->buf[2 + i];
    }
    if (c->len < hl + len)
        return 0;
    int op = c->buf[0] & 0x0f;
    return (c->buf[0] & 0x80) || op >= 8 ? 1 : -1;
}

static void send_request(conn *k, int port)
{
    char req[512];
    int n = snprintf(req, sizeof req,
                     "GET /ws HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nUpgrade: websocket\r\n"
                     "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                     "Sec-WebSocket-Version: 13\r\n\r\n",
                     port);
    if (send(k->c.fd, req, (size_t)n, MSG_NOSIGNAL) != n)
        fail_conn(k, "handshake send");
    else
        k->state = C_HANDSHAKE;
}

static void subscribe_op(conn *k)
{
    char op[96];
    snprintf(op, sizeof op, "{\"op\":\"subscribe\",\"workflow_id\":\"wf_%d\"}", k->room);
    if (wsc_text(&k->c, op) != 0)
        fail_conn(k, "subscribe send");
    else
        k->state = C_SUBSCRIBING;
}

static void on_handshake(conn *k)
{
    wsc *c = &k->c;
    c->buf[c->len] = '\0';
    char *end = strstr((char *)c->buf, "\r\n\r\n");
    if (end == NULL)
        return;
    int status = -1;
    sscanf((char *)c->buf, "HTTP/1.%*d %d", &status);
    if (status != 101 || strstr((char *)c->buf, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=") == NULL) {
        fail_conn(k, "handshake status/accept");
        return;
    }
    wsc_consume(c, (size_t)(end + 4 - (char *)c->buf));
    subscribe_op(k);
}

/* One server message for a subscribed (or subscribing) connection. */
static void on_message(conn *k, json_t *j)
{
    const char *ev = wsc_event(j);
    char room[32];
    snprintf(room, sizeof room, "wf_%d", k->room);
    if (ev && strcmp(ev, "subscribed") == 0 && k->state == C_SUBSCRIBING) {
        if (json_integer_value(wsc_data(j, "seq")) != 0)
            fail_conn(k, "subscribed seq != 0");
        else
            k->state = C_READY;
    } else if (ev && strcmp(ev, "workflow_event") == 0 && k->state == C_READY) {
        const char *w = json_string_value(wsc_data(j, "workflow_id"));
        uint64_t seq = (uint64_t)json_integer_value(wsc_data(j, "seq"));
        k->events++;
        if (w == NULL || strcmp(w, room) != 0)
            fail_conn(k, "event of another room");
        else if (seq != k->next_seq)
            fail_conn(k, "seq gap or reorder");
        else
            k->next_seq++;
    } else {
        fail_conn(k, "unexpected message");
    }
}

static void on_readable(conn *k)
{
    wsc *c = &k->c;
    int eof = nb_fill(c);
    if (k->state == C_HANDSHAKE)
        on_handshake(k);
    while (k->state == C_SUBSCRIBING || k->state == C_READY) {
        int r = frame_ready(c);
        if (r == 0)
            break;
        if (r < 0) {
            fail_conn(k, "fragmented frame");
            break;
        }
        char *m = NULL;
        size_t n = 0;
        if (wsc_recv(c, &m, &n) != 0) { /* close frame (or ping-only buffer drained) */
            if (c->closed)
                fail_conn(k, "closed by server");
            break;
        }
        json_error_t e;
        json_t *j = json_loadb(m, n, 0, &e);
        free(m);
        if (j == NULL) {
            fail_conn(k, "bad JSON");
            break;
        }
        on_message(k, j);
        json_decref(j);
    }
    if (eof != 0 && k->state != C_FAILED)
        fail_conn(k, "EOF");
}

typedef struct pool {
    conn *k;
    int ep;
    int port;
} pool;

static int count_state(pool *p, int state)
{
    int n = 0;
    for (int i = 0; i < NCONN; i++)
        n += p->k[i].state == state;
    return n;
}

static void first_failure(pool *p)
{
    for (int i = 0; i < NCONN; i++)
        if (p->k[i].state == C_FAILED) {
            print_error("connection %d (room wf_%d, %d events, next seq %llu): %s\n", i,
                        p->k[i].room, p->k[i].events, (unsigned long long)p->k[i].next_seq,
                        p->k[i].why);
            return;
        }
}

/* One epoll round (up to wait_ms). */
static void poll_once(pool *p, int wait_ms)
{
    struct epoll_event evs[256];
    int n = epoll_wait(p->ep, evs, 256, wait_ms);
    for (int i = 0; i < n; i++) {
        conn *k = &p->k[evs[i].data.u32];
        if (k->state == C_CONNECTING) {
            int err = 0;
            socklen_t el = sizeof err;
            getsockopt(k->c.fd, SOL_SOCKET, SO_ERROR, &err, &el);
            if (err != 0) {
                fail_conn(k, "connect");
                continue;
            }
            struct epoll_event ee = {.events = EPOLLIN, .data.u32 = evs[i].data.u32};
            epoll_ctl(p->ep, EPOLL_CTL_MOD, k->c.fd, &ee);
            send_request(k, p->port);
        } else if (k->state != C_FAILED) {
            on_readable(k);
        }
        if (k->state == C_FAILED && k->c.fd > 0)
            epoll_ctl(p->ep, EPOLL_CTL_DEL, k->c.fd, NULL);
    }
}

static void start_connect(pool *p, int i)
{
    conn *k = &p->k[i];
    k->room = i % NROOMS;
    k->next_seq = 1;
    k->c.fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    if (k->c.fd < 0) {
        fail_conn(k, "socket");
        return;
    }
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)p->port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int rc = connect(k->c.fd, (struct sockaddr *)&a, sizeof a);
    if (rc != 0 && errno != EINPROGRESS) {
        fail_conn(k, "connect");
        return;
    }
    k->state = C_CONNECTING;
    struct epoll_event ee = {.events = EPOLLOUT, .data.u32 = (uint32_t)i};
    epoll_ctl(p->ep, EPOLL_CTL_ADD, k->c.fd, &ee);
}

static long metric_connections(int port)
{
    char *body = NULL;
    int fd = http_connect(port);
    if (fd < 0)
        return -1;
    int st = http_do(fd, "GET", "/metrics", NULL, NULL, &body);
    close(fd);
    long v = -1;
    const char *m = body ? strstr(body, "\ntroupe_ws_connections ") : NULL;
    if (st == 200 && m)
        v = strtol(m + strlen("\ntroupe_ws_connections "), NULL, 10);
    free(body);
    return v;
}

static void raise_nofile(void)
{
    struct rlimit rl;
    assert_int_equal(getrlimit(RLIMIT_NOFILE, &rl), 0);
    rl.rlim_cur = rl.rlim_max;
    assert_int_equal(setrlimit(RLIMIT_NOFILE, &rl), 0);
    if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < 2 * NCONN + 256)
        fail_msg("RLIMIT_NOFILE hard limit %llu is too low for %d connections",
                 (unsigned long long)rl.rlim_cur, NCONN);
}

static void test_thousand_connections(void **state)
{
    (void)state;
    raise_nofile(); /* before the server: lws sizes its fd table at start */
    sfx *f = wsfx_new(NULL, NULL);
    assert_non_null(f);
    for (int r = 0; r < NROOMS; r++) {
        char id[16], bot[16], st[16];
        snprintf(id, sizeof id, "wf_%d", r);
        snprintf(bot, sizeof bot, "bot_%d", r);
        snprintf(st, sizeof st, "s_%d", r);
        assert_int_equal(ws_register(f, id, bot, st), 201);
    }

    /* the control subscriber: every room */
    wsc ctl;
    assert_int_equal(wsc_open(&ctl, f->port, "/ws", NULL, 0), 101);
    for (int r = 0; r < NROOMS; r++) {
        char op[96];
        snprintf(op, sizeof op, "{\"op\":\"subscribe\",\"workflow_id\":\"wf_%d\"}", r);
        json_t *j = wsc_op(&ctl, op);
        assert_non_null(j);
        assert_string_equal(wsc_event(j), "subscribed");
        json_decref(j);
    }

    /* 1,000 clients, at most 128 handshakes in flight */
    pool p = {.k = calloc(NCONN, sizeof(conn)), .ep = epoll_create1(0), .port = f->port};
    assert_non_null(p.k);
    assert_true(p.ep >= 0);
    int started = 0;
    int64_t deadline = now_ms() + PHASE_MS;
    while (now_ms() < deadline) {
        int pending = count_state(&p, C_CONNECTING) + count_state(&p, C_HANDSHAKE) +
                      count_state(&p, C_SUBSCRIBING);
        while (started < NCONN && pending < 128) {
            start_connect(&p, started++);
            pending++;
        }
        if (started == NCONN && pending == 0)
            break;
        poll_once(&p, 50);
    }
    int ready = count_state(&p, C_READY);
    if (ready != NCONN)
        first_failure(&p);
    assert_int_equal(ready, NCONN);
    assert_int_equal(metric_connections(f->port), NCONN + 1);

    /* run every workflow RUNS times */
    for (int run = 0; run < RUNS; run++)
        for (int r = 0; r < NROOMS; r++) {
            char id[16];
            snprintf(id, sizeof id, "wf_%d", r);
            assert_int_equal(ws_execute(f, id), 202);
        }

    /* the control subscriber counts each room's events up to RUNS completions;
     * the clients are serviced meanwhile so their queues keep draining */
    int expect[NROOMS] = {0}, completed[NROOMS] = {0}, rooms_done = 0;
    uint64_t cnext[NROOMS];
    for (int r = 0; r < NROOMS; r++)
        cnext[r] = 1;
    int fl = fcntl(ctl.fd, F_GETFL);
    fcntl(ctl.fd, F_SETFL, fl | O_NONBLOCK);
    deadline = now_ms() + PHASE_MS;
    while (rooms_done < NROOMS && now_ms() < deadline) {
        assert_int_equal(nb_fill(&ctl), 0);
        int fr;
        while ((fr = frame_ready(&ctl)) == 1) {
            char *m = NULL;
            size_t n = 0;
            assert_int_equal(wsc_recv(&ctl, &m, &n), 0);
            json_error_t e;
            json_t *j = json_loadb(m, n, 0, &e);
            free(m);
            assert_non_null(j);
            assert_string_equal(wsc_event(j), "workflow_event");
            int r = -1;
            const char *w = json_string_value(wsc_data(j, "workflow_id"));
            assert_non_null(w);
            assert_int_equal(sscanf(w, "wf_%d", &r), 1);
            assert_true(r >= 0 && r < NROOMS);
            assert_int_equal(json_integer_value(wsc_data(j, "seq")), cnext[r]);
            cnext[r]++;
            expect[r]++;
            const char *type = json_string_value(wsc_data(j, "type"));
            if (type && strcmp(type, "execution_completed") == 0 && ++completed[r] == RUNS)
                rooms_done++;
            json_decref(j);
        }
        assert_true(fr >= 0);
        poll_once(&p, 10);
    }
    assert_int_equal(rooms_done, NROOMS);
    for (int r = 0; r < NROOMS; r++)
        assert_int_equal(expect[r], RUNS * WS_EVENTS_PER_RUN);

    /* every client: exactly its room's events */
    deadline = now_ms() + PHASE_MS;
    for (;;) {
        int done = 0;
        for (int i = 0; i < NCONN; i++)
            done += p.k[i].state == C_READY && p.k[i].events == expect[p.k[i].room];
        if (done == NCONN || count_state(&p, C_FAILED) > 0 || now_ms() >= deadline)
            break;
        poll_once(&p, 50);
    }
    /* nothing more may arrive (no duplicates, no strays) */
    for (int64_t t = now_ms() + 300; now_ms() < t;)
        poll_once(&p, 50);
    int exact = 0;
    for (int i = 0; i < NCONN; i++)
        exact += p.k[i].state == C_READY && p.k[i].events == expect[p.k[i].room] &&
                 p.k[i].next_seq == (uint64_t)expect[p.k[i].room] + 1;
    if (exact != NCONN) {
        first_failure(&p);
        for (int i = 0; i < NCONN; i++)
            if (p.k[i].state == C_READY && p.k[i].events != expect[p.k[i].room]) {
                print_error("connection %d (wf_%d): %d events, want %d\n", i, p.k[i].room,
                            p.k[i].events, expect[p.k[i].room]);
                break;
            }
    }
    assert_int_equal(exact, NCONN);

    /* close all: the gauge goes back to 0 */
    wsc_close(&ctl);
    for (int i = 0; i < NCONN; i++)
        wsc_close(&p.k[i].c);
    close(p.ep);
    free(p.k);
    long open = -1;
    for (int64_t t = now_ms() + 10000; now_ms() < t;) {
        if ((open = metric_connections(f->port)) == 0)
            break;
        usleep(20000);
    }
    assert_int_equal(open, 0);
    sfx_free(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_thousand_connections),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
