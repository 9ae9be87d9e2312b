/*
 * spill.h - sorting more records than memory should hold.
 *
 * A record is a key (bytes), a sequence number and a payload (bytes).
 * Records are collected in one batch of bounded size; a full batch is
 * sorted and written as a run to a temporary file; reading merges the
 * runs in (key, sequence) order: keys bytewise (a shorter key that is a
 * prefix of a longer one comes first, as strcmp orders text), equal keys
 * by sequence.  When everything fits in one batch, no file is made.
 *
 * Memory: one batch (batch_bytes, plus its index), one write buffer and
 * one read buffer per run merged at a time (at most fanin; more runs are
 * first merged fanin at a time into longer runs), whatever the number of
 * records.  Disk: the records about twice over at the most.
 *
 * The file: mkstemp in opts.dir, else $TMPDIR, else /tmp; mode 0600;
 * unlinked as soon as it is made, so it disappears with the process,
 * whatever ends it, and no other process can open it by name.
 *
 * Ownership: records handed to icx_spill_add are copied; a record read
 * with icx_spill_next is valid until the next call on the same spill.
 * Threads: one thread per icx_spill.
 * Failure: ICX_EFULL (the disk or the file size limit: the message names
 * the folder), ICX_EIO (other read or write errors), ICX_ENOMEM,
 * ICX_EINVAL (a key or payload above ICX_SPILL_FIELD_MAX, adding after
 * reading started).  After a failure the spill can only be freed.
 */
#ifndef ICX_SPILL_H
#define ICX_SPILL_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"

#define ICX_SPILL_BATCH (8u << 20)    /* default batch, bytes */
#define ICX_SPILL_FANIN 32            /* default runs merged at a time */
#define ICX_SPILL_FIELD_MAX (1u << 20) /* largest key, largest payload */

typedef struct icx_spill icx_spill;

typedef struct icx_spill_opts {
    const char *dir;       /* folder of the file; NULL: $TMPDIR or /tmp */
    size_t batch_bytes;    /* 0: ICX_SPILL_BATCH */
    size_t batch_records;  /* records per batch; 0: as many as fit */
    size_t fanin;          /* 0: ICX_SPILL_FANIN; at least 2 */
} icx_spill_opts;

typedef struct icx_spill_rec {
    const char *key;
    size_t klen;
    uint64_t seq;
    const char *data;
    size_t dlen;
} icx_spill_rec;

typedef struct icx_spill_stats {
    uint64_t records;      /* added */
    size_t runs;           /* runs written from batches */
    size_t merges;         /* intermediate merges (more runs than fanin) */
    uint64_t file_bytes;   /* written to the file, merges included */
} icx_spill_stats;

/* o may be NULL (defaults). */
int icx_spill_open(icx_spill **out, const icx_spill_opts *o, icx_err *err);
void icx_spill_free(icx_spill **sp);

int icx_spill_add(icx_spill *s, const char *key, size_t klen, uint64_t seq,
                  const void *data, size_t dlen, icx_err *err);

/* Ends adding (the first time) and starts reading from the first record
 * in order; called again, reads everything once more. */
int icx_spill_rewind(icx_spill *s, icx_err *err);

/* 1 with the next record in *rec, 0 after the last one, or an error. */
int icx_spill_next(icx_spill *s, icx_spill_rec *rec, icx_err *err);

void icx_spill_stats_get(const icx_spill *s, icx_spill_stats *st);

#endif
