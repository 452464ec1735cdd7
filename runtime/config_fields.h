/*
 * runtime/config_fields.h -- the configuration's field table (internal).
 *
 * One row per leaf of tr_config: its dotted path, environment variable, type,
 * offset, range or allowed values, an optional extra check, and its default
 * per preset written as text in the environment-variable syntax, so defaults
 * go through the same parser and checks as every other source.  config.c
 * (loading), config_print.c (printing) and the tests walk this table; no
 * code anywhere names a particular field except the cross-field rules.
 */
#ifndef TROUPE_RUNTIME_CONFIG_FIELDS_H
#define TROUPE_RUNTIME_CONFIG_FIELDS_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "troupe/config.h"

typedef enum tr__cfg_type {
    TR__CFG_BOOL,     /* bool */
    TR__CFG_INT,      /* int64_t in [min, max] */
    TR__CFG_DOUBLE,   /* double in [min, max] */
    TR__CFG_DURATION, /* double seconds in [min, max]: 2.5, "250ms", "1h" */
    TR__CFG_STRING,   /* char *, length in [min, max], then check() */
    TR__CFG_ENUM,     /* an enum (int-sized): index into choices */
    TR__CFG_STRLIST   /* tr_config_strlist; items: length [min, max], check() */
} tr__cfg_type;

#define TR__CFG_SECRET 1u     /* redact the whole value when printing */
#define TR__CFG_URL_SECRET 2u /* redact the password of a URL when printing */

/* An extra check on a string; `expect` (below) says what it wants. */
typedef bool (*tr__cfg_check_fn)(const char *s);

typedef struct tr__cfg_field {
    const char *path; /* "resilience.retry_max_attempts" */
    const char *env;  /* "TROUPE_RESILIENCE_RETRY_MAX_ATTEMPTS" */
    tr__cfg_type type;
    size_t offset;               /* into tr_config */
    double min, max;             /* range (numbers) or length (strings) */
    const char *const *choices;  /* TR__CFG_ENUM: NULL-terminated names */
    tr__cfg_check_fn check;      /* strings and list items, or NULL */
    const char *expect;          /* what check() wants, for messages */
    unsigned flags;              /* TR__CFG_SECRET, TR__CFG_URL_SECRET */
    const char *def[2];          /* default text: [0] development, [1] prod. */
} tr__cfg_field;

/* TR_CONFIG_NFIELDS rows (checked where the table is defined). */
extern const tr__cfg_field tr__cfg_fields[];
extern const char *const tr__cfg_presets[2]; /* "development", "production" */

/* The row for a dotted path, or NULL. */
const tr__cfg_field *tr__cfg_find(const char *path);

/* A pair of fields where lo must be <= hi (both numeric). */
typedef struct tr__cfg_le_rule {
    const char *lo, *hi;
} tr__cfg_le_rule;
extern const tr__cfg_le_rule tr__cfg_le_rules[];
extern const size_t tr__cfg_n_le_rules;

/* Pointer to the field's storage inside cfg. */
static inline void *tr__cfg_ptr(const tr_config *cfg, const tr__cfg_field *f)
{
    return (char *)cfg + f->offset;
}

/* One converted value (config_value.c), tagged by its field's type.  Strings
 * and lists are owned: hand them to the config or tr__cfg_value_free them. */
typedef union tr__cfg_value {
    bool b;
    int64_t i;
    double d;
    int e;
    char *s;
    tr_config_strlist l;
} tr__cfg_value;

/* Text (environment syntax) or JSON -> *v.  Return 0, TR_EINVAL (with `why`:
 * what was wrong) or TR_ENOMEM; on failure *v holds nothing. */
int tr__cfg_from_text(const tr__cfg_field *f, const char *s, tr__cfg_value *v,
                      char *why, size_t n);
int tr__cfg_from_json(const tr__cfg_field *f, json_t *j, tr__cfg_value *v,
                      char *why, size_t n);
/* Range, length, check(); false with `why` filled. */
bool tr__cfg_check(const tr__cfg_field *f, const tr__cfg_value *v, char *why,
                   size_t n);
/* What the field wants ("an integer in 0..1024"), for messages. */
void tr__cfg_expect(const tr__cfg_field *f, char *buf, size_t n);
void tr__cfg_value_free(const tr__cfg_field *f, tr__cfg_value *v);
/* "string", "integer", ... for "wrong type (got ...)". */
const char *tr__cfg_json_type(const json_t *j);

#endif /* TROUPE_RUNTIME_CONFIG_FIELDS_H */
