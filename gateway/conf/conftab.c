/*
 * conftab.c - key tables applied to a parsed YAML mapping (see conftab.h).
 *
 * The walker checks each key of a mapping against one table (unknown keys
 * with a "did you mean", types, bounds, allowed names, the table's own
 * check), stores values into the target struct, fills in defaults and
 * reports missing required keys.  Everything wrong is reported through
 * the diagnostics of conftab_tree.c and the walk goes on, so one run shows
 * every problem.  Also here: the string lists (icx_strlist) the tables
 * store.
 *
 * The walker keeps no state besides the diagnostics: one table, one
 * mapping, one struct.  It sits above conftab_tree.c and calls nothing
 * of config.c.  Memory: every allocation is checked; on ENOMEM the
 * diagnostics are marked and the caller fails the load with ICX_ENOMEM.
 */
#include "conftab.h"

#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf_int.h"

/* ---- string lists ----------------------------------------------------- */

int icx_strlist_has(const icx_strlist *l, const char *s)
{
    for (size_t i = 0; l != NULL && s != NULL && i < l->count; i++)
        if (strcmp(l->items[i], s) == 0)
            return 1;
    return 0;
}

/* ---- walker ----------------------------------------------------------- */

char *icx_conftab_resolve(const char *base_dir, const char *p)
{
    if (p[0] == '/' || base_dir == NULL || base_dir[0] == '\0')
        return strdup(p);
    size_t n = strlen(base_dir) + 1 + strlen(p) + 1;
    char *s = malloc(n);
    if (s != NULL)
        snprintf(s, n, "%s%s%s", base_dir,
                 base_dir[strlen(base_dir) - 1] == '/' ? "" : "/", p);
    return s;
}

static void names_join(char *out, size_t outlen, const char *const *names)
{
    size_t len = 0;
    out[0] = '\0';
    for (size_t i = 0; names[i] != NULL && len < outlen; i++) {
        int n = snprintf(out + len, outlen - len, "%s%s", i ? "|" : "",
                         names[i]);
        if (n < 0)
            break;
        len += (size_t)n;
    }
}

static int name_index(const char *const *names, const char *s)
{
    for (int i = 0; names[i] != NULL; i++)
        if (strcmp(names[i], s) == 0)
            return i;
    return -1;
}

/* Edit distance, for "did you mean"; names are short. */
static size_t distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    size_t row[ICX_CONFTAB_NAME_MAX + 1];
    if (la > ICX_CONFTAB_NAME_MAX || lb > ICX_CONFTAB_NAME_MAX)
        return (size_t)-1;
    for (size_t j = 0; j <= lb; j++)
        row[j] = j;
    for (size_t i = 1; i <= la; i++) {
        size_t diag = row[0];
        row[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            size_t up = row[j];
            size_t best = diag + (a[i - 1] != b[j - 1]);
            if (up + 1 < best)
                best = up + 1;
            if (row[j - 1] + 1 < best)
                best = row[j - 1] + 1;
            row[j] = best;
            diag = up;
        }
    }
    return row[lb];
}

static const char *suggest(const icx_conftab_key *tab, const char *s)
{
    const char *best = NULL;
    size_t bestd = 3;
    for (size_t i = 0; tab[i].name != NULL; i++) {
        size_t d = distance(tab[i].name, s);
        if (d < bestd) {
            bestd = d;
            best = tab[i].name;
        }
    }
    return best;
}

static int store_string(void *base, const icx_conftab_key *k, char *s)
{
    char **slot = (char **)((char *)base + k->offset);
    if (s == NULL)
        return ICX_ENOMEM;
    free(*slot);
    *slot = s;
    return ICX_OK;
}

static int parse_long(long *out, const char *s)
{
    const char *p = s;
    if (*p == '-')
        p++;
    if (*p == '\0')
        return ICX_EINVAL;
    for (; *p != '\0'; p++)
        if (*p < '0' || *p > '9')
            return ICX_EINVAL;
    errno = 0;
    long v = strtol(s, NULL, 10);
    if (errno == ERANGE)
        return ICX_EFULL;
    *out = v;
    return ICX_OK;
}

/* Stores the default of k (keys that are absent or empty). */
static int apply_default(void *base, const icx_conftab_key *k,
                         icx_conftab_file *f)
{
    void *slot = (char *)base + k->offset;
    long v = 0;
    if (k->def == NULL)
        return ICX_OK;
    switch (k->type) {
    case ICX_CT_STRING:
        return store_string(base, k, strdup(k->def));
    case ICX_CT_PATH:
    case ICX_CT_PATH_URL:
        return store_string(base, k, icx_conftab_resolve(f->base_dir, k->def));
    case ICX_CT_INT:
        if (parse_long(&v, k->def) < 0)
            assert(!"bad integer default in a key table");
        *(long *)slot = v;
        return ICX_OK;
    case ICX_CT_BOOL:
        *(int *)slot = strcmp(k->def, "true") == 0;
        return ICX_OK;
    case ICX_CT_ENUM:
        *(int *)slot = name_index(k->names, k->def);
        assert(*(int *)slot >= 0);
        return ICX_OK;
    default:
        return ICX_OK;
    }
}

static int apply_map(void *base, const icx_conftab_key *tab,
                     const icx_conftab_node *map, const icx_conftab_node *pos,
                     const char *prefix, icx_conftab_file *f);

static int apply_list(void *base, const icx_conftab_key *k,
                      const icx_conftab_node *v, const char *full,
                      icx_conftab_file *f)
{
    icx_strlist *l = (icx_strlist *)((char *)base + k->offset);
    char why[ICX_CONFTAB_MSG_MAX / 2];
    char name[ICX_CONFTAB_NAME_MAX + 32];
    char got[64];
    if (v->kind != ICX_CN_SEQ) {
        icx_conftab_error(f, v, full, "want a list, got %s",
                          icx_conftab_got(v, got, sizeof got));
        return ICX_OK;
    }
    if (v->nkids == 0)
        return ICX_OK;
    l->items = calloc(v->nkids, sizeof *l->items);
    if (l->items == NULL)
        return ICX_ENOMEM;
    for (size_t i = 0; i < v->nkids; i++) {
        const icx_conftab_node *e = v->kids[i];
        snprintf(name, sizeof name, "%s[%zu]", full, i);
        if (e->refused)
            continue;
        if (e->kind != ICX_CN_SCALAR) {
            icx_conftab_error(f, e, name, "want a string, got %s",
                              icx_conftab_got(e, got, sizeof got));
            continue;
        }
        if (icx_conftab_is_empty(e)) {
            icx_conftab_error(f, e, name, "empty entry");
            continue;
        }
        if (icx_strlist_has(l, e->text)) {
            icx_conftab_error(f, e, name, "duplicate entry \"%s\"", e->text);
            continue;
        }
        if (k->names != NULL && name_index(k->names, e->text) < 0) {
            names_join(why, sizeof why, k->names);
            icx_conftab_error(f, e, name, "unknown value \"%s\" (want %s)",
                              e->text, why);
            continue;
        }
        if (k->check != NULL && k->check(e->text, e->text, why,
                                         sizeof why) < 0) {
            icx_conftab_error(f, e, name, "%s", why);
            continue;
        }
        l->items[l->count] = strdup(e->text);
        if (l->items[l->count] == NULL)
            return ICX_ENOMEM;
        l->count++;
    }
    return ICX_OK;
}

static int apply_value(void *base, const icx_conftab_key *k,
                       const icx_conftab_node *key,
                       const icx_conftab_node *v, const char *full,
                       icx_conftab_file *f)
{
    void *slot = (char *)base + k->offset;
    char why[ICX_CONFTAB_MSG_MAX / 2];
    char sub[ICX_CONFTAB_NAME_MAX + 2];
    char got[64];
    long num = 0;
    int rc;

    if (k->type == ICX_CT_MAPPING) {
        snprintf(sub, sizeof sub, "%s.", full);
        if (icx_conftab_is_empty(v))
            return apply_map(base, k->sub, NULL, key, sub, f);
        if (v->kind != ICX_CN_MAP) {
            icx_conftab_error(f, v, full, "want a mapping, got %s",
                              icx_conftab_got(v, got, sizeof got));
            return ICX_OK;
        }
        return apply_map(base, k->sub, v, v, sub, f);
    }
    if (icx_conftab_is_empty(v)) {
        if (k->required)
            icx_conftab_error(f, key, full, "required value is empty");
        return apply_default(base, k, f);
    }
    if (k->type == ICX_CT_STRLIST)
        return apply_list(base, k, v, full, f);
    if (v->kind != ICX_CN_SCALAR) {
        const char *want = k->type == ICX_CT_INT    ? "an integer"
                           : k->type == ICX_CT_BOOL ? "true or false"
                           : k->type == ICX_CT_PATH ? "a path"
                           : k->type == ICX_CT_PATH_URL ? "a path or a URL"
                                                    : "a string";
        icx_conftab_error(f, v, full, "want %s, got %s", want,
                          icx_conftab_got(v, got, sizeof got));
        return ICX_OK;
    }

    switch (k->type) {
    case ICX_CT_STRING:
        if (k->names != NULL && name_index(k->names, v->text) < 0) {
            names_join(why, sizeof why, k->names);
            icx_conftab_error(f, v, full, "unknown value \"%s\" (want %s)",
                              v->text, why);
            return ICX_OK;
        }
        if (k->check != NULL && k->check(v->text, v->text, why,
                                         sizeof why) < 0) {
            icx_conftab_error(f, v, full, "%s", why);
            return ICX_OK;
        }
        return store_string(base, k, strdup(v->text));
    case ICX_CT_PATH:
    case ICX_CT_PATH_URL: {
        char *p = k->type == ICX_CT_PATH_URL && strstr(v->text, "://") != NULL
                      ? strdup(v->text)
                      : icx_conftab_resolve(f->base_dir, v->text);
        if (p == NULL)
            return ICX_ENOMEM;
        if (k->check != NULL && k->check(p, v->text, why, sizeof why) < 0)
            icx_conftab_error(f, v, full, "%s", why);
        return store_string(base, k, p);
    }
    case ICX_CT_INT:
        rc = v->plain ? parse_long(&num, v->text) : ICX_EINVAL;
        if (rc == ICX_EINVAL) {
            icx_conftab_error(f, v, full, "want an integer%s, got \"%s\"",
                              v->plain ? "" : " without quotes", v->text);
            return ICX_OK;
        }
        if (rc < 0 || num < k->min || num > k->max) {
            icx_conftab_error(f, v, full, "%s is out of range %ld..%ld",
                              v->text, k->min, k->max);
            return ICX_OK;
        }
        *(long *)slot = num;
        return ICX_OK;
    case ICX_CT_BOOL:
        if (v->plain && strcmp(v->text, "true") == 0) {
            *(int *)slot = 1;
        } else if (v->plain && strcmp(v->text, "false") == 0) {
            *(int *)slot = 0;
        } else {
            icx_conftab_error(f, v, full, "want true or false, got \"%s\"",
                              v->text);
        }
        return ICX_OK;
    case ICX_CT_ENUM:
        rc = name_index(k->names, v->text);
        if (rc < 0) {
            names_join(why, sizeof why, k->names);
            icx_conftab_error(f, v, full, "unknown value \"%s\" (want %s)",
                              v->text, why);
            return ICX_OK;
        }
        *(int *)slot = rc;
        return ICX_OK;
    default:
        assert(!"unknown key type in a key table");
        return ICX_OK;
    }
}

static int apply_map(void *base, const icx_conftab_key *tab,
                     const icx_conftab_node *map, const icx_conftab_node *pos,
                     const char *prefix, icx_conftab_file *f)
{
    unsigned char seen[64] = {0};
    char full[ICX_CONFTAB_NAME_MAX];
    char got[64];
    size_t ntab = 0;
    int rc = ICX_OK;

    while (tab[ntab].name != NULL)
        ntab++;
    assert(ntab <= sizeof seen);

    for (size_t i = 0; map != NULL && i + 1 < map->nkids && rc == ICX_OK;
         i += 2) {
        const icx_conftab_node *k = map->kids[i], *v = map->kids[i + 1];
        size_t t;
        int dup = 0;
        if (k->refused)
            continue;
        if (k->kind != ICX_CN_SCALAR) {
            snprintf(full, sizeof full, "%.*s", (int)strlen(prefix) - 1,
                     prefix);
            icx_conftab_error(f, k, prefix[0] ? full : "(root)",
                              "a key must be a string, got %s",
                              icx_conftab_got(k, got, sizeof got));
            continue;
        }
        snprintf(full, sizeof full, "%s%s", prefix, k->text);
        for (size_t j = 0; j < i && !dup; j += 2) {
            const icx_conftab_node *o = map->kids[j];
            if (o->kind == ICX_CN_SCALAR && !o->refused &&
                strcmp(o->text, k->text) == 0) {
                icx_conftab_error(f, k, full, "duplicate key (first at %u:%u)",
                                  o->line, o->col);
                dup = 1;
            }
        }
        if (dup)
            continue;
        for (t = 0; t < ntab; t++)
            if (strcmp(tab[t].name, k->text) == 0)
                break;
        if (t == ntab) {
            const char *s = suggest(tab, k->text);
            if (s != NULL)
                icx_conftab_error(f, k, full,
                                  "unknown key (did you mean \"%s\"?)", s);
            else
                icx_conftab_error(f, k, full, "unknown key");
            continue;
        }
        seen[t] = 1;
        if (v->refused)
            continue;
        rc = apply_value(base, &tab[t], k, v, full, f);
    }

    for (size_t t = 0; t < ntab && rc == ICX_OK; t++) {
        if (seen[t])
            continue;
        snprintf(full, sizeof full, "%s%s", prefix, tab[t].name);
        if (tab[t].type == ICX_CT_MAPPING) {
            char sub[ICX_CONFTAB_NAME_MAX + 2];
            snprintf(sub, sizeof sub, "%s.", full);
            rc = apply_map(base, tab[t].sub, NULL, pos, sub, f);
        } else if (tab[t].required) {
            icx_conftab_error(f, pos, full, "required key missing");
        } else {
            rc = apply_default(base, &tab[t], f);
        }
    }
    if (rc == ICX_ENOMEM)
        f->diag->oom = 1;
    return rc;
}

int icx_conftab_apply(void *base, const icx_conftab_key *tab,
                      const icx_conftab_node *map, icx_conftab_file *f)
{
    assert(map != NULL && map->kind == ICX_CN_MAP);
    return apply_map(base, tab, map, map, "", f);
}

void icx_conftab_release(void *base, const icx_conftab_key *tab)
{
    for (size_t i = 0; tab[i].name != NULL; i++) {
        void *slot = (char *)base + tab[i].offset;
        switch (tab[i].type) {
        case ICX_CT_STRING:
        case ICX_CT_PATH:
        case ICX_CT_PATH_URL:
            free(*(char **)slot);
            *(char **)slot = NULL;
            break;
        case ICX_CT_STRLIST: {
            icx_strlist *l = slot;
            for (size_t j = 0; j < l->count; j++)
                free(l->items[j]);
            free(l->items);
            l->items = NULL;
            l->count = 0;
            break;
        }
        case ICX_CT_MAPPING:
            icx_conftab_release(base, tab[i].sub);
            break;
        default:
            break;
        }
    }
}
