/*
 * troupe/config.h -- the runtime's configuration: presets, a JSON file and
 * TROUPE_* environment variables, merged into one plain struct.
 *
 * Precedence, lowest to highest: the preset's default ("development" or
 * "production", the seed plan's two environments), then the JSON file (field
 * by field: a field the file does not name keeps the preset's value), then
 * the environment variable TROUPE_<PATH> (path upper-cased, '.' -> '_', e.g.
 * TROUPE_RESILIENCE_RETRY_MAX_ATTEMPTS).  Every field has a type, a range and
 * a default per preset, all in one table (runtime/config_fields.c); loading,
 * validation, the environment and printing walk that table.  docs/
 * configuration.md lists the fields.
 *
 * Errors.  tr_config_load checks everything and reports *every* problem it
 * finds (unknown field, wrong type, out of range, bad enum value, malformed
 * JSON with line and column, unreadable file, bad environment value) in a
 * caller-supplied tr_config_error, each naming the field's dotted path, the
 * source (file path or variable name) and what was expected.
 *
 * Threads.  A loaded tr_config is immutable by convention: any thread may read
 * it once it has been published (e.g. before the workers start).  Nothing here
 * keeps global state; tr_config_load is reentrant, but when it reads the
 * process environment (envp == NULL) it must not race with setenv/putenv.
 */
#ifndef TROUPE_CONFIG_H
#define TROUPE_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "troupe/error.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum tr_config_backend {
    TR_CONFIG_BACKEND_MEMORY = 0, /* "memory": in process */
    TR_CONFIG_BACKEND_REDIS = 1   /* "redis": shared through redis_url */
} tr_config_backend;

typedef enum tr_config_log_format {
    TR_CONFIG_LOG_CONSOLE = 0, /* "console" */
    TR_CONFIG_LOG_JSON = 1     /* "json" */
} tr_config_log_format;

typedef enum tr_config_log_level {
    TR_CONFIG_LOG_DEBUG = 0,
    TR_CONFIG_LOG_INFO = 1,
    TR_CONFIG_LOG_WARN = 2,
    TR_CONFIG_LOG_ERROR = 3
} tr_config_log_level;

/* What fan-out does with a connection whose send queue is full. */
typedef enum tr_config_slow_client {
    TR_CONFIG_SLOW_DROP = 0,      /* "drop": drop frames; client replays */
    TR_CONFIG_SLOW_DISCONNECT = 1 /* "disconnect": close the connection */
} tr_config_slow_client;

/* A list of strings, owned by the tr_config that holds it. */
typedef struct tr_config_strlist {
    size_t count;
    char **items; /* count strings; NULL when count == 0 */
} tr_config_strlist;

/* The seed plan's ResilienceConfig, plus the default node timeout.  Durations
 * are seconds (as in the plan's names). */
typedef struct tr_config_resilience {
    int64_t retry_max_attempts;     /* attempts in all, first one included */
    double retry_min_wait_seconds;  /* first backoff delay */
    double retry_max_wait_seconds;  /* cap on one backoff delay */
    double retry_exponential_base;  /* delay_n = min * base^(n-1), capped */
    bool retry_jitter;              /* randomise each delay */
    int64_t circuit_failure_threshold; /* failures that open a breaker */
    double circuit_timeout_seconds; /* open -> half-open after this */
    double node_timeout_seconds;    /* a node's timeout when it names none */
} tr_config_resilience;

/* The seed plan's EmergencyConfig, plus auto_halt and the controller id. */
typedef struct tr_config_emergency {
    char *controller_id;         /* key emergency:{controller_id} */
    double daily_loss_limit;     /* <= 0, e.g. -500.0 */
    double max_position_size;    /* >= 0 */
    double max_drawdown_percent; /* 0..100 */
    bool auto_halt;              /* halt when a limit is exceeded */
} tr_config_emergency;

/* The fan-out server (WebSocket, Socket.IO, HTTP API). */
typedef struct tr_config_server {
    char *listen;                      /* "host:port", "[v6]:port" */
    char *auth_token;                  /* bearer token; "" = none */
    tr_config_strlist allowed_origins; /* origins or "*"; empty: same origin */
    int64_t max_payload;               /* bytes per inbound frame */
    int64_t send_queue;                /* frames queued per connection */
    int64_t socket_send_buffer;        /* SO_SNDBUF per WebSocket; 0 = kernel */
    int64_t history;                   /* events kept per room for replay */
    int64_t rate_limit;                /* inbound msgs/s per conn; 0 = none */
    tr_config_slow_client slow_client;
} tr_config_server;

/* Number of fields in the table: the leaves of tr_config (below). */
#define TR_CONFIG_NFIELDS 29

/* Where a value came from. */
typedef enum tr_config_from {
    TR_CONFIG_FROM_DEFAULT = 0, /* no preset named (development values);
                                   name: "default" */
    TR_CONFIG_FROM_PRESET = 1,  /* name: "development" or "production" */
    TR_CONFIG_FROM_FILE = 2,    /* name: the file path */
    TR_CONFIG_FROM_ENV = 3      /* name: the variable, "TROUPE_..." */
} tr_config_from;

typedef struct tr_config_origin {
    tr_config_from from;
    const char *name; /* static, or owned by the tr_config (the file path) */
} tr_config_origin;

typedef struct tr_config {
    tr_config_backend state_backend;
    tr_config_backend events_backend;
    tr_config_log_format log_format;
    tr_config_log_level log_level;
    char *redis_url; /* redis://[user:pass@]host[:port][/db] */
    int64_t workers; /* 0 = one per online CPU */
    char *state_dir;
    tr_config_resilience resilience;
    tr_config_emergency emergency;
    tr_config_server server;

    /* Provenance: read through tr_config_origin_of. */
    const char *preset; /* "development" or "production" (static) */
    char *file;         /* the file loaded (owned copy), or NULL */
    tr_config_origin origin[TR_CONFIG_NFIELDS]; /* in table order */
} tr_config;

/* One problem found while loading. */
typedef struct tr_config_problem {
    char field[64];    /* dotted path ("server.listen"), or "" (bad JSON) */
    char source[256];  /* file path, "TROUPE_..." variable, or "preset" */
    int line, column;  /* position in the file for malformed JSON, else 0 */
    char message[768]; /* "<source>[:l:c]: <field>: <what>; expected <what>" */
} tr_config_problem;

#define TR_CONFIG_MAX_PROBLEMS 16

/* Caller-allocated detail for tr_config_load (about 17 KB). */
typedef struct tr_config_error {
    size_t count; /* problems found; problems[] keeps the first MAX of them */
    tr_config_problem problems[TR_CONFIG_MAX_PROBLEMS];
} tr_config_error;

/* Build the effective configuration into caller storage *out.
 *   preset: "development", "production", or NULL.  NULL means the variable
 *           TROUPE_ENV from the environment, else the development values
 *           (reported as "default").
 *   file:   a JSON file to apply over the preset, or NULL for none.
 *   envp:   a NULL-terminated "NAME=value" array to read TROUPE_* from, or
 *           NULL for the process environment (not safe against a concurrent
 *           setenv).  Pass (char *[]){NULL} to ignore the environment.
 *   err:    may be NULL; otherwise cleared, then filled with every problem.
 * Returns 0, or TR_EINVAL (invalid configuration), TR_EIO (the file cannot
 * be read), TR_ENOMEM.  On failure *out is left zeroed: it holds nothing and
 * tr_config_fini on it is a no-op.  On success the caller owns *out and
 * releases it with tr_config_fini.  `file` is copied; nothing is retained. */
TR_EXTERN int tr_config_load(tr_config *out, const char *preset,
                             const char *file, char *const *envp,
                             tr_config_error *err);

/* Free the strings *cfg owns and zero it.  cfg may be NULL or zeroed; calling
 * it twice is harmless.  Not concurrently with readers of *cfg. */
TR_EXTERN void tr_config_fini(tr_config *cfg);

/* Where the field at `path` ("resilience.retry_max_attempts") got its value.
 * Returns 0, or TR_ENOENT for a path that is not a field.  out->name stays
 * valid as long as *cfg.  Safe from any thread. */
TR_EXTERN int tr_config_origin_of(const tr_config *cfg, const char *path,
                                  tr_config_origin *out);

/* The field table, in order: i < TR_CONFIG_NFIELDS, else NULL.  Returns
 * static strings: the dotted path and the environment variable.  Safe from
 * any thread. */
TR_EXTERN const char *tr_config_field_path(size_t i);
TR_EXTERN const char *tr_config_field_env(size_t i);

/* Print secrets (server.auth_token, a password in redis_url) instead of
 * "<redacted>". */
#define TR_CONFIG_SHOW_SECRETS 1u

/* The effective configuration as an indented JSON document, in the file
 * format (it can be loaded back with tr_config_load) and in table order.
 * Durations are numbers of seconds.  Returns malloc'd text (free it), or
 * NULL when out of memory.  Only reads *cfg: safe from any thread. */
TR_EXTERN char *tr_config_to_json(const tr_config *cfg, unsigned flags);

/* One line per field, where each value came from:
 *   "resilience.retry_max_attempts = 3        (preset production)\n"
 * Origins are "default", "preset <name>", "file <path>", "env <VAR>"; values
 * are JSON, padded to a fixed column.  Returns malloc'd text (free it), or
 * NULL when out of memory.  Only reads *cfg: safe from any thread. */
TR_EXTERN char *tr_config_sources_text(const tr_config *cfg, unsigned flags);

#ifdef __cplusplus
}
#endif
#endif /* TROUPE_CONFIG_H */
