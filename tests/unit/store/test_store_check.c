/*
 * test_store_check.c - the store's start-up check and its head file
 * (store_check.c): a sound store passes; a store that went back in time,
 * one replaced by another, one whose head file is missing, one with a
 * damaged page, an edited audit record or a changed envelope byte is
 * refused, each with its reason.
 *
 * Each test gets a fresh folder, a gateway key pair and a store.  Files are
 * changed only while the store is closed, the way an intruder or a crash
 * would leave them.
 *
 * With ICX_TEST_STORE set to a PostgreSQL server's URL (no database), the
 * store is a new database of that server with its head file at store.head
 * (icx_store_set_head): the tests of the head file run there too, the
 * tests of SQLite's file skip, test_pg_went_back_in_time loses the
 * database's tail with libpq and test_pg_damaged_page damages a page of a
 * table's file (tests/integration/store_pg.sh).
 */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <libpq-fe.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "audit.h"
#include "keys.h"
#include "store.h"
#include "testutil.h"
#include "tsa.h"
#include "util.h"

static const char ENV_BYTES[] = "<Envelope>caf\xc3\xa9</Envelope>";
#define ENV_LEN (sizeof ENV_BYTES - 1)

struct fx {
    char dbname[64];     /* PostgreSQL: this test's database */
    char *dir;
    char path[600], head[620], key[600], cert[600];
    icx_store *s;
    icx_buf report;
    icx_err err;
    int nmsg, ncp;
};

/* The PostgreSQL server under test, or NULL for SQLite. */
static const char *pg_server(void)
{
    const char *u = getenv("ICX_TEST_STORE");
    return u != NULL && u[0] != '\0' ? u : NULL;
}

/* Runs sql on the database at url; 1 when it succeeded. */
static int pg_try(const char *url, const char *sql)
{
    PGconn *c = PQconnectdb(url);
    if (PQstatus(c) != CONNECTION_OK)
        fail_msg("connect %s: %s", url, PQerrorMessage(c));
    PGresult *r = PQexec(c, sql);
    int ok = PQresultStatus(r) == PGRES_COMMAND_OK ||
             PQresultStatus(r) == PGRES_TUPLES_OK;
    PQclear(r);
    PQfinish(c);
    return ok;
}

/* The first value sql gives on the database at url, into out. */
static void pg_value(char *out, size_t n, const char *url, const char *sql)
{
    PGconn *c = PQconnectdb(url);
    if (PQstatus(c) != CONNECTION_OK)
        fail_msg("connect %s: %s", url, PQerrorMessage(c));
    PGresult *r = PQexec(c, sql);
    if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) != 1)
        fail_msg("%s: %s", sql, PQerrorMessage(c));
    snprintf(out, n, "%s", PQgetvalue(r, 0, 0));
    PQclear(r);
    PQfinish(c);
}

/* Opens f->path as the store; on PostgreSQL its head file is f->head. */
static int open_store(struct fx *f)
{
    int rc = icx_store_open(&f->s, f->path, &f->err);
    if (rc == ICX_OK && pg_server() != NULL)
        rc = icx_store_set_head(f->s, f->head, &f->err);
    return rc;
}

static int setup(void **state)
{
    static int seq;
    struct fx *f = calloc(1, sizeof *f);
    assert_non_null(f);
    f->dir = icx_test_mkdtemp();
    snprintf(f->path, sizeof f->path, "%s/store.db", f->dir);
    snprintf(f->head, sizeof f->head, "%s/store.db.head", f->dir);
    snprintf(f->key, sizeof f->key, "%s/keys/key.pem", f->dir);
    snprintf(f->cert, sizeof f->cert, "%s/keys/cert.pem", f->dir);
    icx_err_clear(&f->err);
    icx_buf_init(&f->report, 1 << 20);
    if (icx_keys_generate("JP-NPA", icx_test_path("%s/keys", f->dir),
                          icx_keys_alg_from_name("ecdsa-p256"), 30,
                          &f->err) < 0)
        fail_msg("keys: %s", f->err.msg);
    if (pg_server() != NULL) {
        char sql[128];
        snprintf(f->dbname, sizeof f->dbname, "icxc_%d_%d", (int)getpid(),
                 ++seq);
        snprintf(sql, sizeof sql, "CREATE DATABASE %s", f->dbname);
        if (!pg_try(icx_test_path("%s/postgres", pg_server()), sql))
            fail_msg("creating database %s failed", f->dbname);
        snprintf(f->path, sizeof f->path, "%s/%s", pg_server(), f->dbname);
    }
    if (open_store(f) != 0)
        fail_msg("open: %s", f->err.msg);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    icx_store_free(&f->s);
    if (f->dbname[0] != '\0') {
        char sql[128];
        snprintf(sql, sizeof sql, "DROP DATABASE %s WITH (FORCE)", f->dbname);
        pg_try(icx_test_path("%s/postgres", pg_server()), sql);
    }
    icx_buf_free(&f->report);
    icx_test_rmrf(f->dir);
    free(f->dir);
    free(f);
    return 0;
}

/* n more queued messages (with their audit records). */
static void messages(struct fx *f, int n, const char *prefix)
{
    for (int i = 0; i < n; i++) {
        icx_out_row r;
        memset(&r, 0, sizeof r);
        snprintf(r.message_id, sizeof r.message_id, "%s-%d", prefix, ++f->nmsg);
        snprintf(r.next_hop, sizeof r.next_hop, "PH-NBI");
        snprintf(r.recipient, sizeof r.recipient, "PH-NBI");
        snprintf(r.sender, sizeof r.sender, "JP-NPA");
        snprintf(r.category, sizeof r.category, "case-referral");
        icx_sha256_hex(r.sha256, ENV_BYTES, ENV_LEN);
        r.state = ICX_OUT_QUEUED;
        CHECK_RC(icx_store_out_insert(f->s, &r, ENV_BYTES, ENV_LEN,
                                      "outbound.queued", NULL, &f->err),
                 ICX_OK, &f->err);
    }
}

static void make_cp(struct fx *f, icx_checkpoint *c)
{
    memset(c, 0, sizeof *c);
    icx_store_audit_head(f->s, &c->size, c->root);
    snprintf(c->gateway, sizeof c->gateway, "JP-NPA");
    snprintf(c->time, sizeof c->time, "2026-12-04T00:00:%02d.000Z",
             ++f->ncp % 60);
    CHECK_RC(icx_checkpoint_sign(c, f->key, &f->err), ICX_OK, &f->err);
}

/* A signed checkpoint of the store's tree as it is now; returns its size. */
static uint64_t checkpoint(struct fx *f)
{
    icx_checkpoint c;
    make_cp(f, &c);
    CHECK_RC(icx_store_checkpoint_add(f->s, &c, &f->err), ICX_OK, &f->err);
    return c.size;
}

/* The size the head file names (0: no head file). */
static uint64_t head_size(struct fx *f)
{
    char *text = NULL;
    size_t len = 0;
    icx_err e;
    if (access(f->head, F_OK) != 0)
        return 0;
    if (icx_file_read(&text, &len, f->head, 8192, &e) < 0)
        fail_msg("head file: %s", e.msg);
    const char *p = strstr(text, "\nsize ");
    uint64_t n = p != NULL ? strtoull(p + 6, NULL, 10) : 0;
    free(text);
    return n;
}

static int check(struct fx *f, unsigned flags)
{
    icx_buf_reset(&f->report);
    icx_err_clear(&f->err);
    return icx_store_check(f->s, f->cert, flags, &f->report, &f->err);
}

static void want_refused(struct fx *f, unsigned flags, const char *want1,
                         const char *want2)
{
    CHECK_RC(check(f, flags), ICX_ECORRUPT, &f->err);
    const char *rep = f->report.data ? f->report.data : "";
    if (strstr(f->err.msg, want1) == NULL || strstr(rep, want1) == NULL ||
        (want2 != NULL && strstr(rep, want2) == NULL))
        fail_msg("refusal: got \"%s\" / report \"%s\", want \"%s\"%s%s",
                 f->err.msg, rep, want1, want2 ? " and " : "",
                 want2 ? want2 : "");
}

static void want_ok(struct fx *f, unsigned flags, const char *want)
{
    CHECK_RC(check(f, flags), ICX_OK, &f->err);
    const char *rep = f->report.data ? f->report.data : "";
    if (strstr(rep, "refused") != NULL || strstr(rep, want) == NULL)
        fail_msg("report: got \"%s\", want ok with \"%s\"", rep, want);
}

static void raw_exec(const char *path, const char *sql)
{
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    char *msg = NULL;
    if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK)
        fail_msg("raw sql: got \"%s\", want success", msg ? msg : "?");
    sqlite3_free(msg);
    sqlite3_close(db);
}

static void copy_file(const char *to, const char *from)
{
    char *data = NULL;
    size_t len = 0;
    icx_err e;
    if (icx_file_read(&data, &len, from, 64 << 20, &e) < 0 ||
        icx_file_write_atomic(to, data, len, 0600, &e) < 0)
        fail_msg("copy %s: %s", from, e.msg);
    free(data);
}

/* ---- sound stores ---------------------------------------------------------- */

static void test_new_store_passes(void **state)
{
    struct fx *f = *state;
    want_ok(f, ICX_STORE_CHECK_ENVELOPES, "no head file yet");
    messages(f, 3, "m");
    want_ok(f, ICX_STORE_CHECK_ENVELOPES, "no signed checkpoint yet");
    if (access(f->head, F_OK) == 0)
        fail_msg("head file: got one before any checkpoint, want none");
}

static void test_head_follows_committed_checkpoints(void **state)
{
    struct fx *f = *state;
    struct stat st;
    messages(f, 3, "m");
    uint64_t n = checkpoint(f);
    if (head_size(f) != n)
        fail_msg("head file after a checkpoint: got size %llu, want %llu",
                 (unsigned long long)head_size(f), (unsigned long long)n);
    assert_int_equal(stat(f->head, &st), 0);
    if ((st.st_mode & 0777) != 0600)
        fail_msg("head file mode: got %04o, want 0600",
                 (unsigned)(st.st_mode & 0777));
    want_ok(f, ICX_STORE_CHECK_ENVELOPES, "holds its checkpoint");

    /* Rolled back: the head file keeps the committed checkpoint. */
    CHECK_RC(icx_store_begin(f->s, &f->err), ICX_OK, &f->err);
    messages(f, 2, "m");
    checkpoint(f);
    icx_store_rollback(f->s);
    if (head_size(f) != n)
        fail_msg("head file after a rollback: got size %llu, want %llu",
                 (unsigned long long)head_size(f), (unsigned long long)n);
    /* Committed in the caller's transaction: written at COMMIT. */
    CHECK_RC(icx_store_begin(f->s, &f->err), ICX_OK, &f->err);
    messages(f, 2, "m");
    uint64_t n2 = checkpoint(f);
    if (head_size(f) != n)
        fail_msg("head file before COMMIT: got size %llu, want %llu",
                 (unsigned long long)head_size(f), (unsigned long long)n);
    CHECK_RC(icx_store_commit(f->s, &f->err), ICX_OK, &f->err);
    if (head_size(f) != n2)
        fail_msg("head file after COMMIT: got size %llu, want %llu",
                 (unsigned long long)head_size(f), (unsigned long long)n2);
    /* Records after the last checkpoint chain on from it. */
    messages(f, 2, "m");
    want_ok(f, ICX_STORE_CHECK_ENVELOPES, "matches them");
}

/* ---- refusals -------------------------------------------------------------- */

/* An older copy of the store put back in place: the head file names a
 * checkpoint it never saw. */
static void test_store_older_than_head(void **state)
{
    struct fx *f = *state;
    if (pg_server() != NULL)
        skip(); /* SQLite's file */
    messages(f, 3, "m");
    checkpoint(f);
    icx_store_free(&f->s);
    copy_file(icx_test_path("%s/old.db", f->dir), f->path);
    CHECK_RC(icx_store_open(&f->s, f->path, &f->err), ICX_OK, &f->err);
    messages(f, 3, "m");
    uint64_t n = checkpoint(f);
    icx_store_free(&f->s);
    copy_file(f->path, icx_test_path("%s/old.db", f->dir));
    CHECK_RC(icx_store_open(&f->s, f->path, &f->err), ICX_OK, &f->err);
    char want[96];
    snprintf(want, sizeof want, "checkpoint of size %llu",
             (unsigned long long)n);
    want_refused(f, 0, "went back in time", want);
    if (strstr(f->report.data, "store's last checkpoint is size 3") == NULL)
        fail_msg("report: got \"%s\", want the store's size 3 named",
                 f->report.data);
}

/* The writes of a daemon killed with -9 (run in a child process, which is
 * then killed without closing the store: the WAL keeps its frames).
 * Returns 0 or the step that failed; no cmocka calls here. */
static int crash_child(struct fx *f)
{
    icx_store *s = NULL;
    icx_checkpoint c;
    icx_err e;
    if (icx_store_open(&s, f->path, &e) < 0 ||
        icx_store_manual_checkpoints(s, &e) < 0)
        return 1;
    for (int i = 0; i < 3; i++) {
        icx_out_row r;
        memset(&r, 0, sizeof r);
        snprintf(r.message_id, sizeof r.message_id, "late-%d", i);
        snprintf(r.next_hop, sizeof r.next_hop, "PH-NBI");
        icx_sha256_hex(r.sha256, ENV_BYTES, ENV_LEN);
        if (icx_store_out_insert(s, &r, ENV_BYTES, ENV_LEN, "outbound.queued",
                                 NULL, &e) < 0)
            return 2;
    }
    memset(&c, 0, sizeof c);
    icx_store_audit_head(s, &c.size, c.root);
    snprintf(c.gateway, sizeof c.gateway, "JP-NPA");
    snprintf(c.time, sizeof c.time, "2026-12-04T01:00:00.000Z");
    if (icx_checkpoint_sign(&c, f->key, &e) < 0 ||
        icx_store_checkpoint_add(s, &c, &e) < 0)
        return 3;
    return 0; /* the store is not closed: the process is killed */
}

/* A lost WAL tail: committed frames (the last checkpoint among them) gone
 * after a crash.  The store opens and its chain verifies; the head file
 * tells. */
static void test_lost_wal_tail(void **state)
{
    struct fx *f = *state;
    if (pg_server() != NULL)
        skip(); /* SQLite's file */
    struct stat st;
    int status = 0;
    messages(f, 3, "m");
    checkpoint(f);
    icx_store_free(&f->s);  /* the WAL is copied back and removed */
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        int code = crash_child(f);
        if (code == 0)
            raise(SIGKILL); /* kill -9: no exit handler, nothing closed */
        _exit(code);
    }
    assert_int_equal(waitpid(pid, &status, 0), pid);
    if (!WIFSIGNALED(status) || WTERMSIG(status) != SIGKILL)
        fail_msg("writer: got status %d, want killed by SIGKILL", status);
    const char *wal = icx_test_path("%s-wal", f->path);
    assert_int_equal(stat(wal, &st), 0);
    long frames = ((long)st.st_size - 32) / (4096 + 24);
    if (frames < 4)
        fail_msg("WAL: got %ld frames, want several", frames);
    if (head_size(f) != 6)
        fail_msg("head file of the writer: got size %llu, want 6",
                 (unsigned long long)head_size(f));
    assert_int_equal(truncate(wal, 32 + (frames / 2) * (4096 + 24)), 0);
    CHECK_RC(icx_store_open(&f->s, f->path, &f->err), ICX_OK, &f->err);
    uint64_t n = 0;
    CHECK_RC(icx_store_audit_verify(f->s, &n, &f->err), ICX_OK, &f->err);
    if (n >= 6)
        fail_msg("records after the cut: got %llu, want fewer than 6",
                 (unsigned long long)n);
    want_refused(f, 0, "went back in time", "lost WAL tail");
}

static void test_missing_head_and_adopt(void **state)
{
    struct fx *f = *state;
    messages(f, 3, "m");
    uint64_t n = checkpoint(f);
    unlink(f->head);
    want_refused(f, 0, "missing", "--adopt-head");
    want_ok(f, ICX_STORE_CHECK_ADOPT_HEAD, "adopted");
    if (head_size(f) != n)
        fail_msg("adopted head: got size %llu, want %llu",
                 (unsigned long long)head_size(f), (unsigned long long)n);
    want_ok(f, 0, "holds its checkpoint");
}

/* The signed empty log a new store's head file starts from. */
static void start_cp(struct fx *f, icx_checkpoint *c)
{
    icx_merkle none;
    unsigned char root[ICX_HASH_LEN];
    memset(c, 0, sizeof *c);
    icx_merkle_init(&none);
    icx_merkle_root(&none, root);
    icx_hex(c->root, root, ICX_HASH_LEN);
    snprintf(c->gateway, sizeof c->gateway, "JP-NPA");
    snprintf(c->time, sizeof c->time, "2026-12-04T00:00:00.000Z");
    CHECK_RC(icx_checkpoint_sign(c, f->key, &f->err), ICX_OK, &f->err);
}

/* A crash after the first checkpoint's COMMIT and before its head file:
 * with the head file of the empty log written when the store was new,
 * the store is ahead of its head file (accepted), not without one. */
static void test_crash_before_first_head(void **state)
{
    struct fx *f = *state;
    char saved[700];
    icx_checkpoint c;
    start_cp(f, &c);
    CHECK_RC(icx_store_head_start(f->s, &c, &f->err), ICX_OK, &f->err);
    if (access(f->head, F_OK) != 0 || head_size(f) != 0)
        fail_msg("head file of a new store: got none or not size 0, want "
                 "the empty log");
    want_ok(f, 0, "names the empty log");
    snprintf(saved, sizeof saved, "%s.saved", f->head);
    copy_file(saved, f->head);
    messages(f, 3, "m");
    uint64_t n = checkpoint(f);
    if (head_size(f) != n)
        fail_msg("head file after the first checkpoint: got size %llu, "
                 "want %llu", (unsigned long long)head_size(f),
                 (unsigned long long)n);
    copy_file(f->head, saved); /* as if the process died before writing it */
    want_ok(f, 0, "the store's checkpoints follow it");
    /* Written once: a second call with a head file there changes nothing,
     * nor one with checkpoints and no head file. */
    CHECK_RC(icx_store_head_start(f->s, &c, &f->err), ICX_OK, &f->err);
    unlink(f->head);
    CHECK_RC(icx_store_head_start(f->s, &c, &f->err), ICX_OK, &f->err);
    if (access(f->head, F_OK) == 0)
        fail_msg("head_start with checkpoints in the store: got a head file, "
                 "want none (adopting is the operator's)");
    want_refused(f, 0, "missing", "--adopt-head");
}

/* A head file of size 0 whose root is not the empty log's, even signed,
 * is refused: size 0 must claim nothing. */
static void test_start_head_wrong_root(void **state)
{
    struct fx *f = *state;
    icx_checkpoint c;
    start_cp(f, &c);
    c.root[0] = c.root[0] == 'a' ? 'b' : 'a';
    CHECK_RC(icx_checkpoint_sign(&c, f->key, &f->err), ICX_OK, &f->err);
    CHECK_RC(icx_store_head_start(f->s, &c, &f->err), ICX_OK, &f->err);
    want_refused(f, 0, "not the root of an empty log", NULL);
}

/* Another store of the same gateway in place of this one: a checkpoint of
 * the same size with another root. */
static void test_store_replaced(void **state)
{
    struct fx *f = *state;
    if (pg_server() != NULL)
        skip(); /* SQLite's file */
    messages(f, 3, "a");
    checkpoint(f);
    copy_file(icx_test_path("%s/a.head", f->dir), f->head);
    icx_store_free(&f->s);
    unlink(f->path);
    unlink(f->head);
    CHECK_RC(icx_store_open(&f->s, f->path, &f->err), ICX_OK, &f->err);
    messages(f, 3, "b");
    checkpoint(f);
    copy_file(f->head, icx_test_path("%s/a.head", f->dir));
    want_refused(f, 0, "was replaced", "size 3");
}

static void test_head_file_damaged(void **state)
{
    struct fx *f = *state;
    messages(f, 3, "m");
    checkpoint(f);
    icx_test_write(f->head, "icx-store-head v1\ngateway JP-NPA\nsize x\n");
    want_refused(f, 0, "store.db.head:3: size", NULL);
}

static void test_damaged_page(void **state)
{
    struct fx *f = *state;
    if (pg_server() != NULL)
        skip(); /* SQLite's file */
    messages(f, 40, "m");
    icx_store_free(&f->s);
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(db, "SELECT rootpage FROM "
                                        "sqlite_schema WHERE name = "
                                        "'outbox_envelope'", -1, &st, NULL),
                     SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    long root = (long)sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(db);
    FILE *fp = fopen(f->path, "r+b");
    assert_non_null(fp);
    assert_int_equal(fseek(fp, (root - 1) * 4096, SEEK_SET), 0);
    assert_int_equal(fwrite("\xff\xff\xff\xff", 1, 4, fp), 4);
    assert_int_equal(fclose(fp), 0);
    CHECK_RC(icx_store_open(&f->s, f->path, &f->err), ICX_OK, &f->err);
    char want[64];
    snprintf(want, sizeof want, "Page %ld", root);
    want_refused(f, 0, "damaged page", want);
    if (strstr(f->report.data, "table outbox_envelope") == NULL)
        fail_msg("report: got \"%s\", want the table named", f->report.data);
}

static void test_edited_record(void **state)
{
    struct fx *f = *state;
    if (pg_server() != NULL)
        skip(); /* SQLite's file */
    messages(f, 3, "m");
    checkpoint(f);
    messages(f, 2, "m");
    icx_store_free(&f->s);
    raw_exec(f->path, "DROP TRIGGER audit_no_update;"
                      "UPDATE audit SET detail = 'x' WHERE seq = 5");
    CHECK_RC(icx_store_open(&f->s, f->path, &f->err), ICX_OK, &f->err);
    want_refused(f, 0, "audit chain damaged at record 5", NULL);
}

static void test_changed_envelope_byte(void **state)
{
    struct fx *f = *state;
    if (pg_server() != NULL)
        skip(); /* SQLite's file */
    messages(f, 3, "m");
    checkpoint(f);
    icx_store_free(&f->s);
    raw_exec(f->path, "UPDATE outbox_envelope SET envelope = X'3e' || "
                      "substr(envelope, 2) WHERE outbox_id = (SELECT id FROM "
                      "outbox WHERE message_id = 'm-2')");
    CHECK_RC(icx_store_open(&f->s, f->path, &f->err), ICX_OK, &f->err);
    /* The start-up check leaves the bytes to their reads... */
    want_ok(f, 0, "holds its checkpoint");
    /* ...the full check names the message. */
    want_refused(f, ICX_STORE_CHECK_ENVELOPES, "outbox message m-2",
                 "stored bytes damaged");
    if (strstr(f->report.data, "message m-1") != NULL)
        fail_msg("report: got \"%s\", want only m-2 named", f->report.data);
}

/* ---- time-stamp tokens ------------------------------------------------------ */

/* A token of the test TSA (tsa_make.sh, made once per test in the test's
 * folder) over checkpoint c's text, into tok. */
static void token_for(struct fx *f, const icx_checkpoint *c, icx_buf *tok)
{
    char out[4096], tsa[700], cp[720], q[720], t[720], cnf[720];
    icx_buf text;
    icx_err e;
    struct stat st;
    snprintf(tsa, sizeof tsa, "%s/tsa", f->dir);
    if (stat(tsa, &st) != 0) {
        char *script = strdup(icx_test_path(
            "%s/tests/integration/tools/tsa_make.sh", icx_test_srcdir()));
        const char *argv[] = {"bash", script, tsa, NULL};
        int rc = icx_test_run(out, sizeof out, argv);
        free(script);
        if (rc != 0)
            fail_msg("tsa_make.sh: %s", out);
    }
    snprintf(cp, sizeof cp, "%s/cp.txt", tsa);
    snprintf(q, sizeof q, "%s/q.tsq", tsa);
    snprintf(t, sizeof t, "%s/t.tst", tsa);
    snprintf(cnf, sizeof cnf, "%s/tsa.cnf", tsa);
    icx_buf_init(&text, 4096);
    assert_int_equal(icx_checkpoint_text(&text, c), ICX_OK);
    if (icx_file_write_atomic(cp, text.data, text.len, 0600, &e) < 0)
        fail_msg("write: %s", e.msg);
    icx_buf_free(&text);
    const char *query[] = {"openssl", "ts", "-query", "-data", cp, "-sha256",
                           "-cert", "-out", q, NULL};
    const char *reply[] = {"openssl", "ts", "-reply", "-config", cnf,
                           "-queryfile", q, "-token_out", "-out", t, NULL};
    if (icx_test_run(out, sizeof out, query) != 0 ||
        icx_test_run(out, sizeof out, reply) != 0)
        fail_msg("openssl ts: %s", out);
    char *data = NULL;
    size_t len = 0;
    CHECK_RC(icx_file_read(&data, &len, t, 1 << 20, &e), ICX_OK, &e);
    icx_buf_reset(tok);
    assert_int_equal(icx_buf_append(tok, data, len), ICX_OK);
    free(data);
}

static void stamp(struct fx *f, const icx_checkpoint *c, const icx_buf *tok,
                  int want)
{
    icx_tsa_stamp info;
    icx_err e;
    CHECK_RC(icx_tsa_token_check(&info, tok->data, tok->len, "", 0, NULL, &e),
             ICX_EBADSIG, &e); /* not over "": only what it says is read */
    CHECK_RC(icx_store_stamp_add(f->s, c->size, &info, tok->data, tok->len,
                                 &f->err), want, &f->err);
}

static void test_stamp_queue(void **state)
{
    struct fx *f = *state;
    icx_checkpoint c, c8, c10;
    icx_buf tok;
    uint64_t queued = 9, size = 0;
    icx_tsa_stamp info;
    icx_buf_init(&tok, 1 << 20);
    CHECK_RC(icx_store_stamp_next(f->s, &c, &queued, &f->err), ICX_ENOTFOUND,
             &f->err);
    messages(f, 3, "m");
    checkpoint(f);
    messages(f, 5, "m");
    checkpoint(f);
    /* Nothing stamped yet: the newest checkpoint is next, alone. */
    CHECK_RC(icx_store_stamp_next(f->s, &c8, &queued, &f->err), ICX_OK,
             &f->err);
    if (c8.size != 8 || queued != 1)
        fail_msg("next: got size %llu (%llu queued), want 8 (1)",
                 (unsigned long long)c8.size, (unsigned long long)queued);
    token_for(f, &c8, &tok);
    stamp(f, &c8, &tok, ICX_OK);
    stamp(f, &c8, &tok, ICX_EEXIST);
    CHECK_RC(icx_store_stamp_next(f->s, &c, &queued, &f->err), ICX_ENOTFOUND,
             &f->err);
    /* Later checkpoints queue, oldest first. */
    messages(f, 2, "m");
    checkpoint(f);
    messages(f, 2, "m");
    checkpoint(f);
    CHECK_RC(icx_store_stamp_next(f->s, &c10, &queued, &f->err), ICX_OK,
             &f->err);
    if (c10.size != 10 || queued != 2)
        fail_msg("next: got size %llu (%llu queued), want 10 (2)",
                 (unsigned long long)c10.size, (unsigned long long)queued);
    /* Checkpoint 8's token under checkpoint 10, or under none. */
    stamp(f, &c10, &tok, ICX_EBADSIG);
    c.size = 99;
    stamp(f, &c, &tok, ICX_ENOTFOUND);
    token_for(f, &c10, &tok);
    stamp(f, &c10, &tok, ICX_OK);
    /* The first stamp covering record 4 is checkpoint 8's; 9, 10's. */
    CHECK_RC(icx_store_stamp_get(f->s, 4, &size, &info, NULL, NULL, &f->err),
             ICX_OK, &f->err);
    assert_int_equal(size, 8);
    CHECK_RC(icx_store_stamp_get(f->s, 9, &size, &info, &tok, NULL, &f->err),
             ICX_OK, &f->err);
    assert_int_equal(size, 10);
    assert_int_equal(strlen(info.gen_time), 20);
    CHECK_RC(icx_store_stamp_get(f->s, 13, &size, &info, NULL, NULL, &f->err),
             ICX_ENOTFOUND, &f->err);
    CHECK_RC(icx_store_stamp_next(f->s, &c, &queued, &f->err), ICX_OK,
             &f->err);
    assert_int_equal(c.size, 12);
    want_ok(f, ICX_STORE_CHECK_ENVELOPES, "2 time-stamp tokens are over "
            "their checkpoints");
    icx_buf_free(&tok);
}

static void test_stamp_damaged(void **state)
{
    struct fx *f = *state;
    icx_checkpoint c;
    icx_buf tok;
    icx_buf_init(&tok, 1 << 20);
    messages(f, 3, "m");
    checkpoint(f);
    CHECK_RC(icx_store_stamp_next(f->s, &c, NULL, &f->err), ICX_OK, &f->err);
    token_for(f, &c, &tok);
    stamp(f, &c, &tok, ICX_OK);
    messages(f, 2, "m");
    checkpoint(f);
    CHECK_RC(icx_store_stamp_next(f->s, &c, NULL, &f->err), ICX_OK, &f->err);
    token_for(f, &c, &tok);
    stamp(f, &c, &tok, ICX_OK);
    want_ok(f, ICX_STORE_CHECK_ENVELOPES, "2 time-stamp tokens");
    icx_store_free(&f->s);
    /* Append-only, like the checkpoints; the tampering below goes past
     * the engine's guard (SQLite: the trigger dropped; PostgreSQL: the
     * table's triggers disabled). */
    const char *tamper_token =
        "UPDATE checkpoint_stamps SET token = (SELECT token FROM "
        "checkpoint_stamps WHERE size = 5) WHERE size = 3";
    const char *tamper_time = "UPDATE checkpoint_stamps SET gen_time = "
                              "'2020-01-01T00:00:00Z' WHERE size = 5";
    if (pg_server() != NULL) {
        char sql[512];
        if (pg_try(f->path, "DELETE FROM checkpoint_stamps") ||
            pg_try(f->path, "TRUNCATE checkpoint_stamps") ||
            pg_try(f->path, tamper_time))
            fail_msg("delete or update of a time-stamp: got done, want "
                     "refused");
        snprintf(sql, sizeof sql, "ALTER TABLE checkpoint_stamps DISABLE "
                 "TRIGGER USER; %s", tamper_token);
        if (!pg_try(f->path, sql))
            fail_msg("tampering with the token failed");
    } else {
        sqlite3 *db = NULL;
        assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
        if (sqlite3_exec(db, "DELETE FROM checkpoint_stamps", NULL, NULL,
                         NULL) != SQLITE_CONSTRAINT)
            fail_msg("delete of a time-stamp: got %s, want refused",
                     sqlite3_errmsg(db));
        sqlite3_close(db);
        /* Checkpoint 5's token put under checkpoint 3: not over its
         * bytes. */
        char sql[512];
        snprintf(sql, sizeof sql, "DROP TRIGGER checkpoint_stamps_no_update;"
                 "%s", tamper_token);
        raw_exec(f->path, sql);
    }
    CHECK_RC(open_store(f), ICX_OK, &f->err);
    want_ok(f, 0, "holds its checkpoint"); /* the start-up check leaves it */
    want_refused(f, ICX_STORE_CHECK_ENVELOPES, "time-stamp of checkpoint 3",
                 "refused");
    /* A recorded genTime that is not the token's. */
    if (pg_server() != NULL) {
        if (!pg_try(f->path, tamper_time))
            fail_msg("tampering with the genTime failed");
    } else {
        raw_exec(f->path, tamper_time);
    }
    want_refused(f, ICX_STORE_CHECK_ENVELOPES, "time-stamp of checkpoint 3",
                 "checkpoint 5: genTime");
    icx_buf_free(&tok);
}

/* ---- witnessed checkpoints --------------------------------------------------- */

struct wrows {
    icx_witness_row r[4];
    int n;
};

static int wrow(void *ctx, const icx_witness_row *w)
{
    struct wrows *k = ctx;
    if (k->n < 4)
        k->r[k->n++] = *w;
    return 0;
}

static int count_event(void *ctx, const icx_audit_rec *r)
{
    int *n = ctx;
    if (strcmp(r->event, "witness.fork") == 0 &&
        strcmp(r->partner, "PH-NBI") == 0)
        (*n)++;
    return 0;
}

static void test_witness_store(void **state)
{
    struct fx *f = *state;
    icx_checkpoint a, b, forked, last;
    unsigned char proof[ICX_CONSISTENCY_MAX][32], ra[32], rb[32];
    int np = 0, forks = 0;
    struct wrows rows = {0};
    messages(f, 3, "m");
    make_cp(f, &a);
    messages(f, 4, "m");
    make_cp(f, &b);
    /* The own log's proof from 3 to 7 checks against both roots. */
    CHECK_RC(icx_store_consistency(f->s, a.size, b.size, proof, &np, &f->err),
             ICX_OK, &f->err);
    assert_int_equal(icx_unhex(ra, a.root, 32), ICX_OK);
    assert_int_equal(icx_unhex(rb, b.root, 32), ICX_OK);
    assert_int_equal(icx_merkle_check_consistency(a.size, ra, b.size, rb,
                         (const unsigned char (*)[32])proof, np), ICX_OK);
    CHECK_RC(icx_store_consistency(f->s, 3, 99, proof, &np, &f->err),
             ICX_ENOTFOUND, &f->err);
    /* Kept as if they were a partner's: first, consistent, then a fork;
     * the baseline stays the last good one. */
    CHECK_RC(icx_store_witness_last(f->s, "PH-NBI", &last, &f->err),
             ICX_ENOTFOUND, &f->err);
    CHECK_RC(icx_store_witness_add(f->s, "PH-NBI", &a, ICX_WITNESS_FIRST, NULL,
                                   "c2ln", &f->err), ICX_OK, &f->err);
    CHECK_RC(icx_store_witness_add(f->s, "PH-NBI", &b, ICX_WITNESS_CONSISTENT,
                                   NULL, "c2ln", &f->err), ICX_OK, &f->err);
    forked = b;
    forked.size = 9;
    CHECK_RC(icx_store_witness_add(f->s, "PH-NBI", &forked, ICX_WITNESS_FORK,
                                   "rewritten", NULL, &f->err), ICX_OK,
             &f->err);
    CHECK_RC(icx_store_witness_last(f->s, "PH-NBI", &last, &f->err), ICX_OK,
             &f->err);
    if (last.size != b.size || strcmp(last.root, b.root) != 0)
        fail_msg("baseline: got size %llu, want %llu (the last good one)",
                 (unsigned long long)last.size, (unsigned long long)b.size);
    CHECK_RC(icx_store_witnesses(f->s, wrow, &rows, &f->err), ICX_OK, &f->err);
    assert_int_equal(rows.n, 1);
    if (strcmp(rows.r[0].verdict, "fork") != 0 || rows.r[0].seen != 3 ||
        rows.r[0].alarms != 1 || rows.r[0].good_size != b.size ||
        strcmp(rows.r[0].reason, "rewritten") != 0)
        fail_msg("witnesses: got %s seen %llu alarms %llu good %llu, want "
                 "fork 3 1 %llu", rows.r[0].verdict,
                 (unsigned long long)rows.r[0].seen,
                 (unsigned long long)rows.r[0].alarms,
                 (unsigned long long)rows.r[0].good_size,
                 (unsigned long long)b.size);
    CHECK_RC(icx_store_audit_scan(f->s, 1, 0, count_event, &forks, &f->err),
             ICX_OK, &f->err);
    assert_int_equal(forks, 1);
    /* Co-signatures of the own checkpoints, one per witness and size: a
     * second is refused and leaves the caller's transaction usable (on
     * PostgreSQL too, where a failed INSERT would abort it). */
    uint64_t got = 0;
    CHECK_RC(icx_store_checkpoint_add(f->s, &a, &f->err), ICX_OK, &f->err);
    CHECK_RC(icx_store_checkpoint_add(f->s, &b, &f->err), ICX_OK, &f->err);
    CHECK_RC(icx_store_cosig_add(f->s, "PH-NBI", a.size, "c2ln", &f->err),
             ICX_OK, &f->err);
    CHECK_RC(icx_store_begin(f->s, &f->err), ICX_OK, &f->err);
    CHECK_RC(icx_store_cosig_add(f->s, "PH-NBI", a.size, "c2ln", &f->err),
             ICX_EEXIST, &f->err);
    CHECK_RC(icx_store_cosig_add(f->s, "PH-NBI", b.size, "c2ln", &f->err),
             ICX_OK, &f->err);
    CHECK_RC(icx_store_commit(f->s, &f->err), ICX_OK, &f->err);
    CHECK_RC(icx_store_cosigned_by(f->s, "PH-NBI", &got, &f->err), ICX_OK,
             &f->err);
    assert_int_equal(got, b.size);
    CHECK_RC(icx_store_cosigned_first(f->s, a.size + 1, &got, &f->err),
             ICX_OK, &f->err);
    assert_int_equal(got, b.size);
    CHECK_RC(icx_store_cosigned_by(f->s, "KR-KNPA", &got, &f->err),
             ICX_ENOTFOUND, &f->err);
    /* Both tables are append-only. */
    const char *edits[] = {"DELETE FROM witnessed",
                           "UPDATE witnessed SET verdict = 'same'",
                           "DELETE FROM cosignatures",
                           "UPDATE cosignatures SET size = size"};
    icx_store_free(&f->s);
    for (size_t i = 0; i < sizeof edits / sizeof edits[0]; i++) {
        if (pg_server() != NULL) {
            if (pg_try(f->path, edits[i]))
                fail_msg("%s: got done, want refused", edits[i]);
            continue;
        }
        sqlite3 *db = NULL;
        assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
        int r = sqlite3_exec(db, edits[i], NULL, NULL, NULL);
        sqlite3_close(db);
        if (r != SQLITE_CONSTRAINT)
            fail_msg("%s: got %d, want refused", edits[i], r);
    }
    CHECK_RC(open_store(f), ICX_OK, &f->err);
}

/* ---- the reader connection and the grouped counts ---------------------------- */

struct tally {
    int rows;
    char a[32], b[32];
    int64_t n, sum;
};

static int tally(void *ctx, const char *a, const char *b, const char *c,
                 int64_t n, int64_t sum)
{
    struct tally *t = ctx;
    (void)c;
    if (t->rows++ == 0) {
        snprintf(t->a, sizeof t->a, "%s", a);
        snprintf(t->b, sizeof t->b, "%s", b);
    }
    t->n += n;
    t->sum += sum;
    return 0;
}

static void test_reader_counts(void **state)
{
    struct fx *f = *state;
    icx_store *r = NULL;
    struct tally out = {0}, cps = {0}, in = {0};
    uint64_t size = 0, wsize = 0;
    messages(f, 3, "m");
    uint64_t n1 = checkpoint(f);
    CHECK_RC(icx_store_open_reader(&r, f->path, &f->err), ICX_OK, &f->err);
    CHECK_RC(icx_store_counts(r, ICX_COUNT_OUT, tally, &out, &f->err), ICX_OK,
             &f->err);
    if (out.rows != 1 || strcmp(out.a, "PH-NBI") != 0 ||
        strcmp(out.b, "queued") != 0 || out.n != 3 || out.sum != 0)
        fail_msg("outbox counts: got %d rows, %s %s n=%lld retries=%lld, "
                 "want 1 row, PH-NBI queued n=3 retries=0", out.rows, out.a,
                 out.b, (long long)out.n, (long long)out.sum);
    CHECK_RC(icx_store_counts(r, ICX_COUNT_CHECKPOINTS, tally, &cps, &f->err),
             ICX_OK, &f->err);
    if (cps.rows != 1 || cps.n != 1 || cps.sum != (int64_t)n1)
        fail_msg("checkpoint counts: got %d rows n=%lld sum=%lld, want 1 "
                 "row n=1 sum=%llu", cps.rows, (long long)cps.n,
                 (long long)cps.sum, (unsigned long long)n1);
    CHECK_RC(icx_store_counts(r, ICX_COUNT_IN, tally, &in, &f->err), ICX_OK,
             &f->err);
    assert_int_equal(in.rows, 0);
    /* The reader writes nothing. */
    icx_out_row row;
    memset(&row, 0, sizeof row);
    snprintf(row.message_id, sizeof row.message_id, "reader-1");
    snprintf(row.next_hop, sizeof row.next_hop, "PH-NBI");
    snprintf(row.recipient, sizeof row.recipient, "PH-NBI");
    snprintf(row.sender, sizeof row.sender, "JP-NPA");
    snprintf(row.category, sizeof row.category, "case-referral");
    icx_sha256_hex(row.sha256, ENV_BYTES, ENV_LEN);
    row.state = ICX_OUT_QUEUED;
    CHECK_RC(icx_store_out_insert(r, &row, ENV_BYTES, ENV_LEN,
                                  "outbound.queued", NULL, &f->err),
             ICX_ESTORE, &f->err);
    /* It sees the writer's later commits once refreshed. */
    messages(f, 2, "m");
    icx_store_audit_head(f->s, &wsize, NULL);
    CHECK_RC(icx_store_refresh(r, &f->err), ICX_OK, &f->err);
    icx_store_audit_head(r, &size, NULL);
    if (size != wsize || size <= n1)
        fail_msg("reader's audit head: got %llu, want %llu",
                 (unsigned long long)size, (unsigned long long)wsize);
    icx_store_free(&r);
}

/* PostgreSQL: the database loses its tail (a restore from an older
 * backup, a failover to a standby that was behind): the node's head file
 * names a checkpoint the database no longer holds, and the check refuses
 * it as a store that went back in time. */
static void test_pg_went_back_in_time(void **state)
{
    struct fx *f = *state;
    char sql[256];
    if (pg_server() == NULL)
        skip();
    messages(f, 3, "m");
    uint64_t n1 = checkpoint(f);
    messages(f, 3, "m");
    uint64_t n2 = checkpoint(f);
    if (head_size(f) != n2)
        fail_msg("head file: got size %llu, want %llu",
                 (unsigned long long)head_size(f), (unsigned long long)n2);
    want_ok(f, 0, "holds its checkpoint");
    icx_store_free(&f->s);
    snprintf(sql, sizeof sql, "ALTER TABLE audit DISABLE TRIGGER USER; "
             "ALTER TABLE checkpoints DISABLE TRIGGER USER; "
             "DELETE FROM checkpoints WHERE size > %llu; "
             "DELETE FROM audit WHERE seq > %llu",
             (unsigned long long)n1, (unsigned long long)n1);
    if (!pg_try(f->path, sql))
        fail_msg("losing the tail failed");
    CHECK_RC(open_store(f), ICX_OK, &f->err);
    want_refused(f, 0, "went back in time", NULL);
}

/* PostgreSQL: a page of a table's file whose header is not one (as
 * PostgreSQL refuses a page with a bad checksum, XX001).  The database is
 * copied file by file (FILE_COPY) and renamed into place first, so that
 * none of its pages sits in the server's buffers: the check reads the
 * damaged file, refuses it and names the table. */
static void test_pg_damaged_page(void **state)
{
    struct fx *f = *state;
    char sql[256], data[1024], rel[256], admin[600];
    if (pg_server() == NULL)
        skip();
    snprintf(admin, sizeof admin, "%s/postgres", pg_server());
    messages(f, 40, "m");
    want_ok(f, 0, "pages of");
    icx_store_free(&f->s);
    snprintf(sql, sizeof sql, "CREATE DATABASE %s_d TEMPLATE %s STRATEGY "
             "= FILE_COPY", f->dbname, f->dbname);
    assert_true(pg_try(admin, sql));
    snprintf(sql, sizeof sql, "DROP DATABASE %s", f->dbname);
    assert_true(pg_try(admin, sql));
    snprintf(sql, sizeof sql, "ALTER DATABASE %s_d RENAME TO %s", f->dbname,
             f->dbname);
    assert_true(pg_try(admin, sql));
    pg_value(data, sizeof data, admin, "SHOW data_directory");
    pg_value(rel, sizeof rel, f->path,
             "SELECT pg_relation_filepath('outbox_envelope')");
    /* pd_flags, pd_lower, pd_upper of block 0. */
    FILE *fp = fopen(icx_test_path("%s/%s", data, rel), "r+b");
    assert_non_null(fp);
    assert_int_equal(fseek(fp, 10, SEEK_SET), 0);
    assert_int_equal(fwrite("\xff\xff\xff\xff\xff\xff", 1, 6, fp), 6);
    assert_int_equal(fclose(fp), 0);
    CHECK_RC(open_store(f), ICX_OK, &f->err);
    want_refused(f, 0, "damaged page", "table outbox_envelope");
    if (strstr(f->report.data, "invalid page in block 0") == NULL)
        fail_msg("report: got \"%s\", want PostgreSQL's words",
                 f->report.data);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_new_store_passes),
        T(test_head_follows_committed_checkpoints),
        T(test_store_older_than_head),
        T(test_lost_wal_tail),
        T(test_missing_head_and_adopt),
        T(test_crash_before_first_head),
        T(test_start_head_wrong_root),
        T(test_store_replaced),
        T(test_head_file_damaged),
        T(test_damaged_page),
        T(test_edited_record),
        T(test_changed_envelope_byte),
        T(test_stamp_queue),
        T(test_stamp_damaged),
        T(test_witness_store),
        T(test_reader_counts),
        T(test_pg_went_back_in_time),
        T(test_pg_damaged_page),
    };
#undef T
    return cmocka_run_group_tests(tests, NULL, NULL);
}
