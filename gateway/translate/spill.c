/*
 * spill.c - external sort: sorted runs in one unlinked temporary file and
 * a k-way merge (see spill.h).
 *
 * A record is stored the same way in the batch and in the file: a 16-byte
 * header (key length, payload length, sequence; native byte order, the
 * file never leaves the process), the key, the payload.  The batch is one
 * arena of records and an index of their offsets; a full batch is sorted
 * (qsort_r over the index) and appended to the file through a write
 * buffer as one run.  Reading merges the runs with a binary heap of
 * readers, each with its own read buffer (pread, so the intermediate
 * merges can append to the same file while they read from it).
 *
 * Ownership: the spill owns its batch, buffers, readers and the file
 * descriptor; icx_spill_free() releases all of them.  Threads: one.
 * Failure: a write error is ICX_EFULL for ENOSPC, EDQUOT and EFBIG (the
 * disk, the quota, the file size limit), ICX_EIO otherwise; a short
 * read of a run is ICX_EIO.  The first failure leaves the spill in state
 * FAILED: every later call but free returns ICX_EINVAL.
 */
#include "spill.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define HDR 16
#define WBUF (256u << 10)
#define RBUF (64u << 10)

enum { ADDING, READING, FAILED };

typedef struct run {
    uint64_t off, len;
} run;

typedef struct reader {
    uint64_t pos, end;     /* next byte of the run to read, end of the run */
    char *buf;
    size_t cap, at, have;  /* unread bytes are buf[at, have) */
    const char *rec;       /* current record, inside buf */
} reader;

struct icx_spill {
    size_t batch_bytes, batch_records, fanin;
    char dir[4096];
    int state;
    /* the batch */
    char *arena;
    size_t alen, acap;
    size_t *idx;
    size_t nidx, icap;
    /* the file */
    int fd;
    uint64_t wpos;         /* file offset of wbuf[0] */
    char *wbuf;
    size_t wlen;
    run *runs;
    size_t nruns, rcap;
    /* reading */
    int in_memory;         /* everything fitted in one batch */
    size_t mpos;
    reader *rd;
    size_t nrd;
    size_t *heap;
    size_t nheap;
    long pending;          /* reader to advance before the next pop, or -1 */
    icx_spill_stats st;
};

/* ---- records -------------------------------------------------------------- */

static void rec_get(const char *p, icx_spill_rec *r)
{
    uint32_t kl, dl;
    memcpy(&kl, p, 4);
    memcpy(&dl, p + 4, 4);
    memcpy(&r->seq, p + 8, 8);
    r->klen = kl;
    r->dlen = dl;
    r->key = p + HDR;
    r->data = p + HDR + kl;
}

static size_t rec_size(const char *p)
{
    uint32_t kl, dl;
    memcpy(&kl, p, 4);
    memcpy(&dl, p + 4, 4);
    return HDR + (size_t)kl + dl;
}

static int rec_cmp(const char *a, const char *b)
{
    icx_spill_rec x, y;
    rec_get(a, &x);
    rec_get(b, &y);
    size_t n = x.klen < y.klen ? x.klen : y.klen;
    int c = memcmp(x.key, y.key, n);
    if (c != 0)
        return c;
    if (x.klen != y.klen)
        return x.klen < y.klen ? -1 : 1;
    return x.seq < y.seq ? -1 : x.seq > y.seq;
}

static int idx_cmp(const void *a, const void *b, void *arena)
{
    const char *base = arena;
    return rec_cmp(base + *(const size_t *)a, base + *(const size_t *)b);
}

/* ---- the file ------------------------------------------------------------- */

static int fail(icx_spill *s, int rc)
{
    s->state = FAILED;
    return rc;
}

static int io_error(icx_spill *s, int e, const char *what, icx_err *err)
{
    int full = e == ENOSPC || e == EDQUOT || e == EFBIG;
    return fail(s, icx_err_set(err, full ? ICX_EFULL : ICX_EIO,
                               "temporary file in %s: %s: %s (after %llu "
                               "bytes; TMPDIR names another folder)", s->dir,
                               what, strerror(e),
                               (unsigned long long)(s->wpos + s->wlen)));
}

static int file_open(icx_spill *s, icx_err *err)
{
    char path[4200];
    int n = snprintf(path, sizeof path, "%s/icx-spill-XXXXXX", s->dir);
    if (n < 0 || (size_t)n >= sizeof path)
        return fail(s, icx_err_set(err, ICX_EINVAL, "temporary folder %s: "
                                   "path too long", s->dir));
    s->fd = mkstemp(path);
    if (s->fd < 0)
        return fail(s, icx_err_set(err, ICX_EIO, "cannot make a temporary "
                                   "file in %s: %s (TMPDIR names another "
                                   "folder)", s->dir, strerror(errno)));
    /* mkstemp makes it 0600 already; unlinked now, it goes with the fd. */
    if (fchmod(s->fd, 0600) < 0 || unlink(path) < 0)
        return io_error(s, errno, "unlink", err);
    s->wbuf = malloc(WBUF);
    if (s->wbuf == NULL)
        return fail(s, icx_err_set(err, ICX_ENOMEM, "out of memory"));
    return ICX_OK;
}

static int wflush(icx_spill *s, icx_err *err)
{
    size_t done = 0;
    while (done < s->wlen) {
        ssize_t w = pwrite(s->fd, s->wbuf + done, s->wlen - done,
                           (off_t)(s->wpos + done));
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return io_error(s, w < 0 ? errno : ENOSPC, "write", err);
        done += (size_t)w;
    }
    s->wpos += s->wlen;
    s->st.file_bytes += s->wlen;
    s->wlen = 0;
    return ICX_OK;
}

static int wput(icx_spill *s, const char *p, size_t n, icx_err *err)
{
    while (n > 0) {
        int rc;
        if (s->wlen == WBUF && (rc = wflush(s, err)) < 0)
            return rc;
        size_t k = WBUF - s->wlen < n ? WBUF - s->wlen : n;
        memcpy(s->wbuf + s->wlen, p, k);
        s->wlen += k;
        p += k;
        n -= k;
    }
    return ICX_OK;
}

/* arr (n used of *cap elements of elem bytes) with room for one more:
 * the same or a larger copy, or NULL when memory ran out. */
static void *grow(icx_spill *s, void *arr, size_t n, size_t *cap, size_t elem,
                  icx_err *err)
{
    if (n < *cap)
        return arr;
    size_t c = *cap ? *cap * 2 : 64;
    void *p = realloc(arr, c * elem);
    if (p == NULL) {
        fail(s, icx_err_set(err, ICX_ENOMEM, "out of memory"));
        return NULL;
    }
    *cap = c;
    return p;
}

static int run_add(icx_spill *s, uint64_t off, icx_err *err)
{
    run *r = grow(s, s->runs, s->nruns, &s->rcap, sizeof *r, err);
    if (r == NULL)
        return ICX_ENOMEM;
    s->runs = r;
    s->runs[s->nruns].off = off;
    s->runs[s->nruns].len = s->wpos + s->wlen - off;
    s->nruns++;
    return ICX_OK;
}

/* The batch, sorted, becomes a run at the end of the file. */
static int batch_flush(icx_spill *s, icx_err *err)
{
    int rc;
    if (s->fd < 0 && (rc = file_open(s, err)) < 0)
        return rc;
    qsort_r(s->idx, s->nidx, sizeof *s->idx, idx_cmp, s->arena);
    uint64_t start = s->wpos + s->wlen;
    for (size_t i = 0; i < s->nidx; i++) {
        const char *p = s->arena + s->idx[i];
        if ((rc = wput(s, p, rec_size(p), err)) < 0)
            return rc;
    }
    if ((rc = wflush(s, err)) < 0 || (rc = run_add(s, start, err)) < 0)
        return rc;
    s->st.runs++;
    s->alen = 0;
    s->nidx = 0;
    return ICX_OK;
}

/* ---- adding --------------------------------------------------------------- */

int icx_spill_open(icx_spill **out, const icx_spill_opts *o, icx_err *err)
{
    static const icx_spill_opts defaults = {0};
    if (o == NULL)
        o = &defaults;
    icx_spill *s = calloc(1, sizeof *s);
    if (s == NULL)
        return icx_err_set(err, ICX_ENOMEM, "out of memory");
    const char *dir = o->dir ? o->dir : getenv("TMPDIR");
    snprintf(s->dir, sizeof s->dir, "%s", dir && *dir ? dir : "/tmp");
    s->batch_bytes = o->batch_bytes ? o->batch_bytes : ICX_SPILL_BATCH;
    s->batch_records = o->batch_records;
    s->fanin = o->fanin ? o->fanin : ICX_SPILL_FANIN;
    if (s->fanin < 2)
        s->fanin = 2;
    s->fd = -1;
    s->pending = -1;
    *out = s;
    return ICX_OK;
}

void icx_spill_free(icx_spill **sp)
{
    icx_spill *s = sp ? *sp : NULL;
    if (s == NULL)
        return;
    if (s->fd >= 0)
        close(s->fd);
    for (size_t i = 0; i < s->nrd; i++)
        free(s->rd[i].buf);
    free(s->rd);
    free(s->heap);
    free(s->arena);
    free(s->idx);
    free(s->wbuf);
    free(s->runs);
    free(s);
    *sp = NULL;
}

int icx_spill_add(icx_spill *s, const char *key, size_t klen, uint64_t seq,
                  const void *data, size_t dlen, icx_err *err)
{
    if (s->state != ADDING)
        return icx_err_set(err, ICX_EINVAL, "spill: %s", s->state == FAILED
                           ? "unusable after an error" : "add after reading");
    if (klen > ICX_SPILL_FIELD_MAX || dlen > ICX_SPILL_FIELD_MAX)
        return icx_err_set(err, ICX_EINVAL, "spill: a record of %zu + %zu "
                           "bytes (at most %u each)", klen, dlen,
                           ICX_SPILL_FIELD_MAX);
    size_t size = HDR + klen + dlen;
    int full = s->alen + size > s->batch_bytes ||
               (s->batch_records && s->nidx == s->batch_records);
    int rc;
    if (full && s->nidx > 0 && (rc = batch_flush(s, err)) < 0)
        return rc;
    if (s->alen + size > s->acap) {
        size_t c = s->acap ? s->acap : 64u << 10;
        while (c < s->alen + size)
            c *= 2;
        if (c > s->batch_bytes && s->alen + size <= s->batch_bytes)
            c = s->batch_bytes;
        char *a = realloc(s->arena, c);
        if (a == NULL)
            return fail(s, icx_err_set(err, ICX_ENOMEM, "out of memory"));
        s->arena = a;
        s->acap = c;
    }
    size_t *x = grow(s, s->idx, s->nidx, &s->icap, sizeof *x, err);
    if (x == NULL)
        return ICX_ENOMEM;
    s->idx = x;
    uint32_t kl = (uint32_t)klen, dl = (uint32_t)dlen;
    char *p = s->arena + s->alen;
    memcpy(p, &kl, 4);
    memcpy(p + 4, &dl, 4);
    memcpy(p + 8, &seq, 8);
    if (klen)
        memcpy(p + HDR, key, klen);
    if (dlen)
        memcpy(p + HDR + klen, data, dlen);
    s->idx[s->nidx++] = s->alen;
    s->alen += size;
    s->st.records++;
    return ICX_OK;
}

/* ---- merging -------------------------------------------------------------- */

/* Makes n bytes of the run readable at r->buf + r->at. */
static int reader_want(icx_spill *s, reader *r, size_t n, icx_err *err)
{
    if (r->have - r->at >= n)
        return ICX_OK;
    memmove(r->buf, r->buf + r->at, r->have - r->at);
    r->have -= r->at;
    r->at = 0;
    if (n > r->cap) {
        char *b = realloc(r->buf, n);
        if (b == NULL)
            return fail(s, icx_err_set(err, ICX_ENOMEM, "out of memory"));
        r->buf = b;
        r->cap = n;
    }
    while (r->have < n) {
        size_t room = r->cap - r->have;
        uint64_t left = r->end - r->pos;
        if (left == 0)
            return fail(s, icx_err_set(err, ICX_EIO, "temporary file in %s: "
                                       "a run ends inside a record", s->dir));
        ssize_t g = pread(s->fd, r->buf + r->have, left < room ? left : room,
                          (off_t)r->pos);
        if (g < 0 && errno == EINTR)
            continue;
        if (g <= 0)
            return fail(s, icx_err_set(err, ICX_EIO, "temporary file in %s: "
                                       "read: %s", s->dir, g < 0 ?
                                       strerror(errno) : "end of file"));
        r->have += (size_t)g;
        r->pos += (uint64_t)g;
    }
    return ICX_OK;
}

/* Steps to the run's next record: 1, or 0 at its end. */
static int reader_step(icx_spill *s, reader *r, icx_err *err)
{
    int rc;
    if (r->rec != NULL)
        r->at += rec_size(r->rec);
    r->rec = NULL;
    if (r->at == r->have && r->pos == r->end)
        return 0;
    if ((rc = reader_want(s, r, HDR, err)) < 0 ||
        (rc = reader_want(s, r, rec_size(r->buf + r->at), err)) < 0)
        return rc;
    r->rec = r->buf + r->at;
    return 1;
}

static int heap_less(const icx_spill *s, size_t a, size_t b)
{
    return rec_cmp(s->rd[a].rec, s->rd[b].rec) < 0;
}

static void heap_down(icx_spill *s, size_t i)
{
    for (;;) {
        size_t l = 2 * i + 1, m = i;
        if (l < s->nheap && heap_less(s, s->heap[l], s->heap[m]))
            m = l;
        if (l + 1 < s->nheap && heap_less(s, s->heap[l + 1], s->heap[m]))
            m = l + 1;
        if (m == i)
            return;
        size_t x = s->heap[i];
        s->heap[i] = s->heap[m];
        s->heap[m] = x;
        i = m;
    }
}

static void readers_free(icx_spill *s)
{
    for (size_t i = 0; i < s->nrd; i++)
        free(s->rd[i].buf);
    free(s->rd);
    free(s->heap);
    s->rd = NULL;
    s->heap = NULL;
    s->nrd = s->nheap = 0;
    s->pending = -1;
}

/* Readers over runs[first, first + n), each on its first record. */
static int merge_start(icx_spill *s, size_t first, size_t n, icx_err *err)
{
    readers_free(s);
    s->rd = calloc(n + 1, sizeof *s->rd);
    s->heap = calloc(n + 1, sizeof *s->heap);
    if (s->rd == NULL || s->heap == NULL)
        return fail(s, icx_err_set(err, ICX_ENOMEM, "out of memory"));
    s->nrd = n;
    for (size_t i = 0; i < n; i++) {
        reader *r = &s->rd[i];
        r->pos = s->runs[first + i].off;
        r->end = r->pos + s->runs[first + i].len;
        r->cap = RBUF;
        if ((r->buf = malloc(RBUF)) == NULL)
            return fail(s, icx_err_set(err, ICX_ENOMEM, "out of memory"));
        int got = reader_step(s, r, err);
        if (got < 0)
            return got;
        if (got == 1)
            s->heap[s->nheap++] = i;
    }
    for (size_t i = s->nheap / 2; i-- > 0;)
        heap_down(s, i);
    return ICX_OK;
}

/* The smallest current record: 1, or 0 when every run is read. */
static int merge_next(icx_spill *s, icx_spill_rec *rec, icx_err *err)
{
    if (s->pending >= 0) {
        int got = reader_step(s, &s->rd[s->pending], err);
        if (got < 0)
            return got;
        if (got == 0)
            s->heap[0] = s->heap[--s->nheap];
        heap_down(s, 0);
        s->pending = -1;
    }
    if (s->nheap == 0)
        return 0;
    s->pending = (long)s->heap[0];
    rec_get(s->rd[s->heap[0]].rec, rec);
    return 1;
}

/* More runs than fanin: the first fanin runs are merged into one run,
 * appended to the file. */
static int merge_level(icx_spill *s, icx_err *err)
{
    int rc;
    icx_spill_rec r;
    uint64_t start = s->wpos + s->wlen;
    if ((rc = merge_start(s, 0, s->fanin, err)) < 0)
        return rc;
    while ((rc = merge_next(s, &r, err)) == 1)
        if ((rc = wput(s, s->rd[s->pending].rec, HDR + r.klen + r.dlen,
                       err)) < 0)
            return rc;
    if (rc < 0)
        return rc;
    readers_free(s);
    if ((rc = wflush(s, err)) < 0)
        return rc;
    memmove(s->runs, s->runs + s->fanin, (s->nruns - s->fanin) * sizeof *s->runs);
    s->nruns -= s->fanin;
    if ((rc = run_add(s, start, err)) < 0)
        return rc;
    s->st.merges++;
    return ICX_OK;
}

int icx_spill_rewind(icx_spill *s, icx_err *err)
{
    int rc;
    if (s->state == FAILED)
        return icx_err_set(err, ICX_EINVAL, "spill: unusable after an error");
    if (s->state == ADDING) {
        if (s->nruns == 0) {
            if (s->nidx > 1) /* an empty spill may have no index at all */
                qsort_r(s->idx, s->nidx, sizeof *s->idx, idx_cmp, s->arena);
            s->in_memory = 1;
        } else {
            if (s->nidx > 0 && (rc = batch_flush(s, err)) < 0)
                return rc;
            free(s->arena);
            free(s->idx);
            s->arena = NULL;
            s->idx = NULL;
            s->acap = s->alen = s->icap = s->nidx = 0;
            while (s->nruns > s->fanin)
                if ((rc = merge_level(s, err)) < 0)
                    return rc;
            free(s->wbuf); /* nothing is written any more */
            s->wbuf = NULL;
        }
        s->state = READING;
    }
    s->mpos = 0;
    if (!s->in_memory && (rc = merge_start(s, 0, s->nruns, err)) < 0)
        return rc;
    return ICX_OK;
}

int icx_spill_next(icx_spill *s, icx_spill_rec *rec, icx_err *err)
{
    if (s->state != READING)
        return icx_err_set(err, ICX_EINVAL, "spill: %s", s->state == FAILED
                           ? "unusable after an error" : "next before rewind");
    if (!s->in_memory)
        return merge_next(s, rec, err);
    if (s->mpos == s->nidx)
        return 0;
    rec_get(s->arena + s->idx[s->mpos++], rec);
    return 1;
}

void icx_spill_stats_get(const icx_spill *s, icx_spill_stats *st)
{
    *st = s->st;
}
