/*
 * keys.c - agency key generation and checks (see keys.h).
 *
 * Uses OpenSSL 3 for the signing key and certificate and libzmq for the
 * CURVE pair.  Private files are created with O_EXCL and mode 0600 so no
 * other user can read them even for a moment; an existing key is never
 * overwritten.  Errors name the file.  Nothing secret is logged.
 */
#include "keys.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <zmq.h>

#include "util.h"

int icx_keys_check_strength(const EVP_PKEY *pkey, const char *what,
                            icx_err *err)
{
    char group[64] = "";
    size_t glen = 0;
    if (pkey == NULL)
        return icx_err_set(err, ICX_EPOLICY, "%s: no public key; %s", what,
                           ICX_KEYS_RULE);
    if (EVP_PKEY_is_a(pkey, "RSA")) {
        int bits = EVP_PKEY_get_bits(pkey);
        if (bits >= 2048)
            return ICX_OK;
        return icx_err_set(err, ICX_EPOLICY, "%s: RSA %d bits; %s", what, bits,
                           ICX_KEYS_RULE);
    }
    if (EVP_PKEY_is_a(pkey, "EC")) {
        /* A named curve only: explicit parameters could describe any. */
        if (EVP_PKEY_get_utf8_string_param(pkey, OSSL_PKEY_PARAM_GROUP_NAME,
                                           group, sizeof group, &glen) != 1)
            return icx_err_set(err, ICX_EPOLICY, "%s: EC key with explicit "
                               "curve parameters; %s", what, ICX_KEYS_RULE);
        int nid = OBJ_txt2nid(group);
        if (nid == NID_X9_62_prime256v1 || nid == NID_secp384r1 ||
            nid == NID_secp521r1)
            return ICX_OK;
        const char *nist = nid != NID_undef ? EC_curve_nid2nist(nid) : NULL;
        return icx_err_set(err, ICX_EPOLICY, "%s: EC on curve %s%s%s%s; %s",
                           what, nist ? nist : group, nist ? " (" : "",
                           nist ? group : "", nist ? ")" : "", ICX_KEYS_RULE);
    }
    const char *type = EVP_PKEY_get0_type_name(pkey);
    int bits = EVP_PKEY_get_bits(pkey);
    if (bits > 0)
        return icx_err_set(err, ICX_EPOLICY, "%s: %s %d bits; %s", what,
                           type ? type : "unknown key type", bits,
                           ICX_KEYS_RULE);
    return icx_err_set(err, ICX_EPOLICY, "%s: %s key; %s", what,
                       type ? type : "unknown", ICX_KEYS_RULE);
}

int icx_keys_alg_from_name(const char *name)
{
    if (strcmp(name, "rsa2048") == 0)
        return ICX_ALG_RSA2048;
    if (strcmp(name, "ecdsa-p256") == 0)
        return ICX_ALG_ECDSA_P256;
    return -1;
}

int icx_keys_check_private_mode(const char *path, icx_err *err)
{
    struct stat st;
    if (stat(path, &st) < 0)
        return icx_err_set(err, errno == ENOENT ? ICX_ENOTFOUND : ICX_EIO,
                           "%s: %s", path, strerror(errno));
    if (!S_ISREG(st.st_mode))
        return icx_err_set(err, ICX_EPERM, "%s: not a regular file", path);
    if ((st.st_mode & 077) != 0)
        return icx_err_set(err, ICX_EPERM,
                           "%s: private key is accessible by group or others "
                           "(mode %04o); refusing to use it. Fix: chmod 600 %s",
                           path, (unsigned)(st.st_mode & 07777), path);
    return ICX_OK;
}

/* Opens a new private file (O_EXCL, 0600) as a stdio stream. */
static FILE *open_private(const char *path, icx_err *err)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) {
        icx_err_set(err, errno == EEXIST ? ICX_EEXIST : ICX_EIO,
                    "%s: %s%s", path, strerror(errno),
                    errno == EEXIST ? " (refusing to overwrite a key)" : "");
        return NULL;
    }
    FILE *f = fdopen(fd, "w");
    if (f == NULL) {
        icx_err_set(err, ICX_EIO, "%s: %s", path, strerror(errno));
        close(fd);
    }
    return f;
}

static int close_synced(FILE *f, const char *path, icx_err *err)
{
    int bad = fflush(f) != 0 || fsync(fileno(f)) != 0;
    bad |= fclose(f) != 0;
    return bad ? icx_err_set(err, ICX_EIO, "%s: write failed", path) : ICX_OK;
}

/* The certificate of pkey's public half, not yet signed. */
static X509 *cert_body(const EVP_PKEY *pkey, const char *agency, int days,
                       icx_err *err)
{
    X509 *x = X509_new();
    X509_NAME *name = NULL;
    X509V3_CTX v3;
    X509_EXTENSION *ext = NULL;
    unsigned char serial[16];
    BIGNUM *bn = NULL;
    if (x == NULL || RAND_bytes(serial, sizeof serial) != 1)
        goto fail;
    serial[0] &= 0x7f;
    bn = BN_bin2bn(serial, sizeof serial, NULL);
    if (bn == NULL || BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)) == NULL)
        goto fail;
    if (X509_set_version(x, 2) != 1 ||
        X509_gmtime_adj(X509_getm_notBefore(x), -300) == NULL ||
        X509_gmtime_adj(X509_getm_notAfter(x), (long)days * 86400L) == NULL ||
        X509_set_pubkey(x, (EVP_PKEY *)pkey) != 1)
        goto fail;
    name = X509_get_subject_name(x);
    if (X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC,
                                   (const unsigned char *)"ICX", -1, -1, 0) != 1 ||
        X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                                   (const unsigned char *)agency, -1, -1, 0) != 1 ||
        X509_set_issuer_name(x, name) != 1)
        goto fail;
    X509V3_set_ctx(&v3, x, x, NULL, NULL, 0);
    static const struct { int nid; const char *val; } exts[] = {
        {NID_basic_constraints, "critical,CA:FALSE"},
        {NID_key_usage, "critical,digitalSignature,nonRepudiation"},
        {NID_subject_key_identifier, "hash"},
    };
    for (size_t i = 0; i < sizeof exts / sizeof exts[0]; i++) {
        ext = X509V3_EXT_conf_nid(NULL, &v3, exts[i].nid, exts[i].val);
        if (ext == NULL || X509_add_ext(x, ext, -1) != 1)
            goto fail;
        X509_EXTENSION_free(ext);
        ext = NULL;
    }
    BN_free(bn);
    return x;
fail:
    X509_EXTENSION_free(ext);
    BN_free(bn);
    X509_free(x);
    icx_err_set(err, ICX_ECRYPTO, "cannot create certificate for %s", agency);
    return NULL;
}

static X509 *make_cert(EVP_PKEY *pkey, const char *agency, int days,
                       icx_err *err)
{
    X509 *x = cert_body(pkey, agency, days, err);
    if (x != NULL && X509_sign(x, pkey, EVP_sha256()) <= 0) {
        X509_free(x);
        x = NULL;
        icx_err_set(err, ICX_ECRYPTO, "cannot sign certificate for %s", agency);
    }
    return x;
}

/* Signs x with a key held elsewhere: the TBS part's SHA-256 goes to sign,
 * the signature (ECDSA r||s made DER) goes into the certificate, and the
 * result is verified with the public key before it is used. */
static int sign_cert_external(X509 *x, const EVP_PKEY *pub, int ecdsa,
                              size_t field, icx_keys_sign_fn sign, void *ctx,
                              icx_err *err)
{
    int rc = ICX_OK;
    unsigned char *tbs = NULL, dg[32], sig[1024], *der = NULL;
    size_t siglen = sizeof sig;
    ECDSA_SIG *es = NULL;
    int nid = ecdsa ? NID_ecdsa_with_SHA256 : NID_sha256WithRSAEncryption;
    /* The signature algorithm sits twice: inside the signed part and
     * beside the signature.  X509_get0_* lend const pointers to the
     * certificate's own fields, which are set here before encoding. */
    X509_ALGOR *in = (X509_ALGOR *)X509_get0_tbs_sigalg(x);
    const X509_ALGOR *outc = NULL;
    const ASN1_BIT_STRING *sigc = NULL;
    X509_get0_signature(&sigc, &outc, x);
    X509_ALGOR *outa = (X509_ALGOR *)outc;
    ASN1_BIT_STRING *sigbits = (ASN1_BIT_STRING *)sigc;
    int ptype = ecdsa ? V_ASN1_UNDEF : V_ASN1_NULL;
    if (X509_ALGOR_set0(in, OBJ_nid2obj(nid), ptype, NULL) != 1 ||
        X509_ALGOR_set0(outa, OBJ_nid2obj(nid), ptype, NULL) != 1) {
        rc = icx_err_set(err, ICX_ECRYPTO, "cannot set certificate algorithm");
        goto out;
    }
    int n = i2d_re_X509_tbs(x, &tbs);
    if (n <= 0 || EVP_Digest(tbs, (size_t)n, dg, NULL, EVP_sha256(), NULL) != 1) {
        rc = icx_err_set(err, ICX_ECRYPTO, "cannot encode certificate");
        goto out;
    }
    rc = sign(ctx, dg, sizeof dg, sig, &siglen, err);
    if (rc < 0)
        goto out;
    const unsigned char *val = sig;
    int vlen = (int)siglen;
    if (ecdsa) {
        BIGNUM *r = BN_bin2bn(sig, (int)field, NULL);
        BIGNUM *s = BN_bin2bn(sig + field, (int)field, NULL);
        es = ECDSA_SIG_new();
        if (siglen != 2 * field || r == NULL || s == NULL || es == NULL ||
            ECDSA_SIG_set0(es, r, s) != 1) {
            BN_free(r);
            BN_free(s);
            rc = icx_err_set(err, ICX_ECRYPTO, "bad ECDSA signature from the "
                             "key");
            goto out;
        }
        vlen = i2d_ECDSA_SIG(es, &der);
        if (vlen <= 0) {
            rc = icx_err_set(err, ICX_ECRYPTO, "cannot encode ECDSA signature");
            goto out;
        }
        val = der;
    }
    if (ASN1_BIT_STRING_set(sigbits, (unsigned char *)val, vlen) != 1) {
        rc = icx_err_set(err, ICX_ENOMEM, "out of memory");
        goto out;
    }
    sigbits->flags &= ~(ASN1_STRING_FLAG_BITS_LEFT | 0x07);
    sigbits->flags |= ASN1_STRING_FLAG_BITS_LEFT;
    if (X509_verify(x, (EVP_PKEY *)pub) != 1)
        rc = icx_err_set(err, ICX_ECRYPTO, "the certificate signed by the key "
                         "does not verify with its public key");
out:
    ECDSA_SIG_free(es);
    OPENSSL_free(der);
    OPENSSL_free(tbs);
    return rc;
}

/* Writes DIR/curve.key and DIR/curve.pub. */
static int write_curve(const char *agency, const char *dir, icx_err *err)
{
    char path[4096], pub[41], sec[41];
    FILE *f = NULL;
    int rc;
    if (zmq_curve_keypair(pub, sec) != 0)
        return icx_err_set(err, ICX_ECRYPTO, "CURVE key generation failed: %s",
                           zmq_strerror(zmq_errno()));
    snprintf(path, sizeof path, "%s/curve.key", dir);
    f = open_private(path, err);
    if (f == NULL) {
        rc = err ? err->rc : ICX_EIO;
        goto out;
    }
    fprintf(f, "# CURVE transport key of %s: keep secret\npublic: %s\n"
               "secret: %s\n", agency, pub, sec);
    rc = close_synced(f, path, err);
    if (rc < 0)
        goto out;
    snprintf(path, sizeof path, "%s/curve.pub", dir);
    {
        char line[128];
        int n = snprintf(line, sizeof line, "%s\n", pub);
        rc = icx_file_write_atomic(path, line, (size_t)n, 0644, err);
    }
out:
    OPENSSL_cleanse(sec, sizeof sec);
    return rc;
}

static int write_cert(const char *dir, X509 *cert, icx_err *err)
{
    char path[4096];
    BIO *mem = BIO_new(BIO_s_mem());
    char *pem = NULL;
    snprintf(path, sizeof path, "%s/cert.pem", dir);
    if (mem == NULL || PEM_write_bio_X509(mem, cert) != 1) {
        BIO_free(mem);
        return icx_err_set(err, ICX_ECRYPTO, "cannot encode certificate");
    }
    long n = BIO_get_mem_data(mem, &pem);
    int rc = icx_file_write_atomic(path, pem, (size_t)n, 0644, err);
    BIO_free(mem);
    return rc;
}

int icx_keys_generate_external(const char *agency, const char *dir,
                               const EVP_PKEY *pub, int ecdsa, size_t field,
                               icx_keys_sign_fn sign, void *ctx, int days,
                               icx_err *err)
{
    char path[4096];
    X509 *cert = NULL;
    int rc;
    if (!icx_agency_id_valid(agency))
        return icx_err_set(err, ICX_EINVAL,
                           "\"%s\" is not an agency id (CC-NAME, e.g. JP-NPA)",
                           agency);
    rc = icx_keys_check_strength(pub, "the key", err);
    if (rc < 0)
        return rc;
    rc = icx_mkdir_p(dir, 0700, err);
    if (rc < 0)
        return rc;
    static const char *const mine[] = {"key.pem", "cert.pem", "curve.key"};
    for (size_t i = 0; i < sizeof mine / sizeof mine[0]; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, mine[i]);
        if (access(path, F_OK) == 0)
            return icx_err_set(err, ICX_EEXIST, "%s: exists; refusing to "
                               "overwrite a key or its certificate", path);
    }
    cert = cert_body(pub, agency, days, err);
    if (cert == NULL)
        return ICX_ECRYPTO;
    rc = sign_cert_external(cert, pub, ecdsa, field, sign, ctx, err);
    if (rc == ICX_OK)
        rc = write_cert(dir, cert, err);
    if (rc == ICX_OK)
        rc = write_curve(agency, dir, err);
    X509_free(cert);
    return rc;
}

int icx_keys_generate(const char *agency, const char *dir, int alg, int days,
                      icx_err *err)
{
    int rc = ICX_OK;
    EVP_PKEY *pkey = NULL;
    X509 *cert = NULL;
    FILE *f = NULL;
    char path[4096];

    if (!icx_agency_id_valid(agency))
        return icx_err_set(err, ICX_EINVAL,
                           "\"%s\" is not an agency id (CC-NAME, e.g. JP-NPA)",
                           agency);
    rc = icx_mkdir_p(dir, 0700, err);
    if (rc < 0)
        return rc;
    snprintf(path, sizeof path, "%s/key.pem", dir);
    if (access(path, F_OK) == 0)
        return icx_err_set(err, ICX_EEXIST, "%s: exists; refusing to "
                           "overwrite a key", path);

    pkey = alg == ICX_ALG_ECDSA_P256
               ? EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256")
               : EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
    if (pkey == NULL) {
        rc = icx_err_set(err, ICX_ECRYPTO, "key generation failed");
        goto out;
    }
    rc = icx_keys_check_strength(pkey, path, err);
    if (rc < 0)
        goto out;
    cert = make_cert(pkey, agency, days, err);
    if (cert == NULL) {
        rc = ICX_ECRYPTO;
        goto out;
    }

    f = open_private(path, err);
    if (f == NULL) {
        rc = err ? err->rc : ICX_EIO;
        goto out;
    }
    if (PEM_write_PrivateKey(f, pkey, NULL, NULL, 0, NULL, NULL) != 1) {
        fclose(f);
        f = NULL;
        rc = icx_err_set(err, ICX_ECRYPTO, "%s: cannot write key", path);
        goto out;
    }
    rc = close_synced(f, path, err);
    f = NULL;
    if (rc < 0)
        goto out;

    rc = write_cert(dir, cert, err);
    if (rc == ICX_OK)
        rc = write_curve(agency, dir, err);
out:
    X509_free(cert);
    EVP_PKEY_free(pkey);
    return rc;
}

static X509 *read_cert(const char *path, icx_err *err)
{
    char *data = NULL;
    size_t len = 0;
    if (icx_file_read(&data, &len, path, 256 * 1024, err) < 0)
        return NULL;
    BIO *b = BIO_new_mem_buf(data, (int)len);
    X509 *x = b ? PEM_read_bio_X509(b, NULL, NULL, NULL) : NULL;
    BIO_free(b);
    free(data);
    if (x == NULL)
        icx_err_set(err, ICX_EINVAL, "%s: not a PEM X.509 certificate", path);
    return x;
}

int icx_keys_check_cert(const char *path, icx_err *err)
{
    X509 *x = read_cert(path, err);
    if (x == NULL)
        return err ? err->rc : ICX_EINVAL;
    int rc = icx_keys_check_strength(X509_get0_pubkey(x), path, err);
    X509_free(x);
    return rc;
}

int icx_keys_cert_fingerprint(char *out, const char *cert_path, icx_err *err)
{
    X509 *x = read_cert(cert_path, err);
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    if (x == NULL)
        return err ? err->rc : ICX_EINVAL;
    int ok = X509_digest(x, EVP_sha256(), md, &n) == 1;
    X509_free(x);
    if (!ok)
        return icx_err_set(err, ICX_ECRYPTO, "%s: cannot digest", cert_path);
    icx_hex(out, md, n);
    return ICX_OK;
}

int icx_keys_cert_subject(char *out, size_t outlen, const char *cert_path,
                          icx_err *err)
{
    X509 *x = read_cert(cert_path, err);
    if (x == NULL)
        return err ? err->rc : ICX_EINVAL;
    int n = X509_NAME_get_text_by_NID(X509_get_subject_name(x), NID_commonName,
                                      out, (int)outlen);
    X509_free(x);
    if (n < 0)
        return icx_err_set(err, ICX_EINVAL, "%s: certificate has no CN",
                           cert_path);
    return ICX_OK;
}

int icx_keys_cert_alg(char *out, size_t outlen, const char *cert_path,
                      icx_err *err)
{
    X509 *x = read_cert(cert_path, err);
    if (x == NULL)
        return err ? err->rc : ICX_EINVAL;
    EVP_PKEY *k = X509_get0_pubkey(x);
    if (k != NULL && EVP_PKEY_is_a(k, "RSA"))
        snprintf(out, outlen, "rsa%d", EVP_PKEY_get_bits(k));
    else if (k != NULL && EVP_PKEY_is_a(k, "EC"))
        snprintf(out, outlen, "ecdsa-p%d", EVP_PKEY_get_bits(k));
    else
        snprintf(out, outlen, "unknown");
    X509_free(x);
    return ICX_OK;
}

int icx_keys_z85_valid(const char *s)
{
    static const char alphabet[] =
        "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
        ".-:+=^!/*?&<>()[]{}@%$#";
    if (strlen(s) != ICX_Z85_KEY_LEN)
        return 0;
    for (const char *p = s; *p; p++)
        if (strchr(alphabet, *p) == NULL)
            return 0;
    return 1;
}

int icx_keys_load_curve(char pub[ICX_Z85_KEY_LEN + 1],
                        char sec[ICX_Z85_KEY_LEN + 1], const char *path,
                        icx_err *err)
{
    char *data = NULL;
    size_t len = 0;
    int rc = icx_keys_check_private_mode(path, err);
    if (rc < 0)
        return rc;
    rc = icx_file_read(&data, &len, path, 4096, err);
    if (rc < 0)
        return rc;
    pub[0] = sec[0] = '\0';
    char *save = NULL;
    for (char *line = strtok_r(data, "\n", &save); line != NULL;
         line = strtok_r(NULL, "\n", &save)) {
        if (strncmp(line, "public: ", 8) == 0 && strlen(line + 8) == 40)
            memcpy(pub, line + 8, 41);
        else if (strncmp(line, "secret: ", 8) == 0 && strlen(line + 8) == 40)
            memcpy(sec, line + 8, 41);
    }
    OPENSSL_cleanse(data, len);
    free(data);
    if (!icx_keys_z85_valid(pub) || !icx_keys_z85_valid(sec)) {
        OPENSSL_cleanse(sec, ICX_Z85_KEY_LEN + 1);
        return icx_err_set(err, ICX_EINVAL, "%s: expected \"public: Z85\" and "
                           "\"secret: Z85\" lines of 40 characters", path);
    }
    return ICX_OK;
}
