/*
 * bench/fanout_bench.c -- `troupe bench fanout`: the plain WebSocket fan-out
 * (/ws, docs/websocket.md) against the bare loopback write() floor.
 *
 * DESIGN
 *   server   One engine + tr_serve_start on 127.0.0.1:0 in this process, a
 *            temp state_dir, server.send_queue 65536 (a whole unpaced burst
 *            fits), history 16, rate_limit 0, logs below ERROR dropped.
 *            RLIMIT_NOFILE soft is raised to hard first (lws sizes its fd
 *            table at context creation).
 *   idle     A forked child (ws_load.c) opens K upgraded /ws connections
 *            (--quick 200, else 10,000, capped by the fd limit); server RSS
 *            growth (after malloc_trim) / K = bytes_per_idle_connection;
 *            max_connections = how many it held.  Done first, on a fresh heap.
 *   points   For each clients C x rate R: C subscribers on workflow:bench<k>
 *            (a fresh room, seqs checked from the `subscribed` seq), one
 *            publisher sending node_completed events with sent_ns, paced at
 *            R/s for 2 s (--quick 0.3 s) or unpaced ("max"); at most
 *            MAX_DELIVERIES (2,000,000) deliveries per point, so 1,000 x
 *            10,000/s runs 0.2 s.  Wait until every delivery arrived or
 *            5 s without progress.  Figures: deliveries/s (first send -> last receive),
 *            p50/p99/max publish-to-receive latency, drops (expected -
 *            delivered; `dropped` markers and seq gaps shown too).
 *   CPU      Everything runs in one process: server CPU = process CPU
 *            (CLOCK_PROCESS_CPUTIME_ID) minus the load threads' CPU clocks
 *            (pthread_getcpuclockid) minus this thread's, over the point.
 *   floor    Per distinct C, C connected loopback TCP pairs: this thread
 *            writes FRAME_BYTES (352, the frame size) per delivery
 *            round-robin, then 8 frames per write; a reader thread drains.
 *            Writer thread CPU / frames = floor_write_us, floor_batched_us.
 *            x floor = server CPU per delivery / floor_write_us of that C.
 *            Paced floor, per paced point: the same C sockets written like
 *            the point (R events/s, one frame to each socket per event,
 *            1 s), so the reader sleeps between events and every event
 *            pays the wake-up, as with the real clients: floor_paced_us.
 * Exit 1: a paced point lost events, a protocol error, a setup failure.
 */

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "bench/bench_util.h"
#include "bench/ws_load.h"
#include "troupe/log.h"
#include "troupe/serve.h"

#define FRAME_BYTES 352
#define MAX_LIST 8
#define STALL_NS 5000000000u  /* a point ends 5 s after the last progress */
#define MAX_DELIVERIES 2000000u /* per point: events = min(R x 2 s, this / C) */

static uint64_t self_cpu_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* ---- the write() floor ------------------------------------------------------ */

struct drain {
    int ep;
    uint64_t want, got;
};

static void *drain_main(void *arg)
{
    struct drain *d = arg;
    static char buf[1 << 16];
    struct epoll_event ev[128];
    while (d->got < d->want) {
        int n = epoll_wait(d->ep, ev, 128, 1000);
        if (n <= 0)
            break; /* 1 s without data: give up (the writer reports) */
        for (int i = 0; i < n; i++) {
            ssize_t r;
            while ((r = recv(ev[i].data.fd, buf, sizeof buf, MSG_DONTWAIT)) > 0)
                d->got += (uint64_t)r;
        }
    }
    return NULL;
}

/* CPU us per frame written: batch = frames per write.  rate = 0: writes go
 * back to back, round-robin; rate > 0: paced like a paced point, `rate`
 * events/s, each one frame to every socket (batch must be 1), so the
 * reader sleeps between events as a real client does.  -1 on failure. */
static double floor_run(unsigned n, uint64_t frames, unsigned batch, double rate)
{
    int ls = socket(AF_INET, SOCK_STREAM, 0), *w = calloc(n, sizeof(int)), *r = calloc(n, sizeof(int));
    struct sockaddr_in a = {.sin_family = AF_INET};
    socklen_t al = sizeof a;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    double res = -1;
    unsigned ok = 0;
    struct drain d = {.ep = epoll_create1(0), .want = frames / batch * batch * FRAME_BYTES};
    if (ls < 0 || !w || !r || bind(ls, (struct sockaddr *)&a, sizeof a) != 0 ||
        listen(ls, 4096) != 0 || getsockname(ls, (struct sockaddr *)&a, &al) != 0)
        goto out;
    for (; ok < n; ok++) {
        w[ok] = socket(AF_INET, SOCK_STREAM, 0);
        if (w[ok] < 0 || connect(w[ok], (struct sockaddr *)&a, sizeof a) != 0 ||
            (r[ok] = accept(ls, NULL, NULL)) < 0) {
            if (w[ok] >= 0)
                close(w[ok]);
            goto out;
        }
        struct epoll_event e = {.events = EPOLLIN, .data.fd = r[ok]};
        epoll_ctl(d.ep, EPOLL_CTL_ADD, r[ok], &e);
    }
    pthread_t th;
    if (pthread_create(&th, NULL, drain_main, &d) != 0)
        goto out;
    static char data[FRAME_BYTES * 8];
    memset(data, 'x', sizeof data);
    size_t len = (size_t)FRAME_BYTES * batch;
    uint64_t writes = frames / batch, c0 = self_cpu_ns();
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (uint64_t i = 0; i < writes; i++) {
        if (rate > 0 && i % n == 0) { /* the next event's due time */
            uint64_t due = (uint64_t)((double)(i / n) * 1e9 / rate) + (uint64_t)t0.tv_nsec;
            struct timespec ts = {.tv_sec = t0.tv_sec + (time_t)(due / 1000000000u),
                                  .tv_nsec = (long)(due % 1000000000u)};
            clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL);
        }
        if (send(w[i % n], data, len, MSG_NOSIGNAL) != (ssize_t)len)
            break;
    }
    uint64_t c1 = self_cpu_ns();
    pthread_join(th, NULL);
    if (d.got == d.want)
        res = (double)(c1 - c0) / 1e3 / (double)(writes * batch);
out:
    for (unsigned i = 0; i < ok; i++) {
        close(w[i]);
        close(r[i]);
    }
    if (ls >= 0)
        close(ls);
    if (d.ep >= 0)
        close(d.ep);
    free(w);
    free(r);
    return res;
}

/* ---- one fan-out point ------------------------------------------------------- */

struct point {
    unsigned clients;
    double rate; /* 0 = max */
    uint64_t events, expected;
    tr__wsl_figs f;
    double deliveries_per_s, events_per_s, cpu_us, client_cpu_us, floor_us, floor_batched_us,
        floor_paced_us, frame_bytes;
    int64_t drops;
    bool failed;
};

static int run_point(int port, unsigned idx, struct point *p, double dur_s)
{
    char wf[32];
    snprintf(wf, sizeof wf, "bench%u", idx);
    p->events = p->rate > 0 ? (uint64_t)(p->rate * dur_s) : MAX_DELIVERIES / p->clients;
    if (p->events > MAX_DELIVERIES / p->clients) /* bound a point's length */
        p->events = MAX_DELIVERIES / p->clients;
    if (p->events < 100)
        p->events = 100;
    p->expected = p->events * p->clients;
    tr__wsl *l = NULL;
    if (tr__wsl_open(&l, port, p->clients, 1, wf) != 0)
        return -1;
    tr__bench_sleep_ms(50);
    uint64_t c0 = tr__bench_cpu_ns(), l0 = tr__wsl_cpu_ns(l), m0 = self_cpu_ns();
    uint64_t first = 0, last = 0, seen = 0, t_seen = tr__bench_now_ns();
    int prc = tr__wsl_publish_start(l, wf, p->events, p->rate);
    if (prc == 0) {
        prc = tr__wsl_publish_join(l, &first, &last);
        t_seen = tr__bench_now_ns();
    }
    while (prc == 0) {
        uint64_t now = tr__bench_now_ns(), d = tr__wsl_delivered(l);
        if (d >= p->expected || now - t_seen > STALL_NS)
            break;
        if (d != seen) {
            seen = d;
            t_seen = now;
        }
        tr__bench_sleep_ms(1);
    }
    uint64_t c1 = tr__bench_cpu_ns(), l1 = tr__wsl_cpu_ns(l), m1 = self_cpu_ns();
    tr__wsl_figs_get(l, &p->f);
    tr__wsl_close(l);
    int64_t server = (int64_t)(c1 - c0) - (int64_t)(l1 - l0) - (int64_t)(m1 - m0);
    p->drops = (int64_t)p->expected - (int64_t)p->f.delivered;
    double span = p->f.last_rx_ns > first ? (double)(p->f.last_rx_ns - first) / 1e9 : 1e-9;
    p->deliveries_per_s = (double)p->f.delivered / span;
    p->events_per_s = (double)p->events / span;
    p->cpu_us = p->f.delivered ? (double)server / 1e3 / (double)p->f.delivered : 0;
    p->client_cpu_us = p->f.delivered ? (double)(l1 - l0) / 1e3 / (double)p->f.delivered : 0;
    p->frame_bytes = p->f.delivered ? (double)p->f.bytes / (double)p->f.delivered : 0;
    p->failed = prc != 0 || p->f.proto_errors != 0 || (p->rate > 0 && p->drops != 0);
    if (prc != 0)
        fprintf(stderr, "bench fanout: publisher failed\n");
    return 0;
}

/* ---- command ------------------------------------------------------------------ */

static const char usage_text[] =
    "usage: troupe bench fanout [--json] [--quick] [--clients N,...] [--rates R|max,...]\n"
    "                           [--idle K]\n"
    "  The /ws fan-out in-process: C subscribers in one room, one publisher at R\n"
    "  node_completed events/s for 2 s (max: unpaced), at most 2,000,000 deliveries a\n"
    "  point.  Reports\n"
    "  deliveries/s, p50/p99/max publish-to-receive latency, drops, server CPU per\n"
    "  delivery and its multiple of the bare loopback write() floor (352-byte writes,\n"
    "  measured in the same run), RSS per idle connection and connections held.\n"
    "  Default: --clients 100,1000 --rates 1000,10000,max; --quick: 10 clients,\n"
    "  1000/s for 0.3 s, 200 idle connections (--idle K: K of them, default 10,000).\n"
    "  --json: one object on stdout.\n"
    "  exit status: 0 done (targets may be missed), 1 loss at a paced rate, a protocol\n"
    "  error or a setup failure, 2 bad usage\n";

static int parse_list(const char *s, double *v, unsigned *n, bool allow_max)
{
    char buf[256], *save = NULL;
    snprintf(buf, sizeof buf, "%s", s);
    *n = 0;
    for (char *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        char *end;
        double x = allow_max && !strcmp(t, "max") ? 0 : strtod(t, &end);
        if (*n == MAX_LIST || (strcmp(t, "max") && (*end || x < 1 || x > 1e7)) ||
            (!allow_max && (x < 1 || x > 10000)))
            return -1;
        v[(*n)++] = x;
    }
    return *n ? 0 : -1;
}

static void raise_nofile(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
}

/* Wait (at most 60 s) until the process uses < 2% of a CPU over 100 ms. */
static void wait_quiet(void)
{
    for (int i = 0; i < 600; i++) {
        uint64_t c0 = tr__bench_cpu_ns();
        tr__bench_sleep_ms(100);
        if (tr__bench_cpu_ns() - c0 < 2000000u)
            return;
    }
}

static int server_open(tr_engine **eng, tr_serve **srv, char *dir)
{
    tr_config cfg;
    if (tr_config_load(&cfg, "development", NULL, (char *const[]){NULL}, NULL) != 0 ||
        mkdtemp(dir) == NULL)
        return -1;
    cfg.server.send_queue = 65536;
    cfg.server.history = 16;
    cfg.server.rate_limit = 0;
    tr_engine_opts eo = {.config = &cfg, .state_dir = dir};
    int rc = tr_engine_new(eng, &eo);
    if (rc == 0) {
        tr_serve_opts so = {.engine = *eng, .config = &cfg, .listen = "127.0.0.1:0"};
        rc = tr_serve_start(srv, &so);
        if (rc != 0)
            tr_engine_free(*eng, 1000);
    }
    tr_config_fini(&cfg);
    if (rc != 0) {
        fprintf(stderr, "bench fanout: server: %s\n", tr_strerror(rc));
        tr__bench_rmdir(dir);
    }
    return rc;
}

int tr__bench_fanout_main(int argc, char **argv)
{
    bool json = false, quick = false, clients_set = false, rates_set = false;
    double cl[MAX_LIST] = {100, 1000}, rt[MAX_LIST] = {1000, 10000, 0};
    unsigned ncl = 2, nrt = 3;
    long idle = -1;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--json")) {
            json = true;
        } else if (!strcmp(argv[i], "--quick")) {
            quick = true;
        } else if (!strcmp(argv[i], "--clients") && i + 1 < argc) {
            clients_set = true;
            if (parse_list(argv[++i], cl, &ncl, false) != 0) {
                fprintf(stderr, "bench fanout: --clients takes N,... (1..10000)\n");
                return 2;
            }
        } else if (!strcmp(argv[i], "--rates") && i + 1 < argc) {
            rates_set = true;
            if (parse_list(argv[++i], rt, &nrt, true) != 0) {
                fprintf(stderr, "bench fanout: --rates takes R,... (events/s or max)\n");
                return 2;
            }
        } else if (!strcmp(argv[i], "--idle") && i + 1 < argc) {
            char *end;
            idle = strtol(argv[++i], &end, 10);
            if (*end || idle < 1 || idle > 100000) {
                fprintf(stderr, "bench fanout: --idle takes 1..100000\n");
                return 2;
            }
        } else if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            fputs(usage_text, stdout);
            return 0;
        } else {
            fputs(usage_text, stderr);
            return 2;
        }
    }
    if (quick && !clients_set)
        cl[0] = 10, ncl = 1;
    if (quick && !rates_set)
        rt[0] = 1000, nrt = 1;
    double dur = quick ? 0.3 : 2.0;
    FILE *out = json ? stderr : stdout;
    raise_nofile();
    struct rlimit rl;
    getrlimit(RLIMIT_NOFILE, &rl);
    tr_log_config saved, quiet;
    tr_log_get_config(&saved);
    quiet = saved;
    if (quiet.min_level < TR_LOG_LEVEL_ERROR)
        quiet.min_level = TR_LOG_LEVEL_ERROR;
    tr_log_configure(&quiet);

    char dir[] = "/tmp/troupe-bench-fanout-XXXXXX";
    tr_engine *eng = NULL;
    tr_serve *srv = NULL;
    if (server_open(&eng, &srv, dir) != 0) {
        tr_log_configure(&saved);
        return 1;
    }
    int port = tr_serve_port(srv), status = 0;

    /* idle connections: child process holds them */
    unsigned want = idle > 0 ? (unsigned)idle : quick ? 200 : 10000, held = 0;
    if (rl.rlim_cur < (rlim_t)want + 512)
        want = rl.rlim_cur > 1024 ? (unsigned)rl.rlim_cur - 512 : 512;
    tr__bench_sleep_ms(100);
    tr__bench_trim_heap();
    int64_t rss0 = tr__bench_rss_bytes();
    uint64_t t_idle = tr__bench_now_ns();
    pid_t child = tr__wsl_idle_fork(port, want, &held);
    uint64_t t_open = tr__bench_now_ns();
    tr__bench_sleep_ms(300);
    int64_t rss1 = tr__bench_rss_bytes();
    if (child > 0)
        tr__wsl_idle_end(child);
    double per_idle = held ? (double)(rss1 - rss0) / held : 0;
    fprintf(out, "idle: %u of %u /ws connections held (fd limit %llu); server RSS +%.0f bytes "
                 "per idle connection\n", held, want, (unsigned long long)rl.rlim_cur, per_idle);
    if (held == 0)
        status = 1;
    uint64_t q0 = tr__bench_now_ns();
    wait_quiet(); /* the server closes them */
    fprintf(out, "idle: opened in %.1f s, server quiet %.1f s after the close\n",
            (double)(t_open - t_idle) / 1e9, (double)(tr__bench_now_ns() - q0) / 1e9);

    struct point pts[MAX_LIST * MAX_LIST];
    unsigned np = 0;
    double floor_w = 0, floor_b = 0;
    for (unsigned ci = 0; ci < ncl && status == 0; ci++) {
        unsigned c = (unsigned)cl[ci];
        uint64_t frames = quick ? 20000 : 1000000;
        double fw = floor_run(c, frames, 1, 0), fb = floor_run(c, frames, 8, 0);
        if (fw <= 0 || fb <= 0) {
            fprintf(stderr, "bench fanout: floor with %u sockets failed\n", c);
            status = 1;
            break;
        }
        if (ci == 0)
            floor_w = fw, floor_b = fb;
        fprintf(out, "floor, %u loopback sockets: %.3f us CPU per %d-byte write, %.3f us per "
                     "frame at 8 frames per write\n", c, fw, FRAME_BYTES, fb);
        for (unsigned ri = 0; ri < nrt; ri++) {
            struct point *p = &pts[np];
            memset(p, 0, sizeof *p);
            p->clients = c;
            p->rate = rt[ri];
            p->floor_us = fw;
            p->floor_batched_us = fb;
            if (p->rate > 0) { /* the same events, paced alike, for 1 s (--quick 0.3 s) */
                uint64_t ev = (uint64_t)(p->rate * (quick ? 0.3 : 1.0));
                if (ev * c > frames)
                    ev = frames / c;
                p->floor_paced_us = floor_run(c, (ev ? ev : 1) * c, 1, p->rate);
            }
            if (run_point(port, np, p, dur) != 0) {
                fprintf(stderr, "bench fanout: %u clients: setup failed\n", c);
                status = 1;
                break;
            }
            np++;
            if (p->failed)
                status = 1;
            char r[16], paced[64] = "";
            snprintf(r, sizeof r, "%.0f", p->rate);
            if (p->floor_paced_us > 0)
                snprintf(paced, sizeof paced, ", %.2fx the paced floor (%.3f us per write)",
                         p->cpu_us / p->floor_paced_us, p->floor_paced_us);
            fprintf(out, "  %5u clients x %6s/s: %9.0f deliveries/s, latency p50 %.3f p99 %.3f "
                         "max %.3f ms, drops %lld (markers %llu, gaps %llu), server CPU %.3f us "
                         "per delivery = %.2fx floor%s (load client %.3f us)%s\n",
                    c, p->rate > 0 ? r : "max", p->deliveries_per_s, p->f.p50_ms, p->f.p99_ms,
                    p->f.max_ms, (long long)p->drops, (unsigned long long)p->f.markers,
                    (unsigned long long)p->f.gaps, p->cpu_us, p->cpu_us / fw, paced,
                    p->client_cpu_us, p->failed ? "  FAIL" : "");
        }
    }
    tr_serve_stop(srv);
    tr_engine_free(eng, 5000);
    tr__bench_rmdir(dir);
    tr_log_configure(&saved);
    for (unsigned i = 0; i < np; i++) {
        struct point *p = &pts[i];
        if (p->clients == 100 && p->rate == 1000)
            fprintf(out, "target 100 x 1,000/s: CPU <= 1.25x floor %s (%.2fx; %.2fx the paced "
                         "floor), p99 <= 1 ms %s\n",
                    p->cpu_us <= 1.25 * p->floor_us ? "PASS" : "MISS", p->cpu_us / p->floor_us,
                    p->floor_paced_us > 0 ? p->cpu_us / p->floor_paced_us : 0,
                    p->f.p99_ms <= 1 ? "PASS" : "MISS");
        if (p->rate == 0)
            fprintf(out, "target saturation (%u clients): <= 0.5 us/delivery %s, >= 1M "
                         "deliveries/s %s\n", p->clients, p->cpu_us <= 0.5 ? "PASS" : "MISS",
                    p->deliveries_per_s >= 1e6 ? "PASS" : "MISS");
    }
    fprintf(out, "target idle: <= 8 KB per connection %s; 10,000 connections %s\n",
            per_idle <= 8192 ? "PASS" : "MISS", held >= 10000 ? "PASS" : "MISS");
    if (json) {
        json_t *o = json_object(), *arr = json_array();
        for (unsigned i = 0; i < np; i++) {
            struct point *p = &pts[i];
            json_t *j = json_object();
            json_object_set_new(j, "clients", json_integer(p->clients));
            json_object_set_new(j, "rate", p->rate > 0 ? json_real(p->rate) : json_string("max"));
            json_object_set_new(j, "events", json_integer((json_int_t)p->events));
            json_object_set_new(j, "deliveries", json_integer((json_int_t)p->f.delivered));
            json_object_set_new(j, "delivered_per_s", json_real(p->deliveries_per_s));
            json_object_set_new(j, "events_per_s", json_real(p->events_per_s));
            json_object_set_new(j, "p50_ms", json_real(p->f.p50_ms));
            json_object_set_new(j, "p99_ms", json_real(p->f.p99_ms));
            json_object_set_new(j, "max_ms", json_real(p->f.max_ms));
            json_object_set_new(j, "drops", json_integer(p->drops));
            json_object_set_new(j, "dropped_markers", json_integer((json_int_t)p->f.markers));
            json_object_set_new(j, "seq_gaps", json_integer((json_int_t)p->f.gaps));
            json_object_set_new(j, "protocol_errors", json_integer((json_int_t)p->f.proto_errors));
            json_object_set_new(j, "server_cpu_us_per_delivery", json_real(p->cpu_us));
            json_object_set_new(j, "client_cpu_us_per_delivery", json_real(p->client_cpu_us));
            json_object_set_new(j, "floor_write_us", json_real(p->floor_us));
            json_object_set_new(j, "x_floor", json_real(p->cpu_us / p->floor_us));
            json_object_set_new(j, "x_floor_batched", json_real(p->cpu_us / p->floor_batched_us));
            if (p->floor_paced_us > 0) {
                json_object_set_new(j, "floor_paced_us", json_real(p->floor_paced_us));
                json_object_set_new(j, "x_floor_paced", json_real(p->cpu_us / p->floor_paced_us));
            }
            json_object_set_new(j, "frame_bytes", json_real(p->frame_bytes));
            json_array_append_new(arr, j);
        }
        json_object_set_new(o, "points", arr);
        json_object_set_new(o, "floor_write_us", json_real(floor_w));
        json_object_set_new(o, "floor_batched_us", json_real(floor_b));
        json_object_set_new(o, "floor_frame_bytes", json_integer(FRAME_BYTES));
        json_object_set_new(o, "bytes_per_idle_connection", json_real(per_idle));
        json_object_set_new(o, "max_connections", json_integer(held));
        json_object_set_new(o, "idle_connections_tried", json_integer(want));
        json_object_set_new(o, "quick", json_boolean(quick));
        char *text = json_dumps(o, JSON_INDENT(2) | JSON_REAL_PRECISION(8));
        json_decref(o);
        if (text != NULL) {
            puts(text);
            free(text);
        }
    }
    return status;
}
