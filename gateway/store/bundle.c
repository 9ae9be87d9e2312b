/*
 * bundle.c - write and check evidence bundles (see bundle.h).
 *
 * Writing reads every leaf up to the last checkpoint once (32 bytes per
 * record) to compute the inclusion proofs.  Checking trusts nothing in the
 * bundle but the mathematics: the certificate it carries must still be
 * compared by the auditor with the one the agency published (its SHA-256
 * fingerprint is printed).
 */
#include "bundle.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "audit.h"
#include "tsa.h"
#include "util.h"
#include "witness.h"

#define BEGIN "-----BEGIN ICX "
#define END "-----END ICX "

static int put_b64(icx_buf *out, const char *name, const void *data, size_t len)
{
    int rc = icx_buf_printf(out, BEGIN "%s-----\n", name);
    const unsigned char *p = data;
    for (size_t off = 0; rc == ICX_OK && off < len; off += 48) {
        unsigned char line[80];
        size_t n = len - off < 48 ? len - off : 48;
        int m = EVP_EncodeBlock(line, p + off, (int)n);
        rc = icx_buf_append(out, line, (size_t)m);
        if (rc == ICX_OK)
            rc = icx_buf_puts(out, "\n");
    }
    if (rc == ICX_OK)
        rc = icx_buf_printf(out, END "%s-----\n", name);
    return rc;
}

static int put_text(icx_buf *out, const char *name, const char *text, size_t len)
{
    int rc = icx_buf_printf(out, BEGIN "%s-----\n", name);
    if (rc == ICX_OK)
        rc = icx_buf_append(out, text, len);
    if (rc == ICX_OK && (len == 0 || text[len - 1] != '\n'))
        rc = icx_buf_puts(out, "\n");
    if (rc == ICX_OK)
        rc = icx_buf_printf(out, END "%s-----\n", name);
    return rc;
}

struct leaves {
    unsigned char (*h)[ICX_HASH_LEN];
    size_t n, cap;
    uint64_t limit;
    const char *message_id;
    icx_audit_rec *mine;
    size_t nmine, capmine;
    int oom;
};

static int collect(void *ctx, const icx_audit_rec *r)
{
    struct leaves *l = ctx;
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 4096;
        void *p = realloc(l->h, cap * sizeof *l->h);
        if (p == NULL) {
            l->oom = 1;
            return -1;
        }
        l->h = p;
        l->cap = cap;
    }
    if (icx_unhex(l->h[l->n], r->hash, 32) < 0)
        memset(l->h[l->n], 0, ICX_HASH_LEN);
    l->n++;
    if (strcmp(r->message_id, l->message_id) == 0) {
        if (l->nmine == l->capmine) {
            size_t cap = l->capmine ? l->capmine * 2 : 16;
            void *p = realloc(l->mine, cap * sizeof *l->mine);
            if (p == NULL) {
                l->oom = 1;
                return -1;
            }
            l->mine = p;
            l->capmine = cap;
        }
        l->mine[l->nmine++] = *r;
    }
    return 0;
}

struct find_in {
    const char *message_id;
    icx_in_row row;
    int found;
};

static int find_in(void *ctx, const icx_in_row *r)
{
    struct find_in *f = ctx;
    if (strcmp(r->message_id, f->message_id) != 0)
        return 0;
    f->row = *r;
    f->found = 1;
    return 1;
}

struct rcpts {
    icx_buf *out;
    int rc;
};

static int put_receipt(void *ctx, const icx_receipt_row *row, const void *env,
                       size_t len)
{
    struct rcpts *r = ctx;
    char name[96];
    snprintf(name, sizeof name, "receipt-%s.xml", row->issuer);
    if (r->rc == ICX_OK)
        r->rc = put_b64(r->out, name, env, len);
    return 0;
}

static int put_file(icx_buf *out, const char *name, const char *path,
                    icx_err *err)
{
    char *data = NULL;
    size_t len = 0;
    int rc = icx_file_read(&data, &len, path, 256 * 1024, err);
    if (rc == ICX_OK)
        rc = put_text(out, name, data, len);
    free(data);
    return rc;
}

struct cosigs {
    icx_buf *out;
    const icx_config *cfg;
    const icx_checkpoint *cp;
    int rc;
    icx_err *err;
    int n;
};

static int put_file(icx_buf *out, const char *name, const char *path,
                    icx_err *err);

/* A partner's co-signature of the bundle's checkpoint, as the witness
 * wrote it, and the witness's certificate from its partner file. */
static int put_cosig(void *ctx, const char *witness, const char *signature)
{
    struct cosigs *k = ctx;
    icx_buf text;
    char name[96];
    const icx_partner *p = icx_config_partner(k->cfg, witness);
    if (k->rc < 0 || p == NULL)
        return 0; /* a witness no longer a partner: nothing to check with */
    icx_buf_init(&text, 8192);
    k->rc = icx_witness_cosig_text(&text, k->cp, witness);
    if (k->rc == ICX_OK)
        k->rc = icx_buf_printf(&text, "signature %s\n", signature);
    snprintf(name, sizeof name, "cosig-%s", witness);
    if (k->rc == ICX_OK)
        k->rc = put_text(k->out, name, text.data, text.len);
    snprintf(name, sizeof name, "witness-cert-%s.pem", witness);
    if (k->rc == ICX_OK)
        k->rc = put_file(k->out, name, p->certificate, k->err);
    icx_buf_free(&text);
    k->n++;
    return 0;
}

static int last_seq(void *ctx, const icx_audit_row *row)
{
    int64_t *max = ctx;
    if (row->seq > *max)
        *max = row->seq;
    return 0;
}

/* The earliest time-stamped checkpoint that covers every record of the
 * message, no later than *cp: it replaces *cp and its token goes into
 * token; without one, the earliest co-signed by a partner.  Nothing
 * changes when there is neither. */
static int stamped_cp(icx_checkpoint *cp, icx_buf *token, icx_store *s,
                      const char *message_id, icx_err *err)
{
    int64_t max = 0;
    uint64_t size = 0;
    icx_tsa_stamp st;
    icx_checkpoint c;
    int rc = icx_store_timeline(s, message_id, last_seq, &max, err);
    if (rc < 0 || max <= 0 || (uint64_t)max > cp->size)
        return rc < 0 ? rc : ICX_OK;
    rc = icx_store_stamp_get(s, (uint64_t)max, &size, &st, token, NULL, err);
    if (rc == ICX_ENOTFOUND || (rc == ICX_OK && size > cp->size)) {
        /* No time-stamp: the earliest checkpoint a partner co-signed. */
        icx_buf_reset(token);
        rc = icx_store_cosigned_first(s, (uint64_t)max, &size, err);
        if (rc == ICX_ENOTFOUND || (rc == ICX_OK && size > cp->size))
            return ICX_OK;
    }
    if (rc == ICX_OK)
        rc = icx_store_checkpoint_at(s, size, &c, err);
    if (rc == ICX_OK)
        *cp = c;
    else
        icx_buf_reset(token);
    return rc;
}

int icx_bundle_write(icx_buf *out, icx_store *s, const icx_config *cfg,
                     const char *message_id, icx_buf *warnings, icx_err *err)
{
    icx_buf env, receipt, text, token;
    icx_checkpoint cp;
    icx_out_row orow;
    struct find_in fin = {message_id, {0}, 0};
    struct leaves l = {0};
    const char *partner = NULL;
    int rc;

    icx_buf_init(&env, 256 << 20);
    icx_buf_init(&receipt, 1 << 20);
    icx_buf_init(&text, 4096);
    icx_buf_init(&token, ICX_TSA_REPLY_MAX);
    l.message_id = message_id;
    rc = icx_store_checkpoint_last(s, &cp, err);
    if (rc == ICX_ENOTFOUND) {
        rc = icx_err_set(err, ICX_ENOTFOUND, "no signed checkpoint yet: the "
                         "daemon signs one every audit.checkpoint_seconds and "
                         "at shutdown");
        goto out;
    }
    if (rc < 0)
        goto out;
    rc = stamped_cp(&cp, &token, s, message_id, err);
    if (rc < 0)
        goto out;
    int outbound = icx_store_out_get(s, message_id, NULL, &orow, err) == ICX_OK;
    if (outbound) {
        partner = orow.recipient;
        rc = icx_store_out_envelope(s, message_id, orow.next_hop, &env, err);
    } else {
        rc = icx_store_in_list(s, -1, 0, find_in, &fin, err);
        if (rc > 0)
            rc = ICX_OK; /* the walk stopped at the message */
        if (rc == ICX_OK && !fin.found)
            rc = icx_err_set(err, ICX_ENOTFOUND, "no message %s in this "
                             "gateway's store", message_id);
        if (rc == ICX_OK) {
            partner = fin.row.sender;
            rc = icx_store_in_lookup(s, fin.row.sender, message_id, &fin.row,
                                     &receipt, err);
        }
        if (rc == ICX_OK)
            rc = icx_store_in_envelope(s, fin.row.sender, message_id, &env,
                                       err);
    }
    if (rc < 0)
        goto out;
    rc = icx_store_audit_scan(s, 1, (int64_t)cp.size, collect, &l, err);
    if (rc < 0 || l.oom) {
        rc = l.oom ? icx_err_set(err, ICX_ENOMEM, "out of memory") : rc;
        goto out;
    }
    rc = icx_buf_printf(out, "icx-evidence-bundle v1\nmessage-id %s\n"
                        "gateway %s\npartner %s\ndirection %s\n", message_id,
                        cfg->id, partner ? partner : "-",
                        outbound ? "outbound" : "inbound");
    if (rc == ICX_OK)
        rc = put_b64(out, "envelope.xml", env.data, env.len);
    if (rc == ICX_OK && outbound) {
        struct rcpts r = {out, ICX_OK};
        rc = icx_store_receipts(s, message_id, put_receipt, &r, err);
        if (rc == ICX_OK)
            rc = r.rc;
    } else if (rc == ICX_OK && receipt.len > 0) {
        rc = put_b64(out, "receipt-returned.xml", receipt.data, receipt.len);
    }
    if (rc == ICX_OK)
        rc = icx_checkpoint_text(&text, &cp);
    if (rc == ICX_OK)
        rc = put_text(out, "checkpoint", text.data, text.len);
    if (rc == ICX_OK)
        rc = put_text(out, "checkpoint.sig", cp.signature, strlen(cp.signature));
    if (rc == ICX_OK && token.len > 0)
        rc = put_b64(out, "checkpoint.tst", token.data, token.len);
    if (rc == ICX_OK && token.len > 0 && cfg->tsa_ca_file != NULL)
        rc = put_file(out, "tsa-ca.pem", cfg->tsa_ca_file, err);
    if (rc == ICX_OK && token.len == 0 && warnings != NULL)
        icx_buf_printf(warnings, "checkpoint %llu has no RFC 3161 time-stamp "
                       "yet%s; make the bundle again once `icx audit show "
                       "--checkpoints` shows it stamped\n",
                       (unsigned long long)cp.size,
                       cfg->tsa_url != NULL ? "" : " (audit.tsa is not set)");
    if (rc == ICX_OK) {
        struct cosigs k = {out, cfg, &cp, ICX_OK, err, 0};
        rc = icx_store_cosigs(s, cp.size, put_cosig, &k, err);
        if (rc == ICX_OK)
            rc = k.rc;
    }
    for (size_t i = 0; rc == ICX_OK && i < l.nmine; i++) {
        const icx_audit_rec *r = &l.mine[i];
        unsigned char path[ICX_MERKLE_MAX_LEVELS][ICX_HASH_LEN];
        char sides[ICX_MERKLE_MAX_LEVELS];
        int np = 0;
        char name[48], hex[65];
        icx_buf_reset(&text);
        rc = icx_audit_line(&text, r);
        if (rc == ICX_OK)
            rc = icx_buf_printf(&text, "\nleaf %s\nindex %lld\nsize %llu\n",
                                r->hash, (long long)r->seq - 1,
                                (unsigned long long)cp.size);
        if (rc == ICX_OK)
            rc = icx_merkle_path(path, sides, &np,
                                 (const unsigned char (*)[ICX_HASH_LEN])l.h,
                                 cp.size, (uint64_t)r->seq - 1);
        for (int k = 0; rc == ICX_OK && k < np; k++) {
            icx_hex(hex, path[k], ICX_HASH_LEN);
            rc = icx_buf_printf(&text, "path %c %s\n", sides[k], hex);
        }
        snprintf(name, sizeof name, "record-%lld", (long long)r->seq);
        if (rc == ICX_OK)
            rc = put_text(out, name, text.data, text.len);
    }
    if (rc == ICX_OK)
        rc = put_file(out, "gateway-cert.pem", icx_config_audit_certs(cfg),
                      err);
    const icx_partner *p = partner ? icx_config_partner(cfg, partner) : NULL;
    if (rc == ICX_OK && p != NULL)
        rc = put_file(out, "partner-cert.pem", p->certificate, err);
    /* During a key rollover the envelope may be signed by the next key;
     * the audit record's cert_sha256 says which (docs/KEYS.md). */
    if (rc == ICX_OK && p != NULL && p->certificate_next != NULL)
        rc = put_file(out, "partner-cert-next.pem", p->certificate_next, err);
    if (rc == ICX_OK && warnings != NULL) {
        /* Records after the checkpoint: named, so nobody thinks them lost. */
        struct leaves later = {0};
        later.message_id = message_id;
        rc = icx_store_audit_scan(s, (int64_t)cp.size + 1, 0, collect, &later,
                                  err);
        for (size_t i = 0; rc == ICX_OK && i < later.nmine; i++)
            icx_buf_printf(warnings, "audit record %lld (%s) is newer than the "
                           "last signed checkpoint (size %llu) and is not in "
                           "the bundle; make the bundle again after the next "
                           "checkpoint\n", (long long)later.mine[i].seq,
                           later.mine[i].event, (unsigned long long)cp.size);
        free(later.h);
        free(later.mine);
    }
    if (rc < 0 && err != NULL && err->rc == ICX_OK)
        icx_err_set(err, rc, "bundle too large");
out:
    free(l.h);
    free(l.mine);
    icx_buf_free(&env);
    icx_buf_free(&receipt);
    icx_buf_free(&text);
    icx_buf_free(&token);
    return rc;
}

/* ---- checking ---------------------------------------------------------- */

struct section {
    char name[96];
    const char *body;
    size_t len;
};

static int sections(struct section *sec, int max, const char *data, size_t len)
{
    int n = 0;
    const char *p = data, *end = data + len;
    while (p < end && n < max) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *le = nl ? nl : end;
        size_t bl = strlen(BEGIN);
        if ((size_t)(le - p) > bl + 5 && memcmp(p, BEGIN, bl) == 0 &&
            memcmp(le - 5, "-----", 5) == 0) {
            size_t nl_len = (size_t)(le - p) - bl - 5;
            if (nl_len >= sizeof sec[n].name)
                return -1;
            memcpy(sec[n].name, p + bl, nl_len);
            sec[n].name[nl_len] = '\0';
            char endline[128];
            int m = snprintf(endline, sizeof endline, "\n" END "%s-----",
                             sec[n].name);
            const char *body = nl ? nl + 1 : end;
            const char *e = NULL;
            for (const char *q = body - 1; q + m <= end; q++)
                if (memcmp(q, endline, (size_t)m) == 0) {
                    e = q;
                    break;
                }
            if (e == NULL)
                return -1;
            sec[n].body = body;
            sec[n].len = e >= body ? (size_t)(e - body) + 1 : 0;
            n++;
            p = e + m;
            continue;
        }
        p = nl ? nl + 1 : end;
    }
    return n;
}

static const struct section *find_sec(const struct section *s, int n,
                                      const char *name)
{
    for (int i = 0; i < n; i++)
        if (strcmp(s[i].name, name) == 0)
            return &s[i];
    return NULL;
}

static int b64_decode(icx_buf *out, const char *body, size_t len)
{
    const char *p = body, *end = body + len;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *le = nl ? nl : end;
        size_t n = (size_t)(le - p);
        if (n > 0) {
            unsigned char tmp[128];
            if (n > 96)
                return ICX_EINVAL;
            int m = EVP_DecodeBlock(tmp, (const unsigned char *)p, (int)n);
            if (m < 0)
                return ICX_EINVAL;
            size_t pad = 0;
            while (pad < 2 && n > pad && p[n - 1 - pad] == '=')
                pad++;
            if (icx_buf_append(out, tmp, (size_t)m - pad) < 0)
                return ICX_EFULL;
        }
        p = nl ? nl + 1 : end;
    }
    return ICX_OK;
}

static int field(const char *body, size_t len, const char *key, char *out,
                 size_t outlen)
{
    size_t kl = strlen(key);
    const char *p = body, *end = body + len;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *le = nl ? nl : end;
        if ((size_t)(le - p) > kl && memcmp(p, key, kl) == 0 && p[kl] == ' ') {
            size_t n = (size_t)(le - p) - kl - 1;
            if (n >= outlen)
                return -1;
            memcpy(out, p + kl + 1, n);
            out[n] = '\0';
            return 0;
        }
        p = nl ? nl + 1 : end;
    }
    return -1;
}

static int bad(icx_buf *report, icx_err *err, const char *what)
{
    icx_buf_printf(report, "FAIL %s\n", what);
    return icx_err_set(err, ICX_EBADSIG, "bundle: %s", what);
}

int icx_bundle_check(const char *data, size_t len, icx_buf *report,
                     icx_err *err)
{
    struct section *sec = calloc(4096, sizeof *sec);
    icx_buf env, tmp;
    icx_checkpoint cp;
    char msg[256], hex[65];
    int rc = ICX_OK, n;

    icx_buf_init(&env, 256 << 20);
    icx_buf_init(&tmp, 256 << 20);
    memset(&cp, 0, sizeof cp);
    if (sec == NULL)
        return icx_err_set(err, ICX_ENOMEM, "out of memory");
    if (len < 22 || memcmp(data, "icx-evidence-bundle v1", 22) != 0) {
        rc = bad(report, err, "not an ICX evidence bundle (v1)");
        goto out;
    }
    n = sections(sec, 4096, data, len);
    const struct section *s_env = n > 0 ? find_sec(sec, n, "envelope.xml") : NULL;
    const struct section *s_cp = n > 0 ? find_sec(sec, n, "checkpoint") : NULL;
    const struct section *s_sig = n > 0 ? find_sec(sec, n, "checkpoint.sig") : NULL;
    const struct section *s_cert = n > 0 ? find_sec(sec, n, "gateway-cert.pem") : NULL;
    if (n < 0 || !s_env || !s_cp || !s_sig || !s_cert) {
        rc = bad(report, err, "a section is missing or unterminated");
        goto out;
    }
    /* The checkpoint and its signature. */
    char size_s[32];
    if (field(s_cp->body, s_cp->len, "gateway", cp.gateway, sizeof cp.gateway) ||
        field(s_cp->body, s_cp->len, "size", size_s, sizeof size_s) ||
        field(s_cp->body, s_cp->len, "root", cp.root, sizeof cp.root) ||
        field(s_cp->body, s_cp->len, "time", cp.time, sizeof cp.time)) {
        rc = bad(report, err, "checkpoint text is malformed");
        goto out;
    }
    cp.size = strtoull(size_s, NULL, 10);
    snprintf(cp.signature, sizeof cp.signature, "%.*s", (int)strcspn(s_sig->body, "\n"),
             s_sig->body);
    rc = icx_checkpoint_verify(&cp, s_cert->body, s_cert->len, err);
    if (rc < 0) {
        rc = bad(report, err, "checkpoint signature does not verify with the "
                              "bundled gateway certificate");
        goto out;
    }
    {
        BIO *b = BIO_new_mem_buf(s_cert->body, (int)s_cert->len);
        X509 *x = b ? PEM_read_bio_X509(b, NULL, NULL, NULL) : NULL;
        unsigned char md[32];
        unsigned int mdn = 0;
        if (x != NULL && X509_digest(x, EVP_sha256(), md, &mdn) == 1)
            icx_hex(hex, md, 32);
        else
            snprintf(hex, sizeof hex, "?");
        X509_free(x);
        BIO_free(b);
    }
    icx_buf_printf(report, "ok   checkpoint of %s, size %llu, signed at %s "
                   "(gateway certificate sha256 %s: compare with the one "
                   "%s published)\n", cp.gateway, (unsigned long long)cp.size,
                   cp.time, hex, cp.gateway);
    /* The time-stamp token, when there is one: over the checkpoint's
     * bytes.  Its signature needs the TSA's CA, which the auditor takes
     * from the TSA (docs/AUDIT.md: openssl ts -verify). */
    const struct section *s_tst = find_sec(sec, n, "checkpoint.tst");
    if (s_tst != NULL) {
        icx_tsa_stamp ts;
        icx_err terr;
        icx_buf_reset(&tmp);
        if (b64_decode(&tmp, s_tst->body, s_tst->len) < 0 ||
            icx_tsa_token_check(&ts, tmp.data, tmp.len, s_cp->body, s_cp->len,
                                NULL, &terr) < 0) {
            rc = bad(report, err, "checkpoint.tst is not a time-stamp token "
                                  "over the checkpoint");
            goto out;
        }
        icx_buf_printf(report, "ok   time-stamp token over the checkpoint: "
                       "genTime %s, serial %s, policy %s (check the TSA's "
                       "signature with openssl ts -verify -CAfile, "
                       "docs/AUDIT.md)\n", ts.gen_time, ts.serial, ts.policy);
    } else {
        icx_buf_printf(report, "note the checkpoint has no time-stamp token\n");
    }
    /* Partners' co-signatures of the checkpoint: over its exact text,
     * with the bundled witness certificate (compared by the auditor). */
    for (int i = 0; i < n; i++) {
        if (strncmp(sec[i].name, "cosig-", 6) != 0)
            continue;
        char wname[96], witness[64], csig[1400];
        uint64_t csize = 0;
        size_t signed_len = 0;
        icx_err cerr;
        snprintf(wname, sizeof wname, "witness-cert-%s.pem", sec[i].name + 6);
        const struct section *s_w = find_sec(sec, n, wname);
        icx_buf_reset(&tmp);
        if (s_w == NULL ||
            icx_witness_cosig_parse(witness, sizeof witness, &csize, csig,
                                    sizeof csig, &signed_len, sec[i].body,
                                    sec[i].len, &cerr) < 0 ||
            strcmp(witness, sec[i].name + 6) != 0 ||
            icx_witness_cosig_text(&tmp, &cp, witness) < 0 ||
            tmp.len != signed_len ||
            memcmp(tmp.data, sec[i].body, signed_len) != 0 ||
            icx_sig_verify_bytes(s_w->body, s_w->len, sec[i].body, signed_len,
                                 csig, &cerr) < 0) {
            snprintf(msg, sizeof msg, "%s does not verify over the checkpoint "
                     "with %s", sec[i].name, wname);
            rc = bad(report, err, msg);
            goto out;
        }
        icx_buf_printf(report, "ok   co-signature of the checkpoint by %s "
                       "(compare %s with the certificate %s published)\n",
                       witness, wname, witness);
    }
    /* The envelope and its digest. */
    if (b64_decode(&env, s_env->body, s_env->len) < 0) {
        rc = bad(report, err, "envelope.xml is not base64");
        goto out;
    }
    char env_sha[65];
    icx_sha256_hex(env_sha, env.data, env.len);
    icx_buf_printf(report, "ok   envelope.xml: %zu bytes, sha256 %s\n", env.len,
                   env_sha);
    /* Records: leaf, proof, and whether they mention the digests. */
    int nrec = 0, env_seen = 0;
    unsigned char root[ICX_HASH_LEN];
    if (icx_unhex(root, cp.root, ICX_HASH_LEN) < 0) {
        rc = bad(report, err, "checkpoint root is not 64 hex digits");
        goto out;
    }
    char needle[80];
    snprintf(needle, sizeof needle, "sha256=%s", env_sha);
    for (int i = 0; i < n; i++) {
        if (strncmp(sec[i].name, "record-", 7) != 0)
            continue;
        const char *body = sec[i].body;
        size_t line_len = strcspn(body, "\n");
        char leaf_hex[65], idx_s[32], sz_s[32];
        unsigned char leaf[ICX_HASH_LEN], want[ICX_HASH_LEN];
        unsigned char path[ICX_MERKLE_MAX_LEVELS][ICX_HASH_LEN];
        char sides[ICX_MERKLE_MAX_LEVELS];
        int np = 0;
        if (field(body, sec[i].len, "leaf", leaf_hex, sizeof leaf_hex) ||
            field(body, sec[i].len, "index", idx_s, sizeof idx_s) ||
            field(body, sec[i].len, "size", sz_s, sizeof sz_s) ||
            icx_unhex(want, leaf_hex, 32) < 0) {
            snprintf(msg, sizeof msg, "%s is malformed", sec[i].name);
            rc = bad(report, err, msg);
            goto out;
        }
        icx_audit_leaf(leaf, body, line_len);
        if (memcmp(leaf, want, ICX_HASH_LEN) != 0) {
            snprintf(msg, sizeof msg, "%s: the line does not hash to its leaf "
                     "(edited)", sec[i].name);
            rc = bad(report, err, msg);
            goto out;
        }
        const char *p = body;
        while ((p = strstr(p, "\npath ")) != NULL && p < body + sec[i].len) {
            char hexbuf[65];
            snprintf(hexbuf, sizeof hexbuf, "%.64s", p + 8);
            if (np == ICX_MERKLE_MAX_LEVELS || p[72] != '\n' ||
                icx_unhex(path[np], hexbuf, 32) < 0) {
                snprintf(msg, sizeof msg, "%s: bad path line", sec[i].name);
                rc = bad(report, err, msg);
                goto out;
            }
            sides[np++] = p[6];
            p += 8;
        }
        uint64_t index = strtoull(idx_s, NULL, 10);
        if (strtoull(sz_s, NULL, 10) != cp.size ||
            icx_merkle_check_path(leaf, (const unsigned char (*)[ICX_HASH_LEN])path,
                                  sides, np, index, cp.size, root) < 0) {
            snprintf(msg, sizeof msg, "%s: the inclusion proof does not lead "
                     "to the checkpoint root", sec[i].name);
            rc = bad(report, err, msg);
            goto out;
        }
        if (memmem(body, line_len, needle, strlen(needle)) != NULL)
            env_seen = 1;
        icx_buf_printf(report, "ok   %s: %.*s\n", sec[i].name, (int)line_len,
                       body);
        nrec++;
    }
    if (nrec == 0) {
        rc = bad(report, err, "no audit record in the bundle");
        goto out;
    }
    if (!env_seen) {
        rc = bad(report, err, "no audit record carries the envelope's sha256");
        goto out;
    }
    icx_buf_printf(report, "ok   the envelope's sha256 is in the signed log\n");
    /* Receipts: their digests are recorded too. */
    for (int i = 0; i < n; i++) {
        if (strncmp(sec[i].name, "receipt-", 8) != 0)
            continue;
        icx_buf_reset(&tmp);
        char rsha[65];
        if (b64_decode(&tmp, sec[i].body, sec[i].len) < 0) {
            snprintf(msg, sizeof msg, "%s is not base64", sec[i].name);
            rc = bad(report, err, msg);
            goto out;
        }
        icx_sha256_hex(rsha, tmp.data, tmp.len);
        icx_buf_printf(report, "ok   %s: %zu bytes, sha256 %s\n", sec[i].name,
                       tmp.len, rsha);
    }
    rc = ICX_OK;
out:
    free(sec);
    icx_buf_free(&env);
    icx_buf_free(&tmp);
    return rc;
}
