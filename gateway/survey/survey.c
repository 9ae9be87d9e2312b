/*
 * survey.c - survey definitions: the YAML of a round (and the groups file
 * its recipients may name) into an icx_survey, and an icx_survey into the
 * survey:Request payload.
 *
 * A definition is read in one pass that reports every problem with its
 * position; recipient groups are expanded here (duplicates dropped, this
 * gateway's own id dropped from groups) so that the caller only checks
 * each agency against its partner files.  Nothing here touches the store
 * or the network.
 *
 * Errors: ICX_ECONFIG with file:line:col lines in errs, ICX_ENOMEM.
 */
#include "survey.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "conftab.h"
#include "survey_int.h"
#include "util.h"

static const char *const type_names[] = {"yes-no-partial", "number", "date",
                                         "text", "citations", NULL};
const char *const icx_survey_icmec_criteria[] = {
    "specific-legislation", "definition", "technology-facilitated",
    "simple-possession", "isp-reporting", NULL};
static const char *const tlp_names[] = {"CLEAR", "GREEN", "AMBER",
                                        "AMBER+STRICT", "RED", NULL};

int icx_sq_type_from_name(const char *name)
{
    for (int i = 0; name != NULL && type_names[i] != NULL; i++)
        if (strcmp(type_names[i], name) == 0)
            return i;
    return -1;
}

const char *icx_sq_type_name(int type)
{
    return type >= 0 && type < ICX_SQ__COUNT ? type_names[type] : NULL;
}

/* ---- shared helpers ----------------------------------------------------- */

const icx_conftab_node *icx_survey_want(icx_conftab_file *f,
                                        const icx_conftab_node *n, int kind,
                                        const char *key)
{
    char got[64];
    if (n == NULL || n->refused || icx_conftab_is_empty(n))
        return NULL;
    if (n->kind != kind) {
        icx_conftab_error(f, n, key, "want %s, got %s",
                          kind == ICX_CN_SEQ ? "a list" : "a mapping",
                          icx_conftab_got(n, got, sizeof got));
        return NULL;
    }
    return n;
}

int icx_survey_id_valid(const char *s)
{
    size_t n = s ? strlen(s) : 0;
    if (n < 1 || n > 64 || !isalnum((unsigned char)s[0]))
        return 0;
    for (size_t i = 1; i < n; i++)
        if (!isalnum((unsigned char)s[i]) && !strchr("._-", s[i]))
            return 0;
    return 1;
}

size_t icx_survey_chars(const char *s)
{
    size_t n = 0;
    for (; *s != '\0'; s++)
        n += ((unsigned char)*s & 0xC0) != 0x80;
    return n;
}

char *icx_survey_dup(const char *s)
{
    return s ? strdup(s) : NULL;
}

int icx_survey_apply_at(void *base, const icx_conftab_key *tab,
                        const icx_conftab_node *map, const char *prefix,
                        icx_conftab_file *f)
{
    /* A one-key mapping {prefix: map} walked with a one-key table: the
     * walker then names every key "prefix.key". */
    icx_conftab_key wrap[2] = {
        {.name = prefix, .type = ICX_CT_MAPPING, .sub = tab},
        {.name = NULL},
    };
    icx_conftab_node key = *map;
    icx_conftab_node *kids[2] = {&key, (icx_conftab_node *)map};
    icx_conftab_node root = *map;
    key.kind = ICX_CN_SCALAR;
    key.text = (char *)prefix;
    key.kids = NULL;
    key.nkids = 0;
    root.kids = kids;
    root.nkids = 2;
    return icx_conftab_apply(base, wrap, &root, f);
}

/* ---- key tables --------------------------------------------------------- */

static int check_id(const char *v, const char *w, char *why, size_t n)
{
    (void)w;
    if (icx_survey_id_valid(v))
        return 0;
    snprintf(why, n, "\"%s\" is not an id (letters, digits, . _ -; at most "
             "64, starting with a letter or digit)", v);
    return -1;
}

static int check_date(const char *v, const char *w, char *why, size_t n)
{
    (void)w;
    if (icx_survey_check_value(ICX_SQ_DATE, v, why, n) == 0)
        return 0;
    return -1;
}

static int check_title(const char *v, const char *w, char *why, size_t n)
{
    (void)w;
    if (icx_survey_chars(v) <= 256)
        return 0;
    snprintf(why, n, "longer than 256 characters");
    return -1;
}

static int check_iccs(const char *v, const char *w, char *why, size_t n)
{
    (void)w;
    size_t len = strlen(v);
    int ok = len == 2 || (len >= 4 && len <= 6);
    for (size_t i = 0; ok && i < len; i++)
        ok = isdigit((unsigned char)v[i]);
    if (ok)
        return 0;
    snprintf(why, n, "\"%s\" is not an ICCS code (2, 4, 5 or 6 digits, e.g. "
             "\"030221\"; quote codes with a leading zero)", v);
    return -1;
}

struct def {
    char *round, *previous, *title, *deadline, *groups_file;
    char *legal_basis, *retain_until, *tlp;
};

#define D(f) offsetof(struct def, f)
static const icx_conftab_key handling_keys[] = {
    {.name = "legal_basis", .type = ICX_CT_STRING, .offset = D(legal_basis), .required = 1, .doc = "LegalBasis of every request envelope"},
    {.name = "retain_until", .type = ICX_CT_STRING, .offset = D(retain_until), .required = 1, .check = check_date, .doc = "RetainUntil (YYYY-MM-DD)"},
    {.name = "tlp", .type = ICX_CT_STRING, .offset = D(tlp), .def = "GREEN", .names = tlp_names, .doc = "TLP label"},
    {NULL, 0, 0, 0, 0, 0, NULL, NULL, NULL, NULL, NULL},
};
static const icx_conftab_key def_keys[] = {
    {.name = "round", .type = ICX_CT_STRING, .offset = D(round), .required = 1, .check = check_id, .doc = "RoundId, e.g. 2026-csam-law-r2"},
    {.name = "previous_round", .type = ICX_CT_STRING, .offset = D(previous), .check = check_id, .doc = "the round before (PreviousRoundId)"},
    {.name = "title", .type = ICX_CT_STRING, .offset = D(title), .required = 1, .check = check_title, .doc = "title (at most 256 characters)"},
    {.name = "deadline", .type = ICX_CT_STRING, .offset = D(deadline), .required = 1, .check = check_date, .doc = "answers due by (YYYY-MM-DD)"},
    {.name = "groups_file", .type = ICX_CT_PATH, .offset = D(groups_file), .doc = "recipient groups (default groups.yaml beside gateway.yaml)"},
    {.name = "handling", .type = ICX_CT_MAPPING, .sub = handling_keys, .doc = "envelope handling"},
    {NULL, 0, 0, 0, 0, 0, NULL, NULL, NULL, NULL, NULL},
};
#undef D

struct qdef {
    char *id, *type;
    icx_strlist iccs, icmec;
};
#define Q(f) offsetof(struct qdef, f)
static const icx_conftab_key tag_keys[] = {
    {.name = "iccs", .type = ICX_CT_STRLIST, .offset = Q(iccs), .check = check_iccs, .doc = "UNODC ICCS codes"},
    {.name = "icmec", .type = ICX_CT_STRLIST, .offset = Q(icmec), .names = icx_survey_icmec_criteria, .doc = "ICMEC model-legislation criteria"},
    {NULL, 0, 0, 0, 0, 0, NULL, NULL, NULL, NULL, NULL},
};
static const icx_conftab_key question_keys[] = {
    {.name = "id", .type = ICX_CT_STRING, .offset = Q(id), .required = 1, .check = check_id, .doc = "question id, e.g. q01"},
    {.name = "type", .type = ICX_CT_STRING, .offset = Q(type), .required = 1, .names = type_names, .doc = "answer type"},
    {.name = "tags", .type = ICX_CT_MAPPING, .sub = tag_keys, .doc = "tags by scheme"},
    {NULL, 0, 0, 0, 0, 0, NULL, NULL, NULL, NULL, NULL},
};
#undef Q

/* ---- loading ------------------------------------------------------------ */

static int lang_valid(const char *s)
{
    size_t n = strlen(s), run = 0;
    if (n < 2 || n > 35)
        return 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '-') {
            if (run == 0 || i + 1 == n)
                return 0;
            run = 0;
        } else if (isalnum((unsigned char)s[i]) && ++run <= 8) {
            continue;
        } else {
            return 0;
        }
    }
    return 1;
}

static int add_text(icx_survey_question *q, const char *lang, const char *t)
{
    icx_survey_text *x = &q->texts[q->ntexts];
    if ((x->lang = strdup(lang)) == NULL || (x->text = strdup(t)) == NULL)
        return ICX_ENOMEM;
    q->ntexts++;
    return ICX_OK;
}

/* text: "..." or text: {en: "...", ja: "..."} */
static int load_text(icx_survey_question *q, const icx_conftab_node *qn,
                     const char *key, icx_conftab_file *f)
{
    char k[96];
    const icx_conftab_node *t = icx_conftab_find(qn, "text");
    snprintf(k, sizeof k, "%s.text", key);
    q->texts = calloc(17, sizeof *q->texts);
    if (q->texts == NULL)
        return ICX_ENOMEM;
    if (t == NULL || t->refused || icx_conftab_is_empty(t)) {
        if (t == NULL || !t->refused)
            icx_conftab_error(f, t ? t : qn, k, "required key missing");
        return ICX_OK;
    }
    if (t->kind == ICX_CN_SCALAR) {
        if (icx_survey_chars(t->text) > 4000)
            icx_conftab_error(f, t, k, "longer than 4000 characters");
        return add_text(q, "", t->text);
    }
    if (t->kind != ICX_CN_MAP) {
        icx_conftab_error(f, t, k, "want a string or a mapping language: text");
        return ICX_OK;
    }
    for (size_t i = 0; i + 1 < t->nkids; i += 2) {
        const icx_conftab_node *l = t->kids[i], *v = t->kids[i + 1];
        if (l->kind != ICX_CN_SCALAR || l->refused || v->refused)
            continue;
        snprintf(k, sizeof k, "%s.text.%s", key, l->text);
        if (!lang_valid(l->text)) {
            icx_conftab_error(f, l, k, "\"%s\" is not a language tag (en, ja, "
                              "fr, pt-BR ...)", l->text);
            continue;
        }
        if (v->kind != ICX_CN_SCALAR || icx_conftab_is_empty(v)) {
            icx_conftab_error(f, v, k, "want a non-empty string");
            continue;
        }
        if (icx_survey_chars(v->text) > 4000)
            icx_conftab_error(f, v, k, "longer than 4000 characters");
        if (q->ntexts == 16) {
            icx_conftab_error(f, l, k, "at most 16 languages");
            break;
        }
        for (size_t o = 0; o < q->ntexts; o++)
            if (strcmp(q->texts[o].lang, l->text) == 0)
                icx_conftab_error(f, l, k, "duplicate language");
        int rc = add_text(q, l->text, v->text);
        if (rc < 0)
            return rc;
    }
    if (q->ntexts == 0)
        icx_conftab_error(f, t, key, "text: at least one language");
    return ICX_OK;
}

static int load_questions(icx_survey *s, const icx_conftab_node *root,
                          icx_conftab_file *f)
{
    static const char *const skip[] = {"text", NULL};
    const icx_conftab_node *seq = icx_survey_want(
        f, icx_conftab_find(root, "questions"), ICX_CN_SEQ, "questions");
    char key[64];
    if (seq == NULL || seq->nkids == 0) {
        if (icx_conftab_find(root, "questions") == NULL ||
            icx_conftab_is_empty(icx_conftab_find(root, "questions")))
            icx_conftab_error(f, root, "questions", "required key missing");
        return ICX_OK;
    }
    s->questions = calloc(seq->nkids, sizeof *s->questions);
    if (s->questions == NULL)
        return ICX_ENOMEM;
    for (size_t i = 0; i < seq->nkids; i++) {
        snprintf(key, sizeof key, "questions[%zu]", i);
        const icx_conftab_node *qn = icx_survey_want(f, seq->kids[i],
                                                     ICX_CN_MAP, key);
        if (qn == NULL)
            continue;
        struct qdef d;
        memset(&d, 0, sizeof d);
        icx_conftab_node *view = icx_conftab_view_without(qn, skip);
        if (view == NULL)
            return ICX_ENOMEM;
        int rc = icx_survey_apply_at(&d, question_keys, view, key, f);
        icx_conftab_view_free(view);
        icx_survey_question *q = &s->questions[s->nquestions++];
        q->type = icx_sq_type_from_name(d.type);
        q->id = d.id;
        d.id = NULL;
        if (rc == ICX_OK)
            rc = load_text(q, qn, key, f);
        size_t ntags = d.iccs.count + d.icmec.count;
        if (rc == ICX_OK && ntags > 64)
            icx_conftab_error(f, qn, key, "at most 64 tags");
        if (rc == ICX_OK && ntags > 0 &&
            (q->tags = calloc(ntags, sizeof *q->tags)) == NULL)
            rc = ICX_ENOMEM;
        for (size_t t = 0; rc == ICX_OK && t < ntags; t++) {
            int icmec = t >= d.iccs.count;
            const char *v = icmec ? d.icmec.items[t - d.iccs.count]
                                  : d.iccs.items[t];
            icx_survey_tag *tg = &q->tags[q->ntags];
            if ((tg->scheme = strdup(icmec ? "icmec" : "iccs")) == NULL ||
                (tg->value = strdup(v)) == NULL)
                rc = ICX_ENOMEM;
            else
                q->ntags++;
        }
        icx_conftab_release(&d, question_keys);
        if (rc < 0)
            return rc;
        for (size_t o = 0; q->id && o + 1 < s->nquestions; o++)
            if (s->questions[o].id && strcmp(s->questions[o].id, q->id) == 0)
                icx_conftab_error(f, icx_conftab_find(qn, "id"), key,
                                  "duplicate question id \"%s\"", q->id);
    }
    return ICX_OK;
}

/* groups: {NAME: [AGENCY, ...], ...}: the members of group, or NULL (with
 * a diagnostic at `at` when the group is unknown). */
static const icx_conftab_node *group_members(const icx_conftab_node *groups,
                                             const char *name)
{
    for (size_t i = 0; groups && i + 1 < groups->nkids; i += 2)
        if (groups->kids[i]->kind == ICX_CN_SCALAR &&
            strcmp(groups->kids[i]->text, name) == 0)
            return groups->kids[i + 1];
    return NULL;
}

/* Reads and checks the groups file: the "groups" mapping, or NULL. */
static const icx_conftab_node *load_groups(icx_conftab_node *groot,
                                           icx_conftab_file *gf)
{
    char key[128];
    if (groot == NULL)
        return NULL;
    for (size_t i = 0; i + 1 < groot->nkids; i += 2)
        if (groot->kids[i]->kind == ICX_CN_SCALAR &&
            strcmp(groot->kids[i]->text, "groups") != 0)
            icx_conftab_error(gf, groot->kids[i], groot->kids[i]->text,
                              "unknown key (want groups)");
    const icx_conftab_node *g = icx_survey_want(
        gf, icx_conftab_find(groot, "groups"), ICX_CN_MAP, "groups");
    for (size_t i = 0; g && i + 1 < g->nkids; i += 2) {
        const icx_conftab_node *k = g->kids[i], *v = g->kids[i + 1];
        if (k->kind != ICX_CN_SCALAR)
            continue;
        snprintf(key, sizeof key, "groups.%s", k->text);
        if (icx_agency_id_valid(k->text))
            icx_conftab_error(gf, k, key, "a group name must not look like an "
                              "agency id");
        if (icx_survey_want(gf, v, ICX_CN_SEQ, key) == NULL) {
            if (v->kind == ICX_CN_SCALAR)
                icx_conftab_error(gf, v, key, "want a list of agency ids");
            continue;
        }
        for (size_t m = 0; m < v->nkids; m++) {
            const icx_conftab_node *e = v->kids[m];
            if (e->kind != ICX_CN_SCALAR || !icx_agency_id_valid(e->text))
                icx_conftab_error(gf, e, key, "\"%s\" is not an agency id "
                                  "(CC-NAME)", e->kind == ICX_CN_SCALAR ?
                                  e->text : "?");
        }
    }
    return g;
}

static int add_recipient(icx_survey *s, const char *id, const char *group,
                         const icx_conftab_node *at, icx_conftab_file *f)
{
    for (size_t i = 0; i < s->nrecipients; i++)
        if (strcmp(s->recipients[i].id, id) == 0)
            return ICX_OK;
    if (s->nrecipients == ICX_SURVEY_MAX_RECIPIENTS) {
        icx_conftab_error(f, at, "recipients", "more than %d recipients",
                          ICX_SURVEY_MAX_RECIPIENTS);
        return ICX_OK;
    }
    icx_survey_recipient *r = &s->recipients[s->nrecipients];
    if ((r->id = strdup(id)) == NULL ||
        (group && (r->group = strdup(group)) == NULL))
        return ICX_ENOMEM;
    r->line = at->line;
    r->col = at->col;
    s->nrecipients++;
    return ICX_OK;
}

static int load_recipients(icx_survey *s, const icx_conftab_node *root,
                           const char *self, icx_conftab_file *f,
                           icx_conftab_diag *diag)
{
    const icx_conftab_node *seq = icx_survey_want(
        f, icx_conftab_find(root, "recipients"), ICX_CN_SEQ, "recipients");
    icx_conftab_node *groot = NULL;
    const icx_conftab_node *groups = NULL;
    int loaded = 0, rc = ICX_OK;
    char key[48];
    if (seq == NULL) {
        const icx_conftab_node *n = icx_conftab_find(root, "recipients");
        if (n == NULL || icx_conftab_is_empty(n))
            icx_conftab_error(f, n ? n : root, "recipients",
                              "required key missing (agency ids or group "
                              "names)");
        return ICX_OK;
    }
    s->recipients = calloc(ICX_SURVEY_MAX_RECIPIENTS, sizeof *s->recipients);
    if (s->recipients == NULL)
        return ICX_ENOMEM;
    icx_conftab_file gf = {s->groups_file, ".", 1, diag};
    for (size_t i = 0; i < seq->nkids && rc == ICX_OK; i++) {
        const icx_conftab_node *e = seq->kids[i];
        snprintf(key, sizeof key, "recipients[%zu]", i);
        if (e->refused)
            continue;
        if (e->kind != ICX_CN_SCALAR || icx_conftab_is_empty(e)) {
            icx_conftab_error(f, e, key, "want an agency id or a group name");
            continue;
        }
        if (icx_agency_id_valid(e->text)) {
            if (self && strcmp(e->text, self) == 0)
                icx_conftab_error(f, e, key, "%s is this gateway", e->text);
            else
                rc = add_recipient(s, e->text, NULL, e, f);
            continue;
        }
        if (!loaded) {
            loaded = 1;
            if (s->groups_file == NULL) {
                icx_conftab_error(f, e, key, "\"%s\" is not an agency id and "
                                  "there is no groups file (groups_file: or "
                                  "groups.yaml beside gateway.yaml)", e->text);
                continue;
            }
            rc = icx_conftab_parse(&groot, s->groups_file, ICX_CONFIG_MAX_BYTES,
                                   &gf);
            if (rc < 0)
                break;
            groups = load_groups(groot, &gf);
        }
        const icx_conftab_node *m = group_members(groups, e->text);
        if (m == NULL) {
            if (groot != NULL)
                icx_conftab_error(f, e, key, "no group \"%s\" in %s", e->text,
                                  s->groups_file);
            continue;
        }
        for (size_t j = 0; m->kind == ICX_CN_SEQ && j < m->nkids; j++) {
            const icx_conftab_node *a = m->kids[j];
            if (a->kind != ICX_CN_SCALAR || !icx_agency_id_valid(a->text) ||
                (self && strcmp(a->text, self) == 0))
                continue;
            if ((rc = add_recipient(s, a->text, e->text, e, f)) < 0)
                break;
        }
    }
    icx_conftab_node_free(&groot);
    if (rc == ICX_OK && s->nrecipients == 0 && diag->n == 0)
        icx_conftab_error(f, seq, "recipients", "no recipient left");
    return rc;
}

int icx_survey_load(icx_survey **out, const char *path,
                    const char *groups_default, const char *self,
                    icx_buf *errs, icx_err *err)
{
    static const char *const skip[] = {"questions", "recipients", NULL};
    icx_conftab_diag diag = {0};
    icx_conftab_node *root = NULL, *view = NULL;
    struct def d;
    char *dir = strdup(path);
    int rc = ICX_OK;
    icx_survey *s = calloc(1, sizeof *s);

    memset(&d, 0, sizeof d);
    *out = NULL;
    if (s == NULL || dir == NULL || (s->path = strdup(path)) == NULL)
        goto oom;
    char *slash = strrchr(dir, '/');
    if (slash)
        *slash = '\0';
    icx_conftab_file f = {path, slash ? dir : ".", 0, &diag};
    if ((rc = icx_conftab_parse(&root, path, ICX_CONFIG_MAX_BYTES, &f)) < 0)
        goto oom;
    if (root != NULL) {
        if ((view = icx_conftab_view_without(root, skip)) == NULL)
            goto oom;
        if ((rc = icx_conftab_apply(&d, def_keys, view, &f)) < 0)
            goto oom;
        s->round = d.round;
        s->previous = d.previous;
        s->title = d.title;
        s->deadline = d.deadline;
        s->legal_basis = d.legal_basis;
        s->retain_until = d.retain_until;
        s->tlp = d.tlp;
        s->groups_file = d.groups_file;
        memset(&d, 0, sizeof d);
        if (s->groups_file == NULL && groups_default != NULL &&
            (s->groups_file = strdup(groups_default)) == NULL)
            goto oom;
        if (s->round && s->previous && strcmp(s->round, s->previous) == 0)
            icx_conftab_error(&f, icx_conftab_find(root, "previous_round"),
                              "previous_round", "is this round");
        if ((rc = load_questions(s, root, &f)) < 0 ||
            (rc = load_recipients(s, root, self, &f, &diag)) < 0)
            goto oom;
    }
    if (diag.oom)
        goto oom;
    if (diag.n > 0) {
        icx_conftab_diag_emit(&diag, errs, err);
        rc = err->rc = ICX_ECONFIG;
        goto out;
    }
    *out = s;
    s = NULL;
    goto out;
oom:
    rc = icx_err_set(err, ICX_ENOMEM, "out of memory");
out:
    icx_conftab_release(&d, def_keys);
    icx_conftab_view_free(view);
    icx_conftab_node_free(&root);
    icx_conftab_diag_free(&diag);
    free(dir);
    icx_survey_free(&s);
    return rc;
}

void icx_survey_free(icx_survey **sp)
{
    icx_survey *s = sp ? *sp : NULL;
    if (s == NULL)
        return;
    for (size_t i = 0; i < s->nquestions; i++) {
        icx_survey_question *q = &s->questions[i];
        free(q->id);
        for (size_t t = 0; t < q->ntexts; t++) {
            free(q->texts[t].lang);
            free(q->texts[t].text);
        }
        free(q->texts);
        for (size_t t = 0; t < q->ntags; t++) {
            free(q->tags[t].scheme);
            free(q->tags[t].value);
        }
        free(q->tags);
    }
    free(s->questions);
    for (size_t i = 0; i < s->nrecipients; i++) {
        free(s->recipients[i].id);
        free(s->recipients[i].group);
    }
    free(s->recipients);
    free(s->round);
    free(s->previous);
    free(s->title);
    free(s->deadline);
    free(s->path);
    free(s->groups_file);
    free(s->legal_basis);
    free(s->retain_until);
    free(s->tlp);
    free(s);
    *sp = NULL;
}

const icx_survey_question *icx_survey_question_find(const icx_survey *s,
                                                    const char *id)
{
    for (size_t i = 0; s && id && i < s->nquestions; i++)
        if (s->questions[i].id && strcmp(s->questions[i].id, id) == 0)
            return &s->questions[i];
    return NULL;
}

const char *icx_survey_question_text(const icx_survey_question *q,
                                     const char *lang)
{
    if (q->ntexts == 0)
        return "";
    for (size_t i = 0; lang && i < q->ntexts; i++)
        if (strcmp(q->texts[i].lang, lang) == 0)
            return q->texts[i].text;
    return q->texts[0].text;
}

/* ---- values ------------------------------------------------------------- */

int icx_survey_check_value(int type, const char *v, char *why, size_t n)
{
    time_t t;
    struct tm tm;
    char back[16];
    switch (type) {
    case ICX_SQ_YES_NO_PARTIAL:
        if (strcmp(v, "yes") == 0 || strcmp(v, "no") == 0 ||
            strcmp(v, "partial") == 0)
            return 0;
        snprintf(why, n, "\"%.80s\" is not yes, no or partial", v);
        return -1;
    case ICX_SQ_NUMBER: {
        const char *p = v + (*v == '-' || *v == '+');
        size_t digits = 0;
        while (isdigit((unsigned char)*p)) {
            p++;
            digits++;
        }
        if (*p == '.' && digits > 0) {
            p++;
            if (!isdigit((unsigned char)*p))
                digits = 0;
            while (isdigit((unsigned char)*p))
                p++;
        }
        if (digits > 0 && *p == '\0' && strlen(v) <= 40)
            return 0;
        snprintf(why, n, "\"%.80s\" is not a number", v);
        return -1;
    }
    case ICX_SQ_DATE:
        /* xs:date without a zone, and a day the calendar has. */
        if (strlen(v) == 10 && icx_date_parse(&t, v) == 0 &&
            gmtime_r(&t, &tm) != NULL &&
            strftime(back, sizeof back, "%Y-%m-%d", &tm) == 10 &&
            strcmp(back, v) == 0)
            return 0;
        snprintf(why, n, "\"%.80s\" is not a date (YYYY-MM-DD)", v);
        return -1;
    case ICX_SQ_TEXT:
    case ICX_SQ_CITATIONS:
        if (*v != '\0' && icx_survey_chars(v) <= 4000)
            return 0;
        snprintf(why, n, "%s", *v ? "longer than 4000 characters" : "empty");
        return -1;
    default:
        snprintf(why, n, "unknown question type");
        return -1;
    }
}

/* ---- the Request payload ------------------------------------------------ */

int icx_survey_request_xml(icx_buf *out, const icx_survey *s, icx_err *err)
{
    int rc = icx_buf_puts(out, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                               "<Request xmlns=\"" ICX_SURVEY_NS "\">\n"
                               "  <RoundId>");
    rc |= icx_buf_put_xml(out, s->round);
    rc |= icx_buf_puts(out, "</RoundId>\n");
    if (s->previous) {
        rc |= icx_buf_puts(out, "  <PreviousRoundId>");
        rc |= icx_buf_put_xml(out, s->previous);
        rc |= icx_buf_puts(out, "</PreviousRoundId>\n");
    }
    rc |= icx_buf_puts(out, "  <Title>");
    rc |= icx_buf_put_xml(out, s->title);
    rc |= icx_buf_printf(out, "</Title>\n  <Deadline>%s</Deadline>\n"
                         "  <Questions>\n", s->deadline);
    for (size_t i = 0; i < s->nquestions; i++) {
        const icx_survey_question *q = &s->questions[i];
        rc |= icx_buf_puts(out, "    <Question id=\"");
        rc |= icx_buf_put_xml(out, q->id);
        rc |= icx_buf_printf(out, "\" type=\"%s\">\n", icx_sq_type_name(q->type));
        for (size_t t = 0; t < q->ntexts; t++) {
            rc |= icx_buf_puts(out, "      <Text");
            if (q->texts[t].lang[0]) {
                rc |= icx_buf_puts(out, " lang=\"");
                rc |= icx_buf_put_xml(out, q->texts[t].lang);
                rc |= icx_buf_puts(out, "\"");
            }
            rc |= icx_buf_puts(out, ">");
            rc |= icx_buf_put_xml(out, q->texts[t].text);
            rc |= icx_buf_puts(out, "</Text>\n");
        }
        if (q->ntags > 0) {
            rc |= icx_buf_puts(out, "      <Tags>\n");
            for (size_t t = 0; t < q->ntags; t++) {
                rc |= icx_buf_printf(out, "        <Tag scheme=\"%s\">",
                                     q->tags[t].scheme);
                rc |= icx_buf_put_xml(out, q->tags[t].value);
                rc |= icx_buf_puts(out, "</Tag>\n");
            }
            rc |= icx_buf_puts(out, "      </Tags>\n");
        }
        rc |= icx_buf_puts(out, "    </Question>\n");
    }
    rc |= icx_buf_puts(out, "  </Questions>\n</Request>\n");
    if (rc != 0)
        return icx_err_set(err, ICX_EFULL, "survey request: payload too large");
    return ICX_OK;
}
