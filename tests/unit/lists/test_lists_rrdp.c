/*
 * test_lists_rrdp.c - the lists over HTTPS (lists_rrdp.c) without a
 * server: icx_lists_http_get() answers paths for partners, with a real
 * signing key.
 *
 * Covered: the notification is a signed envelope for the partner whose
 * payload is valid against schemas/ and lists the snapshot's pages with
 * the SHA-256 of their bytes; every snapshot and delta page carries
 * byte for byte the Payload the ZeroMQ pull sends for the same position
 * (icx_lists_serve() wrapped as the broker wraps it); ETag is the SHA-256
 * of the body and If-None-Match answers 304; deltas only for the kept
 * serials, made once and reused; old documents are gone (404) when the
 * head moves; 404 for no partner, a partner the list or its partner
 * file does not allow, a partner whose egress limits forbid the list,
 * an unknown list, a path that names nothing; every document sent and
 * every refusal of a partner audited, nothing sent unaudited; two servers
 * on one store
 * building at once still publish a notification whose hashes are those of
 * the pages stored.
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "envelope.h"
#include "keys.h"
#include "lists.h"
#include "testutil.h"
#include "util.h"
#include "xml.h"
#include "xmlsig.h"

struct fx {
    char *dir;
    icx_lists_conf *conf;
    icx_listdb *pub;
    icx_config cfg;
    icx_partner partners[3];
    char *lists_a[1];
    char *cats[1];
    icx_schemas *schemas;
    icx_signer *signer;
    icx_verkey *verkey;
    icx_lists *http;
    int seals;
    icx_buf audit;         /* "event message_id partner detail" lines */
    int audit_fails;       /* the audit function fails while set */
    icx_err err;
};

static const char CONF[] =
    "lists:\n"
    "  - id: hashes\n"
    "    kind: hash\n"
    "    allow: [PH-NBI, XX-EVIL, KR-KNPA]\n"
    "    page_entries: 10\n"
    "    keep_serials: 2\n";

static int seal(void *ctx, icx_buf *out, icx_header *h, const char *payload,
                size_t len, icx_err *err)
{
    struct fx *f = ctx;
    __atomic_fetch_add(&f->seals, 1, __ATOMIC_RELAXED);
    int rc = icx_header_stamp(h, time(NULL), err);
    if (rc < 0)
        return rc;
    snprintf(h->sender, sizeof h->sender, "%s", f->cfg.id);
    return icx_envelope_build_signed(out, h, payload, len, f->schemas,
                                     f->signer, err);
}

static int audit(void *actx, const char *event, const char *message_id,
                 const char *partner, const char *detail)
{
    struct fx *f = actx;
    if (f->audit_fails)
        return ICX_ESTORE;
    return icx_buf_printf(&f->audit, "%s %s %s %s\n", event,
                          message_id[0] ? message_id : "-", partner, detail);
}

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof *f);
    icx_buf errs;
    assert_non_null(f);
    assert_int_equal(icx_xmlsig_init(&f->err), 0);
    f->dir = icx_test_mkdtemp();
    icx_test_write(icx_test_path("%s/lists.yaml", f->dir), CONF);
    icx_buf_init(&errs, 1 << 16);
    if (icx_lists_conf_load(&f->conf, icx_test_path("%s/lists.yaml", f->dir),
                            &errs, &f->err) != 0)
        fail_msg("conf: %s", errs.data);
    icx_buf_free(&errs);
    assert_int_equal(icx_keys_generate("JP-NPA", icx_test_path("%s/jp", f->dir),
                                       ICX_ALG_RSA2048, 30, &f->err), 0);
    assert_int_equal(icx_signer_load(&f->signer, icx_test_path("%s/jp/key.pem",
                                                               f->dir), &f->err), 0);
    assert_int_equal(icx_verkey_load(&f->verkey, icx_test_path("%s/jp/cert.pem",
                                                               f->dir), &f->err), 0);
    assert_int_equal(icx_schemas_load(&f->schemas, icx_schemas_default_dir(),
                                      &f->err), 0);
    /* PH-NBI may pull; XX-EVIL is allowed by the list but its partner
     * file grants nothing; KR-KNPA is granted but may receive GREEN only
     * (the list is AMBER). */
    f->lists_a[0] = "hashes";
    f->cats[0] = "list-update";
    for (int i = 0; i < 3; i++) {
        f->partners[i].max_tlp = icx_tlp_from_name("AMBER");
        f->partners[i].max_hcode = 2;
        f->partners[i].categories_out.items = f->cats;
        f->partners[i].categories_out.count = 1;
    }
    f->partners[0].id = "PH-NBI";
    f->partners[0].lists.items = f->lists_a;
    f->partners[0].lists.count = 1;
    f->partners[1].id = "XX-EVIL";
    f->partners[2].id = "KR-KNPA";
    f->partners[2].lists.items = f->lists_a;
    f->partners[2].lists.count = 1;
    f->partners[2].max_tlp = icx_tlp_from_name("GREEN");
    f->cfg.id = "JP-NPA";
    f->cfg.base_dir = f->dir;
    f->cfg.store_path = strdup(icx_test_path("%s/icx.db", f->dir));
    f->cfg.partners = f->partners;
    f->cfg.npartners = 3;
    f->cfg.max_message_bytes = 1024 * 1024;
    assert_int_equal(icx_listdb_open(&f->pub, icx_test_path("%s/icx-lists.db",
                                                            f->dir), &f->err), 0);
    icx_buf_init(&f->audit, 1u << 24);
    assert_int_equal(icx_lists_http_open(&f->http, &f->cfg, seal, f, audit, f,
                                         &f->err), 0);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    icx_lists_http_free(&f->http);
    icx_buf_free(&f->audit);
    icx_listdb_free(&f->pub);
    icx_lists_conf_free(&f->conf);
    icx_schemas_free(&f->schemas);
    icx_signer_free(&f->signer);
    icx_verkey_free(&f->verkey);
    free(f->cfg.store_path);
    icx_test_rmrf(f->dir);
    free(f->dir);
    free(f);
    return 0;
}

static const char *hash_line(int i)
{
    static char out[4][80];
    static int k;
    char hex[65], in[16];
    snprintf(in, sizeof in, "%d", i);
    icx_sha256_hex(hex, in, strlen(in));
    k = (k + 1) % 4;
    snprintf(out[k], sizeof out[k], "sha256:%s", hex);
    return out[k];
}

/* Imports entries [from, to) as the next serial. */
static void import(struct fx *f, int from, int to)
{
    const char *path = icx_test_path("%s/export.txt", f->dir);
    FILE *o = fopen(path, "w");
    assert_non_null(o);
    for (int i = from; i < to; i++)
        fprintf(o, "%s\n", hash_line(i));
    fclose(o);
    icx_lists_import_opts opts = {.user = "test"};
    icx_lists_import_result r;
    icx_buf rep;
    icx_buf_init(&rep, 1 << 20);
    if (icx_lists_import(f->pub, icx_lists_conf_find(f->conf, "hashes"), path,
                         &opts, &r, &rep, &f->err) != 0)
        fail_msg("import: %s", f->err.msg);
    icx_buf_free(&rep);
}

static icx_http_reply get(struct fx *f, const char *partner, const char *path,
                          const char *inm)
{
    icx_http_reply r;
    int rc = icx_lists_http_get(f->http, partner, path, inm, &r, &f->err);
    if (rc != 0)
        fail_msg("http_get %s: got %d (%s), want 0", path, rc, f->err.msg);
    return r;
}

/* The text between <tag and </tag> (the first), malloc'ed. */
static char *between(const char *doc, const char *open, const char *close)
{
    const char *a = strstr(doc, open), *b = a ? strstr(a, close) : NULL;
    if (a == NULL || b == NULL)
        fail_msg("no %s...%s in %.300s", open, close, doc);
    b += strlen(close);
    char *s = strndup(a, (size_t)(b - a));
    assert_non_null(s);
    return s;
}

/* Verifies the signed envelope with the gateway's certificate and checks
 * it is addressed to partner. */
static void signed_for(struct fx *f, const icx_http_reply *r,
                       const char *partner)
{
    icx_xmldoc *doc = NULL;
    icx_xml_limits lim = {.max_bytes = 16u << 20, .max_depth = 64};
    icx_header h;
    if (icx_xml_parse(&doc, r->body, r->len, &lim, &f->err) != 0 ||
        icx_schemas_validate(f->schemas, doc, &f->err) != 0 ||
        icx_xmlsig_verify(doc, f->verkey, &f->err) != 0)
        fail_msg("document does not verify: %s", f->err.msg);
    icx_xml_free(&doc);
    assert_int_equal(icx_envelope_peek(&h, r->body, r->len, &lim, &f->err), 0);
    assert_string_equal(h.recipient, partner);
    assert_string_equal(h.sender, "JP-NPA");
    assert_string_equal(h.category, "list-update");
    char sha[65], etag[67];
    icx_sha256_hex(sha, r->body, r->len);
    snprintf(etag, sizeof etag, "\"%s\"", sha);
    assert_string_equal(r->etag, etag);
}

/* The uris and hashes of the notification's <Page> elements inside
 * section (e.g. "<Snapshot", "<Delta serial=\"3\""), in order. */
static int pages_of(const char *note, const char *section, char uris[][128],
                    char shas[][65], int max)
{
    char *sec = between(note, section, "</");
    /* A section ends at its first closing tag: Page elements are empty. */
    int n = 0;
    const char *p = sec;
    while (n < max && (p = strstr(p, "<Page uri=\"")) != NULL) {
        p += strlen("<Page uri=\"");
        const char *q = strchr(p, '"');
        snprintf(uris[n], 128, "%.*s", (int)(q - p), p);
        const char *s = strstr(q, "sha256=\"") + strlen("sha256=\"");
        snprintf(shas[n], 65, "%.64s", s);
        n++;
    }
    free(sec);
    return n;
}

/* The pages the ZeroMQ pull answers from position (session, serial)
 * ("" : none), each wrapped as the broker wraps a hook's answer; their
 * Payload elements into payloads[]. */
static int zmq_payloads(struct fx *f, const char *session, uint64_t serial,
                        char *payloads[], int max)
{
    icx_buf req, page, env;
    icx_lists_answer ans;
    int n = 0;
    char cursor[9000] = "";
    icx_buf_init(&req, 1 << 16);
    icx_buf_init(&page, 4u << 20);
    icx_buf_init(&env, 8u << 20);
    do {
        icx_buf_reset(&req);
        icx_buf_puts(&req, "<SyncRequest xmlns=\"urn:icx:list:1\"><ListId>hashes"
                           "</ListId>");
        if (session[0])
            icx_buf_printf(&req, "<SessionId>%s</SessionId><Serial>%llu"
                           "</Serial>", session, (unsigned long long)serial);
        if (cursor[0])
            icx_buf_printf(&req, "<Cursor>%s</Cursor>", cursor);
        icx_buf_puts(&req, "</SyncRequest>\n");
        if (icx_lists_serve(&page, &ans, f->pub, f->conf, &f->cfg, "PH-NBI",
                            req.data, req.len, 1000, &f->err) != 0)
            fail_msg("serve: %s", f->err.msg);
        assert_false(ans.refused);
        icx_header h;
        memset(&h, 0, sizeof h);
        snprintf(h.recipient, sizeof h.recipient, "PH-NBI");
        snprintf(h.category, sizeof h.category, "list-update");
        snprintf(h.tlp, sizeof h.tlp, "AMBER");
        snprintf(h.hcode, sizeof h.hcode, "H2");
        snprintf(h.legal_basis, sizeof h.legal_basis, "test");
        snprintf(h.retain_until, sizeof h.retain_until, "2099-01-01");
        icx_buf_reset(&env);
        assert_int_equal(seal(f, &env, &h, page.data, page.len, &f->err), 0);
        payloads[n++] = between(env.data, "<Payload>", "</Payload>");
        cursor[0] = '\0';
        const char *c = strstr(page.data, "<Cursor>");
        if (c != NULL)
            snprintf(cursor, sizeof cursor, "%.*s",
                     (int)(strstr(c, "</Cursor>") - c - 8), c + 8);
    } while (cursor[0] && n < max);
    icx_buf_free(&req);
    icx_buf_free(&page);
    icx_buf_free(&env);
    return n;
}

static void test_snapshot_and_delta_same_pages(void **state)
{
    struct fx *f = *state;
    char uris[8][128], shas[8][65], path[1100], session[40];
    char *zmq[8];
    import(f, 0, 25);
    icx_http_reply n = get(f, "PH-NBI", "hashes/notification.xml", NULL);
    assert_int_equal(n.status, 200);
    assert_string_equal(n.content_type, "application/xml");
    signed_for(f, &n, "PH-NBI");
    char *note = between(n.body, "<Notification", "</Notification>");
    snprintf(session, sizeof session, "%.36s",
             strstr(note, "<SessionId>") + strlen("<SessionId>"));
    assert_non_null(strstr(note, "<Serial>1</Serial>"));
    assert_non_null(strstr(note, "<EntryCount>25</EntryCount>"));
    assert_null(strstr(note, "<Delta"));
    /* 25 entries in pages of 10: three snapshot pages, as over ZeroMQ. */
    int k = pages_of(note, "<Snapshot serial=\"1\">", uris, shas, 8);
    assert_int_equal(k, 3);
    int z = zmq_payloads(f, "", 0, zmq, 8);
    assert_int_equal(z, 3);
    for (int i = 0; i < k; i++) {
        snprintf(path, sizeof path, "hashes/%s", uris[i]);
        icx_http_reply p = get(f, "PH-NBI", path, NULL);
        if (p.status != 200)
            fail_msg("%s: got %d, want 200", path, p.status);
        signed_for(f, &p, "PH-NBI");
        char sha[65];
        icx_sha256_hex(sha, p.body, p.len);
        assert_string_equal(sha, shas[i]);
        char *pl = between(p.body, "<Payload>", "</Payload>");
        if (strcmp(pl, zmq[i]) != 0)
            fail_msg("snapshot page %d differs from the ZeroMQ page:\n%s\n%s",
                     i + 1, pl, zmq[i]);
        free(pl);
        free(zmq[i]);
        icx_http_reply_clear(&p);
    }
    free(note);
    icx_http_reply_clear(&n);

    /* Serial 2: 5 removed, 7 added.  Its delta is what ZeroMQ sends a
     * partner at serial 1. */
    import(f, 5, 32);
    n = get(f, "PH-NBI", "hashes/notification.xml", NULL);
    note = between(n.body, "<Notification", "</Notification>");
    assert_non_null(strstr(note, "<Serial>2</Serial>"));
    k = pages_of(note, "<Delta serial=\"2\">", uris, shas, 8);
    assert_int_equal(k, 2); /* 12 changes in pages of 10 */
    snprintf(path, sizeof path, "%s/2/delta-1.xml", session);
    assert_string_equal(uris[0], path);
    z = zmq_payloads(f, session, 1, zmq, 8);
    assert_int_equal(z, 2);
    for (int i = 0; i < k; i++) {
        snprintf(path, sizeof path, "hashes/%s", uris[i]);
        icx_http_reply p = get(f, "PH-NBI", path, NULL);
        assert_int_equal(p.status, 200);
        char *pl = between(p.body, "<Payload>", "</Payload>");
        assert_non_null(strstr(pl, "<PreviousSerial>1</PreviousSerial>"));
        if (strcmp(pl, zmq[i]) != 0)
            fail_msg("delta page %d differs from the ZeroMQ page:\n%s\n%s",
                     i + 1, pl, zmq[i]);
        free(pl);
        free(zmq[i]);
        icx_http_reply_clear(&p);
    }
    /* The snapshot of serial 1 is gone with its notification. */
    snprintf(path, sizeof path, "hashes/%s/1/snapshot-1.xml", session);
    icx_http_reply old = get(f, "PH-NBI", path, NULL);
    assert_int_equal(old.status, 404);
    free(note);
    icx_http_reply_clear(&n);
}

static void test_etag_and_retention(void **state)
{
    struct fx *f = *state;
    char uris[8][128], shas[8][65], inm[200], keep[128], keep_sha[65];
    import(f, 0, 15);
    import(f, 0, 16);
    icx_http_reply n = get(f, "PH-NBI", "/hashes/notification.xml", NULL);
    assert_int_equal(n.status, 200);
    int seals = f->seals;
    /* The same bytes again, nothing signed anew; 304 for its ETag, in
     * the forms RFC 9110 allows. */
    icx_http_reply again = get(f, "PH-NBI", "hashes/notification.xml", NULL);
    assert_int_equal(again.status, 200);
    assert_int_equal(again.len, n.len);
    assert_memory_equal(again.body, n.body, n.len);
    assert_int_equal(f->seals, seals);
    icx_http_reply r = get(f, "PH-NBI", "hashes/notification.xml", n.etag);
    assert_int_equal(r.status, 304);
    assert_string_equal(r.etag, n.etag);
    assert_null(r.body);
    snprintf(inm, sizeof inm, "\"0000\", W/%s", n.etag);
    r = get(f, "PH-NBI", "hashes/notification.xml", inm);
    assert_int_equal(r.status, 304);
    r = get(f, "PH-NBI", "hashes/notification.xml", "\"0000\"");
    assert_int_equal(r.status, 200);
    icx_http_reply_clear(&r);
    /* A header past the bound is not scanned: its last tag is ignored. */
    icx_buf longer;
    icx_buf_init(&longer, 1 << 16);
    for (int i = 0; i < 600; i++)
        icx_buf_puts(&longer, "\"0000\", ");
    icx_buf_puts(&longer, n.etag);
    r = get(f, "PH-NBI", "hashes/notification.xml", longer.data);
    assert_int_equal(r.status, 200);
    icx_http_reply_clear(&r);
    icx_buf_free(&longer);
    icx_http_reply_clear(&again);
    char *note = between(n.body, "<Notification", "</Notification>");
    assert_int_equal(pages_of(note, "<Delta serial=\"2\">", uris, shas, 8), 1);
    snprintf(keep, sizeof keep, "%s", uris[0]);
    snprintf(keep_sha, sizeof keep_sha, "%s", shas[0]);
    free(note);
    icx_http_reply_clear(&n);

    /* Serial 3: its delta is made, serial 2's is kept and reused, the
     * same bytes and hash. */
    import(f, 0, 17);
    n = get(f, "PH-NBI", "hashes/notification.xml", NULL);
    note = between(n.body, "<Notification", "</Notification>");
    assert_non_null(strstr(note, "<Delta serial=\"3\">"));
    assert_int_equal(pages_of(note, "<Delta serial=\"2\">", uris, shas, 8), 1);
    assert_string_equal(uris[0], keep);
    assert_string_equal(shas[0], keep_sha);
    free(note);
    icx_http_reply_clear(&n);
    /* keep_serials 2: at serial 5 the oldest kept serial is 3, so the
     * deltas of serials 4 and 5 only; serial 2's page is gone. */
    import(f, 0, 18);
    import(f, 0, 19);
    n = get(f, "PH-NBI", "hashes/notification.xml", NULL);
    note = between(n.body, "<Notification", "</Notification>");
    assert_non_null(strstr(note, "<Serial>5</Serial>"));
    assert_null(strstr(note, "<Delta serial=\"2\">"));
    assert_null(strstr(note, "<Delta serial=\"3\">"));
    assert_non_null(strstr(note, "<Delta serial=\"4\">"));
    assert_non_null(strstr(note, "<Delta serial=\"5\">"));
    char path[1100];
    snprintf(path, sizeof path, "hashes/%s", keep);
    r = get(f, "PH-NBI", path, NULL);
    assert_int_equal(r.status, 404);
    free(note);
    icx_http_reply_clear(&n);
}

static void test_not_public(void **state)
{
    struct fx *f = *state;
    const char *path = "hashes/notification.xml";
    icx_http_reply r = get(f, NULL, path, NULL);
    assert_int_equal(r.status, 404);        /* nothing imported yet */
    r = get(f, "PH-NBI", path, NULL);
    assert_int_equal(r.status, 404);
    import(f, 0, 5);
    r = get(f, "PH-NBI", path, NULL);
    assert_int_equal(r.status, 200);
    icx_http_reply_clear(&r);
    const struct { const char *partner, *path, *why; } cases[] = {
        {NULL, path, "no client certificate"},
        {"", path, "empty partner"},
        {"XX-EVIL", path, "partner file grants no list"},
        {"KR-KNPA", path, "list above the partner's max_tlp"},
        {"US-FBI", path, "not a partner"},
        {"PH-NBI", "urls/notification.xml", "unknown list"},
        {"PH-NBI", "hashes/../hashes/notification.xml", "not a document"},
        {"PH-NBI", "hashes", "no document"},
        {"PH-NBI", "hashes/", "empty name"},
        {"PH-NBI", "has hes/notification.xml", "bad list id"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        r = get(f, cases[i].partner, cases[i].path, NULL);
        if (r.status != 404 || r.body != NULL)
            fail_msg("%s: got %d, want 404", cases[i].why, r.status);
    }
    /* The partner file gives list-update no way out: 404 too. */
    f->partners[0].categories_out.count = 0;
    r = get(f, "PH-NBI", path, NULL);
    assert_int_equal(r.status, 404);
}

static void test_audited(void **state)
{
    struct fx *f = *state;
    icx_xml_limits lim = {.max_bytes = 16u << 20, .max_depth = 64};
    icx_header h;
    char want[400], sha[65];
    import(f, 0, 5);
    icx_http_reply n = get(f, "PH-NBI", "hashes/notification.xml", NULL);
    assert_int_equal(n.status, 200);
    assert_int_equal(icx_envelope_peek(&h, n.body, n.len, &lim, &f->err), 0);
    icx_sha256_hex(sha, n.body, n.len);
    snprintf(want, sizeof want, "list.http.served %s PH-NBI list=hashes "
             "doc=notification.xml sha256=%s bytes=%zu\n", h.message_id, sha,
             n.len);
    assert_string_equal(f->audit.data, want);
    /* 304 sends nothing: no record. */
    icx_http_reply r = get(f, "PH-NBI", "hashes/notification.xml", n.etag);
    assert_int_equal(r.status, 304);
    assert_int_equal(f->audit.len, strlen(want));
    /* A partner refused; a name no partner file holds is nobody. */
    icx_buf_reset(&f->audit);
    r = get(f, "XX-EVIL", "hashes/notification.xml", NULL);
    assert_int_equal(r.status, 404);
    assert_string_equal(f->audit.data, "list.http.refused - XX-EVIL "
                                       "list=hashes reason=not-authorized\n");
    icx_buf_reset(&f->audit);
    r = get(f, "US-FBI", "hashes/notification.xml", NULL);
    assert_int_equal(r.status, 404);
    assert_int_equal(f->audit.len, 0);
    /* No record, nothing sent. */
    f->audit_fails = 1;
    int rc = icx_lists_http_get(f->http, "PH-NBI", "hashes/notification.xml",
                                NULL, &r, &f->err);
    assert_int_equal(rc, ICX_ESTORE);
    assert_null(r.body);
    assert_int_equal(r.len, 0);
    icx_http_reply_clear(&n);
}

struct racer {
    struct fx *f;
    icx_lists *l;
    int status;
};

static void *race(void *arg)
{
    struct racer *r = arg;
    icx_http_reply rep;
    icx_err err;
    r->status = -1;
    if (icx_lists_http_get(r->l, "PH-NBI", "hashes/notification.xml", NULL,
                           &rep, &err) == 0)
        r->status = rep.status;
    icx_http_reply_clear(&rep);
    icx_xml_thread_release();
    return NULL;
}

static void test_two_servers_one_store(void **state)
{
    struct fx *f = *state;
    char uris[64][128], shas[64][65], path[8300];
    icx_lists *other = NULL;
    /* (The other server records no audit: f->audit is one thread's.) */
    assert_int_equal(icx_lists_http_open(&other, &f->cfg, seal, f, NULL, NULL,
                                         &f->err), 0);
    import(f, 0, 300);
    for (int round = 0; round < 3; round++) {
        import(f, round, 300 + round);
        struct racer a = {f, f->http, 0}, b = {f, other, 0};
        pthread_t ta, tb;
        assert_int_equal(pthread_create(&ta, NULL, race, &a), 0);
        assert_int_equal(pthread_create(&tb, NULL, race, &b), 0);
        pthread_join(ta, NULL);
        pthread_join(tb, NULL);
        assert_int_equal(a.status, 200);
        assert_int_equal(b.status, 200);
        icx_http_reply n = get(f, "PH-NBI", "hashes/notification.xml", NULL);
        char *note = between(n.body, "<Notification", "</Notification>");
        int k = pages_of(note, "<Snapshot", uris, shas, 64);
        assert_int_equal(k, 30);
        for (int i = 0; i < k; i++) {
            snprintf(path, sizeof path, "hashes/%s", uris[i]);
            icx_http_reply p = get(f, "PH-NBI", path, NULL);
            char sha[65];
            assert_int_equal(p.status, 200);
            icx_sha256_hex(sha, p.body, p.len);
            if (strcmp(sha, shas[i]) != 0)
                fail_msg("round %d, %s: got %s, the notification says %s",
                         round, uris[i], sha, shas[i]);
            icx_http_reply_clear(&p);
        }
        free(note);
        icx_http_reply_clear(&n);
    }
    icx_lists_http_free(&other);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_snapshot_and_delta_same_pages,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_etag_and_retention, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_not_public, setup, teardown),
        cmocka_unit_test_setup_teardown(test_two_servers_one_store, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_audited, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
