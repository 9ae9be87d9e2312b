/*
 * diff_scan.h - what the mutation files of the differential test share
 * (diff_scan.c): small text helpers, a scanner that splits an envelope's
 * bytes into markup (tags, XML declaration, CDATA, comments) and the text
 * between, regions found by element name (Header, Payload, ds:Signature,
 * ds:SignedInfo, ...), and pickers of a random tag, text run, attribute or
 * position.  Internal to tests/diff; single-threaded; allocation failure
 * aborts.
 */
#ifndef ICX_DIFF_SCAN_H
#define ICX_DIFF_SCAN_H

#include <stddef.h>
#include <stdint.h>

#include "diff_mutate.h"

#define PICK(r, arr) ((arr)[dm_below((r), sizeof(arr) / sizeof((arr)[0]))])

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

struct attr {
    size_t ws;        /* whitespace before the name */
    size_t name, nlen;
    size_t eq;        /* the '=' */
    size_t val, vlen; /* inside the quotes */
    char quote;
};

#define MAX_ATTRS 32

/* A mutation's signature (diff_mutate.h, struct dm_mutation). */
#define MUT(fn)                                                              \
    static int fn(struct dm_text *t, struct dm_rng *r,                       \
                  const struct dm_env *e, char *note, size_t nl)
#define UNUSED_ENV (void)e

extern const char dm_alnum[];    /* letters and digits */
extern const char dm_b64chars[]; /* the base64 alphabet */

void dm_splice_str(struct dm_text *t, size_t off, size_t del,
                   const char *ins);

void dm_notef(char *note, size_t nl, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

size_t dm_find(const char *s, size_t n, size_t from, const char *pat);

int dm_starts(const char *s, size_t n, size_t i, const char *pat);

void dm_scan(const struct dm_text *t, struct scan *sc);

int dm_is_ws(char c);

/* Offset and length of a start or end tag's qualified name. */
size_t dm_tag_name(const struct dm_text *t, const struct tok *k,
                   size_t *len);

int dm_tag_is(const struct dm_text *t, const struct tok *k,
              const char *qname);

int dm_self_closing(const struct dm_text *t, const struct tok *k);

/* Index of the start tag of qname and of its end tag (same when empty). */
int dm_element(const struct dm_text *t, const struct scan *sc,
               const char *qname, size_t *si, size_t *ei);

/* The byte span [a, b) of element qname, or of the whole text when qname
 * is NULL or not found. */
void dm_region(const struct dm_text *t, const struct scan *sc,
               const char *qname, size_t *a, size_t *b);

int dm_local_is(const struct dm_text *t, const struct tok *k,
                const char *local);

const char *dm_some_region(struct dm_rng *r);

/* A random token of kind (-1: start or end tag) inside [a, b). */
long dm_pick_tok(struct dm_rng *r, const struct scan *sc, int kind,
                 size_t a, size_t b);

int dm_blank(const char *s, size_t n);

/* A random text run (between two markup tokens) inside [a, b). */
int dm_pick_text(struct dm_rng *r, const struct dm_text *t,
                 const struct scan *sc, size_t a, size_t b, int nonblank,
                 size_t *off, size_t *len);

/* Whether position p of run [from, ..) is part of a reference &...; */
int dm_in_ref(const char *s, size_t from, size_t p);

/* A position in [off, off+len) not inside a reference and, when want is
 * not NULL, holding one of its characters; SIZE_MAX when none found. */
size_t dm_pick_pos(struct dm_rng *r, const char *s, size_t off,
                   size_t len, const char *want);

size_t dm_attrs(const struct dm_text *t, const struct tok *k,
                struct attr *v);

int dm_attr_is_ns(const struct dm_text *t, const struct attr *at);

/* A random attribute (ns: 1 declarations only, 0 others, -1 any) of a
 * start tag in [a, b). */
int dm_pick_attr(struct dm_rng *r, const struct dm_text *t,
                 const struct scan *sc, size_t a, size_t b, int ns,
                 struct attr *out);

char dm_other_char(struct dm_rng *r, const char *set, char not);

const char *dm_ws_run(struct dm_rng *r);

const char *dm_payload_or_header(struct dm_rng *r);

/* The mutations of the signature, the encoding and the bytes
 * (diff_mutate_sig.c); diff_mutate.c has the others. */
extern const struct dm_mutation dm_signature_mutations[];
extern const size_t dm_signature_mutation_count;

#endif
