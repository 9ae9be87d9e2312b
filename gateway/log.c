/*
 * log.c - structured key=value lines on stderr (see log.h).
 *
 * The line is formatted into a local buffer, then written with one fputs
 * under flockfile so that lines from worker threads never interleave.
 */
#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static int log_level = ICX_LOG_INFO;
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
    flockfile(stderr);
    fputs(line, stderr);
    fflush(stderr);
    funlockfile(stderr);
}
