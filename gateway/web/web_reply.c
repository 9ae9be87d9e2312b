/*
 * web_reply.c - a request as handlers see it and the reply they fill
 * (web.h): accessors over the libmicrohttpd connection (and its GnuTLS
 * session: the client certificate's fingerprint), bounded headers and
 * body.
 *
 * Ownership: the server owns both for one request; handlers borrow them.
 * Threads: the server's thread.  Failures: a header beyond
 * WEB_MAX_HEADERS or too long is ICX_EFULL; the body is bounded by
 * ICX_WEB_MAX_BODY (its appends fail past it).
 */
#include <gnutls/gnutls.h>
#include <stdio.h>
#include <string.h>

#include "util.h"
#include "web_int.h"

const char *icx_web_path(const icx_web_request *r)
{
    return r->path;
}

const char *icx_web_query(const icx_web_request *r, const char *name)
{
    return MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, name);
}

const char *icx_web_header(const icx_web_request *r, const char *name)
{
    return MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, name);
}

int icx_web_client_sha256(const icx_web_request *r, char out[65])
{
    out[0] = '\0';
    if (!r->tls)
        return ICX_ENOTFOUND;
    const union MHD_ConnectionInfo *ci = MHD_get_connection_info(
        r->conn, MHD_CONNECTION_INFO_GNUTLS_SESSION);
    if (ci == NULL || ci->tls_session == NULL)
        return ICX_ENOTFOUND;
    unsigned int n = 0;
    const gnutls_datum_t *peers =
        gnutls_certificate_get_peers((gnutls_session_t)ci->tls_session, &n);
    if (peers == NULL || n == 0)
        return ICX_ENOTFOUND;
    return icx_sha256_hex(out, peers[0].data, peers[0].size) < 0
               ? ICX_ECRYPTO
               : ICX_OK;
}

void icx_web_reply_status(icx_web_reply *r, int status)
{
    r->status = status;
}

void icx_web_reply_type(icx_web_reply *r, const char *content_type)
{
    snprintf(r->type, sizeof r->type, "%s", content_type);
}

int icx_web_reply_header(icx_web_reply *r, const char *name,
                         const char *value)
{
    if (r->nheaders >= WEB_MAX_HEADERS || strlen(name) >= sizeof r->hname[0] ||
        strlen(value) >= sizeof r->hvalue[0] || strpbrk(name, "\r\n:") ||
        strpbrk(value, "\r\n"))
        return ICX_EFULL;
    snprintf(r->hname[r->nheaders], sizeof r->hname[0], "%s", name);
    snprintf(r->hvalue[r->nheaders], sizeof r->hvalue[0], "%s", value);
    r->nheaders++;
    return ICX_OK;
}

icx_buf *icx_web_reply_body(icx_web_reply *r)
{
    return &r->body;
}

void web_reply_init(icx_web_reply *r)
{
    memset(r, 0, sizeof *r);
    r->status = 200;
    snprintf(r->type, sizeof r->type, "text/plain; charset=utf-8");
    icx_buf_init(&r->body, ICX_WEB_MAX_BODY);
}

void web_reply_free(icx_web_reply *r)
{
    icx_buf_free(&r->body);
}
