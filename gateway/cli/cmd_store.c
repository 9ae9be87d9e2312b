/*
 * cmd_store.c - `icx store check`: the start-up check of `icx serve`, run
 * offline, plus the SHA-256 of every stored envelope and receipt; and
 * `icx store migrate`: a SQLite store copied into an empty PostgreSQL
 * one (icx_store_copy), under the single-instance lock so that no daemon
 * writes the source meanwhile.
 *
 * It opens the store file named by the configuration (or --store), never
 * creates one, and changes nothing unless --adopt-head asks it to write a
 * missing head file.  The daemon may run beside it (SQLite WAL); the
 * verdict is then about what was committed when it read.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "config.h"
#include "pidlock.h"
#include "store.h"
#include "util.h"

static const char usage_text[] =
    "usage: icx store check [-c CONFIG] [--adopt-head]\n"
    "       icx store check --store DB --cert CERT [--adopt-head]\n"
    "       icx store migrate --from sqlite:PATH --to postgresql://URL\n"
    "                         [--cert CERT | -c CONFIG]\n\n"
    "Checks the store the way `icx serve` does before it serves anything:\n"
    "  - PRAGMA quick_check (a damaged page is named, with its table);\n"
    "  - the audit chain: every record hashes to its leaf and links to the\n"
    "    one before; the last signed checkpoint verifies with the gateway\n"
    "    certificate and is the root of the records it covers;\n"
    "  - the head file (DB.head, written after every checkpoint) names a\n"
    "    checkpoint the store holds: otherwise the store went back in time\n"
    "    (a lost WAL tail, an older copy put back) or was replaced;\n"
    "and also that every stored envelope and receipt still has the SHA-256\n"
    "recorded with it (each damaged MessageId is named).\n"
    "--adopt-head writes a missing head file from the store's last\n"
    "checkpoint; use it only for a store known to be the latest (docs/STORE.md).\n"
    "migrate copies every message, receipt, audit record, checkpoint,\n"
    "time-stamp token, witnessed checkpoint and co-signature of\n"
    "a SQLite store into an empty PostgreSQL database (ids, times, hashes\n"
    "and bytes as they are), then verifies the copy's audit chain and\n"
    "signed checkpoints (with CERT, or the configuration's certificate).\n"
    "Stop the daemon first: migrate takes the store's lock and refuses\n"
    "while icx serve holds it.  Then set store.path to the URL (and\n"
    "store.head: copy PATH.head there) and start the daemon.\n"
    "Exit codes: 0 ok, 1 refused (each reason printed), 2 usage,\n"
    "3 the check could not run (configuration, certificate, I/O).\n";

/* icx store migrate: SQLite file -> empty PostgreSQL database. */
static int migrate(const char *config, const char *from, const char *to,
                   const char *cert)
{
    icx_config *cfg = NULL;
    icx_store *src = NULL, *dst = NULL;
    icx_buf report;
    icx_err err;
    struct stat sb;
    char lock[4096];
    char *pem = NULL;
    size_t pem_len = 0;
    int fd = -1, code = ICX_EXIT_FAILURE, rc;
    icx_buf_init(&report, 1 << 16);
    icx_err_clear(&err);
    if (strncmp(from, "sqlite:", 7) != 0 || from[7] == '\0' ||
        !icx_store_is_url(to)) {
        icx_cli_error("store migrate: want --from sqlite:PATH and --to "
                      "postgresql://...");
        fputs(usage_text, stderr);
        icx_buf_free(&report);
        return ICX_EXIT_USAGE;
    }
    from += 7;
    if (cert == NULL) {
        rc = icx_config_load(&cfg, config, NULL, &err);
        if (rc < 0) {
            icx_err_wrap(&err, "%s (or give --cert)", config);
            goto fail;
        }
        cert = cfg->certificate;
    }
    rc = icx_file_read(&pem, &pem_len, cert, 256 * 1024, &err);
    if (rc < 0)
        goto fail;
    /* Never create the source: lstat only. */
    if (lstat(from, &sb) < 0) {
        rc = icx_err_set(&err, ICX_EIO, "%s: %s", from, strerror(errno));
        goto fail;
    }
    if (snprintf(lock, sizeof lock, "%s.lock", from) >= (int)sizeof lock) {
        rc = icx_err_set(&err, ICX_EINVAL, "%s: path too long", from);
        goto fail;
    }
    rc = icx_pidlock_take(&fd, lock, &err);
    if (rc == ICX_OK)
        rc = icx_store_open(&src, from, &err);
    if (rc == ICX_OK)
        rc = icx_store_check(src, cert, ICX_STORE_CHECK_ENVELOPES, &report,
                             &err);
    if (rc == ICX_ECORRUPT) {
        fwrite(report.data, 1, report.len, stdout);
        printf("refused: the source store %s does not pass its check; "
               "nothing copied\n", from);
        code = ICX_EXIT_REFUSED;
        goto out;
    }
    icx_buf_reset(&report);
    if (rc == ICX_OK)
        rc = icx_store_open(&dst, to, &err);
    if (rc == ICX_OK)
        rc = icx_store_copy(dst, src, pem, pem_len, &report, &err);
    if (report.len > 0)
        fwrite(report.data, 1, report.len, stdout);
    if (rc == ICX_EEXIST || rc == ICX_EBADSIG) {
        printf("refused: %s\n", err.msg);
        code = ICX_EXIT_REFUSED;
        goto out;
    }
    if (rc < 0)
        goto fail;
    printf("migrated %s to %s; set store.path to that URL (and store.head "
           "to a copy of %s.head), then start icx serve\n", from,
           icx_store_name(dst), from);
    code = ICX_EXIT_OK;
    goto out;
fail:
    icx_cli_error("%s", err.msg);
    code = ICX_EXIT_FAILURE;
out:
    icx_store_free(&dst);
    icx_store_free(&src);
    icx_pidlock_release(&fd);
    icx_config_free(&cfg);
    free(pem);
    icx_buf_free(&report);
    return code;
}

static int check(const char *config, const char *store, const char *cert,
                 unsigned flags)
{
    icx_config *cfg = NULL;
    icx_store *s = NULL;
    icx_buf report;
    icx_err err;
    struct stat sb;
    int code = ICX_EXIT_FAILURE, rc;
    icx_buf_init(&report, 1 << 20);
    icx_err_clear(&err);
    if (store == NULL) {
        rc = icx_config_load(&cfg, config, NULL, &err);
        if (rc < 0) {
            icx_err_wrap(&err, "%s (or give --store and --cert)", config);
            goto fail;
        }
        store = cfg->store_path;
        cert = icx_config_audit_certs(cfg);
    }
    /* Never create a store here: lstat only (no descriptor of it). */
    if (!icx_store_is_url(store) && lstat(store, &sb) < 0) {
        char head[4096];
        snprintf(head, sizeof head, "%s.head", store);
        if (errno == ENOENT && lstat(head, &sb) == 0) {
            printf("refused: store %s is missing, but its head file %s "
                   "names a signed checkpoint: the store was removed\n",
                   store, head);
            code = ICX_EXIT_REFUSED;
            goto out;
        }
        icx_err_set(&err, ICX_EIO, "%s: %s", store, strerror(errno));
        rc = ICX_EIO;
        goto fail;
    }
    rc = icx_store_open(&s, store, &err);
    if (rc == ICX_OK && cfg != NULL && cfg->store_head != NULL)
        rc = icx_store_set_head(s, cfg->store_head, &err);
    if (rc == ICX_OK)
        rc = icx_store_check(s, cert, flags | ICX_STORE_CHECK_ENVELOPES,
                             &report, &err);
    if (report.len > 0)
        fwrite(report.data, 1, report.len, stdout);
    if (rc == ICX_ECORRUPT) {
        if (report.len == 0)
            printf("refused: %s\n", err.msg);
        printf("store %s refused: do not serve from it (docs/STORE.md, "
               "\"Start-up checks\")\n", s != NULL ? icx_store_name(s) : store);
        code = ICX_EXIT_REFUSED;
        goto out;
    }
    if (rc < 0)
        goto fail;
    printf("store %s ok\n", icx_store_name(s));
    code = ICX_EXIT_OK;
    goto out;
fail:
    /* Whatever kept the check from running is not a verdict on the store. */
    icx_cli_error("%s", err.msg);
    code = ICX_EXIT_FAILURE;
out:
    icx_store_free(&s);
    icx_config_free(&cfg);
    icx_buf_free(&report);
    return code;
}

int icx_cmd_store(int argc, char **argv)
{
    static const struct option lo[] = {
        {"config", required_argument, NULL, 'c'},
        {"store", required_argument, NULL, 's'},
        {"cert", required_argument, NULL, 'C'},
        {"adopt-head", no_argument, NULL, 'a'},
        {"from", required_argument, NULL, 'f'},
        {"to", required_argument, NULL, 't'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *config = "config/gateway.yaml", *store = NULL, *cert = NULL;
    const char *from = NULL, *to = NULL;
    unsigned flags = 0;
    int c;
    if (argc < 2 || strcmp(argv[1], "-h") == 0 ||
        strcmp(argv[1], "--help") == 0) {
        fputs(usage_text, argc < 2 ? stderr : stdout);
        return argc < 2 ? ICX_EXIT_USAGE : ICX_EXIT_OK;
    }
    int is_migrate = strcmp(argv[1], "migrate") == 0;
    if (strcmp(argv[1], "check") != 0 && !is_migrate) {
        icx_cli_error("store: unknown subcommand \"%s\"", argv[1]);
        fputs(usage_text, stderr);
        return ICX_EXIT_USAGE;
    }
    optind = 1;
    while ((c = getopt_long(argc - 1, argv + 1, "c:h", lo, NULL)) != -1) {
        switch (c) {
        case 'c': config = optarg; break;
        case 's': store = optarg; break;
        case 'C': cert = optarg; break;
        case 'a': flags |= ICX_STORE_CHECK_ADOPT_HEAD; break;
        case 'f': from = optarg; break;
        case 't': to = optarg; break;
        case 'h': fputs(usage_text, stdout); return ICX_EXIT_OK;
        default: fputs(usage_text, stderr); return ICX_EXIT_USAGE;
        }
    }
    if (is_migrate) {
        if (optind != argc - 1 || from == NULL || to == NULL ||
            store != NULL || flags != 0) {
            icx_cli_error("store migrate: give --from and --to");
            fputs(usage_text, stderr);
            return ICX_EXIT_USAGE;
        }
        return migrate(config, from, to, cert);
    }
    if (from != NULL || to != NULL) {
        icx_cli_error("store check: --from and --to belong to migrate");
        fputs(usage_text, stderr);
        return ICX_EXIT_USAGE;
    }
    if (optind != argc - 1 || (store != NULL) != (cert != NULL)) {
        if (optind == argc - 1)
            icx_cli_error("store check: --store and --cert go together");
        fputs(usage_text, stderr);
        return ICX_EXIT_USAGE;
    }
    return check(config, store, cert, flags);
}
