/*
 * bench/ws_load.c -- the epoll WebSocket load client (design in ws_load.h).
 */

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench/bench_util.h"
#include "bench/ws_load.h"

#define TAIL 1024
#define RBUF 65536
#define MAX_THREADS 8

typedef struct wconn {
    int fd;
    uint64_t next_seq; /* next expected seq */
    uint32_t tlen;
    unsigned char tail[TAIL];
} wconn;

typedef struct wthread {
    tr__wsl *l;
    pthread_t th;
    int ep;
    unsigned first, count;
    uint64_t *hist; /* TR__WSL_HIST_N buckets (the last: overflow) */
    _Atomic uint64_t delivered, gaps, markers, errors, bytes, max_ns, last_ns;
} wthread;

struct tr__wsl {
    int port;
    unsigned n, nthreads;
    wconn *c;
    wthread t[MAX_THREADS];
    atomic_bool stop;
    /* publisher */
    int pfd;
    pthread_t pth;
    bool pstarted;
    char wf[64];
    uint64_t pevents;
    double prate;
    int prc;
    uint64_t pfirst, plast;
};

/* ---- connection setup (blocking) ------------------------------------------ */

static int send_all(int fd, const void *p, size_t n)
{
    const char *s = p;
    while (n > 0) {
        ssize_t w = send(fd, s, n, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        s += w;
        n -= (size_t)w;
    }
    return 0;
}

/* Connect and upgrade; bytes past the HTTP answer go to tail (may be NULL
 * when none are expected).  Stack memory only (used in the idle child). */
static int ws_upgrade(int port, unsigned char *tail, uint32_t *tlen)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1;
    struct timeval tv = {.tv_sec = 10};
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0)
        return -1;
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    char req[256], rsp[1024];
    int n = snprintf(req, sizeof req,
                     "GET /ws HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nUpgrade: websocket\r\n"
                     "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                     "Sec-WebSocket-Version: 13\r\n\r\n", port);
    size_t got = 0;
    char *end = NULL;
    if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0 || send_all(fd, req, (size_t)n) != 0)
        goto fail;
    while (end == NULL && got < sizeof rsp - 1) {
        ssize_t r = recv(fd, rsp + got, sizeof rsp - 1 - got, 0);
        if (r <= 0)
            goto fail;
        got += (size_t)r;
        rsp[got] = '\0';
        end = strstr(rsp, "\r\n\r\n");
    }
    if (end == NULL || strncmp(rsp, "HTTP/1.1 101", 12) != 0 ||
        strstr(rsp, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=") == NULL)
        goto fail;
    size_t extra = got - (size_t)(end + 4 - rsp);
    if (extra > 0 && (tail == NULL || extra > TAIL))
        goto fail;
    if (extra > 0)
        memcpy(tail + *tlen, end + 4, extra);
    if (tlen)
        *tlen += (uint32_t)extra;
    return fd;
fail:
    close(fd);
    return -1;
}

/* One masked text frame (fixed mask) into out; returns its length. */
static size_t ws_mask(unsigned char *out, const char *s, size_t len)
{
    static const unsigned char mask[4] = {0x37, 0xfa, 0x21, 0x3d};
    size_t p = 2;
    out[0] = 0x81;
    if (len < 126) {
        out[1] = (unsigned char)(0x80 | len);
    } else {
        out[1] = 0x80 | 126;
        out[2] = (unsigned char)(len >> 8);
        out[3] = (unsigned char)len;
        p = 4;
    }
    memcpy(out + p, mask, 4);
    for (size_t i = 0; i < len; i++)
        out[p + 4 + i] = (unsigned char)s[i] ^ mask[i & 3];
    return p + 4 + len;
}

/* Parse one complete server frame at b[0..n): 0 = need more, else its total
 * length; *pl, *plen = payload, *op = opcode; -1 = malformed. */
static long ws_frame(const unsigned char *b, size_t n, const unsigned char **pl, size_t *plen,
                     int *op)
{
    if (n < 2)
        return 0;
    if ((b[0] & 0x80) == 0 || (b[1] & 0x80) != 0)
        return -1; /* fragmented or masked server frame: not expected */
    uint64_t len = b[1] & 0x7f;
    size_t hl = len == 126 ? 4 : len == 127 ? 10 : 2;
    if (n < hl)
        return 0;
    if (len == 126)
        len = (uint64_t)b[2] << 8 | b[3];
    else if (len == 127)
        return -1;
    if (n < hl + len)
        return 0;
    *pl = b + hl;
    *plen = (size_t)len;
    *op = b[0] & 0x0f;
    return (long)(hl + len);
}

static bool scan_u64(const unsigned char *p, size_t n, const char *key, uint64_t *v)
{
    const unsigned char *k = memmem(p, n, key, strlen(key));
    if (k == NULL)
        return false;
    k += strlen(key);
    uint64_t x = 0;
    const unsigned char *e = p + n;
    if (k >= e || *k < '0' || *k > '9')
        return false;
    while (k < e && *k >= '0' && *k <= '9')
        x = x * 10 + (uint64_t)(*k++ - '0');
    *v = x;
    return true;
}

/* Blocking read of the next frame on a fresh connection (the subscribe
 * answer); tail holds buffered bytes.  Returns payload length or -1. */
static long ws_read_one(wconn *c, char *out, size_t cap)
{
    for (int i = 0; i < 100; i++) {
        const unsigned char *pl;
        size_t plen;
        int op;
        long fl = ws_frame(c->tail, c->tlen, &pl, &plen, &op);
        if (fl < 0)
            return -1;
        if (fl > 0) {
            if (op != 1 || plen >= cap)
                return -1;
            memcpy(out, pl, plen);
            out[plen] = '\0';
            memmove(c->tail, c->tail + fl, c->tlen - (size_t)fl);
            c->tlen -= (uint32_t)fl;
            return (long)plen;
        }
        ssize_t r = recv(c->fd, c->tail + c->tlen, TAIL - c->tlen, 0);
        if (r <= 0)
            return -1;
        c->tlen += (uint32_t)r;
    }
    return -1;
}

/* ---- subscriber threads ------------------------------------------------------ */

static void on_frame(wthread *t, wconn *c, const unsigned char *pl, size_t plen, int op,
                     size_t flen, uint64_t now)
{
    static const char ev[] = "{\"event\":\"workflow_event\"";
    static const char dr[] = "{\"event\":\"dropped\"";
    uint64_t seq, sent;
    if (op == 1 && plen > sizeof ev && memcmp(pl, ev, sizeof ev - 1) == 0 &&
        scan_u64(pl, plen, "\"seq\":", &seq) && scan_u64(pl, plen, "\"sent_ns\":", &sent)) {
        uint64_t lat = now > sent ? now - sent : 0, us = lat / 1000, ms = us / 1000;
        t->hist[us < TR__WSL_HIST_US ? us
                : TR__WSL_HIST_US + (ms - 100 < TR__WSL_HIST_US ? ms - 100 : TR__WSL_HIST_US)]++;
        if (lat > atomic_load_explicit(&t->max_ns, memory_order_relaxed))
            atomic_store_explicit(&t->max_ns, lat, memory_order_relaxed);
        if (seq > c->next_seq)
            atomic_fetch_add_explicit(&t->gaps, seq - c->next_seq, memory_order_relaxed);
        else if (seq < c->next_seq)
            atomic_fetch_add_explicit(&t->errors, 1, memory_order_relaxed);
        c->next_seq = seq + 1;
        atomic_fetch_add_explicit(&t->bytes, flen, memory_order_relaxed);
        atomic_store_explicit(&t->last_ns, now, memory_order_relaxed);
        atomic_fetch_add_explicit(&t->delivered, 1, memory_order_release);
    } else if (op == 1 && plen > sizeof dr && memcmp(pl, dr, sizeof dr - 1) == 0) {
        atomic_fetch_add_explicit(&t->markers, 1, memory_order_relaxed);
    } else if (op != 9 && op != 10) {
        if (op == 1)
            fprintf(stderr, "bench fanout: unexpected frame: %.*s\n", (int)(plen < 200 ? plen : 200),
                    (const char *)pl);
        atomic_fetch_add_explicit(&t->errors, 1, memory_order_relaxed);
    }
}

static void *sub_main(void *arg)
{
    wthread *t = arg;
    tr__wsl *l = t->l;
    pthread_setname_np(pthread_self(), "bench-load");
    unsigned char *buf = malloc(RBUF + TAIL);
    struct epoll_event evs[256];
    while (buf != NULL && !atomic_load(&l->stop)) {
        int n = epoll_wait(t->ep, evs, 256, 20);
        uint64_t now = tr__bench_now_ns();
        for (int i = 0; i < n; i++) {
            wconn *c = evs[i].data.ptr;
            memcpy(buf, c->tail, c->tlen);
            ssize_t r = recv(c->fd, buf + c->tlen, RBUF, 0);
            if (r < 0 && (errno == EAGAIN || errno == EINTR))
                continue;
            if (r <= 0) { /* closed by the server: a protocol error here */
                atomic_fetch_add(&t->errors, 1);
                epoll_ctl(t->ep, EPOLL_CTL_DEL, c->fd, NULL);
                continue;
            }
            size_t len = c->tlen + (size_t)r, off = 0;
            for (;;) {
                const unsigned char *pl;
                size_t plen;
                int op;
                long fl = ws_frame(buf + off, len - off, &pl, &plen, &op);
                if (fl <= 0) {
                    if (fl < 0 || len - off > TAIL) {
                        atomic_fetch_add(&t->errors, 1);
                        off = len;
                    }
                    break;
                }
                on_frame(t, c, pl, plen, op, (size_t)fl, now);
                off += (size_t)fl;
            }
            c->tlen = (uint32_t)(len - off);
            memcpy(c->tail, buf + off, c->tlen);
        }
    }
    free(buf);
    return NULL;
}

int tr__wsl_open(tr__wsl **out, int port, unsigned n, unsigned threads, const char *wf)
{
    tr__wsl *l = calloc(1, sizeof *l);
    if (l == NULL || (l->c = calloc(n, sizeof(wconn))) == NULL) {
        free(l);
        return -1;
    }
    l->port = port;
    l->pfd = -1;
    l->nthreads = threads < 1 ? 1 : threads > MAX_THREADS ? MAX_THREADS : threads;
    for (unsigned i = 0; i < n; i++)
        l->c[i].fd = -1;
    char sub[160], frame[200], ans[512];
    int sl = snprintf(sub, sizeof sub, "{\"op\":\"subscribe\",\"workflow_id\":\"%s\"}", wf);
    size_t fl = ws_mask((unsigned char *)frame, sub, (size_t)sl);
    for (unsigned i = 0; i < n; i++, l->n++) {
        wconn *c = &l->c[i];
        c->fd = ws_upgrade(port, c->tail, &c->tlen);
        uint64_t seq = 0;
        if (c->fd < 0 || send_all(c->fd, frame, fl) != 0 ||
            ws_read_one(c, ans, sizeof ans) < 0 ||
            strstr(ans, "\"subscribed\"") == NULL ||
            !scan_u64((unsigned char *)ans, strlen(ans), "\"seq\":", &seq)) {
            fprintf(stderr, "bench fanout: subscriber %u of %u: connect/upgrade/subscribe "
                            "failed (%s)\n", i + 1, n, c->fd < 0 ? strerror(errno) : ans);
            if (c->fd >= 0)
                close(c->fd);
            c->fd = -1;
            tr__wsl_close(l);
            return -1;
        }
        c->next_seq = seq + 1;
        fcntl(c->fd, F_SETFL, fcntl(c->fd, F_GETFL) | O_NONBLOCK);
    }
    unsigned per = (n + l->nthreads - 1) / l->nthreads;
    for (unsigned k = 0; k < l->nthreads; k++) {
        wthread *t = &l->t[k];
        t->l = l;
        t->first = k * per < n ? k * per : n;
        t->count = t->first + per <= n ? per : n - t->first;
        t->ep = epoll_create1(0);
        t->hist = calloc(TR__WSL_HIST_N, sizeof(uint64_t));
        for (unsigned i = t->first; i < t->first + t->count; i++) {
            struct epoll_event e = {.events = EPOLLIN, .data.ptr = &l->c[i]};
            epoll_ctl(t->ep, EPOLL_CTL_ADD, l->c[i].fd, &e);
        }
        if (t->hist == NULL || pthread_create(&t->th, NULL, sub_main, t) != 0) {
            free(t->hist);
            t->hist = NULL;
            close(t->ep);
            t->ep = -1;
            tr__wsl_close(l);
            return -1;
        }
    }
    *out = l;
    return 0;
}

static double hist_pct(const uint64_t *h, uint64_t total, double p)
{
    uint64_t rank = (uint64_t)(p * (double)total + 0.999999), acc = 0;
    for (unsigned i = 0; i < TR__WSL_HIST_N; i++) {
        acc += h[i];
        if (acc >= rank && rank > 0) /* bucket middle, ms */
            return i < TR__WSL_HIST_US ? (i + 0.5) / 1000.0 : 100.0 + (i - TR__WSL_HIST_US) + 0.5;
    }
    return 0;
}

void tr__wsl_figs_get(tr__wsl *l, tr__wsl_figs *f)
{
    memset(f, 0, sizeof *f);
    uint64_t *h = calloc(TR__WSL_HIST_N, sizeof(uint64_t)), max = 0;
    for (unsigned k = 0; k < l->nthreads; k++) {
        wthread *t = &l->t[k];
        f->delivered += atomic_load_explicit(&t->delivered, memory_order_acquire);
        f->gaps += atomic_load(&t->gaps);
        f->markers += atomic_load(&t->markers);
        f->proto_errors += atomic_load(&t->errors);
        f->bytes += atomic_load(&t->bytes);
        uint64_t ln = atomic_load(&t->last_ns), mx = atomic_load(&t->max_ns);
        f->last_rx_ns = ln > f->last_rx_ns ? ln : f->last_rx_ns;
        max = mx > max ? mx : max;
        for (unsigned us = 0; h != NULL && t->hist != NULL && us < TR__WSL_HIST_N; us++)
            h[us] += t->hist[us]; /* racy reads while running: figures are final after */
    }
    f->max_ms = (double)max / 1e6;
    if (h != NULL) {
        f->p50_ms = hist_pct(h, f->delivered, 0.50);
        f->p99_ms = hist_pct(h, f->delivered, 0.99);
    }
    f->proto_errors += (uint64_t)(l->prc != 0);
    free(h);
}

uint64_t tr__wsl_delivered(tr__wsl *l)
{
    uint64_t n = 0;
    for (unsigned k = 0; k < l->nthreads; k++)
        n += atomic_load_explicit(&l->t[k].delivered, memory_order_acquire);
    return n;
}

static uint64_t thread_cpu(pthread_t th)
{
    clockid_t cid;
    struct timespec ts;
    if (pthread_getcpuclockid(th, &cid) != 0 || clock_gettime(cid, &ts) != 0)
        return 0;
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

uint64_t tr__wsl_cpu_ns(tr__wsl *l)
{
    uint64_t s = 0;
    for (unsigned k = 0; k < l->nthreads; k++)
        if (l->t[k].hist != NULL)
            s += thread_cpu(l->t[k].th);
    if (l->pstarted)
        s += thread_cpu(l->pth);
    return s;
}

/* ---- publisher ---------------------------------------------------------------- */

static const char pub_fmt[] =
    "{\"op\":\"publish\",\"workflow_id\":\"%s\",\"event\":{\"type\":\"node_completed\","
    "\"execution_id\":\"exec_%s_%08llx\",\"node_id\":\"fetch_price\",\"node_type\":"
    "\"http_request\",\"node_category\":\"data\",\"attempt\":1,\"duration_ms\":0.41,"
    "\"status\":\"success\",\"outputs\":{\"symbol\":\"BTC-USD\",\"price\":64210.5,"
    "\"bid\":64210,\"ask\":64211},\"sent_ns\":%llu}}";

/* Drain answers without blocking; -1 on an error answer or a close. */
static int pub_drain(tr__wsl *l, unsigned char *buf, uint32_t *blen)
{
    for (;;) {
        ssize_t r = recv(l->pfd, buf + *blen, RBUF - *blen, MSG_DONTWAIT);
        if (r < 0 && (errno == EAGAIN || errno == EINTR))
            return 0;
        if (r <= 0)
            return -1;
        size_t len = *blen + (size_t)r, off = 0;
        const unsigned char *pl;
        size_t plen;
        int op;
        long fl;
        while ((fl = ws_frame(buf + off, len - off, &pl, &plen, &op)) > 0) {
            if (op != 1 || memmem(pl, plen, "\"published\"", 11) == NULL) {
                fprintf(stderr, "bench fanout: publisher got: %.*s\n",
                        (int)(plen < 200 ? plen : 200), (const char *)pl);
                return -1;
            }
            off += (size_t)fl;
        }
        if (fl < 0)
            return -1;
        memmove(buf, buf + off, len - off);
        *blen = (uint32_t)(len - off);
    }
}

static void *pub_main(void *arg)
{
    tr__wsl *l = arg;
    pthread_setname_np(pthread_self(), "bench-publish");
    unsigned char *rb = malloc(RBUF), frame[1024];
    char text[900];
    uint32_t blen = 0;
    uint64_t t0 = tr__bench_now_ns() + 1000000, period = l->prate > 0 ? (uint64_t)(1e9 / l->prate) : 0;
    l->prc = rb == NULL ? -1 : 0;
    for (uint64_t i = 0; i < l->pevents && l->prc == 0; i++) {
        if (period) {
            uint64_t due = t0 + i * period;
            struct timespec ts = {(time_t)(due / 1000000000u), (long)(due % 1000000000u)};
            while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR) {
            }
        }
        uint64_t now = tr__bench_now_ns();
        if (i == 0)
            l->pfirst = now;
        l->plast = now;
        int n = snprintf(text, sizeof text, pub_fmt, l->wf, l->wf, (unsigned long long)i,
                         (unsigned long long)now);
        size_t fl = ws_mask(frame, text, (size_t)n);
        if (send_all(l->pfd, frame, fl) != 0 || pub_drain(l, rb, &blen) != 0)
            l->prc = -1;
    }
    free(rb);
    return NULL;
}

int tr__wsl_publish_start(tr__wsl *l, const char *wf, uint64_t events, double rate)
{
    if (l->pstarted)
        return -1;
    if (l->pfd < 0)
        l->pfd = ws_upgrade(l->port, NULL, NULL);
    if (l->pfd < 0)
        return -1;
    snprintf(l->wf, sizeof l->wf, "%s", wf);
    l->pevents = events;
    l->prate = rate;
    l->prc = 0;
    if (pthread_create(&l->pth, NULL, pub_main, l) != 0)
        return -1;
    l->pstarted = true;
    return 0;
}

int tr__wsl_publish_join(tr__wsl *l, uint64_t *first, uint64_t *last)
{
    if (!l->pstarted)
        return -1;
    pthread_join(l->pth, NULL);
    l->pstarted = false;
    *first = l->pfirst;
    *last = l->plast;
    return l->prc;
}

void tr__wsl_close(tr__wsl *l)
{
    if (l == NULL)
        return;
    atomic_store(&l->stop, true);
    if (l->pstarted)
        pthread_join(l->pth, NULL);
    for (unsigned k = 0; k < l->nthreads; k++) {
        if (l->t[k].hist != NULL) {
            pthread_join(l->t[k].th, NULL);
            close(l->t[k].ep);
            free(l->t[k].hist);
        }
    }
    for (unsigned i = 0; i < l->n; i++)
        if (l->c[i].fd >= 0)
            close(l->c[i].fd);
    if (l->pfd >= 0)
        close(l->pfd);
    free(l->c);
    free(l);
}

/* ---- idle connections in a child process ----------------------------------------- */

pid_t tr__wsl_idle_fork(int port, unsigned k, unsigned *opened)
{
    int up[2];
    *opened = 0;
    if (pipe(up) != 0)
        return -1;
    pid_t pid = fork();
    if (pid == 0) { /* child: syscalls and stack only; killed by the parent */
        close(up[0]);
        unsigned n = 0;
        while (n < k && ws_upgrade(port, NULL, NULL) >= 0)
            n++;
        if (write(up[1], &n, sizeof n) != (ssize_t)sizeof n)
            _exit(1);
        for (;;)
            pause();
    }
    close(up[1]);
    if (pid > 0 && read(up[0], opened, sizeof *opened) != (ssize_t)sizeof *opened)
        *opened = 0;
    close(up[0]);
    return pid;
}

void tr__wsl_idle_end(pid_t pid)
{
    int st;
    kill(pid, SIGKILL);
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {
    }
}
