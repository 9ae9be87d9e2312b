/*
 * log.h - structured key=value logging to stderr.
 *
 * One line per event: `ts=... level=... event=NAME key=value ...`.  Callers
 * pass ids, digests, partner ids and reasons; never payloads or key
 * material.  Values with spaces are quoted by icx_log_kv_str().
 *
 * A condition that can recur on every attempt (the disk is full, the
 * store refuses a write) goes through icx_log_limited: at most one line
 * per condition key per ICX_LOG_LIMIT_MS, each with count=N, the number
 * of occurrences since the previous line for that key (this one
 * included).  When the condition is over, icx_log_limited_end writes one
 * line `event=condition.cleared key=K count=N` (N: occurrences not yet
 * reported) and forgets the key, so a new occurrence is logged at once.
 * Keys are constants of the code (never partner input): at most
 * ICX_LOG_LIMIT_KEYS are held at a time, past that lines are not limited.
 *
 * Thread safety: every function may be called from any thread; each line
 * is written with one locked stdio call, the limiter's table is guarded
 * by a mutex.  The set_ functions are for start-up and tests.
 */
#ifndef ICX_LOG_H
#define ICX_LOG_H

#include <stdint.h>
#include <stdio.h>

enum icx_log_level { ICX_LOG_DEBUG, ICX_LOG_INFO, ICX_LOG_WARN, ICX_LOG_ERROR };

/* At most one line per condition key in this many milliseconds. */
#define ICX_LOG_LIMIT_MS 60000
#define ICX_LOG_LIMIT_KEYS 64

void icx_log_set_level(int level);
/* Parses "debug|info|warn|error"; returns -1 when unknown. */
int icx_log_level_from_name(const char *name);
/* fmt produces the key=value tail; it may be NULL. */
void icx_log(int level, const char *event, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Like icx_log, limited per key as described above. */
void icx_log_limited(int level, const char *key, const char *event,
                     const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* Ends every held condition whose key starts with prefix. */
void icx_log_limited_end(const char *prefix);

/* Tests: where lines go (NULL: stderr) and the limiter's clock in ms
 * (NULL: CLOCK_MONOTONIC).  Not for use while other threads log. */
void icx_log_set_output(FILE *f);
void icx_log_set_clock(int64_t (*now_ms)(void));

#define icx_log_info(ev, ...) icx_log(ICX_LOG_INFO, ev, __VA_ARGS__)
#define icx_log_warn(ev, ...) icx_log(ICX_LOG_WARN, ev, __VA_ARGS__)
#define icx_log_error(ev, ...) icx_log(ICX_LOG_ERROR, ev, __VA_ARGS__)
#define icx_log_debug(ev, ...) icx_log(ICX_LOG_DEBUG, ev, __VA_ARGS__)

#endif
