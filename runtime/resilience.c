/*
 * runtime/resilience.c -- circuit breaker state machine, retry backoff,
 * splitmix64, and the (workflow_id, service) breaker map.
 *
 * Design
 * ------
 * A breaker is plain data owned by one actor (the single writer).  Every
 * mutating call updates the working copy `b->s` and then publishes it into
 * `b->pub_` under a seqlock so other threads (metrics, the HTTP API) can read
 * a consistent snapshot without a lock and without ever delaying the owner:
 *
 *   writer:  seq_ = odd (relaxed); each word: store-release; seq_ = even (release)
 *   reader:  s1 = load-acquire(seq_), retry while odd; each word: load-acquire;
 *            s2 = load(seq_); accept when s1 == s2.
 *
 * Happens-before argument: if a reader's acquire load of some word observes a
 * value stored (with release) by a later publication P, it synchronizes with
 * that store and therefore also observes P's earlier odd store of seq_; the
 * reader's load of s2 comes after its acquire loads, so s2 >= P's odd value
 * != s1 and the copy is discarded.  A reader that observes no word of a later
 * publication read only words written by the publication whose even seq_ it
 * acquired (or earlier ones, which that even store's release orders before).
 * Only acquire/release operations are used (no standalone fences), so the
 * TSan backend of runtime/atomics.h models it exactly.
 *
 * Time is never read here: callers pass now_ms.  The OPEN -> HALF_OPEN edge
 * is taken lazily by tr_breaker_allow, so an idle breaker needs no timer.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "troupe/config.h"
#include "troupe/resilience.h"

#include "runtime/atomics.h"

/* ---------------------------------------------------------------------------
 * Random numbers: splitmix64 (Steele, Lea, Flood 2014).
 * ------------------------------------------------------------------------ */

uint64_t tr_rng_next(uint64_t *state)
{
    uint64_t z = (*state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

double tr_rng_unit(uint64_t *state)
{
    return (double)(tr_rng_next(state) >> 11) * 0x1.0p-53;
}

/* ---------------------------------------------------------------------------
 * Backoff
 * ------------------------------------------------------------------------ */

static double nonneg(double v)
{
    return (v >= 0.0 && isfinite(v)) ? v : 0.0; /* NaN and -x fail v >= 0 */
}

uint64_t tr_backoff_delay_ms(uint32_t attempt, double min_wait_ms, double max_wait_ms,
                             double exponential_base, bool jitter, uint64_t *rng_state)
{
    double lo = nonneg(min_wait_ms);
    double hi = max_wait_ms >= 0.0 ? max_wait_ms : 0.0; /* +inf allowed */
    double base = exponential_base >= 1.0 ? exponential_base : 1.0;
    if (!isfinite(base))
        base = 1.0;
    if (attempt == 0)
        attempt = 1;
    double d = lo * pow(base, (double)(attempt - 1));
    if (!(d <= hi)) /* overflow, inf or above the cap */
        d = hi;
    if (jitter && rng_state != NULL)
        d *= tr_rng_unit(rng_state); /* in [0, d) */
    if (!(d < 18446744073709549568.0)) /* largest double below 2^64 */
        return UINT64_MAX;
    return (uint64_t)d; /* floor: never above the cap */
}

static bool streq(const char *a, const char *b)
{
    return strcmp(a, b) == 0;
}

bool tr_error_type_retryable(const char *t)
{
    if (t == NULL)
        return false;
    return streq(t, "ConnectionError") || streq(t, "TimeoutError") ||
           streq(t, "ConnectionRefusedError") || streq(t, "ConnectionResetError") ||
           streq(t, "ConnectionAbortedError") || streq(t, "BrokenPipeError");
}

/* ---------------------------------------------------------------------------
 * Breaker
 * ------------------------------------------------------------------------ */

enum {
    W_STATE, W_FORCED, W_FAILS, W_THRESHOLD, W_TIMEOUT, W_OPENED, W_RETRY_AT,
    W_CALLS, W_SUCC, W_FAIL, W_REJ, W_OPENS, W_COUNT
};
_Static_assert(W_COUNT == sizeof(((tr_breaker *)0)->pub_) / sizeof(uint64_t),
               "tr_breaker.pub_ holds one word per published stat");

const char *tr_breaker_state_name(tr_breaker_state s)
{
    switch (s) {
    case TR_BREAKER_CLOSED: return "closed";
    case TR_BREAKER_OPEN: return "open";
    case TR_BREAKER_HALF_OPEN: return "half_open";
    }
    return "unknown";
}

int tr_breaker_config_from(const struct tr_config_resilience *r, tr_breaker_config *cfg)
{
    if (r == NULL || cfg == NULL)
        return TR_EINVAL;
    if (r->circuit_failure_threshold < 1 || r->circuit_failure_threshold > UINT32_MAX ||
        !(r->circuit_timeout_seconds >= 0.0) || !(r->circuit_timeout_seconds < 1e12))
        return TR_EINVAL;
    cfg->failure_threshold = (uint32_t)r->circuit_failure_threshold;
    cfg->timeout_ms = (uint64_t)llround(r->circuit_timeout_seconds * 1000.0);
    cfg->half_open_max_calls = 1;
    return 0;
}

/* Publish b->s for readers (see the design note). */
static void publish(tr_breaker *b)
{
    const tr_breaker_stats *s = &b->s;
    uint64_t w[W_COUNT];
    w[W_STATE] = (uint64_t)s->state;
    w[W_FORCED] = s->forced;
    w[W_FAILS] = s->failure_count;
    w[W_THRESHOLD] = s->failure_threshold;
    w[W_TIMEOUT] = s->timeout_ms;
    w[W_OPENED] = s->opened_at_ms;
    w[W_RETRY_AT] = s->state == TR_BREAKER_OPEN && !s->forced
                        ? s->opened_at_ms + s->timeout_ms : 0;
    w[W_CALLS] = s->total_calls;
    w[W_SUCC] = s->total_successes;
    w[W_FAIL] = s->total_failures;
    w[W_REJ] = s->total_rejections;
    w[W_OPENS] = s->times_opened;

    uint32_t seq = tr__load_u32_relaxed(&b->seq_); /* only we write it */
    tr__store_u32_relaxed(&b->seq_, seq + 1);
    /* release: a reader that sees any new word also sees the odd seq_.
     * Unchanged words are not rewritten (most calls change two or three). */
    for (int i = 0; i < W_COUNT; i++)
        if (tr__load_u64_relaxed(&b->pub_[i]) != w[i])
            tr__store_u64_release(&b->pub_[i], w[i]);
    /* release: the words above are visible to whoever acquires seq + 2. */
    tr__store_u32_release(&b->seq_, seq + 2);
}

int tr_breaker_init(tr_breaker *b, const tr_breaker_config *cfg)
{
    if (b == NULL || cfg == NULL || cfg->failure_threshold == 0)
        return TR_EINVAL;
    memset(b, 0, sizeof *b);
    b->cfg = *cfg;
    if (b->cfg.half_open_max_calls == 0)
        b->cfg.half_open_max_calls = 1;
    b->s.state = TR_BREAKER_CLOSED;
    b->s.failure_threshold = cfg->failure_threshold;
    b->s.timeout_ms = cfg->timeout_ms;
    publish(b);
    return 0;
}

static void open_at(tr_breaker *b, uint64_t now_ms)
{
    b->s.state = TR_BREAKER_OPEN;
    b->s.opened_at_ms = now_ms;
    b->s.times_opened++;
    b->in_flight = 0;
}

int tr_breaker_allow(tr_breaker *b, uint64_t now_ms)
{
    tr_breaker_stats *s = &b->s;
    int rc = 0;
    s->total_calls++;
    if (s->state == TR_BREAKER_OPEN && !s->forced &&
        now_ms - s->opened_at_ms >= s->timeout_ms && now_ms >= s->opened_at_ms) {
        s->state = TR_BREAKER_HALF_OPEN;
        b->in_flight = 0;
    }
    if (s->state == TR_BREAKER_OPEN) {
        rc = TR_EAGAIN;
    } else if (s->state == TR_BREAKER_HALF_OPEN) {
        if (b->in_flight < b->cfg.half_open_max_calls)
            b->in_flight++;
        else
            rc = TR_EAGAIN;
    }
    if (rc != 0)
        s->total_rejections++;
    publish(b);
    return rc;
}

void tr_breaker_success(tr_breaker *b, uint64_t now_ms)
{
    (void)now_ms;
    tr_breaker_stats *s = &b->s;
    s->total_successes++;
    if (s->state == TR_BREAKER_HALF_OPEN) {
        s->state = TR_BREAKER_CLOSED;
        b->in_flight = 0;
        s->failure_count = 0;
    } else if (s->state == TR_BREAKER_CLOSED) {
        s->failure_count = 0;
    }
    publish(b);
}

void tr_breaker_failure(tr_breaker *b, uint64_t now_ms)
{
    tr_breaker_stats *s = &b->s;
    s->total_failures++;
    if (s->failure_count < UINT32_MAX)
        s->failure_count++;
    if (s->state == TR_BREAKER_HALF_OPEN)
        open_at(b, now_ms);
    else if (s->state == TR_BREAKER_CLOSED && s->failure_count >= s->failure_threshold)
        open_at(b, now_ms);
    publish(b);
}

void tr_breaker_release(tr_breaker *b)
{
    if (b->s.state == TR_BREAKER_HALF_OPEN && b->in_flight > 0)
        b->in_flight--;
}

void tr_breaker_force_open(tr_breaker *b, uint64_t now_ms)
{
    open_at(b, now_ms);
    b->s.forced = true;
    publish(b);
}

void tr_breaker_force_close(tr_breaker *b)
{
    b->s.state = TR_BREAKER_CLOSED;
    b->s.forced = false;
    b->s.failure_count = 0;
    b->in_flight = 0;
    publish(b);
}

void tr_breaker_reset(tr_breaker *b)
{
    memset(&b->s, 0, sizeof b->s); /* seq_ and pub_ stay: readers may be active */
    b->in_flight = 0;
    b->s.state = TR_BREAKER_CLOSED;
    b->s.failure_threshold = b->cfg.failure_threshold;
    b->s.timeout_ms = b->cfg.timeout_ms;
    publish(b);
}

tr_breaker_state tr_breaker_state_of(const tr_breaker *b)
{
    return b->s.state;
}

void tr_breaker_stats_read(const tr_breaker *b, tr_breaker_stats *out)
{
    uint64_t w[W_COUNT];
    for (;;) {
        uint32_t s1 = tr__load_u32_acquire(&b->seq_);
        if (s1 & 1u) {
            tr__cpu_relax();
            continue;
        }
        for (int i = 0; i < W_COUNT; i++)
            w[i] = tr__load_u64_acquire(&b->pub_[i]);
        /* Ordered after the acquire loads above. */
        if (tr__load_u32_relaxed(&b->seq_) == s1)
            break;
        tr__cpu_relax();
    }
    memset(out, 0, sizeof *out);
    out->state = (tr_breaker_state)w[W_STATE];
    out->forced = w[W_FORCED] != 0;
    out->failure_count = (uint32_t)w[W_FAILS];
    out->failure_threshold = (uint32_t)w[W_THRESHOLD];
    out->timeout_ms = w[W_TIMEOUT];
    out->opened_at_ms = w[W_OPENED];
    out->retry_at_ms = w[W_RETRY_AT];
    out->total_calls = w[W_CALLS];
    out->total_successes = w[W_SUCC];
    out->total_failures = w[W_FAIL];
    out->total_rejections = w[W_REJ];
    out->times_opened = w[W_OPENS];
}

/* ---------------------------------------------------------------------------
 * Breaker map: open addressing (linear probing) over entry pointers; an entry
 * holds its breaker, so breaker addresses are stable across growth.  Removal
 * uses backward-shift deletion, so there are no tombstones.
 * ------------------------------------------------------------------------ */

typedef struct map_entry {
    uint64_t hash;
    tr_breaker breaker;
    size_t wf_len;  /* key = workflow_id '\0' service '\0' */
    char key[];
} map_entry;

struct tr_breaker_map {
    tr_breaker_config cfg;
    map_entry **slots;
    size_t cap; /* power of two, or 0 */
    size_t n;
};

static uint64_t key_hash(const char *wf, const char *svc)
{
    uint64_t h = 0xcbf29ce484222325ull; /* FNV-1a over wf '\0' svc */
    for (const char *p = wf;; p++) {
        h = (h ^ (uint8_t)*p) * 0x100000001b3ull;
        if (*p == '\0')
            break;
    }
    for (const char *p = svc; *p; p++)
        h = (h ^ (uint8_t)*p) * 0x100000001b3ull;
    return h;
}

static bool key_eq(const map_entry *e, uint64_t h, const char *wf, const char *svc)
{
    return e->hash == h && strcmp(e->key, wf) == 0 && strcmp(e->key + e->wf_len + 1, svc) == 0;
}

int tr_breaker_map_new(const tr_breaker_config *cfg, tr_breaker_map **out)
{
    if (cfg == NULL || out == NULL || cfg->failure_threshold == 0)
        return TR_EINVAL;
    tr_breaker_map *m = calloc(1, sizeof *m);
    if (m == NULL)
        return TR_ENOMEM;
    m->cfg = *cfg;
    *out = m;
    return 0;
}

void tr_breaker_map_free(tr_breaker_map *m)
{
    if (m == NULL)
        return;
    for (size_t i = 0; i < m->cap; i++)
        free(m->slots[i]);
    free(m->slots);
    free(m);
}

static size_t probe(const tr_breaker_map *m, uint64_t h, const char *wf, const char *svc)
{
    size_t mask = m->cap - 1;
    for (size_t i = (size_t)h & mask;; i = (i + 1) & mask)
        if (m->slots[i] == NULL || key_eq(m->slots[i], h, wf, svc))
            return i;
}

tr_breaker *tr_breaker_map_find(const tr_breaker_map *m, const char *wf, const char *svc)
{
    if (m == NULL || wf == NULL || svc == NULL || m->cap == 0)
        return NULL;
    map_entry *e = m->slots[probe(m, key_hash(wf, svc), wf, svc)];
    return e ? &e->breaker : NULL;
}

static int grow(tr_breaker_map *m)
{
    size_t ncap = m->cap ? m->cap * 2 : 16;
    map_entry **ns = calloc(ncap, sizeof *ns);
    if (ns == NULL)
        return TR_ENOMEM;
    for (size_t i = 0; i < m->cap; i++) {
        map_entry *e = m->slots[i];
        if (e == NULL)
            continue;
        size_t j = (size_t)e->hash & (ncap - 1);
        while (ns[j] != NULL)
            j = (j + 1) & (ncap - 1);
        ns[j] = e;
    }
    free(m->slots);
    m->slots = ns;
    m->cap = ncap;
    return 0;
}

int tr_breaker_map_get(tr_breaker_map *m, const char *wf, const char *svc, tr_breaker **out)
{
    if (m == NULL || wf == NULL || svc == NULL || out == NULL)
        return TR_EINVAL;
    tr_breaker *found = tr_breaker_map_find(m, wf, svc);
    if (found != NULL) {
        *out = found;
        return 0;
    }
    if ((m->n + 1) * 4 > m->cap * 3 && grow(m) != 0) /* load factor <= 3/4 */
        return TR_ENOMEM;
    size_t wl = strlen(wf), sl = strlen(svc);
    map_entry *e = malloc(sizeof *e + wl + sl + 2);
    if (e == NULL)
        return TR_ENOMEM;
    e->hash = key_hash(wf, svc);
    e->wf_len = wl;
    memcpy(e->key, wf, wl + 1);
    memcpy(e->key + wl + 1, svc, sl + 1);
    (void)tr_breaker_init(&e->breaker, &m->cfg); /* cfg checked in _new */
    m->slots[probe(m, e->hash, wf, svc)] = e;
    m->n++;
    *out = &e->breaker;
    return 0;
}

static void remove_at(tr_breaker_map *m, size_t i)
{
    size_t mask = m->cap - 1;
    free(m->slots[i]);
    m->slots[i] = NULL;
    m->n--;
    /* Backward-shift: move later members of the probe run into the hole. */
    for (size_t j = (i + 1) & mask; m->slots[j] != NULL; j = (j + 1) & mask) {
        size_t home = (size_t)m->slots[j]->hash & mask;
        /* Keep slot j where it is if its home lies cyclically in (i, j]. */
        bool stays = (i <= j) ? (home > i && home <= j) : (home > i || home <= j);
        if (!stays) {
            m->slots[i] = m->slots[j];
            m->slots[j] = NULL;
            i = j;
        }
    }
}

size_t tr_breaker_map_remove_workflow(tr_breaker_map *m, const char *wf)
{
    if (m == NULL || wf == NULL)
        return 0;
    size_t removed = 0;
    for (size_t i = 0; i < m->cap;) {
        map_entry *e = m->slots[i];
        if (e != NULL && strcmp(e->key, wf) == 0) {
            remove_at(m, i); /* may shift a later entry into i: look again */
            removed++;
            continue;
        }
        i++;
    }
    return removed;
}

size_t tr_breaker_map_count(const tr_breaker_map *m)
{
    return m ? m->n : 0;
}
