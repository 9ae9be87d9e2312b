/*
 * web.c - the dashboard's HTTP server: libmicrohttpd on one internal
 * thread, the request rules, routing (mounted prefixes, /metrics, the
 * style sheet, the pages) and the side service icx serve runs it as.
 *
 * Rules for every request, before any handler: GET or HEAD (else 405
 * with Allow) without a body (413), a request target of at most
 * ICX_WEB_MAX_URL bytes (414),
 * at most ICX_WEB_MAX_QUERY query parameters (400), request line and
 * headers within the connection's memory limit (libmicrohttpd answers
 * 431/414 itself), at most http.max_connections connections (more are
 * refused at accept), and with TLS a client certificate that verifies
 * against http.client_ca (403; libmicrohttpd only asks for one).
 *
 * Ownership: icx_web owns the daemon, the read-only store connection, the
 * lists store connection and the PEM copies.  Threads: the service's
 * start and stop and icx_web_free on the daemon's thread; observe on the
 * loop thread (copies the snapshot under mu, nothing else); every request
 * on the server's single thread, which alone uses the store connections
 * and `view` (so no lock is needed for them).  Failures: start returns
 * an error naming what could not be opened or bound; a request that
 * cannot be answered gets 500 and a log line (never a payload).
 */
#include "web.h"

#include <arpa/inet.h>
#include <errno.h>
#include <gnutls/gnutls.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>

#include "log.h"
#include "util.h"
#include "web_int.h"

#define PEM_MAX (256 * 1024)
#define CONN_MEMORY (32 * 1024) /* request line and headers, per connection */
#define CONN_TIMEOUT_S 15

struct mount {
    char prefix[64];
    icx_web_handler fn;
    void *ctx;
};

struct icx_web {
    struct MHD_Daemon *d;
    icx_service svc;
    char *url_file;
    char url[128];
    struct mount mounts[ICX_WEB_MAX_MOUNTS];
    int nmounts;
    int started;
    char *key_pem, *cert_pem, *ca_pem;
    int tls;
    char *store_path;
    char *lists_db_path, *lists_conf_path;
    /* the loop's last snapshot: written by observe, read by requests */
    pthread_mutex_t mu;
    struct web_live live;
    /* the server thread's own */
    icx_store *store;
    icx_listdb *lists;
    struct web_live snap;
    struct web_verify verify;
    char *gw_cert_pem;      /* the gateway certificate: checkpoint signatures */
    size_t gw_cert_len;
    const icx_service_env *env; /* the daemon's, from bind; NULL: none */
    web_lists *lists_http;  /* mounted at /lists/ when env is there */
};

int icx_web_new(icx_web **out, icx_err *err)
{
    icx_web *w = calloc(1, sizeof *w);
    *out = NULL;
    if (w == NULL)
        return icx_err_set(err, ICX_ENOMEM, "web: out of memory");
    pthread_mutex_init(&w->mu, NULL);
    *out = w;
    return ICX_OK;
}

static void web_stop(void *ctx)
{
    icx_web *w = ctx;
    if (w->d != NULL) {
        MHD_stop_daemon(w->d);
        w->d = NULL;
        icx_log_info("web.stopped", "url=%s", w->url);
    }
    icx_store_free(&w->store);
    icx_listdb_free(&w->lists);
    web_lists_free(&w->lists_http);
    w->started = 0;
}

void icx_web_free(icx_web **wp)
{
    if (wp == NULL || *wp == NULL)
        return;
    icx_web *w = *wp;
    web_stop(w);
    pthread_mutex_destroy(&w->mu);
    free(w->url_file);
    if (w->key_pem != NULL)
        explicit_bzero(w->key_pem, strlen(w->key_pem));
    free(w->key_pem);
    free(w->cert_pem);
    free(w->ca_pem);
    free(w->gw_cert_pem);
    free(w->store_path);
    free(w->lists_db_path);
    free(w->lists_conf_path);
    free(w);
    *wp = NULL;
}

int icx_web_mount(icx_web *w, const char *prefix, icx_web_handler fn,
                  void *ctx, icx_err *err)
{
    size_t len = prefix != NULL ? strlen(prefix) : 0;
    if (w->started)
        return icx_err_set(err, ICX_EINVAL, "web: mount %s after start",
                           prefix);
    if (len < 2 || len >= sizeof w->mounts[0].prefix || prefix[0] != '/' ||
        prefix[len - 1] != '/' || fn == NULL)
        return icx_err_set(err, ICX_EINVAL, "web: mount prefix \"%.64s\": "
                           "must start and end with /", prefix ? prefix : "");
    for (int i = 0; i < w->nmounts; i++)
        if (strcmp(w->mounts[i].prefix, prefix) == 0)
            return icx_err_set(err, ICX_EEXIST, "web: %s is mounted already",
                               prefix);
    if (w->nmounts >= ICX_WEB_MAX_MOUNTS)
        return icx_err_set(err, ICX_EFULL, "web: more than %d mounts",
                           ICX_WEB_MAX_MOUNTS);
    struct mount *m = &w->mounts[w->nmounts++];
    snprintf(m->prefix, sizeof m->prefix, "%s", prefix);
    m->fn = fn;
    m->ctx = ctx;
    return ICX_OK;
}

const char *icx_web_url(const icx_web *w)
{
    return w->url;
}

/* ---- requests ---------------------------------------------------------- */

static enum MHD_Result send_reply(struct MHD_Connection *c,
                                  const icx_web_reply *r)
{
    struct MHD_Response *resp = MHD_create_response_from_buffer(
        r->body.len, r->body.data ? r->body.data : (char *)"",
        MHD_RESPMEM_MUST_COPY);
    if (resp == NULL)
        return MHD_NO;
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, r->type);
    MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
    MHD_add_response_header(resp, "Referrer-Policy", "no-referrer");
    MHD_add_response_header(resp, "X-Frame-Options", "DENY");
    MHD_add_response_header(resp, "Content-Security-Policy",
                            "default-src 'none'; style-src 'self'; "
                            "img-src 'self'; form-action 'self'; "
                            "frame-ancestors 'none'");
    int cache = 0;
    for (int i = 0; i < r->nheaders; i++) {
        MHD_add_response_header(resp, r->hname[i], r->hvalue[i]);
        if (strcasecmp(r->hname[i], "Cache-Control") == 0)
            cache = 1;
    }
    if (!cache)
        MHD_add_response_header(resp, "Cache-Control", "no-store");
    enum MHD_Result ret = MHD_queue_response(c, (unsigned)r->status, resp);
    MHD_destroy_response(resp);
    return ret;
}

static enum MHD_Result simple(struct MHD_Connection *c, int status,
                              const char *text, const char *allow)
{
    icx_web_reply r;
    web_reply_init(&r);
    r.status = status;
    icx_buf_puts(&r.body, text);
    if (allow != NULL)
        icx_web_reply_header(&r, "Allow", allow);
    enum MHD_Result ret = send_reply(c, &r);
    web_reply_free(&r);
    return ret;
}

struct args {
    int n;
    size_t len;     /* of the decoded query: names, values, separators */
};

static enum MHD_Result count_arg(void *cls, enum MHD_ValueKind kind,
                                 const char *key, const char *value)
{
    struct args *a = cls;
    (void)kind;
    a->n++;
    a->len += strlen(key) + (value ? strlen(value) : 0) + 2;
    return MHD_YES;
}

/* With TLS: the client's certificate verified against http.client_ca.
 * libmicrohttpd asks for one (MHD_OPTION_HTTPS_MEM_TRUST) but lets a
 * client without one through; this is where it is required. */
static int client_verified(struct MHD_Connection *c)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(c, MHD_CONNECTION_INFO_GNUTLS_SESSION);
    if (ci == NULL || ci->tls_session == NULL)
        return 0;
    gnutls_session_t s = (gnutls_session_t)ci->tls_session;
    unsigned int status = 0;
    if (gnutls_certificate_type_get(s) != GNUTLS_CRT_X509)
        return 0;
    unsigned int n = 0;
    if (gnutls_certificate_get_peers(s, &n) == NULL || n == 0)
        return 0;
    if (gnutls_certificate_verify_peers2(s, &status) < 0)
        return 0;
    return status == 0;
}

/* The lists store, opened on first use once it exists (the daemon's
 * lists hooks create it); NULL while there is none. */
static icx_listdb *lists_db(icx_web *w)
{
    struct stat st;
    icx_err err;
    if (w->lists == NULL && w->lists_db_path != NULL &&
        stat(w->lists_db_path, &st) == 0 &&
        icx_listdb_open(&w->lists, w->lists_db_path, &err) < 0)
        icx_log_limited(ICX_LOG_WARN, "web.lists", "web.lists",
                        "error=\"%s\"", err.msg);
    return w->lists;
}

static int route(icx_web *w, icx_web_reply *r, const icx_web_request *req,
                 const char *path)
{
    for (int i = 0; i < w->nmounts; i++)
        if (strncmp(path, w->mounts[i].prefix,
                    strlen(w->mounts[i].prefix)) == 0)
            return w->mounts[i].fn(w->mounts[i].ctx, req, r) < 0
                       ? ICX_ERROR
                       : ICX_OK;
    /* A partner's certificate (in client_ca for the lists) opens
     * /lists/ only: the dashboard is for the gateway's officers. */
    if (w->lists_http != NULL) {
        int p = web_lists_partner(w->lists_http, req);
        if (p < 0)
            return ICX_ERROR;
        if (p > 0) {
            icx_web_reply_status(r, MHD_HTTP_FORBIDDEN);
            return icx_buf_puts(&r->body, "a partner's certificate opens "
                                          "/lists/ only\n");
        }
    }
    if (strcmp(path, "/static/icx.css") == 0) {
        icx_web_reply_type(r, "text/css; charset=utf-8");
        icx_web_reply_header(r, "Cache-Control", "max-age=300");
        return icx_buf_puts(&r->body, web_css);
    }
    icx_err err;
    if (icx_store_refresh(w->store, &err) < 0) {
        icx_log_limited(ICX_LOG_WARN, "web.store", "web.store",
                        "error=\"%s\"", err.msg);
        return ICX_ESTORE;
    }
    pthread_mutex_lock(&w->mu);
    memcpy(&w->snap, &w->live, sizeof w->snap);
    pthread_mutex_unlock(&w->mu);
    w->snap.live.peers = w->snap.peers;

    icx_lists_conf *lconf = NULL;
    struct stat st;
    icx_buf errs;
    icx_buf_init(&errs, 1 << 16);
    if (w->lists_conf_path != NULL && stat(w->lists_conf_path, &st) == 0 &&
        lists_db(w) != NULL &&
        icx_lists_conf_load(&lconf, w->lists_conf_path, &errs, &err) < 0)
        icx_log_limited(ICX_LOG_WARN, "web.lists.conf", "web.lists",
                        "error=\"%s\"", err.msg);
    icx_buf_free(&errs);
    web_view v = {.store = w->store, .lists = lconf ? w->lists : NULL,
                  .lists_conf = lconf, .live = &w->snap, .req = req,
                  .lang = web_lang_pick(icx_web_query(req, "lang"),
                                        icx_web_header(req, "Accept-Language")),
                  .store_path = w->store_path, .cert_pem = w->gw_cert_pem,
                  .cert_len = w->gw_cert_len, .verify = &w->verify,
                  .now = time(NULL)};
    int rc;
    if (strcmp(path, "/metrics") == 0) {
        icx_web_reply_type(r, "application/openmetrics-text; version=1.0.0; "
                              "charset=utf-8");
        rc = web_metrics(&r->body, &v, &err);
        if (rc < 0)
            icx_log_limited(ICX_LOG_WARN, "web.metrics", "web.metrics",
                            "error=\"%s\"", err.msg);
    } else {
        rc = web_page(r, &v, path);
    }
    icx_lists_conf_free(&lconf);
    return rc;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c,
                                  const char *url, const char *method,
                                  const char *version, const char *upload,
                                  size_t *upload_size, void **con_cls)
{
    icx_web *w = cls;
    static int first;
    (void)version;
    (void)upload;
    if (w->tls && !client_verified(c))
        return simple(c, MHD_HTTP_FORBIDDEN,
                      "a client certificate issued by http.client_ca is "
                      "required\n", NULL);
    if (strcmp(method, MHD_HTTP_METHOD_GET) != 0 &&
        strcmp(method, MHD_HTTP_METHOD_HEAD) != 0)
        return simple(c, MHD_HTTP_METHOD_NOT_ALLOWED,
                      "read-only: GET and HEAD only\n", "GET, HEAD");
    if (*con_cls == NULL) {
        /* Headers in.  A GET or HEAD that announces a body is refused
         * now, while an answer may still be queued; the body is never
         * read (libmicrohttpd closes the connection after the answer). */
        const char *cl = MHD_lookup_connection_value(
            c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
        if ((cl != NULL && strcmp(cl, "0") != 0) ||
            MHD_lookup_connection_value(c, MHD_HEADER_KIND,
                                        MHD_HTTP_HEADER_TRANSFER_ENCODING))
            return simple(c, MHD_HTTP_CONTENT_TOO_LARGE,
                          "GET and HEAD carry no body\n", NULL);
        *con_cls = &first;
        return MHD_YES;
    }
    if (*upload_size != 0)
        return MHD_NO; /* cannot happen after the check above: close */
    /* libmicrohttpd hands the path alone; the query is counted apart. */
    struct args a = {0, 0};
    MHD_get_connection_values(c, MHD_GET_ARGUMENT_KIND, count_arg, &a);
    if (strlen(url) + a.len > ICX_WEB_MAX_URL)
        return simple(c, MHD_HTTP_URI_TOO_LONG, "request target too long\n",
                      NULL);
    if (a.n > ICX_WEB_MAX_QUERY)
        return simple(c, MHD_HTTP_BAD_REQUEST, "too many query parameters\n",
                      NULL);
    icx_web_request req = {c, url, w->tls};
    icx_web_reply r;
    web_reply_init(&r);
    int rc = route(w, &r, &req, url);
    enum MHD_Result ret;
    if (rc == ICX_ENOTFOUND) {
        web_reply_free(&r);
        ret = simple(c, MHD_HTTP_NOT_FOUND, "not found\n", NULL);
    } else if (rc < 0) {
        web_reply_free(&r);
        icx_log_limited(ICX_LOG_WARN, "web.request", "web.request",
                        "path_len=%zu error=%d", strlen(url), rc);
        ret = simple(c, MHD_HTTP_INTERNAL_SERVER_ERROR,
                     "the gateway could not answer; see its log\n", NULL);
    } else {
        ret = send_reply(c, &r);
        web_reply_free(&r);
    }
    return ret;
}

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
    char line[300];
    (void)cls;
    vsnprintf(line, sizeof line, fmt, ap);
    line[strcspn(line, "\r\n")] = '\0';
    icx_log_limited(ICX_LOG_WARN, "web.mhd", "web.server", "detail=\"%s\"",
                    line);
}

/* ---- the service ------------------------------------------------------- */

static int read_pem(char **out, const char *path, const char *what,
                    icx_err *err)
{
    size_t len = 0;
    int rc = icx_file_read(out, &len, path, PEM_MAX, err);
    if (rc < 0)
        icx_err_set(err, rc, "http.%s %s: %s", what, path, err->msg);
    return rc;
}

static int web_start(void *ctx, const icx_config *cfg, icx_err *err)
{
    icx_web *w = ctx;
    int rc = ICX_OK;
    if (!cfg->http_enabled)
        return ICX_OK; /* no http: section: nothing to serve */
    struct sockaddr_storage sa;
    memset(&sa, 0, sizeof sa);
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG;
    const char *addr = strcmp(cfg->http_address, "localhost") == 0
                           ? "127.0.0.1"
                           : cfg->http_address;
    struct sockaddr_in *s4 = (struct sockaddr_in *)&sa;
    struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&sa;
    if (inet_pton(AF_INET, addr, &s4->sin_addr) == 1) {
        s4->sin_family = AF_INET;
        s4->sin_port = htons((uint16_t)cfg->http_port);
    } else if (inet_pton(AF_INET6, addr, &s6->sin6_addr) == 1) {
        s6->sin6_family = AF_INET6;
        s6->sin6_port = htons((uint16_t)cfg->http_port);
        flags |= MHD_USE_IPv6;
    } else {
        return icx_err_set(err, ICX_ECONFIG, "http.address %s: not an IP "
                           "address", cfg->http_address);
    }
    /* Checked by the configuration already; kept here so that no path
     * ever serves plain HTTP off loopback. */
    w->tls = cfg->http_tls_certificate != NULL;
    if (!w->tls && !icx_config_loopback(cfg->http_address))
        return icx_err_set(err, ICX_ECONFIG, "http.address %s: not loopback "
                           "and no TLS", cfg->http_address);
    if (w->tls) {
        if ((rc = read_pem(&w->cert_pem, cfg->http_tls_certificate,
                           "tls_certificate", err)) < 0 ||
            (rc = icx_private_file(cfg->http_tls_key, "http.tls_key",
                                   err)) < 0 ||
            (rc = read_pem(&w->key_pem, cfg->http_tls_key, "tls_key",
                           err)) < 0 ||
            (rc = read_pem(&w->ca_pem, cfg->http_client_ca, "client_ca",
                           err)) < 0)
            goto out;
        flags |= MHD_USE_TLS;
    }
    /* The lists over HTTPS: only with the daemon's signer to seal them. */
    if (w->env != NULL && w->env->signer != NULL) {
        if ((rc = web_lists_new(&w->lists_http, w->env, err)) < 0)
            goto out;
        int i = 0;
        while (i < w->nmounts && w->mounts[i].fn != web_lists_handle)
            i++;
        if (i < w->nmounts)
            w->mounts[i].ctx = w->lists_http;
        else if ((rc = icx_web_mount(w, "/lists/", web_lists_handle,
                                     w->lists_http, err)) < 0)
            goto out;
    }
    w->store_path = strdup(cfg->store_path);
    w->lists_db_path = icx_lists_db_path(cfg);
    w->lists_conf_path = icx_lists_conf_path(cfg);
    if (w->store_path == NULL || w->lists_db_path == NULL ||
        w->lists_conf_path == NULL) {
        rc = icx_err_set(err, ICX_ENOMEM, "web: out of memory");
        goto out;
    }
    if ((rc = icx_store_open_reader(&w->store, w->store_path, err)) < 0 ||
        (rc = icx_file_read(&w->gw_cert_pem, &w->gw_cert_len,
                            cfg->certificate, PEM_MAX, err)) < 0)
        goto out;
    struct MHD_OptionItem tls_opts[] = {
        {MHD_OPTION_HTTPS_MEM_KEY, 0, w->key_pem},
        {MHD_OPTION_HTTPS_MEM_CERT, 0, w->cert_pem},
        {MHD_OPTION_HTTPS_MEM_TRUST, 0, w->ca_pem},
        {MHD_OPTION_HTTPS_PRIORITIES, 0,
         (void *)"NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2"},
        {MHD_OPTION_END, 0, NULL}};
    /* The logger first: libmicrohttpd logs options after it only. */
    w->d = MHD_start_daemon(
        flags, 0, NULL, NULL, on_request, w, MHD_OPTION_EXTERNAL_LOGGER,
        mhd_log, NULL, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa,
        MHD_OPTION_CONNECTION_LIMIT, (unsigned)cfg->http_max_connections,
        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)CONN_TIMEOUT_S,
        MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)CONN_MEMORY,
        MHD_OPTION_ARRAY, w->tls ? tls_opts : tls_opts + 4, MHD_OPTION_END);
    if (w->d == NULL) {
        rc = icx_err_set(err, ICX_EIO, "http: cannot serve on %s port %ld "
                         "(address in use, or TLS files refused)",
                         cfg->http_address, cfg->http_port);
        goto out;
    }
    const union MHD_DaemonInfo *di =
        MHD_get_daemon_info(w->d, MHD_DAEMON_INFO_BIND_PORT);
    unsigned port = di != NULL ? di->port : (unsigned)cfg->http_port;
    snprintf(w->url, sizeof w->url, "%s://%s%s%s:%u/", w->tls ? "https" : "http",
             (flags & MHD_USE_IPv6) ? "[" : "", addr,
             (flags & MHD_USE_IPv6) ? "]" : "", port);
    w->started = 1;
    icx_log_info("web.listening", "url=%s tls=%s max_connections=%ld",
                 w->url, w->tls ? "client-certificates" : "off",
                 cfg->http_max_connections);
    if (w->url_file != NULL) {
        char line[160];
        int n = snprintf(line, sizeof line, "%s\n", w->url);
        rc = icx_file_write_atomic(w->url_file, line, (size_t)n, 0644, err);
    }
out:
    if (rc < 0)
        web_stop(w);
    return rc;
}

static void web_bind(void *ctx, const icx_service_env *env)
{
    icx_web *w = ctx;
    w->env = env;
}

static void web_observe(void *ctx, const icx_live *live)
{
    icx_web *w = ctx;
    size_t n = live->npeers < ICX_CONFIG_MAX_PARTNERS ? live->npeers
                                                      : ICX_CONFIG_MAX_PARTNERS;
    pthread_mutex_lock(&w->mu);
    w->live.live = *live;
    memcpy(w->live.peers, live->peers, n * sizeof *live->peers);
    w->live.live.npeers = n;
    w->live.live.peers = NULL; /* the reader points it at its copy */
    w->live.have = 1;
    pthread_mutex_unlock(&w->mu);
}

const icx_service *icx_web_service(icx_web *w, const char *url_file)
{
    free(w->url_file);
    w->url_file = url_file != NULL ? strdup(url_file) : NULL;
    w->svc = (icx_service){.name = "web", .bind = web_bind, .start = web_start,
                           .observe = web_observe, .stop = web_stop,
                           .ctx = w};
    return &w->svc;
}
