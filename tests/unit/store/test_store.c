/*
 * test_store.c - the SQLite store: file mode and migrations, the outbox and
 * inbox state machines, the replay cache, receipts, transactions and the
 * audit chain.
 *
 * Each test gets a fresh folder and store.  Atomicity is proven with the
 * fault-injection hook (a step fails as if the disk were full); tampering
 * is done with raw sqlite3 on the closed file, the way an intruder would.
 *
 * With ICX_TEST_STORE set to a PostgreSQL server's URL (postgresql://
 * user@host:port, no database), every test runs on the PostgreSQL engine
 * instead, each in a new database of its own, tampering with libpq
 * (tests/integration/store_pg.sh starts a server and runs this so).
 * Tests of SQLite's file (modes, WAL, locks) skip there.
 */
#include <setjmp.h>
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
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "store.h"
#include "testutil.h"
#include "util.h"

/* Envelope and receipt bytes with a NUL and non-ASCII (UTF-8 and a lone
 * 0xff) so that "stored exactly" means something. */
static const char ENV_BYTES[] = "<Envelope>\0caf\xc3\xa9 \xe6\x97\xa5\xff</Envelope>";
static const char RCPT_BYTES[] = "<Receipt>\0\xc3\xbc\x01</Receipt>";
#define ENV_LEN (sizeof ENV_BYTES - 1)
#define RCPT_LEN (sizeof RCPT_BYTES - 1)

struct fx {
    char dbname[64];     /* PostgreSQL: this test's database */
    char *dir;
    char path[600];
    icx_store *s;
    icx_err err;
};

/* The PostgreSQL server under test, or NULL for SQLite. */
static const char *pg_server(void)
{
    const char *u = getenv("ICX_TEST_STORE");
    return u != NULL && u[0] != '\0' ? u : NULL;
}

/* Runs sql on the server's database db; 1 when it succeeded. */
static int pg_try(const char *db_url, const char *sql)
{
    PGconn *c = PQconnectdb(db_url);
    if (PQstatus(c) != CONNECTION_OK)
        fail_msg("connect %s: %s", db_url, PQerrorMessage(c));
    PGresult *r = PQexec(c, sql);
    int ok = PQresultStatus(r) == PGRES_COMMAND_OK ||
             PQresultStatus(r) == PGRES_TUPLES_OK;
    PQclear(r);
    PQfinish(c);
    return ok;
}

static void pg_db(char *db, size_t n, const char *name)
{
    snprintf(db, n, "%s/%s", pg_server(), name);
}

static int setup(void **state)
{
    static int seq;
    struct fx *f = calloc(1, sizeof *f);
    assert_non_null(f);
    f->dir = icx_test_mkdtemp();
    snprintf(f->path, sizeof f->path, "%s/store.db", f->dir);
    if (pg_server() != NULL) {
        char admin[600], sql[128];
        snprintf(f->dbname, sizeof f->dbname, "icxt_%d_%d", (int)getpid(),
                 ++seq);
        pg_db(admin, sizeof admin, "postgres");
        snprintf(sql, sizeof sql, "CREATE DATABASE %s", f->dbname);
        if (!pg_try(admin, sql))
            fail_msg("creating database %s failed", f->dbname);
        pg_db(f->path, sizeof f->path, f->dbname);
    }
    icx_err_clear(&f->err);
    int rc = icx_store_open(&f->s, f->path, &f->err);
    if (rc != 0)
        fail_msg("open: got %d (%s), want 0", rc, f->err.msg);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    icx_store_free(&f->s);
    if (f->dbname[0] != '\0') {
        char admin[600], sql[128];
        pg_db(admin, sizeof admin, "postgres");
        snprintf(sql, sizeof sql, "DROP DATABASE %s WITH (FORCE)",
                 f->dbname);
        pg_try(admin, sql);
    }
    icx_test_rmrf(f->dir);
    free(f->dir);
    free(f);
    return 0;
}

static void out_row(icx_out_row *r, const char *mid, const char *hop,
                    int64_t next)
{
    memset(r, 0, sizeof *r);
    snprintf(r->message_id, sizeof r->message_id, "%s", mid);
    snprintf(r->next_hop, sizeof r->next_hop, "%s", hop);
    snprintf(r->recipient, sizeof r->recipient, "%s", hop);
    snprintf(r->sender, sizeof r->sender, "JP-NPA");
    snprintf(r->category, sizeof r->category, "case-referral");
    icx_sha256_hex(r->sha256, ENV_BYTES, ENV_LEN);
    r->state = ICX_OUT_QUEUED;
    r->created_at = 1000;
    r->next_attempt_at = next;
}

static void put_out(struct fx *f, const char *mid, const char *hop,
                    int64_t next)
{
    icx_out_row r;
    out_row(&r, mid, hop, next);
    CHECK_RC(icx_store_out_insert(f->s, &r, ENV_BYTES, ENV_LEN,
                                  "outbound.queued", "size=40", &f->err),
             ICX_OK, &f->err);
}

static int out_state(struct fx *f, const char *mid, const char *hop)
{
    icx_out_row r;
    CHECK_RC(icx_store_out_get(f->s, mid, hop, &r, &f->err), ICX_OK, &f->err);
    return r.state;
}

static uint64_t audit_count(struct fx *f)
{
    uint64_t n = 0;
    CHECK_RC(icx_store_audit_verify(f->s, &n, &f->err), ICX_OK, &f->err);
    return n;
}

struct timeline {
    size_t n;
    icx_audit_row rows[16];
};

static int collect(void *ctx, const icx_audit_row *row)
{
    struct timeline *t = ctx;
    if (t->n < 16)
        t->rows[t->n] = *row;
    t->n++;
    return 0;
}

static void timeline(struct fx *f, const char *mid, struct timeline *t)
{
    memset(t, 0, sizeof *t);
    CHECK_RC(icx_store_timeline(f->s, mid, collect, t, &f->err), ICX_OK,
             &f->err);
}

/* ---- open and migrations ------------------------------------------------ */

/* PostgreSQL: the same calls, in the database's own schema (3: the
 * tables, time-stamps, witnesses). */
static void test_pg_reopen(void **state)
{
    struct fx *f = *state;
    if (pg_server() == NULL)
        skip();
    if (icx_store_version(f->s) != 3)
        fail_msg("version: got %d, want 3", icx_store_version(f->s));
    put_out(f, "m-1", "PH-NBI", 100);
    icx_store_free(&f->s);
    CHECK_RC(icx_store_open(&f->s, f->path, &f->err), ICX_OK, &f->err);
    if (out_state(f, "m-1", "PH-NBI") != ICX_OUT_QUEUED)
        fail_msg("state after reopen: got %s, want queued",
                 icx_out_state_name(out_state(f, "m-1", "PH-NBI")));
    put_out(f, "m-2", "PH-NBI", 100);
    if (audit_count(f) != 2)
        fail_msg("audit records: got %llu, want 2",
                 (unsigned long long)audit_count(f));
}

/* Two nodes on one database: one signs checkpoints; when it goes, the
 * other takes over.  SQLite: the only node always signs. */
static void test_pg_one_signer(void **state)
{
    struct fx *f = *state;
    icx_store *other = NULL;
    if (pg_server() == NULL) {
        if (!icx_store_leads(f->s))
            fail_msg("SQLite: got not the signer, want the signer");
        return;
    }
    CHECK_RC(icx_store_open(&other, f->path, &f->err), ICX_OK, &f->err);
    if (!icx_store_leads(f->s))
        fail_msg("first node: got not the signer, want the signer");
    if (icx_store_leads(other))
        fail_msg("second node: got the signer too, want one signer");
    icx_store_free(&f->s);
    int took = 0;
    for (int i = 0; i < 30 && !took; i++) {
        took = icx_store_leads(other);
        if (!took)
            usleep(100 * 1000);
    }
    if (!took)
        fail_msg("second node: not the signer 3 s after the first left");
    icx_store_free(&other);
    CHECK_RC(icx_store_open(&f->s, f->path, &f->err), ICX_OK, &f->err);
}

/* A node that waits too long for the chain's lock gets ICX_EAGAIN and
 * its next BEGIN works once the lock is free (the aborted transaction
 * the refused BEGIN left is ended).  The wait is the URL's lock_timeout
 * (libpq options), here 200 ms. */
static void test_pg_lock_wait(void **state)
{
    struct fx *f = *state;
    icx_store *other = NULL;
    char url[700];
    if (pg_server() == NULL)
        skip();
    snprintf(url, sizeof url, "%s?options=-c%%20lock_timeout%%3D200", f->path);
    CHECK_RC(icx_store_open(&other, url, &f->err), ICX_OK, &f->err);
    CHECK_RC(icx_store_begin(f->s, &f->err), ICX_OK, &f->err);
    CHECK_RC(icx_store_begin(other, &f->err), ICX_EAGAIN, &f->err);
    CHECK_RC(icx_store_commit(f->s, &f->err), ICX_OK, &f->err);
    CHECK_RC(icx_store_begin(other, &f->err), ICX_OK, &f->err);
    icx_out_row r;
    out_row(&r, "m-1", "PH-NBI", 100);
    CHECK_RC(icx_store_out_insert(other, &r, ENV_BYTES, ENV_LEN,
                                  "outbound.queued", NULL, &f->err),
             ICX_OK, &f->err);
    CHECK_RC(icx_store_commit(other, &f->err), ICX_OK, &f->err);
    icx_store_free(&other);
    if (audit_count(f) != 1)
        fail_msg("records: got %llu, want 1",
                 (unsigned long long)audit_count(f));
}

/* Opens url, which nothing serves (port 1): refused, f->err says why. */
static void open_refused(struct fx *f, const char *url)
{
    icx_store *s = NULL;
    CHECK_RC(icx_store_open(&s, url, &f->err), ICX_ESTORE, &f->err);
    assert_null(s);
}

/* A password in the URL never reaches a message. */
static void test_pg_password_not_in_messages(void **state)
{
    struct fx *f = *state;
    if (pg_server() == NULL)
        skip();
    open_refused(f, "postgresql://icx:s3cr3t@127.0.0.1:1/none");
    if (strstr(f->err.msg, "s3cr3t") != NULL ||
        strstr(f->err.msg, "postgresql://icx@127.0.0.1:1/none") == NULL)
        fail_msg("message: got \"%s\", want the URL without its password",
                 f->err.msg);
}

/* A message of several lines (libpq's "Is the server running ...", a
 * server's HINT) becomes one: every error goes into one log line. */
static void test_pg_message_one_line(void **state)
{
    struct fx *f = *state;
    if (pg_server() == NULL)
        skip();
    open_refused(f, "postgresql://icx@127.0.0.1:1/none");
    if (strpbrk(f->err.msg, "\n\r\t") != NULL ||
        strstr(f->err.msg, "Connection refused; Is the server running") ==
            NULL)
        fail_msg("message: got \"%s\", want one line, the second after "
                 "\"; \"", f->err.msg);
}

static void test_open_mode_and_reopen(void **state)
{
    struct fx *f = *state;
    struct stat st;
    if (pg_server() != NULL)
        skip(); /* the SQLite file's mode and WAL */
    assert_int_equal(stat(f->path, &st), 0);
    if ((st.st_mode & 0777) != 0600)
        fail_msg("mode: got %04o, want 0600", (unsigned)(st.st_mode & 0777));
    if (icx_store_version(f->s) != 6)
        fail_msg("version: got %d, want 6", icx_store_version(f->s));
    put_out(f, "m-1", "PH-NBI", 100);
    const char *wal = icx_test_path("%s-wal", f->path);
    assert_int_equal(stat(wal, &st), 0);
    if ((st.st_mode & 0777) != 0600)
        fail_msg("wal mode: got %04o, want 0600", (unsigned)(st.st_mode & 0777));

    icx_store_free(&f->s);
    assert_null(f->s);
    CHECK_RC(icx_store_open(&f->s, f->path, &f->err), ICX_OK, &f->err);
    if (icx_store_version(f->s) != 6)
        fail_msg("version after reopen: got %d, want 6",
                 icx_store_version(f->s));
    if (out_state(f, "m-1", "PH-NBI") != ICX_OUT_QUEUED)
        fail_msg("state after reopen: got %s, want queued",
                 icx_out_state_name(out_state(f, "m-1", "PH-NBI")));
    /* The chain continues across the reopen. */
    put_out(f, "m-2", "PH-NBI", 100);
    if (audit_count(f) != 2)
        fail_msg("audit records: got %llu, want 2",
                 (unsigned long long)audit_count(f));
}

static void test_open_refuses_loose_mode(void **state)
{
    struct fx *f = *state;
    if (pg_server() != NULL)
        skip();
    const char *p = icx_test_path("%s/loose.db", f->dir);
    icx_test_write(p, "");
    chmod(p, 0644);
    icx_store *s = NULL;
    CHECK_RC(icx_store_open(&s, p, &f->err), ICX_EPERM, &f->err);
    assert_null(s);
    assert_non_null(strstr(f->err.msg, "loose.db"));
}

/* Another connection in the same process (the daemon's checkpointer, a
 * second open) must not cancel the first one's locks: closing any
 * descriptor of a file drops every POSIX lock the process holds on it.
 * Were they gone, another process closing the store would take it for
 * unused, copy the WAL back and delete it under the daemon, whose later
 * commits would go to a deleted file. */
static void test_second_connection_keeps_locks(void **state)
{
    struct fx *f = *state;
    if (pg_server() != NULL)
        skip();
    const char *wal = icx_test_path("%s-wal", f->path);
    CHECK_RC(icx_store_manual_checkpoints(f->s, &f->err), ICX_OK, &f->err);
    put_out(f, "m-1", "PH-NBI", 100);
    icx_store *again = NULL, *peer = NULL;
    CHECK_RC(icx_store_open(&again, f->path, &f->err), ICX_OK, &f->err);
    icx_store_free(&again);
    CHECK_RC(icx_store_open_peer(&peer, f->s, &f->err), ICX_OK, &f->err);
    uint64_t log = 0, copied = 0;
    CHECK_RC(icx_store_wal_checkpoint(peer, &log, &copied, &f->err), ICX_OK,
             &f->err);
    if (log == 0 || copied != log)
        fail_msg("peer checkpoint: log %llu copied %llu", (unsigned long long)log,
                 (unsigned long long)copied);
    icx_store_free(&peer);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        /* Another program opens, reads and closes the store (a forked
         * copy of this one would share SQLite's view of the locks). */
        int devnull = open("/dev/null", O_WRONLY);
        if (devnull >= 0)
            dup2(devnull, STDOUT_FILENO);
        execlp("sqlite3", "sqlite3", f->path, "SELECT count(*) FROM audit",
               (char *)NULL);
        _exit(127);
    }
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    struct stat st;
    if (stat(wal, &st) != 0)
        fail_msg("the WAL was deleted while the store was open");
    put_out(f, "m-2", "PH-NBI", 100);
    icx_store_free(&f->s);
    CHECK_RC(icx_store_open(&f->s, f->path, &f->err), ICX_OK, &f->err);
    if (audit_count(f) != 2)
        fail_msg("audit records after reopening: got %llu, want 2",
                 (unsigned long long)audit_count(f));
}

static void test_state_names(void **state)
{
    (void)state;
    static const struct { int st; const char *name; } out[] = {
        {ICX_OUT_QUEUED, "queued"}, {ICX_OUT_SENT, "sent"},
        {ICX_OUT_DELIVERED, "delivered"}, {ICX_OUT_FAILED, "failed"},
        {ICX_OUT_REFUSED, "refused"}, {99, "unknown"}};
    static const struct { int st; const char *name; } in[] = {
        {ICX_IN_RECEIVED, "received"}, {ICX_IN_ACCEPTED, "accepted"},
        {ICX_IN_REJECTED, "rejected"}, {-1, "unknown"}};
    for (size_t i = 0; i < sizeof out / sizeof out[0]; i++)
        if (strcmp(icx_out_state_name(out[i].st), out[i].name) != 0)
            fail_msg("out %d: got %s, want %s", out[i].st,
                     icx_out_state_name(out[i].st), out[i].name);
    for (size_t i = 0; i < sizeof in / sizeof in[0]; i++)
        if (strcmp(icx_in_state_name(in[i].st), in[i].name) != 0)
            fail_msg("in %d: got %s, want %s", in[i].st,
                     icx_in_state_name(in[i].st), in[i].name);
}

/* ---- outbox ------------------------------------------------------------- */

struct depth { char hop[32]; int64_t n; };
struct depths { size_t n; struct depth d[8]; };

static int depth_cb(void *ctx, const char *hop, int64_t n)
{
    struct depths *d = ctx;
    snprintf(d->d[d->n].hop, sizeof d->d[d->n].hop, "%s", hop);
    d->d[d->n++].n = n;
    return 0;
}

static void test_outbox_flow(void **state)
{
    struct fx *f = *state;
    icx_out_row rows[4];
    size_t n = 99;
    put_out(f, "m-1", "PH-NBI", 100);
    put_out(f, "m-2", "INT-ICPO", 90);
    put_out(f, "m-3", "PH-NBI", 500);

    CHECK_RC(icx_store_out_due(f->s, 50, NULL, rows, 4, &n, &f->err), ICX_OK,
             &f->err);
    if (n != 0)
        fail_msg("due at 50: got %zu, want 0", n);
    CHECK_RC(icx_store_out_due(f->s, 100, NULL, rows, 4, &n, &f->err), ICX_OK,
             &f->err);
    if (n != 2 || strcmp(rows[0].message_id, "m-2") != 0 ||
        strcmp(rows[1].message_id, "m-1") != 0)
        fail_msg("due at 100: got %zu rows (%s first), want m-2, m-1", n,
                 n > 0 ? rows[0].message_id : "-");
    CHECK_RC(icx_store_out_due(f->s, 100, "PH-NBI", rows, 4, &n, &f->err),
             ICX_OK, &f->err);
    if (n != 1 || strcmp(rows[0].message_id, "m-1") != 0)
        fail_msg("due at 100 for PH-NBI: got %zu, want 1 (m-1)", n);
    CHECK_RC(icx_store_out_due(f->s, 1000, NULL, rows, 1, &n, &f->err), ICX_OK,
             &f->err);
    if (n != 1)
        fail_msg("due with max 1: got %zu, want 1", n);

    icx_out_row old;
    CHECK_RC(icx_store_out_oldest(f->s, &old, &f->err), ICX_OK, &f->err);
    if (strcmp(old.message_id, "m-1") != 0)
        fail_msg("oldest undelivered: got %s, want m-1", old.message_id);

    char ids[4][40];
    size_t nid = 0;
    CHECK_RC(icx_store_message_ids(f->s, "m-", ids, 4, &nid, &f->err),
             ICX_OK, &f->err);
    if (nid != 3 || strcmp(ids[0], "m-1") != 0 || strcmp(ids[2], "m-3") != 0)
        fail_msg("ids with prefix m-: got %zu (%s first), want m-1..m-3", nid,
                 nid ? ids[0] : "-");
    CHECK_RC(icx_store_message_ids(f->s, "m-2", ids, 4, &nid, &f->err),
             ICX_OK, &f->err);
    if (nid != 1 || strcmp(ids[0], "m-2") != 0)
        fail_msg("ids with prefix m-2: got %zu, want m-2", nid);
    CHECK_RC(icx_store_message_ids(f->s, "n", ids, 4, &nid, &f->err),
             ICX_OK, &f->err);
    if (nid != 0)
        fail_msg("ids with prefix n: got %zu, want none", nid);

    struct depths d = {0};
    CHECK_RC(icx_store_out_depths(f->s, depth_cb, &d, &f->err), ICX_OK,
             &f->err);
    if (d.n != 2 || strcmp(d.d[0].hop, "INT-ICPO") != 0 || d.d[0].n != 1 ||
        strcmp(d.d[1].hop, "PH-NBI") != 0 || d.d[1].n != 2)
        fail_msg("depths: got %zu hops, want INT-ICPO=1 PH-NBI=2", d.n);

    CHECK_RC(icx_store_out_transition(f->s, "m-1", "PH-NBI", ICX_OUT_QUEUED,
                                      ICX_OUT_SENT, 1, 300, NULL,
                                      "outbound.sent", "attempt=1", &f->err),
             ICX_OK, &f->err);
    CHECK_RC(icx_store_out_due(f->s, 200, "PH-NBI", rows, 4, &n, &f->err),
             ICX_OK, &f->err);
    if (n != 0)
        fail_msg("due at 200 after send: got %zu, want 0", n);
    CHECK_RC(icx_store_out_reschedule(f->s, "m-1", "PH-NBI", ICX_OUT_SENT, 2,
                                      150, "outbound.retry", "attempt=2",
                                      &f->err), ICX_OK, &f->err);
    CHECK_RC(icx_store_out_due(f->s, 200, "PH-NBI", rows, 4, &n, &f->err),
             ICX_OK, &f->err);
    if (n != 1 || rows[0].attempts != 2 || rows[0].state != ICX_OUT_SENT)
        fail_msg("after reschedule: got %zu rows, attempts %d, want 1, 2", n,
                 n ? rows[0].attempts : -1);
    CHECK_RC(icx_store_out_transition(f->s, "m-1", "PH-NBI", ICX_OUT_SENT,
                                      ICX_OUT_DELIVERED, 2, 0, "receipt ok",
                                      "outbound.delivered", "issuer=PH-NBI",
                                      &f->err), ICX_OK, &f->err);
    CHECK_RC(icx_store_out_oldest(f->s, &old, &f->err), ICX_OK, &f->err);
    if (strcmp(old.message_id, "m-2") != 0)
        fail_msg("oldest undelivered once m-1 is delivered: got %s, want m-2",
                 old.message_id);
    icx_out_row r;
    CHECK_RC(icx_store_out_get(f->s, "m-1", NULL, &r, &f->err), ICX_OK,
             &f->err);
    if (r.state != ICX_OUT_DELIVERED || strcmp(r.reason, "receipt ok") != 0)
        fail_msg("row: got %s/%s, want delivered/receipt ok",
                 icx_out_state_name(r.state), r.reason);

    static const char *const want[] = {"outbound.queued", "outbound.sent",
                                       "outbound.retry", "outbound.delivered"};
    struct timeline t;
    timeline(f, "m-1", &t);
    if (t.n != 4)
        fail_msg("timeline: got %zu records, want 4", t.n);
    for (size_t i = 0; i < 4; i++) {
        if (strcmp(t.rows[i].event, want[i]) != 0)
            fail_msg("timeline[%zu]: got %s, want %s", i, t.rows[i].event,
                     want[i]);
        if (i > 0 && t.rows[i].seq <= t.rows[i - 1].seq)
            fail_msg("timeline[%zu]: got seq %lld after %lld, want rising", i,
                     (long long)t.rows[i].seq, (long long)t.rows[i - 1].seq);
        if (strcmp(t.rows[i].partner, "PH-NBI") != 0)
            fail_msg("timeline[%zu] partner: got %s, want PH-NBI", i,
                     t.rows[i].partner);
    }
    if (strlen(t.rows[0].ts) != 24 || t.rows[0].ts[19] != '.' ||
        t.rows[0].ts[23] != 'Z')
        fail_msg("ts: got %s, want YYYY-MM-DDTHH:MM:SS.mmmZ", t.rows[0].ts);

    icx_buf b;
    icx_buf_init(&b, 1 << 16);
    CHECK_RC(icx_store_out_envelope(f->s, "m-1", "PH-NBI", &b, &f->err),
             ICX_OK, &f->err);
    if (b.len != ENV_LEN || memcmp(b.data, ENV_BYTES, ENV_LEN) != 0)
        fail_msg("envelope: got %zu bytes, want %zu exact", b.len, ENV_LEN);
    CHECK_RC(icx_store_out_envelope(f->s, "m-9", NULL, &b, &f->err),
             ICX_ENOTFOUND, &f->err);
    icx_buf_free(&b);
    if (audit_count(f) != 6)
        fail_msg("audit records: got %llu, want 6",
                 (unsigned long long)audit_count(f));
}

static void test_outbox_wake(void **state)
{
    struct fx *f = *state;
    icx_out_row rows[4];
    size_t n = 0;
    put_out(f, "m-1", "PH-NBI", 500);
    put_out(f, "m-2", "PH-NBI", 50);
    put_out(f, "m-3", "INT-ICPO", 500);
    uint64_t before = audit_count(f);
    CHECK_RC(icx_store_out_wake(f->s, "PH-NBI", 100, &f->err), ICX_OK,
             &f->err);
    CHECK_RC(icx_store_out_due(f->s, 100, NULL, rows, 4, &n, &f->err), ICX_OK,
             &f->err);
    /* m-2 was already due earlier and keeps its place; m-3 is another hop. */
    if (n != 2 || strcmp(rows[0].message_id, "m-2") != 0 ||
        rows[0].next_attempt_at != 50 || strcmp(rows[1].message_id, "m-1") != 0 ||
        rows[1].next_attempt_at != 100)
        fail_msg("due after wake: got %zu rows, want m-2@50, m-1@100", n);
    if (audit_count(f) != before)
        fail_msg("audit after wake: got %llu, want %llu",
                 (unsigned long long)audit_count(f), (unsigned long long)before);
}

static int count_out(void *ctx, const icx_out_row *row)
{
    (void)row;
    (*(int *)ctx)++;
    return 0;
}

static void test_outbox_list(void **state)
{
    struct fx *f = *state;
    put_out(f, "m-1", "PH-NBI", 100);
    put_out(f, "m-2", "PH-NBI", 100);
    put_out(f, "m-3", "PH-NBI", 100);
    CHECK_RC(icx_store_out_transition(f->s, "m-2", "PH-NBI", ICX_OUT_QUEUED,
                                      ICX_OUT_FAILED, 0, 0, "too old",
                                      "outbound.failed", NULL, &f->err),
             ICX_OK, &f->err);
    static const struct { int state; size_t limit; int want; } cases[] = {
        {-1, 0, 3}, {-1, 2, 2}, {ICX_OUT_QUEUED, 0, 2}, {ICX_OUT_FAILED, 0, 1},
        {ICX_OUT_DELIVERED, 0, 0}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int got = 0;
        CHECK_RC(icx_store_out_list(f->s, cases[i].state, cases[i].limit,
                                    count_out, &got, &f->err), ICX_OK, &f->err);
        if (got != cases[i].want)
            fail_msg("list %s limit %zu: got %d, want %d",
                     cases[i].state < 0 ? "any" : icx_out_state_name(cases[i].state),
                     cases[i].limit, got, cases[i].want);
    }
}

static void test_wrong_state_writes_nothing(void **state)
{
    struct fx *f = *state;
    put_out(f, "m-1", "PH-NBI", 100);
    uint64_t before = audit_count(f);
    CHECK_RC(icx_store_out_transition(f->s, "m-1", "PH-NBI", ICX_OUT_SENT,
                                      ICX_OUT_DELIVERED, 1, 0, NULL,
                                      "outbound.delivered", NULL, &f->err),
             ICX_ENOTFOUND, &f->err);
    CHECK_RC(icx_store_out_transition(f->s, "m-1", "XX-NONE", ICX_OUT_QUEUED,
                                      ICX_OUT_SENT, 1, 0, NULL,
                                      "outbound.sent", NULL, &f->err),
             ICX_ENOTFOUND, &f->err);
    if (out_state(f, "m-1", "PH-NBI") != ICX_OUT_QUEUED)
        fail_msg("state: got %s, want queued",
                 icx_out_state_name(out_state(f, "m-1", "PH-NBI")));
    if (audit_count(f) != before)
        fail_msg("audit records: got %llu, want %llu",
                 (unsigned long long)audit_count(f),
                 (unsigned long long)before);
    struct timeline t;
    timeline(f, "m-1", &t);
    if (t.n != 1)
        fail_msg("timeline: got %zu, want 1", t.n);
}

static void test_duplicate_insert(void **state)
{
    struct fx *f = *state;
    icx_out_row r;
    put_out(f, "m-1", "PH-NBI", 100);
    out_row(&r, "m-1", "PH-NBI", 100);
    CHECK_RC(icx_store_out_insert(f->s, &r, ENV_BYTES, ENV_LEN,
                                  "outbound.queued", NULL, &f->err),
             ICX_EEXIST, &f->err);
    /* Same message to another hop is a different row. */
    put_out(f, "m-1", "INT-ICPO", 100);
    if (audit_count(f) != 2)
        fail_msg("audit records: got %llu, want 2",
                 (unsigned long long)audit_count(f));
}

/* ---- inbox, replay cache, receipts -------------------------------------- */

static void in_row(icx_in_row *r, const char *sender, const char *mid,
                   int64_t at)
{
    memset(r, 0, sizeof *r);
    snprintf(r->sender, sizeof r->sender, "%s", sender);
    snprintf(r->message_id, sizeof r->message_id, "%s", mid);
    snprintf(r->recipient, sizeof r->recipient, "JP-NPA");
    snprintf(r->category, sizeof r->category, "case-referral");
    snprintf(r->peer, sizeof r->peer, "%s", sender);
    icx_sha256_hex(r->sha256, ENV_BYTES, ENV_LEN);
    r->state = ICX_IN_ACCEPTED;
    r->received_at = at;
}

static void test_inbox_replay_cache(void **state)
{
    struct fx *f = *state;
    icx_in_row r, got;
    icx_buf b;
    icx_buf_init(&b, 1 << 16);
    in_row(&r, "PH-NBI", "in-1", 1000);

    CHECK_RC(icx_store_in_lookup(f->s, "PH-NBI", "in-1", &got, &b, &f->err),
             ICX_ENOTFOUND, &f->err);
    CHECK_RC(icx_store_in_insert(f->s, &r, ENV_BYTES, ENV_LEN, RCPT_BYTES,
                                 RCPT_LEN, "inbound.accepted", "size=40",
                                 &f->err), ICX_OK, &f->err);
    CHECK_RC(icx_store_in_lookup(f->s, "PH-NBI", "in-1", &got, &b, &f->err),
             ICX_OK, &f->err);
    if (got.state != ICX_IN_ACCEPTED || strcmp(got.peer, "PH-NBI") != 0 ||
        got.received_at != 1000)
        fail_msg("lookup row: got %s/%s/%lld, want accepted/PH-NBI/1000",
                 icx_in_state_name(got.state), got.peer,
                 (long long)got.received_at);
    if (b.len != RCPT_LEN || memcmp(b.data, RCPT_BYTES, RCPT_LEN) != 0)
        fail_msg("receipt: got %zu bytes, want %zu exact", b.len, RCPT_LEN);
    CHECK_RC(icx_store_in_envelope(f->s, "PH-NBI", "in-1", &b, &f->err),
             ICX_OK, &f->err);
    if (b.len != ENV_LEN || memcmp(b.data, ENV_BYTES, ENV_LEN) != 0)
        fail_msg("envelope: got %zu bytes, want %zu exact", b.len, ENV_LEN);

    /* A replay is refused by the key. */
    CHECK_RC(icx_store_in_insert(f->s, &r, ENV_BYTES, ENV_LEN, NULL, 0,
                                 "inbound.accepted", NULL, &f->err),
             ICX_EEXIST, &f->err);
    /* Same id from another sender is another key. */
    in_row(&r, "INT-ICPO", "in-1", 1000);
    CHECK_RC(icx_store_in_insert(f->s, &r, ENV_BYTES, ENV_LEN, NULL, 0,
                                 "inbound.accepted", NULL, &f->err),
             ICX_OK, &f->err);

    CHECK_RC(icx_store_in_set_receipt(f->s, "PH-NBI", "in-1", "r2", 2,
                                      &f->err), ICX_OK, &f->err);
    CHECK_RC(icx_store_in_lookup(f->s, "PH-NBI", "in-1", &got, &b, &f->err),
             ICX_OK, &f->err);
    if (b.len != 2 || memcmp(b.data, "r2", 2) != 0)
        fail_msg("replaced receipt: got %zu bytes, want \"r2\"", b.len);
    CHECK_RC(icx_store_in_set_receipt(f->s, "PH-NBI", "in-9", "r2", 2,
                                      &f->err), ICX_ENOTFOUND, &f->err);

    /* Expiry releases the key but keeps the row and its bytes. */
    CHECK_RC(icx_store_in_expire(f->s, 1000, &f->err), ICX_OK, &f->err);
    CHECK_RC(icx_store_in_lookup(f->s, "PH-NBI", "in-1", &got, NULL, &f->err),
             ICX_OK, &f->err);
    CHECK_RC(icx_store_in_expire(f->s, 1001, &f->err), ICX_OK, &f->err);
    CHECK_RC(icx_store_in_lookup(f->s, "PH-NBI", "in-1", &got, NULL, &f->err),
             ICX_ENOTFOUND, &f->err);
    CHECK_RC(icx_store_in_envelope(f->s, "PH-NBI", "in-1", &b, &f->err),
             ICX_OK, &f->err);
    if (b.len != ENV_LEN)
        fail_msg("envelope after expiry: got %zu bytes, want %zu", b.len,
                 ENV_LEN);
    in_row(&r, "PH-NBI", "in-1", 5000);
    r.state = ICX_IN_REJECTED;
    snprintf(r.reason, sizeof r.reason, "REPLAY");
    CHECK_RC(icx_store_in_insert(f->s, &r, "x", 1, NULL, 0,
                                 "inbound.rejected", "reason=REPLAY", &f->err),
             ICX_OK, &f->err);
    CHECK_RC(icx_store_in_lookup(f->s, "PH-NBI", "in-1", &got, &b, &f->err),
             ICX_OK, &f->err);
    if (got.state != ICX_IN_REJECTED || b.len != 0)
        fail_msg("new key: got %s with %zu receipt bytes, want rejected, 0",
                 icx_in_state_name(got.state), b.len);
    icx_buf_free(&b);

    struct timeline t;
    timeline(f, "in-1", &t);
    /* accepted, accepted (ICPO), receipt_stored, rejected */
    if (t.n != 4)
        fail_msg("timeline: got %zu, want 4", t.n);
    audit_count(f);
}

static int count_in(void *ctx, const icx_in_row *row)
{
    (void)row;
    (*(int *)ctx)++;
    return 0;
}

static void test_inbox_list(void **state)
{
    struct fx *f = *state;
    icx_in_row r;
    in_row(&r, "PH-NBI", "in-1", 1);
    CHECK_RC(icx_store_in_insert(f->s, &r, "a", 1, NULL, 0, "inbound.accepted",
                                 NULL, &f->err), ICX_OK, &f->err);
    in_row(&r, "PH-NBI", "in-2", 1);
    r.state = ICX_IN_REJECTED;
    CHECK_RC(icx_store_in_insert(f->s, &r, "b", 1, NULL, 0, "inbound.rejected",
                                 NULL, &f->err), ICX_OK, &f->err);
    int all = 0, rej = 0;
    CHECK_RC(icx_store_in_list(f->s, -1, 0, count_in, &all, &f->err), ICX_OK,
             &f->err);
    CHECK_RC(icx_store_in_list(f->s, ICX_IN_REJECTED, 0, count_in, &rej,
                               &f->err), ICX_OK, &f->err);
    if (all != 2 || rej != 1)
        fail_msg("in list: got %d all, %d rejected, want 2, 1", all, rej);
}

struct rcpts { int n; int positive[4]; char issuer[4][32]; int exact; };

static int rcpt_cb(void *ctx, const icx_receipt_row *row, const void *env,
                   size_t len)
{
    struct rcpts *r = ctx;
    if (r->n < 4) {
        r->positive[r->n] = row->positive;
        snprintf(r->issuer[r->n], 32, "%s", row->issuer);
    }
    r->n++;
    if (len == RCPT_LEN && memcmp(env, RCPT_BYTES, len) == 0)
        r->exact++;
    return 0;
}

static void test_receipts(void **state)
{
    struct fx *f = *state;
    icx_receipt_row r;
    memset(&r, 0, sizeof r);
    snprintf(r.message_id, sizeof r.message_id, "m-1");
    snprintf(r.issuer, sizeof r.issuer, "INT-ICPO");
    r.positive = 1;
    r.hop = 1;
    r.received_at = 10;
    CHECK_RC(icx_store_receipt_insert(f->s, &r, RCPT_BYTES, RCPT_LEN, &f->err),
             ICX_OK, &f->err);
    CHECK_RC(icx_store_receipt_insert(f->s, &r, RCPT_BYTES, RCPT_LEN, &f->err),
             ICX_EEXIST, &f->err);
    snprintf(r.issuer, sizeof r.issuer, "PH-NBI");
    r.positive = 0;
    r.hop = 0;
    snprintf(r.reason, sizeof r.reason, "CATEGORY");
    CHECK_RC(icx_store_receipt_insert(f->s, &r, RCPT_BYTES, RCPT_LEN, &f->err),
             ICX_OK, &f->err);
    struct rcpts got = {0};
    CHECK_RC(icx_store_receipts(f->s, "m-1", rcpt_cb, &got, &f->err), ICX_OK,
             &f->err);
    if (got.n != 2 || got.exact != 2 || got.positive[0] != 1 ||
        got.positive[1] != 0 || strcmp(got.issuer[1], "PH-NBI") != 0)
        fail_msg("receipts: got %d (%d exact), want 2 (2 exact), ICPO+ PH-", got.n,
                 got.exact);
    struct timeline t;
    timeline(f, "m-1", &t);
    if (t.n != 2 || strcmp(t.rows[1].event, "receipt.stored") != 0 ||
        strstr(t.rows[1].detail, "reason=CATEGORY") == NULL)
        fail_msg("receipt records: got %zu (%s), want 2 with reason=CATEGORY",
                 t.n, t.n > 1 ? t.rows[1].detail : "-");
}

/* ---- transactions and fault injection ----------------------------------- */

static void test_explicit_rollback(void **state)
{
    struct fx *f = *state;
    put_out(f, "m-1", "PH-NBI", 100);
    put_out(f, "m-2", "PH-NBI", 100);
    uint64_t before = audit_count(f);

    CHECK_RC(icx_store_begin(f->s, &f->err), ICX_OK, &f->err);
    CHECK_RC(icx_store_begin(f->s, &f->err), ICX_EINVAL, &f->err);
    CHECK_RC(icx_store_out_transition(f->s, "m-1", "PH-NBI", ICX_OUT_QUEUED,
                                      ICX_OUT_SENT, 1, 200, NULL,
                                      "outbound.sent", NULL, &f->err),
             ICX_OK, &f->err);
    CHECK_RC(icx_store_out_transition(f->s, "m-2", "PH-NBI", ICX_OUT_QUEUED,
                                      ICX_OUT_SENT, 1, 200, NULL,
                                      "outbound.sent", NULL, &f->err),
             ICX_OK, &f->err);
    icx_audit_event ev = {"broker.batch", NULL, "PH-NBI", "n=2"};
    CHECK_RC(icx_store_audit(f->s, &ev, &f->err), ICX_OK, &f->err);
    if (out_state(f, "m-1", "PH-NBI") != ICX_OUT_SENT)
        fail_msg("inside: got %s, want sent",
                 icx_out_state_name(out_state(f, "m-1", "PH-NBI")));
    icx_store_rollback(f->s);

    if (out_state(f, "m-1", "PH-NBI") != ICX_OUT_QUEUED ||
        out_state(f, "m-2", "PH-NBI") != ICX_OUT_QUEUED)
        fail_msg("after rollback: got %s/%s, want queued/queued",
                 icx_out_state_name(out_state(f, "m-1", "PH-NBI")),
                 icx_out_state_name(out_state(f, "m-2", "PH-NBI")));
    if (audit_count(f) != before)
        fail_msg("audit after rollback: got %llu, want %llu",
                 (unsigned long long)audit_count(f), (unsigned long long)before);

    /* The next append links to the last committed record. */
    CHECK_RC(icx_store_out_transition(f->s, "m-1", "PH-NBI", ICX_OUT_QUEUED,
                                      ICX_OUT_SENT, 1, 200, NULL,
                                      "outbound.sent", NULL, &f->err),
             ICX_OK, &f->err);
    if (audit_count(f) != before + 1)
        fail_msg("audit after next append: got %llu, want %llu",
                 (unsigned long long)audit_count(f),
                 (unsigned long long)before + 1);
    struct timeline t;
    timeline(f, "m-1", &t);
    if (t.n != 2 || t.rows[1].seq != (int64_t)before + 1)
        fail_msg("next record: got seq %lld, want %llu",
                 t.n > 1 ? (long long)t.rows[1].seq : -1LL,
                 (unsigned long long)before + 1);

    /* And a committed batch persists. */
    CHECK_RC(icx_store_begin(f->s, &f->err), ICX_OK, &f->err);
    CHECK_RC(icx_store_out_transition(f->s, "m-2", "PH-NBI", ICX_OUT_QUEUED,
                                      ICX_OUT_SENT, 1, 200, NULL,
                                      "outbound.sent", NULL, &f->err),
             ICX_OK, &f->err);
    /* A lost race inside a batch leaves the batch usable. */
    CHECK_RC(icx_store_out_transition(f->s, "m-2", "PH-NBI", ICX_OUT_QUEUED,
                                      ICX_OUT_SENT, 1, 200, NULL,
                                      "outbound.sent", NULL, &f->err),
             ICX_ENOTFOUND, &f->err);
    CHECK_RC(icx_store_commit(f->s, &f->err), ICX_OK, &f->err);
    icx_store_free(&f->s);
    CHECK_RC(icx_store_open(&f->s, f->path, &f->err), ICX_OK, &f->err);
    if (out_state(f, "m-2", "PH-NBI") != ICX_OUT_SENT)
        fail_msg("after commit and reopen: got %s, want sent",
                 icx_out_state_name(out_state(f, "m-2", "PH-NBI")));
    if (audit_count(f) != before + 2)
        fail_msg("audit after commit: got %llu, want %llu",
                 (unsigned long long)audit_count(f),
                 (unsigned long long)before + 2);
}

static void test_fault_in_audit_insert(void **state)
{
    struct fx *f = *state;
    put_out(f, "m-1", "PH-NBI", 100);
    uint64_t before = audit_count(f);

    /* Own transaction: BEGIN, UPDATE succeed, the audit INSERT fails. */
    icx_store_test_fail_after(f->s, 2);
    CHECK_RC(icx_store_out_transition(f->s, "m-1", "PH-NBI", ICX_OUT_QUEUED,
                                      ICX_OUT_SENT, 1, 200, NULL,
                                      "outbound.sent", NULL, &f->err),
             ICX_EFULL, &f->err);
    if (strstr(f->err.msg, "disk full") == NULL ||
        strstr(f->err.msg, f->path) == NULL)
        fail_msg("message: got \"%s\", want disk full and the path", f->err.msg);
    if (out_state(f, "m-1", "PH-NBI") != ICX_OUT_QUEUED)
        fail_msg("state: got %s, want queued",
                 icx_out_state_name(out_state(f, "m-1", "PH-NBI")));
    if (audit_count(f) != before)
        fail_msg("audit: got %llu, want %llu",
                 (unsigned long long)audit_count(f), (unsigned long long)before);

    /* Explicit transaction: the failed call poisons it; commit refuses. */
    put_out(f, "m-2", "PH-NBI", 100);
    before = audit_count(f);
    CHECK_RC(icx_store_begin(f->s, &f->err), ICX_OK, &f->err);
    CHECK_RC(icx_store_out_transition(f->s, "m-2", "PH-NBI", ICX_OUT_QUEUED,
                                      ICX_OUT_SENT, 1, 200, NULL,
                                      "outbound.sent", NULL, &f->err),
             ICX_OK, &f->err);
    icx_store_test_fail_after(f->s, 1);
    CHECK_RC(icx_store_out_transition(f->s, "m-1", "PH-NBI", ICX_OUT_QUEUED,
                                      ICX_OUT_SENT, 1, 200, NULL,
                                      "outbound.sent", NULL, &f->err),
             ICX_EFULL, &f->err);
    CHECK_RC(icx_store_out_transition(f->s, "m-1", "PH-NBI", ICX_OUT_QUEUED,
                                      ICX_OUT_SENT, 1, 200, NULL,
                                      "outbound.sent", NULL, &f->err),
             ICX_ESTORE, &f->err);
    CHECK_RC(icx_store_commit(f->s, &f->err), ICX_ESTORE, &f->err);
    icx_store_rollback(f->s); /* harmless after a refused commit */
    if (out_state(f, "m-1", "PH-NBI") != ICX_OUT_QUEUED ||
        out_state(f, "m-2", "PH-NBI") != ICX_OUT_QUEUED)
        fail_msg("after refused commit: got %s/%s, want queued/queued",
                 icx_out_state_name(out_state(f, "m-1", "PH-NBI")),
                 icx_out_state_name(out_state(f, "m-2", "PH-NBI")));
    if (audit_count(f) != before)
        fail_msg("audit: got %llu, want %llu",
                 (unsigned long long)audit_count(f), (unsigned long long)before);

    /* A failing COMMIT (the 4th step) rolls the change back too. */
    icx_store_test_fail_after(f->s, 3);
    CHECK_RC(icx_store_out_transition(f->s, "m-1", "PH-NBI", ICX_OUT_QUEUED,
                                      ICX_OUT_SENT, 1, 200, NULL,
                                      "outbound.sent", NULL, &f->err),
             ICX_EFULL, &f->err);
    if (out_state(f, "m-1", "PH-NBI") != ICX_OUT_QUEUED)
        fail_msg("after failed commit: got %s, want queued",
                 icx_out_state_name(out_state(f, "m-1", "PH-NBI")));
    /* And the chain is intact for the next append. */
    CHECK_RC(icx_store_out_transition(f->s, "m-1", "PH-NBI", ICX_OUT_QUEUED,
                                      ICX_OUT_SENT, 1, 200, NULL,
                                      "outbound.sent", NULL, &f->err),
             ICX_OK, &f->err);
    if (audit_count(f) != before + 1)
        fail_msg("audit: got %llu, want %llu",
                 (unsigned long long)audit_count(f),
                 (unsigned long long)before + 1);
}

static void test_full_maps_to_efull(void **state)
{
    struct fx *f = *state;
    icx_out_row r;
    icx_in_row in;
    out_row(&r, "m-1", "PH-NBI", 100);
    in_row(&in, "PH-NBI", "in-1", 1);
    /* n = 1: BEGIN succeeds, the first data statement fails. */
    icx_store_test_fail_after(f->s, 1);
    CHECK_RC(icx_store_out_insert(f->s, &r, ENV_BYTES, ENV_LEN,
                                  "outbound.queued", NULL, &f->err),
             ICX_EFULL, &f->err);
    icx_store_test_fail_after(f->s, 1);
    CHECK_RC(icx_store_in_insert(f->s, &in, ENV_BYTES, ENV_LEN, NULL, 0,
                                 "inbound.accepted", NULL, &f->err),
             ICX_EFULL, &f->err);
    if (strstr(f->err.msg, "inbox insert") == NULL)
        fail_msg("message: got \"%s\", want the operation", f->err.msg);
    CHECK_RC(icx_store_out_get(f->s, "m-1", NULL, &r, &f->err), ICX_ENOTFOUND,
             &f->err);
    if (audit_count(f) != 0)
        fail_msg("audit: got %llu, want 0", (unsigned long long)audit_count(f));
    icx_store_test_fail_after(f->s, 0);
    put_out(f, "m-1", "PH-NBI", 100);
}

/* ---- audit chain tampering ---------------------------------------------- */

static void raw_exec(const char *path, const char *sql)
{
    if (pg_server() != NULL) {
        if (!pg_try(path, sql))
            fail_msg("raw sql: \"%s\" failed, want success", sql);
        return;
    }
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    char *msg = NULL;
    if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK)
        fail_msg("raw sql: got \"%s\", want success", msg ? msg : "?");
    sqlite3_free(msg);
    sqlite3_close(db);
}

static void test_audit_field_escaping(void **state)
{
    struct fx *f = *state;
    icx_audit_event ev = {"operator.note", "m|1", "PH-NBI",
                          "line1\nline2|x\ty"};
    CHECK_RC(icx_store_audit(f->s, &ev, &f->err), ICX_OK, &f->err);
    struct timeline t;
    timeline(f, "m_1", &t);
    if (t.n != 1 || strcmp(t.rows[0].detail, "line1_line2_x_y") != 0)
        fail_msg("detail: got \"%s\", want \"line1_line2_x_y\"",
                 t.n ? t.rows[0].detail : "-");
    /* A too-long field is cut on a UTF-8 boundary. */
    char longd[400];
    size_t k = 0;
    while (k + 3 < sizeof longd - 1) {
        memcpy(longd + k, "\xe6\x97\xa5", 3);
        k += 3;
    }
    longd[k] = '\0';
    icx_audit_event ev2 = {"operator.note", "m-2", NULL, longd};
    CHECK_RC(icx_store_audit(f->s, &ev2, &f->err), ICX_OK, &f->err);
    timeline(f, "m-2", &t);
    size_t len = t.n ? strlen(t.rows[0].detail) : 0;
    if (t.n != 1 || len != 255)
        fail_msg("long detail: got %zu bytes, want 255", len);
    audit_count(f);
}

static void tamper(struct fx *f, const char *sql, const char *want1,
                   const char *want2)
{
    for (int i = 1; i <= 5; i++) {
        char mid[16];
        snprintf(mid, sizeof mid, "m-%d", i);
        put_out(f, mid, "PH-NBI", 100);
    }
    if (audit_count(f) != 5)
        fail_msg("records: got %llu, want 5", (unsigned long long)audit_count(f));
    icx_store_free(&f->s);
    raw_exec(f->path, pg_server() != NULL
                          ? "ALTER TABLE audit DISABLE TRIGGER USER"
                          : "DROP TRIGGER audit_no_update; "
                            "DROP TRIGGER audit_no_delete;");
    raw_exec(f->path, sql);
    CHECK_RC(icx_store_open(&f->s, f->path, &f->err), ICX_OK, &f->err);
    uint64_t n = 99;
    CHECK_RC(icx_store_audit_verify(f->s, &n, &f->err), ICX_EBADSIG, &f->err);
    if (strstr(f->err.msg, want1) == NULL || strstr(f->err.msg, want2) == NULL)
        fail_msg("verify: got \"%s\", want \"%s\" and \"%s\"", f->err.msg,
                 want1, want2);
}

static void test_verify_edited(void **state)
{
    tamper(*state, "UPDATE audit SET detail = 'size=41' WHERE seq = 3",
           "audit record 3: edited", "does not match its hash");
}

static void test_verify_deleted(void **state)
{
    tamper(*state, "DELETE FROM audit WHERE seq = 3", "audit record 3: deleted",
           "record 4 does not link to record 2");
}

static void test_verify_reordered(void **state)
{
    tamper(*state, "UPDATE audit SET seq = 100 WHERE seq = 2;"
                   "UPDATE audit SET seq = 2 WHERE seq = 3;"
                   "UPDATE audit SET seq = 3 WHERE seq = 100;",
           "audit record 2: reordered", "links to record 3");
}

static void test_append_only_triggers(void **state)
{
    struct fx *f = *state;
    put_out(f, "m-1", "PH-NBI", 100);
    icx_store_free(&f->s);
    if (pg_server() != NULL) {
        static const char *const refused[] = {
            "DELETE FROM audit", "UPDATE audit SET detail = ''",
            "TRUNCATE audit", "DELETE FROM checkpoints",
            "TRUNCATE checkpoints"};
        for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++)
            if (pg_try(f->path, refused[i]))
                fail_msg("%s: got success, want refused", refused[i]);
        CHECK_RC(icx_store_open(&f->s, f->path, &f->err), ICX_OK, &f->err);
        audit_count(f);
        return;
    }
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
    int rc = sqlite3_exec(db, "DELETE FROM audit", NULL, NULL, NULL);
    if (rc == SQLITE_OK)
        fail_msg("delete from audit: got success, want refused");
    rc = sqlite3_exec(db, "UPDATE audit SET detail = ''", NULL, NULL, NULL);
    if (rc == SQLITE_OK)
        fail_msg("update audit: got success, want refused");
    sqlite3_close(db);
    CHECK_RC(icx_store_open(&f->s, f->path, &f->err), ICX_OK, &f->err);
    audit_count(f);
}

/* Another connection (an `icx` command beside the daemon) appends; this
 * store must pick up the new tail instead of forking the chain. */
static void test_two_connections_share_chain(void **state)
{
    struct fx *f = *state;
    icx_store *other = NULL;
    CHECK_RC(icx_store_open(&other, f->path, &f->err), ICX_OK, &f->err);
    put_out(f, "m-1", "PH-NBI", 100);
    icx_out_row r;
    out_row(&r, "m-2", "PH-NBI", 100);
    CHECK_RC(icx_store_out_insert(other, &r, ENV_BYTES, ENV_LEN,
                                  "outbound.queued", NULL, &f->err),
             ICX_OK, &f->err);
    put_out(f, "m-3", "PH-NBI", 100);
    icx_store_free(&other);
    if (audit_count(f) != 3)
        fail_msg("records: got %llu, want 3", (unsigned long long)audit_count(f));
}

/* The audit head's size alone (no root) matches the full head; the WAL
 * page count is kept only on the daemon's connection (manual checkpoints)
 * and returns to 0 when a checkpoint has copied everything back. */
static void test_head_size_and_wal_pages(void **state)
{
    struct fx *f = *state;
    put_out(f, "m-1", "PH-NBI", 100);
    put_out(f, "m-2", "PH-NBI", 100);
    uint64_t n1 = 0, n2 = 0;
    char root[65];
    icx_store_audit_head(f->s, &n1, NULL);
    icx_store_audit_head(f->s, &n2, root);
    if (n1 != n2 || n1 != 2)
        fail_msg("head size: got %llu without root and %llu with, want 2",
                 (unsigned long long)n1, (unsigned long long)n2);
    if (pg_server() != NULL)
        return; /* no WAL of ours to count */
    if (icx_store_wal_pages(f->s) != 0)
        fail_msg("WAL pages on an ordinary connection: got %llu, want 0",
                 (unsigned long long)icx_store_wal_pages(f->s));
    CHECK_RC(icx_store_manual_checkpoints(f->s, &f->err), ICX_OK, &f->err);
    put_out(f, "m-3", "PH-NBI", 100);
    if (icx_store_wal_pages(f->s) == 0)
        fail_msg("WAL pages after a commit: got 0, want > 0");
    CHECK_RC(icx_store_idle(f->s, &f->err), ICX_OK, &f->err);
    if (icx_store_wal_pages(f->s) != 0)
        fail_msg("WAL pages after a checkpoint: got %llu, want 0",
                 (unsigned long long)icx_store_wal_pages(f->s));
}

/* ---- stored bytes against their recorded digest ------------------------ */

/* One byte of each stored blob changed behind the store's back: every
 * read refuses with ICX_ECORRUPT, gives no bytes, names the message and
 * both digests, and leaves a "store.damaged" record. */
static void test_damaged_bytes_never_leave(void **state)
{
    struct fx *f = *state;
    icx_buf b;
    icx_in_row r;
    icx_receipt_row rr;
    char want[65];
    icx_buf_init(&b, 1 << 16);
    icx_sha256_hex(want, ENV_BYTES, ENV_LEN);
    put_out(f, "m-1", "PH-NBI", 100);
    in_row(&r, "PH-NBI", "in-1", 1000);
    CHECK_RC(icx_store_in_insert(f->s, &r, ENV_BYTES, ENV_LEN, NULL, 0,
                                 "inbound.accepted", NULL, &f->err),
             ICX_OK, &f->err);
    memset(&rr, 0, sizeof rr);
    snprintf(rr.message_id, sizeof rr.message_id, "m-1");
    snprintf(rr.issuer, sizeof rr.issuer, "PH-NBI");
    rr.positive = 1;
    CHECK_RC(icx_store_receipt_insert(f->s, &rr, RCPT_BYTES, RCPT_LEN,
                                      &f->err), ICX_OK, &f->err);
    /* Intact: the bytes come out. */
    CHECK_RC(icx_store_out_envelope(f->s, "m-1", "PH-NBI", &b, &f->err),
             ICX_OK, &f->err);
    icx_store_free(&f->s);
    /* The first byte '<' (0x3c) becomes '>' (0x3e) in each blob. */
    if (pg_server() != NULL)
        raw_exec(f->path, "UPDATE outbox_envelope SET envelope = '\\x3e'::bytea"
                          " || substr(envelope, 2);"
                          "UPDATE inbox SET envelope = '\\x3e'::bytea || "
                          "substr(envelope, 2);"
                          "UPDATE receipts SET envelope = '\\x3e'::bytea || "
                          "substr(envelope, 2);");
    else
        raw_exec(f->path, "UPDATE outbox_envelope SET envelope = X'3e' || "
                          "substr(envelope, 2);"
                          "UPDATE inbox SET envelope = X'3e' || "
                          "substr(envelope, 2);"
                          "UPDATE receipts SET envelope = X'3e' || "
                          "substr(envelope, 2);");
    CHECK_RC(icx_store_open(&f->s, f->path, &f->err), ICX_OK, &f->err);

    icx_buf_reset(&b);
    CHECK_RC(icx_store_out_envelope(f->s, "m-1", "PH-NBI", &b, &f->err),
             ICX_ECORRUPT, &f->err);
    if (b.len != 0 || strstr(f->err.msg, "m-1") == NULL ||
        strstr(f->err.msg, want) == NULL)
        fail_msg("outbox read: got %zu bytes, \"%s\"; want 0 bytes and a "
                 "message naming m-1 and %s", b.len, f->err.msg, want);
    CHECK_RC(icx_store_in_envelope(f->s, "PH-NBI", "in-1", &b, &f->err),
             ICX_ECORRUPT, &f->err);
    if (b.len != 0 || strstr(f->err.msg, "in-1") == NULL)
        fail_msg("inbox read: got %zu bytes, \"%s\"; want 0 bytes, in-1",
                 b.len, f->err.msg);
    struct rcpts got = {0};
    CHECK_RC(icx_store_receipts(f->s, "m-1", rcpt_cb, &got, &f->err),
             ICX_ECORRUPT, &f->err);
    if (got.n != 0)
        fail_msg("receipt callback: got %d calls, want 0", got.n);

    /* Each refusal is in the audit chain, which still verifies. */
    struct timeline t;
    timeline(f, "m-1", &t);
    int damaged = 0;
    for (size_t i = 0; i < t.n && i < 16; i++)
        if (strcmp(t.rows[i].event, "store.damaged") == 0 &&
            strstr(t.rows[i].detail, "expected_sha256=") != NULL &&
            strstr(t.rows[i].detail, "actual_sha256=") != NULL)
            damaged++;
    if (damaged != 2)
        fail_msg("store.damaged records of m-1: got %d, want 2 (outbox, "
                 "receipts)", damaged);
    timeline(f, "in-1", &t);
    if (t.n != 2 || strcmp(t.rows[1].event, "store.damaged") != 0)
        fail_msg("records of in-1: got %zu, want inbound.accepted and "
                 "store.damaged", t.n);
    audit_count(f);

    /* Inside the caller's transaction: refused the same way, and the
     * transaction stays usable. */
    CHECK_RC(icx_store_begin(f->s, &f->err), ICX_OK, &f->err);
    CHECK_RC(icx_store_out_envelope(f->s, "m-1", "PH-NBI", &b, &f->err),
             ICX_ECORRUPT, &f->err);
    put_out(f, "m-2", "PH-NBI", 100);
    CHECK_RC(icx_store_commit(f->s, &f->err), ICX_OK, &f->err);
    CHECK_RC(icx_store_out_envelope(f->s, "m-2", "PH-NBI", &b, &f->err),
             ICX_OK, &f->err);
    if (b.len != ENV_LEN || memcmp(b.data, ENV_BYTES, ENV_LEN) != 0)
        fail_msg("intact m-2: got %zu bytes, want the %zu stored", b.len,
                 (size_t)ENV_LEN);
    icx_buf_free(&b);
}

/* icx_store_copy into a new store of the same engine (SQLite file, or a
 * new PostgreSQL database): every row with its ids and bytes, the chain
 * and its checkpoint; a second copy into it is refused; the copy goes on
 * taking messages with new ids. */
static void test_copy(void **state)
{
    struct fx *f = *state;
    char to_path[600], to_db[80] = "";
    icx_store *to = NULL;
    icx_in_row r, got;
    icx_receipt_row rr;
    icx_buf b, rc_bytes, report;
    icx_checkpoint c, cto;
    icx_buf_init(&b, 1 << 16);
    icx_buf_init(&rc_bytes, 1 << 16);
    icx_buf_init(&report, 1 << 16);
    put_out(f, "m-1", "PH-NBI", 100);
    in_row(&r, "PH-NBI", "in-1", 1000);
    CHECK_RC(icx_store_in_insert(f->s, &r, ENV_BYTES, ENV_LEN, RCPT_BYTES,
                                 RCPT_LEN, "inbound.accepted", NULL, &f->err),
             ICX_OK, &f->err);
    /* A released replay key (replay_held NULL) and its reuse. */
    CHECK_RC(icx_store_in_expire(f->s, 2000, &f->err), ICX_OK, &f->err);
    in_row(&r, "PH-NBI", "in-1", 3000);
    CHECK_RC(icx_store_in_insert(f->s, &r, ENV_BYTES, ENV_LEN, NULL, 0,
                                 "inbound.accepted", NULL, &f->err),
             ICX_OK, &f->err);
    memset(&rr, 0, sizeof rr);
    snprintf(rr.message_id, sizeof rr.message_id, "m-1");
    snprintf(rr.issuer, sizeof rr.issuer, "PH-NBI");
    rr.positive = 1;
    CHECK_RC(icx_store_receipt_insert(f->s, &rr, RCPT_BYTES, RCPT_LEN,
                                      &f->err), ICX_OK, &f->err);
    memset(&c, 0, sizeof c);
    snprintf(c.gateway, sizeof c.gateway, "JP-NPA");
    snprintf(c.time, sizeof c.time, "2026-12-01T00:00:00.000Z");
    snprintf(c.signature, sizeof c.signature, "unsigned");
    icx_store_audit_head(f->s, &c.size, c.root);
    CHECK_RC(icx_store_checkpoint_add(f->s, &c, &f->err), ICX_OK, &f->err);
    uint64_t n_from = audit_count(f);

    if (pg_server() != NULL) {
        char admin[600], sql[128];
        snprintf(to_db, sizeof to_db, "%s_copy", f->dbname);
        pg_db(admin, sizeof admin, "postgres");
        snprintf(sql, sizeof sql, "CREATE DATABASE %s", to_db);
        if (!pg_try(admin, sql))
            fail_msg("creating database %s failed", to_db);
        pg_db(to_path, sizeof to_path, to_db);
    } else {
        snprintf(to_path, sizeof to_path, "%s/copy.db", f->dir);
    }
    CHECK_RC(icx_store_open(&to, to_path, &f->err), ICX_OK, &f->err);
    CHECK_RC(icx_store_copy(to, f->s, NULL, 0, &report, &f->err), ICX_OK,
             &f->err);
    if (strstr((const char *)report.data, "copied: inbox 2 rows") == NULL ||
        strstr((const char *)report.data, "copied: checkpoints 1 rows") == NULL)
        fail_msg("report: got \"%s\", want the rows of each table",
                 (const char *)report.data);
    /* The bytes, the replay cache and the receipt as they were. */
    CHECK_RC(icx_store_out_envelope(to, "m-1", "PH-NBI", &b, &f->err), ICX_OK,
             &f->err);
    if (b.len != ENV_LEN || memcmp(b.data, ENV_BYTES, ENV_LEN) != 0)
        fail_msg("copied envelope: got %zu bytes, want the %zu stored", b.len,
                 (size_t)ENV_LEN);
    CHECK_RC(icx_store_in_lookup(to, "PH-NBI", "in-1", &got, &rc_bytes,
                                 &f->err), ICX_OK, &f->err);
    if (got.received_at != 3000 || rc_bytes.len != 0)
        fail_msg("replay key: got the row received at %lld, want the live "
                 "one (3000) without a receipt", (long long)got.received_at);
    in_row(&r, "PH-NBI", "in-1", 4000);
    CHECK_RC(icx_store_in_insert(to, &r, ENV_BYTES, ENV_LEN, NULL, 0,
                                 "inbound.accepted", NULL, &f->err),
             ICX_EEXIST, &f->err);
    CHECK_RC(icx_store_checkpoint_last(to, &cto, &f->err), ICX_OK, &f->err);
    if (cto.size != c.size || strcmp(cto.root, c.root) != 0)
        fail_msg("checkpoint: got size %llu, want %llu",
                 (unsigned long long)cto.size, (unsigned long long)c.size);
    /* Not into a store that holds anything. */
    CHECK_RC(icx_store_copy(to, f->s, NULL, 0, NULL, &f->err), ICX_EEXIST,
             &f->err);
    /* The copy goes on: a new message gets a new id and chains on. */
    icx_out_row o;
    out_row(&o, "m-2", "PH-NBI", 100);
    CHECK_RC(icx_store_out_insert(to, &o, ENV_BYTES, ENV_LEN,
                                  "outbound.queued", NULL, &f->err),
             ICX_OK, &f->err);
    uint64_t n_to = 0;
    CHECK_RC(icx_store_audit_verify(to, &n_to, &f->err), ICX_OK, &f->err);
    if (n_to != n_from + 1)
        fail_msg("records in the copy: got %llu, want %llu",
                 (unsigned long long)n_to, (unsigned long long)n_from + 1);
    icx_store_free(&to);
    if (to_db[0] != '\0') {
        char admin[600], sql[128];
        pg_db(admin, sizeof admin, "postgres");
        snprintf(sql, sizeof sql, "DROP DATABASE %s WITH (FORCE)", to_db);
        pg_try(admin, sql);
    }
    icx_buf_free(&b);
    icx_buf_free(&rc_bytes);
    icx_buf_free(&report);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_open_mode_and_reopen),
        T(test_pg_reopen),
        T(test_pg_password_not_in_messages),
        T(test_pg_message_one_line),
        T(test_pg_one_signer),
        T(test_pg_lock_wait),
        T(test_open_refuses_loose_mode),
        T(test_second_connection_keeps_locks),
        T(test_state_names),
        T(test_outbox_flow),
        T(test_outbox_list),
        T(test_outbox_wake),
        T(test_wrong_state_writes_nothing),
        T(test_duplicate_insert),
        T(test_inbox_replay_cache),
        T(test_inbox_list),
        T(test_receipts),
        T(test_explicit_rollback),
        T(test_fault_in_audit_insert),
        T(test_full_maps_to_efull),
        T(test_audit_field_escaping),
        T(test_verify_edited),
        T(test_verify_deleted),
        T(test_verify_reordered),
        T(test_append_only_triggers),
        T(test_two_connections_share_chain),
        T(test_head_size_and_wal_pages),
        T(test_damaged_bytes_never_leave),
        T(test_copy),
    };
#undef T
    return cmocka_run_group_tests(tests, NULL, NULL);
}
