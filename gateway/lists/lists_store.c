/*
 * lists_store.c - the lists store: a SQLite file of its own beside the
 * broker's store (never tables in it), WAL, synchronous=FULL, numbered
 * migrations, mode 0600, statements prepared once at open.
 *
 * Publisher tables: pub_list (one row per list: session, head serial, the
 * oldest serial deltas start from), pub_serial (one row per serial: counts,
 * digest, source file), pub_version (every entry version: the serial that
 * added it and the one that removed it, with the reason; the list at
 * serial S is the versions with added <= S < removed), pub_change (the
 * entries each serial touched: its delta; none for serial 1, since a
 * partner without a serial gets a snapshot), pub_partner (what each partner
 * last asked for).  Subscriber tables: sub (one local copy per partner
 * and list: position, transfer in progress, pull bookkeeping), sub_entry
 * (entries per generation: a snapshot fills a new generation and switches
 * to it when verified),
 * Every table is keyed by the canonical line, the order of the digest
 * and of the pages, so a snapshot is written in key order on both sides
 * (appends, not random inserts: import and snapshot cost grow linearly). sub_stage (a delta's pages until its last one).
 * event: the lists' own hash-chained log.  http_doc: the signed documents
 * of the HTTPS pull (notification, snapshot and delta pages) per partner
 * and list, kept until the head moves past them (lists_rrdp.c).
 *
 * Durability: a serial is committed (FULL) before any partner can be told
 * about it, so a crash never reuses a serial number for other content.
 *
 * Threads: one thread per connection.  Several processes share the file
 * (an import next to the running daemon): writers wait up to the busy
 * timeout.  Failure: SQLITE_FULL -> ICX_EFULL, busy -> ICX_EAGAIN, else
 * ICX_ESTORE, messages name the file and the operation.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>

#include "lists_int.h"
#include "util.h"

/* Migration N is migrations[N - 1].  Append only. */
static const char *const migrations[] = {
    /* 1: publisher and subscriber tables, event log */
    "CREATE TABLE pub_list ("
    " list_id TEXT PRIMARY KEY, kind TEXT NOT NULL, session TEXT NOT NULL,"
    " head INTEGER NOT NULL, min_serial INTEGER NOT NULL,"
    " max_entry INTEGER NOT NULL, created_at INTEGER NOT NULL);"
    "CREATE TABLE pub_serial ("
    " list_id TEXT NOT NULL, serial INTEGER NOT NULL, session TEXT NOT NULL,"
    " created_at INTEGER NOT NULL, added INTEGER NOT NULL,"
    " removed INTEGER NOT NULL, changed INTEGER NOT NULL,"
    " count INTEGER NOT NULL, digest TEXT NOT NULL, source TEXT,"
    " source_sha256 TEXT, user TEXT, PRIMARY KEY (list_id, session, serial));"
    "CREATE TABLE pub_version ("
    " list_id TEXT NOT NULL, line TEXT NOT NULL, added INTEGER NOT NULL,"
    " removed INTEGER, reason TEXT, category TEXT, detected TEXT NOT NULL,"
    " PRIMARY KEY (list_id, line, added)) WITHOUT ROWID;"
    "CREATE INDEX pub_version_gone ON pub_version (list_id, removed)"
    " WHERE removed IS NOT NULL;"
    "CREATE TABLE pub_change ("
    " list_id TEXT NOT NULL, serial INTEGER NOT NULL, line TEXT NOT NULL,"
    " PRIMARY KEY (list_id, serial, line)) WITHOUT ROWID;"
    "CREATE TABLE pub_partner ("
    " list_id TEXT NOT NULL, partner TEXT NOT NULL, session TEXT,"
    " serial INTEGER, transfer_to INTEGER, page INTEGER, pages INTEGER,"
    " requests INTEGER NOT NULL, refusals INTEGER NOT NULL,"
    " last_request_at INTEGER, last_answer TEXT,"
    " PRIMARY KEY (list_id, partner));"
    "CREATE TABLE sub ("
    " id INTEGER PRIMARY KEY, partner TEXT NOT NULL, list_id TEXT NOT NULL,"
    " kind TEXT, session TEXT, serial INTEGER NOT NULL DEFAULT 0,"
    " digest TEXT, count INTEGER NOT NULL DEFAULT 0,"
    " gen INTEGER NOT NULL DEFAULT 0, next_gen INTEGER NOT NULL DEFAULT 1,"
    " gc_gen INTEGER NOT NULL DEFAULT 0,"
    " t_session TEXT, t_from INTEGER, t_to INTEGER, t_snapshot INTEGER,"
    " t_page INTEGER, t_pages INTEGER, t_gen INTEGER,"
    " pull_seq INTEGER NOT NULL DEFAULT 0,"
    " done_seq INTEGER NOT NULL DEFAULT 0,"
    " retries INTEGER NOT NULL DEFAULT 0,"
    " state TEXT NOT NULL DEFAULT 'idle', detail TEXT,"
    " requested_at INTEGER, last_ok_at INTEGER, last_page_at INTEGER,"
    " pages INTEGER NOT NULL DEFAULT 0, head_seen INTEGER NOT NULL DEFAULT 0,"
    " last_snapshot INTEGER NOT NULL DEFAULT 0,"
    " UNIQUE (partner, list_id));"
    "CREATE TABLE sub_entry ("
    " sub_id INTEGER NOT NULL, gen INTEGER NOT NULL, line TEXT NOT NULL,"
    " category TEXT, detected TEXT, PRIMARY KEY (sub_id, gen, line))"
    " WITHOUT ROWID;"
    "CREATE TABLE sub_stage ("
    " sub_id INTEGER NOT NULL, line TEXT NOT NULL, op TEXT NOT NULL,"
    " reason TEXT, category TEXT, detected TEXT,"
    " PRIMARY KEY (sub_id, line)) WITHOUT ROWID;"
    "CREATE TABLE event ("
    " seq INTEGER PRIMARY KEY, at INTEGER NOT NULL, event TEXT NOT NULL,"
    " list_id TEXT, partner TEXT, detail TEXT, prev TEXT NOT NULL,"
    " hash TEXT NOT NULL);",
    /* 2: the documents of the HTTPS pull (lists_rrdp.c), per partner */
    "CREATE TABLE http_doc ("
    " list_id TEXT NOT NULL, partner TEXT NOT NULL, name TEXT NOT NULL,"
    " session TEXT NOT NULL, serial INTEGER NOT NULL, kind TEXT NOT NULL,"
    " page INTEGER NOT NULL, pages INTEGER NOT NULL, etag TEXT NOT NULL,"
    " message_id TEXT NOT NULL, body BLOB NOT NULL,"
    " created_at INTEGER NOT NULL,"
    " UNIQUE (list_id, partner, name));",
};
#define MIGRATIONS ((int)(sizeof migrations / sizeof migrations[0]))

static const char *const sql[LS__COUNT] = {
    [LS_BEGIN] = "BEGIN IMMEDIATE",
    [LS_COMMIT] = "COMMIT",
    [LS_ROLLBACK] = "ROLLBACK",
    [LS_LIST_GET] = "SELECT kind, session, head, min_serial, max_entry"
                    " FROM pub_list WHERE list_id = ?1",
    [LS_LIST_INSERT] = "INSERT INTO pub_list (list_id, kind, session, head,"
                       " min_serial, max_entry, created_at)"
                       " VALUES (?1, ?2, ?3, 0, 0, 0, ?4)",
    [LS_LIST_HEAD] = "UPDATE pub_list SET head = ?2, min_serial = ?3,"
                     " max_entry = ?4 WHERE list_id = ?1",
    [LS_SERIAL_GET] = "SELECT session, created_at, added, removed, changed,"
                      " count, digest FROM pub_serial"
                      " WHERE list_id = ?1 AND session = ?2 AND serial = ?3",
    [LS_SERIAL_INSERT] = "INSERT INTO pub_serial VALUES"
                         " (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
    [LS_SNAP_PAGE] = "SELECT line, category, detected FROM pub_version"
                     " WHERE list_id = ?1 AND line > ?2 AND added <= ?3"
                     " AND (removed IS NULL OR removed > ?3)"
                     " ORDER BY line LIMIT ?4",
    [LS_DELTA_KEYS] = "SELECT DISTINCT line FROM pub_change"
                      " WHERE list_id = ?1 AND serial > ?2 AND serial <= ?3"
                      " AND line > ?4 ORDER BY line LIMIT ?5",
    [LS_DELTA_COUNT] = "SELECT COUNT(DISTINCT line) FROM pub_change"
                       " WHERE list_id = ?1 AND serial > ?2 AND serial <= ?3",
    [LS_KEY_VERSIONS] = "SELECT added, removed, reason, line, category,"
                        " detected FROM pub_version"
                        " WHERE list_id = ?1 AND line = ?2 ORDER BY added",
    [LS_CUR_LINES] = "SELECT line FROM pub_version"
                     " WHERE list_id = ?1 AND removed IS NULL ORDER BY line",
    [LS_PARTNER_SEEN] =
        "INSERT INTO pub_partner (list_id, partner, session, serial,"
        " transfer_to, page, pages, requests, refusals, last_request_at,"
        " last_answer) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, 1, ?8, ?9, ?10)"
        " ON CONFLICT (list_id, partner) DO UPDATE SET"
        " session = excluded.session, serial = excluded.serial,"
        " transfer_to = excluded.transfer_to, page = excluded.page,"
        " pages = excluded.pages, requests = requests + 1,"
        " refusals = refusals + excluded.refusals,"
        " last_request_at = excluded.last_request_at,"
        " last_answer = excluded.last_answer",
    [LS_SUB_GET] = "SELECT id, kind, session, serial, digest, count, gen,"
                   " next_gen, t_session, t_from, t_to, t_snapshot, t_page,"
                   " t_pages, t_gen, pull_seq, done_seq, retries, state,"
                   " detail, requested_at, last_ok_at, last_page_at, pages,"
                   " head_seen, last_snapshot, gc_gen"
                   " FROM sub WHERE partner = ?1 AND list_id = ?2",
    [LS_SUB_INSERT] = "INSERT INTO sub (partner, list_id) VALUES (?1, ?2)",
    [LS_SUBE_PUT] = "INSERT OR REPLACE INTO sub_entry (sub_id, gen, line,"
                    " category, detected) VALUES (?1, ?2, ?3, ?4, ?5)",
    [LS_SUBE_LINES] = "SELECT line FROM sub_entry WHERE sub_id = ?1"
                      " AND gen = ?2 ORDER BY line",
    [LS_STAGE_PUT] = "INSERT OR REPLACE INTO sub_stage (sub_id, line, op,"
                     " reason, category, detected)"
                     " VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    [LS_EVENT_LAST] = "SELECT seq, hash FROM event ORDER BY seq DESC LIMIT 1",
    [LS_EVENT_INSERT] = "INSERT INTO event (seq, at, event, list_id, partner,"
                        " detail, prev, hash)"
                        " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
};

int lst_fail(icx_listdb *db, int rc, const char *op, icx_err *err)
{
    int code = ICX_ESTORE;
    if (rc == SQLITE_FULL)
        code = ICX_EFULL;
    else if (rc == SQLITE_BUSY || rc == SQLITE_LOCKED)
        code = ICX_EAGAIN;
    return icx_err_set(err, code, "lists store %s: %s: %s",
                       db->path ? db->path : "?", op,
                       db->db ? sqlite3_errmsg(db->db) : sqlite3_errstr(rc));
}

int lst_exec(icx_listdb *db, const char *text, const char *op, icx_err *err)
{
    int rc = sqlite3_exec(db->db, text, NULL, NULL, NULL);
    return rc == SQLITE_OK ? ICX_OK : lst_fail(db, rc, op, err);
}

sqlite3_stmt *lst_stmt(icx_listdb *db, int id)
{
    sqlite3_stmt *st = db->st[id];
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    return st;
}

void lst_text(sqlite3_stmt *st, int i, const char *s)
{
    if (s == NULL)
        sqlite3_bind_null(st, i);
    else
        sqlite3_bind_text(st, i, s, -1, SQLITE_TRANSIENT);
}

void lst_col(char *out, size_t outlen, sqlite3_stmt *st, int i)
{
    const unsigned char *t = sqlite3_column_text(st, i);
    snprintf(out, outlen, "%s", t ? (const char *)t : "");
}

static int step_done(icx_listdb *db, int id, const char *op, icx_err *err)
{
    int rc = sqlite3_step(db->st[id]);
    sqlite3_reset(db->st[id]);
    return rc == SQLITE_DONE ? ICX_OK : lst_fail(db, rc, op, err);
}

int lst_begin(icx_listdb *db, icx_err *err)
{
    if (db->in_tx)
        return icx_err_set(err, ICX_ERROR, "lists store: nested transaction");
    lst_stmt(db, LS_BEGIN);
    int rc = step_done(db, LS_BEGIN, "begin", err);
    if (rc == ICX_OK)
        db->in_tx = 1;
    return rc;
}

int lst_commit(icx_listdb *db, icx_err *err)
{
    lst_stmt(db, LS_COMMIT);
    int rc = step_done(db, LS_COMMIT, "commit", err);
    if (rc < 0) {
        lst_rollback(db);
        return rc;
    }
    db->in_tx = 0;
    return ICX_OK;
}

void lst_rollback(icx_listdb *db)
{
    if (db == NULL || !db->in_tx)
        return;
    if (!sqlite3_get_autocommit(db->db)) {
        lst_stmt(db, LS_ROLLBACK);
        sqlite3_step(db->st[LS_ROLLBACK]);
        sqlite3_reset(db->st[LS_ROLLBACK]);
    }
    db->in_tx = 0;
}

/* ---- digest --------------------------------------------------------------- */

struct lst_digest {
    EVP_MD_CTX *ctx;
    unsigned char buf[1 << 16];
    size_t n;
};

lst_digest *lst_digest_new(void)
{
    lst_digest *d = malloc(sizeof *d);
    if (d == NULL)
        return NULL;
    d->n = 0;
    d->ctx = EVP_MD_CTX_new();
    if (d->ctx == NULL || EVP_DigestInit_ex(d->ctx, icx_sha(256), NULL) != 1) {
        EVP_MD_CTX_free(d->ctx);
        free(d);
        return NULL;
    }
    return d;
}

int lst_digest_line(lst_digest *d, const char *line, size_t len)
{
    if (len + 1 > sizeof d->buf - d->n) {
        EVP_DigestUpdate(d->ctx, d->buf, d->n);
        d->n = 0;
    }
    if (len + 1 > sizeof d->buf) {
        EVP_DigestUpdate(d->ctx, line, len);
        EVP_DigestUpdate(d->ctx, "\n", 1);
        return ICX_OK;
    }
    memcpy(d->buf + d->n, line, len);
    d->buf[d->n + len] = '\n';
    d->n += len + 1;
    return ICX_OK;
}

int lst_digest_end(lst_digest *d, char hex[65])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    int ok = EVP_DigestUpdate(d->ctx, d->buf, d->n) == 1 &&
             EVP_DigestFinal_ex(d->ctx, md, &mdlen) == 1 && mdlen == 32;
    EVP_MD_CTX_free(d->ctx);
    free(d);
    if (!ok)
        return ICX_ECRYPTO;
    icx_hex(hex, md, 32);
    return ICX_OK;
}

int lst_digest_stmt(icx_listdb *db, sqlite3_stmt *st, char hex[65],
                    uint64_t *count, icx_err *err)
{
    lst_digest *d = lst_digest_new();
    uint64_t n = 0;
    int rc;
    if (d == NULL)
        return icx_err_set(err, ICX_ENOMEM, "out of memory");
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        const char *line = (const char *)sqlite3_column_text(st, 0);
        int len = sqlite3_column_bytes(st, 0);
        lst_digest_line(d, line ? line : "", (size_t)len);
        n++;
    }
    sqlite3_reset(st);
    lst_digest_end(d, hex);
    if (rc != SQLITE_DONE)
        return lst_fail(db, rc, "computing the digest", err);
    *count = n;
    return ICX_OK;
}

/* ---- small shared helpers ------------------------------------------------ */

const char *lst_line_value(const char *line, int kind, char *alg,
                           size_t alglen)
{
    if (alglen > 0)
        alg[0] = '\0';
    if (kind != ICX_LIST_HASH)
        return line;
    const char *colon = strchr(line, ':');
    if (colon == NULL)
        return line;
    size_t n = (size_t)(colon - line);
    if (n >= alglen)
        n = alglen - 1;
    memcpy(alg, line, n);
    alg[n] = '\0';
    return colon + 1;
}

int lst_reason_known(const char *r)
{
    static const char *const reasons[] = {"content-removed", "appeal-upheld",
                                          "misclassified", "expired"};
    for (size_t i = 0; r != NULL && i < sizeof reasons / sizeof reasons[0]; i++)
        if (strcmp(r, reasons[i]) == 0)
            return 1;
    return 0;
}

size_t lst_entry_xml_len(const char *line, const char *category)
{
    size_t n = 0;
    for (const char *p = line; *p; p++)
        n += *p == '&' ? 5 : (*p == '<' || *p == '>') ? 4
             : (*p == '"' || *p == '\'') ? 6 : 1;
    for (const char *p = category; p != NULL && *p; p++)
        n += *p == '&' ? 5 : (*p == '<' || *p == '>') ? 4
             : (*p == '"' || *p == '\'') ? 6 : 1;
    /* <Entry><Value algorithm="..."></Value><Category></Category>
     * <DetectedAt>...</DetectedAt></Entry> and a removal reason */
    return n + 160;
}

/* ---- event log ------------------------------------------------------------ */

int lst_event(icx_listdb *db, const char *event, const char *list,
              const char *partner, const char *fmt, ...)
{
    char detail[512], prev[65] = "", hash[65], at[ICX_TIME_LEN + 1];
    int64_t seq = 0;
    icx_err err;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(detail, sizeof detail, fmt, ap);
    va_end(ap);
    sqlite3_stmt *st = lst_stmt(db, LS_EVENT_LAST);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        seq = sqlite3_column_int64(st, 0);
        lst_col(prev, sizeof prev, st, 1);
    } else if (rc != SQLITE_DONE) {
        sqlite3_reset(st);
        return lst_fail(db, rc, "reading the event log", &err);
    }
    sqlite3_reset(st);
    if (prev[0] == '\0')
        memset(prev, '0', 64), prev[64] = '\0';
    time_t now = time(NULL);
    icx_time_format(at, sizeof at, now);
    icx_buf line;
    icx_buf_init(&line, 4096);
    icx_buf_printf(&line, "%s\n%lld %s %s list=%s partner=%s %s", prev,
                   (long long)seq + 1, at, event, list ? list : "-",
                   partner ? partner : "-", detail);
    icx_sha256_hex(hash, line.data ? line.data : "", line.len);
    icx_buf_free(&line);
    st = lst_stmt(db, LS_EVENT_INSERT);
    sqlite3_bind_int64(st, 1, seq + 1);
    sqlite3_bind_int64(st, 2, (sqlite3_int64)now);
    lst_text(st, 3, event);
    lst_text(st, 4, list);
    lst_text(st, 5, partner);
    lst_text(st, 6, detail);
    lst_text(st, 7, prev);
    lst_text(st, 8, hash);
    return step_done(db, LS_EVENT_INSERT, "appending to the event log", &err);
}

/* ---- open, migrate, free ------------------------------------------------- */

static int migrate(icx_listdb *db, icx_err *err)
{
    int rc = lst_exec(db, "CREATE TABLE IF NOT EXISTS schema_version ("
                      " version INTEGER PRIMARY KEY, applied_at INTEGER)",
                      "migrating", err);
    for (int v = 1; rc == ICX_OK && v <= MIGRATIONS; v++) {
        if ((rc = lst_exec(db, "BEGIN IMMEDIATE", "migrating", err)) < 0)
            break;
        sqlite3_stmt *st = NULL;
        int have = 0;
        if (sqlite3_prepare_v2(db->db, "SELECT 1 FROM schema_version WHERE "
                               "version = ?1", -1, &st, NULL) == SQLITE_OK) {
            sqlite3_bind_int(st, 1, v);
            have = sqlite3_step(st) == SQLITE_ROW;
        }
        sqlite3_finalize(st);
        if (!have) {
            char op[40], ins[120];
            snprintf(op, sizeof op, "migration %d", v);
            snprintf(ins, sizeof ins, "INSERT INTO schema_version VALUES "
                     "(%d, %lld)", v, (long long)time(NULL));
            rc = lst_exec(db, migrations[v - 1], op, err);
            if (rc == ICX_OK)
                rc = lst_exec(db, ins, op, err);
        }
        if (rc == ICX_OK)
            rc = lst_exec(db, "COMMIT", "migrating", err);
        else
            sqlite3_exec(db->db, "ROLLBACK", NULL, NULL, NULL);
    }
    return rc;
}

int icx_listdb_open(icx_listdb **out, const char *path, icx_err *err)
{
    *out = NULL;
    icx_listdb *db = calloc(1, sizeof *db);
    if (db == NULL || (db->path = strdup(path)) == NULL) {
        free(db);
        return icx_err_set(err, ICX_ENOMEM, "out of memory");
    }
    int rc = icx_private_file(path, "lists store", err);
    if (rc < 0)
        goto fail;
    int sq = sqlite3_open_v2(path, &db->db, SQLITE_OPEN_READWRITE |
                             SQLITE_OPEN_NOMUTEX, NULL);
    if (sq != SQLITE_OK) {
        rc = lst_fail(db, sq, "open", err);
        goto fail;
    }
    sqlite3_busy_timeout(db->db, 10000);
    sqlite3_stmt *st = NULL;
    sq = sqlite3_prepare_v2(db->db, "PRAGMA journal_mode=WAL", -1, &st, NULL);
    if (sq == SQLITE_OK)
        sq = sqlite3_step(st);
    sqlite3_finalize(st);
    if (sq != SQLITE_ROW) {
        rc = lst_fail(db, sq, "setting WAL", err);
        goto fail;
    }
    rc = lst_exec(db, "PRAGMA synchronous=FULL; PRAGMA cache_size=-65536;"
                  " PRAGMA temp_store=FILE; PRAGMA temp.cache_size=-65536",
                  "setting pragmas", err);
    if (rc == ICX_OK)
        rc = migrate(db, err);
    for (int i = 0; rc == ICX_OK && i < LS__COUNT; i++) {
        sq = sqlite3_prepare_v3(db->db, sql[i], -1, SQLITE_PREPARE_PERSISTENT,
                                &db->st[i], NULL);
        if (sq != SQLITE_OK)
            rc = lst_fail(db, sq, "preparing statements", err);
    }
    if (rc < 0)
        goto fail;
    *out = db;
    return ICX_OK;
fail:
    icx_listdb_free(&db);
    return rc;
}

void icx_listdb_free(icx_listdb **dp)
{
    if (dp == NULL || *dp == NULL)
        return;
    icx_listdb *db = *dp;
    lst_rollback(db);
    for (int i = 0; i < LS__COUNT; i++)
        sqlite3_finalize(db->st[i]);
    sqlite3_close(db->db);
    free(db->path);
    free(db);
    *dp = NULL;
}

int icx_listdb_version(icx_listdb *db)
{
    sqlite3_stmt *st = NULL;
    int v = 0;
    if (sqlite3_prepare_v2(db->db, "SELECT MAX(version) FROM schema_version",
                           -1, &st, NULL) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW)
        v = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    return v;
}
