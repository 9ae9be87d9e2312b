/*
 * cmd_envelope.c - offline envelope commands: build, sign, verify, show.
 *
 * verify prints one line: "ok: ..." (exit 0) or "rejected: REASON: why"
 * (exit 1), so scripts and partners can act on the reason name.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "config.h"
#include "signkey.h"
#include "envelope.h"
#include "trust.h"
#include "util.h"

#define MAX_INPUT (64L * 1024 * 1024)

static const char usage_text[] =
    "usage: icx envelope build --from ID --to ID --category C --legal-basis TEXT\n"
    "                          --retain-until YYYY-MM-DD [--tlp LABEL] [--code H0-H3]\n"
    "                          [--expires-in SECONDS] [--conversation UUID]\n"
    "                          [--ref UUID] [-o OUT] PAYLOAD.xml\n"
    "       icx envelope sign (--key KEY.pem | -c CONFIG) [-o OUT] ENVELOPE.xml\n"
    "       icx envelope sign --template rsa-sha256|ecdsa-sha256 [-o OUT] ENVELOPE.xml\n"
    "       icx envelope verify (-c CONFIG | --as ID --trust ID=CERT.pem...)\n"
    "                          [--at TIME] [--window-past S] [--window-future S] FILE\n"
    "       icx envelope show [--json] FILE\n\n"
    "build wraps a payload document in a schema-valid, unsigned envelope.\n"
    "sign adds the enveloped XML-DSig signature (exc-c14n, one Reference URI=\"\");\n"
    "with --template it adds an empty signature template instead, for signing\n"
    "with another XML-DSig implementation (e.g. xmlsec1 --sign).\n"
    "verify applies the whole verification policy; the key is the configured\n"
    "certificate of the Sender, never one carried in the message.  It prints\n"
    "one line, \"ok: ...\" (exit 0) or \"rejected: REASON: why\" (exit 1).\n"
    "--at verifies as of an earlier time (for evidence checked later).\n"
    "--tlp is a TLP 2.0 label (default AMBER); --code a handling code (default H2).\n";

static int usage(int code)
{
    fputs(usage_text, code == ICX_EXIT_OK ? stdout : stderr);
    return code;
}

static int write_out(const char *path, const icx_buf *b, icx_err *err)
{
    if (path == NULL || strcmp(path, "-") == 0) {
        if (fwrite(b->data, 1, b->len, stdout) != b->len || fflush(stdout))
            return icx_err_set(err, ICX_EIO, "stdout: write failed");
        return ICX_OK;
    }
    return icx_file_write_atomic(path, b->data, b->len, 0644, err);
}

static int set_field(char *dst, size_t len, const char *opt, const char *v)
{
    if (strlen(v) >= len) {
        icx_cli_error("%s: value too long (at most %zu bytes)", opt, len - 1);
        return -1;
    }
    memcpy(dst, v, strlen(v) + 1);
    return 0;
}

static int env_build(int argc, char **argv)
{
    static const struct option opts[] = {
        {"from", required_argument, NULL, 'f'},
        {"to", required_argument, NULL, 't'},
        {"category", required_argument, NULL, 'C'},
        {"tlp", required_argument, NULL, 'T'},
        {"code", required_argument, NULL, 'H'},
        {"legal-basis", required_argument, NULL, 'L'},
        {"retain-until", required_argument, NULL, 'R'},
        {"expires-in", required_argument, NULL, 'E'},
        {"conversation", required_argument, NULL, 'V'},
        {"ref", required_argument, NULL, 'r'},
        {"schemas", required_argument, NULL, 'S'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    icx_header h;
    memset(&h, 0, sizeof h);
    snprintf(h.tlp, sizeof h.tlp, "AMBER");
    snprintf(h.hcode, sizeof h.hcode, "H2");
    const char *out = NULL, *schemas_dir = icx_schemas_default_dir();
    long expires_in = 0;
    int c, bad = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, "o:h", opts, NULL)) != -1) {
        switch (c) {
        case 'f': bad |= set_field(h.sender, sizeof h.sender, "--from", optarg); break;
        case 't': bad |= set_field(h.recipient, sizeof h.recipient, "--to", optarg); break;
        case 'C': bad |= set_field(h.category, sizeof h.category, "--category", optarg); break;
        case 'T': bad |= set_field(h.tlp, sizeof h.tlp, "--tlp", optarg); break;
        case 'H': bad |= set_field(h.hcode, sizeof h.hcode, "--code", optarg); break;
        case 'L': bad |= set_field(h.legal_basis, sizeof h.legal_basis, "--legal-basis", optarg); break;
        case 'R': bad |= set_field(h.retain_until, sizeof h.retain_until, "--retain-until", optarg); break;
        case 'V': bad |= set_field(h.conversation_id, sizeof h.conversation_id, "--conversation", optarg); break;
        case 'r': bad |= set_field(h.ref_to_message_id, sizeof h.ref_to_message_id, "--ref", optarg); break;
        case 'E': {
            char *end;
            expires_in = strtol(optarg, &end, 10);
            if (*end != '\0' || expires_in <= 0) {
                icx_cli_error("--expires-in: expected seconds > 0, got \"%s\"", optarg);
                bad = 1;
            }
            break;
        }
        case 'S': schemas_dir = optarg; break;
        case 'o': out = optarg; break;
        case 'h': return usage(ICX_EXIT_OK);
        default: return usage(ICX_EXIT_USAGE);
        }
    }
    if (bad)
        return ICX_EXIT_USAGE;
    if (optind != argc - 1 || !h.sender[0] || !h.recipient[0] ||
        !h.category[0] || !h.legal_basis[0] || !h.retain_until[0]) {
        icx_cli_error("build needs --from, --to, --category, --legal-basis, "
                      "--retain-until and one PAYLOAD file");
        return ICX_EXIT_USAGE;
    }
    icx_err err;
    icx_err_clear(&err);
    char *payload = NULL;
    size_t plen = 0;
    icx_schemas *schemas = NULL;
    icx_buf env;
    icx_buf_init(&env, MAX_INPUT);
    time_t now = time(NULL);
    int rc = icx_header_stamp(&h, now, &err);
    if (rc == 0 && expires_in > 0)
        icx_time_format(h.expires, sizeof h.expires, now + expires_in);
    if (rc == 0)
        rc = icx_file_read(&payload, &plen, argv[optind], MAX_INPUT, &err);
    if (rc == 0)
        rc = icx_schemas_load(&schemas, schemas_dir, &err);
    if (rc == 0) {
        rc = icx_envelope_build(&env, &h, payload, plen, schemas, &err);
        if (rc < 0)
            icx_err_wrap(&err, "%s", argv[optind]);
    }
    if (rc == 0)
        rc = write_out(out, &env, &err);
    if (rc == 0 && out != NULL)
        fprintf(stderr, "built envelope %s (%s -> %s, %s) in %s\n",
                h.message_id, h.sender, h.recipient, h.category, out);
    free(payload);
    icx_buf_free(&env);
    icx_schemas_free(&schemas);
    return rc == 0 ? ICX_EXIT_OK : icx_cli_fail(rc, &err);
}

static int env_sign(int argc, char **argv)
{
    static const struct option opts[] = {
        {"key", required_argument, NULL, 'k'},
        {"config", required_argument, NULL, 'c'},
        {"template", required_argument, NULL, 'T'},
        {"schemas", required_argument, NULL, 'S'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *key = NULL, *config = NULL, *out = NULL, *tmpl = NULL;
    const char *schemas_dir = icx_schemas_default_dir();
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "k:c:o:h", opts, NULL)) != -1) {
        switch (c) {
        case 'k': key = optarg; break;
        case 'c': config = optarg; break;
        case 'T':
            if (strcmp(optarg, "rsa-sha256") != 0 &&
                strcmp(optarg, "ecdsa-sha256") != 0) {
                icx_cli_error("--template: rsa-sha256 or ecdsa-sha256");
                return ICX_EXIT_USAGE;
            }
            tmpl = optarg;
            break;
        case 'S': schemas_dir = optarg; break;
        case 'o': out = optarg; break;
        case 'h': return usage(ICX_EXIT_OK);
        default: return usage(ICX_EXIT_USAGE);
        }
    }
    if (optind != argc - 1 ||
        (key != NULL) + (config != NULL) + (tmpl != NULL) != 1) {
        icx_cli_error("sign needs one of --key, -c or --template, and one "
                      "ENVELOPE file");
        return ICX_EXIT_USAGE;
    }
    icx_err err;
    icx_err_clear(&err);
    icx_config *cfg = NULL;
    icx_signer *signer = NULL;
    icx_schemas *schemas = NULL;
    char *data = NULL;
    size_t len = 0;
    icx_buf signed_env;
    icx_buf_init(&signed_env, MAX_INPUT);
    int rc = ICX_OK;
    if (config != NULL) {
        rc = icx_config_load(&cfg, config, NULL, &err);
        if (rc == 0) {
            key = cfg->private_key;
            if (cfg->schemas_dir != NULL)
                schemas_dir = cfg->schemas_dir;
        }
    }
    if (rc == 0 && tmpl == NULL)
        rc = cfg != NULL ? icx_signkey_open(&signer, cfg, &err)
                         : icx_signer_load(&signer, key, &err);
    if (rc == 0)
        rc = icx_schemas_load(&schemas, schemas_dir, &err);
    if (rc == 0)
        rc = icx_file_read(&data, &len, argv[optind], MAX_INPUT, &err);
    if (rc == 0) {
        rc = tmpl != NULL
                 ? icx_envelope_template(&signed_env, data, len, schemas,
                                         strcmp(tmpl, "ecdsa-sha256") == 0,
                                         &err)
                 : icx_envelope_sign(&signed_env, data, len, schemas, signer,
                                     &err);
        if (rc < 0)
            icx_err_wrap(&err, "%s", argv[optind]);
    }
    if (rc == 0)
        rc = write_out(out, &signed_env, &err);
    free(data);
    icx_buf_free(&signed_env);
    icx_schemas_free(&schemas);
    icx_signer_free(&signer);
    icx_config_free(&cfg);
    return rc == 0 ? ICX_EXIT_OK : icx_cli_fail(rc, &err);
}

static int env_verify(int argc, char **argv)
{
    static const struct option opts[] = {
        {"config", required_argument, NULL, 'c'},
        {"as", required_argument, NULL, 'a'},
        {"trust", required_argument, NULL, 't'},
        {"at", required_argument, NULL, 'A'},
        {"window-past", required_argument, NULL, 'P'},
        {"window-future", required_argument, NULL, 'F'},
        {"schemas", required_argument, NULL, 'S'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *config = NULL, *self = NULL;
    const char *schemas_dir = icx_schemas_default_dir();
    const char *trusts[64];
    int ntrust = 0, c, bad = 0;
    long past = 900, future = 300;
    time_t at = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
        switch (c) {
        case 'c': config = optarg; break;
        case 'a': self = optarg; break;
        case 't':
            if (ntrust == 64 || strchr(optarg, '=') == NULL) {
                icx_cli_error("--trust: expected ID=CERT.pem (at most 64)");
                bad = 1;
            } else {
                trusts[ntrust++] = optarg;
            }
            break;
        case 'A':
            if (icx_time_parse(&at, optarg) < 0) {
                icx_cli_error("--at: expected a time like 2026-11-26T01:02:03Z");
                bad = 1;
            }
            break;
        case 'P': past = strtol(optarg, NULL, 10); break;
        case 'F': future = strtol(optarg, NULL, 10); break;
        case 'S': schemas_dir = optarg; break;
        case 'h': return usage(ICX_EXIT_OK);
        default: return usage(ICX_EXIT_USAGE);
        }
    }
    if (bad)
        return ICX_EXIT_USAGE;
    if (optind != argc - 1 ||
        (config == NULL && (self == NULL || ntrust == 0))) {
        icx_cli_error("verify needs -c CONFIG, or --as ID with --trust "
                      "ID=CERT.pem, and one FILE");
        return ICX_EXIT_USAGE;
    }
    icx_err err;
    icx_err_clear(&err);
    icx_config *cfg = NULL;
    icx_trust *trust = NULL;
    icx_schemas *schemas = NULL;
    char *data = NULL;
    size_t len = 0;
    icx_verify_policy pol = {
        .limits = ICX_XML_DEFAULT_LIMITS, .created_past_s = past,
        .created_future_s = future, .now = at, .self = self,
    };
    int rc = ICX_OK;
    if (config != NULL) {
        rc = icx_config_load(&cfg, config, NULL, &err);
        if (rc == 0) {
            pol.self = cfg->id;
            icx_config_xml_limits(&pol.limits, cfg);
            pol.created_past_s = cfg->created_past_s;
            pol.created_future_s = cfg->created_future_s;
            if (cfg->schemas_dir != NULL)
                schemas_dir = cfg->schemas_dir;
            rc = icx_trust_from_config(&trust, cfg, &err);
        }
    } else {
        rc = icx_trust_new(&trust, &err);
        for (int i = 0; rc == 0 && i < ntrust; i++) {
            char id[64];
            const char *eq = strchr(trusts[i], '=');
            snprintf(id, sizeof id, "%.*s", (int)(eq - trusts[i]), trusts[i]);
            rc = icx_trust_add(trust, id, eq + 1, &err);
        }
    }
    if (rc == 0)
        rc = icx_schemas_load(&schemas, schemas_dir, &err);
    if (rc == 0)
        rc = icx_file_read(&data, &len, argv[optind], MAX_INPUT, &err);
    int code;
    if (rc < 0) {
        code = icx_cli_fail(rc, &err);
        goto out;
    }
    pol.schemas = schemas;
    pol.trust = icx_trust_get;
    pol.trust_next = icx_trust_get_next;
    pol.ctx = trust;
    icx_header h;
    rc = icx_envelope_verify(&h, data, len, &pol, &err);
    if (rc == ICX_EBADSIG) {
        printf("rejected: %s: %s\n", icx_reason_name(err.reason), err.msg);
        code = ICX_EXIT_REFUSED;
    } else if (rc < 0) {
        code = icx_cli_fail(rc, &err);
    } else {
        const char *fp = icx_trust_fingerprint(trust, h.sender, h.signer_key);
        printf("ok: %s from %s to %s (%s, TLP:%s %s), signature verified%s%s%s\n",
               h.message_id, h.sender, h.recipient, h.category, h.tlp, h.hcode,
               fp ? " with certificate sha256 " : "", fp ? fp : "",
               h.signer_key ? " (certificate_next)" : "");
        code = ICX_EXIT_OK;
    }
out:
    free(data);
    icx_schemas_free(&schemas);
    icx_trust_free(&trust);
    icx_config_free(&cfg);
    return code;
}

static int env_show(int argc, char **argv)
{
    int json = 0;
    const char *file = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--json") == 0)
            json = 1;
        else if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0)
            return usage(ICX_EXIT_OK);
        else if (file == NULL && argv[i][0] != '-')
            file = argv[i];
        else
            return usage(ICX_EXIT_USAGE);
    }
    if (file == NULL)
        return usage(ICX_EXIT_USAGE);
    icx_err err;
    icx_err_clear(&err);
    char *data = NULL;
    size_t len = 0;
    icx_header h;
    icx_buf text;
    icx_buf_init(&text, 64 * 1024);
    icx_xml_limits lim = {.max_bytes = (size_t)MAX_INPUT, .max_depth = 64};
    int rc = icx_file_read(&data, &len, file, MAX_INPUT, &err);
    if (rc == 0)
        rc = icx_envelope_peek(&h, data, len, &lim, &err);
    if (rc == 0)
        rc = icx_header_format(&text, &h, json);
    if (rc == 0)
        fputs(text.data, stdout);
    free(data);
    icx_buf_free(&text);
    if (rc < 0) {
        icx_err_wrap(&err, "%s", file);
        return icx_cli_fail(rc, &err);
    }
    return ICX_EXIT_OK;
}

int icx_cmd_envelope(int argc, char **argv)
{
    if (argc < 2)
        return usage(ICX_EXIT_USAGE);
    if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0)
        return usage(ICX_EXIT_OK);
    if (strcmp(argv[1], "build") == 0)
        return env_build(argc - 1, argv + 1);
    if (strcmp(argv[1], "sign") == 0)
        return env_sign(argc - 1, argv + 1);
    if (strcmp(argv[1], "verify") == 0)
        return env_verify(argc - 1, argv + 1);
    if (strcmp(argv[1], "show") == 0)
        return env_show(argc - 1, argv + 1);
    icx_cli_error("unknown envelope command \"%s\" (build, sign, verify, show)",
                  argv[1]);
    return ICX_EXIT_USAGE;
}
