/*
 * survey_answer.c - a partner's answers (YAML) into a survey:Response
 * payload, checked against the questions of the request it answers.
 *
 *   round: 2026-csam-law-r2          # optional; must be the request's
 *   answers:
 *     q01: yes                       # a value
 *     q02: unchanged since 2025-csam-law-r1
 *     q03: {value: 10, note: "..."}
 *     q05:                           # value: "1 provision cited"
 *       citations:
 *         - {statute: "...", article: "Art. 7", url: "https://..."}
 *     q06: {unchanged_since: 2025-csam-law-r1}
 *
 * Every problem (unknown question, a value that does not fit its type, a
 * citations question without a citation, a round that is not the
 * request's) is reported at its position and nothing is written.
 * Questions left out are allowed: the compiled comparison marks them
 * missing.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "config.h"
#include "survey.h"
#include "survey_int.h"

struct ans {
    char *value, *since, *note;
};
#define A(f) offsetof(struct ans, f)
static const icx_conftab_key answer_keys[] = {
    {.name = "value", .type = ICX_CT_STRING, .offset = A(value), .doc = "the answer"},
    {.name = "unchanged_since", .type = ICX_CT_STRING, .offset = A(since), .doc = "the answer of that round still holds"},
    {.name = "note", .type = ICX_CT_STRING, .offset = A(note), .doc = "a note"},
    {NULL, 0, 0, 0, 0, 0, NULL, NULL, NULL, NULL, NULL},
};
#undef A

struct cit {
    char *statute, *article, *url;
};
#define C(f) offsetof(struct cit, f)
static const icx_conftab_key citation_keys[] = {
    {.name = "statute", .type = ICX_CT_STRING, .offset = C(statute), .doc = "statute name (required)"},
    {.name = "article", .type = ICX_CT_STRING, .offset = C(article), .doc = "article or section (required)"},
    {.name = "url", .type = ICX_CT_STRING, .offset = C(url), .doc = "where to read it"},
    {NULL, 0, 0, 0, 0, 0, NULL, NULL, NULL, NULL, NULL},
};
#undef C

/* "unchanged since [round] ID" -> ID (borrowed from s), else NULL. */
static const char *unchanged_form(const char *s)
{
    static const char prefix[] = "unchanged since ";
    if (strncasecmp(s, prefix, sizeof prefix - 1) != 0)
        return NULL;
    s += sizeof prefix - 1;
    if (strncasecmp(s, "round ", 6) == 0)
        s += 6;
    return s;
}

static void put_elem(icx_buf *b, const char *indent, const char *name,
                     const char *text)
{
    icx_buf_printf(b, "%s<%s>", indent, name);
    icx_buf_put_xml(b, text);
    icx_buf_printf(b, "</%s>\n", name);
}

static int check_text(icx_conftab_file *f, const icx_conftab_node *at,
                      const char *key, const char *what, const char *v,
                      size_t max)
{
    size_t n = icx_survey_chars(v);
    if (n >= 1 && n <= max)
        return 0;
    icx_conftab_error(f, at, key, "%s: %s", what,
                      n ? "too long" : "empty");
    return -1;
}

/* One question's answer; appends <Answer> to out when it is sound. */
static int one_answer(icx_buf *out, const icx_survey *req,
                      const icx_conftab_node *k, const icx_conftab_node *v,
                      icx_conftab_file *f)
{
    static const char *const skip[] = {"citations", NULL};
    char key[96], why[256];
    struct ans a;
    icx_buf cits, auto_value;
    size_t ncit = 0;
    int rc = ICX_OK, bad = 0;
    const char *value = NULL, *since = NULL;
    const icx_conftab_node *vat = v, *cseq = NULL;
    char lower[16];

    memset(&a, 0, sizeof a);
    icx_buf_init(&cits, ICX_SURVEY_MAX_PAYLOAD);
    icx_buf_init(&auto_value, 8192);
    snprintf(key, sizeof key, "answers.%s", k->text);
    const icx_survey_question *q = icx_survey_question_find(req, k->text);
    if (q == NULL) {
        icx_conftab_error(f, k, key, "unknown question (round %s asks %zu "
                          "question%s)", req->round, req->nquestions,
                          req->nquestions == 1 ? "" : "s");
        return ICX_OK;
    }
    if (v->refused)
        return ICX_OK;
    if (v->kind == ICX_CN_SCALAR) {
        if (icx_conftab_is_empty(v)) {
            icx_conftab_error(f, v, key, "empty answer (leave the question "
                              "out to mark it unanswered)");
            return ICX_OK;
        }
        since = unchanged_form(v->text);
        value = since ? NULL : v->text;
    } else if (v->kind == ICX_CN_MAP) {
        icx_conftab_node *view = icx_conftab_view_without(v, skip);
        if (view == NULL)
            return ICX_ENOMEM;
        rc = icx_survey_apply_at(&a, answer_keys, view, key, f);
        icx_conftab_view_free(view);
        if (rc < 0)
            goto out;
        value = a.value;
        since = a.since;
        if (value)
            vat = icx_conftab_find(v, "value");
        if (value && since) {
            icx_conftab_error(f, icx_conftab_find(v, "unchanged_since"), key,
                              "value and unchanged_since exclude each other");
            bad = 1;
        }
        if (a.note && check_text(f, icx_conftab_find(v, "note"), key, "note",
                                 a.note, 4000) < 0)
            bad = 1;
        cseq = icx_survey_want(f, icx_conftab_find(v, "citations"),
                               ICX_CN_SEQ, key);
    } else {
        icx_conftab_error(f, v, key, "want a value or a mapping (value, "
                          "unchanged_since, citations, note)");
        return ICX_OK;
    }
    if (since != NULL) {
        const icx_conftab_node *at = v->kind == ICX_CN_MAP ?
            icx_conftab_find(v, "unchanged_since") : v;
        if (!icx_survey_id_valid(since)) {
            icx_conftab_error(f, at, key, "\"%s\" is not a round id", since);
            bad = 1;
        } else if (strcmp(since, req->round) == 0) {
            icx_conftab_error(f, at, key, "unchanged since %s: that is this "
                              "round; name an earlier one", since);
            bad = 1;
        }
    }
    /* Citations: each a mapping statute, article[, url]. */
    for (size_t i = 0; cseq && i < cseq->nkids; i++) {
        char ck[128];
        struct cit c;
        memset(&c, 0, sizeof c);
        snprintf(ck, sizeof ck, "%s.citations[%zu]", key, i);
        const icx_conftab_node *cn = icx_survey_want(f, cseq->kids[i],
                                                     ICX_CN_MAP, ck);
        if (cn == NULL) {
            bad = 1;
            continue;
        }
        size_t before = f->diag->n;
        if ((rc = icx_survey_apply_at(&c, citation_keys, cn, ck, f)) < 0) {
            icx_conftab_release(&c, citation_keys);
            goto out;
        }
        for (int w = 0; w < 2; w++)
            if ((w ? c.article : c.statute) == NULL)
                icx_conftab_error(f, cn, ck, "%s: required key missing",
                                  w ? "article" : "statute");
        if (c.statute && check_text(f, cn, ck, "statute", c.statute, 256) < 0)
            bad = 1;
        if (c.article && check_text(f, cn, ck, "article", c.article, 256) < 0)
            bad = 1;
        if (c.url && (strlen(c.url) > 2048 || strpbrk(c.url, " \t<>\"") ||
                      strstr(c.url, "://") == NULL)) {
            icx_conftab_error(f, icx_conftab_find(cn, "url"), ck,
                              "\"%.80s\" is not a URL", c.url);
            bad = 1;
        }
        if (f->diag->n != before || c.statute == NULL || c.article == NULL) {
            bad = 1;
        } else {
            icx_buf_puts(&cits, "        <Citation>\n");
            put_elem(&cits, "          ", "Statute", c.statute);
            put_elem(&cits, "          ", "Article", c.article);
            if (c.url)
                put_elem(&cits, "          ", "Url", c.url);
            icx_buf_puts(&cits, "        </Citation>\n");
            ncit++;
        }
        icx_conftab_release(&c, citation_keys);
    }
    if (cseq && cseq->nkids > 64) {
        icx_conftab_error(f, cseq, key, "at most 64 citations");
        bad = 1;
    }
    if (since == NULL && value == NULL) {
        if (q->type == ICX_SQ_CITATIONS && ncit > 0) {
            icx_buf_printf(&auto_value, ICX_SURVEY_CITED_FMT, ncit,
                           ncit == 1 ? "" : "s");
            value = auto_value.data;
        } else if (!bad) {
            icx_conftab_error(f, v, key, "no value (want value: or "
                              "unchanged_since:)");
            bad = 1;
        }
    }
    if (value != NULL && q->type == ICX_SQ_YES_NO_PARTIAL &&
        strlen(value) < sizeof lower) {
        size_t i = 0;
        for (; value[i]; i++)
            lower[i] = (char)((value[i] >= 'A' && value[i] <= 'Z') ?
                              value[i] + 32 : value[i]);
        lower[i] = '\0';
        value = lower;
    }
    if (value != NULL &&
        icx_survey_check_value(q->type, value, why, sizeof why) < 0) {
        icx_conftab_error(f, vat, key, "%s", why);
        bad = 1;
    }
    if (since == NULL && q->type == ICX_SQ_CITATIONS && ncit == 0 && !bad) {
        icx_conftab_error(f, v, key, "question %s wants at least one citation "
                          "(citations: [{statute: ..., article: ...}])", q->id);
        bad = 1;
    }
    if (bad)
        goto out;
    icx_buf_puts(out, "    <Answer question=\"");
    icx_buf_put_xml(out, q->id);
    icx_buf_puts(out, "\">\n");
    if (since) {
        icx_buf_puts(out, "      <Unchanged sinceRound=\"");
        icx_buf_put_xml(out, since);
        icx_buf_puts(out, "\"/>\n");
    } else {
        put_elem(out, "      ", "Value", value);
    }
    if (ncit > 0) {
        icx_buf_puts(out, "      <Citations>\n");
        icx_buf_append(out, cits.data, cits.len);
        icx_buf_puts(out, "      </Citations>\n");
    }
    if (a.note)
        put_elem(out, "      ", "Note", a.note);
    icx_buf_puts(out, "    </Answer>\n");
out:
    icx_conftab_release(&a, answer_keys);
    icx_buf_free(&cits);
    icx_buf_free(&auto_value);
    return rc;
}

int icx_survey_answers_load(icx_buf *out, const icx_survey *req,
                            const char *path, icx_buf *errs, icx_err *err)
{
    icx_conftab_diag diag = {0};
    icx_conftab_node *root = NULL;
    icx_buf body;
    int rc = ICX_OK;
    icx_buf_init(&body, 16u << 20);
    icx_conftab_file f = {path, ".", 0, &diag};
    if ((rc = icx_conftab_parse(&root, path, ICX_CONFIG_MAX_BYTES, &f)) < 0)
        goto oom;
    const icx_conftab_node *answers = NULL;
    size_t nanswers = 0;
    for (size_t i = 0; root && i + 1 < root->nkids; i += 2) {
        const icx_conftab_node *k = root->kids[i], *v = root->kids[i + 1];
        if (k->kind != ICX_CN_SCALAR || k->refused)
            continue;
        if (strcmp(k->text, "round") == 0) {
            if (v->kind != ICX_CN_SCALAR || strcmp(v->text, req->round) != 0)
                icx_conftab_error(&f, v, "round", "\"%s\" is not the round of "
                                  "the request (%s)", v->kind == ICX_CN_SCALAR
                                  ? v->text : "?", req->round);
        } else if (strcmp(k->text, "answers") == 0) {
            answers = icx_survey_want(&f, v, ICX_CN_MAP, "answers");
        } else {
            icx_conftab_error(&f, k, k->text, "unknown key (want round, "
                              "answers)");
        }
    }
    if (root && answers == NULL && diag.n == 0)
        icx_conftab_error(&f, root, "answers", "required key missing");
    for (size_t i = 0; answers && i + 1 < answers->nkids; i += 2) {
        const icx_conftab_node *k = answers->kids[i];
        if (k->kind != ICX_CN_SCALAR || k->refused)
            continue;
        int dup = 0;
        for (size_t j = 0; j < i && !dup; j += 2)
            dup = answers->kids[j]->kind == ICX_CN_SCALAR &&
                  strcmp(answers->kids[j]->text, k->text) == 0;
        if (dup) {
            icx_conftab_error(&f, k, "answers", "question %s answered twice",
                              k->text);
            continue;
        }
        if ((rc = one_answer(&body, req, k, answers->kids[i + 1], &f)) < 0)
            goto oom;
        nanswers++;
    }
    if (answers && nanswers == 0 && diag.n == 0)
        icx_conftab_error(&f, answers, "answers", "no answer");
    if (diag.oom)
        goto oom;
    if (diag.n > 0) {
        icx_conftab_diag_emit(&diag, errs, err);
        rc = err->rc = ICX_ECONFIG;
        goto out;
    }
    if (icx_buf_puts(out, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                          "<Response xmlns=\"" ICX_SURVEY_NS "\">\n"
                          "  <RoundId>") < 0 ||
        icx_buf_put_xml(out, req->round) < 0 ||
        icx_buf_puts(out, "</RoundId>\n  <Answers>\n") < 0 ||
        icx_buf_append(out, body.data, body.len) < 0 ||
        icx_buf_puts(out, "  </Answers>\n</Response>\n") < 0) {
        rc = icx_err_set(err, ICX_EFULL, "survey response: too large");
        goto out;
    }
    goto out;
oom:
    rc = icx_err_set(err, ICX_ENOMEM, "out of memory");
out:
    icx_conftab_node_free(&root);
    icx_conftab_diag_free(&diag);
    icx_buf_free(&body);
    return rc;
}
