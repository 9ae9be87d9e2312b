/*
 * store_check.c - the store's integrity before it is used: the start-up
 * check of icx_store_check (store.h, docs/STORE.md "Start-up checks").
 *
 * The head file (<store>.head, store_head.c) repeats the last signed
 * checkpoint that is durable in the store, the way a transparency log
 * publishes its signed tree head outside the log.  It is written only
 * after the checkpoint's transaction committed (synchronous=FULL).  A
 * store that later lacks that checkpoint went back in time (a lost WAL
 * tail, an older copy put back, another file in its place) and is
 * refused.
 *
 * The check runs, in order: PRAGMA quick_check (on PostgreSQL a read of
 * every table's heap pages, which the server verifies; a damaged page:
 * stop there); the audit chain streamed once - every record hashes to its leaf
 * and links to the one before, the Merkle root at the last checkpoint's
 * size is the signed root, the signature verifies with the gateway's own
 * certificate; the head file against the store's checkpoints; optionally
 * every stored envelope and receipt against its recorded SHA-256.  Every
 * finding goes into the report; nothing stops at the first one except a
 * damaged page.  Memory stays constant whatever the log's size.
 *
 * The head file is read like any file; the store's own files are never
 * opened here (closing a descriptor of a file SQLite holds drops its
 * locks).  Ownership: the report is the caller's buffer.  Threads: the
 * store's thread.  Failure: ICX_ECORRUPT when the store is refused (err
 * has the first reason), other codes when the check could not run.
 * The top of the store's files: it calls the chain (store_audit.c), the
 * head file (store_head.c) and the plumbing (store_tx.c), never the queues.
 */
#include "store_int.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "util.h"

#define CERT_MAX (256 * 1024)

/* ---- the report ---------------------------------------------------------- */

struct check {
    icx_store *s;
    icx_buf *report;
    int refusals;
    icx_err first;      /* the first refusal */
};

static void say(struct check *k, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void refuse(struct check *k, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void say(struct check *k, const char *fmt, ...)
{
    char line[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    if (k->report != NULL)
        icx_buf_printf(k->report, "ok: %s\n", line);
}

static void refuse(struct check *k, const char *fmt, ...)
{
    char line[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    if (k->refusals++ == 0)
        icx_err_set(&k->first, ICX_ECORRUPT, "%s", line);
    if (k->report != NULL)
        icx_buf_printf(k->report, "refused: %s\n", line);
}

/* ---- pages --------------------------------------------------------------- */

/* The table or index whose b-tree has root page n, for a quick_check line
 * that names "Tree n" (or "Page n", a root page); "" when unknown. */
static void tree_name(char *out, size_t n, icx_store *s, const char *line)
{
    const char *t = strstr(line, "Tree ");
    icx_st st = {0};
    out[0] = '\0';
    if (t == NULL)
        t = strstr(line, "Page "); /* a root page named by itself */
    if (t == NULL)
        return;
    long root = strtol(t + 5, NULL, 10);
    if (root <= 0 ||
        icx_db_prepare(s, "SELECT type || ' ' || name FROM "
                       "sqlite_schema WHERE rootpage = ?1", &st) != SQLITE_OK)
        goto out;
    icx_db_bind_int64(&st, 1, root);
    if (icx_db_step(&st) == SQLITE_ROW)
        col_copy(out, n, &st, 0);
out:
    icx_db_finalize(&st);
}

#define PG_TABLES_MAX 64

/* PostgreSQL verifies each page it reads from disk: its header always, its
 * checksum when the cluster has them (initdb --data-checksums).  There is
 * no quick_check to ask, so every heap page of the store's tables (those
 * of its schema that its role owns: the migrations made them) is read, a
 * sequential scan of each, and a page PostgreSQL refuses (XX001,
 * SQLITE_CORRUPT here) is refused, named by its table.  1 when the
 * pages are sound, 0 when damaged, < 0 (err set) when they could not be
 * read. */
static int check_pages_pg(struct check *k, icx_err *err)
{
    icx_store *s = k->s;
    icx_st st = {0};
    char name[PG_TABLES_MAX][2][160]; /* quoted schema.table, table */
    int n = 0, sound = 1, rc;
    rc = icx_db_prepare(s, "SELECT format('%I.%I', n.nspname, c.relname), "
                        "c.relname FROM pg_class c JOIN pg_namespace n ON "
                        "n.oid = c.relnamespace WHERE c.relkind = 'r' AND "
                        "n.nspname = current_schema() AND "
                        "pg_get_userbyid(c.relowner) = current_user ORDER "
                        "BY c.relname",
                        &st);
    while ((rc == SQLITE_OK || rc == SQLITE_ROW) &&
           (rc = icx_db_step(&st)) == SQLITE_ROW && n < PG_TABLES_MAX) {
        col_copy(name[n][0], sizeof name[n][0], &st, 0);
        col_copy(name[n][1], sizeof name[n][1], &st, 1);
        n++;
    }
    if (rc == SQLITE_ROW)
        rc = icx_err_set(err, ICX_ESTORE, "store %s: more than %d tables",
                         s->path, PG_TABLES_MAX);
    else if (rc != SQLITE_DONE)
        rc = icx_sq_fail(s, rc, "tables", err);
    else
        rc = ICX_OK;
    icx_db_finalize(&st);
    for (int i = 0; rc == ICX_OK && i < n; i++) {
        char sql[200];
        snprintf(sql, sizeof sql, "SELECT count(*) FROM %s", name[i][0]);
        rc = icx_db_prepare(s, sql, &st);
        if (rc == SQLITE_OK)
            rc = icx_db_step(&st);
        if (rc == SQLITE_CORRUPT) {
            const char *why = icx_db_errmsg(s);
            if (strncmp(why, "ERROR:", 6) == 0)
                why += 6 + strspn(why + 6, " ");
            refuse(k, "store %s: damaged page: %s (table %s)", s->path, why,
                   name[i][1]);
            sound = 0;
            rc = ICX_OK;
        } else if (rc != SQLITE_ROW) {
            rc = icx_sq_fail(s, rc, name[i][1], err);
        } else {
            rc = ICX_OK;
        }
        icx_db_finalize(&st);
    }
    if (rc < 0)
        return rc;
    if (sound)
        say(k, "store %s: pages of %d tables read and verified by "
            "PostgreSQL (their checksums too when the cluster has data "
            "checksums)", s->path, n);
    return sound;
}

/* PRAGMA quick_check (on PostgreSQL, check_pages_pg): 1 when the pages are
 * sound, 0 when damaged, < 0 (err set) when the check could not run. */
static int check_pages(struct check *k, icx_err *err)
{
    icx_store *s = k->s;
    icx_st st = {0};
    if (s->pg != NULL)
        return check_pages_pg(k, err);
    int rc = icx_db_prepare(s, "PRAGMA quick_check(20)", &st);
    int sound = 1, rows = 0;
    while (rc == SQLITE_OK || rc == SQLITE_ROW) {
        rc = icx_db_step(&st);
        if (rc != SQLITE_ROW)
            break;
        const char *line = col_str(&st, 0);
        const char *nl = strchr(line, '\n');
        rows++;
        if (strncmp(line, "*** ", 4) == 0 && nl != NULL)
            line = nl + 1; /* "*** in database main ***" */
        if (strcmp(line, "ok") == 0)
            continue;
        /* One finding per line; a row may hold several. */
        while (*line != '\0') {
            char one[512], name[96];
            size_t n = strcspn(line, "\n");
            snprintf(one, sizeof one, "%.*s", (int)n, line);
            tree_name(name, sizeof name, s, one);
            refuse(k, "store %s: damaged page: %s%s%s%s (PRAGMA quick_check)",
                   s->path, one, name[0] ? " (" : "", name,
                   name[0] ? ")" : "");
            line += n + (line[n] == '\n');
        }
        sound = 0;
    }
    if (rc != SQLITE_DONE && rc != SQLITE_OK && sound) {
        refuse(k, "store %s: damaged: PRAGMA quick_check failed: %s",
               s->path, icx_db_errmsg(s));
        sound = 0;
    } else if (rows == 0) {
        refuse(k, "store %s: PRAGMA quick_check gave no answer", s->path);
        sound = 0;
    }
    icx_db_finalize(&st);
    if (sound)
        say(k, "store %s: pages intact (PRAGMA quick_check)", s->path);
    return sound;
}

/* ---- the audit chain ----------------------------------------------------- */

struct chain {
    int64_t expect;
    char prev[65];
    icx_merkle m;
    icx_buf line;
    uint64_t at[2];     /* sizes whose roots are wanted */
    char root[2][65];   /* their roots as recomputed ("" until reached) */
    int64_t bad_seq;
    char why[256];
};

static int chain_record(void *ctx, const icx_audit_rec *r)
{
    struct chain *c = ctx;
    unsigned char leaf[ICX_HASH_LEN];
    if (r->seq != c->expect) {
        c->bad_seq = c->expect;
        snprintf(c->why, sizeof c->why, "record %lld is missing (the next "
                 "stored is %lld)", (long long)c->expect, (long long)r->seq);
        return 1;
    }
    if (strcmp(r->prev, c->prev) != 0) {
        c->bad_seq = r->seq;
        snprintf(c->why, sizeof c->why, "record %lld does not link to "
                 "record %lld", (long long)r->seq, (long long)r->seq - 1);
        return 1;
    }
#ifdef ICX_AUDIT_PLAIN
    (void)leaf; /* benchmark build: records are not hashed */
#else
    icx_buf_reset(&c->line);
    if (icx_audit_line(&c->line, r) < 0) {
        c->bad_seq = -1;
        return 1;
    }
    icx_audit_leaf(leaf, c->line.data, c->line.len);
    char hex[65];
    icx_hex(hex, leaf, ICX_HASH_LEN);
    if (strcmp(hex, r->hash) != 0) {
        c->bad_seq = r->seq;
        snprintf(c->why, sizeof c->why, "record %lld: its content does not "
                 "match its hash", (long long)r->seq);
        return 1;
    }
#endif
    if (icx_unhex(leaf, r->hash, ICX_HASH_LEN) < 0)
        memset(leaf, 0, sizeof leaf);
    icx_merkle_append(&c->m, leaf);
    for (int i = 0; i < 2; i++)
        if (c->m.size == c->at[i]) {
            unsigned char root[ICX_HASH_LEN];
            icx_merkle_root(&c->m, root);
            icx_hex(c->root[i], root, ICX_HASH_LEN);
        }
    memcpy(c->prev, r->hash, sizeof c->prev);
    c->expect++;
    return 0;
}

/* The chain and the store's last checkpoint; the root at head_size too. */
static int check_chain(struct check *k, const icx_checkpoint *cp, int have_cp,
                       const char *cert, size_t cert_len, uint64_t head_size,
                       char head_root[65], icx_err *err)
{
    icx_store *s = k->s;
    struct chain c;
    memset(&c, 0, sizeof c);
    c.expect = 1;
    memcpy(c.prev, ZERO_HASH, sizeof c.prev);
    icx_merkle_init(&c.m);
    icx_buf_init(&c.line, 4096);
    c.at[0] = have_cp ? cp->size : 0;
    c.at[1] = head_size;
    int rc = icx_store_audit_scan(s, 1, 0, chain_record, &c, err);
    icx_buf_free(&c.line);
    memcpy(head_root, c.root[1], 65);
    if (rc < 0)
        return rc;
    if (c.bad_seq < 0)
        return icx_err_set(err, ICX_ENOMEM, "out of memory");
    uint64_t n = c.m.size;
    if (rc > 0) {
        refuse(k, "store %s: audit chain damaged at record %lld: %s "
               "(icx audit verify names the kind)", s->path,
               (long long)c.bad_seq, c.why);
        return ICX_OK;
    }
    if (!have_cp) {
        say(k, "store %s: audit chain of %llu records intact; no signed "
            "checkpoint yet", s->path, (unsigned long long)n);
        return ICX_OK;
    }
    int sig = icx_checkpoint_verify(cp, cert, cert_len, err);
    if (sig == ICX_ECRYPTO || sig == ICX_ENOMEM)
        return sig;
    if (sig < 0)
        refuse(k, "store %s: the last checkpoint (size %llu, %s) does not "
               "verify with this gateway's certificate: %s", s->path,
               (unsigned long long)cp->size, cp->time, err->msg);
    if (cp->size > n)
        refuse(k, "store %s: truncated: the log ends at record %llu but its "
               "last signed checkpoint (%s) covers %llu records", s->path,
               (unsigned long long)n, cp->time,
               (unsigned long long)cp->size);
    else if (strcmp(c.root[0], cp->root) != 0)
        refuse(k, "store %s: records up to %llu were rewritten: their root "
               "is %s, the checkpoint signed at %s says %s", s->path,
               (unsigned long long)cp->size, c.root[0], cp->time, cp->root);
    else if (sig == ICX_OK)
        say(k, "store %s: audit chain of %llu records intact; the last "
            "checkpoint (size %llu, %s) is signed by this gateway and "
            "matches them", s->path, (unsigned long long)n,
            (unsigned long long)cp->size, cp->time);
    return ICX_OK;
}

/* ---- the head file ------------------------------------------------------- */

struct find_cp {
    uint64_t size;
    icx_checkpoint c;
    int found;
};

static int find_cp(void *ctx, const icx_checkpoint *c)
{
    struct find_cp *f = ctx;
    if (c->size == f->size) {
        f->c = *c;
        f->found = 1;
    }
    return 0;
}

static int check_head(struct check *k, const char *hpath, int head_rc,
                      const icx_err *head_err, const icx_checkpoint *head, const icx_checkpoint *cp,
                      int have_cp, const char *head_root, const char *cert,
                      size_t cert_len, unsigned flags, icx_err *err)
{
    icx_store *s = k->s;
    if (head_rc == ICX_ENOTFOUND) {
        if (!have_cp) {
            say(k, "%s: no head file yet (icx serve writes one for the "
                "empty log)", hpath);
        } else if (flags & ICX_STORE_CHECK_ADOPT_HEAD) {
            if (k->refusals > 0) {
                refuse(k, "%s: not adopted: the store has damage of its own",
                       hpath);
                return ICX_OK;
            }
            int rc = icx_sq_head_write(s, cp, err);
            if (rc < 0)
                return rc;
            say(k, "%s: adopted the store's last checkpoint (size %llu, %s) "
                "as its head", hpath, (unsigned long long)cp->size, cp->time);
        } else {
            refuse(k, "head file %s is missing, but the store holds signed "
                   "checkpoints "
                   "(the last: size %llu, %s): a store put in place of "
                   "another looks like this; once it is known to be the "
                   "latest, adopt it with `icx store check --adopt-head`",
                   hpath, (unsigned long long)cp->size, cp->time);
        }
        return ICX_OK;
    }
    if (head_rc == ICX_ECORRUPT) {
        refuse(k, "head file %s", head_err->msg);
        return ICX_OK;
    }
    if (head_rc < 0)
        return head_rc;
    int sig = icx_checkpoint_verify(head, cert, cert_len, err);
    if (sig == ICX_ECRYPTO || sig == ICX_ENOMEM)
        return sig;
    if (sig < 0) {
        refuse(k, "%s: its checkpoint (size %llu) does not verify with this "
               "gateway's certificate: %s", hpath,
               (unsigned long long)head->size, err->msg);
        return ICX_OK;
    }
    if (head->size == 0) {
        /* The empty log, signed when the store was new: every store holds
         * it; only its root must be the root of no records. */
        icx_merkle m;
        unsigned char r[ICX_HASH_LEN];
        char hex[2 * ICX_HASH_LEN + 1];
        icx_merkle_init(&m);
        icx_merkle_root(&m, r);
        icx_hex(hex, r, ICX_HASH_LEN);
        if (strcmp(head->root, hex) != 0)
            refuse(k, "%s: its checkpoint of size 0 has the root %s, not the "
                   "root of an empty log", hpath, head->root);
        else
            say(k, "%s: names the empty log, signed %s%s", hpath, head->time,
                have_cp ? "; the store's checkpoints follow it" : "");
        return ICX_OK;
    }
    if (!have_cp || head->size > cp->size) {
        char have[160];
        if (have_cp)
            snprintf(have, sizeof have, "the store's last checkpoint is "
                     "size %llu, signed %s", (unsigned long long)cp->size,
                     cp->time);
        else
            snprintf(have, sizeof have, "the store has no checkpoint at all");
        refuse(k, "store %s went back in time: its head file names the "
               "checkpoint of size %llu signed %s, %s: what was committed "
               "after it is gone (a lost WAL tail, an older copy or another "
               "file in its place)", s->path,
               (unsigned long long)head->size, head->time, have);
        return ICX_OK;
    }
    struct find_cp f;
    memset(&f, 0, sizeof f);
    f.size = head->size;
    int rc = icx_store_checkpoints(s, head->size, find_cp, &f, err);
    if (rc < 0)
        return rc;
    if (!f.found || strcmp(f.c.root, head->root) != 0 ||
        strcmp(f.c.time, head->time) != 0 ||
        strcmp(f.c.signature, head->signature) != 0 ||
        strcmp(head_root, head->root) != 0) {
        refuse(k, "store %s was replaced: its head file names the checkpoint "
               "of size %llu signed %s with root %s; the store %s", s->path,
               (unsigned long long)head->size, head->time, head->root,
               !f.found ? "has no checkpoint of that size"
                        : "has another at that size, or other records under it");
        return ICX_OK;
    }
    say(k, "%s: the store holds its checkpoint (size %llu, %s)%s", hpath,
        (unsigned long long)head->size, head->time,
        head->size < cp->size ? "; later checkpoints follow it" : "");
    return ICX_OK;
}

/* ---- stored bytes -------------------------------------------------------- */

static const struct {
    const char *table, *sql;
} byte_tables[] = {
    {"outbox", "SELECT o.message_id, o.next_hop, o.sha256, e.envelope FROM "
               "outbox o JOIN outbox_envelope e ON e.outbox_id = o.id "
               "ORDER BY o.id"},
    {"inbox", "SELECT message_id, sender, sha256, envelope FROM inbox "
              "ORDER BY id"},
    {"receipts", "SELECT message_id, issuer, sha256, envelope FROM receipts "
                 "ORDER BY id"},
};

static int check_bytes(struct check *k, icx_err *err)
{
    icx_store *s = k->s;
    uint64_t total = 0, damaged = 0;
    for (size_t t = 0; t < sizeof byte_tables / sizeof byte_tables[0]; t++) {
        icx_st st = {0};
        int rc = icx_db_prepare(s, byte_tables[t].sql, &st);
        while ((rc == SQLITE_OK || rc == SQLITE_ROW) &&
               (rc = icx_db_step(&st)) == SQLITE_ROW) {
            char got[65];
            const void *p = icx_db_col_blob(&st, 3);
            size_t len = icx_db_col_bytes(&st, 3);
            total++;
            if (icx_sha256_hex(got, p != NULL ? p : "", len) < 0) {
                icx_db_finalize(&st);
                return icx_err_set(err, ICX_ECRYPTO, "SHA-256 failed");
            }
            if (strcmp(got, col_str(&st, 2)) == 0)
                continue;
            damaged++;
            refuse(k, "store %s: %s message %s (partner %s): stored bytes "
                   "damaged: SHA-256 %s, recorded %s", s->path,
                   byte_tables[t].table, col_str(&st, 0), col_str(&st, 1), got,
                   col_str(&st, 2));
        }
        if (rc != SQLITE_DONE) {
            rc = icx_sq_fail(s, rc, byte_tables[t].table, err);
            icx_db_finalize(&st);
            return rc;
        }
        icx_db_finalize(&st);
    }
    if (damaged == 0)
        say(k, "store %s: %llu stored envelopes and receipts match their "
            "SHA-256", s->path, (unsigned long long)total);
    return ICX_OK;
}

/* ---- time-stamp tokens ---------------------------------------------------- */

/* Each stored token is over its checkpoint's text (imprint) and says the
 * genTime stored beside it.  Its signature needs the TSA's CA, which the
 * store does not know: `icx audit show --checkpoints` checks it with the
 * configured one. */
static int check_stamps(struct check *k, icx_err *err)
{
    icx_store *s = k->s;
    icx_st st = {NULL, NULL};
    icx_buf text;
    uint64_t total = 0, bad = 0;
    icx_buf_init(&text, 4096);
    int rc = icx_db_prepare(s, "SELECT t.size, t.gen_time, t.token, "
                                "c.size, c.gateway, c.root, c.time, "
                                "c.signature FROM checkpoint_stamps t LEFT "
                                "JOIN checkpoints c ON c.size = t.size ORDER "
                                "BY t.size", &st);
    while ((rc == SQLITE_OK || rc == SQLITE_ROW) &&
           (rc = icx_db_step(&st)) == SQLITE_ROW) {
        long long size = icx_db_col_int64(&st, 0);
        icx_checkpoint c;
        icx_tsa_stamp info;
        icx_err terr;
        total++;
        if (icx_db_col_null(&st, 3)) {
            bad++;
            refuse(k, "store %s: time-stamp of checkpoint %lld: no such "
                   "checkpoint", s->path, size);
            continue;
        }
        memset(&c, 0, sizeof c);
        c.size = (uint64_t)icx_db_col_int64(&st, 3);
        col_copy(c.gateway, sizeof c.gateway, &st, 4);
        col_copy(c.root, sizeof c.root, &st, 5);
        col_copy(c.time, sizeof c.time, &st, 6);
        col_copy(c.signature, sizeof c.signature, &st, 7);
        icx_buf_reset(&text);
        if (icx_checkpoint_text(&text, &c) < 0) {
            rc = icx_err_set(err, ICX_ENOMEM, "out of memory");
            break;
        }
        icx_err_clear(&terr);
        const void *tok = icx_db_col_blob(&st, 2);
        size_t len = icx_db_col_bytes(&st, 2);
        if (icx_tsa_token_check(&info, tok ? tok : "", len, text.data,
                                text.len, NULL, &terr) < 0) {
            bad++;
            refuse(k, "store %s: time-stamp of checkpoint %lld: %s", s->path,
                   size, terr.msg);
        } else if (strcmp(info.gen_time, col_str(&st, 1)) != 0) {
            bad++;
            refuse(k, "store %s: time-stamp of checkpoint %lld: genTime %s, "
                   "recorded %s", s->path, size, info.gen_time,
                   col_str(&st, 1));
        }
    }
    if (rc == SQLITE_DONE)
        rc = ICX_OK;
    else if (rc > 0)
        rc = icx_sq_fail(s, rc, "time-stamps", err);
    icx_db_finalize(&st);
    icx_buf_free(&text);
    if (rc == ICX_OK && bad == 0)
        say(k, "store %s: %llu time-stamp tokens are over their checkpoints",
            s->path, (unsigned long long)total);
    return rc;
}

/* ---- the check ----------------------------------------------------------- */

int icx_store_check(icx_store *s, const char *cert_path, unsigned flags,
                    icx_buf *report, icx_err *err)
{
    struct check k = {s, report, 0, {0}};
    char *cert = NULL;
    size_t cert_len = 0;
    char hpath[PATH_MAX_STORE + 8], head_root[65] = "";
    icx_checkpoint cp, head;
    icx_err herr;
    int have_cp = 0, head_rc, rc;
    icx_sq_head_path(hpath, sizeof hpath, s);
    icx_err_clear(&k.first);
    icx_err_clear(&herr);
    if (s->in_tx)
        return icx_err_set(err, ICX_EINVAL, "store %s: check inside a "
                           "transaction", s->path);
    rc = check_pages(&k, err);
    if (rc < 0)
        return rc;
    if (rc == 0)
        goto verdict; /* nothing read from a damaged file is worth a word */
    rc = icx_file_read(&cert, &cert_len, cert_path, CERT_MAX, err);
    if (rc < 0)
        goto out;
    /* The head file first, then the store: beside a running daemon, a
     * checkpoint named in the head file is committed before the file is
     * written, so the store read afterwards holds it. */
    head_rc = hpath[0] != '\0' ? icx_sq_head_read(&head, hpath, &herr)
                                : ICX_ENOTFOUND;
    if (head_rc < 0 && head_rc != ICX_ENOTFOUND && head_rc != ICX_ECORRUPT) {
        rc = icx_err_set(err, head_rc, "%s", herr.msg);
        goto out;
    }
    rc = icx_store_checkpoint_last(s, &cp, err);
    if (rc < 0 && rc != ICX_ENOTFOUND)
        goto out;
    have_cp = rc == ICX_OK;
    rc = check_chain(&k, &cp, have_cp, cert, cert_len,
                     head_rc == ICX_OK ? head.size : 0, head_root, err);
    if (rc < 0)
        goto out;
    if (hpath[0] == '\0') {
        say(&k, "store %s: no head file is kept for it (PostgreSQL without "
            "store.head; docs/STORE.md)", s->path);
        rc = ICX_OK;
    } else {
        rc = check_head(&k, hpath, head_rc, &herr, &head, &cp, have_cp,
                        head_root, cert, cert_len, flags, err);
    }
    if (rc < 0)
        goto out;
    if (flags & ICX_STORE_CHECK_ENVELOPES) {
        rc = check_bytes(&k, err);
        if (rc == ICX_OK)
            rc = check_stamps(&k, err);
        if (rc < 0)
            goto out;
    }
verdict:
    rc = ICX_OK;
    if (k.refusals > 0 && report != NULL) {
        rc = icx_err_set(err, ICX_ECORRUPT, "%s", k.first.msg);
    } else if (k.refusals > 0) {
        /* The daemon prints this one line: say where the rest is. */
        rc = icx_err_set(err, ICX_ECORRUPT, "%s%s; refused: `icx store "
                         "check` lists every finding, docs/STORE.md says "
                         "what to do", k.first.msg,
                         k.refusals > 1 ? " (and more)" : "");
    }
out:
    free(cert);
    return rc;
}
