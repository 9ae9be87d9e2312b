/*
 * xsdre.c - XML Schema patterns as Glushkov (position) automata.
 *
 * A pattern is parsed into a small tree, then turned into an automaton
 * whose states are the character-class positions of the pattern, with
 * counted repetitions unrolled: x{2,4} becomes x x x? x?.  Matching keeps
 * the set of live positions as a bit set, so a value costs one pass over
 * its characters whatever the pattern, with no backtracking.
 *
 * Anything outside the subset documented in xsdre.h is refused at compile
 * time, so a pattern this file accepts means here what it means to
 * libxml2; the fuzz target fuzz_schema_fast and test_xsdre check that
 * against libxml2's own engine.
 *
 * Ownership: see xsdre.h.  Reentrant; compiled patterns are read-only.
 * Failure: compile returns ICX_ENOTFOUND (unsupported) or ICX_ENOMEM.
 */
#include "xsdre.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define WORDS (ICX_XSDRE_MAX_POS / 64)
#define MAX_NODES 512
#define MAX_DFA 1024          /* states; beyond, the automaton is simulated */
#define COLS 129              /* ASCII, then any non-ASCII character */
#define T_DEAD 0xFFFF
#define T_UNSURE 0xFFFE

typedef struct bits {
    uint64_t w[WORDS];
} bits;

/* How a class treats characters outside ASCII. */
enum nonascii { NA_NO = 0, NA_YES = 1, NA_UNKNOWN = 2 };

struct cls {
    uint64_t ascii[2];
    int nonascii;
};

enum kind { N_EMPTY, N_CLASS, N_CAT, N_ALT, N_REPEAT };

struct node {
    int kind;
    struct cls cls;   /* N_CLASS */
    int first, next;  /* children of N_CAT / N_ALT; sibling link */
    int child;        /* N_REPEAT */
    int min, max;     /* N_REPEAT; max < 0: unbounded */
};

struct parser {
    const char *p;
    struct node nodes[MAX_NODES];
    int n;
    int bad;
};

/* The automaton made deterministic, in one block so that a match touches
 * few cache lines (matching runs between parsing and signing, which evict
 * them).  Bytes fall into byte_class[] classes (ASCII characters that act
 * alike, the lead byte of any other character, continuation bytes, which
 * leave the state alone); cells[s * nclass + class] is the next state, in
 * one byte each when there are at most 256 states.  State 0 is the start;
 * dead and unsure are absorbing states. */
struct dfa {
    int nclass, unsure, wide;
    unsigned char byte_class[256];
    unsigned char *accept;  /* inside this block */
    void *cells;            /* inside this block */
};

struct icx_xsdre {
    struct dfa *dfa;     /* NULL: the position automaton is simulated */
    int npos;
    int nullable;
    bits first, last;
    bits follow[ICX_XSDRE_MAX_POS];
    bits mask[128];      /* positions whose class holds ASCII c */
    bits nonascii_yes;   /* positions matching any non-ASCII character */
    bits nonascii_unsure;
    struct cls cls[ICX_XSDRE_MAX_POS];
};

/* ---- bit sets ------------------------------------------------------------ */

static void bits_or(bits *a, const bits *b)
{
    for (int i = 0; i < WORDS; i++)
        a->w[i] |= b->w[i];
}

static int bits_any(const bits *a)
{
    uint64_t x = 0;
    for (int i = 0; i < WORDS; i++)
        x |= a->w[i];
    return x != 0;
}

static int bits_meet(const bits *a, const bits *b)
{
    uint64_t x = 0;
    for (int i = 0; i < WORDS; i++)
        x |= a->w[i] & b->w[i];
    return x != 0;
}

static void bits_set(bits *a, int i)
{
    a->w[i / 64] |= (uint64_t)1 << (i % 64);
}

/* ---- parsing ------------------------------------------------------------- */

static int new_node(struct parser *ps, int kind)
{
    if (ps->n >= MAX_NODES) {
        ps->bad = 1;
        return -1;
    }
    struct node *nd = &ps->nodes[ps->n];
    memset(nd, 0, sizeof *nd);
    nd->kind = kind;
    nd->first = nd->next = nd->child = -1;
    return ps->n++;
}

static void cls_add(struct cls *c, int lo, int hi)
{
    for (int ch = lo; ch <= hi; ch++)
        c->ascii[ch / 64] |= (uint64_t)1 << (ch % 64);
}

static void cls_union(struct cls *a, const struct cls *b)
{
    a->ascii[0] |= b->ascii[0];
    a->ascii[1] |= b->ascii[1];
    if (a->nonascii == NA_YES || b->nonascii == NA_YES)
        a->nonascii = NA_YES;
    else if (a->nonascii == NA_UNKNOWN || b->nonascii == NA_UNKNOWN)
        a->nonascii = NA_UNKNOWN;
}

static void cls_negate(struct cls *c)
{
    c->ascii[0] = ~c->ascii[0];
    c->ascii[1] = ~c->ascii[1];
    if (c->nonascii != NA_UNKNOWN)
        c->nonascii = c->nonascii == NA_YES ? NA_NO : NA_YES;
}

static const char SINGLE_ESC[] = "nrt\\|.?*+(){}-[]^";

/* After a backslash: a single-character escape (*ch set, returns 1) or a
 * multi-character one (*c filled, returns 2); 0 when unsupported. */
static int escape(char e, int *ch, struct cls *c)
{
    memset(c, 0, sizeof *c);
    switch (e) {
    case 'n': *ch = '\n'; return 1;
    case 'r': *ch = '\r'; return 1;
    case 't': *ch = '\t'; return 1;
    case 's':
    case 'S':
        cls_add(c, ' ', ' ');
        cls_add(c, '\t', '\t');
        cls_add(c, '\n', '\n');
        cls_add(c, '\r', '\r');
        if (e == 'S')
            cls_negate(c);
        return 2;
    case 'd':
    case 'D':
        /* \d is Unicode Nd: ASCII digits here, the rest unknown. */
        cls_add(c, '0', '9');
        c->nonascii = NA_UNKNOWN;
        if (e == 'D')
            cls_negate(c);
        return 2;
    default:
        if (e != '\0' && strchr(SINGLE_ESC, e) != NULL) {
            *ch = (unsigned char)e;
            return 1;
        }
        return 0;
    }
}

static int ascii_char(char ch)
{
    return ch > 0 && (unsigned char)ch < 0x80;
}

/* One character of a group for a range end: *ch or 0 when not one. */
static int group_char(struct parser *ps, int *ch, struct cls *multi,
                      int *is_multi)
{
    *is_multi = 0;
    char c = *ps->p;
    if (c == '\\') {
        int k = escape(ps->p[1], ch, multi);
        if (k == 0)
            return 0;
        ps->p += 2;
        *is_multi = k == 2;
        return 1;
    }
    if (!ascii_char(c) || c == '[' || c == ']')
        return 0;
    *ch = (unsigned char)c;
    ps->p++;
    return 1;
}

/* '[' already read. */
static int parse_group(struct parser *ps, struct cls *out)
{
    int negate = 0;
    memset(out, 0, sizeof *out);
    if (*ps->p == '^') {
        negate = 1;
        ps->p++;
    }
    const char *start = ps->p;
    int count = 0;
    while (*ps->p != ']') {
        if (*ps->p == '\0')
            return -1;
        if (*ps->p == '-') {
            /* A plain '-' only first or last in the group. */
            if (ps->p != start && ps->p[1] != ']')
                return -1;
            cls_add(out, '-', '-');
            ps->p++;
            count++;
            continue;
        }
        int lo, multi;
        struct cls m;
        if (!group_char(ps, &lo, &m, &multi))
            return -1;
        if (multi) {
            cls_union(out, &m);
        } else if (ps->p[0] == '-' && ps->p[1] != ']' && ps->p[1] != '\0') {
            ps->p++;
            int hi;
            if (*ps->p == '[' || !group_char(ps, &hi, &m, &multi) || multi ||
                hi < lo)
                return -1;
            cls_add(out, lo, hi);
        } else {
            cls_add(out, lo, lo);
        }
        count++;
    }
    ps->p++;
    if (count == 0)
        return -1;
    if (negate)
        cls_negate(out);
    return 0;
}

static int parse_alt(struct parser *ps);

static int parse_number(struct parser *ps, int *out)
{
    if (*ps->p < '0' || *ps->p > '9')
        return -1;
    long v = 0;
    while (*ps->p >= '0' && *ps->p <= '9') {
        v = v * 10 + (*ps->p++ - '0');
        if (v > 100000)
            return -1;
    }
    *out = (int)v;
    return 0;
}

static int parse_atom(struct parser *ps)
{
    char c = *ps->p;
    if (c == '(') {
        ps->p++;
        int n = parse_alt(ps);
        if (n < 0 || *ps->p != ')')
            return -1;
        ps->p++;
        return n;
    }
    int n = new_node(ps, N_CLASS);
    if (n < 0)
        return -1;
    struct cls *cl = &ps->nodes[n].cls;
    if (c == '.') {
        cls_add(cl, 0, 127);
        cl->ascii[0] &= ~(((uint64_t)1 << '\n') | ((uint64_t)1 << '\r'));
        cl->nonascii = NA_YES;
        ps->p++;
    } else if (c == '[') {
        ps->p++;
        if (parse_group(ps, cl) < 0)
            return -1;
    } else if (c == '\\') {
        int ch;
        int k = escape(ps->p[1], &ch, cl);
        if (k == 0)
            return -1;
        if (k == 1)
            cls_add(cl, ch, ch);
        ps->p += 2;
    } else if (ascii_char(c) && strchr("?*+{}()|[]^$", c) == NULL) {
        cls_add(cl, (unsigned char)c, (unsigned char)c);
        ps->p++;
    } else {
        return -1;
    }
    return n;
}

static int parse_piece(struct parser *ps)
{
    int atom = parse_atom(ps);
    if (atom < 0)
        return -1;
    int min, max;
    switch (*ps->p) {
    case '?': min = 0; max = 1; break;
    case '*': min = 0; max = -1; break;
    case '+': min = 1; max = -1; break;
    case '{':
        ps->p++;
        if (parse_number(ps, &min) < 0)
            return -1;
        max = min;
        if (*ps->p == ',') {
            ps->p++;
            max = -1;
            if (*ps->p != '}' && (parse_number(ps, &max) < 0 || max < min))
                return -1;
        }
        if (*ps->p != '}')
            return -1;
        break;
    default:
        return atom;
    }
    ps->p++;
    int r = new_node(ps, N_REPEAT);
    if (r < 0)
        return -1;
    ps->nodes[r].child = atom;
    ps->nodes[r].min = min;
    ps->nodes[r].max = max;
    return r;
}

static int parse_branch(struct parser *ps)
{
    int cat = new_node(ps, N_CAT), last = -1;
    if (cat < 0)
        return -1;
    while (*ps->p != '\0' && *ps->p != '|' && *ps->p != ')') {
        int piece = parse_piece(ps);
        if (piece < 0)
            return -1;
        if (last < 0)
            ps->nodes[cat].first = piece;
        else
            ps->nodes[last].next = piece;
        last = piece;
    }
    return cat;
}

static int parse_alt(struct parser *ps)
{
    int alt = new_node(ps, N_ALT), last = -1;
    if (alt < 0)
        return -1;
    for (;;) {
        int b = parse_branch(ps);
        if (b < 0)
            return -1;
        if (last < 0)
            ps->nodes[alt].first = b;
        else
            ps->nodes[last].next = b;
        last = b;
        if (*ps->p != '|')
            return alt;
        ps->p++;
    }
}

/* ---- the automaton ------------------------------------------------------- */

struct frag {
    int nullable;
    bits first, last;
};

/* Links every position of from to every one of to. */
static void link(icx_xsdre *re, const bits *from, const bits *to)
{
    for (int p = 0; p < re->npos; p++)
        if (from->w[p / 64] >> (p % 64) & 1)
            bits_or(&re->follow[p], to);
}

static int emit(icx_xsdre *re, const struct parser *ps, int n,
                struct frag *out);

static void frag_cat(icx_xsdre *re, struct frag *a, const struct frag *b)
{
    link(re, &a->last, &b->first);
    if (a->nullable)
        bits_or(&a->first, &b->first);
    if (b->nullable)
        bits_or(&a->last, &b->last);
    else
        a->last = b->last;
    a->nullable = a->nullable && b->nullable;
}

static int emit_repeat(icx_xsdre *re, const struct parser *ps,
                       const struct node *nd, struct frag *out)
{
    memset(out, 0, sizeof *out);
    out->nullable = 1;
    /* x{n,m}: n copies, then m - n optional ones; x{n,}: the last of
     * max(n, 1) copies loops on itself. */
    int copies = nd->max >= 0 ? nd->max : nd->min > 0 ? nd->min : 1;
    for (int i = 0; i < copies; i++) {
        struct frag f;
        if (emit(re, ps, nd->child, &f) < 0)
            return -1;
        if (nd->max < 0 && i == copies - 1)
            link(re, &f.last, &f.first);
        if (i >= nd->min)
            f.nullable = 1;
        frag_cat(re, out, &f);
    }
    return 0;
}

static int emit(icx_xsdre *re, const struct parser *ps, int n,
                struct frag *out)
{
    const struct node *nd = &ps->nodes[n];
    memset(out, 0, sizeof *out);
    switch (nd->kind) {
    case N_CLASS:
        if (re->npos >= ICX_XSDRE_MAX_POS)
            return -1;
        re->cls[re->npos] = nd->cls;
        bits_set(&out->first, re->npos);
        bits_set(&out->last, re->npos);
        re->npos++;
        return 0;
    case N_CAT:
        out->nullable = 1;
        for (int c = nd->first; c >= 0; c = ps->nodes[c].next) {
            struct frag f;
            if (emit(re, ps, c, &f) < 0)
                return -1;
            frag_cat(re, out, &f);
        }
        return 0;
    case N_ALT:
        for (int c = nd->first; c >= 0; c = ps->nodes[c].next) {
            struct frag f;
            if (emit(re, ps, c, &f) < 0)
                return -1;
            out->nullable |= f.nullable;
            bits_or(&out->first, &f.first);
            bits_or(&out->last, &f.last);
        }
        return 0;
    case N_REPEAT:
        return emit_repeat(re, ps, nd, out);
    default:
        out->nullable = 1;
        return 0;
    }
}

static void build_masks(icx_xsdre *re)
{
    for (int p = 0; p < re->npos; p++) {
        const struct cls *c = &re->cls[p];
        for (int ch = 0; ch < 128; ch++)
            if (c->ascii[ch / 64] >> (ch % 64) & 1)
                bits_set(&re->mask[ch], p);
        if (c->nonascii == NA_YES)
            bits_set(&re->nonascii_yes, p);
        else if (c->nonascii == NA_UNKNOWN)
            bits_set(&re->nonascii_unsure, p);
    }
}

/* Live positions after reading a character of column col from the set
 * from (start: the pattern's first positions).  Returns 0, or 1 when a
 * Unicode class makes the answer unknown. */
static int step_set(const icx_xsdre *re, const bits *from, int start, int col,
                    bits *out)
{
    bits f;
    if (start) {
        f = re->first;
    } else {
        memset(&f, 0, sizeof f);
        for (int w = 0; w < WORDS; w++)
            for (uint64_t x = from->w[w]; x != 0; x &= x - 1)
                bits_or(&f, &re->follow[w * 64 + __builtin_ctzll(x)]);
    }
    const bits *m;
    if (col < 128) {
        m = &re->mask[col];
    } else {
        if (bits_meet(&f, &re->nonascii_unsure))
            return 1;
        m = &re->nonascii_yes;
    }
    for (int w = 0; w < WORDS; w++)
        out->w[w] = f.w[w] & m->w[w];
    return 0;
}

/* Groups the COLS columns of the table t (n states, T_DEAD / T_UNSURE
 * for the two sinks) into byte classes and stores the compact table. */
static int compress_dfa(icx_xsdre *re, const uint16_t *t,
                        const unsigned char *acc, int n)
{
    int col_class[COLS + 1], rep[COLS + 1], nclass = 0;
    /* Column COLS is the continuation byte: it keeps the state. */
    for (int col = 0; col <= COLS; col++) {
        int k = 0;
        for (; col < COLS && k < nclass; k++) {
            int r = rep[k], same = r < COLS;
            for (int st = 0; same && st < n; st++)
                same = t[st * COLS + col] == t[st * COLS + r];
            if (same)
                break;
        }
        if (col == COLS || k == nclass) {
            k = nclass++;
            rep[k] = col;
        }
        col_class[col] = k;
    }
    int total = n + 2, dead = n, unsure = n + 1, wide = total > 256;
    size_t cells = (size_t)total * (size_t)nclass;
    struct dfa *d = malloc(sizeof *d + (size_t)total +
                           cells * (wide ? sizeof(uint16_t) : 1) + 2);
    if (d == NULL)
        return -1;
    d->nclass = nclass;
    d->unsure = unsure;
    d->wide = wide;
    d->accept = (unsigned char *)(d + 1);
    /* cells after accept, two-byte aligned */
    d->cells = d->accept + total + ((size_t)total & 1);
    memset(d->accept, 0, (size_t)total);
    memcpy(d->accept, acc, (size_t)n);
    for (int st = 0; st < total; st++) {
        for (int k = 0; k < nclass; k++) {
            unsigned next = (unsigned)st; /* sinks, continuation bytes */
            if (st < n && rep[k] < COLS) {
                next = t[st * COLS + rep[k]];
                next = next == T_DEAD     ? (unsigned)dead
                       : next == T_UNSURE ? (unsigned)unsure
                                          : next;
            }
            if (wide)
                ((uint16_t *)d->cells)[st * nclass + k] = (uint16_t)next;
            else
                ((uint8_t *)d->cells)[st * nclass + k] = (uint8_t)next;
        }
    }
    for (int b = 0; b < 256; b++)
        d->byte_class[b] = (unsigned char)col_class[b < 0x80   ? b
                                                   : b < 0xC0 ? COLS
                                                              : 128];
    re->dfa = d;
    return 0;
}

/* Subset construction; leaves re->dfa NULL when it would exceed MAX_DFA
 * states (matching then simulates the position automaton). */
static int build_dfa(icx_xsdre *re)
{
    bits *sets = malloc(MAX_DFA * sizeof *sets);
    uint16_t *t = malloc((size_t)MAX_DFA * COLS * sizeof *t);
    unsigned char *acc = calloc(MAX_DFA, 1);
    int16_t *slot = malloc(2 * MAX_DFA * sizeof *slot); /* open addressing */
    int n = 1, rc = 0;
    if (slot != NULL)
        memset(slot, 0xFF, 2 * MAX_DFA * sizeof *slot);
    if (sets == NULL || t == NULL || acc == NULL || slot == NULL) {
        rc = -1;
        goto out;
    }
    memset(&sets[0], 0, sizeof sets[0]);
    acc[0] = (unsigned char)re->nullable;
    for (int s = 0; s < n; s++) {
        for (int col = 0; col < COLS; col++) {
            bits next;
            if (step_set(re, &sets[s], s == 0, col, &next)) {
                t[s * COLS + col] = T_UNSURE;
                continue;
            }
            if (!bits_any(&next)) {
                t[s * COLS + col] = T_DEAD;
                continue;
            }
            uint64_t h = 0;
            for (int w = 0; w < WORDS; w++)
                h = (h ^ next.w[w]) * 0x9E3779B97F4A7C15ull;
            unsigned at = (unsigned)(h >> 40) % (2 * MAX_DFA);
            while (slot[at] >= 0 &&
                   memcmp(&sets[slot[at]], &next, sizeof next) != 0)
                at = (at + 1) % (2 * MAX_DFA);
            int k = slot[at];
            if (k < 0) {
                if (n == MAX_DFA)
                    goto out; /* too large: no table */
                k = n++;
                sets[k] = next;
                acc[k] = (unsigned char)bits_meet(&next, &re->last);
                slot[at] = (int16_t)k;
            }
            t[s * COLS + col] = (uint16_t)k;
        }
    }
    rc = compress_dfa(re, t, acc, n);
out:
    free(sets);
    free(t);
    free(acc);
    free(slot);
    return rc;
}

int icx_xsdre_compile(icx_xsdre **out, const char *pattern, icx_err *err)
{
    *out = NULL;
    struct parser *ps = calloc(1, sizeof *ps);
    icx_xsdre *re = calloc(1, sizeof *re);
    int rc = ICX_OK;
    if (ps == NULL || re == NULL) {
        rc = icx_err_set(err, ICX_ENOMEM, "out of memory");
        goto out;
    }
    ps->p = pattern;
    int root = parse_alt(ps);
    struct frag f;
    if (root < 0 || ps->bad || *ps->p != '\0' ||
        emit(re, ps, root, &f) < 0) {
        rc = icx_err_set(err, ICX_ENOTFOUND,
                         "pattern outside the fast subset: %s", pattern);
        goto out;
    }
    re->nullable = f.nullable;
    re->first = f.first;
    re->last = f.last;
    build_masks(re);
    if (build_dfa(re) < 0) {
        rc = icx_err_set(err, ICX_ENOMEM, "out of memory");
        goto out;
    }
    *out = re;
    re = NULL;
out:
    free(ps);
    icx_xsdre_free(&re);
    return rc;
}

void icx_xsdre_free(icx_xsdre **rep)
{
    if (rep == NULL || *rep == NULL)
        return;
    free((*rep)->dfa);
    free(*rep);
    *rep = NULL;
}

static enum icx_xsdre_result match_dfa(const struct dfa *d, const char *s,
                                       size_t len)
{
    const unsigned char *u = (const unsigned char *)s;
    unsigned nclass = (unsigned)d->nclass, state = 0;
    if (!d->wide) {
        const uint8_t *t = d->cells;
        for (size_t i = 0; i < len; i++)
            state = t[state * nclass + d->byte_class[u[i]]];
    } else {
        const uint16_t *t = d->cells;
        for (size_t i = 0; i < len; i++)
            state = t[state * nclass + d->byte_class[u[i]]];
    }
    if ((int)state == d->unsure)
        return ICX_XSDRE_UNSURE;
    return d->accept[state] ? ICX_XSDRE_YES : ICX_XSDRE_NO;
}

enum icx_xsdre_result icx_xsdre_match(const icx_xsdre *re, const char *s,
                                      size_t len)
{
    if (re->dfa != NULL)
        return match_dfa(re->dfa, s, len);
    bits live;
    memset(&live, 0, sizeof live);
    for (size_t i = 0; i < len;) {
        unsigned char c = (unsigned char)s[i];
        int col = c < 0x80 ? c : 128;
        int start = i == 0;
        for (i++; col == 128 && i < len && ((unsigned char)s[i] & 0xC0) == 0x80;
             i++)
            ;
        bits next;
        if (step_set(re, &live, start, col, &next))
            return ICX_XSDRE_UNSURE;
        if (!bits_any(&next))
            return ICX_XSDRE_NO;
        live = next;
    }
    if (len == 0)
        return re->nullable ? ICX_XSDRE_YES : ICX_XSDRE_NO;
    return bits_meet(&live, &re->last) ? ICX_XSDRE_YES : ICX_XSDRE_NO;
}
