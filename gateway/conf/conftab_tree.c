/*
 * conftab_tree.c - a YAML file as a tree of positioned nodes, and the
 * diagnostics collected while reading it (see conftab.h).
 *
 * The parser turns libyaml events into a tree; it is the only code of the
 * part that sees libyaml.  Whatever the event, an anchor, an alias or a tag
 * is reported and the node is marked refused so that the walker
 * (conftab.c) skips it silently.  Syntax errors, nesting and count limits
 * end the parse of that file (the rest would only produce noise).
 *
 * This is the bottom of the part: it calls nothing else of conf/.
 * Memory: every allocation is checked; on ENOMEM the diagnostics are
 * marked and the caller fails the load with ICX_ENOMEM.  Not thread-safe:
 * one loader owns a tree and its diagnostics.
 */
#include "conftab.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yaml.h>

#include "conf_int.h"
#include "util.h"

/* ---- diagnostics ------------------------------------------------------ */

static void vadd(icx_conftab_file *f, const icx_conftab_node *at,
                 const char *key, const char *fmt, va_list ap)
{
    icx_conftab_diag *d = f->diag;
    char msg[ICX_CONFTAB_MSG_MAX];
    char line[ICX_CONFTAB_MSG_MAX + 512];
    vsnprintf(msg, sizeof msg, fmt, ap);
    if (at == NULL)
        snprintf(line, sizeof line, "%s: %s", f->display, msg);
    else if (key == NULL)
        snprintf(line, sizeof line, "%s:%u:%u: %s", f->display, at->line,
                 at->col, msg);
    else
        snprintf(line, sizeof line, "%s:%u:%u: %s: %s", f->display, at->line,
                 at->col, key, msg);
    /* One diagnostic, one line: values may hold newlines or tabs. */
    for (char *p = line; *p != '\0'; p++)
        if ((unsigned char)*p < 0x20 || *p == 0x7f)
            *p = '?';
    if (d->n == d->cap) {
        size_t cap = d->cap ? d->cap * 2 : 16;
        icx_conftab_msg *v = realloc(d->v, cap * sizeof *v);
        if (v == NULL) {
            d->oom = 1;
            return;
        }
        d->v = v;
        d->cap = cap;
    }
    char *text = strdup(line);
    if (text == NULL) {
        d->oom = 1;
        return;
    }
    icx_conftab_msg *m = &d->v[d->n];
    m->file = f->index;
    m->line = at ? at->line : 0;
    m->col = at ? at->col : 0;
    m->seq = d->n;
    m->text = text;
    d->n++;
}

void icx_conftab_error(icx_conftab_file *f, const icx_conftab_node *at,
                       const char *key, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vadd(f, at, key, fmt, ap);
    va_end(ap);
}

void icx_conftab_diag_free(icx_conftab_diag *d)
{
    for (size_t i = 0; i < d->n; i++)
        free(d->v[i].text);
    free(d->v);
    d->v = NULL;
    d->n = d->cap = 0;
    d->oom = 0;
}

static int msg_cmp(const void *a, const void *b)
{
    const icx_conftab_msg *x = a, *y = b;
    if (x->file != y->file)
        return x->file < y->file ? -1 : 1;
    if (x->line != y->line)
        return x->line < y->line ? -1 : 1;
    if (x->col != y->col)
        return x->col < y->col ? -1 : 1;
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

size_t icx_conftab_diag_emit(icx_conftab_diag *d, icx_buf *errs,
                             icx_err *err)
{
    if (d->n == 0)
        return 0;
    qsort(d->v, d->n, sizeof d->v[0], msg_cmp);
    for (size_t i = 0; errs != NULL && i < d->n; i++)
        if (icx_buf_printf(errs, "%s\n", d->v[i].text) < 0)
            break; /* full: the count and the first line still tell */
    icx_err_set(err, ICX_ECONFIG, "%s", d->v[0].text);
    return d->n;
}

/* ---- nodes ------------------------------------------------------------ */

const char *icx_conftab_got(const icx_conftab_node *n, char *buf,
                            size_t buflen)
{
    switch (n->kind) {
    case ICX_CN_SEQ: return "a sequence";
    case ICX_CN_MAP: return "a mapping";
    default:
        if (strlen(n->text) > 40)
            snprintf(buf, buflen, "\"%.40s...\"", n->text);
        else
            snprintf(buf, buflen, "\"%s\"", n->text);
        return buf;
    }
}

void icx_conftab_node_free(icx_conftab_node **np)
{
    icx_conftab_node *n = *np;
    if (n == NULL)
        return;
    for (size_t i = 0; i < n->nkids; i++)
        icx_conftab_node_free(&n->kids[i]);
    free(n->kids);
    free(n->text);
    free(n);
    *np = NULL;
}

static int node_add(icx_conftab_node *parent, icx_conftab_node *kid)
{
    if (parent->nkids == parent->cap) {
        size_t cap = parent->cap ? parent->cap * 2 : 8;
        icx_conftab_node **k = realloc(parent->kids, cap * sizeof *k);
        if (k == NULL)
            return ICX_ENOMEM;
        parent->kids = k;
        parent->cap = cap;
    }
    parent->kids[parent->nkids++] = kid;
    return ICX_OK;
}

const icx_conftab_node *icx_conftab_find(const icx_conftab_node *map,
                                         const char *dotted)
{
    const char *dot = strchr(dotted, '.');
    size_t len = dot ? (size_t)(dot - dotted) : strlen(dotted);
    if (map == NULL || map->kind != ICX_CN_MAP)
        return NULL;
    for (size_t i = 0; i + 1 < map->nkids; i += 2) {
        const icx_conftab_node *k = map->kids[i];
        if (k->kind == ICX_CN_SCALAR && !k->refused &&
            strlen(k->text) == len &&
            strncmp(k->text, dotted, len) == 0)
            return dot ? icx_conftab_find(map->kids[i + 1], dot + 1)
                       : map->kids[i + 1];
    }
    return NULL;
}

/* ---- parser ----------------------------------------------------------- */

struct builder {
    icx_conftab_file *f;
    icx_conftab_node *stack[ICX_CONFTAB_MAX_DEPTH];
    int depth;
    icx_conftab_node *root;
    int docs;
};

/* Dotted name of the node about to be added below the top of the stack;
 * keytext names it when it is itself a mapping key. */
static void next_path(const struct builder *b, int upto, const char *keytext,
                      char *out, size_t outlen)
{
    size_t len = 0;
    out[0] = '\0';
    for (int i = 0; i < upto && len < outlen; i++) {
        const icx_conftab_node *c = b->stack[i];
        int top = i == b->depth - 1;
        size_t k = top ? c->nkids : c->nkids - 1;
        int n;
        if (c->kind == ICX_CN_SEQ) {
            n = snprintf(out + len, outlen - len, "[%zu]", k);
        } else {
            const char *name = "?";
            if (k % 2 == 1 && c->kids[k - 1]->kind == ICX_CN_SCALAR)
                name = c->kids[k - 1]->text;
            else if (k % 2 == 0 && top && keytext != NULL)
                name = keytext;
            n = snprintf(out + len, outlen - len, "%s%s", len ? "." : "",
                         name);
        }
        if (n < 0)
            break;
        len += (size_t)n;
    }
    if (out[0] == '\0')
        snprintf(out, outlen, "(root)");
}

/* Reports anchors and tags on a node event; returns 1 when refused. */
static int refuse_props(struct builder *b, const icx_conftab_node *at,
                        const yaml_char_t *anchor, const yaml_char_t *tag,
                        const char *keytext)
{
    char path[ICX_CONFTAB_NAME_MAX];
    if (anchor == NULL && tag == NULL)
        return 0;
    next_path(b, b->depth, keytext, path, sizeof path);
    if (anchor != NULL)
        icx_conftab_error(b->f, at, path, "anchor \"&%s\" not allowed",
                          (const char *)anchor);
    if (tag != NULL)
        icx_conftab_error(b->f, at, path, "tag \"%s\" not allowed",
                          (const char *)tag);
    return 1;
}

/* Adds n below the top of the stack (or as root).  Returns 1 when a count
 * limit stops the parse, ICX_ENOMEM, or 0. */
static int attach(struct builder *b, icx_conftab_node *n)
{
    if (b->depth == 0) {
        b->root = n;
        return 0;
    }
    icx_conftab_node *p = b->stack[b->depth - 1];
    char path[ICX_CONFTAB_NAME_MAX];
    if (p->kind == ICX_CN_SEQ && p->nkids >= ICX_CONFIG_MAX_LIST) {
        next_path(b, b->depth - 1, NULL, path, sizeof path);
        icx_conftab_error(b->f, n, path, "more than %d entries",
                          ICX_CONFIG_MAX_LIST);
        return 1;
    }
    if (p->kind == ICX_CN_MAP && p->nkids >= 2 * ICX_CONFTAB_MAX_KEYS) {
        next_path(b, b->depth - 1, NULL, path, sizeof path);
        icx_conftab_error(b->f, n, path, "more than %d keys",
                          ICX_CONFTAB_MAX_KEYS);
        return 1;
    }
    return node_add(p, n) < 0 ? ICX_ENOMEM : 0;
}

/* Handles one event.  Returns 0 to go on, 1 to stop (reported), or
 * ICX_ENOMEM. */
static int on_event(struct builder *b, const yaml_event_t *ev)
{
    icx_conftab_node *n = NULL;
    int rc = 0;
    char path[ICX_CONFTAB_NAME_MAX];

    switch (ev->type) {
    case YAML_DOCUMENT_START_EVENT:
        if (++b->docs > 1) {
            icx_conftab_node at = {.line = (unsigned)ev->start_mark.line + 1,
                                   .col = (unsigned)ev->start_mark.column + 1};
            icx_conftab_error(b->f, &at, NULL,
                              "more than one YAML document in the file");
            return 1;
        }
        return 0;
    case YAML_SEQUENCE_END_EVENT:
    case YAML_MAPPING_END_EVENT:
        b->depth--;
        return 0;
    case YAML_ALIAS_EVENT:
    case YAML_SCALAR_EVENT:
    case YAML_SEQUENCE_START_EVENT:
    case YAML_MAPPING_START_EVENT:
        break;
    default:
        return 0;
    }

    n = calloc(1, sizeof *n);
    if (n == NULL)
        return ICX_ENOMEM;
    n->line = (unsigned)ev->start_mark.line + 1;
    n->col = (unsigned)ev->start_mark.column + 1;

    switch (ev->type) {
    case YAML_ALIAS_EVENT:
        n->kind = ICX_CN_SCALAR;
        n->refused = 1;
        n->text = strdup("");
        if (n->text == NULL) {
            rc = ICX_ENOMEM;
            goto out;
        }
        next_path(b, b->depth, (const char *)ev->data.alias.anchor, path,
                  sizeof path);
        icx_conftab_error(b->f, n, path, "alias \"*%s\" not allowed",
                          (const char *)ev->data.alias.anchor);
        break;
    case YAML_SCALAR_EVENT:
        n->kind = ICX_CN_SCALAR;
        n->plain = ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
        n->text = strndup((const char *)ev->data.scalar.value,
                          ev->data.scalar.length);
        if (n->text == NULL) {
            rc = ICX_ENOMEM;
            goto out;
        }
        if (refuse_props(b, n, ev->data.scalar.anchor, ev->data.scalar.tag,
                         n->text))
            n->refused = 1;
        else if (strlen(n->text) != ev->data.scalar.length) {
            next_path(b, b->depth, n->text, path, sizeof path);
            icx_conftab_error(b->f, n, path, "value holds a NUL byte");
            n->refused = 1;
        }
        break;
    case YAML_SEQUENCE_START_EVENT:
        n->kind = ICX_CN_SEQ;
        if (refuse_props(b, n, ev->data.sequence_start.anchor,
                         ev->data.sequence_start.tag, NULL))
            n->refused = 1;
        break;
    default:
        n->kind = ICX_CN_MAP;
        if (refuse_props(b, n, ev->data.mapping_start.anchor,
                         ev->data.mapping_start.tag, NULL))
            n->refused = 1;
        break;
    }

    if (ev->type == YAML_SEQUENCE_START_EVENT ||
        ev->type == YAML_MAPPING_START_EVENT) {
        if (b->depth == ICX_CONFTAB_MAX_DEPTH) {
            next_path(b, b->depth, NULL, path, sizeof path);
            icx_conftab_error(b->f, n, path, "nesting deeper than %d levels",
                              ICX_CONFTAB_MAX_DEPTH);
            rc = 1;
            goto out;
        }
    }
    rc = attach(b, n);
    if (rc != 0)
        goto out;
    if (ev->type == YAML_SEQUENCE_START_EVENT ||
        ev->type == YAML_MAPPING_START_EVENT)
        b->stack[b->depth++] = n;
    n = NULL;
out:
    icx_conftab_node_free(&n);
    return rc;
}

int icx_conftab_parse(icx_conftab_node **out, const char *path, size_t max,
                      icx_conftab_file *f)
{
    int rc = ICX_OK;
    char *data = NULL;
    size_t len = 0;
    yaml_parser_t parser;
    int parser_ready = 0;
    struct builder b = {.f = f};
    icx_err e;
    char got[64];

    *out = NULL;
    icx_err_clear(&e);
    rc = icx_file_read(&data, &len, path, max, &e);
    if (rc < 0) {
        const char *why = e.msg;
        size_t plen = strlen(path);
        if (strncmp(why, path, plen) == 0 && strncmp(why + plen, ": ", 2) == 0)
            why += plen + 2;
        if (rc == ICX_ENOMEM)
            goto out;
        icx_conftab_error(f, NULL, NULL, "cannot read: %s", why);
        rc = ICX_OK;
        goto out;
    }
    if (!yaml_parser_initialize(&parser)) {
        rc = ICX_ENOMEM;
        goto out;
    }
    parser_ready = 1;
    yaml_parser_set_input_string(&parser, (const unsigned char *)data, len);
    for (;;) {
        yaml_event_t ev;
        if (!yaml_parser_parse(&parser, &ev)) {
            icx_conftab_node at = {
                .line = (unsigned)parser.problem_mark.line + 1,
                .col = (unsigned)parser.problem_mark.column + 1};
            if (parser.error == YAML_MEMORY_ERROR) {
                rc = ICX_ENOMEM;
                goto out;
            }
            if (parser.context != NULL)
                icx_conftab_error(f, &at, NULL,
                                  "syntax error: %s (%s at %u:%u)",
                                  parser.problem ? parser.problem : "?",
                                  parser.context,
                                  (unsigned)parser.context_mark.line + 1,
                                  (unsigned)parser.context_mark.column + 1);
            else
                icx_conftab_error(f, &at, NULL, "syntax error: %s",
                                  parser.problem ? parser.problem : "?");
            goto out;
        }
        int r = on_event(&b, &ev);
        int done = ev.type == YAML_STREAM_END_EVENT;
        yaml_event_delete(&ev);
        if (r < 0) {
            rc = r;
            goto out;
        }
        if (r > 0)
            goto out;
        if (done)
            break;
    }
    if (b.root == NULL) {
        icx_conftab_error(f, NULL, NULL, "empty file, want a mapping of keys");
        goto out;
    }
    if (b.root->kind != ICX_CN_MAP || b.root->refused) {
        if (!b.root->refused)
            icx_conftab_error(f, b.root, "(root)",
                              "want a mapping of keys, got %s",
                              icx_conftab_got(b.root, got, sizeof got));
        goto out;
    }
    *out = b.root;
    b.root = NULL;
out:
    icx_conftab_node_free(&b.root);
    if (parser_ready)
        yaml_parser_delete(&parser);
    free(data);
    if (rc == ICX_ENOMEM)
        f->diag->oom = 1;
    return f->diag->oom ? ICX_ENOMEM : ICX_OK;
}

/* ---- node queries and views ------------------------------------------ */

int icx_conftab_is_empty(const icx_conftab_node *v)
{
    if (v->kind != ICX_CN_SCALAR)
        return 0;
    if (v->text[0] == '\0')
        return 1;
    return v->plain && (strcmp(v->text, "~") == 0 ||
                        strcmp(v->text, "null") == 0 ||
                        strcmp(v->text, "Null") == 0 ||
                        strcmp(v->text, "NULL") == 0);
}

icx_conftab_node *icx_conftab_view_without(const icx_conftab_node *map,
                                           const char *const *skip)
{
    icx_conftab_node *v = calloc(1, sizeof *v);
    if (v == NULL)
        return NULL;
    *v = *map;
    v->kids = calloc(map->nkids + 1, sizeof *v->kids);
    if (v->kids == NULL) {
        free(v);
        return NULL;
    }
    v->nkids = 0;
    for (size_t i = 0; i + 1 < map->nkids; i += 2) {
        int drop = 0;
        for (size_t s = 0; skip[s] && map->kids[i]->kind == ICX_CN_SCALAR; s++)
            drop |= strcmp(map->kids[i]->text, skip[s]) == 0;
        if (drop)
            continue;
        v->kids[v->nkids++] = map->kids[i];
        v->kids[v->nkids++] = map->kids[i + 1];
    }
    return v;
}

void icx_conftab_view_free(icx_conftab_node *v)
{
    if (v != NULL)
        free(v->kids);
    free(v);
}
