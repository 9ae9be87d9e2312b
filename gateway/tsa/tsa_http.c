/*
 * tsa_http.c - the HTTP POST of RFC 3161 section 3.4 with libcurl: a DER
 * TimeStampReq out (Content-Type application/timestamp-query), a DER
 * TimeStampResp back (application/timestamp-reply, status 200).
 *
 * Bounded: the reply is read into a buffer of ICX_TSA_REPLY_MAX bytes at
 * most (a longer one aborts the transfer), the exchange within
 * timeout_s, the connection within min(timeout_s, 10) s; http and https
 * only, no redirects, no proxy from the environment (a TSA URL says where
 * the request goes).  The request holds a digest and a nonce, nothing
 * else.
 *
 * Ownership: caller buffers.  Threads: any; libcurl is initialised once
 * (pthread_once) and signals are not used (CURLOPT_NOSIGNAL).  Failure:
 * ICX_EAGAIN for anything a later try may cure (connection refused,
 * timeout, HTTP error status, wrong content type, reply too long),
 * ICX_EINVAL for a URL that is not http(s), ICX_ENOMEM.
 */
#include "tsa.h"

#include <pthread.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_rc = CURLE_FAILED_INIT;

static void curl_init(void)
{
    curl_init_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

struct sink {
    icx_buf *out;
    int too_long;
    const atomic_int *cancel;
};

/* Called by libcurl at least once a second: non-zero aborts. */
static int on_progress(void *ctx, curl_off_t dltotal, curl_off_t dlnow,
                       curl_off_t ultotal, curl_off_t ulnow)
{
    const struct sink *s = ctx;
    (void)dltotal;
    (void)dlnow;
    (void)ultotal;
    (void)ulnow;
    return s->cancel != NULL && atomic_load(s->cancel) != 0;
}

static size_t on_data(char *p, size_t size, size_t n, void *ctx)
{
    struct sink *s = ctx;
    size_t len = size * n;
    if (s->out->len + len > ICX_TSA_REPLY_MAX ||
        icx_buf_append(s->out, p, len) < 0) {
        s->too_long = 1;
        return 0; /* curl aborts with CURLE_WRITE_ERROR */
    }
    return len;
}

int icx_tsa_post(icx_buf *reply, const char *url, const void *req, size_t len,
                 long timeout_s, const atomic_int *cancel, icx_err *err)
{
    CURL *c = NULL;
    struct curl_slist *hdr = NULL;
    struct sink sink = {reply, 0, cancel};
    char curl_msg[CURL_ERROR_SIZE] = "";
    int rc = ICX_OK;

    if (url == NULL || (strncmp(url, "http://", 7) != 0 &&
                        strncmp(url, "https://", 8) != 0))
        return icx_err_set(err, ICX_EINVAL, "TSA url %s is not http:// or "
                           "https://", url ? url : "(none)");
    pthread_once(&curl_once, curl_init);
    if (curl_init_rc != CURLE_OK)
        return icx_err_set(err, ICX_ENOMEM, "libcurl: %s",
                           curl_easy_strerror(curl_init_rc));
    c = curl_easy_init();
    hdr = curl_slist_append(NULL, "Content-Type: application/timestamp-query");
    if (c == NULL || hdr == NULL) {
        rc = icx_err_set(err, ICX_ENOMEM, "out of memory");
        goto out;
    }
    long connect_s = timeout_s < 10 ? timeout_s : 10;
    if (curl_easy_setopt(c, CURLOPT_URL, url) != CURLE_OK ||
        curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https") != CURLE_OK ||
        curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L) != CURLE_OK ||
        curl_easy_setopt(c, CURLOPT_PROXY, "") != CURLE_OK ||
        curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L) != CURLE_OK ||
        curl_easy_setopt(c, CURLOPT_TIMEOUT, timeout_s) != CURLE_OK ||
        curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, connect_s) != CURLE_OK ||
        curl_easy_setopt(c, CURLOPT_MAXFILESIZE_LARGE,
                         (curl_off_t)ICX_TSA_REPLY_MAX) != CURLE_OK ||
        curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdr) != CURLE_OK ||
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, req) != CURLE_OK ||
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE,
                         (curl_off_t)len) != CURLE_OK ||
        curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data) != CURLE_OK ||
        curl_easy_setopt(c, CURLOPT_WRITEDATA, &sink) != CURLE_OK ||
        curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L) != CURLE_OK ||
        curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_progress) != CURLE_OK ||
        curl_easy_setopt(c, CURLOPT_XFERINFODATA, &sink) != CURLE_OK ||
        curl_easy_setopt(c, CURLOPT_ERRORBUFFER, curl_msg) != CURLE_OK) {
        rc = icx_err_set(err, ICX_EINVAL, "libcurl refused an option");
        goto out;
    }
    CURLcode cc = curl_easy_perform(c);
    if (cc != CURLE_OK) {
        rc = icx_err_set(err, ICX_EAGAIN, "TSA %s: %s", url,
                         sink.too_long ? "reply longer than the limit"
                         : curl_msg[0] ? curl_msg : curl_easy_strerror(cc));
        goto out;
    }
    long status = 0;
    const char *type = NULL;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_getinfo(c, CURLINFO_CONTENT_TYPE, &type);
    if (status != 200) {
        rc = icx_err_set(err, ICX_EAGAIN, "TSA %s: HTTP status %ld", url,
                         status);
        goto out;
    }
    if (type == NULL ||
        strncasecmp(type, "application/timestamp-reply", 27) != 0) {
        rc = icx_err_set(err, ICX_EAGAIN, "TSA %s: content type %s, not "
                         "application/timestamp-reply", url,
                         type ? type : "(none)");
        goto out;
    }
out:
    curl_slist_free_all(hdr);
    if (c != NULL)
        curl_easy_cleanup(c);
    return rc;
}
