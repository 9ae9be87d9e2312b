/*
 * translate_back.c - a received payload back to the domestic CSV of a
 * mapping profile (icx_translate_back in translate.h).
 *
 * The payload (or the payload of an envelope) is parsed with the hardened
 * parser and validated against schemas/ first.  The tree is then only read:
 * element names, namespaces and text are borrowed from libxml2 and nothing
 * is allocated by it here, so no libxml2 memory crosses modules.
 *
 * Rows: for a case, one row per offence, per person and per online
 * identifier (person.key joins them), the case columns on the first row;
 * the same file translates forward again with the same profile.  For a
 * Response, its Status, Answer and own CaseReference in their columns on
 * the first row, then one row per evidence item (id, description, hash
 * algorithm and value, size, grading), the reference it answers joining
 * them as case.reference.  A profile without response.status or
 * response.answer columns gets them in case.title and case.summary, as
 * before those columns existed.  For a
 * list update, one row per entry added or removed (status active or the
 * removal reason).  Code tables are applied backwards (the first row whose
 * `to` matches), times are written in the profile's zone.  Output is
 * RFC 4180 with CRLF, UTF-8 with a BOM, or CP932 when the profile says so.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/tree.h>

#include "envelope.h"
#include "normalize.h"
#include "xmlnode.h"
#include "translate.h"
#include "util.h"

#define CASE_NS "urn:icx:case:1"
#define LIST_NS "urn:icx:list:1"

typedef struct back {
    const icx_mapping *m;
    icx_buf *out;
    const char **cell; /* one per profile field, borrowed */
    char (*own)[64];   /* storage for converted values */
} back;

static const char *attr(const xmlNode *n, const char *name)
{
    xmlAttr *a = n ? xmlHasProp((xmlNode *)n, (const xmlChar *)name) : NULL;
    return a && a->children ? (const char *)a->children->content : NULL;
}

static int field_of(const back *b, int tid)
{
    for (size_t i = 0; i < b->m->nfields; i++)
        if (b->m->fields[i].tid == tid)
            return (int)i;
    return -1;
}

/* Reverse code table lookup; the value itself when no row maps to it. */
static const char *unmap(const back *b, int fi, const char *v,
                         const char *domestic)
{
    const char *tn = b->m->fields[fi].table;
    const icx_map_table *t = tn ? icx_mapping_table(b->m, tn) : NULL;
    for (size_t i = 0; t && v && i < t->nrows; i++)
        if (t->rows[i].to && strcmp(t->rows[i].to, v) == 0 &&
            (domestic == NULL || (t->rows[i].domestic &&
                                  strcmp(t->rows[i].domestic, domestic) == 0)))
            return t->rows[i].code;
    return domestic ? domestic : v;
}

/* UTC xs:dateTime -> the profile's zone, "YYYY-MM-DDTHH:MM:SS+09:00". */
static const char *in_zone(back *b, int fi, const char *v)
{
    time_t t;
    if (v == NULL || icx_time_parse(&t, v) < 0)
        return v;
    int off = b->m->zone_min;
    t += (time_t)off * 60;
    struct tm u;
    gmtime_r(&t, &u);
    char *o = b->own[fi];
    snprintf(o, 64, "%04d-%02d-%02dT%02d:%02d:%02d%c%02d:%02d",
             (u.tm_year + 1900) % 10000, (u.tm_mon + 1) % 100, u.tm_mday % 100,
             u.tm_hour % 100, u.tm_min % 100, u.tm_sec % 100,
             off < 0 ? '-' : '+', (abs(off) / 60) % 100, abs(off) % 60);
    return o;
}

static void set(back *b, int tid, const char *v)
{
    int fi = field_of(b, tid);
    if (fi < 0 || v == NULL)
        return;
    const icx_map_target *t = icx_map_target_get(tid);
    if (t->type == ICX_MT_DATETIME)
        v = in_zone(b, fi, v);
    else if (b->m->fields[fi].table && t->type != ICX_MT_CODE)
        v = unmap(b, fi, v, NULL);
    b->cell[fi] = v;
}

static void put_field(icx_buf *o, const char *v)
{
    if (v == NULL)
        return;
    if (strpbrk(v, ",\"\r\n") == NULL && v[0] != ' ' &&
        (v[0] == '\0' || v[strlen(v) - 1] != ' ')) {
        icx_buf_puts(o, v);
        return;
    }
    icx_buf_puts(o, "\"");
    for (const char *p = v; *p; p++) {
        icx_buf_append(o, p, 1);
        if (*p == '"')
            icx_buf_puts(o, "\"");
    }
    icx_buf_puts(o, "\"");
}

/* Writes a row; the case reference stays, it joins the rows. */
static void emit(back *b)
{
    int keep = field_of(b, ICX_T_CASE_REFERENCE);
    for (size_t i = 0; i < b->m->nfields; i++) {
        if (i)
            icx_buf_puts(b->out, ",");
        put_field(b->out, b->cell[i]);
        if ((int)i != keep)
            b->cell[i] = NULL;
    }
    icx_buf_puts(b->out, "\r\n");
}

/* The forward direction appends "Place: JP-NN (...)" to the Summary: give
 * it back to the prefecture column. */
static void split_place(back *b, const char *summary, icx_buf *keep)
{
    const char *place = summary ? strstr(summary, "Place: JP-") : NULL;
    int fp = field_of(b, ICX_T_CASE_PREFECTURE);
    if (place == NULL || fp < 0 || (place != summary && place[-1] != '\n') ||
        strchr(place, '\n') != NULL) {
        set(b, ICX_T_CASE_SUMMARY, summary);
        return;
    }
    snprintf(b->own[fp], 64, "%.5s", place + 7);
    b->cell[fp] = b->own[fp];
    size_t n = (size_t)(place - summary);
    if (n > 0) {
        icx_buf_append(keep, summary, n - 1);
        set(b, ICX_T_CASE_SUMMARY, keep->data);
    }
}

/* The k-th (from 0) child element of n called name, or NULL. */
static const xmlNode *nth(const xmlNode *n, const char *name, size_t k)
{
    for (const xmlNode *c = icx_xn_child(n, name); c; c = c->next)
        if (icx_xn_is(c, name) && k-- == 0)
            return c;
    return NULL;
}

static size_t count(const xmlNode *n, const char *name)
{
    size_t k = 0;
    while (nth(n, name, k))
        k++;
    return k;
}

/* A Response: the reference it answers joins the rows (case.reference),
 * its own reference, Status and Answer go on the first row; then one row
 * per evidence item, an item with several hashes or gradings continuing on
 * further rows with the same evidence.id (as a person's identifiers do
 * with person.key).  Returns the number of rows written. */
static size_t back_response(back *b, const xmlNode *root)
{
    size_t rows = 0;
    set(b, ICX_T_CASE_REFERENCE, icx_xn_text_only(icx_xn_child(root, "RefCaseReference")));
    set(b, ICX_T_RESPONSE_REFERENCE, icx_xn_text_only(icx_xn_child(root, "CaseReference")));
    /* A profile without the response columns keeps the older places,
     * Title and Summary, rather than dropping what was received. */
    set(b, field_of(b, ICX_T_RESPONSE_STATUS) >= 0 ? ICX_T_RESPONSE_STATUS
                                                   : ICX_T_CASE_TITLE,
        icx_xn_text_only(icx_xn_child(root, "Status")));
    set(b, field_of(b, ICX_T_RESPONSE_ANSWER) >= 0 ? ICX_T_RESPONSE_ANSWER
                                                   : ICX_T_CASE_SUMMARY,
        icx_xn_text_only(icx_xn_child(root, "Answer")));
    /* A profile with no evidence column gets no rows of empty cells. */
    int mapped = 0;
    for (int tid = ICX_T_EVIDENCE_ID; tid <= ICX_T_EVIDENCE_GRADING; tid++)
        mapped |= field_of(b, tid) >= 0;
    const xmlNode *ev = mapped ? icx_xn_child(root, "Evidence") : NULL;
    for (const xmlNode *it = icx_xn_child(ev, "Item"); it; it = it->next) {
        if (!icx_xn_is(it, "Item"))
            continue;
        size_t nh = count(it, "Hash"), ng = count(it, "Grading");
        size_t n = nh > ng ? nh : ng;
        for (size_t k = 0; k < n || k == 0; k++) {
            const xmlNode *h = nth(it, "Hash", k), *g = nth(it, "Grading", k);
            set(b, ICX_T_EVIDENCE_ID, attr(it, "id"));
            if (k == 0) {
                set(b, ICX_T_EVIDENCE_DESCRIPTION,
                    icx_xn_text_only(icx_xn_child(it, "Description")));
                set(b, ICX_T_EVIDENCE_SIZE,
                    icx_xn_text_only(icx_xn_child(it, "SizeBytes")));
            }
            if (h) {
                set(b, ICX_T_EVIDENCE_ALG, attr(h, "algorithm"));
                set(b, ICX_T_EVIDENCE_HASH, icx_xn_text_only(h));
            }
            if (g) {
                set(b, ICX_T_EVIDENCE_GRADING_SCHEME, attr(g, "scheme"));
                set(b, ICX_T_EVIDENCE_GRADING, icx_xn_text_only(g));
            }
            emit(b);
            rows++;
        }
    }
    return rows;
}

static void back_case(back *b, const xmlNode *root, icx_buf *summary)
{
    if (icx_xn_is(root, "Response")) {
        if (back_response(b, root) == 0)
            emit(b);
        return;
    }
    set(b, ICX_T_CASE_REFERENCE, icx_xn_text_only(icx_xn_child(root, "CaseReference")));
    set(b, ICX_T_CASE_TITLE, icx_xn_text_only(icx_xn_child(root, "Title")));
    split_place(b, icx_xn_text_only(icx_xn_child(root, "Summary")), summary);
    const xmlNode *d = icx_xn_child(root, "Dates");
    set(b, ICX_T_CASE_FROM, icx_xn_text_only(icx_xn_child(d, "OccurredFrom")));
    set(b, ICX_T_CASE_TO, icx_xn_text_only(icx_xn_child(d, "OccurredTo")));
    int fo = field_of(b, ICX_T_OFFENCE_CODE), first = 1;
    for (const xmlNode *o = icx_xn_child(icx_xn_child(root, "Offences"), "Offence"); o; o = o->next) {
        if (!icx_xn_is(o, "Offence") || fo < 0)
            continue;
        b->cell[fo] = unmap(b, fo, icx_xn_text_only(icx_xn_child(o, "IccsCode")),
                            icx_xn_text_only(icx_xn_child(o, "DomesticCode")));
        emit(b);
        first = 0;
    }
    for (const xmlNode *p = icx_xn_child(icx_xn_child(root, "Persons"), "Person"); p; p = p->next) {
        if (!icx_xn_is(p, "Person"))
            continue;
        set(b, ICX_T_PERSON_KEY, attr(p, "id"));
        set(b, ICX_T_PERSON_ROLE, attr(p, "role"));
        for (const xmlNode *n = icx_xn_child(p, "Name"); n; n = n->next) {
            const char *sc = attr(n, "script"), *kind = attr(n, "kind");
            if (!icx_xn_is(n, "Name") || sc == NULL || (kind && strcmp(kind, "full")))
                continue;
            int tid = strcmp(sc, "Kana") == 0 ? ICX_T_PERSON_NAME_KANA
                      : strcmp(sc, "Latn") == 0 ? ICX_T_PERSON_NAME_LATIN
                                                : ICX_T_PERSON_NAME;
            set(b, tid, icx_xn_text_only(n));
        }
        set(b, ICX_T_PERSON_BIRTH, icx_xn_text_only(icx_xn_child(p, "BirthDate")));
        set(b, ICX_T_PERSON_NATIONALITY, icx_xn_text_only(icx_xn_child(p, "Nationality")));
        emit(b);
        first = 0;
    }
    for (const xmlNode *i = icx_xn_child(root, "OnlineIdentifiers") ?
             icx_xn_child(root, "OnlineIdentifiers")->children : NULL; i; i = i->next) {
        if (i->type != XML_ELEMENT_NODE)
            continue;
        set(b, ICX_T_PERSON_KEY, attr(i, "person"));
        if (icx_xn_is(i, "Account")) {
            set(b, ICX_T_PERSON_ACCOUNT, icx_xn_text_only(i));
            set(b, ICX_T_PERSON_SERVICE, attr(i, "service"));
        } else if (icx_xn_is(i, "Email")) {
            set(b, ICX_T_PERSON_EMAIL, icx_xn_text_only(i));
        } else if (icx_xn_is(i, "IpAddress")) {
            set(b, ICX_T_PERSON_IP, icx_xn_text_only(i));
            set(b, ICX_T_PERSON_PORT, attr(i, "port"));
            set(b, ICX_T_PERSON_OBSERVED, attr(i, "observedAt"));
        } else if (icx_xn_is(i, "Url")) {
            set(b, ICX_T_PERSON_URL, icx_xn_text_only(i));
        }
        emit(b);
        first = 0;
    }
    if (first)
        emit(b);
}

static void back_list(back *b, const xmlNode *root)
{
    for (int removed = 0; removed < 2; removed++) {
        const xmlNode *sec = icx_xn_child(root, removed ? "Removed" : "Added");
        for (const xmlNode *e = icx_xn_child(sec, "Entry"); e; e = e->next) {
            if (!icx_xn_is(e, "Entry"))
                continue;
            const xmlNode *v = icx_xn_child(e, "Value");
            set(b, ICX_T_ENTRY_URL, icx_xn_text_only(v));
            set(b, ICX_T_ENTRY_HASH, icx_xn_text_only(v));
            set(b, ICX_T_ENTRY_ALG, attr(v, "algorithm"));
            set(b, ICX_T_ENTRY_CATEGORY, icx_xn_text_only(icx_xn_child(e, "Category")));
            set(b, ICX_T_ENTRY_DETECTED, icx_xn_text_only(icx_xn_child(e, "DetectedAt")));
            set(b, ICX_T_ENTRY_STATUS, removed ? attr(e, "reason") : "active");
            emit(b);
        }
    }
}

int icx_translate_back(icx_buf *csv_out, const icx_mapping *m,
                       const char *xml, size_t len, icx_err *err)
{
    icx_xml_limits lim = {.max_bytes = ICX_TRANSLATE_MAX_PAYLOAD, .max_depth = 64};
    icx_xmldoc *doc = NULL;
    icx_schemas *schemas = NULL;
    icx_buf payload, text_out;
    back b = {.m = m};
    int rc;
    icx_buf_init(&payload, ICX_TRANSLATE_MAX_PAYLOAD);
    icx_buf_init(&text_out, ICX_TRANSLATE_MAX_INPUT);
    b.out = &text_out;
    b.cell = calloc(m->nfields + 1, sizeof *b.cell);
    b.own = calloc(m->nfields + 1, sizeof *b.own);
    if (b.cell == NULL || b.own == NULL) {
        rc = icx_err_set(err, ICX_ENOMEM, "out of memory");
        goto out;
    }
    if ((rc = icx_schemas_load(&schemas, icx_schemas_default_dir(), err)) < 0 ||
        (rc = icx_xml_parse(&doc, xml, len, &lim, err)) < 0 ||
        (rc = icx_schemas_validate(schemas, doc, err)) < 0)
        goto out;
    xmlNode *root = xmlDocGetRootElement(icx_xml_raw(doc));
    if (root->ns && strcmp((const char *)root->ns->href, ICX_ENVELOPE_NS) == 0) {
        icx_xml_free(&doc);
        if ((rc = icx_envelope_payload(&payload, xml, len, &lim, err)) < 0 ||
            (rc = icx_xml_parse(&doc, payload.data, payload.len, &lim, err)) < 0)
            goto out;
        root = xmlDocGetRootElement(icx_xml_raw(doc));
    }
    icx_buf_reset(&payload); /* reused for the Summary */
    const char *ns = root->ns ? (const char *)root->ns->href : "";
    int want_case = m->kind == ICX_MAP_CASE;
    if (strcmp(ns, want_case ? CASE_NS : LIST_NS) != 0 ||
        (!want_case && !icx_xn_is(root, "Update"))) {
        rc = icx_err_set(err, ICX_EINVAL, "payload %s (%s) does not fit a %s "
                         "profile", (const char *)root->name, ns,
                         icx_map_kind_name(m->kind));
        goto out;
    }
    if (m->encoding == NULL || strcmp(m->encoding, "cp932") != 0)
        icx_buf_puts(&text_out, "\xEF\xBB\xBF");
    for (size_t i = 0; m->header && i < m->nfields; i++) {
        if (i)
            icx_buf_puts(&text_out, ",");
        put_field(&text_out, m->fields[i].column);
    }
    if (m->header)
        icx_buf_puts(&text_out, "\r\n");
    if (want_case)
        back_case(&b, root, &payload);
    else
        back_list(&b, root);
    if (m->encoding && strcmp(m->encoding, "cp932") == 0)
        rc = icx_utf8_to_cp932(csv_out, &text_out, "the CSV",
                               "set input.encoding: utf-8 in the profile",
                               err);
    else
        rc = icx_buf_append(csv_out, text_out.data, text_out.len);
    if (rc < 0 && err->msg[0] == '\0')
        icx_err_set(err, rc, "CSV: %s", icx_rc_str(rc));
out:
    icx_xml_free(&doc);
    icx_schemas_free(&schemas);
    icx_buf_free(&payload);
    icx_buf_free(&text_out);
    free(b.cell);
    free(b.own);
    return rc;
}
