/*
 * store_head.c - the head file kept beside the store (<store>.head): the
 * last signed checkpoint that is durable in the store, written and read
 * back (docs/STORE.md "Start-up checks").
 *
 * Six lines: "icx-store-head v1", then gateway, size, root, time and
 * signature, each "key VALUE".  It is written only after the checkpoint's
 * transaction committed, through icx_file_write_atomic (temporary file in
 * the same folder, fsync, rename, fsync of the folder).  Reading is
 * strict: anything else than those six lines is ICX_ECORRUPT naming
 * path:line.  store_check.c compares it with the store's checkpoints.
 *
 * The bottom of the store's files: calls nothing else of the part.  Never
 * opens the store's own files.  Threads: the store's thread.
 */
#include "store_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "buf.h"
#include "util.h"

#define HEAD_MAGIC "icx-store-head v1"
#define HEAD_MAX 8192

void icx_sq_head_path(char *out, size_t n, const icx_store *s)
{
    snprintf(out, n, "%s", s->head);
}

int icx_store_set_head(icx_store *s, const char *path, icx_err *err)
{
    if (path == NULL || path[0] == '\0' || strlen(path) >= sizeof s->head)
        return icx_err_set(err, ICX_EINVAL, "store %s: head file path "
                           "empty or too long", s->path);
    memcpy(s->head, path, strlen(path) + 1);
    return ICX_OK;
}

int icx_sq_head_write(icx_store *s, const icx_checkpoint *c, icx_err *err)
{
    char path[PATH_MAX_STORE + 8];
    icx_buf text;
    icx_sq_head_path(path, sizeof path, s);
    if (path[0] == '\0')
        return ICX_OK; /* PostgreSQL without store.head: none kept */
    icx_buf_init(&text, HEAD_MAX);
    int rc = icx_buf_printf(&text, HEAD_MAGIC "\ngateway %s\nsize %llu\n"
                            "root %s\ntime %s\nsignature %s\n", c->gateway,
                            (unsigned long long)c->size, c->root, c->time,
                            c->signature);
    if (rc < 0)
        rc = icx_err_set(err, rc, "%s: checkpoint too large", path);
    else
        rc = icx_file_write_atomic(path, text.data, text.len, 0600, err);
    if (rc < 0)
        icx_err_wrap(err, "store %s: checkpoint size %llu is committed but "
                     "its head file was not written", s->path,
                     (unsigned long long)c->size);
    icx_buf_free(&text);
    return rc;
}

/* A non-empty value that fits dst (n bytes with its NUL): 1 when copied. */
static int copy_value(char *dst, size_t n, const char *v, size_t vl)
{
    if (vl == 0 || vl >= n)
        return 0;
    memcpy(dst, v, vl + 1);
    return 1;
}

/* Parses the head file at path into c: ICX_ENOTFOUND when there is none,
 * ICX_ECORRUPT (naming path:line) when it is not one. */
int icx_sq_head_read(icx_checkpoint *c, const char *path, icx_err *err)
{
    static const char *const keys[] = {"gateway", "size", "root", "time",
                                       "signature"};
    struct stat sb;
    char *text = NULL;
    size_t len = 0;
    int rc;
    memset(c, 0, sizeof *c);
    if (lstat(path, &sb) < 0) {
        if (errno == ENOENT)
            return ICX_ENOTFOUND;
        return icx_err_set(err, ICX_EIO, "%s: %s", path, strerror(errno));
    }
    if (!S_ISREG(sb.st_mode))
        return icx_err_set(err, ICX_ECORRUPT, "%s: not a regular file", path);
    rc = icx_file_read(&text, &len, path, HEAD_MAX, err);
    if (rc < 0)
        return rc == ICX_EFULL ? icx_err_set(err, ICX_ECORRUPT, "%s: larger "
                                             "than a head file", path)
                               : rc;
    if (memchr(text, '\0', len) != NULL) {
        rc = icx_err_set(err, ICX_ECORRUPT, "%s: not a head file (NUL byte)",
                         path);
        goto out;
    }
    char *p = text;
    for (int line = 1; line <= 6; line++) {
        char *nl = strchr(p, '\n');
        if (nl == NULL) {
            rc = icx_err_set(err, ICX_ECORRUPT, "%s:%d: line missing or not "
                             "ended", path, line);
            goto out;
        }
        *nl = '\0';
        if (line == 1) {
            if (strcmp(p, HEAD_MAGIC) != 0) {
                rc = icx_err_set(err, ICX_ECORRUPT, "%s:1: not \"%s\"", path,
                                 HEAD_MAGIC);
                goto out;
            }
            p = nl + 1;
            continue;
        }
        const char *key = keys[line - 2];
        size_t kl = strlen(key);
        if (strncmp(p, key, kl) != 0 || p[kl] != ' ') {
            rc = icx_err_set(err, ICX_ECORRUPT, "%s:%d: want \"%s VALUE\"",
                             path, line, key);
            goto out;
        }
        const char *v = p + kl + 1;
        size_t vl = strlen(v);
        int ok = 1;
        switch (line) {
        case 2:
            ok = copy_value(c->gateway, sizeof c->gateway, v, vl);
            break;
        case 3: {
            char *end = NULL;
            errno = 0;
            unsigned long long n = strtoull(v, &end, 10);
            /* 0 names the empty log (icx_store_head_start); no sign,
             * no leading zero. */
            ok = vl > 0 && v[0] >= '0' && v[0] <= '9' && errno == 0 &&
                 *end == '\0' && (v[0] != '0' || vl == 1);
            c->size = n;
            break;
        }
        case 4: {
            unsigned char raw[ICX_HASH_LEN];
            ok = vl == 64 && icx_unhex(raw, v, ICX_HASH_LEN) == ICX_OK &&
                 copy_value(c->root, sizeof c->root, v, vl);
            break;
        }
        case 5:
            ok = copy_value(c->time, sizeof c->time, v, vl);
            break;
        default:
            ok = copy_value(c->signature, sizeof c->signature, v, vl);
            break;
        }
        if (!ok) {
            rc = icx_err_set(err, ICX_ECORRUPT, "%s:%d: %s: invalid value",
                             path, line, key);
            goto out;
        }
        p = nl + 1;
    }
    if (*p != '\0')
        rc = icx_err_set(err, ICX_ECORRUPT, "%s:7: text after the signature",
                         path);
out:
    free(text);
    return rc;
}
