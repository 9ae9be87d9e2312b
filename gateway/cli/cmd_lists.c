/*
 * cmd_lists.c - `icx lists import|reset|show|diff|history|export|status|
 * check|http-get` and `icx pull PARTNER LIST`.
 *
 * The lists commands read and write the lists store directly (SQLite WAL
 * lets them run beside the daemon); import and reset also append a record
 * to the broker's audit log.  `icx pull` records the pull in the lists
 * store, hands the list:SyncRequest to the running daemon through its
 * control socket (like `icx submit`), and waits until the daemon's
 * list-update hook has applied the last page (or refused it).
 */
#include <getopt.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "config.h"
#include "control.h"
#include "envelope.h"
#include "keys.h"
#include "lists.h"
#include "store.h"
#include "trust.h"
#include "util.h"
#include "xmlsig.h"


static const char usage_text[] =
    "usage: icx lists import LIST FILE [--format lines|csv] [--reason R]\n"
    "       icx lists reset LIST\n"
    "       icx lists show [LIST] [--json]\n"
    "       icx lists diff LIST [A [B]]\n"
    "       icx lists history LIST [--json]\n"
    "       icx lists export LIST [--from PARTNER] [--format txt|csv] [--out FILE]\n"
    "       icx lists status [--json]\n"
    "       icx lists check\n"
    "       icx lists http-get PATH (--partner ID | --client-cert PEM)\n"
    "                          [--if-none-match ETAG]\n"
    "common option: -c CONFIG (default $ICX_CONFIG, else " ICX_CLI_DEFAULT_CONFIG ")\n\n"
    "Lists are declared in lists.yaml beside gateway.yaml (docs/LISTS.md).\n"
    "import: FILE is the full current export (one entry per line, or CSV\n"
    "with columns value, algorithm, category, detected_at, status); it is\n"
    "compared with the head and recorded as a new serial: entries added,\n"
    "removed (the status column's reason, else --reason, default\n"
    "content-removed) and changed.  An identical export records nothing.\n"
    "One invalid row refuses the whole file, every error as FILE:LINE.\n"
    "reset: a new session; every partner's next pull is a snapshot.\n"
    "diff: entries between serials A and B (default: head-1 and head).\n"
    "export: the list for an ISP's blocking filter, sorted, one entry per line\n"
    "(txt) or CSV; --from PARTNER exports the copy pulled from PARTNER.\n"
    "`LC_ALL=C sort | sha256sum` of the txt export is the list's digest.\n"
    "status: per partner and list, the serial it holds against the head,\n"
    "the lag and its last pull; then the lists this gateway pulls.\n"
    "http-get: what the HTTPS pull answers for PATH (LIST/notification.xml,\n"
    "LIST/SESSION/SERIAL/snapshot-N.xml, .../delta-N.xml) to the partner ID,\n"
    "or to the partner whose certificate is PEM (a TLS client certificate):\n"
    "\"status: 200|304|404\", content-type and etag lines, an empty line and\n"
    "the body, which it signs with the gateway key on first use; each\n"
    "document sent is an audit record (docs/LISTS.md, \"Over HTTPS\").\n"
    "Exit 0 for 200 and 304, 1 for 404.\n"
    "Exit codes: 0 ok, 1 refused or not found, 2 usage, 3 failure.\n";

static const char pull_usage[] =
    "usage: icx pull PARTNER LIST [-c CONFIG] [--socket PATH] [--wait SECONDS]\n"
    "                [--no-wait]\n\n"
    "Asks PARTNER for what follows this gateway's copy of LIST (its session\n"
    "and serial; nothing on the first pull, which brings a snapshot).  The\n"
    "running `icx serve` sends the signed request, applies each signed page\n"
    "in order, refuses gaps, checks the digest of the whole list after the\n"
    "last page and falls back to a snapshot when it differs.  The command\n"
    "waits until then (default 300 s) and prints the result.\n"
    "The partner file needs list-sync-request in categories_out and\n"
    "list-update in categories_in.\n"
    "Exit codes: 0 pulled and verified, 1 refused by the partner or digest\n"
    "mismatch, 2 usage, 3 failure or timeout, 4 no daemon running.\n";

struct ctx {
    icx_config *cfg;
    icx_lists_conf *conf;
    icx_listdb *db;
};

static const char *user_name(void)
{
    struct passwd *pw = getpwuid(getuid());
    return pw != NULL ? pw->pw_name : "unknown";
}

static int open_all(struct ctx *c, const char *config)
{
    icx_err err;
    icx_buf errs;
    char *path = NULL;
    icx_err_clear(&err);
    icx_buf_init(&errs, 1 << 20);
    int rc = icx_config_load(&c->cfg, config, &errs, &err);
    if (rc < 0) {
        fputs(errs.data ? errs.data : "", stderr);
        icx_cli_error("%s", err.msg);
        goto out;
    }
    icx_buf_reset(&errs);
    path = icx_lists_conf_path(c->cfg);
    rc = path ? icx_lists_conf_load(&c->conf, path, &errs, &err) : ICX_ENOMEM;
    if (rc < 0) {
        fputs(errs.data ? errs.data : "", stderr);
        icx_cli_error("%s", err.msg);
        goto out;
    }
    free(path);
    path = icx_lists_db_path(c->cfg);
    rc = path ? icx_listdb_open(&c->db, path, &err) : ICX_ENOMEM;
    if (rc < 0)
        icx_cli_error("%s", err.msg);
out:
    free(path);
    icx_buf_free(&errs);
    return rc < 0 ? icx_cli_exit_for(rc) : ICX_EXIT_OK;
}

static void close_all(struct ctx *c)
{
    icx_listdb_free(&c->db);
    icx_lists_conf_free(&c->conf);
    icx_config_free(&c->cfg);
}

/* Appends a record to the broker's audit log (the daemon may be running). */
static void audit(const icx_config *cfg, const char *event, const char *detail)
{
    icx_store *s = NULL;
    icx_err err;
    icx_audit_event ev = {.event = event, .detail = detail};
    if (icx_store_open(&s, cfg->store_path, &err) < 0 ||
        icx_store_audit(s, &ev, &err) < 0)
        fprintf(stderr, "icx: warning: audit record %s not written: %s\n",
                event, err.msg);
    icx_store_free(&s);
}

static int write_fd(void *ctx, const char *s, size_t n)
{
    return fwrite(s, 1, n, (FILE *)ctx) == n ? 0 : -1;
}

static int print(icx_buf *b, int rc, icx_err *err)
{
    if (rc < 0) {
        return icx_cli_fail(rc, err);
    }
    fwrite(b->data ? b->data : "", 1, b->len, stdout);
    return ICX_EXIT_OK;
}

static int cmd_import(struct ctx *c, const char *list, const char *file,
                      const char *format, const char *reason)
{
    const icx_list_decl *d = icx_lists_conf_find(c->conf, list);
    icx_lists_import_opts o = {.format = format, .reason = reason,
                               .user = user_name(),
                               .progress = isatty(STDERR_FILENO)};
    icx_lists_import_result r;
    icx_buf report;
    icx_err err;
    icx_err_clear(&err);
    if (d == NULL) {
        icx_cli_error("%s: list %s is not declared (add it to lists.yaml "
                      "beside %s)", list, list, c->cfg->path);
        return ICX_EXIT_REFUSED;
    }
    icx_buf_init(&report, 1 << 20);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    int rc = icx_lists_import(c->db, d, file, &o, &r, &report, &err);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    fputs(report.data ? report.data : "", stderr);
    icx_buf_free(&report);
    if (rc < 0) {
        return icx_cli_fail(rc, &err);
    }
    double secs = (double)(t1.tv_sec - t0.tv_sec) +
                  (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    if (r.unchanged) {
        printf("%s: unchanged (%llu rows); serial stays %llu, %llu entries\n",
               list, (unsigned long long)r.rows, (unsigned long long)r.serial,
               (unsigned long long)r.count);
        return ICX_EXIT_OK;
    }
    printf("%s: serial %llu (session %s): %llu added, %llu removed, %llu "
           "changed; %llu entries; digest %s (%.1f s)\n", list,
           (unsigned long long)r.serial, r.session,
           (unsigned long long)r.added, (unsigned long long)r.removed,
           (unsigned long long)r.changed, (unsigned long long)r.count,
           r.digest, secs);
    char detail[400];
    snprintf(detail, sizeof detail, "list=%s serial=%llu session=%s added=%llu "
             "removed=%llu changed=%llu count=%llu digest=%s source_sha256=%s "
             "user=%s", list, (unsigned long long)r.serial, r.session,
             (unsigned long long)r.added, (unsigned long long)r.removed,
             (unsigned long long)r.changed, (unsigned long long)r.count,
             r.digest, r.source_sha256, o.user);
    audit(c->cfg, "lists.imported", detail);
    return ICX_EXIT_OK;
}

static int cmd_reset(struct ctx *c, const char *list)
{
    const icx_list_decl *d = icx_lists_conf_find(c->conf, list);
    icx_lists_import_result r;
    icx_err err;
    if (d == NULL) {
        icx_cli_error("list %s is not declared in lists.yaml", list);
        return ICX_EXIT_REFUSED;
    }
    int rc = icx_lists_reset(c->db, d, user_name(), time(NULL), &r, &err);
    if (rc < 0) {
        return icx_cli_fail(rc, &err);
    }
    printf("%s: new session %s, serial 1, %llu entries, digest %s\n", list,
           r.session, (unsigned long long)r.count, r.digest);
    char detail[300];
    snprintf(detail, sizeof detail, "list=%s session=%s count=%llu digest=%s "
             "user=%s", list, r.session, (unsigned long long)r.count, r.digest,
             user_name());
    audit(c->cfg, "lists.reset", detail);
    return ICX_EXIT_OK;
}

static int cmd_export(struct ctx *c, const char *list, const char *from,
                      const char *format, const char *out)
{
    icx_err err;
    int csv = format != NULL && strcmp(format, "csv") == 0;
    if (format != NULL && !csv && strcmp(format, "txt") != 0) {
        icx_cli_error("--format %s: want txt or csv", format);
        return ICX_EXIT_USAGE;
    }
    if (from == NULL && icx_lists_conf_find(c->conf, list) == NULL) {
        /* Not published here: the one copy pulled from a partner. */
        icx_lists_sub s;
        for (size_t i = 0; i < c->cfg->npartners && from == NULL; i++)
            if (icx_lists_sub_get(&s, c->db, c->cfg->partners[i].id, list,
                                  &err) == ICX_OK)
                from = c->cfg->partners[i].id;
    }
    FILE *f = stdout;
    char *tmp = NULL;
    if (out != NULL) {
        icx_buf t;
        icx_buf_init(&t, 8192);
        icx_buf_printf(&t, "%s.tmp", out);
        tmp = icx_buf_steal(&t, NULL);
        f = fopen(tmp, "we");
        if (f == NULL) {
            icx_cli_error("%s: cannot write", tmp);
            free(tmp);
            return ICX_EXIT_FAILURE;
        }
    }
    int rc = icx_lists_export(c->db, from, list, csv, write_fd, f, &err);
    if (out != NULL) {
        if (fclose(f) != 0 && rc == ICX_OK)
            rc = icx_err_set(&err, ICX_EIO, "%s: write failed", tmp);
        if (rc == ICX_OK && rename(tmp, out) != 0)
            rc = icx_err_set(&err, ICX_EIO, "%s: rename failed", out);
        if (rc < 0)
            unlink(tmp);
        free(tmp);
    }
    if (rc < 0) {
        return icx_cli_fail(rc, &err);
    }
    return ICX_EXIT_OK;
}

/* ---- icx lists http-get ------------------------------------------------ */

struct sealer {
    const icx_config *cfg;
    icx_schemas *schemas;
    icx_signer *signer;
};

/* What the broker does for a hook's answer: stamp, sender, build, sign. */
static int seal(void *ctx, icx_buf *out, icx_header *h, const char *payload,
                size_t len, icx_err *err)
{
    struct sealer *s = ctx;
    int rc = icx_header_stamp(h, time(NULL), err);
    if (rc < 0)
        return rc;
    snprintf(h->sender, sizeof h->sender, "%s", s->cfg->id);
    return icx_envelope_build_signed(out, h, payload, len, s->schemas,
                                     s->signer, err);
}

/* Every document sent and every refusal goes to the broker's audit log
 * (the daemon may be running); a record not written sends nothing. */
static int http_audit(void *actx, const char *event, const char *message_id,
                      const char *partner, const char *detail)
{
    const icx_config *cfg = actx;
    icx_store *s = NULL;
    icx_err err;
    icx_audit_event ev = {.event = event, .partner = partner,
                          .message_id = message_id && message_id[0]
                                            ? message_id : NULL,
                          .detail = detail};
    int rc = icx_store_open(&s, cfg->store_path, &err);
    if (rc == ICX_OK)
        rc = icx_store_audit(s, &ev, &err);
    if (rc < 0)
        fprintf(stderr, "icx: error: audit record %s not written: %s\n",
                event, err.msg);
    icx_store_free(&s);
    return rc;
}

static int cmd_http_get(struct ctx *c, const char *path, const char *partner,
                        const char *cert, const char *inm)
{
    struct sealer s = {.cfg = c->cfg};
    icx_lists *l = NULL;
    icx_http_reply r;
    icx_err err;
    char who[32] = "", fp[65];
    int rc;
    memset(&r, 0, sizeof r);
    icx_err_clear(&err);
    if (cert != NULL) {
        /* The TLS client certificate: the partner that signs with it. */
        if ((rc = icx_keys_cert_fingerprint(fp, cert, &err)) < 0)
            goto out;
        rc = icx_trust_partner_of_cert(who, sizeof who, c->cfg, fp, &err);
        if (rc == ICX_ENOTFOUND)
            who[0] = '\0';
        else if (rc < 0)
            goto out;
        partner = who[0] ? who : NULL;
    }
    if ((rc = icx_schemas_load(&s.schemas, c->cfg->schemas_dir
                                   ? c->cfg->schemas_dir
                                   : icx_schemas_default_dir(), &err)) < 0 ||
        (rc = icx_signer_load(&s.signer, c->cfg->private_key, &err)) < 0 ||
        (rc = icx_lists_http_open(&l, c->cfg, seal, &s, http_audit, c->cfg,
                                  &err)) < 0)
        goto out;
    rc = icx_lists_http_get(l, partner, path, inm, &r, &err);
    if (rc < 0)
        goto out;
    printf("status: %d\ncontent-type: %s\n", r.status, r.content_type);
    if (r.etag[0] != '\0')
        printf("etag: %s\n", r.etag);
    putchar('\n');
    if (r.len > 0)
        fwrite(r.body, 1, r.len, stdout);
    if (fflush(stdout) != 0)
        rc = icx_err_set(&err, ICX_EIO, "writing to stdout failed");
out:
    icx_http_reply_clear(&r);
    icx_lists_http_free(&l);
    icx_signer_free(&s.signer);
    icx_schemas_free(&s.schemas);
    if (rc < 0) {
        return icx_cli_fail(rc, &err);
    }
    return r.status == 404 ? ICX_EXIT_REFUSED : ICX_EXIT_OK;
}

int icx_cmd_lists(int argc, char **argv)
{
    static const struct option lo[] = {
        {"config", required_argument, NULL, 'c'},
        {"format", required_argument, NULL, 'f'},
        {"reason", required_argument, NULL, 'r'},
        {"from", required_argument, NULL, 'F'},
        {"out", required_argument, NULL, 'o'},
        {"json", no_argument, NULL, 'j'},
        {"partner", required_argument, NULL, 'P'},
        {"client-cert", required_argument, NULL, 'C'},
        {"if-none-match", required_argument, NULL, 'I'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *config = icx_cli_default_config(), *format = NULL, *reason = NULL;
    const char *from = NULL, *out = NULL, *partner = NULL, *cert = NULL;
    const char *inm = NULL;
    int json = 0, ch;
    optind = 1;
    while ((ch = getopt_long(argc, argv, "c:h", lo, NULL)) != -1) {
        switch (ch) {
        case 'c': config = optarg; break;
        case 'f': format = optarg; break;
        case 'r': reason = optarg; break;
        case 'F': from = optarg; break;
        case 'o': out = optarg; break;
        case 'j': json = 1; break;
        case 'P': partner = optarg; break;
        case 'C': cert = optarg; break;
        case 'I': inm = optarg; break;
        case 'h': fputs(usage_text, stdout); return ICX_EXIT_OK;
        default: fputs(usage_text, stderr); return ICX_EXIT_USAGE;
        }
    }
    int nargs = argc - optind;
    char **a = argv + optind;
    if (nargs < 1) {
        fputs(usage_text, stderr);
        return ICX_EXIT_USAGE;
    }
    const char *sub = a[0];
    static const struct { const char *name; int min, max; } subs[] = {
        {"import", 3, 3}, {"reset", 2, 2}, {"show", 1, 2}, {"diff", 2, 4},
        {"history", 2, 2}, {"export", 2, 2}, {"status", 1, 1}, {"check", 1, 1},
        {"http-get", 2, 2},
    };
    size_t k;
    for (k = 0; k < sizeof subs / sizeof subs[0]; k++)
        if (strcmp(sub, subs[k].name) == 0)
            break;
    if (k == sizeof subs / sizeof subs[0] || nargs < subs[k].min ||
        nargs > subs[k].max) {
        if (k == sizeof subs / sizeof subs[0])
            icx_cli_error("unknown lists command \"%s\"", sub);
        fputs(usage_text, stderr);
        return ICX_EXIT_USAGE;
    }
    if (strcmp(sub, "http-get") == 0 && (partner == NULL) == (cert == NULL)) {
        icx_cli_error("http-get needs one of --partner or --client-cert");
        fputs(usage_text, stderr);
        return ICX_EXIT_USAGE;
    }
    struct ctx c = {0};
    int code = open_all(&c, config);
    if (code != ICX_EXIT_OK) {
        close_all(&c);
        return code;
    }
    icx_buf b;
    icx_err err;
    icx_err_clear(&err);
    icx_buf_init(&b, 1u << 30);
    if (strcmp(sub, "import") == 0) {
        code = cmd_import(&c, a[1], a[2], format, reason);
    } else if (strcmp(sub, "reset") == 0) {
        code = cmd_reset(&c, a[1]);
    } else if (strcmp(sub, "show") == 0) {
        code = print(&b, icx_lists_show(&b, c.db, c.conf, nargs > 1 ? a[1] : NULL,
                                        json, &err), &err);
    } else if (strcmp(sub, "diff") == 0) {
        uint64_t x = nargs > 2 ? strtoull(a[2], NULL, 10) : 0;
        uint64_t y = nargs > 3 ? strtoull(a[3], NULL, 10) : 0;
        code = print(&b, icx_lists_diff(&b, c.db, a[1], x, y, &err), &err);
    } else if (strcmp(sub, "history") == 0) {
        code = print(&b, icx_lists_history(&b, c.db, a[1], json, &err), &err);
    } else if (strcmp(sub, "export") == 0) {
        code = cmd_export(&c, a[1], from, format, out);
    } else if (strcmp(sub, "status") == 0) {
        code = print(&b, icx_lists_status(&b, c.db, c.conf, time(NULL), json,
                                          &err), &err);
    } else if (strcmp(sub, "http-get") == 0) {
        code = cmd_http_get(&c, a[1], partner, cert, inm);
    } else {
        printf("%s: %zu lists declared\n", c.conf->path, c.conf->nlists);
    }
    icx_buf_free(&b);
    close_all(&c);
    return code;
}

/* ---- icx pull --------------------------------------------------------------- */

static double since(const struct timespec *t0)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)(t.tv_sec - t0->tv_sec) +
           (double)(t.tv_nsec - t0->tv_nsec) / 1e9;
}

int icx_cmd_pull(int argc, char **argv)
{
    static const struct option lo[] = {
        {"config", required_argument, NULL, 'c'},
        {"socket", required_argument, NULL, 's'},
        {"wait", required_argument, NULL, 'w'},
        {"no-wait", no_argument, NULL, 'n'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *config = icx_cli_default_config(), *socket_path = NULL;
    long wait_s = 300;
    int ch, nowait = 0;
    optind = 1;
    while ((ch = getopt_long(argc, argv, "c:h", lo, NULL)) != -1) {
        switch (ch) {
        case 'c': config = optarg; break;
        case 's': socket_path = optarg; break;
        case 'w': wait_s = strtol(optarg, NULL, 10); break;
        case 'n': nowait = 1; break;
        case 'h': fputs(pull_usage, stdout); return ICX_EXIT_OK;
        default: fputs(pull_usage, stderr); return ICX_EXIT_USAGE;
        }
    }
    if (argc - optind != 2 || wait_s < 1) {
        fputs(pull_usage, stderr);
        return ICX_EXIT_USAGE;
    }
    const char *partner = argv[optind], *list = argv[optind + 1];
    struct ctx c = {0};
    int code = open_all(&c, config);
    icx_err err;
    icx_buf req, text;
    int64_t seq = 0;
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    icx_err_clear(&err);
    icx_buf_init(&req, 1 << 16);
    icx_buf_init(&text, 1 << 20);
    if (code != ICX_EXIT_OK)
        goto out;
    const icx_partner *p = icx_config_partner(c.cfg, partner);
    if (p == NULL) {
        icx_cli_error("%s: no such partner in %s", partner, c.cfg->partners_dir);
        code = ICX_EXIT_REFUSED;
        goto out;
    }
    if (!icx_strlist_has(&p->categories_out, "list-sync-request") ||
        !icx_strlist_has(&p->categories_in, "list-update")) {
        icx_cli_error("%s: partner %s needs list-sync-request in "
                      "categories_out and list-update in categories_in",
                      p->source_file, partner);
        code = ICX_EXIT_REFUSED;
        goto out;
    }
    int rc = icx_lists_pull_begin(&req, &seq, c.db, partner, list, time(NULL),
                                  &err);
    if (rc < 0) {
        code = icx_cli_fail(rc, &err);
        goto out;
    }
    char retain[ICX_TIME_LEN + 1];
    icx_time_format(retain, sizeof retain, time(NULL) + 365L * 86400);
    retain[10] = '\0';
    char *args[] = {"submit", "--to", (char *)partner, "--category",
                    "list-sync-request", "--legal-basis",
                    c.conf->pull_legal_basis, "--retain-until", retain,
                    "--tlp", c.conf->pull_tlp, "--code", c.conf->pull_handling,
                    "--user", (char *)user_name()};
    char *blobs[] = {req.data};
    size_t lens[] = {req.len};
    char *sock = NULL;
    if (socket_path == NULL) {
        if ((rc = icx_config_control_socket(&sock, config, &err)) < 0) {
            code = icx_cli_fail(rc, &err);
            goto out;
        }
        socket_path = sock;
    }
    int scode = ICX_EXIT_FAILURE;
    rc = icx_ctl_call(&scode, &text, socket_path, (int)(sizeof args / sizeof args[0]),
                      args, 1, blobs, lens, 0, &err);
    free(sock);
    if (rc < 0) {
        code = icx_cli_fail(rc, &err);
        goto out;
    }
    if (scode != 0) {
        fwrite(text.data ? text.data : "", 1, text.len, stderr);
        code = scode;
        goto out;
    }
    if (nowait) {
        printf("pull %lld of %s from %s requested\n", (long long)seq, list,
               partner);
        goto out;
    }
    icx_lists_sub s;
    int tty = isatty(STDERR_FILENO);
    for (;;) {
        rc = icx_lists_sub_get(&s, c.db, partner, list, &err);
        if (rc < 0) {
            code = icx_cli_fail(rc, &err);
            goto out;
        }
        if (s.done_seq >= seq)
            break;
        if (since(&t0) > (double)wait_s) {
            if (tty)
                fputc('\n', stderr);
            icx_cli_error("%s from %s: no answer within %ld s (state %s%s%s); "
                          "the daemon keeps applying what arrives",
                          list, partner, wait_s, s.state,
                          s.detail[0] ? ": " : "", s.detail);
            code = ICX_EXIT_FAILURE;
            goto out;
        }
        if (tty)
            fprintf(stderr, "\r%s from %s: %s, %llu pages so far", list,
                    partner, s.state, (unsigned long long)s.pages);
        usleep(100 * 1000);
    }
    if (tty)
        fputc('\n', stderr);
    double secs = since(&t0);
    if (strcmp(s.state, "ok") == 0) {
        printf("%s from %s: serial %llu (session %s), %llu entries, %s "
               "(%.1f s)\n", list, partner, (unsigned long long)s.serial,
               s.session, (unsigned long long)s.count, s.detail, secs);
        code = ICX_EXIT_OK;
    } else {
        icx_cli_error("%s from %s: %s: %s", list, partner, s.state, s.detail);
        code = ICX_EXIT_REFUSED;
    }
    /* Rows of the copy a snapshot replaced: freed here, not in the daemon. */
    for (int left = 1; left;)
        if (icx_lists_sub_gc(c.db, 200000, &left, &err) < 0)
            break;
out:
    icx_buf_free(&req);
    icx_buf_free(&text);
    close_all(&c);
    return code;
}
