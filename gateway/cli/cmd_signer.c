/*
 * cmd_signer.c - `icx signer`, internal: the signer process that `icx
 * serve` starts over socketpairs (gateway/signer/).  Not for people to
 * run; `icx --help` lists it as internal.
 *
 * The key is opened as icx serve would open it in-process (signkey.h):
 * a key file, or with --module (and --certificate, --pin-file or
 * --pin-env) a key in a PKCS#11 token, whose module and PIN then live in
 * this process only.
 *
 * Exits 0 when the daemon closes the channels, 1 when the key cannot be
 * opened (the daemon has the error already), 2 on usage.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "config.h"
#include "signerproc.h"
#include "signkey.h"

static const char signer_usage[] =
    "usage: icx signer --fd N --channels K --key PATH|URI\n"
    "                  [--module SO --certificate PEM\n"
    "                   (--pin-file F | --pin-env VAR)]\n"
    "Internal: the signer process icx serve starts.  It holds the agency\n"
    "key (a key file, or a pkcs11: URI with the token's module, the\n"
    "certificate and the PIN's source, as keys.* in gateway.yaml), signs\n"
    "SHA-256 digests sent on descriptors N .. N+K-1 and nothing else\n"
    "(docs/SECURITY.md, \"The signer process\").\n";

/* A decimal in [lo, hi], or -1. */
static int int_arg(const char *s, int lo, int hi)
{
    char *end = NULL;
    long v = strtol(s, &end, 10);
    if (end == s || *end != '\0' || v < lo || v > hi)
        return -1;
    return (int)v;
}

int icx_cmd_signer(int argc, char **argv)
{
    static const struct option opts[] = {
        {"fd", required_argument, NULL, 'f'},
        {"channels", required_argument, NULL, 'n'},
        {"key", required_argument, NULL, 'k'},
        {"module", required_argument, NULL, 'm'},
        {"certificate", required_argument, NULL, 'c'},
        {"pin-file", required_argument, NULL, 'p'},
        {"pin-env", required_argument, NULL, 'e'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int fd = -1, nch = -1, c;
    icx_config cfg; /* the keys.* it needs, pointing into argv */
    memset(&cfg, 0, sizeof cfg);
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'f': fd = int_arg(optarg, 3, 1024); break;
        case 'n': nch = int_arg(optarg, 1, ICX_SIGNER_MAX_CHANNELS); break;
        case 'k': cfg.private_key = optarg; break;
        case 'm': cfg.pkcs11_module = optarg; break;
        case 'c': cfg.certificate = optarg; break;
        case 'p': cfg.pin_file = optarg; break;
        case 'e': cfg.pin_env = optarg; break;
        case 'h': fputs(signer_usage, stdout); return ICX_EXIT_OK;
        default: fputs(signer_usage, stderr); return ICX_EXIT_USAGE;
        }
    }
    if (optind != argc || fd < 0 || nch < 0 || cfg.private_key == NULL) {
        fputs(signer_usage, stderr);
        return ICX_EXIT_USAGE;
    }
    icx_err err;
    icx_err_clear(&err);
    icx_signer *s = NULL;
    int token = icx_signkey_in_token(&cfg);
    if (icx_signkey_open(&s, &cfg, &err) < 0)
        s = NULL; /* err says why; reported to the daemon */
    int rc = icx_signerproc_serve(fd, nch, s,
                                  token ? ICX_SIGNERPROC_TOKEN
                                        : ICX_SIGNERPROC_FILE,
                                  &err);
    return icx_cli_exit_for(rc);
}
