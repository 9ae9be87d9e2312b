/*
 * xsdv_compile.c - compiles schemas/ into the fast path's structures (see
 * xsdv.h for the contract, xsdv_int.h for the structures).
 *
 * The schema documents are read and their top-level components indexed
 * by qualified name (xsdv_schema.c, below this file), then every component
 * compiled here: element declarations, complex types (a
 * particle tree, attribute uses), simple types (a restriction chain down to
 * a built-in, with facets; patterns as xsdre automata, or libxml2 regexps
 * when a pattern is outside the xsdre subset).  Anything the compiler does
 * not know, down to an attribute on an xs:element it has no rule for,
 * refuses the whole schema set: a construct silently skipped here would be
 * a check silently skipped.
 *
 * Ownership: everything compiled lives in one arena owned by icx_xsdv,
 * plus the regexps listed in it; icx_xsdv_free releases all.  The schema
 * documents are freed before icx_xsdv_compile returns.
 * Threads: compile on one thread, then share the result read-only.
 * Failure: ICX_ENOTFOUND (outside the subset), ICX_ECONFIG, ICX_ENOMEM;
 * the message names the schema file and line.
 */
#include "xsdv_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_ATTRS 64

const struct xsdv_builtin xsdv_builtins[] = {
    {"string", B_STRING, XML_SCHEMAS_STRING},
    {"token", B_TOKEN, XML_SCHEMAS_TOKEN},
    {"language", B_LANGUAGE, XML_SCHEMAS_LANGUAGE},
    {"anyURI", B_ANYURI, XML_SCHEMAS_ANYURI},
    {"dateTime", B_DATETIME, XML_SCHEMAS_DATETIME},
    {"date", B_DATE, XML_SCHEMAS_DATE},
    {"boolean", B_BOOLEAN, XML_SCHEMAS_BOOLEAN},
    {"positiveInteger", B_POSINT, XML_SCHEMAS_PINTEGER},
    {"unsignedLong", B_ULONG, XML_SCHEMAS_ULONG},
    {"unsignedShort", B_USHORT, XML_SCHEMAS_USHORT},
    {"base64Binary", B_BASE64, XML_SCHEMAS_BASE64BINARY},
    {"ID", B_ID, XML_SCHEMAS_ID},
};

/* ---- compiling components ------------------------------------------------ */

static struct stype *builtin_type(struct compiler *c, const char *name)
{
    for (size_t i = 0; i < NBUILTINS; i++) {
        if (strcmp(xsdv_builtins[i].name, name) != 0)
            continue;
        if (c->builtin[i] == NULL) {
            struct stype *t = xsdv_arena_alloc(c->v, sizeof *t);
            if (t == NULL)
                return NULL;
            t->builtin = (int)i;
            t->minlen = t->maxlen = -1;
            c->builtin[i] = t;
        }
        return c->builtin[i];
    }
    return NULL;
}

static struct stype *compile_simple(struct compiler *c, const struct sdoc *d,
                                    const xmlNode *n);

/* A type reference to a simple type: built-in or named. */
static const struct stype *simple_ref(struct compiler *c, const struct sdoc *d,
                                      const xmlNode *n, const char *ref)
{
    const char *ns, *local;
    if (xsdv_qname(c, d, n, ref, &ns, &local) < 0)
        return NULL;
    if (xsdv_str_eq(ns, XS_NS)) {
        struct stype *t = builtin_type(c, local);
        if (t == NULL)
            xsdv_fail(c, ICX_ENOTFOUND, d, n,
                      "built-in type outside the subset",
                      local);
        return t;
    }
    struct comp *k = xsdv_find(c, K_SIMPLE, ns, local);
    if (k == NULL) {
        xsdv_fail(c, ICX_ENOTFOUND, d, n, "not a known simple type", ref);
        return NULL;
    }
    if (k->compiled == NULL)
        k->compiled = compile_simple(c, k->doc, k->node);
    return k->compiled;
}

static int add_pattern(struct compiler *c, const struct sdoc *d,
                       const xmlNode *n, struct stype *t, const char *value)
{
    icx_xsdv *v = c->v;
    struct pattern *p = xsdv_arena_alloc(v, sizeof *p);
    if (p == NULL)
        return xsdv_oom(c);
    if (v->npats == v->cappats) {
        int cap = v->cappats ? v->cappats * 2 : 32;
        struct pattern **np = realloc(v->pats, (size_t)cap * sizeof *np);
        if (np == NULL)
            return xsdv_oom(c);
        v->pats = np;
        v->cappats = cap;
    }
    v->pats[v->npats++] = p;
    p->slow = xmlRegexpCompile((const xmlChar *)value);
    if (p->slow == NULL)
        return xsdv_fail(c, ICX_ECONFIG, d, n, "bad pattern", value);
    icx_err e;
    icx_err_clear(&e);
    int rc = icx_xsdre_compile(&p->fast, value, &e);
    if (rc < 0 && rc != ICX_ENOTFOUND)
        return xsdv_oom(c);
    /* Patterns of one step are alternatives: grow the array. */
    struct pattern *arr =
        xsdv_arena_alloc(v, (size_t)(t->npats + 1) * sizeof *arr);
    if (arr == NULL)
        return xsdv_oom(c);
    if (t->npats > 0)
        memcpy(arr, t->pats, (size_t)t->npats * sizeof *arr);
    arr[t->npats++] = *p;
    t->pats = arr;
    return ICX_OK;
}

static int add_enum(struct compiler *c, struct stype *t, const char *value)
{
    const char **arr = xsdv_arena_alloc(c->v, (size_t)(t->nenums + 1) *
                                             sizeof *arr);
    if (arr == NULL)
        return xsdv_oom(c);
    if (t->nenums > 0)
        memcpy(arr, t->enums, (size_t)t->nenums * sizeof *arr);
    if ((arr[t->nenums] = xsdv_arena_str(c->v, value)) == NULL)
        return xsdv_oom(c);
    t->nenums++;
    t->enums = arr;
    return ICX_OK;
}

static long length_value(struct compiler *c, const struct sdoc *d,
                         const xmlNode *n, const char *value)
{
    char *end;
    long v = value ? strtol(value, &end, 10) : -1;
    if (value == NULL || *value == '\0' || *end != '\0' || v < 0) {
        xsdv_fail(c, ICX_ECONFIG, d, n, "bad length facet", value);
        return -1;
    }
    return v;
}

/* <xs:restriction base=...> with facets, for a simple type. */
static struct stype *compile_restriction(struct compiler *c,
                                         const struct sdoc *d,
                                         const xmlNode *r)
{
    static const char *const ok_attrs[] = {"base", NULL};
    static const char *const facet_attrs[] = {"value", NULL};
    const char *base = xsdv_attr(r, "base");
    if (xsdv_attrs_known(c, d, r, ok_attrs) < 0)
        return NULL;
    if (base == NULL) {
        xsdv_fail(c, ICX_ENOTFOUND, d, r, "restriction without base", NULL);
        return NULL;
    }
    const struct stype *bt = simple_ref(c, d, r, base);
    if (bt == NULL)
        return NULL;
    struct stype *t = xsdv_arena_alloc(c->v, sizeof *t);
    if (t == NULL) {
        xsdv_oom(c);
        return NULL;
    }
    t->builtin = bt->builtin;
    t->base = bt;
    t->minlen = t->maxlen = -1;
    for (const xmlNode *f = xsdv_first_xs(r); f != NULL;
         f = xsdv_next_xs(f->next)) {
        const char *value = xsdv_attr(f, "value");
        if (!xsdv_is_xs(f, NULL) ||
            xsdv_attrs_known(c, d, f, facet_attrs) < 0 ||
            value == NULL) {
            xsdv_fail(c, ICX_ENOTFOUND, d, f, "facet outside the subset",
                      (const char *)f->name);
            return NULL;
        }
        const char *name = (const char *)f->name;
        int b = t->builtin;
        int counted = b == B_STRING || b == B_TOKEN || b == B_LANGUAGE ||
                      b == B_ANYURI;
        if (strcmp(name, "enumeration") == 0) {
            if (add_enum(c, t, value) < 0)
                return NULL;
        } else if (strcmp(name, "pattern") == 0) {
            if (add_pattern(c, d, f, t, value) < 0)
                return NULL;
        } else if (strcmp(name, "minLength") == 0 && counted) {
            if ((t->minlen = length_value(c, d, f, value)) < 0)
                return NULL;
        } else if (strcmp(name, "maxLength") == 0 && counted) {
            if ((t->maxlen = length_value(c, d, f, value)) < 0)
                return NULL;
        } else {
            xsdv_fail(c, ICX_ENOTFOUND, d, f, "facet outside the subset", name);
            return NULL;
        }
    }
    /* Enumerated values compare as strings; for the types where value
     * equality is not string equality (dates, numbers, booleans, binary)
     * leave them to libxml2. */
    if (t->nenums > 0 && !(t->builtin == B_STRING || t->builtin == B_TOKEN ||
                           t->builtin == B_ANYURI)) {
        xsdv_fail(c, ICX_ENOTFOUND, d, r, "enumeration on this base type",
                  base);
        return NULL;
    }
    return t;
}

/* <xs:simpleType> (named or anonymous). */
static struct stype *compile_simple(struct compiler *c, const struct sdoc *d,
                                    const xmlNode *n)
{
    static const char *const ok_attrs[] = {"name", NULL};
    if (xsdv_attrs_known(c, d, n, ok_attrs) < 0)
        return NULL;
    const xmlNode *r = xsdv_first_xs(n);
    if (!xsdv_is_xs(r, "restriction") || xsdv_next_xs(r->next) != NULL) {
        xsdv_fail(c, ICX_ENOTFOUND, d, r ? r : n,
                  "simple type outside the subset",
                  r ? (const char *)r->name : NULL);
        return NULL;
    }
    return compile_restriction(c, d, r);
}

static struct elem *element_decl(struct compiler *c, const struct sdoc *d,
                                 const xmlNode *n, const char *ns);
static struct ctype *complex_ref(struct compiler *c, const struct comp *k);

static int particle_emptiable(const struct particle *p)
{
    if (p->min == 0)
        return 1;
    if (p->kind == P_ELEM)
        return 0;
    for (int i = 0; i < p->nkids; i++) {
        int e = p->kids[i]->emptiable;
        if (p->kind == P_SEQ && !e)
            return 0;
        if (p->kind == P_CHOICE && e)
            return 1;
    }
    return p->kind == P_SEQ;
}

static struct particle *compile_particle(struct compiler *c,
                                         const struct sdoc *d,
                                         const xmlNode *n);

static struct particle *new_particle(struct compiler *c, int kind)
{
    struct particle *p = xsdv_arena_alloc(c->v, sizeof *p);
    if (p == NULL)
        xsdv_oom(c);
    else
        p->kind = kind;
    return p;
}

/* xs:sequence / xs:choice children into p->kids. */
static int compile_group_kids(struct compiler *c, const struct sdoc *d,
                              const xmlNode *n, struct particle *p)
{
    int count = 0;
    for (const xmlNode *k = xsdv_first_xs(n); k != NULL;
         k = xsdv_next_xs(k->next))
        count++;
    p->kids =
        xsdv_arena_alloc(c->v, (size_t)(count ? count : 1) * sizeof *p->kids);
    if (p->kids == NULL)
        return xsdv_oom(c);
    for (const xmlNode *k = xsdv_first_xs(n); k != NULL;
         k = xsdv_next_xs(k->next)) {
        struct particle *kid = compile_particle(c, d, k);
        if (kid == NULL)
            return c->rc;
        p->kids[p->nkids++] = kid;
    }
    return ICX_OK;
}

static struct particle *compile_particle(struct compiler *c,
                                         const struct sdoc *d,
                                         const xmlNode *n)
{
    static const char *const group_attrs[] = {"minOccurs", "maxOccurs", NULL};
    static const char *const ref_attrs[] = {"ref", "minOccurs", "maxOccurs",
                                            NULL};
    struct particle *p = NULL;
    if (xsdv_is_xs(n, "element")) {
        if ((p = new_particle(c, P_ELEM)) == NULL ||
            xsdv_parse_occurs(c, d, n, &p->min, &p->max) < 0)
            return NULL;
        const char *ref = xsdv_attr(n, "ref");
        if (ref != NULL) {
            const char *ns, *local;
            if (xsdv_attrs_known(c, d, n, ref_attrs) < 0 ||
                xsdv_qname(c, d, n, ref, &ns, &local) < 0)
                return NULL;
            struct comp *k = xsdv_find(c, K_ELEMENT, ns, local);
            if (k == NULL) {
                xsdv_fail(c, ICX_ECONFIG, d, n, "unknown element", ref);
                return NULL;
            }
            if (k->compiled == NULL)
                k->compiled = element_decl(c, k->doc, k->node, k->doc->tns);
            p->elem = k->compiled;
        } else if (!d->qualified) {
            xsdv_fail(c, ICX_ENOTFOUND, d, n, "unqualified local element",
                      NULL);
            return NULL;
        } else {
            p->elem = element_decl(c, d, n, d->tns);
        }
        if (p->elem == NULL)
            return NULL;
    } else if (xsdv_is_xs(n, "sequence") || xsdv_is_xs(n, "choice")) {
        int kind = xsdv_is_xs(n, "sequence") ? P_SEQ : P_CHOICE;
        if ((p = new_particle(c, kind)) == NULL ||
            xsdv_attrs_known(c, d, n, group_attrs) < 0 ||
            xsdv_parse_occurs(c, d, n, &p->min, &p->max) < 0 ||
            compile_group_kids(c, d, n, p) < 0)
            return NULL;
    } else if (xsdv_is_xs(n, "group")) {
        const char *ref = xsdv_attr(n, "ref"), *ns, *local;
        if (ref == NULL || xsdv_attrs_known(c, d, n, ref_attrs) < 0 ||
            xsdv_qname(c, d, n, ref, &ns, &local) < 0) {
            xsdv_fail(c, ICX_ENOTFOUND, d, n, "group outside the subset", NULL);
            return NULL;
        }
        struct comp *k = xsdv_find(c, K_GROUP, ns, local);
        const xmlNode *body = k ? xsdv_first_xs(k->node) : NULL;
        if (body == NULL || xsdv_next_xs(body->next) != NULL ||
            !(xsdv_is_xs(body, "sequence") || xsdv_is_xs(body, "choice")) ||
            xsdv_attr(body, "minOccurs") != NULL ||
            xsdv_attr(body, "maxOccurs") != NULL) {
            xsdv_fail(c, ICX_ENOTFOUND, d, n, "group outside the subset", ref);
            return NULL;
        }
        /* The reference's bounds apply to the group's model group. */
        int kind = xsdv_is_xs(body, "sequence") ? P_SEQ : P_CHOICE;
        if ((p = new_particle(c, kind)) == NULL ||
            xsdv_parse_occurs(c, d, n, &p->min, &p->max) < 0 ||
            compile_group_kids(c, k->doc, body, p) < 0)
            return NULL;
    } else {
        xsdv_fail(c, ICX_ENOTFOUND, d, n, "particle outside the subset",
                  (const char *)n->name);
        return NULL;
    }
    p->emptiable = particle_emptiable(p);
    return p;
}

static int compile_attribute(struct compiler *c, const struct sdoc *d,
                             const xmlNode *n, struct attr *a)
{
    static const char *const ok_attrs[] = {"name", "type", "use", "default",
                                           "fixed", NULL};
    if (xsdv_attrs_known(c, d, n, ok_attrs) < 0)
        return c->rc;
    const char *name = xsdv_attr(n, "name"), *type = xsdv_attr(n, "type");
    const char *use = xsdv_attr(n, "use");
    if (name == NULL)
        return xsdv_fail(c, ICX_ENOTFOUND, d, n, "attribute without a name",
                         NULL);
    if (use != NULL && strcmp(use, "required") != 0 &&
        strcmp(use, "optional") != 0)
        return xsdv_fail(c, ICX_ENOTFOUND, d, n, "attribute use", use);
    a->name = xsdv_arena_str(c->v, name);
    a->required = use != NULL && strcmp(use, "required") == 0;
    a->fixed = xsdv_arena_str(c->v, xsdv_attr(n, "fixed"));
    const xmlNode *anon = xsdv_first_xs(n);
    if (type != NULL && anon == NULL)
        a->type = simple_ref(c, d, n, type);
    else if (type == NULL && xsdv_is_xs(anon, "simpleType") &&
             xsdv_next_xs(anon->next) == NULL)
        a->type = compile_simple(c, d, anon);
    else
        return xsdv_fail(c, ICX_ENOTFOUND, d, n, "attribute type", name);
    if (a->name == NULL || (xsdv_attr(n, "fixed") != NULL && a->fixed == NULL))
        return xsdv_oom(c);
    return a->type == NULL ? c->rc : ICX_OK;
}

/* The attribute uses among n's children, from the node first. */
static int compile_attributes(struct compiler *c, const struct sdoc *d,
                              const xmlNode *first, struct ctype *t)
{
    int count = 0;
    for (const xmlNode *k = first; k != NULL; k = xsdv_next_xs(k->next)) {
        if (!xsdv_is_xs(k, "attribute"))
            return xsdv_fail(c, ICX_ENOTFOUND, d, k, "complex type outside the "
                             "subset", (const char *)k->name);
        count++;
    }
    if (count > MAX_ATTRS)
        return xsdv_fail(c, ICX_ENOTFOUND, d, first, "too many attributes",
                         NULL);
    t->attrs = xsdv_arena_alloc(c->v, (size_t)(count ? count : 1) *
                                     sizeof *t->attrs);
    if (t->attrs == NULL)
        return xsdv_oom(c);
    for (const xmlNode *k = first; k != NULL; k = xsdv_next_xs(k->next))
        if (compile_attribute(c, d, k, &t->attrs[t->nattrs++]) < 0)
            return c->rc;
    return ICX_OK;
}

static int compile_complex_body(struct compiler *c, const struct sdoc *d,
                                const xmlNode *n, struct ctype *t)
{
    static const char *const ok_attrs[] = {"name", NULL};
    static const char *const ext_attrs[] = {"base", NULL};
    if (xsdv_attrs_known(c, d, n, ok_attrs) < 0)
        return c->rc;
    const xmlNode *k = xsdv_first_xs(n);
    if (xsdv_is_xs(k, "simpleContent")) {
        const xmlNode *ext = xsdv_first_xs(k);
        if (!xsdv_is_xs(ext, "extension") || xsdv_next_xs(ext->next) != NULL ||
            xsdv_next_xs(k->next) != NULL ||
            xsdv_attrs_known(c, d, ext, ext_attrs) < 0 ||
            xsdv_attr(ext, "base") == NULL)
            return xsdv_fail(c, ICX_ENOTFOUND, d, k,
                             "simple content outside the "
                             "subset", NULL);
        t->content = C_SIMPLE;
        if ((t->simple = simple_ref(c, d, ext, xsdv_attr(ext, "base"))) == NULL)
            return c->rc;
        return compile_attributes(c, d, xsdv_first_xs(ext), t);
    }
    if (xsdv_is_xs(k, "sequence") || xsdv_is_xs(k, "choice") ||
        xsdv_is_xs(k, "group")) {
        t->content = C_ELEMENTS;
        if ((t->model = compile_particle(c, d, k)) == NULL)
            return c->rc;
        k = xsdv_next_xs(k->next);
    } else {
        t->content = C_EMPTY;
    }
    return compile_attributes(c, d, k, t);
}

static struct ctype *complex_ref(struct compiler *c, const struct comp *k)
{
    struct comp *kk = (struct comp *)k;
    if (kk->compiled == NULL) {
        struct ctype *t = xsdv_arena_alloc(c->v, sizeof *t);
        if (t == NULL) {
            xsdv_oom(c);
            return NULL;
        }
        kk->compiled = t;
        if (compile_complex_body(c, k->doc, k->node, t) < 0)
            return NULL;
        t->done = 1;
    }
    return kk->compiled;
}

static int compile_idc(struct compiler *c, const struct sdoc *d,
                       const xmlNode *n, struct idc *x)
{
    static const char *const ok_attrs[] = {"name", "refer", NULL};
    static const char *const xp_attrs[] = {"xpath", NULL};
    if (xsdv_attrs_known(c, d, n, ok_attrs) < 0)
        return c->rc;
    x->kind = xsdv_is_xs(n, "key")      ? IDC_KEY
              : xsdv_is_xs(n, "unique") ? IDC_UNIQUE
                                        : IDC_KEYREF;
    x->ns = d->tns;
    x->name = xsdv_arena_str(c->v, xsdv_attr(n, "name"));
    x->refer = -1;
    if (x->kind == IDC_KEYREF) {
        const char *refer = xsdv_attr(n, "refer"), *ns, *local;
        if (refer == NULL || xsdv_qname(c, d, n, refer, &ns, &local) < 0)
            return xsdv_fail(c, ICX_ENOTFOUND, d, n, "keyref without refer",
                             NULL);
        x->refer_ns = xsdv_arena_str(c->v, ns);
        x->refer_name = xsdv_arena_str(c->v, local);
    }
    const xmlNode *sel = xsdv_first_xs(n);
    const xmlNode *fld = sel ? xsdv_next_xs(sel->next) : NULL;
    if (!xsdv_is_xs(sel, "selector") || !xsdv_is_xs(fld, "field") ||
        xsdv_next_xs(fld->next) != NULL ||
        xsdv_attrs_known(c, d, sel, xp_attrs) < 0 ||
        xsdv_attrs_known(c, d, fld, xp_attrs) < 0)
        return xsdv_fail(c, ICX_ENOTFOUND, d, n,
                         "identity constraint outside the "
                         "subset", NULL);
    const char *xp = xsdv_attr(sel, "xpath"), *fx = xsdv_attr(fld, "xpath");
    /* Field: "@name" with a plain name. */
    if (fx == NULL || fx[0] != '@' || fx[1] == '\0' ||
        strpbrk(fx + 1, ":/*|.[ ") != NULL)
        return xsdv_fail(c, ICX_ENOTFOUND, d, fld, "field outside the subset",
                         fx);
    x->field = xsdv_arena_str(c->v, fx + 1);
    /* Selector: child steps "p:Name" or "*" joined by "/". */
    int steps = 1;
    for (const char *s = xp ? xp : ""; *s; s++)
        steps += *s == '/';
    x->steps = xsdv_arena_alloc(c->v, (size_t)steps * sizeof *x->steps);
    if (xp == NULL || x->steps == NULL || x->field == NULL || x->name == NULL)
        return xp == NULL
                   ? xsdv_fail(c, ICX_ENOTFOUND, d, sel, "selector", NULL)
                   : xsdv_oom(c);
    const char *s = xp;
    while (*s != '\0' || x->nsteps == 0) {
        const char *e = strchr(s, '/');
        size_t len = e ? (size_t)(e - s) : strlen(s);
        char step[128];
        if (len == 0 || len >= sizeof step)
            return xsdv_fail(c, ICX_ENOTFOUND, d, sel,
                             "selector outside the subset",
                             xp);
        memcpy(step, s, len);
        step[len] = '\0';
        struct step *st = &x->steps[x->nsteps++];
        if (strcmp(step, "*") != 0) {
            const char *ns, *local;
            if (strpbrk(step, "*@.[|() ") != NULL ||
                strchr(step, ':') == NULL ||
                xsdv_qname(c, d, sel, step, &ns, &local) < 0)
                return xsdv_fail(c, ICX_ENOTFOUND, d, sel,
                                 "selector outside the subset", xp);
            st->ns = xsdv_arena_str(c->v, ns);
            st->name = xsdv_arena_str(c->v, local);
            if (st->name == NULL)
                return xsdv_oom(c);
        }
        if (e == NULL)
            break;
        s = e + 1;
        if (*s == '\0')
            return xsdv_fail(c, ICX_ENOTFOUND, d, sel,
                             "selector outside the subset",
                             xp);
    }
    return ICX_OK;
}

static int compile_idcs(struct compiler *c, const struct sdoc *d,
                        const xmlNode *first, struct elem *e)
{
    int count = 0;
    for (const xmlNode *k = first; k != NULL; k = xsdv_next_xs(k->next))
        count++;
    if (count == 0)
        return ICX_OK;
    e->idcs = xsdv_arena_alloc(c->v, (size_t)count * sizeof *e->idcs);
    if (e->idcs == NULL)
        return xsdv_oom(c);
    for (const xmlNode *k = first; k != NULL; k = xsdv_next_xs(k->next)) {
        if (!xsdv_is_xs(k, "key") && !xsdv_is_xs(k, "unique") &&
            !xsdv_is_xs(k, "keyref"))
            return xsdv_fail(c, ICX_ENOTFOUND, d, k,
                             "element content outside the "
                             "subset", (const char *)k->name);
        if (compile_idc(c, d, k, &e->idcs[e->nidcs++]) < 0)
            return c->rc;
    }
    /* A keyref must refer to a key or unique of the same element. */
    for (int i = 0; i < e->nidcs; i++) {
        struct idc *x = &e->idcs[i];
        if (x->kind != IDC_KEYREF)
            continue;
        for (int j = 0; j < e->nidcs; j++)
            if (e->idcs[j].kind != IDC_KEYREF &&
                xsdv_str_eq(e->idcs[j].ns, x->refer_ns) &&
                xsdv_str_eq(e->idcs[j].name, x->refer_name))
                x->refer = j;
        if (x->refer < 0)
            return xsdv_fail(c, ICX_ENOTFOUND, d, first, "keyref to another "
                             "element's key", x->refer_name);
    }
    return ICX_OK;
}

/* An xs:element with a name (global or local). */
static struct elem *element_decl(struct compiler *c, const struct sdoc *d,
                                 const xmlNode *n, const char *ns)
{
    static const char *const ok_attrs[] = {"name", "type", "minOccurs",
                                           "maxOccurs", NULL};
    if (xsdv_attrs_known(c, d, n, ok_attrs) < 0)
        return NULL;
    struct elem *e = xsdv_arena_alloc(c->v, sizeof *e);
    const char *name = xsdv_attr(n, "name"), *type = xsdv_attr(n, "type");
    if (e == NULL) {
        xsdv_oom(c);
        return NULL;
    }
    if (name == NULL) {
        xsdv_fail(c, ICX_ENOTFOUND, d, n, "element without a name", NULL);
        return NULL;
    }
    e->ns = xsdv_arena_str(c->v, ns);
    e->name = xsdv_arena_str(c->v, name);
    const xmlNode *k = xsdv_first_xs(n);
    if (type != NULL) {
        const char *tns, *local;
        if (xsdv_qname(c, d, n, type, &tns, &local) < 0)
            return NULL;
        struct comp *ct = xsdv_str_eq(tns, XS_NS)
                              ? NULL
                              : xsdv_find(c, K_COMPLEX, tns, local);
        if (ct != NULL)
            e->complex = complex_ref(c, ct);
        else if ((e->simple = simple_ref(c, d, n, type)) == NULL)
            return NULL;
    } else if (xsdv_is_xs(k, "complexType")) {
        struct ctype *t = xsdv_arena_alloc(c->v, sizeof *t);
        if (t == NULL || compile_complex_body(c, d, k, t) < 0) {
            if (t == NULL)
                xsdv_oom(c);
            return NULL;
        }
        e->complex = t;
        k = xsdv_next_xs(k->next);
    } else if (xsdv_is_xs(k, "simpleType")) {
        if ((e->simple = compile_simple(c, d, k)) == NULL)
            return NULL;
        k = xsdv_next_xs(k->next);
    } else {
        xsdv_fail(c, ICX_ENOTFOUND, d, n, "element without a type", name);
        return NULL;
    }
    if (c->rc < 0 || compile_idcs(c, d, k, e) < 0)
        return NULL;
    return e;
}

int icx_xsdv_compile(icx_xsdv **out, const char *main_xsd, icx_err *err)
{
    struct compiler c = {.err = err, .rc = ICX_OK};
    *out = NULL;
    if ((c.v = calloc(1, sizeof *c.v)) == NULL)
        return icx_err_set(err, ICX_ENOMEM, "out of memory");
    if (xsdv_load_doc(&c, main_xsd, NULL) < 0)
        goto out;
    int nglobal = 0;
    for (int i = 0; i < c.ncomps; i++)
        nglobal += c.comps[i].kind == K_ELEMENT;
    c.v->globals = xsdv_arena_alloc(c.v, (size_t)(nglobal ? nglobal : 1) *
                                        sizeof *c.v->globals);
    if (c.v->globals == NULL) {
        xsdv_oom(&c);
        goto out;
    }
    /* Every top-level component is compiled, used or not, so that
     * nothing outside the subset hides in an unused corner. */
    for (int i = 0; i < c.ncomps && c.rc == ICX_OK; i++) {
        struct comp *k = &c.comps[i];
        if (k->compiled != NULL || k->kind == K_GROUP)
            continue;
        if (k->kind == K_ELEMENT)
            k->compiled = element_decl(&c, k->doc, k->node, k->doc->tns);
        else if (k->kind == K_COMPLEX)
            complex_ref(&c, k);
        else
            k->compiled = compile_simple(&c, k->doc, k->node);
    }
    for (int i = 0; i < c.ncomps && c.rc == ICX_OK; i++)
        if (c.comps[i].kind == K_ELEMENT)
            c.v->globals[c.v->nglobals++] = c.comps[i].compiled;
out:
    xsdv_docs_free(&c);
    if (c.rc < 0) {
        icx_xsdv_free(&c.v);
        return c.rc;
    }
    *out = c.v;
    return ICX_OK;
}

void icx_xsdv_free(icx_xsdv **vp)
{
    if (vp == NULL || *vp == NULL)
        return;
    icx_xsdv *v = *vp;
    for (int i = 0; i < v->npats; i++) {
        icx_xsdre_free(&v->pats[i]->fast);
        if (v->pats[i]->slow != NULL)
            xmlRegFreeRegexp(v->pats[i]->slow);
    }
    free(v->pats);
    while (v->arena != NULL) {
        struct arena_chunk *next = v->arena->next;
        free(v->arena);
        v->arena = next;
    }
    free(v);
    *vp = NULL;
}
