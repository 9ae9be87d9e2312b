/*
 * stamper.c - the time-stamp thread (see stamper.h).
 *
 * One mutex guards one slot: EMPTY -> (submit) QUEUED -> (thread)
 * RUNNING -> DONE -> (take) EMPTY.  The thread sleeps on a condition
 * variable while the slot is not QUEUED; the loop never waits on it
 * (take only looks).  The exchange with the TSA runs without the lock.
 * Stop sets a flag that libcurl's progress callback reads, so a request
 * in flight ends within a second, then the thread is joined.
 *
 * What leaves this file: the checkpoint's size, the token and what it
 * says, or why there is none.  Failure inside the thread is a result,
 * never a crash: every path fills rc and err.
 */
#include "stamper.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum { SLOT_EMPTY, SLOT_QUEUED, SLOT_RUNNING, SLOT_DONE };

struct icx_stamper {
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    atomic_int stop;
    int slot;
    /* the job, owned while QUEUED or RUNNING */
    uint64_t size;
    char *text;
    size_t len;
    char *url, *ca_file, *policy;
    long timeout_s;
    icx_stamp_result res;
};

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void clear_job(icx_stamper *st)
{
    free(st->text);
    free(st->url);
    free(st->ca_file);
    free(st->policy);
    st->text = st->url = st->ca_file = st->policy = NULL;
}

/* The exchange for the job in st (read without the lock: the loop does
 * not touch a RUNNING job). */
static void run(icx_stamper *st, icx_stamp_result *res)
{
    icx_tsa_req *req = NULL;
    icx_buf der, reply;
    int64_t t0 = now_ms();
    icx_buf_init(&der, 64 * 1024);
    icx_buf_init(&reply, ICX_TSA_REPLY_MAX);
    icx_buf_init(&res->token, ICX_TSA_REPLY_MAX);
    icx_err_clear(&res->err);
    res->size = st->size;
    res->rc = icx_tsa_req_new(&req, st->text, st->len, st->policy, &res->err);
    if (res->rc == ICX_OK)
        res->rc = icx_tsa_req_der(&der, req, &res->err);
    if (res->rc == ICX_OK)
        res->rc = icx_tsa_post(&reply, st->url, der.data, der.len,
                               st->timeout_s, &st->stop, &res->err);
    if (res->rc == ICX_OK)
        res->rc = icx_tsa_reply_check(&res->token, &res->info, req,
                                      reply.data, reply.len, st->ca_file,
                                      &res->err);
    if (res->rc < 0)
        icx_buf_free(&res->token);
    res->took_ms = now_ms() - t0;
    icx_tsa_req_free(&req);
    icx_buf_free(&der);
    icx_buf_free(&reply);
}

static void *stamper_main(void *arg)
{
    icx_stamper *st = arg;
    pthread_mutex_lock(&st->mu);
    for (;;) {
        while (st->slot != SLOT_QUEUED && !atomic_load(&st->stop))
            pthread_cond_wait(&st->cv, &st->mu);
        if (atomic_load(&st->stop))
            break;
        st->slot = SLOT_RUNNING;
        pthread_mutex_unlock(&st->mu);
        icx_stamp_result res;
        memset(&res, 0, sizeof res);
        run(st, &res);
        pthread_mutex_lock(&st->mu);
        clear_job(st);
        st->res = res;
        st->slot = SLOT_DONE;
    }
    pthread_mutex_unlock(&st->mu);
    return NULL;
}

int icx_stamper_start(icx_stamper **out, icx_err *err)
{
    icx_stamper *st = calloc(1, sizeof *st);
    *out = NULL;
    if (st == NULL)
        return icx_err_set(err, ICX_ENOMEM, "out of memory");
    atomic_init(&st->stop, 0);
    pthread_mutex_init(&st->mu, NULL);
    pthread_cond_init(&st->cv, NULL);
    if (pthread_create(&st->thread, NULL, stamper_main, st) != 0) {
        pthread_cond_destroy(&st->cv);
        pthread_mutex_destroy(&st->mu);
        free(st);
        return icx_err_set(err, ICX_ENOMEM, "cannot start the time-stamp "
                           "thread");
    }
    *out = st;
    return ICX_OK;
}

static char *dup_or_null(const char *s, int *oom)
{
    char *d = s != NULL ? strdup(s) : NULL;
    if (s != NULL && d == NULL)
        *oom = 1;
    return d;
}

int icx_stamper_submit(icx_stamper *st, uint64_t size, const char *text,
                       size_t len, const icx_stamp_tsa *tsa, icx_err *err)
{
    int rc = ICX_OK, oom = 0;
    pthread_mutex_lock(&st->mu);
    if (st->slot != SLOT_EMPTY) {
        rc = icx_err_set(err, ICX_EAGAIN, "a time-stamp request is in "
                         "flight");
        goto out;
    }
    st->text = malloc(len > 0 ? len : 1);
    if (st->text == NULL)
        oom = 1;
    else if (len > 0)
        memcpy(st->text, text, len);
    st->url = dup_or_null(tsa->url, &oom);
    st->ca_file = dup_or_null(tsa->ca_file, &oom);
    st->policy = dup_or_null(tsa->policy, &oom);
    if (oom) {
        clear_job(st);
        rc = icx_err_set(err, ICX_ENOMEM, "out of memory");
        goto out;
    }
    st->len = len;
    st->size = size;
    st->timeout_s = tsa->timeout_s;
    st->slot = SLOT_QUEUED;
    pthread_cond_signal(&st->cv);
out:
    pthread_mutex_unlock(&st->mu);
    return rc;
}

int icx_stamper_take(icx_stamper *st, icx_stamp_result *res)
{
    int got = 0;
    pthread_mutex_lock(&st->mu);
    if (st->slot == SLOT_DONE) {
        *res = st->res;
        memset(&st->res, 0, sizeof st->res);
        st->slot = SLOT_EMPTY;
        got = 1;
    }
    pthread_mutex_unlock(&st->mu);
    return got;
}

int icx_stamper_busy(icx_stamper *st)
{
    pthread_mutex_lock(&st->mu);
    int busy = st->slot != SLOT_EMPTY;
    pthread_mutex_unlock(&st->mu);
    return busy;
}

void icx_stamper_stop(icx_stamper **stp)
{
    if (stp == NULL || *stp == NULL)
        return;
    icx_stamper *st = *stp;
    pthread_mutex_lock(&st->mu);
    atomic_store(&st->stop, 1);
    pthread_cond_signal(&st->cv);
    pthread_mutex_unlock(&st->mu);
    pthread_join(st->thread, NULL);
    clear_job(st);
    icx_buf_free(&st->res.token);
    pthread_cond_destroy(&st->cv);
    pthread_mutex_destroy(&st->mu);
    free(st);
    *stp = NULL;
}
