/*
 * err.c - names and messages for the error and reason tables of err.h.
 *
 * No allocation; every function is reentrant.  Messages written into an
 * icx_err are truncated to ICX_ERR_MSG_MAX bytes, never overflowed.
 */
#include "err.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

const char *icx_rc_name(int rc)
{
    switch (rc) {
#define ICX_RC_NAME(name, val, str) case (val): return "ICX_" #name;
        ICX_RC_MAP(ICX_RC_NAME)
#undef ICX_RC_NAME
    }
    return "ICX_UNKNOWN";
}

const char *icx_rc_str(int rc)
{
    switch (rc) {
#define ICX_RC_STR(name, val, str) case (val): return str;
        ICX_RC_MAP(ICX_RC_STR)
#undef ICX_RC_STR
    }
    return "unknown error";
}

static const char *const reason_names[] = {
#define ICX_REASON_NAME(name, str) #name,
    ICX_REASON_MAP(ICX_REASON_NAME)
#undef ICX_REASON_NAME
};

static const char *const reason_strs[] = {
#define ICX_REASON_STR(name, str) str,
    ICX_REASON_MAP(ICX_REASON_STR)
#undef ICX_REASON_STR
};

const char *icx_reason_name(int reason)
{
    if (reason < 0 || reason >= ICX_REASON__COUNT)
        return "UNKNOWN";
    return reason_names[reason];
}

const char *icx_reason_str(int reason)
{
    if (reason < 0 || reason >= ICX_REASON__COUNT)
        return "unknown reason";
    return reason_strs[reason];
}

int icx_reason_from_name(const char *name)
{
    for (int i = 0; i < ICX_REASON__COUNT; i++)
        if (strcmp(reason_names[i], name) == 0)
            return i;
    return -1;
}

void icx_err_clear(icx_err *err)
{
    if (err == NULL)
        return;
    err->rc = ICX_OK;
    err->reason = ICX_REASON_NONE;
    err->msg[0] = '\0';
}

static void err_vset(icx_err *err, int rc, int reason, const char *fmt,
                     va_list ap)
{
    err->rc = rc;
    err->reason = reason;
    vsnprintf(err->msg, sizeof err->msg, fmt, ap);
}

int icx_err_set(icx_err *err, int rc, const char *fmt, ...)
{
    if (err != NULL) {
        va_list ap;
        va_start(ap, fmt);
        err_vset(err, rc, ICX_REASON_NONE, fmt, ap);
        va_end(ap);
    }
    return rc;
}

int icx_err_reason(icx_err *err, int rc, int reason, const char *fmt, ...)
{
    if (err != NULL) {
        va_list ap;
        va_start(ap, fmt);
        err_vset(err, rc, reason, fmt, ap);
        va_end(ap);
    }
    return rc;
}

int icx_err_result(icx_err *err, int result, int rc, const char *fmt, ...)
{
    if (err != NULL) {
        va_list ap;
        va_start(ap, fmt);
        err_vset(err, rc, ICX_REASON_NONE, fmt, ap);
        va_end(ap);
    }
    return result;
}

int icx_err_wrap(icx_err *err, const char *fmt, ...)
{
    if (err == NULL)
        return ICX_ERROR;
    char prefix[ICX_ERR_MSG_MAX];
    char old[ICX_ERR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof prefix, fmt, ap);
    va_end(ap);
    char joined[2 * ICX_ERR_MSG_MAX + 2];
    memcpy(old, err->msg, sizeof old);
    snprintf(joined, sizeof joined, "%s: %s", prefix, old);
    memcpy(err->msg, joined, sizeof err->msg - 1);
    err->msg[sizeof err->msg - 1] = '\0';
    return err->rc;
}
