/*
 * web_int.h - what the files of gateway/web share (web_reply.c: requests
 * and replies; web_html.c: escaping, labels, the page frame;
 * web_metrics.c: /metrics; web_pages.c: the dashboard pages; web.c: the
 * server).  Not a public interface.
 *
 * Everything a page reads is in a web_view the server fills for each
 * request on its own thread: the read-only store connection it owns and
 * a copy of the loop's last snapshot (taken under the server's lock).
 */
#ifndef ICX_WEB_INT_H
#define ICX_WEB_INT_H

#include <microhttpd.h>
#include <stdint.h>

#include "config.h"
#include "hooks.h"
#include "lists.h"
#include "store.h"
#include "web.h"

#define WEB_MAX_HEADERS 8

struct icx_web_request {
    struct MHD_Connection *conn;
    const char *path;
    int tls;                       /* the client certificate was verified */
};

struct icx_web_reply {
    int status;
    char type[96];
    int nheaders;
    char hname[WEB_MAX_HEADERS][64];
    char hvalue[WEB_MAX_HEADERS][512];
    icx_buf body;
};

/* The loop's snapshot, with its own copy of the partner array. */
struct web_live {
    int have;
    icx_live live;
    icx_peer_live peers[ICX_CONFIG_MAX_PARTNERS];
};

/* The last verification of the audit chain (the audit page runs one when
 * the log grew and the last is older than WEB_VERIFY_EVERY_S). */
#define WEB_VERIFY_EVERY_S 30
struct web_verify {
    int64_t at;                    /* 0: never run */
    uint64_t size;                 /* records when it ran */
    int rc;                        /* ICX_OK, ICX_EBADSIG, other */
    icx_audit_report rep;
    char msg[256];
};

typedef struct web_view {
    icx_store *store;              /* read-only, the server thread's */
    icx_listdb *lists;             /* NULL when the gateway has no lists */
    const icx_lists_conf *lists_conf;
    const struct web_live *live;
    const icx_web_request *req;
    int lang;                      /* enum web_lang */
    const char *store_path;
    const char *cert_pem;          /* the gateway certificate (checkpoints) */
    size_t cert_len;
    struct web_verify *verify;     /* the server's cache */
    time_t now;
} web_view;

/* ---- web_reply.c ---- */
void web_reply_init(icx_web_reply *r);
void web_reply_free(icx_web_reply *r);

/* ---- web_lists.c ---- */
/* The lists over HTTPS (lists_rrdp.c) as a mounted handler: the partner
 * is the one whose certificate the client presented (TLS), nobody on
 * plain HTTP (every answer 404).  Documents are signed through env's
 * signer and every one sent or refused is audited, committed, before
 * it is sent.  Server thread only. */
typedef struct web_lists web_lists;
int web_lists_new(web_lists **out, const icx_service_env *env, icx_err *err);
void web_lists_free(web_lists **lp);
int web_lists_handle(void *ctx, const icx_web_request *req,
                     icx_web_reply *reply);
/* 1 when the request's client certificate is a partner's (it may open
 * /lists/ only), 0 when not, -1 when that cannot be told (logged). */
int web_lists_partner(web_lists *wl, const icx_web_request *req);

/* ---- web_html.c ---- */
enum web_lang { WEB_EN, WEB_JA };
/* The label key in lang ("" keys are a programming error: assert). */
const char *web_label(int lang, const char *key);
/* ?lang=ja|en first, then Accept-Language (the first of ja or en named). */
int web_lang_pick(const char *query_lang, const char *accept_language);
/* s with & < > " ' escaped; NULL writes nothing. */
int web_put_html(icx_buf *b, const char *s);
int web_put_html_n(icx_buf *b, const char *s, size_t n);
/* A value for a URL query (percent-encoded). */
int web_put_url(icx_buf *b, const char *s);
/* Page head with the title label and the navigation; and its end. */
int web_page_begin(icx_buf *b, const web_view *v, const char *title_key,
                   const char *self);
int web_page_end(icx_buf *b, const web_view *v);
/* "2026-12-04T07:31:56Z", or "-" for 0. */
void web_time(char *out, size_t len, int64_t t);
/* The static style sheet (/static/icx.css). */
extern const char web_css[];

/* ---- web_metrics.c ---- */
/* The OpenMetrics text into out; < 0 when the store cannot be read. */
int web_metrics(icx_buf *out, const web_view *v, icx_err *err);

/* ---- web_pages.c ---- */
/* The page at path ("/", "/messages", "/message", "/partners", "/lists",
 * "/surveys", "/audit") into r; 0 when one exists, ICX_ENOTFOUND else. */
int web_page(icx_web_reply *r, const web_view *v, const char *path);

#endif
