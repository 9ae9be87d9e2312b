/*
 * log.h - structured key=value logging to stderr.
 *
 * One line per event: `ts=... level=... event=NAME key=value ...`.  Callers
 * pass ids, digests, partner ids and reasons; never payloads or key
 * material.  Values with spaces are quoted by icx_log_kv_str().
 *
 * Thread safety: icx_log() may be called from any thread; each line is
 * written with one locked stdio call.
 */
#ifndef ICX_LOG_H
#define ICX_LOG_H

enum icx_log_level { ICX_LOG_DEBUG, ICX_LOG_INFO, ICX_LOG_WARN, ICX_LOG_ERROR };

void icx_log_set_level(int level);
/* Parses "debug|info|warn|error"; returns -1 when unknown. */
int icx_log_level_from_name(const char *name);
/* fmt produces the key=value tail; it may be NULL. */
void icx_log(int level, const char *event, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#define icx_log_info(ev, ...) icx_log(ICX_LOG_INFO, ev, __VA_ARGS__)
#define icx_log_warn(ev, ...) icx_log(ICX_LOG_WARN, ev, __VA_ARGS__)
#define icx_log_error(ev, ...) icx_log(ICX_LOG_ERROR, ev, __VA_ARGS__)
#define icx_log_debug(ev, ...) icx_log(ICX_LOG_DEBUG, ev, __VA_ARGS__)

#endif
