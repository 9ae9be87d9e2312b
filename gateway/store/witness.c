/*
 * witness.c - the witness document, its judgement and co-signatures (see
 * witness.h).  Knows no SQL and no transport: the store keeps what a
 * witness saw (store_witness.c), the CLI moves the documents.
 *
 * The parser reads outside input: it is bounded (ICX_WITNESS_DOC_MAX
 * bytes, ICX_CONSISTENCY_MAX proof lines, each field's length) before it
 * does any work, and names the line it refuses.
 * Ownership: caller structs.  Threads: reentrant.
 */
#include "witness.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "util.h"

static const char *const verdict_names[] = {
    "first", "same", "consistent", "fork", "rollback", "unproven", "badsig",
    "stale"};

const char *icx_witness_verdict_name(int v)
{
    if (v < 0 || v > ICX_WITNESS_STALE)
        return "unknown";
    return verdict_names[v];
}

int icx_witness_verdict_alarming(int v)
{
    return v == ICX_WITNESS_FORK || v == ICX_WITNESS_ROLLBACK ||
           v == ICX_WITNESS_BADSIG;
}

int icx_witness_doc_write(icx_buf *out, const icx_witness_doc *d)
{
    int rc = icx_buf_printf(out, "icx-witness-checkpoint v1\ngateway %s\n"
                            "size %llu\nroot %s\ntime %s\nsignature %s\n"
                            "from %llu\n", d->cp.gateway,
                            (unsigned long long)d->cp.size, d->cp.root,
                            d->cp.time, d->cp.signature,
                            (unsigned long long)d->from);
    for (int i = 0; rc == ICX_OK && i < d->nproof; i++) {
        char hex[65];
        icx_hex(hex, d->proof[i], ICX_HASH_LEN);
        rc = icx_buf_printf(out, "proof %s\n", hex);
    }
    return rc;
}

static int is_hex64(const char *s)
{
    if (strlen(s) != 64)
        return 0;
    for (const char *p = s; *p; p++)
        if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f')))
            return 0;
    return 1;
}

static int parse_u64(uint64_t *out, const char *s)
{
    char *end = NULL;
    if (*s < '0' || *s > '9' || strlen(s) > 19)
        return -1;
    *out = strtoull(s, &end, 10);
    return *end == '\0' ? 0 : -1;
}

int icx_witness_doc_parse(icx_witness_doc *d, const char *text, size_t len,
                          icx_err *err)
{
    static const char *const keys[] = {"gateway", "size", "root", "time",
                                       "signature", "from"};
    char line[1600];
    int lineno = 0, seen = 0;
    size_t off = 0;
    memset(d, 0, sizeof *d);
    if (len > ICX_WITNESS_DOC_MAX)
        return icx_err_set(err, ICX_EINVAL, "witness document of %zu bytes "
                           "(at most %d)", len, ICX_WITNESS_DOC_MAX);
    while (off < len) {
        const char *nl = memchr(text + off, '\n', len - off);
        size_t n = nl ? (size_t)(nl - (text + off)) : len - off;
        lineno++;
        if (n >= sizeof line)
            return icx_err_set(err, ICX_EINVAL, "witness document line %d: "
                               "too long", lineno);
        memcpy(line, text + off, n);
        line[n] = '\0';
        off += n + (nl ? 1 : 0);
        if (lineno == 1) {
            if (strcmp(line, "icx-witness-checkpoint v1") != 0)
                return icx_err_set(err, ICX_EINVAL, "witness document line "
                                   "1: not icx-witness-checkpoint v1");
            continue;
        }
        char *sp = strchr(line, ' ');
        if (sp == NULL)
            return icx_err_set(err, ICX_EINVAL, "witness document line %d: "
                               "not \"key value\"", lineno);
        *sp = '\0';
        const char *v = sp + 1;
        int bad = 0, k;
        if (strcmp(line, "proof") == 0) {
            if (d->nproof >= ICX_CONSISTENCY_MAX || !is_hex64(v) ||
                icx_unhex(d->proof[d->nproof], v, ICX_HASH_LEN) < 0)
                bad = 1;
            else
                d->nproof++;
        } else {
            for (k = 0; k < 6 && strcmp(line, keys[k]) != 0; k++)
                ;
            if (k == 6 || (seen & (1 << k)))
                bad = 1;
            else if (k == 0)
                bad = !icx_agency_id_valid(v) ||
                      snprintf(d->cp.gateway, sizeof d->cp.gateway, "%s", v) >=
                          (int)sizeof d->cp.gateway;
            else if (k == 1)
                bad = parse_u64(&d->cp.size, v) < 0 || d->cp.size == 0;
            else if (k == 2)
                bad = !is_hex64(v) || snprintf(d->cp.root, sizeof d->cp.root,
                                               "%s", v) < 0;
            else if (k == 3)
                bad = snprintf(d->cp.time, sizeof d->cp.time, "%s", v) >=
                      (int)sizeof d->cp.time;
            else if (k == 4)
                bad = snprintf(d->cp.signature, sizeof d->cp.signature, "%s",
                               v) >= (int)sizeof d->cp.signature;
            else
                bad = parse_u64(&d->from, v) < 0;
            seen |= 1 << (k < 6 ? k : 0);
        }
        if (bad)
            return icx_err_set(err, ICX_EINVAL, "witness document line %d: "
                               "bad or repeated %s", lineno, line);
    }
    if (lineno == 0 || seen != 0x3f)
        return icx_err_set(err, ICX_EINVAL, "witness document: a field is "
                           "missing (gateway, size, root, time, signature, "
                           "from)");
    if (d->from > d->cp.size || (d->from == 0 && d->nproof > 0))
        return icx_err_set(err, ICX_EINVAL, "witness document: proof from "
                           "size %llu to %llu", (unsigned long long)d->from,
                           (unsigned long long)d->cp.size);
    return ICX_OK;
}

int icx_witness_judge(int *verdict, const icx_checkpoint *prev,
                      const icx_witness_doc *d, const char *partner,
                      const char *cert_pem, size_t cert_len, icx_err *err)
{
    unsigned char rm[ICX_HASH_LEN], rn[ICX_HASH_LEN];
    *verdict = ICX_WITNESS_BADSIG;
    if (strcmp(d->cp.gateway, partner) != 0) {
        icx_err_set(err, ICX_EBADSIG, "a checkpoint of %s sent as %s's",
                    d->cp.gateway, partner);
        return ICX_OK;
    }
    if (icx_checkpoint_verify(&d->cp, cert_pem, cert_len, err) < 0) {
        if (err->rc == ICX_EINVAL)
            return err->rc;
        return ICX_OK;
    }
    icx_err_clear(err);
    if (prev == NULL) {
        *verdict = ICX_WITNESS_FIRST;
        return ICX_OK;
    }
    if (d->cp.size < prev->size && strcmp(d->cp.time, prev->time) < 0) {
        /* Signed before the one kept: a message that arrived late (they
         * travel independently), not a log that went back. */
        *verdict = ICX_WITNESS_STALE;
        return ICX_OK;
    }
    if (d->cp.size < prev->size) {
        *verdict = ICX_WITNESS_ROLLBACK;
        icx_err_set(err, ICX_EBADSIG, "%s's log went back: size %llu after "
                    "%llu seen at %s", partner,
                    (unsigned long long)d->cp.size,
                    (unsigned long long)prev->size, prev->time);
        return ICX_OK;
    }
    if (d->cp.size == prev->size) {
        *verdict = strcmp(d->cp.root, prev->root) == 0 ? ICX_WITNESS_SAME
                                                       : ICX_WITNESS_FORK;
        if (*verdict == ICX_WITNESS_FORK)
            icx_err_set(err, ICX_EBADSIG, "%s shows two logs of size %llu: "
                        "root %.16s... now, %.16s... before", partner,
                        (unsigned long long)d->cp.size, d->cp.root,
                        prev->root);
        return ICX_OK;
    }
    if (d->from != prev->size) {
        *verdict = ICX_WITNESS_UNPROVEN;
        icx_err_set(err, ICX_EAGAIN, "%s's proof starts at size %llu, the "
                    "last seen is %llu", partner, (unsigned long long)d->from,
                    (unsigned long long)prev->size);
        return ICX_OK;
    }
    if (icx_unhex(rm, prev->root, ICX_HASH_LEN) < 0 ||
        icx_unhex(rn, d->cp.root, ICX_HASH_LEN) < 0 ||
        icx_merkle_check_consistency(prev->size, rm, d->cp.size, rn,
                                     (const unsigned char (*)[ICX_HASH_LEN])
                                         d->proof,
                                     d->nproof) != ICX_OK) {
        *verdict = ICX_WITNESS_FORK;
        icx_err_set(err, ICX_EBADSIG, "%s's log of size %llu does not extend "
                    "the one of size %llu seen at %s (rewritten)", partner,
                    (unsigned long long)d->cp.size,
                    (unsigned long long)prev->size, prev->time);
        return ICX_OK;
    }
    *verdict = ICX_WITNESS_CONSISTENT;
    return ICX_OK;
}

int icx_witness_cosig_text(icx_buf *out, const icx_checkpoint *c,
                           const char *witness)
{
    int rc = icx_buf_printf(out, "icx-witness-cosignature v1\nwitness %s\n",
                            witness);
    return rc == ICX_OK ? icx_checkpoint_text(out, c) : rc;
}

int icx_witness_cosign(char *b64, size_t n, const icx_checkpoint *c,
                       const char *witness, const icx_signer *signer,
                       icx_err *err)
{
    icx_buf text;
    unsigned char digest[32], sig[ICX_SIG_MAX];
    size_t siglen = sizeof sig;
    icx_buf_init(&text, 4096);
    int rc = icx_witness_cosig_text(&text, c, witness);
    if (rc < 0) {
        icx_err_set(err, rc, "co-signature text");
        goto out;
    }
    if (EVP_Digest(text.data, text.len, digest, NULL, EVP_sha256(), NULL) != 1) {
        rc = icx_err_set(err, ICX_ECRYPTO, "cannot hash the co-signature text");
        goto out;
    }
    /* The signer's error passes through (ICX_EAGAIN: try again). */
    rc = icx_signer_sign_digest(sig, &siglen, signer, digest, err);
    if (rc == ICX_OK &&
        icx_sig_encode(b64, n, sig, siglen,
                       icx_signer_ecdsa(signer) ? icx_signer_field(signer) : 0) < 0)
        rc = icx_err_set(err, ICX_ECRYPTO, "cannot encode the co-signature");
out:
    icx_buf_free(&text);
    return rc;
}

int icx_witness_cosig_verify(const icx_checkpoint *c, const char *witness,
                             const char *b64, const char *cert_pem,
                             size_t cert_len, icx_err *err)
{
    icx_buf text;
    icx_buf_init(&text, 4096);
    int rc = icx_witness_cosig_text(&text, c, witness);
    if (rc == ICX_OK)
        rc = icx_sig_verify_bytes(cert_pem, cert_len, text.data, text.len,
                                  b64, err);
    else
        icx_err_set(err, rc, "co-signature text");
    icx_buf_free(&text);
    return rc;
}

int icx_witness_cosig_parse(char *witness, size_t wn, uint64_t *size,
                            char *sig, size_t sn, size_t *signed_len,
                            const char *text, size_t len, icx_err *err)
{
    /* "icx-witness-cosignature v1\nwitness ID\n" + checkpoint text +
     * "signature B64\n": the witness and size are read here; the caller
     * compares the signed part with its own checkpoint's text. */
    const char *p = text, *end = text + len;
    const char *w = NULL, *sz = NULL, *sg = NULL;
    if (len > ICX_WITNESS_DOC_MAX || len < 27 ||
        memcmp(text, "icx-witness-cosignature v1\n", 27) != 0)
        return icx_err_set(err, ICX_EINVAL, "not an icx-witness-cosignature "
                           "v1 document");
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        if (nl == NULL)
            return icx_err_set(err, ICX_EINVAL, "co-signature: the last line "
                               "has no newline");
        /* Compared within the line: text holds no NUL to stop at. */
        size_t ll = (size_t)(nl - p);
        if (w == NULL && ll >= 8 && memcmp(p, "witness ", 8) == 0)
            w = p;
        else if (sz == NULL && ll >= 5 && memcmp(p, "size ", 5) == 0)
            sz = p;
        else if (ll >= 10 && memcmp(p, "signature ", 10) == 0 &&
                 nl + 1 == end)
            sg = p;
        p = nl + 1;
    }
    if (w == NULL || sz == NULL || sg == NULL)
        return icx_err_set(err, ICX_EINVAL, "co-signature: witness, size or "
                           "signature line missing");
    size_t l = strcspn(w + 8, "\n");
    if (l == 0 || l >= wn)
        return icx_err_set(err, ICX_EINVAL, "co-signature: bad witness");
    memcpy(witness, w + 8, l);
    witness[l] = '\0';
    char num[24];
    l = strcspn(sz + 5, "\n");
    if (l == 0 || l >= sizeof num)
        return icx_err_set(err, ICX_EINVAL, "co-signature: bad size");
    memcpy(num, sz + 5, l);
    num[l] = '\0';
    if (parse_u64(size, num) < 0)
        return icx_err_set(err, ICX_EINVAL, "co-signature: bad size");
    l = strcspn(sg + 10, "\n");
    if (l == 0 || l >= sn)
        return icx_err_set(err, ICX_EINVAL, "co-signature: bad signature");
    memcpy(sig, sg + 10, l);
    sig[l] = '\0';
    *signed_len = (size_t)(sg - text);
    return ICX_OK;
}
