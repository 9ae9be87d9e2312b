/*
 * store_copy.c - icx_store_copy: every row of one store into another,
 * whatever their engines (SQLite to PostgreSQL for `icx store migrate`),
 * through the statement seam of store_int.h.
 *
 * Rows go as they are: ids and seqs kept (so MessageIds, the replay
 * cache, receipts and the audit chain mean the same), text as text, bytes
 * as bytes, NULL as NULL.  The source is read inside one transaction of
 * its own (on SQLite BEGIN IMMEDIATE: no writer meanwhile) and the target
 * written inside one; a failure rolls both back and the target stays
 * empty.  After the commit, the target's chain is verified (every record,
 * every checkpoint) and its last checkpoint and row counts compared with
 * the source's.
 *
 * Ownership: the caller owns both stores.  Threads: the caller's.
 * Failure: ICX_EEXIST (target not empty), ICX_EBADSIG (the copy does not
 * verify), the stores' own codes.
 */
#include "store_int.h"

#include <stdio.h>
#include <string.h>

#include "log.h"

/* Column kinds: i integer, t text, b bytes; every column may be NULL. */
static const struct {
    const char *table, *cols, *kinds, *order;
} tables[] = {
    {"outbox", "id, message_id, next_hop, recipient, sender, category, "
               "sha256, state, attempts, created_at, next_attempt_at, "
               "updated_at, reason", "itttttttiiiit", "id"},
    {"outbox_envelope", "outbox_id, envelope", "ib", "outbox_id"},
    {"inbox", "id, sender, message_id, recipient, category, peer, sha256, "
              "state, reason, received_at, replay_held, envelope, receipt",
     "ittttttttiibb", "id"},
    {"receipts", "id, message_id, issuer, positive, reason, hop, "
                 "received_at, sha256, envelope", "ittitiitb", "id"},
    {"audit", "seq, ts, event, message_id, partner, detail, prev_hash, hash",
     "ittttttt", "seq"},
    {"checkpoints", "size, gateway, root, time, signature", "itttt", "size"},
    {"checkpoint_stamps", "size, gen_time, gen_epoch, serial, policy, "
                          "stamped_at, token", "ititttb", "size"},
    {"witnessed", "id, partner, size, root, time, signature, seen_at, "
                  "verdict, reason, cosignature", "itittttttt", "id"},
    {"cosignatures", "id, witness, size, signature, received_at", "ititt",
     "id"},
};
#define TABLES (sizeof tables / sizeof tables[0])

static int count_rows(icx_store *s, const char *table, int64_t *n,
                      icx_err *err)
{
    char sql[128];
    icx_st st;
    snprintf(sql, sizeof sql, "SELECT count(*) FROM %s", table);
    int rc = icx_db_prepare(s, sql, &st);
    if (rc == SQLITE_OK)
        rc = icx_db_step(&st);
    if (rc == SQLITE_ROW) {
        *n = icx_db_col_int64(&st, 0);
        rc = ICX_OK;
    } else {
        rc = icx_sq_fail(s, rc, table, err);
    }
    icx_db_finalize(&st);
    return rc;
}

static int copy_table(icx_store *to, icx_store *from, size_t t, int64_t *n,
                      icx_err *err)
{
    char sel[512], ins[640], marks[96];
    size_t ncol = strlen(tables[t].kinds), m = 0;
    icx_st src, dst;
    int rc, step;
    *n = 0;
    marks[0] = '\0';
    for (size_t i = 0; i < ncol; i++)
        m += (size_t)snprintf(marks + m, sizeof marks - m, "%s?%zu",
                              i ? ", " : "", i + 1);
    snprintf(sel, sizeof sel, "SELECT %s FROM %s ORDER BY %s",
             tables[t].cols, tables[t].table, tables[t].order);
    snprintf(ins, sizeof ins, "INSERT INTO %s (%s) VALUES (%s)",
             tables[t].table, tables[t].cols, marks);
    rc = icx_db_prepare(from, sel, &src);
    if (rc != SQLITE_OK) {
        icx_db_finalize(&src);
        return icx_sq_fail(from, rc, tables[t].table, err);
    }
    rc = icx_db_prepare(to, ins, &dst);
    if (rc != SQLITE_OK) {
        rc = icx_sq_fail(to, rc, tables[t].table, err);
        goto out;
    }
    while ((step = icx_sq_step(from, &src)) == SQLITE_ROW) {
        for (size_t i = 0; i < ncol; i++) {
            int c = (int)i;
            if (icx_db_col_null(&src, c))
                icx_db_bind_null(&dst, c + 1);
            else if (tables[t].kinds[i] == 'i')
                icx_db_bind_int64(&dst, c + 1, icx_db_col_int64(&src, c));
            else if (tables[t].kinds[i] == 't')
                icx_db_bind_text(&dst, c + 1, icx_db_col_text(&src, c));
            else
                icx_db_bind_blob(&dst, c + 1, icx_db_col_blob(&src, c),
                                 icx_db_col_bytes(&src, c));
        }
        rc = icx_sq_step(to, &dst);
        done(&dst);
        if (rc != SQLITE_DONE) {
            rc = icx_sq_fail(to, rc, tables[t].table, err);
            goto out;
        }
        (*n)++;
    }
    rc = step == SQLITE_DONE ? ICX_OK
                             : icx_sq_fail(from, step, tables[t].table, err);
out:
    icx_db_finalize(&src);
    icx_db_finalize(&dst);
    return rc;
}

/* PostgreSQL: the id sequences continue after the copied ids. */
static int reseed(icx_store *to, icx_err *err)
{
    static const char *const sql[] = {
        "SELECT setval('outbox_id_seq', (SELECT COALESCE(max(id), 0) + 1 "
        "FROM outbox), false)",
        "SELECT setval('inbox_id_seq', (SELECT COALESCE(max(id), 0) + 1 "
        "FROM inbox), false)",
        "SELECT setval('receipts_id_seq', (SELECT COALESCE(max(id), 0) + 1 "
        "FROM receipts), false)",
        "SELECT setval('witnessed_id_seq', (SELECT COALESCE(max(id), 0) + 1 "
        "FROM witnessed), false)",
        "SELECT setval('cosignatures_id_seq', (SELECT COALESCE(max(id), 0) + "
        "1 FROM cosignatures), false)",
    };
    for (size_t i = 0; to->pg != NULL && i < sizeof sql / sizeof sql[0];
         i++) {
        icx_st st;
        int rc = icx_db_prepare(to, sql[i], &st);
        if (rc == SQLITE_OK)
            rc = icx_db_step(&st);
        icx_db_finalize(&st);
        if (rc != SQLITE_ROW)
            return icx_sq_fail(to, rc, "setting id sequences", err);
    }
    return ICX_OK;
}

int icx_store_copy(icx_store *to, icx_store *from, const char *cert_pem,
                   size_t cert_len, icx_buf *report, icx_err *err)
{
    int64_t counts[TABLES], n = 0;
    icx_checkpoint cf, ct;
    int rc;
    for (size_t t = 0; t < TABLES; t++) {
        rc = count_rows(to, tables[t].table, &n, err);
        if (rc < 0)
            return rc;
        if (n > 0)
            return icx_err_set(err, ICX_EEXIST, "store %s is not empty: its "
                               "table %s holds %lld rows; migrate into a new "
                               "store", to->path, tables[t].table,
                               (long long)n);
    }
    rc = icx_store_begin(from, err);
    if (rc < 0)
        return rc;
    rc = icx_store_begin(to, err);
    if (rc < 0) {
        icx_store_rollback(from);
        return rc;
    }
    for (size_t t = 0; rc == ICX_OK && t < TABLES; t++)
        rc = copy_table(to, from, t, &counts[t], err);
    if (rc == ICX_OK)
        rc = reseed(to, err);
    icx_store_rollback(from);
    if (rc < 0) {
        icx_store_rollback(to);
        return rc;
    }
    /* The target's chain tail is read again at its next transaction:
     * these records were written behind the store's own append. */
    to->data_version = -1;
    to->last_seq = 0;
    rc = icx_store_commit(to, err);
    if (rc < 0)
        return rc;
    rc = icx_sq_chain_load(to, "reading the copied chain", err);
    for (size_t t = 0; rc == ICX_OK && report != NULL && t < TABLES; t++)
        icx_buf_printf(report, "copied: %s %lld rows\n", tables[t].table,
                       (long long)counts[t]);
    /* The copy verifies on its own and ends where the source ends. */
    icx_audit_report rep;
    if (rc == ICX_OK)
        rc = icx_store_audit_verify_with(to, cert_pem, cert_len, &rep, err);
    for (size_t t = 0; rc == ICX_OK && t < TABLES; t++) {
        rc = count_rows(to, tables[t].table, &n, err);
        if (rc == ICX_OK && n != counts[t])
            rc = icx_err_set(err, ICX_EBADSIG, "store %s: table %s holds "
                             "%lld rows after the copy, want %lld", to->path,
                             tables[t].table, (long long)n,
                             (long long)counts[t]);
    }
    if (rc == ICX_OK) {
        int a = icx_store_checkpoint_last(from, &cf, err);
        int b = a == ICX_OK || a == ICX_ENOTFOUND
                    ? icx_store_checkpoint_last(to, &ct, err)
                    : a;
        if ((a != ICX_OK && a != ICX_ENOTFOUND) ||
            (b != ICX_OK && b != ICX_ENOTFOUND))
            rc = a < 0 && a != ICX_ENOTFOUND ? a : b;
        else if (a != b || (a == ICX_OK &&
                            (cf.size != ct.size ||
                             strcmp(cf.root, ct.root) != 0)))
            rc = icx_err_set(err, ICX_EBADSIG, "store %s: its last "
                             "checkpoint differs from the source's",
                             to->path);
    }
    if (rc == ICX_OK && report != NULL)
        icx_buf_printf(report, "ok: %llu audit records and %llu signed "
                       "checkpoints verified in %s\n",
                       (unsigned long long)rep.records,
                       (unsigned long long)rep.checkpoints, to->path);
    return rc;
}
