/*
 * fuzz_config.c - libFuzzer target for the YAML configuration loader:
 * icx_config_load() on gateway.yaml and one partner file, exactly as the
 * daemon and `icx config check` call it (files on disk, resolved paths,
 * key and certificate checks).
 *
 * Input: the gateway.yaml text, optionally followed by a line
 * "#--partner--" and the text of partners/p.yaml.  Keys for the files to
 * point at are generated once into a private temporary folder (keys/), so
 * a seed can load completely and the fuzzer starts from a valid config.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "config.h"
#include "keys.h"
#include "fuzz_util.h"

#define SPLIT "\n#--partner--\n"

static char gw_path[4200], partner_path[4200];

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    const char *dir = fuzz_tmpdir();
    char path[4200];
    icx_err err;
    icx_err_clear(&err);
    snprintf(path, sizeof path, "%s/keys", dir);
    if (icx_keys_generate("JP-NPA", path, ICX_ALG_ECDSA_P256, 30, &err) < 0) {
        fprintf(stderr, "fuzz_config: set-up: %s\n", err.msg);
        abort();
    }
    snprintf(path, sizeof path, "%s/partners", dir);
    if (mkdir(path, 0700) < 0)
        abort();
    snprintf(gw_path, sizeof gw_path, "%s/gateway.yaml", dir);
    snprintf(partner_path, sizeof partner_path, "%s/partners/p.yaml", dir);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *text = (const char *)data;
    size_t gw_len = size, split = strlen(SPLIT);
    const char *partner = NULL;
    icx_config *cfg = NULL;
    icx_buf errs;
    icx_err err;

    for (size_t i = 0; i + split <= size; i++)
        if (memcmp(text + i, SPLIT, split) == 0) {
            gw_len = i;
            partner = text + i + split;
            break;
        }
    if (fuzz_write(gw_path, text, gw_len) < 0)
        abort();
    remove(partner_path);
    if (partner != NULL &&
        fuzz_write(partner_path, partner, size - (size_t)(partner - text)) < 0)
        abort();
    icx_buf_init(&errs, 64 * 1024);
    icx_err_clear(&err);
    int rc = icx_config_load(&cfg, gw_path, &errs, &err);
    if ((rc == ICX_OK) != (cfg != NULL))
        abort();
    if (rc == ICX_OK) {
        for (size_t i = 0; i < cfg->npartners; i++)
            if (icx_config_partner(cfg, cfg->partners[i].id) == NULL)
                abort();
    }
    icx_config_free(&cfg);
    icx_buf_free(&errs);
    char *sock = NULL;
    if (icx_config_control_socket(&sock, gw_path, &err) == ICX_OK)
        free(sock);
    return 0;
}
