/*
 * actors/emergency/em_util.c -- small helpers of the emergency controller:
 * the per-thread error text, id validation, the clock and ISO-8601
 * timestamps, state names.
 *
 * DESIGN
 *
 * tr_emergency_last_error is a _Thread_local buffer, so a refusal's message
 * needs no caller-supplied struct and no lock; each public entry point that
 * can fail clears it first.  Ids are restricted to the config's identifier
 * alphabet (A-Z a-z 0-9 _ . -), which also keeps them safe in file names.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "actors/emergency/emergency_internal.h"

static _Thread_local char last_error[512];

int tr__em_fail(int err, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(last_error, sizeof(last_error), fmt, ap);
    va_end(ap);
    return err;
}

void tr__em_clear_error(void) { last_error[0] = '\0'; }

const char *tr_emergency_last_error(void) { return last_error; }

void tr__em_copy(char *dst, size_t cap, const char *src)
{
    size_t n = src ? strlen(src) : 0;
    if (n >= cap)
        n = cap - 1;
    if (n)
        memcpy(dst, src, n);
    dst[n] = '\0';
}

bool tr__em_valid_id(const char *id)
{
    size_t n = id ? strlen(id) : 0;
    if (n == 0 || n >= TR_EMERGENCY_ID_MAX)
        return false;
    for (const char *p = id; *p; p++) {
        char c = *p;
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
              (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-'))
            return false;
    }
    return true;
}

uint64_t tr__em_realtime_ms(void *arg)
{
    (void)arg;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

uint64_t tr__em_now(const tr_emergency *em)
{
    return em->clock(em->clock_arg);
}

void tr__em_iso8601(uint64_t ms, char out[TR__EM_TS_MAX])
{
    time_t secs = (time_t)(ms / 1000u);
    struct tm tm;
    gmtime_r(&secs, &tm);
    size_t n = strftime(out, TR__EM_TS_MAX - 6, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out + n, 6, ".%03uZ", (unsigned)(ms % 1000u));
}

static const char *const state_names[] = {"normal", "alert", "halt",
                                          "shutdown"};

const char *tr_emergency_state_name(tr_emergency_state s)
{
    return (unsigned)s < 4 ? state_names[s] : "unknown";
}

int tr_emergency_state_parse(const char *name, tr_emergency_state *out)
{
    for (unsigned i = 0; name && i < 4; i++)
        if (strcmp(name, state_names[i]) == 0) {
            *out = (tr_emergency_state)i;
            return 0;
        }
    return TR_ENOENT;
}
