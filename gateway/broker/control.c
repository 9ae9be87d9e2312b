/*
 * control.c - control socket protocol (see control.h).
 *
 * Reads are bounded: argument count and lengths, blob count and each blob
 * length are checked against their limits before memory is allocated.  The
 * server side reads a request with a 10 s receive timeout so a stuck
 * client cannot hold the loop for long.
 */
#include "control.h"

#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

static int io_full(int fd, void *buf, size_t len, int writing)
{
    char *p = buf;
    while (len > 0) {
        ssize_t n = writing ? send(fd, p, len, MSG_NOSIGNAL) : recv(fd, p, len, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

static int put_u32(int fd, uint32_t v)
{
    unsigned char b[4] = {v >> 24, v >> 16, v >> 8, v};
    return io_full(fd, b, 4, 1);
}

static int put_u64(int fd, uint64_t v)
{
    return put_u32(fd, (uint32_t)(v >> 32)) || put_u32(fd, (uint32_t)v);
}

static int get_u32(int fd, uint32_t *v)
{
    unsigned char b[4];
    if (io_full(fd, b, 4, 0) < 0)
        return -1;
    *v = (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
    return 0;
}

static int get_u64(int fd, uint64_t *v)
{
    uint32_t hi, lo;
    if (get_u32(fd, &hi) < 0 || get_u32(fd, &lo) < 0)
        return -1;
    *v = (uint64_t)hi << 32 | lo;
    return 0;
}

static int sockaddr_for(struct sockaddr_un *sa, const char *path, icx_err *err)
{
    memset(sa, 0, sizeof *sa);
    sa->sun_family = AF_UNIX;
    if (strlen(path) >= sizeof sa->sun_path)
        return icx_err_set(err, ICX_EINVAL, "%s: control socket path longer "
                           "than %zu bytes", path, sizeof sa->sun_path - 1);
    memcpy(sa->sun_path, path, strlen(path) + 1);
    return ICX_OK;
}

/* Connects a stream socket to path: ICX_OK with *fd, or ICX_ERROR with
 * *e = errno of the connect (ICX_EIO/EINVAL for other failures). */
static int dial(int *fd, int *e, const struct sockaddr_un *sa, icx_err *err)
{
    int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    *e = 0;
    if (s < 0)
        return icx_err_set(err, ICX_EIO, "socket: %s", strerror(errno));
    if (connect(s, (const struct sockaddr *)sa, sizeof *sa) < 0) {
        *e = errno;
        close(s);
        return ICX_ERROR;
    }
    *fd = s;
    return ICX_OK;
}

int icx_ctl_listen(int *fd, const char *path, icx_err *err)
{
    struct sockaddr_un sa;
    int e = 0, s = -1;
    int rc = sockaddr_for(&sa, path, err);
    if (rc < 0)
        return rc;
    rc = dial(&s, &e, &sa, err);
    if (rc == ICX_OK) {
        close(s);
        return icx_err_set(err, ICX_EEXIST, "%s: another icx serve is already "
                           "running on this control socket", path);
    }
    if (e == 0)
        return rc; /* no socket at all */
    unlink(path); /* a stale socket from a daemon that died */
    s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (s < 0)
        return icx_err_set(err, ICX_EIO, "socket: %s", strerror(errno));
    mode_t old = umask(077);
    int b = bind(s, (struct sockaddr *)&sa, sizeof sa);
    umask(old);
    if (b < 0 || chmod(path, 0600) < 0 || listen(s, 16) < 0) {
        rc = icx_err_set(err, ICX_EIO, "%s: %s", path, strerror(errno));
        close(s);
        return rc;
    }
    *fd = s;
    return ICX_OK;
}

void icx_ctl_request_free(icx_ctl_request *req)
{
    for (int i = 0; req->argv != NULL && i < req->argc; i++)
        free(req->argv[i]);
    for (int i = 0; req->blobs != NULL && i < req->nblobs; i++)
        free(req->blobs[i]);
    free(req->argv);
    free(req->blobs);
    free(req->bloblens);
    memset(req, 0, sizeof *req);
}

int icx_ctl_read_request(icx_ctl_request *req, int fd, size_t max_blob,
                         icx_err *err)
{
    unsigned char magic[4];
    uint32_t version, argc, nblobs;
    struct timeval tv = {10, 0};
    memset(req, 0, sizeof *req);
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    if (io_full(fd, magic, 4, 0) < 0 || memcmp(magic, "ICXC", 4) != 0 ||
        get_u32(fd, &version) < 0 || version != 1 || get_u32(fd, &argc) < 0)
        return icx_err_set(err, ICX_EINVAL, "control request: bad header");
    if (argc == 0 || argc > ICX_CTL_MAX_ARGS)
        return icx_err_set(err, ICX_EINVAL, "control request: %u arguments",
                           argc);
    req->argv = calloc(argc + 1, sizeof *req->argv);
    if (req->argv == NULL)
        return icx_err_set(err, ICX_ENOMEM, "out of memory");
    for (uint32_t i = 0; i < argc; i++) {
        uint32_t len;
        if (get_u32(fd, &len) < 0 || len > ICX_CTL_MAX_ARG)
            goto bad;
        req->argv[i] = malloc(len + 1);
        if (req->argv[i] == NULL)
            goto nomem;
        req->argc = (int)i + 1;
        if (io_full(fd, req->argv[i], len, 0) < 0)
            goto bad;
        req->argv[i][len] = '\0';
        if (strlen(req->argv[i]) != len)
            goto bad;
    }
    if (get_u32(fd, &nblobs) < 0 || nblobs > ICX_CTL_MAX_BLOBS)
        goto bad;
    if (nblobs > 0) {
        req->blobs = calloc(nblobs, sizeof *req->blobs);
        req->bloblens = calloc(nblobs, sizeof *req->bloblens);
        if (req->blobs == NULL || req->bloblens == NULL)
            goto nomem;
    }
    for (uint32_t i = 0; i < nblobs; i++) {
        uint64_t len;
        if (get_u64(fd, &len) < 0)
            goto bad;
        if (len > max_blob) {
            icx_ctl_request_free(req);
            return icx_err_set(err, ICX_EFULL, "file %u is %llu bytes, limit "
                               "is %zu", i + 1, (unsigned long long)len,
                               max_blob);
        }
        req->blobs[i] = malloc((size_t)len + 1);
        if (req->blobs[i] == NULL)
            goto nomem;
        req->nblobs = (int)i + 1;
        if (io_full(fd, req->blobs[i], (size_t)len, 0) < 0)
            goto bad;
        req->blobs[i][len] = '\0';
        req->bloblens[i] = (size_t)len;
    }
    return ICX_OK;
bad:
    icx_ctl_request_free(req);
    return icx_err_set(err, ICX_EINVAL, "control request: malformed or "
                       "truncated");
nomem:
    icx_ctl_request_free(req);
    return icx_err_set(err, ICX_ENOMEM, "out of memory");
}

int icx_ctl_write_response(int fd, int code, const char *text, size_t len)
{
    if (io_full(fd, "ICXR", 4, 1) < 0 || put_u32(fd, (uint32_t)code) < 0 ||
        put_u32(fd, (uint32_t)len) < 0 || io_full(fd, (void *)text, len, 1) < 0)
        return ICX_EIO;
    return ICX_OK;
}

int icx_ctl_call(int *code, icx_buf *text, const char *path, int argc,
                 char *const *argv, int nblobs, char *const *blobs,
                 const size_t *bloblens, int timeout_ms, icx_err *err)
{
    struct sockaddr_un sa;
    int s = -1, e = 0;
    int rc = sockaddr_for(&sa, path, err);
    if (rc < 0)
        return rc;
    if (dial(&s, &e, &sa, err) < 0) {
        if (e == 0)
            return ICX_EIO;
        if (e == ENOENT || e == ECONNREFUSED)
            return icx_err_set(err, ICX_ENOTCONN, "no icx serve is running "
                               "(nothing answers on %s); start it with "
                               "`icx serve -c CONFIG`", path);
        return icx_err_set(err, ICX_EIO, "%s: %s", path, strerror(e));
    }
    if (io_full(s, "ICXC", 4, 1) < 0 || put_u32(s, 1) < 0 ||
        put_u32(s, (uint32_t)argc) < 0)
        goto io;
    for (int i = 0; i < argc; i++)
        if (put_u32(s, (uint32_t)strlen(argv[i])) < 0 ||
            io_full(s, argv[i], strlen(argv[i]), 1) < 0)
            goto io;
    if (put_u32(s, (uint32_t)nblobs) < 0)
        goto io;
    for (int i = 0; i < nblobs; i++)
        if (put_u64(s, bloblens[i]) < 0 ||
            io_full(s, blobs[i], bloblens[i], 1) < 0)
            goto io;
    if (timeout_ms > 0) {
        struct pollfd p = {s, POLLIN, 0};
        if (poll(&p, 1, timeout_ms) <= 0) {
            close(s);
            return icx_err_set(err, ICX_EAGAIN, "%s: no answer within %d ms",
                               path, timeout_ms);
        }
    }
    unsigned char magic[4];
    uint32_t c, len;
    if (io_full(s, magic, 4, 0) < 0 || memcmp(magic, "ICXR", 4) != 0 ||
        get_u32(s, &c) < 0 || get_u32(s, &len) < 0)
        goto io;
    for (uint32_t left = len; left > 0;) {
        char chunk[4096];
        uint32_t n = left < sizeof chunk ? left : (uint32_t)sizeof chunk;
        if (io_full(s, chunk, n, 0) < 0)
            goto io;
        if (icx_buf_append(text, chunk, n) < 0) {
            close(s);
            return icx_err_set(err, ICX_EFULL, "response too large");
        }
        left -= n;
    }
    close(s);
    *code = (int)c;
    return ICX_OK;
io:
    close(s);
    return icx_err_set(err, ICX_EIO, "%s: the daemon closed the connection "
                       "(it may have stopped)", path);
}
