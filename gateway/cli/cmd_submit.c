/*
 * cmd_submit.c - `icx submit FILE... --profile P --to ...`: domestic
 * exports translated and handed to the running daemon in one step.
 *
 * Every file is translated (for each recipient: withholding depends on
 * it) and checked before anything is sent: evidence is all or nothing.
 * What a recipient may not receive comes from the profile and from its
 * partner file (`withhold`), as for `icx translate -c`.  So the gateway
 * configuration must load and name every recipient as a partner, also
 * when --socket names the daemon: otherwise the withholding is not known
 * and nothing is translated or sent.
 * A payload of one page is kept, and the kept payloads go as before, one
 * control request per recipient.  A list too long for one payload goes as
 * its pages, one control request per page for all recipients, each page
 * handed over as the translation's sink delivers it, so memory holds one
 * page whatever the list's length.  Pages are sized so that each fits the
 * gateway's limits.max_message_bytes as an envelope (icx_cli_page_bytes,
 * as `icx translate -c` sizes its pages).
 *
 * The translation hands over no page before it has checked its whole
 * input.  So the last file, when it is a long list, streams its pages
 * at once: every other file is checked by then.  A long list that is not
 * the last file is checked with the rest first (its translation stops at
 * its first page), then translated again to send its pages.
 *
 * A page the daemon refuses stops the submission: the pages before it
 * are queued messages (durable; they will be delivered), the rest are not
 * sent, and the message says which.  A receiver applies a list only from
 * a complete set of pages whose Digest verifies (docs/LISTS.md), so an
 * incomplete set changes no copy.
 *
 * CLI only (single thread); the exit code is the daemon's, or
 * icx_cli_exit_for() of the failure.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "config.h"
#include "control.h"
#include "mapping.h"
#include "translate.h"
#include "util.h"

#define MAX_RCPT 64

typedef struct submit {
    const char *socket_path;
    char **fwd;                  /* forwarded arguments, --to as given */
    int nfwd;
    const char *to;              /* every recipient, as given */
    char rcpt[MAX_RCPT][32];
    const icx_strlist *withhold[MAX_RCPT]; /* its partner file's */
    int nrcpt;
    const char *const *files;
    int nfiles;
    const char *category;        /* unless --category was given */
    size_t page_bytes;
    char **blobs;                /* [r * nfiles + f]: payloads of one page */
    size_t *lens;
    char **req_blobs;            /* one recipient's payloads, in file order */
    size_t *req_lens;
    unsigned char *paged;        /* [f]: 1 a long list, 2 its pages sent */
    int flushed;                 /* the kept payloads went to the daemon */
    /* The translation in hand. */
    int f, r;
    int stream;                  /* send a long list's pages (else defer) */
    int deferred;                /* the sink stopped at a long list */
    char session[40];
    unsigned long pages, sent;   /* of the list being sent */
    int refused;                 /* exit code of a refused or failed page */
    char why[256];               /* why the pages stopped */
    int accepted;                /* requests the daemon accepted */
    int code;                    /* exit code so far */
    icx_buf text;                /* the daemon's answer */
} submit;

static const char *fwd_opt(char **fwd, int nfwd, const char *name)
{
    for (int i = 1; i + 1 < nfwd; i++)
        if (strcmp(fwd[i], name) == 0)
            return fwd[i + 1];
    return NULL;
}

/* The forwarded arguments, --to replaced by to (NULL: as given), with the
 * profile's --category unless one was given; args holds
 * ICX_CTL_MAX_ARGS. */
static int build_args(char **args, const submit *s, char *to)
{
    int n = 0;
    for (int i = 0; i < s->nfwd && n < ICX_CTL_MAX_ARGS - 4; i++) {
        args[n++] = s->fwd[i];
        if (strcmp(s->fwd[i], "--to") == 0 && to != NULL && i + 1 < s->nfwd) {
            args[n++] = to;
            i++;
        }
    }
    if (fwd_opt(s->fwd, s->nfwd, "--category") == NULL) {
        args[n++] = "--category";
        args[n++] = (char *)s->category;
    }
    return n;
}

/* One request; the daemon's answer goes to stdout (stderr when refused).
 * Returns ICX_OK with *c the daemon's exit code, or the failure to reach
 * it (reported). */
static int call(submit *s, int *c, char *to, int nblobs, char *const *blobs,
                const size_t *lens)
{
    char *args[ICX_CTL_MAX_ARGS];
    icx_err err;
    int n = build_args(args, s, to);
    icx_err_clear(&err);
    icx_buf_reset(&s->text);
    *c = ICX_EXIT_FAILURE;
    int rc = icx_ctl_call(c, &s->text, s->socket_path, n, args, nblobs, blobs,
                          lens, 0, &err);
    if (rc < 0) {
        icx_cli_error("%s", err.msg);
        return rc;
    }
    fwrite(s->text.data ? s->text.data : "", 1, s->text.len,
           *c == 0 ? stdout : stderr);
    fflush(stdout);
    s->accepted += *c == 0;
    return ICX_OK;
}

/* The payloads of one page, one request per recipient, as they always
 * went.  A refusal for one recipient does not stop the others. */
static int send_kept(submit *s)
{
    s->flushed = 1;
    for (int r = 0; r < s->nrcpt; r++) {
        int n = 0, c;
        for (int f = 0; f < s->nfiles; f++) {
            if (s->blobs[r * s->nfiles + f] == NULL)
                continue;
            s->req_blobs[n] = s->blobs[r * s->nfiles + f];
            s->req_lens[n++] = s->lens[r * s->nfiles + f];
        }
        if (n == 0)
            continue;
        int rc = call(s, &c, s->rcpt[r], n, s->req_blobs, s->req_lens);
        if (rc < 0)
            return s->code = icx_cli_exit_for(rc);
        if (c != 0)
            s->code = c;
    }
    return s->code;
}

/* Sink: keeps a payload of one page (sent as one page once the kept
 * payloads are gone, should a file read again have shrunk); for a long
 * list, stops (deferred, to be sent once everything is checked) or sends
 * the page. */
static int put_page(void *ctx, unsigned long page, unsigned long pages,
                    const char *xml, size_t len, icx_err *err)
{
    submit *s = ctx;
    const char *file = s->files[s->f];
    if (pages == 1 && !s->flushed) {
        char *copy = malloc(len + 1);
        if (copy == NULL)
            return icx_err_set(err, ICX_ENOMEM, "out of memory");
        memcpy(copy, xml, len);
        copy[len] = '\0';
        s->blobs[s->r * s->nfiles + s->f] = copy;
        s->lens[s->r * s->nfiles + s->f] = len;
        return ICX_OK;
    }
    if (!s->stream && pages > 1) {
        s->deferred = 1;
        return icx_err_set(err, ICX_EAGAIN, "%s: deferred", file);
    }
    s->pages = pages;
    if (page == 1 && !s->flushed && send_kept(s) != 0) {
        s->refused = s->code;
        snprintf(s->why, sizeof s->why, "the payloads submitted before its "
                 "pages were refused (above)");
        return icx_err_set(err, ICX_EPOLICY, "%s", s->why);
    }
    char *blob = (char *)xml;
    int c, rc = call(s, &c, NULL, 1, &blob, &len);
    if (rc < 0 || c != 0) {
        s->refused = rc < 0 ? icx_cli_exit_for(rc) : c;
        snprintf(s->why, sizeof s->why, "page %lu of %lu %s", page, pages,
                 rc < 0 ? "could not be handed to the daemon"
                        : "was refused (the daemon's answer is above)");
        return rc < 0 ? rc : icx_err_set(err, ICX_EPOLICY, "%s", s->why);
    }
    s->sent = page;
    fprintf(stderr, "%s: page %lu of %lu queued (%zu bytes)\n", file, page,
            pages, len);
    return ICX_OK;
}

/* What became of a long list whose sending stopped. */
static void pages_stopped(const submit *s, const char *why)
{
    const char *file = s->files[s->f];
    if (s->sent == 0) {
        icx_cli_error("%s: %s; none of its %lu pages was sent", file, why,
                      s->pages);
        return;
    }
    char done[64], left[64];
    if (s->sent == 1)
        snprintf(done, sizeof done, "page 1 of %lu is", s->pages);
    else
        snprintf(done, sizeof done, "pages 1-%lu of %lu are", s->sent,
                 s->pages);
    if (s->sent + 1 == s->pages)
        snprintf(left, sizeof left, "page %lu was", s->pages);
    else
        snprintf(left, sizeof left, "pages %lu-%lu were", s->sent + 1,
                 s->pages);
    icx_cli_error("%s: %s", file, why);
    fprintf(stderr,
            "%s: %s queued to %s (SessionId %s) and stay%s queued: "
            "accepted pages are durable messages and will be delivered\n"
            "%s: %s not sent\n"
            "%s: a receiver applies a list only from a complete set of pages "
            "whose Digest matches (docs/LISTS.md), so this incomplete set "
            "changes no copy of the list; submit the file again to send a "
            "complete set (under a new SessionId)\n",
            file, done, s->to, s->session, s->sent == 1 ? "s" : "", file,
            left, file);
}

/* Translates file f for recipient r through put_page. */
static int translate(submit *s, const icx_mapping *m, int f, int r,
                     int stream, icx_buf *report, icx_err *err)
{
    icx_translate_result res;
    icx_buf none; /* everything goes through the sink */
    s->f = f;
    s->r = r;
    s->stream = stream;
    s->deferred = 0;
    s->pages = s->sent = 0;
    s->refused = 0;
    s->why[0] = '\0';
    int rc = icx_uuid4(s->session, err);
    if (rc < 0)
        return rc;
    icx_translate_opts o = {.partner = s->rcpt[r],
                            .partner_withhold = s->withhold[r],
                            .display = s->files[f],
                            .session_id = s->session, .sink = put_page,
                            .sink_ctx = s, .page_bytes = s->page_bytes};
    icx_buf_reset(report);
    icx_buf_init(&none, 1);
    rc = icx_translate_run(&none, &res, m, s->files[f], &o, report, err);
    icx_buf_free(&none);
    if (rc == ICX_OK && res.pages > 1) {
        s->paged[f] = 2;
        fprintf(stderr, "%s: %lu pages of list %s (SessionId %s) queued to "
                "%s\n", s->files[f], res.pages, m->list_id, s->session, s->to);
    }
    return rc;
}

/* Stops on a failed translation, saying what was and was not sent. */
static int failed(submit *s, int rc, const icx_buf *report, const icx_err *err)
{
    const char *file = s->files[s->f];
    if (s->pages > 0) { /* pages were being handed over */
        if (s->refused != 0) {
            pages_stopped(s, s->why);
            return s->refused;
        }
        char why[320];
        snprintf(why, sizeof why, "stopped before page %lu: %.200s", s->sent + 1,
                 err->msg);
        pages_stopped(s, why);
        return icx_cli_exit_for(rc);
    }
    fputs(report->data ? report->data : "", stderr);
    if (rc != ICX_EINVAL)
        icx_cli_error("%s", err->msg);
    if (s->accepted == 0)
        icx_cli_error("%s: not translated for %s; nothing was sent", file,
                      s->rcpt[s->r]);
    else
        icx_cli_error("%s: not translated for %s, not sent; what was queued "
                      "before it (above) stays queued", file, s->rcpt[s->r]);
    return icx_cli_exit_for(rc);
}

/* The configuration and each recipient's partner-file withholding; 0, or
 * the exit code once every problem is reported (nothing was sent). */
static int partners(submit *s, icx_config **cfg, const char *config,
                    icx_buf *report)
{
    icx_err err;
    int rc, code = ICX_EXIT_OK;
    icx_err_clear(&err);
    icx_buf_reset(report);
    if ((rc = icx_config_load(cfg, config, report, &err)) < 0) {
        if (report->len > 0) /* every error, err.msg the first */
            fputs(report->data, stderr);
        else
            icx_cli_error("%s", err.msg);
        icx_cli_error("submit --profile withholds from each recipient what "
                      "its partner file says; without the configuration %s "
                      "that is not known (give -c CONFIG, also with "
                      "--socket): nothing was sent", config);
        return icx_cli_exit_for(rc);
    }
    for (int r = 0; r < s->nrcpt; r++) {
        if ((rc = icx_mapping_partner_withhold(&s->withhold[r], *cfg,
                                               s->rcpt[r], &err)) < 0) {
            icx_cli_error("--to %s", err.msg);
            code = icx_cli_exit_for(rc);
        }
    }
    if (code != ICX_EXIT_OK)
        icx_cli_error("nothing was sent");
    return code;
}

int icx_cli_submit_profile(const char *socket_path, const char *profile,
                           const char *config, const char *const *files,
                           int nfiles, char **fwd, int nfwd)
{
    icx_err err;
    icx_mapping *m = NULL;
    icx_config *cfg = NULL;
    icx_buf report;
    submit s;
    char *ppath = icx_cli_profile_path(profile, config);
    size_t nb = (size_t)nfiles * MAX_RCPT;
    int rc, code = ICX_EXIT_OK;
    memset(&s, 0, sizeof s);
    s.socket_path = socket_path;
    s.fwd = fwd;
    s.nfwd = nfwd;
    s.files = files;
    s.nfiles = nfiles;
    s.to = fwd_opt(fwd, nfwd, "--to");
    s.blobs = calloc(nb, sizeof *s.blobs);
    s.lens = calloc(nb, sizeof *s.lens);
    s.req_blobs = calloc((size_t)nfiles, sizeof *s.req_blobs);
    s.req_lens = calloc((size_t)nfiles, sizeof *s.req_lens);
    s.paged = calloc((size_t)nfiles, 1);
    icx_err_clear(&err);
    icx_buf_init(&report, 16u << 20);
    icx_buf_init(&s.text, 16u << 20);
    if (ppath == NULL) { /* the lookup said why */
        code = ICX_EXIT_REFUSED;
        goto out;
    }
    if (s.blobs == NULL || s.lens == NULL ||
        s.req_blobs == NULL || s.req_lens == NULL || s.paged == NULL ||
        s.to == NULL) {
        icx_cli_error(s.to == NULL ? "submit needs --to" : "out of memory");
        code = s.to == NULL ? ICX_EXIT_USAGE : ICX_EXIT_FAILURE;
        goto out;
    }
    /* Every recipient is held (and checked below): one past the table
     * would get no payload, or a page nobody checked it may receive. */
    for (const char *p = s.to; *p != '\0';) {
        size_t len = strcspn(p, ",");
        if (s.nrcpt == MAX_RCPT) {
            icx_cli_error("--to: more than %d recipients", MAX_RCPT);
            code = ICX_EXIT_USAGE;
            goto out;
        }
        if (len == 0 || len >= sizeof s.rcpt[0]) {
            icx_cli_error("--to: bad recipient list \"%s\"", s.to);
            code = ICX_EXIT_USAGE;
            goto out;
        }
        memcpy(s.rcpt[s.nrcpt], p, len);
        s.rcpt[s.nrcpt++][len] = '\0';
        p += len + (p[len] == ',');
    }
    if ((code = partners(&s, &cfg, config, &report)) != ICX_EXIT_OK)
        goto out;
    if ((code = icx_cli_mapping_load(&m, ppath, &report)) != ICX_EXIT_OK)
        goto out;
    s.category = icx_translate_category(m);
    s.page_bytes = icx_cli_page_bytes(cfg->max_message_bytes);
    /* Check everything; keep the payloads of one page.  A list's pages do
     * not depend on the recipient: a long one is translated once. */
    int deferred = 0;
    for (int f = 0; f < nfiles; f++) {
        for (int r = 0; r < s.nrcpt && !s.paged[f]; r++) {
            int stream = f == nfiles - 1 && !deferred;
            rc = translate(&s, m, f, r, stream, &report, &err);
            if (rc < 0 && s.deferred) {
                s.paged[f] = 1;
                deferred = 1;
            } else if (rc < 0) {
                code = failed(&s, rc, &report, &err);
                goto out;
            }
        }
    }
    if (!s.flushed && (code = send_kept(&s)) != 0) {
        for (int f = 0; f < nfiles; f++)
            if (s.paged[f] == 1)
                icx_cli_error("%s: not sent (a list of several pages; the "
                              "payloads before it were refused)", files[f]);
        goto out;
    }
    for (int f = 0; f < nfiles; f++) {
        if (s.paged[f] != 1)
            continue;
        if ((rc = translate(&s, m, f, 0, 1, &report, &err)) < 0) {
            code = failed(&s, rc, &report, &err);
            goto out;
        }
    }
out:
    for (size_t i = 0; s.blobs != NULL && i < nb; i++)
        free(s.blobs[i]);
    free(s.blobs);
    free(s.lens);
    free(s.req_blobs);
    free(s.req_lens);
    free(s.paged);
    free(ppath);
    icx_mapping_free(&m);
    icx_config_free(&cfg);
    icx_buf_free(&report);
    icx_buf_free(&s.text);
    return code;
}
