/*
 * survey_compile.c - a round as received (who was asked, who answered,
 * whose answer was refused) and what the ministry reads from it: the
 * status of the round and the country-by-question comparison in CSV,
 * Markdown or one self-contained HTML page, with the changes since an
 * earlier round.
 *
 * "Unchanged since round R" is resolved through the loader the caller
 * gives (the store, in `icx survey`): the answer the same agency gave in
 * R, following further "unchanged" answers up to 8 rounds back.  Earlier
 * rounds are loaded once per compile and freed at its end.
 *
 * Partner text reaches spreadsheets and browsers: CSV cells that a
 * spreadsheet would run as a formula are prefixed with ', Markdown and
 * HTML escape markup.  Nothing here reads files or the store.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "survey.h"
#include "survey_int.h"
#include "util.h"

/* ---- rounds ------------------------------------------------------------- */

int icx_survey_round_new(icx_survey_round **out, icx_survey *request,
                         icx_err *err)
{
    *out = calloc(1, sizeof **out);
    if (*out == NULL)
        return icx_err_set(err, ICX_ENOMEM, "out of memory");
    (*out)->request = request;
    return ICX_OK;
}

void icx_survey_round_free(icx_survey_round **rp)
{
    icx_survey_round *r = rp ? *rp : NULL;
    if (r == NULL)
        return;
    for (size_t i = 0; i < r->nparties; i++)
        icx_survey_response_free(&r->parties[i].answer);
    free(r->parties);
    icx_survey_free(&r->request);
    free(r);
    *rp = NULL;
}

static const icx_survey_party *party_find(const icx_survey_round *r,
                                          const char *agency)
{
    for (size_t i = 0; r && i < r->nparties; i++)
        if (strcmp(r->parties[i].agency, agency) == 0)
            return &r->parties[i];
    return NULL;
}

icx_survey_party *icx_survey_round_party(icx_survey_round *r,
                                         const char *agency)
{
    icx_survey_party *p = (icx_survey_party *)party_find(r, agency);
    if (p != NULL)
        return p;
    icx_survey_party *v = realloc(r->parties, (r->nparties + 1) * sizeof *v);
    if (v == NULL)
        return NULL;
    r->parties = v;
    /* Kept sorted by agency id: every output lists parties in this order. */
    size_t at = 0;
    while (at < r->nparties && strcmp(v[at].agency, agency) < 0)
        at++;
    memmove(&v[at + 1], &v[at], (r->nparties - at) * sizeof *v);
    memset(&v[at], 0, sizeof *v);
    snprintf(v[at].agency, sizeof v[at].agency, "%s", agency);
    r->nparties++;
    return &v[at];
}

int icx_survey_round_add_response(icx_survey_round *r, const char *agency,
                                  const char *message_id, int64_t received_at,
                                  const char *xml, size_t len,
                                  const char *gateway_reason, int *mine,
                                  icx_err *err)
{
    icx_survey_response *resp = NULL;
    icx_err perr;
    icx_buf why;
    int rc = ICX_OK;
    *mine = 0;
    icx_err_clear(&perr);
    if (icx_survey_response_from_xml(&resp, xml, len, &perr) < 0)
        return perr.rc == ICX_ENOMEM
                   ? icx_err_set(err, ICX_ENOMEM, "out of memory") : ICX_OK;
    if (strcmp(resp->round, r->request->round) != 0) {
        icx_survey_response_free(&resp);
        return ICX_OK;
    }
    *mine = 1;
    icx_buf_init(&why, 480);
    icx_survey_party *p = icx_survey_round_party(r, agency);
    if (p == NULL) {
        rc = icx_err_set(err, ICX_ENOMEM, "out of memory");
        goto out;
    }
    p->nresponses++;
    if (gateway_reason != NULL)
        icx_buf_printf(&why, "refused by this gateway: %s", gateway_reason);
    else
        icx_survey_response_check(r->request, resp, &why);
    if (why.len > 0) {
        if (received_at >= p->rejected_at) {
            snprintf(p->rejected, sizeof p->rejected, "%s", why.data);
            snprintf(p->rejected_id, sizeof p->rejected_id, "%s", message_id);
            p->rejected_at = received_at;
        }
    } else if (p->answer == NULL || received_at >= p->answered_at) {
        icx_survey_response_free(&p->answer);
        p->answer = resp;
        resp = NULL;
        snprintf(p->answer_id, sizeof p->answer_id, "%s", message_id);
        p->answered_at = received_at;
    }
out:
    icx_buf_free(&why);
    icx_survey_response_free(&resp);
    return rc;
}

/* ---- status ------------------------------------------------------------- */

static int deadline_passed(const icx_survey *s, time_t now)
{
    time_t d;
    if (icx_date_parse(&d, s->deadline) < 0)
        return 0;
    return now >= d + 86400; /* the whole deadline day, UTC */
}

static const char *party_state(const icx_survey_party *p, int late)
{
    if (p->answer != NULL)
        return "answered";
    if (p->rejected[0])
        return "rejected";
    return late ? "late" : "waiting";
}

int icx_survey_status(icx_buf *out, const icx_survey_round *r, time_t now,
                      int json)
{
    const icx_survey *s = r->request;
    int late = deadline_passed(s, now);
    char asof[24], at[24];
    size_t n[4] = {0};
    icx_time_format(asof, sizeof asof, now);
    if (json) {
        icx_buf_puts(out, "{\"round\":");
        icx_buf_put_json(out, s->round);
        icx_buf_puts(out, ",\"title\":");
        icx_buf_put_json(out, s->title);
        icx_buf_printf(out, ",\"deadline\":\"%s\",\"as_of\":\"%s\","
                       "\"deadline_passed\":%s,\"parties\":[", s->deadline,
                       asof, late ? "true" : "false");
    } else {
        icx_buf_printf(out, "round %s: %s\ndeadline %s (%s), as of %s\n\n",
                       s->round, s->title, s->deadline,
                       late ? "passed" : "not passed", asof);
        icx_buf_printf(out, "%-16s %-10s %-9s %s\n", "agency", "request",
                       "answer", "detail");
    }
    for (size_t i = 0; i < r->nparties; i++) {
        const icx_survey_party *p = &r->parties[i];
        const char *st = party_state(p, late);
        const char *rs = p->request_state[0] ? p->request_state : "not sent";
        n[st[0] == 'a' ? 0 : st[0] == 'r' ? 1 : st[0] == 'l' ? 2 : 3]++;
        if (json) {
            icx_buf_printf(out, "%s{\"agency\":\"%s\",\"request_id\":\"%s\","
                           "\"request_state\":\"%s\",\"state\":\"%s\","
                           "\"responses\":%d", i ? "," : "", p->agency,
                           p->request_id, rs, st, p->nresponses);
            if (p->answer) {
                icx_time_format(at, sizeof at, (time_t)p->answered_at);
                icx_buf_printf(out, ",\"answer_id\":\"%s\",\"answered_at\":"
                               "\"%s\"", p->answer_id, at);
            }
            if (p->rejected[0]) {
                icx_time_format(at, sizeof at, (time_t)p->rejected_at);
                icx_buf_printf(out, ",\"rejected_id\":\"%s\",\"rejected_at\":"
                               "\"%s\",\"reason\":", p->rejected_id, at);
                icx_buf_put_json(out, p->rejected);
            }
            icx_buf_puts(out, "}");
            continue;
        }
        icx_buf_printf(out, "%-16s %-10s %-9s ", p->agency, rs, st);
        if (p->answer) {
            icx_time_format(at, sizeof at, (time_t)p->answered_at);
            icx_buf_printf(out, "%s (message %s)", at, p->answer_id);
            if (p->rejected[0] && p->rejected_at > p->answered_at)
                icx_buf_printf(out, "; a later response was rejected: %s",
                               p->rejected);
        } else if (p->rejected[0]) {
            icx_time_format(at, sizeof at, (time_t)p->rejected_at);
            icx_buf_printf(out, "%s (message %s): %s", at, p->rejected_id,
                           p->rejected);
        } else {
            icx_buf_puts(out, late ? "no answer, deadline passed"
                                   : "no answer yet");
        }
        icx_buf_puts(out, "\n");
    }
    if (json)
        return icx_buf_printf(out, "],\"answered\":%zu,\"rejected\":%zu,"
                              "\"late\":%zu,\"waiting\":%zu}\n", n[0], n[1],
                              n[2], n[3]);
    return icx_buf_printf(out, "\n%zu answered, %zu rejected, %zu late, %zu "
                          "waiting\n", n[0], n[1], n[2], n[3]);
}

/* ---- resolving answers -------------------------------------------------- */

#define MAX_LOADED 16
#define MAX_CHAIN 8

struct compiler {
    const icx_survey_round *r;
    const icx_survey_compile_opts *o;
    icx_survey_round *loaded[MAX_LOADED];
    char *loaded_id[MAX_LOADED];
    size_t nloaded;
    icx_buf *out;
};

/* Round id as this compile sees it: r itself, a loaded one, or NULL. */
static const icx_survey_round *round_get(struct compiler *c, const char *id)
{
    if (strcmp(id, c->r->request->round) == 0)
        return c->r;
    for (size_t i = 0; i < c->nloaded; i++)
        if (strcmp(c->loaded_id[i], id) == 0)
            return c->loaded[i];
    if (c->o->load == NULL || c->nloaded == MAX_LOADED)
        return NULL;
    icx_survey_round *r = NULL;
    icx_err err;
    icx_err_clear(&err);
    char *dup = strdup(id);
    if (dup == NULL || c->o->load(c->o->ctx, id, &r, &err) < 0) {
        free(dup);
        r = NULL;
        dup = NULL;
    }
    /* Remember failures too, so a missing round is asked for once. */
    c->loaded[c->nloaded] = r;
    c->loaded_id[c->nloaded] = dup ? dup : strdup(id);
    if (c->loaded_id[c->nloaded] == NULL) {
        icx_survey_round_free(&r);
        return NULL;
    }
    c->nloaded++;
    return r;
}

enum cell_state { CELL_MISSING, CELL_VALUE, CELL_UNCHANGED, CELL_UNRESOLVED,
                  CELL_REJECTED, CELL_NOT_ASKED };

typedef struct cell {
    int state;
    const icx_survey_answer *a;   /* as given in the round */
    const icx_survey_answer *src; /* where the value comes from */
    const char *since;            /* a->since when unchanged */
} cell;

static void resolve(struct compiler *c, cell *x, const icx_survey_round *r,
                    const char *agency, const char *qid)
{
    memset(x, 0, sizeof *x);
    const icx_survey_party *p = party_find(r, agency);
    if (icx_survey_question_find(r->request, qid) == NULL) {
        x->state = CELL_NOT_ASKED;
        return;
    }
    if (p == NULL || p->answer == NULL) {
        x->state = p && p->rejected[0] ? CELL_REJECTED : CELL_MISSING;
        return;
    }
    x->a = icx_survey_response_find(p->answer, qid);
    if (x->a == NULL) {
        x->state = CELL_MISSING;
        return;
    }
    if (x->a->since == NULL) {
        x->state = CELL_VALUE;
        x->src = x->a;
        return;
    }
    x->since = x->a->since;
    x->state = CELL_UNRESOLVED;
    const icx_survey_answer *a = x->a;
    for (int depth = 0; depth < MAX_CHAIN && a && a->since; depth++) {
        const icx_survey_round *e = round_get(c, a->since);
        const icx_survey_party *ep = e ? party_find(e, agency) : NULL;
        a = ep && ep->answer ? icx_survey_response_find(ep->answer, qid) : NULL;
    }
    if (a != NULL && a->since == NULL) {
        x->state = CELL_UNCHANGED;
        x->src = a;
    }
}

/* The comparable text of a cell: value and citations. */
static void cell_key(icx_buf *b, const cell *x)
{
    icx_buf_reset(b);
    if (x->src == NULL) {
        icx_buf_printf(b, "#%d", x->state == CELL_UNRESOLVED ? CELL_UNRESOLVED
                                                             : CELL_MISSING);
        if (x->state == CELL_UNRESOLVED)
            icx_buf_puts(b, x->since);
        return;
    }
    icx_buf_puts(b, x->src->value ? x->src->value : "");
    /* Citations given now count even on an "unchanged" answer. */
    const icx_survey_answer *ca = x->a && x->a->ncitations ? x->a : x->src;
    for (size_t i = 0; i < ca->ncitations; i++)
        icx_buf_printf(b, "\n%s\n%s", ca->citations[i].statute,
                       ca->citations[i].article);
}

/* ---- escaping ----------------------------------------------------------- */

static void put_md(icx_buf *b, const char *s)
{
    for (; *s; s++) {
        switch (*s) {
        case '&': icx_buf_puts(b, "&amp;"); break;
        case '<': icx_buf_puts(b, "&lt;"); break;
        case '>': icx_buf_puts(b, "&gt;"); break;
        case '|': icx_buf_puts(b, "\\|"); break;
        case '\r': break;
        case '\n': icx_buf_puts(b, "<br>"); break;
        default: icx_buf_append(b, s, 1);
        }
    }
}

static void put_csv(icx_buf *b, const char *s)
{
    char why[8];
    int formula = (s[0] == '=' || s[0] == '@' || s[0] == '\t' ||
                   ((s[0] == '+' || s[0] == '-') &&
                    icx_survey_check_value(ICX_SQ_NUMBER, s, why,
                                           sizeof why) < 0));
    icx_buf_puts(b, "\"");
    if (formula)
        icx_buf_puts(b, "'");
    for (; *s; s++) {
        if (*s == '"')
            icx_buf_puts(b, "\"\"");
        else
            icx_buf_append(b, s, 1);
    }
    icx_buf_puts(b, "\"");
}

/* ---- cell text ---------------------------------------------------------- */

enum { F_CSV, F_MD, F_HTML };

static void put_text(icx_buf *b, int fmt, const char *s)
{
    if (fmt == F_HTML)
        icx_buf_put_xml(b, s);
    else if (fmt == F_MD)
        put_md(b, s);
    else
        icx_buf_puts(b, s);
}

static void put_citation(icx_buf *b, int fmt, const icx_survey_citation *ct)
{
    if (fmt == F_HTML && ct->url && (strncmp(ct->url, "https://", 8) == 0 ||
                                     strncmp(ct->url, "http://", 7) == 0)) {
        icx_buf_puts(b, "<a href=\"");
        icx_buf_put_xml(b, ct->url);
        icx_buf_puts(b, "\">");
    }
    put_text(b, fmt, ct->statute);
    put_text(b, fmt, ", ");
    put_text(b, fmt, ct->article);
    if (fmt == F_HTML && ct->url && strstr(ct->url, "://") &&
        (strncmp(ct->url, "https://", 8) == 0 ||
         strncmp(ct->url, "http://", 7) == 0))
        icx_buf_puts(b, "</a>");
    else if (fmt == F_MD && ct->url) {
        icx_buf_puts(b, " (");
        put_md(b, ct->url);
        icx_buf_puts(b, ")");
    } else if (fmt == F_CSV && ct->url) {
        icx_buf_printf(b, " <%s>", ct->url);
    }
}

/* Whether a's value is the one written for citations alone. */
static int auto_value(const icx_survey_answer *a)
{
    char v[64];
    if (a->value == NULL || a->ncitations == 0)
        return 0;
    snprintf(v, sizeof v, ICX_SURVEY_CITED_FMT, a->ncitations,
             a->ncitations == 1 ? "" : "s");
    return strcmp(v, a->value) == 0;
}

/* Writes one cell's content (unquoted for CSV: the caller quotes it). */
static void put_cell(icx_buf *b, int fmt, const cell *x, int with_note)
{
    const char *br = fmt == F_HTML ? "<br>" : fmt == F_MD ? "<br>" : " | ";
    switch (x->state) {
    case CELL_NOT_ASKED:
        icx_buf_puts(b, fmt == F_HTML ? "<span class=\"na\">not asked</span>"
                        : fmt == F_MD ? "*not asked*" : "(not asked)");
        return;
    case CELL_MISSING:
        icx_buf_puts(b, fmt == F_HTML ? "<span class=\"missing\">missing</span>"
                        : fmt == F_MD ? "**missing**" : "(missing)");
        return;
    case CELL_REJECTED:
        icx_buf_puts(b, fmt == F_HTML ? "<span class=\"missing\">rejected</span>"
                        : fmt == F_MD ? "**rejected**" : "(rejected)");
        return;
    case CELL_UNRESOLVED:
        if (fmt == F_HTML)
            icx_buf_puts(b, "<span class=\"unchanged\">");
        put_text(b, fmt, "unchanged since ");
        put_text(b, fmt, x->since);
        put_text(b, fmt, " (answer not on record)");
        if (fmt == F_HTML)
            icx_buf_puts(b, "</span>");
        break;
    default:
        if (!auto_value(x->src)) {
            if (fmt == F_HTML)
                icx_buf_puts(b, "<span class=\"value\">");
            put_text(b, fmt, x->src->value ? x->src->value : "");
            if (fmt == F_HTML)
                icx_buf_puts(b, "</span>");
        }
        if (x->state == CELL_UNCHANGED) {
            icx_buf_puts(b, fmt == F_HTML ? "<br><span class=\"unchanged\">"
                            : fmt == F_MD ? "<br>*" : " ");
            put_text(b, fmt, fmt == F_CSV ? "[unchanged since " : "unchanged since ");
            put_text(b, fmt, x->since);
            icx_buf_puts(b, fmt == F_HTML ? "</span>" : fmt == F_MD ? "*" : "]");
        }
    }
    const icx_survey_answer *ca = x->a && x->a->ncitations ? x->a
                                  : x->src ? x->src : x->a;
    int bare = x->src && auto_value(x->src) && x->state == CELL_VALUE;
    for (size_t i = 0; ca && i < ca->ncitations; i++) {
        icx_buf_puts(b, i == 0 && fmt == F_HTML ? "<ul class=\"cite\"><li>"
                        : fmt == F_HTML ? "<li>" : i == 0 && bare ? "" : br);
        put_citation(b, fmt, &ca->citations[i]);
        if (fmt == F_HTML)
            icx_buf_puts(b, i + 1 == ca->ncitations ? "</li></ul>" : "</li>");
    }
    const char *note = x->a && x->a->note ? x->a->note
                       : x->src ? x->src->note : NULL;
    if (with_note && note) {
        icx_buf_puts(b, fmt == F_HTML ? "<div class=\"note\">" : br);
        if (fmt != F_HTML)
            put_text(b, fmt, "Note: ");
        put_text(b, fmt, note);
        if (fmt == F_HTML)
            icx_buf_puts(b, "</div>");
    }
}

static void csv_cell(icx_buf *b, const cell *x, int with_note)
{
    icx_buf t;
    icx_buf_init(&t, 1 << 20);
    put_cell(&t, F_CSV, x, with_note);
    put_csv(b, t.data ? t.data : "");
    icx_buf_free(&t);
}

static void country(char *out, size_t n, const char *agency)
{
    size_t len = strcspn(agency, "-");
    snprintf(out, n, "%.*s", (int)len, agency);
}

/* ---- the outputs -------------------------------------------------------- */

struct counts {
    size_t asked, answered, rejected, missing;
};

static struct counts count_parties(const icx_survey_round *r)
{
    struct counts k = {0};
    for (size_t i = 0; i < r->nparties; i++) {
        const icx_survey_party *p = &r->parties[i];
        k.asked++;
        if (p->answer)
            k.answered++;
        else if (p->rejected[0])
            k.rejected++;
        else
            k.missing++;
    }
    return k;
}

/* The agencies of the changes table: those of both rounds, sorted. */
static size_t change_agencies(const icx_survey_round *a,
                              const icx_survey_round *b, const char **out,
                              size_t max)
{
    size_t n = 0;
    for (int w = 0; w < 2; w++) {
        const icx_survey_round *r = w ? b : a;
        for (size_t i = 0; r && i < r->nparties && n < max; i++) {
            size_t at = 0;
            while (at < n && strcmp(out[at], r->parties[i].agency) < 0)
                at++;
            if (at < n && strcmp(out[at], r->parties[i].agency) == 0)
                continue;
            memmove(&out[at + 1], &out[at], (n - at) * sizeof *out);
            out[at] = r->parties[i].agency;
            n++;
        }
    }
    return n;
}

static void put_changes(struct compiler *c, int fmt,
                        const icx_survey_round *before)
{
    const icx_survey_round *r = c->r;
    const char *ag[2 * ICX_SURVEY_MAX_RECIPIENTS + 64];
    size_t nag = change_agencies(r, before, ag, sizeof ag / sizeof ag[0]);
    icx_buf ka, kb;
    icx_buf *b = c->out;
    size_t rows = 0;
    const char *from = before->request->round, *to = r->request->round;
    icx_buf_init(&ka, 1 << 20);
    icx_buf_init(&kb, 1 << 20);
    if (fmt == F_CSV) {
        icx_buf_printf(b, "\n\"changes since %s\"\ncountry,agency,question,", from);
        put_csv(b, from);
        icx_buf_puts(b, ",");
        put_csv(b, to);
        icx_buf_puts(b, "\n");
    } else if (fmt == F_MD) {
        icx_buf_printf(b, "\n## Changes since %s\n\n| Country | Question | %s | "
                       "%s |\n|---|---|---|---|\n", from, from, to);
    } else {
        icx_buf_puts(b, "<h2>Changes since ");
        icx_buf_put_xml(b, from);
        icx_buf_puts(b, "</h2>\n<table class=\"changes\"><thead><tr><th>Country"
                        "</th><th>Question</th><th>");
        icx_buf_put_xml(b, from);
        icx_buf_puts(b, "</th><th>");
        icx_buf_put_xml(b, to);
        icx_buf_puts(b, "</th></tr></thead><tbody>\n");
    }
    for (size_t i = 0; i < nag; i++) {
        for (size_t q = 0; q < r->request->nquestions; q++) {
            const char *qid = r->request->questions[q].id;
            cell now, then;
            resolve(c, &now, r, ag[i], qid);
            resolve(c, &then, before, ag[i], qid);
            /* A change is an answer that differs from the one before; an
             * answer missing now is in the matrix, not here. */
            if (now.state == CELL_MISSING || now.state == CELL_REJECTED)
                continue;
            cell_key(&ka, &now);
            cell_key(&kb, &then);
            if (strcmp(ka.data ? ka.data : "", kb.data ? kb.data : "") == 0)
                continue;
            rows++;
            char cc[8];
            country(cc, sizeof cc, ag[i]);
            if (fmt == F_CSV) {
                icx_buf_printf(b, "%s,%s,%s,", cc, ag[i], qid);
                csv_cell(b, &then, 0);
                icx_buf_puts(b, ",");
                csv_cell(b, &now, 0);
                icx_buf_puts(b, "\n");
            } else if (fmt == F_MD) {
                icx_buf_printf(b, "| %s (%s) | %s | ", cc, ag[i], qid);
                put_cell(b, F_MD, &then, 0);
                icx_buf_puts(b, " | ");
                put_cell(b, F_MD, &now, 0);
                icx_buf_puts(b, " |\n");
            } else {
                icx_buf_printf(b, "<tr><th>%s <small>%s</small></th><td>%s</td>"
                               "<td>", cc, ag[i], qid);
                put_cell(b, F_HTML, &then, 0);
                icx_buf_puts(b, "</td><td>");
                put_cell(b, F_HTML, &now, 0);
                icx_buf_puts(b, "</td></tr>\n");
            }
        }
    }
    if (rows == 0 && fmt == F_MD)
        icx_buf_puts(b, "| | *no change* | | |\n");
    if (fmt == F_HTML) {
        if (rows == 0)
            icx_buf_puts(b, "<tr><td colspan=\"4\"><em>no change</em></td></tr>\n");
        icx_buf_puts(b, "</tbody></table>\n");
    }
    icx_buf_free(&ka);
    icx_buf_free(&kb);
}

static void put_csv_all(struct compiler *c)
{
    const icx_survey *s = c->r->request;
    icx_buf *b = c->out;
    icx_buf_puts(b, "country,agency,status");
    for (size_t q = 0; q < s->nquestions; q++) {
        icx_buf_puts(b, ",");
        put_csv(b, s->questions[q].id);
    }
    icx_buf_puts(b, "\n");
    for (size_t i = 0; i < c->r->nparties; i++) {
        const icx_survey_party *p = &c->r->parties[i];
        char cc[8];
        country(cc, sizeof cc, p->agency);
        icx_buf_printf(b, "%s,%s,%s", cc, p->agency, p->answer ? "answered"
                       : p->rejected[0] ? "rejected" : "missing");
        for (size_t q = 0; q < s->nquestions; q++) {
            cell x;
            resolve(c, &x, c->r, p->agency, s->questions[q].id);
            icx_buf_puts(b, ",");
            csv_cell(b, &x, 1);
        }
        icx_buf_puts(b, "\n");
    }
}

static void put_tags(icx_buf *b, int fmt, const icx_survey_question *q)
{
    for (size_t t = 0; t < q->ntags; t++) {
        if (t)
            icx_buf_puts(b, ", ");
        put_text(b, fmt, q->tags[t].scheme);
        put_text(b, fmt, ":");
        put_text(b, fmt, q->tags[t].value);
    }
}

static void put_md_all(struct compiler *c, struct counts k, const char *when)
{
    const icx_survey *s = c->r->request;
    icx_buf *b = c->out;
    const char *lang = c->o->lang ? c->o->lang : "en";
    icx_buf_puts(b, "# ");
    put_md(b, s->title);
    icx_buf_printf(b, "\n\nRound %s", s->round);
    if (s->previous)
        icx_buf_printf(b, " (previous round %s)", s->previous);
    icx_buf_printf(b, ", deadline %s, compiled %s.  %zu asked, %zu answered, "
                   "%zu rejected, %zu without an answer.\n\n## Questions\n\n"
                   "| Id | Type | Question | Tags |\n|---|---|---|---|\n",
                   s->deadline, when, k.asked, k.answered, k.rejected,
                   k.missing);
    for (size_t q = 0; q < s->nquestions; q++) {
        const icx_survey_question *qq = &s->questions[q];
        icx_buf_printf(b, "| %s | %s | ", qq->id, icx_sq_type_name(qq->type));
        put_md(b, icx_survey_question_text(qq, lang));
        icx_buf_puts(b, " | ");
        put_tags(b, F_MD, qq);
        icx_buf_puts(b, " |\n");
    }
    icx_buf_puts(b, "\n## Answers\n\n| Country |");
    for (size_t q = 0; q < s->nquestions; q++)
        icx_buf_printf(b, " %s |", s->questions[q].id);
    icx_buf_puts(b, "\n|---|");
    for (size_t q = 0; q < s->nquestions; q++)
        icx_buf_puts(b, "---|");
    icx_buf_puts(b, "\n");
    for (size_t i = 0; i < c->r->nparties; i++) {
        const icx_survey_party *p = &c->r->parties[i];
        char cc[8];
        country(cc, sizeof cc, p->agency);
        icx_buf_printf(b, "| %s (%s) |", cc, p->agency);
        for (size_t q = 0; q < s->nquestions; q++) {
            cell x;
            resolve(c, &x, c->r, p->agency, s->questions[q].id);
            icx_buf_puts(b, " ");
            put_cell(b, F_MD, &x, 1);
            icx_buf_puts(b, " |");
        }
        icx_buf_puts(b, "\n");
    }
    if (k.rejected > 0) {
        icx_buf_puts(b, "\n## Rejected answers\n\n| Country | Message | Reason |\n"
                        "|---|---|---|\n");
        for (size_t i = 0; i < c->r->nparties; i++) {
            const icx_survey_party *p = &c->r->parties[i];
            if (p->answer || !p->rejected[0])
                continue;
            icx_buf_printf(b, "| %s | %s | ", p->agency, p->rejected_id);
            put_md(b, p->rejected);
            icx_buf_puts(b, " |\n");
        }
    }
}

static const char html_style[] =
    "body{font-family:system-ui,-apple-system,\"Segoe UI\",sans-serif;"
    "margin:2em;color:#111;line-height:1.35}\n"
    "h1{font-size:1.5em}h2{font-size:1.2em;margin-top:1.5em}\n"
    "table{border-collapse:collapse;margin:.5em 0 1em;font-size:.9em}\n"
    "th,td{border:1px solid #999;padding:.3em .5em;vertical-align:top;"
    "text-align:left}\n"
    "thead th{background:#e8e8e8}tbody th{background:#f6f6f6;"
    "white-space:nowrap}\n"
    ".missing{color:#a00;font-style:italic;font-weight:bold}\n"
    ".na{color:#777;font-style:italic}\n"
    ".unchanged{color:#555;font-size:.85em;font-style:italic}\n"
    "ul.cite{margin:.3em 0 0;padding-left:1.1em;font-size:.85em}\n"
    ".note{font-size:.85em;color:#333;margin-top:.3em}\n"
    ".meta{color:#333}\n"
    "@media print{body{margin:0;font-size:9pt}a{color:inherit;"
    "text-decoration:none}thead{display:table-header-group}"
    "tr{page-break-inside:avoid}h2{page-break-after:avoid}"
    "@page{size:A4 landscape;margin:12mm}}\n";

static void put_html_all(struct compiler *c, struct counts k, const char *when)
{
    const icx_survey *s = c->r->request;
    icx_buf *b = c->out;
    const char *lang = c->o->lang ? c->o->lang : "en";
    icx_buf_puts(b, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n"
                    "<meta charset=\"utf-8\">\n<title>");
    icx_buf_put_xml(b, s->title);
    icx_buf_printf(b, " (%s)</title>\n<style>\n%s</style>\n</head>\n<body>\n"
                   "<h1>", s->round, html_style);
    icx_buf_put_xml(b, s->title);
    icx_buf_printf(b, "</h1>\n<p class=\"meta\">Round <b>%s</b>", s->round);
    if (s->previous)
        icx_buf_printf(b, " (previous round %s)", s->previous);
    icx_buf_printf(b, ", deadline %s, compiled %s.<br>%zu asked, %zu answered, "
                   "%zu rejected, %zu without an answer.</p>\n", s->deadline,
                   when, k.asked, k.answered, k.rejected, k.missing);
    icx_buf_puts(b, "<h2>Questions</h2>\n<table class=\"questions\"><thead><tr>"
                    "<th>Id</th><th>Type</th><th>Question</th><th>Tags</th>"
                    "</tr></thead><tbody>\n");
    for (size_t q = 0; q < s->nquestions; q++) {
        const icx_survey_question *qq = &s->questions[q];
        icx_buf_puts(b, "<tr><th>");
        icx_buf_put_xml(b, qq->id);
        icx_buf_printf(b, "</th><td>%s</td><td>", icx_sq_type_name(qq->type));
        icx_buf_put_xml(b, icx_survey_question_text(qq, lang));
        icx_buf_puts(b, "</td><td>");
        put_tags(b, F_HTML, qq);
        icx_buf_puts(b, "</td></tr>\n");
    }
    icx_buf_puts(b, "</tbody></table>\n<h2>Answers</h2>\n<table class=\"matrix\">"
                    "<thead><tr><th>Country</th>");
    for (size_t q = 0; q < s->nquestions; q++) {
        icx_buf_puts(b, "<th>");
        icx_buf_put_xml(b, s->questions[q].id);
        icx_buf_puts(b, "</th>");
    }
    icx_buf_puts(b, "</tr></thead><tbody>\n");
    for (size_t i = 0; i < c->r->nparties; i++) {
        const icx_survey_party *p = &c->r->parties[i];
        char cc[8];
        country(cc, sizeof cc, p->agency);
        icx_buf_printf(b, "<tr><th>%s <small>%s</small></th>", cc, p->agency);
        for (size_t q = 0; q < s->nquestions; q++) {
            cell x;
            resolve(c, &x, c->r, p->agency, s->questions[q].id);
            icx_buf_puts(b, "<td>");
            put_cell(b, F_HTML, &x, 1);
            icx_buf_puts(b, "</td>");
        }
        icx_buf_puts(b, "</tr>\n");
    }
    icx_buf_puts(b, "</tbody></table>\n");
    if (k.rejected > 0) {
        icx_buf_puts(b, "<h2>Rejected answers</h2>\n<table><thead><tr><th>"
                        "Country</th><th>Message</th><th>Reason</th></tr>"
                        "</thead><tbody>\n");
        for (size_t i = 0; i < c->r->nparties; i++) {
            const icx_survey_party *p = &c->r->parties[i];
            if (p->answer || !p->rejected[0])
                continue;
            icx_buf_printf(b, "<tr><th>%s</th><td>%s</td><td>", p->agency,
                           p->rejected_id);
            icx_buf_put_xml(b, p->rejected);
            icx_buf_puts(b, "</td></tr>\n");
        }
        icx_buf_puts(b, "</tbody></table>\n");
    }
}

int icx_survey_compile(icx_buf *out, const icx_survey_round *r,
                       const icx_survey_compile_opts *o, icx_err *err)
{
    struct compiler c = {.r = r, .o = o, .out = out};
    int fmt = o->format == ICX_SURVEY_MD ? F_MD
              : o->format == ICX_SURVEY_HTML ? F_HTML : F_CSV;
    char when[24];
    int rc = ICX_OK;
    const icx_survey_round *before = NULL;
    icx_time_format(when, sizeof when, o->now ? o->now : time(NULL));
    if (o->since != NULL) {
        if (strcmp(o->since, r->request->round) == 0) {
            rc = icx_err_set(err, ICX_EINVAL, "--since %s: that is the round "
                             "being compiled", o->since);
            goto out;
        }
        before = round_get(&c, o->since);
        if (before == NULL) {
            rc = icx_err_set(err, ICX_ENOTFOUND, "round %s: no record of it "
                             "on this gateway", o->since);
            goto out;
        }
    }
    struct counts k = count_parties(r);
    if (fmt == F_CSV)
        put_csv_all(&c);
    else if (fmt == F_MD)
        put_md_all(&c, k, when);
    else
        put_html_all(&c, k, when);
    if (before != NULL)
        put_changes(&c, fmt, before);
    if (fmt == F_HTML)
        icx_buf_puts(out, "</body>\n</html>\n");
out:
    for (size_t i = 0; i < c.nloaded; i++) {
        icx_survey_round_free(&c.loaded[i]);
        free(c.loaded_id[i]);
    }
    return rc;
}
