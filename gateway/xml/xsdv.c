/*
 * xsdv.c - the schema fast path's validator (see xsdv.h for the contract;
 * the structures come from xsdv_compile.c).
 *
 * Validating walks the tree once.  Content models are matched greedily:
 * every answer "valid" is backed by an explicit derivation of the children
 * from the particle tree, so greed can only cost a "not sure" (which the
 * Unique Particle Attribution rule of XML Schema makes rare), never a
 * wrong "valid".  A value is checked against its built-in type by
 * libxml2 (xmlSchemaValPredefTypeNode, the lexical rules its validator
 * uses), then against each derivation step's facets; a value that
 * whitespace normalization would change (other than line feeds in
 * base64) is left to libxml2, whose validator does not always normalize
 * the way XML Schema says.
 *
 * Ownership: reads the compiled validator and the tree; allocates only
 * temporary arrays, freed before it returns.  Reentrant: any number of
 * threads may validate with one icx_xsdv at once.
 */
#include "xsdv_int.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Character classes for the scans below: 1 space, 2 tab/LF/CR, 0 other. */
static const unsigned char BLANK[256] = {[' '] = 1, ['\t'] = 2, ['\n'] = 2,
                                         ['\r'] = 2};

/* Already what whiteSpace="collapse" would make of it: no tab, newline or
 * carriage return, no space at either end or next to another.  Values that
 * are not are left to libxml2, whose validator does not always collapse
 * before checking (it refuses "4 " as an unsignedLong). */
static int collapsed(const char *s)
{
    const unsigned char *u = (const unsigned char *)s;
    if (*u == ' ')
        return 0;
    for (; *u; u++) {
        if (BLANK[*u] == 0)
            continue;
        if (BLANK[*u] == 2 || u[1] == ' ' || u[1] == '\0')
            return 0;
    }
    return 1;
}

/* Base64 as signers write it: the alphabet, padding and line feeds. */
static int base64_lines(const char *s)
{
    for (; *s; s++)
        if (!((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') ||
              (*s >= '0' && *s <= '9') || *s == '+' || *s == '/' ||
              *s == '=' || *s == '\n'))
            return 0;
    return 1;
}

static long utf8_chars(const char *s)
{
    long n = 0;
    for (; *s; s++)
        n += ((unsigned char)*s & 0xC0) != 0x80;
    return n;
}

static int pattern_ok(const struct pattern *p, const char *s, size_t bytes)
{
    if (p->fast != NULL) {
        enum icx_xsdre_result r = icx_xsdre_match(p->fast, s, bytes);
        if (r != ICX_XSDRE_UNSURE)
            return r == ICX_XSDRE_YES;
    }
    return xmlRegexpExec(p->slow, (const xmlChar *)s) == 1;
}

/* Length facets count characters; the byte count often settles them
 * without counting (a character is one to four bytes). */
static int length_ok(const struct stype *t, const char *s, size_t bytes,
                     long *chars)
{
    long lo = t->minlen, hi = t->maxlen;
    if ((hi < 0 || bytes <= (size_t)hi) && (lo < 0 || bytes / 4 >= (size_t)lo))
        return 1;
    if (*chars < 0)
        *chars = utf8_chars(s);
    return (lo < 0 || *chars >= lo) && (hi < 0 || *chars <= hi);
}

static int facets_ok(const struct stype *t, const char *s)
{
    long chars = -1;
    size_t bytes = strlen(s);
    for (; t != NULL; t = t->base) {
        if ((t->minlen >= 0 || t->maxlen >= 0) &&
            !length_ok(t, s, bytes, &chars))
            return 0;
        if (t->nenums > 0) {
            int hit = 0;
            for (int i = 0; i < t->nenums && !hit; i++)
                hit = t->enums[i][0] == s[0] && strcmp(t->enums[i], s) == 0;
            if (!hit)
                return 0;
        }
        if (t->npats > 0) {
            int hit = 0;
            for (int i = 0; i < t->npats && !hit; i++)
                hit = pattern_ok(&t->pats[i], s, bytes);
            if (!hit)
                return 0;
        }
    }
    return 1;
}

/* One to nineteen decimal digits (so below 2^64), their value in *v.
 * libxml2 accepts every such string as an unsignedLong, as an
 * unsignedShort up to 65535 and as a positiveInteger from 1, leading
 * zeros or not; anything else is left to it. */
static int digits(const char *s, uint64_t *v)
{
    uint64_t x = 0;
    int n = 0;
    for (; *s >= '0' && *s <= '9'; s++, n++)
        x = x * 10 + (uint64_t)(*s - '0');
    *v = x;
    return *s == '\0' && n >= 1 && n <= 19;
}

static int value_ok(const struct stype *t, const char *s)
{
    int b = t->builtin;
    uint64_t v;
    if (b == B_ID)
        return 0; /* IDs register document-wide: libxml2's business */
    if ((b == B_ULONG || b == B_USHORT || b == B_POSINT) && digits(s, &v) &&
        (b == B_ULONG || (b == B_USHORT ? v <= 65535 : v >= 1)))
        return facets_ok(t, s);
    if (b == B_BASE64 ? !base64_lines(s) : b != B_STRING && !collapsed(s))
        return 0;
    if (b != B_STRING && b != B_TOKEN &&
        xmlSchemaValPredefTypeNode(xmlSchemaGetBuiltInType(xsdv_builtins[b].libxml),
                                   (const xmlChar *)s, NULL, NULL) != 0)
        return 0;
    return facets_ok(t, s);
}

/* The text held by the children c of an element or attribute: NULL when
 * they are anything but one text node ("" when there are none). */
static const char *only_text(const xmlNode *c)
{
    if (c == NULL)
        return "";
    if (c->next != NULL || c->type != XML_TEXT_NODE || c->content == NULL)
        return NULL;
    return (const char *)c->content;
}

static int attrs_ok(const struct ctype *t, const xmlNode *n)
{
    uint64_t seen = 0;
    for (const xmlAttr *a = n->properties; a != NULL; a = a->next) {
        if (a->ns != NULL)
            return 0;
        int i = 0;
        while (i < t->nattrs && (t->attrs[i].name[0] != a->name[0] ||
                                 strcmp(t->attrs[i].name,
                                        (const char *)a->name) != 0))
            i++;
        const char *value = only_text(a->children);
        if (i == t->nattrs || value == NULL || (seen >> i & 1))
            return 0;
        seen |= (uint64_t)1 << i;
        const struct attr *d = &t->attrs[i];
        if (d->fixed != NULL && strcmp(d->fixed, value) != 0)
            return 0;
        if (!value_ok(d->type, value))
            return 0;
    }
    for (int i = 0; i < t->nattrs; i++)
        if (t->attrs[i].required && !(seen >> i & 1))
            return 0;
    return 1;
}

static int name_is(const xmlNode *n, const char *ns, const char *name)
{
    if (n->name[0] != (xmlChar)name[0] ||
        strcmp((const char *)n->name, name) != 0)
        return 0;
    const char *href = n->ns ? (const char *)n->ns->href : NULL;
    return xsdv_str_eq(href, ns);
}

struct kids {
    const xmlNode **node;
    const struct elem **decl;
    int n;
};

static int match(const struct particle *p, struct kids *k, int *i);

static int match_once(const struct particle *p, struct kids *k, int *i)
{
    if (p->kind == P_SEQ) {
        for (int j = 0; j < p->nkids; j++)
            if (!match(p->kids[j], k, i))
                return 0;
        return 1;
    }
    for (int j = 0; j < p->nkids; j++) {
        int save = *i;
        if (match(p->kids[j], k, i) && *i > save)
            return 1;
        *i = save;
    }
    for (int j = 0; j < p->nkids; j++)
        if (p->kids[j]->emptiable)
            return 1;
    return 0;
}

/* Greedy: takes as many repetitions as possible.  Returns 1 with *i past
 * what was taken when the bounds hold. */
static int match(const struct particle *p, struct kids *k, int *i)
{
    int count = 0;
    if (p->kind == P_ELEM) {
        while ((p->max == UNBOUNDED || count < p->max) && *i < k->n &&
               name_is(k->node[*i], p->elem->ns, p->elem->name)) {
            k->decl[(*i)++] = p->elem;
            count++;
        }
        return count >= p->min;
    }
    while (p->max == UNBOUNDED || count < p->max) {
        int save = *i;
        if (!match_once(p, k, i)) {
            *i = save;
            break;
        }
        if (*i == save)
            return 1; /* an empty repetition fills any remaining minimum */
        count++;
    }
    return count >= p->min;
}

static int elem_ok(const xmlNode *n, const struct elem *e, int depth);

static int elements_ok(const struct ctype *t, const xmlNode *n, int depth)
{
    int count = 0;
    for (const xmlNode *c = n->children; c != NULL; c = c->next) {
        if (c->type == XML_ELEMENT_NODE) {
            count++;
        } else if (c->type == XML_TEXT_NODE) {
            for (const xmlChar *s = c->content; s && *s; s++)
                if (BLANK[*s] == 0)
                    return 0;
        } else {
            return 0;
        }
    }
    const xmlNode *snode[64];
    const struct elem *sdecl[64];
    struct kids k = {snode, sdecl, count};
    if (count > 64) {
        k.node = malloc((size_t)count * sizeof *k.node);
        k.decl = malloc((size_t)count * sizeof *k.decl);
    }
    int ok = k.node != NULL && k.decl != NULL;
    if (ok) {
        int j = 0;
        for (const xmlNode *c = n->children; c != NULL; c = c->next)
            if (c->type == XML_ELEMENT_NODE)
                k.node[j++] = c;
        int i = 0;
        ok = match(t->model, &k, &i) && i == count;
        for (j = 0; ok && j < count; j++)
            ok = elem_ok(k.node[j], k.decl[j], depth + 1);
    }
    if (k.node != snode) {
        free(k.node);
        free(k.decl);
    }
    return ok;
}

/* Field values of the nodes an identity constraint selects under n. */
struct vals {
    const char **v;
    int n, cap;
    int missing;
};

static int vals_push(struct vals *vs, const char *s)
{
    if (vs->n == vs->cap) {
        int cap = vs->cap ? vs->cap * 2 : 16;
        const char **nv = realloc(vs->v, (size_t)cap * sizeof *nv);
        if (nv == NULL)
            return -1;
        vs->v = nv;
        vs->cap = cap;
    }
    vs->v[vs->n++] = s;
    return 0;
}

static int select_vals(const struct idc *x, const xmlNode *n, int step,
                       struct vals *vs)
{
    if (step == x->nsteps) {
        for (const xmlAttr *a = n->properties; a != NULL; a = a->next) {
            if (a->ns == NULL && strcmp((const char *)a->name, x->field) == 0) {
                const char *v = only_text(a->children);
                /* Compared as strings: only already-collapsed values. */
                if (v == NULL || !collapsed(v))
                    return -1;
                return vals_push(vs, v);
            }
        }
        vs->missing++;
        return 0;
    }
    const struct step *st = &x->steps[step];
    for (const xmlNode *c = n->children; c != NULL; c = c->next)
        if (c->type == XML_ELEMENT_NODE &&
            (st->name == NULL || name_is(c, st->ns, st->name)) &&
            select_vals(x, c, step + 1, vs) < 0)
            return -1;
    return 0;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static int idcs_ok(const struct elem *e, const xmlNode *n)
{
    struct vals vs[8];
    int ok = e->nidcs <= 8;
    memset(vs, 0, sizeof vs);
    for (int i = 0; ok && i < e->nidcs; i++) {
        const struct idc *x = &e->idcs[i];
        ok = select_vals(x, n, 0, &vs[i]) == 0 &&
             !(x->kind == IDC_KEY && vs[i].missing > 0);
        if (ok && x->kind != IDC_KEYREF && vs[i].n > 1) {
            qsort(vs[i].v, (size_t)vs[i].n, sizeof *vs[i].v, cmp_str);
            for (int j = 1; ok && j < vs[i].n; j++)
                ok = strcmp(vs[i].v[j - 1], vs[i].v[j]) != 0;
        }
    }
    for (int i = 0; ok && i < e->nidcs; i++) {
        const struct idc *x = &e->idcs[i];
        if (x->kind != IDC_KEYREF)
            continue;
        const struct vals *keys = &vs[x->refer];
        for (int j = 0; ok && j < vs[i].n; j++)
            ok = keys->n > 0 && bsearch(&vs[i].v[j], keys->v, (size_t)keys->n,
                                        sizeof *keys->v, cmp_str) != NULL;
    }
    for (int i = 0; i < 8; i++)
        free(vs[i].v);
    return ok;
}

static int elem_ok(const xmlNode *n, const struct elem *e, int depth)
{
    if (depth > 256)
        return 0;
    if (e->simple != NULL) {
        const char *text = only_text(n->children);
        return n->properties == NULL && text != NULL &&
               value_ok(e->simple, text);
    }
    const struct ctype *t = e->complex;
    if (t == NULL || !attrs_ok(t, n))
        return 0;
    int ok;
    switch (t->content) {
    case C_EMPTY:
        ok = n->children == NULL;
        break;
    case C_SIMPLE: {
        const char *text = only_text(n->children);
        ok = text != NULL && value_ok(t->simple, text);
        break;
    }
    default:
        ok = elements_ok(t, n, depth);
        break;
    }
    return ok && (e->nidcs == 0 || idcs_ok(e, n));
}

int icx_xsdv_valid(const icx_xsdv *v, const xmlDoc *doc)
{
    const xmlNode *root = doc ? xmlDocGetRootElement(doc) : NULL;
    if (v == NULL || root == NULL)
        return 0;
    /* Only the root may sit at document level besides blank text. */
    for (const xmlNode *c = doc->children; c != NULL; c = c->next)
        if (c != root && c->type != XML_TEXT_NODE)
            return 0;
    for (int i = 0; i < v->nglobals; i++)
        if (name_is(root, v->globals[i]->ns, v->globals[i]->name))
            return elem_ok(root, v->globals[i], 0);
    return 0;
}
