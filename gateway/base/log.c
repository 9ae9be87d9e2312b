/*
 * log.c - structured key=value lines on stderr (see log.h).
 *
 * The line is formatted into a local buffer, then written with one fputs
 * under flockfile so that lines from worker threads never interleave.
 *
 * The limiter keeps one entry per condition key while the condition
 * lasts: when its last line was written and how many occurrences were
 * held back since.  The table is small and searched linearly; it is
 * touched only when something failed, except for one atomic load in
 * icx_log_limited_end, which runs after every successful commit.
 */
#include "log.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static int log_level = ICX_LOG_INFO;
static FILE *log_out; /* NULL: stderr */

struct limit {
    char key[48];
    int64_t last_ms;  /* when its last line was written */
    uint64_t held;    /* occurrences since then, not written */
};

static pthread_mutex_t limit_mu = PTHREAD_MUTEX_INITIALIZER;
static struct limit limits[ICX_LOG_LIMIT_KEYS];
static atomic_int nlimits; /* entries in use; written under limit_mu */
static int64_t (*limit_clock)(void);

void icx_log_set_output(FILE *f) { log_out = f; }
void icx_log_set_clock(int64_t (*now_ms)(void)) { limit_clock = now_ms; }

static int64_t now_ms(void)
{
    if (limit_clock != NULL)
        return limit_clock();
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static const char *const level_names[] = {"debug", "info", "warn", "error"};

void icx_log_set_level(int level) { log_level = level; }

int icx_log_level_from_name(const char *name)
{
    for (int i = 0; i < 4; i++)
        if (strcmp(level_names[i], name) == 0)
            return i;
    return -1;
}

void icx_log(int level, const char *event, const char *fmt, ...)
{
    if (level < log_level || level < 0 || level > ICX_LOG_ERROR)
        return;
    char line[2048];
    struct timespec ts;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    int n = snprintf(line, sizeof line,
                     "ts=%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ level=%s event=%s",
                     tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
                     tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000L,
                     level_names[level], event);
    if (n < 0)
        return;
    if (fmt != NULL && (size_t)n < sizeof line - 2) {
        line[n++] = ' ';
        va_list ap;
        va_start(ap, fmt);
        int m = vsnprintf(line + n, sizeof line - (size_t)n, fmt, ap);
        va_end(ap);
        if (m > 0)
            n += m;
    }
    if ((size_t)n >= sizeof line - 1)
        n = (int)sizeof line - 2;
    line[n++] = '\n';
    line[n] = '\0';
    FILE *out = log_out != NULL ? log_out : stderr;
    flockfile(out);
    fputs(line, out);
    fflush(out);
    funlockfile(out);
}

/* Decides under the lock whether this occurrence is written; returns the
 * count to report, or 0 to hold it back. */
static uint64_t limit_occurred(const char *key)
{
    uint64_t count = 0;
    int64_t now = now_ms();
    pthread_mutex_lock(&limit_mu);
    int n = atomic_load(&nlimits), i;
    for (i = 0; i < n; i++)
        if (strcmp(limits[i].key, key) == 0)
            break;
    if (i == n) {
        /* New condition, written at once; with a full table (a bug: keys
         * are constants) or a key too long to hold, not limited. */
        count = 1;
        if (n < ICX_LOG_LIMIT_KEYS && strlen(key) < sizeof limits[n].key) {
            snprintf(limits[n].key, sizeof limits[n].key, "%s", key);
            limits[n].last_ms = now;
            limits[n].held = 0;
            atomic_store(&nlimits, n + 1);
        }
    } else if (now - limits[i].last_ms >= ICX_LOG_LIMIT_MS) {
        count = limits[i].held + 1;
        limits[i].held = 0;
        limits[i].last_ms = now;
    } else {
        limits[i].held++;
    }
    pthread_mutex_unlock(&limit_mu);
    return count;
}

void icx_log_limited(int level, const char *key, const char *event,
                     const char *fmt, ...)
{
    if (level < log_level || level < 0 || level > ICX_LOG_ERROR)
        return;
    uint64_t count = limit_occurred(key);
    if (count == 0)
        return;
    char tail[1536] = "";
    if (fmt != NULL) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(tail, sizeof tail, fmt, ap);
        va_end(ap);
    }
    icx_log(level, event, "%s%scount=%llu", tail, tail[0] ? " " : "",
            (unsigned long long)count);
}

void icx_log_limited_end(const char *prefix)
{
    if (atomic_load(&nlimits) == 0)
        return;
    struct limit ended[ICX_LOG_LIMIT_KEYS];
    int nended = 0;
    size_t plen = strlen(prefix);
    pthread_mutex_lock(&limit_mu);
    int n = atomic_load(&nlimits);
    for (int i = 0; i < n;) {
        if (strncmp(limits[i].key, prefix, plen) != 0) {
            i++;
            continue;
        }
        ended[nended++] = limits[i];
        limits[i] = limits[--n];
    }
    atomic_store(&nlimits, n);
    pthread_mutex_unlock(&limit_mu);
    for (int i = 0; i < nended; i++)
        icx_log(ICX_LOG_INFO, "condition.cleared", "key=%s count=%llu",
                ended[i].key, (unsigned long long)ended[i].held);
}
