/*
 * cmd_config.c - `icx config check [-c FILE]`.
 *
 * Loads the gateway file and every partner file and reports; it never
 * starts anything or writes anything.  Errors go to stderr, one
 * `file:line:col: key: what is wrong` line each, then one summary line;
 * success prints one line to stdout.  Exit codes: 0 valid, 1 invalid,
 * 2 usage, 3 internal failure (out of memory).
 */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "config.h"
#include "signkey.h"

#define ERRS_MAX (1024 * 1024)

static void usage(FILE *f)
{
    fprintf(f,
            "usage: icx config check [-c FILE]\n\n"
            "Checks the gateway file and every partner file it names, and\n"
            "reports each problem as file:line:column: key: what is wrong.\n"
            "A signing key in a PKCS#11 token is opened and checked against\n"
            "keys.certificate.  Nothing is started or written.\n\n"
            "options:\n"
            "  -c, --config FILE   gateway file (default $ICX_CONFIG, else " ICX_CLI_DEFAULT_CONFIG ")\n"
            "  -h, --help          this help\n\n"
            "exit codes: 0 valid, 1 invalid, 2 usage, 3 internal failure\n");
}

/* A key in a token is opened as icx serve would: module, token, PIN, key
 * and that keys.certificate is its certificate. */
static int check_token(const icx_config *cfg, const char *path)
{
    icx_signer *s = NULL;
    icx_err err;
    icx_err_clear(&err);
    int rc = icx_signkey_open(&s, cfg, &err);
    icx_signer_free(&s);
    if (rc < 0) {
        fprintf(stderr, "%s: keys.private_key: %s\n", path, err.msg);
        fprintf(stderr, "icx: 1 error(s) in %s; nothing started\n", path);
    }
    return rc;
}

static int config_check(int argc, char **argv)
{
    const char *path = icx_cli_default_config();
    icx_config *cfg = NULL;
    icx_buf errs;
    icx_err err;
    int code;

    for (int i = 1; i < argc; i++) {
        if ((strcmp(argv[i], "-c") == 0 || strcmp(argv[i], "--config") == 0) &&
            i + 1 < argc) {
            path = argv[++i];
        } else {
            icx_cli_error("config check: unexpected argument \"%s\"", argv[i]);
            usage(stderr);
            return ICX_EXIT_USAGE;
        }
    }

    icx_buf_init(&errs, ERRS_MAX);
    icx_err_clear(&err);
    int rc = icx_config_load(&cfg, path, &errs, &err);
    if (rc == ICX_ECONFIG) {
        size_t n = 0;
        for (size_t i = 0; i < errs.len; i++)
            n += errs.data[i] == '\n';
        fputs(errs.data != NULL ? errs.data : "", stderr);
        fprintf(stderr, "icx: %zu error(s) in %s; nothing started\n", n, path);
        code = ICX_EXIT_REFUSED;
    } else if (rc < 0) {
        code = icx_cli_fail(rc, &err);
    } else if (icx_signkey_in_token(cfg) && check_token(cfg, path) < 0) {
        code = ICX_EXIT_REFUSED;
    } else {
        printf("%s: ok (id %s, %zu partner%s)\n", path, cfg->id,
               cfg->npartners, cfg->npartners == 1 ? "" : "s");
        code = ICX_EXIT_OK;
    }
    icx_config_free(&cfg);
    icx_buf_free(&errs);
    return code;
}

int icx_cmd_config(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return ICX_EXIT_USAGE;
    }
    if (icx_cli_wants_help(argc, argv)) {
        usage(stdout);
        return ICX_EXIT_OK;
    }
    if (strcmp(argv[1], "check") == 0)
        return config_check(argc - 1, argv + 1);
    icx_cli_error("config: unknown command \"%s\" (icx config --help)",
                  argv[1]);
    return ICX_EXIT_USAGE;
}
