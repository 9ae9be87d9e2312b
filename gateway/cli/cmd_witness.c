/*
 * cmd_witness.c - `icx audit witness-export|witness-import|witnesses`:
 * partners witnessing each other's audit logs by hand (docs/AUDIT.md,
 * "Witnesses").  export writes this gateway's latest signed checkpoint
 * with the consistency proof from the size a partner kept; import judges
 * a partner's document against the last good checkpoint of that partner
 * kept in the store, keeps it with the verdict (and its audit record),
 * co-signs a good one; witnesses lists what was seen per partner.
 *
 * Ownership: everything is freed before return.  Threads: one.  Exit
 * codes: 0 good, 1 fork, rollback, badsig or unproven (the alert is on
 * stderr), 2 usage, 3 failure.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit.h"
#include "cli.h"
#include "config.h"
#include "signkey.h"
#include "store.h"
#include "util.h"
#include "witness.h"

static const char usage_text[] =
    "usage: icx audit witness-export --out FILE [--from SIZE] [-c CONFIG]\n"
    "       icx audit witness-import FILE --partner ID [--cosign-out FILE]\n"
    "                                [-c CONFIG]\n"
    "       icx audit witness-cosigned FILE --partner ID [-c CONFIG]\n"
    "       icx audit witnesses [--json] [-c CONFIG]\n\n"
    "witness-export writes this gateway's latest signed checkpoint and the\n"
    "RFC 6962 consistency proof from SIZE (the size of the checkpoint the\n"
    "partner kept, which its last import printed) for the partner to import.\n"
    "witness-import judges a partner's document against the last good\n"
    "checkpoint of that partner kept here: first, same, consistent (it\n"
    "extends the one kept), fork (another log: rewritten), rollback (the\n"
    "log went back), unproven (the proof starts at another size), badsig.\n"
    "Every verdict is kept and audited; a good checkpoint is co-signed\n"
    "(--cosign-out writes the co-signature for the partner).\n"
    "witness-cosigned keeps a partner's co-signature of one of this\n"
    "gateway's checkpoints (checked with its certificate); evidence bundles\n"
    "of that checkpoint carry it.\n"
    "witnesses lists, per partner, the last checkpoint seen, when, and\n"
    "whether consistency held.\n"
    "Exit codes: 0 good, 1 fork, rollback, badsig or unproven, 2 usage,\n"
    "3 failure.\n";

struct wopts {
    const char *config, *out, *partner, *cosign_out, *file;
    uint64_t from;
    int json;
};

static int parse(struct wopts *o, int argc, char **argv)
{
    static const struct option lo[] = {
        {"config", required_argument, NULL, 'c'},
        {"out", required_argument, NULL, 'o'},
        {"from", required_argument, NULL, 'f'},
        {"partner", required_argument, NULL, 'p'},
        {"cosign-out", required_argument, NULL, 'C'},
        {"json", no_argument, NULL, 'j'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int c;
    char *end = NULL;
    memset(o, 0, sizeof *o);
    o->config = icx_cli_default_config();
    optind = 1;
    while ((c = getopt_long(argc, argv, "c:o:h", lo, NULL)) != -1) {
        switch (c) {
        case 'c': o->config = optarg; break;
        case 'o': o->out = optarg; break;
        case 'f':
            o->from = strtoull(optarg, &end, 10);
            if (*optarg < '0' || *optarg > '9' || *end != '\0')
                return -1;
            break;
        case 'p': o->partner = optarg; break;
        case 'C': o->cosign_out = optarg; break;
        case 'j': o->json = 1; break;
        case 'h': return 1;
        default: return -1;
        }
    }
    o->file = optind < argc ? argv[optind] : NULL;
    return 0;
}

static int open_all(icx_config **cfg, icx_store **s, const char *config,
                    icx_err *err)
{
    int rc = icx_config_load(cfg, config, NULL, err);
    if (rc < 0)
        return rc;
    return icx_store_open(s, (*cfg)->store_path, err);
}

static int done(int rc, const icx_err *err, icx_store **s, icx_config **cfg)
{
    icx_store_free(s);
    icx_config_free(cfg);
    if (rc < 0) {
        return icx_cli_fail(rc, err);
    }
    return ICX_EXIT_OK;
}

static int cmd_export(const struct wopts *o)
{
    icx_config *cfg = NULL;
    icx_store *s = NULL;
    icx_witness_doc d;
    icx_buf out;
    icx_err err;
    icx_err_clear(&err);
    icx_buf_init(&out, ICX_WITNESS_DOC_MAX);
    memset(&d, 0, sizeof d);
    if (o->out == NULL) {
        fputs(usage_text, stderr);
        return ICX_EXIT_USAGE;
    }
    int rc = open_all(&cfg, &s, o->config, &err);
    if (rc == ICX_OK) {
        rc = icx_store_checkpoint_last(s, &d.cp, &err);
        if (rc == ICX_ENOTFOUND)
            icx_err_set(&err, rc, "no signed checkpoint yet");
    }
    if (rc == ICX_OK && o->from > 0 && o->from < d.cp.size) {
        d.from = o->from;
        rc = icx_store_consistency(s, o->from, d.cp.size, d.proof, &d.nproof,
                                   &err);
    } else if (rc == ICX_OK && o->from == d.cp.size) {
        d.from = o->from; /* the same checkpoint again: no proof needed */
    } else if (rc == ICX_OK && o->from > d.cp.size) {
        rc = icx_err_set(&err, ICX_EINVAL, "--from %llu is beyond the last "
                         "checkpoint (size %llu)",
                         (unsigned long long)o->from,
                         (unsigned long long)d.cp.size);
    }
    if (rc == ICX_OK)
        rc = icx_witness_doc_write(&out, &d);
    if (rc == ICX_OK)
        rc = icx_file_write_atomic(o->out, out.data, out.len, 0644, &err);
    if (rc == ICX_OK)
        printf("wrote the checkpoint of %s, size %llu, with a proof from "
               "size %llu to %s\n", d.cp.gateway,
               (unsigned long long)d.cp.size, (unsigned long long)d.from,
               o->out);
    icx_buf_free(&out);
    return done(rc, &err, &s, &cfg);
}

/* The configuration and store, the partner's certificate (from its
 * partner file) and the document o->file a partner sent. */
static int open_partner_doc(icx_config **cfg, icx_store **s, char **cert,
                            size_t *cert_len, char **text, size_t *len,
                            const struct wopts *o, icx_err *err)
{
    int rc = open_all(cfg, s, o->config, err);
    const icx_partner *p = rc == ICX_OK ? icx_config_partner(*cfg, o->partner)
                                        : NULL;
    if (rc == ICX_OK && p == NULL)
        rc = icx_err_set(err, ICX_ENOTFOUND, "no partner %s in %s",
                         o->partner, o->config);
    if (rc == ICX_OK)
        rc = icx_file_read(cert, cert_len, p->certificate, 256 * 1024, err);
    if (rc == ICX_OK)
        rc = icx_file_read(text, len, o->file, ICX_WITNESS_DOC_MAX, err);
    return rc;
}

static int cmd_import(const struct wopts *o)
{
    icx_config *cfg = NULL;
    icx_store *s = NULL;
    icx_signer *key = NULL;
    icx_witness_doc d;
    icx_checkpoint prev;
    char *text = NULL, *cert = NULL;
    size_t len = 0, cert_len = 0;
    char cosig[1400] = "";
    int verdict = -1, have_prev = 0, code;
    icx_err err, why;
    icx_err_clear(&err);
    icx_err_clear(&why);
    if (o->file == NULL || o->partner == NULL) {
        fputs(usage_text, stderr);
        return ICX_EXIT_USAGE;
    }
    int rc = open_partner_doc(&cfg, &s, &cert, &cert_len, &text, &len, o,
                              &err);
    if (rc == ICX_OK && (rc = icx_witness_doc_parse(&d, text, len, &err)) < 0)
        icx_err_wrap(&err, "%s", o->file);
    if (rc == ICX_OK) {
        rc = icx_store_witness_last(s, o->partner, &prev, &err);
        have_prev = rc == ICX_OK;
        if (rc == ICX_ENOTFOUND)
            rc = ICX_OK;
    }
    if (rc == ICX_OK)
        rc = icx_witness_judge(&verdict, have_prev ? &prev : NULL, &d,
                               o->partner, cert, cert_len, &why);
    int good = verdict == ICX_WITNESS_FIRST || verdict == ICX_WITNESS_SAME ||
               verdict == ICX_WITNESS_CONSISTENT;
    if (rc == ICX_OK && good) {
        rc = icx_signkey_open(&key, cfg, &err);
        if (rc == ICX_OK)
            rc = icx_witness_cosign(cosig, sizeof cosig, &d.cp, cfg->id, key,
                                    &err);
    }
    if (rc == ICX_OK && verdict == ICX_WITNESS_STALE) {
        printf("%s checkpoint size %llu: stale (signed before the one kept, "
               "size %llu): ignored\n", o->partner,
               (unsigned long long)d.cp.size, (unsigned long long)prev.size);
        code = done(rc, &err, &s, &cfg);
        goto out;
    }
    if (rc == ICX_OK)
        rc = icx_store_witness_add(s, o->partner, &d.cp, verdict,
                                   good ? NULL : why.msg, cosig, &err);
    if (rc == ICX_OK && good && o->cosign_out != NULL) {
        icx_buf out;
        icx_buf_init(&out, 8192);
        rc = icx_witness_cosig_text(&out, &d.cp, cfg->id);
        if (rc == ICX_OK)
            rc = icx_buf_printf(&out, "signature %s\n", cosig);
        if (rc == ICX_OK)
            rc = icx_file_write_atomic(o->cosign_out, out.data, out.len, 0644,
                                       &err);
        icx_buf_free(&out);
    }
    if (rc == ICX_OK && good) {
        printf("%s checkpoint size %llu: %s%s; keep --from %llu for its next "
               "export\n", o->partner, (unsigned long long)d.cp.size,
               icx_witness_verdict_name(verdict),
               verdict == ICX_WITNESS_CONSISTENT ? " (extends the one kept)"
                                                 : "",
               (unsigned long long)d.cp.size);
    } else if (rc == ICX_OK) {
        icx_cli_error("alert: %s checkpoint size %llu: %s: %s", o->partner,
                      (unsigned long long)d.cp.size,
                      icx_witness_verdict_name(verdict), why.msg);
    }
    code = done(rc, &err, &s, &cfg);
    if (code == ICX_EXIT_OK && !good)
        code = ICX_EXIT_REFUSED;
out:
    icx_signer_free(&key);
    free(text);
    free(cert);
    return code;
}

struct wctx {
    int json, n;
};

static int show_w(void *ctx, const icx_witness_row *w)
{
    struct wctx *c = ctx;
    int held = strcmp(w->verdict, "first") == 0 ||
               strcmp(w->verdict, "same") == 0 ||
               strcmp(w->verdict, "consistent") == 0;
    if (c->json) {
        printf("%s{\"partner\":\"%s\",\"size\":%llu,\"time\":\"%s\","
               "\"seen_at\":\"%s\",\"verdict\":\"%s\",\"consistent\":%s,"
               "\"seen\":%llu,\"alarms\":%llu,\"good_size\":%llu}",
               c->n ? ",\n" : "", w->partner, (unsigned long long)w->size,
               w->time, w->seen_at, w->verdict, held ? "true" : "false",
               (unsigned long long)w->seen, (unsigned long long)w->alarms,
               (unsigned long long)w->good_size);
    } else {
        printf("%-10s %8llu  %-24s  %-20s  %-10s %6llu %6llu  %s\n",
               w->partner, (unsigned long long)w->size, w->time, w->seen_at,
               w->verdict, (unsigned long long)w->seen,
               (unsigned long long)w->alarms, w->reason);
    }
    c->n++;
    return 0;
}

static int cmd_witnesses(const struct wopts *o)
{
    icx_config *cfg = NULL;
    icx_store *s = NULL;
    icx_err err;
    struct wctx c = {o->json, 0};
    icx_err_clear(&err);
    int rc = open_all(&cfg, &s, o->config, &err);
    if (rc == ICX_OK) {
        if (o->json)
            printf("[");
        else
            printf("%-10s %8s  %-24s  %-20s  %-10s %6s %6s  %s\n", "partner",
                   "size", "signed", "seen", "verdict", "seen", "alarms",
                   "reason");
        rc = icx_store_witnesses(s, show_w, &c, &err);
        if (o->json)
            printf("]\n");
    }
    return done(rc, &err, &s, &cfg);
}

static int cmd_cosigned(const struct wopts *o)
{
    icx_config *cfg = NULL;
    icx_store *s = NULL;
    char *text = NULL, *cert = NULL;
    size_t len = 0, cert_len = 0;
    uint64_t size = 0;
    icx_err err;
    icx_err_clear(&err);
    if (o->file == NULL || o->partner == NULL) {
        fputs(usage_text, stderr);
        return ICX_EXIT_USAGE;
    }
    int rc = open_partner_doc(&cfg, &s, &cert, &cert_len, &text, &len, o,
                              &err);
    if (rc == ICX_OK &&
        (rc = icx_store_cosig_accept(s, o->partner, cert, cert_len, text, len,
                                     &size, &err)) < 0)
        icx_err_wrap(&err, "%s", o->file);
    if (rc == ICX_OK)
        printf("kept %s's co-signature of checkpoint size %llu\n", o->partner,
               (unsigned long long)size);
    free(text);
    free(cert);
    return done(rc, &err, &s, &cfg);
}

int icx_cmd_audit_witness(int argc, char **argv)
{
    struct wopts o;
    const char *sub = argv[1];
    int p = parse(&o, argc - 1, argv + 1);
    if (p != 0) {
        fputs(usage_text, p > 0 ? stdout : stderr);
        return p > 0 ? ICX_EXIT_OK : ICX_EXIT_USAGE;
    }
    if (strcmp(sub, "witness-export") == 0)
        return cmd_export(&o);
    if (strcmp(sub, "witness-import") == 0)
        return cmd_import(&o);
    if (strcmp(sub, "witness-cosigned") == 0)
        return cmd_cosigned(&o);
    return cmd_witnesses(&o);
}
