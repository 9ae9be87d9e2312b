/*
 * lists_conf.c - lists.yaml: the lists this gateway publishes (id, kind,
 * the partners allowed to pull each, page size, serials kept, the handling
 * of the pages) and the settings of its own pull requests.
 *
 * The file sits beside gateway.yaml and is optional (no file: nothing
 * published).  It is read with the key tables of conftab.h, so errors are
 * `lists.yaml:LINE:COL: key: what is wrong`, all collected before the load
 * fails.  The daemon reads it again on every list request, so an edit
 * takes effect without a restart.
 *
 * A partner pulls a list only when the list's `allow` names it and its
 * partner file's `lists:` names the list (docs/LISTS.md).
 *
 * Ownership: the caller frees a loaded conf with icx_lists_conf_free().
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conftab.h"
#include "lists.h"
#include "log.h"
#include "util.h"

#define D(f) offsetof(icx_list_decl, f)
#define C(f) offsetof(icx_lists_conf, f)

static const char *const kind_names[] = {"url", "hash", NULL};
static const char *const tlp_names[] = {"CLEAR", "GREEN", "AMBER",
                                        "AMBER+STRICT", "RED", NULL};
static const char *const hcode_names[] = {"H0", "H1", "H2", "H3", NULL};

static int check_schedule(const char *v, const char *w, char *why, size_t n)
{
    (void)w;
    const char *slash = strchr(v, '/');
    char agency[32];
    if (slash != NULL && slash > v && (size_t)(slash - v) < sizeof agency &&
        slash[1] != '\0') {
        memcpy(agency, v, (size_t)(slash - v));
        agency[slash - v] = '\0';
        if (icx_agency_id_valid(agency))
            return 0;
    }
    snprintf(why, n, "\"%s\" is not PARTNER/LIST (e.g. JP-NPA/csam-urls)", v);
    return -1;
}

static const icx_conftab_key list_keys[] = {
    {.name = "id", .type = ICX_CT_STRING, .offset = D(id), .required = 1,
     .check = icx_config_check_list_id, .doc = "ListId, e.g. csam-urls"},
    {.name = "kind", .type = ICX_CT_ENUM, .offset = D(kind), .required = 1,
     .names = kind_names, .doc = "url or hash"},
    {.name = "allow", .type = ICX_CT_STRLIST, .offset = D(allow),
     .check = icx_config_check_agency, .doc = "partners that may pull the list"},
    {.name = "page_entries", .type = ICX_CT_INT, .offset = D(page_entries),
     .min = ICX_LISTS_PAGE_MIN, .max = ICX_LISTS_PAGE_MAX, .def = "5000",
     .doc = "entries per page (fewer when the message size limit needs it)"},
    {.name = "keep_serials", .type = ICX_CT_INT, .offset = D(keep),
     .min = 1, .max = 1000000, .def = "30",
     .doc = "serials whose deltas are kept; older positions get a snapshot"},
    {.name = "legal_basis", .type = ICX_CT_STRING, .offset = D(legal_basis),
     .def = "list distribution agreement", .doc = "LegalBasis of the pages"},
    {.name = "tlp", .type = ICX_CT_STRING, .offset = D(tlp),
     .names = tlp_names, .def = "AMBER", .doc = "TLP of the pages"},
    {.name = "handling", .type = ICX_CT_STRING, .offset = D(handling),
     .names = hcode_names, .def = "H2", .doc = "handling code of the pages"},
    {.name = "retain_days", .type = ICX_CT_INT, .offset = D(retain_days),
     .min = 1, .max = 3650, .def = "365", .doc = "RetainUntil: now + days"},
    {.name = NULL},
};

static const icx_conftab_key pull_keys[] = {
    {.name = "legal_basis", .type = ICX_CT_STRING,
     .offset = C(pull_legal_basis), .def = "list distribution agreement",
     .doc = "LegalBasis of this gateway's pull requests"},
    {.name = "tlp", .type = ICX_CT_STRING, .offset = C(pull_tlp),
     .names = tlp_names, .def = "AMBER", .doc = "TLP of the pull requests"},
    {.name = "handling", .type = ICX_CT_STRING, .offset = C(pull_handling),
     .names = hcode_names, .def = "H2",
     .doc = "handling code of the pull requests"},
    {.name = "every_seconds", .type = ICX_CT_INT, .offset = C(pull_every_s),
     .min = 0, .max = 604800, .def = "0",
     .doc = "icx serve pulls the scheduled lists this often (0: never)"},
    {.name = "schedule", .type = ICX_CT_STRLIST, .offset = C(pull_schedule),
     .check = check_schedule,
     .doc = "PARTNER/LIST entries pulled on that schedule"},
    {.name = NULL},
};

static const icx_conftab_key root_keys[] = {
    {.name = "pull", .type = ICX_CT_MAPPING, .sub = pull_keys,
     .doc = "this gateway's pull requests"},
    {.name = NULL},
};

const char *icx_list_kind_name(int kind)
{
    return kind == ICX_LIST_HASH ? "hash" : "url";
}

static char *beside(const char *dir, const char *name)
{
    icx_buf b;
    icx_buf_init(&b, 8192);
    if (icx_buf_printf(&b, "%s/%s", dir, name) < 0) {
        icx_buf_free(&b);
        return NULL;
    }
    return icx_buf_steal(&b, NULL);
}

char *icx_lists_conf_path(const icx_config *cfg)
{
    return beside(cfg->base_dir, "lists.yaml");
}

int icx_lists_conf_load_beside(icx_lists_conf **out, const icx_config *cfg,
                               icx_err *err)
{
    char *path = icx_lists_conf_path(cfg);
    icx_buf errs;
    icx_buf_init(&errs, 1 << 16);
    if (path == NULL)
        return icx_err_set(err, ICX_ENOMEM, "out of memory");
    int rc = icx_lists_conf_load(out, path, &errs, err);
    if (rc < 0)
        icx_log_warn("lists.config", "file=%s error=\"%s\"", path, err->msg);
    icx_buf_free(&errs);
    free(path);
    return rc;
}

char *icx_lists_db_path(const icx_config *cfg)
{
    const char *s = cfg->store_path;
    size_t n = strlen(s);
    icx_buf b;
    /* Beside a PostgreSQL store (a URL) there is no folder: the lists
     * store is the node's own, beside its configuration. */
    if (strstr(s, "://") != NULL)
        return beside(cfg->base_dir, "icx-lists.db");
    icx_buf_init(&b, 8192);
    if (n > 3 && strcmp(s + n - 3, ".db") == 0)
        n -= 3;
    if (icx_buf_printf(&b, "%.*s-lists.db", (int)n, s) < 0) {
        icx_buf_free(&b);
        return NULL;
    }
    return icx_buf_steal(&b, NULL);
}

static void decl_release(icx_list_decl *d)
{
    icx_conftab_release(d, list_keys);
}

void icx_lists_conf_free(icx_lists_conf **cp)
{
    if (cp == NULL || *cp == NULL)
        return;
    icx_lists_conf *c = *cp;
    for (size_t i = 0; i < c->nlists; i++)
        decl_release(&c->lists[i]);
    free(c->lists);
    icx_conftab_release(c, pull_keys);
    free(c->path);
    free(c);
    *cp = NULL;
}

const icx_list_decl *icx_lists_conf_find(const icx_lists_conf *c,
                                         const char *id)
{
    for (size_t i = 0; c != NULL && id != NULL && i < c->nlists; i++)
        if (c->lists[i].id != NULL && strcmp(c->lists[i].id, id) == 0)
            return &c->lists[i];
    return NULL;
}

static int load_lists(icx_lists_conf *c, const icx_conftab_node *seq,
                      icx_conftab_file *f)
{
    char got[64];
    if (seq->kind != ICX_CN_SEQ) {
        icx_conftab_error(f, seq, "lists", "want a list of mappings, got %s",
                          icx_conftab_got(seq, got, sizeof got));
        return ICX_OK;
    }
    c->lists = calloc(seq->nkids + 1, sizeof *c->lists);
    if (c->lists == NULL)
        return ICX_ENOMEM;
    for (size_t i = 0; i < seq->nkids; i++) {
        const icx_conftab_node *e = seq->kids[i];
        char name[32];
        snprintf(name, sizeof name, "lists[%zu]", i);
        if (e->refused)
            continue;
        if (e->kind != ICX_CN_MAP) {
            icx_conftab_error(f, e, name, "want a mapping, got %s",
                              icx_conftab_got(e, got, sizeof got));
            continue;
        }
        icx_list_decl *d = &c->lists[c->nlists];
        d->line = e->line;
        int rc = icx_conftab_apply(d, list_keys, e, f);
        if (rc < 0) {
            decl_release(d);
            return rc;
        }
        if (d->id != NULL && icx_lists_conf_find(c, d->id) != NULL) {
            icx_conftab_error(f, icx_conftab_find(e, "id"), name,
                              "duplicate list id \"%s\"", d->id);
            decl_release(d);
            continue;
        }
        c->nlists++;
    }
    return ICX_OK;
}

int icx_lists_conf_load(icx_lists_conf **out, const char *path, icx_buf *errs,
                        icx_err *err)
{
    *out = NULL;
    icx_lists_conf *c = calloc(1, sizeof *c);
    icx_conftab_diag diag = {0};
    icx_conftab_file f = {.display = path, .base_dir = ".", .index = 0,
                          .diag = &diag};
    icx_conftab_node *root = NULL, rest;
    const icx_conftab_node **kids = NULL;
    int rc = ICX_OK;
    memset(&rest, 0, sizeof rest);
    if (c == NULL || (c->path = strdup(path)) == NULL) {
        rc = icx_err_set(err, ICX_ENOMEM, "out of memory");
        goto out;
    }
    if (access(path, F_OK) != 0) {
        /* No lists.yaml: nothing published; pull settings default. */
        icx_conftab_node empty = {.kind = ICX_CN_MAP};
        rc = icx_conftab_apply(c, root_keys, &empty, &f);
        goto done;
    }
    rc = icx_conftab_parse(&root, path, ICX_CONFIG_MAX_BYTES, &f);
    if (rc < 0 || root == NULL)
        goto done;
    if (root->kind != ICX_CN_MAP) {
        icx_conftab_error(&f, root, "(root)", "want a mapping");
        goto done;
    }
    /* `lists` is a sequence of mappings, walked here; the other keys go
     * through the root table (unknown ones are reported there). */
    kids = calloc(root->nkids + 1, sizeof *kids);
    if (kids == NULL) {
        rc = ICX_ENOMEM;
        goto done;
    }
    rest.kind = ICX_CN_MAP;
    rest.line = root->line;
    rest.col = root->col;
    rest.kids = (icx_conftab_node **)kids;
    for (size_t i = 0; i + 1 < root->nkids && rc == ICX_OK; i += 2) {
        const icx_conftab_node *k = root->kids[i];
        if (k->kind == ICX_CN_SCALAR && strcmp(k->text, "lists") == 0) {
            if (!root->kids[i + 1]->refused)
                rc = load_lists(c, root->kids[i + 1], &f);
            continue;
        }
        kids[rest.nkids++] = k;
        kids[rest.nkids++] = root->kids[i + 1];
    }
    if (rc == ICX_OK)
        rc = icx_conftab_apply(c, root_keys, &rest, &f);
done:
    if (rc == ICX_ENOMEM || diag.oom) {
        rc = icx_err_set(err, ICX_ENOMEM, "out of memory reading %s", path);
        goto out;
    }
    if (icx_conftab_diag_emit(&diag, errs, err) > 0) {
        rc = ICX_ECONFIG;
        if (err != NULL)
            err->rc = ICX_ECONFIG;
        goto out;
    }
    *out = c;
    c = NULL;
    rc = ICX_OK;
out:
    free(kids);
    icx_conftab_node_free(&root);
    icx_conftab_diag_free(&diag);
    icx_lists_conf_free(&c);
    return rc;
}
