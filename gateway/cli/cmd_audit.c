/*
 * cmd_audit.c - `icx audit verify|show|bundle|check-bundle|export`.
 *
 * These read the store file directly (SQLite WAL lets them run beside the
 * daemon) or exported segment files; they never change the log.  The
 * gateway certificate named in the configuration checks checkpoint
 * signatures.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "audit.h"
#include "bundle.h"
#include "cli.h"
#include "config.h"
#include "store.h"
#include "util.h"

static const char usage_text[] =
    "usage: icx audit verify [-c CONFIG | --store DB --cert CERT] \n"
    "       icx audit verify --from SEGMENT [--from SEGMENT...] --cert CERT\n"
    "       icx audit show [-c CONFIG] [--message ID] [--partner ID]\n"
    "                      [--event NAME] [--since TIME] [--until TIME] [--json]\n"
    "       icx audit show --checkpoints [-c CONFIG] [--since TIME] [--until TIME]\n"
    "                      [--json]\n"
    "       icx audit bundle MESSAGE-ID --out FILE [-c CONFIG]\n"
    "       icx audit check-bundle FILE\n"
    "       icx audit export --out FILE [--since TIME] [--until TIME] [-c CONFIG]\n"
    "       icx audit witness-export|witness-import|witness-cosigned|witnesses\n"
    "                      (see --help of each)\n\n"
    "export writes the records with since <= time < until (a segment).\n"
    "verify checks every record (hash and link to the one before), every\n"
    "signed checkpoint (signature, and that its root is the tree of the\n"
    "records it covers, so each extends the one before), and that nothing\n"
    "after the last checkpoint is missing.  On damage it names the first bad\n"
    "record and the kind: edited, deleted, reordered, inserted, truncated.\n"
    "With a head file beside the store (DB.head), the store must also hold\n"
    "the checkpoint it names, as `icx store check` requires.\n"
    "Segments from `audit export` are verified in the order given, so a chain\n"
    "cut into archive files is checked across them.\n"
    "show --checkpoints lists the signed checkpoints and their RFC 3161\n"
    "time-stamps: stamped (genTime, and gap_s, the seconds from signing to\n"
    "the stamp), queued (waiting for the TSA; gap_s so far) or covered (by\n"
    "the stamp of a later checkpoint).  Each token is checked against its\n"
    "checkpoint and, with audit.tsa.ca_file configured, the TSA's CA; a\n"
    "token refused makes the exit code 1.\n"
    "bundle writes the evidence bundle of one message (docs/AUDIT.md tells how\n"
    "to check one with sha256sum and openssl alone); check-bundle checks it.\n"
    "TIME is UTC like 2026-11-26T01:02:03Z (a prefix such as 2026-11 works).\n"
    "Exit codes: 0 intact, 1 damaged or refused, 2 usage, 3 failure.\n";

struct opts {
    const char *config, *store, *cert, *out;
    const char *from[256];
    int nfrom;
    const char *message, *partner, *event, *since, *until;
    int json, checkpoints;
};

static int parse(struct opts *o, int argc, char **argv)
{
    static const struct option lo[] = {
        {"config", required_argument, NULL, 'c'},
        {"store", required_argument, NULL, 's'},
        {"cert", required_argument, NULL, 'C'},
        {"from", required_argument, NULL, 'f'},
        {"out", required_argument, NULL, 'o'},
        {"message", required_argument, NULL, 'm'},
        {"partner", required_argument, NULL, 'p'},
        {"event", required_argument, NULL, 'e'},
        {"since", required_argument, NULL, 'S'},
        {"until", required_argument, NULL, 'U'},
        {"json", no_argument, NULL, 'j'},
        {"checkpoints", no_argument, NULL, 'k'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int c;
    memset(o, 0, sizeof *o);
    o->config = icx_cli_default_config();
    optind = 1;
    while ((c = getopt_long(argc, argv, "c:o:h", lo, NULL)) != -1) {
        switch (c) {
        case 'c': o->config = optarg; break;
        case 's': o->store = optarg; break;
        case 'C': o->cert = optarg; break;
        case 'f':
            if (o->nfrom == 256)
                return -1;
            o->from[o->nfrom++] = optarg;
            break;
        case 'o': o->out = optarg; break;
        case 'm': o->message = optarg; break;
        case 'p': o->partner = optarg; break;
        case 'e': o->event = optarg; break;
        case 'S': o->since = optarg; break;
        case 'U': o->until = optarg; break;
        case 'j': o->json = 1; break;
        case 'k': o->checkpoints = 1; break;
        case 'h': return 1;
        default: return -1;
        }
    }
    return 0;
}

/* The store and, when known, the gateway certificate and config. */
static int open_store(icx_store **s, icx_config **cfg, char **cert,
                      size_t *cert_len, const struct opts *o, icx_err *err)
{
    const char *path = o->store, *cert_path = o->cert;
    int rc = ICX_OK;
    *cert = NULL;
    *cert_len = 0;
    if (path == NULL) {
        rc = icx_config_load(cfg, o->config, NULL, err);
        if (rc < 0)
            return icx_err_wrap(err, "%s (or give --store and --cert)",
                                o->config);
        path = (*cfg)->store_path;
        if (cert_path == NULL)
            cert_path = icx_config_audit_certs(*cfg);
    }
    if (!icx_store_is_url(path) && access(path, F_OK) != 0)
        return icx_err_set(err, ICX_ENOTFOUND, "%s: no such store", path);
    if (cert_path != NULL) {
        rc = icx_file_read(cert, cert_len, cert_path, 256 * 1024, err);
        if (rc < 0)
            return rc;
    }
    return icx_store_open(s, path, err);
}

/* Closes what open_store opened; the exit code for rc. */
static int finish(int rc, const icx_err *err, icx_store **s, icx_config **cfg,
                  char *cert)
{
    icx_store_free(s);
    icx_config_free(cfg);
    free(cert);
    if (rc < 0) {
        return icx_cli_fail(rc, err);
    }
    return ICX_EXIT_OK;
}

static int cmd_verify_store(const struct opts *o)
{
    icx_err err;
    icx_store *s = NULL;
    icx_config *cfg = NULL;
    char *cert = NULL;
    size_t cert_len = 0;
    icx_audit_report rep;
    icx_err_clear(&err);
    int rc = open_store(&s, &cfg, &cert, &cert_len, o, &err);
    if (rc == ICX_OK)
        rc = icx_store_audit_verify_with(s, cert, cert_len, &rep, &err);
    /* A log that lost its tail verifies on its own: with a head file
     * beside the store, it must still hold the checkpoint named there
     * (docs/STORE.md).  A copy without its head file is checked alone. */
    const char *path = o->store ? o->store : cfg ? cfg->store_path : NULL;
    const char *cert_path = o->cert ? o->cert : cfg ? icx_config_audit_certs(cfg) : NULL;
    char head[4096];
    struct stat sb;
    int url = path != NULL && icx_store_is_url(path);
    const char *node_head = url && cfg != NULL ? cfg->store_head : NULL;
    if (rc == ICX_OK && cert != NULL && path != NULL && cert_path != NULL &&
        (url ? node_head != NULL &&
                   snprintf(head, sizeof head, "%s", node_head) <
                       (int)sizeof head
             : snprintf(head, sizeof head, "%s.head", path) <
                   (int)sizeof head) &&
        lstat(head, &sb) == 0) {
        if (node_head != NULL)
            rc = icx_store_set_head(s, node_head, &err);
        if (rc == ICX_OK)
            rc = icx_store_check(s, cert_path, 0, NULL, &err);
        if (rc == ICX_ECORRUPT)
            rc = ICX_EBADSIG;
    }
    int code;
    if (rc == ICX_EBADSIG) {
        printf("damaged: %s\n", err.msg);
        code = ICX_EXIT_REFUSED;
    } else if (rc < 0) {
        code = icx_cli_fail(rc, &err);
    } else {
        icx_checkpoint last;
        int have = icx_store_checkpoint_last(s, &last, &err) == ICX_OK;
        printf("ok: %llu records and %llu signed checkpoints verified%s",
               (unsigned long long)rep.records,
               (unsigned long long)rep.checkpoints,
               cert ? "" : " (no certificate: signatures not checked)");
        if (have)
            printf("; last checkpoint size %llu root %s at %s",
                   (unsigned long long)last.size, last.root, last.time);
        printf("\n");
        code = ICX_EXIT_OK;
    }
    icx_store_free(&s);
    icx_config_free(&cfg);
    free(cert);
    return code;
}

/* Segment lines: "R <hash> <line>" and "C <size> <root> <time> <sig>". */
static int parse_record(icx_audit_rec *r, char *text)
{
    char *sp = strchr(text, ' ');
    if (sp == NULL || sp - text != 64)
        return -1;
    memcpy(r->hash, text, 64);
    r->hash[64] = '\0';
    char *f[7];
    char *p = sp + 1;
    for (int i = 0; i < 7; i++) {
        f[i] = p;
        char *bar = i < 6 ? strchr(p, '|') : NULL;
        if (i < 6 && bar == NULL)
            return -1;
        if (bar != NULL) {
            *bar = '\0';
            p = bar + 1;
        }
    }
    if (strchr(f[6], '|') != NULL)
        return -1;
    r->seq = strtoll(f[0], NULL, 10);
    snprintf(r->ts, sizeof r->ts, "%s", f[1]);
    snprintf(r->event, sizeof r->event, "%s", f[2]);
    snprintf(r->message_id, sizeof r->message_id, "%s", f[3]);
    snprintf(r->partner, sizeof r->partner, "%s", f[4]);
    snprintf(r->detail, sizeof r->detail, "%s", f[5]);
    snprintf(r->prev, sizeof r->prev, "%s", f[6]);
    return 0;
}

static int cmd_verify_segments(const struct opts *o)
{
    icx_err err;
    icx_audit_verifier *v = NULL;
    char *cert = NULL;
    size_t cert_len = 0;
    int rc = ICX_OK, code = ICX_EXIT_FAILURE, first = 1;
    icx_err_clear(&err);
    if (o->cert == NULL)
        fprintf(stderr, "icx: warning: no --cert: checkpoint signatures are "
                        "not checked\n");
    else if ((rc = icx_file_read(&cert, &cert_len, o->cert, 256 * 1024, &err)) < 0)
        goto fail;
    if ((rc = icx_audit_verifier_new(&v, cert, cert_len, &err)) < 0)
        goto fail;
    for (int i = 0; i < o->nfrom; i++) {
        char *data = NULL;
        size_t len = 0;
        rc = icx_file_read(&data, &len, o->from[i], 1L << 32, &err);
        if (rc < 0)
            goto fail;
        if (strncmp(data, "icx-audit-segment v1\n", 21) != 0) {
            free(data);
            rc = icx_err_set(&err, ICX_EINVAL, "%s: not an ICX audit segment",
                             o->from[i]);
            goto fail;
        }
        int lineno = 0;
        char *save = NULL;
        char gateway[32] = "";
        for (char *line = strtok_r(data, "\n", &save); line != NULL && rc == 0;
             line = strtok_r(NULL, "\n", &save)) {
            lineno++;
            if (strncmp(line, "gateway ", 8) == 0)
                snprintf(gateway, sizeof gateway, "%s", line + 8);
            if (line[0] == 'R' && line[1] == ' ') {
                icx_audit_rec r;
                if (parse_record(&r, line + 2) < 0) {
                    rc = icx_err_set(&err, ICX_EBADSIG, "%s:%d: malformed "
                                     "record line", o->from[i], lineno);
                    break;
                }
                if (first) {
                    icx_audit_verifier_resume(v, r.seq, r.prev);
                    first = 0;
                }
                rc = icx_audit_verifier_record(v, &r);
            } else if (line[0] == 'C' && line[1] == ' ') {
                icx_checkpoint c;
                unsigned long long size;
                memset(&c, 0, sizeof c);
                if (sscanf(line + 2, "%llu %64s %31s %1023s", &size, c.root,
                           c.time, c.signature) != 4) {
                    rc = icx_err_set(&err, ICX_EBADSIG, "%s:%d: malformed "
                                     "checkpoint line", o->from[i], lineno);
                    break;
                }
                c.size = size;
                snprintf(c.gateway, sizeof c.gateway, "%s", gateway);
                rc = icx_audit_verifier_checkpoint(v, &c);
            }
        }
        free(data);
        if (rc < 0)
            goto fail;
    }
    uint64_t nrec, ncp;
    int kind;
    int64_t seq;
    rc = icx_audit_verifier_finish(v, &nrec, &ncp, &kind, &seq, &err);
    if (rc == ICX_OK) {
        printf("ok: %llu records and %llu signed checkpoints verified across "
               "%d segment(s)\n", (unsigned long long)nrec,
               (unsigned long long)ncp, o->nfrom);
        code = ICX_EXIT_OK;
        goto out;
    }
fail:
    if (rc == ICX_EBADSIG) {
        printf("damaged: %s\n", err.msg);
        code = ICX_EXIT_REFUSED;
    } else {
        code = icx_cli_fail(rc, &err);
    }
out:
    icx_audit_verifier_free(&v);
    free(cert);
    return code;
}

struct show_ctx {
    const struct opts *o;
    icx_buf *out;
    int n;
    FILE *seg;
};

static int matches(const struct opts *o, const icx_audit_rec *r)
{
    if (o->message && strcmp(r->message_id, o->message) != 0)
        return 0;
    if (o->partner && strcmp(r->partner, o->partner) != 0)
        return 0;
    if (o->event && strncmp(r->event, o->event, strlen(o->event)) != 0)
        return 0;
    if (o->since && strncmp(r->ts, o->since, strlen(o->since)) < 0)
        return 0;
    if (o->until && strncmp(r->ts, o->until, strlen(o->until)) > 0)
        return 0;
    return 1;
}

static int show_one(void *ctx, const icx_audit_rec *r)
{
    struct show_ctx *c = ctx;
    if (!matches(c->o, r))
        return 0;
    if (c->o->json) {
        icx_buf_printf(c->out, "%s{\"seq\":%lld,\"time\":\"%s\",\"event\":\"%s\","
                       "\"message_id\":\"%s\",\"partner\":\"%s\",\"detail\":",
                       c->n ? ",\n" : "", (long long)r->seq, r->ts, r->event,
                       r->message_id, r->partner);
        icx_buf_put_json(c->out, r->detail);
        icx_buf_printf(c->out, ",\"hash\":\"%s\"}", r->hash);
    } else {
        icx_buf_printf(c->out, "%6lld  %s  %-24s %-36s %-10s %s\n",
                       (long long)r->seq, r->ts, r->event,
                       r->message_id[0] ? r->message_id : "-",
                       r->partner[0] ? r->partner : "-", r->detail);
    }
    c->n++;
    if (c->out->len > (1 << 20)) {
        fwrite(c->out->data, 1, c->out->len, stdout);
        icx_buf_reset(c->out);
    }
    return 0;
}

static int cmd_show(const struct opts *o)
{
    icx_err err;
    icx_store *s = NULL;
    icx_config *cfg = NULL;
    char *cert = NULL;
    size_t cert_len = 0;
    icx_buf out;
    icx_err_clear(&err);
    icx_buf_init(&out, 8 << 20);
    struct show_ctx c = {o, &out, 0, NULL};
    int rc = open_store(&s, &cfg, &cert, &cert_len, o, &err);
    if (rc == ICX_OK) {
        if (o->json)
            icx_buf_puts(&out, "[");
        rc = icx_store_audit_scan(s, 1, 0, show_one, &c, &err);
        if (o->json)
            icx_buf_puts(&out, "]\n");
        fwrite(out.data ? out.data : "", 1, out.len, stdout);
    }
    icx_buf_free(&out);
    return finish(rc, &err, &s, &cfg, cert);
}

/* ---- show --checkpoints: time-stamps ------------------------------------- */

struct cp_ctx {
    const struct opts *o;
    icx_store *s;
    const char *ca_file;    /* audit.tsa.ca_file, or NULL */
    icx_buf *out;
    int n, refused;
    uint64_t stamped, queued, covered;
    long long oldest_wait;
    int rc;
    icx_err *err;
};

static int show_cp(void *ctx, const icx_checkpoint *c)
{
    struct cp_ctx *k = ctx;
    const struct opts *o = k->o;
    icx_tsa_stamp st;
    icx_buf token, text;
    icx_err terr;
    uint64_t at = 0;
    char stamped_at[32] = "";
    const char *state, *check = "-";
    long long gap = 0;
    time_t signed_at = 0;
    if ((o->since && strncmp(c->time, o->since, strlen(o->since)) < 0) ||
        (o->until && strncmp(c->time, o->until, strlen(o->until)) > 0))
        return 0;
    icx_buf_init(&token, ICX_TSA_REPLY_MAX);
    icx_buf_init(&text, 4096);
    icx_err_clear(&terr);
    icx_time_parse(&signed_at, c->time);
    int rc = icx_store_stamp_get(k->s, c->size, &at, &st, &token, stamped_at,
                                 k->err);
    if (rc < 0 && rc != ICX_ENOTFOUND) {
        k->rc = rc;
        goto out;
    }
    if (rc == ICX_OK && at == c->size) {
        state = "stamped";
        k->stamped++;
        gap = (long long)(st.gen_epoch - (int64_t)signed_at);
        if (icx_checkpoint_text(&text, c) < 0 ||
            icx_tsa_token_check(NULL, token.data, token.len, text.data,
                                text.len, k->ca_file, &terr) < 0) {
            check = "REFUSED";
            k->refused++;
        } else {
            check = k->ca_file != NULL ? "verified" : "imprint-ok";
        }
    } else if (rc == ICX_OK) {
        state = "covered";
        k->covered++;
    } else {
        state = "queued";
        k->queued++;
        gap = (long long)(time(NULL) - signed_at);
        if (gap > k->oldest_wait)
            k->oldest_wait = gap;
    }
    int stamped = strcmp(state, "stamped") == 0;
    if (o->json) {
        icx_buf_printf(k->out, "%s{\"size\":%llu,\"time\":\"%s\",\"state\":"
                       "\"%s\"", k->n ? ",\n" : "",
                       (unsigned long long)c->size, c->time, state);
        if (stamped)
            icx_buf_printf(k->out, ",\"gen_time\":\"%s\",\"serial\":\"%s\","
                           "\"policy\":\"%s\",\"token\":\"%s\"", st.gen_time,
                           st.serial, st.policy, check);
        if (stamped || state[0] == 'q')
            icx_buf_printf(k->out, ",\"gap_s\":%lld", gap);
        if (state[0] == 'c')
            icx_buf_printf(k->out, ",\"covered_by\":%llu",
                           (unsigned long long)at);
        if (terr.rc < 0) {
            icx_buf_puts(k->out, ",\"error\":");
            icx_buf_put_json(k->out, terr.msg);
        }
        icx_buf_puts(k->out, "}");
    } else {
        char second[32] = "-", g[24] = "-";
        if (stamped)
            snprintf(second, sizeof second, "%s", st.gen_time);
        else if (state[0] == 'c')
            snprintf(second, sizeof second, "by %llu", (unsigned long long)at);
        if (stamped || state[0] == 'q')
            snprintf(g, sizeof g, "%lld", gap);
        icx_buf_printf(k->out, "%8llu  %-24s  %-8s  %-20s  %7s  %s%s%s\n",
                       (unsigned long long)c->size, c->time, state, second, g,
                       check, terr.rc < 0 ? ": " : "",
                       terr.rc < 0 ? terr.msg : "");
    }
    k->n++;
out:
    icx_buf_free(&token);
    icx_buf_free(&text);
    return k->rc < 0 ? -1 : 0;
}

static int cmd_show_checkpoints(const struct opts *o)
{
    icx_err err;
    icx_store *s = NULL;
    icx_config *cfg = NULL;
    char *cert = NULL;
    size_t cert_len = 0;
    icx_buf out;
    icx_err_clear(&err);
    icx_buf_init(&out, 64 << 20);
    struct cp_ctx k = {o, NULL, NULL, &out, 0, 0, 0, 0, 0, 0, ICX_OK, &err};
    int rc = open_store(&s, &cfg, &cert, &cert_len, o, &err);
    if (rc == ICX_OK) {
        k.s = s;
        k.ca_file = cfg != NULL ? cfg->tsa_ca_file : NULL;
        if (o->json)
            icx_buf_puts(&out, "[");
        else
            icx_buf_printf(&out, "%8s  %-24s  %-8s  %-20s  %7s  %s\n", "size",
                           "signed", "state", "gen_time", "gap_s", "token");
        rc = icx_store_checkpoints(s, 0, show_cp, &k, &err);
        if (rc > 0 || (rc == ICX_OK && k.rc < 0))
            rc = k.rc;
        if (o->json)
            icx_buf_puts(&out, "]\n");
        else
            icx_buf_printf(&out, "%d checkpoints: %llu stamped, %llu queued "
                           "(the oldest waiting %lld s), %llu covered by a "
                           "later stamp%s\n", k.n,
                           (unsigned long long)k.stamped,
                           (unsigned long long)k.queued, k.oldest_wait,
                           (unsigned long long)k.covered,
                           k.refused ? "; TOKENS REFUSED" : "");
        fwrite(out.data ? out.data : "", 1, out.len, stdout);
    }
    icx_buf_free(&out);
    int code = finish(rc, &err, &s, &cfg, cert);
    if (code == ICX_EXIT_OK && k.refused > 0) {
        icx_cli_error("%d time-stamp token(s) refused", k.refused);
        code = ICX_EXIT_REFUSED;
    }
    return code;
}

struct export_ctx {
    const struct opts *o;
    icx_buf *out;
    int64_t first, last;
    int n;
};

static int export_rec(void *ctx, const icx_audit_rec *r)
{
    struct export_ctx *c = ctx;
    /* --since is inclusive, --until exclusive, so that consecutive exports
     * split at one time hold every record exactly once. */
    if ((c->o->since && strcmp(r->ts, c->o->since) < 0) ||
        (c->o->until && strcmp(r->ts, c->o->until) >= 0))
        return 0;
    if (c->first == 0)
        c->first = r->seq;
    c->last = r->seq;
    icx_buf_printf(c->out, "R %s ", r->hash);
    icx_audit_line(c->out, r);
    icx_buf_puts(c->out, "\n");
    c->n++;
    return 0;
}

static int export_cp(void *ctx, const icx_checkpoint *cp)
{
    struct export_ctx *c = ctx;
    if ((int64_t)cp->size >= c->first && (int64_t)cp->size <= c->last)
        icx_buf_printf(c->out, "C %llu %s %s %s\n",
                       (unsigned long long)cp->size, cp->root, cp->time,
                       cp->signature);
    return 0;
}

static int cmd_export(const struct opts *o)
{
    icx_err err;
    icx_store *s = NULL;
    icx_config *cfg = NULL;
    char *cert = NULL;
    size_t cert_len = 0;
    icx_buf out;
    icx_err_clear(&err);
    icx_buf_init(&out, 1L << 32);
    struct export_ctx c = {o, &out, 0, 0, 0};
    if (o->out == NULL) {
        fputs(usage_text, stderr);
        return ICX_EXIT_USAGE;
    }
    int rc = open_store(&s, &cfg, &cert, &cert_len, o, &err);
    if (rc == ICX_OK) {
        icx_buf_printf(&out, "icx-audit-segment v1\ngateway %s\n",
                       cfg ? cfg->id : "-");
        rc = icx_store_audit_scan(s, 1, 0, export_rec, &c, &err);
    }
    if (rc == ICX_OK)
        rc = icx_store_checkpoints(s, 0, export_cp, &c, &err);
    if (rc == ICX_OK)
        rc = icx_file_write_atomic(o->out, out.data, out.len, 0600, &err);
    if (rc == ICX_OK)
        printf("exported records %lld..%lld (%d) to %s\n", (long long)c.first,
               (long long)c.last, c.n, o->out);
    icx_buf_free(&out);
    return finish(rc, &err, &s, &cfg, cert);
}

static int cmd_bundle(const struct opts *o, const char *message_id)
{
    icx_err err;
    icx_store *s = NULL;
    icx_config *cfg = NULL;
    char *cert = NULL;
    size_t cert_len = 0;
    icx_buf out, warn;
    icx_err_clear(&err);
    icx_buf_init(&out, 512 << 20);
    icx_buf_init(&warn, 1 << 20);
    if (o->out == NULL || message_id == NULL || o->store != NULL) {
        fputs(usage_text, stderr);
        return ICX_EXIT_USAGE;
    }
    int rc = open_store(&s, &cfg, &cert, &cert_len, o, &err);
    if (rc == ICX_OK)
        rc = icx_bundle_write(&out, s, cfg, message_id, &warn, &err);
    if (rc == ICX_OK)
        rc = icx_file_write_atomic(o->out, out.data, out.len, 0600, &err);
    if (rc == ICX_OK) {
        if (warn.len > 0)
            fprintf(stderr, "icx: warning: %s", warn.data);
        printf("wrote the evidence bundle of %s to %s (%zu bytes)\n",
               message_id, o->out, out.len);
    }
    icx_buf_free(&out);
    icx_buf_free(&warn);
    return finish(rc, &err, &s, &cfg, cert);
}

static int cmd_check_bundle(const char *file)
{
    icx_err err;
    char *data = NULL;
    size_t len = 0;
    icx_buf report;
    icx_err_clear(&err);
    icx_buf_init(&report, 1 << 20);
    int rc = icx_file_read(&data, &len, file, 512L << 20, &err);
    if (rc == ICX_OK)
        rc = icx_bundle_check(data, len, &report, &err);
    fwrite(report.data ? report.data : "", 1, report.len, stdout);
    free(data);
    icx_buf_free(&report);
    if (rc == ICX_EBADSIG) {
        printf("damaged: %s\n", err.msg);
        return ICX_EXIT_REFUSED;
    }
    if (rc < 0) {
        return icx_cli_fail(rc, &err);
    }
    printf("ok: the bundle is intact\n");
    return ICX_EXIT_OK;
}

int icx_cmd_audit(int argc, char **argv)
{
    struct opts o;
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        fputs(usage_text, argc < 2 ? stderr : stdout);
        return argc < 2 ? ICX_EXIT_USAGE : ICX_EXIT_OK;
    }
    const char *sub = argv[1];
    if (strcmp(sub, "witness-export") == 0 ||
        strcmp(sub, "witness-import") == 0 ||
        strcmp(sub, "witness-cosigned") == 0 || strcmp(sub, "witnesses") == 0)
        return icx_cmd_audit_witness(argc, argv);
    int p = parse(&o, argc - 1, argv + 1);
    if (p != 0) {
        fputs(usage_text, p > 0 ? stdout : stderr);
        return p > 0 ? ICX_EXIT_OK : ICX_EXIT_USAGE;
    }
    const char *arg = optind < argc - 1 ? argv[1 + optind] : NULL;
    if (strcmp(sub, "verify") == 0)
        return o.nfrom > 0 ? cmd_verify_segments(&o) : cmd_verify_store(&o);
    if (strcmp(sub, "show") == 0)
        return o.checkpoints ? cmd_show_checkpoints(&o) : cmd_show(&o);
    if (strcmp(sub, "export") == 0)
        return cmd_export(&o);
    if (strcmp(sub, "bundle") == 0)
        return cmd_bundle(&o, arg);
    if (strcmp(sub, "check-bundle") == 0) {
        if (arg == NULL) {
            fputs(usage_text, stderr);
            return ICX_EXIT_USAGE;
        }
        return cmd_check_bundle(arg);
    }
    icx_cli_error("unknown audit command \"%s\" (verify, show, bundle, "
                  "check-bundle, export, witness-export, witness-import, "
                  "witness-cosigned, witnesses)", sub);
    return ICX_EXIT_USAGE;
}
