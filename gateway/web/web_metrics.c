/*
 * web_metrics.c - /metrics in the OpenMetrics text format
 * (application/openmetrics-text; version=1.0.0), ending with "# EOF".
 *
 * Counts come from the store through the read-only connection (one
 * aggregate statement per family, icx_store_counts, and the functions
 * `icx health` uses); what only the running loop knows (connections,
 * commit latencies) from its last snapshot; list lag from the lists
 * store's status walk.  docs/DASHBOARD.md lists every family.
 *
 * Ownership: writes into the caller's buffer.  Threads: the server's.
 * Failures: < 0 with err set when the store cannot be read; the caller
 * answers 500 rather than a partial exposition.
 */
#include <stdio.h>
#include <string.h>

#include "web_int.h"

/* A label value: backslash, double quote and newline escaped. */
static void put_label(icx_buf *b, const char *name, const char *value,
                      int first)
{
    icx_buf_printf(b, "%s%s=\"", first ? "" : ",", name);
    for (const char *p = value ? value : ""; *p != '\0'; p++) {
        if (*p == '\\')
            icx_buf_puts(b, "\\\\");
        else if (*p == '"')
            icx_buf_puts(b, "\\\"");
        else if (*p == '\n')
            icx_buf_puts(b, "\\n");
        else
            icx_buf_append(b, p, 1);
    }
    icx_buf_puts(b, "\"");
}

static void family(icx_buf *b, const char *name, const char *type,
                   const char *unit, const char *help)
{
    icx_buf_printf(b, "# TYPE %s %s\n", name, type);
    if (unit != NULL)
        icx_buf_printf(b, "# UNIT %s %s\n", name, unit);
    icx_buf_printf(b, "# HELP %s %s\n", name, help);
}

struct walk {
    icx_buf *b;
    const char *sample;
    const char *la, *lb, *lc;   /* label names for a, b, c (NULL: none) */
    int sum;                    /* the value is the row's sum, not n */
};

static int sample_row(void *ctx, const char *a, const char *b, const char *c,
                      int64_t n, int64_t sum)
{
    struct walk *w = ctx;
    icx_buf_printf(w->b, "%s{", w->sample);
    put_label(w->b, w->la, a, 1);
    if (w->lb != NULL)
        put_label(w->b, w->lb, b, 0);
    if (w->lc != NULL)
        put_label(w->b, w->lc, c, 0);
    icx_buf_printf(w->b, "} %lld\n", (long long)(w->sum ? sum : n));
    return 0;
}

/* Retries per hop: the OUT walk groups by (hop, state); sum by hop. */
struct retries {
    icx_buf *b;
    char hop[64];
    int64_t total;
    int any;
};

static void retries_flush(struct retries *r)
{
    if (!r->any)
        return;
    icx_buf_puts(r->b, "icx_outbound_retries_total{");
    put_label(r->b, "partner", r->hop, 1);
    icx_buf_printf(r->b, "} %lld\n", (long long)r->total);
}

static int retries_row(void *ctx, const char *a, const char *b,
                       const char *c, int64_t n, int64_t sum)
{
    struct retries *r = ctx;
    (void)b;
    (void)c;
    (void)n;
    if (r->any && strcmp(r->hop, a) != 0) {
        retries_flush(r);
        r->any = 0;
    }
    if (!r->any) {
        snprintf(r->hop, sizeof r->hop, "%s", a);
        r->total = 0;
        r->any = 1;
    }
    r->total += sum;
    return 0;
}

struct out_walk {
    struct walk w;
    struct retries *r;
};

static int out_row(void *ctx, const char *a, const char *b, const char *c,
                   int64_t n, int64_t sum)
{
    struct out_walk *o = ctx;
    sample_row(&o->w, a, b, c, n, sum);
    return retries_row(o->r, a, b, c, n, sum);
}

static int depth_row(void *ctx, const char *hop, int64_t depth)
{
    icx_buf *b = ctx;
    icx_buf_puts(b, "icx_queue_depth{");
    put_label(b, "partner", hop, 1);
    icx_buf_printf(b, "} %lld\n", (long long)depth);
    return 0;
}

static int lag_row(void *ctx, const icx_lists_lag *l)
{
    icx_buf *b = ctx;
    if (l->holds < 0)
        return 0; /* never pulled: no lag to state */
    icx_buf_puts(b, "icx_list_lag{");
    put_label(b, "partner", l->partner, 1);
    put_label(b, "list", l->list, 0);
    icx_buf_printf(b, "} %lld\n", (long long)(l->head - l->holds));
    return 0;
}

static int serial_row(void *ctx, const icx_lists_lag *l)
{
    struct { icx_buf *b; char last[64]; } *s = ctx;
    if (strcmp(s->last, l->list) == 0)
        return 0;
    snprintf(s->last, sizeof s->last, "%s", l->list);
    icx_buf_puts(s->b, "icx_list_serial{");
    put_label(s->b, "list", l->list, 1);
    icx_buf_printf(s->b, "} %lld\n", (long long)l->head);
    return 0;
}

static int cp_row(void *ctx, const char *a, const char *b, const char *c,
                  int64_t n, int64_t sum)
{
    int64_t *cp = ctx;
    (void)a;
    (void)b;
    (void)c;
    cp[0] = n;
    cp[1] = sum;
    return 0;
}

int web_metrics(icx_buf *out, const web_view *v, icx_err *err)
{
    icx_store *s = v->store;
    const icx_live *live = v->live->have ? &v->live->live : NULL;
    int rc;

    /* One walk of the outbox for two families: the retries are written
     * aside and appended in their place (a family's samples stay
     * together). */
    family(out, "icx_outbound_messages", "gauge", NULL,
           "Outbound messages in the store by next hop and state.");
    icx_buf side;
    icx_buf_init(&side, ICX_WEB_MAX_BODY);
    struct retries r = {&side, "", 0, 0};
    struct out_walk ow = {{out, "icx_outbound_messages", "partner", "state",
                           NULL, 0}, &r};
    rc = icx_store_counts(s, ICX_COUNT_OUT, out_row, &ow, err);
    retries_flush(&r);
    if (rc < 0) {
        icx_buf_free(&side);
        return rc;
    }
    struct walk w;

    family(out, "icx_inbound_messages", "gauge", NULL,
           "Inbound messages in the store by sender and state.");
    w = (struct walk){out, "icx_inbound_messages", "partner", "state", NULL,
                      0};
    if ((rc = icx_store_counts(s, ICX_COUNT_IN, sample_row, &w, err)) < 0)
        return rc;


    family(out, "icx_receipts", "counter", NULL,
           "Receipts received for outbound messages, by issuer, status and "
           "reason code.");
    w = (struct walk){out, "icx_receipts_total", "partner", "status",
                      "reason", 0};
    if ((rc = icx_store_counts(s, ICX_COUNT_RECEIPTS, sample_row, &w,
                               err)) < 0)
        return rc;

    family(out, "icx_outbound_retries", "counter", NULL,
           "Send attempts beyond the first, by next hop.");
    icx_buf_append(out, side.data ? side.data : "", side.len);
    icx_buf_free(&side);

    family(out, "icx_queue_depth", "gauge", NULL,
           "Outbound messages queued or sent and not yet delivered, by next "
           "hop.");
    if ((rc = icx_store_out_depths(s, depth_row, out, err)) < 0)
        return rc;

    family(out, "icx_oldest_undelivered_age_seconds", "gauge", "seconds",
           "Age of the oldest undelivered outbound message (0 when none).");
    icx_out_row old;
    rc = icx_store_out_oldest(s, &old, err);
    if (rc < 0 && rc != ICX_ENOTFOUND)
        return rc;
    icx_buf_printf(out, "icx_oldest_undelivered_age_seconds %lld\n",
                   rc == ICX_OK && v->now > old.created_at
                       ? (long long)(v->now - old.created_at)
                       : 0LL);

    family(out, "icx_audit_checkpoints", "counter", NULL,
           "Signed checkpoints of the audit log.");
    int64_t cp[2] = {0, 0}; /* checkpoints, records the last covers */
    if ((rc = icx_store_counts(s, ICX_COUNT_CHECKPOINTS, cp_row, cp,
                               err)) < 0)
        return rc;
    int64_t ncp = cp[0], covered = cp[1];
    icx_buf_printf(out, "icx_audit_checkpoints_total %lld\n",
                   (long long)ncp);
    uint64_t records = 0;
    if (icx_store_audit_head(s, &records, NULL) < 0)
        return icx_err_set(err, ICX_ESTORE, "store: audit head unreadable");
    family(out, "icx_audit_records", "gauge", NULL,
           "Records in the audit log.");
    icx_buf_printf(out, "icx_audit_records %llu\n",
                   (unsigned long long)records);
    family(out, "icx_audit_records_uncovered", "gauge", NULL,
           "Audit records not yet covered by a signed checkpoint.");
    icx_buf_printf(out, "icx_audit_records_uncovered %llu\n",
                   (unsigned long long)(records > (uint64_t)covered
                                            ? records - (uint64_t)covered
                                            : 0));

    if (v->lists != NULL) {
        family(out, "icx_list_serial", "gauge", NULL,
               "Head serial of each list this gateway publishes.");
        struct { icx_buf *b; char last[64]; } sr = {out, ""};
        if ((rc = icx_lists_lag_each(v->lists, v->lists_conf, serial_row,
                                     &sr, err)) < 0)
            return rc;
        family(out, "icx_list_lag", "gauge", NULL,
               "Serials a partner's copy of a list is behind its head.");
        if ((rc = icx_lists_lag_each(v->lists, v->lists_conf, lag_row, out,
                                     err)) < 0)
            return rc;
    }

    if (live != NULL) {
        family(out, "icx_partner_connected", "gauge", NULL,
               "1 when the partner's transport is connected.");
        for (size_t i = 0; i < live->npeers; i++) {
            icx_buf_puts(out, "icx_partner_connected{");
            put_label(out, "partner", live->peers[i].id, 1);
            icx_buf_printf(out, "} %d\n", live->peers[i].connected ? 1 : 0);
        }
        family(out, "icx_partner_last_contact_timestamp_seconds", "gauge",
               "seconds", "Unix time of the last frame from the partner "
               "(0: none since the daemon started).");
        for (size_t i = 0; i < live->npeers; i++) {
            icx_buf_puts(out, "icx_partner_last_contact_timestamp_seconds{");
            put_label(out, "partner", live->peers[i].id, 1);
            icx_buf_printf(out, "} %lld\n",
                           (long long)live->peers[i].last_contact);
        }
        family(out, "icx_inbound_rejections", "counter", NULL,
               "Inbound envelopes rejected since the daemon started, by "
               "transport peer and reason code.");
        for (size_t i = 0; i < live->npeers; i++)
            for (int k = 0; k < ICX_REASON__COUNT; k++) {
                if (live->peers[i].rejected[k] == 0)
                    continue;
                icx_buf_puts(out, "icx_inbound_rejections_total{");
                put_label(out, "partner", live->peers[i].id, 1);
                put_label(out, "reason", icx_reason_name(k), 0);
                icx_buf_printf(out, "} %llu\n",
                               (unsigned long long)live->peers[i].rejected[k]);
            }
        family(out, "icx_store_commit_duration_seconds", "histogram",
               "seconds", "Duration of the daemon's store commits "
               "(COMMIT and its fdatasync) since it started.");
        uint64_t cum = 0;
        for (int k = 0; k < ICX_COMMIT_BUCKETS; k++) {
            cum += live->commit_buckets[k];
            if (k < ICX_COMMIT_BUCKETS - 1)
                icx_buf_printf(out, "icx_store_commit_duration_seconds_bucket"
                               "{le=\"%g\"} %llu\n",
                               icx_commit_bounds_ms[k] / 1000.0,
                               (unsigned long long)cum);
            else
                icx_buf_printf(out, "icx_store_commit_duration_seconds_bucket"
                               "{le=\"+Inf\"} %llu\n",
                               (unsigned long long)cum);
        }
        icx_buf_printf(out, "icx_store_commit_duration_seconds_count %llu\n"
                       "icx_store_commit_duration_seconds_sum %.6f\n",
                       (unsigned long long)live->commits,
                       live->commit_seconds);
        family(out, "icx_daemon_start_time_seconds", "gauge", "seconds",
               "Unix time the daemon started serving.");
        icx_buf_printf(out, "icx_daemon_start_time_seconds %lld\n",
                       (long long)live->started_at);
    }
    rc = icx_buf_puts(out, "# EOF\n");
    if (rc < 0)
        return icx_err_set(err, rc, "metrics: exposition too large");
    return ICX_OK;
}
