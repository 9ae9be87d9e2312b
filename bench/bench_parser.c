/*
 * bench_parser.c - what one hardened parse (icx_xml_parse) costs on
 * documents of about 1 MiB built to be expensive, against a normal
 * signed 1 MiB case-referral envelope.
 *
 * Every case is parsed with the default limits of xml.h and max_bytes
 * 2 MiB (so the size check never decides); the table gives the document
 * size, the milliseconds per parse (mean over -t seconds, at least 3
 * parses) and the outcome (ok or the reason).  Shapes:
 *
 *   envelope-300k    a signed, schema-valid case referral of 300 KiB
 *                    (sample_env.c; the schema allows 1,024 evidence
 *                    items, which is about as large as one gets)
 *   envelope-1m      the same grown to 1 MiB with copies of its evidence
 *                    items: the shape of a normal envelope at the size of
 *                    the hostile ones (no longer valid or verifiable, which
 *                    a parse does not look at)
 *   attrs-100k       one element with 100,000 attributes
 *   nsdecls-100k     one element with 100,000 namespace declarations
 *   name-1m          one element whose name is 1 MiB long
 *   text-1m          one element holding 1 MiB of text
 *   deep-100k        100,000 nested elements
 *   attrs-64-each    the most attributes the limits let through: 64 on
 *                    each element, up to the 100,000 in the document
 *   ns-lookups       32 namespace declarations on each of 63 nested
 *                    elements, then 1 MiB of elements in the outermost
 *                    prefix (each is looked up past 2,016 declarations)
 *   tiny-elements    1 MiB of <a/>
 *
 * The row "scan-only" is envelope-1m through the checks on the bytes
 * alone (xmlscan.c: UTF-8, declaration, shape limits), the share of a
 * parse they take.
 *
 * --bare N also times libxml2 alone (xmlReadMemory, no ICX checks) on one
 * element with N attributes, once: what the attributes limit spares.
 * Its cost grows with the square of N (N = 20,000 takes about a second).
 *
 * Usage: bench_parser [-t SECONDS] [--bare N] [--sample FILE]
 * Exit status: 0 when the measurements ran, 1 on an error, 2 on bad usage.
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

#include "buf.h"
#include "envelope.h"
#include "err.h"
#include "keys.h"
#include "util.h"
#include "xml.h"
#include "xmlscan.h"
#include "xmlsig.h"
#include "sample_env.h"

#define DOC_MAX (2u << 20)
#define TARGET (1u << 20)
#define ENV_TARGET (300u * 1024)

#define die bench_die

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void put(icx_buf *b, const char *s)
{
    icx_err err;
    icx_err_clear(&err);
    if (icx_buf_puts(b, s) < 0)
        die("building a document", &err);
}

/* Appends fmt with i (an attribute or prefix number) until b holds
 * about target bytes or n items, whichever comes first. */
static void put_n(icx_buf *b, const char *fmt, long n, size_t target)
{
    char item[64];
    for (long i = 0; i < n && b->len < target; i++) {
        snprintf(item, sizeof item, fmt, i);
        put(b, item);
    }
}

static void put_fill(icx_buf *b, char c, size_t n)
{
    char chunk[4096];
    memset(chunk, c, sizeof chunk);
    while (n > 0) {
        size_t k = n < sizeof chunk ? n : sizeof chunk;
        icx_err err;
        icx_err_clear(&err);
        if (icx_buf_append(b, chunk, k) < 0)
            die("building a document", &err);
        n -= k;
    }
}

static void make_shape(icx_buf *b, const char *name)
{
    if (strcmp(name, "attrs-100k") == 0) {
        put(b, "<r");
        put_n(b, " a%ld=\"\"", 100000, DOC_MAX);
        put(b, "/>");
    } else if (strcmp(name, "nsdecls-100k") == 0) {
        put(b, "<r");
        put_n(b, " xmlns:p%ld=\"u\"", 100000, DOC_MAX);
        put(b, "/>");
    } else if (strcmp(name, "name-1m") == 0) {
        put(b, "<");
        put_fill(b, 'n', TARGET);
        put(b, "/>");
    } else if (strcmp(name, "text-1m") == 0) {
        put(b, "<r>");
        put_fill(b, 't', TARGET);
        put(b, "</r>");
    } else if (strcmp(name, "deep-100k") == 0) {
        for (int i = 0; i < 100000; i++)
            put(b, "<a>");
        for (int i = 0; i < 100000; i++)
            put(b, "</a>");
    } else if (strcmp(name, "attrs-64-each") == 0) {
        put(b, "<r>");
        for (int e = 0; e < 100000 / 64; e++) {
            put(b, "<e");
            put_n(b, " a%ld=\"v\"", 64, DOC_MAX);
            put(b, "/>");
        }
        while (b->len < TARGET)
            put(b, "<e/>");
        put(b, "</r>");
    } else if (strcmp(name, "ns-lookups") == 0) {
        for (int d = 0; d < 63; d++) {
            put(b, "<p0:e");
            put_n(b, " xmlns:p%ld=\"urn:x\"", 32, DOC_MAX);
            put(b, ">");
        }
        while (b->len < TARGET)
            put(b, "<p0:x p0:a=\"1\"/>");
        for (int d = 0; d < 63; d++)
            put(b, "</p0:e>");
    } else if (strcmp(name, "tiny-elements") == 0) {
        put(b, "<r>");
        while (b->len < TARGET)
            put(b, "<a/>");
        put(b, "</r>");
    }
}

/* Mean milliseconds per parse over about `seconds`, at least 3 parses;
 * *outcome is "ok" or the reason of the (last) refusal. */
static double time_parse(const icx_buf *doc, double seconds,
                         const char **outcome, long *runs)
{
    icx_xml_limits lim = {.max_bytes = DOC_MAX, .max_depth = 64};
    long n = 0;
    double t0 = now_s(), t;
    do {
        icx_xmldoc *d = NULL;
        icx_err err;
        icx_err_clear(&err);
        int rc = icx_xml_parse(&d, doc->data, doc->len, &lim, &err);
        *outcome = rc == ICX_OK ? "ok" : icx_reason_name(err.reason);
        icx_xml_free(&d);
        n++;
        t = now_s() - t0;
    } while (n < 3 || t < seconds);
    *runs = n;
    return t * 1e3 / (double)n;
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

/* A signed case referral of exactly ENV_TARGET bytes. */
static void make_envelope(icx_buf *env, const char *sample_path)
{
    icx_err err;
    icx_err_clear(&err);
    icx_schemas *schemas = NULL;
    if (icx_schemas_load(&schemas, icx_schemas_default_dir(), &err) < 0)
        die("loading the schemas (set ICX_SCHEMAS_DIR)", &err);
    char *sample = sample_env_read(sample_path);
    char tmp[] = "/tmp/icx-bench-parser-XXXXXX";
    if (mkdtemp(tmp) == NULL)
        die("cannot create a temporary folder", NULL);
    char path[600];
    icx_signer *signer = NULL;
    snprintf(path, sizeof path, "%s/key.pem", tmp);
    if (icx_keys_generate("JP-NPA", tmp, ICX_ALG_ECDSA_P256, 30, &err) < 0 ||
        icx_signer_load(&signer, path, &err) < 0) {
        rm_tree(tmp);
        die("making a signing key", &err);
    }
    icx_header h;
    memset(&h, 0, sizeof h);
    snprintf(h.sender, sizeof h.sender, "JP-NPA");
    snprintf(h.recipient, sizeof h.recipient, "PH-NBI");
    snprintf(h.category, sizeof h.category, "case-referral");
    snprintf(h.tlp, sizeof h.tlp, "AMBER");
    snprintf(h.hcode, sizeof h.hcode, "H2");
    snprintf(h.legal_basis, sizeof h.legal_basis, "MLAT JP-PH art. 3");
    snprintf(h.retain_until, sizeof h.retain_until, "2031-12-31");
    if (icx_header_stamp(&h, time(NULL), &err) < 0) {
        rm_tree(tmp);
        die("stamping the header", &err);
    }
    icx_buf payload, unsigned_env;
    icx_buf_init(&payload, ENV_MAX);
    icx_buf_init(&unsigned_env, ENV_MAX);
    sample_env_make(&payload, &unsigned_env, env, ENV_TARGET, sample, &h,
                    schemas, signer);
    icx_buf_free(&payload);
    icx_buf_free(&unsigned_env);
    icx_signer_free(&signer);
    icx_schemas_free(&schemas);
    free(sample);
    rm_tree(tmp);
}

/* Like time_parse, with the byte checks alone. */
static double time_scan(const icx_buf *doc, double seconds, long *runs)
{
    icx_xml_limits lim = {.max_bytes = DOC_MAX, .max_depth = 64};
    long n = 0;
    double t0 = now_s(), t;
    do {
        icx_err err;
        size_t body;
        icx_err_clear(&err);
        if (icx_xmlscan_bytes(&body, doc->data, doc->len, &err) < 0 ||
            icx_xmlscan_shape(doc->data, doc->len, body, &lim, &err) < 0)
            die("the byte checks refused the envelope", &err);
        n++;
        t = now_s() - t0;
    } while (n < 3 || t < seconds);
    *runs = n;
    return t * 1e3 / (double)n;
}

/* env grown to TARGET bytes with copies of its evidence items. */
static void grow_envelope(icx_buf *big, const icx_buf *env)
{
    const char *first = strstr(env->data, "<Item ");
    const char *end = first ? strstr(first, "</Evidence>") : NULL;
    if (end == NULL)
        die("the sample envelope has no evidence items", NULL);
    size_t head = (size_t)(first - env->data), n = (size_t)(end - first);
    icx_err err;
    icx_err_clear(&err);
    if (icx_buf_append(big, env->data, head) < 0)
        die("building a document", &err);
    while (big->len + n + (env->len - head) <= TARGET)
        if (icx_buf_append(big, first, n) < 0)
            die("building a document", &err);
    if (icx_buf_append(big, first, env->len - head) < 0)
        die("building a document", &err);
}

/* libxml2 alone on one element with n attributes: one parse, seconds. */
static double bare_attrs(long n, size_t *len)
{
    icx_buf b;
    icx_buf_init(&b, 64u << 20);
    put(&b, "<r");
    put_n(&b, " a%ld=\"\"", n, 64u << 20);
    put(&b, "/>");
    *len = b.len;
    double t0 = now_s();
    xmlDocPtr d = xmlReadMemory(b.data, (int)b.len, NULL, NULL,
                                XML_PARSE_NONET | XML_PARSE_NOERROR |
                                    XML_PARSE_NOWARNING);
    double t = now_s() - t0;
    if (d == NULL)
        die("libxml2 refused the bare document", NULL);
    xmlFreeDoc(d);
    icx_buf_free(&b);
    return t;
}

static void usage(FILE *f)
{
    fprintf(f, "usage: bench_parser [-t SECONDS] [--bare N] [--sample FILE]\n"
               "  -t SECONDS     time per case (default 1)\n"
               "  --bare N       also time libxml2 alone on one element with "
               "N attributes\n"
               "  --sample FILE  case referral payload for the normal "
               "envelope\n"
               "Times icx_xml_parse on a 1 MiB envelope and on hostile "
               "shapes of about 1 MiB.\n");
}

int main(int argc, char **argv)
{
    static const char *const shapes[] = {
        "attrs-100k", "nsdecls-100k", "name-1m", "text-1m", "deep-100k",
        "attrs-64-each", "ns-lookups", "tiny-elements",
    };
    double seconds = 1;
    long bare = 0;
    const char *sample_path = NULL;
    icx_err err;

    for (int i = 1; i < argc; i++) {
        char *end;
        if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
            usage(stdout);
            return 0;
        } else if (strcmp(argv[i], "-t") == 0 && i + 1 < argc) {
            errno = 0;
            seconds = strtod(argv[++i], &end);
            if (errno != 0 || *end != '\0' || !(seconds > 0) ||
                seconds > 3600) {
                fprintf(stderr, "bench_parser: bad -t %s\n", argv[i]);
                return 2;
            }
        } else if (strcmp(argv[i], "--bare") == 0 && i + 1 < argc) {
            errno = 0;
            bare = strtol(argv[++i], &end, 10);
            if (errno != 0 || *end != '\0' || bare < 1 || bare > 1000000) {
                fprintf(stderr, "bench_parser: bad --bare %s\n", argv[i]);
                return 2;
            }
        } else if (strcmp(argv[i], "--sample") == 0 && i + 1 < argc) {
            sample_path = argv[++i];
        } else {
            usage(stderr);
            return 2;
        }
    }

    bench_prog = "bench_parser";
    icx_err_clear(&err);
    if (icx_xmlsig_init(&err) < 0)
        die("initializing xmlsec", &err);

    printf("%-16s %10s %10s %6s  %s\n", "case", "bytes", "ms/parse", "runs",
           "outcome");
    icx_buf doc;
    icx_buf_init(&doc, DOC_MAX + 4096);
    icx_buf env;
    icx_buf_init(&env, ENV_MAX);
    make_envelope(&env, sample_path);
    const char *outcome;
    long runs;
    double ms = time_parse(&env, seconds, &outcome, &runs);
    printf("%-16s %10zu %10.3f %6ld  %s\n", "envelope-300k", env.len, ms,
           runs, outcome);
    grow_envelope(&doc, &env);
    icx_buf_free(&env);
    ms = time_parse(&doc, seconds, &outcome, &runs);
    printf("%-16s %10zu %10.3f %6ld  %s\n", "envelope-1m", doc.len, ms, runs,
           outcome);
    ms = time_scan(&doc, seconds, &runs);
    printf("%-16s %10zu %10.3f %6ld  %s\n", "scan-only", doc.len, ms, runs,
           "ok");
    for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++) {
        doc.len = 0;
        make_shape(&doc, shapes[i]);
        ms = time_parse(&doc, seconds, &outcome, &runs);
        printf("%-16s %10zu %10.3f %6ld  %s\n", shapes[i], doc.len, ms, runs,
               outcome);
    }
    icx_buf_free(&doc);
    if (bare > 0) {
        size_t len;
        double t = bare_attrs(bare, &len);
        printf("libxml2 alone, one element with %ld attributes (%zu bytes): "
               "%.1f ms\n", bare, len, t * 1e3);
    }
    icx_xml_thread_release();
    return 0;
}
