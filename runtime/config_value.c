/*
 * runtime/config_value.c -- one configuration value: convert, check, explain.
 *
 * The two ways a value arrives -- a JSON value from the file, or text (an
 * environment variable or a preset's default) -- both end in a
 * tr__cfg_value tagged by the field's type; tr__cfg_check then applies the
 * table's range, length and extra check.  Failures fill `why` with what was
 * wrong ("wrong type (got string)", "out of range (got 200)"), and
 * tr__cfg_expect says what was wanted, so every message has the same shape.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/config_fields.h"

void tr__cfg_expect(const tr__cfg_field *f, char *buf, size_t n)
{
    switch (f->type) {
    case TR__CFG_BOOL:
        snprintf(buf, n, "true or false");
        break;
    case TR__CFG_INT:
        snprintf(buf, n, "an integer in %.0f..%.0f", f->min, f->max);
        break;
    case TR__CFG_DOUBLE:
        snprintf(buf, n, "a number in %g..%g", f->min, f->max);
        break;
    case TR__CFG_DURATION:
        snprintf(buf, n,
                 "a duration in %g..%g seconds (a number of seconds, or a "
                 "string such as \"250ms\", \"2s\", \"1m\")",
                 f->min, f->max);
        break;
    case TR__CFG_ENUM: {
        size_t used = (size_t)snprintf(buf, n, "one of ");
        for (size_t i = 0; f->choices[i] && used < n; i++)
            used += (size_t)snprintf(buf + used, n - used, "%s%s", i ? "|" : "",
                                     f->choices[i]);
        break;
    }
    case TR__CFG_STRING:
        if (f->expect)
            snprintf(buf, n, "%s", f->expect);
        else
            snprintf(buf, n, "a string of %.0f..%.0f characters", f->min,
                     f->max);
        break;
    case TR__CFG_STRLIST:
        snprintf(buf, n,
                 "a list of strings (a JSON array, or comma-separated in the "
                 "environment), each %s",
                 f->expect ? f->expect : "a string");
        break;
    }
}

void tr__cfg_value_free(const tr__cfg_field *f, tr__cfg_value *v)
{
    if (f->type == TR__CFG_STRING) {
        free(v->s);
    } else if (f->type == TR__CFG_STRLIST) {
        for (size_t i = 0; i < v->l.count; i++)
            free(v->l.items[i]);
        free(v->l.items);
    }
    memset(v, 0, sizeof *v);
}

/* Append a copy of s[0..n) to the list.  Returns 0 or TR_ENOMEM. */
static int list_push(tr_config_strlist *l, const char *s, size_t n)
{
    char **items = realloc(l->items, (l->count + 1) * sizeof *items);
    if (!items)
        return TR_ENOMEM;
    l->items = items;
    if (!(items[l->count] = strndup(s, n)))
        return TR_ENOMEM;
    l->count++;
    return 0;
}

/* Whole-string number; false on junk, empty, NaN or infinity. */
static bool parse_double(const char *s, double *out, const char **rest)
{
    char *end;
    errno = 0;
    *out = strtod(s, &end);
    if (end == s || errno == ERANGE || !isfinite(*out))
        return false;
    if (rest)
        *rest = end;
    else if (*end != '\0')
        return false;
    return true;
}

/* Text (environment syntax) -> value.  Returns 0, TR_EINVAL (why says what
 * was wrong) or TR_ENOMEM. */
int tr__cfg_from_text(const tr__cfg_field *f, const char *s, tr__cfg_value *v,
                      char *why, size_t n)
{
    memset(v, 0, sizeof *v);
    snprintf(why, n, "bad value \"%.200s\"", s);
    switch (f->type) {
    case TR__CFG_BOOL: {
        static const char *const yes[] = {"true", "1", "yes", "on", NULL};
        static const char *const no[] = {"false", "0", "no", "off", NULL};
        for (size_t i = 0; yes[i]; i++) {
            if (strcmp(s, yes[i]) == 0)
                return v->b = true, 0;
            if (strcmp(s, no[i]) == 0)
                return v->b = false, 0;
        }
        return TR_EINVAL;
    }
    case TR__CFG_INT: {
        char *end;
        errno = 0;
        long long x = strtoll(s, &end, 10);
        if (end == s || *end != '\0' || errno == ERANGE)
            return TR_EINVAL;
        v->i = (int64_t)x;
        return 0;
    }
    case TR__CFG_DOUBLE:
        return parse_double(s, &v->d, NULL) ? 0 : TR_EINVAL;
    case TR__CFG_DURATION: {
        static const struct {
            const char *unit;
            double scale;
        } units[] = {{"", 1}, {"ms", 0.001}, {"s", 1}, {"m", 60}, {"h", 3600}};
        const char *rest;
        if (!parse_double(s, &v->d, &rest))
            return TR_EINVAL;
        for (size_t i = 0; i < sizeof units / sizeof units[0]; i++)
            if (strcmp(rest, units[i].unit) == 0)
                return v->d *= units[i].scale, 0;
        return TR_EINVAL;
    }
    case TR__CFG_ENUM:
        for (int i = 0; f->choices[i]; i++)
            if (strcmp(s, f->choices[i]) == 0)
                return v->e = i, 0;
        return TR_EINVAL;
    case TR__CFG_STRING:
        return (v->s = strdup(s)) ? 0 : TR_ENOMEM;
    case TR__CFG_STRLIST:
        while (*s) {
            size_t len = strcspn(s, ",");
            const char *a = s, *b = s + len;
            while (a < b && (*a == ' ' || *a == '\t'))
                a++;
            while (b > a && (b[-1] == ' ' || b[-1] == '\t'))
                b--;
            if (list_push(&v->l, a, (size_t)(b - a)) != 0)
                return tr__cfg_value_free(f, v), TR_ENOMEM;
            s += len + (s[len] == ',');
        }
        return 0;
    }
    return TR_EINVAL;
}

const char *tr__cfg_json_type(const json_t *j)
{
    switch (json_typeof(j)) {
    case JSON_OBJECT:
        return "object";
    case JSON_ARRAY:
        return "array";
    case JSON_STRING:
        return "string";
    case JSON_INTEGER:
        return "integer";
    case JSON_REAL:
        return "number";
    case JSON_TRUE:
    case JSON_FALSE:
        return "boolean";
    case JSON_NULL:
        return "null";
    }
    return "?";
}

/* JSON value -> value.  Same contract as from_text. */
int tr__cfg_from_json(const tr__cfg_field *f, json_t *j, tr__cfg_value *v,
                      char *why, size_t n)
{
    memset(v, 0, sizeof *v);
    snprintf(why, n, "wrong type (got %s)", tr__cfg_json_type(j));
    switch (f->type) {
    case TR__CFG_BOOL:
        if (!json_is_boolean(j))
            return TR_EINVAL;
        v->b = json_is_true(j);
        return 0;
    case TR__CFG_INT:
        if (!json_is_integer(j))
            return TR_EINVAL;
        v->i = (int64_t)json_integer_value(j);
        return 0;
    case TR__CFG_DOUBLE:
        if (!json_is_number(j))
            return TR_EINVAL;
        v->d = json_number_value(j);
        return 0;
    case TR__CFG_DURATION:
        if (json_is_number(j)) {
            v->d = json_number_value(j);
            return 0;
        }
        /* else a string with a unit: */
        /* fall through */
    case TR__CFG_ENUM:
    case TR__CFG_STRING:
        if (!json_is_string(j))
            return TR_EINVAL;
        return tr__cfg_from_text(f, json_string_value(j), v, why, n);
    case TR__CFG_STRLIST: {
        if (!json_is_array(j))
            return TR_EINVAL;
        size_t i;
        json_t *item;
        json_array_foreach (j, i, item) {
            if (!json_is_string(item)) {
                tr__cfg_value_free(f, v);
                snprintf(why, n, "wrong type (item %zu is %s)", i,
                         tr__cfg_json_type(item));
                return TR_EINVAL;
            }
            if (list_push(&v->l, json_string_value(item),
                          json_string_length(item)) != 0)
                return tr__cfg_value_free(f, v), TR_ENOMEM;
        }
        return 0;
    }
    }
    return TR_EINVAL;
}

/* Length and extra check of one string (a value or a list item). */
static bool check_string(const tr__cfg_field *f, const char *s, char *why,
                         size_t n, const char *what)
{
    size_t len = strlen(s);
    if ((double)len < f->min || (double)len > f->max) {
        snprintf(why, n, "%s has %zu characters", what, len);
        return false;
    }
    if (f->check && !f->check(s)) {
        snprintf(why, n, "bad value \"%.200s\"", s);
        return false;
    }
    return true;
}

bool tr__cfg_check(const tr__cfg_field *f, const tr__cfg_value *v, char *why,
                   size_t n)
{
    switch (f->type) {
    case TR__CFG_INT:
        if ((double)v->i < f->min || (double)v->i > f->max) {
            snprintf(why, n, "out of range (got %lld)", (long long)v->i);
            return false;
        }
        return true;
    case TR__CFG_DOUBLE:
    case TR__CFG_DURATION:
        if (!isfinite(v->d) || v->d < f->min || v->d > f->max) {
            snprintf(why, n, "out of range (got %g)", v->d);
            return false;
        }
        return true;
    case TR__CFG_STRING:
        return check_string(f, v->s, why, n, "value");
    case TR__CFG_STRLIST:
        for (size_t i = 0; i < v->l.count; i++) {
            char what[32];
            snprintf(what, sizeof what, "item %zu", i);
            if (!check_string(f, v->l.items[i], why, n, what))
                return false;
        }
        return true;
    case TR__CFG_BOOL:
    case TR__CFG_ENUM:
        return true;
    }
    return false;
}
