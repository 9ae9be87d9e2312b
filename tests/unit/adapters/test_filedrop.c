/*
 * test_filedrop.c - the filedrop transport adapter on real folders.
 *
 * One simulated gateway (JP-NPA) with one filedrop partner (PH-NBI) whose
 * inbox and outbox live in a fresh temporary folder per test.  The "core"
 * is a recorder: deliver() keeps each frame, peer_event() each event.  A
 * scan is forced with try_resume + on_ready (as the core's loop would call
 * on_ready every turn).  Answers are receipts sent back through send(),
 * as the core does; they are built here as unsigned envelopes (the adapter
 * reads the digest, it never verifies).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "adapter.h"
#include "filedrop/filedrop_adapter.h"
#include "log.h"
#include "testutil.h"
#include "util.h"

#define MAX_GOT 32
#define PARTNER "PH-NBI"

struct got {
    char peer[32];
    int kind;
    size_t len;
    char *data;
};

struct fx {
    char *dir;
    char inbox[512], outbox[512];
    icx_config cfg;
    icx_partner partner;
    icx_adapter_env env;
    void *ad;
    struct got got[MAX_GOT];
    size_t ngot;
    int events[MAX_GOT];
    size_t nev;
};

static const icx_adapter_ops *ops = &icx_adapter_filedrop;

static void on_deliver(void *core, const char *peer, int kind,
                       const char *data, size_t len)
{
    struct fx *f = core;
    assert_true(f->ngot < MAX_GOT);
    struct got *g = &f->got[f->ngot++];
    snprintf(g->peer, sizeof g->peer, "%s", peer);
    g->kind = kind;
    g->len = len;
    g->data = malloc(len + 1);
    assert_non_null(g->data);
    memcpy(g->data, data, len);
    g->data[len] = '\0';
}

static void on_event(void *core, const char *peer, int event)
{
    struct fx *f = core;
    assert_string_equal(peer, PARTNER);
    assert_true(f->nev < MAX_GOT);
    f->events[f->nev++] = event;
}

static void fx_open(struct fx *f)
{
    icx_err err;
    icx_err_clear(&err);
    if (ops->open(&f->ad, &f->env, &err) != ICX_OK)
        fail_msg("open: %s", err.msg);
}

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof *f);
    assert_non_null(f);
    f->dir = icx_test_mkdtemp();
    snprintf(f->inbox, sizeof f->inbox, "%s/from-ph", f->dir);
    snprintf(f->outbox, sizeof f->outbox, "%s/to-ph", f->dir);
    assert_int_equal(mkdir(f->inbox, 0755), 0);
    assert_int_equal(mkdir(f->outbox, 0755), 0);
    f->partner.id = PARTNER;
    f->partner.adapter = "filedrop";
    f->partner.filedrop_inbox = f->inbox;
    f->partner.filedrop_outbox = f->outbox;
    f->partner.filedrop_poll_ms = 1000;
    f->partner.filedrop_answer_s = 60;
    f->cfg.id = "JP-NPA";
    f->cfg.max_message_bytes = 4096;
    f->cfg.max_depth = 64;
    f->cfg.partners = &f->partner;
    f->cfg.npartners = 1;
    f->env.cfg = &f->cfg;
    f->env.core = f;
    f->env.deliver = on_deliver;
    f->env.peer_event = on_event;
    fx_open(f);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    ops->close(&f->ad);
    assert_null(f->ad);
    for (size_t i = 0; i < f->ngot; i++)
        free(f->got[i].data);
    chmod(f->inbox, 0755);
    chmod(f->outbox, 0755);
    icx_test_rmrf(f->dir);
    free(f->dir);
    free(f);
    return 0;
}

/* One scan now. */
static void tick(struct fx *f)
{
    icx_err err;
    ops->try_resume(f->ad, PARTNER);
    assert_int_equal(ops->on_ready(f->ad, NULL, 0, &err), ICX_OK);
}

static int exists(const char *path)
{
    struct stat sb;
    return lstat(path, &sb) == 0;
}

static void want_exists(const char *path, int want)
{
    if (exists(path) != want)
        fail_msg("%s: got %s, want %s", path, want ? "absent" : "present",
                 want ? "present" : "absent");
}

/* Files in dir (not counting subfolders). */
static int count_files(const char *dir)
{
    char out[4096];
    const char *argv[] = {"find", dir, "-maxdepth", "1", "-type", "f",
                          NULL};
    assert_int_equal(icx_test_run(out, sizeof out, argv), 0);
    int n = 0;
    for (const char *p = out; *p; p++)
        n += *p == '\n';
    return n;
}

static char *slurp(const char *path)
{
    char *data = NULL;
    size_t len;
    icx_err err;
    if (icx_file_read(&data, &len, path, 1 << 20, &err) < 0)
        fail_msg("%s", err.msg);
    return data;
}

/* A stand-in envelope: the adapter only needs XML-looking bytes. */
static const char *envelope(const char *tag)
{
    return icx_test_path("<?xml version=\"1.0\"?>\n<Envelope xmlns=\"urn:icx:"
                         "envelope:1\"><Header/><Payload>%s</Payload>"
                         "</Envelope>\n", tag);
}

/* The receipt the core would send for bytes with this digest. */
static const char *receipt_for(const char *digest, const char *reason)
{
    return icx_test_path(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
        "<Envelope xmlns=\"urn:icx:envelope:1\"><Header><MessageId>"
        "6f1c2e9a-0b1d-4c3e-9f00-1a2b3c4d5e6f</MessageId></Header><Payload>"
        "<Receipt xmlns=\"urn:icx:receipt:1\"><Status>%s</Status>"
        "<RefToMessageId>0b6a3e2c-1d2f-4a5b-8c7d-9e0f1a2b3c4d</RefToMessageId>"
        "<RefSender>PH-NBI</RefSender><MessageDigest algorithm=\"sha256\">%s"
        "</MessageDigest><ReceivedAt>2026-11-26T01:02:03Z</ReceivedAt>%s%s%s"
        "</Receipt></Payload></Envelope>\n",
        reason ? "negative" : "positive", digest,
        reason ? "<Reason code=\"" : "", reason ? reason : "",
        reason ? "\">signature does not verify</Reason>" : "");
}

static void put(struct fx *f, const char *name, const char *text)
{
    icx_test_write(icx_test_path("%s/%s", f->inbox, name), text);
}

static int answer(struct fx *f, const char *bytes, const char *reason)
{
    char digest[65];
    icx_err err;
    icx_sha256_hex(digest, bytes, strlen(bytes));
    const char *r = receipt_for(digest, reason);
    return ops->send(f->ad, PARTNER, ICX_FRAME_RECEIPT, r, strlen(r), &err);
}

/* ---- outbound --------------------------------------------------------- */

static void test_send_atomic(void **state)
{
    struct fx *f = *state;
    const char *env = envelope("one");
    char digest[65];
    icx_err err;
    struct stat sb;

    icx_sha256_hex(digest, env, strlen(env));
    assert_int_equal(ops->send(f->ad, PARTNER, ICX_FRAME_ENVELOPE, env,
                               strlen(env), &err),
                     ICX_SEND_OK);
    const char *path = icx_test_path("%s/%s.xml", f->outbox, digest);
    char *back = slurp(path);
    assert_string_equal(back, env);
    free(back);
    assert_int_equal(stat(path, &sb), 0);
    assert_int_equal(sb.st_mode & 0777, 0640);
    /* Only the renamed file: no temporary left behind. */
    assert_int_equal(count_files(f->outbox), 1);
    /* The same bytes again: the same name, still one file. */
    assert_int_equal(ops->send(f->ad, PARTNER, ICX_FRAME_ENVELOPE, env,
                               strlen(env), &err),
                     ICX_SEND_OK);
    assert_int_equal(count_files(f->outbox), 1);
    /* A receipt says so in its name. */
    const char *r = receipt_for(digest, NULL);
    icx_sha256_hex(digest, r, strlen(r));
    assert_int_equal(ops->send(f->ad, PARTNER, ICX_FRAME_RECEIPT, r,
                               strlen(r), &err),
                     ICX_SEND_OK);
    want_exists(icx_test_path("%s/%s.receipt.xml", f->outbox, digest), 1);
    assert_true(ops->connected(f->ad, PARTNER));
}

static void test_send_refusals(void **state)
{
    struct fx *f = *state;
    char big[5000];
    icx_err err;
    memset(big, 'x', sizeof big);
    assert_int_equal(ops->send(f->ad, PARTNER, ICX_FRAME_ENVELOPE, big,
                               sizeof big, &err),
                     ICX_SEND_REJECTED);
    assert_non_null(strstr(err.msg, "5000 bytes, allowed 1..4096"));
    assert_int_equal(ops->send(f->ad, "XX-NONE", ICX_FRAME_ENVELOPE, "<a/>", 4,
                               &err),
                     ICX_SEND_ERROR);
    assert_int_equal(ops->send(f->ad, PARTNER, ICX_FRAME_HELLO, "<a/>", 4,
                               &err),
                     ICX_SEND_ERROR);
    assert_int_equal(count_files(f->outbox), 0);
}

/* A missing outbox: RETRY and "down" once; back: OK and "up". */
static void test_outbox_missing_then_back(void **state)
{
    struct fx *f = *state;
    const char *env = envelope("two");
    icx_err err;

    assert_int_equal(rmdir(f->outbox), 0);
    assert_int_equal(ops->send(f->ad, PARTNER, ICX_FRAME_ENVELOPE, env,
                               strlen(env), &err),
                     ICX_SEND_RETRY);
    assert_non_null(strstr(err.msg, "No such file or directory"));
    assert_false(ops->connected(f->ad, PARTNER));
    tick(f);
    tick(f);
    assert_int_equal(f->nev, 1);
    assert_int_equal(f->events[0], ICX_PEER_DOWN);

    /* Not a folder. */
    icx_test_write(f->outbox, "a file where the folder should be\n");
    assert_int_equal(ops->send(f->ad, PARTNER, ICX_FRAME_ENVELOPE, env,
                               strlen(env), &err),
                     ICX_SEND_RETRY);
    assert_non_null(strstr(err.msg, "not a folder"));
    assert_int_equal(unlink(f->outbox), 0);

    /* Not writable (root writes anyway: only checked as another user). */
    assert_int_equal(mkdir(f->outbox, 0755), 0);
    if (geteuid() != 0) {
        assert_int_equal(chmod(f->outbox, 0555), 0);
        assert_int_equal(ops->send(f->ad, PARTNER, ICX_FRAME_ENVELOPE, env,
                                   strlen(env), &err),
                         ICX_SEND_RETRY);
        assert_int_equal(chmod(f->outbox, 0755), 0);
    }
    tick(f);
    assert_int_equal(f->nev, 2);
    assert_int_equal(f->events[1], ICX_PEER_UP);
    assert_int_equal(ops->send(f->ad, PARTNER, ICX_FRAME_ENVELOPE, env,
                               strlen(env), &err),
                     ICX_SEND_OK);
    assert_true(ops->connected(f->ad, PARTNER));
}

/* ---- inbound ---------------------------------------------------------- */

static void test_temporary_names_ignored(void **state)
{
    struct fx *f = *state;
    put(f, ".hidden.xml", envelope("a"));
    put(f, "half.xml.tmp", envelope("b"));
    put(f, "c.tmp", envelope("c"));
    put(f, "notes.txt", "not an envelope\n");
    assert_int_equal(mkdir(icx_test_path("%s/sub.xml", f->inbox), 0755), 0);
    tick(f);
    assert_int_equal(f->ngot, 0);
    assert_int_equal(count_files(f->inbox), 4);
    want_exists(icx_test_path("%s/processed", f->inbox), 0);
}

static void test_envelope_processed_after_answer(void **state)
{
    struct fx *f = *state;
    const char *env = envelope("m1");
    char copy[512];
    snprintf(copy, sizeof copy, "%s", env);
    put(f, "m1.xml", copy);
    tick(f);
    assert_int_equal(f->ngot, 1);
    assert_string_equal(f->got[0].peer, PARTNER);
    assert_int_equal(f->got[0].kind, ICX_FRAME_ENVELOPE);
    assert_string_equal(f->got[0].data, copy);
    /* Waiting for the answer: not handed over again, not moved. */
    tick(f);
    assert_int_equal(f->ngot, 1);
    want_exists(icx_test_path("%s/m1.xml", f->inbox), 1);
    /* A receipt for other bytes settles nothing. */
    assert_int_equal(answer(f, "other bytes", NULL), ICX_SEND_OK);
    want_exists(icx_test_path("%s/m1.xml", f->inbox), 1);
    /* Its receipt: written, then the file moves to processed/. */
    assert_int_equal(answer(f, copy, NULL), ICX_SEND_OK);
    want_exists(icx_test_path("%s/m1.xml", f->inbox), 0);
    char *back = slurp(icx_test_path("%s/processed/m1.xml", f->inbox));
    assert_string_equal(back, copy);
    free(back);
    assert_int_equal(count_files(f->outbox), 2);
    tick(f);
    assert_int_equal(f->ngot, 1);

    /* The same name again (the partner resent it): both copies kept. */
    put(f, "m1.xml", copy);
    tick(f);
    assert_int_equal(f->ngot, 2);
    assert_int_equal(answer(f, copy, NULL), ICX_SEND_OK);
    want_exists(icx_test_path("%s/processed/m1.xml", f->inbox), 1);
    want_exists(icx_test_path("%s/processed/m1.xml.1", f->inbox), 1);
}

static void test_negative_answer_rejected(void **state)
{
    struct fx *f = *state;
    char copy[512];
    snprintf(copy, sizeof copy, "%s", envelope("tampered"));
    put(f, "m2.xml", copy);
    tick(f);
    assert_int_equal(f->ngot, 1);
    assert_int_equal(answer(f, copy, "SIG_INVALID"), ICX_SEND_OK);
    want_exists(icx_test_path("%s/m2.xml", f->inbox), 0);
    want_exists(icx_test_path("%s/rejected/m2.xml", f->inbox), 1);
    char *why = slurp(icx_test_path("%s/rejected/m2.xml.reason", f->inbox));
    assert_string_equal(why, "SIG_INVALID: signature does not verify\n");
    free(why);
    want_exists(icx_test_path("%s/processed/m2.xml", f->inbox), 0);
}

/* A receipt file is the core's once delivered: nothing answers it. */
static void test_receipt_file(void **state)
{
    struct fx *f = *state;
    put(f, "abc.receipt.xml", envelope("receipt"));
    tick(f);
    assert_int_equal(f->ngot, 1);
    assert_int_equal(f->got[0].kind, ICX_FRAME_RECEIPT);
    want_exists(icx_test_path("%s/abc.receipt.xml", f->inbox), 0);
    want_exists(icx_test_path("%s/processed/abc.receipt.xml", f->inbox), 1);
}

static void set_old(const char *path)
{
    struct timeval tv[2];
    gettimeofday(&tv[0], NULL);
    tv[0].tv_sec -= 3600;
    tv[1] = tv[0];
    assert_int_equal(lutimes(path, tv), 0);
}

static const char *reason_of(struct fx *f, const char *name)
{
    static char text[512];
    char *r = slurp(icx_test_path("%s/rejected/%s.reason", f->inbox, name));
    snprintf(text, sizeof text, "%s", r);
    free(r);
    return text;
}

/* What the adapter refuses itself: never handed to the core. */
static void test_refused_files(void **state)
{
    struct fx *f = *state;
    char big[5000];
    memset(big, ' ', sizeof big);
    big[0] = '<';
    big[sizeof big - 2] = '>';
    big[sizeof big - 1] = '\0';
    put(f, "big.xml", big);
    put(f, "empty.xml", "");
    set_old(icx_test_path("%s/empty.xml", f->inbox));
    put(f, "cut.xml", "<Envelope><Header>");
    set_old(icx_test_path("%s/cut.xml", f->inbox));
    assert_int_equal(symlink("/etc/passwd",
                             icx_test_path("%s/link.xml", f->inbox)),
                     0);
    tick(f);
    assert_int_equal(f->ngot, 0);
    assert_int_equal(count_files(f->inbox), 0);
    assert_non_null(strstr(reason_of(f, "big.xml"), "TOO_LARGE: 4999 bytes"));
    assert_non_null(strstr(reason_of(f, "empty.xml"), "the file is empty"));
    assert_non_null(strstr(reason_of(f, "cut.xml"),
                           "does not end like an XML document"));
    assert_non_null(strstr(reason_of(f, "link.xml"), "symbolic link"));
}

/* Half-written by a tool that ignores the temporary-name rule: left alone
 * while recent, taken once complete. */
static void test_half_written_waits(void **state)
{
    struct fx *f = *state;
    put(f, "slow.xml", "<Envelope><Header>");
    tick(f);
    assert_int_equal(f->ngot, 0);
    want_exists(icx_test_path("%s/slow.xml", f->inbox), 1);
    want_exists(icx_test_path("%s/rejected", f->inbox), 0);
    put(f, "slow.xml", "<Envelope><Header/></Envelope>\n");
    tick(f);
    assert_int_equal(f->ngot, 1);
}

/* A missing or unusable inbox is reported and scanned again. */
static void test_inbox_missing_then_back(void **state)
{
    struct fx *f = *state;
    assert_int_equal(rmdir(f->inbox), 0);
    tick(f);
    tick(f);
    assert_int_equal(f->ngot, 0);
    icx_test_write(f->inbox, "not a folder\n");
    tick(f);
    assert_int_equal(unlink(f->inbox), 0);
    assert_int_equal(mkdir(f->inbox, 0755), 0);
    if (geteuid() != 0) {
        /* Readable but not writable: nothing could be moved, nothing is
         * taken. */
        put(f, "m.xml", envelope("m"));
        assert_int_equal(chmod(f->inbox, 0555), 0);
        tick(f);
        assert_int_equal(f->ngot, 0);
        assert_int_equal(chmod(f->inbox, 0755), 0);
    } else {
        put(f, "m.xml", envelope("m"));
    }
    tick(f);
    assert_int_equal(f->ngot, 1);
}

/* A receipt that cannot be written leaves the file pending. */
static void test_answer_not_written(void **state)
{
    struct fx *f = *state;
    char copy[512];
    snprintf(copy, sizeof copy, "%s", envelope("m5"));
    put(f, "m5.xml", copy);
    tick(f);
    assert_int_equal(rmdir(f->outbox), 0);
    assert_int_equal(answer(f, copy, NULL), ICX_SEND_RETRY);
    want_exists(icx_test_path("%s/m5.xml", f->inbox), 1);
    assert_int_equal(mkdir(f->outbox, 0755), 0);
    assert_int_equal(answer(f, copy, NULL), ICX_SEND_OK);
    want_exists(icx_test_path("%s/processed/m5.xml", f->inbox), 1);
}

/* A restart hands over again only what was never answered. */
static void test_restart(void **state)
{
    struct fx *f = *state;
    char done[512], open[512];
    snprintf(done, sizeof done, "%s", envelope("answered"));
    snprintf(open, sizeof open, "%s", envelope("unanswered"));
    put(f, "a.xml", done);
    put(f, "b.xml", open);
    tick(f);
    assert_int_equal(f->ngot, 2);
    assert_int_equal(answer(f, done, NULL), ICX_SEND_OK);
    ops->close(&f->ad);
    fx_open(f);
    tick(f);
    assert_int_equal(f->ngot, 3);
    assert_string_equal(f->got[2].data, open);
    want_exists(icx_test_path("%s/processed/a.xml", f->inbox), 1);
    want_exists(icx_test_path("%s/b.xml", f->inbox), 1);
    /* Answered now; after another restart nothing is handed over. */
    assert_int_equal(answer(f, open, NULL), ICX_SEND_OK);
    ops->close(&f->ad);
    fx_open(f);
    tick(f);
    assert_int_equal(f->ngot, 3);
    assert_int_equal(count_files(f->inbox), 0);
}

/* No answer at all: handed over again after answer_seconds, then
 * rejected. */
static void test_no_answer(void **state)
{
    struct fx *f = *state;
    f->partner.filedrop_answer_s = 1;
    ops->close(&f->ad);
    fx_open(f);
    put(f, "mute.xml", envelope("mute"));
    for (int i = 0; i < ICX_FILEDROP_MAX_HANDOVERS; i++) {
        tick(f);
        assert_int_equal(f->ngot, (size_t)i + 1);
        want_exists(icx_test_path("%s/mute.xml", f->inbox), 1);
        usleep(1100 * 1000);
    }
    tick(f);
    assert_int_equal(f->ngot, ICX_FILEDROP_MAX_HANDOVERS);
    want_exists(icx_test_path("%s/mute.xml", f->inbox), 0);
    assert_non_null(strstr(reason_of(f, "mute.xml"), "NO_ANSWER: handed to "
                                                      "the gateway 3 times"));
}

int main(void)
{
    icx_log_set_level(ICX_LOG_ERROR);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_send_atomic, setup, teardown),
        cmocka_unit_test_setup_teardown(test_send_refusals, setup, teardown),
        cmocka_unit_test_setup_teardown(test_outbox_missing_then_back, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_temporary_names_ignored, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_envelope_processed_after_answer,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_negative_answer_rejected, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_receipt_file, setup, teardown),
        cmocka_unit_test_setup_teardown(test_refused_files, setup, teardown),
        cmocka_unit_test_setup_teardown(test_half_written_waits, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_inbox_missing_then_back, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_answer_not_written, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_restart, setup, teardown),
        cmocka_unit_test_setup_teardown(test_no_answer, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
