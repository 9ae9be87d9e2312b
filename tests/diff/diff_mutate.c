/*
 * diff_mutate.c - the mutations of diff_mutate.h.
 *
 * A small scanner splits the text into markup (tags, XML declaration,
 * CDATA, comments) and the text between; regions are found by element
 * name (Header, Payload, ds:Signature, ds:SignedInfo, ...).  Mutations
 * stacked on one another may break the markers: a mutation that finds no
 * region works on the whole text, or reports that it has no place.
 *
 * Every mutation either means to keep the canonical form (DM_NEUTRAL:
 * whitespace inside tags, references for characters, CDATA, quotes,
 * redundant declarations; both verifiers should accept) or to change what
 * is signed or the signature's shape (both should refuse, or ICX alone
 * where its profile is stricter).  The test does not rely on the intent;
 * it only compares the two verdicts.
 */
#include "diff_mutate.h"

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

static void splice_str(struct dm_text *t, size_t off, size_t del,
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

#define PICK(r, arr) ((arr)[dm_below((r), sizeof(arr) / sizeof((arr)[0]))])

static void notef(char *note, size_t nl, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void notef(char *note, size_t nl, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(note, nl, fmt, ap);
    va_end(ap);
}

/* ---- scanner ---------------------------------------------------------- */

enum { TK_START, TK_END, TK_DECL, TK_CDATA, TK_OTHER };

struct tok {
    size_t lt, gt; /* offsets of '<' and of the closing '>' */
    int kind;
};

#define MAX_TOKS 4096

struct scan {
    struct tok v[MAX_TOKS];
    size_t n;
};

static size_t find(const char *s, size_t n, size_t from, const char *pat)
{
    size_t m = strlen(pat);
    for (size_t i = from; i + m <= n; i++)
        if (memcmp(s + i, pat, m) == 0)
            return i;
    return SIZE_MAX;
}

static int starts(const char *s, size_t n, size_t i, const char *pat)
{
    size_t m = strlen(pat);
    return i + m <= n && memcmp(s + i, pat, m) == 0;
}

static void scan(const struct dm_text *t, struct scan *sc)
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
        if (starts(s, n, i, "<![CDATA[")) {
            end = find(s, n, i + 9, "]]>");
            end = end == SIZE_MAX ? end : end + 2;
            kind = TK_CDATA;
        } else if (starts(s, n, i, "<!--")) {
            end = find(s, n, i + 4, "-->");
            end = end == SIZE_MAX ? end : end + 2;
            kind = TK_OTHER;
        } else if (starts(s, n, i, "<?")) {
            end = find(s, n, i + 2, "?>");
            end = end == SIZE_MAX ? end : end + 1;
            kind = TK_DECL;
        } else if (starts(s, n, i, "<!")) {
            end = find(s, n, i + 2, ">");
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

static int is_ws(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* Offset and length of a start or end tag's qualified name. */
static size_t tag_name(const struct dm_text *t, const struct tok *k,
                       size_t *len)
{
    size_t a = k->lt + (k->kind == TK_END ? 2 : 1), b = a;
    while (b < k->gt && !is_ws(t->s[b]) && t->s[b] != '/' && t->s[b] != '>')
        b++;
    *len = b - a;
    return a;
}

static int tag_is(const struct dm_text *t, const struct tok *k,
                  const char *qname)
{
    size_t len, a = tag_name(t, k, &len);
    return len == strlen(qname) && memcmp(t->s + a, qname, len) == 0;
}

static int self_closing(const struct dm_text *t, const struct tok *k)
{
    return k->kind == TK_START && k->gt > k->lt && t->s[k->gt - 1] == '/';
}

/* Index of the start tag of qname and of its end tag (same when empty). */
static int element(const struct dm_text *t, const struct scan *sc,
                   const char *qname, size_t *si, size_t *ei)
{
    for (size_t i = 0; i < sc->n; i++) {
        if (sc->v[i].kind != TK_START || !tag_is(t, &sc->v[i], qname))
            continue;
        *si = i;
        if (self_closing(t, &sc->v[i])) {
            *ei = i;
            return 0;
        }
        for (size_t j = i + 1; j < sc->n; j++)
            if (sc->v[j].kind == TK_END && tag_is(t, &sc->v[j], qname)) {
                *ei = j;
                return 0;
            }
        return -1;
    }
    return -1;
}

/* The byte span [a, b) of element qname, or of the whole text when qname
 * is NULL or not found. */
static void region(const struct dm_text *t, const struct scan *sc,
                   const char *qname, size_t *a, size_t *b)
{
    size_t si, ei;
    *a = 0;
    *b = t->n;
    if (qname != NULL && element(t, sc, qname, &si, &ei) == 0) {
        *a = sc->v[si].lt;
        *b = sc->v[ei].gt + 1;
    }
}

static int local_is(const struct dm_text *t, const struct tok *k,
                    const char *local)
{
    size_t len, a = tag_name(t, k, &len);
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
    scan(t, &cs);
    for (size_t i = 0; i < cs.n; i++) {
        if (cs.v[i].kind != TK_START || cs.v[i].lt < from ||
            !local_is(t, &cs.v[i], local))
            continue;
        if (self_closing(t, &cs.v[i]))
            return -1;
        for (size_t j = i + 1; j < cs.n; j++)
            if (cs.v[j].kind == TK_END && local_is(t, &cs.v[j], local)) {
                *a = cs.v[i].gt + 1;
                *b = cs.v[j].lt;
                return 0;
            }
        return -1;
    }
    return -1;
}

static const char *some_region(struct dm_rng *r)
{
    static const char *const regions[] = {
        NULL, "Header", "Payload", "Payload", "ds:Signature", "ds:SignedInfo",
    };
    return PICK(r, regions);
}

/* A random token of kind (-1: start or end tag) inside [a, b). */
static long pick_tok(struct dm_rng *r, const struct scan *sc, int kind,
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

static int blank(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!is_ws(s[i]))
            return 0;
    return 1;
}

/* A random text run (between two markup tokens) inside [a, b). */
static int pick_text(struct dm_rng *r, const struct dm_text *t,
                     const struct scan *sc, size_t a, size_t b, int nonblank,
                     size_t *off, size_t *len)
{
    size_t seen = 0;
    int found = -1;
    for (size_t i = 0; i + 1 < sc->n; i++) {
        size_t s0 = sc->v[i].gt + 1, s1 = sc->v[i + 1].lt;
        if (s1 <= s0 || s0 < a || s1 > b)
            continue;
        if (nonblank && blank(t->s + s0, s1 - s0))
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
static int in_ref(const char *s, size_t from, size_t p)
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
static size_t pick_pos(struct dm_rng *r, const char *s, size_t off,
                       size_t len, const char *want)
{
    if (len == 0)
        return SIZE_MAX;
    for (int tries = 0; tries < 32; tries++) {
        size_t p = off + dm_below(r, len);
        if (in_ref(s, off, p))
            continue;
        if (want != NULL && strchr(want, s[p]) == NULL)
            continue;
        return p;
    }
    return SIZE_MAX;
}

struct attr {
    size_t ws;        /* whitespace before the name */
    size_t name, nlen;
    size_t eq;        /* the '=' */
    size_t val, vlen; /* inside the quotes */
    char quote;
};

#define MAX_ATTRS 32

static size_t attrs(const struct dm_text *t, const struct tok *k,
                    struct attr *v)
{
    const char *s = t->s;
    size_t nlen, j = tag_name(t, k, &nlen) + nlen, n = 0;
    while (n < MAX_ATTRS) {
        size_t ws = j;
        while (j < k->gt && is_ws(s[j]))
            j++;
        if (j >= k->gt || s[j] == '/' || j == ws)
            break;
        size_t name = j;
        while (j < k->gt && !is_ws(s[j]) && s[j] != '=')
            j++;
        size_t name_end = j;
        while (j < k->gt && is_ws(s[j]))
            j++;
        if (j >= k->gt || s[j] != '=')
            break;
        size_t eq = j++;
        while (j < k->gt && is_ws(s[j]))
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

static int attr_is_ns(const struct dm_text *t, const struct attr *at)
{
    return at->nlen >= 5 && memcmp(t->s + at->name, "xmlns", 5) == 0 &&
           (at->nlen == 5 || t->s[at->name + 5] == ':');
}

/* A random attribute (ns: 1 declarations only, 0 others, -1 any) of a
 * start tag in [a, b). */
static int pick_attr(struct dm_rng *r, const struct dm_text *t,
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
        size_t n = attrs(t, k, v);
        for (size_t j = 0; j < n; j++) {
            if (ns >= 0 && attr_is_ns(t, &v[j]) != ns)
                continue;
            if (dm_below(r, ++seen) == 0) {
                *out = v[j];
                found = 0;
            }
        }
    }
    return found;
}

static const char alnum[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
static const char b64chars[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static char other_char(struct dm_rng *r, const char *set, char not)
{
    size_t n = strlen(set);
    for (;;) {
        char c = set[dm_below(r, n)];
        if (c != not)
            return c;
    }
}

static const char *ws_run(struct dm_rng *r)
{
    static const char *const runs[] = {
        " ", "  ", "\t", "\n", "\r\n", "\n\t", " \n ", "\r", "\t\t\n",
    };
    return PICK(r, runs);
}

static const char *payload_or_header(struct dm_rng *r)
{
    return dm_below(r, 3) == 0 ? "Header" : "Payload";
}

/* The name of the tag add_to_tag changed last, for the notes. */
static char last_tag[64];

/* Inserts ins right after the name of a random start tag in [a, b). */
static int add_to_tag(struct dm_rng *r, struct dm_text *t,
                      const struct scan *sc, size_t a, size_t b,
                      const char *ins)
{
    long i = pick_tok(r, sc, TK_START, a, b);
    if (i < 0)
        return -1;
    size_t nlen, name = tag_name(t, &sc->v[i], &nlen);
    snprintf(last_tag, sizeof last_tag, "%.*s", (int)nlen, t->s + name);
    splice_str(t, name + nlen, 0, ins);
    return 0;
}

#define MUT(fn)                                                              \
    static int fn(struct dm_text *t, struct dm_rng *r,                       \
                  const struct dm_env *e, char *note, size_t nl)
#define UNUSED_ENV (void)e

static struct scan sc; /* one scan at a time: single-threaded test */

/* ---- payload: signed content changes ------------------------------ */

MUT(m_text_char)
{
    UNUSED_ENV;
    size_t a, b, off, len;
    scan(t, &sc);
    region(t, &sc, payload_or_header(r), &a, &b);
    if (pick_text(r, t, &sc, a, b, 1, &off, &len) < 0)
        return -1;
    size_t p = pick_pos(r, t->s, off, len, alnum);
    if (p == SIZE_MAX)
        return -1;
    char old = t->s[p];
    t->s[p] = other_char(r, alnum, old);
    notef(note, nl, "text byte %zu '%c' -> '%c'", p, old, t->s[p]);
    return 0;
}

MUT(m_attr_char)
{
    UNUSED_ENV;
    struct attr at;
    scan(t, &sc);
    if (pick_attr(r, t, &sc, 0, t->n, 0, &at) < 0)
        return -1;
    size_t p = pick_pos(r, t->s, at.val, at.vlen, alnum);
    if (p == SIZE_MAX)
        return -1;
    char old = t->s[p];
    t->s[p] = other_char(r, alnum, old);
    notef(note, nl, "attribute %.*s byte %zu '%c' -> '%c'", (int)at.nlen,
          t->s + at.name, p, old, t->s[p]);
    return 0;
}

MUT(m_attr_add)
{
    UNUSED_ENV;
    static const char *const adds[] = {
        " x=\"1\"", " xml:lang=\"en\"", " p:a=\"1\" xmlns:p=\"urn:icx:test\"",
        " Id=\"i1\"", " xml:space=\"preserve\"",
        (" xsi:nil=\"true\" "
         "xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\""),
    };
    size_t a, b;
    scan(t, &sc);
    region(t, &sc, some_region(r), &a, &b);
    const char *add = PICK(r, adds);
    if (add_to_tag(r, t, &sc, a, b, add) < 0)
        return -1;
    notef(note, nl, "attribute added to <%s>:%s", last_tag, add);
    return 0;
}

MUT(m_attr_remove)
{
    UNUSED_ENV;
    struct attr at;
    scan(t, &sc);
    if (pick_attr(r, t, &sc, 0, t->n, 0, &at) < 0)
        return -1;
    notef(note, nl, "attribute %.*s removed", (int)at.nlen, t->s + at.name);
    dm_text_splice(t, at.ws, at.val + at.vlen + 1 - at.ws, "", 0);
    return 0;
}

MUT(m_elem_dup)
{
    UNUSED_ENV;
    size_t a, b, seen = 0, pick = SIZE_MAX;
    scan(t, &sc);
    region(t, &sc, payload_or_header(r), &a, &b);
    for (size_t i = 0; i + 1 < sc.n; i++)
        if (sc.v[i].kind == TK_START && sc.v[i + 1].kind == TK_END &&
            sc.v[i].lt >= a && sc.v[i + 1].gt < b &&
            dm_below(r, ++seen) == 0)
            pick = i;
    if (pick == SIZE_MAX)
        return -1;
    size_t s0 = sc.v[pick].lt, s1 = sc.v[pick + 1].gt + 1;
    char *copy = malloc(s1 - s0);
    if (copy == NULL)
        abort();
    memcpy(copy, t->s + s0, s1 - s0);
    dm_text_splice(t, s1, 0, copy, s1 - s0);
    free(copy);
    notef(note, nl, "element at %zu duplicated", s0);
    return 0;
}

/* ---- namespaces ----------------------------------------------------- */

MUT(m_ns_unused)
{
    UNUSED_ENV;
    static const char *const decls[] = {
        " xmlns:u=\"urn:icx:unused\"", " xmlns:u0=\"http://example.org/u\"",
        " xmlns:xs=\"http://www.w3.org/2001/XMLSchema\"",
        " xmlns:ds=\"http://www.w3.org/2000/09/xmldsig#\"",
        " xmlns:xml=\"http://www.w3.org/XML/1998/namespace\"",
    };
    size_t a, b;
    scan(t, &sc);
    region(t, &sc, some_region(r), &a, &b);
    const char *d = PICK(r, decls);
    if (add_to_tag(r, t, &sc, a, b, d) < 0)
        return -1;
    notef(note, nl, "declaration added to <%s>:%s", last_tag, d);
    return 0;
}

/* Adds a declaration that repeats the one in scope. */
MUT(m_ns_redundant)
{
    size_t a, b;
    char decl[160];
    scan(t, &sc);
    switch (dm_below(r, 3)) {
    case 0:
        region(t, &sc, "Header", &a, &b);
        snprintf(decl, sizeof decl, " xmlns=\"urn:icx:envelope:1\"");
        break;
    case 1: {
        size_t si, ei;
        if (element(t, &sc, "Payload", &si, &ei) < 0 || ei <= si + 1)
            return -1;
        a = sc.v[si + 1].lt; /* inside Payload: the payload's namespace */
        b = sc.v[ei].lt;
        snprintf(decl, sizeof decl, " xmlns=\"%s\"", e->payload_ns);
        break;
    }
    default:
        region(t, &sc, "ds:SignedInfo", &a, &b);
        snprintf(decl, sizeof decl,
                 " xmlns:ds=\"http://www.w3.org/2000/09/xmldsig#\"");
    }
    long i = pick_tok(r, &sc, TK_START, a, b);
    if (i < 0)
        return -1;
    size_t nlen, at = tag_name(t, &sc.v[i], &nlen);
    if (strncmp(decl, " xmlns=", 7) == 0 &&
        memchr(t->s + at, ':', nlen) != NULL)
        return -1; /* a default declaration on a prefixed element */
    splice_str(t, at + nlen, 0, decl);
    notef(note, nl, "redundant declaration at %zu:%s", at, decl);
    return 0;
}

MUT(m_ns_default_other)
{
    UNUSED_ENV;
    size_t a, b;
    scan(t, &sc);
    region(t, &sc, some_region(r), &a, &b);
    const char *d = dm_below(r, 2) ? " xmlns=\"urn:icx:other\""
                                   : " xmlns=\"urn:icx:envelope:1\"";
    if (add_to_tag(r, t, &sc, a, b, d) < 0)
        return -1;
    notef(note, nl, "default namespace declared on <%s>:%s", last_tag, d);
    return 0;
}

/* Inserts prefix ("e:") into every start and end tag in [a, b) whose
 * name has no prefix and, when names is not NULL, is listed. */
static size_t prefix_tags(struct dm_text *t, size_t a, size_t b,
                          const char *prefix, const char *const *names)
{
    size_t done = 0;
    scan(t, &sc);
    for (size_t i = sc.n; i-- > 0;) {
        const struct tok *k = &sc.v[i];
        if ((k->kind != TK_START && k->kind != TK_END) || k->lt < a ||
            k->gt >= b)
            continue;
        size_t nlen, at = tag_name(t, k, &nlen);
        if (memchr(t->s + at, ':', nlen) != NULL)
            continue;
        int listed = names == NULL;
        for (size_t j = 0; names != NULL && names[j] != NULL; j++)
            listed |= nlen == strlen(names[j]) &&
                      memcmp(t->s + at, names[j], nlen) == 0;
        if (!listed)
            continue;
        splice_str(t, at, 0, prefix);
        done++;
    }
    return done;
}

MUT(m_ns_prefix_env)
{
    UNUSED_ENV;
    static const char *const names[] = {
        "Envelope", "Header", "MessageId", "ConversationId", "RefToMessageId",
        "Sender", "Recipient", "Created", "Expires", "Category", "Handling",
        "Payload", NULL,
    };
    static const char *const prefixes[] = {"e", "env", "icx", "ds2"};
    const char *p = PICK(r, prefixes);
    char pre[16], decl[64];
    snprintf(pre, sizeof pre, "%s:", p);
    if (prefix_tags(t, 0, t->n, pre, names) == 0)
        return -1;
    size_t at = find(t->s, t->n, 0, "xmlns=\"urn:icx:envelope:1\"");
    if (at == SIZE_MAX)
        return -1;
    int keep = dm_below(r, 2) == 0;
    snprintf(decl, sizeof decl, "%sxmlns:%s=\"urn:icx:envelope:1\"",
             keep ? "xmlns=\"urn:icx:envelope:1\" " : "", p);
    dm_text_splice(t, at, strlen("xmlns=\"urn:icx:envelope:1\""), decl,
                   strlen(decl));
    notef(note, nl, "envelope elements prefixed %s (default %s)", p,
          keep ? "kept" : "removed");
    return 0;
}

MUT(m_ns_prefix_payload)
{
    (void)r;
    size_t si, ei;
    scan(t, &sc);
    if (element(t, &sc, "Payload", &si, &ei) < 0 || ei <= si + 1)
        return -1;
    size_t a = sc.v[si + 1].lt, b = sc.v[ei].lt;
    if (prefix_tags(t, a, b, "p:", NULL) == 0)
        return -1;
    char decl[128];
    snprintf(decl, sizeof decl, " xmlns:p=\"%s\"", e->payload_ns);
    /* The payload element's tag still starts at a (prefixes went in
     * after its '<'). */
    scan(t, &sc);
    for (size_t i = 0; i < sc.n; i++) {
        if (sc.v[i].lt != a)
            continue;
        size_t nlen, at = tag_name(t, &sc.v[i], &nlen);
        splice_str(t, at + nlen, 0, decl);
        notef(note, nl, "payload elements prefixed p:");
        return 0;
    }
    return -1;
}

static size_t replace_all(struct dm_text *t, const char *from, const char *to)
{
    size_t n = 0, m = strlen(from), k = strlen(to);
    for (size_t at = find(t->s, t->n, 0, from); at != SIZE_MAX;
         at = find(t->s, t->n, at + k, from)) {
        dm_text_splice(t, at, m, to, k);
        n++;
    }
    return n;
}

MUT(m_ns_ds_rename)
{
    UNUSED_ENV;
    static const char *const to[] = {"dsig", "s", "ds2", "x", "Ds"};
    const char *p = PICK(r, to);
    char a[16], b[16], c[24];
    snprintf(a, sizeof a, "<%s:", p);
    snprintf(b, sizeof b, "</%s:", p);
    snprintf(c, sizeof c, "xmlns:%s=", p);
    if (replace_all(t, "<ds:", a) == 0)
        return -1;
    replace_all(t, "</ds:", b);
    replace_all(t, "xmlns:ds=", c);
    notef(note, nl, "ds prefix renamed %s", p);
    return 0;
}

MUT(m_ns_ds_default)
{
    UNUSED_ENV;
    (void)r;
    if (replace_all(t, "<ds:", "<") == 0)
        return -1;
    replace_all(t, "</ds:", "</");
    replace_all(t, "xmlns:ds=", "xmlns=");
    notef(note, nl, "XML-DSig as the default namespace");
    return 0;
}

MUT(m_ns_remove)
{
    UNUSED_ENV;
    struct attr at;
    scan(t, &sc);
    if (pick_attr(r, t, &sc, 0, t->n, 1, &at) < 0)
        return -1;
    notef(note, nl, "declaration %.*s removed", (int)at.nlen, t->s + at.name);
    dm_text_splice(t, at.ws, at.val + at.vlen + 1 - at.ws, "", 0);
    return 0;
}

MUT(m_ns_relative)
{
    UNUSED_ENV;
    static const char *const names[] = {
        "rel/x", "../x", "x", "#frag", "?q", "//host/x", "urn",
    };
    const char *name = PICK(r, names);
    char decl[64];
    size_t a, b;
    scan(t, &sc);
    if (dm_below(r, 2) == 0) {
        snprintf(decl, sizeof decl, " xmlns:r=\"%s\"", name);
        region(t, &sc, some_region(r), &a, &b);
        if (add_to_tag(r, t, &sc, a, b, decl) < 0)
            return -1;
        notef(note, nl, "unused relative declaration on <%s>:%s", last_tag,
              decl);
        return 0;
    }
    struct attr at;
    if (pick_attr(r, t, &sc, 0, t->n, 1, &at) < 0)
        return -1;
    notef(note, nl, "declaration %.*s made relative: %s", (int)at.nlen,
          t->s + at.name, name);
    splice_str(t, at.val, at.vlen, name);
    return 0;
}

MUT(m_ns_escaped)
{
    UNUSED_ENV;
    scan(t, &sc);
    if (dm_below(r, 2) == 0) {
        static const char *const decls[] = {
            " xmlns:q=\"urn:a&amp;b\"", " xmlns:q=\"urn:a&lt;b&gt;\"",
            " xmlns:q=\"urn:a&#x20;b\"", " xmlns:q=\"urn:a&quot;b\"",
            " xmlns:q=\"urn:a%20b\"", " xmlns:q=\"urn:&#x3b1;\"",
            " xmlns:q=\"urn:a&#9;b\"",
        };
        size_t a, b;
        const char *d = PICK(r, decls);
        region(t, &sc, some_region(r), &a, &b);
        if (add_to_tag(r, t, &sc, a, b, d) < 0)
            return -1;
        notef(note, nl, "escaped declaration added to <%s>:%s", last_tag, d);
        return 0;
    }
    struct attr at;
    if (pick_attr(r, t, &sc, 0, t->n, 1, &at) < 0)
        return -1;
    size_t p = pick_pos(r, t->s, at.val, at.vlen, alnum);
    if (p == SIZE_MAX)
        return -1;
    char ref[16];
    snprintf(ref, sizeof ref, dm_below(r, 2) ? "&#x%x;" : "&#%d;",
             (unsigned char)t->s[p]);
    notef(note, nl, "declaration %.*s: byte %zu as %s", (int)at.nlen,
          t->s + at.name, p, ref);
    splice_str(t, p, 1, ref);
    return 0;
}

/* ---- whitespace ----------------------------------------------------- */

MUT(m_ws_tag_end)
{
    UNUSED_ENV;
    size_t a, b;
    scan(t, &sc);
    region(t, &sc, some_region(r), &a, &b);
    long i = pick_tok(r, &sc, -1, a, b);
    if (i < 0)
        return -1;
    size_t at = self_closing(t, &sc.v[i]) ? sc.v[i].gt - 1 : sc.v[i].gt;
    const char *w = ws_run(r);
    splice_str(t, at, 0, w);
    notef(note, nl, "whitespace before the end of the tag at %zu",
          sc.v[i].lt);
    return 0;
}

MUT(m_ws_attr_sep)
{
    UNUSED_ENV;
    struct attr at;
    scan(t, &sc);
    if (pick_attr(r, t, &sc, 0, t->n, -1, &at) < 0)
        return -1;
    notef(note, nl, "whitespace before attribute %.*s", (int)at.nlen,
          t->s + at.name);
    splice_str(t, at.ws, at.name - at.ws, ws_run(r));
    return 0;
}

MUT(m_ws_attr_eq)
{
    UNUSED_ENV;
    struct attr at;
    scan(t, &sc);
    if (pick_attr(r, t, &sc, 0, t->n, -1, &at) < 0)
        return -1;
    static const char *const eqs[] = {" =", "= ", " = ", "\n=\t", "\r\n= "};
    notef(note, nl, "whitespace around = of %.*s", (int)at.nlen,
          t->s + at.name);
    splice_str(t, at.eq, 1, PICK(r, eqs));
    return 0;
}

static const char *text_ws(struct dm_rng *r)
{
    static const char *const w[] = {
        " ", "\t", "\n", "\r\n", "\r", "&#13;", "&#9;", "&#xA;", "&#x20;",
        "&#xD;&#xA;",
    };
    return PICK(r, w);
}

MUT(m_ws_text)
{
    UNUSED_ENV;
    size_t a, b, off, len;
    scan(t, &sc);
    region(t, &sc, some_region(r), &a, &b);
    if (pick_text(r, t, &sc, a, b, 1, &off, &len) < 0)
        return -1;
    size_t p = pick_pos(r, t->s, off, len + 1, NULL);
    if (p == SIZE_MAX)
        return -1;
    const char *w = text_ws(r);
    splice_str(t, p, 0, w);
    notef(note, nl, "whitespace in text at %zu", p);
    return 0;
}

MUT(m_ws_between)
{
    UNUSED_ENV;
    size_t seen = 0, pick = SIZE_MAX;
    scan(t, &sc);
    for (size_t i = 0; i + 1 < sc.n; i++)
        if (sc.v[i].kind != TK_DECL && sc.v[i].gt + 1 <= sc.v[i + 1].lt &&
            blank(t->s + sc.v[i].gt + 1, sc.v[i + 1].lt - sc.v[i].gt - 1) &&
            dm_below(r, ++seen) == 0)
            pick = i;
    if (pick == SIZE_MAX)
        return -1;
    size_t at = sc.v[pick].gt + 1;
    splice_str(t, at, 0, text_ws(r));
    notef(note, nl, "whitespace between tags at %zu", at);
    return 0;
}

MUT(m_ws_attr_value)
{
    UNUSED_ENV;
    static const char *const w[] = {
        "\t", "\n", "\r", " ", "&#9;", "&#10;", "&#13;", "&#x20;", "\r\n",
    };
    struct attr at;
    scan(t, &sc);
    if (pick_attr(r, t, &sc, 0, t->n, 0, &at) < 0)
        return -1;
    size_t p = pick_pos(r, t->s, at.val, at.vlen + 1, NULL);
    if (p == SIZE_MAX)
        return -1;
    notef(note, nl, "whitespace in attribute %.*s", (int)at.nlen,
          t->s + at.name);
    splice_str(t, p, 0, PICK(r, w));
    return 0;
}

/* Whitespace inside a base64 value: neutral in SignatureValue (not
 * signed), a signed change in DigestValue. */
static int ws_in(struct dm_text *t, struct dm_rng *r, const char *elem,
                 char *note, size_t nl)
{
    size_t si, ei;
    scan(t, &sc);
    if (element(t, &sc, elem, &si, &ei) < 0 || ei != si + 1)
        return -1;
    size_t a = sc.v[si].gt + 1, b = sc.v[ei].lt;
    size_t p = a + dm_below(r, b - a + 1);
    static const char *const w[] = {
        " ", "\n", "\t", "\r\n", "&#13;", "&#x20;", "&#9;", "&#10;", "\n  ",
    };
    const char *ins = PICK(r, w);
    splice_str(t, p, 0, ins);
    notef(note, nl, "whitespace in %s at %zu", elem, p - a);
    return 0;
}

MUT(m_ws_sigvalue)
{
    UNUSED_ENV;
    return ws_in(t, r, "ds:SignatureValue", note, nl);
}

MUT(m_ws_digestvalue)
{
    UNUSED_ENV;
    return ws_in(t, r, "ds:DigestValue", note, nl);
}

MUT(m_ws_outside)
{
    UNUSED_ENV;
    scan(t, &sc);
    size_t at = 0;
    if (dm_below(r, 2) == 0) {
        at = t->n;
    } else if (sc.n > 0 && sc.v[0].kind == TK_DECL) {
        at = sc.v[0].gt + 1;
    } else if (sc.n > 0) {
        at = sc.v[0].lt;
    }
    if (at == 0)
        return -1; /* before everything: the encoding mutations do that */
    splice_str(t, at, 0, ws_run(r));
    notef(note, nl, "whitespace outside the root at %zu", at);
    return 0;
}

/* ---- escaping ------------------------------------------------------- */

/* Replaces the character at p (UTF-8) by a character reference. */
static int char_ref(struct dm_text *t, struct dm_rng *r, size_t p,
                    char *note, size_t nl)
{
    const unsigned char *u = (const unsigned char *)t->s + p;
    unsigned cp;
    size_t len;
    if (u[0] < 0x80) {
        cp = u[0];
        len = 1;
    } else if ((u[0] & 0xe0) == 0xc0 && p + 1 < t->n) {
        cp = (u[0] & 0x1fu) << 6 | (u[1] & 0x3fu);
        len = 2;
    } else if ((u[0] & 0xf0) == 0xe0 && p + 2 < t->n) {
        cp = (u[0] & 0x0fu) << 12 | (u[1] & 0x3fu) << 6 | (u[2] & 0x3fu);
        len = 3;
    } else {
        return -1; /* continuation byte or 4-byte form: pick again */
    }
    if (cp == '&' || cp == '<')
        return -1;
    static const char *const forms[] = {"&#%u;", "&#x%x;", "&#x%X;",
                                        "&#x%04x;", "&#000%u;"};
    char ref[24];
    snprintf(ref, sizeof ref, PICK(r, forms), cp);
    notef(note, nl, "U+%04X at %zu as %s", cp, p, ref);
    dm_text_splice(t, p, len, ref, strlen(ref));
    return 0;
}

MUT(m_esc_text_ref)
{
    UNUSED_ENV;
    size_t a, b, off, len;
    scan(t, &sc);
    region(t, &sc, some_region(r), &a, &b);
    if (pick_text(r, t, &sc, a, b, 1, &off, &len) < 0)
        return -1;
    for (int tries = 0; tries < 8; tries++) {
        size_t p = pick_pos(r, t->s, off, len, NULL);
        if (p != SIZE_MAX && !is_ws(t->s[p]) && char_ref(t, r, p, note, nl) == 0)
            return 0;
    }
    return -1;
}

MUT(m_esc_attr_ref)
{
    UNUSED_ENV;
    struct attr at;
    scan(t, &sc);
    if (pick_attr(r, t, &sc, 0, t->n, 0, &at) < 0)
        return -1;
    for (int tries = 0; tries < 8; tries++) {
        size_t p = pick_pos(r, t->s, at.val, at.vlen, NULL);
        if (p != SIZE_MAX && !is_ws(t->s[p]) && char_ref(t, r, p, note, nl) == 0)
            return 0;
    }
    return -1;
}

/* Swaps a character and its other written forms in text. */
MUT(m_esc_named)
{
    UNUSED_ENV;
    static const struct { const char *a, *b; } forms[] = {
        {">", "&gt;"}, {"\"", "&quot;"}, {"'", "&apos;"}, {"&amp;", "&#38;"},
        {"&lt;", "&#60;"}, {"&gt;", "&#x3E;"}, {"&quot;", "&#34;"},
        {"&apos;", "&#39;"}, {"&amp;", "&#x26;"},
    };
    size_t off, len;
    scan(t, &sc);
    if (pick_text(r, t, &sc, 0, t->n, 1, &off, &len) < 0)
        return -1;
    size_t start = dm_below(r, sizeof forms / sizeof forms[0]);
    for (size_t k = 0; k < sizeof forms / sizeof forms[0]; k++) {
        size_t f = (start + k) % (sizeof forms / sizeof forms[0]);
        int back = dm_below(r, 2) == 0;
        const char *from = back ? forms[f].b : forms[f].a;
        const char *to = back ? forms[f].a : forms[f].b;
        size_t at = find(t->s, off + len, off, from);
        if (at == SIZE_MAX || (from[0] != '&' && in_ref(t->s, off, at)))
            continue;
        notef(note, nl, "text at %zu: %s as %s", at, from, to);
        splice_str(t, at, strlen(from), to);
        return 0;
    }
    return -1;
}

MUT(m_esc_cdata)
{
    UNUSED_ENV;
    size_t a, b, off, len;
    scan(t, &sc);
    region(t, &sc, some_region(r), &a, &b);
    if (pick_text(r, t, &sc, a, b, 1, &off, &len) < 0)
        return -1;
    if (memchr(t->s + off, '&', len) != NULL ||
        find(t->s, off + len, off, "]]>") != SIZE_MAX)
        return -1;
    size_t s0 = off + dm_below(r, len), s1 = s0 + dm_below(r, off + len - s0 + 1);
    splice_str(t, s1, 0, "]]>");
    splice_str(t, s0, 0, "<![CDATA[");
    notef(note, nl, "CDATA around text %zu..%zu", s0, s1);
    return 0;
}

MUT(m_esc_quote)
{
    UNUSED_ENV;
    struct attr at;
    scan(t, &sc);
    if (pick_attr(r, t, &sc, 0, t->n, -1, &at) < 0)
        return -1;
    char q = at.quote == '"' ? '\'' : '"';
    if (memchr(t->s + at.val, q, at.vlen) != NULL)
        return -1;
    t->s[at.val - 1] = q;
    t->s[at.val + at.vlen] = q;
    notef(note, nl, "attribute %.*s quoted with %c", (int)at.nlen,
          t->s + at.name, q);
    return 0;
}

MUT(m_esc_break)
{
    UNUSED_ENV;
    static const struct { const char *from, *to; } breaks[] = {
        {"&lt;", "<"}, {"&amp;", "&"}, {"&gt;", ">"}, {"&quot;", "\""},
    };
    size_t k = dm_below(r, sizeof breaks / sizeof breaks[0]);
    size_t at = find(t->s, t->n, 0, breaks[k].from);
    if (at == SIZE_MAX)
        return -1;
    splice_str(t, at, strlen(breaks[k].from), breaks[k].to);
    notef(note, nl, "%s unescaped at %zu", breaks[k].from, at);
    return 0;
}

MUT(m_esc_empty_elem)
{
    UNUSED_ENV;
    size_t seen = 0, pick = SIZE_MAX;
    scan(t, &sc);
    for (size_t i = 0; i < sc.n; i++) {
        int empty = self_closing(t, &sc.v[i]);
        int pair = sc.v[i].kind == TK_START && !empty && i + 1 < sc.n &&
                   sc.v[i + 1].kind == TK_END &&
                   sc.v[i + 1].lt == sc.v[i].gt + 1;
        if ((empty || pair) && dm_below(r, ++seen) == 0)
            pick = i;
    }
    if (pick == SIZE_MAX)
        return -1;
    const struct tok *k = &sc.v[pick];
    size_t nlen, name = tag_name(t, k, &nlen);
    if (self_closing(t, k)) {
        char end[160];
        snprintf(end, sizeof end, "></%.*s>", (int)nlen, t->s + name);
        splice_str(t, k->gt - 1, 2, end);
        notef(note, nl, "empty element at %zu written as a pair", k->lt);
    } else {
        dm_text_splice(t, k->gt, sc.v[pick + 1].gt - k->gt, "/", 1);
        notef(note, nl, "element pair at %zu written empty", k->lt);
    }
    return 0;
}

/* Characters at the edges of what XML allows, as references or literal
 * UTF-8, into text or an attribute value. */
MUT(m_esc_odd_char)
{
    UNUSED_ENV;
    static const char *const chars[] = {
        "&#x85;", "&#x2028;", "&#xFEFF;", "&#x10FFFF;", "&#xD7FF;",
        "&#xFFFD;", "&#x7F;", "&#x9F;", "&#xE000;", "&#x1F600;",
        "\xc2\x85", "\xe2\x80\xa8", "\xef\xbb\xbf", "\xf0\x9f\x98\x80",
        "\xf4\x8f\xbf\xbf", "\xef\xbf\xbd", "&#0;", "&#xD800;", "&#xFFFE;",
        "&#x1;", "&#x110000;", "&#X41;", "&#;", "&#x;",
    };
    const char *c = PICK(r, chars);
    scan(t, &sc);
    size_t p = SIZE_MAX, a, b;
    if (dm_below(r, 2) == 0) {
        size_t off, len;
        region(t, &sc, some_region(r), &a, &b);
        if (pick_text(r, t, &sc, a, b, 1, &off, &len) == 0)
            p = pick_pos(r, t->s, off, len + 1, NULL);
    } else {
        struct attr at;
        if (pick_attr(r, t, &sc, 0, t->n, 0, &at) == 0)
            p = pick_pos(r, t->s, at.val, at.vlen + 1, NULL);
    }
    if (p == SIZE_MAX || (p < t->n && (unsigned char)t->s[p] >= 0x80 &&
                          ((unsigned char)t->s[p] & 0xc0) == 0x80))
        return -1;
    splice_str(t, p, 0, c);
    notef(note, nl, "character %s inserted at %zu", c, p);
    return 0;
}

/* ---- markup ICX never accepts: comments, PIs, DOCTYPE, entities ------- */

MUT(m_markup)
{
    UNUSED_ENV;
    static const char *const marks[] = {
        "<!--x-->", "<!---->", "<?pi data?>", "&amp;#65;",
        "<!DOCTYPE Envelope>",
        "<!DOCTYPE Envelope [<!ATTLIST Handling extra CDATA \"x\">]>",
        "<!DOCTYPE Envelope [<!ENTITY e \"x\">]>",
    };
    size_t k = dm_below(r, sizeof marks / sizeof marks[0]);
    scan(t, &sc);
    size_t at;
    if (k >= 4) { /* a DOCTYPE goes before the root */
        at = sc.n > 0 && sc.v[0].kind == TK_DECL ? sc.v[0].gt + 1 : 0;
    } else {
        long i = pick_tok(r, &sc, -1, 0, t->n);
        if (i < 0)
            return -1;
        at = sc.v[i].gt + 1;
    }
    splice_str(t, at, 0, marks[k]);
    notef(note, nl, "%s inserted at %zu", marks[k], at);
    return 0;
}

/* xmlns="" on an element: undeclares the default namespace, which the
 * exclusive form renders only where an unprefixed element needs it. */
MUT(m_ns_undeclare)
{
    UNUSED_ENV;
    size_t a, b;
    scan(t, &sc);
    region(t, &sc, some_region(r), &a, &b);
    if (add_to_tag(r, t, &sc, a, b, " xmlns=\"\"") < 0)
        return -1;
    notef(note, nl, "xmlns=\"\" on <%s>", last_tag);
    return 0;
}

/* The last base64 character before the padding differs only in bits the
 * value does not use (or is made to). */
MUT(m_sig_value_bits)
{
    UNUSED_ENV;
    size_t si, ei;
    scan(t, &sc);
    if (element(t, &sc, "ds:SignatureValue", &si, &ei) < 0 || ei != si + 1)
        return -1;
    size_t a = sc.v[si].gt + 1, b = sc.v[ei].lt;
    size_t eq = find(t->s, b, a, "=");
    if (eq == SIZE_MAX || eq == a)
        return -1;
    size_t p = eq - 1;
    while (p > a && strchr(b64chars, t->s[p]) == NULL)
        p--;
    const char *v = strchr(b64chars, t->s[p]);
    if (v == NULL)
        return -1;
    int pad = t->s[eq + 1] == '=' ? 2 : 1; /* unused bits: 4 or 2 */
    unsigned mask = pad == 2 ? 0x0f : 0x03;
    unsigned val = (unsigned)(v - b64chars);
    unsigned nv = (val & ~mask) | ((val + 1 + (unsigned)dm_below(r, mask)) & mask);
    char old = t->s[p];
    t->s[p] = b64chars[nv & 63];
    notef(note, nl, "SignatureValue unused bits: '%c' -> '%c'", old, t->s[p]);
    return 0;
}

/* ---- signature parts -------------------------------------------------- */

static int b64_flip(struct dm_text *t, struct dm_rng *r, const char *elem,
                    char *note, size_t nl)
{
    size_t si, ei;
    scan(t, &sc);
    if (element(t, &sc, elem, &si, &ei) < 0 || ei != si + 1)
        return -1;
    size_t a = sc.v[si].gt + 1, b = sc.v[ei].lt;
    size_t p = pick_pos(r, t->s, a, b - a, b64chars);
    if (p == SIZE_MAX)
        return -1;
    char old = t->s[p];
    t->s[p] = other_char(r, b64chars, old);
    notef(note, nl, "%s char %zu '%c' -> '%c'", elem, p - a, old, t->s[p]);
    return 0;
}

MUT(m_sig_digest_flip)
{
    UNUSED_ENV;
    return b64_flip(t, r, "ds:DigestValue", note, nl);
}

MUT(m_sig_value_flip)
{
    UNUSED_ENV;
    return b64_flip(t, r, "ds:SignatureValue", note, nl);
}

MUT(m_sig_value_len)
{
    UNUSED_ENV;
    size_t si, ei;
    scan(t, &sc);
    const char *elem = dm_below(r, 3) ? "ds:SignatureValue" : "ds:DigestValue";
    if (element(t, &sc, elem, &si, &ei) < 0 || ei != si + 1)
        return -1;
    size_t a = sc.v[si].gt + 1, b = sc.v[ei].lt;
    switch (dm_below(r, 6)) {
    case 0:
        if (b - a < 4)
            return -1;
        dm_text_splice(t, b - 4, 4, "", 0);
        notef(note, nl, "%s: last 4 chars removed", elem);
        break;
    case 1:
        splice_str(t, b, 0, "AAAA");
        notef(note, nl, "%s: AAAA appended", elem);
        break;
    case 2:
        splice_str(t, a, 0, "AAAA");
        notef(note, nl, "%s: AAAA prepended", elem);
        break;
    case 3:
        splice_str(t, b, 0, "=");
        notef(note, nl, "%s: = appended", elem);
        break;
    case 4: {
        size_t eq = find(t->s, b, a, "=");
        if (eq == SIZE_MAX)
            return -1;
        dm_text_splice(t, eq, 1, "", 0);
        notef(note, nl, "%s: padding removed", elem);
        break;
    }
    default:
        dm_text_splice(t, a, b - a, "", 0);
        notef(note, nl, "%s emptied", elem);
    }
    return 0;
}

static long nth_transform(struct dm_text *t, size_t nth)
{
    size_t seen = 0;
    for (size_t i = 0; i < sc.n; i++)
        if (sc.v[i].kind == TK_START && tag_is(t, &sc.v[i], "ds:Transform") &&
            seen++ == nth)
            return (long)i;
    return -1;
}

MUT(m_sig_transform_swap)
{
    UNUSED_ENV;
    (void)r;
    scan(t, &sc);
    long i = nth_transform(t, 0), j = nth_transform(t, 1);
    if (i < 0 || j < 0 || !self_closing(t, &sc.v[i]) ||
        !self_closing(t, &sc.v[j]))
        return -1;
    size_t a0 = sc.v[i].lt, a1 = sc.v[i].gt + 1;
    size_t b0 = sc.v[j].lt, b1 = sc.v[j].gt + 1;
    char *x = strndup(t->s + a0, a1 - a0), *y = strndup(t->s + b0, b1 - b0);
    if (x == NULL || y == NULL)
        abort();
    dm_text_splice(t, b0, b1 - b0, x, strlen(x));
    dm_text_splice(t, a0, a1 - a0, y, strlen(y));
    free(x);
    free(y);
    notef(note, nl, "transforms swapped");
    return 0;
}

static const char *const algorithm_uris[] = {
    "http://www.w3.org/2000/09/xmldsig#enveloped-signature",
    "http://www.w3.org/2001/10/xml-exc-c14n#",
    "http://www.w3.org/2001/10/xml-exc-c14n#WithComments",
    "http://www.w3.org/TR/2001/REC-xml-c14n-20010315",
    "http://www.w3.org/TR/2001/REC-xml-c14n-20010315#WithComments",
    "http://www.w3.org/2006/12/xml-c14n11",
    "http://www.w3.org/2000/09/xmldsig#base64",
    "http://www.w3.org/TR/1999/REC-xpath-19991116",
    "http://www.w3.org/2002/06/xmldsig-filter2",
    "http://www.w3.org/TR/1999/REC-xslt-19991116",
    "http://www.w3.org/2000/09/xmldsig#rsa-sha1",
    "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256",
    "http://www.w3.org/2001/04/xmldsig-more#rsa-sha384",
    "http://www.w3.org/2001/04/xmldsig-more#rsa-sha512",
    "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256",
    "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha512",
    "http://www.w3.org/2000/09/xmldsig#hmac-sha1",
    "http://www.w3.org/2001/04/xmldsig-more#hmac-sha256",
    "http://www.w3.org/2000/09/xmldsig#sha1",
    "http://www.w3.org/2001/04/xmlenc#sha256",
    "http://www.w3.org/2001/04/xmldsig-more#sha384",
    "http://www.w3.org/2001/04/xmlenc#sha512",
    "http://www.w3.org/2000/09/xmldsig#enveloped-signature ",
    "",
};

MUT(m_sig_transform_add)
{
    UNUSED_ENV;
    scan(t, &sc);
    long i = nth_transform(t, dm_below(r, 2));
    if (i < 0)
        return -1;
    const char *alg = PICK(r, algorithm_uris);
    char tr[256];
    snprintf(tr, sizeof tr, "<ds:Transform Algorithm=\"%s\"/>", alg);
    size_t at = dm_below(r, 2) ? sc.v[i].lt : sc.v[i].gt + 1;
    splice_str(t, at, 0, tr);
    notef(note, nl, "transform %s added", alg);
    return 0;
}

MUT(m_sig_transform_remove)
{
    UNUSED_ENV;
    scan(t, &sc);
    long i = nth_transform(t, dm_below(r, 2));
    if (i < 0 || !self_closing(t, &sc.v[i]))
        return -1;
    dm_text_splice(t, sc.v[i].lt, sc.v[i].gt + 1 - sc.v[i].lt, "", 0);
    notef(note, nl, "a transform removed");
    return 0;
}

MUT(m_sig_alg)
{
    UNUSED_ENV;
    size_t a, b, seen = 0;
    struct attr at, pick = {0};
    scan(t, &sc);
    region(t, &sc, "ds:SignedInfo", &a, &b);
    for (size_t i = 0; i < sc.n; i++) {
        if (sc.v[i].kind != TK_START || sc.v[i].lt < a || sc.v[i].gt >= b)
            continue;
        struct attr v[MAX_ATTRS];
        size_t n = attrs(t, &sc.v[i], v);
        for (size_t j = 0; j < n; j++)
            if (v[j].nlen == 9 && memcmp(t->s + v[j].name, "Algorithm", 9) == 0 &&
                dm_below(r, ++seen) == 0)
                pick = v[j];
    }
    if (seen == 0)
        return -1;
    at = pick;
    const char *alg = PICK(r, algorithm_uris);
    notef(note, nl, "Algorithm %.*s -> %s", (int)at.vlen, t->s + at.val, alg);
    splice_str(t, at.val, at.vlen, alg);
    return 0;
}

MUT(m_sig_ref_uri)
{
    UNUSED_ENV;
    static const char *const uris[] = {
        "#", "#xpointer(/)", "#xpointer(id('x'))", "#hdr", " ",
        "file:///etc/passwd", "http://127.0.0.1:9/", "?", "%20", "&#x20;",
    };
    size_t si, ei;
    scan(t, &sc);
    if (element(t, &sc, "ds:Reference", &si, &ei) < 0)
        return -1;
    struct attr v[MAX_ATTRS];
    size_t n = attrs(t, &sc.v[si], v);
    for (size_t j = 0; j < n; j++) {
        if (v[j].nlen != 3 || memcmp(t->s + v[j].name, "URI", 3) != 0)
            continue;
        if (dm_below(r, 4) == 0) {
            dm_text_splice(t, v[j].ws, v[j].val + v[j].vlen + 1 - v[j].ws, "",
                           0);
            notef(note, nl, "Reference URI removed");
        } else {
            const char *u = PICK(r, uris);
            splice_str(t, v[j].val, v[j].vlen, u);
            notef(note, nl, "Reference URI=\"%s\"", u);
        }
        return 0;
    }
    return -1;
}

MUT(m_sig_ref_extra)
{
    UNUSED_ENV;
    size_t si, ei;
    scan(t, &sc);
    if (element(t, &sc, "ds:Reference", &si, &ei) < 0)
        return -1;
    size_t s0 = sc.v[si].lt, s1 = sc.v[ei].gt + 1;
    char *copy = strndup(t->s + s0, s1 - s0);
    if (copy == NULL)
        abort();
    int before = dm_below(r, 2) == 0;
    splice_str(t, before ? s0 : s1, 0, copy);
    free(copy);
    notef(note, nl, "Reference repeated %s", before ? "before" : "after");
    return 0;
}

MUT(m_sig_ref_attr)
{
    UNUSED_ENV;
    static const char *const adds[] = {
        " Id=\"r1\"", " Type=\"http://www.w3.org/2000/09/xmldsig#Object\"",
        " Type=\"\"",
    };
    size_t si, ei;
    scan(t, &sc);
    if (element(t, &sc, "ds:Reference", &si, &ei) < 0)
        return -1;
    const char *add = PICK(r, adds);
    size_t nlen, at = tag_name(t, &sc.v[si], &nlen) + nlen;
    splice_str(t, at, 0, add);
    notef(note, nl, "Reference attribute:%s", add);
    return 0;
}

MUT(m_sig_keyinfo)
{
    char *ki = NULL;
    const char *what;
    size_t cap = 8192;
    ki = malloc(cap);
    if (ki == NULL)
        abort();
    switch (dm_below(r, 6)) {
    case 0:
        what = "X509Data with an untrusted certificate";
        snprintf(ki, cap, "<ds:KeyInfo><ds:X509Data><ds:X509Certificate>%s"
                 "</ds:X509Certificate></ds:X509Data></ds:KeyInfo>",
                 e->other_cert);
        break;
    case 1:
        what = "X509Data with the signer's certificate";
        snprintf(ki, cap, "<ds:KeyInfo><ds:X509Data><ds:X509Certificate>%s"
                 "</ds:X509Certificate></ds:X509Data></ds:KeyInfo>",
                 e->own_cert);
        break;
    case 2:
        what = "KeyName";
        snprintf(ki, cap, "<ds:KeyInfo><ds:KeyName>XX-EVIL</ds:KeyName>"
                 "</ds:KeyInfo>");
        break;
    case 3:
        what = "KeyValue";
        snprintf(ki, cap, "<ds:KeyInfo><ds:KeyValue><ds:RSAKeyValue>"
                 "<ds:Modulus>AQAB</ds:Modulus><ds:Exponent>AQAB"
                 "</ds:Exponent></ds:RSAKeyValue></ds:KeyValue></ds:KeyInfo>");
        break;
    case 4:
        what = "RetrievalMethod";
        snprintf(ki, cap, "<ds:KeyInfo><ds:RetrievalMethod "
                 "URI=\"file:///etc/passwd\"/></ds:KeyInfo>");
        break;
    default:
        what = "empty KeyInfo";
        snprintf(ki, cap, "<ds:KeyInfo/>");
    }
    size_t at = find(t->s, t->n, 0, "</ds:SignatureValue>");
    if (at == SIZE_MAX) {
        free(ki);
        return -1;
    }
    splice_str(t, at + strlen("</ds:SignatureValue>"), 0, ki);
    free(ki);
    notef(note, nl, "KeyInfo: %s", what);
    return 0;
}

MUT(m_sig_object)
{
    UNUSED_ENV;
    static const char *const objs[] = {
        "<ds:Object/>", "<ds:Object Id=\"o1\"><x/></ds:Object>",
        "<ds:Object><ds:Manifest><ds:Reference URI=\"\"><ds:DigestMethod "
        "Algorithm=\"http://www.w3.org/2001/04/xmlenc#sha256\"/>"
        "<ds:DigestValue>AAAA</ds:DigestValue></ds:Reference></ds:Manifest>"
        "</ds:Object>",
    };
    size_t at = find(t->s, t->n, 0, "</ds:Signature>");
    if (at == SIZE_MAX)
        return -1;
    const char *o = PICK(r, objs);
    splice_str(t, at, 0, o);
    notef(note, nl, "Object added: %.40s", o);
    return 0;
}

/* Cuts the Signature out; *block receives it (caller frees). */
static int cut_signature(struct dm_text *t, char **block)
{
    size_t si, ei;
    scan(t, &sc);
    if (element(t, &sc, "ds:Signature", &si, &ei) < 0)
        return -1;
    size_t s0 = sc.v[si].lt, s1 = sc.v[ei].gt + 1;
    *block = strndup(t->s + s0, s1 - s0);
    if (*block == NULL)
        abort();
    dm_text_splice(t, s0, s1 - s0, "", 0);
    return 0;
}

MUT(m_sig_move)
{
    UNUSED_ENV;
    char *block;
    if (cut_signature(t, &block) < 0)
        return -1;
    scan(t, &sc);
    size_t si, ei, at = SIZE_MAX;
    const char *where = "?";
    switch (dm_below(r, 5)) {
    case 0:
        if (sc.n > 0 && sc.v[0].kind == TK_DECL && sc.n > 1)
            at = sc.v[1].gt + 1;
        else if (sc.n > 0)
            at = sc.v[0].gt + 1;
        where = "first child of the root";
        break;
    case 1:
        if (element(t, &sc, "Header", &si, &ei) == 0)
            at = sc.v[ei].lt;
        where = "inside Header";
        break;
    case 2:
        if (element(t, &sc, "Payload", &si, &ei) == 0)
            at = sc.v[si].gt + 1;
        where = "first in Payload";
        break;
    case 3:
        if (element(t, &sc, "Payload", &si, &ei) == 0 && ei > si + 1)
            at = sc.v[ei - 1].lt;
        where = "inside the payload element";
        break;
    default:
        at = t->n;
        where = "after the root";
    }
    if (at == SIZE_MAX) {
        free(block);
        return -1;
    }
    splice_str(t, at, 0, block);
    free(block);
    notef(note, nl, "Signature moved: %s", where);
    return 0;
}

MUT(m_sig_twice)
{
    UNUSED_ENV;
    size_t si, ei;
    scan(t, &sc);
    if (element(t, &sc, "ds:Signature", &si, &ei) < 0)
        return -1;
    size_t s0 = sc.v[si].lt, s1 = sc.v[ei].gt + 1;
    char *block = strndup(t->s + s0, s1 - s0);
    if (block == NULL)
        abort();
    size_t at = s1;
    if (dm_below(r, 2) && element(t, &sc, "Payload", &si, &ei) == 0)
        at = sc.v[ei].lt;
    splice_str(t, at, 0, block);
    free(block);
    notef(note, nl, "Signature repeated at %zu", at);
    return 0;
}

MUT(m_sig_id)
{
    UNUSED_ENV;
    static const char *const ids[] = {" Id=\"sig1\"", " Id='s'"};
    size_t si, ei;
    scan(t, &sc);
    if (element(t, &sc, "ds:Signature", &si, &ei) < 0)
        return -1;
    const char *id = PICK(r, ids);
    size_t nlen, at = tag_name(t, &sc.v[si], &nlen) + nlen;
    splice_str(t, at, 0, id);
    notef(note, nl, "Signature%s", id);
    return 0;
}

/* ---- encoding ------------------------------------------------------- */

#define SP40 "                                        "
#define SP200 SP40 SP40 SP40 SP40 SP40

MUT(m_enc_decl)
{
    UNUSED_ENV;
    static const char *const decls[] = {
        "",
        "<?xml version=\"1.0\"?>",
        "<?xml version='1.0' encoding='utf-8'?>",
        "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>",
        "<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?>",
        "<?xml version=\"1.0\" encoding=\"US-ASCII\"?>",
        "<?xml version=\"1.0\" encoding=\"UTF-16\"?>",
        "<?xml version=\"1.1\" encoding=\"UTF-8\"?>",
        "<?xml  version = \"1.0\"  encoding = \"UTF-8\" ?>",
        "<?xml version=\"1.0\" encoding=\"utf8\"?>",
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n",
        "<?xml version=\"1.0\" encoding=\"Shift_JIS\"?>",
        "<?xml version=\"1.0\" standalone=\"no\"?>",
        "<?xml version=\"1.0\"" SP200 "encoding=\"ISO-8859-1\"?>",
        "<?xml version=\"1.0\"" SP200 "encoding=\"UTF-8\"?>",
        "<?xml version=\"1.0\"\n\tencoding\n=\n'windows-1252'?>",
        "<?xml version=\"1.0\" encoding=\"UTF-8\"" SP200 "?>",
    };
    size_t start = t->n >= 3 && memcmp(t->s, "\xef\xbb\xbf", 3) == 0 ? 3 : 0;
    size_t end = start;
    if (starts(t->s, t->n, start, "<?xml")) {
        size_t q = find(t->s, t->n, start, "?>");
        if (q != SIZE_MAX)
            end = q + 2;
    }
    const char *d = PICK(r, decls);
    splice_str(t, start, end - start, d);
    notef(note, nl, "XML declaration: %s", d[0] ? d : "(none)");
    return 0;
}

MUT(m_enc_bom)
{
    UNUSED_ENV;
    static const char *const boms[] = {
        "\xef\xbb\xbf", "\xef\xbb\xbf\xef\xbb\xbf", "\xfe\xff", "\xff\xfe",
    };
    size_t k = dm_below(r, sizeof boms / sizeof boms[0]);
    splice_str(t, 0, 0, boms[k]);
    notef(note, nl, "byte order mark %zu prepended", k);
    return 0;
}

MUT(m_enc_lead)
{
    UNUSED_ENV;
    splice_str(t, 0, 0, ws_run(r));
    notef(note, nl, "whitespace before the XML declaration");
    return 0;
}

/* ---- bytes ------------------------------------------------------------ */

MUT(m_byte_flip)
{
    UNUSED_ENV;
    if (t->n == 0)
        return -1;
    size_t p = dm_below(r, t->n);
    unsigned char old = (unsigned char)t->s[p];
    t->s[p] = (char)(old ^ (1u << dm_below(r, 8)));
    notef(note, nl, "byte %zu 0x%02x -> 0x%02x", p, old,
          (unsigned char)t->s[p]);
    return 0;
}

MUT(m_byte_insert)
{
    UNUSED_ENV;
    static const char special[] = "<>&;\"'= \n/:#xX!?[]-";
    size_t p = dm_below(r, t->n + 1);
    char c = dm_below(r, 2) ? special[dm_below(r, sizeof special - 1)]
                            : (char)dm_below(r, 256);
    dm_text_splice(t, p, 0, &c, 1);
    notef(note, nl, "byte 0x%02x inserted at %zu", (unsigned char)c, p);
    return 0;
}

MUT(m_byte_delete)
{
    UNUSED_ENV;
    if (t->n == 0)
        return -1;
    size_t p = dm_below(r, t->n), k = 1 + dm_below(r, 4);
    dm_text_splice(t, p, k, "", 0);
    notef(note, nl, "%zu bytes deleted at %zu", k, p);
    return 0;
}

#define R DM_RESIGNABLE
#define N DM_NEUTRAL

const struct dm_mutation dm_mutations[] = {
    {"text-char", "payload", m_text_char, R},
    {"attr-char", "payload", m_attr_char, R},
    {"attr-add", "payload", m_attr_add, R},
    {"attr-remove", "payload", m_attr_remove, R},
    {"element-dup", "payload", m_elem_dup, R},
    {"ns-unused", "namespace", m_ns_unused, R | N},
    {"ns-redundant", "namespace", m_ns_redundant, R | N},
    {"ns-default-other", "namespace", m_ns_default_other, R},
    {"ns-prefix-envelope", "namespace", m_ns_prefix_env, R},
    {"ns-prefix-payload", "namespace", m_ns_prefix_payload, R},
    {"ns-ds-rename", "namespace", m_ns_ds_rename, 0},
    {"ns-ds-default", "namespace", m_ns_ds_default, 0},
    {"ns-remove", "namespace", m_ns_remove, R},
    {"ns-relative", "namespace", m_ns_relative, R},
    {"ns-escaped", "namespace", m_ns_escaped, R},
    {"ws-tag-end", "whitespace", m_ws_tag_end, R | N},
    {"ws-attr-sep", "whitespace", m_ws_attr_sep, R | N},
    {"ws-attr-eq", "whitespace", m_ws_attr_eq, R | N},
    {"ws-text", "whitespace", m_ws_text, R},
    {"ws-between", "whitespace", m_ws_between, R},
    {"ws-attr-value", "whitespace", m_ws_attr_value, R},
    {"ws-signature-value", "whitespace", m_ws_sigvalue, N},
    {"ws-digest-value", "whitespace", m_ws_digestvalue, 0},
    {"ws-outside", "whitespace", m_ws_outside, R | N},
    {"esc-text-ref", "escaping", m_esc_text_ref, R | N},
    {"esc-attr-ref", "escaping", m_esc_attr_ref, R | N},
    {"esc-named", "escaping", m_esc_named, R | N},
    {"esc-cdata", "escaping", m_esc_cdata, R | N},
    {"esc-quote", "escaping", m_esc_quote, R | N},
    {"esc-break", "escaping", m_esc_break, R},
    {"esc-empty-element", "escaping", m_esc_empty_elem, R | N},
    {"esc-odd-char", "escaping", m_esc_odd_char, R},
    {"markup", "markup", m_markup, R},
    {"ns-undeclare-default", "namespace", m_ns_undeclare, R},
    {"sig-value-bits", "signature", m_sig_value_bits, 0},
    {"sig-digest-flip", "signature", m_sig_digest_flip, 0},
    {"sig-value-flip", "signature", m_sig_value_flip, 0},
    {"sig-value-length", "signature", m_sig_value_len, 0},
    {"sig-transform-swap", "signature", m_sig_transform_swap, 0},
    {"sig-transform-add", "signature", m_sig_transform_add, 0},
    {"sig-transform-remove", "signature", m_sig_transform_remove, 0},
    {"sig-algorithm", "signature", m_sig_alg, 0},
    {"sig-reference-uri", "signature", m_sig_ref_uri, 0},
    {"sig-reference-extra", "signature", m_sig_ref_extra, 0},
    {"sig-reference-attr", "signature", m_sig_ref_attr, 0},
    {"sig-keyinfo", "signature", m_sig_keyinfo, 0},
    {"sig-object", "signature", m_sig_object, 0},
    {"sig-move", "signature", m_sig_move, 0},
    {"sig-twice", "signature", m_sig_twice, 0},
    {"sig-id", "signature", m_sig_id, N},
    {"enc-declaration", "encoding", m_enc_decl, R},
    {"enc-bom", "encoding", m_enc_bom, R},
    {"enc-leading-space", "encoding", m_enc_lead, R},
    {"byte-flip", "bytes", m_byte_flip, R},
    {"byte-insert", "bytes", m_byte_insert, R},
    {"byte-delete", "bytes", m_byte_delete, R},
};

const size_t dm_mutation_count = sizeof dm_mutations / sizeof dm_mutations[0];
