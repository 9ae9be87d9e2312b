/*
 * audit.c - Merkle hashing, checkpoints, inclusion proofs and the
 * verifier of the audit log (see audit.h and docs/AUDIT.md).
 *
 * The verifier collects (seq, stored hash, prev) of every record and
 * whether its content matches its stored hash, then walks them once in
 * order: the first broken link or hash is classified (edited, deleted,
 * reordered, inserted), then every checkpoint's root is recomputed from
 * the stored leaves and its signature checked against the gateway's
 * certificate; a log shorter than its last checkpoint is truncated.
 *
 * Threads: reentrant.  Failure: ICX_EBADSIG for damage (err names the
 * record and kind), ICX_ENOMEM/ICX_ECRYPTO otherwise.
 */
#include "audit.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/ecdsa.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "keys.h"
#include "util.h"

static void sha256_2(unsigned char out[ICX_HASH_LEN], unsigned char prefix,
                     const void *a, size_t alen, const void *b, size_t blen)
{
    EVP_MD_CTX *c = EVP_MD_CTX_new();
    unsigned int n = 0;
    EVP_DigestInit_ex(c, icx_sha(256), NULL);
    EVP_DigestUpdate(c, &prefix, 1);
    EVP_DigestUpdate(c, a, alen);
    if (b != NULL)
        EVP_DigestUpdate(c, b, blen);
    EVP_DigestFinal_ex(c, out, &n);
    EVP_MD_CTX_free(c);
}

int icx_audit_line(icx_buf *out, const icx_audit_rec *r)
{
    return icx_buf_printf(out, "%lld|%s|%s|%s|%s|%s|%s", (long long)r->seq,
                          r->ts, r->event, r->message_id, r->partner, r->detail,
                          r->prev);
}

void icx_audit_leaf(unsigned char leaf[ICX_HASH_LEN], const char *line,
                    size_t len)
{
    sha256_2(leaf, 0x00, line, len, NULL, 0);
}

void icx_merkle_node(unsigned char out[ICX_HASH_LEN],
                     const unsigned char left[ICX_HASH_LEN],
                     const unsigned char right[ICX_HASH_LEN])
{
    sha256_2(out, 0x01, left, ICX_HASH_LEN, right, ICX_HASH_LEN);
}

void icx_merkle_init(icx_merkle *m) { memset(m, 0, sizeof *m); }

void icx_merkle_append(icx_merkle *m, const unsigned char leaf[ICX_HASH_LEN])
{
    memcpy(m->h[m->n], leaf, ICX_HASH_LEN);
    m->height[m->n] = 0;
    m->n++;
    /* Merge equal-height subtrees: the frontier is the binary form of size. */
    while (m->n >= 2 && m->height[m->n - 1] == m->height[m->n - 2]) {
        icx_merkle_node(m->h[m->n - 2], m->h[m->n - 2], m->h[m->n - 1]);
        m->height[m->n - 2]++;
        m->n--;
    }
    m->size++;
}

void icx_merkle_root(const icx_merkle *m, unsigned char root[ICX_HASH_LEN])
{
    if (m->n == 0) {
        unsigned int n = 0;
        EVP_Digest("", 0, root, &n, icx_sha(256), NULL);
        return;
    }
    unsigned char acc[ICX_HASH_LEN];
    memcpy(acc, m->h[m->n - 1], ICX_HASH_LEN);
    for (int i = m->n - 2; i >= 0; i--)
        icx_merkle_node(acc, m->h[i], acc);
    memcpy(root, acc, ICX_HASH_LEN);
}

static uint64_t split_point(uint64_t n)
{
    uint64_t k = 1;
    while (k * 2 < n)
        k *= 2;
    return k;
}

void icx_merkle_root_of(unsigned char root[ICX_HASH_LEN],
                        const unsigned char (*leaves)[ICX_HASH_LEN], uint64_t n)
{
    icx_merkle m;
    icx_merkle_init(&m);
    for (uint64_t i = 0; i < n; i++)
        icx_merkle_append(&m, leaves[i]);
    icx_merkle_root(&m, root);
}

/* RFC 6962 PATH(m, D[n]), collected leaf-side first. */
static int path_rec(unsigned char (*path)[ICX_HASH_LEN], char *sides, int *np,
                    const unsigned char (*leaves)[ICX_HASH_LEN], uint64_t n,
                    uint64_t m)
{
    if (n <= 1)
        return ICX_OK;
    uint64_t k = split_point(n);
    unsigned char sib[ICX_HASH_LEN];
    int rc;
    if (m < k) {
        rc = path_rec(path, sides, np, leaves, k, m);
        icx_merkle_root_of(sib, leaves + k, n - k);
        if (*np >= ICX_MERKLE_MAX_LEVELS)
            return ICX_EFULL;
        memcpy(path[*np], sib, ICX_HASH_LEN);
        sides[(*np)++] = 'R';
    } else {
        rc = path_rec(path, sides, np, leaves + k, n - k, m - k);
        icx_merkle_root_of(sib, leaves, k);
        if (*np >= ICX_MERKLE_MAX_LEVELS)
            return ICX_EFULL;
        memcpy(path[*np], sib, ICX_HASH_LEN);
        sides[(*np)++] = 'L';
    }
    return rc;
}

int icx_merkle_path(unsigned char (*path)[ICX_HASH_LEN], char *sides,
                    int *npath, const unsigned char (*leaves)[ICX_HASH_LEN],
                    uint64_t n, uint64_t m)
{
    *npath = 0;
    if (m >= n)
        return ICX_EINVAL;
    return path_rec(path, sides, npath, leaves, n, m);
}

int icx_merkle_check_path(const unsigned char leaf[ICX_HASH_LEN],
                          const unsigned char (*path)[ICX_HASH_LEN],
                          const char *sides, int npath, uint64_t m,
                          uint64_t n, const unsigned char root[ICX_HASH_LEN])
{
    /* RFC 9162 2.1.3.2, which also fixes the side of each step. */
    if (m >= n)
        return ICX_EINVAL;
    uint64_t fn = m, sn = n - 1;
    unsigned char r[ICX_HASH_LEN];
    memcpy(r, leaf, ICX_HASH_LEN);
    for (int i = 0; i < npath; i++) {
        if (sn == 0)
            return ICX_EBADSIG;
        if ((fn & 1) || fn == sn) {
            if (sides[i] != 'L')
                return ICX_EBADSIG;
            icx_merkle_node(r, path[i], r);
            if (!(fn & 1))
                while (fn != 0 && !(fn & 1)) {
                    fn >>= 1;
                    sn >>= 1;
                }
        } else {
            if (sides[i] != 'R')
                return ICX_EBADSIG;
            icx_merkle_node(r, r, path[i]);
        }
        fn >>= 1;
        sn >>= 1;
    }
    if (sn != 0 || memcmp(r, root, ICX_HASH_LEN) != 0)
        return ICX_EBADSIG;
    return ICX_OK;
}

/* RFC 6962 SUBPROOF(m, D[n], b), appended in the order the RFC lists it
 * (deepest first). */
static int subproof(unsigned char (*proof)[ICX_HASH_LEN], int *np,
                    const unsigned char (*leaves)[ICX_HASH_LEN], uint64_t n,
                    uint64_t m, int b)
{
    if (m == n) {
        if (b)
            return ICX_OK;
        if (*np >= ICX_CONSISTENCY_MAX)
            return ICX_EFULL;
        icx_merkle_root_of(proof[(*np)++], leaves, n);
        return ICX_OK;
    }
    uint64_t k = split_point(n);
    int rc;
    if (m <= k) {
        rc = subproof(proof, np, leaves, k, m, b);
        if (rc == ICX_OK && *np >= ICX_CONSISTENCY_MAX)
            rc = ICX_EFULL;
        if (rc == ICX_OK)
            icx_merkle_root_of(proof[(*np)++], leaves + k, n - k);
    } else {
        rc = subproof(proof, np, leaves + k, n - k, m - k, 0);
        if (rc == ICX_OK && *np >= ICX_CONSISTENCY_MAX)
            rc = ICX_EFULL;
        if (rc == ICX_OK)
            icx_merkle_root_of(proof[(*np)++], leaves, k);
    }
    return rc;
}

int icx_merkle_consistency(unsigned char (*proof)[ICX_HASH_LEN], int *nproof,
                           const unsigned char (*leaves)[ICX_HASH_LEN],
                           uint64_t n, uint64_t m)
{
    *nproof = 0;
    if (m == 0 || m > n)
        return ICX_EINVAL;
    return subproof(proof, nproof, leaves, n, m, 1);
}

int icx_merkle_check_consistency(uint64_t m,
                                 const unsigned char root_m[ICX_HASH_LEN],
                                 uint64_t n,
                                 const unsigned char root_n[ICX_HASH_LEN],
                                 const unsigned char (*proof)[ICX_HASH_LEN],
                                 int nproof)
{
    /* RFC 9162 2.1.4.2. */
    unsigned char path[ICX_CONSISTENCY_MAX + 1][ICX_HASH_LEN];
    unsigned char fr[ICX_HASH_LEN], sr[ICX_HASH_LEN];
    int np = 0;
    if (m == 0 || m > n || nproof < 0 || nproof > ICX_CONSISTENCY_MAX)
        return ICX_EINVAL;
    if (m == n)
        return nproof == 0 && memcmp(root_m, root_n, ICX_HASH_LEN) == 0
                   ? ICX_OK : ICX_EBADSIG;
    if (nproof == 0)
        return ICX_EBADSIG;
    if ((m & (m - 1)) == 0)
        memcpy(path[np++], root_m, ICX_HASH_LEN);
    for (int i = 0; i < nproof; i++)
        memcpy(path[np++], proof[i], ICX_HASH_LEN);
    uint64_t fn = m - 1, sn = n - 1;
    while (fn & 1) {
        fn >>= 1;
        sn >>= 1;
    }
    memcpy(fr, path[0], ICX_HASH_LEN);
    memcpy(sr, path[0], ICX_HASH_LEN);
    for (int i = 1; i < np; i++) {
        if (sn == 0)
            return ICX_EBADSIG;
        if ((fn & 1) || fn == sn) {
            icx_merkle_node(fr, path[i], fr);
            icx_merkle_node(sr, path[i], sr);
            if (!(fn & 1))
                while (fn != 0 && !(fn & 1)) {
                    fn >>= 1;
                    sn >>= 1;
                }
        } else {
            icx_merkle_node(sr, sr, path[i]);
        }
        fn >>= 1;
        sn >>= 1;
    }
    if (sn != 0 || memcmp(fr, root_m, ICX_HASH_LEN) != 0 ||
        memcmp(sr, root_n, ICX_HASH_LEN) != 0)
        return ICX_EBADSIG;
    return ICX_OK;
}

int icx_checkpoint_text(icx_buf *out, const icx_checkpoint *c)
{
    return icx_buf_printf(out, "icx-audit-checkpoint v1\ngateway %s\nsize %llu\n"
                          "root %s\ntime %s\n", c->gateway,
                          (unsigned long long)c->size, c->root, c->time);
}

struct icx_cpkey {
    EVP_PKEY *pkey;
};

int icx_cpkey_load(icx_cpkey **out, const char *key_path, icx_err *err)
{
    char *pem = NULL;
    size_t len = 0;
    *out = NULL;
    int rc = icx_keys_check_private_mode(key_path, err);
    if (rc < 0)
        return rc;
    rc = icx_file_read(&pem, &len, key_path, 256 * 1024, err);
    if (rc < 0)
        return rc;
    BIO *b = BIO_new_mem_buf(pem, (int)len);
    EVP_PKEY *k = b ? PEM_read_bio_PrivateKey(b, NULL, NULL, NULL) : NULL;
    BIO_free(b);
    OPENSSL_cleanse(pem, len);
    free(pem);
    if (k == NULL)
        return icx_err_set(err, ICX_EINVAL, "%s: cannot load the private key",
                           key_path);
    *out = calloc(1, sizeof **out);
    if (*out == NULL) {
        EVP_PKEY_free(k);
        return icx_err_set(err, ICX_ENOMEM, "out of memory");
    }
    (*out)->pkey = k;
    return ICX_OK;
}

void icx_cpkey_free(icx_cpkey **kp)
{
    if (kp == NULL || *kp == NULL)
        return;
    EVP_PKEY_free((*kp)->pkey);
    free(*kp);
    *kp = NULL;
}

int icx_checkpoint_sign_with(icx_checkpoint *c, const icx_cpkey *key,
                             icx_err *err)
{
    icx_buf text;
    icx_buf_init(&text, 4096);
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    unsigned char sig[1024];
    size_t siglen = sizeof sig;
    int rc = ICX_ECRYPTO;
    if (md != NULL && icx_checkpoint_text(&text, c) == ICX_OK &&
        EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, key->pkey) == 1 &&
        EVP_DigestSign(md, sig, &siglen, (unsigned char *)text.data,
                       text.len) == 1) {
        int n = EVP_EncodeBlock((unsigned char *)c->signature, sig, (int)siglen);
        rc = n > 0 && (size_t)n < sizeof c->signature ? ICX_OK : ICX_ECRYPTO;
    }
    if (rc < 0)
        icx_err_set(err, ICX_ECRYPTO, "cannot sign the audit checkpoint");
    EVP_MD_CTX_free(md);
    icx_buf_free(&text);
    return rc;
}

int icx_checkpoint_digest(unsigned char digest[32], const icx_checkpoint *c,
                          icx_err *err)
{
    icx_buf text;
    icx_buf_init(&text, 4096);
    unsigned int dlen = 0;
    int rc = icx_checkpoint_text(&text, c);
    if (rc == ICX_OK &&
        (EVP_Digest(text.data, text.len, digest, &dlen, EVP_sha256(), NULL) !=
             1 || dlen != 32))
        rc = ICX_ECRYPTO;
    icx_buf_free(&text);
    if (rc < 0)
        return icx_err_set(err, rc, "cannot digest the audit checkpoint");
    return ICX_OK;
}

int icx_checkpoint_set_signature(icx_checkpoint *c, const unsigned char *sig,
                                 size_t len, size_t ecdsa_field, icx_err *err)
{
    int rc = icx_sig_encode(c->signature, sizeof c->signature, sig, len,
                            ecdsa_field);
    if (rc < 0)
        return icx_err_set(err, rc, "cannot store the audit checkpoint's "
                           "signature");
    return ICX_OK;
}

int icx_sig_encode(char *b64, size_t n, const unsigned char *sig, size_t len,
                   size_t ecdsa_field)
{
    unsigned char *der = NULL;
    int derlen = 0, rc = ICX_ECRYPTO;
    if (ecdsa_field > 0) {
        ECDSA_SIG *es = len == 2 * ecdsa_field ? ECDSA_SIG_new() : NULL;
        BIGNUM *r = es ? BN_bin2bn(sig, (int)ecdsa_field, NULL) : NULL;
        BIGNUM *s = es ? BN_bin2bn(sig + ecdsa_field, (int)ecdsa_field, NULL)
                       : NULL;
        if (r != NULL && s != NULL && ECDSA_SIG_set0(es, r, s) == 1) {
            r = s = NULL; /* es's now */
            derlen = i2d_ECDSA_SIG(es, &der);
        }
        BN_free(r);
        BN_free(s);
        ECDSA_SIG_free(es);
        if (derlen <= 0)
            goto out;
        sig = der;
        len = (size_t)derlen;
    }
    if (len == 0 || 4 * ((len + 2) / 3) >= n)
        goto out;
    EVP_EncodeBlock((unsigned char *)b64, sig, (int)len);
    rc = ICX_OK;
out:
    OPENSSL_free(der);
    return rc;
}

int icx_checkpoint_sign(icx_checkpoint *c, const char *key_path, icx_err *err)
{
    icx_cpkey *k = NULL;
    int rc = icx_cpkey_load(&k, key_path, err);
    if (rc == ICX_OK)
        rc = icx_checkpoint_sign_with(c, k, err);
    icx_cpkey_free(&k);
    return rc;
}

int icx_sig_verify_bytes(const char *cert_pem, size_t cert_len,
                         const void *data, size_t len, const char *b64,
                         icx_err *err)
{
    BIO *b = BIO_new_mem_buf(cert_pem, (int)cert_len);
    X509 *x = b ? PEM_read_bio_X509(b, NULL, NULL, NULL) : NULL;
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    unsigned char sig[1024];
    int rc = ICX_EBADSIG;
    size_t slen = strlen(b64);
    int n = slen < 1360 ? EVP_DecodeBlock(sig, (const unsigned char *)b64,
                                          (int)slen)
                        : -1;
    if (n > 0)
        while (slen > 0 && b64[slen - 1] == '=') {
            n--;
            slen--;
        }
    if (x != NULL && md != NULL && n > 0 &&
        EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL,
                             X509_get0_pubkey(x)) == 1 &&
        EVP_DigestVerify(md, sig, (size_t)n, data, len) == 1)
        rc = ICX_OK;
    if (x == NULL)
        rc = icx_err_set(err, ICX_EINVAL, "the certificate cannot be read");
    else if (rc < 0)
        icx_err_set(err, ICX_EBADSIG, "signature does not verify");
    EVP_MD_CTX_free(md);
    X509_free(x);
    BIO_free(b);
    return rc;
}

int icx_checkpoint_verify(const icx_checkpoint *c, const char *cert_pem,
                          size_t cert_len, icx_err *err)
{
    /* cert_pem may hold several certificates (keys.audit_certificates:
     * the gateway's keys before and after a rollover); the checkpoint
     * verifies when one of them verifies it. */
    BIO *b = BIO_new_mem_buf(cert_pem, (int)cert_len);
    X509 *x = NULL;
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    unsigned char sig[1024];
    icx_buf text;
    int rc = ICX_EBADSIG, certs = 0;
    icx_buf_init(&text, 4096);
    size_t slen = strlen(c->signature);
    int n = slen < 1360 ? EVP_DecodeBlock(sig, (const unsigned char *)c->signature,
                                          (int)slen)
                        : -1;
    if (n > 0)
        while (slen > 0 && c->signature[slen - 1] == '=') {
            n--;
            slen--;
        }
    int have_text = icx_checkpoint_text(&text, c) == ICX_OK;
    while (rc != ICX_OK && b != NULL && certs < 16 &&
           (x = PEM_read_bio_X509(b, NULL, NULL, NULL)) != NULL) {
        certs++;
        if (md != NULL && n > 0 && have_text &&
            EVP_MD_CTX_reset(md) == 1 &&
            EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL,
                                 X509_get0_pubkey(x)) == 1 &&
            EVP_DigestVerify(md, sig, (size_t)n, (unsigned char *)text.data,
                             text.len) == 1)
            rc = ICX_OK;
        X509_free(x);
        x = NULL;
    }
    ERR_clear_error();
    if (certs == 0)
        rc = icx_err_set(err, ICX_EINVAL, "the gateway certificate cannot be "
                         "read");
    else if (rc < 0)
        icx_err_set(err, ICX_EBADSIG, "checkpoint at size %llu: signature "
                    "does not verify with the gateway certificate%s",
                    (unsigned long long)c->size,
                    certs > 1 ? "s" : "");
    icx_buf_free(&text);
    EVP_MD_CTX_free(md);
    BIO_free(b);
    return rc;
}

const char *icx_damage_name(int kind)
{
    static const char *const names[] = {"none", "edited", "deleted",
                                        "reordered", "inserted", "truncated",
                                        "checkpoint"};
    return kind >= 0 && kind <= ICX_DAMAGE_CHECKPOINT ? names[kind] : "?";
}

struct vrec {
    int64_t seq;
    unsigned char stored[ICX_HASH_LEN];
    unsigned char prev[ICX_HASH_LEN];
    int content_ok;
};

struct icx_audit_verifier {
    char *cert;
    size_t cert_len;
    struct vrec *v;
    size_t n, cap;
    icx_checkpoint *cp;
    size_t ncp, capcp;
    int64_t first_seq;
    unsigned char first_prev[ICX_HASH_LEN];
    int resumed;
    int bad_input;
    char bad_msg[256];
    icx_buf line;
};

int icx_audit_verifier_new(icx_audit_verifier **out, const char *cert_pem,
                           size_t cert_len, icx_err *err)
{
    icx_audit_verifier *v = calloc(1, sizeof *v);
    if (v == NULL)
        return icx_err_set(err, ICX_ENOMEM, "out of memory");
    if (cert_pem != NULL) {
        v->cert = malloc(cert_len + 1);
        if (v->cert == NULL) {
            free(v);
            return icx_err_set(err, ICX_ENOMEM, "out of memory");
        }
        memcpy(v->cert, cert_pem, cert_len);
        v->cert[cert_len] = '\0';
        v->cert_len = cert_len;
    }
    v->first_seq = 1;
    icx_buf_init(&v->line, 4096);
    *out = v;
    return ICX_OK;
}

void icx_audit_verifier_free(icx_audit_verifier **vp)
{
    if (vp == NULL || *vp == NULL)
        return;
    free((*vp)->cert);
    free((*vp)->v);
    free((*vp)->cp);
    icx_buf_free(&(*vp)->line);
    free(*vp);
    *vp = NULL;
}

void icx_audit_verifier_resume(icx_audit_verifier *v, int64_t first_seq,
                               const char *prev_hex)
{
    v->first_seq = first_seq;
    v->resumed = icx_unhex(v->first_prev, prev_hex, ICX_HASH_LEN) == 0;
}

int icx_audit_verifier_record(icx_audit_verifier *v, const icx_audit_rec *r)
{
    if (v->n == v->cap) {
        size_t cap = v->cap ? v->cap * 2 : 4096;
        struct vrec *p = realloc(v->v, cap * sizeof *p);
        if (p == NULL)
            return ICX_ENOMEM;
        v->v = p;
        v->cap = cap;
    }
    struct vrec *x = &v->v[v->n];
    x->seq = r->seq;
    if (icx_unhex(x->stored, r->hash, ICX_HASH_LEN) < 0 ||
        icx_unhex(x->prev, r->prev, ICX_HASH_LEN) < 0) {
        if (!v->bad_input)
            snprintf(v->bad_msg, sizeof v->bad_msg, "audit record %lld: hash "
                     "fields are not 64 hex digits", (long long)r->seq);
        v->bad_input = 1;
        memset(x->stored, 0, ICX_HASH_LEN);
        memset(x->prev, 0, ICX_HASH_LEN);
    }
    icx_buf_reset(&v->line);
    unsigned char leaf[ICX_HASH_LEN];
    if (icx_audit_line(&v->line, r) < 0)
        return ICX_ENOMEM;
    icx_audit_leaf(leaf, v->line.data, v->line.len);
    x->content_ok = memcmp(leaf, x->stored, ICX_HASH_LEN) == 0;
    v->n++;
    return ICX_OK;
}

int icx_audit_verifier_checkpoint(icx_audit_verifier *v, const icx_checkpoint *c)
{
    if (v->ncp == v->capcp) {
        size_t cap = v->capcp ? v->capcp * 2 : 64;
        icx_checkpoint *p = realloc(v->cp, cap * sizeof *p);
        if (p == NULL)
            return ICX_ENOMEM;
        v->cp = p;
        v->capcp = cap;
    }
    v->cp[v->ncp++] = *c;
    return ICX_OK;
}

static int damage(icx_err *err, int *kind_out, int64_t *seq_out, int kind,
                  int64_t seq, const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));

static int damage(icx_err *err, int *kind_out, int64_t *seq_out, int kind,
                  int64_t seq, const char *fmt, ...)
{
    char what[200];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    *kind_out = kind;
    *seq_out = seq;
    return icx_err_set(err, ICX_EBADSIG, "audit record %lld: %s: %s",
                       (long long)seq, icx_damage_name(kind), what);
}

int icx_audit_verifier_finish(icx_audit_verifier *v, uint64_t *records,
                              uint64_t *checkpoints, int *kind,
                              int64_t *bad_seq, icx_err *err)
{
    static const unsigned char zero[ICX_HASH_LEN];
    *records = v->n;
    *checkpoints = 0;
    *kind = ICX_DAMAGE_NONE;
    *bad_seq = 0;
    if (v->bad_input) {
        *kind = ICX_DAMAGE_EDITED;
        return icx_err_set(err, ICX_EBADSIG, "%s", v->bad_msg);
    }
    for (size_t i = 0; i < v->n; i++) {
        const struct vrec *x = &v->v[i];
        const unsigned char *want_prev =
            i > 0 ? v->v[i - 1].stored : v->resumed ? v->first_prev : zero;
        int64_t want_seq = i > 0 ? v->v[i - 1].seq + 1 : v->first_seq;
        if (memcmp(x->prev, want_prev, ICX_HASH_LEN) != 0) {
            for (size_t j = i + 1; j < v->n; j++)
                if (memcmp(x->prev, v->v[j].stored, ICX_HASH_LEN) == 0)
                    return damage(err, kind, bad_seq, ICX_DAMAGE_REORDERED,
                                  x->seq, "it links to record %lld, which "
                                  "comes after it", (long long)v->v[j].seq);
            if (i >= 1 && (i >= 2 ? memcmp(x->prev, v->v[i - 2].stored,
                                           ICX_HASH_LEN) == 0
                                  : memcmp(x->prev, v->resumed ? v->first_prev
                                                               : zero,
                                           ICX_HASH_LEN) == 0))
                return damage(err, kind, bad_seq, ICX_DAMAGE_INSERTED,
                              v->v[i - 1].seq, "it is not linked from record "
                              "%lld, which links past it", (long long)x->seq);
            if (x->seq == want_seq && i > 0)
                return damage(err, kind, bad_seq, ICX_DAMAGE_EDITED,
                              v->v[i - 1].seq, "its hash was rewritten: record "
                              "%lld no longer links to it", (long long)x->seq);
            return damage(err, kind, bad_seq, ICX_DAMAGE_DELETED, want_seq,
                          "missing: record %lld does not link to record "
                          "%lld", (long long)x->seq, (long long)want_seq - 1);
        }
        if (!x->content_ok)
            return damage(err, kind, bad_seq, ICX_DAMAGE_EDITED, x->seq,
                          "its content does not match its hash");
        if (x->seq != want_seq)
            return damage(err, kind, bad_seq,
                          x->seq < want_seq ? ICX_DAMAGE_INSERTED
                                            : ICX_DAMAGE_DELETED,
                          x->seq < want_seq ? x->seq : want_seq,
                          "sequence jumps from %lld to %lld",
                          (long long)want_seq - 1, (long long)x->seq);
    }
    /* Checkpoints: roots recomputed from the stored leaves. */
    icx_merkle m;
    icx_merkle_init(&m);
    size_t next = 0;
    uint64_t last_size = 0;
    int64_t base = v->n > 0 ? v->v[0].seq - 1 : v->first_seq - 1;
    for (size_t c = 0; c < v->ncp; c++) {
        const icx_checkpoint *cp = &v->cp[c];
        if (cp->size < last_size)
            return damage(err, kind, bad_seq, ICX_DAMAGE_CHECKPOINT,
                          (int64_t)cp->size, "checkpoint of size %llu follows "
                          "one of size %llu", (unsigned long long)cp->size,
                          (unsigned long long)last_size);
        if (v->cert != NULL &&
            icx_checkpoint_verify(cp, v->cert, v->cert_len, err) < 0) {
            *kind = ICX_DAMAGE_CHECKPOINT;
            *bad_seq = (int64_t)cp->size;
            return ICX_EBADSIG;
        }
        if ((int64_t)cp->size > base + (int64_t)v->n)
            return damage(err, kind, bad_seq, ICX_DAMAGE_TRUNCATED,
                          base + (int64_t)v->n + 1, "missing: the log ends at "
                          "record %lld but a signed checkpoint covers %llu "
                          "records", (long long)(base + (int64_t)v->n),
                          (unsigned long long)cp->size);
        if (base != 0) {
            last_size = cp->size; /* a later segment alone: no root check */
            (*checkpoints)++;
            continue;
        }
        while (next < cp->size)
            icx_merkle_append(&m, v->v[next++].stored);
        unsigned char root[ICX_HASH_LEN], want[ICX_HASH_LEN];
        icx_merkle_root(&m, root);
        if (icx_unhex(want, cp->root, ICX_HASH_LEN) < 0 ||
            memcmp(root, want, ICX_HASH_LEN) != 0)
            return damage(err, kind, bad_seq, ICX_DAMAGE_EDITED,
                          (int64_t)cp->size, "records up to %llu were "
                          "rewritten: the signed checkpoint of that size has "
                          "another root", (unsigned long long)cp->size);
        last_size = cp->size;
        (*checkpoints)++;
    }
    return ICX_OK;
}
