/*
 * pool.h - a pool of worker threads fed through ZeroMQ inproc sockets.
 *
 * The loop thread queues jobs; the pool hands a few per worker at a time
 * (POOL_DEPTH in pool.c) to the workers through a PUSH socket (urgent ones
 * first), so a job waits in the loop's queue, not behind a long line in
 * one worker's pipe, while the workers still have work when the loop is
 * busy or waits for a commit.  A worker runs
 * job->run(job, ctx), or, for jobs with run_many, takes along the jobs
 * already waiting in its pipe with the same run_many (ICX_POOL_BATCH at
 * most, never waiting for more) and runs them at once; it pushes the
 * same pointers back; the loop polls
 * icx_pool_socket() and takes finished jobs with icx_pool_take().  Signing and verification run here so the loop
 * stays free for sockets, timers and the store.
 *
 * Ownership: a job belongs to the pool from submit until take returns it.
 * ctx is borrowed for the pool's lifetime and must be safe to read from
 * several threads.  Threads: submit/take/stop from the loop thread only.
 */
#ifndef ICX_POOL_H
#define ICX_POOL_H

#include "err.h"

typedef struct icx_job icx_job;
struct icx_job {
    void (*run)(icx_job *job, void *ctx); /* runs on a worker */
    /* Optional: runs n jobs (1..ICX_POOL_BATCH) that share this function
     * at once on a worker, in place of run for each. */
    void (*run_many)(icx_job **jobs, int n, void *ctx);
    int urgent;     /* answers to partners go before new submissions */
    icx_job *next;  /* the pool's queue; not for the caller */
};

typedef struct icx_pool icx_pool;

/* Most jobs a worker runs at once through run_many. */
#define ICX_POOL_BATCH 8

int icx_pool_start(icx_pool **out, void *zmq_ctx, int workers, void *ctx,
                   icx_err *err);
/* Jobs the pool holds at most; beyond that submit refuses (a peer's
 * frame is then dropped and its sender retries later). */
#define ICX_POOL_MAX_QUEUE 20000

/* Queues job for a worker (never blocks); ICX_EAGAIN when full. */
int icx_pool_submit(icx_pool *p, icx_job *job, icx_err *err);
/* The socket to poll for finished jobs (ZMQ_POLLIN). */
void *icx_pool_socket(icx_pool *p);
/* A finished job, or NULL when none is waiting. */
icx_job *icx_pool_take(icx_pool *p);
/* Jobs submitted and not yet taken. */
int icx_pool_inflight(const icx_pool *p);
/* Stops the workers (after their current job) and joins them.  Jobs still
 * queued or finished-but-untaken are returned through drop(). */
void icx_pool_stop(icx_pool **pp, void (*drop)(icx_job *job));

#endif
