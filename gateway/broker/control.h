/*
 * control.h - the local control socket between `icx` commands and the
 * running `icx serve`.
 *
 * A Unix stream socket, mode 0600 (owner only): whoever can open it can
 * submit messages as this agency, so file permissions are the access
 * control.  One request per connection: arguments (strings) and blobs
 * (file contents), then one response: an exit code and text.  Every length
 * is bounded before anything is allocated.
 *
 * Wire: "ICXC" u32 version=1, u32 argc, argc x (u32 len, bytes),
 * u32 nblobs, nblobs x (u64 len, bytes); response: "ICXR" u32 code,
 * u32 len, bytes.  Integers are big-endian.
 *
 * Ownership: icx_ctl_request owns its strings and blobs; free with
 * icx_ctl_request_free().  Threads: the loop thread (server side) or the
 * CLI (client side).
 */
#ifndef ICX_CONTROL_H
#define ICX_CONTROL_H

#include <stddef.h>

#include "buf.h"
#include "err.h"

#define ICX_CTL_MAX_ARGS 256
#define ICX_CTL_MAX_ARG 4096
#define ICX_CTL_MAX_BLOBS 100000

typedef struct icx_ctl_request {
    int argc;
    char **argv;
    int nblobs;
    char **blobs;
    size_t *bloblens;
} icx_ctl_request;

/* Binds path (refusing when a daemon already answers there). */
int icx_ctl_listen(int *fd, const char *path, icx_err *err);
/* Reads one request from a connected fd (blocking, with a timeout). */
int icx_ctl_read_request(icx_ctl_request *req, int fd, size_t max_blob,
                         icx_err *err);
void icx_ctl_request_free(icx_ctl_request *req);
int icx_ctl_write_response(int fd, int code, const char *text, size_t len);

/* Client: sends a request and waits for the response (timeout_ms, 0 for
 * none).  ICX_ENOTCONN when no daemon listens at path. */
int icx_ctl_call(int *code, icx_buf *text, const char *path, int argc,
                 char *const *argv, int nblobs, char *const *blobs,
                 const size_t *bloblens, int timeout_ms, icx_err *err);

#endif
