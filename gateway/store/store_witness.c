/*
 * store_witness.c - what this gateway witnessed of its partners' logs
 * (store.h, docs/AUDIT.md "Witnesses"), and the consistency proofs it
 * hands its partners about its own.
 *
 * Table witnessed (migration 5): every partner checkpoint received, in
 * order, with the verdict (witness.h) and this gateway's co-signature of
 * the good ones; append-only.  The baseline a new checkpoint is judged
 * against is the partner's last good one (first, same, consistent): a
 * fork or a rollback is kept as evidence, never as the baseline.  Each
 * addition writes its audit record (witness.<verdict>) in the same
 * transaction.
 *
 * Statements are prepared per call: these run once per exchange, not per
 * message.  Ownership: rows by value.  Threads: the store's.  Failure:
 * store errors as in store_sqlite.c; ICX_ENOTFOUND.
 */
#include "store_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "util.h"

int icx_store_witness_add(icx_store *s, const char *partner,
                          const icx_checkpoint *c, int verdict,
                          const char *reason, const char *cosignature,
                          icx_err *err)
{
    icx_st st = {NULL, NULL};
    char now[32], detail[256];
    int own = 0;
    icx_time_format(now, sizeof now, time(NULL));
    int rc = icx_sq_call_enter(s, &own, "witness", err);
    if (rc < 0)
        return rc;
    int r = icx_db_prepare(s, "INSERT INTO witnessed (partner, size, "
                               "root, time, signature, seen_at, verdict, "
                               "reason, cosignature) VALUES (?1, ?2, ?3, ?4, "
                               "?5, ?6, ?7, ?8, ?9)", &st);
    if (r == SQLITE_OK) {
        icx_db_bind_text(&st, 1, partner);
        icx_db_bind_int64(&st, 2, (int64_t)c->size);
        icx_db_bind_text(&st, 3, c->root);
        icx_db_bind_text(&st, 4, c->time);
        icx_db_bind_text(&st, 5, c->signature);
        icx_db_bind_text(&st, 6, now);
        icx_db_bind_text(&st, 7, icx_witness_verdict_name(verdict));
        icx_db_bind_text(&st, 8, reason ? reason : "");
        icx_db_bind_text(&st, 9, cosignature ? cosignature : "");
        r = icx_sq_step(s, &st);
    }
    rc = r == SQLITE_DONE ? ICX_OK : icx_sq_fail(s, r, "witness", err);
    icx_db_finalize(&st);
    /* A refused INSERT changed nothing: the caller's transaction stands. */
    int inserted = rc == ICX_OK;
    if (rc == ICX_OK) {
        char event[48];
        snprintf(event, sizeof event, "witness.%s",
                 icx_witness_verdict_name(verdict));
        snprintf(detail, sizeof detail, "size=%llu root=%.64s%s%.120s",
                 (unsigned long long)c->size, c->root,
                 reason && reason[0] ? " reason=" : "", reason ? reason : "");
        rc = icx_sq_audit_append(s, event, NULL, partner, detail, "witness",
                                 err);
    }
    return icx_sq_call_leave(s, own, rc, inserted && rc < 0, "witness", err);
}

int icx_store_witness_last(icx_store *s, const char *partner,
                           icx_checkpoint *c, icx_err *err)
{
    icx_st st = {NULL, NULL};
    int r = icx_db_prepare(s, "SELECT size, partner, root, time, "
                               "signature FROM witnessed WHERE partner = ?1 "
                               "AND verdict IN ('first', 'same', "
                               "'consistent') ORDER BY id DESC LIMIT 1", &st);
    if (r == SQLITE_OK) {
        icx_db_bind_text(&st, 1, partner);
        r = icx_sq_step(s, &st);
    }
    int rc;
    if (r == SQLITE_ROW) {
        icx_sq_cp_from_row(c, &st);
        rc = ICX_OK;
    } else if (r == SQLITE_DONE) {
        rc = ICX_ENOTFOUND;
    } else {
        rc = icx_sq_fail(s, r, "witness", err);
    }
    icx_db_finalize(&st);
    return rc;
}

int icx_store_witnesses(icx_store *s, icx_witness_fn fn, void *ctx,
                        icx_err *err)
{
    icx_st st = {NULL, NULL};
    /* Per partner: the last row, the last good one, and the alarms. */
    int r = icx_db_prepare(s, "SELECT w.partner, w.size, w.time, w.seen_at, w.verdict, w.reason, "
        " (SELECT count(*) FROM witnessed a WHERE a.partner = w.partner),"
        " (SELECT count(*) FROM witnessed a WHERE a.partner = w.partner AND "
        "  a.verdict IN ('fork', 'rollback', 'badsig')),"
        " (SELECT max(size) FROM witnessed a WHERE a.partner = w.partner AND "
        "  a.verdict IN ('first', 'same', 'consistent')) "
        "FROM witnessed w WHERE w.id = (SELECT max(id) FROM witnessed b "
        "WHERE b.partner = w.partner) ORDER BY w.partner", &st);
    while (r == SQLITE_OK || r == SQLITE_ROW) {
        r = icx_sq_step(s, &st);
        if (r != SQLITE_ROW)
            break;
        icx_witness_row w;
        memset(&w, 0, sizeof w);
        col_copy(w.partner, sizeof w.partner, &st, 0);
        w.size = (uint64_t)icx_db_col_int64(&st, 1);
        col_copy(w.time, sizeof w.time, &st, 2);
        col_copy(w.seen_at, sizeof w.seen_at, &st, 3);
        col_copy(w.verdict, sizeof w.verdict, &st, 4);
        col_copy(w.reason, sizeof w.reason, &st, 5);
        w.seen = (uint64_t)icx_db_col_int64(&st, 6);
        w.alarms = (uint64_t)icx_db_col_int64(&st, 7);
        w.good_size = (uint64_t)icx_db_col_int64(&st, 8);
        if (fn(ctx, &w) != 0) {
            r = SQLITE_DONE;
            break;
        }
    }
    int rc = r == SQLITE_DONE ? ICX_OK : icx_sq_fail(s, r, "witnesses", err);
    icx_db_finalize(&st);
    return rc;
}

int icx_store_consistency(icx_store *s, uint64_t m, uint64_t n,
                          unsigned char (*proof)[ICX_HASH_LEN], int *nproof,
                          icx_err *err)
{
    icx_st st = {NULL, NULL};
    unsigned char (*leaves)[ICX_HASH_LEN] = NULL;
    uint64_t have = 0;
    int rc = ICX_OK;
    *nproof = 0;
    if (m == 0 || m > n)
        return icx_err_set(err, ICX_EINVAL, "no consistency proof from size "
                           "%llu to %llu", (unsigned long long)m,
                           (unsigned long long)n);
    leaves = malloc((size_t)n * sizeof *leaves);
    if (leaves == NULL)
        return icx_err_set(err, ICX_ENOMEM, "out of memory");
    int r = icx_db_prepare(s, "SELECT hash FROM audit WHERE seq <= ?1 "
                               "ORDER BY seq", &st);
    if (r == SQLITE_OK)
        icx_db_bind_int64(&st, 1, (int64_t)n);
    while ((r == SQLITE_OK || r == SQLITE_ROW) &&
           (r = icx_sq_step(s, &st)) == SQLITE_ROW && have < n) {
        if (icx_unhex(leaves[have], col_str(&st, 0), ICX_HASH_LEN) < 0)
            memset(leaves[have], 0, ICX_HASH_LEN);
        have++;
    }
    if (r != SQLITE_DONE && r != SQLITE_ROW)
        rc = icx_sq_fail(s, r, "consistency proof", err);
    else if (have < n)
        rc = icx_err_set(err, ICX_ENOTFOUND, "the log holds %llu records, "
                         "not %llu", (unsigned long long)have,
                         (unsigned long long)n);
    else
        rc = icx_merkle_consistency(proof, nproof,
                                    (const unsigned char (*)[ICX_HASH_LEN])
                                        leaves,
                                    n, m);
    icx_db_finalize(&st);
    free(leaves);
    return rc;
}

int icx_store_cosig_add(icx_store *s, const char *witness, uint64_t size,
                        const char *signature, icx_err *err)
{
    icx_st st = {NULL, NULL};
    char now[32], detail[128];
    int own = 0;
    icx_time_format(now, sizeof now, time(NULL));
    int rc = icx_sq_call_enter(s, &own, "co-signature", err);
    if (rc < 0)
        return rc;
    /* PostgreSQL: a taken key must not abort the caller's transaction
     * (store_pg.c reports the empty insert as the unique violation). */
    int r = icx_db_prepare(s, s->pg != NULL
                                  ? "INSERT INTO cosignatures (witness, size, "
                                    "signature, received_at) VALUES (?1, ?2, "
                                    "?3, ?4) ON CONFLICT DO NOTHING"
                                  : "INSERT INTO cosignatures (witness, size, "
                                    "signature, received_at) VALUES (?1, ?2, "
                                    "?3, ?4)", &st);
    if (r == SQLITE_OK) {
        icx_db_bind_text(&st, 1, witness);
        icx_db_bind_int64(&st, 2, (int64_t)size);
        icx_db_bind_text(&st, 3, signature);
        icx_db_bind_text(&st, 4, now);
        r = icx_sq_step(s, &st);
    }
    rc = r == SQLITE_DONE ? ICX_OK : icx_sq_fail(s, r, "co-signature", err);
    icx_db_finalize(&st);
    int inserted = rc == ICX_OK;
    if (rc == ICX_OK) {
        snprintf(detail, sizeof detail, "size=%llu",
                 (unsigned long long)size);
        rc = icx_sq_audit_append(s, "witness.cosigned", NULL, witness, detail,
                                 "co-signature", err);
    }
    return icx_sq_call_leave(s, own, rc, inserted && rc < 0, "co-signature",
                             err);
}

int icx_store_cosigs(icx_store *s, uint64_t size, icx_cosig_fn fn, void *ctx,
                     icx_err *err)
{
    icx_st st = {NULL, NULL};
    int r = icx_db_prepare(s, "SELECT witness, signature FROM "
                               "cosignatures WHERE size = ?1 ORDER BY witness", &st);
    if (r == SQLITE_OK)
        icx_db_bind_int64(&st, 1, (int64_t)size);
    while ((r == SQLITE_OK || r == SQLITE_ROW) &&
           (r = icx_sq_step(s, &st)) == SQLITE_ROW) {
        if (fn(ctx, col_str(&st, 0), col_str(&st, 1)) != 0) {
            r = SQLITE_DONE;
            break;
        }
    }
    int rc = r == SQLITE_DONE ? ICX_OK : icx_sq_fail(s, r, "co-signatures",
                                                      err);
    icx_db_finalize(&st);
    return rc;
}

int icx_store_cosigned_first(icx_store *s, uint64_t min_size, uint64_t *size,
                             icx_err *err)
{
    icx_st st = {NULL, NULL};
    int r = icx_db_prepare(s, "SELECT min(size) FROM cosignatures "
                               "WHERE size >= ?1", &st);
    int rc = ICX_ENOTFOUND;
    if (r == SQLITE_OK) {
        icx_db_bind_int64(&st, 1, (int64_t)min_size);
        r = icx_sq_step(s, &st);
    }
    if (r == SQLITE_ROW && !icx_db_col_null(&st, 0)) {
        *size = (uint64_t)icx_db_col_int64(&st, 0);
        rc = ICX_OK;
    } else if (r != SQLITE_ROW) {
        rc = icx_sq_fail(s, r, "co-signatures", err);
    }
    icx_db_finalize(&st);
    return rc;
}

int icx_store_cosigned_by(icx_store *s, const char *witness, uint64_t *size,
                          icx_err *err)
{
    icx_st st = {NULL, NULL};
    int rc = ICX_ENOTFOUND;
    int r = icx_db_prepare(s, "SELECT max(size) FROM cosignatures "
                               "WHERE witness = ?1", &st);
    if (r == SQLITE_OK) {
        icx_db_bind_text(&st, 1, witness);
        r = icx_sq_step(s, &st);
    }
    if (r == SQLITE_ROW && !icx_db_col_null(&st, 0)) {
        *size = (uint64_t)icx_db_col_int64(&st, 0);
        rc = ICX_OK;
    } else if (r != SQLITE_ROW) {
        rc = icx_sq_fail(s, r, "co-signatures", err);
    }
    icx_db_finalize(&st);
    return rc;
}

int icx_store_witness_cosig(icx_store *s, const char *partner,
                            icx_checkpoint *c, char *sig, size_t n,
                            icx_err *err)
{
    icx_st st = {NULL, NULL};
    int rc = ICX_ENOTFOUND;
    int r = icx_db_prepare(s, "SELECT size, partner, root, time, "
                               "signature, cosignature FROM witnessed WHERE "
                               "partner = ?1 AND cosignature <> '' ORDER BY "
                               "id DESC LIMIT 1", &st);
    if (r == SQLITE_OK) {
        icx_db_bind_text(&st, 1, partner);
        r = icx_sq_step(s, &st);
    }
    if (r == SQLITE_ROW) {
        icx_sq_cp_from_row(c, &st);
        col_copy(sig, n, &st, 5);
        rc = ICX_OK;
    } else if (r != SQLITE_DONE) {
        rc = icx_sq_fail(s, r, "witness", err);
    }
    icx_db_finalize(&st);
    return rc;
}

int icx_store_cosig_accept(icx_store *s, const char *partner,
                           const char *cert, size_t cert_len, const char *text,
                           size_t len, uint64_t *size, icx_err *err)
{
    icx_checkpoint cp;
    icx_buf mine;
    char witness[64], sig[1400];
    size_t signed_len = 0;
    icx_buf_init(&mine, 8192);
    int rc = icx_witness_cosig_parse(witness, sizeof witness, size, sig,
                                     sizeof sig, &signed_len, text, len, err);
    if (rc == ICX_OK && strcmp(witness, partner) != 0)
        rc = icx_err_set(err, ICX_EBADSIG, "a co-signature by %s, not %s",
                         witness, partner);
    if (rc == ICX_OK) {
        rc = icx_store_checkpoint_at(s, *size, &cp, err);
        if (rc == ICX_ENOTFOUND)
            rc = icx_err_set(err, ICX_EBADSIG, "this gateway has no "
                             "checkpoint of size %llu",
                             (unsigned long long)*size);
    }
    /* Over this gateway's own checkpoint, byte for byte. */
    if (rc == ICX_OK)
        rc = icx_witness_cosig_text(&mine, &cp, witness);
    if (rc == ICX_OK && (mine.len != signed_len ||
                         memcmp(mine.data, text, signed_len) != 0))
        rc = icx_err_set(err, ICX_EBADSIG, "not over this gateway's "
                         "checkpoint of size %llu", (unsigned long long)*size);
    if (rc == ICX_OK)
        rc = icx_sig_verify_bytes(cert, cert_len, text, signed_len, sig, err);
    uint64_t have = 0;
    if (rc == ICX_OK && icx_store_cosigned_by(s, witness, &have, err) ==
                            ICX_OK && have >= *size)
        rc = icx_err_set(err, ICX_EEXIST, "%s's co-signature of size %llu "
                         "(or a later one) is kept already", witness,
                         (unsigned long long)*size);
    if (rc == ICX_OK)
        rc = icx_store_cosig_add(s, witness, *size, sig, err);
    icx_buf_free(&mine);
    return rc;
}
