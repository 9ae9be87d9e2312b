/*
 * diff_mutate.h - textual mutations of a signed (or unsigned) envelope for
 * the differential verification test (diff_verify.c).
 *
 * Each mutation works on the bytes, not on a tree, so it can produce what
 * no serializer writes: whitespace inside tags, character references,
 * CDATA, odd quotes, namespace declarations anywhere, broken markup.  A
 * mutation picks its target with the caller's PRNG, so a (seed, variant)
 * pair names the same change on every run.  It returns 0 when it changed
 * the text and writes a short note of what it did, -1 when the text had no
 * place for it (the caller picks another).
 *
 * Single-threaded test code: no locking; allocation failure aborts.
 */
#ifndef ICX_DIFF_MUTATE_H
#define ICX_DIFF_MUTATE_H

#include <stddef.h>
#include <stdint.h>

/* A growable NUL-terminated byte string (may hold NUL bytes: n counts). */
struct dm_text {
    char *s;
    size_t n, cap;
};

void dm_text_set(struct dm_text *t, const char *s, size_t n);
void dm_text_free(struct dm_text *t);
/* Replaces del bytes at off by ins (inslen bytes). */
void dm_text_splice(struct dm_text *t, size_t off, size_t del,
                    const char *ins, size_t inslen);

/* The content [*a, *b) of the first element at or after offset from whose
 * local name is local: from the end of its start tag to the first end tag
 * of that local name after it.  -1 when there is none, or it is empty. */
int dm_element_content(const struct dm_text *t, const char *local,
                       size_t from, size_t *a, size_t *b);

/* splitmix64: small, fast, and the whole state is one number. */
struct dm_rng {
    uint64_t s;
};
uint64_t dm_next(struct dm_rng *r);
size_t dm_below(struct dm_rng *r, size_t n); /* 0 <= x < n (n > 0) */

/* What a mutation may need besides the text. */
struct dm_env {
    const char *payload_ns;  /* namespace of the seed's payload element */
    const char *other_cert;  /* base64 DER of a certificate not trusted */
    const char *own_cert;    /* base64 DER of the signer's certificate */
};

#define DM_RESIGNABLE 1u /* meaningful on the unsigned envelope too */
#define DM_NEUTRAL 2u    /* meant to leave the canonical form alone */

struct dm_mutation {
    const char *name;
    const char *cls; /* payload, namespace, whitespace, escaping, signature,
                        encoding, markup, bytes */
    int (*apply)(struct dm_text *t, struct dm_rng *r, const struct dm_env *e,
                 char *note, size_t notelen);
    unsigned flags;
};

/* The mutations, numbered 0 .. dm_mutation_total() - 1. */
size_t dm_mutation_total(void);
const struct dm_mutation *dm_mutation_at(size_t i);

#endif
