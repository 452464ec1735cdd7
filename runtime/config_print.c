/*
 * runtime/config_print.c -- the effective configuration, printed.
 *
 * tr_config_to_json rebuilds the file format from the table (so its output
 * loads back unchanged); tr_config_sources_text prints one aligned line per
 * field with the value as JSON and its origin.  Both go through field_json,
 * the one place that turns a stored field into a JSON value and redacts
 * secrets.  Also the small read-only accessors over the table.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/config_fields.h"

#define REDACTED "<redacted>"
#define REAL_FMT JSON_REAL_PRECISION(15)

/* "redis://user:secret@host" -> "redis://user:<redacted>@host" */
static json_t *url_redacted(const char *url)
{
    const char *auth = strstr(url, "://");
    const char *at = auth ? strrchr(auth, '@') : NULL;
    const char *colon =
        at ? memchr(auth + 3, ':', (size_t)(at - auth - 3)) : NULL;
    if (!colon)
        return json_string(url);
    size_t n = strlen(url) + sizeof REDACTED;
    char *s = malloc(n);
    if (!s)
        return NULL;
    snprintf(s, n, "%.*s%s%s", (int)(colon + 1 - url), url, REDACTED, at);
    json_t *j = json_string(s);
    free(s);
    return j;
}

/* A new reference to the field's value as JSON, or NULL when out of memory. */
static json_t *field_json(const tr_config *cfg, const tr__cfg_field *f,
                          unsigned flags)
{
    const void *p = tr__cfg_ptr(cfg, f);
    bool reveal = (flags & TR_CONFIG_SHOW_SECRETS) != 0;
    switch (f->type) {
    case TR__CFG_BOOL:
        return json_boolean(*(const bool *)p);
    case TR__CFG_INT:
        return json_integer((json_int_t) * (const int64_t *)p);
    case TR__CFG_DOUBLE:
    case TR__CFG_DURATION:
        return json_real(*(const double *)p);
    case TR__CFG_ENUM:
        return json_string(f->choices[*(const int *)p]);
    case TR__CFG_STRING: {
        const char *s = *(char *const *)p;
        if (!s)
            return json_null();
        if (!reveal && (f->flags & TR__CFG_SECRET) && *s)
            return json_string(REDACTED);
        if (!reveal && (f->flags & TR__CFG_URL_SECRET))
            return url_redacted(s);
        return json_string(s);
    }
    case TR__CFG_STRLIST: {
        const tr_config_strlist *l = p;
        json_t *a = json_array();
        for (size_t i = 0; a && i < l->count; i++)
            if (json_array_append_new(a, json_string(l->items[i])) != 0) {
                json_decref(a);
                a = NULL;
            }
        return a;
    }
    }
    return NULL;
}

char *tr_config_to_json(const tr_config *cfg, unsigned flags)
{
    json_t *root = json_object();
    for (size_t i = 0; root && i < TR_CONFIG_NFIELDS; i++) {
        const tr__cfg_field *f = &tr__cfg_fields[i];
        json_t *obj = root;
        const char *key = f->path, *dot;
        while (obj && (dot = strchr(key, '.')) != NULL) {
            char sec[64];
            snprintf(sec, sizeof sec, "%.*s", (int)(dot - key), key);
            json_t *next = json_object_get(obj, sec);
            if (!next &&
                json_object_set_new(obj, sec, next = json_object()) != 0)
                next = NULL;
            obj = next;
            key = dot + 1;
        }
        json_t *v = obj ? field_json(cfg, f, flags) : NULL;
        if (!v || json_object_set_new(obj, key, v) != 0) {
            json_decref(root);
            root = NULL;
        }
    }
    if (!root)
        return NULL;
    char *text =
        json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER | REAL_FMT);
    json_decref(root);
    return text;
}

/* "default", "preset <name>", "file <path>", "env <VAR>": a word, a name. */
static const char *origin_word(const tr_config_origin *o, const char **name)
{
    static const char *const words[] = {"default", "preset ", "file ", "env "};
    *name = o->from == TR_CONFIG_FROM_DEFAULT || !o->name ? "" : o->name;
    return words[o->from];
}

char *tr_config_sources_text(const tr_config *cfg, unsigned flags)
{
    char *vals[TR_CONFIG_NFIELDS] = {0};
    size_t wpath = 0, total = 1;
    const size_t wval = 28; /* fixed, so lines compare across configs */
    const char *name;
    char *out = NULL;
    for (size_t i = 0; i < TR_CONFIG_NFIELDS; i++) {
        json_t *v = field_json(cfg, &tr__cfg_fields[i], flags);
        vals[i] =
            v ? json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT | REAL_FMT) : NULL;
        json_decref(v);
        if (!vals[i])
            goto done;
        size_t lp = strlen(tr__cfg_fields[i].path);
        wpath = lp > wpath ? lp : wpath;
    }
    for (size_t i = 0; i < TR_CONFIG_NFIELDS; i++) {
        origin_word(&cfg->origin[i], &name);
        total += wpath + wval + strlen(vals[i]) + strlen(name) + 32;
    }
    if (!(out = malloc(total)))
        goto done;
    size_t used = 0;
    for (size_t i = 0; i < TR_CONFIG_NFIELDS; i++) {
        const char *word = origin_word(&cfg->origin[i], &name);
        used += (size_t)snprintf(
            out + used, total - used, "%-*s = %-*s  (%s%s)\n", (int)wpath,
            tr__cfg_fields[i].path, (int)wval, vals[i], word, name);
    }
done:
    for (size_t i = 0; i < TR_CONFIG_NFIELDS; i++)
        free(vals[i]);
    return out;
}

int tr_config_origin_of(const tr_config *cfg, const char *path,
                        tr_config_origin *out)
{
    const tr__cfg_field *f = tr__cfg_find(path);
    if (!f)
        return TR_ENOENT;
    *out = cfg->origin[f - tr__cfg_fields];
    return 0;
}

const char *tr_config_field_path(size_t i)
{
    return i < TR_CONFIG_NFIELDS ? tr__cfg_fields[i].path : NULL;
}

const char *tr_config_field_env(size_t i)
{
    return i < TR_CONFIG_NFIELDS ? tr__cfg_fields[i].env : NULL;
}
