/*
 * examples/embed/main.c -- embedding libtroupe: a counter actor, an ask and a
 * monitor.
 *
 *   main thread --INC(n) x N--> counter <--GET (tr_ask)-- client
 *                                  |                         ^
 *                                  +------ reply(total) -----+
 *   main thread --tr_stop--> counter ==DOWN(0)==> client (it monitors counter)
 *
 * Payloads are msgpack documents built with troupe/codec.h.  Every send
 * borrows the caller's payload reference, so the caller unrefs what it built
 * whether the send succeeded or not.  The client reports to the main thread
 * through a mutex and a condition variable: actors never block a worker, the
 * embedding thread may.
 *
 * Prints "counter total=<sum> down_status=0" and exits 0 when the total and
 * the DOWN are what was expected; exits 1 otherwise.
 */
#define _POSIX_C_SOURCE 200809L /* clock_gettime, pthread_cond_timedwait */

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

#include <troupe/codec.h>
#include <troupe/runtime.h>

enum { MSG_INC = 1, MSG_GET = 2, MSG_VALUE = 3, MSG_START = 4 };

#define N_INCS 100

/* A payload holding one msgpack integer, or NULL when out of memory. */
static tr_payload *int_payload(int64_t v)
{
    tr_buf b;
    tr_payload *p = NULL;
    tr_buf_init(&b);
    tr_mp_write_int(&b, v);
    if (tr_buf_finish(&b, &p) != 0)
        tr_buf_fini(&b);
    return p;
}

/* The integer in a message's payload (0 if absent or not an integer). */
static int64_t int_of(const tr_msg *m)
{
    tr_mp_val v;
    int64_t out = 0;
    if (m->payload != NULL && tr_mp_read_payload(m->payload, &v, NULL) == 0)
        (void)tr_mp_get_int(v, &out);
    return out;
}

/* ---- the counter: INC(n) adds n, GET answers with the total ------------ */

typedef struct counter {
    int64_t total;
} counter;

static int counter_receive(tr_ctx *ctx, void *state, const tr_msg *msg)
{
    counter *c = state;
    switch (msg->type) {
    case MSG_INC:
        c->total += int_of(msg);
        return 0;
    case MSG_GET: {
        tr_payload *p = int_payload(c->total);
        if (p == NULL)
            return TR_ENOMEM; /* a negative return stops the actor (EFAILED) */
        int rc = tr_reply(ctx, msg, MSG_VALUE, p);
        tr_payload_unref(p); /* the send borrowed it */
        return rc == TR_EDEAD ? 0 : rc; /* the asker may be gone: not our failure */
    }
    default:
        return 0;
    }
}

static const tr_actor_ops counter_ops = {
    .state_size = sizeof(counter),
    .receive = counter_receive,
    .name = "counter",
};

/* ---- the client: asks the counter, watches it, reports to main --------- */

typedef struct report {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool have_value, have_down, timed_out;
    int64_t value;
    int down_status;
    tr_actor_ref down_sender;
} report;

typedef struct client {
    report *rep;
    tr_actor_ref counter;
    uint64_t ask_id, monitor_id;
} client;

typedef struct client_arg {
    report *rep;
    tr_actor_ref counter;
} client_arg;

static int client_init(tr_runtime *rt, void *state, void *arg)
{
    (void)rt;
    client *c = state;
    const client_arg *a = arg;
    c->rep = a->rep;
    c->counter = a->counter;
    return 0;
}

static void report_set(report *r, void (*set)(report *, const tr_msg *),
                       const tr_msg *msg)
{
    pthread_mutex_lock(&r->mu);
    set(r, msg);
    pthread_cond_broadcast(&r->cv);
    pthread_mutex_unlock(&r->mu);
}

static void set_value(report *r, const tr_msg *m)
{
    r->value = int_of(m);
    r->have_value = true;
}
static void set_timeout(report *r, const tr_msg *m)
{
    (void)m;
    r->timed_out = true;
}
static void set_down(report *r, const tr_msg *m)
{
    r->down_status = m->status;
    r->down_sender = m->sender;
    r->have_down = true;
}

static int client_receive(tr_ctx *ctx, void *state, const tr_msg *msg)
{
    client *c = state;
    switch (msg->type) {
    case MSG_START: {
        /* Watch the counter: exactly one DOWN will come when it stops. */
        int rc = tr_monitor(ctx, c->counter, &c->monitor_id);
        if (rc != 0)
            return rc;
        /* Exactly one of: the reply (TR_MSG_F_REPLY, corr_id == ask_id) or
         * TR_MSG_TIMEOUT after 5 s. */
        return tr_ask(ctx, c->counter, MSG_GET, NULL, 5000, &c->ask_id);
    }
    case MSG_VALUE:
        if ((msg->flags & TR_MSG_F_REPLY) && msg->corr_id == c->ask_id)
            report_set(c->rep, set_value, msg);
        return 0;
    case TR_MSG_TIMEOUT:
        report_set(c->rep, set_timeout, msg);
        return 0;
    case TR_MSG_DOWN:
        if (msg->corr_id == c->monitor_id)
            report_set(c->rep, set_down, msg);
        return 0;
    default:
        return 0;
    }
}

static const tr_actor_ops client_ops = {
    .state_size = sizeof(client),
    .init = client_init,
    .receive = client_receive,
    .name = "client",
};

/* Wait until *flag (guarded by r->mu) is set, at most 10 s. */
static bool wait_for(report *r, const bool *flag, const bool *or_flag)
{
    struct timespec dl;
    clock_gettime(CLOCK_REALTIME, &dl);
    dl.tv_sec += 10;
    pthread_mutex_lock(&r->mu);
    while (!*flag && !(or_flag != NULL && *or_flag))
        if (pthread_cond_timedwait(&r->cv, &r->mu, &dl) != 0)
            break;
    bool ok = *flag;
    pthread_mutex_unlock(&r->mu);
    return ok;
}

/* Print a failed call's error and return 1, or return 0. */
static int check(int rc, const char *what)
{
    if (rc == 0)
        return 0;
    fprintf(stderr, "%s: %s (%s)\n", what, tr_strerror(rc), tr_err_name(rc));
    return 1;
}

/* Everything between tr_runtime_new and tr_runtime_free; 0 on success. */
static int run(tr_runtime *rt, report *rep)
{
    tr_actor_ref ctr, cli;
    if (check(tr_spawn(rt, &counter_ops, NULL, NULL, &ctr), "spawn counter"))
        return 1;
    client_arg ca = {.rep = rep, .counter = ctr};
    if (check(tr_spawn(rt, &client_ops, &ca, NULL, &cli), "spawn client"))
        return 1; /* client_init copied what it needs from ca */

    int64_t expected = 0;
    for (int i = 1; i <= N_INCS; i++) {
        tr_payload *p = int_payload(i);
        if (p == NULL)
            return check(TR_ENOMEM, "payload");
        int rc = tr_send(rt, ctr, MSG_INC, p);
        tr_payload_unref(p); /* borrowed by the send, success or not */
        if (check(rc, "send INC"))
            return 1;
        expected += i;
    }
    /* The INCs were pushed into the counter's mailbox before START was
     * sent, so the client's GET lands behind all of them. */
    if (check(tr_send(rt, cli, MSG_START, NULL), "send START"))
        return 1;
    if (!wait_for(rep, &rep->have_value, &rep->timed_out)) {
        fprintf(stderr, "no answer from the counter (ask timed out or hung)\n");
        return 1;
    }

    if (check(tr_stop(rt, ctr), "stop counter")) /* normal stop: DOWN status 0 */
        return 1;
    if (!wait_for(rep, &rep->have_down, NULL)) {
        fprintf(stderr, "no DOWN for the counter\n");
        return 1;
    }

    pthread_mutex_lock(&rep->mu); /* the fields were written by the client */
    int64_t value = rep->value;
    int down_status = rep->down_status;
    tr_actor_ref down_sender = rep->down_sender;
    pthread_mutex_unlock(&rep->mu);
    printf("counter total=%lld down_status=%d\n", (long long)value, down_status);
    if (value != expected || down_status != 0 || !tr_ref_eq(down_sender, ctr) ||
        tr_actor_alive(rt, ctr)) {
        fprintf(stderr, "expected total=%lld down_status=0\n", (long long)expected);
        return 1;
    }
    return 0;
}

int main(void)
{
    report rep = {.mu = PTHREAD_MUTEX_INITIALIZER,
                  .cv = PTHREAD_COND_INITIALIZER};
    tr_runtime *rt = NULL;
    tr_runtime_opts opts = {.workers = 2, .name = "embed"};
    if (check(tr_runtime_new(&rt, &opts), "tr_runtime_new"))
        return 1;

    int status = run(rt, &rep);

    tr_runtime_stats st;
    tr_runtime_stats_get(rt, &st, NULL);
    printf("sent=%llu handled=%llu dead_letters=%llu\n",
           (unsigned long long)st.sent, (unsigned long long)st.handled,
           (unsigned long long)st.dead_letters);
    /* Drains, stops every actor, joins the threads, frees everything. */
    if (check(tr_runtime_free(rt, 1000), "tr_runtime_free"))
        status = 1;
    return status;
}
