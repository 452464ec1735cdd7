/*
 * runtime/io.c -- the I/O thread: one libuv loop, and the runtime's timers.
 *
 * DESIGN
 * Other threads talk to the loop through a wait-free MPSC request queue and
 * uv_async_send (which coalesces; the async callback drains the queue until
 * empty).  A tr_timer is reference counted: one reference for the loop (held
 * from START until its uv handle is closed) and one for the caller when it
 * asked for a handle.  Cancelling sets an atomic flag that the fire callback
 * checks before each delivery, then asks the loop to stop and close the uv
 * timer; a delivery already under way when cancel is called may still land
 * (ask timeouts are filtered in the asker, see ask.c).
 *
 * Shutdown: tr__io_cancel_timers() makes posting refuse new timers, closes
 * every active one and waits for the loop to confirm; tr__io_stop() then waits
 * for posters still inside tr__io_post (a counter, not a lock) and stops the
 * loop.  Requests posted after that are handled on the caller's thread.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <uv.h>

#include "runtime/internal.h"
#include "runtime/mpsc.h"

enum { OP_START = 1, OP_CANCEL, OP_CANCEL_ALL, OP_STOP };

typedef struct tr__io_req {
    tr__node node; /* must be first */
    int op;
    tr_timer *timer;
} tr__io_req;

struct tr_timer {
    uint32_t refs;
    uint32_t cancelled;
    uint32_t cancel_posted;
    int state; /* loop thread only: 0 new, 1 armed, 2 closing */
    tr__io_req start_req, cancel_req;
    uv_timer_t uv;
    tr_timer *prev, *next; /* active list, loop thread only */
    tr_runtime *rt;
    tr_actor_ref to;
    tr_send_args args; /* args.payload holds one reference */
    uint64_t delay, period;
    bool internal;
};

struct tr__io {
    uv_loop_t loop;
    uv_async_t async;
    pthread_t thread;
    tr__node *q_head;
    tr__node *q_tail;
    tr__node q_stub;
    uint32_t refusing; /* no new timers */
    uint32_t stopped;  /* loop gone: handle requests locally */
    uint32_t posting;  /* threads inside post() */
    tr_timer *active;
    tr__io_req cancel_all_req, stop_req;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    bool cancel_all_done;
    tr_runtime *rt;
};

static tr__mpsc_ref req_q(struct tr__io *io)
{
    return (tr__mpsc_ref){&io->q_head, &io->q_tail, &io->q_stub};
}

static void timer_unref(tr_timer *t)
{
    if (tr__faa_u32_release(&t->refs, (uint32_t)-1) != 1)
        return;
    tr__fence_acquire();
    tr_payload_unref(t->args.payload);
    free(t);
}

/* Returns false if the loop no longer takes requests. */
static bool post(struct tr__io *io, tr__io_req *r)
{
    tr__faa_u32(&io->posting, 1);
    if (tr__load_u32_acquire(&io->stopped)) {
        tr__faa_u32(&io->posting, (uint32_t)-1);
        return false;
    }
    tr__mpsc_push(req_q(io), &r->node);
    uv_async_send(&io->async);
    tr__faa_u32(&io->posting, (uint32_t)-1);
    return true;
}

/* ---- loop thread ---------------------------------------------------- */

static void on_timer_closed(uv_handle_t *h)
{
    tr_timer *t = h->data;
    timer_unref(t); /* the loop's reference */
}

static void timer_close(struct tr__io *io, tr_timer *t)
{
    if (t->state != 1)
        return;
    t->state = 2;
    if (t->prev != NULL)
        t->prev->next = t->next;
    else
        io->active = t->next;
    if (t->next != NULL)
        t->next->prev = t->prev;
    uv_timer_stop(&t->uv);
    uv_close((uv_handle_t *)&t->uv, on_timer_closed);
}

static void on_timer(uv_timer_t *h)
{
    tr_timer *t = h->data;
    struct tr__io *io = t->rt->io;
    if (tr__load_u32_acquire(&t->cancelled)) {
        timer_close(io, t);
        return;
    }
    int rc = tr__deliver(t->rt, NULL, t->to, &t->args, TR_REF_NONE, t->internal);
    if (t->period == 0 || rc == TR_EDEAD || rc == TR_ECLOSED)
        timer_close(io, t);
}

static void handle(struct tr__io *io, tr__io_req *r)
{
    tr_timer *t = r->timer;
    switch (r->op) {
    case OP_START:
        if (tr__load_u32_acquire(&t->cancelled) || tr__load_u32_relaxed(&io->refusing)) {
            timer_unref(t);
            return;
        }
        uv_timer_init(&io->loop, &t->uv);
        t->uv.data = t;
        t->state = 1;
        t->prev = NULL;
        t->next = io->active;
        if (io->active != NULL)
            io->active->prev = t;
        io->active = t;
        uv_timer_start(&t->uv, on_timer, t->delay, t->period);
        return;
    case OP_CANCEL:
        timer_close(io, t);
        timer_unref(t); /* the reference the cancel request carried */
        return;
    case OP_CANCEL_ALL:
        tr__store_u32_release(&io->refusing, 1);
        while (io->active != NULL)
            timer_close(io, io->active);
        pthread_mutex_lock(&io->lock);
        io->cancel_all_done = true;
        pthread_cond_broadcast(&io->cond);
        pthread_mutex_unlock(&io->lock);
        return;
    case OP_STOP:
        uv_close((uv_handle_t *)&io->async, NULL);
        return;
    }
}

static void on_async(uv_async_t *h)
{
    struct tr__io *io = h->data;
    tr__node *n;
    /* A producer between its exchange and its link makes the queue look
     * empty; its uv_async_send comes after the link, so we run again. */
    while ((n = tr__mpsc_pop(req_q(io))) != NULL)
        handle(io, (tr__io_req *)n);
}

static _Thread_local bool tls_io_thread;

bool tr__on_io_thread(void) { return tls_io_thread; }

static void *io_main(void *arg)
{
    struct tr__io *io = arg;
    tls_io_thread = true;
    pthread_setname_np(pthread_self(), "tr-io");
    uv_run(&io->loop, UV_RUN_DEFAULT);
    return NULL;
}

/* ---- API ------------------------------------------------------------- */

int tr__io_start(tr_runtime *rt)
{
    struct tr__io *io = calloc(1, sizeof(*io));
    if (io == NULL)
        return TR_ENOMEM;
    io->rt = rt;
    tr__mpsc_init(req_q(io));
    pthread_mutex_init(&io->lock, NULL);
    pthread_cond_init(&io->cond, NULL);
    if (uv_loop_init(&io->loop) != 0) {
        free(io);
        return TR_ESYS;
    }
    uv_async_init(&io->loop, &io->async, on_async);
    io->async.data = io;
    rt->io = io;
    if (pthread_create(&io->thread, NULL, io_main, io) != 0) {
        uv_close((uv_handle_t *)&io->async, NULL);
        uv_run(&io->loop, UV_RUN_DEFAULT);
        uv_loop_close(&io->loop);
        free(io);
        rt->io = NULL;
        return TR_ESYS;
    }
    return 0;
}

void tr__io_cancel_timers(tr_runtime *rt)
{
    struct tr__io *io = rt->io;
    if (io == NULL)
        return;
    /* Refuse from now on (tr__send_after_internal checks it); the loop also
     * drops a START that raced past the check before it sees the request. */
    tr__store_u32_release(&io->refusing, 1);
    io->cancel_all_req.op = OP_CANCEL_ALL;
    if (!post(io, &io->cancel_all_req))
        return;
    pthread_mutex_lock(&io->lock);
    while (!io->cancel_all_done)
        pthread_cond_wait(&io->cond, &io->lock);
    pthread_mutex_unlock(&io->lock);
}

void tr__io_stop(tr_runtime *rt)
{
    struct tr__io *io = rt->io;
    if (io == NULL)
        return;
    io->stop_req.op = OP_STOP;
    post(io, &io->stop_req);
    tr__store_u32_release(&io->stopped, 1);
    tr__fence_seq_cst();
    /* Posters that got past the check finish their uv_async_send before the
     * loop can be torn down: wait for them (a few instructions). */
    while (tr__load_u32_acquire(&io->posting) != 0) {
        struct timespec ts = {0, 100000};
        nanosleep(&ts, NULL);
    }
    pthread_join(io->thread, NULL);
    /* Requests that arrived after the loop's last drain. */
    tr__node *n;
    while ((n = tr__mpsc_pop(req_q(io))) != NULL) {
        tr__io_req *r = (tr__io_req *)n;
        if (r->op == OP_START || r->op == OP_CANCEL)
            timer_unref(r->timer);
    }
    uv_loop_close(&io->loop);
    pthread_mutex_destroy(&io->lock);
    pthread_cond_destroy(&io->cond);
    free(io);
    rt->io = NULL;
}

int tr__send_after_internal(tr_runtime *rt, uint64_t delay_ms,
                            uint64_t period_ms, tr_actor_ref to,
                            const tr_send_args *args, tr_timer **out)
{
    if (rt == NULL || args == NULL || (out == NULL && period_ms > 0))
        return TR_EINVAL;
    struct tr__io *io = rt->io;
    /* Refused once shutdown has cancelled the timers: an ask made then fails
     * at once instead of waiting for a timeout that would never come. */
    if (io == NULL || tr__load_u32_acquire(&io->refusing) ||
        (tr__load_u32_relaxed(&rt->closing) && args->type < TR_MSG_SYSTEM))
        return TR_ECLOSED;
    tr_timer *t = calloc(1, sizeof(*t));
    if (t == NULL)
        return TR_ENOMEM;
    t->refs = out != NULL ? 2 : 1;
    t->rt = rt;
    t->to = to;
    t->args = *args;
    tr_payload_ref(t->args.payload);
    t->delay = delay_ms;
    t->period = period_ms;
    t->internal = args->type >= TR_MSG_SYSTEM;
    t->start_req.op = OP_START;
    t->start_req.timer = t;
    if (!post(io, &t->start_req)) {
        tr_payload_unref(t->args.payload);
        free(t);
        return TR_ECLOSED;
    }
    if (out != NULL)
        *out = t;
    return 0;
}

int tr_send_after(tr_runtime *rt, uint64_t delay_ms, uint64_t period_ms,
                  tr_actor_ref to, const tr_send_args *args, tr_timer **out)
{
    if (args == NULL || args->type >= TR_MSG_SYSTEM)
        return TR_EINVAL;
    return tr__send_after_internal(rt, delay_ms, period_ms, to, args, out);
}

void tr_timer_cancel(tr_timer *t)
{
    if (t == NULL)
        return;
    tr__store_u32_release(&t->cancelled, 1);
    if (tr__xchg_u32(&t->cancel_posted, 1) == 0) {
        tr__faa_u32_relaxed(&t->refs, 1); /* carried by the request */
        t->cancel_req.op = OP_CANCEL;
        t->cancel_req.timer = t;
        struct tr__io *io = t->rt->io;
        if (io == NULL || !post(io, &t->cancel_req))
            timer_unref(t);
    }
    timer_unref(t);
}

void tr_timer_release(tr_timer *t)
{
    if (t != NULL)
        timer_unref(t);
}
