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
 * Formats (docs/LOGS.md): text, the key=value line above; json, one JSON
 * object per line {"ts":..,"level":..,"event":..,"KEY":"VALUE",..} with
 * every value a string, for log shippers.  Under journald (stderr is the
 * journal: $JOURNAL_STREAM names it) each line starts with the syslog
 * level, <3> error, <4> warn, <6> info, <7> debug (sd-daemon(3)), and the
 * text format drops ts= (the journal stamps each line).
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

enum icx_log_format { ICX_LOG_TEXT, ICX_LOG_JSON };
/* Parses "text|json"; returns -1 when unknown. */
int icx_log_format_from_name(const char *name);
void icx_log_set_format(int format);
/* Journald prefixes on (1) or off (0). */
void icx_log_set_journal(int on);
/* 1 when $JOURNAL_STREAM names stderr's device:inode (systemd sets it
 * when stderr is the journal), else 0. */
int icx_log_journal_detect(void);

/* The JSON object for one line (no newline) into out (cap bytes, at
 * least 64): ts (omitted when NULL), level, event, then each KEY=VALUE
 * of tail (VALUE bare or "quoted"; values are not escaped, so a quoted
 * one ends at the quote followed by the end or by " key="; a word
 * without '=' goes to "text") as a string field.  Quotes, backslashes and control characters are
 * escaped; other bytes (UTF-8) are kept.  When out is too small the
 * object ends early with "truncated":"1", still valid JSON.  Returns
 * the length written. */
size_t icx_log_json(char *out, size_t cap, const char *ts, const char *level,
                    const char *event, const char *tail);
/* The syslog level prefix of a level: "<3>" error ... "<7>" debug. */
const char *icx_log_journal_prefix(int level);

/* Tests: where lines go (NULL: stderr) and the limiter's clock in ms
 * (NULL: CLOCK_MONOTONIC).  Not for use while other threads log. */
void icx_log_set_output(FILE *f);
void icx_log_set_clock(int64_t (*now_ms)(void));

#define icx_log_info(ev, ...) icx_log(ICX_LOG_INFO, ev, __VA_ARGS__)
#define icx_log_warn(ev, ...) icx_log(ICX_LOG_WARN, ev, __VA_ARGS__)
#define icx_log_error(ev, ...) icx_log(ICX_LOG_ERROR, ev, __VA_ARGS__)
#define icx_log_debug(ev, ...) icx_log(ICX_LOG_DEBUG, ev, __VA_ARGS__)

#endif
