/*
 * test_pool.c - the worker pool: every job submitted comes back once,
 * run once; jobs with run_many are run together, at most ICX_POOL_BATCH
 * at a time and only with jobs of the same run_many; jobs without it run
 * alone through run.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "pool.h"

struct tjob {
    icx_job base;
    int kind;        /* 0: run only, 1: run_many A, 2: run_many B */
    int ran_as;      /* which function ran it */
    atomic_int runs;
};

static pthread_mutex_t gate_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t gate_cv = PTHREAD_COND_INITIALIZER;
static int gate_open;
static atomic_int max_batch, batches, bad_batch;

static void wait_gate(void)
{
    pthread_mutex_lock(&gate_mu);
    while (!gate_open)
        pthread_cond_wait(&gate_cv, &gate_mu);
    pthread_mutex_unlock(&gate_mu);
}

static void run_one(icx_job *job, void *ctx)
{
    (void)ctx;
    struct tjob *t = (struct tjob *)job;
    wait_gate();
    t->ran_as = 0;
    atomic_fetch_add(&t->runs, 1);
}

static void note_batch(icx_job **jobs, int n, int as)
{
    wait_gate();
    if (n < 1 || n > ICX_POOL_BATCH)
        atomic_store(&bad_batch, 1);
    int m = atomic_load(&max_batch);
    while (n > m && !atomic_compare_exchange_weak(&max_batch, &m, n))
        ;
    atomic_fetch_add(&batches, 1);
    for (int i = 0; i < n; i++) {
        struct tjob *t = (struct tjob *)jobs[i];
        if (t->kind != as) /* batched with another function's jobs */
            atomic_store(&bad_batch, 1);
        t->ran_as = as;
        atomic_fetch_add(&t->runs, 1);
    }
}

static void run_many_a(icx_job **jobs, int n, void *ctx)
{
    (void)ctx;
    note_batch(jobs, n, 1);
}

static void run_many_b(icx_job **jobs, int n, void *ctx)
{
    (void)ctx;
    note_batch(jobs, n, 2);
}

static void test_batches(void **state)
{
    (void)state;
    enum { N = 200 };
    void *zctx = zmq_ctx_new();
    icx_pool *p = NULL;
    icx_err err;
    static struct tjob jobs[N];
    assert_non_null(zctx);
    assert_int_equal(icx_pool_start(&p, zctx, 2, NULL, &err), 0);
    /* Jobs queue while the workers wait at the gate, so each worker's
     * pipe holds several when it comes back for more. */
    for (int i = 0; i < N; i++) {
        memset(&jobs[i], 0, sizeof jobs[i]);
        jobs[i].kind = i % 10 == 9 ? 0 : i % 10 == 8 ? 2 : 1;
        jobs[i].ran_as = -1;
        jobs[i].base.run = run_one;
        jobs[i].base.run_many = jobs[i].kind == 1   ? run_many_a
                                : jobs[i].kind == 2 ? run_many_b
                                                    : NULL;
        assert_int_equal(icx_pool_submit(p, &jobs[i].base, &err), 0);
    }
    pthread_mutex_lock(&gate_mu);
    gate_open = 1;
    pthread_cond_broadcast(&gate_cv);
    pthread_mutex_unlock(&gate_mu);
    int back = 0;
    while (back < N) {
        zmq_pollitem_t it = {icx_pool_socket(p), 0, ZMQ_POLLIN, 0};
        assert_true(zmq_poll(&it, 1, 10000) > 0);
        for (icx_job *j; (j = icx_pool_take(p)) != NULL;) {
            struct tjob *t = (struct tjob *)j;
            assert_true(t >= jobs && t < jobs + N);
            back++;
        }
    }
    assert_int_equal(icx_pool_inflight(p), 0);
    icx_pool_stop(&p, NULL);
    zmq_ctx_term(zctx);
    for (int i = 0; i < N; i++) {
        if (atomic_load(&jobs[i].runs) != 1)
            fail_msg("job %d ran %d times, want once", i,
                     atomic_load(&jobs[i].runs));
        assert_int_equal(jobs[i].ran_as, jobs[i].kind);
    }
    assert_int_equal(atomic_load(&bad_batch), 0);
    /* Several jobs at once, as the pipes were full: fewer calls than jobs. */
    assert_true(atomic_load(&max_batch) > 1);
    assert_true(atomic_load(&batches) < N * 9 / 10);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_batches),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
