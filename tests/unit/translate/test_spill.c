/*
 * test_spill.c - the external sort: records come back in (key, sequence)
 * order whether they stayed in memory, went to one run or to many runs
 * merged in several levels; the file is never visible in its folder; a
 * folder that cannot hold it and a write that fails (the file size limit)
 * are clear errors that leave the spill unusable but freeable.
 *
 * Tiny batches (a few records) make small inputs take every path.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <signal.h>
#include <sys/resource.h>

#include <cmocka.h>

#include "buf.h"
#include "spill.h"
#include "testutil.h"

typedef struct want {
    char key[32];
    uint64_t seq;
    char data[32];
} want;

static int want_cmp(const void *a, const void *b)
{
    const want *x = a, *y = b;
    int c = strcmp(x->key, y->key);
    if (c != 0)
        return c;
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* n records with keys from a small set (so keys repeat across runs),
 * sequence numbers in the order added. */
static want *make(size_t n)
{
    want *w = calloc(n + 1, sizeof *w);
    unsigned long x = 2463534242UL;
    for (size_t i = 0; i < n; i++) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        x &= 0xffffffffUL;
        snprintf(w[i].key, sizeof w[i].key, "k%lu%s", x % 17,
                 x % 3 ? "" : "-longer");
        w[i].seq = i;
        snprintf(w[i].data, sizeof w[i].data, "row %zu", i);
    }
    return w;
}

/* Adds w[0..n) to a spill with opts o, reads it back twice, and checks
 * both readings against w sorted; returns the stats. */
static void roundtrip(const icx_spill_opts *o, size_t n, icx_spill_stats *st)
{
    icx_spill *s = NULL;
    icx_err err;
    want *w = make(n);
    assert_int_equal(icx_spill_open(&s, o, &err), 0);
    for (size_t i = 0; i < n; i++)
        if (icx_spill_add(s, w[i].key, strlen(w[i].key) + 1, w[i].seq,
                          w[i].data, strlen(w[i].data) + 1, &err) != 0)
            fail_msg("add %zu: %s", i, err.msg);
    qsort(w, n, sizeof *w, want_cmp);
    if (o && o->dir)
        assert_int_equal(icx_test_entries(o->dir), 0); /* unlinked at once */
    for (int pass = 0; pass < 2; pass++) {
        icx_spill_rec r;
        size_t i = 0;
        int rc;
        assert_int_equal(icx_spill_rewind(s, &err), 0);
        while ((rc = icx_spill_next(s, &r, &err)) == 1) {
            if (i >= n)
                fail_msg("pass %d: more than %zu records", pass, n);
            if (strcmp(r.key, w[i].key) != 0 || r.seq != w[i].seq ||
                strcmp(r.data, w[i].data) != 0)
                fail_msg("pass %d, record %zu: got %s/%llu/%s, want "
                         "%s/%llu/%s", pass, i, r.key,
                         (unsigned long long)r.seq, r.data, w[i].key,
                         (unsigned long long)w[i].seq, w[i].data);
            i++;
        }
        assert_int_equal(rc, 0);
        if (i != n)
            fail_msg("pass %d: got %zu records, want %zu", pass, i, n);
    }
    icx_spill_stats_get(s, st);
    assert_int_equal(icx_spill_add(s, "x", 1, 0, "", 0, &err), ICX_EINVAL);
    icx_spill_free(&s);
    assert_null(s);
    free(w);
}

static void test_orders(void **state)
{
    (void)state;
    char *dir = icx_test_mkdtemp();
    static const struct {
        const char *name;
        size_t n, batch_records, fanin;
        size_t want_runs, min_merges;
    } cases[] = {
        {"empty", 0, 0, 0, 0, 0},
        {"in memory", 40, 0, 0, 0, 0},
        {"one run a record", 40, 1, 0, 40, 1},      /* 40 > fanin 32 */
        {"runs of 3, fanin 2", 50, 3, 2, 17, 15},   /* several levels */
        {"runs of 7, fanin 4", 200, 7, 4, 29, 8},
        {"two runs", 10, 5, 0, 2, 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        icx_spill_opts o = {.dir = dir, .batch_records = cases[i].batch_records,
                            .fanin = cases[i].fanin};
        icx_spill_stats st;
        roundtrip(&o, cases[i].n, &st);
        if (st.runs != cases[i].want_runs || st.merges < cases[i].min_merges)
            fail_msg("%s: got %zu runs, %zu merges; want %zu runs, at least "
                     "%zu merges", cases[i].name, st.runs, st.merges,
                     cases[i].want_runs, cases[i].min_merges);
        if ((st.runs == 0) != (st.file_bytes == 0))
            fail_msg("%s: %llu bytes written with %zu runs", cases[i].name,
                     (unsigned long long)st.file_bytes, st.runs);
    }
    icx_test_rmrf(dir);
    free(dir);
}

/* Bytewise, a prefix first (as strcmp orders text), without the NUL. */
static void test_prefix_and_bytes(void **state)
{
    (void)state;
    static const char *const in[] = {"b", "abc", "ab", "\xc3\xa9", "a", "ab"};
    static const char *const out[] = {"a", "ab", "ab", "abc", "b", "\xc3\xa9"};
    icx_spill_opts o = {.batch_records = 2};
    icx_spill *s = NULL;
    icx_spill_rec r;
    icx_err err;
    assert_int_equal(icx_spill_open(&s, &o, &err), 0);
    for (size_t i = 0; i < 6; i++)
        assert_int_equal(icx_spill_add(s, in[i], strlen(in[i]), 6 - i, NULL,
                                       0, &err), 0);
    assert_int_equal(icx_spill_rewind(s, &err), 0);
    for (size_t i = 0; i < 6; i++) {
        assert_int_equal(icx_spill_next(s, &r, &err), 1);
        if (r.klen != strlen(out[i]) || memcmp(r.key, out[i], r.klen) != 0)
            fail_msg("record %zu: got \"%.*s\", want \"%s\"", i, (int)r.klen,
                     r.key, out[i]);
    }
    /* The two "ab" came by sequence: 1 (added sixth) before 4. */
    assert_int_equal(icx_spill_next(s, &r, &err), 0);
    icx_spill_free(&s);
}

/* A record larger than the batch and than a read buffer. */
static void test_large_record(void **state)
{
    (void)state;
    icx_spill_opts o = {.batch_bytes = 4096};
    icx_spill *s = NULL;
    icx_spill_rec r;
    icx_err err;
    size_t big = 300 * 1024;
    char *data = malloc(big);
    memset(data, 'x', big);
    assert_int_equal(icx_spill_open(&s, &o, &err), 0);
    assert_int_equal(icx_spill_add(s, "m", 1, 1, "small", 5, &err), 0);
    assert_int_equal(icx_spill_add(s, "b", 1, 2, data, big, &err), 0);
    assert_int_equal(icx_spill_add(s, "z", 1, 3, "small", 5, &err), 0);
    assert_int_equal(icx_spill_rewind(s, &err), 0);
    assert_int_equal(icx_spill_next(s, &r, &err), 1);
    assert_int_equal(r.dlen, big);
    assert_int_equal(r.data[big - 1], 'x');
    assert_int_equal(icx_spill_next(s, &r, &err), 1);
    assert_int_equal(r.seq, 1);
    assert_int_equal(icx_spill_next(s, &r, &err), 1);
    assert_int_equal(icx_spill_next(s, &r, &err), 0);
    assert_int_equal(icx_spill_add(s, "a", 1, 0, NULL, ICX_SPILL_FIELD_MAX + 1,
                                   &err), ICX_EINVAL);
    icx_spill_free(&s);
    icx_spill_free(&s); /* NULL-safe */
    free(data);
}

static void test_no_folder(void **state)
{
    (void)state;
    icx_spill_opts o = {.dir = "/nonexistent/icx-spill-test", .batch_records = 2};
    icx_spill *s = NULL;
    icx_err err;
    assert_int_equal(icx_spill_open(&s, &o, &err), 0);
    assert_int_equal(icx_spill_add(s, "a", 1, 0, NULL, 0, &err), 0);
    assert_int_equal(icx_spill_add(s, "b", 1, 1, NULL, 0, &err), 0);
    /* The third record needs the file. */
    assert_int_equal(icx_spill_add(s, "c", 1, 2, NULL, 0, &err), ICX_EIO);
    if (strstr(err.msg, "/nonexistent/icx-spill-test") == NULL ||
        strstr(err.msg, "TMPDIR") == NULL)
        fail_msg("got \"%s\", want the folder and TMPDIR named", err.msg);
    assert_int_equal(icx_spill_add(s, "d", 1, 3, NULL, 0, &err), ICX_EINVAL);
    assert_int_equal(icx_spill_rewind(s, &err), ICX_EINVAL);
    icx_spill_free(&s);
}

/* The disk refuses a write (here the file size limit, EFBIG): ICX_EFULL,
 * naming the folder, while adding or while merging. */
static void test_write_fails(void **state)
{
    (void)state;
    char *dir = icx_test_mkdtemp();
    struct rlimit old, lim;
    char pad[512];
    memset(pad, 'p', sizeof pad);
    assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
    void (*prev)(int) = signal(SIGXFSZ, SIG_IGN);
    for (int during_merge = 0; during_merge < 2; during_merge++) {
        icx_spill_opts o = {.dir = dir, .batch_records = 4, .fanin = 2};
        icx_spill *s = NULL;
        icx_err err;
        int rc = 0;
        size_t n = during_merge ? 64 : 100000;
        assert_int_equal(icx_spill_open(&s, &o, &err), 0);
        lim = old;
        lim.rlim_cur = during_merge ? 40 * 1024 : 64 * 1024;
        assert_int_equal(setrlimit(RLIMIT_FSIZE, &lim), 0);
        for (size_t i = 0; i < n && rc == 0; i++) {
            char key[32];
            snprintf(key, sizeof key, "k%zu", i % 50);
            rc = icx_spill_add(s, key, strlen(key), i, pad, sizeof pad, &err);
        }
        if (during_merge) {
            assert_int_equal(rc, 0); /* 64 records x 540 bytes fit once */
            rc = icx_spill_rewind(s, &err);
        }
        setrlimit(RLIMIT_FSIZE, &old);
        if (rc != ICX_EFULL || strstr(err.msg, dir) == NULL)
            fail_msg("%s: got %d \"%s\", want ICX_EFULL naming %s",
                     during_merge ? "merge" : "add", rc, err.msg, dir);
        assert_int_equal(icx_spill_add(s, "x", 1, 0, NULL, 0, &err), ICX_EINVAL);
        icx_spill_free(&s);
        assert_int_equal(icx_test_entries(dir), 0);
    }
    signal(SIGXFSZ, prev);
    icx_test_rmrf(dir);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_orders),
        cmocka_unit_test(test_prefix_and_bytes),
        cmocka_unit_test(test_large_record),
        cmocka_unit_test(test_no_folder),
        cmocka_unit_test(test_write_fails),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
