/*
 * test_zmq_adapter.c - the zmq transport adapter over real sockets.
 *
 * Each simulated gateway (a node) has its own ZeroMQ context, CURVE key
 * pair and hand-built icx_config; listeners bind tcp://127.0.0.1:* and the
 * dialers are configured with the endpoint read back.  One loop polls all
 * nodes and calls on_ready on each, like the core's loop.  Every wait is
 * bounded (WAIT_MS) so a failing test ends.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>
#include <zmq.h>

#include "adapter.h"
#include "frame.h"
#include "log.h"
#include "zmq/zmq_adapter.h"

#define WAIT_MS 5000
#define MAX_PARTNERS 4
#define MAX_GOT 32
#define MAX_EVENTS 64
#define BIG (1024 * 1024)

struct got {
    char peer[64];
    int kind;
    size_t len;
    unsigned char *data;
};

struct event {
    char peer[64];
    int event;
};

struct node {
    void *ctx;
    char pub[41], sec[41];
    char endpoint[256];
    icx_config cfg;
    icx_partner partners[MAX_PARTNERS];
    char partner_endpoints[MAX_PARTNERS][256];
    icx_adapter_env env;
    void *ad;
    struct got got[MAX_GOT];
    size_t ngot;
    struct event ev[MAX_EVENTS];
    size_t nev;
};

static const icx_adapter_ops *ops;

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void on_deliver(void *core, const char *peer, int kind,
                       const char *data, size_t len)
{
    struct node *n = core;
    assert_true(n->ngot < MAX_GOT);
    struct got *g = &n->got[n->ngot++];
    snprintf(g->peer, sizeof g->peer, "%s", peer);
    g->kind = kind;
    g->len = len;
    g->data = malloc(len);
    assert_non_null(g->data);
    memcpy(g->data, data, len);
}

static void on_event(void *core, const char *peer, int event)
{
    struct node *n = core;
    assert_true(n->nev < MAX_EVENTS);
    struct event *e = &n->ev[n->nev++];
    snprintf(e->peer, sizeof e->peer, "%s", peer);
    e->event = event;
}

/* A node with its own context and key pair; listen is NULL or an endpoint. */
static struct node *node_new(const char *id, const char *listen)
{
    struct node *n = calloc(1, sizeof *n);
    assert_non_null(n);
    n->ctx = zmq_ctx_new();
    assert_non_null(n->ctx);
    assert_int_equal(zmq_curve_keypair(n->pub, n->sec), 0);
    n->cfg.id = (char *)id;
    n->cfg.listen = (char *)listen;
    n->cfg.max_message_bytes = BIG;
    n->cfg.partners = n->partners;
    n->env.cfg = &n->cfg;
    n->env.curve_public = n->pub;
    n->env.curve_secret = n->sec;
    n->env.zmq_ctx = n->ctx;
    n->env.core = n;
    n->env.deliver = on_deliver;
    n->env.peer_event = on_event;
    return n;
}

/* Adds a partner; endpoint is where to dial it (NULL: it connects in). */
static void node_partner(struct node *n, const char *id, const char *key,
                         const char *endpoint)
{
    assert_true(n->cfg.npartners < MAX_PARTNERS);
    size_t i = n->cfg.npartners++;
    icx_partner *p = &n->partners[i];
    p->id = (char *)id;
    p->adapter = (char *)"zmq";
    p->curve_public_key = (char *)key;
    p->direction = endpoint ? ICX_DIR_CONNECT : ICX_DIR_ACCEPT;
    if (endpoint != NULL) {
        snprintf(n->partner_endpoints[i], sizeof n->partner_endpoints[i],
                 "%s", endpoint);
        p->endpoint = n->partner_endpoints[i];
    }
}

static void node_open(struct node *n)
{
    icx_err err;
    icx_err_clear(&err);
    int rc = ops->open(&n->ad, &n->env, &err);
    if (rc != ICX_OK)
        fail_msg("open %s: got %d (%s), want 0", n->cfg.id, rc, err.msg);
    const char *ep = icx_zmq_adapter_endpoint(n->ad);
    if (n->cfg.listen != NULL) {
        assert_non_null(ep);
        snprintf(n->endpoint, sizeof n->endpoint, "%s", ep);
    } else {
        assert_null(ep);
    }
}

static void node_close_adapter(struct node *n)
{
    ops->close(&n->ad);
    assert_null(n->ad);
}

static void node_free(struct node *n)
{
    if (n == NULL)
        return;
    if (n->ad != NULL)
        ops->close(&n->ad);
    zmq_ctx_term(n->ctx);
    for (size_t i = 0; i < n->ngot; i++)
        free(n->got[i].data);
    free(n);
}

typedef int (*cond_fn)(void *arg);

/* Runs the loop of all open nodes until cond(arg) holds or ms pass; returns
 * whether cond held.  cond NULL runs for ms. */
static int pump(struct node **nodes, size_t nn, int ms, cond_fn cond,
                void *arg)
{
    int64_t end = now_ms() + ms;
    for (;;) {
        zmq_pollitem_t items[64];
        size_t start[8], count[8], total = 0;
        assert_true(nn <= 8);
        for (size_t i = 0; i < nn; i++) {
            start[i] = total;
            count[i] = 0;
            if (nodes[i] == NULL || nodes[i]->ad == NULL)
                continue;
            assert_int_equal(ops->pollitems(nodes[i]->ad, items + total,
                                            64 - total, &count[i]),
                             ICX_OK);
            total += count[i];
        }
        if (cond != NULL && cond(arg))
            return 1;
        if (now_ms() >= end)
            return 0;
        assert_true(zmq_poll(items, (int)total, 10) >= 0);
        for (size_t i = 0; i < nn; i++) {
            if (nodes[i] == NULL || nodes[i]->ad == NULL)
                continue;
            icx_err err;
            assert_int_equal(ops->on_ready(nodes[i]->ad, items + start[i],
                                           count[i], &err),
                             ICX_OK);
        }
    }
}

struct want_conn {
    struct node *n;
    const char *partner;
    int up;
};

static int is_connected(void *arg)
{
    struct want_conn *w = arg;
    return ops->connected(w->n->ad, w->partner) == w->up;
}

struct want_got {
    struct node *n;
    size_t count;
};

static int has_got(void *arg)
{
    struct want_got *w = arg;
    return w->n->ngot >= w->count;
}

struct want_event {
    struct node *n;
    const char *peer;
    int event;
    size_t from; /* look at events from this index on */
};

static int has_event(void *arg)
{
    struct want_event *w = arg;
    for (size_t i = w->from; i < w->n->nev; i++)
        if (w->n->ev[i].event == w->event &&
            (w->peer == NULL || strcmp(w->n->ev[i].peer, w->peer) == 0))
            return 1;
    return 0;
}

static void wait_connected(struct node **nodes, size_t nn, struct node *n,
                           const char *partner, int up)
{
    struct want_conn w = {n, partner, up};
    if (!pump(nodes, nn, WAIT_MS, is_connected, &w))
        fail_msg("%s: connected(%s): got %d, want %d after %d ms", n->cfg.id,
                 partner, !up, up, WAIT_MS);
}

static void wait_event(struct node **nodes, size_t nn, struct node *n,
                       const char *peer, int event, size_t from)
{
    struct want_event w = {n, peer, event, from};
    if (!pump(nodes, nn, WAIT_MS, has_event, &w))
        fail_msg("%s: no event %d for %s after %d ms", n->cfg.id, event,
                 peer ? peer : "(any)", WAIT_MS);
}

static void wait_got(struct node **nodes, size_t nn, struct node *n,
                     size_t count)
{
    struct want_got w = {n, count};
    if (!pump(nodes, nn, WAIT_MS, has_got, &w))
        fail_msg("%s: delivered: got %zu frames, want %zu after %d ms",
                 n->cfg.id, n->ngot, count, WAIT_MS);
}

static void expect_got(const struct node *n, size_t i, const char *peer,
                       int kind, const void *data, size_t len)
{
    assert_true(i < n->ngot);
    const struct got *g = &n->got[i];
    if (strcmp(g->peer, peer) != 0)
        fail_msg("%s: frame %zu: peer: got %s, want %s", n->cfg.id, i,
                 g->peer, peer);
    if (g->kind != kind)
        fail_msg("%s: frame %zu: kind: got %d, want %d", n->cfg.id, i,
                 g->kind, kind);
    if (g->len != len || memcmp(g->data, data, len) != 0)
        fail_msg("%s: frame %zu: body differs (got %zu bytes, want %zu)",
                 n->cfg.id, i, g->len, len);
}

static int send_to(struct node *n, const char *partner, int kind,
                   const char *data, size_t len)
{
    icx_err err;
    icx_err_clear(&err);
    return ops->send(n->ad, partner, kind, data, len, &err);
}

static void expect_send(struct node *n, const char *partner, int kind,
                        const char *data, size_t len, int want)
{
    int got = send_to(n, partner, kind, data, len);
    if (got != want)
        fail_msg("%s: send to %s (%zu bytes): got %d, want %d", n->cfg.id,
                 partner, len, got, want);
}

/* A (dials, no listener) and B (listens, A connects in). */
struct pair {
    struct node *a, *b;
    struct node *all[2];
};

static void pair_open(struct pair *p, long b_max)
{
    p->b = node_new("BB-TWO", "tcp://127.0.0.1:*");
    p->a = node_new("AA-ONE", NULL);
    p->b->cfg.max_message_bytes = b_max;
    node_partner(p->b, "AA-ONE", p->a->pub, NULL);
    node_open(p->b);
    node_partner(p->a, "BB-TWO", p->b->pub, p->b->endpoint);
    node_open(p->a);
    p->all[0] = p->a;
    p->all[1] = p->b;
    wait_connected(p->all, 2, p->a, "BB-TWO", 1);
    wait_connected(p->all, 2, p->b, "AA-ONE", 1);
}

static void pair_free(struct pair *p)
{
    node_free(p->a);
    node_free(p->b);
}

/* ---- tests ------------------------------------------------------------ */

static void test_registry(void **unused)
{
    (void)unused;
    assert_ptr_equal(icx_adapter_find("zmq"), &icx_adapter_zmq);
    assert_null(icx_adapter_find("pigeon"));
    assert_null(icx_adapter_find(NULL));
    assert_int_equal(icx_adapter_zmq.abi, ICX_ADAPTER_ABI);
    assert_string_equal(icx_adapter_zmq.name, "zmq");
}

static void test_both_directions(void **unused)
{
    (void)unused;
    struct pair p;
    pair_open(&p, BIG);

    /* Both sides reported the partner up, once. */
    struct want_event up_a = {p.a, "BB-TWO", ICX_PEER_UP, 0};
    struct want_event up_b = {p.b, "AA-ONE", ICX_PEER_UP, 0};
    assert_true(has_event(&up_a));
    assert_true(has_event(&up_b));

    const char env[] = "<Envelope>from A</Envelope>";
    expect_send(p.a, "BB-TWO", ICX_FRAME_ENVELOPE, env, sizeof env - 1,
                ICX_SEND_OK);
    wait_got(p.all, 2, p.b, 1);
    expect_got(p.b, 0, "AA-ONE", ICX_FRAME_ENVELOPE, env, sizeof env - 1);

    /* B answers over A's own connection: A does not listen. */
    const char rcpt[] = "<Envelope>receipt from B</Envelope>";
    expect_send(p.b, "AA-ONE", ICX_FRAME_RECEIPT, rcpt, sizeof rcpt - 1,
                ICX_SEND_OK);
    wait_got(p.all, 2, p.a, 1);
    expect_got(p.a, 0, "BB-TWO", ICX_FRAME_RECEIPT, rcpt, sizeof rcpt - 1);

    /* Heartbeats keep B's view fresh past the silence limit, and are
     * never delivered. */
    pump(p.all, 2, ICX_ZMQ_SILENCE_MS + 1500, NULL, NULL);
    assert_true(ops->connected(p.b->ad, "AA-ONE"));
    assert_true(ops->connected(p.a->ad, "BB-TWO"));
    assert_int_equal(p.a->ngot, 1);
    assert_int_equal(p.b->ngot, 1);
    expect_send(p.b, "AA-ONE", ICX_FRAME_ENVELOPE, env, sizeof env - 1,
                ICX_SEND_OK);
    wait_got(p.all, 2, p.a, 2);
    pair_free(&p);
}

static void test_unknown_key_refused(void **unused)
{
    (void)unused;
    struct node *b = node_new("BB-TWO", "tcp://127.0.0.1:*");
    struct node *a = node_new("AA-ONE", NULL);
    struct node *c = node_new("CC-EVE", NULL);
    node_partner(b, "AA-ONE", a->pub, NULL);
    node_open(b);
    node_partner(c, "BB-TWO", b->pub, b->endpoint);
    node_open(c);
    struct node *all[] = {b, c};

    wait_event(all, 2, b, c->pub, ICX_PEER_REFUSED, 0);
    assert_false(ops->connected(c->ad, "BB-TWO"));
    const char env[] = "<Envelope/>";
    expect_send(c, "BB-TWO", ICX_FRAME_ENVELOPE, env, sizeof env - 1,
                ICX_SEND_NOT_CONNECTED);
    pump(all, 2, 500, NULL, NULL);
    assert_int_equal(b->ngot, 0);
    assert_false(ops->connected(b->ad, "AA-ONE"));
    for (size_t i = 0; i < b->nev; i++)
        if (b->ev[i].event != ICX_PEER_REFUSED)
            fail_msg("B: event %zu: got %d, want only REFUSED", i,
                     b->ev[i].event);
    node_free(c);
    node_free(a);
    node_free(b);
}

static void test_identity_is_the_key(void **unused)
{
    (void)unused;
    /* X holds AA-ONE's key pair but calls itself CC-THREE, a partner that
     * B also knows under another key. */
    struct node *b = node_new("BB-TWO", "tcp://127.0.0.1:*");
    struct node *x = node_new("CC-THREE", NULL);
    char other_pub[41], other_sec[41];
    assert_int_equal(zmq_curve_keypair(other_pub, other_sec), 0);
    node_partner(b, "AA-ONE", x->pub, NULL);
    node_partner(b, "CC-THREE", other_pub, NULL);
    node_open(b);
    node_partner(x, "BB-TWO", b->pub, b->endpoint);
    node_open(x);
    struct node *all[] = {b, x};

    wait_connected(all, 2, b, "AA-ONE", 1);
    const char env[] = "<Envelope><Sender>CC-THREE</Sender></Envelope>";
    expect_send(x, "BB-TWO", ICX_FRAME_ENVELOPE, env, sizeof env - 1,
                ICX_SEND_OK);
    wait_got(all, 2, b, 1);
    expect_got(b, 0, "AA-ONE", ICX_FRAME_ENVELOPE, env, sizeof env - 1);
    assert_false(ops->connected(b->ad, "CC-THREE"));
    expect_send(b, "CC-THREE", ICX_FRAME_RECEIPT, env, sizeof env - 1,
                ICX_SEND_NOT_CONNECTED);
    node_free(x);
    node_free(b);
}

static void test_send_refusals(void **unused)
{
    (void)unused;
    /* A port nobody listens on: bind, read it back, close. */
    void *ctx = zmq_ctx_new();
    void *s = zmq_socket(ctx, ZMQ_ROUTER);
    char gone[256];
    size_t len = sizeof gone;
    assert_int_equal(zmq_bind(s, "tcp://127.0.0.1:*"), 0);
    assert_int_equal(zmq_getsockopt(s, ZMQ_LAST_ENDPOINT, gone, &len), 0);
    zmq_close(s);
    zmq_ctx_term(ctx);

    struct node *b = node_new("BB-TWO", "tcp://127.0.0.1:*");
    char a_pub[41], a_sec[41], d_pub[41], d_sec[41];
    assert_int_equal(zmq_curve_keypair(a_pub, a_sec), 0);
    assert_int_equal(zmq_curve_keypair(d_pub, d_sec), 0);
    node_partner(b, "AA-ONE", a_pub, NULL); /* never connects in */
    node_partner(b, "DD-FAR", d_pub, gone); /* nobody there */
    node_open(b);
    struct node *all[] = {b};
    pump(all, 1, 300, NULL, NULL);

    const char env[] = "<Envelope/>";
    expect_send(b, "AA-ONE", ICX_FRAME_ENVELOPE, env, sizeof env - 1,
                ICX_SEND_NOT_CONNECTED);
    expect_send(b, "DD-FAR", ICX_FRAME_ENVELOPE, env, sizeof env - 1,
                ICX_SEND_NOT_CONNECTED);
    assert_false(ops->connected(b->ad, "AA-ONE"));
    assert_false(ops->connected(b->ad, "DD-FAR"));
    assert_false(ops->connected(b->ad, "ZZ-NOBODY"));

    icx_err err;
    icx_err_clear(&err);
    assert_int_equal(ops->send(b->ad, "ZZ-NOBODY", ICX_FRAME_ENVELOPE, env,
                               sizeof env - 1, &err),
                     ICX_SEND_ERROR);
    assert_int_equal(err.rc, ICX_ENOTFOUND);
    assert_non_null(strstr(err.msg, "ZZ-NOBODY"));

    char *big = calloc(1, BIG + 1);
    assert_non_null(big);
    expect_send(b, "DD-FAR", ICX_FRAME_ENVELOPE, big, BIG + 1,
                ICX_SEND_REJECTED);
    expect_send(b, "AA-ONE", ICX_FRAME_ENVELOPE, big, BIG + 1,
                ICX_SEND_REJECTED);
    expect_send(b, "AA-ONE", ICX_FRAME_ENVELOPE, big, 0, ICX_SEND_REJECTED);
    expect_send(b, "AA-ONE", ICX_FRAME_HELLO, env, 3, ICX_SEND_ERROR);
    free(big);
    node_free(b);
}

static void test_oversize_from_peer(void **unused)
{
    (void)unused;
    /* B accepts 2048-byte bodies; A would send up to 1 MiB. */
    enum { LIMIT = 2048 };
    struct pair p;
    pair_open(&p, LIMIT);
    char *buf = malloc(BIG);
    assert_non_null(buf);
    memset(buf, 'x', BIG);
    size_t ev_b = p.b->nev, ev_a = p.a->nev;

    /* Exactly at the limit: delivered. */
    expect_send(p.a, "BB-TWO", ICX_FRAME_ENVELOPE, buf, LIMIT, ICX_SEND_OK);
    wait_got(p.all, 2, p.b, 1);
    assert_int_equal(p.b->got[0].len, LIMIT);

    /* Over the limit but within libzmq's slack: read, refused by the frame
     * check, dropped; the connection stays. */
    expect_send(p.a, "BB-TWO", ICX_FRAME_ENVELOPE, buf, LIMIT + 1,
                ICX_SEND_OK);
    expect_send(p.a, "BB-TWO", ICX_FRAME_ENVELOPE, "next", 4, ICX_SEND_OK);
    wait_got(p.all, 2, p.b, 2);
    expect_got(p.b, 1, "AA-ONE", ICX_FRAME_ENVELOPE, "next", 4);
    assert_int_equal(p.a->nev, ev_a);

    /* Far over: libzmq drops the connection before reading the body; A
     * reconnects and the next frame goes through. */
    expect_send(p.a, "BB-TWO", ICX_FRAME_ENVELOPE, buf, BIG, ICX_SEND_OK);
    wait_event(p.all, 2, p.a, "BB-TWO", ICX_PEER_DOWN, ev_a);
    wait_connected(p.all, 2, p.a, "BB-TWO", 1);
    expect_send(p.a, "BB-TWO", ICX_FRAME_ENVELOPE, "after", 5, ICX_SEND_OK);
    wait_got(p.all, 2, p.b, 3);
    expect_got(p.b, 2, "AA-ONE", ICX_FRAME_ENVELOPE, "after", 5);
    pump(p.all, 2, 200, NULL, NULL);
    assert_int_equal(p.b->ngot, 3);
    (void)ev_b;
    free(buf);
    pair_free(&p);
}

/* Sends raw parts from a socket, the last without SNDMORE. */
static void raw_send(void *s, const void *const *parts, const size_t *lens,
                     size_t n)
{
    for (size_t i = 0; i < n; i++)
        assert_true(zmq_send(s, parts[i], lens[i],
                             i + 1 < n ? ZMQ_SNDMORE : 0) >= 0);
}

static void test_malformed_frames_dropped(void **unused)
{
    (void)unused;
    /* A hand-made dialer with a partner's key sends broken frames; only
     * the good one comes through, and nothing breaks the connection. */
    struct node *b = node_new("BB-TWO", "tcp://127.0.0.1:*");
    char a_pub[41], a_sec[41];
    assert_int_equal(zmq_curve_keypair(a_pub, a_sec), 0);
    node_partner(b, "AA-ONE", a_pub, NULL);
    node_open(b);
    struct node *all[] = {b};

    void *ctx = zmq_ctx_new();
    void *d = zmq_socket(ctx, ZMQ_DEALER);
    int zero = 0;
    zmq_setsockopt(d, ZMQ_LINGER, &zero, sizeof zero);
    assert_int_equal(zmq_setsockopt(d, ZMQ_CURVE_SERVERKEY, b->pub, 41), 0);
    assert_int_equal(zmq_setsockopt(d, ZMQ_CURVE_PUBLICKEY, a_pub, 41), 0);
    assert_int_equal(zmq_setsockopt(d, ZMQ_CURVE_SECRETKEY, a_sec, 41), 0);
    assert_int_equal(zmq_connect(d, b->endpoint), 0);

    const unsigned char bad_magic[8] = {'X', 'C', 'I', 1, 2, 0, 0, 0};
    const unsigned char v2[8] = {'I', 'C', 'X', 2, 2, 0, 0, 0};
    const unsigned char flags[8] = {'I', 'C', 'X', 1, 2, 1, 0, 0};
    const unsigned char good[8] = {'I', 'C', 'X', 1, 2, 0, 0, 0};
    const unsigned char hello[8] = {'I', 'C', 'X', 1, 1, 0, 0, 0};
    const char body[] = "<Envelope/>";
    const void *p1[] = {bad_magic, body};
    const void *p2[] = {v2, body};
    const void *p3[] = {flags, body};
    const void *p4[] = {good, body, body}; /* three parts */
    const void *p5[] = {good};             /* header only */
    const void *p6[] = {hello, "AA ONE\n"}; /* not an agency id */
    const void *p7[] = {good, ""};          /* empty body */
    const void *ok[] = {good, body};
    const size_t l2[] = {8, sizeof body - 1};
    const size_t l3[] = {8, sizeof body - 1, sizeof body - 1};
    const size_t l1[] = {8};
    const size_t l6[] = {8, 7};
    const size_t l7[] = {8, 0};
    raw_send(d, p1, l2, 2);
    raw_send(d, p2, l2, 2);
    raw_send(d, p3, l2, 2);
    raw_send(d, p4, l3, 3);
    raw_send(d, p5, l1, 1);
    raw_send(d, p6, l6, 2);
    raw_send(d, p7, l7, 2);
    raw_send(d, ok, l2, 2);

    wait_got(all, 1, b, 1);
    pump(all, 1, 300, NULL, NULL);
    assert_int_equal(b->ngot, 1);
    expect_got(b, 0, "AA-ONE", ICX_FRAME_ENVELOPE, body, sizeof body - 1);

    /* The good frame made a route: B can answer the raw dialer. */
    expect_send(b, "AA-ONE", ICX_FRAME_RECEIPT, body, sizeof body - 1,
                ICX_SEND_OK);
    int timeout = WAIT_MS;
    zmq_setsockopt(d, ZMQ_RCVTIMEO, &timeout, sizeof timeout);
    unsigned char hdr[16];
    int n = zmq_recv(d, hdr, sizeof hdr, 0);
    assert_int_equal(n, 8);
    const unsigned char want[8] = {'I', 'C', 'X', 1, 3, 0, 0, 0};
    assert_memory_equal(hdr, want, 8);
    char rb[64];
    n = zmq_recv(d, rb, sizeof rb, 0);
    assert_int_equal(n, (int)sizeof body - 1);

    /* The raw dialer sends no heartbeats: after the silence limit B counts
     * it as gone although its TCP connection stays open. */
    size_t ev = b->nev;
    struct want_event down = {b, "AA-ONE", ICX_PEER_DOWN, ev};
    if (!pump(all, 1, ICX_ZMQ_SILENCE_MS + 2000, has_event, &down))
        fail_msg("B: no PEER_DOWN for a silent partner");
    assert_false(ops->connected(b->ad, "AA-ONE"));
    expect_send(b, "AA-ONE", ICX_FRAME_RECEIPT, body, sizeof body - 1,
                ICX_SEND_NOT_CONNECTED);

    zmq_close(d);
    zmq_ctx_term(ctx);
    node_free(b);
}

static void test_peer_up_down(void **unused)
{
    (void)unused;
    struct pair p;
    pair_open(&p, BIG);
    size_t ev_b = p.b->nev;

    /* A goes away: B notices without waiting for the silence limit. */
    node_close_adapter(p.a);
    wait_event(p.all, 2, p.b, "AA-ONE", ICX_PEER_DOWN, ev_b);
    assert_false(ops->connected(p.b->ad, "AA-ONE"));
    expect_send(p.b, "AA-ONE", ICX_FRAME_ENVELOPE, "x", 1,
                ICX_SEND_NOT_CONNECTED);

    /* A comes back: both up again. */
    ev_b = p.b->nev;
    size_t ev_a = p.a->nev, ev_a_open = p.a->nev;
    node_open(p.a);
    wait_event(p.all, 2, p.b, "AA-ONE", ICX_PEER_UP, ev_b);
    wait_event(p.all, 2, p.a, "BB-TWO", ICX_PEER_UP, ev_a);
    expect_send(p.b, "AA-ONE", ICX_FRAME_ENVELOPE, "y", 1, ICX_SEND_OK);
    wait_got(p.all, 2, p.a, 1);

    /* B goes away: A's DEALER sees the disconnect. */
    ev_a = p.a->nev;
    node_close_adapter(p.b);
    wait_event(p.all, 2, p.a, "BB-TWO", ICX_PEER_DOWN, ev_a);
    assert_false(ops->connected(p.a->ad, "BB-TWO"));
    expect_send(p.a, "BB-TWO", ICX_FRAME_ENVELOPE, "z", 1,
                ICX_SEND_NOT_CONNECTED);

    /* Within one adapter instance events alternate: never two UPs or two
     * DOWNs in a row for a peer (close() itself reports nothing). */
    for (size_t i = ev_a_open + 1; i < p.a->nev; i++)
        if (p.a->ev[i].event == p.a->ev[i - 1].event)
            fail_msg("A: events %zu and %zu are both %d", i - 1, i,
                     p.a->ev[i].event);
    for (size_t i = 1; i < p.b->nev; i++)
        if (p.b->ev[i].event == p.b->ev[i - 1].event)
            fail_msg("B: events %zu and %zu are both %d", i - 1, i,
                     p.b->ev[i].event);
    pair_free(&p);
}

static void test_open_refusals(void **unused)
{
    (void)unused;
    struct node *n = node_new("BB-TWO", "tcp://127.0.0.1:*");
    icx_err err;
    void *st = NULL;

    node_partner(n, "AA-ONE", "not a key", NULL);
    icx_err_clear(&err);
    assert_int_equal(ops->open(&st, &n->env, &err), ICX_ECONFIG);
    assert_null(st);
    assert_non_null(strstr(err.msg, "AA-ONE"));

    /* Two partners with one key: ZAP could not tell them apart. */
    n->partners[0].curve_public_key = n->pub;
    node_partner(n, "CC-THREE", n->pub, NULL);
    icx_err_clear(&err);
    assert_int_equal(ops->open(&st, &n->env, &err), ICX_ECONFIG);
    assert_null(st);
    assert_non_null(strstr(err.msg, "CC-THREE"));
    assert_non_null(strstr(err.msg, "AA-ONE"));
    n->cfg.npartners = 1;

    /* A second listener in one context cannot take the ZAP endpoint. */
    node_open(n);
    icx_err_clear(&err);
    assert_int_not_equal(ops->open(&st, &n->env, &err), ICX_OK);
    assert_null(st);
    assert_non_null(strstr(err.msg, "ZAP"));
    node_free(n);
}

int main(void)
{
    ops = icx_adapter_find("zmq");
    if (getenv("ICX_TEST_VERBOSE") == NULL)
        icx_log_set_level(ICX_LOG_ERROR);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_registry),
        cmocka_unit_test(test_both_directions),
        cmocka_unit_test(test_unknown_key_refused),
        cmocka_unit_test(test_identity_is_the_key),
        cmocka_unit_test(test_send_refusals),
        cmocka_unit_test(test_oversize_from_peer),
        cmocka_unit_test(test_malformed_frames_dropped),
        cmocka_unit_test(test_peer_up_down),
        cmocka_unit_test(test_open_refusals),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
