/*
 * test_web.c - the dashboard's building blocks and its server: HTML
 * escaping, the language choice, mounts, the request rules (GET/HEAD
 * only), a mounted handler, /metrics from a real store and the loop's
 * snapshot, the refusal of plain HTTP off loopback, and /lists/ on the
 * plain loopback dashboard (nobody: 404).
 */
#include <arpa/inet.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/evp.h>

#include "store.h"
#include "testutil.h"
#include "web_int.h"

static void test_escape(void **state)
{
    (void)state;
    static const struct {
        const char *in, *want;
    } cases[] = {
        {"plain", "plain"},
        {"<script>alert('x')</script>", "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;"},
        {"a&b \"q\"", "a&amp;b &quot;q&quot;"},
        {"line\nbreak\x01", "line\xef\xbf\xbd" "break\xef\xbf\xbd"},
        {"日本語", "日本語"},
        {"", ""},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        icx_buf b;
        icx_buf_init(&b, 1024);
        assert_int_equal(web_put_html(&b, cases[i].in), ICX_OK);
        const char *got = b.data ? b.data : "";
        if (strcmp(got, cases[i].want) != 0)
            fail_msg("escape(\"%s\"): got \"%s\", want \"%s\"", cases[i].in,
                     got, cases[i].want);
        icx_buf_free(&b);
    }
    icx_buf b;
    icx_buf_init(&b, 1024);
    web_put_url(&b, "a b/&=<");
    assert_string_equal(b.data, "a%20b%2F%26%3D%3C");
    icx_buf_free(&b);
}

static void test_lang(void **state)
{
    (void)state;
    static const struct {
        const char *q, *accept;
        int want;
    } cases[] = {
        {NULL, NULL, WEB_EN},
        {"ja", "en", WEB_JA},
        {"en", "ja", WEB_EN},
        {"fr", NULL, WEB_EN},
        {NULL, "ja,en-US;q=0.8", WEB_JA},
        {NULL, "ja-JP", WEB_JA},
        {NULL, "en-GB, ja", WEB_EN},
        {NULL, "fr-FR, ja;q=0.5", WEB_JA},
        {NULL, "jam", WEB_EN},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int got = web_lang_pick(cases[i].q, cases[i].accept);
        if (got != cases[i].want)
            fail_msg("lang(%s, %s): got %d, want %d", cases[i].q,
                     cases[i].accept, got, cases[i].want);
    }
    assert_string_equal(web_label(WEB_EN, "partners"), "Partners");
    assert_string_equal(web_label(WEB_JA, "partners"), "相手機関");
}

static int hello(void *ctx, const icx_web_request *req, icx_web_reply *r)
{
    (void)ctx;
    icx_web_reply_type(r, "application/xml");
    icx_web_reply_header(r, "ETag", "\"v1\"");
    const char *q = icx_web_query(req, "n");
    return icx_buf_printf(icx_web_reply_body(r), "<hello path=\"%s\" n=\"%s\"/>",
                          icx_web_path(req), q ? q : "");
}

static void test_mount(void **state)
{
    (void)state;
    icx_web *w = NULL;
    icx_err err;
    CHECK_RC(icx_web_new(&w, &err), ICX_OK, &err);
    CHECK_RC(icx_web_mount(w, "rrdp/", hello, NULL, &err), ICX_EINVAL, &err);
    CHECK_RC(icx_web_mount(w, "/rrdp", hello, NULL, &err), ICX_EINVAL, &err);
    CHECK_RC(icx_web_mount(w, "/rrdp/", NULL, NULL, &err), ICX_EINVAL, &err);
    CHECK_RC(icx_web_mount(w, "/rrdp/", hello, NULL, &err), ICX_OK, &err);
    CHECK_RC(icx_web_mount(w, "/rrdp/", hello, NULL, &err), ICX_EEXIST, &err);
    for (int i = 1; i < ICX_WEB_MAX_MOUNTS; i++)
        CHECK_RC(icx_web_mount(w, icx_test_path("/m%d/", i), hello, NULL, &err),
                 ICX_OK, &err);
    CHECK_RC(icx_web_mount(w, "/one-more/", hello, NULL, &err), ICX_EFULL,
             &err);
    icx_web_free(&w);
    assert_null(w);
    icx_web_free(&w); /* NULL-safe */
}

/* One HTTP/1.1 exchange with Connection: close; the whole answer. */
static char *http(int port, const char *method, const char *target)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(port)};
    inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
    assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    char req[2048];
    int n = snprintf(req, sizeof req, "%s %s HTTP/1.1\r\nHost: t\r\n"
                     "Connection: close\r\n\r\n", method, target);
    assert_int_equal(write(fd, req, (size_t)n), n);
    size_t cap = 1 << 20, len = 0;
    char *out = calloc(1, cap);
    ssize_t r;
    while ((r = read(fd, out + len, cap - 1 - len)) > 0)
        len += (size_t)r;
    close(fd);
    return out;
}

static void test_server(void **state)
{
    (void)state;
    char *dir = icx_test_mkdtemp();
    icx_err err;
    icx_store *s = NULL;
    const char *db = icx_test_path("%s/icx.db", dir);
    CHECK_RC(icx_store_open(&s, db, &err), ICX_OK, &err);
    icx_out_row row;
    memset(&row, 0, sizeof row);
    snprintf(row.message_id, sizeof row.message_id,
             "01a24000-0000-7000-8000-000000000001");
    snprintf(row.next_hop, sizeof row.next_hop, "PH-NBI");
    snprintf(row.recipient, sizeof row.recipient, "PH-NBI");
    snprintf(row.sender, sizeof row.sender, "JP-NPA");
    snprintf(row.category, sizeof row.category, "case-referral");
    snprintf(row.sha256, sizeof row.sha256, "%064d", 0);
    row.state = ICX_OUT_QUEUED;
    row.created_at = row.next_attempt_at = row.updated_at = 1000;
    CHECK_RC(icx_store_out_insert(s, &row, "<E/>", 4, "outbound.queued", "",
                                  &err), ICX_OK, &err);
    EVP_PKEY *key = icx_test_key("p256");
    icx_test_write_key(NULL, icx_test_path("%s/cert.pem", dir), key, "JP-NPA");
    EVP_PKEY_free(key);

    icx_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.base_dir = dir;
    cfg.store_path = (char *)db;
    cfg.certificate = (char *)icx_test_path("%s/cert.pem", dir);
    cfg.http_enabled = 1;
    cfg.http_address = "127.0.0.1";
    cfg.http_port = 0;
    cfg.http_max_connections = 4;

    icx_web *w = NULL;
    CHECK_RC(icx_web_new(&w, &err), ICX_OK, &err);
    CHECK_RC(icx_web_mount(w, "/x/", hello, NULL, &err), ICX_OK, &err);
    const icx_service *sv = icx_web_service(w, NULL);
    CHECK_RC(sv->start(sv->ctx, &cfg, &err), ICX_OK, &err);
    const char *url = icx_web_url(w);
    assert_true(strncmp(url, "http://127.0.0.1:", 17) == 0);
    int port = (int)strtol(url + 17, NULL, 10);
    assert_true(port > 0);

    /* A mounted handler gets its path and query, sets type and headers. */
    char *a = http(port, "GET", "/x/abc?n=5");
    if (strstr(a, "HTTP/1.1 200") != a || !strstr(a, "<hello path=\"/x/abc\" n=\"5\"/>") ||
        !strstr(a, "ETag: \"v1\"") || !strstr(a, "Content-Type: application/xml"))
        fail_msg("GET /x/abc: got \"%.300s\"", a);
    free(a);
    /* Read-only, whatever the path. */
    static const char *const methods[] = {"POST", "PUT", "DELETE", "PATCH"};
    for (size_t i = 0; i < 4; i++) {
        a = http(port, methods[i], "/x/abc");
        if (strstr(a, "HTTP/1.1 405") != a || !strstr(a, "Allow: GET, HEAD"))
            fail_msg("%s: got \"%.200s\", want 405 with Allow", methods[i], a);
        free(a);
    }
    a = http(port, "HEAD", "/x/abc");
    assert_non_null(strstr(a, "HTTP/1.1 200"));
    assert_null(strstr(a, "<hello"));
    free(a);
    /* /metrics: the store's row, the loop's snapshot. */
    icx_peer_live peers[1];
    memset(peers, 0, sizeof peers);
    snprintf(peers[0].id, sizeof peers[0].id, "PH-NBI");
    peers[0].connected = 1;
    peers[0].rejected[ICX_REASON_SIG_INVALID] = 3;
    icx_live live;
    memset(&live, 0, sizeof live);
    snprintf(live.id, sizeof live.id, "JP-NPA");
    live.peers = peers;
    live.npeers = 1;
    live.commit_buckets[0] = 2;
    live.commit_buckets[ICX_COMMIT_BUCKETS - 1] = 1;
    live.commits = 3;
    sv->observe(sv->ctx, &live);
    a = http(port, "GET", "/metrics");
    static const char *const want[] = {
        "Content-Type: application/openmetrics-text; version=1.0.0; charset=utf-8",
        "icx_outbound_messages{partner=\"PH-NBI\",state=\"queued\"} 1\n",
        "icx_queue_depth{partner=\"PH-NBI\"} 1\n",
        "icx_partner_connected{partner=\"PH-NBI\"} 1\n",
        "icx_inbound_rejections_total{partner=\"PH-NBI\",reason=\"SIG_INVALID\"} 3\n",
        "icx_store_commit_duration_seconds_bucket{le=\"0.001\"} 2\n",
        "icx_store_commit_duration_seconds_bucket{le=\"2.5\"} 2\n",
        "icx_store_commit_duration_seconds_bucket{le=\"+Inf\"} 3\n",
        "icx_store_commit_duration_seconds_count 3\n",
        "icx_audit_records 1\n",
    };
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
        if (strstr(a, want[i]) == NULL)
            fail_msg("/metrics: \"%s\" missing from \"%.2000s\"", want[i], a);
    size_t al = strlen(a);
    assert_true(al > 6 && strcmp(a + al - 6, "# EOF\n") == 0);
    free(a);
    /* A page reads the same row. */
    a = http(port, "GET", "/messages?state=queued");
    assert_non_null(strstr(a, "01a24000-0000-7000-8000-000000000001"));
    free(a);
    static const char *const pages[] = {
        "/", "/partners", "/lists", "/surveys", "/audit?lang=ja",
        "/message?id=01a24000-0000-7000-8000-000000000001",
        "/message?id=01a24000", "/messages?ref=X&partner=PH-NBI",
        "/static/icx.css"};
    for (size_t i = 0; i < sizeof pages / sizeof pages[0]; i++) {
        a = http(port, "GET", pages[i]);
        if (strstr(a, "HTTP/1.1 200") != a)
            fail_msg("GET %s: got \"%.200s\", want 200", pages[i], a);
        free(a);
    }
    a = http(port, "GET", "/partners");
    assert_non_null(strstr(a, "<tr id=\"p-PH-NBI\">"));
    free(a);
    a = http(port, "GET", "/nothing");
    assert_non_null(strstr(a, "HTTP/1.1 404"));
    free(a);
    /* The store is only read: the daemon's connection still writes. */
    CHECK_RC(icx_store_out_transition(s, row.message_id, "PH-NBI",
                                      ICX_OUT_QUEUED, ICX_OUT_SENT, 1, 2000,
                                      NULL, "outbound.sent", "", &err),
             ICX_OK, &err);
    a = http(port, "GET", "/metrics");
    assert_non_null(strstr(a, "icx_outbound_messages{partner=\"PH-NBI\",state=\"sent\"} 1\n"));
    /* The reader extends its view of the audit chain: the audit page's
     * root is the writer's. */
    assert_non_null(strstr(a, "icx_audit_records 2\n"));
    free(a);
    uint64_t size = 0;
    char root[65];
    icx_store_audit_head(s, &size, root);
    assert_int_equal(size, 2);
    a = http(port, "GET", "/audit");
    if (strstr(a, root) == NULL || strstr(a, "id=\"verify\" class=\"ok\"") == NULL)
        fail_msg("/audit: root %s or a verified chain missing from \"%.1500s\"",
                 root, a);
    free(a);
    sv->stop(sv->ctx);
    icx_web_free(&w);

    /* Off loopback without TLS: refused even if a configuration let it
     * through. */
    cfg.http_address = "0.0.0.0";
    CHECK_RC(icx_web_new(&w, &err), ICX_OK, &err);
    sv = icx_web_service(w, NULL);
    CHECK_RC(sv->start(sv->ctx, &cfg, &err), ICX_ECONFIG, &err);
    assert_string_equal(icx_web_url(w), "");
    icx_web_free(&w);
    /* Without http: nothing is served. */
    cfg.http_enabled = 0;
    CHECK_RC(icx_web_new(&w, &err), ICX_OK, &err);
    sv = icx_web_service(w, NULL);
    CHECK_RC(sv->start(sv->ctx, &cfg, &err), ICX_OK, &err);
    assert_string_equal(icx_web_url(w), "");
    icx_web_free(&w);
    icx_store_free(&s);
    icx_test_rmrf(dir);
    free(dir);
}

/* icx serve lends the server its signer and configuration; the fakes
 * count what the server asks for. */
static int holds, releases;
static icx_config *held_cfg;
static const icx_config *fake_hold(void *bctx, void **hold)
{
    (void)bctx;
    holds++;
    *hold = held_cfg;
    return held_cfg;
}
static void fake_release(void **hold)
{
    releases++;
    *hold = NULL;
}

/* With the daemon's env, /lists/ is mounted; on plain HTTP (loopback)
 * there is no client certificate, so no partner: 404, and neither the
 * configuration nor the lists store is touched, by /lists/ or by the
 * pages (a gateway without lists gets no lists store from its
 * dashboard). */
static void test_lists_plain(void **state)
{
    (void)state;
    icx_err err;
    char *dir = icx_test_mkdtemp();
    char *db = strdup(icx_test_path("%s/icx.db", dir));
    icx_store *s = NULL;
    CHECK_RC(icx_store_open(&s, db, &err), ICX_OK, &err);
    EVP_PKEY *key = icx_test_key("p256");
    char *keyp = strdup(icx_test_path("%s/key.pem", dir));
    char *certp = strdup(icx_test_path("%s/cert.pem", dir));
    icx_test_write_key(keyp, certp, key, "JP-NPA");
    EVP_PKEY_free(key);
    icx_signer *signer = NULL;
    CHECK_RC(icx_xmlsig_init(&err), ICX_OK, &err);
    CHECK_RC(icx_signer_load(&signer, keyp, &err), ICX_OK, &err);

    icx_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.id = "JP-NPA";
    cfg.base_dir = dir;
    cfg.store_path = db;
    cfg.certificate = certp;
    cfg.http_enabled = 1;
    cfg.http_address = "127.0.0.1";
    cfg.http_port = 0;
    cfg.http_max_connections = 4;
    held_cfg = &cfg;
    holds = releases = 0;
    icx_service_env env = {.signer = signer, .config_hold = fake_hold,
                           .config_release = fake_release};

    icx_web *w = NULL;
    CHECK_RC(icx_web_new(&w, &err), ICX_OK, &err);
    const icx_service *sv = icx_web_service(w, NULL);
    assert_non_null(sv->bind);
    sv->bind(sv->ctx, &env);
    CHECK_RC(sv->start(sv->ctx, &cfg, &err), ICX_OK, &err);
    int port = (int)strtol(icx_web_url(w) + 17, NULL, 10);
    char *a = http(port, "GET", "/lists/csam-hashes/notification.xml");
    if (strstr(a, "HTTP/1.1 404") != a)
        fail_msg("plain HTTP /lists/: got \"%.200s\", want 404", a);
    free(a);
    a = http(port, "GET", "/");
    assert_non_null(strstr(a, "HTTP/1.1 200"));
    free(a);
    assert_int_equal(holds, 0);
    char *lists_db = icx_lists_db_path(&cfg);
    assert_int_not_equal(access(lists_db, F_OK), 0);
    free(lists_db);
    sv->stop(sv->ctx);
    icx_web_free(&w);
    assert_int_equal(holds, releases);
    icx_signer_free(&signer);
    icx_store_free(&s);
    free(keyp);
    free(certp);
    free(db);
    icx_test_rmrf(dir);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_escape),
        cmocka_unit_test(test_lang),
        cmocka_unit_test(test_mount),
        cmocka_unit_test(test_server),
        cmocka_unit_test(test_lists_plain),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
