/*
 * cmd_keys.c - `icx keys gen` and `icx keys show`.
 *
 * gen writes an agency's key folder (see keys.h), or with --pkcs11 makes
 * the key pair inside a token (p11.h) and writes the folder without
 * key.pem; show prints certificate fingerprints and CURVE public keys,
 * never private material.  A token PIN comes from a file or an
 * environment variable, never from the command line.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "cli.h"
#include "config.h"
#include "keys.h"
#include "p11.h"

static const char gen_usage[] =
    "usage: icx keys gen AGENCY-ID --out DIR [--alg rsa2048|ecdsa-p256] "
    "[--days N]\n"
    "       icx keys gen AGENCY-ID --out DIR --pkcs11 URI --module PATH\n"
    "                    (--pin-file FILE | --pin-env NAME) [--alg ...] "
    "[--days N]\n\n"
    "Writes DIR/key.pem (private key, mode 0600), DIR/cert.pem (self-signed\n"
    "X.509, subject CN=AGENCY-ID), DIR/curve.key (CURVE key pair, mode 0600)\n"
    "and DIR/curve.pub (the CURVE public key to give partners).\n"
    "An existing key is never overwritten.  Default: rsa2048, 825 days.\n\n"
    "With --pkcs11 the key pair is made inside the PKCS#11 token the RFC 7512\n"
    "URI names (pkcs11:token=LABEL;object=NAME; the private half sensitive\n"
    "and not extractable) with the module PATH, and no key.pem is written;\n"
    "cert.pem is signed by the token.  The PIN is read from FILE (mode 0600)\n"
    "or the environment variable NAME, never from the command line.\n";

static const char show_usage[] =
    "usage: icx keys show DIR...\n"
    "       icx keys show -c CONFIG\n\n"
    "Prints the agency id, algorithm and SHA-256 fingerprint of each\n"
    "certificate, and the CURVE public key.  With -c: this gateway's key and\n"
    "every partner certificate of the configuration (\"next\": a partner's\n"
    "certificate_next, accepted too during its key rollover).\n";

static int p11_sign(void *ctx, const unsigned char *digest, size_t dlen,
                    unsigned char *sig, size_t *siglen, icx_err *err)
{
    return icx_p11_sign_digest(ctx, digest, dlen, sig, siglen, err);
}

/* --pkcs11: the key pair in the token, the certificate and CURVE keys in
 * DIR. */
static int gen_in_token(const char *agency, const char *out, int alg,
                        int days, const char *uri, const char *module,
                        const char *pin_file, const char *pin_env,
                        icx_err *err)
{
    char pin[ICX_P11_PIN_MAX + 1] = "";
    icx_p11 *p = NULL;
    EVP_PKEY *pub = NULL;
    int rc = icx_p11_pin_read(pin, pin_file, pin_env, err);
    if (rc == ICX_OK)
        rc = icx_p11_generate(module, uri, pin, alg, err);
    if (rc == ICX_OK)
        rc = icx_p11_open(&p, module, uri, pin, err);
    OPENSSL_cleanse(pin, sizeof pin);
    if (rc < 0)
        goto out;
    pub = icx_p11_public_key(p);
    if (pub == NULL) {
        rc = icx_err_set(err, ICX_ENOMEM, "out of memory");
        goto out;
    }
    rc = icx_keys_generate_external(agency, out, pub, icx_p11_is_ecdsa(p),
                                    icx_p11_field(p), p11_sign, p, days, err);
    if (rc < 0)
        icx_err_wrap(err, "the key pair is in the token, but its folder was "
                     "not written");
out:
    EVP_PKEY_free(pub);
    icx_p11_free(&p);
    return rc;
}

static int keys_gen(int argc, char **argv)
{
    static const struct option opts[] = {
        {"out", required_argument, NULL, 'o'},
        {"alg", required_argument, NULL, 'a'},
        {"days", required_argument, NULL, 'd'},
        {"pkcs11", required_argument, NULL, 'P'},
        {"module", required_argument, NULL, 'm'},
        {"pin-file", required_argument, NULL, 'f'},
        {"pin-env", required_argument, NULL, 'e'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *uri = NULL, *module = NULL, *pin_file = NULL, *pin_env = NULL;
    const char *out = NULL;
    int alg = ICX_ALG_RSA2048;
    long days = 825;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "o:a:d:h", opts, NULL)) != -1) {
        switch (c) {
        case 'o': out = optarg; break;
        case 'a':
            alg = icx_keys_alg_from_name(optarg);
            if (alg < 0) {
                icx_cli_error("--alg: unknown algorithm \"%s\" (rsa2048 or "
                              "ecdsa-p256)", optarg);
                return ICX_EXIT_USAGE;
            }
            break;
        case 'd': {
            char *end;
            days = strtol(optarg, &end, 10);
            if (*end != '\0' || days < 1 || days > 3650) {
                icx_cli_error("--days: expected 1..3650, got \"%s\"", optarg);
                return ICX_EXIT_USAGE;
            }
            break;
        }
        case 'P': uri = optarg; break;
        case 'm': module = optarg; break;
        case 'f': pin_file = optarg; break;
        case 'e': pin_env = optarg; break;
        case 'h': fputs(gen_usage, stdout); return ICX_EXIT_OK;
        default: fputs(gen_usage, stderr); return ICX_EXIT_USAGE;
        }
    }
    if (optind != argc - 1 || out == NULL) {
        fputs(gen_usage, stderr);
        return ICX_EXIT_USAGE;
    }
    if (uri == NULL && (module || pin_file || pin_env)) {
        icx_cli_error("--module, --pin-file and --pin-env go with --pkcs11");
        return ICX_EXIT_USAGE;
    }
    if (uri != NULL && (module == NULL || (pin_file == NULL) == (pin_env == NULL))) {
        icx_cli_error("--pkcs11 needs --module and one of --pin-file or "
                      "--pin-env");
        return ICX_EXIT_USAGE;
    }
    icx_err err;
    icx_err_clear(&err);
    int rc = uri != NULL
                 ? gen_in_token(argv[optind], out, alg, (int)days, uri, module,
                                pin_file, pin_env, &err)
                 : icx_keys_generate(argv[optind], out, alg, (int)days, &err);
    if (rc < 0) {
        return icx_cli_fail(rc, &err);
    }
    char fp[65];
    char cert[4096];
    snprintf(cert, sizeof cert, "%s/cert.pem", out);
    rc = icx_keys_cert_fingerprint(fp, cert, &err);
    if (rc < 0) {
        return icx_cli_fail(rc, &err);
    }
    if (uri != NULL)
        printf("generated keys for %s in %s\n  certificate sha256 %s\n"
               "  private key in the token %s, CURVE keys %s/curve.key\n",
               argv[optind], out, fp, uri, out);
    else
        printf("generated keys for %s in %s\n  certificate sha256 %s\n"
               "  private key %s/key.pem (mode 0600), CURVE keys %s/curve.key\n",
               argv[optind], out, fp, out, out);
    return ICX_EXIT_OK;
}

static int show_cert(const char *label, const char *cert, icx_err *err)
{
    char fp[65], subject[128], alg[32];
    int rc = icx_keys_cert_fingerprint(fp, cert, err);
    if (rc == 0)
        rc = icx_keys_cert_subject(subject, sizeof subject, cert, err);
    if (rc == 0)
        rc = icx_keys_cert_alg(alg, sizeof alg, cert, err);
    if (rc < 0)
        return rc;
    printf("%-10s %-14s %-11s sha256 %s\n", label, subject, alg, fp);
    return ICX_OK;
}

static int show_dir(const char *dir, icx_err *err)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/cert.pem", dir);
    int rc = show_cert("agency", path, err);
    if (rc < 0)
        return rc;
    snprintf(path, sizeof path, "%s/curve.pub", dir);
    FILE *f = fopen(path, "r");
    if (f != NULL) {
        char line[128] = "";
        if (fgets(line, sizeof line, f) != NULL) {
            line[strcspn(line, "\n")] = '\0';
            if (icx_keys_z85_valid(line))
                printf("%-10s curve public key %s\n", "transport", line);
        }
        fclose(f);
    }
    return ICX_OK;
}

static int keys_show(int argc, char **argv)
{
    const char *config = NULL;
    int c;
    optind = 1;
    static const struct option opts[] = {
        {"config", required_argument, NULL, 'c'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    while ((c = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
        switch (c) {
        case 'c': config = optarg; break;
        case 'h': fputs(show_usage, stdout); return ICX_EXIT_OK;
        default: fputs(show_usage, stderr); return ICX_EXIT_USAGE;
        }
    }
    icx_err err;
    icx_err_clear(&err);
    if (config != NULL) {
        icx_config *cfg = NULL;
        int rc = icx_config_load(&cfg, config, NULL, &err);
        if (rc < 0) {
            icx_cli_error("%s (run icx config check -c %s)", err.msg, config);
            return icx_cli_exit_for(rc);
        }
        rc = show_cert("self", cfg->certificate, &err);
        for (size_t i = 0; rc == 0 && i < cfg->npartners; i++) {
            rc = show_cert("partner", cfg->partners[i].certificate, &err);
            /* A key rollover in progress: both are accepted. */
            if (rc == 0 && cfg->partners[i].certificate_next != NULL)
                rc = show_cert("next", cfg->partners[i].certificate_next,
                               &err);
        }
        icx_config_free(&cfg);
        if (rc < 0) {
            return icx_cli_fail(rc, &err);
        }
        return ICX_EXIT_OK;
    }
    if (optind >= argc) {
        fputs(show_usage, stderr);
        return ICX_EXIT_USAGE;
    }
    for (int i = optind; i < argc; i++) {
        int rc = show_dir(argv[i], &err);
        if (rc < 0) {
            return icx_cli_fail(rc, &err);
        }
    }
    return ICX_EXIT_OK;
}

int icx_cmd_keys(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "--help") == 0 ||
        strcmp(argv[1], "-h") == 0) {
        fputs(gen_usage, argc < 2 ? stderr : stdout);
        fputs("\n", argc < 2 ? stderr : stdout);
        fputs(show_usage, argc < 2 ? stderr : stdout);
        return argc < 2 ? ICX_EXIT_USAGE : ICX_EXIT_OK;
    }
    if (strcmp(argv[1], "gen") == 0)
        return keys_gen(argc - 1, argv + 1);
    if (strcmp(argv[1], "show") == 0)
        return keys_show(argc - 1, argv + 1);
    icx_cli_error("unknown keys command \"%s\" (gen, show)", argv[1]);
    return ICX_EXIT_USAGE;
}
