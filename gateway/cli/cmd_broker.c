/*
 * cmd_broker.c - `icx serve` and the commands that talk to it: submit,
 * status, outbox, inbox, partners, health.
 *
 * The client commands find the control socket through the configuration
 * (-c FILE, default icx_cli_default_config()) or --socket, send one request and
 * print the daemon's answer (submit --profile may send several: see
 * cmd_submit.c).  When no daemon runs they say so (exit 4).
 * submit --wait then polls `status` for each MessageId it was given.
 * status --case is the exception: it reads the store beside the daemon
 * (see status_case).
 */
#include <getopt.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "broker.h"
#include "cli.h"
#include "config.h"
#include "control.h"
#include "envelope.h"
#include "lists.h"
#include "log.h"
#include "store.h"
#include "survey.h"
#include "util.h"
#include "web.h"
#include "xml.h"


static const char serve_usage[] =
    "usage: icx serve [-c CONFIG] [--endpoint-file FILE] [--http-url-file FILE]\n"
    "                 [--log-format text|json]\n\n"
    "Runs the gateway in the foreground, logging key=value lines to stderr\n"
    "(--log-format json: one JSON object per line; docs/LOGS.md).  When\n"
    "stderr is the journal ($JOURNAL_STREAM) each line starts with its\n"
    "syslog level (<3> error, <4> warn, <6> info, <7> debug) and text lines\n"
    "carry no ts=.  Under systemd (Type=notify, $NOTIFY_SOCKET) it reports\n"
    "READY=1 once serving, RELOADING=1 and READY=1 around a reload,\n"
    "STOPPING=1 when asked to stop.\n"
    "SIGTERM or SIGINT: finish the work in hand, commit, stop.\n"
    "SIGHUP: reload the configuration and partner files (a broken one is\n"
    "refused, the running one kept, and the reason logged).\n"
    "--endpoint-file writes the bound listen endpoint (useful with a\n"
    "listen endpoint of tcp://127.0.0.1:* for an ephemeral port).\n"
    "With an http: section in the configuration it serves the read-only\n"
    "dashboard and /metrics (docs/DASHBOARD.md); --http-url-file writes its\n"
    "URL once bound (useful with http.port: 0).\n"
    "One icx serve per store: it holds a lock on STORE.lock (beside the\n"
    "store, naming its pid); a second one on the same store is refused\n"
    "(exit 1) before it opens the store or writes an audit record.  A\n"
    "PostgreSQL store is shared by several nodes: one icx serve per node,\n"
    "the lock on CONTROL.lock beside its control socket.\n"
    "The private key never enters this process: a child, icx-signer (the\n"
    "same binary, locked down), holds it and signs digests; one that dies\n"
    "is restarted and its signatures asked again (docs/SECURITY.md).\n";

static const char client_usage[] =
    "usage: icx submit FILE... --to ID[,ID] --category C --legal-basis TEXT\n"
    "                 --retain-until YYYY-MM-DD [--tlp LABEL] [--code H0-H3]\n"
    "                 [--expires-in SECONDS] [--conversation UUID] [--ref UUID]\n"
    "                 [--wait SECONDS]\n"
    "       icx submit FILE... --profile P --to ID[,ID] [--category C] ...\n"
    "       icx status [MESSAGE-ID | PREFIX]\n"
    "       icx status --case REF  (messages whose case payload names REF)\n"
    "       icx status --lists     (per partner and list: serial held, head, lag)\n"
    "       icx outbox [--state S] [--limit N]\n"
    "       icx inbox [--state S] [--limit N]\n"
    "       icx inbox show [--from SENDER] [--json] ID  (one message, readable)\n"
    "       icx partners\n"
    "       icx health [--max-age SECONDS]\n"
    "common options: [-c CONFIG] [--socket PATH] [--json]\n\n"
    "These talk to the running `icx serve` through its control socket.\n"
    "submit: each FILE (a payload document) becomes one signed envelope per\n"
    "recipient; the answer lists the MessageIds once they are stored.  A\n"
    "message above a partner's egress policy is refused and nothing leaves.\n"
    "With --profile, each FILE is a domestic export (CSV, YAML) translated by\n"
    "that mapping profile (docs/TRANSLATE.md) for each recipient, withholding\n"
    "what that recipient may not receive (the profile's withhold and its\n"
    "partner file's); a file with any invalid row sends nothing.  The\n"
    "configuration (-c CONFIG, default $ICX_CONFIG, else " ICX_CLI_DEFAULT_CONFIG ") must load and\n"
    "name every recipient as a partner, even with --socket: otherwise the\n"
    "withholding is not known and nothing is sent (exit 1).\n"
    "--category defaults to the profile's.  A list too long for one\n"
    "message (limits.max_message_bytes) goes as its pages, one request and\n"
    "one envelope per page; if a page is refused, the pages before it stay\n"
    "queued, the rest are not sent, and the exit code is not 0.\n"
    "A refused submission says why for each message: the field a schema\n"
    "error is about (never its value), the partner that is not configured,\n"
    "the partner-file rule (exit 1); a failure of the gateway is exit 3.\n"
    "--wait SECONDS: after queueing, wait until each message is delivered\n"
    "(its final receipt: prints \"delivered ID to R\"), refused or failed\n"
    "(the reason is printed, exit 1), or SECONDS pass (the state it is in is\n"
    "printed, exit 3).  With --json it prints one array instead: each\n"
    "message's last state (final true or false), attempts, next attempt,\n"
    "reason.  Not with --profile.\n"
    "status MESSAGE-ID: the timeline of one message (audit records, receipts,\n"
    "each receipt's reason code), its next attempt while undelivered.  The\n"
    "first 8 or more characters of a MessageId will do when only one\n"
    "MessageId starts with them; otherwise those that do are listed (exit 1).\n"
    "status --case REF: the sent and received messages whose case payload\n"
    "names REF (CaseReference, or a Response's RefCaseReference); read from\n"
    "the store beside the daemon, every case envelope in it parsed (a scan:\n"
    "its time grows with the case messages stored).  Exit 1 when none.\n"
    "health: the store, each partner (connected, last contact, queue), the\n"
    "queue depth and its oldest undelivered message, the last audit\n"
    "checkpoint.  Exit 1 when something is wrong: the store cannot be read,\n"
    "the oldest undelivered message is older than --max-age (default 3600),\n"
    "audit records waited over 3 x checkpoint_seconds for a checkpoint, a\n"
    "partner with messages queued was never reached (or not for --max-age).\n"
    "Exit codes: 0 ok, 1 refused, 2 usage, 3 failure, 4 no daemon running.\n";

int icx_cmd_serve(int argc, char **argv)
{
    static const struct option opts[] = {
        {"config", required_argument, NULL, 'c'},
        {"endpoint-file", required_argument, NULL, 'e'},
        {"http-url-file", required_argument, NULL, 'u'},
        {"log-format", required_argument, NULL, 'l'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    icx_serve_opts o = {.config_path = icx_cli_default_config(),
                        .find_adapter = icx_adapter_lookup};
    const char *url_file = NULL;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
        switch (c) {
        case 'c': o.config_path = optarg; break;
        case 'e': o.endpoint_file = optarg; break;
        case 'u': url_file = optarg; break;
        case 'l':
            if (icx_log_format_from_name(optarg) < 0) {
                icx_cli_error("--log-format %s: not text or json", optarg);
                return ICX_EXIT_USAGE;
            }
            icx_log_set_format(icx_log_format_from_name(optarg));
            o.log_format_given = 1;
            break;
        case 'h': fputs(serve_usage, stdout); return ICX_EXIT_OK;
        default: fputs(serve_usage, stderr); return ICX_EXIT_USAGE;
        }
    }
    if (optind != argc) {
        fputs(serve_usage, stderr);
        return ICX_EXIT_USAGE;
    }
    icx_log_set_journal(icx_log_journal_detect());
    icx_err err;
    icx_err_clear(&err);
    /* The modules that answer or check what partners send. */
    icx_hook hooks[16];
    size_t nl = 0, ns = 0;
    const icx_hook *lh = icx_lists_hooks(&nl), *sh = icx_survey_hooks(&ns);
    for (size_t i = 0; i < nl && o.nhooks < 16; i++)
        hooks[o.nhooks++] = lh[i];
    for (size_t i = 0; i < ns && o.nhooks < 16; i++)
        hooks[o.nhooks++] = sh[i];
    o.hooks = hooks;
    o.ticks = icx_lists_ticks(&o.nticks);
    /* The dashboard: a side service, idle without an http: section.
     * Modules that answer over HTTP mount their prefix here
     * (icx_web_mount) before the daemon starts it. */
    icx_web *web = NULL;
    int rc = icx_web_new(&web, &err);
    if (rc == ICX_OK) {
        o.services = icx_web_service(web, url_file);
        o.nservices = 1;
        rc = icx_broker_serve(&o, &err);
    }
    icx_web_free(&web);
    icx_lists_hooks_close();
    if (rc < 0) {
        return icx_cli_fail(rc, &err);
    }
    return ICX_EXIT_OK;
}

/* ---- submit --wait ----------------------------------------------------- */

#define WAIT_MAX_IDS 4096

/* The string value of "key" in a JSON answer of ours (the first one; no
 * escapes expected in the values read here), or "" when absent. */
static void json_str(char *out, size_t len, const char *json, const char *key)
{
    char pat[48];
    snprintf(pat, sizeof pat, "\"%s\":\"", key);
    const char *p = json != NULL ? strstr(json, pat) : NULL;
    size_t n = 0;
    if (p != NULL) {
        p += strlen(pat);
        while (p[n] != '\0' && p[n] != '"' && n + 1 < len)
            n++;
        memcpy(out, p, n);
    }
    out[n] = '\0';
}

static int json_int(const char *json, const char *key)
{
    char pat[48];
    snprintf(pat, sizeof pat, "\"%s\":", key);
    const char *p = json != NULL ? strstr(json, pat) : NULL;
    return p != NULL ? (int)strtol(p + strlen(pat), NULL, 10) : 0;
}

/* The MessageIds of a submit answer, text ("queued ID to ...") or JSON. */
static int queued_ids(char (*ids)[64], int max, const char *text)
{
    int n = 0;
    for (const char *p = text; p != NULL && *p != '\0' && n < max;) {
        const char *start = NULL;
        if (strncmp(p, "queued ", 7) == 0)
            start = p + 7;
        else if (strncmp(p, "\"message_id\":\"", 14) == 0)
            start = p + 14;
        if (start != NULL) {
            size_t len = strcspn(start, " \"\n");
            if (len > 0 && len < 64) {
                memcpy(ids[n], start, len);
                ids[n++][len] = '\0';
            }
            p = start + len;
            continue;
        }
        p++;
    }
    return n;
}

static double mono_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* What `status ID --json` said of one message. */
struct waited {
    char state[32], rcpt[64], reason[160], next[40];
    int attempts;
};

/* Asks the daemon about id; ICX_OK with *w filled (state "" when the
 * daemon could not say), or the failure to reach it. */
static int ask_status(struct waited *w, icx_buf *ans, const char *socket_path,
                      char *id, icx_err *err)
{
    char *args[] = {"status", id, "--json"};
    int c = ICX_EXIT_FAILURE;
    memset(w, 0, sizeof *w);
    icx_buf_reset(ans);
    icx_err_clear(err);
    int rc = icx_ctl_call(&c, ans, socket_path, 3, args, 0, NULL, NULL, 10000,
                          err);
    if (rc < 0 || c != 0)
        return rc;
    json_str(w->state, sizeof w->state, ans->data, "state");
    json_str(w->rcpt, sizeof w->rcpt, ans->data, "recipient");
    json_str(w->reason, sizeof w->reason, ans->data, "reason");
    json_str(w->next, sizeof w->next, ans->data, "next_attempt");
    w->attempts = json_int(ans->data, "attempts");
    return ICX_OK;
}

/* Polls `status ID` (after 0.1 s, doubling to every 5 s) until each
 * message is delivered (final receipt) or refused or failed, or seconds
 * pass.  Text: "delivered ID to R" on stdout, a refusal or a message
 * still waiting as an error line; json: one array of the messages' last
 * states.  Exit code: 0 all delivered, 1 one refused or failed, 3 one
 * still waiting, or the failure to reach the daemon. */
static int wait_delivered(const char *socket_path, const char *text,
                          long seconds, int json)
{
    static char ids[WAIT_MAX_IDS][64];
    static unsigned char done[WAIT_MAX_IDS];
    static struct waited w[WAIT_MAX_IDS];
    int n = queued_ids(ids, WAIT_MAX_IDS, text), left = n, code = ICX_EXIT_OK;
    double deadline = mono_now() + (double)seconds, pause_s = 0.1;
    icx_buf ans;
    icx_err err;
    memset(done, 0, sizeof done);
    icx_buf_init(&ans, 64 << 20);
    for (;;) {
        for (int i = 0; i < n; i++) {
            if (done[i])
                continue;
            int rc = ask_status(&w[i], &ans, socket_path, ids[i], &err);
            if (rc < 0) {
                code = icx_cli_fail(rc, &err);
                goto out;
            }
            if (strcmp(w[i].state, "delivered") == 0) {
                if (!json)
                    printf("delivered %s to %s\n", ids[i], w[i].rcpt);
                fflush(stdout);
            } else if (strcmp(w[i].state, "refused") == 0 ||
                       strcmp(w[i].state, "failed") == 0) {
                if (!json)
                    icx_cli_error("%s to %s: %s%s%s", ids[i], w[i].rcpt,
                                  w[i].state, w[i].reason[0] ? ": " : "",
                                  w[i].reason);
                code = ICX_EXIT_REFUSED;
            } else {
                continue;
            }
            done[i] = 1;
            left--;
        }
        if (left == 0 || mono_now() >= deadline)
            break;
        /* Each question is an operator.command audit record: ask often at
         * first, when a receipt on loopback or a LAN comes, then every 5 s. */
        double rest = deadline - mono_now();
        if (rest > pause_s)
            rest = pause_s;
        if (rest < 0)
            rest = 0;
        struct timespec pause = {(time_t)rest,
                                 (long)((rest - (double)(time_t)rest) * 1e9)};
        nanosleep(&pause, NULL);
        pause_s = pause_s * 2 > 5.0 ? 5.0 : pause_s * 2;
    }
    for (int i = 0; i < n; i++) {
        if (done[i])
            continue;
        code = ICX_EXIT_FAILURE;
        if (json)
            continue;
        const char *next = w[i].next[0] && strcmp(w[i].next, "-") != 0
                               ? w[i].next : NULL;
        icx_cli_error("%s to %s: still %s after %ld second(s) (%d attempt(s)"
                      "%s%s)", ids[i], w[i].rcpt[0] ? w[i].rcpt : "?",
                      w[i].state[0] ? w[i].state : "unknown", seconds,
                      w[i].attempts, next ? ", next at " : "",
                      next ? next : "");
    }
    if (json) {
        icx_buf_reset(&ans);
        icx_buf_puts(&ans, "[");
        for (int i = 0; i < n; i++) {
            icx_buf_printf(&ans, "%s{\"message_id\":\"%s\",\"recipient\":"
                           "\"%s\",\"state\":\"%s\",\"final\":%s,"
                           "\"attempts\":%d,\"next_attempt\":\"%s\","
                           "\"reason\":", i ? "," : "", ids[i], w[i].rcpt,
                           w[i].state[0] ? w[i].state : "unknown",
                           done[i] ? "true" : "false", w[i].attempts,
                           w[i].next[0] ? w[i].next : "-");
            icx_buf_put_json(&ans, w[i].reason);
            icx_buf_puts(&ans, "}");
        }
        icx_buf_puts(&ans, "]\n");
        fwrite(ans.data, 1, ans.len, stdout);
    }
out:
    icx_buf_free(&ans);
    return code;
}

/* Client side: argv is forwarded as is (plus --user), files as blobs. */
static int client(int argc, char **argv, int with_files)
{
    const char *config = icx_cli_default_config(), *socket_path = NULL;
    const char *profile = NULL;
    const char *files[4096];
    int nfiles = 0;
    char *fwd[ICX_CTL_MAX_ARGS];
    char *blobs[4096];
    size_t lens[4096];
    int nfwd = 0, nblobs = 0, code = ICX_EXIT_FAILURE;
    long wait = 0;
    icx_err err;
    char *sock_owned = NULL;
    icx_buf text;

    icx_err_clear(&err);
    icx_buf_init(&text, 256 << 20);
    if (icx_cli_wants_help(argc, argv)) {
        fputs(client_usage, stdout);
        return ICX_EXIT_OK;
    }
    fwd[nfwd++] = argv[0];
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        int has_value = strcmp(a, "--to") == 0 || strcmp(a, "--category") == 0 ||
                        strcmp(a, "--legal-basis") == 0 ||
                        strcmp(a, "--retain-until") == 0 ||
                        strcmp(a, "--tlp") == 0 || strcmp(a, "--code") == 0 ||
                        strcmp(a, "--expires-in") == 0 ||
                        strcmp(a, "--conversation") == 0 ||
                        strcmp(a, "--ref") == 0 || strcmp(a, "--state") == 0 ||
                        strcmp(a, "--limit") == 0 ||
                        strcmp(a, "--max-age") == 0;
        if (strcmp(a, "--wait") == 0 && with_files) {
            char *end = NULL;
            if (++i == argc)
                goto usage;
            wait = strtol(argv[i], &end, 10);
            if (end == argv[i] || *end != '\0' || wait <= 0 || wait > 86400) {
                icx_cli_error("--wait %s: give a number of seconds, 1 to "
                              "86400", argv[i]);
                goto usage;
            }
        } else if (strcmp(a, "--profile") == 0 && with_files) {
            if (++i == argc)
                goto usage;
            profile = argv[i];
        } else if (strcmp(a, "-c") == 0 || strcmp(a, "--config") == 0) {
            if (++i == argc)
                goto usage;
            config = argv[i];
        } else if (strcmp(a, "--socket") == 0) {
            if (++i == argc)
                goto usage;
            socket_path = argv[i];
        } else if (has_value) {
            if (i + 1 == argc || nfwd + 2 >= ICX_CTL_MAX_ARGS - 2)
                goto usage;
            fwd[nfwd++] = argv[i++];
            fwd[nfwd++] = argv[i];
        } else if (strcmp(a, "--json") == 0) {
            fwd[nfwd++] = argv[i];
        } else if (a[0] == '-') {
            icx_cli_error("unknown option %s", a);
            goto usage;
        } else if (with_files) {
            if (nfiles == 4096) {
                icx_cli_error("at most 4096 files per submit");
                goto out;
            }
            files[nfiles++] = a;
        } else if (nfwd + 1 < ICX_CTL_MAX_ARGS - 2) {
            fwd[nfwd++] = argv[i];
        }
    }
    if (with_files && nfiles == 0) {
        icx_cli_error("submit needs at least one FILE");
        goto usage;
    }
    if (profile != NULL && wait > 0) {
        icx_cli_error("--wait is not available with --profile (follow the "
                      "MessageIds with icx status)");
        goto usage;
    }
    if (profile == NULL) {
        for (int i = 0; i < nfiles; i++) {
            int rc = icx_file_read(&blobs[nblobs], &lens[nblobs], files[i],
                                   64L << 20, &err);
            if (rc < 0) {
                code = icx_cli_fail(rc, &err);
                goto out;
            }
            nblobs++;
        }
    }
    struct passwd *pw = getpwuid(getuid());
    fwd[nfwd++] = "--user";
    fwd[nfwd++] = pw != NULL ? pw->pw_name : "unknown";
    if (socket_path == NULL) {
        int rc = icx_config_control_socket(&sock_owned, config, &err);
        if (rc < 0) {
            code = icx_cli_fail(rc, &err);
            goto out;
        }
        socket_path = sock_owned;
    }
    if (profile != NULL) {
        code = icx_cli_submit_profile(socket_path, profile, config, files,
                                      nfiles, fwd, nfwd);
        goto out;
    }
    int rc = icx_ctl_call(&code, &text, socket_path, nfwd, fwd, nblobs, blobs,
                          lens, 0, &err);
    if (rc < 0) {
        code = icx_cli_fail(rc, &err);
        goto out;
    }
    /* --wait --json: one document, the messages' last states. */
    int json = 0;
    for (int i = 1; i < nfwd; i++)
        json |= strcmp(fwd[i], "--json") == 0;
    if (code != 0 || wait == 0 || !json)
        fwrite(text.data ? text.data : "", 1, text.len,
               code == 0 ? stdout : stderr);
    if (code == 0 && wait > 0) {
        fflush(stdout);
        code = wait_delivered(socket_path, text.data, wait, json);
    }
    goto out;
usage:
    fputs(client_usage, stderr);
    code = ICX_EXIT_USAGE;
out:
    for (int i = 0; i < nblobs; i++)
        free(blobs[i]);
    icx_buf_free(&text);
    free(sock_owned);
    return code;
}

/* ---- status --case REF --------------------------------------------------
 * Read from the store beside the daemon, as `inbox export` is: the case
 * reference is inside the signed payloads, which the store keeps as bytes
 * and does not index.  So every stored envelope of a case category
 * (outbox, and the inbox's accepted ones: a rejected envelope's payload
 * is not read) is read, checked against its digest by the store,
 * and its payload parsed for CaseReference (or a Response's
 * RefCaseReference).  The cost grows with the case messages the store
 * holds: a scan, for an operator's question, never on the daemon's loop. */

struct case_rows {
    icx_out_row *out;
    size_t nout, capout;
    icx_in_row *in;
    size_t nin, capin;
};

static int is_case(const char *category)
{
    return strncmp(category, "case-", 5) == 0;
}

static int case_out(void *ctx, const icx_out_row *r)
{
    struct case_rows *c = ctx;
    if (!is_case(r->category))
        return 0;
    if (c->nout == c->capout) {
        size_t cap = c->capout ? c->capout * 2 : 64;
        icx_out_row *n = realloc(c->out, cap * sizeof *n);
        if (n == NULL)
            return ICX_ENOMEM;
        c->out = n;
        c->capout = cap;
    }
    c->out[c->nout++] = *r;
    return 0;
}

static int case_in(void *ctx, const icx_in_row *r)
{
    struct case_rows *c = ctx;
    if (!is_case(r->category))
        return 0;
    if (c->nin == c->capin) {
        size_t cap = c->capin ? c->capin * 2 : 64;
        icx_in_row *n = realloc(c->in, cap * sizeof *n);
        if (n == NULL)
            return ICX_ENOMEM;
        c->in = n;
        c->capin = cap;
    }
    c->in[c->nin++] = *r;
    return 0;
}

static int status_case(const char *config, const char *ref, int json)
{
    icx_err err;
    icx_config *cfg = NULL;
    icx_store *s = NULL;
    struct case_rows c;
    icx_buf env, text;
    int rc, code = ICX_EXIT_FAILURE, nfound = 0;
    memset(&c, 0, sizeof c);
    icx_err_clear(&err);
    icx_buf_init(&env, (size_t)1 << 30);
    icx_buf_init(&text, 16 << 20);
    if ((rc = icx_config_load(&cfg, config, NULL, &err)) < 0 ||
        (!icx_store_is_url(cfg->store_path) &&
         access(cfg->store_path, F_OK) != 0 &&
         (rc = icx_err_set(&err, ICX_ENOTFOUND, "%s: no such store",
                           cfg->store_path)) < 0) ||
        (rc = icx_store_open(&s, cfg->store_path, &err)) < 0 ||
        (rc = icx_store_out_list(s, -1, 0, case_out, &c, &err)) < 0 ||
        (rc = icx_store_in_list(s, ICX_IN_ACCEPTED, 0, case_in, &c,
                                &err)) < 0) {
        code = icx_cli_fail(rc, &err);
        goto out;
    }
    icx_buf_puts(&text, json ? "[" : "");
    /* The store lists newest first; so does this. */
    for (size_t i = 0; i < c.nout + c.nin; i++) {
        int out = i < c.nout;
        const icx_out_row *o = out ? &c.out[i] : NULL;
        const icx_in_row *r = out ? NULL : &c.in[i - c.nout];
        char at[32];
        icx_buf_reset(&env);
        rc = out ? icx_store_out_envelope(s, o->message_id, o->next_hop, &env,
                                          &err)
                 : icx_store_in_envelope(s, r->sender, r->message_id, &env,
                                         &err);
        if (rc == ICX_OK)
            rc = icx_envelope_names_case(env.data, env.len, ref, &err);
        if (rc < 0) {
            code = icx_cli_fail(rc, &err);
            goto out;
        }
        if (rc == 0)
            continue;
        icx_time_format(at, sizeof at,
                        (time_t)(out ? o->created_at : r->received_at));
        if (json)
            icx_buf_printf(&text, "%s{\"message_id\":\"%s\",\"direction\":"
                           "\"%s\",\"partner\":\"%s\",\"category\":\"%s\","
                           "\"state\":\"%s\",\"time\":\"%s\"}",
                           nfound ? "," : "", out ? o->message_id : r->message_id,
                           out ? "outbound" : "inbound",
                           out ? o->recipient : r->sender,
                           out ? o->category : r->category,
                           out ? icx_out_state_name(o->state)
                               : icx_in_state_name(r->state), at);
        else
            icx_buf_printf(&text, "%-36s  %-8s  %-10s  %-15s  %-9s  %s\n",
                           out ? o->message_id : r->message_id,
                           out ? "outbound" : "inbound",
                           out ? o->recipient : r->sender,
                           out ? o->category : r->category,
                           out ? icx_out_state_name(o->state)
                               : icx_in_state_name(r->state), at);
        nfound++;
    }
    icx_buf_puts(&text, json ? "]\n" : "");
    if (nfound == 0 && !json) {
        icx_cli_error("no message in this gateway's store names case %s", ref);
        code = ICX_EXIT_REFUSED;
        goto out;
    }
    fwrite(text.data ? text.data : "", 1, text.len, stdout);
    code = nfound ? ICX_EXIT_OK : ICX_EXIT_REFUSED;
out:
    free(c.out);
    free(c.in);
    icx_buf_free(&env);
    icx_buf_free(&text);
    icx_store_free(&s);
    icx_config_free(&cfg);
    return code;
}

int icx_cmd_submit(int argc, char **argv) { return client(argc, argv, 1); }
int icx_cmd_query(int argc, char **argv)
{
    /* status --lists: the list positions live in the lists store, which
     * the lists command reads directly. */
    if (strcmp(argv[0], "status") == 0) {
        for (int i = 1; i < argc; i++) {
            if (strcmp(argv[i], "--lists") != 0)
                continue;
            char *args[ICX_CTL_MAX_ARGS];
            int n = 0;
            args[n++] = "lists";
            args[n++] = "status";
            for (int k = 1; k < argc && n < ICX_CTL_MAX_ARGS - 1; k++)
                if (k != i)
                    args[n++] = argv[k];
            args[n] = NULL;
            return icx_cmd_lists(n, args);
        }
    }
    /* status --case: a scan of the store's case payloads, beside the
     * daemon (status_case). */
    if (strcmp(argv[0], "status") == 0) {
        const char *ref = NULL, *config = icx_cli_default_config();
        int json = 0;
        for (int i = 1; i < argc; i++) {
            if (strcmp(argv[i], "--case") == 0 && i + 1 < argc)
                ref = argv[++i];
            else if ((strcmp(argv[i], "-c") == 0 ||
                      strcmp(argv[i], "--config") == 0) && i + 1 < argc)
                config = argv[++i];
            else if (strcmp(argv[i], "--json") == 0)
                json = 1;
            else if (strcmp(argv[i], "--case") == 0) {
                icx_cli_error("--case needs a case reference");
                return ICX_EXIT_USAGE;
            }
        }
        if (ref != NULL)
            return status_case(config, ref, json);
    }
    /* inbox export: rendered from the store, not asked of the daemon. */
    if (strcmp(argv[0], "inbox") == 0 && argc > 1 &&
        strcmp(argv[1], "export") == 0)
        return icx_cmd_inbox_export(argc - 1, argv + 1);
    /* inbox show: read from the store, as export is. */
    if (strcmp(argv[0], "inbox") == 0 && argc > 1 &&
        strcmp(argv[1], "show") == 0)
        return icx_cmd_inbox_show(argc - 1, argv + 1);
    return client(argc, argv, 0);
}
