/*
 * survey_read.c - survey payloads read back: a stored or received
 * survey:Request into an icx_survey, a survey:Response into an
 * icx_survey_response, and the checks a response must pass against the
 * round's questions (what the schema cannot say).
 *
 * Input is parsed with the hardened parser and validated against schemas/
 * before it is read; an envelope is accepted too (its payload is read).
 * Not thread-safe (the schema cache): one command or the daemon's loop
 * thread.  The tree is only read: names, attributes and text are borrowed from
 * libxml2 and copied with strdup, so no libxml2 memory leaves this file.
 *
 * Errors: ICX_EINVAL (not a survey payload of the right kind), the
 * parser's and the validator's codes, ICX_ENOMEM.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/tree.h>

#include "envelope.h"
#include "survey.h"
#include "survey_int.h"
#include "xml.h"
#include "xmlnode.h"

/* The schemas, loaded once per process: a compile reads every stored
 * survey envelope, and loading the XSDs costs more than validating one.
 * Immutable once loaded; kept until exit. */
static icx_schemas *cached_schemas;

static int schemas_get(const icx_schemas **out, icx_err *err)
{
    if (cached_schemas == NULL) {
        int rc = icx_schemas_load(&cached_schemas, icx_schemas_default_dir(),
                                  err);
        if (rc < 0)
            return rc;
    }
    *out = cached_schemas;
    return ICX_OK;
}

/* Parses and validates; *root is the survey element `want`. */
static int open_payload(icx_xmldoc **doc, const xmlNode **root,
                        const char *xml, size_t len, const char *want,
                        icx_err *err)
{
    icx_xml_limits lim = {.max_bytes = ICX_SURVEY_MAX_PAYLOAD, .max_depth = 64};
    const icx_schemas *schemas = NULL;
    icx_buf payload;
    int rc;
    icx_buf_init(&payload, ICX_SURVEY_MAX_PAYLOAD);
    if ((rc = schemas_get(&schemas, err)) < 0 ||
        (rc = icx_xml_parse(doc, xml, len, &lim, err)) < 0 ||
        (rc = icx_schemas_validate(schemas, *doc, err)) < 0)
        goto out;
    xmlNode *r = xmlDocGetRootElement(icx_xml_raw(*doc));
    if (r->ns && strcmp((const char *)r->ns->href, ICX_ENVELOPE_NS) == 0) {
        icx_xml_free(doc);
        if ((rc = icx_envelope_payload(&payload, xml, len, &lim, err)) < 0 ||
            (rc = icx_xml_parse(doc, payload.data, payload.len, &lim, err)) < 0)
            goto out;
        r = xmlDocGetRootElement(icx_xml_raw(*doc));
    }
    if (r->ns == NULL || strcmp((const char *)r->ns->href, ICX_SURVEY_NS) != 0 ||
        !icx_xn_is(r, want)) {
        rc = icx_err_set(err, ICX_EINVAL, "not a survey %s (root element %s)",
                         want, (const char *)r->name);
        goto out;
    }
    *root = r;
out:
    icx_buf_free(&payload);
    if (rc < 0)
        icx_xml_free(doc);
    return rc;
}

static size_t count(const xmlNode *n, const char *name)
{
    size_t k = 0;
    for (const xmlNode *c = n ? n->children : NULL; c; c = c->next)
        k += icx_xn_is(c, name);
    return k;
}

static int read_question(icx_survey_question *q, const xmlNode *qn)
{
    const xmlNode *tags = icx_xn_child(qn, "Tags");
    q->id = icx_survey_dup(icx_xn_attr(qn, "id"));
    q->type = icx_sq_type_from_name(icx_xn_attr(qn, "type"));
    q->texts = calloc(count(qn, "Text") + 1, sizeof *q->texts);
    q->tags = calloc(count(tags, "Tag") + 1, sizeof *q->tags);
    if (q->id == NULL || q->texts == NULL || q->tags == NULL)
        return ICX_ENOMEM;
    for (const xmlNode *c = qn->children; c; c = c->next) {
        if (!icx_xn_is(c, "Text"))
            continue;
        icx_survey_text *t = &q->texts[q->ntexts];
        const char *lang = icx_xn_attr(c, "lang");
        if ((t->lang = strdup(lang ? lang : "")) == NULL ||
            (t->text = icx_xn_text_dup(c)) == NULL)
            return ICX_ENOMEM;
        q->ntexts++;
    }
    for (const xmlNode *c = tags ? tags->children : NULL; c; c = c->next) {
        if (!icx_xn_is(c, "Tag"))
            continue;
        icx_survey_tag *t = &q->tags[q->ntags];
        if ((t->scheme = icx_survey_dup(icx_xn_attr(c, "scheme"))) == NULL ||
            (t->value = icx_xn_text_dup(c)) == NULL)
            return ICX_ENOMEM;
        q->ntags++;
    }
    return ICX_OK;
}

int icx_survey_from_xml(icx_survey **out, const char *xml, size_t len,
                        icx_err *err)
{
    icx_xmldoc *doc = NULL;
    const xmlNode *root = NULL;
    icx_survey *s = NULL;
    int rc;
    *out = NULL;
    if ((rc = open_payload(&doc, &root, xml, len, "Request", err)) < 0)
        return rc;
    const xmlNode *qs = icx_xn_child(root, "Questions");
    if ((s = calloc(1, sizeof *s)) == NULL ||
        (s->round = icx_xn_text_dup(icx_xn_child(root, "RoundId"))) == NULL ||
        (s->title = icx_xn_text_dup(icx_xn_child(root, "Title"))) == NULL ||
        (s->deadline = icx_xn_text_dup(icx_xn_child(root, "Deadline"))) == NULL ||
        (icx_xn_child(root, "PreviousRoundId") &&
         (s->previous = icx_xn_text_dup(icx_xn_child(root, "PreviousRoundId"))) == NULL) ||
        (s->questions = calloc(count(qs, "Question") + 1,
                               sizeof *s->questions)) == NULL)
        goto oom;
    for (const xmlNode *c = qs ? qs->children : NULL; c; c = c->next) {
        if (!icx_xn_is(c, "Question"))
            continue;
        if (read_question(&s->questions[s->nquestions++], c) < 0)
            goto oom;
    }
    *out = s;
    s = NULL;
    goto out;
oom:
    rc = icx_err_set(err, ICX_ENOMEM, "out of memory");
out:
    icx_survey_free(&s);
    icx_xml_free(&doc);
    return rc;
}

/* ---- responses ---------------------------------------------------------- */

void icx_survey_answer_clear(icx_survey_answer *a)
{
    free(a->question);
    free(a->value);
    free(a->since);
    free(a->note);
    for (size_t c = 0; c < a->ncitations; c++) {
        free(a->citations[c].statute);
        free(a->citations[c].article);
        free(a->citations[c].url);
    }
    free(a->citations);
    memset(a, 0, sizeof *a);
}

void icx_survey_response_free(icx_survey_response **rp)
{
    icx_survey_response *r = rp ? *rp : NULL;
    if (r == NULL)
        return;
    for (size_t i = 0; i < r->nanswers; i++)
        icx_survey_answer_clear(&r->answers[i]);
    free(r->answers);
    free(r->round);
    free(r);
    *rp = NULL;
}

static int read_answer(icx_survey_answer *a, const xmlNode *an)
{
    const xmlNode *v = icx_xn_child(an, "Value"), *u = icx_xn_child(an, "Unchanged");
    const xmlNode *cs = icx_xn_child(an, "Citations"), *note = icx_xn_child(an, "Note");
    if ((a->question = icx_survey_dup(icx_xn_attr(an, "question"))) == NULL ||
        (v && (a->value = icx_xn_text_dup(v)) == NULL) ||
        (u && (a->since = icx_survey_dup(icx_xn_attr(u, "sinceRound"))) == NULL) ||
        (note && (a->note = icx_xn_text_dup(note)) == NULL) ||
        (a->citations = calloc(count(cs, "Citation") + 1,
                               sizeof *a->citations)) == NULL)
        return ICX_ENOMEM;
    for (const xmlNode *c = cs ? cs->children : NULL; c; c = c->next) {
        if (!icx_xn_is(c, "Citation"))
            continue;
        icx_survey_citation *ct = &a->citations[a->ncitations++];
        if ((ct->statute = icx_xn_text_dup(icx_xn_child(c, "Statute"))) == NULL ||
            (ct->article = icx_xn_text_dup(icx_xn_child(c, "Article"))) == NULL ||
            (icx_xn_child(c, "Url") && (ct->url = icx_xn_text_dup(icx_xn_child(c, "Url"))) == NULL))
            return ICX_ENOMEM;
    }
    return ICX_OK;
}

int icx_survey_response_from_xml(icx_survey_response **out, const char *xml,
                                 size_t len, icx_err *err)
{
    icx_xmldoc *doc = NULL;
    const xmlNode *root = NULL;
    icx_survey_response *r = NULL;
    int rc;
    *out = NULL;
    if ((rc = open_payload(&doc, &root, xml, len, "Response", err)) < 0)
        return rc;
    const xmlNode *as = icx_xn_child(root, "Answers");
    if ((r = calloc(1, sizeof *r)) == NULL ||
        (r->round = icx_xn_text_dup(icx_xn_child(root, "RoundId"))) == NULL ||
        (r->answers = calloc(count(as, "Answer") + 1, sizeof *r->answers)) == NULL)
        goto oom;
    for (const xmlNode *c = as ? as->children : NULL; c; c = c->next) {
        if (!icx_xn_is(c, "Answer"))
            continue;
        if (read_answer(&r->answers[r->nanswers++], c) < 0)
            goto oom;
    }
    *out = r;
    r = NULL;
    goto out;
oom:
    rc = icx_err_set(err, ICX_ENOMEM, "out of memory");
out:
    icx_survey_response_free(&r);
    icx_xml_free(&doc);
    return rc;
}

const icx_survey_answer *icx_survey_response_find(const icx_survey_response *r,
                                                  const char *question)
{
    for (size_t i = 0; r && question && i < r->nanswers; i++)
        if (strcmp(r->answers[i].question, question) == 0)
            return &r->answers[i];
    return NULL;
}

static void problem(icx_buf *why, int *n, const char *fmt, const char *a,
                    const char *b)
{
    if (*n > 0)
        icx_buf_puts(why, "; ");
    icx_buf_printf(why, fmt, a, b);
    (*n)++;
}

int icx_survey_response_check(const icx_survey *req,
                              const icx_survey_response *r, icx_buf *why)
{
    int n = 0;
    char reason[256];
    if (strcmp(r->round, req->round) != 0)
        problem(why, &n, "round %s is not %s", r->round, req->round);
    for (size_t i = 0; i < r->nanswers; i++) {
        const icx_survey_answer *a = &r->answers[i];
        const icx_survey_question *q = icx_survey_question_find(req, a->question);
        if (q == NULL) {
            problem(why, &n, "%s: unknown question%s", a->question, "");
            continue;
        }
        if (a->since != NULL) {
            if (strcmp(a->since, req->round) == 0)
                problem(why, &n, "%s: unchanged since %s, the round itself",
                        a->question, a->since);
            continue;
        }
        if (a->value != NULL &&
            icx_survey_check_value(q->type, a->value, reason, sizeof reason) < 0)
            problem(why, &n, "%s: %s", a->question, reason);
        if (q->type == ICX_SQ_CITATIONS && a->ncitations == 0)
            problem(why, &n, "%s: a %s question needs at least one citation",
                    a->question, "citations");
    }
    return n;
}
