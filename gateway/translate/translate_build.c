/*
 * translate_build.c - cross-row checks and the payload text for case
 * profiles.
 *
 * Case: one file is one case.  Case columns must agree on every row that
 * fills them; rows with the same person.key are one person, and must
 * agree too.  Persons get local ids by role (p1 suspects, v1 victims, w1
 * witnesses, r1 reporters), identifiers point at them.  Withheld fields
 * are left out and listed in <Withheld>; a withheld name is replaced by
 * the person's local id as an alias, since the schema requires a Name.
 *
 * Lists are written page by page by translate_list.c.
 *
 * Text is written with icx_buf_put_xml escaping; translate.c has it
 * validated (tr_validate, translate_report.c) before it is handed over.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "normalize.h"
#include "translate_int.h"
#include "util.h"

#define V(r, tid) tr_val(t, (r), (tid))

static void tag(icx_buf *b, const char *name, const char *text)
{
    icx_buf_printf(b, "<%s>", name);
    icx_buf_put_xml(b, text);
    icx_buf_printf(b, "</%s>", name);
}

static int same(const char *a, const char *b)
{
    return a == NULL || b == NULL || strcmp(a, b) == 0;
}

/* ---- case --------------------------------------------------------------- */

static const int case_tids[] = {
    ICX_T_CASE_REFERENCE, ICX_T_CASE_TITLE, ICX_T_CASE_SUMMARY,
    ICX_T_CASE_FROM, ICX_T_CASE_TO, ICX_T_CASE_PREFECTURE,
};
static const int person_tids[] = {
    ICX_T_PERSON_ROLE, ICX_T_PERSON_NAME, ICX_T_PERSON_NAME_KANA,
    ICX_T_PERSON_NAME_LATIN, ICX_T_PERSON_BIRTH, ICX_T_PERSON_NATIONALITY,
};
/* Written back from a received Response only (translate_back.c). */
static const int response_tids[] = {
    ICX_T_RESPONSE_REFERENCE, ICX_T_RESPONSE_STATUS, ICX_T_RESPONSE_ANSWER,
    ICX_T_EVIDENCE_ID, ICX_T_EVIDENCE_DESCRIPTION, ICX_T_EVIDENCE_ALG,
    ICX_T_EVIDENCE_HASH, ICX_T_EVIDENCE_SIZE, ICX_T_EVIDENCE_GRADING_SCHEME,
    ICX_T_EVIDENCE_GRADING,
};
#define N(a) (sizeof a / sizeof a[0])

static int has_person(const tr_ctx *t, const tr_row *r)
{
    for (size_t i = 0; i < N(person_tids); i++)
        if (V(r, person_tids[i]))
            return 1;
    return V(r, ICX_T_PERSON_KEY) != NULL;
}

/* First good row at or after `from` with a value for tid. */
static tr_row *first_with(tr_ctx *t, int tid, size_t from)
{
    for (size_t i = from; i < t->nrows; i++)
        if (!t->rows[i].bad && V(&t->rows[i], tid))
            return &t->rows[i];
    return NULL;
}

/* Person keys, for the cross-row checks in one pass instead of comparing
 * every row with every other (a 100,000-row export took minutes). */
typedef struct keyslot {
    const char *key;
    size_t first_good;   /* first row not marked bad with this key, or SIZE_MAX */
    int has_role;        /* some row with this key names a role */
} keyslot;

static uint64_t key_hash(const char *s)
{
    uint64_t h = 1469598103934665603ULL;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    return h;
}

static keyslot *key_find(keyslot *tab, size_t cap, const char *key)
{
    for (size_t i = key_hash(key) & (cap - 1);; i = (i + 1) & (cap - 1))
        if (tab[i].key == NULL || strcmp(tab[i].key, key) == 0)
            return &tab[i];
}

/* Builds the index; NULL when out of memory (the callers then fall back to
 * no cross-row person checks, reported as an error). */
static keyslot *key_index(tr_ctx *t, size_t *capp)
{
    size_t cap = 16;
    while (cap < 2 * t->nrows + 2)
        cap *= 2;
    keyslot *tab = calloc(cap, sizeof *tab);
    if (tab == NULL)
        return NULL;
    for (size_t i = 0; i < t->nrows; i++) {
        const char *k = V(&t->rows[i], ICX_T_PERSON_KEY);
        if (k == NULL)
            continue;
        keyslot *e = key_find(tab, cap, k);
        if (e->key == NULL) {
            e->key = k;
            e->first_good = SIZE_MAX;
        }
        if (V(&t->rows[i], ICX_T_PERSON_ROLE))
            e->has_role = 1;
        if (!t->rows[i].bad && e->first_good == SIZE_MAX)
            e->first_good = i;
    }
    *capp = cap;
    return tab;
}

void tr_check_case(tr_ctx *t)
{
    for (size_t c = 0; c < N(case_tids); c++) {
        tr_row *first = first_with(t, case_tids[c], 0);
        for (size_t i = 0; first && i < t->nrows; i++) {
            tr_row *r = &t->rows[i];
            if (r != first && !same(V(r, case_tids[c]), V(first, case_tids[c])))
                tr_error(t, r, t->fidx[case_tids[c]], "\"%s\" differs from "
                         "\"%s\" on row %u (one case per file)",
                         V(r, case_tids[c]), V(first, case_tids[c]),
                         first->line);
        }
    }
    size_t offences = 0, cap = 0;
    tr_row *fr = first_with(t, ICX_T_CASE_FROM, 0);
    keyslot *keys = key_index(t, &cap);
    if (keys == NULL) {
        tr_error(t, NULL, t->fidx[ICX_T_PERSON_KEY], "out of memory while "
                 "checking person keys");
        return;
    }
    for (size_t i = 0; i < t->nrows; i++) {
        tr_row *r = &t->rows[i];
        const char *from = V(r, ICX_T_CASE_FROM), *to = V(r, ICX_T_CASE_TO);
        if (to && !from && fr)
            from = V(fr, ICX_T_CASE_FROM);
        if (from && to && strcmp(from, to) > 0)
            tr_error(t, r, t->fidx[ICX_T_CASE_TO], "ends (%s) before it "
                     "starts (%s)", to, from);
        if (has_person(t, r) && !V(r, ICX_T_PERSON_ROLE)) {
            const char *k = V(r, ICX_T_PERSON_KEY);
            int found = k != NULL && key_find(keys, cap, k)->has_role;
            if (!found)
                tr_error(t, r, t->fidx[ICX_T_PERSON_ROLE], "a row with "
                         "person data needs a role");
        }
        if (V(r, ICX_T_PERSON_IP) && !V(r, ICX_T_PERSON_OBSERVED))
            tr_error(t, r, t->fidx[ICX_T_PERSON_OBSERVED], "required with an "
                     "IP address (when it was observed)");
        if (V(r, ICX_T_PERSON_PORT) && !V(r, ICX_T_PERSON_IP))
            tr_error(t, r, t->fidx[ICX_T_PERSON_PORT], "a port without an IP "
                     "address");
        if (V(r, ICX_T_PERSON_ACCOUNT) && !V(r, ICX_T_PERSON_SERVICE))
            tr_error(t, r, t->fidx[ICX_T_PERSON_SERVICE], "required with an "
                     "account (the service it belongs to)");
        /* Same person key: the same person everywhere. */
        const char *key = V(r, ICX_T_PERSON_KEY);
        size_t j = key ? key_find(keys, cap, key)->first_good : SIZE_MAX;
        if (j < i) {
            tr_row *o = &t->rows[j];
            for (size_t p = 0; p < N(person_tids); p++)
                if (!same(V(r, person_tids[p]), V(o, person_tids[p])))
                    tr_error(t, r, t->fidx[person_tids[p]], "person %s is "
                             "\"%s\" on row %u", key, V(o, person_tids[p]),
                             o->line);
        }
        if (!r->bad && V(r, ICX_T_OFFENCE_CODE))
            offences++;
        /* Response columns come back from a received Response; a file
         * translated forward builds a Referral or Request, which has no
         * place for them: refused, not dropped. */
        for (size_t k = 0; k < N(response_tids); k++)
            if (V(r, response_tids[k]))
                tr_error(t, r, t->fidx[response_tids[k]], "%s is data of a "
                         "received Response; a %s has no place for it (leave "
                         "the column empty)",
                         icx_map_target_get(response_tids[k])->name,
                         t->m->case_root ? t->m->case_root : "Referral");
    }
    free(keys);
    if (offences == 0)
        tr_error(t, NULL, t->fidx[ICX_T_OFFENCE_CODE], "no valid row names "
                 "an offence (a case payload needs at least one)");
}

typedef struct person {
    const char *key;   /* person.key, or NULL (one row) */
    const char *role;
    char id[16];
    tr_row *row[N(person_tids)]; /* first row with each attribute */
} person;

static int withheld(tr_ctx *t, const char *role, const char *what,
                    icx_buf *wpaths, icx_buf *wsum)
{
    char name[64];
    snprintf(name, sizeof name, "%s.%s", role, what);
    if (!icx_mapping_withheld(t->m, t->o->partner, t->o->partner_withhold,
                              name))
        return 0;
    const char *path = icx_mapping_withhold_path(t->m->kind, name);
    char line[300];
    snprintf(line, sizeof line, "<Field>%s</Field>", path);
    if (path && strstr(wpaths->data ? wpaths->data : "", line) == NULL) {
        icx_buf_puts(wpaths, line);
        icx_buf_printf(wsum, "%s%s (%s)", wsum->len ? ", " : "", name, path);
    } else if (strstr(wsum->data ? wsum->data : "", name) == NULL) {
        icx_buf_printf(wsum, "%s%s (%s)", wsum->len ? ", " : "", name, path);
    }
    t->withheld++;
    return 1;
}

static void put_names(tr_ctx *t, icx_buf *b, const person *p, int hide)
{
    static const struct { int tid; const char *script, *lang; } names[] = {
        {ICX_T_PERSON_NAME, "Jpan", "ja"},
        {ICX_T_PERSON_NAME_KANA, "Kana", "ja"},
        {ICX_T_PERSON_NAME_LATIN, "Latn", "ja-Latn"},
    };
    int any = 0;
    for (size_t i = 0; !hide && i < N(names); i++) {
        tr_row *r = p->row[i + 1];
        if (r == NULL)
            continue;
        icx_buf_printf(b, "<Name script=\"%s\" lang=\"%s\">", names[i].script,
                       names[i].lang);
        icx_buf_put_xml(b, V(r, names[i].tid));
        icx_buf_puts(b, "</Name>");
        tr_explain(t, "Persons/Person/Name", V(r, names[i].tid), r,
                   names[i].tid);
        any = 1;
    }
    if (!any) { /* the schema needs a Name: the local id stands in */
        icx_buf_printf(b, "<Name script=\"Latn\" kind=\"alias\">%s</Name>",
                       p->id);
        tr_explain_note(t, "Persons/Person/Name", p->id, hide ?
                        "withheld for the partner; the local id stands in" :
                        "no name in the file; the local id stands in");
    }
}

static void put_ident(tr_ctx *t, icx_buf *b, tr_row *r, const person *p,
                      icx_buf *wpaths, icx_buf *wsum)
{
    const char *role = p ? p->role : "";
    char pattr[40] = "";
    if (p)
        snprintf(pattr, sizeof pattr, " person=\"%s\"", p->id);
    const char *acc = V(r, ICX_T_PERSON_ACCOUNT);
    if (acc && !(p && withheld(t, role, "account", wpaths, wsum))) {
        icx_buf_puts(b, "<Account service=\"");
        icx_buf_put_xml(b, V(r, ICX_T_PERSON_SERVICE));
        icx_buf_printf(b, "\"%s>", pattr);
        icx_buf_put_xml(b, acc);
        icx_buf_puts(b, "</Account>");
        tr_explain(t, "OnlineIdentifiers/Account", acc, r, ICX_T_PERSON_ACCOUNT);
    }
    const char *mail = V(r, ICX_T_PERSON_EMAIL);
    if (mail && !(p && withheld(t, role, "email", wpaths, wsum))) {
        icx_buf_printf(b, "<Email%s>", pattr);
        icx_buf_put_xml(b, mail);
        icx_buf_puts(b, "</Email>");
        tr_explain(t, "OnlineIdentifiers/Email", mail, r, ICX_T_PERSON_EMAIL);
    }
    const char *ip = V(r, ICX_T_PERSON_IP);
    if (ip && !(p && withheld(t, role, "ip", wpaths, wsum))) {
        const char *port = V(r, ICX_T_PERSON_PORT);
        icx_buf_printf(b, "<IpAddress%s", pattr);
        if (port)
            icx_buf_printf(b, " port=\"%s\"", port);
        icx_buf_printf(b, " observedAt=\"%s\">%s</IpAddress>",
                       V(r, ICX_T_PERSON_OBSERVED), ip);
        tr_explain(t, "OnlineIdentifiers/IpAddress", ip, r, ICX_T_PERSON_IP);
        tr_explain(t, "OnlineIdentifiers/IpAddress/@observedAt",
                   V(r, ICX_T_PERSON_OBSERVED), r, ICX_T_PERSON_OBSERVED);
    }
    const char *url = V(r, ICX_T_PERSON_URL);
    if (url && !(p && withheld(t, role, "url", wpaths, wsum))) {
        icx_buf_printf(b, "<Url%s>", pattr);
        icx_buf_put_xml(b, url);
        icx_buf_puts(b, "</Url>");
        tr_explain(t, "OnlineIdentifiers/Url", url, r, ICX_T_PERSON_URL);
    }
}

int tr_build_case(tr_ctx *t, icx_buf *b, icx_buf *wsum)
{
    const icx_mapping *m = t->m;
    person *ps = calloc(t->nrows + 1, sizeof *ps);
    size_t np = 0, *of = calloc(t->nrows + 1, sizeof *of);
    icx_buf wp, ids;
    int counters[4] = {0};
    static const char *const roles[] = {"suspect", "victim", "witness", "reporter"};
    static const char prefix[] = "pvwr";
    icx_buf_init(&wp, 64 * 1024);
    icx_buf_init(&ids, ICX_TRANSLATE_MAX_PAYLOAD);
    if (ps == NULL || of == NULL) {
        free(ps);
        free(of);
        return ICX_ENOMEM;
    }
    /* Persons, in the order they first appear. */
    for (size_t i = 0; i < t->nrows; i++) {
        tr_row *r = &t->rows[i];
        of[i] = (size_t)-1;
        if (r->bad || !has_person(t, r))
            continue;
        const char *key = V(r, ICX_T_PERSON_KEY);
        size_t k = 0;
        while (key && k < np && !(ps[k].key && strcmp(ps[k].key, key) == 0))
            k++;
        if (!key || k == np) {
            k = np++;
            ps[k].key = key;
        }
        of[i] = k;
        for (size_t a = 0; a < N(person_tids); a++)
            if (ps[k].row[a] == NULL && V(r, person_tids[a]))
                ps[k].row[a] = r;
    }
    for (size_t k = 0; k < np; k++) {
        ps[k].role = ps[k].row[0] ? V(ps[k].row[0], ICX_T_PERSON_ROLE) : "suspect";
        size_t ri = 0;
        while (ri < 3 && strcmp(roles[ri], ps[k].role) != 0)
            ri++;
        snprintf(ps[k].id, sizeof ps[k].id, "%c%d", prefix[ri], ++counters[ri]);
    }

    tr_row *ref = first_with(t, ICX_T_CASE_REFERENCE, 0);
    icx_buf_printf(b, "<%s xmlns=\"urn:icx:case:1\">", m->case_root);
    tag(b, "CaseReference", V(ref, ICX_T_CASE_REFERENCE));
    tr_explain(t, "CaseReference", V(ref, ICX_T_CASE_REFERENCE), ref,
               ICX_T_CASE_REFERENCE);
    tr_row *tr = first_with(t, ICX_T_CASE_TITLE, 0);
    if (tr && !withheld(t, "case", "title", &wp, wsum)) {
        tag(b, "Title", V(tr, ICX_T_CASE_TITLE));
        tr_explain(t, "Title", V(tr, ICX_T_CASE_TITLE), tr, ICX_T_CASE_TITLE);
    }
    tr_row *sr = first_with(t, ICX_T_CASE_SUMMARY, 0);
    tr_row *pr = first_with(t, ICX_T_CASE_PREFECTURE, 0);
    if (sr && withheld(t, "case", "summary", &wp, wsum))
        sr = NULL;
    if (pr && withheld(t, "case", "prefecture", &wp, wsum))
        pr = NULL;
    if (sr || pr) {
        icx_buf_puts(b, "<Summary>");
        if (sr) {
            icx_buf_put_xml(b, V(sr, ICX_T_CASE_SUMMARY));
            tr_explain(t, "Summary", V(sr, ICX_T_CASE_SUMMARY), sr,
                       ICX_T_CASE_SUMMARY);
        }
        if (pr) {
            const char *code = V(pr, ICX_T_CASE_PREFECTURE);
            icx_buf_printf(b, "%sPlace: %s (%s, Japan)", sr ? "\n" : "", code,
                           icx_norm_prefecture_name(code));
            tr_explain(t, "Summary (Place)", code, pr, ICX_T_CASE_PREFECTURE);
        }
        icx_buf_puts(b, "</Summary>");
    }
    /* Offences: one per distinct code. */
    icx_buf_puts(b, "<Offences>");
    int fi = t->fidx[ICX_T_OFFENCE_CODE];
    const icx_map_table *tab = icx_mapping_table(m, m->fields[fi].table);
    for (size_t i = 0; i < t->nrows; i++) {
        tr_row *r = &t->rows[i];
        const icx_map_code *c = r->code[fi];
        int dup = 0;
        for (size_t j = 0; c && j < i; j++)
            dup |= !t->rows[j].bad && t->rows[j].code[fi] == c;
        if (r->bad || c == NULL || dup)
            continue;
        const char *sys = c->system ? c->system : tab->system;
        icx_buf_printf(b, "<Offence crosswalkVersion=\"%s\"><DomesticCode "
                       "system=\"%s\">", m->version, sys ? sys : "JP-UNKNOWN");
        icx_buf_put_xml(b, c->domestic ? c->domestic : c->code);
        icx_buf_puts(b, "</DomesticCode>");
        if (c->label)
            tag(b, "Description", c->label);
        tag(b, "IccsCode", c->to);
        icx_buf_puts(b, "</Offence>");
        tr_explain(t, "Offences/Offence/IccsCode", c->to, r,
                   ICX_T_OFFENCE_CODE);
    }
    icx_buf_puts(b, "</Offences>");
    tr_row *fr = first_with(t, ICX_T_CASE_FROM, 0);
    tr_row *tor = first_with(t, ICX_T_CASE_TO, 0);
    if ((fr || tor) && !withheld(t, "case", "dates", &wp, wsum)) {
        icx_buf_puts(b, "<Dates>");
        if (fr) {
            tag(b, "OccurredFrom", V(fr, ICX_T_CASE_FROM));
            tr_explain(t, "Dates/OccurredFrom", V(fr, ICX_T_CASE_FROM), fr,
                       ICX_T_CASE_FROM);
        }
        if (tor) {
            tag(b, "OccurredTo", V(tor, ICX_T_CASE_TO));
            tr_explain(t, "Dates/OccurredTo", V(tor, ICX_T_CASE_TO), tor,
                       ICX_T_CASE_TO);
        }
        icx_buf_puts(b, "</Dates>");
    }
    if (np > 0) {
        icx_buf_puts(b, "<Persons>");
        for (size_t k = 0; k < np; k++) {
            person *p = &ps[k];
            icx_buf_printf(b, "<Person role=\"%s\" id=\"%s\">", p->role, p->id);
            tr_explain(t, "Persons/Person/@role", p->role, p->row[0],
                       p->row[0] ? ICX_T_PERSON_ROLE : -1);
            int hide = (p->row[1] || p->row[2] || p->row[3]) &&
                       withheld(t, p->role, "name", &wp, wsum);
            put_names(t, b, p, hide);
            tr_row *br = p->row[4], *nr = p->row[5];
            if (br && !withheld(t, p->role, "birth_date", &wp, wsum)) {
                tag(b, "BirthDate", V(br, ICX_T_PERSON_BIRTH));
                tr_explain(t, "Persons/Person/BirthDate",
                           V(br, ICX_T_PERSON_BIRTH), br, ICX_T_PERSON_BIRTH);
            }
            if (nr && !withheld(t, p->role, "nationality", &wp, wsum)) {
                tag(b, "Nationality", V(nr, ICX_T_PERSON_NATIONALITY));
                tr_explain(t, "Persons/Person/Nationality",
                           V(nr, ICX_T_PERSON_NATIONALITY), nr,
                           ICX_T_PERSON_NATIONALITY);
            }
            icx_buf_puts(b, "</Person>");
        }
        icx_buf_puts(b, "</Persons>");
    }
    for (size_t i = 0; i < t->nrows; i++)
        if (!t->rows[i].bad)
            put_ident(t, &ids, &t->rows[i],
                      of[i] == (size_t)-1 ? NULL : &ps[of[i]], &wp, wsum);
    if (ids.len > 0) {
        icx_buf_puts(b, "<OnlineIdentifiers>");
        icx_buf_append(b, ids.data, ids.len);
        icx_buf_puts(b, "</OnlineIdentifiers>");
    }
    if (strcmp(m->case_root, "Request") == 0)
        icx_buf_puts(b, "<RequestedActions><Action type=\"preserve-data\"/>"
                        "</RequestedActions>");
    if (wp.len > 0) {
        icx_buf_puts(b, "<Withheld>");
        icx_buf_append(b, wp.data, wp.len);
        icx_buf_puts(b, "</Withheld>");
        tr_explain_note(t, "Withheld", wsum->data, "withhold (profile "
                        "withhold and partners, the partner file)");
    }
    int rc = icx_buf_printf(b, "</%s>\n", m->case_root);
    icx_buf_free(&wp);
    icx_buf_free(&ids);
    free(ps);
    free(of);
    return rc < 0 ? ICX_ENOMEM : ICX_OK;
}
