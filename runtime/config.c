/*
 * runtime/config.c -- tr_config_load: preset, then file, then environment.
 *
 * Every source is reduced to the same two steps, driven by the field table
 * (config_fields.c): convert (JSON value or text -> a tagged value, "wrong
 * type" / "bad value"), then check (range, allowed names, extra check) and
 * store.  Problems are collected, never fatal on the spot, so one run
 * reports everything that is wrong; the config is only handed out when
 * there are none.  JSON is parsed by jansson (duplicate keys rejected).
 */
#include "troupe/config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "runtime/config_fields.h"

extern char **environ;

typedef struct loader {
    tr_config *cfg;
    tr_config_error *err;
    int rc; /* TR_ENOMEM > TR_EIO > TR_EINVAL, first seen of the worst */
} loader;

static void fail(loader *L, int rc)
{
    if (L->rc == 0 || rc == TR_ENOMEM || (rc == TR_EIO && L->rc == TR_EINVAL))
        L->rc = rc;
}

/* Record one problem: "<source>[:line:col]: [<field>: ]<text>". */
__attribute__((format(printf, 7, 8))) static void
problem(loader *L, int rc, const char *field, const char *source, int line,
        int column, const char *fmt, ...)
{
    fail(L, rc);
    if (!L->err)
        return;
    size_t k = L->err->count++;
    if (k >= TR_CONFIG_MAX_PROBLEMS)
        return;
    tr_config_problem *p = &L->err->problems[k];
    snprintf(p->field, sizeof p->field, "%s", field ? field : "");
    snprintf(p->source, sizeof p->source, "%s", source);
    p->line = line;
    p->column = column;
    /* The message: "<source>[:line:col]: [<field>: ]<text>", truncated. */
    char *m = p->message;
    size_t size = sizeof p->message;
    int used = line > 0 ? snprintf(m, size, "%s:%d:%d: ", source, line, column)
                        : snprintf(m, size, "%s: ", source);
    if (field && used >= 0 && (size_t)used < size)
        used += snprintf(m + used, size - (size_t)used, "%s: ", field);
    if (used >= 0 && (size_t)used < size) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(m + used, size - (size_t)used, fmt, ap);
        va_end(ap);
    }
}

/* Store v (taking ownership) into the field and record its origin. */
static void store(tr_config *cfg, const tr__cfg_field *f, tr__cfg_value *v,
                  tr_config_from from, const char *name)
{
    void *p = tr__cfg_ptr(cfg, f);
    switch (f->type) {
    case TR__CFG_BOOL:
        *(bool *)p = v->b;
        break;
    case TR__CFG_INT:
        *(int64_t *)p = v->i;
        break;
    case TR__CFG_DOUBLE:
    case TR__CFG_DURATION:
        *(double *)p = v->d;
        break;
    case TR__CFG_ENUM:
        *(int *)p = v->e;
        break;
    case TR__CFG_STRING:
        free(*(char **)p);
        *(char **)p = v->s;
        break;
    case TR__CFG_STRLIST: {
        tr__cfg_value old = {.l = *(tr_config_strlist *)p};
        tr__cfg_value_free(f, &old);
        *(tr_config_strlist *)p = v->l;
        break;
    }
    }
    memset(v, 0, sizeof *v);
    cfg->origin[f - tr__cfg_fields] = (tr_config_origin){from, name};
}

/* Convert (JSON when j, else text), check, store; a problem otherwise. */
static void apply(loader *L, const tr__cfg_field *f, json_t *j,
                  const char *text, tr_config_from from, const char *name)
{
    tr__cfg_value v;
    char why[300], exp[300];
    int rc = j ? tr__cfg_from_json(f, j, &v, why, sizeof why)
               : tr__cfg_from_text(f, text, &v, why, sizeof why);
    if (rc == TR_ENOMEM) {
        problem(L, rc, f->path, name, 0, 0, "out of memory");
        return;
    }
    if (rc == 0 && tr__cfg_check(f, &v, why, sizeof why)) {
        store(L->cfg, f, &v, from, name);
        return;
    }
    tr__cfg_value_free(f, &v);
    tr__cfg_expect(f, exp, sizeof exp);
    problem(L, TR_EINVAL, f->path, name, 0, 0, "%s; expected %s", why, exp);
}

/* Names of the fields and sections directly under `prefix` ("" = top). */
static void section_keys(const char *prefix, char *buf, size_t n)
{
    size_t plen = strlen(prefix), used = 0;
    const char *last = "";
    size_t last_len = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < TR_CONFIG_NFIELDS && used < n; i++) {
        const char *p = tr__cfg_fields[i].path;
        if (plen && (strncmp(p, prefix, plen) != 0 || p[plen] != '.'))
            continue;
        const char *key = plen ? p + plen + 1 : p;
        size_t klen = strcspn(key, ".");
        if (klen == last_len && strncmp(key, last, klen) == 0)
            continue;
        used += (size_t)snprintf(buf + used, n - used, "%s%.*s",
                                 used ? ", " : "", (int)klen, key);
        last = key;
        last_len = klen;
    }
}

static bool is_section(const char *path)
{
    size_t n = strlen(path);
    for (size_t i = 0; i < TR_CONFIG_NFIELDS; i++)
        if (strncmp(tr__cfg_fields[i].path, path, n) == 0 &&
            tr__cfg_fields[i].path[n] == '.')
            return true;
    return false;
}

static void walk(loader *L, json_t *obj, const char *prefix, const char *file)
{
    const char *key;
    json_t *j;
    json_object_foreach (obj, key, j) {
        char path[128], keys[400];
        snprintf(path, sizeof path, "%s%s%s", prefix, *prefix ? "." : "", key);
        /* A dotted key ("server.listen") is not a path: sections nest. */
        bool dotted = strchr(key, '.') != NULL;
        const tr__cfg_field *f = dotted ? NULL : tr__cfg_find(path);
        if (f) {
            apply(L, f, j, NULL, TR_CONFIG_FROM_FILE, file);
        } else if (!dotted && is_section(path) && json_is_object(j)) {
            walk(L, j, path, file);
        } else if (!dotted && is_section(path)) {
            problem(L, TR_EINVAL, path, file, 0, 0,
                    "wrong type (got %s); expected an object",
                    tr__cfg_json_type(j));
        } else {
            section_keys(prefix, keys, sizeof keys);
            problem(L, TR_EINVAL, path, file, 0, 0,
                    "unknown field%s; expected one of %s",
                    dotted ? " (sections nest as objects, keys have no '.')"
                           : "",
                    keys);
        }
    }
}

static void load_file(loader *L, const char *file)
{
    json_error_t je;
    json_t *root = json_load_file(file, JSON_REJECT_DUPLICATES, &je);
    if (!root) {
        enum json_error_code code = json_error_code(&je);
        if (code == json_error_out_of_memory) {
            problem(L, TR_ENOMEM, NULL, file, 0, 0, "out of memory");
        } else if (code == json_error_cannot_open_file) {
            problem(L, TR_EIO, NULL, file, 0, 0, "cannot read file: %s",
                    je.text);
        } else {
            problem(L, TR_EINVAL, NULL, file, je.line, je.column,
                    "malformed JSON: %s", je.text);
        }
        return;
    }
    if (!json_is_object(root))
        problem(L, TR_EINVAL, NULL, file, 0, 0,
                "wrong type (got %s); expected a JSON object",
                tr__cfg_json_type(root));
    else
        walk(L, root, "", file);
    json_decref(root);
}

/* NAME's value in envp, or NULL. */
static const char *env_get(char *const *envp, const char *name)
{
    size_t n = strlen(name);
    for (; *envp; envp++)
        if (strncmp(*envp, name, n) == 0 && (*envp)[n] == '=')
            return *envp + n + 1;
    return NULL;
}

static double number_of(const tr_config *cfg, const tr__cfg_field *f)
{
    const void *p = tr__cfg_ptr(cfg, f);
    return f->type == TR__CFG_INT ? (double)*(const int64_t *)p
                                  : *(const double *)p;
}

static void cross_checks(loader *L)
{
    for (size_t i = 0; i < tr__cfg_n_le_rules; i++) {
        const tr__cfg_field *lo = tr__cfg_find(tr__cfg_le_rules[i].lo);
        const tr__cfg_field *hi = tr__cfg_find(tr__cfg_le_rules[i].hi);
        double a = number_of(L->cfg, lo), b = number_of(L->cfg, hi);
        if (a <= b)
            continue;
        const tr_config_origin *o = &L->cfg->origin[lo - tr__cfg_fields];
        const tr_config_origin *ho = &L->cfg->origin[hi - tr__cfg_fields];
        static const char *const from[] = {"default", "preset ", "file ",
                                           "env "};
        problem(L, TR_EINVAL, lo->path, o->name, 0, 0,
                "%g is greater than %s (%g, from %s%s); expected at most %s", a,
                hi->path, b, from[ho->from],
                ho->from == TR_CONFIG_FROM_DEFAULT ? "" : ho->name, hi->path);
    }
}

int tr_config_load(tr_config *out, const char *preset, const char *file,
                   char *const *envp, tr_config_error *err)
{
    loader L = {out, err, 0};
    if (err)
        memset(err, 0, sizeof *err);
    memset(out, 0, sizeof *out);
    if (!envp)
        envp = environ;

    const char *psrc = "preset";
    if (!preset && (preset = env_get(envp, "TROUPE_ENV")) != NULL)
        psrc = "TROUPE_ENV";
    int pi = 0;
    tr_config_from pfrom =
        preset ? TR_CONFIG_FROM_PRESET : TR_CONFIG_FROM_DEFAULT;
    if (preset) {
        for (pi = 0; pi < 2 && strcmp(preset, tr__cfg_presets[pi]) != 0; pi++)
            ;
        if (pi == 2) {
            problem(
                &L, TR_EINVAL, NULL, psrc, 0, 0,
                "unknown preset \"%.100s\"; expected development or production",
                preset);
            return L.rc;
        }
    }
    out->preset = tr__cfg_presets[pi];

    for (size_t i = 0; i < TR_CONFIG_NFIELDS; i++)
        apply(&L, &tr__cfg_fields[i], NULL, tr__cfg_fields[i].def[pi], pfrom,
              pfrom == TR_CONFIG_FROM_PRESET ? out->preset : "default");
    if (file && L.rc == 0) {
        if (!(out->file = strdup(file)))
            problem(&L, TR_ENOMEM, NULL, file, 0, 0, "out of memory");
        else
            load_file(&L, out->file);
    }
    for (size_t i = 0; i < TR_CONFIG_NFIELDS; i++) {
        const tr__cfg_field *f = &tr__cfg_fields[i];
        const char *text = env_get(envp, f->env);
        if (text)
            apply(&L, f, NULL, text, TR_CONFIG_FROM_ENV, f->env);
    }
    if (L.rc == 0)
        cross_checks(&L);
    if (L.rc != 0)
        tr_config_fini(out);
    return L.rc;
}

void tr_config_fini(tr_config *cfg)
{
    if (!cfg)
        return;
    for (size_t i = 0; i < TR_CONFIG_NFIELDS; i++) {
        const tr__cfg_field *f = &tr__cfg_fields[i];
        tr__cfg_value v = {0};
        if (f->type == TR__CFG_STRING)
            v.s = *(char **)tr__cfg_ptr(cfg, f);
        else if (f->type == TR__CFG_STRLIST)
            v.l = *(tr_config_strlist *)tr__cfg_ptr(cfg, f);
        tr__cfg_value_free(f, &v);
    }
    free(cfg->file);
    memset(cfg, 0, sizeof *cfg);
}
