/*
 * troupe/log.h -- structured logging: `console` or `json`, one line per call.
 *
 * Every line carries: time (UTC, ISO-8601, milliseconds), level, module, the
 * correlation of the message the calling thread is handling, and the message
 * (plus optional typed key/value fields).  See docs/logging.md for the exact
 * line formats.
 *
 * Sink.  The sink (format, minimum level, output fd or callback) is
 * process-wide, unlike everything else in troupe, which hangs off a
 * tr_runtime: log output is a process resource (stderr, one file, one
 * collector), and two runtimes in one process must not interleave or fight
 * over it.  Reconfiguring is thread-safe and lock-free for loggers: a line
 * filtered by level costs one relaxed atomic load (tr_log_enabled, inline),
 * an emitted line pins the sink configuration with two atomic operations.
 *
 * Correlation.  Thread-local: the runtime's worker calls tr_log_set_corr()
 * with the numeric correlation id of each message before running its handler;
 * an actor may additionally set a string label (the executor's execution id)
 * for the duration of its handler.  A line shows the label if set, else the
 * correlation id as 16 hex digits if non-zero, else no correlation.
 *
 * Atomicity.  Each line is formatted into a stack buffer of at most
 * TR_LOG_LINE_MAX bytes (longer lines are truncated with a marker, and JSON
 * stays valid) and written with one write(2), so lines from concurrent
 * threads never interleave on a pipe (the cap is PIPE_BUF) or an O_APPEND
 * file.  The logging path never allocates and preserves errno.
 */
#ifndef TROUPE_LOG_H
#define TROUPE_LOG_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "troupe/error.h"

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__)
#define TR__PRINTF(fmt_idx, arg_idx) __attribute__((format(printf, fmt_idx, arg_idx)))
#else
#define TR__PRINTF(fmt_idx, arg_idx)
#endif

/* The longest line written, newline included.  Equal to Linux's PIPE_BUF so
 * that a write to a pipe is atomic. */
#define TR_LOG_LINE_MAX 4096
/* Module names and correlation labels longer than these are cut. */
#define TR_LOG_MODULE_MAX 64
#define TR_LOG_LABEL_MAX 128

typedef enum tr_log_level {
    TR_LOG_LEVEL_DEBUG = 0,
    TR_LOG_LEVEL_INFO = 1,
    TR_LOG_LEVEL_WARN = 2,
    TR_LOG_LEVEL_ERROR = 3,
    TR_LOG_LEVEL_OFF = 4 /* only as a minimum level: log nothing */
} tr_log_level;

typedef enum tr_log_format {
    TR_LOG_FORMAT_CONSOLE = 0,
    TR_LOG_FORMAT_JSON = 1
} tr_log_format;

/* One typed key/value field (see tr_log_kv).  Build them with the
 * TR_LOG_STR/INT/UINT/F64/BOOL macros rather than by hand. */
typedef enum tr_log_type {
    TR_LOG_T_STR,
    TR_LOG_T_INT,
    TR_LOG_T_UINT,
    TR_LOG_T_F64,
    TR_LOG_T_BOOL
} tr_log_type;

typedef struct tr_log_field {
    const char *key; /* borrowed for the call; NUL-terminated */
    tr_log_type type;
    union {
        const char *s; /* borrowed for the call; NULL prints as null */
        int64_t i;
        uint64_t u;
        double f; /* NaN/inf print as null in JSON */
        bool b;
    } v;
} tr_log_field;

#define TR_LOG_STR(k, x) ((tr_log_field){.key = (k), .type = TR_LOG_T_STR, .v.s = (x)})
#define TR_LOG_INT(k, x) ((tr_log_field){.key = (k), .type = TR_LOG_T_INT, .v.i = (int64_t)(x)})
#define TR_LOG_UINT(k, x) ((tr_log_field){.key = (k), .type = TR_LOG_T_UINT, .v.u = (uint64_t)(x)})
#define TR_LOG_F64(k, x) ((tr_log_field){.key = (k), .type = TR_LOG_T_F64, .v.f = (double)(x)})
#define TR_LOG_BOOL(k, x) ((tr_log_field){.key = (k), .type = TR_LOG_T_BOOL, .v.b = (x)})

/* Expands to the two arguments `fields, nfields` of tr_log_kv from a list of
 * TR_LOG_* fields.  The array is a compound literal in the caller's scope. */
#define TR_LOG_FIELDS(...)                                                     \
    ((const tr_log_field[]){__VA_ARGS__}),                                     \
        (sizeof((const tr_log_field[]){__VA_ARGS__}) / sizeof(tr_log_field))

/* What a callback sink receives for each line.  Every pointer is borrowed
 * and valid only during the callback (most point into the logging thread's
 * stack). */
typedef struct tr_log_record {
    tr_log_level level;
    int64_t ts_ms;          /* Unix time in milliseconds */
    const char *ts;         /* "2026-11-25T22:01:08.123Z" */
    const char *module;     /* never NULL ("-" when the caller passed NULL) */
    const char *corr;       /* label or 16 hex digits; "" when none */
    const char *msg;        /* the formatted message, possibly cut */
    size_t msg_len;
    const tr_log_field *fields; /* as passed to tr_log_kv, else NULL/0 */
    size_t nfields;
    bool truncated;         /* the line (or message) was cut */
    const char *line;       /* the full line in the configured format, */
    size_t line_len;        /* ending with '\n' (not NUL-terminated in len) */
} tr_log_record;

/* A callback sink.  Called on the logging thread, concurrently from as many
 * threads as log, so it must be thread-safe.  It must not call
 * tr_log_configure (that returns TR_ESTATE); lines it logs itself are dropped
 * (counted by tr_log_dropped) instead of recursing. */
typedef void (*tr_log_sink_fn)(void *arg, const tr_log_record *rec);

typedef struct tr_log_config {
    tr_log_format format;
    tr_log_level min_level; /* lines below it are dropped unformatted */
    int fd;                 /* output when sink is NULL; borrowed, never closed */
    tr_log_sink_fn sink;    /* if non-NULL, lines go here instead of fd */
    void *sink_arg;         /* borrowed; passed to sink */
} tr_log_config;

/* The configuration in force before any tr_log_configure: console, info,
 * stderr. */
#define TR_LOG_CONFIG_INIT {TR_LOG_FORMAT_CONSOLE, TR_LOG_LEVEL_INFO, 2, NULL, NULL}

/* Replace the process-wide sink configuration (NULL restores
 * TR_LOG_CONFIG_INIT).  *cfg is copied; the fd and sink_arg stay borrowed.
 *
 * When it returns, no thread is still writing to the previous fd or inside
 * the previous sink, so the caller may then close that fd or free that
 * sink_arg.  It may wait (yielding the CPU) for lines in progress on other
 * threads to finish.  Calls are serialized internally; any thread may call
 * it except from inside a sink callback (returns TR_ESTATE).
 * Returns 0, or TR_EINVAL (bad format/level, or fd < 0 with no sink) with
 * nothing changed. */
TR_EXTERN int tr_log_configure(const tr_log_config *cfg);

/* A copy of the configuration in force.  Any thread. */
TR_EXTERN void tr_log_get_config(tr_log_config *out);

/* Internal: the minimum level, read by the inline tr_log_enabled.  Never
 * write it; use tr_log_configure. */
TR_EXTERN extern uint32_t tr__log_min_level;

/* Whether a line at `level` would currently be emitted.  Out-of-line twin of
 * tr_log_enabled for non-GNU compilers and foreign-function callers.  Any
 * thread. */
TR_EXTERN bool tr_log_level_enabled(tr_log_level level);

/* The fast filter: one relaxed atomic load.  Any thread.  The level can be
 * changed concurrently; a line racing with a change may use either level. */
static inline bool tr_log_enabled(tr_log_level level)
{
#if defined(__GNUC__)
    return (uint32_t)level >= __atomic_load_n(&tr__log_min_level, __ATOMIC_RELAXED);
#else
    return tr_log_level_enabled(level);
#endif
}

/* Log one line: printf-style message at `level` from `module` (a short static
 * name such as "runtime"; NULL prints "-").  Every string is borrowed for the
 * call.  Any thread; not async-signal-safe (it calls vsnprintf and
 * gmtime_r).  Never allocates, never fails visibly: a line that cannot be written
 * (EAGAIN, EPIPE, ...) is counted by tr_log_dropped.  Preserves errno. */
TR_EXTERN void tr_log(tr_log_level level, const char *module, const char *fmt, ...)
    TR__PRINTF(3, 4);
TR_EXTERN void tr_logv(tr_log_level level, const char *module, const char *fmt, va_list ap)
    TR__PRINTF(3, 0);

/* Log `msg` (not a format string) with typed fields, e.g.
 *   tr_log_kv(TR_LOG_LEVEL_INFO, "executor", "node done",
 *             TR_LOG_FIELDS(TR_LOG_STR("node", id), TR_LOG_INT("ms", 12)));
 * Fields follow the message; fields that do not fit in the line are dropped
 * whole and the line is marked truncated.  A field whose key is one of the
 * line's own keys (ts, level, module, corr, msg, truncated) is written with a
 * leading '_'.  Same threads/ownership/failure rules as tr_log. */
TR_EXTERN void tr_log_kv(tr_log_level level, const char *module, const char *msg,
                         const tr_log_field *fields, size_t nfields);

/* Convenience macros: the arguments are not evaluated when the level is
 * filtered out. */
#define TR__LOG_AT(lvl, module, ...)                                           \
    do {                                                                       \
        if (tr_log_enabled(lvl))                                               \
            tr_log((lvl), (module), __VA_ARGS__);                              \
    } while (0)
#define TR_LOG_DEBUG(module, ...) TR__LOG_AT(TR_LOG_LEVEL_DEBUG, module, __VA_ARGS__)
#define TR_LOG_INFO(module, ...) TR__LOG_AT(TR_LOG_LEVEL_INFO, module, __VA_ARGS__)
#define TR_LOG_WARN(module, ...) TR__LOG_AT(TR_LOG_LEVEL_WARN, module, __VA_ARGS__)
#define TR_LOG_ERROR(module, ...) TR__LOG_AT(TR_LOG_LEVEL_ERROR, module, __VA_ARGS__)
/* TR_LOG_KV(level, module, msg, TR_LOG_STR(...), ...): at least one field. */
#define TR_LOG_KV(lvl, module, msg, ...)                                       \
    do {                                                                       \
        if (tr_log_enabled(lvl))                                               \
            tr_log_kv((lvl), (module), (msg), TR_LOG_FIELDS(__VA_ARGS__));     \
    } while (0)

/* ---------------------------------------------------------------------------
 * Correlation context (thread-local: each call affects only the calling
 * thread's later lines).
 * ------------------------------------------------------------------------ */

/* Set the numeric correlation id of the message being handled (0 = none).
 * Returns the previous value.  The runtime's worker calls it before each
 * message. */
TR_EXTERN uint64_t tr_log_set_corr(uint64_t corr);

/* Set a string label that replaces the numeric id in lines (NULL = none).
 * The pointer is borrowed: it must stay valid and unchanged until the label
 * is reset (to NULL or the previous value) on this thread.  Returns the
 * previous label. */
TR_EXTERN const char *tr_log_set_label(const char *label);

/* Save/restore of both, for nested use:
 *   tr_log_ctx saved = tr_log_ctx_push(corr, "exec_arb_btc_001_1a2b3c4d");
 *   ... handler ...
 *   tr_log_ctx_restore(saved);
 */
typedef struct tr_log_ctx {
    uint64_t corr;
    const char *label;
} tr_log_ctx;

TR_EXTERN tr_log_ctx tr_log_ctx_save(void);
TR_EXTERN void tr_log_ctx_restore(tr_log_ctx saved);
/* Save, then set both; returns what to restore. */
TR_EXTERN tr_log_ctx tr_log_ctx_push(uint64_t corr, const char *label);

/* ---------------------------------------------------------------------------
 * Names and parsing (pure; any thread)
 * ------------------------------------------------------------------------ */

/* "debug"/"info"/"warn"/"error"/"off" (case-insensitive; "warning" too).
 * Returns 0 and sets *out, or TR_EINVAL (unknown name or NULL argument). */
TR_EXTERN int tr_log_level_parse(const char *s, tr_log_level *out);
/* "console"/"json" (case-insensitive).  0 or TR_EINVAL, as above. */
TR_EXTERN int tr_log_format_parse(const char *s, tr_log_format *out);
/* Static lowercase names; "unknown" for values outside the enum. */
TR_EXTERN const char *tr_log_level_name(tr_log_level level);
TR_EXTERN const char *tr_log_format_name(tr_log_format format);

/* Lines lost since start: not written (write error, EAGAIN on a
 * non-blocking fd) or logged from inside a sink callback.  Any thread. */
TR_EXTERN uint64_t tr_log_dropped(void);

#ifdef __cplusplus
}
#endif
#endif /* TROUPE_LOG_H */
