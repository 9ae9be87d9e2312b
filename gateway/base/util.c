/*
 * util.c - small shared helpers (see util.h).
 *
 * Errors name the path and errno text.  Atomic writes go to
 * "<path>.tmp.<pid>" in the same directory, are fsynced, renamed, and the
 * directory is fsynced so the rename survives a crash.
 */
#include "util.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/rand.h>

int icx_file_read(char **out, size_t *len, const char *path, size_t max,
                  icx_err *err)
{
    int rc = ICX_OK;
    char *data = NULL;
    size_t n = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return icx_err_set(err, errno == ENOENT ? ICX_ENOTFOUND : ICX_EIO,
                           "%s: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) < 0) {
        rc = icx_err_set(err, ICX_EIO, "%s: %s", path, strerror(errno));
        goto out;
    }
    if (!S_ISREG(st.st_mode)) {
        rc = icx_err_set(err, ICX_EINVAL, "%s: not a regular file", path);
        goto out;
    }
    if ((uint64_t)st.st_size > max) {
        rc = icx_err_set(err, ICX_EFULL, "%s: %lld bytes, limit is %zu", path,
                         (long long)st.st_size, max);
        goto out;
    }
    data = malloc((size_t)st.st_size + 1);
    if (data == NULL) {
        rc = icx_err_set(err, ICX_ENOMEM, "%s: out of memory", path);
        goto out;
    }
    while (n < (size_t)st.st_size) {
        ssize_t r = read(fd, data + n, (size_t)st.st_size - n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            rc = icx_err_set(err, ICX_EIO, "%s: %s", path, strerror(errno));
            goto out;
        }
        if (r == 0)
            break;
        n += (size_t)r;
    }
    data[n] = '\0';
    *out = data;
    *len = n;
    data = NULL;
out:
    free(data);
    close(fd);
    return rc;
}

int icx_file_write_atomic(const char *path, const void *data, size_t len,
                          unsigned mode, icx_err *err)
{
    char tmp[4096];
    int rc = ICX_OK;
    int n = snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid());
    if (n < 0 || (size_t)n >= sizeof tmp)
        return icx_err_set(err, ICX_EINVAL, "%s: path too long", path);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, (mode_t)mode);
    if (fd < 0)
        return icx_err_set(err, ICX_EIO, "%s: %s", tmp, strerror(errno));
    if (fchmod(fd, (mode_t)mode) < 0) {
        rc = icx_err_set(err, ICX_EIO, "%s: %s", tmp, strerror(errno));
        goto fail;
    }
    const char *p = data;
    size_t left = len;
    while (left > 0) {
        ssize_t w = write(fd, p, left);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0) {
            rc = icx_err_set(err, errno == ENOSPC ? ICX_EFULL : ICX_EIO,
                             "%s: %s", tmp, strerror(errno));
            goto fail;
        }
        p += w;
        left -= (size_t)w;
    }
    if (fsync(fd) < 0) {
        rc = icx_err_set(err, ICX_EIO, "%s: fsync: %s", tmp, strerror(errno));
        goto fail;
    }
    close(fd);
    fd = -1;
    if (rename(tmp, path) < 0) {
        rc = icx_err_set(err, ICX_EIO, "%s: %s", path, strerror(errno));
        goto fail;
    }
    {
        char dir[4096];
        snprintf(dir, sizeof dir, "%s", path);
        char *slash = strrchr(dir, '/');
        if (slash == NULL)
            snprintf(dir, sizeof dir, ".");
        else if (slash == dir)
            dir[1] = '\0';
        else
            *slash = '\0';
        int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd >= 0) {
            (void)fsync(dfd);
            close(dfd);
        }
    }
    return ICX_OK;
fail:
    if (fd >= 0)
        close(fd);
    unlink(tmp);
    return rc;
}

int icx_mkdir_p(const char *dir, unsigned mode, icx_err *err)
{
    char path[4096];
    int n = snprintf(path, sizeof path, "%s", dir);
    if (n < 0 || (size_t)n >= sizeof path)
        return icx_err_set(err, ICX_EINVAL, "%s: path too long", dir);
    for (char *p = path + 1; ; p++) {
        if (*p == '/' || *p == '\0') {
            char c = *p;
            *p = '\0';
            if (mkdir(path, (mode_t)mode) < 0 && errno != EEXIST)
                return icx_err_set(err, ICX_EIO, "%s: %s", path,
                                   strerror(errno));
            *p = c;
            if (c == '\0')
                break;
        }
    }
    return ICX_OK;
}

void icx_time_format(char *out, size_t outlen, time_t t)
{
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, outlen, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static int parse_digits(const char **s, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (!isdigit((unsigned char)(*s)[i]))
            return -1;
        v = v * 10 + ((*s)[i] - '0');
    }
    *s += n;
    *out = v;
    return 0;
}

static int parse_ymd(const char **p, struct tm *tm)
{
    int y, mo, d;
    if (parse_digits(p, 4, &y) < 0 || **p != '-')
        return -1;
    (*p)++;
    if (parse_digits(p, 2, &mo) < 0 || **p != '-')
        return -1;
    (*p)++;
    if (parse_digits(p, 2, &d) < 0)
        return -1;
    if (mo < 1 || mo > 12 || d < 1 || d > 31)
        return -1;
    memset(tm, 0, sizeof *tm);
    tm->tm_year = y - 1900;
    tm->tm_mon = mo - 1;
    tm->tm_mday = d;
    return 0;
}

int icx_date_parse(time_t *out, const char *s)
{
    struct tm tm;
    const char *p = s;
    if (parse_ymd(&p, &tm) < 0 || *p != '\0')
        return ICX_EINVAL;
    *out = timegm(&tm);
    return ICX_OK;
}

int icx_time_parse(time_t *out, const char *s)
{
    struct tm tm;
    const char *p = s;
    int h, mi, se;
    if (parse_ymd(&p, &tm) < 0 || *p++ != 'T')
        return ICX_EINVAL;
    if (parse_digits(&p, 2, &h) < 0 || *p++ != ':' ||
        parse_digits(&p, 2, &mi) < 0 || *p++ != ':' ||
        parse_digits(&p, 2, &se) < 0)
        return ICX_EINVAL;
    if (h > 23 || mi > 59 || se > 60)
        return ICX_EINVAL;
    if (*p == '.') {
        p++;
        if (!isdigit((unsigned char)*p))
            return ICX_EINVAL;
        while (isdigit((unsigned char)*p))
            p++;
    }
    long off = 0;
    if (*p == 'Z') {
        p++;
    } else if (*p == '+' || *p == '-') {
        int sign = *p == '-' ? -1 : 1, oh, om;
        p++;
        if (parse_digits(&p, 2, &oh) < 0 || *p++ != ':' ||
            parse_digits(&p, 2, &om) < 0 || oh > 14 || om > 59)
            return ICX_EINVAL;
        off = sign * (oh * 3600L + om * 60L);
    } else {
        return ICX_EINVAL;
    }
    if (*p != '\0')
        return ICX_EINVAL;
    tm.tm_hour = h;
    tm.tm_min = mi;
    tm.tm_sec = se;
    *out = timegm(&tm) - off;
    return ICX_OK;
}

void icx_hex(char *out, const unsigned char *in, size_t len)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < len; i++) {
        out[2 * i] = digits[in[i] >> 4];
        out[2 * i + 1] = digits[in[i] & 15];
    }
    out[2 * len] = '\0';
}

int icx_unhex(unsigned char *out, const char *hex, size_t n)
{
    if (strlen(hex) != 2 * n)
        return -1;
    for (size_t i = 0; i < n; i++) {
        unsigned v = 0;
        for (int k = 0; k < 2; k++) {
            char c = hex[2 * i + (size_t)k];
            v <<= 4;
            if (c >= '0' && c <= '9')
                v |= (unsigned)(c - '0');
            else if (c >= 'a' && c <= 'f')
                v |= (unsigned)(c - 'a' + 10);
            else
                return -1;
        }
        out[i] = (unsigned char)v;
    }
    return 0;
}

static EVP_MD *sha_fetched[3];
static pthread_once_t sha_once = PTHREAD_ONCE_INIT;

/* Kept for the life of the process (OpenSSL frees its providers at exit). */
static void sha_fetch(void)
{
    static const char *const names[] = {"SHA2-256", "SHA2-384", "SHA2-512"};
    for (int i = 0; i < 3; i++)
        sha_fetched[i] = EVP_MD_fetch(NULL, names[i], NULL);
}

const EVP_MD *icx_sha(int bits)
{
    pthread_once(&sha_once, sha_fetch);
    int i = bits == 384 ? 1 : bits == 512 ? 2 : 0;
    if (sha_fetched[i] != NULL)
        return sha_fetched[i];
    return i == 1 ? EVP_sha384() : i == 2 ? EVP_sha512() : EVP_sha256();
}

int icx_sha256_hex(char *out, const void *data, size_t len)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    if (EVP_Digest(data, len, md, &mdlen, icx_sha(256), NULL) != 1)
        return ICX_ECRYPTO;
    icx_hex(out, md, mdlen);
    return ICX_OK;
}

static void uuid_text(char *out, unsigned char b[16], unsigned version)
{
    b[6] = (unsigned char)((b[6] & 0x0f) | (version << 4));
    b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
    char hex[33];
    icx_hex(hex, b, 16);
    snprintf(out, ICX_UUID_LEN + 1, "%.8s-%.4s-%.4s-%.4s-%.12s", hex, hex + 8,
             hex + 12, hex + 16, hex + 20);
}

int icx_uuid4(char *out, icx_err *err)
{
    unsigned char b[16];
    if (RAND_bytes(b, sizeof b) != 1)
        return icx_err_set(err, ICX_ECRYPTO, "random generator failed");
    uuid_text(out, b, 4);
    return ICX_OK;
}

int icx_uuid7(char *out, int64_t ms_now, icx_err *err)
{
    unsigned char b[16];
    if (ms_now < 0)
        return icx_err_set(err, ICX_EINVAL, "time before 1970");
    if (RAND_bytes(b + 6, sizeof b - 6) != 1)
        return icx_err_set(err, ICX_ECRYPTO, "random generator failed");
    for (int i = 0; i < 6; i++)
        b[i] = (unsigned char)((uint64_t)ms_now >> (40 - 8 * i));
    uuid_text(out, b, 7);
    return ICX_OK;
}

int icx_agency_id_valid(const char *id)
{
    size_t n = strlen(id);
    size_t pre;
    if (n > 3 && strncmp(id, "INT-", 4) == 0)
        pre = 4;
    else if (n > 3 && isupper((unsigned char)id[0]) &&
             isupper((unsigned char)id[1]) && id[2] == '-')
        pre = 3;
    else
        return 0;
    size_t rest = n - pre;
    if (rest < 2 || rest > 16)
        return 0;
    for (size_t i = pre; i < n; i++)
        if (!isupper((unsigned char)id[i]) && !isdigit((unsigned char)id[i]))
            return 0;
    return 1;
}

int icx_uuid_valid(const char *id)
{
    static const char shape[] = "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx";
    size_t i;
    for (i = 0; shape[i] != '\0'; i++) {
        char c = id[i];
        if (shape[i] == '-' ? c != '-'
                            : !((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
            return 0;
    }
    return id[i] == '\0';
}

int icx_private_file(const char *path, const char *what, icx_err *err)
{
    struct stat st;
    if (lstat(path, &st) != 0) {
        if (errno != ENOENT)
            return icx_err_set(err, errno == EACCES ? ICX_EPERM : ICX_EIO,
                               "%s %s: stat: %s", what, path, strerror(errno));
        int fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW,
                      0600);
        if (fd < 0 && errno != EEXIST)
            return icx_err_set(err, errno == EACCES ? ICX_EPERM : ICX_EIO,
                               "%s %s: open: %s", what, path, strerror(errno));
        if (fd >= 0)
            close(fd); /* new: nothing else in this process has it open */
        if (lstat(path, &st) != 0)
            return icx_err_set(err, ICX_EIO, "%s %s: stat: %s", what, path,
                               strerror(errno));
    }
    if (!S_ISREG(st.st_mode))
        return icx_err_set(err, ICX_EPERM, "%s %s: not a regular file", what,
                           path);
    if ((st.st_mode & 077) != 0)
        return icx_err_set(err, ICX_EPERM, "%s %s: mode %04o lets other users "
                           "read it; chmod 600 it", what, path,
                           (unsigned)(st.st_mode & 07777));
    return ICX_OK;
}

#ifndef ICX_SHARE_REL
#define ICX_SHARE_REL "../share/icx"
#endif

static const char *const share_subs[] = {"schemas", "mappings"};
static char share_dirs[2][PATH_MAX];
static pthread_once_t share_once = PTHREAD_ONCE_INIT;

static void share_resolve(void)
{
    char exe[PATH_MAX], want[PATH_MAX + 64];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n <= 0)
        return;
    exe[n] = '\0';
    char *slash = strrchr(exe, '/');
    if (slash == NULL)
        return;
    *slash = '\0';
    for (size_t i = 0; i < sizeof share_subs / sizeof share_subs[0]; i++) {
        struct stat st;
        int w = snprintf(want, sizeof want, "%s/%s/%s", exe, ICX_SHARE_REL,
                         share_subs[i]);
        if (w < 0 || (size_t)w >= sizeof want)
            continue;
        if (realpath(want, share_dirs[i]) == NULL ||
            stat(share_dirs[i], &st) < 0 || !S_ISDIR(st.st_mode))
            share_dirs[i][0] = '\0';
    }
}

const char *icx_share_dir(const char *sub)
{
    pthread_once(&share_once, share_resolve);
    for (size_t i = 0; i < sizeof share_subs / sizeof share_subs[0]; i++)
        if (strcmp(sub, share_subs[i]) == 0)
            return share_dirs[i][0] != '\0' ? share_dirs[i] : NULL;
    return NULL;
}
