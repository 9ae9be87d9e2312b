/*
 * zmq_adapter.c - the "zmq" transport adapter (see zmq_adapter.h and
 * docs/WIRE.md).
 *
 * Sockets: one ROUTER bound to cfg->listen as CURVE server (partners that
 * connect in), one DEALER per partner with direction connect as CURVE
 * client, a ZAP handler (zmq_zap.c) that admits only the partners' CURVE
 * keys and names each connection with the partner id, and a monitor PAIR
 * per socket.  Every socket is polled by the core's loop through
 * pollitems/on_ready; nothing here blocks: every send is ZMQ_DONTWAIT and
 * libzmq refuses frames above the size limit before their body is read.
 *
 * Identity: the peer of a frame is the partner whose CURVE key carried it
 * (User-Id from ZAP on the ROUTER, the pinned server key on a DEALER),
 * never what the frame says.  HELLO frames are heartbeats, consumed here.
 *
 * Ownership: the state owns its sockets (closed with linger 0 by close());
 * env, the config and the ZeroMQ context are the core's.  Data passed to
 * env->deliver lives until the callback returns.  Threads: the core's loop
 * thread only; callbacks run on it and must not call close().
 *
 * Failure: open() fails with err naming the partner, key or endpoint; a bad
 * frame from a peer is logged and dropped, never delivered; send() reports
 * OK / RETRY / NOT_CONNECTED / REJECTED / ERROR and the core decides.
 */
#include "zmq_adapter.h"

#include <errno.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "frame.h"
#include "keys.h"
#include "log.h"
#include "zmq_zap.h"

_Static_assert(ICX_FRAME_HELLO == ICX_FRAME_KIND_MIN, "frame kinds");
_Static_assert(ICX_FRAME_RECEIPT == ICX_FRAME_KIND_MAX, "frame kinds");

#define ZAP_ENDPOINT ICX_ZMQ_ZAP_ENDPOINT
#define ZAP_DOMAIN ICX_ZMQ_ZAP_DOMAIN
#define KEY_RAW ICX_ZMQ_KEY_RAW
#define RID_MAX 255          /* routing ids are at most 255 bytes */
#define RECV_BATCH 64        /* messages per socket per loop turn */
#define HELLO_RETRY_MS 100   /* a heartbeat that could not leave */
#define PROBE_WINDOW_MS 1000 /* after a disconnect on the ROUTER */
#define PROBE_EVERY_MS 100
#define RCV_BUDGET (256L * 1024 * 1024) /* queued inbound bytes per peer */
#define MON_EVENTS                                                        \
    (ZMQ_EVENT_HANDSHAKE_SUCCEEDED | ZMQ_EVENT_DISCONNECTED |             \
     ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL |                               \
     ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL | ZMQ_EVENT_HANDSHAKE_FAILED_AUTH)

#define MAX_CONNS 64

struct peer {
    const icx_partner *p;
    unsigned char key[KEY_RAW]; /* its CURVE public key, raw */
    int dialer;                 /* direction connect: we own a DEALER */
    void *dealer, *mon;
    int up;                     /* the state last reported to the core */
    int64_t down_since;         /* when a dialer was last seen go down */
    int fail_logged;            /* a handshake failure was logged */
    int64_t next_hello;
    /* route back over the ROUTER: the last frame received from it */
    unsigned char rid[RID_MAX];
    size_t rid_len;
    int64_t last_seen;
    /* its connections to our ROUTER heard from lately (limits) */
    struct conn {
        unsigned char rid[RID_MAX];
        size_t len;
        int64_t seen;
    } conns[MAX_CONNS];
    int nconns;
    int64_t limit_logged;
};

enum sock_role { ROLE_NONE, ROLE_ZAP, ROLE_ROUTER, ROLE_ROUTER_MON,
                 ROLE_DEALER, ROLE_DEALER_MON };

struct state {
    const icx_adapter_env *env;
    struct peer *peers;
    size_t npeers;
    size_t max_body;
    void *zap, *router, *router_mon;
    char endpoint[256];
    int64_t probe_until, next_probe;
};

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int uses_zmq(const icx_partner *p)
{
    return p->adapter == NULL || strcmp(p->adapter, "zmq") == 0;
}

static struct peer *peer_by_id(struct state *st, const char *id)
{
    for (size_t i = 0; id != NULL && i < st->npeers; i++)
        if (strcmp(st->peers[i].p->id, id) == 0)
            return &st->peers[i];
    return NULL;
}

static void report(struct state *st, struct peer *pe, int up)
{
    if (pe->up == up)
        return;
    pe->up = up;
    icx_log_info(up ? "zmq.peer_up" : "zmq.peer_down", "partner=%s via=%s",
                 pe->p->id, pe->dialer ? "dealer" : "router");
    if (st->env->peer_event != NULL)
        st->env->peer_event(st->env->core, pe->p->id,
                            up ? ICX_PEER_UP : ICX_PEER_DOWN);
}

static void forget_route(struct state *st, struct peer *pe)
{
    pe->rid_len = 0;
    if (!pe->dialer)
        report(st, pe, 0);
}

static int route_fresh(const struct peer *pe, int64_t now)
{
    return pe->rid_len > 0 && now - pe->last_seen <= ICX_ZMQ_SILENCE_MS;
}

/* Sends [rid] header body without blocking; returns 0 or -1 with errno. */
static int send_frame(void *sock, const unsigned char *rid, size_t rid_len,
                      int kind, const void *body, size_t len)
{
    unsigned char hdr[ICX_FRAME_HEADER_LEN];

    if (icx_frame_encode_header(hdr, kind) != ICX_OK) {
        errno = EINVAL;
        return -1;
    }
    /* libzmq queues a multipart message whole or not at all: only the
     * first part can fail with EAGAIN or EHOSTUNREACH. */
    if (rid != NULL &&
        zmq_send(sock, rid, rid_len, ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0)
        return -1;
    if (zmq_send(sock, hdr, sizeof hdr, ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0)
        return -1;
    if (zmq_send(sock, body, len, ZMQ_DONTWAIT) < 0)
        return -1;
    return 0;
}

static int send_hello(struct state *st, void *sock, const unsigned char *rid,
                      size_t rid_len)
{
    const char *id = st->env->cfg->id;
    return send_frame(sock, rid, rid_len, ICX_FRAME_HELLO, id, strlen(id));
}

/* Receives one whole message: up to max parts into parts (initialized
 * here), further parts discarded.  Returns the number of parts, 0 when
 * nothing is waiting, -1 on error.  The caller closes min(ret, max). */
static int recv_message(void *sock, zmq_msg_t *parts, int max)
{
    int n = 0;
    int more = 1;

    while (more) {
        zmq_msg_t scratch;
        zmq_msg_t *m = n < max ? &parts[n] : &scratch;
        zmq_msg_init(m);
        if (zmq_msg_recv(m, sock, ZMQ_DONTWAIT) < 0) {
            zmq_msg_close(m);
            if (n == 0 && errno == EAGAIN)
                return 0;
            for (int i = 0; i < n && i < max; i++)
                zmq_msg_close(&parts[i]);
            return -1;
        }
        more = zmq_msg_more(m);
        if (m == &scratch)
            zmq_msg_close(m);
        n++;
    }
    return n;
}

static void close_parts(zmq_msg_t *parts, int n, int max)
{
    for (int i = 0; i < n && i < max; i++)
        zmq_msg_close(&parts[i]);
}

/* Checks one [header, body] pair from pe; returns its kind, or 0 after
 * logging why it is dropped.  A HELLO is checked here too. */
static int check_frame(struct state *st, struct peer *pe, const char *via,
                       zmq_msg_t *hdr, zmq_msg_t *body)
{
    icx_err err;
    int kind;
    size_t len = zmq_msg_size(body);

    icx_err_clear(&err);
    if (icx_frame_parse(&kind, zmq_msg_data(hdr), zmq_msg_size(hdr), len,
                        st->max_body, &err) != ICX_OK ||
        (kind == ICX_FRAME_HELLO &&
         icx_frame_check_hello(zmq_msg_data(body), len, &err) != ICX_OK)) {
        icx_log_warn("zmq.frame_dropped", "partner=%s via=%s reason=\"%s\"",
                     pe->p->id, via, err.msg);
        if (st->env->peer_event != NULL)
            st->env->peer_event(st->env->core, pe->p->id, ICX_PEER_DROPPED);
        return 0;
    }
    if (kind == ICX_FRAME_HELLO &&
        (len != strlen(pe->p->id) ||
         memcmp(zmq_msg_data(body), pe->p->id, len) != 0))
        icx_log_warn("zmq.hello_mismatch", "partner=%s via=%s claims=%.*s",
                     pe->p->id, via, (int)len,
                     (const char *)zmq_msg_data(body));
    return kind;
}

/* Hands an envelope or receipt to the core; HELLOs stop here. */
static void deliver(struct state *st, struct peer *pe, int kind,
                    zmq_msg_t *body)
{
    if (kind == ICX_FRAME_HELLO)
        return;
    st->env->deliver(st->env->core, pe->p->id, kind, zmq_msg_data(body),
                     zmq_msg_size(body));
}

/* One message on the ROUTER: [routing id][header][body]. */
/* Counts the partner's connections (one routing id each) heard from
 * within the silence window; a frame over its limit of concurrent
 * connections is dropped and reported, the connections it already has
 * keep working. */
static int conn_admit(struct state *st, struct peer *pe,
                      const unsigned char *rid, size_t len)
{
    int64_t t = now_ms();
    int k = 0;
    for (int i = 0; i < pe->nconns; i++)
        if (t - pe->conns[i].seen < ICX_ZMQ_SILENCE_MS)
            pe->conns[k++] = pe->conns[i];
    pe->nconns = k;
    for (int i = 0; i < pe->nconns; i++)
        if (pe->conns[i].len == len && memcmp(pe->conns[i].rid, rid, len) == 0) {
            pe->conns[i].seen = t;
            return 1;
        }
    long max = pe->p->in_max_conns > 0 ? pe->p->in_max_conns : 4;
    if (pe->nconns >= max || pe->nconns >= MAX_CONNS) {
        if (t - pe->limit_logged >= 1000) {
            icx_log_warn("zmq.connections_limited", "partner=%s open=%d "
                         "max=%ld", pe->p->id, pe->nconns, max);
            pe->limit_logged = t;
        }
        if (st->env->peer_event != NULL)
            st->env->peer_event(st->env->core, pe->p->id, ICX_PEER_LIMITED);
        return 0;
    }
    memcpy(pe->conns[pe->nconns].rid, rid, len);
    pe->conns[pe->nconns].len = len;
    pe->conns[pe->nconns].seen = t;
    pe->nconns++;
    return 1;
}

static void router_message(struct state *st, zmq_msg_t *parts, int n)
{
    /* The routing id part is made by the ROUTER and carries no metadata;
     * the parts read from the connection do. */
    const char *uid = n >= 2 ? zmq_msg_gets(&parts[1], "User-Id") : NULL;
    struct peer *pe = peer_by_id(st, uid);
    size_t rid_len = zmq_msg_size(&parts[0]);
    int kind;

    if (pe == NULL) {
        icx_log_warn("zmq.frame_dropped",
                     "via=router reason=\"connection has no partner id\"");
        return;
    }
    if (n != 3 || rid_len == 0 || rid_len > RID_MAX) {
        icx_log_warn("zmq.frame_dropped",
                     "partner=%s via=router reason=\"message has %d parts, "
                     "want 2\"",
                     pe->p->id, n - 1);
        return;
    }
    if ((kind = check_frame(st, pe, "router", &parts[1], &parts[2])) == 0)
        return;
    if (!conn_admit(st, pe, zmq_msg_data(&parts[0]), rid_len))
        return;
    /* A routing id now belongs to the partner it was last heard from;
     * whoever else held it lost its connection. */
    for (size_t i = 0; i < st->npeers; i++) {
        struct peer *o = &st->peers[i];
        if (o != pe && o->rid_len == rid_len &&
            memcmp(o->rid, zmq_msg_data(&parts[0]), rid_len) == 0) {
            icx_log_warn("zmq.route_taken", "partner=%s by=%s", o->p->id,
                         pe->p->id);
            forget_route(st, o);
        }
    }
    /* Route and state first, so that the core may answer from deliver. */
    memcpy(pe->rid, zmq_msg_data(&parts[0]), rid_len);
    pe->rid_len = rid_len;
    pe->last_seen = now_ms();
    if (!pe->dialer)
        report(st, pe, 1);
    deliver(st, pe, kind, &parts[2]);
}

static void dealer_message(struct state *st, struct peer *pe, zmq_msg_t *parts,
                           int n)
{
    if (n != 2) {
        icx_log_warn("zmq.frame_dropped",
                     "partner=%s via=dealer reason=\"message has %d parts, "
                     "want 2\"",
                     pe->p->id, n);
        return;
    }
    int kind = check_frame(st, pe, "dealer", &parts[0], &parts[1]);
    if (kind != 0)
        deliver(st, pe, kind, &parts[1]);
}

/* Reads one monitor event: the event number and the endpoint (for logs). */
static int read_event(void *mon, unsigned *event, unsigned *value, char *addr,
                      size_t addrlen)
{
    zmq_msg_t parts[2];
    int n = recv_message(mon, parts, 2);
    int rc = -1;

    if (n <= 0)
        return -1;
    addr[0] = '\0';
    if (zmq_msg_size(&parts[0]) >= 6) {
        const unsigned char *d = zmq_msg_data(&parts[0]);
        uint16_t ev;
        uint32_t val;
        memcpy(&ev, d, sizeof ev);
        memcpy(&val, d + 2, sizeof val);
        *event = ev;
        *value = val;
        rc = 0;
    }
    if (n >= 2)
        snprintf(addr, addrlen, "%.*s", (int)zmq_msg_size(&parts[1]),
                 (const char *)zmq_msg_data(&parts[1]));
    close_parts(parts, n, 2);
    return rc;
}

static int handshake_failed(unsigned event)
{
    return event == ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL ||
           event == ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL ||
           event == ZMQ_EVENT_HANDSHAKE_FAILED_AUTH;
}

static void dealer_events(struct state *st, struct peer *pe)
{
    unsigned ev, val;
    char addr[256];

    for (int i = 0; i < RECV_BATCH; i++) {
        if (read_event(pe->mon, &ev, &val, addr, sizeof addr) != 0)
            return;
        if (ev == ZMQ_EVENT_HANDSHAKE_SUCCEEDED) {
            pe->fail_logged = 0;
            pe->next_hello = now_ms(); /* greet at once */
            report(st, pe, 1);
        } else if (ev == ZMQ_EVENT_DISCONNECTED) {
            pe->down_since = now_ms();
            report(st, pe, 0);
        } else if (handshake_failed(ev) && !pe->fail_logged) {
            /* Logged once until the next success: a refused dialer retries
             * every reconnect interval. */
            pe->fail_logged = 1;
            icx_log_warn("zmq.handshake_failed",
                         "partner=%s endpoint=%s auth=%s value=%u", pe->p->id,
                         addr,
                         ev == ZMQ_EVENT_HANDSHAKE_FAILED_AUTH ? "refused"
                                                               : "no",
                         val);
        }
    }
}

static void router_events(struct state *st)
{
    unsigned ev, val;
    char addr[256];

    for (int i = 0; i < RECV_BATCH; i++) {
        if (read_event(st->router_mon, &ev, &val, addr, sizeof addr) != 0)
            return;
        if (ev == ZMQ_EVENT_DISCONNECTED) {
            /* libzmq does not say whose connection it was: probe the
             * partners we hold a route for (ROUTER_MANDATORY makes a gone
             * one fail with EHOSTUNREACH) while the pipe winds down. */
            st->probe_until = now_ms() + PROBE_WINDOW_MS;
            st->next_probe = 0;
        } else if (handshake_failed(ev)) {
            icx_log_debug("zmq.handshake_failed",
                          "via=router address=%s value=%u", addr, val);
        }
    }
}

static void probe_routes(struct state *st, int64_t now)
{
    for (size_t i = 0; i < st->npeers; i++) {
        struct peer *pe = &st->peers[i];
        if (pe->dialer || pe->rid_len == 0)
            continue;
        if (send_hello(st, st->router, pe->rid, pe->rid_len) < 0 &&
            errno == EHOSTUNREACH)
            forget_route(st, pe);
    }
    st->next_probe = now + PROBE_EVERY_MS;
}

static const char *zap_lookup(void *arg, const unsigned char *key)
{
    struct state *st = arg;
    for (size_t i = 0; i < st->npeers; i++)
        if (memcmp(st->peers[i].key, key, KEY_RAW) == 0)
            return st->peers[i].p->id;
    return NULL;
}

static void zap_request(struct state *st)
{
    char z85[ICX_Z85_KEY_LEN + 1];
    if (icx_zmq_zap_answer(z85, st->zap, zap_lookup, st) &&
        st->env->peer_event != NULL)
        st->env->peer_event(st->env->core, z85, ICX_PEER_REFUSED);
}

static void drain_router(struct state *st)
{
    for (int i = 0; i < RECV_BATCH; i++) {
        zmq_msg_t parts[3];
        int n = recv_message(st->router, parts, 3);
        if (n <= 0)
            return;
        router_message(st, parts, n);
        close_parts(parts, n, 3);
    }
}

static void drain_dealer(struct state *st, struct peer *pe)
{
    for (int i = 0; i < RECV_BATCH; i++) {
        zmq_msg_t parts[2];
        int n = recv_message(pe->dealer, parts, 2);
        if (n <= 0)
            return;
        dealer_message(st, pe, parts, n);
        close_parts(parts, n, 2);
    }
}

/* ---- sockets ---------------------------------------------------------- */

static void close_socket(void **sp)
{
    int zero = 0;
    if (*sp == NULL)
        return;
    zmq_setsockopt(*sp, ZMQ_LINGER, &zero, sizeof zero);
    zmq_close(*sp);
    *sp = NULL;
}

static void close_monitored(void **sockp, void **monp)
{
    if (*sockp != NULL && *monp != NULL)
        zmq_socket_monitor(*sockp, NULL, 0);
    close_socket(monp);
    close_socket(sockp);
}

static int zerr(icx_err *err, const char *what, const char *detail)
{
    return icx_err_set(err, ICX_EIO, "zmq: %s%s%s: %s", what,
                       detail ? " " : "", detail ? detail : "",
                       zmq_strerror(zmq_errno()));
}

/* Options common to the ROUTER and the DEALERs. */
static int set_common(struct state *st, void *s, icx_err *err)
{
    int zero = 0;
    int64_t maxmsg = (int64_t)st->max_body + ICX_ZMQ_MAXMSG_SLACK;
    long hwm = RCV_BUDGET / (long)st->max_body;
    int rcvhwm = hwm < 16 ? 16 : hwm > 1000 ? 1000 : (int)hwm;
    int hb_ivl = ICX_ZMQ_HEARTBEAT_MS, hb_timeout = ICX_ZMQ_SILENCE_MS;
    int reconnect_max = 5000;

    if (zmq_setsockopt(s, ZMQ_LINGER, &zero, sizeof zero) != 0 ||
        zmq_setsockopt(s, ZMQ_MAXMSGSIZE, &maxmsg, sizeof maxmsg) != 0 ||
        zmq_setsockopt(s, ZMQ_RCVHWM, &rcvhwm, sizeof rcvhwm) != 0 ||
        zmq_setsockopt(s, ZMQ_HEARTBEAT_IVL, &hb_ivl, sizeof hb_ivl) != 0 ||
        zmq_setsockopt(s, ZMQ_HEARTBEAT_TIMEOUT, &hb_timeout,
                       sizeof hb_timeout) != 0 ||
        zmq_setsockopt(s, ZMQ_RECONNECT_IVL_MAX, &reconnect_max,
                       sizeof reconnect_max) != 0)
        return zerr(err, "setting socket options", NULL);
    return ICX_OK;
}

/* Starts a monitor on s and connects a PAIR to it. */
static int monitor(struct state *st, void **monp, void *s, size_t n,
                   icx_err *err)
{
    char addr[96];
    int zero = 0;

    /* Unique per process: a reopened adapter may get the same address
     * while libzmq still tears down the old monitor endpoint. */
    static atomic_uint serial;
    snprintf(addr, sizeof addr, "inproc://icx-zmq-monitor-%p-%zu-%u",
             (void *)st, n, atomic_fetch_add(&serial, 1));
    if (zmq_socket_monitor(s, addr, MON_EVENTS) != 0)
        return zerr(err, "zmq_socket_monitor", addr);
    *monp = zmq_socket(st->env->zmq_ctx, ZMQ_PAIR);
    if (*monp == NULL)
        return zerr(err, "creating monitor socket", NULL);
    zmq_setsockopt(*monp, ZMQ_LINGER, &zero, sizeof zero);
    if (zmq_connect(*monp, addr) != 0)
        return zerr(err, "zmq_connect", addr);
    return ICX_OK;
}

static int open_listener(struct state *st, icx_err *err)
{
    const icx_config *cfg = st->env->cfg;
    int one = 1, zero = 0;
    size_t len = sizeof st->endpoint;
    int rc;

    st->zap = zmq_socket(st->env->zmq_ctx, ZMQ_REP);
    if (st->zap == NULL)
        return zerr(err, "creating ZAP socket", NULL);
    zmq_setsockopt(st->zap, ZMQ_LINGER, &zero, sizeof zero);
    if (zmq_bind(st->zap, ZAP_ENDPOINT) != 0)
        return zerr(err, "binding the ZAP handler", ZAP_ENDPOINT);

    st->router = zmq_socket(st->env->zmq_ctx, ZMQ_ROUTER);
    if (st->router == NULL)
        return zerr(err, "creating ROUTER socket", NULL);
    if ((rc = set_common(st, st->router, err)) != ICX_OK)
        return rc;
    if (zmq_setsockopt(st->router, ZMQ_ROUTER_MANDATORY, &one, sizeof one) ||
        zmq_setsockopt(st->router, ZMQ_ZAP_DOMAIN, ZAP_DOMAIN,
                       strlen(ZAP_DOMAIN)) ||
        zmq_setsockopt(st->router, ZMQ_CURVE_SERVER, &one, sizeof one) ||
        zmq_setsockopt(st->router, ZMQ_CURVE_SECRETKEY, st->env->curve_secret,
                       ICX_Z85_KEY_LEN + 1))
        return zerr(err, "setting ROUTER options", NULL);
    if ((rc = monitor(st, &st->router_mon, st->router, 0, err)) != ICX_OK)
        return rc;
    if (zmq_bind(st->router, cfg->listen) != 0)
        return zerr(err, "binding listen endpoint", cfg->listen);
    if (zmq_getsockopt(st->router, ZMQ_LAST_ENDPOINT, st->endpoint, &len) != 0)
        return zerr(err, "reading the bound endpoint", cfg->listen);
    icx_log_info("zmq.listening", "endpoint=%s", st->endpoint);
    return ICX_OK;
}

static int open_dialer(struct state *st, struct peer *pe, size_t n,
                       icx_err *err)
{
    int one = 1;
    int rc;

    pe->dealer = zmq_socket(st->env->zmq_ctx, ZMQ_DEALER);
    if (pe->dealer == NULL)
        return zerr(err, "creating DEALER socket for", pe->p->id);
    if ((rc = set_common(st, pe->dealer, err)) != ICX_OK)
        return rc;
    if (zmq_setsockopt(pe->dealer, ZMQ_IMMEDIATE, &one, sizeof one) ||
        zmq_setsockopt(pe->dealer, ZMQ_CURVE_SERVERKEY,
                       pe->p->curve_public_key, ICX_Z85_KEY_LEN + 1) ||
        zmq_setsockopt(pe->dealer, ZMQ_CURVE_PUBLICKEY, st->env->curve_public,
                       ICX_Z85_KEY_LEN + 1) ||
        zmq_setsockopt(pe->dealer, ZMQ_CURVE_SECRETKEY, st->env->curve_secret,
                       ICX_Z85_KEY_LEN + 1))
        return zerr(err, "setting DEALER options for", pe->p->id);
    if ((rc = monitor(st, &pe->mon, pe->dealer, n, err)) != ICX_OK)
        return rc;
    if (zmq_connect(pe->dealer, pe->p->endpoint) != 0)
        return icx_err_set(err, ICX_EIO, "partner %s: endpoint %s: %s",
                           pe->p->id, pe->p->endpoint,
                           zmq_strerror(zmq_errno()));
    return ICX_OK;
}

/* The core's retry is due and this partner is down.  libzmq reconnects a
 * dropped connection by itself, except after a protocol error (a peer
 * that announced a frame over ZMQ_MAXMSGSIZE): then the session ends for
 * good.  So a dialing socket that has stayed down for a while is closed
 * and opened again; a listening side has nothing to redo. */
static int zmq_adapter_try_resume(void *state, const char *partner)
{
    struct state *st = state;
    struct peer *pe = peer_by_id(st, partner);
    icx_err err;
    if (pe == NULL || !pe->dialer || pe->up)
        return ICX_OK;
    int64_t t = now_ms();
    if (pe->down_since == 0) {
        pe->down_since = t;
        return ICX_OK;
    }
    if (t - pe->down_since < ICX_ZMQ_REDIAL_MS)
        return ICX_OK;
    close_monitored(&pe->dealer, &pe->mon);
    pe->down_since = t;
    size_t n = (size_t)(pe - st->peers) + 1;
    if (open_dialer(st, pe, n, &err) != ICX_OK) {
        icx_log_warn("zmq.redial", "partner=%s error=\"%s\"", partner,
                     err.msg);
        close_monitored(&pe->dealer, &pe->mon);
        return err.rc;
    }
    icx_log_info("zmq.redial", "partner=%s endpoint=%s", partner,
                 pe->p->endpoint);
    return ICX_OK;
}

/* ---- ops -------------------------------------------------------------- */

static void zmq_adapter_close(void **statep)
{
    struct state *st = *statep;

    if (st == NULL)
        return;
    for (size_t i = 0; i < st->npeers; i++)
        close_monitored(&st->peers[i].dealer, &st->peers[i].mon);
    close_monitored(&st->router, &st->router_mon);
    close_socket(&st->zap);
    free(st->peers);
    free(st);
    *statep = NULL;
}

static int zmq_adapter_open(void **statep, const icx_adapter_env *env,
                            icx_err *err)
{
    const icx_config *cfg = env->cfg;
    struct state *st = NULL;
    int rc = ICX_OK;

    *statep = NULL;
    if (env->zmq_ctx == NULL || env->deliver == NULL || cfg == NULL ||
        cfg->id == NULL) {
        rc = icx_err_set(err, ICX_EINVAL,
                         "zmq adapter: context, config or deliver missing");
        goto out;
    }
    if (cfg->max_message_bytes <= 0) {
        rc = icx_err_set(err, ICX_EINVAL,
                         "zmq adapter: max_message_bytes %ld is not positive",
                         cfg->max_message_bytes);
        goto out;
    }
    if (!icx_keys_z85_valid(env->curve_public ? env->curve_public : "") ||
        !icx_keys_z85_valid(env->curve_secret ? env->curve_secret : "")) {
        rc = icx_err_set(err, ICX_ECONFIG,
                         "zmq adapter: this gateway's CURVE key pair is "
                         "missing or not 40-character Z85");
        goto out;
    }
    st = calloc(1, sizeof *st);
    if (st == NULL || (cfg->npartners > 0 &&
                       (st->peers = calloc(cfg->npartners,
                                           sizeof *st->peers)) == NULL)) {
        rc = icx_err_set(err, ICX_ENOMEM, "out of memory");
        goto out;
    }
    st->env = env;
    st->max_body = (size_t)cfg->max_message_bytes;
    for (size_t i = 0; i < cfg->npartners; i++) {
        const icx_partner *p = &cfg->partners[i];
        struct peer *pe = &st->peers[st->npeers];
        if (!uses_zmq(p))
            continue;
        if (p->curve_public_key == NULL ||
            !icx_keys_z85_valid(p->curve_public_key) ||
            zmq_z85_decode(pe->key, p->curve_public_key) == NULL) {
            rc = icx_err_set(err, ICX_ECONFIG,
                             "partner %s: curve_public_key is missing or "
                             "not a 40-character Z85 key",
                             p->id);
            goto out;
        }
        if (p->direction == ICX_DIR_CONNECT && p->endpoint == NULL) {
            rc = icx_err_set(err, ICX_ECONFIG,
                             "partner %s: direction connect needs an "
                             "endpoint",
                             p->id);
            goto out;
        }
        /* One key, one identity: ZAP could not tell two partners apart. */
        for (size_t j = 0; j < st->npeers; j++) {
            if (memcmp(st->peers[j].key, pe->key, KEY_RAW) == 0) {
                rc = icx_err_set(err, ICX_ECONFIG,
                                 "partner %s: curve_public_key is also the "
                                 "key of partner %s",
                                 p->id, st->peers[j].p->id);
                goto out;
            }
        }
        pe->p = p;
        pe->dialer = p->direction == ICX_DIR_CONNECT;
        pe->down_since = now_ms(); /* until its first handshake */
        if (!pe->dialer && cfg->listen == NULL)
            icx_log_warn("zmq.unreachable",
                         "partner=%s reason=\"direction accept but this "
                         "gateway does not listen\"",
                         p->id);
        st->npeers++;
    }
    if (cfg->listen != NULL && (rc = open_listener(st, err)) != ICX_OK)
        goto out;
    for (size_t i = 0; i < st->npeers; i++)
        if (st->peers[i].dialer &&
            (rc = open_dialer(st, &st->peers[i], i + 1, err)) != ICX_OK)
            goto out;
    *statep = st;
    st = NULL;
out:
    zmq_adapter_close((void **)&st);
    return rc;
}

static int zmq_adapter_pollitems(void *state, zmq_pollitem_t *items,
                                 size_t max, size_t *n)
{
    struct state *st = state;
    size_t k = 0;

#define ADD(sock)                                                         \
    do {                                                                  \
        if ((sock) != NULL) {                                             \
            if (k == max) {                                               \
                *n = k;                                                   \
                return ICX_EFULL;                                         \
            }                                                             \
            items[k].socket = (sock);                                     \
            items[k].fd = -1;                                             \
            items[k].events = ZMQ_POLLIN;                                 \
            items[k].revents = 0;                                         \
            k++;                                                          \
        }                                                                 \
    } while (0)
    ADD(st->zap);
    ADD(st->router);
    ADD(st->router_mon);
    for (size_t i = 0; i < st->npeers; i++) {
        ADD(st->peers[i].dealer);
        ADD(st->peers[i].mon);
    }
#undef ADD
    *n = k;
    return ICX_OK;
}

static enum sock_role role_of(struct state *st, void *sock, struct peer **pe)
{
    *pe = NULL;
    if (sock == NULL)
        return ROLE_NONE;
    if (sock == st->zap)
        return ROLE_ZAP;
    if (sock == st->router)
        return ROLE_ROUTER;
    if (sock == st->router_mon)
        return ROLE_ROUTER_MON;
    for (size_t i = 0; i < st->npeers; i++) {
        *pe = &st->peers[i];
        if (sock == st->peers[i].dealer)
            return ROLE_DEALER;
        if (sock == st->peers[i].mon)
            return ROLE_DEALER_MON;
    }
    *pe = NULL;
    return ROLE_NONE;
}

static int zmq_adapter_on_ready(void *state, const zmq_pollitem_t *items,
                                size_t n, icx_err *err)
{
    struct state *st = state;
    int64_t now;

    (void)err;
    for (size_t i = 0; i < n; i++) {
        struct peer *pe;
        if (!(items[i].revents & ZMQ_POLLIN))
            continue;
        switch (role_of(st, items[i].socket, &pe)) {
        case ROLE_ZAP: zap_request(st); break;
        case ROLE_ROUTER: drain_router(st); break;
        case ROLE_ROUTER_MON: router_events(st); break;
        case ROLE_DEALER: drain_dealer(st, pe); break;
        case ROLE_DEALER_MON: dealer_events(st, pe); break;
        case ROLE_NONE: break; /* another adapter's item */
        }
    }

    /* Timers. */
    now = now_ms();
    for (size_t i = 0; i < st->npeers; i++) {
        struct peer *pe = &st->peers[i];
        if (pe->dialer) {
            if (!pe->up && pe->down_since != 0 &&
                now - pe->down_since >= ICX_ZMQ_REDIAL_MS) {
                zmq_adapter_try_resume(st, pe->p->id);
                continue;
            }
            if (!pe->up || now < pe->next_hello)
                continue;
            pe->next_hello = send_hello(st, pe->dealer, NULL, 0) == 0
                                 ? now + ICX_ZMQ_HEARTBEAT_MS
                                 : now + HELLO_RETRY_MS;
        } else if (pe->rid_len > 0 && !route_fresh(pe, now)) {
            icx_log_info("zmq.silent", "partner=%s silent_ms=%lld", pe->p->id,
                         (long long)(now - pe->last_seen));
            forget_route(st, pe);
        }
    }
    if (st->router != NULL && now < st->probe_until && now >= st->next_probe)
        probe_routes(st, now);
    return ICX_OK;
}

static int zmq_adapter_send(void *state, const char *partner, int kind,
                            const char *data, size_t len, icx_err *err)
{
    struct state *st = state;
    struct peer *pe = peer_by_id(st, partner);
    int64_t now = now_ms();

    if (pe == NULL)
        return icx_err_result(err, ICX_SEND_ERROR, ICX_ENOTFOUND,
                      "partner %s is not a zmq partner of this gateway",
                      partner ? partner : "(null)");
    if (kind != ICX_FRAME_ENVELOPE && kind != ICX_FRAME_RECEIPT)
        return icx_err_result(err, ICX_SEND_ERROR, ICX_EINVAL,
                      "partner %s: cannot send frame kind %d", pe->p->id,
                      kind);
    if (len == 0 || len > st->max_body)
        return icx_err_result(err, ICX_SEND_REJECTED, ICX_EFULL,
                      "partner %s: message is %zu bytes, allowed 1..%zu",
                      pe->p->id, len, st->max_body);

    if (pe->dialer) {
        /* The monitor is the truth: after a disconnect the dying pipe may
         * still take a message for a moment, and it would be lost. */
        if (!pe->up)
            return icx_err_result(err, ICX_SEND_NOT_CONNECTED, ICX_ENOTCONN,
                          "partner %s: not connected", pe->p->id);
        if (send_frame(pe->dealer, NULL, 0, kind, data, len) == 0)
            return ICX_SEND_OK;
        /* Up but EAGAIN: the queue is full, or (ZMQ_IMMEDIATE) the new
         * connection's pipe is not attached yet; both pass. */
        if (errno == EAGAIN)
            return icx_err_result(err, ICX_SEND_RETRY, ICX_EAGAIN,
                          "partner %s: send queue full", pe->p->id);
    } else {
        if (st->router == NULL || !route_fresh(pe, now))
            return icx_err_result(err, ICX_SEND_NOT_CONNECTED, ICX_ENOTCONN,
                          "partner %s: not connected (it connects in)",
                          pe->p->id);
        if (send_frame(st->router, pe->rid, pe->rid_len, kind, data, len) ==
            0)
            return ICX_SEND_OK;
        if (errno == EHOSTUNREACH) {
            forget_route(st, pe);
            return icx_err_result(err, ICX_SEND_NOT_CONNECTED, ICX_ENOTCONN,
                          "partner %s: its connection is gone", pe->p->id);
        }
        if (errno == EAGAIN)
            return icx_err_result(err, ICX_SEND_RETRY, ICX_EAGAIN,
                          "partner %s: send queue full", pe->p->id);
    }
    return icx_err_result(err, ICX_SEND_ERROR, ICX_EIO, "partner %s: zmq_send: %s",
                  pe->p->id, zmq_strerror(errno));
}

static int zmq_adapter_connected(void *state, const char *partner)
{
    struct state *st = state;
    struct peer *pe = peer_by_id(st, partner);

    if (pe == NULL)
        return 0;
    if (pe->dialer)
        return pe->up;
    return st->router != NULL && route_fresh(pe, now_ms());
}

const char *icx_zmq_adapter_endpoint(void *state)
{
    struct state *st = state;
    return st != NULL && st->endpoint[0] ? st->endpoint : NULL;
}

const icx_adapter_ops icx_adapter_zmq = {
    .abi = ICX_ADAPTER_ABI,
    .name = "zmq",
    .open = zmq_adapter_open,
    .pollitems = zmq_adapter_pollitems,
    .on_ready = zmq_adapter_on_ready,
    .send = zmq_adapter_send,
    .connected = zmq_adapter_connected,
    .close = zmq_adapter_close,
    .endpoint = icx_zmq_adapter_endpoint,
    .try_resume = zmq_adapter_try_resume,
};
