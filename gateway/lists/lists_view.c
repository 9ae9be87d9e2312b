/*
 * lists_view.c - what `icx lists show|diff|history|status` print: the
 * published lists and their serials, the entries between two serials, and
 * per partner and list the serial it acknowledged against the head, its
 * last pull and the lag; for the lists this gateway pulls, the local copy.
 *
 * Read-only; text for people, --json for scripts.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lists_int.h"
#include "util.h"

static const char *when(char *out, size_t n, int64_t t)
{
    if (t <= 0)
        return "never";
    icx_time_format(out, n, (time_t)t);
    return out;
}

static int prep(icx_listdb *db, sqlite3_stmt **st, const char *q, icx_err *err)
{
    int rc = sqlite3_prepare_v2(db->db, q, -1, st, NULL);
    return rc == SQLITE_OK ? ICX_OK : lst_fail(db, rc, "reading", err);
}

static const char *col(sqlite3_stmt *st, int i)
{
    const unsigned char *t = sqlite3_column_text(st, i);
    return t ? (const char *)t : "";
}

int icx_lists_show(icx_buf *out, icx_listdb *db, const icx_lists_conf *conf,
                   const char *list, int json, icx_err *err)
{
    sqlite3_stmt *st = NULL;
    char t1[32];
    int rc = prep(db, &st, "SELECT l.list_id, l.kind, l.session, l.head,"
                  " l.min_serial, s.count, s.digest, s.created_at"
                  " FROM pub_list l LEFT JOIN pub_serial s ON s.list_id ="
                  " l.list_id AND s.session = l.session AND s.serial = l.head"
                  " WHERE ?1 IS NULL OR l.list_id = ?1 ORDER BY l.list_id",
                  err);
    if (rc < 0)
        return rc;
    lst_text(st, 1, list);
    int n = 0;
    if (json)
        icx_buf_puts(out, "{\"published\":[");
    else
        icx_buf_printf(out, "%-20s %-4s %8s %10s %-10s %-20s %s\n", "LIST",
                       "KIND", "SERIAL", "ENTRIES", "DELTAS", "UPDATED",
                       "DIGEST");
    while (sqlite3_step(st) == SQLITE_ROW) {
        const icx_list_decl *d = icx_lists_conf_find(conf, col(st, 0));
        char from[24];
        snprintf(from, sizeof from, "%lld..", (long long)sqlite3_column_int64(st, 4));
        if (json) {
            icx_buf_printf(out, "%s{\"list\":", n ? "," : "");
            icx_buf_put_json(out, col(st, 0));
            icx_buf_printf(out, ",\"kind\":\"%s\",\"session\":\"%s\","
                           "\"serial\":%lld,\"deltas_from\":%lld,"
                           "\"entries\":%lld,\"digest\":\"%s\","
                           "\"declared\":%s,\"allow\":[", col(st, 1),
                           col(st, 2), (long long)sqlite3_column_int64(st, 3),
                           (long long)sqlite3_column_int64(st, 4),
                           (long long)sqlite3_column_int64(st, 5), col(st, 6),
                           d ? "true" : "false");
            for (size_t i = 0; d && i < d->allow.count; i++) {
                icx_buf_puts(out, i ? "," : "");
                icx_buf_put_json(out, d->allow.items[i]);
            }
            icx_buf_puts(out, "]}");
        } else {
            icx_buf_printf(out, "%-20s %-4s %8lld %10lld %-10s %-20s %s\n",
                           col(st, 0), col(st, 1),
                           (long long)sqlite3_column_int64(st, 3),
                           (long long)sqlite3_column_int64(st, 5), from,
                           when(t1, sizeof t1, sqlite3_column_int64(st, 7)),
                           col(st, 6));
            if (list != NULL) {
                icx_buf_printf(out, "  session %s\n  allow:", col(st, 2));
                for (size_t i = 0; d && i < d->allow.count; i++)
                    icx_buf_printf(out, " %s", d->allow.items[i]);
                icx_buf_printf(out, "%s\n", d ? "" : " (not declared in "
                               "lists.yaml: nobody)");
            }
        }
        n++;
    }
    sqlite3_finalize(st);
    for (size_t i = 0; !json && list == NULL && conf && i < conf->nlists; i++) {
        sqlite3_stmt *k = lst_stmt(db, LS_LIST_GET);
        lst_text(k, 1, conf->lists[i].id);
        if (sqlite3_step(k) != SQLITE_ROW)
            icx_buf_printf(out, "%-20s %-4s %8s %10s %-10s %-20s %s\n",
                           conf->lists[i].id,
                           icx_list_kind_name(conf->lists[i].kind), "-", "-",
                           "-", "never", "(declared, never imported)");
        sqlite3_reset(k);
    }
    /* Local copies of lists pulled from partners. */
    if ((rc = prep(db, &st, "SELECT partner, list_id, kind, serial, count,"
                   " state, last_ok_at, digest FROM sub WHERE ?1 IS NULL OR"
                   " list_id = ?1 ORDER BY partner, list_id", err)) < 0)
        return rc;
    lst_text(st, 1, list);
    int m = 0;
    if (json)
        icx_buf_puts(out, "],\"pulled\":[");
    while (sqlite3_step(st) == SQLITE_ROW) {
        if (json) {
            icx_buf_printf(out, "%s{\"partner\":\"%s\",\"list\":", m ? "," : "",
                           col(st, 0));
            icx_buf_put_json(out, col(st, 1));
            icx_buf_printf(out, ",\"kind\":\"%s\",\"serial\":%lld,"
                           "\"entries\":%lld,\"state\":\"%s\",\"digest\":\"%s\"}",
                           col(st, 2), (long long)sqlite3_column_int64(st, 3),
                           (long long)sqlite3_column_int64(st, 4), col(st, 5),
                           col(st, 7));
        } else {
            if (m == 0)
                icx_buf_printf(out, "\n%-12s %-20s %-4s %8s %10s %-9s %-20s\n",
                               "FROM", "LIST", "KIND", "SERIAL", "ENTRIES",
                               "STATE", "LAST OK");
            icx_buf_printf(out, "%-12s %-20s %-4s %8lld %10lld %-9s %-20s\n",
                           col(st, 0), col(st, 1), col(st, 2),
                           (long long)sqlite3_column_int64(st, 3),
                           (long long)sqlite3_column_int64(st, 4), col(st, 5),
                           when(t1, sizeof t1, sqlite3_column_int64(st, 6)));
        }
        m++;
    }
    sqlite3_finalize(st);
    if (json)
        icx_buf_puts(out, "]}\n");
    if (list != NULL && n == 0 && m == 0)
        return icx_err_set(err, ICX_ENOTFOUND, "no list %s here (neither "
                           "imported nor pulled)", list);
    return ICX_OK;
}

int icx_lists_history(icx_buf *out, icx_listdb *db, const char *list, int json,
                      icx_err *err)
{
    sqlite3_stmt *st = NULL;
    char t1[32];
    int rc = prep(db, &st, "SELECT serial, session, created_at, added, removed,"
                  " changed, count, digest, source, user FROM pub_serial"
                  " WHERE list_id = ?1 ORDER BY created_at, serial", err);
    if (rc < 0)
        return rc;
    lst_text(st, 1, list);
    int n = 0;
    if (json)
        icx_buf_puts(out, "[");
    else
        icx_buf_printf(out, "%6s %-8s %-20s %8s %8s %8s %10s %-16s %s\n",
                       "SERIAL", "SESSION", "CREATED", "ADDED", "REMOVED",
                       "CHANGED", "ENTRIES", "DIGEST", "SOURCE (USER)");
    while (sqlite3_step(st) == SQLITE_ROW) {
        if (json) {
            icx_buf_printf(out, "%s{\"serial\":%lld,\"session\":\"%s\","
                           "\"created\":\"%s\",\"added\":%lld,\"removed\":%lld,"
                           "\"changed\":%lld,\"entries\":%lld,\"digest\":\"%s\","
                           "\"source\":", n ? "," : "",
                           (long long)sqlite3_column_int64(st, 0), col(st, 1),
                           when(t1, sizeof t1, sqlite3_column_int64(st, 2)),
                           (long long)sqlite3_column_int64(st, 3),
                           (long long)sqlite3_column_int64(st, 4),
                           (long long)sqlite3_column_int64(st, 5),
                           (long long)sqlite3_column_int64(st, 6), col(st, 7));
            icx_buf_put_json(out, col(st, 8));
            icx_buf_puts(out, ",\"user\":");
            icx_buf_put_json(out, col(st, 9));
            icx_buf_puts(out, "}");
        } else {
            icx_buf_printf(out, "%6lld %-8.8s %-20s %8lld %8lld %8lld %10lld "
                           "%-16.16s %s (%s)\n",
                           (long long)sqlite3_column_int64(st, 0), col(st, 1),
                           when(t1, sizeof t1, sqlite3_column_int64(st, 2)),
                           (long long)sqlite3_column_int64(st, 3),
                           (long long)sqlite3_column_int64(st, 4),
                           (long long)sqlite3_column_int64(st, 5),
                           (long long)sqlite3_column_int64(st, 6), col(st, 7),
                           col(st, 8), col(st, 9));
        }
        n++;
    }
    sqlite3_finalize(st);
    if (json)
        icx_buf_puts(out, "]\n");
    if (n == 0)
        return icx_err_set(err, ICX_ENOTFOUND, "list %s has no serial yet", list);
    return ICX_OK;
}

typedef struct dline {
    char op;
    char *line;
    char *reason;
} dline;

static int dline_cmp(const void *a, const void *b)
{
    return strcmp(((const dline *)a)->line, ((const dline *)b)->line);
}

int icx_lists_diff(icx_buf *out, icx_listdb *db, const char *list, uint64_t a,
                   uint64_t b, icx_err *err)
{
    sqlite3_stmt *st = lst_stmt(db, LS_LIST_GET), *keys = NULL;
    int64_t head, min;
    dline *v = NULL;
    size_t n = 0, cap = 0;
    lst_text(st, 1, list);
    if (sqlite3_step(st) != SQLITE_ROW) {
        sqlite3_reset(st);
        return icx_err_set(err, ICX_ENOTFOUND, "list %s has no serial yet", list);
    }
    head = sqlite3_column_int64(st, 2);
    min = sqlite3_column_int64(st, 3);
    sqlite3_reset(st);
    if (b == 0)
        b = (uint64_t)head;
    if (a == 0 && b > 0)
        a = b - 1;
    if (a >= b || b > (uint64_t)head || (int64_t)a < min)
        return icx_err_set(err, ICX_EINVAL, "serials %llu..%llu: want a < b <= "
                           "%lld, a >= %lld (older deltas are not kept)",
                           (unsigned long long)a, (unsigned long long)b,
                           (long long)head, (long long)min);
    int rc = prep(db, &keys, "SELECT DISTINCT line FROM pub_change WHERE"
                  " list_id = ?1 AND serial > ?2 AND serial <= ?3", err);
    if (rc < 0)
        return rc;
    lst_text(keys, 1, list);
    sqlite3_bind_int64(keys, 2, (sqlite3_int64)a);
    sqlite3_bind_int64(keys, 3, (sqlite3_int64)b);
    while (rc == ICX_OK && sqlite3_step(keys) == SQLITE_ROW) {
        sqlite3_stmt *vs = lst_stmt(db, LS_KEY_VERSIONS);
        int at_a = 0, at_b = 0;
        char line[4300] = "", reason[32] = "", cat_a[160] = "", cat_b[160] = "";
        int64_t last = -1;
        lst_text(vs, 1, list);
        lst_text(vs, 2, (const char *)sqlite3_column_text(keys, 0));
        while (sqlite3_step(vs) == SQLITE_ROW) {
            int64_t ad = sqlite3_column_int64(vs, 0);
            int gone = sqlite3_column_type(vs, 1) != SQLITE_NULL;
            int64_t rm = sqlite3_column_int64(vs, 1);
            lst_col(line, sizeof line, vs, 3);
            if (ad <= (int64_t)a && (!gone || rm > (int64_t)a)) {
                at_a = 1;
                lst_col(cat_a, sizeof cat_a, vs, 4);
            }
            if (ad <= (int64_t)b && (!gone || rm > (int64_t)b)) {
                at_b = 1;
                lst_col(cat_b, sizeof cat_b, vs, 4);
            }
            if (gone && rm > (int64_t)a && rm <= (int64_t)b && rm > last) {
                last = rm;
                lst_col(reason, sizeof reason, vs, 2);
            }
        }
        sqlite3_reset(vs);
        char op = at_a && at_b ? '~' : at_b ? '+' : at_a ? '-' : 0;
        if (op == 0)
            continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 256;
            dline *nv = realloc(v, cap * sizeof *v);
            if (nv == NULL) {
                rc = icx_err_set(err, ICX_ENOMEM, "out of memory");
                break;
            }
            v = nv;
        }
        v[n].op = op;
        v[n].line = strdup(line);
        v[n].reason = op == '-' ? strdup(reason)
                      : op == '~' ? strdup(strcmp(cat_a, cat_b) ? "category"
                                                                 : "details")
                                  : NULL;
        n++;
    }
    sqlite3_finalize(keys);
    if (rc == ICX_OK) {
        qsort(v, n, sizeof *v, dline_cmp);
        icx_buf_printf(out, "# %s %llu..%llu\n", list, (unsigned long long)a,
                       (unsigned long long)b);
        for (size_t i = 0; i < n; i++) {
            icx_buf_printf(out, "%c %s", v[i].op, v[i].line ? v[i].line : "");
            if (v[i].reason)
                icx_buf_printf(out, "  (%s)", v[i].reason);
            icx_buf_puts(out, "\n");
        }
    }
    for (size_t i = 0; i < n; i++) {
        free(v[i].line);
        free(v[i].reason);
    }
    free(v);
    return rc;
}

int icx_lists_lag_each(icx_listdb *db, const icx_lists_conf *conf,
                       icx_lists_lag_fn fn, void *ctx, icx_err *err)
{
    sqlite3_stmt *st = NULL;
    int rc = prep(db, &st, "SELECT l.head, l.session, p.session, p.serial,"
                  " p.last_request_at, p.last_answer, p.requests, p.refusals"
                  " FROM pub_list l LEFT JOIN pub_partner p ON p.list_id ="
                  " l.list_id AND p.partner = ?2 WHERE l.list_id = ?1", err);
    if (rc < 0)
        return rc;
    for (size_t i = 0; conf != NULL && i < conf->nlists; i++) {
        const icx_list_decl *d = &conf->lists[i];
        for (size_t j = 0; j < d->allow.count; j++) {
            icx_lists_lag l;
            memset(&l, 0, sizeof l);
            l.list = d->id;
            l.partner = d->allow.items[j];
            l.holds = -1;
            l.last_answer = "";
            sqlite3_reset(st);
            lst_text(st, 1, d->id);
            lst_text(st, 2, d->allow.items[j]);
            if (sqlite3_step(st) == SQLITE_ROW) {
                l.head = sqlite3_column_int64(st, 0);
                /* A serial of another session (the list was reset) is
                 * no position in this one: the partner needs a snapshot. */
                int same = strcmp(col(st, 1), col(st, 2)) == 0;
                l.last_pull = sqlite3_column_int64(st, 4);
                l.last_answer = col(st, 5);
                if (sqlite3_column_type(st, 3) != SQLITE_NULL && same)
                    l.holds = sqlite3_column_int64(st, 3);
                else if (l.last_pull > 0)
                    l.snapshot = 1;
            }
            rc = fn(ctx, &l);
            if (rc != 0)
                goto out;
        }
    }
out:
    sqlite3_finalize(st);
    return rc;
}

struct status_ctx {
    icx_buf *out;
    int json, n;
};

static int status_line(void *ctx, const icx_lists_lag *l)
{
    struct status_ctx *c = ctx;
    icx_buf *out = c->out;
    char t1[32], lag[24] = "-", holds_s[24] = "-";
    if (l->holds >= 0) {
        snprintf(holds_s, sizeof holds_s, "%lld", (long long)l->holds);
        snprintf(lag, sizeof lag, "%lld", (long long)(l->head - l->holds));
    } else if (l->snapshot) {
        snprintf(holds_s, sizeof holds_s, "none");
        snprintf(lag, sizeof lag, "snapshot");
    }
    if (c->json) {
        icx_buf_printf(out, "%s{\"partner\":\"%s\",\"list\":\"%s\","
                       "\"holds\":%lld,\"head\":%lld,\"lag\":%lld,"
                       "\"last_pull\":\"%s\",\"last_answer\":",
                       c->n ? "," : "", l->partner, l->list,
                       (long long)l->holds, (long long)l->head,
                       l->holds >= 0 ? (long long)(l->head - l->holds) : -1LL,
                       l->last_pull > 0 ? when(t1, sizeof t1, l->last_pull)
                                        : "");
        icx_buf_put_json(out, l->last_answer);
        icx_buf_puts(out, "}");
    } else {
        icx_buf_printf(out, "%-12s %-20s %8s %8lld %8s %-20s %s\n",
                       l->partner, l->list, holds_s, (long long)l->head, lag,
                       when(t1, sizeof t1, l->last_pull), l->last_answer);
    }
    c->n++;
    return 0;
}

int icx_lists_status(icx_buf *out, icx_listdb *db, const icx_lists_conf *conf,
                     time_t now, int json, icx_err *err)
{
    sqlite3_stmt *st = NULL;
    char t1[32], t2[32];
    /* Publisher: every allowed partner of every declared list. */
    if (json)
        icx_buf_puts(out, "{\"partners\":[");
    else
        icx_buf_printf(out, "%-12s %-20s %8s %8s %8s %-20s %s\n", "PARTNER",
                       "LIST", "HOLDS", "HEAD", "LAG", "LAST PULL", "LAST ANSWER");
    struct status_ctx sc = {out, json, 0};
    int rc = icx_lists_lag_each(db, conf, status_line, &sc, err);
    if (rc < 0)
        return rc;
    /* Subscriber: the lists this gateway pulls. */
    if ((rc = prep(db, &st, "SELECT partner, list_id, serial, head_seen,"
                   " state, last_ok_at, requested_at, detail, count FROM sub"
                   " ORDER BY partner, list_id", err)) < 0)
        return rc;
    int m = 0;
    if (json)
        icx_buf_puts(out, "],\"pulled\":[");
    while (sqlite3_step(st) == SQLITE_ROW) {
        int64_t serial = sqlite3_column_int64(st, 2);
        int64_t seen = sqlite3_column_int64(st, 3);
        int64_t ok = sqlite3_column_int64(st, 5);
        if (json) {
            icx_buf_printf(out, "%s{\"partner\":\"%s\",\"list\":\"%s\","
                           "\"serial\":%lld,\"head_seen\":%lld,\"state\":\"%s\","
                           "\"last_ok\":\"%s\",\"age_seconds\":%lld,"
                           "\"entries\":%lld,\"detail\":", m ? "," : "",
                           col(st, 0), col(st, 1), (long long)serial,
                           (long long)seen, col(st, 4),
                           ok > 0 ? when(t1, sizeof t1, ok) : "",
                           ok > 0 ? (long long)(now - ok) : -1LL,
                           (long long)sqlite3_column_int64(st, 8));
            icx_buf_put_json(out, col(st, 7));
            icx_buf_puts(out, "}");
        } else {
            if (m == 0)
                icx_buf_printf(out, "\n%-12s %-20s %8s %8s %-9s %-20s %-20s %s\n",
                               "FROM", "LIST", "SERIAL", "SEEN", "STATE",
                               "LAST OK", "LAST PULL", "DETAIL");
            icx_buf_printf(out, "%-12s %-20s %8lld %8lld %-9s %-20s %-20s %s\n",
                           col(st, 0), col(st, 1), (long long)serial,
                           (long long)seen, col(st, 4),
                           when(t1, sizeof t1, ok),
                           when(t2, sizeof t2, sqlite3_column_int64(st, 6)),
                           col(st, 7));
        }
        m++;
    }
    sqlite3_finalize(st);
    if (json)
        icx_buf_puts(out, "]}\n");
    return ICX_OK;
}
