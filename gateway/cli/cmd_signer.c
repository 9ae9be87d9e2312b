/*
 * cmd_signer.c - `icx signer`, internal: the signer process that `icx
 * serve` starts over socketpairs (gateway/signer/).  Not for people to
 * run; `icx --help` lists it as internal.
 *
 * Exits 0 when the daemon closes the channels, 1 when the key cannot be
 * loaded (the daemon has the error already), 2 on usage.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "signerproc.h"

static const char signer_usage[] =
    "usage: icx signer --fd N --channels K --key PATH\n"
    "Internal: the signer process icx serve starts.  It holds the agency\n"
    "key, signs SHA-256 digests sent on descriptors N .. N+K-1 and nothing\n"
    "else (docs/SECURITY.md, \"The signer process\").\n";

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
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int fd = -1, nch = -1, c;
    const char *key = NULL;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'f': fd = int_arg(optarg, 3, 1024); break;
        case 'n': nch = int_arg(optarg, 1, ICX_SIGNER_MAX_CHANNELS); break;
        case 'k': key = optarg; break;
        case 'h': fputs(signer_usage, stdout); return ICX_EXIT_OK;
        default: fputs(signer_usage, stderr); return ICX_EXIT_USAGE;
        }
    }
    if (optind != argc || fd < 0 || nch < 0 || key == NULL) {
        fputs(signer_usage, stderr);
        return ICX_EXIT_USAGE;
    }
    icx_err err;
    icx_err_clear(&err);
    int rc = icx_signerproc_serve(fd, nch, key, &err);
    return icx_cli_exit_for(rc);
}
