/*
 * pool.c - worker threads behind inproc PUSH/PULL sockets (see pool.h).
 *
 * Messages carry a job pointer (sizeof(void *) bytes); a NULL pointer is
 * the stop signal, one per worker.  Each worker has its own PULL (jobs in,
 * fair-queued by the PUSH) and PUSH (results out) sockets; the loop has
 * the matching PUSH and PULL.  Inproc endpoints are named after the pool
 * address so that several pools may share a context.
 */
#include "pool.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <zmq.h>

/* Jobs handed to each worker at a time.  Deep enough that a worker still
 * has work while the loop waits for a commit's fdatasync (1-4 ms here, and
 * the loop cannot hand out jobs meanwhile); shallow enough that an urgent
 * job queued behind them waits a few jobs at most. */
#define POOL_DEPTH 8

/* A worker's first message: connected and waiting for jobs. */
#define POOL_READY ((icx_job *)&pool_ready_tag)
static const char pool_ready_tag = 0;

struct worker {
    pthread_t thread;
    struct icx_pool *pool;
    int started;
};

struct icx_pool {
    void *zctx;
    void *jobs;      /* PUSH, loop -> workers */
    void *results;   /* PULL, workers -> loop */
    char jobs_ep[64];
    char results_ep[64];
    void *ctx;
    int nworkers;
    int inflight;    /* queued + at a worker + finished, not yet taken */
    int dispatched;  /* handed to workers, not yet back */
    icx_job *head[2], *tail[2]; /* [0] urgent, [1] normal */
    struct worker *w;
};

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    icx_pool *p = w->pool;
    void *in = zmq_socket(p->zctx, ZMQ_PULL);
    void *out = zmq_socket(p->zctx, ZMQ_PUSH);
    int zero = 0;
    if (in == NULL || out == NULL)
        goto done;
    zmq_setsockopt(in, ZMQ_LINGER, &zero, sizeof zero);
    zmq_setsockopt(out, ZMQ_LINGER, &zero, sizeof zero);
    if (zmq_connect(in, p->jobs_ep) < 0 || zmq_connect(out, p->results_ep) < 0)
        goto done;
    {
        /* Connected: tell the loop, so that it hands out jobs only once
         * every worker can take them (and can always stop them). */
        icx_job *ready = POOL_READY;
        while (zmq_send(out, &ready, sizeof ready, 0) < 0 && errno == EINTR)
            ;
    }
    /* Taken along, but for another run_many: the next round's first job
     * (a stop signal is only ever taken in a round that runs its batch,
     * so nothing held is left behind). */
    icx_job *held = NULL;
    for (int stop = 0; !stop;) {
        icx_job *batch[ICX_POOL_BATCH];
        icx_job *job = held;
        int n = 1;
        held = NULL;
        if (job == NULL) {
            int got = zmq_recv(in, &job, sizeof job, 0);
            if (got < 0 && errno == EINTR)
                continue;
            if (got != (int)sizeof job || job == NULL)
                break;
        }
        batch[0] = job;
        /* The jobs already here that run the same way; none is waited
         * for (ZMQ_DONTWAIT), so a lone job goes at once. */
        while (job->run_many != NULL && n < ICX_POOL_BATCH) {
            icx_job *more = NULL;
            int got = zmq_recv(in, &more, sizeof more, ZMQ_DONTWAIT);
            if (got < 0)
                break; /* none waiting (or EINTR: go with what we have) */
            if (got != (int)sizeof more || more == NULL) {
                stop = 1; /* the stop signal, after this batch */
                break;
            }
            if (more->run_many != job->run_many) {
                held = more;
                break;
            }
            batch[n++] = more;
        }
        if (job->run_many != NULL)
            job->run_many(batch, n, p->ctx);
        else
            job->run(job, p->ctx);
        for (int i = 0; i < n; i++)
            while (zmq_send(out, &batch[i], sizeof batch[i], 0) < 0 &&
                   errno == EINTR)
                ;
    }
done:
    if (in != NULL)
        zmq_close(in);
    if (out != NULL)
        zmq_close(out);
    return NULL;
}

int icx_pool_start(icx_pool **out, void *zmq_ctx, int workers, void *ctx,
                   icx_err *err)
{
    int rc = ICX_OK, zero = 0;
    icx_pool *p = calloc(1, sizeof *p);
    *out = NULL;
    if (p == NULL)
        return icx_err_set(err, ICX_ENOMEM, "out of memory");
    p->zctx = zmq_ctx;
    p->ctx = ctx;
    p->nworkers = workers;
    snprintf(p->jobs_ep, sizeof p->jobs_ep, "inproc://icx-jobs-%p", (void *)p);
    snprintf(p->results_ep, sizeof p->results_ep, "inproc://icx-results-%p",
             (void *)p);
    p->jobs = zmq_socket(zmq_ctx, ZMQ_PUSH);
    p->results = zmq_socket(zmq_ctx, ZMQ_PULL);
    p->w = calloc((size_t)workers, sizeof *p->w);
    if (p->jobs == NULL || p->results == NULL || p->w == NULL) {
        rc = icx_err_set(err, ICX_ENOMEM, "cannot create worker sockets");
        goto out;
    }
    zmq_setsockopt(p->jobs, ZMQ_LINGER, &zero, sizeof zero);
    zmq_setsockopt(p->results, ZMQ_LINGER, &zero, sizeof zero);
    if (zmq_bind(p->jobs, p->jobs_ep) < 0 ||
        zmq_bind(p->results, p->results_ep) < 0) {
        rc = icx_err_set(err, ICX_ERROR, "cannot bind worker sockets: %s",
                         zmq_strerror(zmq_errno()));
        goto out;
    }
    for (int i = 0; i < workers; i++) {
        p->w[i].pool = p;
        if (pthread_create(&p->w[i].thread, NULL, worker_main, &p->w[i]) != 0) {
            rc = icx_err_set(err, ICX_ERROR, "cannot start worker thread");
            goto out;
        }
        p->w[i].started = 1;
    }
    /* Wait until every worker is connected (or give up after 10 s): a job
     * sent before that could wait for the next one, and a stop message
     * could find nobody to read it. */
    for (int ready = 0; ready < workers;) {
        zmq_pollitem_t it = {p->results, 0, ZMQ_POLLIN, 0};
        if (zmq_poll(&it, 1, 10000) <= 0) {
            rc = icx_err_set(err, ICX_ERROR, "worker threads did not start "
                             "(%d of %d ready)", ready, workers);
            goto out;
        }
        icx_job *job = NULL;
        if (zmq_recv(p->results, &job, sizeof job, ZMQ_DONTWAIT) ==
                (int)sizeof job && job == POOL_READY)
            ready++;
    }
    *out = p;
    return ICX_OK;
out:
    icx_pool_stop(&p, NULL);
    return rc;
}

/* Hands queued jobs to the workers while fewer than POOL_DEPTH per worker
 * are out; urgent ones first. */
static void pump(icx_pool *p)
{
    while (p->dispatched < POOL_DEPTH * p->nworkers) {
        int q = p->head[0] != NULL ? 0 : p->head[1] != NULL ? 1 : -1;
        if (q < 0)
            return;
        icx_job *job = p->head[q];
        if (zmq_send(p->jobs, &job, sizeof job, ZMQ_DONTWAIT) != sizeof job)
            return; /* try again after the next result */
        p->head[q] = job->next;
        if (p->head[q] == NULL)
            p->tail[q] = NULL;
        job->next = NULL;
        p->dispatched++;
    }
}

int icx_pool_submit(icx_pool *p, icx_job *job, icx_err *err)
{
    int q = job->urgent ? 0 : 1;
    if (p->inflight >= ICX_POOL_MAX_QUEUE)
        return icx_err_set(err, ICX_EAGAIN, "%d jobs waiting for the workers",
                           p->inflight);
    job->next = NULL;
    if (p->tail[q] != NULL)
        p->tail[q]->next = job;
    else
        p->head[q] = job;
    p->tail[q] = job;
    p->inflight++;
    pump(p);
    return ICX_OK;
}

void *icx_pool_socket(icx_pool *p) { return p->results; }

icx_job *icx_pool_take(icx_pool *p)
{
    icx_job *job = NULL;
    pump(p); /* jobs that found no free worker last time */
    int n = zmq_recv(p->results, &job, sizeof job, ZMQ_DONTWAIT);
    if (n != (int)sizeof job)
        return NULL;
    p->inflight--;
    p->dispatched--;
    pump(p);
    return job;
}

int icx_pool_inflight(const icx_pool *p) { return p->inflight; }

void icx_pool_stop(icx_pool **pp, void (*drop)(icx_job *job))
{
    icx_pool *p = *pp;
    if (p == NULL)
        return;
    int started = 0;
    for (int i = 0; p->w != NULL && i < p->nworkers; i++)
        started += p->w[i].started;
    /* Jobs still waiting in the queue never reach a worker. */
    for (int q = 0; q < 2; q++)
        while (p->head[q] != NULL) {
            icx_job *job = p->head[q];
            p->head[q] = job->next;
            p->inflight--;
            if (drop != NULL)
                drop(job);
        }
    p->tail[0] = p->tail[1] = NULL;
    /* Let running jobs finish and hand back what is done. */
    while (p->dispatched > 0 && started > 0) {
        zmq_pollitem_t it = {p->results, 0, ZMQ_POLLIN, 0};
        if (zmq_poll(&it, 1, 5000) <= 0)
            break;
        icx_job *job = icx_pool_take(p);
        if (job != NULL && drop != NULL)
            drop(job);
    }
    int timeout_ms = 5000;
    zmq_setsockopt(p->jobs, ZMQ_SNDTIMEO, &timeout_ms, sizeof timeout_ms);
    for (int i = 0; i < started; i++) {
        icx_job *stop = NULL;
        zmq_send(p->jobs, &stop, sizeof stop, 0);
    }
    for (int i = 0; p->w != NULL && i < p->nworkers; i++)
        if (p->w[i].started)
            pthread_join(p->w[i].thread, NULL);
    if (p->jobs != NULL)
        zmq_close(p->jobs);
    if (p->results != NULL)
        zmq_close(p->results);
    free(p->w);
    free(p);
    *pp = NULL;
}
