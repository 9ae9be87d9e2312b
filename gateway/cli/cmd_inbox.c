/*
 * cmd_inbox.c - icx inbox show: one received message, for the person who
 * acts on it.
 *
 * Read from the store beside the daemon, as `inbox export` is: the
 * envelope's bytes (checked against their recorded SHA-256 by the store),
 * its header, and for an accepted envelope its payload written as an
 * indented outline (payload_view.c) or, with --json, one JSON object.
 * A rejected envelope's payload is never shown: its signature or its
 * shape was refused, so nothing in it can be believed; its row (sender
 * as claimed, reason, time) is.  An envelope refused before it was
 * believed at all (a bad signature, an unknown sender) has no inbox row
 * and no stored bytes, only its inbound.rejected audit record: that
 * record is what is shown.  The message is named by its MessageId or
 * a unique prefix of it; when two senders used the same id, --from picks
 * one.  Exit 0 shown, 1 not found or ambiguous, 2 usage, 3 store failure.
 *
 * Ownership: everything is freed before return.  Single-threaded.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "config.h"
#include "envelope.h"
#include "store.h"
#include "util.h"

static const char usage_text[] =
    "usage: icx inbox show [-c CONFIG] [--from SENDER] [--json] ID\n\n"
    "Shows one received message: when and from which partner it came, its\n"
    "state, its header, and for an accepted message its payload (persons,\n"
    "offences, requested actions, ...) as indented lines, every element and\n"
    "attribute in document order.  ID is the MessageId or a unique prefix.\n"
    "A rejected message's payload is not shown (it was refused; nothing in\n"
    "it can be believed): only its row and reason, or for a message refused\n"
    "before it was believed (bad signature, unknown sender), which is not\n"
    "kept, its audit record.\n"
    "--json: one object {received_at, sender, peer, state, reason, sha256,\n"
    "header, payload}, the payload as a tree of {element, attributes, text,\n"
    "children}.\n"
    "Exit codes: 0 shown, 1 no such message or the prefix is ambiguous,\n"
    "2 usage, 3 the store cannot be read.\n";

#define MAX_MATCHES 8

struct find {
    const char *prefix;
    const char *from;
    icx_in_row rows[MAX_MATCHES];
    size_t n;
};

static int find_row(void *ctx, const icx_in_row *r)
{
    struct find *f = ctx;
    if (strncmp(r->message_id, f->prefix, strlen(f->prefix)) != 0 ||
        (f->from != NULL && strcmp(r->sender, f->from) != 0))
        return 0;
    if (f->n < MAX_MATCHES)
        f->rows[f->n] = *r;
    f->n++;
    return 0;
}

/* An inbound.rejected audit record's detail value of key ("" if none). */
static void detail_value(char *out, size_t len, const char *detail,
                         const char *key)
{
    size_t k = strlen(key), n = 0;
    const char *p = detail;
    while ((p = strstr(p, key)) != NULL &&
           !((p == detail || p[-1] == ' ') && p[k] == '='))
        p += k;
    if (p != NULL) {
        p += k + 1;
        while (p[n] != '\0' && p[n] != ' ' && n + 1 < len)
            n++;
        memcpy(out, p, n);
    }
    out[n] = '\0';
}

struct refused {
    icx_audit_row row;
    int found;
};

static int find_refused(void *ctx, const icx_audit_row *r)
{
    struct refused *f = ctx;
    if (strcmp(r->event, "inbound.rejected") == 0 && !f->found) {
        f->row = *r;
        f->found = 1;
    }
    return 0;
}

/* A message refused on arrival with no inbox row: its audit record. */
static int show_refused(icx_buf *out, const icx_audit_row *a, int json)
{
    char peer[32], sender[32], reason[64], sha[65];
    detail_value(peer, sizeof peer, a->detail, "peer");
    detail_value(sender, sizeof sender, a->detail, "claimed_sender");
    detail_value(reason, sizeof reason, a->detail, "reason");
    detail_value(sha, sizeof sha, a->detail, "sha256");
    if (!json)
        return icx_buf_printf(out, "refused on arrival %s from transport peer "
                              "%s (claimed sender %s), state rejected, "
                              "reason %s\nsha256             %s\n"
                              "message_id         %s\naudit record       "
                              "%lld\npayload not shown: the envelope was "
                              "refused, nothing in it can be believed, and "
                              "its bytes are not kept\n", a->ts, peer,
                              sender[0] ? sender : "-", reason, sha,
                              a->message_id, (long long)a->seq);
    int rc = icx_buf_printf(out, "{\"received_at\":\"%s\",\"sender\":", a->ts);
    if (rc == ICX_OK)
        rc = icx_buf_put_json(out, sender);
    if (rc == ICX_OK)
        rc = icx_buf_puts(out, ",\"peer\":");
    if (rc == ICX_OK)
        rc = icx_buf_put_json(out, peer);
    if (rc == ICX_OK)
        rc = icx_buf_printf(out, ",\"message_id\":\"%s\",\"state\":"
                            "\"rejected\",\"reason\":", a->message_id);
    if (rc == ICX_OK)
        rc = icx_buf_put_json(out, reason);
    if (rc == ICX_OK)
        rc = icx_buf_printf(out, ",\"sha256\":\"%s\",\"audit_seq\":%lld,"
                            "\"kept\":false}\n", sha, (long long)a->seq);
    return rc;
}

static int show(icx_buf *out, icx_store *s, const icx_in_row *r, int json,
                icx_err *err)
{
    char at[32];
    icx_header h;
    icx_buf env, pl;
    icx_xml_limits lim = ICX_XML_DEFAULT_LIMITS;
    int accepted = r->state == ICX_IN_ACCEPTED;
    int rc = ICX_OK;
    icx_buf_init(&env, (size_t)1 << 30);
    icx_buf_init(&pl, (size_t)1 << 30);
    icx_time_format(at, sizeof at, (time_t)r->received_at);
    if (accepted) {
        rc = icx_store_in_envelope(s, r->sender, r->message_id, &env, err);
        lim.max_bytes = env.len + 1;
        if (rc == ICX_OK)
            rc = icx_envelope_peek(&h, env.data, env.len, &lim, err);
        if (rc == ICX_OK)
            rc = icx_envelope_payload(&pl, env.data, env.len, &lim, err);
        if (rc < 0)
            goto out;
    }
    if (json) {
        rc = icx_buf_printf(out, "{\"received_at\":\"%s\",\"sender\":", at);
        if (rc == ICX_OK)
            rc = icx_buf_put_json(out, r->sender);
        if (rc == ICX_OK)
            rc = icx_buf_puts(out, ",\"peer\":");
        if (rc == ICX_OK)
            rc = icx_buf_put_json(out, r->peer);
        if (rc == ICX_OK)
            rc = icx_buf_printf(out, ",\"message_id\":\"%s\",\"state\":\"%s\","
                                "\"reason\":", r->message_id,
                                icx_in_state_name(r->state));
        if (rc == ICX_OK)
            rc = icx_buf_put_json(out, r->reason);
        if (rc == ICX_OK)
            rc = icx_buf_printf(out, ",\"sha256\":\"%s\"", r->sha256);
        if (rc == ICX_OK && accepted) {
            rc = icx_buf_puts(out, ",\"header\":");
            if (rc == ICX_OK)
                rc = icx_header_format(out, &h, 1);
            if (rc == ICX_OK) /* icx_header_format ends its object with \n */
                out->data[--out->len] = '\0';
            if (rc == ICX_OK)
                rc = icx_buf_puts(out, ",\"payload\":");
            if (rc == ICX_OK)
                rc = icx_payload_format(out, pl.data, pl.len, &lim, 1, err);
            if (rc == ICX_OK)
                out->data[--out->len] = '\0';
        }
        if (rc == ICX_OK)
            rc = icx_buf_puts(out, "}\n");
    } else {
        rc = icx_buf_printf(out, "received %s from %s (transport peer %s), "
                            "state %s%s%s\nsha256             %s\n", at,
                            r->sender, r->peer, icx_in_state_name(r->state),
                            r->reason[0] ? ", reason " : "", r->reason,
                            r->sha256);
        if (rc == ICX_OK && accepted)
            rc = icx_header_format(out, &h, 0);
        if (rc == ICX_OK && accepted)
            rc = icx_buf_puts(out, "\n");
        if (rc == ICX_OK && accepted)
            rc = icx_payload_format(out, pl.data, pl.len, &lim, 0, err);
        if (rc == ICX_OK && !accepted)
            rc = icx_buf_puts(out, "payload not shown: the envelope was "
                                   "refused, nothing in it can be believed\n");
    }
    if (rc == ICX_ENOMEM)
        icx_err_set(err, ICX_ENOMEM, "out of memory");
out:
    icx_buf_free(&env);
    icx_buf_free(&pl);
    return rc;
}

int icx_cmd_inbox_show(int argc, char **argv)
{
    static const struct option opts[] = {
        {"config", required_argument, NULL, 'c'},
        {"from", required_argument, NULL, 'f'},
        {"json", no_argument, NULL, 'j'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *config = icx_cli_default_config();
    struct find f = {0};
    int json = 0, c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
        switch (c) {
        case 'c': config = optarg; break;
        case 'f': f.from = optarg; break;
        case 'j': json = 1; break;
        case 'h': fputs(usage_text, stdout); return ICX_EXIT_OK;
        default: fputs(usage_text, stderr); return ICX_EXIT_USAGE;
        }
    }
    if (optind + 1 != argc || argv[optind][0] == '\0') {
        icx_cli_error("inbox show needs one MessageId (or a prefix of one)");
        fputs(usage_text, stderr);
        return ICX_EXIT_USAGE;
    }
    f.prefix = argv[optind];
    icx_err err;
    icx_config *cfg = NULL;
    icx_store *s = NULL;
    icx_buf out;
    int rc, code = ICX_EXIT_FAILURE;
    icx_err_clear(&err);
    icx_buf_init(&out, (size_t)1 << 30);
    if ((rc = icx_config_load(&cfg, config, NULL, &err)) < 0 ||
        (!icx_store_is_url(cfg->store_path) &&
         access(cfg->store_path, F_OK) != 0 &&
         (rc = icx_err_set(&err, ICX_ENOTFOUND, "%s: no such store",
                           cfg->store_path)) < 0) ||
        (rc = icx_store_open(&s, cfg->store_path, &err)) < 0 ||
        (rc = icx_store_in_list(s, -1, 0, find_row, &f, &err)) < 0) {
        code = icx_cli_fail(rc, &err);
        goto out;
    }
    if (f.n == 0) {
        /* Refused before it was believed: only the audit log knows it. */
        char ids[MAX_MATCHES][40];
        size_t nids = 0, nref = 0;
        struct refused r = {0}, one = {0};
        rc = icx_store_message_ids(s, f.prefix, ids, MAX_MATCHES, &nids, &err);
        for (size_t i = 0; rc == ICX_OK && i < nids && i < MAX_MATCHES; i++) {
            r.found = 0;
            rc = icx_store_timeline(s, ids[i], find_refused, &r, &err);
            if (rc == ICX_OK && r.found && f.from == NULL && nref++ == 0)
                one = r;
        }
        if (rc < 0) {
            code = icx_cli_fail(rc, &err);
            goto out;
        }
        if (nref == 1 && nids <= MAX_MATCHES) {
            if (show_refused(&out, &one.row, json) < 0) {
                icx_cli_error("out of memory");
                goto out;
            }
            fwrite(out.data, 1, out.len, stdout);
            code = ICX_EXIT_OK;
            goto out;
        }
        if (nref > 1) {
            icx_cli_error("%zu refused messages match %s; give more of the "
                          "MessageId", nref, f.prefix);
            code = ICX_EXIT_REFUSED;
            goto out;
        }
        icx_cli_error("no received message %s %s%s%s", strlen(f.prefix) < 36
                      ? "with a MessageId starting" : "with MessageId",
                      f.prefix, f.from ? " from " : "", f.from ? f.from : "");
        code = ICX_EXIT_REFUSED;
        goto out;
    }
    if (f.n > 1) {
        icx_cli_error("%zu received messages match %s; give more of the "
                      "MessageId or --from SENDER:", f.n, f.prefix);
        for (size_t i = 0; i < f.n && i < MAX_MATCHES; i++)
            fprintf(stderr, "  %s from %s\n", f.rows[i].message_id,
                    f.rows[i].sender);
        if (f.n > MAX_MATCHES)
            fprintf(stderr, "  ...\n");
        code = ICX_EXIT_REFUSED;
        goto out;
    }
    if ((rc = show(&out, s, &f.rows[0], json, &err)) < 0) {
        icx_cli_error("%s %s: %s", f.rows[0].sender, f.rows[0].message_id,
                      err.msg);
        code = icx_cli_exit_for(rc);
        goto out;
    }
    fwrite(out.data, 1, out.len, stdout);
    code = ICX_EXIT_OK;
out:
    icx_buf_free(&out);
    icx_store_free(&s);
    icx_config_free(&cfg);
    return code;
}
