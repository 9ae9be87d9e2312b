/*
 * web.h - the read-only dashboard and /metrics inside `icx serve`
 * (docs/DASHBOARD.md).
 *
 * An HTTP server (libmicrohttpd) on one thread of its own, started by the
 * daemon as a side service (hooks.h icx_service) when gateway.yaml has an
 * http: section.  It answers GET and HEAD only (everything else: 405),
 * bounds what it accepts (URL length, query parameters, header memory,
 * connections) and reads through a read-only store connection of its own
 * and the snapshot the loop hands it once a second: the pages never
 * write the store, never wait for the loop.  Off loopback it speaks TLS only and
 * requires a client certificate issued by http.client_ca.
 *
 * Other modules add pages under a path prefix with icx_web_mount() before
 * the service starts; their handler runs on the server's thread with the
 * same limits and method rule.  The server mounts the lists over HTTPS
 * itself under /lists/ (web_lists.c, docs/DASHBOARD.md) when the daemon
 * lends it its signer (icx_service_env): the one part that writes, audit
 * records only, through a store connection of its own.
 *
 * Ownership: icx_web_new() returns a server the caller frees with
 * icx_web_free() after the daemon has returned (stop is idempotent).
 * Threads: new, mount, service and free on the daemon's thread; handlers
 * on the server's thread; observe (through the service) on the loop.
 * Errors: start fails (and the daemon with it) when the address cannot
 * be bound, the TLS files cannot be read or the store cannot be opened.
 */
#ifndef ICX_WEB_H
#define ICX_WEB_H

#include <stddef.h>

#include "buf.h"
#include "err.h"
#include "hooks.h"

#define ICX_WEB_MAX_URL 1024      /* longer request targets: 414 */
#define ICX_WEB_MAX_QUERY 16      /* more query parameters: 400 */
#define ICX_WEB_MAX_BODY ((size_t)16 << 20) /* largest response */
#define ICX_WEB_MAX_MOUNTS 8

typedef struct icx_web icx_web;

/* One request as a handler sees it; borrowed for the call. */
typedef struct icx_web_request icx_web_request;
const char *icx_web_path(const icx_web_request *r);   /* "/rrdp/x.xml" */
/* A query parameter or request header, or NULL; borrowed for the call. */
const char *icx_web_query(const icx_web_request *r, const char *name);
const char *icx_web_header(const icx_web_request *r, const char *name);
/* With TLS, the SHA-256 (lowercase hex of the DER) of the client
 * certificate the server verified against http.client_ca before any
 * handler ran, into out (65 bytes); ICX_ENOTFOUND on plain HTTP, where
 * there is no client certificate. */
int icx_web_client_sha256(const icx_web_request *r, char out[65]);

/* The answer a handler fills: status (default 200), content type
 * (default text/plain; charset=utf-8), up to 8 extra headers, and the
 * body (empty, at most ICX_WEB_MAX_BODY; not sent for HEAD). */
typedef struct icx_web_reply icx_web_reply;
void icx_web_reply_status(icx_web_reply *r, int status);
void icx_web_reply_type(icx_web_reply *r, const char *content_type);
int icx_web_reply_header(icx_web_reply *r, const char *name,
                         const char *value);
icx_buf *icx_web_reply_body(icx_web_reply *r);

/* A mounted handler: returns 0 when it filled the reply; < 0 gives a
 * 500 with no detail (the handler logs what went wrong). */
typedef int (*icx_web_handler)(void *ctx, const icx_web_request *req,
                               icx_web_reply *reply);

int icx_web_new(icx_web **out, icx_err *err);
void icx_web_free(icx_web **wp);

/* Serves every path that starts with prefix ("/rrdp/", starting and
 * ending with '/') with fn(ctx, ...), before the built-in pages.  Before
 * the service starts only; ICX_EEXIST when the prefix is taken,
 * ICX_EFULL past ICX_WEB_MAX_MOUNTS, ICX_EINVAL for a bad prefix. */
int icx_web_mount(icx_web *w, const char *prefix, icx_web_handler fn,
                  void *ctx, icx_err *err);

/* The side service to hand icx serve (valid until icx_web_free).  When
 * url_file is not NULL the dashboard's URL is written there once bound
 * (tests, the demo). */
const icx_service *icx_web_service(icx_web *w, const char *url_file);

/* The bound URL ("http://127.0.0.1:8080/"), "" before start; borrowed. */
const char *icx_web_url(const icx_web *w);

#endif
