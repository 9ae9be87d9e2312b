/*
 * main.c - the icx program: one binary, subcommands (like git).
 *
 * Dispatches the first argument to a command family of cli.h.  Process-wide
 * set-up of the XML and crypto libraries happens here, once, before any
 * command runs, and is torn down after.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "err.h"
#include "xmlsig.h"

static const struct {
    const char *name;
    int (*fn)(int, char **);
    const char *help;
} commands[] = {
    {"config", icx_cmd_config, "check the gateway and partner configuration"},
    {"keys", icx_cmd_keys, "generate agency keys, show fingerprints"},
    {"envelope", icx_cmd_envelope, "build, sign, verify and show envelopes offline"},
    {"translate", icx_cmd_translate, "domestic CSV/YAML to payloads through a mapping profile, and back"},
    {"serve", icx_cmd_serve, "run the gateway daemon"},
    {"audit", icx_cmd_audit, "verify, show and export the audit log; evidence bundles"},
    {"store", icx_cmd_store, "check the store offline as icx serve does at start"},
    {"survey", icx_cmd_survey, "legislation surveys: send, answer, status, compile"},
    {"submit", icx_cmd_submit, "sign and queue payloads for partners (daemon)"},
    {"status", icx_cmd_query, "timeline of one message, or the outbox (daemon)"},
    {"outbox", icx_cmd_query, "messages this gateway sends (daemon)"},
    {"inbox", icx_cmd_query, "messages this gateway received (daemon)"},
    {"partners", icx_cmd_query, "partners: reachable, queue depth, last contact (daemon)"},
    {"health", icx_cmd_query, "store, partners, queue age, checkpoints; exit 1 when not ok (daemon)"},
    {"lists", icx_cmd_lists, "published lists: import, show, diff, history, export, status"},
    {"pull", icx_cmd_pull, "pull a list from a partner into the local copy (daemon)"},
    /* internal: after the blank line of the help */
    {"signer", icx_cmd_signer, "the key-holding process icx serve starts"},
};

/* The last commands: not for people to run. */
#define ICX_INTERNAL_COMMANDS 1

static void usage(FILE *f)
{
    fprintf(f, "usage: icx COMMAND [ARGS]   (icx COMMAND --help for details)\n\n"
               "ICX: international cooperation data-exchange gateway.\n\n"
               "commands:\n");
    size_t n = sizeof commands / sizeof commands[0];
    for (size_t i = 0; i < n - ICX_INTERNAL_COMMANDS; i++)
        fprintf(f, "  %-10s %s\n", commands[i].name, commands[i].help);
    fprintf(f, "  %-10s %s\n", "version", "print the version");
    fprintf(f, "\ninternal:\n");
    for (size_t i = n - ICX_INTERNAL_COMMANDS; i < n; i++)
        fprintf(f, "  %-10s %s\n", commands[i].name, commands[i].help);
    fprintf(f, "\nexit codes: 0 ok, 1 refused (verification, policy, invalid "
               "config), 2 usage,\n3 environment or internal failure, 4 no "
               "daemon running\n");
}

int icx_cli_exit_for(int rc)
{
    switch (rc) {
    case ICX_OK: return ICX_EXIT_OK;
    case ICX_EBADSIG: case ICX_EPOLICY: case ICX_ECONFIG: case ICX_EINVAL:
    case ICX_EPERM: case ICX_ENOTFOUND: case ICX_EEXIST: case ICX_ECORRUPT:
        return ICX_EXIT_REFUSED;
    case ICX_ENOTCONN: return ICX_EXIT_NODAEMON;
    default: return ICX_EXIT_FAILURE;
    }
}

int icx_cli_fail(int rc, const icx_err *err)
{
    icx_cli_error("%s", err->msg);
    return icx_cli_exit_for(rc);
}

void icx_cli_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("icx: error: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

const char *icx_cli_default_config(void)
{
    const char *env = getenv("ICX_CONFIG");
    return env != NULL && env[0] != '\0' ? env : ICX_CLI_DEFAULT_CONFIG;
}

int icx_cli_wants_help(int argc, char **argv)
{
    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0)
            return 1;
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return ICX_EXIT_USAGE;
    }
    if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0 ||
        strcmp(argv[1], "help") == 0) {
        usage(stdout);
        return ICX_EXIT_OK;
    }
    if (strcmp(argv[1], "version") == 0 || strcmp(argv[1], "--version") == 0) {
        printf("icx %s\n", ICX_VERSION);
        return ICX_EXIT_OK;
    }
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++) {
        if (strcmp(argv[1], commands[i].name) == 0) {
            icx_err err;
            icx_err_clear(&err);
            if (icx_xmlsig_init(&err) < 0) {
                icx_cli_error("%s", err.msg);
                return ICX_EXIT_FAILURE;
            }
            int code = commands[i].fn(argc - 1, argv + 1);
            icx_xmlsig_shutdown();
            return code;
        }
    }
    icx_cli_error("unknown command \"%s\" (icx --help lists them)", argv[1]);
    return ICX_EXIT_USAGE;
}
