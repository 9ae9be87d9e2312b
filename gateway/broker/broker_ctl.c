/*
 * broker_ctl.c - control requests from `icx submit|status|outbox|inbox|
 * partners` to the running daemon.
 *
 * submit: each payload x each recipient becomes one envelope with its own
 * MessageId.  Egress policy is checked first (a refused message is audited
 * and never built into anything that could leave); allowed ones are built
 * and signed on the pool, inserted as queued in one transaction, and the
 * client is answered only after that transaction commits (broker_queue.c).
 * status, outbox, inbox, partners and health read the store and the
 * transports.
 *
 * Loop thread only.  A malformed request gets exit code 2 and a message.
 * Calls broker_core.c, broker_policy.c, broker_net.c (who is reachable)
 * and broker_queue.c (what a submission becomes).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "broker_int.h"
#include "log.h"
#include "util.h"

static const char *opt(const icx_ctl_request *r, const char *name)
{
    for (int i = 1; i + 1 < r->argc; i++)
        if (strcmp(r->argv[i], name) == 0)
            return r->argv[i + 1];
    return NULL;
}

static int flag(const icx_ctl_request *r, const char *name)
{
    for (int i = 1; i < r->argc; i++)
        if (strcmp(r->argv[i], name) == 0)
            return 1;
    return 0;
}

static int split_recipients(const char *list, char out[][32], int max)
{
    int n = 0;
    const char *p = list;
    while (*p != '\0' && n < max) {
        size_t len = strcspn(p, ",");
        if (len == 0 || len >= 32)
            return -1;
        memcpy(out[n], p, len);
        out[n][len] = '\0';
        n++;
        p += len;
        if (*p == ',')
            p++;
    }
    return *p == '\0' ? n : -1;
}

static void submit(icx_broker *b, int fd, icx_ctl_request *req)
{
    const icx_config *cfg = b->gen->cfg;
    icx_buf text;
    icx_buf_init(&text, 1 << 20);
    char to[64][32];
    const char *to_list = opt(req, "--to"), *category = opt(req, "--category");
    const char *legal = opt(req, "--legal-basis"), *retain = opt(req, "--retain-until");
    const char *tlp = opt(req, "--tlp"), *code = opt(req, "--code");
    const char *expires_in = opt(req, "--expires-in");
    int json = flag(req, "--json");
    if (b->stopping) {
        icx_broker_reply_now(fd, 3, "icx: error: the daemon is stopping; "
                                    "nothing was queued\n");
        icx_ctl_request_free(req);
        return;
    }
    int nto = to_list ? split_recipients(to_list, to, 64) : -1;
    if (nto <= 0 || category == NULL || legal == NULL || retain == NULL ||
        req->nblobs == 0) {
        icx_broker_reply_now(fd, 2, "icx: error: submit needs --to A[,B], "
                                    "--category, --legal-basis, --retain-until "
                                    "and at least one FILE\n");
        icx_ctl_request_free(req);
        return;
    }
    struct ctl_pending *p = calloc(1, sizeof *p);
    int total = nto * req->nblobs;
    if (p == NULL) {
        icx_broker_reply_now(fd, 3, "icx: error: out of memory\n");
        icx_ctl_request_free(req);
        return;
    }
    p->fd = fd;
    p->json = json;
    p->req = *req;
    memset(req, 0, sizeof *req);
    p->origin = opt(&p->req, "--user") ? opt(&p->req, "--user") : "-";
    icx_buf_init(&p->text, 4 << 20);
    p->headers = calloc((size_t)total, sizeof *p->headers);
    p->hops = calloc((size_t)total, sizeof *p->hops);
    p->signed_env = calloc((size_t)total, sizeof *p->signed_env);
    p->signed_len = calloc((size_t)total, sizeof *p->signed_len);
    p->signed_sha = calloc((size_t)total, sizeof *p->signed_sha);
    if (!p->headers || !p->hops || !p->signed_env || !p->signed_len ||
        !p->signed_sha) {
        icx_broker_reply_now(fd, 3, "icx: error: out of memory\n");
        icx_broker_pending_free(p);
        icx_buf_free(&text);
        return;
    }
    p->n = total;
    int refused = 0;
    time_t now = time(NULL);
    /* Policy first, for every message, before anything is signed. */
    for (int i = 0; i < total; i++) {
        icx_header *h = &p->headers[i];
        const char *rcpt = to[i % nto];
        snprintf(h->sender, sizeof h->sender, "%s", cfg->id);
        snprintf(h->recipient, sizeof h->recipient, "%s", rcpt);
        snprintf(h->category, sizeof h->category, "%s", category);
        snprintf(h->tlp, sizeof h->tlp, "%s", tlp ? tlp : "AMBER");
        snprintf(h->hcode, sizeof h->hcode, "%s", code ? code : "H2");
        snprintf(h->legal_basis, sizeof h->legal_basis, "%s", legal);
        snprintf(h->retain_until, sizeof h->retain_until, "%s", retain);
        if (opt(&p->req, "--conversation"))
            snprintf(h->conversation_id, sizeof h->conversation_id, "%s",
                     opt(&p->req, "--conversation"));
        if (opt(&p->req, "--ref"))
            snprintf(h->ref_to_message_id, sizeof h->ref_to_message_id, "%s",
                     opt(&p->req, "--ref"));
        icx_err err;
        icx_header_stamp(h, now, &err);
        if (expires_in != NULL)
            icx_time_format(h->expires, sizeof h->expires,
                            now + strtol(expires_in, NULL, 10));
        snprintf(p->hops[i], sizeof p->hops[i], "%s",
                 icx_broker_next_hop(cfg, rcpt));
        char why[400];
        if (icx_broker_egress_check(cfg, h, why, sizeof why) < 0) {
            refused++;
            icx_broker_audit(b, "outbound.refused", h->message_id, rcpt,
                             "stage=submit reason=\"%s\" user=%s", why,
                             opt(&p->req, "--user") ? opt(&p->req, "--user") : "-");
            icx_log_warn("outbound.refused", "message_id=%s recipient=%s "
                         "reason=\"%s\"", h->message_id, rcpt, why);
            icx_buf_printf(&text, "icx: error: %s to %s: refused by egress "
                           "policy: %s\n", h->message_id, rcpt, why);
        }
    }
    if (refused > 0) {
        /* All or nothing: one forbidden recipient stops the submission. */
        icx_buf_printf(&text, "icx: error: nothing was queued (%d of %d "
                       "refused by egress policy)\n", refused, total);
        icx_broker_reply(b, fd, 1, &text);
        p->fd = -1;
        icx_broker_pending_free(p);
        return;
    }
    icx_buf_free(&text);
    if (icx_broker_pending_sign(b, p, nto) < 0) {
        icx_broker_reply_now(fd, 3, "icx: error: could not hand the messages "
                                    "to the signing workers; nothing was "
                                    "queued\n");
        p->fd = -1;
        icx_broker_pending_free(p);
    }
}

/* ---- read-only commands ---------------------------------------------- */

struct list_ctx {
    icx_buf *text;
    int json;
    int n;
};

static void time_str(char *out, size_t len, int64_t t)
{
    if (t <= 0)
        snprintf(out, len, "-");
    else
        icx_time_format(out, len, (time_t)t);
}

static int out_line(void *ctx, const icx_out_row *r)
{
    struct list_ctx *c = ctx;
    char created[32], next[32];
    time_str(created, sizeof created, r->created_at);
    time_str(next, sizeof next, r->state <= ICX_OUT_SENT ? r->next_attempt_at : 0);
    if (c->json)
        icx_buf_printf(c->text, "%s{\"message_id\":\"%s\",\"recipient\":\"%s\","
                       "\"hop\":\"%s\",\"sender\":\"%s\",\"category\":\"%s\","
                       "\"state\":\"%s\",\"attempts\":%d,\"created\":\"%s\","
                       "\"next_attempt\":\"%s\",\"reason\":", c->n ? "," : "",
                       r->message_id, r->recipient, r->next_hop, r->sender,
                       r->category, icx_out_state_name(r->state), r->attempts,
                       created, next);
    else
        icx_buf_printf(c->text, "%-36s  %-9s  %-10s  %-10s  %-15s  %3d  %s  %s\n",
                       r->message_id, icx_out_state_name(r->state), r->recipient,
                       r->next_hop, r->category, r->attempts, created,
                       r->reason);
    if (c->json) {
        icx_buf_put_json(c->text, r->reason);
        icx_buf_puts(c->text, "}");
    }
    c->n++;
    return 0;
}

static int in_line(void *ctx, const icx_in_row *r)
{
    struct list_ctx *c = ctx;
    char at[32];
    time_str(at, sizeof at, r->received_at);
    if (c->json)
        icx_buf_printf(c->text, "%s{\"message_id\":\"%s\",\"sender\":\"%s\","
                       "\"recipient\":\"%s\",\"peer\":\"%s\",\"category\":\"%s\","
                       "\"state\":\"%s\",\"reason\":\"%s\",\"received\":\"%s\","
                       "\"sha256\":\"%s\"}", c->n ? "," : "", r->message_id,
                       r->sender, r->recipient, r->peer, r->category,
                       icx_in_state_name(r->state), r->reason, at, r->sha256);
    else
        icx_buf_printf(c->text, "%-36s  %-8s  %-10s  %-10s  %-15s  %s  %s\n",
                       r->message_id, icx_in_state_name(r->state), r->sender,
                       r->peer, r->category, at, r->reason);
    c->n++;
    return 0;
}

static int state_from(const char *s, int out)
{
    if (s == NULL)
        return -1;
    for (int i = 0; i <= ICX_OUT_REFUSED; i++)
        if (strcmp(s, out ? icx_out_state_name(i) : icx_in_state_name(i)) == 0)
            return i;
    return -2;
}

static void list_box(icx_broker *b, int fd, const icx_ctl_request *req, int out)
{
    icx_buf text;
    icx_err err;
    icx_buf_init(&text, 64 << 20);
    struct list_ctx c = {&text, flag(req, "--json"), 0};
    int state = state_from(opt(req, "--state"), out);
    const char *lim = opt(req, "--limit");
    size_t limit = lim ? (size_t)strtoul(lim, NULL, 10) : 100;
    if (state == -2) {
        icx_buf_free(&text);
        icx_broker_reply_now(fd, 2,
                             out ? "icx: error: --state: queued, sent, "
                                   "delivered, failed or refused\n"
                                 : "icx: error: --state: received, accepted "
                                   "or rejected\n");
        return;
    }
    if (c.json)
        icx_buf_puts(&text, "[");
    else if (out)
        icx_buf_printf(&text, "%-36s  %-9s  %-10s  %-10s  %-15s  %3s  %-20s  %s\n",
                       "MESSAGE-ID", "STATE", "RECIPIENT", "HOP", "CATEGORY",
                       "TRY", "CREATED", "REASON");
    else
        icx_buf_printf(&text, "%-36s  %-8s  %-10s  %-10s  %-15s  %-20s  %s\n",
                       "MESSAGE-ID", "STATE", "SENDER", "PEER", "CATEGORY",
                       "RECEIVED", "REASON");
    int rc = out ? icx_store_out_list(b->store, state, limit, out_line, &c, &err)
                 : icx_store_in_list(b->store, state, limit, in_line, &c, &err);
    if (c.json)
        icx_buf_puts(&text, "]\n");
    if (rc < 0) {
        icx_buf_free(&text);
        icx_broker_reply_now(fd, 3, "icx: error: cannot read the store\n");
        return;
    }
    icx_broker_reply(b, fd, 0, &text);
}

struct tl_ctx {
    icx_buf *text;
    int json;
    int n;
};

static int tl_line(void *ctx, const icx_audit_row *r)
{
    struct tl_ctx *c = ctx;
    if (c->json) {
        icx_buf_printf(c->text, "%s{\"seq\":%lld,\"time\":\"%s\",\"event\":\"%s\","
                       "\"partner\":\"%s\",\"detail\":", c->n ? "," : "",
                       (long long)r->seq, r->ts, r->event, r->partner);
        icx_buf_put_json(c->text, r->detail);
        icx_buf_puts(c->text, "}");
    } else {
        icx_buf_printf(c->text, "  %s  %-24s %-10s %s\n", r->ts, r->event,
                       r->partner, r->detail);
    }
    c->n++;
    return 0;
}

static int rc_line(void *ctx, const icx_receipt_row *r, const void *env,
                   size_t len)
{
    (void)env;
    (void)len;
    struct tl_ctx *c = ctx;
    char at[32];
    time_str(at, sizeof at, r->received_at);
    if (c->json)
        icx_buf_printf(c->text, "%s{\"issuer\":\"%s\",\"status\":\"%s\","
                       "\"hop\":%s,\"reason\":\"%s\",\"received\":\"%s\"}",
                       c->n ? "," : "", r->issuer,
                       r->positive ? "positive" : "negative",
                       r->hop ? "true" : "false", r->reason, at);
    else
        icx_buf_printf(c->text, "  receipt from %-10s %s%s%s%s (%s)\n", r->issuer,
                       r->positive ? "positive" : "negative",
                       r->hop ? ", hop" : ", final", r->reason[0] ? ", " : "",
                       r->reason, at);
    c->n++;
    return 0;
}

/* The full MessageId for id: itself when the store knows it, else the
 * one id the audit log names that starts with it (at least 8 characters,
 * hex digits and dashes).  0 with *full set, or the exit code after
 * replying (1: none, or several, listed). */
#define PREFIX_MIN 8
#define PREFIX_LIST 20
static int resolve_id(icx_broker *b, int fd, const char *id, char full[40])
{
    icx_err err;
    icx_out_row row;
    char ids[PREFIX_LIST + 1][40];
    size_t n = 0, len = strlen(id);
    snprintf(full, 40, "%s", id);
    if (icx_store_out_get(b->store, id, NULL, &row, &err) == ICX_OK)
        return 0;
    int hex = len >= PREFIX_MIN && len < 40;
    for (size_t i = 0; hex && i < len; i++)
        hex = strchr("0123456789abcdefABCDEF-", id[i]) != NULL;
    if (!hex || icx_store_message_ids(b->store, id, ids, PREFIX_LIST + 1, &n,
                                      &err) < 0 || n == 0)
        return 0; /* status says what it finds for id as given */
    if (n == 1 || strcmp(ids[0], id) == 0) {
        snprintf(full, 40, "%s", ids[0]);
        return 0;
    }
    icx_buf text;
    icx_buf_init(&text, 1 << 16);
    icx_buf_printf(&text, "icx: error: %s is the start of %s%zu MessageIds; "
                   "give more of it:\n", id, n > PREFIX_LIST ? "more than " : "",
                   n > PREFIX_LIST ? (size_t)PREFIX_LIST : n);
    for (size_t i = 0; i < n && i < PREFIX_LIST; i++)
        icx_buf_printf(&text, "  %s\n", ids[i]);
    icx_broker_reply(b, fd, 1, &text);
    return 1;
}

static void status(icx_broker *b, int fd, const icx_ctl_request *req)
{
    const char *given = req->argc > 1 && req->argv[1][0] != '-' ? req->argv[1] : NULL;
    if (given == NULL) {
        /* Without an id: a summary of queue depths. */
        list_box(b, fd, req, 1);
        return;
    }
    char id[40];
    if (resolve_id(b, fd, given, id) != 0)
        return;
    int json = flag(req, "--json");
    icx_buf text;
    icx_err err;
    icx_out_row row;
    icx_buf_init(&text, 8 << 20);
    int have_out = icx_store_out_get(b->store, id, NULL, &row, &err) == ICX_OK;
    struct tl_ctx c = {&text, json, 0};
    char next[32];
    time_str(next, sizeof next, have_out && row.state <= ICX_OUT_SENT
                                    ? row.next_attempt_at : 0);
    if (json) {
        icx_buf_printf(&text, "{\"message_id\":\"%s\"", id);
        if (have_out) {
            icx_buf_printf(&text, ",\"direction\":\"outbound\",\"recipient\":\"%s\","
                           "\"hop\":\"%s\",\"state\":\"%s\",\"attempts\":%d,"
                           "\"next_attempt\":\"%s\",\"reason\":",
                           row.recipient, row.next_hop,
                           icx_out_state_name(row.state), row.attempts, next);
            icx_buf_put_json(&text, row.reason);
        }
        icx_buf_puts(&text, ",\"timeline\":[");
    } else if (have_out) {
        icx_buf_printf(&text, "%s  outbound to %s via %s: %s after %d attempt(s)%s%s\n",
                       id, row.recipient, row.next_hop,
                       icx_out_state_name(row.state), row.attempts,
                       row.reason[0] ? ", reason: " : "", row.reason);
        if (row.state <= ICX_OUT_SENT)
            icx_buf_printf(&text, "  next attempt at %s\n", next);
    } else {
        icx_buf_printf(&text, "%s\n", id);
    }
    icx_store_timeline(b->store, id, tl_line, &c, &err);
    if (c.n == 0 && !have_out) {
        icx_buf_free(&text);
        char msg[160];
        snprintf(msg, sizeof msg, "icx: error: no message %.40s in this "
                 "gateway's store\n", id);
        icx_broker_reply_now(fd, 1, msg);
        return;
    }
    if (json)
        icx_buf_puts(&text, "],\"receipts\":[");
    c.n = 0;
    icx_store_receipts(b->store, id, rc_line, &c, &err);
    if (json)
        icx_buf_puts(&text, "]}\n");
    icx_broker_reply(b, fd, 0, &text);
}

struct depth_ctx {
    const char *hop;
    int64_t depth;
};

static int depth_of(void *ctx, const char *hop, int64_t depth)
{
    struct depth_ctx *d = ctx;
    if (strcmp(d->hop, hop) == 0)
        d->depth = depth;
    return 0;
}

static void partners(icx_broker *b, int fd, const icx_ctl_request *req)
{
    const icx_config *cfg = b->gen->cfg;
    int json = flag(req, "--json");
    icx_buf text;
    icx_err err;
    icx_buf_init(&text, 1 << 20);
    if (json)
        icx_buf_puts(&text, "[");
    else
        icx_buf_printf(&text, "%-10s  %-7s  %-9s  %-9s  %5s  %s\n", "PARTNER",
                       "ADAPTER", "DIRECTION", "REACHABLE", "QUEUE",
                       "LAST-CONTACT");
    for (size_t i = 0; i < cfg->npartners; i++) {
        const icx_partner *p = &cfg->partners[i];
        struct depth_ctx d = {p->id, 0};
        icx_store_out_depths(b->store, depth_of, &d, &err);
        int up = icx_broker_connected(b, p->id);
        struct peer_state *ps = icx_broker_peer(b, p->id);
        char last[32];
        time_str(last, sizeof last, ps ? ps->last_contact : 0);
        const char *dir = p->direction == ICX_DIR_ACCEPT ? "accept" : "connect";
        if (json)
            icx_buf_printf(&text, "%s{\"id\":\"%s\",\"adapter\":\"%s\","
                           "\"direction\":\"%s\",\"route\":\"%s\",\"reachable\":%s,"
                           "\"queue\":%lld,\"last_contact\":\"%s\"}", i ? "," : "",
                           p->id, p->adapter, dir,
                           p->route == ICX_ROUTE_HUB ? "hub" : "direct",
                           up ? "true" : "false", (long long)d.depth, last);
        else
            icx_buf_printf(&text, "%-10s  %-7s  %-9s  %-9s  %5lld  %s\n", p->id,
                           p->adapter, dir, up ? "yes" : "no",
                           (long long)d.depth, last);
    }
    if (json)
        icx_buf_puts(&text, "]\n");
    icx_broker_reply(b, fd, 0, &text);
}

/* ---- health ------------------------------------------------------------ */

struct health {
    icx_buf *text, *problems;
    int json, nproblems;
};

static void problem(struct health *h, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void problem(struct health *h, const char *fmt, ...)
{
    char line[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    if (h->json) {
        icx_buf_puts(h->problems, h->nproblems ? "," : "");
        icx_buf_put_json(h->problems, line);
    } else {
        icx_buf_printf(h->problems, "problem     %s\n", line);
    }
    h->nproblems++;
}

static int depth_sum(void *ctx, const char *hop, int64_t depth)
{
    (void)hop;
    *(int64_t *)ctx += depth;
    return 0;
}

/* `icx health`: what a monitoring probe asks.  Exit 0 when nothing below
 * is wrong, 1 when something is: the store cannot be read; the oldest
 * undelivered message is older than --max-age (default 3600 s); audit
 * records have waited for a checkpoint longer than three
 * checkpoint_seconds; a partner has messages queued to it and has not
 * been reached (never, or not for --max-age). */
static void health(icx_broker *b, int fd, const icx_ctl_request *req)
{
    const icx_config *cfg = b->gen->cfg;
    const char *ma = opt(req, "--max-age");
    char *end = NULL;
    long max_age = ma ? strtol(ma, &end, 10) : 3600;
    if (ma != NULL && (end == ma || *end != '\0' || max_age <= 0)) {
        icx_broker_reply_now(fd, 2, "icx: error: --max-age: a number of "
                                    "seconds above 0\n");
        return;
    }
    icx_buf text, probs;
    icx_err err;
    icx_buf_init(&text, 1 << 20);
    icx_buf_init(&probs, 1 << 20);
    struct health h = {&text, &probs, flag(req, "--json"), 0};
    int64_t now = icx_broker_now();

    /* The store: the queue and the audit log can be read. */
    int64_t depth = 0;
    icx_out_row old;
    int have_old = 0, store_ok = 1;
    int rc = icx_store_out_oldest(b->store, &old, &err);
    if (rc == ICX_OK)
        have_old = 1;
    else if (rc != ICX_ENOTFOUND)
        store_ok = 0;
    icx_checkpoint cp;
    memset(&cp, 0, sizeof cp);
    int have_cp = icx_store_checkpoint_last(b->store, &cp, &err) == ICX_OK;
    uint64_t audit_size = 0;
    if (icx_store_audit_head(b->store, &audit_size, NULL) < 0)
        store_ok = 0;
    /* Every hop's, also one no partner file names any more. */
    if (icx_store_out_depths(b->store, depth_sum, &depth, &err) < 0)
        store_ok = 0;
    if (!store_ok)
        problem(&h, "the store %s cannot be read", icx_store_name(b->store));

    /* Partners: per hop queue depths. */
    if (h.json)
        icx_buf_printf(&text, "{\"store\":\"%s\",\"partners\":[",
                       store_ok ? "ok" : "unreadable");
    else
        icx_buf_printf(&text, "store       %s\n", store_ok ? "ok" : "unreadable");
    for (size_t i = 0; i < cfg->npartners; i++) {
        const icx_partner *p = &cfg->partners[i];
        struct depth_ctx d = {p->id, 0};
        if (icx_store_out_depths(b->store, depth_of, &d, &err) < 0 &&
            store_ok) {
            store_ok = 0;
            problem(&h, "the store %s cannot be read (queue depths)",
                    icx_store_name(b->store));
        }
        int up = icx_broker_connected(b, p->id);
        struct peer_state *ps = icx_broker_peer(b, p->id);
        int64_t lc = ps ? ps->last_contact : 0;
        char last[32];
        time_str(last, sizeof last, lc);
        if (h.json)
            icx_buf_printf(&text, "%s{\"id\":\"%s\",\"connected\":%s,"
                           "\"last_contact\":\"%s\",\"queue\":%lld}",
                           i ? "," : "", p->id, up ? "true" : "false", last,
                           (long long)d.depth);
        else
            icx_buf_printf(&text, "partner     %-10s  %-13s  last contact %s"
                           "  queue %lld\n", p->id,
                           up ? "connected" : "not connected", last,
                           (long long)d.depth);
        if (d.depth > 0 && !up && lc == 0)
            problem(&h, "%s has %lld message(s) queued and has not been "
                    "reached since the daemon started", p->id,
                    (long long)d.depth);
        else if (d.depth > 0 && !up && now - lc > max_age)
            problem(&h, "%s has %lld message(s) queued and was last reached "
                    "%lld s ago", p->id, (long long)d.depth,
                    (long long)(now - lc));
    }
    /* The queue: what waits, and for how long. */
    int64_t age = have_old ? now - old.created_at : 0;
    if (h.json) {
        icx_buf_printf(&text, "],\"queue\":%lld,\"oldest_undelivered\":",
                       (long long)depth);
        if (have_old)
            icx_buf_printf(&text, "{\"message_id\":\"%s\",\"recipient\":"
                           "\"%s\",\"state\":\"%s\",\"age_seconds\":%lld}",
                           old.message_id, old.recipient,
                           icx_out_state_name(old.state), (long long)age);
        else
            icx_buf_puts(&text, "null");
    } else if (have_old) {
        icx_buf_printf(&text, "queue       %lld undelivered, oldest %lld s "
                       "(%s to %s, %s)\n", (long long)depth, (long long)age,
                       old.message_id, old.recipient,
                       icx_out_state_name(old.state));
    } else {
        icx_buf_printf(&text, "queue       %lld undelivered\n",
                       (long long)depth);
    }
    if (have_old && age > max_age)
        problem(&h, "the oldest undelivered message (%s to %s) is %lld s old, "
                "above --max-age %ld", old.message_id, old.recipient,
                (long long)age, max_age);
    /* Checkpoints: records waiting for one too long, counted from the
     * last one committed (or this daemon's start), whatever the reason
     * none came since (a signing or store failure is retried later). */
    uint64_t uncovered = audit_size > cp.size ? audit_size - cp.size : 0;
    time_t cp_at = 0;
    if (have_cp && icx_time_parse(&cp_at, cp.time) < 0)
        cp_at = 0;
    int64_t waiting_since = (int64_t)cp_at > b->started_at ? (int64_t)cp_at
                                                           : b->started_at;
    if (h.json)
        icx_buf_printf(&text, ",\"checkpoint\":{\"time\":\"%s\",\"size\":%llu,"
                       "\"uncovered\":%llu}", have_cp ? cp.time : "-",
                       (unsigned long long)cp.size,
                       (unsigned long long)uncovered);
    else if (have_cp)
        icx_buf_printf(&text, "checkpoint  %s, covers %llu records (%llu "
                       "since)\n", cp.time, (unsigned long long)cp.size,
                       (unsigned long long)uncovered);
    else
        icx_buf_printf(&text, "checkpoint  none yet (%llu records since the "
                       "log began)\n", (unsigned long long)uncovered);
    if (uncovered > 0 && now - waiting_since > 3 * cfg->checkpoint_seconds)
        problem(&h, "%llu audit record(s) have waited %lld s for a checkpoint "
                "(checkpoint_seconds %ld)", (unsigned long long)uncovered,
                (long long)(now - waiting_since), cfg->checkpoint_seconds);
    if (h.json) {
        icx_buf_printf(&text, ",\"healthy\":%s,\"problems\":[",
                       h.nproblems ? "false" : "true");
        icx_buf_append(&text, probs.data ? probs.data : "", probs.len);
        icx_buf_puts(&text, "]}\n");
    } else {
        icx_buf_append(&text, probs.data ? probs.data : "", probs.len);
        icx_buf_printf(&text, "health      %s\n",
                       h.nproblems ? "NOT OK" : "ok");
    }
    icx_buf_free(&probs);
    icx_broker_reply(b, fd, h.nproblems ? 1 : 0, &text);
}

void icx_broker_control(icx_broker *b, int fd)
{
    icx_ctl_request req;
    icx_err err;
    const icx_config *cfg = b->gen->cfg;
    if (icx_ctl_read_request(&req, fd, (size_t)cfg->max_message_bytes, &err) < 0) {
        char msg[600];
        snprintf(msg, sizeof msg, "icx: error: %s\n", err.msg);
        icx_broker_reply_now(fd, err.rc == ICX_EFULL ? 1 : 2, msg);
        return;
    }
    const char *cmd = req.argv[0];
    const char *user = opt(&req, "--user");
    if (strcmp(cmd, "submit") == 0) {
        icx_broker_audit(b, "operator.command", NULL, NULL, "command=submit "
                         "user=%s files=%d", user ? user : "-", req.nblobs);
        submit(b, fd, &req);
        return;
    }
    icx_broker_audit(b, "operator.command", NULL, NULL, "command=%.32s user=%s",
                     cmd, user ? user : "-");
    if (strcmp(cmd, "status") == 0)
        status(b, fd, &req);
    else if (strcmp(cmd, "outbox") == 0)
        list_box(b, fd, &req, 1);
    else if (strcmp(cmd, "inbox") == 0)
        list_box(b, fd, &req, 0);
    else if (strcmp(cmd, "partners") == 0)
        partners(b, fd, &req);
    else if (strcmp(cmd, "health") == 0)
        health(b, fd, &req);
    else {
        char msg[128];
        snprintf(msg, sizeof msg, "icx: error: unknown control command \"%.40s\"\n",
                 cmd);
        icx_broker_reply_now(fd, 2, msg);
    }
    icx_ctl_request_free(&req);
}
