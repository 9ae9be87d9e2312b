/*
 * cmd_translate.c - `icx translate`: domestic file -> payload (or signed
 * envelope) through a mapping profile, and received payload -> domestic
 * CSV with --reverse.
 *
 * The payload goes to -o (or stdout); errors and the summary go to
 * stderr (and to --report FILE); --explain lines go to stdout, or to
 * stderr when the payload itself is on stdout.  A list of more than one
 * page goes to OUT.0001.xml, OUT.0002.xml ... (from -o OUT.xml): each page
 * is written as NAME.part while the translation runs and the parts are
 * renamed only when all of them are written, so a failure leaves none.
 */
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <libxml/tree.h>

#include "cli.h"
#include "config.h"
#include "signkey.h"
#include "csv.h"
#include "envelope.h"
#include "mapping.h"
#include "normalize.h"
#include "store.h"
#include "util.h"
#include "translate.h"
#include "util.h"
#include "xml.h"
#include "xmlnode.h"

static const char usage_text[] =
    "usage: icx translate FILE --profile P [--to PARTNER] [-o OUT] [--explain]\n"
    "                     [--skip-invalid] [--report FILE] [-c CONFIG]\n"
    "                     [--session UUID] [--serial N] [--page-bytes N]\n"
    "                     [--envelope (--key KEY.pem --from ID | -c CONFIG)\n"
    "                      --legal-basis TEXT --retain-until YYYY-MM-DD\n"
    "                      [--tlp LABEL] [--code H0-H3] [--expires-in SECONDS]]\n"
    "       icx translate --reverse PAYLOAD.xml --profile P [-o OUT.csv]\n\n"
    "Turns a domestic export (CSV in UTF-8 or Shift_JIS, YAML records, URL\n"
    "lines) into a payload valid against schemas/, through the mapping\n"
    "profile P (a path, or a name in config/mappings/ or, with -c, in the\n"
    "mappings/ folder beside the gateway config, then in the installed\n"
    "share/icx/mappings/; an unknown name lists the known ones).\n"
    "--to names the recipient: fields withheld for it are left out and\n"
    "listed in the payload (with -c, its partner file's withhold too).\n"
    "Every problem is reported as file:row:column:field: rule, all in one run.\n"
    "A file with any invalid row produces nothing; --skip-invalid writes the\n"
    "valid rows and reports the rejected ones.\n"
    "--explain shows which profile row produced each field.\n"
    "--envelope writes a signed envelope for --to instead of the payload.\n"
    "--reverse turns a received payload (or envelope) into domestic CSV.\n"
    "A list larger than one page (--page-bytes, default 16 MiB, or with -c\n"
    "what limits.max_message_bytes leaves for a payload) is written as\n"
    "OUT.0001.xml, OUT.0002.xml ... from -o OUT.xml, all or none.\n"
    "Exit codes: 0 ok, 1 refused (invalid rows, invalid profile), 2 usage,\n"
    "3 failure.\n";

static int usage(int code)
{
    fputs(usage_text, code == ICX_EXIT_OK ? stdout : stderr);
    return code;
}

static int write_data(const char *path, const char *data, size_t len,
                      icx_err *err)
{
    if (path == NULL || strcmp(path, "-") == 0) {
        if (fwrite(data, 1, len, stdout) != len || fflush(stdout))
            return icx_err_set(err, ICX_EIO, "stdout: write failed");
        return ICX_OK;
    }
    return icx_file_write_atomic(path, data, len, 0640, err);
}

static int write_out(const char *path, const icx_buf *b, icx_err *err)
{
    return write_data(path, b->data ? b->data : "", b->len, err);
}

/* A bare profile name is looked up in the mappings folder. */
int icx_cli_mapping_load(icx_mapping **m, const char *ppath, icx_buf *report)
{
    icx_err err;
    icx_err_clear(&err);
    int rc = icx_mapping_load(m, ppath, report, &err);
    if (rc == ICX_OK)
        return ICX_EXIT_OK;
    fputs(report->data ? report->data : "", stderr);
    icx_cli_error("profile %s refused: %s", ppath, err.msg);
    return icx_cli_exit_for(rc);
}

static int is_profile(const struct dirent *e)
{
    size_t n = strlen(e->d_name);
    return n > 5 && e->d_name[0] != '.' && strcmp(e->d_name + n - 5, ".yaml") == 0;
}

/* The names (file names without .yaml) of the profiles in dir, sorted,
 * appended to known as ", name" unless known has them already; a folder
 * that cannot be read adds nothing. */
static void profile_names(icx_buf *known, const char *dir)
{
    struct dirent **list = NULL;
    int n = scandir(dir, &list, is_profile, alphasort);
    for (int i = 0; i < n; i++) {
        int len = (int)strlen(list[i]->d_name) - 5;
        int seen = 0;
        for (const char *k = known->data; k != NULL && !seen; k = strchr(k, ',')) {
            k += *k == ',' ? 2 : 0;
            seen = strncmp(k, list[i]->d_name, (size_t)len) == 0 &&
                   (k[len] == ',' || k[len] == '\0');
        }
        if (!seen)
            icx_buf_printf(known, "%s%.*s", known->len ? ", " : "", len,
                           list[i]->d_name);
        free(list[i]);
    }
    free(list);
}

char *icx_cli_profile_path(const char *p, const char *config)
{
    icx_buf b, dirs, known;
    char *dir[2] = {NULL, NULL}, *found = NULL;
    icx_buf_init(&b, 4096);
    icx_buf_init(&dirs, 8192);
    icx_buf_init(&known, 64u << 10);
    if (strchr(p, '/') != NULL || strstr(p, ".yaml") != NULL) {
        icx_buf_puts(&b, p);
        found = icx_buf_steal(&b, NULL);
        goto out;
    }
    /* The configured place (beside -c CONFIG, else ./config), then the
     * installed share/icx/mappings. */
    if (config != NULL) {
        const char *slash = strrchr(config, '/');
        if (slash)
            icx_buf_printf(&b, "%.*s/", (int)(slash - config), config);
        icx_buf_puts(&b, "mappings");
    } else {
        icx_buf_puts(&b, "config/mappings");
    }
    dir[0] = icx_buf_steal(&b, NULL);
    const char *share = icx_share_dir("mappings");
    if (share != NULL && (dir[0] == NULL || strcmp(share, dir[0]) != 0))
        dir[1] = strdup(share);
    for (int i = 0; i < 2 && found == NULL; i++) {
        if (dir[i] == NULL)
            continue;
        icx_buf_init(&b, 4096);
        icx_buf_printf(&b, "%s/%s.yaml", dir[i], p);
        char *path = icx_buf_steal(&b, NULL);
        if (path != NULL && access(path, F_OK) == 0)
            found = path;
        else
            free(path);
        icx_buf_printf(&dirs, "%s%s", dirs.len ? ", " : "", dir[i]);
        profile_names(&known, dir[i]);
    }
    if (found == NULL)
        icx_cli_error("profile \"%s\" not found in %s (known profiles: %s)",
                      p, dirs.data ? dirs.data : "no folder",
                      known.len ? known.data : "none");
out:
    free(dir[0]);
    free(dir[1]);
    icx_buf_free(&b);
    icx_buf_free(&dirs);
    icx_buf_free(&known);
    return found;
}

static int set(char *dst, size_t len, const char *opt, const char *v)
{
    if (strlen(v) >= len) {
        icx_cli_error("%s: value too long (at most %zu bytes)", opt, len - 1);
        return 1;
    }
    memcpy(dst, v, strlen(v) + 1);
    return 0;
}

struct args {
    const char *profile, *to, *out, *report, *config, *key, *from;
    const char *session;
    unsigned long serial;
    int explain, skip, envelope, reverse;
    long expires_in, page_bytes;
    icx_header h;
};

static int reverse(const struct args *a, const char *in, icx_mapping *m)
{
    icx_err err;
    icx_buf csv;
    char *data = NULL;
    size_t len = 0;
    icx_err_clear(&err);
    icx_buf_init(&csv, ICX_TRANSLATE_MAX_INPUT);
    int rc = icx_file_read(&data, &len, in, ICX_TRANSLATE_MAX_PAYLOAD, &err);
    if (rc == 0)
        rc = icx_translate_back(&csv, m, data, len, &err);
    if (rc == 0)
        rc = write_out(a->out, &csv, &err);
    if (rc < 0)
        icx_cli_error("%s: %s", in, err.msg);
    else if (a->out)
        fprintf(stderr, "%s: written as %s (profile %s)\n", in, a->out,
                m->profile);
    free(data);
    icx_buf_free(&csv);
    return rc == 0 ? ICX_EXIT_OK : icx_cli_exit_for(rc);
}

/* Where the payloads go, one page at a time (icx_translate_sink). */
typedef struct out_pages {
    struct args *a;
    const icx_config *cfg;
    const char *in, *category;
    icx_buf *report;
    icx_buf env;              /* --envelope: the page signed */
    icx_schemas *schemas;     /* --envelope: loaded for the first page */
    icx_signer *signer;
    unsigned long pages;      /* of the list */
    unsigned long parts;      /* NAME.part files written */
} out_pages;

/* Page `page` of a list of `pages`: OUT.0001.xml from OUT.xml (OUT.0001
 * from OUT), wide enough that the names sort; with part, NAME.part. */
static int page_name(char *out, size_t n, const char *base, unsigned long page,
                     unsigned long pages, int part)
{
    int w = 4;
    for (unsigned long p = pages; p >= 10000; p /= 10)
        w++;
    size_t bl = strlen(base);
    int xml = bl > 4 && strcmp(base + bl - 4, ".xml") == 0;
    int k = snprintf(out, n, "%.*s.%0*lu%s%s", (int)(xml ? bl - 4 : bl), base,
                     w, page, xml ? ".xml" : "", part ? ".part" : "");
    return k < 0 || (size_t)k >= n ? -1 : 0;
}

static int sign_page(out_pages *o, const char *xml, size_t len, icx_err *err)
{
    struct args *a = o->a;
    const icx_config *cfg = o->cfg;
    icx_header h = a->h; /* a MessageId of its own for every page */
    time_t now = time(NULL);
    int rc;
    if (o->signer == NULL &&
        ((rc = icx_schemas_load(&o->schemas, cfg && cfg->schemas_dir
                                ? cfg->schemas_dir : icx_schemas_default_dir(),
                                err)) < 0 ||
         (rc = a->key != NULL ? icx_signer_load(&o->signer, a->key, err)
                              : icx_signkey_open(&o->signer, cfg, err)) < 0))
        return rc;
    if (cfg != NULL && !h.sender[0])
        snprintf(h.sender, sizeof h.sender, "%s", cfg->id);
    snprintf(h.recipient, sizeof h.recipient, "%s", a->to);
    snprintf(h.category, sizeof h.category, "%s", o->category);
    if ((rc = icx_header_stamp(&h, now, err)) < 0)
        return rc;
    if (a->expires_in > 0)
        icx_time_format(h.expires, sizeof h.expires, now + a->expires_in);
    icx_buf_reset(&o->env);
    rc = icx_envelope_build_signed(&o->env, &h, xml, len, o->schemas,
                                   o->signer, err);
    if (rc == 0)
        fprintf(stderr, "envelope %s: %s -> %s, %s, signed (%s)\n",
                h.message_id, h.sender, h.recipient, h.category,
                icx_signer_alg(o->signer));
    return rc;
}

static int put_page(void *ctx, unsigned long page, unsigned long pages,
                    const char *xml, size_t len, icx_err *err)
{
    out_pages *o = ctx;
    const char *out = o->a->out;
    char name[4200];
    int rc;
    o->pages = pages;
    if (pages > 1 && (out == NULL || strcmp(out, "-") == 0)) {
        icx_buf_printf(o->report, "%s: the list takes %lu pages: name the "
                       "output with -o OUT.xml (the pages are written as "
                       "OUT.0001.xml ...)\n", o->in, pages);
        return icx_err_set(err, ICX_EINVAL, "%s: %lu pages, no -o", o->in,
                           pages);
    }
    if (o->a->envelope && (rc = sign_page(o, xml, len, err)) < 0)
        return rc;
    if (o->a->envelope) {
        xml = o->env.data;
        len = o->env.len;
    }
    if (pages == 1)
        return write_data(out, xml, len, err);
    if (page_name(name, sizeof name, out, page, pages, 1) < 0)
        return icx_err_set(err, ICX_EINVAL, "%s: name too long", out);
    if ((rc = icx_file_write_atomic(name, xml, len, 0640, err)) < 0)
        return rc;
    o->parts = page;
    return ICX_OK;
}

/* Removes the parts written (a failed translation leaves no page). */
static void pages_discard(out_pages *o)
{
    char name[4200];
    for (unsigned long p = 1; p <= o->parts; p++)
        if (page_name(name, sizeof name, o->a->out, p, o->pages, 1) == 0)
            unlink(name);
    o->parts = 0;
}

/* Every page written: the parts take their names. */
static int pages_commit(out_pages *o, icx_err *err)
{
    char part[4200], name[4200];
    for (unsigned long p = 1; p <= o->parts; p++) {
        page_name(part, sizeof part, o->a->out, p, o->pages, 1);
        page_name(name, sizeof name, o->a->out, p, o->pages, 0);
        if (rename(part, name) < 0) {
            int rc = icx_err_set(err, ICX_EIO, "%s: %s", name, strerror(errno));
            for (unsigned long q = 1; q < p; q++)
                if (page_name(name, sizeof name, o->a->out, q, o->pages, 0) == 0)
                    unlink(name);
            pages_discard(o);
            return rc;
        }
    }
    return ICX_OK;
}

size_t icx_cli_page_bytes(long max_message_bytes)
{
    long n = max_message_bytes - ICX_CLI_ENVELOPE_ROOM;
    if (n < ICX_TRANSLATE_MIN_PAGE)
        n = ICX_TRANSLATE_MIN_PAGE;
    if (n > ICX_TRANSLATE_MAX_PAYLOAD)
        n = ICX_TRANSLATE_MAX_PAYLOAD;
    return (size_t)n;
}

/* --page-bytes, else with -c what the gateway's envelope limit leaves for
 * a payload, else 0: the library's default, ICX_TRANSLATE_MAX_PAYLOAD. */
static size_t page_bytes(const struct args *a, const icx_config *cfg)
{
    if (a->page_bytes == 0 && cfg != NULL)
        return icx_cli_page_bytes(cfg->max_message_bytes);
    return (size_t)a->page_bytes; /* checked when parsed */
}

int icx_cmd_translate(int argc, char **argv)
{
    static const struct option opts[] = {
        {"profile", required_argument, NULL, 'p'},
        {"to", required_argument, NULL, 't'},
        {"report", required_argument, NULL, 'r'},
        {"config", required_argument, NULL, 'c'},
        {"explain", no_argument, NULL, 'x'},
        {"skip-invalid", no_argument, NULL, 's'},
        {"envelope", no_argument, NULL, 'e'},
        {"reverse", no_argument, NULL, 'R'},
        {"key", required_argument, NULL, 'k'},
        {"from", required_argument, NULL, 'f'},
        {"legal-basis", required_argument, NULL, 'L'},
        {"retain-until", required_argument, NULL, 'U'},
        {"tlp", required_argument, NULL, 'T'},
        {"code", required_argument, NULL, 'H'},
        {"expires-in", required_argument, NULL, 'E'},
        {"session", required_argument, NULL, 'S'},
        {"serial", required_argument, NULL, 'n'},
        {"page-bytes", required_argument, NULL, 'B'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    struct args a;
    int c, bad = 0;
    char *end;
    memset(&a, 0, sizeof a);
    snprintf(a.h.tlp, sizeof a.h.tlp, "AMBER");
    snprintf(a.h.hcode, sizeof a.h.hcode, "H2");
    optind = 1;
    while ((c = getopt_long(argc, argv, "o:c:h", opts, NULL)) != -1) {
        switch (c) {
        case 'p': a.profile = optarg; break;
        case 't': a.to = optarg; break;
        case 'o': a.out = optarg; break;
        case 'r': a.report = optarg; break;
        case 'c': a.config = optarg; break;
        case 'x': a.explain = 1; break;
        case 's': a.skip = 1; break;
        case 'e': a.envelope = 1; break;
        case 'R': a.reverse = 1; break;
        case 'k': a.key = optarg; break;
        case 'f': bad |= set(a.h.sender, sizeof a.h.sender, "--from", optarg); break;
        case 'L': bad |= set(a.h.legal_basis, sizeof a.h.legal_basis, "--legal-basis", optarg); break;
        case 'U': bad |= set(a.h.retain_until, sizeof a.h.retain_until, "--retain-until", optarg); break;
        case 'T': bad |= set(a.h.tlp, sizeof a.h.tlp, "--tlp", optarg); break;
        case 'H': bad |= set(a.h.hcode, sizeof a.h.hcode, "--code", optarg); break;
        case 'S': a.session = optarg; break;
        case 'B': {
            long v = strtol(optarg, &end, 10);
            if (*end != '\0' || v < ICX_TRANSLATE_MIN_PAGE ||
                v > ICX_TRANSLATE_MAX_PAYLOAD) {
                icx_cli_error("--page-bytes: expected %ld to %ld, got \"%s\"",
                              ICX_TRANSLATE_MIN_PAGE,
                              ICX_TRANSLATE_MAX_PAYLOAD, optarg);
                bad = 1;
            } else {
                a.page_bytes = v;
            }
            break;
        }
        case 'E':
        case 'n': {
            long v = strtol(optarg, &end, 10);
            if (*end != '\0' || v <= 0) {
                icx_cli_error("--%s: expected a number > 0, got \"%s\"",
                              c == 'E' ? "expires-in" : "serial", optarg);
                bad = 1;
            } else if (c == 'E') {
                a.expires_in = v;
            } else {
                a.serial = (unsigned long)v;
            }
            break;
        }
        case 'h': return usage(ICX_EXIT_OK);
        default: return usage(ICX_EXIT_USAGE);
        }
    }
    if (bad)
        return ICX_EXIT_USAGE;
    if (optind != argc - 1 || a.profile == NULL) {
        icx_cli_error("translate needs one FILE and --profile");
        return usage(ICX_EXIT_USAGE);
    }
    if (a.envelope && (a.to == NULL || !a.h.legal_basis[0] ||
                       !a.h.retain_until[0] ||
                       (a.config == NULL && (a.key == NULL || !a.h.sender[0])))) {
        icx_cli_error("--envelope needs --to, --legal-basis, --retain-until "
                      "and either --key with --from, or -c CONFIG");
        return ICX_EXIT_USAGE;
    }
    const char *in = argv[optind];
    icx_err err;
    icx_buf payload, report, explain;
    icx_mapping *m = NULL;
    icx_config *cfg = NULL;
    icx_translate_result res;
    out_pages op = {.a = &a, .in = in};
    int rc, code = ICX_EXIT_FAILURE;
    char *ppath = icx_cli_profile_path(a.profile, a.config);
    icx_err_clear(&err);
    icx_buf_init(&payload, ICX_TRANSLATE_MAX_PAYLOAD);
    icx_buf_init(&report, 16u << 20);
    icx_buf_init(&explain, 64u << 20);
    icx_buf_init(&op.env, ICX_TRANSLATE_MAX_PAYLOAD * 2);
    if (ppath == NULL) {
        code = ICX_EXIT_REFUSED;
        goto out;
    }
    if ((code = icx_cli_mapping_load(&m, ppath, &report)) != ICX_EXIT_OK)
        goto out;
    if (a.reverse) {
        code = reverse(&a, in, m);
        goto out;
    }
    if (a.config != NULL &&
        (rc = icx_config_load(&cfg, a.config, &report, &err)) < 0) {
        fputs(report.data ? report.data : "", stderr);
        code = icx_cli_fail(rc, &err);
        goto out;
    }
    const icx_strlist *withhold = NULL;
    if (cfg && a.to &&
        (rc = icx_mapping_partner_withhold(&withhold, cfg, a.to, &err)) < 0) {
        icx_cli_error("--to %s", err.msg);
        code = icx_cli_exit_for(rc);
        goto out;
    }
    op.cfg = cfg;
    op.category = icx_translate_category(m);
    op.report = &report;
    icx_translate_opts o = {.partner = a.to, .skip_invalid = a.skip,
                            .partner_withhold = withhold,
                            .explain = a.explain ? &explain : NULL,
                            .session_id = a.session, .serial = a.serial,
                            .sink = put_page, .sink_ctx = &op,
                            .page_bytes = page_bytes(&a, cfg)};
    rc = icx_translate_run(&payload, &res, m, in, &o, &report, &err);
    if (rc == 0)
        rc = pages_commit(&op, &err);
    else
        pages_discard(&op);
    if (explain.len > 0)
        fwrite(explain.data, 1, explain.len, a.out ? stdout : stderr);
    fputs(report.data ? report.data : "", stderr);
    if (a.report != NULL) {
        icx_err e2;
        if (icx_file_write_atomic(a.report, report.data ? report.data : "",
                                  report.len, 0640, &e2) < 0)
            icx_cli_error("%s", e2.msg);
    }
    if (rc < 0) {
        if (rc != ICX_EINVAL)
            icx_cli_error("%s", err.msg);
        code = icx_cli_exit_for(rc);
        goto out;
    }
    if (a.out != NULL && res.pages > 1) {
        char first[4200], last[4200];
        page_name(first, sizeof first, a.out, 1, res.pages, 0);
        page_name(last, sizeof last, a.out, res.pages, res.pages, 0);
        fprintf(stderr, "%s: %lu %s written to %s .. %s\n", in, res.pages,
                a.envelope ? "signed envelopes" : "pages", first, last);
    } else if (a.out != NULL) {
        fprintf(stderr, "%s: %s written to %s\n", in,
                a.envelope ? "signed envelope" : res.root, a.out);
    }
    code = ICX_EXIT_OK;
out:
    free(ppath);
    icx_mapping_free(&m);
    icx_config_free(&cfg);
    icx_buf_free(&payload);
    icx_buf_free(&report);
    icx_buf_free(&explain);
    icx_buf_free(&op.env);
    icx_signer_free(&op.signer);
    icx_schemas_free(&op.schemas);
    return code;
}

/* ---- icx inbox export ---------------------------------------------------- */

static const char export_usage_text[] =
    "usage: icx inbox export --profile P [--format csv|json]\n"
    "                        [--encoding utf-8|shift_jis] [--since TIME]\n"
    "                        [-c CONFIG] [-o OUT]\n\n"
    "Renders the case payloads this gateway accepted (case-referral,\n"
    "case-request, case-response) in the domestic columns of the mapping\n"
    "profile P, oldest first.  Reads the store beside the running daemon,\n"
    "read-only.  csv: one header row, the columns MessageId and Sender, then\n"
    "the profile's columns; one row per offence, person and identifier,\n"
    "for a response one per evidence item (status and answer on the first).\n"
    "json: [{message_id, sender, received, withheld, rows: [{column: value}]}].\n"
    "Fields the sender withheld are named on stderr (csv) or in withheld.\n"
    "--since TIME (2025-04-01 or 2025-04-01T00:00:00Z): received at or after.\n"
    "--encoding shift_jis writes CP932 (utf-8 is written with a BOM).\n"
    "Exit codes: 0 ok, 1 a payload does not fit the profile, 2 usage,\n"
    "3 failure.\n";

/* RFC 4180 field: quoted when it holds a comma, quote, CR or LF. */
static void put_csv(icx_buf *o, const char *v)
{
    if (v == NULL)
        return;
    if (strpbrk(v, ",\"\r\n") == NULL) {
        icx_buf_puts(o, v);
        return;
    }
    icx_buf_puts(o, "\"");
    for (const char *p = v; *p; p++) {
        icx_buf_append(o, p, 1);
        if (*p == '"')
            icx_buf_append(o, p, 1);
    }
    icx_buf_puts(o, "\"");
}

typedef struct exp_list {
    icx_in_row *rows;
    size_t n, cap;
    time_t since;
} exp_list;

static int is_case_category(const char *c)
{
    return strcmp(c, "case-referral") == 0 || strcmp(c, "case-request") == 0 ||
           strcmp(c, "case-response") == 0;
}

static int exp_collect(void *ctx, const icx_in_row *row)
{
    exp_list *l = ctx;
    if (!is_case_category(row->category) || row->received_at < l->since)
        return 0;
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 64;
        icx_in_row *r = realloc(l->rows, cap * sizeof *r);
        if (r == NULL)
            return ICX_ENOMEM;
        l->rows = r;
        l->cap = cap;
    }
    l->rows[l->n++] = *row;
    return 0;
}

/* The <Withheld><Field> paths of a payload, as "a, b" (empty: none). */
static int exp_withheld(icx_buf *w, const char *env, size_t len, int json,
                        icx_err *err)
{
    icx_xml_limits lim = {.max_bytes = ICX_TRANSLATE_MAX_PAYLOAD, .max_depth = 64};
    icx_buf payload;
    icx_xmldoc *doc = NULL;
    size_t k = 0;
    icx_buf_init(&payload, ICX_TRANSLATE_MAX_PAYLOAD);
    int rc = icx_envelope_payload(&payload, env, len, &lim, err);
    if (rc == 0)
        rc = icx_xml_parse(&doc, payload.data, payload.len, &lim, err);
    if (rc == 0) {
        const xmlNode *root = xmlDocGetRootElement(icx_xml_raw(doc));
        const xmlNode *f = icx_xn_child(icx_xn_child(root, "Withheld"), "Field");
        for (; f != NULL; f = f->next) {
            const char *v = icx_xn_is(f, "Field") ? icx_xn_text_only(f) : NULL;
            if (v == NULL)
                continue;
            icx_buf_puts(w, k++ ? (json ? "," : ", ") : "");
            if (json)
                icx_buf_put_json(w, v);
            else
                icx_buf_puts(w, v);
        }
    }
    icx_xml_free(&doc);
    icx_buf_free(&payload);
    return rc;
}

/* One message: its CSV (UTF-8, header first) from icx_translate_back,
 * re-emitted with the leading columns or as a JSON object. */
static int exp_message(icx_buf *out, const icx_mapping *m,
                       const icx_in_row *row, const icx_buf *env, int json,
                       int first, icx_err *err)
{
    icx_buf csv, w;
    icx_csv *c = NULL;
    char when[ICX_TIME_LEN + 1];
    int rc;
    icx_buf_init(&csv, ICX_TRANSLATE_MAX_INPUT);
    icx_buf_init(&w, 64 * 1024);
    if ((rc = icx_translate_back(&csv, m, env->data, env->len, err)) < 0 ||
        (rc = exp_withheld(&w, env->data, env->len, json, err)) < 0 ||
        (rc = icx_csv_parse(&c, csv.data, csv.len, NULL, err)) < 0)
        goto out;
    if (!json) {
        for (size_t r = 1; r < icx_csv_rows(c); r++) {
            put_csv(out, row->message_id);
            icx_buf_puts(out, ",");
            put_csv(out, row->sender);
            for (size_t k = 0; k < m->nfields; k++) {
                icx_buf_puts(out, ",");
                put_csv(out, icx_csv_field(c, r, k));
            }
            icx_buf_puts(out, "\r\n");
        }
        fprintf(stderr, "%s from %s: %zu rows%s%s\n", row->message_id,
                row->sender, icx_csv_rows(c) ? icx_csv_rows(c) - 1 : 0,
                w.len ? "; withheld by the sender: " : "",
                w.len ? w.data : "");
        goto out;
    }
    icx_time_format(when, sizeof when, (time_t)row->received_at);
    icx_buf_puts(out, first ? "\n  {\"message_id\": " : ",\n  {\"message_id\": ");
    icx_buf_put_json(out, row->message_id);
    icx_buf_puts(out, ", \"sender\": ");
    icx_buf_put_json(out, row->sender);
    icx_buf_printf(out, ", \"category\": \"%s\", \"received\": \"%s\", "
                   "\"withheld\": [%s], \"rows\": [", row->category, when,
                   w.len ? w.data : "");
    for (size_t r = 1; r < icx_csv_rows(c); r++) {
        icx_buf_puts(out, r > 1 ? ",\n    {" : "\n    {");
        for (size_t k = 0, n = 0; k < m->nfields; k++) {
            const char *v = icx_csv_field(c, r, k);
            if (v == NULL || *v == '\0')
                continue;
            icx_buf_puts(out, n++ ? ", " : "");
            icx_buf_put_json(out, m->fields[k].column);
            icx_buf_puts(out, ": ");
            icx_buf_put_json(out, v);
        }
        icx_buf_puts(out, "}");
    }
    icx_buf_puts(out, "]}");
out:
    if (rc < 0)
        icx_err_wrap(err, "%s from %s", row->message_id, row->sender);
    icx_csv_free(&c);
    icx_buf_free(&csv);
    icx_buf_free(&w);
    return rc;
}

static int parse_since(time_t *t, const char *s)
{
    char full[64];
    if (icx_time_parse(t, s) == 0)
        return 0;
    if (strlen(s) != 10)
        return -1;
    snprintf(full, sizeof full, "%sT00:00:00Z", s);
    return icx_time_parse(t, full);
}

int icx_cmd_inbox_export(int argc, char **argv)
{
    static const struct option opts[] = {
        {"profile", required_argument, NULL, 'p'},
        {"format", required_argument, NULL, 'F'},
        {"encoding", required_argument, NULL, 'e'},
        {"since", required_argument, NULL, 's'},
        {"config", required_argument, NULL, 'c'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *profile = NULL, *config = icx_cli_default_config(), *outp = NULL;
    int json = 0, sjis = 0, c;
    exp_list l = {0};
    optind = 1;
    while ((c = getopt_long(argc, argv, "o:c:h", opts, NULL)) != -1) {
        switch (c) {
        case 'p': profile = optarg; break;
        case 'c': config = optarg; break;
        case 'o': outp = optarg; break;
        case 'F':
            if (strcmp(optarg, "csv") != 0 && strcmp(optarg, "json") != 0) {
                icx_cli_error("--format: want csv or json, got \"%s\"", optarg);
                return ICX_EXIT_USAGE;
            }
            json = strcmp(optarg, "json") == 0;
            break;
        case 'e':
            if (strcasecmp(optarg, "shift_jis") == 0 ||
                strcasecmp(optarg, "cp932") == 0 || strcasecmp(optarg, "sjis") == 0) {
                sjis = 1;
            } else if (strcasecmp(optarg, "utf-8") != 0 &&
                       strcasecmp(optarg, "utf8") != 0) {
                icx_cli_error("--encoding: want utf-8 or shift_jis, got \"%s\"",
                              optarg);
                return ICX_EXIT_USAGE;
            }
            break;
        case 's':
            if (parse_since(&l.since, optarg) < 0) {
                icx_cli_error("--since: want 2025-04-01 or "
                              "2025-04-01T00:00:00Z, got \"%s\"", optarg);
                return ICX_EXIT_USAGE;
            }
            break;
        case 'h':
            fputs(export_usage_text, stdout);
            return ICX_EXIT_OK;
        default:
            fputs(export_usage_text, stderr);
            return ICX_EXIT_USAGE;
        }
    }
    if (profile == NULL || optind != argc) {
        icx_cli_error("inbox export needs --profile and no other arguments");
        fputs(export_usage_text, stderr);
        return ICX_EXIT_USAGE;
    }
    icx_err err;
    icx_buf report, out, env, conv;
    icx_mapping *m = NULL;
    icx_config *cfg = NULL;
    icx_store *s = NULL;
    int rc, code = ICX_EXIT_FAILURE;
    char *ppath = icx_cli_profile_path(profile, config);
    icx_err_clear(&err);
    icx_buf_init(&report, 1u << 20);
    icx_buf_init(&out, 1024u << 20);
    icx_buf_init(&env, ICX_TRANSLATE_MAX_PAYLOAD * 2);
    icx_buf_init(&conv, 1024u << 20);
    if (ppath == NULL) {
        code = ICX_EXIT_REFUSED;
        goto out;
    }
    if ((code = icx_cli_mapping_load(&m, ppath, &report)) != ICX_EXIT_OK)
        goto out;
    if (m->kind != ICX_MAP_CASE) {
        icx_cli_error("profile %s is a %s profile; inbox export renders case "
                      "payloads", ppath, icx_map_kind_name(m->kind));
        code = ICX_EXIT_USAGE;
        goto out;
    }
    /* icx_translate_back writes UTF-8 when the encoding is not cp932; the
     * output encoding is chosen here. */
    icx_mapping mm = *m;
    mm.encoding = (char *)"utf-8";
    mm.header = 1;
    if ((rc = icx_config_load(&cfg, config, NULL, &err)) < 0 ||
        (!icx_store_is_url(cfg->store_path) &&
         access(cfg->store_path, F_OK) != 0 &&
         (rc = icx_err_set(&err, ICX_ENOTFOUND, "%s: no such store",
                           cfg->store_path)) < 0) ||
        (rc = icx_store_open(&s, cfg->store_path, &err)) < 0 ||
        (rc = icx_store_in_list(s, ICX_IN_ACCEPTED, 0, exp_collect, &l,
                                &err)) < 0) {
        code = icx_cli_fail(rc, &err);
        goto out;
    }
    if (!json && !sjis)
        icx_buf_puts(&out, "\xEF\xBB\xBF");
    if (!json) {
        icx_buf_puts(&out, "MessageId,Sender");
        for (size_t k = 0; k < m->nfields; k++) {
            icx_buf_puts(&out, ",");
            put_csv(&out, m->fields[k].column);
        }
        icx_buf_puts(&out, "\r\n");
    } else {
        icx_buf_puts(&out, "[");
    }
    /* The store lists newest first; the export goes oldest first. */
    for (size_t i = l.n; i-- > 0;) {
        icx_buf_reset(&env);
        if ((rc = icx_store_in_envelope(s, l.rows[i].sender,
                                        l.rows[i].message_id, &env, &err)) < 0 ||
            (rc = exp_message(&out, &mm, &l.rows[i], &env, json, i + 1 == l.n,
                              &err)) < 0) {
            code = icx_cli_fail(rc, &err);
            goto out;
        }
    }
    if (json)
        icx_buf_puts(&out, l.n ? "\n]\n" : "]\n");
    if (sjis) {
        if ((rc = icx_utf8_to_cp932(&conv, &out, "the export",
                                     "export as utf-8", &err)) < 0) {
            code = icx_cli_fail(rc, &err);
            goto out;
        }
    }
    if ((rc = write_out(outp, sjis ? &conv : &out, &err)) < 0) {
        code = icx_cli_fail(rc, &err);
        goto out;
    }
    fprintf(stderr, "inbox export: %zu case message%s (profile %s, %s, %s)%s%s\n",
            l.n, l.n == 1 ? "" : "s", m->profile, json ? "json" : "csv",
            sjis ? "shift_jis" : "utf-8", outp ? " written to " : "",
            outp ? outp : "");
    code = ICX_EXIT_OK;
out:
    free(ppath);
    free(l.rows);
    icx_store_free(&s);
    icx_config_free(&cfg);
    icx_mapping_free(&m);
    icx_buf_free(&report);
    icx_buf_free(&out);
    icx_buf_free(&env);
    icx_buf_free(&conv);
    return code;
}
