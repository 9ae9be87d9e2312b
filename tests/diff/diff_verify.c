/*
 * diff_verify.c - differential test of envelope verification: ICX against
 * hardened xmlsec, on thousands of envelopes.
 *
 * ICX's verdict is icx_envelope_verify() with the Sender's certificate
 * from a trust store: the call the daemon and `icx envelope verify` make.
 * The reference is xmlsec on its own parse of the same bytes, with the key
 * of the same certificate and nothing else (tests/xmlsec_ref.h).  ICX may
 * refuse what xmlsec accepts (its profile and envelope policy are
 * stricter); it must never accept what xmlsec refuses.
 *
 * Envelopes: five payloads (docs/samples, schemas/examples/valid) in both
 * directions, JP-NPA (RSA 2048) to PH-NBI and PH-NBI (ECDSA P-256) to
 * JP-NPA, built and signed by ICX with keys made at start.  Variants, each
 * from the PRNG seeded with (seed, index) so that any one can be made
 * again alone (--only):
 * - re-signed (30%): one mutation on the unsigned envelope, then ICX signs
 *   what it parsed and the Signature is put into the mutated bytes
 *   (dv_resign), so that acceptance of odd but valid forms is exercised,
 *   not only refusal;
 * - refilled (20%): one mutation on the signed envelope, Signature
 *   included, then DigestValue and SignatureValue made anew over what
 *   c14n.c renders of the mutated bytes (dv_refill, diff_sign.c), so that
 *   a signature of an odd shape (other prefixes, declarations,
 *   whitespace, references in SignedInfo) is valid by ICX's canonical
 *   form and xmlsec judges it;
 * - wrong key (5%): the envelope signed by an outsider or by the other
 *   partner;
 * - plain (45%): one mutation on the signed envelope, at times followed by
 *   one that means to keep the canonical form.
 *
 * A variant ICX accepts and xmlsec refuses is written to the output folder
 * (with the certificate, since keys are made per run) and fails the run;
 * so does a seed envelope either verifier refuses, or a run where too few
 * variants were accepted by both for the comparison to mean anything.
 *
 * Usage: diff_verify [--count N] [--seconds S] [--seed X] [--only I]
 *                    [--out DIR] [--verbose]
 *        diff_verify --replay FILE.xml CERT.pem
 * DIFF_COUNT (variants per seed envelope, default 300), DIFF_SECONDS (run
 * for a time instead), DIFF_SEED and DIFF_OUT do the same.  Exit 0: no
 * difference; 1: a difference or a failed check; 2: usage or set-up.
 * Single-threaded.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <libxml/xmlerror.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "diff_mutate.h"
#include "diff_sign.h"
#include "envelope.h"
#include "keys.h"
#include "trust.h"
#include "util.h"
#include "../xmlsec_ref.h"
#include "xmlsig.h"

#define CREATED "2026-11-26T01:02:03Z"
#define MAX_DIVERGENCES 5
#define MAX_TALLIES 256

struct party {
    const char *id, *dir;
    int alg;
    icx_signer *signer;
    EVP_PKEY *pkey;          /* the same private key, for dv_refill() */
    xmlSecKeyPtr ref_key;
    char cert[4096];
    char *cert_b64;
};

static struct party parties[] = {
    {"JP-NPA", "jp", ICX_ALG_RSA2048, NULL, NULL, NULL, "", NULL},
    {"PH-NBI", "ph", ICX_ALG_ECDSA_P256, NULL, NULL, NULL, "", NULL},
    {"XX-EVIL", "evil", ICX_ALG_RSA2048, NULL, NULL, NULL, "", NULL},
};
enum { JP, PH, EVIL };

static const struct {
    const char *file, *category, *ns;
} payloads[] = {
    {"docs/samples/case-referral-payload.xml", "case-referral",
     "urn:icx:case:1"},
    {"docs/samples/case-request-payload.xml", "case-request",
     "urn:icx:case:1"},
    {"schemas/examples/valid/list-update-delta.xml", "list-update",
     "urn:icx:list:1"},
    {"schemas/examples/valid/survey-request.xml", "survey-request",
     "urn:icx:survey:1"},
    {"schemas/examples/valid/receipt-positive.xml", "receipt",
     "urn:icx:receipt:1"},
};
#define NPAYLOADS (sizeof payloads / sizeof payloads[0])
#define NSEEDS (2 * NPAYLOADS)

struct seed {
    int from, to;
    const char *ns;
    char *signed_xml, *unsigned_xml;
    size_t signed_len, unsigned_len;
};

static struct seed seeds[NSEEDS];
static icx_schemas *schemas;
static icx_trust *trust;
static time_t now;
static char *tmpdir;
static const char *srcdir;

struct tally {
    char name[48];
    unsigned long both_ok, both_refused, icx_refused, icx_accepted;
};

static struct tally by_class[MAX_TALLIES], by_mutation[MAX_TALLIES];
static size_t nclass, nmutation;

static struct tally *tally_get(struct tally *v, size_t *n, const char *name)
{
    for (size_t i = 0; i < *n; i++)
        if (strcmp(v[i].name, name) == 0)
            return &v[i];
    if (*n == MAX_TALLIES)
        abort();
    snprintf(v[*n].name, sizeof v[*n].name, "%s", name);
    return &v[(*n)++];
}

static void quiet(void *ctx, const char *msg, ...)
{
    (void)ctx;
    (void)msg;
}

static void quiet_structured(void *ctx, xmlErrorPtr e)
{
    (void)ctx;
    (void)e;
}

/* ---- fixture ---------------------------------------------------------- */

static int read_whole(char **out, size_t *len, const char *path)
{
    icx_err err;
    if (icx_file_read(out, len, path, 1 << 20, &err) < 0) {
        fprintf(stderr, "diff_verify: %s\n", err.msg);
        return -1;
    }
    return 0;
}

/* The base64 body of a PEM certificate, on one line (malloc'ed). */
static char *pem_body(const char *path)
{
    char *pem = NULL;
    size_t len = 0;
    if (read_whole(&pem, &len, path) < 0)
        return NULL;
    char *a = strstr(pem, "-----\n"), *b = strstr(pem, "-----END");
    char *out = a && b ? malloc((size_t)(b - a)) : NULL;
    size_t n = 0;
    for (char *p = a ? a + 6 : NULL; out != NULL && p < b; p++)
        if (*p != '\n' && *p != '\r')
            out[n++] = *p;
    if (out != NULL)
        out[n] = '\0';
    free(pem);
    return out;
}

static int make_parties(void)
{
    icx_err err;
    icx_err_clear(&err);
    if (icx_trust_new(&trust, &err) < 0)
        goto fail;
    for (size_t i = 0; i < sizeof parties / sizeof parties[0]; i++) {
        struct party *p = &parties[i];
        char dir[2048], key[2100];
        snprintf(dir, sizeof dir, "%s/%s", tmpdir, p->dir);
        snprintf(key, sizeof key, "%s/key.pem", dir);
        snprintf(p->cert, sizeof p->cert, "%s/cert.pem", dir);
        if (icx_keys_generate(p->id, dir, p->alg, 30, &err) < 0 ||
            icx_signer_load(&p->signer, key, &err) < 0)
            goto fail;
        if (i != EVIL && icx_trust_add(trust, p->id, p->cert, &err) < 0)
            goto fail;
        FILE *f = fopen(key, "r");
        p->pkey = f ? PEM_read_PrivateKey(f, NULL, NULL, NULL) : NULL;
        if (f != NULL)
            fclose(f);
        if (p->pkey == NULL) {
            fprintf(stderr, "diff_verify: %s: cannot load\n", key);
            return -1;
        }
        p->ref_key = xmlsec_ref_key(p->cert);
        p->cert_b64 = pem_body(p->cert);
        if (p->ref_key == NULL || p->cert_b64 == NULL) {
            fprintf(stderr, "diff_verify: %s: cannot load for xmlsec\n",
                    p->cert);
            return -1;
        }
    }
    return 0;
fail:
    fprintf(stderr, "diff_verify: keys: %s\n", err.msg);
    return -1;
}

static int make_seeds(void)
{
    icx_err err;
    icx_err_clear(&err);
    for (size_t i = 0; i < NSEEDS; i++) {
        struct seed *s = &seeds[i];
        size_t k = i % NPAYLOADS;
        s->from = i < NPAYLOADS ? JP : PH;
        s->to = i < NPAYLOADS ? PH : JP;
        s->ns = payloads[k].ns;
        icx_header h;
        memset(&h, 0, sizeof h);
        snprintf(h.sender, sizeof h.sender, "%s", parties[s->from].id);
        snprintf(h.recipient, sizeof h.recipient, "%s", parties[s->to].id);
        snprintf(h.category, sizeof h.category, "%s", payloads[k].category);
        snprintf(h.tlp, sizeof h.tlp, "AMBER");
        snprintf(h.hcode, sizeof h.hcode, "H2");
        /* Every other seed carries markup characters and a tab in an
         * attribute, for the escaping and whitespace mutations. */
        snprintf(h.legal_basis, sizeof h.legal_basis, "%s",
                 i % 2 ? "MLAT <JP-PH> & \"art. 3\" 'ter'\tnach \xc2\xa7 5"
                       : "MLAT JP-PH art. 3");
        snprintf(h.retain_until, sizeof h.retain_until, "2031-12-31");
        snprintf(h.created, sizeof h.created, CREATED);
        if (icx_uuid7(h.message_id, (int64_t)now * 1000 + (int64_t)i, &err) < 0)
            goto fail;
        char path[4096], *payload = NULL;
        size_t plen = 0;
        snprintf(path, sizeof path, "%s/%s", srcdir, payloads[k].file);
        if (read_whole(&payload, &plen, path) < 0)
            return -1;
        icx_buf u, sg;
        icx_buf_init(&u, 1 << 20);
        icx_buf_init(&sg, 1 << 20);
        int rc = icx_envelope_build(&u, &h, payload, plen, schemas, &err);
        if (rc == 0)
            rc = icx_envelope_sign(&sg, u.data, u.len, schemas,
                                   parties[s->from].signer, &err);
        free(payload);
        if (rc < 0) {
            icx_buf_free(&u);
            icx_buf_free(&sg);
            icx_err_wrap(&err, "%s", path);
            goto fail;
        }
        s->unsigned_xml = icx_buf_steal(&u, &s->unsigned_len);
        s->signed_xml = icx_buf_steal(&sg, &s->signed_len);
    }
    return 0;
fail:
    fprintf(stderr, "diff_verify: seed envelopes: %s\n", err.msg);
    return -1;
}

static void free_fixture(void)
{
    for (size_t i = 0; i < NSEEDS; i++) {
        free(seeds[i].signed_xml);
        free(seeds[i].unsigned_xml);
    }
    for (size_t i = 0; i < sizeof parties / sizeof parties[0]; i++) {
        icx_signer_free(&parties[i].signer);
        EVP_PKEY_free(parties[i].pkey);
        if (parties[i].ref_key != NULL)
            xmlSecKeyDestroy(parties[i].ref_key);
        free(parties[i].cert_b64);
    }
    icx_trust_free(&trust);
    icx_schemas_free(&schemas);
}

/* ---- the two verdicts ------------------------------------------------- */

static int any_recipient(void *ctx, const char *recipient)
{
    (void)ctx;
    (void)recipient;
    return 1;
}

/* 1 when ICX accepts the envelope as self (NULL: any recipient). */
static int icx_accepts(const char *xml, size_t len, const char *self,
                       icx_err *err)
{
    icx_verify_policy p = {
        .limits = {.max_bytes = 256 * 1024, .max_depth = 64},
        .schemas = schemas,
        .trust = icx_trust_get, .ctx = trust, .self = self ? self : "",
        .recipient_ok = self ? NULL : any_recipient, .now = now,
        .created_past_s = 900, .created_future_s = 300,
    };
    icx_header h;
    icx_err_clear(err);
    return icx_envelope_verify(&h, xml, len, &p, err) == ICX_OK;
}

static int xmlsec_accepts(const char *xml, size_t len, xmlSecKeyPtr key)
{
    int v = xmlsec_ref_verify(xml, len, key);
    if (v < 0) {
        fprintf(stderr, "diff_verify: xmlsec reference set-up failed\n");
        exit(2);
    }
    return v;
}

/* ---- variants --------------------------------------------------------- */

struct variant {
    char cls[48], name[64], note[512];
    const struct seed *seed;
    int resigned;
};

/* A mutation (with flags among want) applied to t; -1 when none fit. */
static int mutate(struct dm_text *t, struct dm_rng *r, const struct seed *s,
                  unsigned want, const struct dm_mutation **used, char *note,
                  size_t nl)
{
    struct dm_env e = {s->ns, parties[EVIL].cert_b64,
                       parties[s->from].cert_b64};
    for (int tries = 0; tries < 64; tries++) {
        const struct dm_mutation *m =
            dm_mutation_at(dm_below(r, dm_mutation_total()));
        if (want != 0 && (m->flags & want) != want)
            continue;
        struct dm_text keep = {0};
        dm_text_set(&keep, t->s, t->n);
        if (m->apply(t, r, &e, note, nl) == 0) {
            dm_text_free(&keep);
            *used = m;
            return 0;
        }
        dm_text_set(t, keep.s, keep.n);
        dm_text_free(&keep);
    }
    return -1;
}

/* Makes variant index of the run seeded with seed into t. */
static void make_variant(struct dm_text *t, struct variant *v, uint64_t seed,
                         uint64_t index)
{
    struct dm_rng r = {seed ^ (index * UINT64_C(0x9e3779b97f4a7c15))};
    dm_next(&r);
    const struct seed *s = &seeds[index % NSEEDS];
    const struct dm_mutation *m = NULL;
    size_t kind = dm_below(&r, 20);
    memset(v, 0, sizeof *v);
    v->seed = s;
    if (kind < 6) { /* mutated, then re-signed */
        for (int tries = 0; tries < 16; tries++) {
            dm_text_set(t, s->unsigned_xml, s->unsigned_len);
            if (mutate(t, &r, s, DM_RESIGNABLE, &m, v->note,
                       sizeof v->note) == 0 &&
                dv_resign(t, parties[s->from].signer) == 0) {
                snprintf(v->cls, sizeof v->cls, "resign-%s", m->cls);
                snprintf(v->name, sizeof v->name, "resign:%s", m->name);
                v->resigned = 1;
                return;
            }
        }
    } else if (kind < 10) { /* mutated, then its values made anew */
        for (int tries = 0; tries < 16; tries++) {
            dm_text_set(t, s->signed_xml, s->signed_len);
            if (mutate(t, &r, s, 0, &m, v->note, sizeof v->note) == 0 &&
                dv_refill(t, parties[s->from].pkey) == 0) {
                snprintf(v->cls, sizeof v->cls, "refill-%s", m->cls);
                snprintf(v->name, sizeof v->name, "refill:%s", m->name);
                v->resigned = 1;
                return;
            }
        }
    } else if (kind == 10) { /* signed by a key not the Sender's */
        int who = dm_below(&r, 2) ? EVIL : (s->from == JP ? PH : JP);
        dm_text_set(t, s->unsigned_xml, s->unsigned_len);
        if (dv_resign(t, parties[who].signer) == 0) {
            snprintf(v->cls, sizeof v->cls, "key");
            snprintf(v->name, sizeof v->name, "key:%s", parties[who].id);
            snprintf(v->note, sizeof v->note, "signed by %s's key",
                     parties[who].id);
            return;
        }
    }
    dm_text_set(t, s->signed_xml, s->signed_len);
    if (mutate(t, &r, s, 0, &m, v->note, sizeof v->note) < 0) {
        snprintf(v->cls, sizeof v->cls, "none");
        snprintf(v->name, sizeof v->name, "none");
        return;
    }
    snprintf(v->cls, sizeof v->cls, "%s", m->cls);
    snprintf(v->name, sizeof v->name, "%s", m->name);
    if (dm_below(&r, 4) == 0) {
        char more[256];
        size_t used = strlen(v->note);
        if (mutate(t, &r, s, DM_NEUTRAL, &m, more, sizeof more) == 0)
            snprintf(v->note + used, sizeof v->note - used, "; then %s: %s",
                     m->name, more);
    }
}

/* ---- reporting -------------------------------------------------------- */

static int write_file(const char *path, const char *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    if (f == NULL)
        return -1;
    size_t n = fwrite(data, 1, len, f);
    return fclose(f) == 0 && n == len ? 0 : -1;
}

static void report_divergence(const char *outdir, uint64_t seed,
                              uint64_t index, const struct variant *v,
                              const struct dm_text *t, const icx_err *err)
{
    char doc[4096], cert[4200];
    char *pem = NULL;
    size_t plen = 0;
    mkdir(outdir, 0755);
    snprintf(doc, sizeof doc, "%s/diff-%016" PRIx64 "-%" PRIu64 ".xml",
             outdir, seed, index);
    snprintf(cert, sizeof cert, "%s/diff-%016" PRIx64 "-%" PRIu64 "-cert.pem",
             outdir, seed, index);
    int ok = write_file(doc, t->s, t->n) == 0 &&
             read_whole(&pem, &plen, parties[v->seed->from].cert) == 0 &&
             write_file(cert, pem, plen) == 0;
    free(pem);
    printf("DIFFERENCE: seed 0x%016" PRIx64 " variant %" PRIu64
           " (%s, %s): ICX accepted, xmlsec refused\n"
           "  mutation: %s\n  ICX: %s\n",
           seed, index, v->cls, v->name, v->note,
           err->msg[0] ? err->msg : "ok");
    if (ok)
        printf("  document: %s\n  certificate: %s\n"
               "  replay: diff_verify --replay %s %s\n",
               doc, cert, doc, cert);
    else
        printf("  (could not write the document to %s: %s)\n", outdir,
               strerror(errno));
}

static void print_tallies(const char *title, const struct tally *v, size_t n)
{
    printf("%-32s %8s %13s %17s %12s\n", title, "both-ok", "both-refused",
           "icx-only-refused", "icx-only-ok");
    for (size_t i = 0; i < n; i++)
        printf("%-32s %8lu %13lu %17lu %12lu\n", v[i].name, v[i].both_ok,
               v[i].both_refused, v[i].icx_refused, v[i].icx_accepted);
}

/* ---- modes ------------------------------------------------------------ */

static int replay(const char *file, const char *cert)
{
    char *xml = NULL;
    size_t len = 0;
    icx_err err;
    icx_header h;
    icx_xml_limits lim = {.max_bytes = 256 * 1024, .max_depth = 64};
    icx_err_clear(&err);
    if (read_whole(&xml, &len, file) < 0)
        return 2;
    const char *sender = icx_envelope_peek(&h, xml, len, &lim, &err) == 0
                             ? h.sender : "JP-NPA";
    xmlSecKeyPtr key = xmlsec_ref_key(cert);
    if (key == NULL || icx_trust_new(&trust, &err) < 0 ||
        icx_trust_add(trust, sender, cert, &err) < 0) {
        fprintf(stderr, "diff_verify: %s: %s\n", cert,
                key == NULL ? "cannot load" : err.msg);
        if (key != NULL)
            xmlSecKeyDestroy(key);
        free(xml);
        return 2;
    }
    int mine = icx_accepts(xml, len, NULL, &err);
    int theirs = xmlsec_accepts(xml, len, key);
    printf("ICX: %s%s%s\nxmlsec: %s\n", mine ? "accepted" : "refused",
           mine ? "" : ": ", mine ? "" : err.msg,
           theirs ? "accepted" : "refused");
    xmlSecKeyDestroy(key);
    free(xml);
    return mine && !theirs ? 1 : 0;
}

static uint64_t parse_u64(const char *s, const char *what)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 0);
    if (errno != 0 || *end != '\0' || end == s) {
        fprintf(stderr, "diff_verify: %s: expected a number, got \"%s\"\n",
                what, s);
        exit(2);
    }
    return (uint64_t)v;
}

static double elapsed(const struct timespec *t0)
{
    struct timespec t1;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    return (double)(t1.tv_sec - t0->tv_sec) +
           (double)(t1.tv_nsec - t0->tv_nsec) / 1e9;
}

int main(int argc, char **argv)
{
    const char *env;
    /* Line by line: a sanitizer that ends the process must not lose the
     * report of what was compared. */
    setvbuf(stdout, NULL, _IOLBF, 0);
    uint64_t count = 300, only = UINT64_MAX, seconds = 0, seed = 0;
    const char *outdir = "diff-verify-failures";
    int verbose = 0, have_seed = 0;
    if ((env = getenv("DIFF_COUNT")) != NULL && *env)
        count = parse_u64(env, "DIFF_COUNT");
    if ((env = getenv("DIFF_SECONDS")) != NULL && *env)
        seconds = parse_u64(env, "DIFF_SECONDS");
    if ((env = getenv("DIFF_SEED")) != NULL && *env) {
        seed = parse_u64(env, "DIFF_SEED");
        have_seed = 1;
    }
    if ((env = getenv("DIFF_OUT")) != NULL && *env)
        outdir = env;
    const char *replay_file = NULL, *replay_cert = NULL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--verbose") == 0) {
            verbose = 1;
            continue;
        }
        if (v == NULL)
            goto usage;
        if (strcmp(a, "--count") == 0)
            count = parse_u64(v, a);
        else if (strcmp(a, "--seconds") == 0)
            seconds = parse_u64(v, a);
        else if (strcmp(a, "--seed") == 0)
            seed = parse_u64(v, a), have_seed = 1;
        else if (strcmp(a, "--only") == 0)
            only = parse_u64(v, a);
        else if (strcmp(a, "--out") == 0)
            outdir = v;
        else if (strcmp(a, "--replay") == 0 && i + 2 < argc)
            replay_file = v, replay_cert = argv[i + 2], i++;
        else
            goto usage;
        i++;
    }
    if (!have_seed) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        struct dm_rng r = {(uint64_t)ts.tv_sec * 1000000000u +
                           (uint64_t)ts.tv_nsec + ((uint64_t)getpid() << 40)};
        seed = dm_next(&r);
    }

    icx_err err;
    icx_err_clear(&err);
    if (icx_xmlsig_init(&err) < 0) {
        fprintf(stderr, "diff_verify: %s\n", err.msg);
        return 2;
    }
    xmlSetGenericErrorFunc(NULL, quiet);
    xmlSetStructuredErrorFunc(NULL, quiet_structured);
    srcdir = getenv("ICX_SOURCE_DIR");
    if (srcdir == NULL || *srcdir == '\0')
        srcdir = DIFF_SOURCE_DIR;
    char sdir[4096];
    snprintf(sdir, sizeof sdir, "%s/schemas", srcdir);
    icx_time_parse(&now, CREATED);
    if (icx_schemas_load(&schemas, sdir, &err) < 0) {
        fprintf(stderr, "diff_verify: %s\n", err.msg);
        icx_xmlsig_shutdown();
        return 2;
    }
    if (replay_file != NULL) {
        int rc = replay(replay_file, replay_cert);
        free_fixture();
        icx_xmlsig_shutdown();
        return rc;
    }

    int rc = 2, failed = 0;
    struct dm_text t = {0};
    const char *base = getenv("TMPDIR");
    char tmpl[4096];
    snprintf(tmpl, sizeof tmpl, "%s/icx-diff-XXXXXX",
             base != NULL && *base ? base : "/tmp");
    if (mkdtemp(tmpl) == NULL) {
        perror("mkdtemp");
        goto out;
    }
    tmpdir = tmpl;
    if (make_parties() < 0 || make_seeds() < 0)
        goto out;
    printf("diff_verify: seed 0x%016" PRIx64 " (DIFF_SEED=0x%016" PRIx64
           " repeats the mutations), %s\n", seed, seed,
           only != UINT64_MAX ? "one variant"
           : seconds ? "time budget" : "counted run");
    rc = 1;

    /* The un-mutated envelopes: both accept, or the comparison is void. */
    for (size_t i = 0; i < NSEEDS; i++) {
        const struct seed *s = &seeds[i];
        int mine = icx_accepts(s->signed_xml, s->signed_len,
                               parties[s->to].id, &err);
        int theirs = xmlsec_accepts(s->signed_xml, s->signed_len,
                                    parties[s->from].ref_key);
        if (!mine || !theirs) {
            printf("FAIL: seed envelope %zu (%s, %s): ICX %s (%s), xmlsec "
                   "%s; both must accept it\n", i, payloads[i % NPAYLOADS].file,
                   parties[s->from].id, mine ? "accepted" : "refused",
                   err.msg, theirs ? "accepted" : "refused");
            failed++;
        }
    }

    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    uint64_t total = 0, diverged = 0, both_ok = 0, both_refused = 0;
    uint64_t resigned = 0, resigned_ok = 0, neutral_ok = 0;
    uint64_t first = only != UINT64_MAX ? only : 0;
    uint64_t last = only != UINT64_MAX ? only + 1
                    : seconds ? UINT64_MAX : count * NSEEDS;
    for (uint64_t i = first; i < last && diverged < MAX_DIVERGENCES; i++) {
        if (seconds && elapsed(&t0) >= (double)seconds)
            break;
        struct variant v;
        make_variant(&t, &v, seed, i);
        const struct seed *s = v.seed;
        int mine = icx_accepts(t.s, t.n, parties[s->to].id, &err);
        int theirs = xmlsec_accepts(t.s, t.n, parties[s->from].ref_key);
        struct tally *c = tally_get(by_class, &nclass, v.cls);
        struct tally *m = tally_get(by_mutation, &nmutation, v.name);
        total++;
        if (mine && theirs) {
            c->both_ok++, m->both_ok++, both_ok++;
            resigned_ok += v.resigned;
            neutral_ok += !v.resigned && strstr(v.name, ":") == NULL &&
                          strcmp(v.cls, "signature") != 0;
        } else if (!mine && !theirs) {
            c->both_refused++, m->both_refused++, both_refused++;
        } else if (!mine) {
            c->icx_refused++, m->icx_refused++;
        } else {
            c->icx_accepted++, m->icx_accepted++, diverged++;
            report_divergence(outdir, seed, i, &v, &t, &err);
        }
        resigned += v.resigned;
        if (verbose || only != UINT64_MAX)
            printf("variant %" PRIu64 " %s %s: ICX %s, xmlsec %s: %s%s%s\n",
                   i, v.cls, v.name, mine ? "accepted" : "refused",
                   theirs ? "accepted" : "refused", v.note,
                   mine ? "" : " | ICX: ", mine ? "" : err.msg);
        if (only != UINT64_MAX) {
            char path[4200];
            mkdir(outdir, 0755);
            snprintf(path, sizeof path, "%s/variant-%" PRIu64 ".xml", outdir,
                     i);
            if (write_file(path, t.s, t.n) == 0)
                printf("document: %s\n", path);
        }
    }
    double secs = elapsed(&t0);
    printf("diff_verify: %" PRIu64 " variants in %.1f s\n", total, secs);
    print_tallies("class", by_class, nclass);
    print_tallies("mutation", by_mutation, nmutation);
    failed += (int)diverged;
    if (diverged > 0)
        printf("FAIL: %" PRIu64 " variant(s) accepted by ICX and refused by "
               "xmlsec (seed 0x%016" PRIx64 ")\n", diverged, seed);
    /* A comparison where nothing is accepted would pass vacuously. */
    if (only == UINT64_MAX && total >= 200) {
        if (both_ok * 10 < total) {
            printf("FAIL: only %" PRIu64 " of %" PRIu64 " variants accepted "
                   "by both; want at least a tenth\n", both_ok, total);
            failed++;
        }
        if (both_refused * 10 < total) {
            printf("FAIL: only %" PRIu64 " of %" PRIu64 " variants refused "
                   "by both; want at least a tenth\n", both_refused, total);
            failed++;
        }
        if (resigned_ok * 5 < resigned) {
            printf("FAIL: %" PRIu64 " of %" PRIu64 " re-signed variants "
                   "accepted by both; want at least a fifth\n", resigned_ok,
                   resigned);
            failed++;
        }
        if (neutral_ok == 0) {
            printf("FAIL: no mutated signed envelope accepted by both\n");
            failed++;
        }
    }
    printf("diff_verify: %" PRIu64 " passed, %d failed\n",
           total - diverged, failed);
    rc = failed ? 1 : 0;
out:
    dm_text_free(&t);
    free_fixture();
    if (tmpdir != NULL) {
        char cmd_dir[4096];
        snprintf(cmd_dir, sizeof cmd_dir, "%s", tmpdir);
        for (size_t i = 0; i < sizeof parties / sizeof parties[0]; i++) {
            static const char *const files[] = {"key.pem", "cert.pem",
                                                "curve.key", "curve.pub"};
            char p[4300];
            for (size_t f = 0; f < 4; f++) {
                snprintf(p, sizeof p, "%s/%s/%s", cmd_dir, parties[i].dir,
                         files[f]);
                remove(p);
            }
            snprintf(p, sizeof p, "%s/%s", cmd_dir, parties[i].dir);
            rmdir(p);
        }
        rmdir(cmd_dir);
    }
    icx_xmlsig_shutdown();
    return rc;
usage:
    fprintf(stderr,
            "usage: diff_verify [--count N] [--seconds S] [--seed X] "
            "[--only I] [--out DIR] [--verbose]\n"
            "       diff_verify --replay FILE.xml CERT.pem\n");
    return 2;
}
