/*
 * survey_record.c - the store as the record of survey rounds: the
 * survey-request envelopes in the outbox are what was sent, the
 * survey-response envelopes in the inbox what came back (`icx survey
 * status|compile`, the dashboard's surveys page).  Nothing else is kept.
 *
 * Reads only (icx_store_out_list, icx_store_in_list and the stored
 * envelope bytes); the first call that needs them reads every survey row
 * once, with its bytes, and keeps them until the record is freed.
 *
 * Ownership: a record borrows its store (which must outlive it) and owns
 * the rows it read.  Threads: the thread that uses the store.  Failures:
 * the store's errors, ICX_ENOMEM; a round nobody sent is ICX_ENOTFOUND.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "survey.h"

struct row {
    char message_id[40], agency[32], state[16], reason[128], category[32];
    int64_t at;
    char *env;
    size_t len;
    char *round;   /* requests: their RoundId */
};

struct icx_survey_record {
    icx_store *store;
    char self[32];
    struct row *out, *in;
    size_t nout, nin, capout, capin;
    int scanned;
    int oom;
};

int icx_survey_record_new(icx_survey_record **out, icx_store *store,
                          const char *self, icx_err *err)
{
    icx_survey_record *c = calloc(1, sizeof *c);
    *out = NULL;
    if (c == NULL)
        return icx_err_set(err, ICX_ENOMEM, "out of memory");
    c->store = store;
    snprintf(c->self, sizeof c->self, "%s", self ? self : "");
    *out = c;
    return ICX_OK;
}

static struct row *push(struct row **v, size_t *n, size_t *cap)
{
    if (*n == *cap) {
        size_t nc = *cap ? *cap * 2 : 32;
        struct row *nv = realloc(*v, nc * sizeof *nv);
        if (nv == NULL)
            return NULL;
        *v = nv;
        *cap = nc;
    }
    memset(&(*v)[*n], 0, sizeof **v);
    return &(*v)[(*n)++];
}

static int out_row(void *ctx, const icx_out_row *r)
{
    icx_survey_record *c = ctx;
    if (strcmp(r->category, "survey-request") != 0 ||
        strcmp(r->sender, c->self) != 0)
        return 0;
    struct row *w = push(&c->out, &c->nout, &c->capout);
    if (w == NULL)
        return c->oom = 1;
    snprintf(w->message_id, sizeof w->message_id, "%s", r->message_id);
    snprintf(w->agency, sizeof w->agency, "%s", r->recipient);
    snprintf(w->state, sizeof w->state, "%s", icx_out_state_name(r->state));
    snprintf(w->reason, sizeof w->reason, "%s", r->reason);
    w->at = r->created_at;
    return 0;
}

static int in_row(void *ctx, const icx_in_row *r)
{
    icx_survey_record *c = ctx;
    if (strcmp(r->category, "survey-response") != 0 &&
        strcmp(r->category, "survey-request") != 0)
        return 0;
    struct row *w = push(&c->in, &c->nin, &c->capin);
    if (w == NULL)
        return c->oom = 1;
    snprintf(w->message_id, sizeof w->message_id, "%s", r->message_id);
    snprintf(w->agency, sizeof w->agency, "%s", r->sender);
    snprintf(w->state, sizeof w->state, "%s", icx_in_state_name(r->state));
    snprintf(w->reason, sizeof w->reason, "%s", r->reason);
    snprintf(w->category, sizeof w->category, "%s", r->category);
    w->at = r->received_at;
    return 0;
}

/* Reads every survey row of the store once, with its envelope bytes. */
static int rec_scan(icx_survey_record *c, icx_err *err)
{
    icx_buf b;
    int rc;
    if (c->scanned)
        return ICX_OK;
    if (c->store == NULL) {
        c->scanned = 1;
        return ICX_OK; /* no store yet: nothing was sent */
    }
    c->scanned = 1;
    if ((rc = icx_store_out_list(c->store, -1, 0, out_row, c, err)) < 0 ||
        (rc = icx_store_in_list(c->store, -1, 0, in_row, c, err)) < 0)
        return rc;
    if (c->oom)
        return icx_err_set(err, ICX_ENOMEM, "out of memory");
    icx_buf_init(&b, 64u << 20);
    for (size_t i = 0; i < c->nout; i++) {
        struct row *w = &c->out[i];
        icx_survey *s = NULL;
        icx_err e;
        icx_buf_reset(&b);
        /* The first hop's copy: the bytes are the same for every hop. */
        if (icx_store_out_envelope(c->store, w->message_id, NULL, &b, &e) < 0 ||
            icx_survey_from_xml(&s, b.data, b.len, &e) < 0)
            continue;
        w->round = s->round;
        s->round = NULL;
        icx_survey_free(&s);
        w->env = icx_buf_steal(&b, &w->len);
    }
    for (size_t i = 0; i < c->nin; i++) {
        struct row *w = &c->in[i];
        icx_err e;
        icx_buf_reset(&b);
        if (icx_store_in_envelope(c->store, w->agency, w->message_id, &b,
                                  &e) == 0)
            w->env = icx_buf_steal(&b, &w->len);
    }
    icx_buf_free(&b);
    return ICX_OK;
}

void icx_survey_record_free(icx_survey_record **cp)
{
    if (cp == NULL || *cp == NULL)
        return;
    icx_survey_record *c = *cp;
    for (size_t i = 0; i < c->nout; i++) {
        free(c->out[i].env);
        free(c->out[i].round);
    }
    for (size_t i = 0; i < c->nin; i++) {
        free(c->in[i].env);
        free(c->in[i].round);
    }
    free(c->out);
    free(c->in);
    free(c);
    *cp = NULL;
}

int icx_survey_record_load(void *ctx, const char *id,
                           icx_survey_round **out, icx_err *err)
{
    icx_survey_record *c = ctx;
    icx_survey_round *r = NULL;
    int rc;
    *out = NULL;
    if ((rc = rec_scan(c, err)) < 0)
        return rc;
    /* Oldest first, so that a row sent again later wins. */
    for (size_t i = c->nout; i-- > 0;) {
        struct row *w = &c->out[i];
        if (w->round == NULL || strcmp(w->round, id) != 0)
            continue;
        if (r == NULL) {
            icx_survey *s = NULL;
            if ((rc = icx_survey_from_xml(&s, w->env, w->len, err)) < 0 ||
                (rc = icx_survey_round_new(&r, s, err)) < 0) {
                icx_survey_free(&s);
                return rc;
            }
        }
        icx_survey_party *p = icx_survey_round_party(r, w->agency);
        if (p == NULL)
            goto oom;
        if (p->request_id[0] && strcmp(w->state, "refused") == 0)
            continue; /* a refused resend does not hide the good one */
        snprintf(p->request_id, sizeof p->request_id, "%s", w->message_id);
        snprintf(p->request_state, sizeof p->request_state, "%s", w->state);
    }
    if (r == NULL)
        return icx_err_set(err, ICX_ENOTFOUND, "round %s: no survey request "
                           "of that round was sent from this gateway", id);
    for (size_t i = 0; i < c->nin; i++) {
        struct row *w = &c->in[i];
        int mine = 0;
        if (w->env == NULL || strcmp(w->category, "survey-response") != 0)
            continue;
        const char *why = strcmp(w->state, "rejected") == 0 ?
                          (w->reason[0] ? w->reason : "rejected") : NULL;
        if (strcmp(w->state, "received") == 0)
            continue;
        if ((rc = icx_survey_round_add_response(r, w->agency, w->message_id,
                                                w->at, w->env, w->len, why,
                                                &mine, err)) < 0) {
            icx_survey_round_free(&r);
            return rc;
        }
    }
    *out = r;
    return ICX_OK;
oom:
    icx_survey_round_free(&r);
    return icx_err_set(err, ICX_ENOMEM, "out of memory");
}


int icx_survey_record_rounds(icx_survey_record *c, icx_survey_round_id_fn fn,
                             void *ctx, icx_err *err)
{
    int rc = rec_scan(c, err);
    if (rc < 0)
        return rc;
    /* Newest first (the outbox walk's order), each round once. */
    for (size_t i = 0; i < c->nout; i++) {
        struct row *w = &c->out[i];
        int seen = 0;
        if (w->round == NULL)
            continue;
        for (size_t j = 0; j < i && !seen; j++)
            seen = c->out[j].round != NULL &&
                   strcmp(c->out[j].round, w->round) == 0;
        if (!seen && (rc = fn(ctx, w->round, w->at)) != 0)
            return rc;
    }
    return ICX_OK;
}

int icx_survey_record_request(icx_buf *env, icx_survey_record *c,
                              const char *message_id, icx_err *err)
{
    int rc = rec_scan(c, err);
    if (rc < 0)
        return rc;
    rc = icx_err_set(err, ICX_ENOTFOUND, "%s: no such file, and no survey "
                     "request with that MessageId in the inbox", message_id);
    for (size_t i = 0; i < c->nin; i++) {
        struct row *w = &c->in[i];
        if (strcmp(w->message_id, message_id) != 0 ||
            strcmp(w->category, "survey-request") != 0)
            continue;
        if (strcmp(w->state, "accepted") != 0)
            return icx_err_set(err, ICX_EPOLICY, "%s: that request was %s by "
                               "this gateway (%s)", message_id, w->state,
                               w->reason);
        return w->env ? icx_buf_append(env, w->env, w->len) : ICX_ENOTFOUND;
    }
    return rc;
}
