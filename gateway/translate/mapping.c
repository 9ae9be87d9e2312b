/*
 * mapping.c - loading mapping profiles through conftab key tables.
 *
 * The scalar keys of a profile (profile, kind, version, input.*, case.*,
 * list.*, withhold) are one key table applied to a view of the root that
 * leaves out the three keys whose values are collections this loader walks
 * itself: fields (a list of rows), tables (code tables by name) and
 * partners (by agency id).  Each row of those is again applied through a
 * key table, so unknown keys, wrong types and missing keys are reported
 * the same way everywhere.  After the walk come the checks that span keys:
 * a field's target belongs to the profile's kind, its table exists, the
 * required targets are mapped, withheld names are known.
 *
 * Withholding is decided here too: from the profile, and from the
 * recipient's partner file in a loaded configuration (a recipient that is
 * not a partner is refused, its withholding being unknown).
 *
 * Failure: ICX_ECONFIG with every problem in errs; ICX_ENOMEM.
 */
#include "mapping.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conftab.h"
#include "normalize.h"
#include "util.h"

#define K(kind) (1u << (kind))
#define KC K(ICX_MAP_CASE)
#define KL (K(ICX_MAP_URL_LIST) | K(ICX_MAP_HASH_LIST))

static const icx_map_target targets[ICX_T__COUNT] = {
    [ICX_T_CASE_REFERENCE] = {"case.reference", KC, ICX_MT_TEXT, "CaseReference", "the agency's case number"},
    [ICX_T_CASE_TITLE] = {"case.title", KC, ICX_MT_TEXT, "Title", "short title"},
    [ICX_T_CASE_SUMMARY] = {"case.summary", KC, ICX_MT_TEXT, "Summary", "summary text"},
    [ICX_T_CASE_FROM] = {"case.occurred_from", KC, ICX_MT_DATETIME, "Dates/OccurredFrom", "start of the offence"},
    [ICX_T_CASE_TO] = {"case.occurred_to", KC, ICX_MT_DATETIME, "Dates/OccurredTo", "end of the offence"},
    [ICX_T_CASE_PREFECTURE] = {"case.prefecture", KC, ICX_MT_PREFECTURE, "Summary", "prefecture of the offence (ISO 3166-2:JP), a line of the Summary"},
    [ICX_T_OFFENCE_CODE] = {"offence.code", KC, ICX_MT_CODE, "Offences/Offence", "domestic offence code, through the crosswalk table"},
    [ICX_T_PERSON_KEY] = {"person.key", KC, ICX_MT_TEXT, "Persons/Person/@id", "rows with the same key describe one person"},
    [ICX_T_PERSON_ROLE] = {"person.role", KC, ICX_MT_ROLE, "Persons/Person/@role", "suspect, victim, witness or reporter"},
    [ICX_T_PERSON_NAME] = {"person.name", KC, ICX_MT_TEXT, "Persons/Person/Name", "name in Japanese script (Jpan)"},
    [ICX_T_PERSON_NAME_KANA] = {"person.name_kana", KC, ICX_MT_TEXT, "Persons/Person/Name", "name in katakana (Kana)"},
    [ICX_T_PERSON_NAME_LATIN] = {"person.name_latin", KC, ICX_MT_TEXT, "Persons/Person/Name", "name in Latin script (Latn)"},
    [ICX_T_PERSON_BIRTH] = {"person.birth_date", KC, ICX_MT_DATE, "Persons/Person/BirthDate", "date of birth"},
    [ICX_T_PERSON_NATIONALITY] = {"person.nationality", KC, ICX_MT_COUNTRY, "Persons/Person/Nationality", "ISO 3166-1 alpha-2"},
    [ICX_T_PERSON_ACCOUNT] = {"person.account", KC, ICX_MT_TEXT, "OnlineIdentifiers/Account", "account name at a service"},
    [ICX_T_PERSON_SERVICE] = {"person.account_service", KC, ICX_MT_TEXT, "OnlineIdentifiers/Account/@service", "the service of the account"},
    [ICX_T_PERSON_EMAIL] = {"person.email", KC, ICX_MT_EMAIL, "OnlineIdentifiers/Email", "e-mail address"},
    [ICX_T_PERSON_IP] = {"person.ip", KC, ICX_MT_IP, "OnlineIdentifiers/IpAddress", "IPv4 or IPv6 address"},
    [ICX_T_PERSON_PORT] = {"person.ip_port", KC, ICX_MT_PORT, "OnlineIdentifiers/IpAddress/@port", "source port"},
    [ICX_T_PERSON_OBSERVED] = {"person.ip_observed", KC, ICX_MT_DATETIME, "OnlineIdentifiers/IpAddress/@observedAt", "when the address was seen"},
    [ICX_T_PERSON_URL] = {"person.url", KC, ICX_MT_URL, "OnlineIdentifiers/Url", "URL"},
    /* A received Response, written back by icx translate --reverse and
     * icx inbox export only: a case file translated forward with a value
     * in one of these columns is refused (translate_build.c). */
    [ICX_T_RESPONSE_REFERENCE] = {"response.case_reference", KC, ICX_MT_TEXT, "CaseReference", "the answering agency's own case number (of a received Response)"},
    [ICX_T_RESPONSE_STATUS] = {"response.status", KC, ICX_MT_TEXT, "Status", "answered, partial or declined (of a received Response)"},
    [ICX_T_RESPONSE_ANSWER] = {"response.answer", KC, ICX_MT_TEXT, "Answer", "the answer text (of a received Response)"},
    [ICX_T_EVIDENCE_ID] = {"evidence.id", KC, ICX_MT_TEXT, "Evidence/Item/@id", "rows with the same id describe one evidence item"},
    [ICX_T_EVIDENCE_DESCRIPTION] = {"evidence.description", KC, ICX_MT_TEXT, "Evidence/Item/Description", "what the item is"},
    [ICX_T_EVIDENCE_ALG] = {"evidence.hash_algorithm", KC, ICX_MT_HASH_ALG, "Evidence/Item/Hash/@algorithm", "hash algorithm of the item"},
    [ICX_T_EVIDENCE_HASH] = {"evidence.hash", KC, ICX_MT_HASH, "Evidence/Item/Hash", "hash value of the item"},
    [ICX_T_EVIDENCE_SIZE] = {"evidence.size", KC, ICX_MT_TEXT, "Evidence/Item/SizeBytes", "size of the item in bytes"},
    [ICX_T_EVIDENCE_GRADING_SCHEME] = {"evidence.grading_scheme", KC, ICX_MT_TEXT, "Evidence/Item/Grading/@scheme", "uk, interpol, vics or national"},
    [ICX_T_EVIDENCE_GRADING] = {"evidence.grading", KC, ICX_MT_TEXT, "Evidence/Item/Grading", "the grading under its scheme"},
    [ICX_T_ENTRY_URL] = {"entry.url", K(ICX_MAP_URL_LIST), ICX_MT_URL, "Added/Entry/Value", "the URL"},
    [ICX_T_ENTRY_ALG] = {"entry.algorithm", K(ICX_MAP_HASH_LIST), ICX_MT_HASH_ALG, "Added/Entry/Value/@algorithm", "hash algorithm"},
    [ICX_T_ENTRY_HASH] = {"entry.hash", K(ICX_MAP_HASH_LIST), ICX_MT_HASH, "Added/Entry/Value", "hash value"},
    [ICX_T_ENTRY_CATEGORY] = {"entry.category", KL, ICX_MT_TEXT, "Added/Entry/Category", "category or grading"},
    [ICX_T_ENTRY_DETECTED] = {"entry.detected_at", KL, ICX_MT_DATETIME, "Added/Entry/DetectedAt", "when it was detected"},
    [ICX_T_ENTRY_STATUS] = {"entry.status", KL, ICX_MT_STATUS, "(selects the entry)", "active, or a removal reason (the entry is left out)"},
};

const icx_map_target *icx_map_target_get(int tid)
{
    return tid >= 0 && tid < ICX_T__COUNT ? &targets[tid] : NULL;
}

int icx_map_target_find(const char *name)
{
    for (int i = 0; i < ICX_T__COUNT; i++)
        if (strcmp(targets[i].name, name) == 0)
            return i;
    return -1;
}

const char *icx_map_kind_name(int kind)
{
    static const char *const n[] = {"case", "url-list", "hash-list"};
    return kind >= 0 && kind <= ICX_MAP_HASH_LIST ? n[kind] : "?";
}

/* Withholdable names: ROLE.FIELD for person data, case.FIELD. */
static const struct { const char *suffix, *path; } person_withhold[] = {
    {"name", "Persons/Person/Name"},
    {"birth_date", "Persons/Person/BirthDate"},
    {"nationality", "Persons/Person/Nationality"},
    {"account", "OnlineIdentifiers/Account"},
    {"email", "OnlineIdentifiers/Email"},
    {"ip", "OnlineIdentifiers/IpAddress"},
    {"url", "OnlineIdentifiers/Url"},
};
static const char *const roles[] = {"suspect", "victim", "witness", "reporter"};

const char *icx_mapping_withhold_path(int kind, const char *field)
{
    if (kind != ICX_MAP_CASE)
        return NULL;
    if (strcmp(field, "case.title") == 0)
        return "Title";
    if (strcmp(field, "case.summary") == 0 || strcmp(field, "case.prefecture") == 0)
        return "Summary";
    if (strcmp(field, "case.dates") == 0)
        return "Dates";
    const char *dot = strchr(field, '.');
    if (dot == NULL)
        return NULL;
    size_t rl = (size_t)(dot - field);
    for (size_t r = 0; r < sizeof roles / sizeof roles[0]; r++) {
        if (strlen(roles[r]) != rl || strncmp(field, roles[r], rl) != 0)
            continue;
        for (size_t i = 0; i < sizeof person_withhold / sizeof person_withhold[0]; i++)
            if (strcmp(dot + 1, person_withhold[i].suffix) == 0)
                return person_withhold[i].path;
    }
    return NULL;
}

/* ---- key tables --------------------------------------------------------- */

static int check_name(const char *v, const char *w, char *why, size_t n)
{
    (void)w;
    size_t len = strlen(v);
    if (len == 0 || len > 64 || !isalnum((unsigned char)v[0]))
        goto bad;
    for (const char *p = v; *p; p++)
        if (!isalnum((unsigned char)*p) && !strchr("._-", *p))
            goto bad;
    return 0;
bad:
    snprintf(why, n, "\"%s\" is not a name (letters, digits, . _ -; at "
             "most 64)", v);
    return -1;
}

static int check_list_id(const char *v, const char *w, char *why, size_t n)
{
    if (v[0] == '\0')
        return 0;
    for (const char *p = v; *p; p++)
        if (isupper((unsigned char)*p)) {
            snprintf(why, n, "list id \"%s\" must be lowercase", v);
            return -1;
        }
    return check_name(v, w, why, n);
}

static int check_zone(const char *v, const char *w, char *why, size_t n)
{
    (void)w;
    int m;
    if (icx_norm_zone(&m, v) == 0)
        return 0;
    snprintf(why, n, "unknown zone \"%s\" (want JST, UTC or +09:00)", v);
    return -1;
}

static int check_target(const char *v, const char *w, char *why, size_t n)
{
    (void)w;
    if (icx_map_target_find(v) >= 0)
        return 0;
    snprintf(why, n, "unknown field \"%s\" (docs/TRANSLATE.md lists them)", v);
    return -1;
}

static int check_system(const char *v, const char *w, char *why, size_t n)
{
    (void)w;
    size_t len = strlen(v);
    int ok = len >= 4 && len <= 64 && isupper((unsigned char)v[0]) &&
             isupper((unsigned char)v[1]) && v[2] == '-';
    for (size_t i = 3; ok && i < len; i++)
        ok = isalnum((unsigned char)v[i]) || strchr("._-", v[i]);
    if (ok)
        return 0;
    snprintf(why, n, "\"%s\" is not a code system; want CC-NAME, e.g. "
             "JP-ACT52-1999", v);
    return -1;
}

static const char *const kind_names[] = {"case", "url-list", "hash-list", NULL};
static const char *const format_names[] = {"csv", "yaml", "lines", NULL};
static const char *const enc_names[] = {"auto", "utf-8", "cp932", "shift_jis", NULL};
static const char *const root_names[] = {"Referral", "Request", NULL};
static const char *const fold_names[] = {"keep", "upper", "lower", NULL};

#define M(f) offsetof(icx_mapping, f)
static const icx_conftab_key input_keys[] = {
    {.name = "format", .type = ICX_CT_ENUM, .offset = M(format), .def = "csv", .names = format_names, .doc = "csv, yaml or lines"},
    {.name = "encoding", .type = ICX_CT_STRING, .offset = M(encoding), .def = "auto", .names = enc_names, .doc = "text encoding"},
    {.name = "header", .type = ICX_CT_BOOL, .offset = M(header), .def = "true", .doc = "the first record names the columns"},
    {.name = "zone", .type = ICX_CT_STRING, .offset = M(zone), .def = "JST", .check = check_zone, .doc = "zone of times written without one"},
    {NULL, 0, 0, 0, 0, 0, NULL, NULL, NULL, NULL, NULL},
};
static const icx_conftab_key case_keys[] = {
    {.name = "root", .type = ICX_CT_STRING, .offset = M(case_root), .def = "Referral", .names = root_names, .doc = "payload root element"},
    {NULL, 0, 0, 0, 0, 0, NULL, NULL, NULL, NULL, NULL},
};
static const icx_conftab_key list_keys[] = {
    {.name = "id", .type = ICX_CT_STRING, .offset = M(list_id), .def = "", .check = check_list_id, .doc = "ListId of the update"},
    {NULL, 0, 0, 0, 0, 0, NULL, NULL, NULL, NULL, NULL},
};
static const icx_conftab_key root_keys[] = {
    {.name = "profile", .type = ICX_CT_STRING, .offset = M(profile), .required = 1, .check = check_name, .doc = "profile name"},
    {.name = "description", .type = ICX_CT_STRING, .offset = M(description), .def = "", .doc = "what the profile is for"},
    {.name = "kind", .type = ICX_CT_ENUM, .offset = M(kind), .required = 1, .names = kind_names, .doc = "case, url-list or hash-list"},
    {.name = "version", .type = ICX_CT_STRING, .offset = M(version), .required = 1, .check = check_name, .doc = "version of the tables (crosswalkVersion)"},
    {.name = "input", .type = ICX_CT_MAPPING, .sub = input_keys, .doc = "how the domestic file is read"},
    {.name = "case", .type = ICX_CT_MAPPING, .sub = case_keys, .doc = "case payloads"},
    {.name = "list", .type = ICX_CT_MAPPING, .sub = list_keys, .doc = "list payloads"},
    {.name = "withhold", .type = ICX_CT_STRLIST, .offset = M(withhold), .doc = "fields withheld unless a partner is released them"},
    {NULL, 0, 0, 0, 0, 0, NULL, NULL, NULL, NULL, NULL},
};
#undef M

#define F(f) offsetof(icx_map_field, f)
static const icx_conftab_key field_keys[] = {
    {.name = "column", .type = ICX_CT_STRING, .offset = F(column), .required = 1, .doc = "header name or #N"},
    {.name = "field", .type = ICX_CT_STRING, .offset = F(field), .required = 1, .check = check_target, .doc = "payload field"},
    {.name = "table", .type = ICX_CT_STRING, .offset = F(table), .doc = "code table"},
    {.name = "default", .type = ICX_CT_STRING, .offset = F(def), .doc = "value for an empty cell"},
    {.name = "note", .type = ICX_CT_STRING, .offset = F(note), .doc = "why"},
    {.name = "nfkc", .type = ICX_CT_BOOL, .offset = F(nfkc), .def = "true", .doc = "NFKC-normalize the value"},
    {.name = "case", .type = ICX_CT_ENUM, .offset = F(fold), .def = "keep", .names = fold_names, .doc = "case folding"},
    {.name = "required", .type = ICX_CT_BOOL, .offset = F(required), .def = "false", .doc = "an empty cell is an error"},
    {NULL, 0, 0, 0, 0, 0, NULL, NULL, NULL, NULL, NULL},
};
#undef F
#define C(f) offsetof(icx_map_code, f)
static const icx_conftab_key code_keys[] = {
    {.name = "code", .type = ICX_CT_STRING, .offset = C(code), .required = 1, .doc = "domestic value"},
    {.name = "to", .type = ICX_CT_STRING, .offset = C(to), .required = 1, .doc = "payload value"},
    {.name = "domestic", .type = ICX_CT_STRING, .offset = C(domestic), .doc = "DomesticCode text"},
    {.name = "system", .type = ICX_CT_STRING, .offset = C(system), .check = check_system, .doc = "DomesticCode system"},
    {.name = "label", .type = ICX_CT_STRING, .offset = C(label), .doc = "description"},
    {.name = "note", .type = ICX_CT_STRING, .offset = C(note), .doc = "why this row"},
    {NULL, 0, 0, 0, 0, 0, NULL, NULL, NULL, NULL, NULL},
};
#undef C
#define T(f) offsetof(icx_map_table, f)
static const icx_conftab_key table_keys[] = {
    {.name = "system", .type = ICX_CT_STRING, .offset = T(system), .check = check_system, .doc = "default code system"},
    {.name = "description", .type = ICX_CT_STRING, .offset = T(description), .doc = "what the table is"},
    {NULL, 0, 0, 0, 0, 0, NULL, NULL, NULL, NULL, NULL},
};
#undef T
#define P(f) offsetof(icx_map_partner, f)
static const icx_conftab_key partner_keys[] = {
    {.name = "release", .type = ICX_CT_STRLIST, .offset = P(release), .doc = "withheld fields released to it"},
    {.name = "withhold", .type = ICX_CT_STRLIST, .offset = P(withhold), .doc = "more fields withheld"},
    {NULL, 0, 0, 0, 0, 0, NULL, NULL, NULL, NULL, NULL},
};
#undef P

/* ---- loading ------------------------------------------------------------ */

static const icx_conftab_node *want(icx_conftab_file *f,
                                    const icx_conftab_node *n, int kind,
                                    const char *key)
{
    char got[64];
    if (n == NULL || icx_conftab_is_empty(n))
        return NULL;
    if (n->kind != kind) {
        icx_conftab_error(f, n, key, "want %s, got %s",
                          kind == ICX_CN_SEQ ? "a list" : "a mapping",
                          icx_conftab_got(n, got, sizeof got));
        return NULL;
    }
    return n;
}

static int load_tables(icx_mapping *m, const icx_conftab_node *tabs,
                       icx_conftab_file *f)
{
    static const char *const skip[] = {"rows", NULL};
    char key[160];
    if (tabs == NULL)
        return ICX_OK;
    m->tables = calloc(tabs->nkids / 2 + 1, sizeof *m->tables);
    if (m->tables == NULL)
        return ICX_ENOMEM;
    for (size_t i = 0; i + 1 < tabs->nkids; i += 2) {
        const icx_conftab_node *k = tabs->kids[i], *v = tabs->kids[i + 1];
        snprintf(key, sizeof key, "tables.%s", k->text ? k->text : "?");
        if (k->kind != ICX_CN_SCALAR || (v = want(f, v, ICX_CN_MAP, key)) == NULL) {
            if (k->kind == ICX_CN_SCALAR && icx_conftab_is_empty(tabs->kids[i + 1]))
                icx_conftab_error(f, k, key, "empty table");
            continue;
        }
        icx_map_table *t = &m->tables[m->ntables++];
        if ((t->name = strdup(k->text)) == NULL)
            return ICX_ENOMEM;
        icx_conftab_node *view = icx_conftab_view_without(v, skip);
        if (view == NULL)
            return ICX_ENOMEM;
        int rc = icx_conftab_apply(t, table_keys, view, f);
        icx_conftab_view_free(view);
        if (rc < 0)
            return rc;
        snprintf(key, sizeof key, "tables.%s.rows", t->name);
        const icx_conftab_node *rows = want(f, icx_conftab_find(v, "rows"),
                                            ICX_CN_SEQ, key);
        if (rows == NULL) {
            icx_conftab_error(f, v, key, "required key missing");
            continue;
        }
        t->rows = calloc(rows->nkids + 1, sizeof *t->rows);
        if (t->rows == NULL)
            return ICX_ENOMEM;
        for (size_t r = 0; r < rows->nkids; r++) {
            snprintf(key, sizeof key, "tables.%s.rows[%zu]", t->name, r);
            const icx_conftab_node *row = want(f, rows->kids[r], ICX_CN_MAP, key);
            if (row == NULL)
                continue;
            icx_map_code *c = &t->rows[t->nrows++];
            c->line = row->line;
            if ((rc = icx_conftab_apply(c, code_keys, row, f)) < 0)
                return rc;
            for (size_t o = 0; c->code && o + 1 < t->nrows; o++)
                if (t->rows[o].code && strcmp(t->rows[o].code, c->code) == 0)
                    icx_conftab_error(f, row, key, "code \"%s\" already at "
                                      "line %u", c->code, t->rows[o].line);
        }
    }
    return ICX_OK;
}

static int load_fields(icx_mapping *m, const icx_conftab_node *root,
                       icx_conftab_file *f)
{
    const icx_conftab_node *seq = want(f, icx_conftab_find(root, "fields"),
                                       ICX_CN_SEQ, "fields");
    char key[64];
    if (seq == NULL) {
        icx_conftab_error(f, root, "fields", "required key missing");
        return ICX_OK;
    }
    m->fields = calloc(seq->nkids + 1, sizeof *m->fields);
    if (m->fields == NULL)
        return ICX_ENOMEM;
    for (size_t i = 0; i < seq->nkids; i++) {
        snprintf(key, sizeof key, "fields[%zu]", i);
        const icx_conftab_node *row = want(f, seq->kids[i], ICX_CN_MAP, key);
        if (row == NULL)
            continue;
        icx_map_field *fl = &m->fields[m->nfields++];
        fl->line = row->line;
        fl->tid = -1;
        int rc = icx_conftab_apply(fl, field_keys, row, f);
        if (rc < 0)
            return rc;
        if (fl->field == NULL || (fl->tid = icx_map_target_find(fl->field)) < 0)
            continue;
        const icx_map_target *t = &targets[fl->tid];
        if (!(t->kinds & K(m->kind)))
            icx_conftab_error(f, icx_conftab_find(row, "field"), key,
                              "field \"%s\" does not belong to a %s profile",
                              fl->field, icx_map_kind_name(m->kind));
        if (fl->table && icx_mapping_table(m, fl->table) == NULL)
            icx_conftab_error(f, icx_conftab_find(row, "table"), key,
                              "no table \"%s\" in tables", fl->table);
        if (t->type == ICX_MT_CODE && fl->table == NULL)
            icx_conftab_error(f, row, key, "field %s needs a table (the "
                              "crosswalk)", fl->field);
        for (size_t o = 0; o + 1 < m->nfields; o++)
            if (m->fields[o].tid == fl->tid)
                icx_conftab_error(f, row, key, "field %s is already mapped "
                                  "at line %u", fl->field, m->fields[o].line);
    }
    return ICX_OK;
}

static int load_partners(icx_mapping *m, const icx_conftab_node *ps,
                         icx_conftab_file *f)
{
    char key[80];
    if (ps == NULL)
        return ICX_OK;
    m->partners = calloc(ps->nkids / 2 + 1, sizeof *m->partners);
    if (m->partners == NULL)
        return ICX_ENOMEM;
    for (size_t i = 0; i + 1 < ps->nkids; i += 2) {
        const icx_conftab_node *k = ps->kids[i], *v = ps->kids[i + 1];
        if (k->kind != ICX_CN_SCALAR)
            continue;
        snprintf(key, sizeof key, "partners.%s", k->text);
        if (!icx_agency_id_valid(k->text))
            icx_conftab_error(f, k, key, "\"%s\" is not an agency id", k->text);
        icx_map_partner *p = &m->partners[m->npartners++];
        if ((p->id = strdup(k->text)) == NULL)
            return ICX_ENOMEM;
        if (icx_conftab_is_empty(v))
            continue;
        if ((v = want(f, v, ICX_CN_MAP, key)) == NULL)
            continue;
        int rc = icx_conftab_apply(p, partner_keys, v, f);
        if (rc < 0)
            return rc;
        for (int w = 0; w < 2; w++) {
            const icx_strlist *l = w ? &p->withhold : &p->release;
            for (size_t j = 0; j < l->count; j++)
                if (icx_mapping_withhold_path(m->kind, l->items[j]) == NULL)
                    icx_conftab_error(f, v, key, "%s: cannot withhold \"%s\" "
                                      "in a %s profile", w ? "withhold" :
                                      "release", l->items[j],
                                      icx_map_kind_name(m->kind));
        }
    }
    return ICX_OK;
}

static void check_required(icx_mapping *m, const icx_conftab_node *root,
                           icx_conftab_file *f)
{
    int have[ICX_T__COUNT] = {0};
    for (size_t i = 0; i < m->nfields; i++)
        if (m->fields[i].tid >= 0)
            have[m->fields[i].tid] = 1;
    static const struct { int kind, tid; } need[] = {
        {ICX_MAP_CASE, ICX_T_CASE_REFERENCE}, {ICX_MAP_CASE, ICX_T_OFFENCE_CODE},
        {ICX_MAP_URL_LIST, ICX_T_ENTRY_URL}, {ICX_MAP_HASH_LIST, ICX_T_ENTRY_ALG},
        {ICX_MAP_HASH_LIST, ICX_T_ENTRY_HASH},
    };
    for (size_t i = 0; i < sizeof need / sizeof need[0]; i++)
        if (need[i].kind == m->kind && !have[need[i].tid])
            icx_conftab_error(f, root, "fields", "a %s profile must map %s",
                              icx_map_kind_name(m->kind),
                              targets[need[i].tid].name);
    if (m->kind != ICX_MAP_CASE && (m->list_id == NULL || !m->list_id[0]))
        icx_conftab_error(f, root, "list.id", "required for a %s profile",
                          icx_map_kind_name(m->kind));
    for (size_t j = 0; j < m->withhold.count; j++)
        if (icx_mapping_withhold_path(m->kind, m->withhold.items[j]) == NULL)
            icx_conftab_error(f, icx_conftab_find(root, "withhold"), "withhold",
                              "cannot withhold \"%s\" in a %s profile",
                              m->withhold.items[j], icx_map_kind_name(m->kind));
    if (m->format == ICX_MAP_LINES && m->nfields > 0)
        for (size_t i = 0; i < m->nfields; i++)
            if (m->fields[i].column && strcmp(m->fields[i].column, "#1") != 0)
                icx_conftab_error(f, root, "fields", "input.format lines has "
                                  "one column, \"#1\" (got \"%s\")",
                                  m->fields[i].column);
}

int icx_mapping_load(icx_mapping **out, const char *path, icx_buf *errs,
                     icx_err *err)
{
    static const char *const skip[] = {"fields", "tables", "partners", NULL};
    icx_conftab_diag diag = {0};
    icx_conftab_node *root = NULL, *view = NULL;
    char *dir = NULL;
    int rc = ICX_OK;
    icx_mapping *m = calloc(1, sizeof *m);

    *out = NULL;
    if (m == NULL || (m->path = strdup(path)) == NULL ||
        (dir = strdup(path)) == NULL) {
        rc = icx_err_set(err, ICX_ENOMEM, "out of memory");
        goto out;
    }
    char *slash = strrchr(dir, '/');
    if (slash)
        *slash = '\0';
    else
        dir[0] = '\0';
    icx_conftab_file f = {path, dir[0] ? dir : ".", 0, &diag};
    if ((rc = icx_conftab_parse(&root, path, ICX_CONFIG_MAX_BYTES, &f)) < 0)
        goto oom;
    if (root != NULL) {
        if ((view = icx_conftab_view_without(root, skip)) == NULL) {
            rc = ICX_ENOMEM;
            goto oom;
        }
        if ((rc = icx_conftab_apply(m, root_keys, view, &f)) < 0 ||
            (rc = load_tables(m, want(&f, icx_conftab_find(root, "tables"),
                                      ICX_CN_MAP, "tables"), &f)) < 0 ||
            (rc = load_fields(m, root, &f)) < 0 ||
            (rc = load_partners(m, want(&f, icx_conftab_find(root, "partners"),
                                        ICX_CN_MAP, "partners"), &f)) < 0)
            goto oom;
        check_required(m, root, &f);
        if (m->zone)
            icx_norm_zone(&m->zone_min, m->zone);
    }
    if (diag.n > 0) {
        icx_conftab_diag_emit(&diag, errs, err);
        rc = ICX_ECONFIG;
        err->rc = rc;
        goto out;
    }
    *out = m;
    m = NULL;
    goto out;
oom:
    rc = icx_err_set(err, ICX_ENOMEM, "out of memory");
out:
    icx_conftab_view_free(view);
    icx_conftab_node_free(&root);
    icx_conftab_diag_free(&diag);
    free(dir);
    icx_mapping_free(&m);
    return rc;
}

void icx_mapping_free(icx_mapping **mp)
{
    if (mp == NULL || *mp == NULL)
        return;
    icx_mapping *m = *mp;
    for (size_t i = 0; i < m->nfields; i++)
        icx_conftab_release(&m->fields[i], field_keys);
    for (size_t i = 0; i < m->ntables; i++) {
        for (size_t r = 0; r < m->tables[i].nrows; r++)
            icx_conftab_release(&m->tables[i].rows[r], code_keys);
        icx_conftab_release(&m->tables[i], table_keys);
        free(m->tables[i].rows);
        free(m->tables[i].name);
    }
    for (size_t i = 0; i < m->npartners; i++) {
        icx_conftab_release(&m->partners[i], partner_keys);
        free(m->partners[i].id);
    }
    icx_conftab_release(m, root_keys);
    free(m->fields);
    free(m->tables);
    free(m->partners);
    free(m->path);
    free(m);
    *mp = NULL;
}

const icx_map_table *icx_mapping_table(const icx_mapping *m, const char *name)
{
    for (size_t i = 0; i < m->ntables; i++)
        if (strcmp(m->tables[i].name, name) == 0)
            return &m->tables[i];
    return NULL;
}

const icx_map_code *icx_mapping_lookup(const icx_map_table *t, const char *code)
{
    for (size_t i = 0; i < t->nrows; i++)
        if (t->rows[i].code && strcmp(t->rows[i].code, code) == 0)
            return &t->rows[i];
    return NULL;
}

int icx_mapping_withheld(const icx_mapping *m, const char *partner,
                         const icx_strlist *extra, const char *field)
{
    const icx_map_partner *p = NULL;
    for (size_t i = 0; partner && i < m->npartners; i++)
        if (strcmp(m->partners[i].id, partner) == 0)
            p = &m->partners[i];
    if (extra != NULL && icx_strlist_has(extra, field))
        return 1;
    if (p != NULL && icx_strlist_has(&p->withhold, field))
        return 1;
    return icx_strlist_has(&m->withhold, field) &&
           !(p != NULL && icx_strlist_has(&p->release, field));
}

int icx_mapping_partner_withhold(const icx_strlist **out,
                                 const icx_config *cfg, const char *partner,
                                 icx_err *err)
{
    const icx_partner *p = icx_config_partner(cfg, partner);
    *out = NULL;
    if (p == NULL)
        return icx_err_set(err, ICX_ENOTFOUND, "%s is not a partner in %s "
                           "(no partner file names it), so what it may not "
                           "receive is not known", partner ? partner : "?",
                           cfg && cfg->path ? cfg->path : "the configuration");
    *out = &p->withhold;
    return ICX_OK;
}
