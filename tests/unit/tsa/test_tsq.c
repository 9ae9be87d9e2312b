/*
 * test_tsq.c - RFC 3161 requests and the checks of replies and tokens,
 * against replies made by `openssl ts -reply` with a test TSA
 * (tests/integration/tools/tsa_make.sh): a good reply is accepted and
 * its token verifies over the same bytes only; replies signed by a TSA of
 * another CA, answering another request (nonce), tampered, truncated,
 * refused by the TSA (unknown policy) are refused.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "err.h"
#include "testutil.h"
#include "tsa.h"
#include "util.h"

static char *dir;
static const char data[] = "icx-audit-checkpoint v1\ngateway JP-NPA\nsize 3\n";

static int setup(void **state)
{
    (void)state;
    char out[4096];
    dir = icx_test_mkdtemp();
    const char *script = icx_test_path("%s/tests/integration/tools/tsa_make.sh",
                                       icx_test_srcdir());
    char *s = strdup(script);
    const char *argv[] = {"bash", s, dir, NULL};
    int rc = icx_test_run(out, sizeof out, argv);
    free(s);
    if (rc != 0)
        fail_msg("tsa_make.sh: %s", out);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    icx_test_rmrf(dir);
    free(dir);
    return 0;
}

/* The reply of the TSA configured by cnf ("tsa.cnf", "other.cnf") to the
 * request r, read into reply. */
static void ask(icx_buf *reply, const icx_tsa_req *r, const char *cnf)
{
    icx_buf der;
    icx_err err;
    char out[4096];
    icx_buf_init(&der, 1 << 16);
    CHECK_RC(icx_tsa_req_der(&der, r, &err), ICX_OK, &err);
    char q[512], resp[512], conf[512];
    snprintf(q, sizeof q, "%s/q.tsq", dir);
    snprintf(resp, sizeof resp, "%s/r.tsr", dir);
    snprintf(conf, sizeof conf, "%s/%s", dir, cnf);
    FILE *f = fopen(q, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(der.data, 1, der.len, f), der.len);
    fclose(f);
    remove(resp);
    const char *argv[] = {"openssl", "ts", "-reply", "-config", conf,
                          "-queryfile", q, "-out", resp, NULL};
    if (icx_test_run(out, sizeof out, argv) != 0)
        fail_msg("openssl ts -reply: %s", out);
    char *body = NULL;
    size_t len = 0;
    CHECK_RC(icx_file_read(&body, &len, resp, 1 << 20, &err), ICX_OK, &err);
    icx_buf_reset(reply);
    assert_int_equal(icx_buf_append(reply, body, len), ICX_OK);
    free(body);
    icx_buf_free(&der);
}

static const char *ca(const char *name)
{
    static char path[2][512];
    static int i;
    i = !i;
    snprintf(path[i], sizeof path[i], "%s/%s", dir, name);
    return path[i];
}

static void test_good_reply(void **state)
{
    (void)state;
    icx_tsa_req *r = NULL;
    icx_buf reply, token;
    icx_tsa_stamp st;
    icx_err err;
    icx_buf_init(&reply, 1 << 20);
    icx_buf_init(&token, 1 << 20);
    CHECK_RC(icx_tsa_req_new(&r, data, strlen(data), NULL, &err), ICX_OK, &err);
    ask(&reply, r, "tsa.cnf");
    CHECK_RC(icx_tsa_reply_check(&token, &st, r, reply.data, reply.len,
                                 ca("ca.pem"), &err), ICX_OK, &err);
    assert_true(token.len > 0);
    assert_string_equal(st.policy, "1.2.3.4.1");
    assert_int_equal(strlen(st.gen_time), 20);
    assert_true(st.gen_epoch > 1700000000);
    assert_true(st.serial[0] != '\0');
    /* The stored token verifies over the same bytes, with the CA and
     * without it (imprint only); over other bytes or another CA, not. */
    icx_tsa_stamp again;
    CHECK_RC(icx_tsa_token_check(&again, token.data, token.len, data,
                                 strlen(data), ca("ca.pem"), &err), ICX_OK,
             &err);
    assert_string_equal(again.gen_time, st.gen_time);
    assert_string_equal(again.serial, st.serial);
    CHECK_RC(icx_tsa_token_check(NULL, token.data, token.len, data,
                                 strlen(data), NULL, &err), ICX_OK, &err);
    CHECK_RC(icx_tsa_token_check(NULL, token.data, token.len, data,
                                 strlen(data) - 1, ca("ca.pem"), &err),
             ICX_EBADSIG, &err);
    CHECK_RC(icx_tsa_token_check(NULL, token.data, token.len, data,
                                 strlen(data), ca("other-ca.pem"), &err),
             ICX_EBADSIG, &err);
    /* A flipped byte in the stored token. */
    token.data[token.len - 10] ^= 0x01;
    CHECK_RC(icx_tsa_token_check(NULL, token.data, token.len, data,
                                 strlen(data), ca("ca.pem"), &err),
             ICX_EBADSIG, &err);
    icx_tsa_req_free(&r);
    assert_null(r);
    icx_buf_free(&reply);
    icx_buf_free(&token);
}

static void test_policy(void **state)
{
    (void)state;
    icx_tsa_req *r = NULL;
    icx_buf reply, token;
    icx_tsa_stamp st;
    icx_err err;
    icx_buf_init(&reply, 1 << 20);
    icx_buf_init(&token, 1 << 20);
    CHECK_RC(icx_tsa_req_new(&r, data, strlen(data), "1.2.3.4.5", &err),
             ICX_OK, &err);
    ask(&reply, r, "tsa.cnf");
    CHECK_RC(icx_tsa_reply_check(&token, &st, r, reply.data, reply.len,
                                 ca("ca.pem"), &err), ICX_OK, &err);
    assert_string_equal(st.policy, "1.2.3.4.5");
    icx_tsa_req_free(&r);
    /* A policy the TSA does not have: it answers with status rejection. */
    icx_buf_reset(&token);
    CHECK_RC(icx_tsa_req_new(&r, data, strlen(data), "1.2.3.4.9", &err),
             ICX_OK, &err);
    ask(&reply, r, "tsa.cnf");
    CHECK_RC(icx_tsa_reply_check(&token, &st, r, reply.data, reply.len,
                                 ca("ca.pem"), &err), ICX_EBADSIG, &err);
    assert_int_equal(token.len, 0);
    icx_tsa_req_free(&r);
    icx_err e2;
    CHECK_RC(icx_tsa_req_new(&r, data, strlen(data), "not an oid", &e2),
             ICX_EINVAL, &e2);
    assert_null(r);
    icx_buf_free(&reply);
    icx_buf_free(&token);
}

static void test_refused_replies(void **state)
{
    (void)state;
    icx_tsa_req *r = NULL, *r2 = NULL;
    icx_buf reply, token;
    icx_tsa_stamp st;
    icx_err err;
    icx_buf_init(&reply, 1 << 20);
    icx_buf_init(&token, 1 << 20);
    CHECK_RC(icx_tsa_req_new(&r, data, strlen(data), NULL, &err), ICX_OK, &err);
    CHECK_RC(icx_tsa_req_new(&r2, data, strlen(data), NULL, &err), ICX_OK,
             &err);

    /* Signed by a TSA that the configured CA did not issue. */
    ask(&reply, r, "other.cnf");
    CHECK_RC(icx_tsa_reply_check(&token, &st, r, reply.data, reply.len,
                                 ca("ca.pem"), &err), ICX_EBADSIG, &err);
    /* ... and accepted with its own CA: the refusal was the CA. */
    CHECK_RC(icx_tsa_reply_check(&token, &st, r, reply.data, reply.len,
                                 ca("other-ca.pem"), &err), ICX_OK, &err);
    icx_buf_reset(&token);

    /* The answer to another request for the same bytes: its nonce. */
    ask(&reply, r2, "tsa.cnf");
    CHECK_RC(icx_tsa_reply_check(&token, &st, r, reply.data, reply.len,
                                 ca("ca.pem"), &err), ICX_EBADSIG, &err);
    CHECK_RC(icx_tsa_reply_check(&token, &st, r2, reply.data, reply.len,
                                 ca("ca.pem"), &err), ICX_OK, &err);
    icx_buf_reset(&token);

    /* Tampered: a byte of the signature, then of the TSTInfo. */
    ask(&reply, r, "tsa.cnf");
    reply.data[reply.len - 5] ^= 0x40;
    CHECK_RC(icx_tsa_reply_check(&token, &st, r, reply.data, reply.len,
                                 ca("ca.pem"), &err), ICX_EBADSIG, &err);
    reply.data[reply.len - 5] ^= 0x40;
    CHECK_RC(icx_tsa_reply_check(&token, &st, r, reply.data, reply.len,
                                 ca("ca.pem"), &err), ICX_OK, &err);
    icx_buf_reset(&token);
    const char *gt = memmem(reply.data, reply.len, st.gen_time, 4);
    assert_non_null(gt);
    ((char *)gt)[3] ^= 0x01; /* the year of genTime */
    CHECK_RC(icx_tsa_reply_check(&token, &st, r, reply.data, reply.len,
                                 ca("ca.pem"), &err), ICX_EBADSIG, &err);
    ((char *)gt)[3] ^= 0x01;

    /* Truncated, trailing bytes, empty, a CA file that is not there. */
    CHECK_RC(icx_tsa_reply_check(&token, &st, r, reply.data, reply.len - 1,
                                 ca("ca.pem"), &err), ICX_EBADSIG, &err);
    assert_int_equal(icx_buf_append(&reply, "x", 1), ICX_OK);
    CHECK_RC(icx_tsa_reply_check(&token, &st, r, reply.data, reply.len,
                                 ca("ca.pem"), &err), ICX_EBADSIG, &err);
    CHECK_RC(icx_tsa_reply_check(&token, &st, r, reply.data, 0, ca("ca.pem"),
                                 &err), ICX_EBADSIG, &err);
    CHECK_RC(icx_tsa_reply_check(&token, &st, r, reply.data, reply.len - 1,
                                 ca("absent.pem"), &err), ICX_ECONFIG, &err);
    assert_int_equal(token.len, 0);
    icx_tsa_req_free(&r);
    icx_tsa_req_free(&r2);
    icx_buf_free(&reply);
    icx_buf_free(&token);
}

static void test_post_unreachable(void **state)
{
    (void)state;
    icx_buf reply;
    icx_err err;
    icx_buf_init(&reply, ICX_TSA_REPLY_MAX);
    /* Port 1 on loopback: nothing listens; refused at once. */
    CHECK_RC(icx_tsa_post(&reply, "http://127.0.0.1:1/tsa", "x", 1, 5, NULL, &err),
             ICX_EAGAIN, &err);
    CHECK_RC(icx_tsa_post(&reply, "ftp://127.0.0.1/tsa", "x", 1, 5, NULL, &err),
             ICX_EINVAL, &err);
    CHECK_RC(icx_tsa_post(&reply, "file:///etc/passwd", "x", 1, 5, NULL, &err),
             ICX_EINVAL, &err);
    assert_int_equal(reply.len, 0);
    icx_buf_free(&reply);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_good_reply),
        cmocka_unit_test(test_policy),
        cmocka_unit_test(test_refused_replies),
        cmocka_unit_test(test_post_unreachable),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
