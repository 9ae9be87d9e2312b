/*
 * survey_hooks.c - what `icx serve` does with an accepted survey-response:
 * check it against the round it answers and put the outcome in the audit
 * log ("survey.answered", or "survey.answer.rejected" with the reasons).
 *
 * The request a response answers is the survey-request this gateway sent
 * (RefToMessageId), read through the daemon's own store connection
 * (env->sent_envelope).  The response
 * itself stays stored as received: a partner's unsound answer is evidence
 * too, and `icx survey status` shows it as rejected with the same reasons.
 *
 * Loop thread only (hooks.h).  Failures to read are logged; the hook never
 * refuses the envelope, which the broker has already accepted.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hooks.h"
#include "log.h"
#include "survey.h"

static int hook_response(void *ctx, const icx_hook_env *env,
                         const icx_header *h, const char *envelope,
                         size_t len, icx_outmsg **out, size_t *nout,
                         icx_err *err)
{
    (void)ctx;
    *out = NULL;
    *nout = 0;
    icx_survey_response *resp = NULL;
    icx_survey *req = NULL;
    icx_buf reqenv, why;
    char detail[256];
    int rc = ICX_OK;
    icx_buf_init(&reqenv, 64u << 20);
    icx_buf_init(&why, 16 * 1024);
    if (h->ref_to_message_id[0] == '\0') {
        snprintf(detail, sizeof detail, "reason=\"no RefToMessageId: it "
                 "answers no request\"");
        goto rejected;
    }
    if (env->sent_envelope == NULL ||
        env->sent_envelope(env->actx, h->ref_to_message_id, NULL, &reqenv,
                           err) < 0) {
        snprintf(detail, sizeof detail, "reason=\"it answers %s, which is not "
                 "a survey request this gateway sent to %s\"",
                 h->ref_to_message_id, h->sender);
        rc = ICX_OK;
        goto rejected;
    }
    if ((rc = icx_survey_from_xml(&req, reqenv.data, reqenv.len, err)) < 0 ||
        (rc = icx_survey_response_from_xml(&resp, envelope, len, err)) < 0)
        goto out;
    if (icx_survey_response_check(req, resp, &why) > 0) {
        snprintf(detail, sizeof detail, "round=%.40s reason=\"%.160s\"",
                 req->round, why.data ? why.data : "");
        goto rejected;
    }
    snprintf(detail, sizeof detail, "round=%.40s request=%s", req->round,
             h->ref_to_message_id);
    if (env->audit != NULL)
        env->audit(env->actx, "survey.answered", h->message_id, h->sender,
                   detail);
    icx_log_info("survey.answered", "message_id=%s partner=%s %s",
                 h->message_id, h->sender, detail);
    goto out;
rejected:
    if (env->audit != NULL)
        env->audit(env->actx, "survey.answer.rejected", h->message_id,
                   h->sender, detail);
    icx_log_warn("survey.answer.rejected", "message_id=%s partner=%s %s",
                 h->message_id, h->sender, detail);
out:
    icx_survey_response_free(&resp);
    icx_survey_free(&req);
    icx_buf_free(&reqenv);
    icx_buf_free(&why);
    return rc;
}

static const icx_hook hooks[] = {
    {"survey-response", hook_response, NULL},
};

const icx_hook *icx_survey_hooks(size_t *n)
{
    *n = sizeof hooks / sizeof hooks[0];
    return hooks;
}
