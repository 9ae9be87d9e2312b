/*
 * tsq.c - RFC 3161 requests and the checks of replies and stored tokens
 * (see tsa.h), with OpenSSL's TS_ functions: they parse, compare the
 * nonce, imprint and policy, and verify the CMS signature and the signer
 * certificate (critical extended key usage timeStamping, chain to the CA
 * file).  This file only decides which checks run and turns OpenSSL's
 * error queue into one message.
 *
 * Ownership: a request owns its TS_REQ.  Threads: reentrant (OpenSSL 3 is
 * thread-safe; the error queue is per thread).  Failure: ICX_EBADSIG for
 * a refused reply or token, with the reason; ICX_ECRYPTO, ICX_ENOMEM.
 */
#include "tsa.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/rand.h>
#include <openssl/ts.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>

struct icx_tsa_req {
    TS_REQ *req;
};

/* OpenSSL's reason for the last failure, appended after what. */
static int refuse(icx_err *err, int rc, const char *what)
{
    char detail[256] = "";
    unsigned long e = ERR_peek_last_error();
    if (e != 0)
        ERR_error_string_n(e, detail, sizeof detail);
    ERR_clear_error();
    return icx_err_set(err, rc, "%s%s%s", what, detail[0] ? ": " : "",
                       detail);
}

int icx_tsa_req_new(icx_tsa_req **out, const void *data, size_t len,
                    const char *policy, icx_err *err)
{
    unsigned char md[32];
    unsigned char nonce[8];
    icx_tsa_req *r = calloc(1, sizeof *r);
    TS_MSG_IMPRINT *imp = TS_MSG_IMPRINT_new();
    X509_ALGOR *alg = X509_ALGOR_new();
    BIGNUM *bn = NULL;
    ASN1_INTEGER *n = NULL;
    ASN1_OBJECT *pol = NULL;
    int rc = ICX_OK;

    *out = NULL;
    if (r == NULL || imp == NULL || alg == NULL ||
        (r->req = TS_REQ_new()) == NULL) {
        rc = icx_err_set(err, ICX_ENOMEM, "out of memory");
        goto out;
    }
    if (policy != NULL && (pol = OBJ_txt2obj(policy, 1)) == NULL) {
        rc = icx_err_set(err, ICX_EINVAL, "TSA policy %s is not a dotted "
                         "OID", policy);
        goto out;
    }
    if (EVP_Digest(data, len, md, NULL, EVP_sha256(), NULL) != 1 ||
        RAND_bytes(nonce, sizeof nonce) != 1 ||
        X509_ALGOR_set0(alg, OBJ_nid2obj(NID_sha256), V_ASN1_NULL, NULL) != 1 ||
        TS_MSG_IMPRINT_set_algo(imp, alg) != 1 ||
        TS_MSG_IMPRINT_set_msg(imp, md, sizeof md) != 1 ||
        TS_REQ_set_version(r->req, 1) != 1 ||
        TS_REQ_set_msg_imprint(r->req, imp) != 1 ||
        (bn = BN_bin2bn(nonce, sizeof nonce, NULL)) == NULL ||
        (n = BN_to_ASN1_INTEGER(bn, NULL)) == NULL ||
        TS_REQ_set_nonce(r->req, n) != 1 ||
        TS_REQ_set_cert_req(r->req, 1) != 1 ||
        (pol != NULL && TS_REQ_set_policy_id(r->req, pol) != 1)) {
        rc = refuse(err, ICX_ECRYPTO, "cannot build the time-stamp request");
        goto out;
    }
    *out = r;
    r = NULL;
out:
    if (r != NULL) {
        TS_REQ_free(r->req);
        free(r);
    }
    TS_MSG_IMPRINT_free(imp);
    X509_ALGOR_free(alg);
    BN_free(bn);
    ASN1_INTEGER_free(n);
    ASN1_OBJECT_free(pol);
    return rc;
}

void icx_tsa_req_free(icx_tsa_req **rp)
{
    if (rp == NULL || *rp == NULL)
        return;
    TS_REQ_free((*rp)->req);
    free(*rp);
    *rp = NULL;
}

int icx_tsa_req_der(icx_buf *out, const icx_tsa_req *r, icx_err *err)
{
    unsigned char *der = NULL;
    int n = i2d_TS_REQ(r->req, &der);
    if (n <= 0)
        return refuse(err, ICX_ECRYPTO, "cannot encode the time-stamp request");
    int rc = icx_buf_append(out, der, (size_t)n);
    OPENSSL_free(der);
    if (rc < 0)
        return icx_err_set(err, rc, "time-stamp request too large");
    return ICX_OK;
}

/* What the token's TSTInfo says, into info. */
static void describe(icx_tsa_stamp *info, TS_TST_INFO *tst)
{
    memset(info, 0, sizeof *info);
    if (tst == NULL)
        return;
    const ASN1_GENERALIZEDTIME *t = TS_TST_INFO_get_time(tst);
    struct tm tm;
    memset(&tm, 0, sizeof tm);
    if (t != NULL && ASN1_TIME_to_tm(t, &tm) == 1) {
        strftime(info->gen_time, sizeof info->gen_time, "%Y-%m-%dT%H:%M:%SZ",
                 &tm);
        info->gen_epoch = (int64_t)timegm(&tm);
    }
    const ASN1_INTEGER *serial = TS_TST_INFO_get_serial(tst);
    BIGNUM *bn = serial ? ASN1_INTEGER_to_BN(serial, NULL) : NULL;
    char *hex = bn ? BN_bn2hex(bn) : NULL;
    if (hex != NULL)
        snprintf(info->serial, sizeof info->serial, "%s", hex);
    OPENSSL_free(hex);
    BN_free(bn);
    ASN1_OBJECT *pol = TS_TST_INFO_get_policy_id(tst);
    if (pol != NULL)
        OBJ_obj2txt(info->policy, sizeof info->policy, pol, 1);
}

/* The CA file as a store; purpose timestamp signing is enforced by
 * TS_RESP_verify_signature itself. */
static X509_STORE *ca_store(const char *ca_file, icx_err *err)
{
    X509_STORE *st = X509_STORE_new();
    if (st == NULL || X509_STORE_load_file(st, ca_file) != 1) {
        X509_STORE_free(st);
        ERR_clear_error();
        icx_err_set(err, ICX_ECONFIG, "%s: cannot read the TSA CA "
                    "certificates (PEM)", ca_file);
        return NULL;
    }
    return st;
}

/* The token's imprint must be SHA-256 (the store and the bundle say so). */
static int imprint_is_sha256(TS_TST_INFO *tst)
{
    TS_MSG_IMPRINT *imp = tst ? TS_TST_INFO_get_msg_imprint(tst) : NULL;
    X509_ALGOR *alg = imp ? TS_MSG_IMPRINT_get_algo(imp) : NULL;
    const ASN1_OBJECT *obj = NULL;
    if (alg != NULL)
        X509_ALGOR_get0(&obj, NULL, NULL, alg);
    return obj != NULL && OBJ_obj2nid(obj) == NID_sha256;
}

int icx_tsa_reply_check(icx_buf *token, icx_tsa_stamp *info,
                        const icx_tsa_req *req, const void *reply, size_t len,
                        const char *ca_file, icx_err *err)
{
    const unsigned char *p = reply;
    TS_RESP *resp = NULL;
    TS_VERIFY_CTX *ctx = NULL;
    X509_STORE *st = NULL;
    unsigned char *der = NULL;
    int rc = ICX_OK;

    memset(info, 0, sizeof *info);
    if (len == 0 || len > ICX_TSA_REPLY_MAX) {
        rc = icx_err_set(err, ICX_EBADSIG, "time-stamp reply of %zu bytes "
                         "(1..%zu accepted)", len, ICX_TSA_REPLY_MAX);
        goto out;
    }
    resp = d2i_TS_RESP(NULL, &p, (long)len);
    if (resp == NULL || p != (const unsigned char *)reply + len) {
        rc = refuse(err, ICX_EBADSIG, "time-stamp reply is not one DER "
                    "TimeStampResp");
        goto out;
    }
    describe(info, TS_RESP_get_tst_info(resp));
    st = ca_store(ca_file, err);
    if (st == NULL) {
        rc = err->rc;
        goto out;
    }
    /* Version, imprint, nonce and (when the request names one) policy,
     * from the request; plus the signature against the CA store. */
    ctx = TS_REQ_to_TS_VERIFY_CTX(req->req, NULL);
    if (ctx == NULL) {
        rc = refuse(err, ICX_ENOMEM, "out of memory");
        goto out;
    }
    TS_VERIFY_CTX_add_flags(ctx, TS_VFY_SIGNATURE);
    TS_VERIFY_CTX_set_store(ctx, st);
    st = NULL; /* the context frees it */
    if (TS_RESP_verify_response(ctx, resp) != 1) {
        rc = refuse(err, ICX_EBADSIG, "time-stamp reply refused");
        goto out;
    }
    if (!imprint_is_sha256(TS_RESP_get_tst_info(resp))) {
        rc = icx_err_set(err, ICX_EBADSIG, "time-stamp token does not use "
                         "SHA-256");
        goto out;
    }
    int n = i2d_PKCS7(TS_RESP_get_token(resp), &der);
    if (n <= 0) {
        rc = refuse(err, ICX_ECRYPTO, "cannot encode the time-stamp token");
        goto out;
    }
    rc = icx_buf_append(token, der, (size_t)n);
    if (rc < 0)
        icx_err_set(err, rc, "time-stamp token too large");
out:
    OPENSSL_free(der);
    TS_VERIFY_CTX_free(ctx);
    X509_STORE_free(st);
    TS_RESP_free(resp);
    ERR_clear_error();
    return rc;
}

int icx_tsa_token_check(icx_tsa_stamp *info, const void *token,
                        size_t token_len, const void *data, size_t len,
                        const char *ca_file, icx_err *err)
{
    const unsigned char *p = token;
    PKCS7 *tok = NULL;
    TS_TST_INFO *tst = NULL;
    TS_VERIFY_CTX *ctx = NULL;
    X509_STORE *st = NULL;
    unsigned char md[32];
    unsigned char *imp = NULL;
    icx_tsa_stamp scratch;
    int rc = ICX_OK;

    if (info == NULL)
        info = &scratch;
    memset(info, 0, sizeof *info);
    if (token_len == 0 || token_len > ICX_TSA_REPLY_MAX) {
        rc = icx_err_set(err, ICX_EBADSIG, "time-stamp token of %zu bytes "
                         "(1..%zu accepted)", token_len, ICX_TSA_REPLY_MAX);
        goto out;
    }
    tok = d2i_PKCS7(NULL, &p, (long)token_len);
    if (tok == NULL || p != (const unsigned char *)token + token_len ||
        (tst = PKCS7_to_TS_TST_INFO(tok)) == NULL) {
        rc = refuse(err, ICX_EBADSIG, "not a DER TimeStampToken");
        goto out;
    }
    describe(info, tst);
    if (!imprint_is_sha256(tst)) {
        rc = icx_err_set(err, ICX_EBADSIG, "time-stamp token does not use "
                         "SHA-256");
        goto out;
    }
    if (EVP_Digest(data, len, md, NULL, EVP_sha256(), NULL) != 1 ||
        (imp = OPENSSL_memdup(md, sizeof md)) == NULL ||
        (ctx = TS_VERIFY_CTX_new()) == NULL) {
        rc = refuse(err, ICX_ENOMEM, "out of memory");
        goto out;
    }
    TS_VERIFY_CTX_set_flags(ctx, TS_VFY_VERSION | TS_VFY_IMPRINT |
                                     (ca_file != NULL ? TS_VFY_SIGNATURE : 0));
    TS_VERIFY_CTX_set_imprint(ctx, imp, (long)sizeof md);
    imp = NULL; /* the context frees it */
    if (ca_file != NULL) {
        st = ca_store(ca_file, err);
        if (st == NULL) {
            rc = err->rc;
            goto out;
        }
        TS_VERIFY_CTX_set_store(ctx, st);
        st = NULL;
    }
    if (TS_RESP_verify_token(ctx, tok) != 1) {
        rc = refuse(err, ICX_EBADSIG, "time-stamp token refused");
        goto out;
    }
out:
    OPENSSL_free(imp);
    TS_VERIFY_CTX_free(ctx);
    X509_STORE_free(st);
    TS_TST_INFO_free(tst);
    PKCS7_free(tok);
    ERR_clear_error();
    return rc;
}
