/*
 * codecs/wf_problems.c -- the tr_wf_problems list and its line format.
 *
 * One allocation per problem (the struct followed by its strings), so a
 * problem is either fully recorded or not at all; when memory runs out the
 * report still counts the problem (the parse then fails with TR_ENOMEM or
 * TR_EINVAL, never with success).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codecs/wf_internal.h"

struct tr_wf_problems {
    tr_wf_problem **items;
    size_t n, cap;
};

int tr_wf_problems_new(tr_wf_problems **out)
{
    if (out == NULL)
        return TR_EINVAL;
    *out = calloc(1, sizeof **out);
    return *out ? 0 : TR_ENOMEM;
}

void tr_wf_problems_clear(tr_wf_problems *p)
{
    if (p == NULL)
        return;
    for (size_t i = 0; i < p->n; i++)
        free(p->items[i]);
    p->n = 0;
}

void tr_wf_problems_free(tr_wf_problems *p)
{
    if (p == NULL)
        return;
    tr_wf_problems_clear(p);
    free(p->items);
    free(p);
}

size_t tr_wf_problems_count(const tr_wf_problems *p) { return p ? p->n : 0; }

const tr_wf_problem *tr_wf_problems_at(const tr_wf_problems *p, size_t i)
{
    return p != NULL && i < p->n ? p->items[i] : NULL;
}

int tr_wf_problem_format(const tr_wf_problem *p, char *buf, size_t cap)
{
    char pos[32] = "";
    if (p->line > 0 && p->column > 0)
        snprintf(pos, sizeof pos, ":%u:%u", (unsigned)p->line, (unsigned)p->column);
    else if (p->line > 0)
        snprintf(pos, sizeof pos, ":%u", (unsigned)p->line);
    return snprintf(buf, cap, "%s%s: %s%s%s%s%s%s", p->file ? p->file : "<input>", pos,
                    p->node_id ? "node '" : "", p->node_id ? p->node_id : "",
                    p->node_id ? "': " : "", p->field ? p->field : "", p->field ? ": " : "",
                    p->message);
}

static char *put(char **cursor, const char *s)
{
    if (s == NULL)
        return NULL;
    char *d = *cursor;
    size_t n = strlen(s) + 1;
    memcpy(d, s, n);
    *cursor += n;
    return d;
}

void tr__wf_problem(tr__wf_report *r, const char *node, const char *field, uint32_t line,
                    uint32_t col, const char *fmt, ...)
{
    r->count++;
    if (r->probs == NULL)
        return;
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    const char *file = r->file ? r->file : "<input>";
    size_t size = sizeof(tr_wf_problem) + strlen(file) + 1 + strlen(msg) + 1 +
                  (node ? strlen(node) + 1 : 0) + (field ? strlen(field) + 1 : 0);
    tr_wf_problems *l = r->probs;
    if (l->n == l->cap) {
        size_t ncap = l->cap ? l->cap * 2 : 8;
        tr_wf_problem **items = realloc(l->items, ncap * sizeof *items);
        if (items == NULL) {
            r->nomem = true;
            return;
        }
        l->items = items;
        l->cap = ncap;
    }
    tr_wf_problem *p = malloc(size);
    if (p == NULL) {
        r->nomem = true;
        return;
    }
    char *cur = (char *)(p + 1);
    p->file = put(&cur, file);
    p->message = put(&cur, msg);
    p->node_id = put(&cur, node);
    p->field = put(&cur, field);
    p->line = line;
    p->column = col;
    l->items[l->n++] = p;
}

