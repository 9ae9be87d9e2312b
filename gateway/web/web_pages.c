/*
 * web_pages.c - the dashboard's pages, server-rendered HTML that works
 * without JavaScript: overview, messages (search and one message's
 * timeline with its receipts), partners, lists, surveys, audit.
 *
 * They read what `icx status|outbox|inbox|partners|health`, `icx lists
 * status`, `icx survey status` and `icx audit verify` read, through the
 * same store, lists and survey functions, on the server's read-only
 * connection; live state (connected, last contact) comes from the loop's
 * snapshot.  Every value is escaped (web_put_html); lists of rows are
 * bounded (WEB_ROWS shown, WEB_SCAN examined for a search).
 *
 * Searching by case reference reads the stored case envelopes among the
 * newest WEB_SCAN messages and asks icx_envelope_names_case, as `icx
 * status --case` does (a scan: no index holds payload fields).
 *
 * Ownership: writes into the reply.  Threads: the server's.  Failures:
 * a store that cannot be read gives ICX_ESTORE (500); an unknown path
 * ICX_ENOTFOUND (404).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "envelope.h"
#include "survey.h"
#include "util.h"
#include "web_int.h"

#define WEB_ROWS 100
#define WEB_SCAN 2000
#define WEB_Q_MAX 128
#define WEB_DUE 256

static const char *lang_q(const web_view *v)
{
    return v->lang == WEB_JA ? "ja" : "en";
}

static void th(icx_buf *b, const web_view *v, const char *key)
{
    icx_buf_puts(b, "<th>");
    web_put_html(b, web_label(v->lang, key));
    icx_buf_puts(b, "</th>");
}

static void td(icx_buf *b, const char *s)
{
    icx_buf_puts(b, "<td>");
    web_put_html(b, s);
    icx_buf_puts(b, "</td>");
}

static void td_num(icx_buf *b, long long n)
{
    icx_buf_printf(b, "<td class=\"num\">%lld</td>", n);
}

static void td_time(icx_buf *b, int64_t t)
{
    char s[32];
    web_time(s, sizeof s, t);
    icx_buf_printf(b, "<td class=\"mono\">%s</td>", s);
}

static void td_state(icx_buf *b, const char *state)
{
    icx_buf_printf(b, "<td class=\"s-%s\">", state);
    web_put_html(b, state);
    icx_buf_puts(b, "</td>");
}

/* A link to a message's page. */
static void td_msg(icx_buf *b, const web_view *v, const char *id)
{
    icx_buf_puts(b, "<td class=\"mono\"><a href=\"/message?id=");
    web_put_url(b, id);
    icx_buf_printf(b, "&amp;lang=%s\">", lang_q(v));
    web_put_html(b, id);
    icx_buf_puts(b, "</a></td>");
}

/* A query parameter no longer than WEB_Q_MAX, else NULL ("" is NULL). */
static const char *q(const web_view *v, const char *name)
{
    const char *s = icx_web_query(v->req, name);
    if (s == NULL || s[0] == '\0' || strlen(s) > WEB_Q_MAX)
        return NULL;
    return s;
}

/* ---- overview ---------------------------------------------------------- */

struct totals {
    int64_t out[5], in[3];
};

static int total_out(void *ctx, const char *a, const char *b, const char *c,
                     int64_t n, int64_t sum)
{
    struct totals *t = ctx;
    (void)a;
    (void)c;
    (void)sum;
    for (int i = 0; i < 5; i++)
        if (strcmp(b, icx_out_state_name(i)) == 0)
            t->out[i] += n;
    return 0;
}

static int total_in(void *ctx, const char *a, const char *b, const char *c,
                    int64_t n, int64_t sum)
{
    struct totals *t = ctx;
    (void)a;
    (void)c;
    (void)sum;
    for (int i = 0; i < 3; i++)
        if (strcmp(b, icx_in_state_name(i)) == 0)
            t->in[i] += n;
    return 0;
}

static int page_overview(icx_buf *b, const web_view *v)
{
    icx_err err;
    struct totals t;
    memset(&t, 0, sizeof t);
    if (icx_store_counts(v->store, ICX_COUNT_OUT, total_out, &t, &err) < 0 ||
        icx_store_counts(v->store, ICX_COUNT_IN, total_in, &t, &err) < 0)
        return ICX_ESTORE;
    web_page_begin(b, v, "overview", "/");
    char started[32];
    web_time(started, sizeof started, v->live->have
                                          ? v->live->live.started_at : 0);
    icx_buf_puts(b, "<table>\n<tr>");
    th(b, v, "gateway");
    td(b, v->live->have ? v->live->live.id : "");
    icx_buf_puts(b, "</tr>\n<tr>");
    th(b, v, "started");
    icx_buf_printf(b, "<td class=\"mono\">%s</td></tr>\n</table>\n", started);
    icx_buf_puts(b, "<h2>");
    web_put_html(b, web_label(v->lang, "outbound"));
    icx_buf_puts(b, "</h2>\n<table><tr>");
    for (int i = 0; i < 5; i++)
        icx_buf_printf(b, "<th class=\"s-%s\">%s</th>", icx_out_state_name(i),
                       icx_out_state_name(i));
    icx_buf_puts(b, "</tr>\n<tr>");
    for (int i = 0; i < 5; i++) {
        icx_buf_printf(b, "<td class=\"num\"><a href=\"/messages?state=%s"
                       "&amp;lang=%s\">%lld</a></td>", icx_out_state_name(i),
                       lang_q(v), (long long)t.out[i]);
    }
    icx_buf_puts(b, "</tr></table>\n<h2>");
    web_put_html(b, web_label(v->lang, "inbound"));
    icx_buf_puts(b, "</h2>\n<table><tr>");
    for (int i = 0; i < 3; i++)
        icx_buf_printf(b, "<th class=\"s-%s\">%s</th>", icx_in_state_name(i),
                       icx_in_state_name(i));
    icx_buf_puts(b, "</tr>\n<tr>");
    for (int i = 0; i < 3; i++)
        td_num(b, (long long)t.in[i]);
    icx_buf_puts(b, "</tr></table>\n");
    icx_out_row old;
    int rc = icx_store_out_oldest(v->store, &old, &err);
    if (rc < 0 && rc != ICX_ENOTFOUND)
        return ICX_ESTORE;
    icx_buf_puts(b, "<p>");
    web_put_html(b, web_label(v->lang, "oldest"));
    icx_buf_puts(b, ": ");
    if (rc == ICX_OK) {
        icx_buf_puts(b, "<a class=\"mono\" href=\"/message?id=");
        web_put_url(b, old.message_id);
        icx_buf_printf(b, "&amp;lang=%s\">", lang_q(v));
        web_put_html(b, old.message_id);
        icx_buf_printf(b, "</a> (%lld s)", (long long)(v->now - old.created_at));
    } else {
        web_put_html(b, web_label(v->lang, "none"));
    }
    icx_buf_puts(b, "</p>\n");
    return web_page_end(b, v);
}

/* ---- messages ---------------------------------------------------------- */

/* Whether a stored case message names ref (as `icx status --case`). */
static int names_case(const char *category, const icx_buf *env,
                      const char *ref)
{
    icx_err err;
    return strncmp(category, "case-", 5) == 0 &&
           icx_envelope_names_case(env->data, env->len, ref, &err) == 1;
}

struct search {
    const web_view *v;
    icx_buf *b;
    const char *partner, *prefix, *ref;
    int shown, scanned;
    icx_buf env;
};

static int prefix_ok(const char *id, const char *prefix)
{
    return prefix == NULL || strncasecmp(id, prefix, strlen(prefix)) == 0;
}

/* 1 stop the walk, 0 skip the row, 2 show it: the scan and row bounds,
 * the MessageId prefix, the partner on either side of the row (a, b),
 * then, when a case reference is searched, the row's envelope (inbound:
 * the inbox's, sent by a; otherwise the outbox's, to next hop b). */
static int search_row(struct search *s, int inbound, const char *id,
                      const char *a, const char *b, const char *category)
{
    icx_err err;
    if (++s->scanned > WEB_SCAN || s->shown >= WEB_ROWS)
        return 1;
    if (!prefix_ok(id, s->prefix) ||
        (s->partner != NULL && strcmp(a, s->partner) != 0 &&
         strcmp(b, s->partner) != 0))
        return 0;
    if (s->ref == NULL)
        return 2;
    icx_buf_reset(&s->env);
    int rc = inbound
                 ? icx_store_in_envelope(s->v->store, a, id, &s->env, &err)
                 : icx_store_out_envelope(s->v->store, id, b, &s->env, &err);
    return rc == ICX_OK && names_case(category, &s->env, s->ref) ? 2 : 0;
}

static int search_out(void *ctx, const icx_out_row *r)
{
    struct search *s = ctx;
    int k = search_row(s, 0, r->message_id, r->recipient, r->next_hop,
                       r->category);
    if (k != 2)
        return k;
    icx_buf *b = s->b;
    icx_buf_puts(b, "<tr>");
    td_msg(b, s->v, r->message_id);
    td_state(b, icx_out_state_name(r->state));
    td(b, r->recipient);
    td(b, r->next_hop);
    td(b, r->category);
    td_num(b, r->attempts);
    td_time(b, r->created_at);
    td(b, r->reason);
    icx_buf_puts(b, "</tr>\n");
    s->shown++;
    return 0;
}

static int search_in(void *ctx, const icx_in_row *r)
{
    struct search *s = ctx;
    int k = search_row(s, 1, r->message_id, r->sender, r->peer, r->category);
    if (k != 2)
        return k;
    icx_buf *b = s->b;
    icx_buf_puts(b, "<tr>");
    td_msg(b, s->v, r->message_id);
    td_state(b, icx_in_state_name(r->state));
    td(b, r->sender);
    td(b, r->peer);
    td(b, r->category);
    td_time(b, r->received_at);
    td(b, r->reason);
    icx_buf_puts(b, "</tr>\n");
    s->shown++;
    return 0;
}

static void input(icx_buf *b, const web_view *v, const char *key,
                  const char *name, const char *value)
{
    icx_buf_puts(b, "<label>");
    web_put_html(b, web_label(v->lang, key));
    icx_buf_printf(b, " <input name=\"%s\" value=\"", name);
    web_put_html(b, value);
    icx_buf_puts(b, "\" maxlength=\"128\"></label>\n");
}

static int page_messages(icx_buf *b, const web_view *v)
{
    icx_err err;
    const char *state = q(v, "state");
    int out_state = -1, in_state = -1, want_out = 1, want_in = 1;
    if (state != NULL) {
        want_out = want_in = 0;
        for (int i = 0; i < 5; i++)
            if (strcmp(state, icx_out_state_name(i)) == 0) {
                out_state = i;
                want_out = 1;
            }
        for (int i = 0; i < 3; i++)
            if (strcmp(state, icx_in_state_name(i)) == 0) {
                in_state = i;
                want_in = 1;
            }
    }
    struct search s = {v, b, q(v, "partner"), q(v, "id"), q(v, "ref"), 0, 0,
                       {0}};
    icx_buf_init(&s.env, (size_t)64 << 20);
    web_page_begin(b, v, "messages", "/messages");
    icx_buf_printf(b, "<form method=\"get\" action=\"/messages\">\n"
                   "<input type=\"hidden\" name=\"lang\" value=\"%s\">\n",
                   lang_q(v));
    input(b, v, "case_ref", "ref", s.ref);
    input(b, v, "id_prefix", "id", s.prefix);
    input(b, v, "partner", "partner", s.partner);
    icx_buf_puts(b, "<label>");
    web_put_html(b, web_label(v->lang, "state"));
    icx_buf_puts(b, " <select name=\"state\"><option value=\"\">");
    web_put_html(b, web_label(v->lang, "any"));
    icx_buf_puts(b, "</option>");
    static const char *const states[] = {"queued", "sent", "delivered",
                                         "failed", "refused", "accepted",
                                         "rejected"};
    for (size_t i = 0; i < sizeof states / sizeof states[0]; i++)
        icx_buf_printf(b, "<option%s>%s</option>",
                       state && strcmp(state, states[i]) == 0 ? " selected" : "",
                       states[i]);
    icx_buf_puts(b, "</select></label>\n<button type=\"submit\">");
    web_put_html(b, web_label(v->lang, "search"));
    icx_buf_puts(b, "</button>\n</form>\n");
    int rc = ICX_OK;
    if (want_out) {
        icx_buf_puts(b, "<h2>");
        web_put_html(b, web_label(v->lang, "outbound"));
        icx_buf_printf(b, "</h2>\n<table id=\"outbound\">\n<tr>");
        static const char *const cols[] = {"message_id", "state", "recipient",
                                           "hop", "category", "attempts",
                                           "created", "reason"};
        for (size_t i = 0; i < 8; i++)
            th(b, v, cols[i]);
        icx_buf_puts(b, "</tr>\n");
        if (icx_store_out_list(v->store, out_state, WEB_SCAN, search_out, &s,
                               &err) < 0)
            rc = ICX_ESTORE;
        icx_buf_puts(b, "</table>\n");
    }
    if (want_in && rc == ICX_OK) {
        s.shown = s.scanned = 0;
        icx_buf_puts(b, "<h2>");
        web_put_html(b, web_label(v->lang, "inbound"));
        icx_buf_printf(b, "</h2>\n<table id=\"inbound\">\n<tr>");
        static const char *const cols[] = {"message_id", "state", "sender",
                                           "partner", "category", "received",
                                           "reason"};
        for (size_t i = 0; i < 7; i++)
            th(b, v, cols[i]);
        icx_buf_puts(b, "</tr>\n");
        if (icx_store_in_list(v->store, in_state, WEB_SCAN, search_in, &s,
                              &err) < 0)
            rc = ICX_ESTORE;
        icx_buf_puts(b, "</table>\n");
    }
    icx_buf_free(&s.env);
    if (rc < 0)
        return rc;
    icx_buf_puts(b, "<p>");
    web_put_html(b, web_label(v->lang, "shown"));
    icx_buf_printf(b, " %d.</p>\n", WEB_ROWS);
    return web_page_end(b, v);
}

struct tl {
    const web_view *v;
    icx_buf *b;
    int n;
};

static int tl_row(void *ctx, const icx_audit_row *r)
{
    struct tl *t = ctx;
    icx_buf_printf(t->b, "<tr><td class=\"num\">%lld</td>", (long long)r->seq);
    icx_buf_puts(t->b, "<td class=\"mono\">");
    web_put_html(t->b, r->ts);
    icx_buf_puts(t->b, "</td>");
    td(t->b, r->event);
    td(t->b, r->partner);
    icx_buf_puts(t->b, "<td class=\"mono\">");
    web_put_html(t->b, r->detail);
    icx_buf_puts(t->b, "</td></tr>\n");
    t->n++;
    return 0;
}

static int rc_row(void *ctx, const icx_receipt_row *r, const void *env,
                  size_t len)
{
    struct tl *t = ctx;
    (void)env;
    (void)len;
    icx_buf_puts(t->b, "<tr>");
    td(t->b, r->issuer);
    icx_buf_printf(t->b, "<td class=\"%s\">", r->positive ? "ok" : "bad");
    web_put_html(t->b, web_label(t->v->lang, r->positive ? "positive"
                                                          : "negative"));
    icx_buf_puts(t->b, "</td>");
    td(t->b, web_label(t->v->lang, r->hop ? "hop_receipt" : "final"));
    td(t->b, r->reason);
    td_time(t->b, r->received_at);
    icx_buf_puts(t->b, "</tr>\n");
    t->n++;
    return 0;
}

static int page_message(icx_buf *b, const web_view *v)
{
    icx_err err;
    const char *given = q(v, "id");
    char id[40] = "";
    char ids[2][40];
    size_t n = 0;
    icx_out_row row;
    /* As `icx status`: the id itself, else the one id it begins. */
    if (given != NULL && strlen(given) < sizeof id) {
        snprintf(id, sizeof id, "%s", given);
        if (icx_store_out_get(v->store, id, NULL, &row, &err) != ICX_OK &&
            strlen(given) >= 8 &&
            icx_store_message_ids(v->store, given, ids, 2, &n, &err) == 0 &&
            n == 1)
            snprintf(id, sizeof id, "%s", ids[0]);
    }
    web_page_begin(b, v, "message", "/messages");
    icx_buf_puts(b, "<p class=\"mono\" id=\"message-id\">");
    web_put_html(b, id);
    icx_buf_puts(b, "</p>\n");
    int have_out = id[0] &&
                   icx_store_out_get(v->store, id, NULL, &row, &err) == ICX_OK;
    if (have_out) {
        char next[32];
        web_time(next, sizeof next,
                 row.state <= ICX_OUT_SENT ? row.next_attempt_at : 0);
        icx_buf_puts(b, "<table>\n<tr>");
        th(b, v, "state");
        td_state(b, icx_out_state_name(row.state));
        icx_buf_puts(b, "</tr>\n<tr>");
        th(b, v, "recipient");
        td(b, row.recipient);
        icx_buf_puts(b, "</tr>\n<tr>");
        th(b, v, "hop");
        td(b, row.next_hop);
        icx_buf_puts(b, "</tr>\n<tr>");
        th(b, v, "category");
        td(b, row.category);
        icx_buf_puts(b, "</tr>\n<tr>");
        th(b, v, "attempts");
        td_num(b, row.attempts);
        icx_buf_puts(b, "</tr>\n<tr>");
        th(b, v, "next_attempt");
        icx_buf_printf(b, "<td class=\"mono\">%s</td></tr>\n<tr>", next);
        th(b, v, "reason");
        td(b, row.reason);
        icx_buf_puts(b, "</tr>\n</table>\n");
    }
    struct tl t = {v, b, 0};
    icx_buf_puts(b, "<h2>");
    web_put_html(b, web_label(v->lang, "timeline"));
    icx_buf_puts(b, "</h2>\n<table id=\"timeline\">\n<tr><th>#</th>");
    th(b, v, "time");
    th(b, v, "event");
    th(b, v, "partner");
    th(b, v, "detail");
    icx_buf_puts(b, "</tr>\n");
    if (id[0] && icx_store_timeline(v->store, id, tl_row, &t, &err) < 0)
        return ICX_ESTORE;
    icx_buf_puts(b, "</table>\n");
    if (t.n == 0 && !have_out) {
        icx_buf_puts(b, "<p class=\"warn\">");
        web_put_html(b, web_label(v->lang, "no_message"));
        icx_buf_puts(b, "</p>\n");
    }
    t.n = 0;
    icx_buf_puts(b, "<h2>");
    web_put_html(b, web_label(v->lang, "receipts"));
    icx_buf_puts(b, "</h2>\n<table id=\"receipts\">\n<tr>");
    th(b, v, "issuer");
    th(b, v, "state");
    th(b, v, "hop");
    th(b, v, "reason");
    th(b, v, "received");
    icx_buf_puts(b, "</tr>\n");
    if (id[0] && icx_store_receipts(v->store, id, rc_row, &t, &err) < 0)
        return ICX_ESTORE;
    icx_buf_puts(b, "</table>\n");
    return web_page_end(b, v);
}

/* ---- partners ---------------------------------------------------------- */

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

static int page_partners(icx_buf *b, const web_view *v)
{
    icx_err err;
    const icx_live *live = &v->live->live;
    icx_out_row *due = calloc(WEB_DUE, sizeof *due);
    if (due == NULL)
        return ICX_ENOMEM;
    web_page_begin(b, v, "partners", "/partners");
    icx_buf_puts(b, "<table id=\"partners\">\n<tr>");
    static const char *const cols[] = {"partner", "connected", "adapter",
                                       "route", "queue", "oldest",
                                       "next_attempt", "last_contact",
                                       "retry"};
    for (size_t i = 0; i < sizeof cols / sizeof cols[0]; i++)
        th(b, v, cols[i]);
    icx_buf_puts(b, "</tr>\n");
    for (size_t i = 0; v->live->have && i < live->npeers; i++) {
        const icx_peer_live *p = &live->peers[i];
        struct depth_ctx d = {p->id, 0};
        if (icx_store_out_depths(v->store, depth_of, &d, &err) < 0) {
            free(due);
            return ICX_ESTORE;
        }
        /* Its undelivered rows in the order they are due (the retry
         * queue): the first is the next attempt; the oldest among the
         * first WEB_DUE is its oldest (exact while the queue is shorter). */
        size_t n = 0;
        if (icx_store_out_due(v->store, INT64_MAX, p->id, due, WEB_DUE, &n,
                              &err) < 0) {
            free(due);
            return ICX_ESTORE;
        }
        size_t old = 0;
        for (size_t k = 1; k < n; k++)
            if (due[k].created_at < due[old].created_at)
                old = k;
        icx_buf_printf(b, "<tr id=\"p-%s\">", p->id);
        td(b, p->id);
        icx_buf_printf(b, "<td class=\"%s\">", p->connected ? "ok" : "warn");
        web_put_html(b, web_label(v->lang, p->connected ? "yes" : "no"));
        icx_buf_puts(b, "</td>");
        td(b, p->adapter);
        td(b, p->route == ICX_ROUTE_HUB ? "hub" : "direct");
        td_num(b, (long long)d.depth);
        if (n > 0) {
            td_msg(b, v, due[old].message_id);
            td_time(b, due[0].next_attempt_at);
        } else {
            td(b, "-");
            td(b, "-");
        }
        td_time(b, p->last_contact);
        char retry[200];
        snprintf(retry, sizeof retry, web_label(v->lang, "retry_fmt"),
                 p->retry_initial_s, p->retry_max_s, p->max_age_s);
        td(b, retry);
        icx_buf_puts(b, "</tr>\n");
    }
    free(due);
    icx_buf_puts(b, "</table>\n");
    return web_page_end(b, v);
}

/* ---- lists ------------------------------------------------------------- */

static int list_row(void *ctx, const icx_lists_lag *l)
{
    struct tl *t = ctx;
    icx_buf *b = t->b;
    icx_buf_puts(b, "<tr>");
    td(b, l->list);
    td_num(b, (long long)l->head);
    td(b, l->partner);
    if (l->holds >= 0) {
        td_num(b, (long long)l->holds);
        icx_buf_printf(b, "<td class=\"num %s\">%lld</td>",
                       l->head > l->holds ? "warn" : "ok",
                       (long long)(l->head - l->holds));
    } else {
        td(b, "-");
        td(b, l->snapshot ? "snapshot" : "-");
    }
    td_time(b, l->last_pull);
    td(b, l->last_answer);
    icx_buf_puts(b, "</tr>\n");
    t->n++;
    return 0;
}

static int page_lists(icx_buf *b, const web_view *v)
{
    icx_err err;
    web_page_begin(b, v, "lists", "/lists");
    struct tl t = {v, b, 0};
    if (v->lists != NULL) {
        icx_buf_puts(b, "<table id=\"lists\">\n<tr>");
        static const char *const cols[] = {"list", "serial", "partner",
                                           "holds", "lag", "last_pull",
                                           "last_answer"};
        for (size_t i = 0; i < sizeof cols / sizeof cols[0]; i++)
            th(b, v, cols[i]);
        icx_buf_puts(b, "</tr>\n");
        if (icx_lists_lag_each(v->lists, v->lists_conf, list_row, &t,
                               &err) < 0)
            return ICX_ESTORE;
        icx_buf_puts(b, "</table>\n");
    }
    if (t.n == 0) {
        icx_buf_puts(b, "<p>");
        web_put_html(b, web_label(v->lang, "no_lists"));
        icx_buf_puts(b, "</p>\n");
    }
    return web_page_end(b, v);
}

/* ---- surveys ----------------------------------------------------------- */

struct rounds {
    const web_view *v;
    icx_buf *b;
    icx_survey_record *rec;
    int n;
};

static int round_table(void *ctx, const char *round, int64_t sent_at)
{
    struct rounds *c = ctx;
    icx_buf *b = c->b;
    const web_view *v = c->v;
    icx_survey_round *r = NULL;
    icx_err err;
    (void)sent_at;
    if (c->n >= 20)
        return 1;
    if (icx_survey_record_load(c->rec, round, &r, &err) < 0)
        return 0;
    c->n++;
    icx_buf_puts(b, "<h2>");
    web_put_html(b, web_label(v->lang, "round"));
    icx_buf_puts(b, " <span class=\"mono\">");
    web_put_html(b, round);
    icx_buf_puts(b, "</span>");
    if (r->request->title != NULL) {
        icx_buf_puts(b, ": ");
        web_put_html(b, r->request->title);
    }
    icx_buf_puts(b, "</h2>\n<p>");
    web_put_html(b, web_label(v->lang, "deadline"));
    icx_buf_puts(b, ": <span class=\"mono\">");
    web_put_html(b, r->request->deadline);
    icx_buf_puts(b, "</span></p>\n<table class=\"survey\">\n<tr>");
    th(b, v, "partner");
    th(b, v, "state");
    th(b, v, "received");
    th(b, v, "reason");
    icx_buf_puts(b, "</tr>\n");
    time_t deadline = 0;
    int have_deadline = r->request->deadline != NULL &&
                        (icx_date_parse(&deadline, r->request->deadline) == 0 ||
                         icx_time_parse(&deadline, r->request->deadline) == 0);
    for (size_t i = 0; i < r->nparties; i++) {
        const icx_survey_party *p = &r->parties[i];
        const char *st, *cls;
        if (p->answer != NULL) {
            st = "answered";
            cls = "ok";
        } else if (p->rejected[0]) {
            st = "rejected";
            cls = "bad";
        } else if (have_deadline && v->now > deadline) {
            st = "late";
            cls = "bad";
        } else {
            st = "waiting";
            cls = "warn";
        }
        icx_buf_puts(b, "<tr>");
        td(b, p->agency);
        icx_buf_printf(b, "<td class=\"%s\">", cls);
        web_put_html(b, web_label(v->lang, st));
        icx_buf_puts(b, "</td>");
        td_time(b, p->answer ? p->answered_at : p->rejected_at);
        td(b, p->answer ? "" : p->rejected);
        icx_buf_puts(b, "</tr>\n");
    }
    icx_buf_puts(b, "</table>\n");
    icx_survey_round_free(&r);
    return 0;
}

static int page_surveys(icx_buf *b, const web_view *v)
{
    icx_err err;
    struct rounds c = {v, b, NULL, 0};
    const char *self = v->live->have ? v->live->live.id : "";
    if (icx_survey_record_new(&c.rec, v->store, self, &err) < 0)
        return ICX_ESTORE;
    web_page_begin(b, v, "surveys", "/surveys");
    int rc = icx_survey_record_rounds(c.rec, round_table, &c, &err);
    icx_survey_record_free(&c.rec);
    if (rc < 0)
        return ICX_ESTORE;
    if (c.n == 0) {
        icx_buf_puts(b, "<p>");
        web_put_html(b, web_label(v->lang, "no_surveys"));
        icx_buf_puts(b, "</p>\n");
    }
    return web_page_end(b, v);
}

/* ---- audit ------------------------------------------------------------- */

static void verify_now(const web_view *v, uint64_t size)
{
    struct web_verify *vf = v->verify;
    if (vf->at != 0 && (vf->size == size || v->now - vf->at < WEB_VERIFY_EVERY_S))
        return;
    icx_err err;
    icx_err_clear(&err);
    memset(&vf->rep, 0, sizeof vf->rep);
    vf->rc = icx_store_audit_verify_with(v->store, v->cert_pem, v->cert_len,
                                         &vf->rep, &err);
    snprintf(vf->msg, sizeof vf->msg, "%.200s", vf->rc == ICX_OK ? "" : err.msg);
    vf->at = v->now;
    vf->size = size;
}

static int page_audit(icx_buf *b, const web_view *v)
{
    icx_err err;
    uint64_t size = 0;
    char root[65] = "";
    if (icx_store_audit_head(v->store, &size, root) < 0)
        return ICX_ESTORE;
    icx_checkpoint cp;
    memset(&cp, 0, sizeof cp);
    int rc = icx_store_checkpoint_last(v->store, &cp, &err);
    if (rc < 0 && rc != ICX_ENOTFOUND)
        return ICX_ESTORE;
    verify_now(v, size);
    web_page_begin(b, v, "audit", "/audit");
    icx_buf_puts(b, "<table id=\"audit\">\n<tr>");
    th(b, v, "records");
    icx_buf_printf(b, "<td class=\"num\" id=\"records\">%llu</td></tr>\n<tr>",
                   (unsigned long long)size);
    th(b, v, "root");
    icx_buf_puts(b, "<td class=\"mono\">");
    web_put_html(b, root);
    icx_buf_puts(b, "</td></tr>\n<tr>");
    th(b, v, "last_checkpoint");
    if (rc == ICX_OK) {
        icx_buf_puts(b, "<td class=\"mono\">");
        web_put_html(b, cp.time);
        icx_buf_puts(b, "</td></tr>\n<tr>");
        th(b, v, "covers");
        td_num(b, (long long)cp.size);
        icx_buf_puts(b, "</tr>\n<tr>");
        th(b, v, "since_checkpoint");
        td_num(b, (long long)(size > cp.size ? size - cp.size : 0));
    } else {
        td(b, web_label(v->lang, "none"));
    }
    icx_buf_puts(b, "</tr>\n<tr>");
    th(b, v, "verify");
    const struct web_verify *vf = v->verify;
    char at[32];
    web_time(at, sizeof at, vf->at);
    icx_buf_printf(b, "<td id=\"verify\" class=\"%s\">",
                   vf->rc == ICX_OK ? "ok" : "bad");
    web_put_html(b, web_label(v->lang, vf->rc == ICX_OK ? "verify_ok"
                                                         : "verify_bad"));
    icx_buf_printf(b, " (%llu, %llu; %s) ",
                   (unsigned long long)vf->rep.records,
                   (unsigned long long)vf->rep.checkpoints, at);
    web_put_html(b, vf->msg);
    icx_buf_puts(b, "</td></tr>\n</table>\n");
    return web_page_end(b, v);
}

int web_page(icx_web_reply *r, const web_view *v, const char *path)
{
    static const struct {
        const char *path;
        int (*fn)(icx_buf *, const web_view *);
    } pages[] = {
        {"/", page_overview},       {"/messages", page_messages},
        {"/message", page_message}, {"/partners", page_partners},
        {"/lists", page_lists},     {"/surveys", page_surveys},
        {"/audit", page_audit},
    };
    for (size_t i = 0; i < sizeof pages / sizeof pages[0]; i++) {
        if (strcmp(path, pages[i].path) != 0)
            continue;
        icx_web_reply_type(r, "text/html; charset=utf-8");
        return pages[i].fn(&r->body, v);
    }
    return ICX_ENOTFOUND;
}
