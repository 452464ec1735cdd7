/*
 * tests/emergency/em_test.h -- helpers shared by the emergency suites: a
 * scratch state_dir per test (mkdtemp, removed afterwards), a controller set
 * built on it, and a C subscriber that records events.
 */
#ifndef TR_TESTS_EM_TEST_H
#define TR_TESTS_EM_TEST_H

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "runtime/rt_test.h"
#include "troupe/emergency.h"

/* A fresh directory under TMPDIR (or /tmp); the caller frees the string. */
static inline char *em_tmpdir(void)
{
    const char *t = getenv("TMPDIR");
    char buf[512];
    snprintf(buf, sizeof(buf), "%s/troupe-em-XXXXXX", t && *t ? t : "/tmp");
    assert_non_null(mkdtemp(buf));
    return strdup(buf);
}

/* rm -r of a flat directory (the suites create no subdirectories inside,
 * except where they remove them themselves). */
static inline void em_rmdir(char *dir)
{
    DIR *d = opendir(dir);
    if (d) {
        struct dirent *de;
        char p[1024];
        while ((de = readdir(d)) != NULL) {
            if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
                continue;
            snprintf(p, sizeof(p), "%s/%s", dir, de->d_name);
            unlink(p);
        }
        closedir(d);
    }
    rmdir(dir);
    free(dir);
}

static inline tr_config_emergency em_limits(void)
{
    tr_config_emergency l = {.controller_id = (char *)"default",
                             .daily_loss_limit = -500.0,
                             .max_position_size = 10000.0,
                             .max_drawdown_percent = 10.0,
                             .auto_halt = true};
    return l;
}

static inline tr_emergency *em_open(const char *dir, tr_bus *bus,
                                    tr_state *st)
{
    tr_config_emergency l = em_limits();
    tr_emergency_opts o = {.state_dir = dir, .limits = &l, .bus = bus,
                           .state = st};
    tr_emergency *em = NULL;
    int rc = tr_emergency_new(&em, &o);
    if (rc != 0)
        fail_msg("tr_emergency_new: %s: %s", tr_err_name(rc),
                 tr_emergency_last_error());
    return em;
}

static inline tr_emergency_controller *em_ctl(tr_emergency *em, const char *id)
{
    tr_emergency_controller *c = NULL;
    assert_ok(tr_emergency_controller_get(em, id, &c));
    assert_non_null(c);
    return c;
}

static inline tr_emergency_state em_state(const tr_emergency_controller *c)
{
    tr_emergency_state s = (tr_emergency_state)99;
    assert_ok(tr_emergency_snapshot(c, &s, NULL));
    return s;
}

static inline uint64_t em_version(const tr_emergency_controller *c)
{
    uint64_t v = UINT64_MAX;
    assert_ok(tr_emergency_snapshot(c, NULL, &v));
    return v;
}

/* Records C-subscriber events. */
#define EM_REC_MAX 64
typedef struct em_rec {
    pthread_mutex_t mu;
    size_t n;
    struct {
        char id[TR_EMERGENCY_ID_MAX];
        tr_emergency_state prev, next;
        char reason[TR_EMERGENCY_REASON_MAX];
        char ts[32];
        uint64_t version;
        bool visible; /* the new state was visible during the call */
    } ev[EM_REC_MAX];
} em_rec;

static inline void em_rec_cb(void *arg, const tr_emergency_event *ev)
{
    em_rec *r = arg;
    pthread_mutex_lock(&r->mu);
    if (r->n < EM_REC_MAX) {
        snprintf(r->ev[r->n].id, sizeof(r->ev[0].id), "%s", ev->controller_id);
        r->ev[r->n].prev = ev->previous_state;
        r->ev[r->n].next = ev->new_state;
        snprintf(r->ev[r->n].reason, sizeof(r->ev[0].reason), "%s",
                 ev->reason);
        snprintf(r->ev[r->n].ts, sizeof(r->ev[0].ts), "%s", ev->timestamp);
        r->ev[r->n].version = ev->version;
        r->n++;
    }
    pthread_mutex_unlock(&r->mu);
}

#endif
