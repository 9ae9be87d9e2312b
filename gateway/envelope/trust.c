/*
 * trust.c - agency id -> verification key (see trust.h).
 *
 * A small array searched linearly: a gateway has tens of partners, and the
 * lookup is dwarfed by the signature check it precedes.  Each entry holds
 * the configured certificate's key and, during a key rollover, the next
 * certificate's, with the SHA-256 fingerprints of both for audit records.
 */
#include "trust.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "keys.h"

struct entry {
    char *id;
    icx_verkey *key[2];       /* certificate, certificate_next (or NULL) */
    char fp[2][65];
};

struct icx_trust {
    struct entry *v;
    size_t n, cap;
};

int icx_trust_new(icx_trust **out, icx_err *err)
{
    *out = calloc(1, sizeof **out);
    return *out ? ICX_OK : icx_err_set(err, ICX_ENOMEM, "out of memory");
}

static struct entry *find(const icx_trust *t, const char *id)
{
    for (size_t i = 0; t != NULL && id != NULL && i < t->n; i++)
        if (strcmp(t->v[i].id, id) == 0)
            return &t->v[i];
    return NULL;
}

int icx_trust_add(icx_trust *t, const char *id, const char *cert_path,
                  icx_err *err)
{
    char fp[65];
    if (icx_trust_get(t, id) != NULL)
        return icx_err_set(err, ICX_EEXIST, "%s: trusted twice", id);
    if (t->n == t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 8;
        struct entry *v = realloc(t->v, cap * sizeof *v);
        if (v == NULL)
            return icx_err_set(err, ICX_ENOMEM, "out of memory");
        t->v = v;
        t->cap = cap;
    }
    icx_verkey *key = NULL;
    int rc = icx_verkey_load(&key, cert_path, err);
    if (rc == ICX_OK)
        rc = icx_keys_cert_fingerprint(fp, cert_path, err);
    if (rc < 0) {
        icx_verkey_free(&key);
        return icx_err_wrap(err, "certificate of %s", id);
    }
    char *dup = strdup(id);
    if (dup == NULL) {
        icx_verkey_free(&key);
        return icx_err_set(err, ICX_ENOMEM, "out of memory");
    }
    memset(&t->v[t->n], 0, sizeof t->v[t->n]);
    t->v[t->n].id = dup;
    t->v[t->n].key[0] = key;
    memcpy(t->v[t->n].fp[0], fp, sizeof fp);
    t->n++;
    return ICX_OK;
}

int icx_trust_add_next(icx_trust *t, const char *id, const char *cert_path,
                       icx_err *err)
{
    struct entry *e = find(t, id);
    char fp[65];
    if (e == NULL)
        return icx_err_set(err, ICX_ENOTFOUND, "%s: not trusted yet", id);
    if (e->key[1] != NULL)
        return icx_err_set(err, ICX_EEXIST, "%s: a next certificate twice",
                           id);
    icx_verkey *key = NULL;
    int rc = icx_verkey_load(&key, cert_path, err);
    if (rc == ICX_OK)
        rc = icx_keys_cert_fingerprint(fp, cert_path, err);
    if (rc < 0) {
        icx_verkey_free(&key);
        return icx_err_wrap(err, "next certificate of %s", id);
    }
    if (strcmp(fp, e->fp[0]) == 0) {
        icx_verkey_free(&key);
        return icx_err_set(err, ICX_EINVAL, "%s: the next certificate is the "
                           "current one", id);
    }
    e->key[1] = key;
    memcpy(e->fp[1], fp, sizeof fp);
    return ICX_OK;
}

int icx_trust_from_config(icx_trust **out, const icx_config *cfg,
                          icx_err *err)
{
    icx_trust *t = NULL;
    int rc = icx_trust_new(&t, err);
    if (rc < 0)
        return rc;
    rc = icx_trust_add(t, cfg->id, cfg->certificate, err);
    for (size_t i = 0; rc == ICX_OK && i < cfg->npartners; i++) {
        const icx_partner *p = &cfg->partners[i];
        rc = icx_trust_add(t, p->id, p->certificate, err);
        if (rc == ICX_OK && p->certificate_next != NULL)
            rc = icx_trust_add_next(t, p->id, p->certificate_next, err);
    }
    if (rc < 0) {
        icx_trust_free(&t);
        return rc;
    }
    *out = t;
    return ICX_OK;
}

void icx_trust_free(icx_trust **tp)
{
    if (tp == NULL || *tp == NULL)
        return;
    for (size_t i = 0; i < (*tp)->n; i++) {
        free((*tp)->v[i].id);
        icx_verkey_free(&(*tp)->v[i].key[0]);
        icx_verkey_free(&(*tp)->v[i].key[1]);
    }
    free((*tp)->v);
    free(*tp);
    *tp = NULL;
}

const icx_verkey *icx_trust_get(void *ctx, const char *id)
{
    struct entry *e = find(ctx, id);
    return e != NULL ? e->key[0] : NULL;
}

const icx_verkey *icx_trust_get_next(void *ctx, const char *id)
{
    struct entry *e = find(ctx, id);
    return e != NULL ? e->key[1] : NULL;
}

const char *icx_trust_fingerprint(const icx_trust *t, const char *id,
                                  int which)
{
    struct entry *e = find(t, id);
    if (e == NULL || which < 0 || which > 1 || e->key[which] == NULL)
        return NULL;
    return e->fp[which];
}

int icx_trust_partner_of_cert(char *out, size_t outlen,
                              const icx_config *cfg, const char *fingerprint,
                              icx_err *err)
{
    char fp[65];
    if (outlen > 0)
        out[0] = '\0';
    if (fingerprint == NULL || strlen(fingerprint) != 64)
        return icx_err_set(err, ICX_EINVAL, "a certificate fingerprint is 64 "
                           "hex digits");
    for (size_t i = 0; i < cfg->npartners; i++) {
        icx_err e;
        const icx_partner *p = &cfg->partners[i];
        if (p->certificate == NULL ||
            icx_keys_cert_fingerprint(fp, p->certificate, &e) < 0)
            continue;
        if (strcmp(fp, fingerprint) == 0) {
            if (strlen(p->id) >= outlen)
                return icx_err_set(err, ICX_EINVAL, "agency id too long");
            snprintf(out, outlen, "%s", p->id);
            return ICX_OK;
        }
    }
    return icx_err_set(err, ICX_ENOTFOUND, "no partner has this certificate");
}
