/*
 * diff_scan.c - the text helpers, scanner and pickers of diff_scan.h.
 */
#include "diff_scan.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- text and PRNG ---------------------------------------------------- */

static void grow(struct dm_text *t, size_t need)
{
    if (need + 1 <= t->cap)
        return;
    size_t cap = (need + 1) * 2;
    char *p = realloc(t->s, cap);
    if (p == NULL)
        abort();
    t->s = p;
    t->cap = cap;
}

void dm_text_set(struct dm_text *t, const char *s, size_t n)
{
    grow(t, n);
    memcpy(t->s, s, n);
    t->n = n;
    t->s[n] = '\0';
}

void dm_text_free(struct dm_text *t)
{
    free(t->s);
    t->s = NULL;
    t->n = t->cap = 0;
}

void dm_text_splice(struct dm_text *t, size_t off, size_t del,
                    const char *ins, size_t inslen)
{
    if (off > t->n)
        off = t->n;
    if (del > t->n - off)
        del = t->n - off;
    grow(t, t->n - del + inslen);
    memmove(t->s + off + inslen, t->s + off + del, t->n - off - del);
    memcpy(t->s + off, ins, inslen);
    t->n = t->n - del + inslen;
    t->s[t->n] = '\0';
}

void dm_splice_str(struct dm_text *t, size_t off, size_t del,
                   const char *ins)
{
    dm_text_splice(t, off, del, ins, strlen(ins));
}

uint64_t dm_next(struct dm_rng *r)
{
    uint64_t z = (r->s += UINT64_C(0x9e3779b97f4a7c15));
    z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
    return z ^ (z >> 31);
}

size_t dm_below(struct dm_rng *r, size_t n)
{
    return (size_t)(dm_next(r) % n);
}

void dm_notef(char *note, size_t nl, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(note, nl, fmt, ap);
    va_end(ap);
}

/* ---- scanner ---------------------------------------------------------- */

size_t dm_find(const char *s, size_t n, size_t from, const char *pat)
{
    size_t m = strlen(pat);
    for (size_t i = from; i + m <= n; i++)
        if (memcmp(s + i, pat, m) == 0)
            return i;
    return SIZE_MAX;
}

int dm_starts(const char *s, size_t n, size_t i, const char *pat)
{
    size_t m = strlen(pat);
    return i + m <= n && memcmp(s + i, pat, m) == 0;
}

void dm_scan(const struct dm_text *t, struct scan *sc)
{
    const char *s = t->s;
    size_t n = t->n;
    sc->n = 0;
    for (size_t i = 0; i < n && sc->n < MAX_TOKS;) {
        if (s[i] != '<') {
            i++;
            continue;
        }
        size_t end;
        int kind;
        if (dm_starts(s, n, i, "<![CDATA[")) {
            end = dm_find(s, n, i + 9, "]]>");
            end = end == SIZE_MAX ? end : end + 2;
            kind = TK_CDATA;
        } else if (dm_starts(s, n, i, "<!--")) {
            end = dm_find(s, n, i + 4, "-->");
            end = end == SIZE_MAX ? end : end + 2;
            kind = TK_OTHER;
        } else if (dm_starts(s, n, i, "<?")) {
            end = dm_find(s, n, i + 2, "?>");
            end = end == SIZE_MAX ? end : end + 1;
            kind = TK_DECL;
        } else if (dm_starts(s, n, i, "<!")) {
            end = dm_find(s, n, i + 2, ">");
            kind = TK_OTHER;
        } else {
            kind = i + 1 < n && s[i + 1] == '/' ? TK_END : TK_START;
            char q = 0;
            size_t j;
            for (j = i + 1; j < n; j++) {
                char c = s[j];
                if (q != 0) {
                    if (c == q)
                        q = 0;
                } else if (c == '"' || c == '\'') {
                    q = c;
                } else if (c == '>' || c == '<') {
                    break;
                }
            }
            end = j < n && s[j] == '>' ? j : SIZE_MAX;
        }
        if (end == SIZE_MAX)
            break;
        sc->v[sc->n++] = (struct tok){i, end, kind};
        i = end + 1;
    }
}

int dm_is_ws(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* Offset and length of a start or end tag's qualified name. */
size_t dm_tag_name(const struct dm_text *t, const struct tok *k,
                   size_t *len)
{
    size_t a = k->lt + (k->kind == TK_END ? 2 : 1), b = a;
    while (b < k->gt && !dm_is_ws(t->s[b]) && t->s[b] != '/' && t->s[b] != '>')
        b++;
    *len = b - a;
    return a;
}

int dm_tag_is(const struct dm_text *t, const struct tok *k,
              const char *qname)
{
    size_t len, a = dm_tag_name(t, k, &len);
    return len == strlen(qname) && memcmp(t->s + a, qname, len) == 0;
}

int dm_self_closing(const struct dm_text *t, const struct tok *k)
{
    return k->kind == TK_START && k->gt > k->lt && t->s[k->gt - 1] == '/';
}

/* Index of the start tag of qname and of its end tag (same when empty). */
int dm_element(const struct dm_text *t, const struct scan *sc,
               const char *qname, size_t *si, size_t *ei)
{
    for (size_t i = 0; i < sc->n; i++) {
        if (sc->v[i].kind != TK_START || !dm_tag_is(t, &sc->v[i], qname))
            continue;
        *si = i;
        if (dm_self_closing(t, &sc->v[i])) {
            *ei = i;
            return 0;
        }
        for (size_t j = i + 1; j < sc->n; j++)
            if (sc->v[j].kind == TK_END && dm_tag_is(t, &sc->v[j], qname)) {
                *ei = j;
                return 0;
            }
        return -1;
    }
    return -1;
}

/* The byte span [a, b) of element qname, or of the whole text when qname
 * is NULL or not found. */
void dm_region(const struct dm_text *t, const struct scan *sc,
               const char *qname, size_t *a, size_t *b)
{
    size_t si, ei;
    *a = 0;
    *b = t->n;
    if (qname != NULL && dm_element(t, sc, qname, &si, &ei) == 0) {
        *a = sc->v[si].lt;
        *b = sc->v[ei].gt + 1;
    }
}

int dm_local_is(const struct dm_text *t, const struct tok *k,
                const char *local)
{
    size_t len, a = dm_tag_name(t, k, &len);
    const char *colon = memchr(t->s + a, ':', len);
    if (colon != NULL) {
        len -= (size_t)(colon + 1 - (t->s + a));
        a = (size_t)(colon + 1 - t->s);
    }
    return len == strlen(local) && memcmp(t->s + a, local, len) == 0;
}

int dm_element_content(const struct dm_text *t, const char *local,
                       size_t from, size_t *a, size_t *b)
{
    static struct scan cs; /* single-threaded test: one at a time */
    dm_scan(t, &cs);
    for (size_t i = 0; i < cs.n; i++) {
        if (cs.v[i].kind != TK_START || cs.v[i].lt < from ||
            !dm_local_is(t, &cs.v[i], local))
            continue;
        if (dm_self_closing(t, &cs.v[i]))
            return -1;
        for (size_t j = i + 1; j < cs.n; j++)
            if (cs.v[j].kind == TK_END && dm_local_is(t, &cs.v[j], local)) {
                *a = cs.v[i].gt + 1;
                *b = cs.v[j].lt;
                return 0;
            }
        return -1;
    }
    return -1;
}

const char *dm_some_region(struct dm_rng *r)
{
    static const char *const regions[] = {
        NULL, "Header", "Payload", "Payload", "ds:Signature", "ds:SignedInfo",
    };
    return PICK(r, regions);
}

/* A random token of kind (-1: start or end tag) inside [a, b). */
long dm_pick_tok(struct dm_rng *r, const struct scan *sc, int kind,
                 size_t a, size_t b)
{
    long found = -1;
    size_t seen = 0;
    for (size_t i = 0; i < sc->n; i++) {
        const struct tok *k = &sc->v[i];
        int ok = kind >= 0 ? k->kind == kind
                           : k->kind == TK_START || k->kind == TK_END;
        if (ok && k->lt >= a && k->gt < b && dm_below(r, ++seen) == 0)
            found = (long)i;
    }
    return found;
}

int dm_blank(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!dm_is_ws(s[i]))
            return 0;
    return 1;
}

/* A random text run (between two markup tokens) inside [a, b). */
int dm_pick_text(struct dm_rng *r, const struct dm_text *t,
                 const struct scan *sc, size_t a, size_t b, int nonblank,
                 size_t *off, size_t *len)
{
    size_t seen = 0;
    int found = -1;
    for (size_t i = 0; i + 1 < sc->n; i++) {
        size_t s0 = sc->v[i].gt + 1, s1 = sc->v[i + 1].lt;
        if (s1 <= s0 || s0 < a || s1 > b)
            continue;
        if (nonblank && dm_blank(t->s + s0, s1 - s0))
            continue;
        if (dm_below(r, ++seen) == 0) {
            *off = s0;
            *len = s1 - s0;
            found = 0;
        }
    }
    return found;
}

/* Whether position p of run [from, ..) is part of a reference &...; */
int dm_in_ref(const char *s, size_t from, size_t p)
{
    int in = 0;
    for (size_t i = from; i <= p; i++) {
        if (s[i] == '&')
            in = 1;
        if (i == p)
            return in;
        if (s[i] == ';')
            in = 0;
    }
    return in;
}

/* A position in [off, off+len) not inside a reference and, when want is
 * not NULL, holding one of its characters; SIZE_MAX when none found. */
size_t dm_pick_pos(struct dm_rng *r, const char *s, size_t off,
                   size_t len, const char *want)
{
    if (len == 0)
        return SIZE_MAX;
    for (int tries = 0; tries < 32; tries++) {
        size_t p = off + dm_below(r, len);
        if (dm_in_ref(s, off, p))
            continue;
        if (want != NULL && strchr(want, s[p]) == NULL)
            continue;
        return p;
    }
    return SIZE_MAX;
}

size_t dm_attrs(const struct dm_text *t, const struct tok *k,
                struct attr *v)
{
    const char *s = t->s;
    size_t nlen, j = dm_tag_name(t, k, &nlen) + nlen, n = 0;
    while (n < MAX_ATTRS) {
        size_t ws = j;
        while (j < k->gt && dm_is_ws(s[j]))
            j++;
        if (j >= k->gt || s[j] == '/' || j == ws)
            break;
        size_t name = j;
        while (j < k->gt && !dm_is_ws(s[j]) && s[j] != '=')
            j++;
        size_t name_end = j;
        while (j < k->gt && dm_is_ws(s[j]))
            j++;
        if (j >= k->gt || s[j] != '=')
            break;
        size_t eq = j++;
        while (j < k->gt && dm_is_ws(s[j]))
            j++;
        if (j >= k->gt || (s[j] != '"' && s[j] != '\''))
            break;
        char q = s[j++];
        size_t val = j;
        while (j < k->gt && s[j] != q)
            j++;
        if (j >= k->gt)
            break;
        v[n++] = (struct attr){ws, name, name_end - name, eq, val, j - val, q};
        j++;
    }
    return n;
}

int dm_attr_is_ns(const struct dm_text *t, const struct attr *at)
{
    return at->nlen >= 5 && memcmp(t->s + at->name, "xmlns", 5) == 0 &&
           (at->nlen == 5 || t->s[at->name + 5] == ':');
}

/* A random attribute (ns: 1 declarations only, 0 others, -1 any) of a
 * start tag in [a, b). */
int dm_pick_attr(struct dm_rng *r, const struct dm_text *t,
                 const struct scan *sc, size_t a, size_t b, int ns,
                 struct attr *out)
{
    size_t seen = 0;
    int found = -1;
    for (size_t i = 0; i < sc->n; i++) {
        const struct tok *k = &sc->v[i];
        if (k->kind != TK_START || k->lt < a || k->gt >= b)
            continue;
        struct attr v[MAX_ATTRS];
        size_t n = dm_attrs(t, k, v);
        for (size_t j = 0; j < n; j++) {
            if (ns >= 0 && dm_attr_is_ns(t, &v[j]) != ns)
                continue;
            if (dm_below(r, ++seen) == 0) {
                *out = v[j];
                found = 0;
            }
        }
    }
    return found;
}

const char dm_alnum[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
const char dm_b64chars[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

char dm_other_char(struct dm_rng *r, const char *set, char not)
{
    size_t n = strlen(set);
    for (;;) {
        char c = set[dm_below(r, n)];
        if (c != not)
            return c;
    }
}

const char *dm_ws_run(struct dm_rng *r)
{
    static const char *const runs[] = {
        " ", "  ", "\t", "\n", "\r\n", "\n\t", " \n ", "\r", "\t\t\n",
    };
    return PICK(r, runs);
}

const char *dm_payload_or_header(struct dm_rng *r)
{
    return dm_below(r, 3) == 0 ? "Header" : "Payload";
}
