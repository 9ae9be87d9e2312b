/*
 * test_witness.c - the witness document, its judgement and co-signatures
 * (store/witness.c): a partner's checkpoint that extends the one kept is
 * consistent; a rewritten log of the same or a larger size is a fork; a
 * smaller one a rollback; a proof from elsewhere unproven; another
 * gateway's or a badly signed checkpoint badsig; malformed documents are
 * refused naming the line; co-signatures verify with the witness's
 * certificate only, over that checkpoint only.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "audit.h"
#include "keys.h"
#include "testutil.h"
#include "util.h"
#include "witness.h"

static char *dir;
static icx_cpkey *jp_key, *ph_key;
static icx_signer *ph_signer; /* co-signs, as the daemon's signer does */
static char *jp_cert, *ph_cert;
static size_t jp_len, ph_len;
static unsigned char leaves[64][32], forked[64][32];

static int setup(void **state)
{
    (void)state;
    icx_err err;
    if (icx_xmlsig_init(&err) < 0)
        fail_msg("xmlsig init: %s", err.msg);
    dir = icx_test_mkdtemp();
    const char *ids[] = {"JP-NPA", "PH-NBI"};
    icx_cpkey **keys[] = {&jp_key, &ph_key};
    char **certs[] = {&jp_cert, &ph_cert};
    size_t *lens[] = {&jp_len, &ph_len};
    for (int i = 0; i < 2; i++) {
        const char *kd = icx_test_path("%s/%s", dir, ids[i]);
        char *kdir = strdup(kd);
        if (icx_keys_generate(ids[i], kdir,
                              icx_keys_alg_from_name("ecdsa-p256"), 30,
                              &err) < 0)
            fail_msg("keys: %s", err.msg);
        if (icx_cpkey_load(keys[i], icx_test_path("%s/key.pem", kdir),
                           &err) < 0 ||
            (i == 1 && icx_signer_load(&ph_signer,
                                       icx_test_path("%s/key.pem", kdir),
                                       &err) < 0) ||
            icx_file_read(certs[i], lens[i],
                          icx_test_path("%s/cert.pem", kdir), 1 << 20,
                          &err) < 0)
            fail_msg("load: %s", err.msg);
        free(kdir);
    }
    for (int i = 0; i < 64; i++) {
        char line[32];
        snprintf(line, sizeof line, "record %d", i);
        icx_audit_leaf(leaves[i], line, strlen(line));
        memcpy(forked[i], leaves[i], 32);
    }
    forked[5][0] ^= 1; /* a rewritten record 6 */
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    icx_cpkey_free(&jp_key);
    icx_cpkey_free(&ph_key);
    icx_signer_free(&ph_signer);
    icx_xmlsig_shutdown();
    free(jp_cert);
    free(ph_cert);
    icx_test_rmrf(dir);
    free(dir);
    return 0;
}

/* JP-NPA's signed checkpoint of the first n of tree, with a proof from
 * size from (0: none), written and parsed again. */
static void doc_of(icx_witness_doc *d, unsigned char (*tree)[32], uint64_t n,
                   uint64_t from)
{
    icx_witness_doc w;
    icx_buf text;
    icx_err err;
    unsigned char root[32];
    memset(&w, 0, sizeof w);
    snprintf(w.cp.gateway, sizeof w.cp.gateway, "JP-NPA");
    w.cp.size = n;
    icx_merkle_root_of(root, (const unsigned char (*)[32])tree, n);
    icx_hex(w.cp.root, root, 32);
    snprintf(w.cp.time, sizeof w.cp.time, "2026-12-04T00:00:%02d.000Z",
             (int)n % 60);
    CHECK_RC(icx_checkpoint_sign_with(&w.cp, jp_key, &err), ICX_OK, &err);
    w.from = from;
    if (from > 0)
        assert_int_equal(icx_merkle_consistency(w.proof, &w.nproof,
                             (const unsigned char (*)[32])tree, n, from),
                         ICX_OK);
    icx_buf_init(&text, ICX_WITNESS_DOC_MAX);
    assert_int_equal(icx_witness_doc_write(&text, &w), ICX_OK);
    CHECK_RC(icx_witness_doc_parse(d, text.data, text.len, &err), ICX_OK,
             &err);
    if (memcmp(d, &w, sizeof w) != 0)
        fail_msg("document: parsed back differs from the one written");
    icx_buf_free(&text);
}

static int judge(const icx_checkpoint *prev, const icx_witness_doc *d,
                 const char *cert, size_t len)
{
    int v = -1;
    icx_err err;
    icx_err_clear(&err);
    CHECK_RC(icx_witness_judge(&v, prev, d, "JP-NPA", cert, len, &err),
             ICX_OK, &err);
    if (icx_witness_verdict_alarming(v) && err.msg[0] == '\0')
        fail_msg("verdict %s without a reason", icx_witness_verdict_name(v));
    return v;
}

#define WANT(got, want)                                                       \
    do {                                                                      \
        int g_ = (got);                                                       \
        if (g_ != (want))                                                     \
            fail_msg("%s: got %s, want %s", #got, icx_witness_verdict_name(g_),\
                     icx_witness_verdict_name(want));                         \
    } while (0)

static void test_verdicts(void **state)
{
    (void)state;
    icx_witness_doc d10, d10f, d40, d40f, d40u, d40x;
    doc_of(&d10, leaves, 10, 0);
    doc_of(&d10f, forked, 10, 0);
    doc_of(&d40, leaves, 40, 10);
    doc_of(&d40f, forked, 40, 10);
    doc_of(&d40u, leaves, 40, 20);
    doc_of(&d40x, leaves, 40, 0);
    WANT(judge(NULL, &d10, jp_cert, jp_len), ICX_WITNESS_FIRST);
    WANT(judge(&d10.cp, &d10, jp_cert, jp_len), ICX_WITNESS_SAME);
    WANT(judge(&d10.cp, &d40, jp_cert, jp_len), ICX_WITNESS_CONSISTENT);
    /* Rewritten from record 6 on: the same size with another root, or a
     * larger log whose proof cannot reach the root kept. */
    WANT(judge(&d10.cp, &d10f, jp_cert, jp_len), ICX_WITNESS_FORK);
    WANT(judge(&d10.cp, &d40f, jp_cert, jp_len), ICX_WITNESS_FORK);
    /* A smaller log signed later: it went back.  Signed earlier: a
     * message that arrived late. */
    icx_witness_doc d10late = d10;
    icx_err serr;
    snprintf(d10late.cp.time, sizeof d10late.cp.time,
             "2026-12-04T00:01:00.000Z");
    CHECK_RC(icx_checkpoint_sign_with(&d10late.cp, jp_key, &serr), ICX_OK,
             &serr);
    WANT(judge(&d40.cp, &d10late, jp_cert, jp_len), ICX_WITNESS_ROLLBACK);
    WANT(judge(&d40.cp, &d10, jp_cert, jp_len), ICX_WITNESS_STALE);
    assert_false(icx_witness_verdict_alarming(ICX_WITNESS_STALE));
    /* A proof from another size, or none. */
    WANT(judge(&d10.cp, &d40u, jp_cert, jp_len), ICX_WITNESS_UNPROVEN);
    WANT(judge(&d10.cp, &d40x, jp_cert, jp_len), ICX_WITNESS_UNPROVEN);
    /* Another gateway's key, a changed root, a checkpoint sent by another. */
    WANT(judge(&d10.cp, &d40, ph_cert, ph_len), ICX_WITNESS_BADSIG);
    d40.cp.root[0] = d40.cp.root[0] == 'a' ? 'b' : 'a';
    WANT(judge(&d10.cp, &d40, jp_cert, jp_len), ICX_WITNESS_BADSIG);
    int v;
    icx_err err;
    CHECK_RC(icx_witness_judge(&v, NULL, &d10, "PH-NBI", jp_cert, jp_len,
                               &err), ICX_OK, &err);
    WANT(v, ICX_WITNESS_BADSIG);
}

static void test_parse_refusals(void **state)
{
    (void)state;
    static const struct {
        const char *text, *want;
    } cases[] = {
        {"icx-witness-checkpoint v2\n", "line 1"},
        {"icx-witness-checkpoint v1\ngateway JP-NPA\n", "missing"},
        {"icx-witness-checkpoint v1\ngateway JP-NPA\ngateway JP-NPA\n",
         "line 3: bad or repeated gateway"},
        {"icx-witness-checkpoint v1\nsize -1\n", "line 2: bad or repeated size"},
        {"icx-witness-checkpoint v1\nroot ABCD\n", "line 2: bad or repeated root"},
        {"icx-witness-checkpoint v1\nproof 00\n", "line 2: bad or repeated proof"},
        {"icx-witness-checkpoint v1\ncolour blue\n", "bad or repeated colour"},
        {"icx-witness-checkpoint v1\nnospace\n", "line 2: not \"key value\""},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        icx_witness_doc d;
        icx_err err;
        icx_err_clear(&err);
        int rc = icx_witness_doc_parse(&d, cases[i].text,
                                       strlen(cases[i].text), &err);
        if (rc != ICX_EINVAL || strstr(err.msg, cases[i].want) == NULL)
            fail_msg("case %zu: got %s \"%s\", want ICX_EINVAL \"%s\"", i,
                     icx_rc_name(rc), err.msg, cases[i].want);
    }
    /* More proof lines than any tree needs, and an oversized document. */
    icx_buf big;
    icx_witness_doc d;
    icx_err err;
    icx_buf_init(&big, 1 << 20);
    icx_buf_puts(&big, "icx-witness-checkpoint v1\n");
    for (int i = 0; i <= ICX_CONSISTENCY_MAX; i++)
        icx_buf_printf(&big, "proof %064d\n", 0);
    CHECK_RC(icx_witness_doc_parse(&d, big.data, big.len, &err), ICX_EINVAL,
             &err);
    while (big.len <= ICX_WITNESS_DOC_MAX)
        icx_buf_puts(&big, "x");
    CHECK_RC(icx_witness_doc_parse(&d, big.data, big.len, &err), ICX_EINVAL,
             &err);
    assert_non_null(strstr(err.msg, "bytes"));
    icx_buf_free(&big);
}

static void test_cosignature(void **state)
{
    (void)state;
    icx_witness_doc d, d2;
    char sig[1400];
    icx_err err;
    doc_of(&d, leaves, 10, 0);
    doc_of(&d2, leaves, 11, 0);
    CHECK_RC(icx_witness_cosign(sig, sizeof sig, &d.cp, "PH-NBI", ph_signer,
                                &err), ICX_OK, &err);
    CHECK_RC(icx_witness_cosig_verify(&d.cp, "PH-NBI", sig, ph_cert, ph_len,
                                      &err), ICX_OK, &err);
    CHECK_RC(icx_witness_cosig_verify(&d.cp, "PH-NBI", sig, jp_cert, jp_len,
                                      &err), ICX_EBADSIG, &err);
    CHECK_RC(icx_witness_cosig_verify(&d2.cp, "PH-NBI", sig, ph_cert, ph_len,
                                      &err), ICX_EBADSIG, &err);
    CHECK_RC(icx_witness_cosig_verify(&d.cp, "KR-KNPA", sig, ph_cert, ph_len,
                                      &err), ICX_EBADSIG, &err);
    /* The document --cosign-out writes, read back. */
    icx_buf doc;
    char w[64], s2[1400];
    uint64_t size = 0;
    size_t signed_len = 0;
    icx_buf_init(&doc, 8192);
    assert_int_equal(icx_witness_cosig_text(&doc, &d.cp, "PH-NBI"), ICX_OK);
    size_t text_len = doc.len;
    icx_buf_printf(&doc, "signature %s\n", sig);
    CHECK_RC(icx_witness_cosig_parse(w, sizeof w, &size, s2, sizeof s2,
                                     &signed_len, doc.data, doc.len, &err),
             ICX_OK, &err);
    assert_string_equal(w, "PH-NBI");
    assert_int_equal(size, 10);
    assert_string_equal(s2, sig);
    assert_int_equal(signed_len, text_len);
    /* Without its signature line, or with another first line: refused. */
    CHECK_RC(icx_witness_cosig_parse(w, sizeof w, &size, s2, sizeof s2,
                                     &signed_len, doc.data, text_len, &err),
             ICX_EINVAL, &err);
    doc.data[0] = 'X';
    CHECK_RC(icx_witness_cosig_parse(w, sizeof w, &size, s2, sizeof s2,
                                     &signed_len, doc.data, doc.len, &err),
             ICX_EINVAL, &err);
    icx_buf_free(&doc);
}

/* A co-signature whose lines are shorter than the keys compared with them
 * ("==\n" last), in a buffer of exactly its length with no NUL after it:
 * refused, and nothing read past its end (AddressSanitizer checks that). */
static void test_cosig_short_lines(void **state)
{
    (void)state;
    static const char doc[] = "icx-witness-cosignature v1\nwitness PH-NBI\n"
                              "size 7\nsi\n==\n";
    size_t len = sizeof doc - 1;
    char *exact = malloc(len);
    assert_non_null(exact);
    memcpy(exact, doc, len);
    char w[64], sig[1400];
    uint64_t n = 0;
    size_t signed_len = 0;
    icx_err err;
    assert_int_equal(icx_witness_cosig_parse(w, sizeof w, &n, sig, sizeof sig,
                                             &signed_len, exact, len, &err),
                     ICX_EINVAL);
    assert_non_null(strstr(err.msg, "missing"));
    free(exact);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_verdicts),
        cmocka_unit_test(test_parse_refusals),
        cmocka_unit_test(test_cosignature),
        cmocka_unit_test(test_cosig_short_lines),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
