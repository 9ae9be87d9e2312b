/*
 * log.c - structured key=value lines on stderr (see log.h).
 *
 * The line is formatted into a local buffer, then written with one fputs
 * under flockfile so that lines from worker threads never interleave.
 * In the json format the key=value tail is formatted first, then encoded
 * field by field (icx_log_json); the format and the journald prefixes are
 * set once at start-up, before other threads log.
 *
 * The limiter keeps one entry per condition key while the condition
 * lasts: when its last line was written and how many occurrences were
 * held back since.  The table is small and searched linearly; it is
 * touched only when something failed, except for one atomic load in
 * icx_log_limited_end, which runs after every successful commit.
 */
#include "log.h"

#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static int log_level = ICX_LOG_INFO;
static int log_format = ICX_LOG_TEXT;
static int log_journal; /* syslog level prefixes, no ts= */
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

int icx_log_format_from_name(const char *name)
{
    if (strcmp(name, "text") == 0)
        return ICX_LOG_TEXT;
    if (strcmp(name, "json") == 0)
        return ICX_LOG_JSON;
    return -1;
}

void icx_log_set_format(int format) { log_format = format; }
void icx_log_set_journal(int on) { log_journal = on; }

int icx_log_journal_detect(void)
{
    const char *js = getenv("JOURNAL_STREAM");
    char *end;
    struct stat st;
    if (js == NULL || js[0] < '0' || js[0] > '9')
        return 0;
    errno = 0;
    unsigned long long dev = strtoull(js, &end, 10);
    if (errno != 0 || *end != ':' || end[1] < '0' || end[1] > '9')
        return 0;
    unsigned long long ino = strtoull(end + 1, &end, 10);
    if (errno != 0 || *end != '\0' || fstat(STDERR_FILENO, &st) < 0)
        return 0;
    return (unsigned long long)st.st_dev == dev &&
           (unsigned long long)st.st_ino == ino;
}

const char *icx_log_journal_prefix(int level)
{
    static const char *const prefixes[] = {"<7>", "<6>", "<4>", "<3>"};
    return level >= 0 && level <= ICX_LOG_ERROR ? prefixes[level] : "<6>";
}

/* JSON writer into a fixed buffer; keeps `reserve` bytes for the end. */
struct jw {
    char *out;
    size_t cap, n;
    int full;
};

static void jw_raw(struct jw *w, const char *s, size_t len)
{
    if (len > w->cap - w->n)
        len = w->cap - w->n;
    memcpy(w->out + w->n, s, len);
    w->n += len;
}

/* Appends "s" (len bytes) escaped, only if it fits before the reserve. */
static int jw_str(struct jw *w, const char *s, size_t len, size_t reserve)
{
    size_t need = 2;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        need += c == '"' || c == '\\' ? 2 : c < 0x20 || c == 0x7f ? 6 : 1;
    }
    if (w->full || need + reserve > w->cap - w->n) {
        w->full = 1;
        return -1;
    }
    w->out[w->n++] = '"';
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"' || c == '\\') {
            w->out[w->n++] = '\\';
            w->out[w->n++] = (char)c;
        } else if (c < 0x20 || c == 0x7f) {
            snprintf(w->out + w->n, 7, "\\u%04x", c);
            w->n += 6;
        } else {
            w->out[w->n++] = (char)c;
        }
    }
    w->out[w->n++] = '"';
    return 0;
}

/* ,"key":"value" as a whole, or nothing. */
static void jw_field(struct jw *w, const char *k, size_t klen, const char *v,
                     size_t vlen)
{
    size_t mark = w->n;
    const size_t reserve = sizeof ",\"truncated\":\"1\"}";
    if (w->full)
        return;
    if (mark > 1)
        jw_raw(w, ",", 1);
    if (jw_str(w, k, klen, reserve) < 0 ||
        (jw_raw(w, ":", 1), jw_str(w, v, vlen, reserve)) < 0) {
        w->n = mark;
        w->full = 1;
    }
}

/* " key=" (key: letters, digits, '_', '.', '-') starts at p. */
static int starts_key(const char *p)
{
    if (*p++ != ' ')
        return 0;
    const char *k = p;
    while (isalnum((unsigned char)*p) || *p == '_' || *p == '.' || *p == '-')
        p++;
    return p > k && *p == '=';
}

size_t icx_log_json(char *out, size_t cap, const char *ts, const char *level,
                    const char *event, const char *tail)
{
    struct jw w = {.out = out, .cap = cap - 1, .n = 0, .full = 0};
    jw_raw(&w, "{", 1);
    if (ts != NULL)
        jw_field(&w, "ts", 2, ts, strlen(ts));
    jw_field(&w, "level", 5, level, strlen(level));
    jw_field(&w, "event", 5, event, strlen(event));
    const char *p = tail != NULL ? tail : "";
    while (*p != '\0' && !w.full) {
        while (*p == ' ')
            p++;
        if (*p == '\0')
            break;
        const char *k = p;
        while (*p != '\0' && *p != ' ' && *p != '=')
            p++;
        if (*p != '=') { /* a bare word */
            jw_field(&w, "text", 4, k, (size_t)(p - k));
            continue;
        }
        size_t klen = (size_t)(p - k);
        const char *v = ++p, *vend;
        if (*v == '"') {
            /* Values are not escaped: a quoted value ends at the quote
             * followed by the end or by " key=", a quote inside stays. */
            v++;
            const char *q = v;
            while (*q != '\0' && !(q[0] == '"' && (q[1] == '\0' ||
                                                   starts_key(q + 1))))
                q++;
            vend = q;
            p = *q == '"' ? q + 1 : q;
        } else {
            while (*p != '\0' && *p != ' ')
                p++;
            vend = p;
        }
        jw_field(&w, k, klen, v, (size_t)(vend - v));
    }
    if (w.full) {
        if (w.n > 1)
            jw_raw(&w, ",", 1);
        jw_raw(&w, "\"truncated\":\"1\"", 15);
    }
    jw_raw(&w, "}", 1);
    out[w.n] = '\0';
    return w.n;
}

void icx_log(int level, const char *event, const char *fmt, ...)
{
    if (level < log_level || level < 0 || level > ICX_LOG_ERROR)
        return;
    char line[2048], json[8192], stamp[64];
    struct timespec ts;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    snprintf(stamp, sizeof stamp, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ",
             tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
             tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000L);
    const char *prefix = log_journal ? icx_log_journal_prefix(level) : "";
    int n, head = 0;
    if (log_format == ICX_LOG_JSON)
        n = 0;
    else if (log_journal)
        n = snprintf(line, sizeof line, "%slevel=%s event=%s", prefix,
                     level_names[level], event);
    else
        n = snprintf(line, sizeof line, "ts=%s level=%s event=%s", stamp,
                     level_names[level], event);
    if (n < 0)
        return;
    head = n;
    if (fmt != NULL && (size_t)n < sizeof line - 2) {
        if (n > 0)
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
    line[n] = '\0';
    const char *text = line;
    if (log_format == ICX_LOG_JSON) {
        size_t plen = strlen(prefix);
        memcpy(json, prefix, plen);
        size_t j = plen + icx_log_json(json + plen, sizeof json - plen - 1,
                                       stamp, level_names[level], event,
                                       head < n ? line : "");
        json[j++] = '\n';
        json[j] = '\0';
        text = json;
    } else {
        line[n++] = '\n';
        line[n] = '\0';
    }
    FILE *out = log_out != NULL ? log_out : stderr;
    flockfile(out);
    fputs(text, out);
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
