/*
 * bench_envelope.c - envelopes signed and verified per second by ICX,
 * against a bare loop over libxmlsec1 measured in the same run.
 *
 * For RSA-2048 and ECDSA P-256 and for signed envelopes of 2 KiB and
 * 16 KiB (built from docs/samples/case-referral-payload.xml, schema-valid),
 * on one thread:
 *
 *   icx sign     icx_envelope_sign: hardened parse, schema validation,
 *                signature, schema validation of the result, serialization
 *   bare sign    xmlReadMemory, xmlsec template (enveloped + exc-c14n,
 *                SHA-256, RSA-SHA256 or ECDSA-SHA256), xmlSecDSigCtxSign
 *                with the key loaded once (duplicated per call, as ICX
 *                does), xmlDocDumpMemory
 *   icx verify   icx_envelope_verify with the full policy: trust store,
 *                schemas, self = Recipient, a Created window that accepts
 *   bare verify  xmlReadMemory, find ds:Signature, xmlSecDSigCtxVerify with
 *                the certificate's public key (loaded once without the
 *                certificate, duplicated per call, as ICX's trust store),
 *                status Succeeded
 *
 * Each (icx, bare) pair runs alternately, -r times (default 3), each run
 * for -t seconds (default 3) of CLOCK_MONOTONIC time; the median rate of
 * each side is kept and the ratio icx/bare is printed with the targets of
 * the issue: sign >= 0.95, verify >= 0.80.  `openssl speed` figures come
 * from bench/run-envelope.sh, which runs this program first.
 *
 * The bare loop (bare_xmlsec.c) and the envelopes of an exact size
 * (sample_env.c) are shared with bench_broker.  With gateway/sig/xmlsig.c they
 * are the only places that use xmlsec directly: the bare loop must use the
 * library itself to be a baseline.
 *
 * Usage: bench_envelope [-t SECONDS] [-r REPEATS] [--sample FILE] [--json]
 *                       [--alg NAME] [--size BYTES] [--op NAME]
 * --alg/--size keep some of the four cases; --op times one operation alone
 * (for a profiler: perf record -g bench_envelope --op icx-sign ...).
 * Exit status: 0 when the measurements ran (targets missed or not), 1 on
 * an error, 2 on bad usage.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <libxml/parser.h>
#include <libxml/tree.h>
#include <xmlsec/crypto.h>
#include <xmlsec/templates.h>
#include <xmlsec/xmldsig.h>
#include <xmlsec/xmlsec.h>
#include <xmlsec/xmltree.h>

#include "bare_xmlsec.h"
#include "buf.h"
#include "envelope.h"
#include "err.h"
#include "keys.h"
#include "trust.h"
#include "util.h"
#include "xml.h"
#include "xmlsig.h"
#include "sample_env.h"

#define SENDER "JP-NPA"
#define RECIPIENT "PH-NBI"
#define MAX_REPEATS 15

#define SIGN_TARGET 0.95
#define VERIFY_TARGET 0.80

/* ---- setup -------------------------------------------------------------- */

struct alg {
    const char *name;      /* as in the table */
    int key_alg;           /* enum icx_key_alg */
    char dir[512];
    icx_signer *signer;
    icx_trust *trust;
    xmlSecKeyPtr bare_key;  /* private key, for the bare loop */
    xmlSecKeyPtr bare_cert; /* certificate key, for the bare loop */
};

struct subject {
    struct alg *alg;
    size_t target;         /* signed envelope size aimed at */
    icx_buf payload;       /* the case referral inside the envelope */
    icx_header header;     /* and its header */
    icx_buf unsigned_env;
    icx_buf signed_env;
    icx_buf out;           /* ICX sign output, reset per iteration */
    icx_verify_policy policy;
};

struct result {
    double icx_sign[MAX_REPEATS], bare_sign[MAX_REPEATS];
    double icx_verify[MAX_REPEATS], bare_verify[MAX_REPEATS];
    double m_icx_sign, m_bare_sign, m_icx_verify, m_bare_verify;
};

static volatile size_t sink; /* keeps serialized output observable */

#define die bench_die

static void usage(FILE *f)
{
    fprintf(f,
            "usage: bench_envelope [-t SECONDS] [-r REPEATS] [--sample FILE] "
            "[--json]\n"
            "  -t SECONDS     time per measurement (default 3)\n"
            "  -r REPEATS     alternating (icx, bare) runs per pair, median "
            "kept\n"
            "                 (default 3, at most %d)\n"
            "  --sample FILE  case referral payload to grow or trim\n"
            "                 (default " SAMPLE_REL ",\n"
            "                 else the one beside the schemas folder)\n"
            "  --json         print the results as JSON instead of a table\n"
            "  --alg NAME     only rsa2048 or ecdsa-p256\n"
            "  --size BYTES   only 2048 or 16384\n"
            "  --op NAME      time only icx-sign, bare-sign, icx-verify or "
            "bare-verify,\n"
            "                 or icx-build (the daemon's path: payload and "
            "header in,\n"
            "                 signed envelope out)\n"
            "                 for -t seconds (to run under a profiler)\n"
            "  --dump DIR     also write each case's envelopes to DIR as\n"
            "                 ALG-SIZE.signed.xml and ALG-SIZE.unsigned.xml\n"
            "  -h, --help     this text\n"
            "Signs and verifies 2 KiB and 16 KiB envelopes with RSA-2048 and "
            "ECDSA P-256,\nwith ICX and with a bare libxmlsec1 loop, on one "
            "thread, and prints the rates\nand the ratios icx/bare (targets: "
            "sign >= %.2f, verify >= %.2f).\n",
            MAX_REPEATS, SIGN_TARGET, VERIFY_TARGET);
}

static void rm_tree(const char *path)
{
    DIR *d = opendir(path);
    if (d != NULL) {
        struct dirent *e;
        while ((e = readdir(d)) != NULL) {
            if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
                continue;
            char sub[1024];
            snprintf(sub, sizeof sub, "%s/%s", path, e->d_name);
            struct stat st;
            if (lstat(sub, &st) == 0 && S_ISDIR(st.st_mode))
                rm_tree(sub);
            else
                unlink(sub);
        }
        closedir(d);
    }
    rmdir(path);
}

static void alg_setup(struct alg *a, const char *tmp)
{
    icx_err err;
    char path[600];
    icx_err_clear(&err);
    snprintf(a->dir, sizeof a->dir, "%s/%s", tmp, a->name);
    if (icx_keys_generate(SENDER, a->dir, a->key_alg, 30, &err) < 0)
        die("generating keys", &err);
    snprintf(path, sizeof path, "%s/key.pem", a->dir);
    if (icx_signer_load(&a->signer, path, &err) < 0)
        die("loading the signer", &err);
    a->bare_key = xmlSecCryptoAppKeyLoad(path, xmlSecKeyDataFormatPem, NULL,
                                         NULL, NULL);
    if (a->bare_key == NULL)
        die("xmlsec cannot load the private key", NULL);
    snprintf(path, sizeof path, "%s/cert.pem", a->dir);
    if (icx_trust_new(&a->trust, &err) < 0 ||
        icx_trust_add(a->trust, SENDER, path, &err) < 0)
        die("building the trust store", &err);
    a->bare_cert = bare_xmlsec_public_key(path);
    if (a->bare_cert == NULL)
        die("xmlsec cannot load the certificate", NULL);
}

static void alg_free(struct alg *a)
{
    icx_signer_free(&a->signer);
    icx_trust_free(&a->trust);
    if (a->bare_key != NULL)
        xmlSecKeyDestroy(a->bare_key);
    if (a->bare_cert != NULL)
        xmlSecKeyDestroy(a->bare_cert);
}

/* ---- payloads ----------------------------------------------------------- */

static void header(icx_header *h)
{
    icx_err err;
    memset(h, 0, sizeof *h);
    snprintf(h->sender, sizeof h->sender, SENDER);
    snprintf(h->recipient, sizeof h->recipient, RECIPIENT);
    snprintf(h->category, sizeof h->category, "case-referral");
    snprintf(h->tlp, sizeof h->tlp, "AMBER");
    snprintf(h->hcode, sizeof h->hcode, "H2");
    snprintf(h->legal_basis, sizeof h->legal_basis, "MLAT JP-PH art. 3");
    snprintf(h->retain_until, sizeof h->retain_until, "2031-12-31");
    icx_err_clear(&err);
    if (icx_header_stamp(h, time(NULL), &err) < 0)
        die("stamping the header", &err);
}

/* The envelope pair of sj, exactly sj->target bytes once signed. */
static void make_envelope(struct subject *sj, const char *sample,
                          const icx_schemas *schemas)
{
    header(&sj->header);
    sample_env_make(&sj->payload, &sj->unsigned_env, &sj->signed_env,
                    sj->target, sample, &sj->header, schemas,
                    sj->alg->signer);
}

/* ---- the four operations ------------------------------------------------ */

static int icx_sign_once(struct subject *sj)
{
    icx_err err;
    icx_buf_reset(&sj->out);
    int rc = icx_envelope_sign(&sj->out, sj->unsigned_env.data,
                               sj->unsigned_env.len, sj->policy.schemas,
                               sj->alg->signer, &err);
    sink += sj->out.len;
    return rc;
}

/* What the daemon does for each outbound message: payload and header in,
 * signed envelope out (icx_envelope_build_signed). */
static int icx_build_once(struct subject *sj)
{
    icx_err err;
    icx_buf_reset(&sj->out);
    int rc = icx_envelope_build_signed(&sj->out, &sj->header,
                                       sj->payload.data, sj->payload.len,
                                       sj->policy.schemas, sj->alg->signer,
                                       &err);
    sink += sj->out.len;
    return rc;
}

static int icx_verify_once(struct subject *sj)
{
    icx_err err;
    icx_header h;
    return icx_envelope_verify(&h, sj->signed_env.data, sj->signed_env.len,
                               &sj->policy, &err);
}

static int bare_sign_once(struct subject *sj)
{
    size_t n = 0;
    int rc = bare_xmlsec_sign(sj->alg->bare_key,
                              sj->alg->key_alg == ICX_ALG_ECDSA_P256,
                              sj->unsigned_env.data, sj->unsigned_env.len,
                              NULL, &n);
    sink += n;
    return rc;
}

static int bare_verify_once(struct subject *sj)
{
    return bare_xmlsec_verify(sj->alg->bare_cert, sj->signed_env.data,
                              sj->signed_env.len);
}

/* ---- timing ------------------------------------------------------------- */

typedef int (*op_fn)(struct subject *);

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Operations per second over at least seconds of wall time. */
static double rate(op_fn op, struct subject *sj, double seconds,
                   const char *what)
{
    double start = now_s(), t;
    long n = 0;
    do {
        if (op(sj) != 0) {
            fprintf(stderr, "bench_envelope: %s %s %zu failed\n", what,
                    sj->alg->name, sj->target);
            exit(1);
        }
        n++;
        t = now_s();
    } while (t - start < seconds);
    return (double)n / (t - start);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(const double *v, int n)
{
    double s[MAX_REPEATS];
    memcpy(s, v, (size_t)n * sizeof *s);
    qsort(s, (size_t)n, sizeof *s, cmp_double);
    return n % 2 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
}

/* Runs (icx, bare) alternately, swapping who goes first each repeat. */
static void pair(op_fn icx, op_fn bare, struct subject *sj, double seconds,
                 int repeats, double *icx_out, double *bare_out,
                 const char *what)
{
    for (int i = 0; i < repeats; i++) {
        if (i % 2 == 0) {
            icx_out[i] = rate(icx, sj, seconds, what);
            bare_out[i] = rate(bare, sj, seconds, what);
        } else {
            bare_out[i] = rate(bare, sj, seconds, what);
            icx_out[i] = rate(icx, sj, seconds, what);
        }
    }
}

/* Every operation once, and each side's output checked by the other. */
static void check(struct subject *sj)
{
    icx_err err;
    icx_header h;
    if (icx_sign_once(sj) != 0 || bare_sign_once(sj) != 0 ||
        icx_verify_once(sj) != 0 || bare_verify_once(sj) != 0)
        die("an operation fails before timing", NULL);
    /* A bare-signed envelope must pass ICX verification: both loops make
     * the same signature. */
    xmlChar *mem = NULL;
    size_t size = 0;
    if (bare_xmlsec_sign(sj->alg->bare_key,
                         sj->alg->key_alg == ICX_ALG_ECDSA_P256,
                         sj->unsigned_env.data, sj->unsigned_env.len, &mem,
                         &size) < 0)
        die("bare signing fails", NULL);
    icx_err_clear(&err);
    if (icx_envelope_verify(&h, (const char *)mem, size, &sj->policy,
                            &err) < 0)
        die("ICX refuses the bare-signed envelope", &err);
    xmlFree(mem);
}

/* Writes the case's envelopes for other tools (xmllint, xmlsec1). */
static void dump(const struct subject *sj, const char *dir)
{
    const struct { const char *kind; const icx_buf *b; } f[] = {
        {"signed", &sj->signed_env},
        {"unsigned", &sj->unsigned_env},
    };
    for (size_t i = 0; i < sizeof f / sizeof f[0]; i++) {
        char path[4096];
        snprintf(path, sizeof path, "%s/%s-%zu.%s.xml", dir, sj->alg->name,
                 sj->target, f[i].kind);
        FILE *o = fopen(path, "wb");
        if (o == NULL ||
            fwrite(f[i].b->data, 1, f[i].b->len, o) != f[i].b->len ||
            fclose(o) != 0)
            die("cannot write the --dump file", NULL);
    }
}

/* ---- output ------------------------------------------------------------- */

static const char *mark(double ratio, double target)
{
    return ratio >= target ? "pass" : "MISS";
}

static void print_table(struct subject *sj, struct result *res, int n,
                        double seconds, int repeats)
{
    printf("ICX envelope benchmark: one thread, %d alternating runs of "
           "%.1f s per rate, median kept\n", repeats, seconds);
    printf("size = signed envelope bytes (unsigned envelope in brackets)\n\n");
    printf("%-10s %-14s %10s %10s %6s %-4s   %10s %10s %6s %-4s\n", "alg",
           "size", "icx sign/s", "bare", "ratio", ">=.95", "icx ver/s",
           "bare", "ratio", ">=.8");
    for (int i = 0; i < n; i++) {
        struct result *r = &res[i];
        char size[32];
        double rs = r->m_icx_sign / r->m_bare_sign;
        double rv = r->m_icx_verify / r->m_bare_verify;
        snprintf(size, sizeof size, "%zu (%zu)", sj[i].signed_env.len,
                 sj[i].unsigned_env.len);
        printf("%-10s %-14s %10.0f %10.0f %6.3f %-5s  %10.0f %10.0f %6.3f "
               "%-4s\n",
               sj[i].alg->name, size, r->m_icx_sign, r->m_bare_sign, rs,
               mark(rs, SIGN_TARGET), r->m_icx_verify, r->m_bare_verify, rv,
               mark(rv, VERIFY_TARGET));
    }
    printf("\nper-run rates (icx/bare):\n");
    for (int i = 0; i < n; i++) {
        printf("  %-10s %6zu  sign", sj[i].alg->name, sj[i].signed_env.len);
        for (int k = 0; k < repeats; k++)
            printf(" %.0f/%.0f", res[i].icx_sign[k], res[i].bare_sign[k]);
        printf("  verify");
        for (int k = 0; k < repeats; k++)
            printf(" %.0f/%.0f", res[i].icx_verify[k], res[i].bare_verify[k]);
        printf("\n");
    }
}

static void print_series(const char *key, const double *v, int n)
{
    printf("\"%s\": [", key);
    for (int k = 0; k < n; k++)
        printf("%s%.1f", k ? ", " : "", v[k]);
    printf("]");
}

static void print_json(struct subject *sj, struct result *res, int n,
                       double seconds, int repeats)
{
    printf("{\"benchmark\": \"bench_envelope\", \"seconds\": %.3f, "
           "\"repeats\": %d,\n \"targets\": {\"sign\": %.2f, \"verify\": "
           "%.2f},\n \"results\": [\n", seconds, repeats, SIGN_TARGET,
           VERIFY_TARGET);
    for (int i = 0; i < n; i++) {
        struct result *r = &res[i];
        double rs = r->m_icx_sign / r->m_bare_sign;
        double rv = r->m_icx_verify / r->m_bare_verify;
        printf("  {\"alg\": \"%s\", \"signed_bytes\": %zu, "
               "\"unsigned_bytes\": %zu,\n   \"icx_sign\": %.1f, "
               "\"bare_sign\": %.1f, \"sign_ratio\": %.4f, \"sign_ok\": %s,\n"
               "   \"icx_verify\": %.1f, \"bare_verify\": %.1f, "
               "\"verify_ratio\": %.4f, \"verify_ok\": %s,\n   ",
               sj[i].alg->name, sj[i].signed_env.len, sj[i].unsigned_env.len,
               r->m_icx_sign, r->m_bare_sign, rs,
               rs >= SIGN_TARGET ? "true" : "false", r->m_icx_verify,
               r->m_bare_verify, rv, rv >= VERIFY_TARGET ? "true" : "false");
        print_series("icx_sign_runs", r->icx_sign, repeats);
        printf(", ");
        print_series("bare_sign_runs", r->bare_sign, repeats);
        printf(",\n   ");
        print_series("icx_verify_runs", r->icx_verify, repeats);
        printf(", ");
        print_series("bare_verify_runs", r->bare_verify, repeats);
        printf("}%s\n", i + 1 < n ? "," : "");
    }
    printf(" ]}\n");
}

/* ---- main --------------------------------------------------------------- */

static op_fn op_by_name(const char *name)
{
    static const struct { const char *name; op_fn fn; } ops[] = {
        {"icx-sign", icx_sign_once},
        {"icx-build", icx_build_once},
        {"bare-sign", bare_sign_once},
        {"icx-verify", icx_verify_once},
        {"bare-verify", bare_verify_once},
    };
    for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++)
        if (strcmp(name, ops[i].name) == 0)
            return ops[i].fn;
    return NULL;
}

static int parse_double(const char *s, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno != 0 || end == s || *end != '\0' || !(v > 0) || v > 3600)
        return -1;
    *out = v;
    return 0;
}

int main(int argc, char **argv)
{
    double seconds = 3;
    int repeats = 3, json = 0;
    const char *sample_path = NULL, *only_alg = NULL, *only_op = NULL;
    const char *dump_dir = NULL;
    long only_size = 0;
    icx_err err;

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            usage(stdout);
            return 0;
        } else if (strcmp(a, "--json") == 0) {
            json = 1;
        } else if (strcmp(a, "-t") == 0 && i + 1 < argc) {
            if (parse_double(argv[++i], &seconds) < 0) {
                fprintf(stderr, "bench_envelope: bad -t %s\n", argv[i]);
                return 2;
            }
        } else if (strcmp(a, "-r") == 0 && i + 1 < argc) {
            char *end;
            long v = strtol(argv[++i], &end, 10);
            if (*end != '\0' || v < 1 || v > MAX_REPEATS) {
                fprintf(stderr, "bench_envelope: bad -r %s\n", argv[i]);
                return 2;
            }
            repeats = (int)v;
        } else if (strcmp(a, "--alg") == 0 && i + 1 < argc) {
            only_alg = argv[++i];
        } else if (strcmp(a, "--size") == 0 && i + 1 < argc) {
            char *end;
            only_size = strtol(argv[++i], &end, 10);
            if (*end != '\0' || (only_size != 2048 && only_size != 16384)) {
                fprintf(stderr, "bench_envelope: bad --size %s\n", argv[i]);
                return 2;
            }
        } else if (strcmp(a, "--op") == 0 && i + 1 < argc) {
            only_op = argv[++i];
            if (op_by_name(only_op) == NULL) {
                fprintf(stderr, "bench_envelope: bad --op %s\n", only_op);
                return 2;
            }
        } else if (strcmp(a, "--sample") == 0 && i + 1 < argc) {
            sample_path = argv[++i];
        } else if (strcmp(a, "--dump") == 0 && i + 1 < argc) {
            dump_dir = argv[++i];
        } else {
            usage(stderr);
            return 2;
        }
    }

    bench_prog = "bench_envelope";
    icx_err_clear(&err);
    if (icx_xmlsig_init(&err) < 0)
        die("initializing xmlsec", &err);
    icx_schemas *schemas = NULL;
    if (icx_schemas_load(&schemas, icx_schemas_default_dir(), &err) < 0)
        die("loading the schemas (set ICX_SCHEMAS_DIR)", &err);
    char *sample = sample_env_read(sample_path);

    char tmp[] = "/tmp/icx-bench-XXXXXX";
    if (mkdtemp(tmp) == NULL)
        die("cannot create a temporary folder", NULL);
    struct alg algs[2] = {
        {.name = "rsa2048", .key_alg = ICX_ALG_RSA2048},
        {.name = "ecdsa-p256", .key_alg = ICX_ALG_ECDSA_P256},
    };
    for (int a = 0; a < 2; a++)
        alg_setup(&algs[a], tmp);
    if (only_alg != NULL && strcmp(only_alg, algs[0].name) != 0 &&
        strcmp(only_alg, algs[1].name) != 0) {
        rm_tree(tmp);
        fprintf(stderr, "bench_envelope: bad --alg %s\n", only_alg);
        return 2;
    }

    static const size_t sizes[] = {2048, 16384};
    struct subject sj[4];
    struct result res[4];
    int N = 0;
    memset(res, 0, sizeof res);
    for (int i = 0; i < 4; i++) {
        if ((only_alg != NULL && strcmp(only_alg, algs[i / 2].name) != 0) ||
            (only_size != 0 && (size_t)only_size != sizes[i % 2]))
            continue;
        struct subject *s = &sj[N++];
        memset(s, 0, sizeof *s);
        s->alg = &algs[i / 2];
        s->target = sizes[i % 2];
        icx_buf_init(&s->payload, ENV_MAX);
        icx_buf_init(&s->unsigned_env, ENV_MAX);
        icx_buf_init(&s->signed_env, ENV_MAX);
        icx_buf_init(&s->out, ENV_MAX);
        s->policy = (icx_verify_policy){
            .limits = ICX_XML_DEFAULT_LIMITS,
            .schemas = schemas,
            .trust = icx_trust_get,
            .ctx = s->alg->trust,
            .self = RECIPIENT,
            .created_past_s = 7 * 86400,
            .created_future_s = 300,
        };
        make_envelope(s, sample, schemas);
        check(s);
        if (dump_dir != NULL)
            dump(s, dump_dir);
    }
    if (N == 0) {
        fprintf(stderr, "bench_envelope: no case matches --alg/--size\n");
        return 2;
    }
    if (only_op != NULL) {
        for (int i = 0; i < N; i++)
            printf("%-10s %6zu %-11s %10.0f/s\n", sj[i].alg->name,
                   sj[i].signed_env.len, only_op,
                   rate(op_by_name(only_op), &sj[i], seconds, only_op));
    } else if (!json) {
        fprintf(stderr, "envelopes ready; about %.0f s of measurements\n",
                (double)N * 4 * repeats * seconds);
    }

    for (int i = 0; i < N && only_op == NULL; i++) {
        struct result *r = &res[i];
        pair(icx_sign_once, bare_sign_once, &sj[i], seconds, repeats,
             r->icx_sign, r->bare_sign, "sign");
        pair(icx_verify_once, bare_verify_once, &sj[i], seconds, repeats,
             r->icx_verify, r->bare_verify, "verify");
        r->m_icx_sign = median(r->icx_sign, repeats);
        r->m_bare_sign = median(r->bare_sign, repeats);
        r->m_icx_verify = median(r->icx_verify, repeats);
        r->m_bare_verify = median(r->bare_verify, repeats);
    }

    if (only_op == NULL && json)
        print_json(sj, res, N, seconds, repeats);
    else if (only_op == NULL)
        print_table(sj, res, N, seconds, repeats);

    for (int i = 0; i < N; i++) {
        icx_buf_free(&sj[i].payload);
        icx_buf_free(&sj[i].unsigned_env);
        icx_buf_free(&sj[i].signed_env);
        icx_buf_free(&sj[i].out);
    }
    for (int a = 0; a < 2; a++)
        alg_free(&algs[a]);
    rm_tree(tmp);
    free(sample);
    icx_schemas_free(&schemas);
    icx_xmlsig_shutdown();
    return 0;
}
