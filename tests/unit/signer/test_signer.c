/*
 * test_signer.c - the signer process: the shapes of its messages
 * (signer_wire.c), and the remote backend against a real `icx signer`
 * (ICX_BIN): the signatures it returns are the key file's, a killed
 * signer fails the request in flight with ICX_EAGAIN and the next one
 * restarts it, and a key it cannot load fails the start with the key's
 * own error.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include "keys.h"
#include "signer_wire.h"
#include "signerproc.h"
#include "testutil.h"
#include "xmlsig.h"

static char *dir;
static char rsa_key[512], ec_key[512];

static int setup(void **state)
{
    (void)state;
    icx_err err;
    icx_err_clear(&err);
    assert_int_equal(icx_xmlsig_init(&err), 0);
    dir = icx_test_mkdtemp();
    assert_int_equal(icx_keys_generate("JP-NPA", icx_test_path("%s/jp", dir),
                                       ICX_ALG_RSA2048, 30, &err), 0);
    assert_int_equal(icx_keys_generate("PH-NBI", icx_test_path("%s/ph", dir),
                                       ICX_ALG_ECDSA_P256, 30, &err), 0);
    snprintf(rsa_key, sizeof rsa_key, "%s/jp/key.pem", dir);
    snprintf(ec_key, sizeof ec_key, "%s/ph/key.pem", dir);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    icx_test_rmrf(dir);
    free(dir);
    icx_xmlsig_shutdown();
    return 0;
}

static struct icx_sw_req good_req(uint32_t count)
{
    struct icx_sw_req q;
    memset(&q, 0, sizeof q);
    q.magic = ICX_SW_REQ_MAGIC;
    q.id = 7;
    q.dlen = ICX_SW_DIGEST;
    q.count = count;
    memset(q.digest, 0xab, sizeof q.digest);
    return q;
}

/* Every field of a request is checked; the size exactly: the header and
 * count digests, 1..ICX_SW_BATCH of them. */
static void test_request_shape(void **state)
{
    (void)state;
    for (uint32_t c = 1; c <= ICX_SW_BATCH; c++) {
        struct icx_sw_req q = good_req(c);
        size_t len = ICX_SW_REQ_LEN(c);
        assert_int_equal(icx_sw_req_check(&q, len), ICX_OK);
        assert_int_equal(icx_sw_req_check(&q, len - 1), ICX_EINVAL);
        if (c < ICX_SW_BATCH) /* a digest more than counted */
            assert_int_equal(icx_sw_req_check(&q, len + ICX_SW_DIGEST),
                             ICX_EINVAL);
    }
    unsigned char big[sizeof(struct icx_sw_req) + 1];
    struct icx_sw_req full = good_req(ICX_SW_BATCH);
    memset(big, 0, sizeof big);
    memcpy(big, &full, sizeof full);
    assert_int_equal(icx_sw_req_check(big, sizeof big), ICX_EINVAL);
    assert_int_equal(icx_sw_req_check(&full, 0), ICX_EINVAL);
    static const char *const what[] = {"magic", "key id", "digest length",
                                       "count 0", "count over the batch"};
    for (size_t i = 0; i < sizeof what / sizeof what[0]; i++) {
        struct icx_sw_req b = good_req(1);
        size_t len = ICX_SW_REQ_LEN(1);
        switch (i) {
        case 0: b.magic = ICX_SW_REP_MAGIC; break;
        case 1: b.key_id = 1; break;
        case 2: b.dlen = 31; break;
        case 3: b.count = 0; len = ICX_SW_REQ_LEN(0); break;
        case 4: b.count = ICX_SW_BATCH + 1; len = sizeof b; break;
        }
        if (icx_sw_req_check(&b, len) != ICX_EINVAL)
            fail_msg("request with a bad %s: got accepted, want ICX_EINVAL",
                     what[i]);
    }
}

static void test_reply_shape(void **state)
{
    (void)state;
    struct icx_sw_rep p;
    memset(&p, 0, sizeof p);
    p.magic = ICX_SW_REP_MAGIC;
    p.id = 9;
    p.siglen = 64;
    p.count = 3;
    size_t len = ICX_SW_REP_LEN(3, 64);
    assert_int_equal(icx_sw_rep_check(&p, len, 9, 3, 64), ICX_OK);
    assert_int_equal(icx_sw_rep_check(&p, len, 8, 3, 64), ICX_EINVAL);
    assert_int_equal(icx_sw_rep_check(&p, len, 9, 2, 64), ICX_EINVAL);
    assert_int_equal(icx_sw_rep_check(&p, len, 9, 3, 63), ICX_EINVAL);
    assert_int_equal(icx_sw_rep_check(&p, len - 1, 9, 3, 64), ICX_EINVAL);
    assert_int_equal(icx_sw_rep_check(&p, len + 64, 9, 3, 64), ICX_EINVAL);
    p.siglen = 0;
    assert_int_equal(icx_sw_rep_check(&p, ICX_SW_REP_LEN(3, 0), 9, 3, 64),
                     ICX_EINVAL);
    /* No signature where some were asked for, even if "asked" for none. */
    p.siglen = 64;
    p.count = 0;
    assert_int_equal(icx_sw_rep_check(&p, ICX_SW_REP_LEN(0, 64), 9, 0, 64),
                     ICX_EINVAL);
    p.count = ICX_SW_BATCH + 1;
    assert_int_equal(icx_sw_rep_check(&p, sizeof p, 9, ICX_SW_BATCH + 1, 64),
                     ICX_EINVAL);
    /* A refusal carries no signature. */
    p.rc = ICX_EINVAL;
    p.siglen = 0;
    p.count = 0;
    assert_int_equal(icx_sw_rep_check(&p, ICX_SW_REP_LEN(0, 0), 9, 3, 64),
                     ICX_OK);
    assert_int_equal(icx_sw_rep_check(&p, ICX_SW_REP_LEN(0, 0) + 64, 9, 3,
                                      64), ICX_EINVAL);
    p.count = 3;
    assert_int_equal(icx_sw_rep_check(&p, ICX_SW_REP_LEN(0, 0), 9, 3, 64),
                     ICX_EINVAL);
    p.count = 0;
    p.rc = 1;
    assert_int_equal(icx_sw_rep_check(&p, ICX_SW_REP_LEN(0, 0), 9, 3, 64),
                     ICX_EINVAL);
    /* Or the signer's text: one NUL-terminated string, siglen bytes. */
    p.rc = ICX_ENOTFOUND;
    memcpy(p.sig, "key gone", 9);
    p.siglen = 9;
    assert_int_equal(icx_sw_rep_check(&p, ICX_SW_REP_LEN(1, 9), 9, 3, 64),
                     ICX_OK);
    assert_int_equal(icx_sw_rep_check(&p, ICX_SW_REP_LEN(1, 9) - 1, 9, 3, 64),
                     ICX_EINVAL);
    p.siglen = 8; /* without its NUL */
    assert_int_equal(icx_sw_rep_check(&p, ICX_SW_REP_LEN(1, 8), 9, 3, 64),
                     ICX_EINVAL);
    memcpy(p.sig, "key\0gone", 9); /* a NUL inside */
    p.siglen = 9;
    assert_int_equal(icx_sw_rep_check(&p, ICX_SW_REP_LEN(1, 9), 9, 3, 64),
                     ICX_EINVAL);
    memset(p.sig, 'x', ICX_ERR_MSG_MAX);
    p.sig[ICX_ERR_MSG_MAX] = '\0'; /* one byte over the most */
    p.siglen = ICX_ERR_MSG_MAX + 1;
    assert_int_equal(icx_sw_rep_check(&p, ICX_SW_REP_LEN(1, p.siglen), 9, 3,
                                      64), ICX_EINVAL);
    p.sig[ICX_ERR_MSG_MAX - 1] = '\0';
    p.siglen = ICX_ERR_MSG_MAX;
    assert_int_equal(icx_sw_rep_check(&p, ICX_SW_REP_LEN(1, p.siglen), 9, 3,
                                      64), ICX_OK);
}

/* RSA is deterministic: the signer process returns the key file's bytes. */
static void test_remote_signs_as_the_key(void **state)
{
    (void)state;
    icx_err err;
    icx_err_clear(&err);
    icx_signer *local = NULL, *remote = NULL;
    icx_signer_remote *r = NULL;
    assert_int_equal(icx_signer_load(&local, rsa_key, &err), 0);
    int rc = icx_signer_remote_start(&remote, &r, icx_test_bin(), rsa_key, NULL, 2,
                                     &err);
    if (rc < 0)
        fail_msg("icx_signer_remote_start: got %d (%s), want 0", rc, err.msg);
    assert_string_equal(icx_signer_alg(remote), "rsa-sha256");
    assert_int_equal(icx_signer_field(remote), 256);
    assert_true(icx_signer_remote_pid(r) > 0);
    assert_int_not_equal(icx_signer_remote_pid(r), getpid());
    unsigned char d[32], a[ICX_SIG_MAX], b[ICX_SIG_MAX];
    for (int i = 0; i < 3; i++) {
        size_t la = sizeof a, lb = sizeof b;
        memset(d, i, sizeof d);
        assert_int_equal(icx_signer_sign_digest(a, &la, local, d, &err), 0);
        assert_int_equal(icx_signer_sign_digest(b, &lb, remote, d, &err), 0);
        assert_int_equal(la, lb);
        assert_memory_equal(a, b, la);
    }
    icx_signer_free(&remote);
    icx_signer_free(&local);
}

static void test_remote_restarts_after_kill(void **state)
{
    (void)state;
    icx_err err;
    icx_err_clear(&err);
    icx_signer *remote = NULL;
    icx_signer_remote *r = NULL;
    assert_int_equal(icx_signer_remote_start(&remote, &r, icx_test_bin(),
                                             ec_key, NULL, 1, &err), 0);
    assert_int_equal(icx_signer_field(remote), 32);
    unsigned char d[32] = {1}, sig[ICX_SIG_MAX];
    size_t len = sizeof sig;
    assert_int_equal(icx_signer_sign_digest(sig, &len, remote, d, &err), 0);
    assert_int_equal(len, 64);
    long pid = icx_signer_remote_pid(r);
    assert_int_equal(kill((pid_t)pid, SIGKILL), 0);
    usleep(100 * 1000);
    len = sizeof sig;
    assert_int_equal(icx_signer_sign_digest(sig, &len, remote, d, &err),
                     ICX_EAGAIN);
    len = sizeof sig;
    assert_int_equal(icx_signer_sign_digest(sig, &len, remote, d, &err), 0);
    assert_int_equal(len, 64);
    assert_int_equal(icx_signer_remote_restarts(r), 1);
    assert_true(icx_signer_remote_pid(r) > 0);
    assert_int_not_equal(icx_signer_remote_pid(r), pid);
    /* Killed while idle: the periodic check reaps it and starts another,
     * and the next request needs no retry. */
    pid = icx_signer_remote_pid(r);
    assert_int_equal(icx_signer_remote_check(r, &err), 0);
    assert_int_equal(icx_signer_remote_pid(r), pid); /* alive: untouched */
    assert_int_equal(kill((pid_t)pid, SIGKILL), 0);
    usleep(200 * 1000);
    assert_int_equal(icx_signer_remote_check(r, &err), 0);
    assert_int_equal(icx_signer_remote_restarts(r), 2);
    assert_int_not_equal(icx_signer_remote_pid(r), pid);
    len = sizeof sig;
    assert_int_equal(icx_signer_sign_digest(sig, &len, remote, d, &err), 0);
    icx_signer_free(&remote);
}

/* Up to ICX_SIGN_BATCH digests in one request: each signature is the key
 * file's (RSA), in request order; a signer killed with a batch in flight
 * fails the whole request with ICX_EAGAIN and the next succeeds. */
static void test_remote_batch(void **state)
{
    (void)state;
    icx_err err;
    icx_err_clear(&err);
    icx_signer *local = NULL, *remote = NULL;
    icx_signer_remote *r = NULL;
    assert_int_equal(icx_signer_load(&local, rsa_key, &err), 0);
    assert_int_equal(icx_signer_remote_start(&remote, &r, icx_test_bin(),
                                             rsa_key, NULL, 2, &err), 0);
    unsigned char d[ICX_SIGN_BATCH * ICX_SIGN_DIGEST];
    static unsigned char a[ICX_SIGN_BATCH * ICX_SIG_MAX],
        b[ICX_SIGN_BATCH * ICX_SIG_MAX];
    for (size_t i = 0; i < sizeof d; i++)
        d[i] = (unsigned char)(i * 7 + 1);
    for (int n = 1; n <= ICX_SIGN_BATCH; n++) {
        size_t la = 0, lb = 0;
        memset(b, 0, sizeof b);
        assert_int_equal(icx_signer_sign_digests(a, &la, local, d, n, &err),
                         0);
        int rc = icx_signer_sign_digests(b, &lb, remote, d, n, &err);
        if (rc != 0)
            fail_msg("batch of %d: got %d (%s), want 0", n, rc, err.msg);
        assert_int_equal(la, 256);
        assert_int_equal(lb, 256);
        for (int i = 0; i < n; i++)
            assert_memory_equal(a + i * ICX_SIG_MAX, b + i * ICX_SIG_MAX, la);
        /* Distinct digests, distinct signatures: none repeated. */
        if (n > 1)
            assert_memory_not_equal(b, b + ICX_SIG_MAX, lb);
    }
    size_t lb = 0;
    assert_int_equal(icx_signer_sign_digests(b, &lb, remote, d,
                                             ICX_SIGN_BATCH + 1, &err),
                     ICX_EINVAL);
    long pid = icx_signer_remote_pid(r);
    assert_int_equal(kill((pid_t)pid, SIGKILL), 0);
    usleep(100 * 1000);
    assert_int_equal(icx_signer_sign_digests(b, &lb, remote, d,
                                             ICX_SIGN_BATCH, &err),
                     ICX_EAGAIN);
    assert_int_equal(icx_signer_sign_digests(b, &lb, remote, d,
                                             ICX_SIGN_BATCH, &err), 0);
    assert_int_not_equal(icx_signer_remote_pid(r), pid);
    icx_signer_free(&remote);
    icx_signer_free(&local);
}

/* The daemon's start error about the key is the key's own. */
static void test_remote_load_error_is_the_keys(void **state)
{
    (void)state;
    icx_err want, got;
    icx_err_clear(&want);
    icx_err_clear(&got);
    icx_signer *s = NULL;
    icx_signer_remote *r = NULL;
    assert_int_equal(chmod(rsa_key, 0644), 0);
    int wrc = icx_signer_load(&s, rsa_key, &want);
    int grc = icx_signer_remote_start(&s, &r, icx_test_bin(), rsa_key, NULL, 1,
                                      &got);
    assert_int_equal(chmod(rsa_key, 0600), 0);
    assert_true(wrc < 0);
    assert_int_equal(grc, wrc);
    assert_string_equal(got.msg, want.msg);
    assert_null(s);
    assert_null(r);
    icx_err_clear(&got);
    grc = icx_signer_remote_start(&s, &r, icx_test_bin(),
                                  icx_test_path("%s/none.pem", dir), NULL, 1,
                                  &got);
    assert_true(grc < 0);
    assert_non_null(strstr(got.msg, "none.pem"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_request_shape),
        cmocka_unit_test(test_reply_shape),
        cmocka_unit_test(test_remote_signs_as_the_key),
        cmocka_unit_test(test_remote_restarts_after_kill),
        cmocka_unit_test(test_remote_batch),
        cmocka_unit_test(test_remote_load_error_is_the_keys),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
