/*
 * cmd_survey.c - `icx survey send|answer|status|compile`: legislation
 * surveys over the gateway (docs/SURVEYS.md).
 *
 * send and answer build the payload here and hand it to the running
 * daemon through the control socket, exactly like `icx submit` (category
 * survey-request / survey-response); the daemon signs, queues and
 * answers with the MessageIds.  status and compile only read: they open
 * the store file beside the daemon (SQLite WAL) and rebuild a round from
 * the stored envelopes: the requests in the outbox are the record of what
 * was sent, the responses in the inbox what came back.  Nothing else is
 * kept.
 */
#include <getopt.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "config.h"
#include "control.h"
#include "envelope.h"
#include "store.h"
#include "survey.h"
#include "util.h"


static const char usage_text[] =
    "usage: icx survey send SURVEY.yaml [-c CONFIG] [--groups FILE] [--out FILE]\n"
    "       icx survey answer REQUEST --from ANSWERS.yaml [-c CONFIG] [--out FILE]\n"
    "                         [--to ID] [--legal-basis TEXT] [--retain-until DATE]\n"
    "       icx survey show REQUEST [-c CONFIG] [--lang LANG]\n"
    "       icx survey status ROUND [-c CONFIG] [--as-of DATE] [--json]\n"
    "       icx survey compile ROUND --format csv|md|html [--since ROUND]\n"
    "                          [-o FILE] [--lang LANG] [-c CONFIG]\n"
    "common options: [-c CONFIG] [--socket PATH]\n\n"
    "send: checks the survey definition (every error as file:line:col), expands\n"
    "recipient groups (groups.yaml beside CONFIG, or groups_file:), and sends\n"
    "one signed survey-request to each recipient through the daemon.  Sending\n"
    "the same round again only reaches recipients that have not got it.\n"
    "--out writes the request payload and sends nothing.\n"
    "answer: REQUEST is the MessageId of a received survey-request (or a file\n"
    "holding the request envelope); the answers are checked against the\n"
    "question types and sent back as a signed survey-response that refers to\n"
    "the request.  --out writes the response payload and sends nothing.\n"
    "show: a received questionnaire as the person who answers it reads it:\n"
    "round, sender, deadline, each question with its type and text (--lang:\n"
    "that language where the question has it), and the answers file to fill.\n"
    "REQUEST as for answer.\n"
    "status: who answered, whose answer was rejected, who is late (deadline\n"
    "passed as of --as-of, default now) and who may still answer.\n"
    "compile: the country-by-question comparison, with citations, missing\n"
    "answers marked and \"unchanged since\" answers resolved; --since adds the\n"
    "changes since an earlier round.\n"
    "Exit codes: 0 ok, 1 refused (invalid file, unknown round), 2 usage,\n"
    "3 failure, 4 no daemon running.\n";

struct opts {
    const char *config, *socket, *groups, *out, *from, *to, *legal, *retain;
    const char *asof, *format, *since, *lang;
    int json;
    const char *arg; /* SURVEY.yaml, REQUEST or ROUND */
};

static int parse(struct opts *o, int argc, char **argv)
{
    static const struct option lo[] = {
        {"config", required_argument, NULL, 'c'},
        {"socket", required_argument, NULL, 'S'},
        {"groups", required_argument, NULL, 'g'},
        {"out", required_argument, NULL, 'o'},
        {"from", required_argument, NULL, 'f'},
        {"to", required_argument, NULL, 't'},
        {"legal-basis", required_argument, NULL, 'l'},
        {"retain-until", required_argument, NULL, 'r'},
        {"as-of", required_argument, NULL, 'a'},
        {"format", required_argument, NULL, 'F'},
        {"since", required_argument, NULL, 's'},
        {"lang", required_argument, NULL, 'L'},
        {"json", no_argument, NULL, 'j'},
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
        case 'S': o->socket = optarg; break;
        case 'g': o->groups = optarg; break;
        case 'o': o->out = optarg; break;
        case 'f': o->from = optarg; break;
        case 't': o->to = optarg; break;
        case 'l': o->legal = optarg; break;
        case 'r': o->retain = optarg; break;
        case 'a': o->asof = optarg; break;
        case 'F': o->format = optarg; break;
        case 's': o->since = optarg; break;
        case 'L': o->lang = optarg; break;
        case 'j': o->json = 1; break;
        default: return -1;
        }
    }
    if (optind + 1 != argc)
        return -1;
    o->arg = argv[optind];
    return 0;
}

/* ---- the store as a record of rounds (survey_record.c) ----------------- */

struct rec {
    icx_store *store;
    icx_survey_record *rec;
};

static void rec_free(struct rec *c)
{
    icx_survey_record_free(&c->rec);
    icx_store_free(&c->store);
}

static int load_round(void *ctx, const char *id, icx_survey_round **out,
                      icx_err *err)
{
    struct rec *c = ctx;
    return icx_survey_record_load(c->rec, id, out, err);
}

static int open_record(struct rec *c, icx_config **cfg, const char *config,
                       int must_exist, icx_err *err)
{
    icx_buf errs;
    icx_buf_init(&errs, 1 << 20);
    memset(c, 0, sizeof *c);
    int rc = icx_config_load(cfg, config, &errs, err);
    if (rc < 0) {
        fputs(errs.data ? errs.data : "", stderr);
        icx_buf_free(&errs);
        return icx_err_wrap(err, "%s", config);
    }
    icx_buf_free(&errs);
    if (!icx_store_is_url((*cfg)->store_path) &&
        access((*cfg)->store_path, F_OK) != 0) {
        if (must_exist)
            return icx_err_set(err, ICX_ENOTFOUND, "%s: no store (has the "
                               "gateway run yet?)", (*cfg)->store_path);
    } else {
        rc = icx_store_open(&c->store, (*cfg)->store_path, err);
    }
    if (rc == ICX_OK)
        rc = icx_survey_record_new(&c->rec, c->store, (*cfg)->id, err);
    return rc;
}

/* ---- talking to the daemon ---------------------------------------------- */

static int submit(const struct opts *o, char **args, int n, const char *payload,
                  size_t len)
{
    icx_err err;
    icx_buf text;
    char *sock = NULL;
    int code = ICX_EXIT_FAILURE;
    const char *path = o->socket;
    struct passwd *pw = getpwuid(getuid());
    icx_err_clear(&err);
    icx_buf_init(&text, 16u << 20);
    args[n++] = "--user";
    args[n++] = pw != NULL ? pw->pw_name : "unknown";
    if (path == NULL) {
        int rc = icx_config_control_socket(&sock, o->config, &err);
        if (rc < 0) {
            code = icx_cli_fail(rc, &err);
            goto out;
        }
        path = sock;
    }
    char *blobs[1] = {(char *)payload};
    int rc = icx_ctl_call(&code, &text, path, n, args, 1, blobs, &len, 0, &err);
    if (rc < 0) {
        code = icx_cli_fail(rc, &err);
        goto out;
    }
    fwrite(text.data ? text.data : "", 1, text.len, code == 0 ? stdout : stderr);
out:
    free(sock);
    icx_buf_free(&text);
    return code;
}

static int write_out(const char *path, const char *data, size_t len)
{
    icx_err err;
    if (strcmp(path, "-") == 0) {
        fwrite(data, 1, len, stdout);
        return ICX_EXIT_OK;
    }
    int rc = icx_file_write_atomic(path, data, len, 0644, &err);
    return rc < 0 ? icx_cli_fail(rc, &err) : ICX_EXIT_OK;
}

/* ---- send --------------------------------------------------------------- */

static int check_recipients(const icx_survey *s, const icx_config *cfg)
{
    int bad = 0;
    for (size_t i = 0; i < s->nrecipients; i++) {
        const icx_survey_recipient *r = &s->recipients[i];
        const icx_partner *p = icx_config_partner(cfg, r->id);
        char from[80] = "";
        if (r->group)
            snprintf(from, sizeof from, " (group %s)", r->group);
        if (p == NULL) {
            fprintf(stderr, "%s:%u:%u: recipients: %s%s: no partner file has "
                    "this id\n", s->path, r->line, r->col, r->id, from);
            bad++;
        } else if (!icx_strlist_has(&p->categories_out, "survey-request")) {
            fprintf(stderr, "%s:%u:%u: recipients: %s%s: categories_out of "
                    "%s lacks survey-request\n", s->path, r->line, r->col,
                    r->id, from, p->source_file ? p->source_file : "its file");
            bad++;
        } else if (!icx_strlist_has(&p->categories_in, "survey-response")) {
            fprintf(stderr, "%s:%u:%u: recipients: %s%s: categories_in of %s "
                    "lacks survey-response (its answer would be refused)\n",
                    s->path, r->line, r->col, r->id, from,
                    p->source_file ? p->source_file : "its file");
            bad++;
        }
    }
    return bad;
}

static int cmd_send(const struct opts *o)
{
    icx_err err;
    icx_config *cfg = NULL;
    icx_survey *s = NULL, *back = NULL;
    icx_buf errs, payload, a, b;
    struct rec rec;
    char *groups = NULL, to[ICX_SURVEY_MAX_RECIPIENTS * 33 + 1] = "";
    int code = ICX_EXIT_FAILURE, rc, nto = 0;
    icx_err_clear(&err);
    icx_buf_init(&errs, 1 << 20);
    icx_buf_init(&payload, ICX_SURVEY_MAX_PAYLOAD);
    icx_buf_init(&a, ICX_SURVEY_MAX_PAYLOAD);
    icx_buf_init(&b, ICX_SURVEY_MAX_PAYLOAD);
    if ((rc = open_record(&rec, &cfg, o->config, 0, &err)) < 0) {
        code = icx_cli_fail(rc, &err);
        goto out;
    }
    if (o->groups == NULL) {
        size_t n = strlen(cfg->base_dir) + sizeof "/groups.yaml";
        if ((groups = malloc(n)) == NULL)
            goto out;
        snprintf(groups, n, "%s/groups.yaml", cfg->base_dir);
        if (access(groups, F_OK) != 0) {
            free(groups);
            groups = NULL;
        }
    }
    rc = icx_survey_load(&s, o->arg, o->groups ? o->groups : groups, cfg->id,
                         &errs, &err);
    if (rc < 0) {
        fputs(errs.data ? errs.data : "", stderr);
        icx_cli_error("%s: survey refused; nothing was sent", o->arg);
        code = icx_cli_exit_for(rc);
        goto out;
    }
    if (check_recipients(s, cfg) > 0) {
        icx_cli_error("%s: survey refused; nothing was sent", o->arg);
        code = ICX_EXIT_REFUSED;
        goto out;
    }
    time_t deadline, now = time(NULL);
    icx_date_parse(&deadline, s->deadline);
    if (now >= deadline + 86400) {
        icx_cli_error("%s: deadline %s has passed; nothing was sent", o->arg,
                      s->deadline);
        code = ICX_EXIT_REFUSED;
        goto out;
    }
    if ((rc = icx_survey_request_xml(&payload, s, &err)) < 0 ||
        (rc = icx_survey_from_xml(&back, payload.data, payload.len, &err)) < 0) {
        code = icx_cli_fail(rc, &err);
        goto out;
    }
    if (o->out != NULL) {
        code = write_out(o->out, payload.data, payload.len);
        goto out;
    }
    /* What was sent before: the same definition, to whom. */
    icx_survey_round *sent = NULL;
    if (rec.store != NULL) {
        rc = load_round(&rec, s->round, &sent, &err);
        if (rc < 0 && rc != ICX_ENOTFOUND) {
            code = icx_cli_fail(rc, &err);
            goto out;
        }
    }
    if (sent != NULL &&
        ((rc = icx_survey_request_xml(&a, back, &err)) < 0 ||
         (rc = icx_survey_request_xml(&b, sent->request, &err)) < 0 ||
         a.len != b.len || memcmp(a.data, b.data, a.len) != 0)) {
        icx_cli_error("round %s was already sent with a different definition; "
                      "give the changed survey a new round id", s->round);
        icx_survey_round_free(&sent);
        code = ICX_EXIT_REFUSED;
        goto out;
    }
    for (size_t i = 0; i < s->nrecipients; i++) {
        const char *id = s->recipients[i].id;
        const icx_survey_party *p = NULL;
        for (size_t j = 0; sent && j < sent->nparties; j++)
            if (strcmp(sent->parties[j].agency, id) == 0)
                p = &sent->parties[j];
        if (p && p->request_id[0] && strcmp(p->request_state, "refused") != 0 &&
            strcmp(p->request_state, "failed") != 0) {
            printf("already sent %s to %s (%s)\n", p->request_id, id,
                   p->request_state);
            continue;
        }
        size_t l = strlen(to);
        snprintf(to + l, sizeof to - l, "%s%s", nto ? "," : "", id);
        nto++;
    }
    icx_survey_round_free(&sent);
    if (nto == 0) {
        printf("round %s: every recipient has it; nothing sent\n", s->round);
        code = ICX_EXIT_OK;
        goto out;
    }
    char *args[32];
    int n = 0;
    args[n++] = "submit";
    args[n++] = "--to";
    args[n++] = to;
    args[n++] = "--category";
    args[n++] = "survey-request";
    args[n++] = "--legal-basis";
    args[n++] = s->legal_basis;
    args[n++] = "--retain-until";
    args[n++] = s->retain_until;
    args[n++] = "--tlp";
    args[n++] = s->tlp;
    if (o->json)
        args[n++] = "--json";
    code = submit(o, args, n, payload.data, payload.len);
out:
    rec_free(&rec);
    icx_config_free(&cfg);
    icx_survey_free(&s);
    icx_survey_free(&back);
    free(groups);
    icx_buf_free(&errs);
    icx_buf_free(&payload);
    icx_buf_free(&a);
    icx_buf_free(&b);
    return code;
}

/* ---- answer ------------------------------------------------------------- */

/* The request envelope: a received message by id, or a file. */
static int find_request(icx_buf *env, const struct opts *o, icx_err *err)
{
    if (access(o->arg, F_OK) == 0) {
        char *data = NULL;
        size_t len = 0;
        int rc = icx_file_read(&data, &len, o->arg, ICX_SURVEY_MAX_PAYLOAD, err);
        if (rc == 0)
            rc = icx_buf_append(env, data, len);
        free(data);
        return rc;
    }
    icx_config *cfg = NULL;
    struct rec rec;
    int rc = open_record(&rec, &cfg, o->config, 1, err);
    if (rc == ICX_OK)
        rc = icx_survey_record_request(env, rec.rec, o->arg, err);
    rec_free(&rec);
    icx_config_free(&cfg);
    return rc;
}

static int cmd_answer(const struct opts *o)
{
    icx_err err;
    icx_buf env, errs, payload, why;
    icx_header h;
    icx_survey *req = NULL;
    icx_survey_response *check = NULL;
    icx_xml_limits lim = {.max_bytes = ICX_SURVEY_MAX_PAYLOAD, .max_depth = 64};
    int code = ICX_EXIT_FAILURE, rc;
    icx_err_clear(&err);
    memset(&h, 0, sizeof h);
    icx_buf_init(&env, ICX_SURVEY_MAX_PAYLOAD);
    icx_buf_init(&errs, 1 << 20);
    icx_buf_init(&payload, ICX_SURVEY_MAX_PAYLOAD);
    icx_buf_init(&why, 1 << 16);
    if (o->from == NULL) {
        icx_cli_error("survey answer needs --from ANSWERS.yaml");
        fputs(usage_text, stderr);
        code = ICX_EXIT_USAGE;
        goto out;
    }
    if ((rc = find_request(&env, o, &err)) < 0 ||
        (rc = icx_survey_from_xml(&req, env.data, env.len, &err)) < 0) {
        code = icx_cli_fail(rc, &err);
        goto out;
    }
    int is_env = icx_envelope_peek(&h, env.data, env.len, &lim, &err) == 0;
    rc = icx_survey_answers_load(&payload, req, o->from, &errs, &err);
    if (rc < 0) {
        fputs(errs.data ? errs.data : "", stderr);
        icx_cli_error("%s: answers refused; nothing was sent", o->from);
        code = icx_cli_exit_for(rc);
        goto out;
    }
    /* What the ministry will check, checked here first. */
    if ((rc = icx_survey_response_from_xml(&check, payload.data, payload.len,
                                           &err)) < 0) {
        code = icx_cli_fail(rc, &err);
        goto out;
    }
    if (icx_survey_response_check(req, check, &why) > 0) {
        icx_cli_error("%s: %s", o->from, why.data);
        code = ICX_EXIT_REFUSED;
        goto out;
    }
    if (o->out != NULL) {
        code = write_out(o->out, payload.data, payload.len);
        goto out;
    }
    const char *to = o->to ? o->to : is_env ? h.sender : NULL;
    const char *legal = o->legal ? o->legal : is_env ? h.legal_basis : NULL;
    const char *retain = o->retain ? o->retain : is_env ? h.retain_until : NULL;
    if (to == NULL || legal == NULL || retain == NULL) {
        icx_cli_error("the request is a bare payload: give --to, --legal-basis "
                      "and --retain-until");
        code = ICX_EXIT_USAGE;
        goto out;
    }
    char *args[32];
    int n = 0;
    args[n++] = "submit";
    args[n++] = "--to";
    args[n++] = (char *)to;
    args[n++] = "--category";
    args[n++] = "survey-response";
    args[n++] = "--legal-basis";
    args[n++] = (char *)legal;
    args[n++] = "--retain-until";
    args[n++] = (char *)retain;
    if (is_env) {
        args[n++] = "--ref";
        args[n++] = h.message_id;
        if (h.tlp[0]) {
            args[n++] = "--tlp";
            args[n++] = h.tlp;
        }
        if (h.conversation_id[0]) {
            args[n++] = "--conversation";
            args[n++] = h.conversation_id;
        }
    }
    if (o->json)
        args[n++] = "--json";
    code = submit(o, args, n, payload.data, payload.len);
out:
    icx_survey_free(&req);
    icx_survey_response_free(&check);
    icx_buf_free(&env);
    icx_buf_free(&errs);
    icx_buf_free(&payload);
    icx_buf_free(&why);
    return code;
}

/* ---- status and compile ------------------------------------------------- */

static int cmd_report(const struct opts *o, int compile)
{
    icx_err err;
    icx_config *cfg = NULL;
    struct rec rec;
    icx_survey_round *r = NULL;
    icx_buf out;
    int code = ICX_EXIT_FAILURE, rc;
    time_t now = time(NULL);
    icx_survey_compile_opts co = {.since = o->since, .load = load_round,
                                  .ctx = &rec, .lang = o->lang};
    icx_err_clear(&err);
    icx_buf_init(&out, 256u << 20);
    if (compile) {
        if (o->format == NULL || (strcmp(o->format, "csv") != 0 &&
                                  strcmp(o->format, "md") != 0 &&
                                  strcmp(o->format, "html") != 0)) {
            icx_cli_error("compile needs --format csv, md or html");
            return ICX_EXIT_USAGE;
        }
        co.format = o->format[0] == 'c' ? ICX_SURVEY_CSV
                    : o->format[0] == 'm' ? ICX_SURVEY_MD : ICX_SURVEY_HTML;
    }
    if (o->asof != NULL && icx_date_parse(&now, o->asof) < 0 &&
        icx_time_parse(&now, o->asof) < 0) {
        icx_cli_error("--as-of: want YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ");
        return ICX_EXIT_USAGE;
    }
    if ((rc = open_record(&rec, &cfg, o->config, 1, &err)) < 0 ||
        (rc = load_round(&rec, o->arg, &r, &err)) < 0) {
        code = icx_cli_fail(rc, &err);
        goto out;
    }
    if (compile) {
        co.now = now;
        rc = icx_survey_compile(&out, r, &co, &err);
    } else {
        rc = icx_survey_status(&out, r, now, o->json);
    }
    if (rc < 0) {
        code = icx_cli_fail(rc, &err);
        goto out;
    }
    code = write_out(compile && o->out ? o->out : "-", out.data ? out.data : "",
                     out.len);
out:
    icx_survey_round_free(&r);
    rec_free(&rec);
    icx_config_free(&cfg);
    icx_buf_free(&out);
    return code;
}

/* What an answer of each type looks like in the answers file. */
static const char *answer_hint(int type)
{
    switch (type) {
    case ICX_SQ_YES_NO_PARTIAL: return "yes, no or partial";
    case ICX_SQ_NUMBER: return "a number, e.g. 14 or -2.5";
    case ICX_SQ_DATE: return "a date, YYYY-MM-DD";
    case ICX_SQ_CITATIONS: return "citations: [{statute: ..., article: ...}]";
    default: return "text";
    }
}

/* Prints q's texts: those in lang when it has any, else all of them. */
static void show_texts(const icx_survey_question *q, const char *lang)
{
    int any = 0;
    for (size_t i = 0; lang != NULL && i < q->ntexts; i++)
        any |= strcmp(q->texts[i].lang, lang) == 0;
    for (size_t i = 0; i < q->ntexts; i++) {
        const icx_survey_text *t = &q->texts[i];
        if (any && strcmp(t->lang, lang) != 0)
            continue;
        if (t->lang[0] != '\0')
            printf("      [%s] %s\n", t->lang, t->text);
        else
            printf("      %s\n", t->text);
    }
}

static int cmd_show(const struct opts *o)
{
    icx_err err;
    icx_buf env;
    icx_header h;
    icx_survey *req = NULL;
    icx_xml_limits lim = {.max_bytes = ICX_SURVEY_MAX_PAYLOAD, .max_depth = 64};
    int code = ICX_EXIT_FAILURE, rc;
    icx_err_clear(&err);
    memset(&h, 0, sizeof h);
    icx_buf_init(&env, ICX_SURVEY_MAX_PAYLOAD);
    if ((rc = find_request(&env, o, &err)) < 0 ||
        (rc = icx_survey_from_xml(&req, env.data, env.len, &err)) < 0) {
        code = icx_cli_fail(rc, &err);
        goto out;
    }
    int is_env = icx_envelope_peek(&h, env.data, env.len, &lim, &err) == 0;
    printf("Survey round %s: %s\n", req->round, req->title);
    if (is_env)
        printf("From %s, MessageId %s, received as %s\n", h.sender,
               h.message_id, h.recipient);
    printf("Answers due by %s (the end of that day, UTC)\n", req->deadline);
    if (req->previous != NULL)
        printf("Previous round: %s (an answer may be \"unchanged since\" "
               "it)\n", req->previous);
    printf("\n%zu question%s:\n", req->nquestions,
           req->nquestions == 1 ? "" : "s");
    for (size_t i = 0; i < req->nquestions; i++) {
        const icx_survey_question *q = &req->questions[i];
        printf("\n  %s  (%s)\n", q->id, icx_sq_type_name(q->type));
        show_texts(q, o->lang);
    }
    printf("\nThe answers file for `icx survey answer %s --from FILE`:\n\n",
           is_env ? h.message_id : o->arg);
    printf("round: %s\nanswers:\n", req->round);
    for (size_t i = 0; i < req->nquestions; i++)
        printf("  %s:    # %s\n", req->questions[i].id,
               answer_hint(req->questions[i].type));
    code = ICX_EXIT_OK;
out:
    icx_survey_free(&req);
    icx_buf_free(&env);
    return code;
}

int icx_cmd_survey(int argc, char **argv)
{
    struct opts o;
    if (argc < 2 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0 ||
        strcmp(argv[1], "help") == 0) {
        fputs(usage_text, argc < 2 ? stderr : stdout);
        return argc < 2 ? ICX_EXIT_USAGE : ICX_EXIT_OK;
    }
    const char *sub = argv[1];
    if (icx_cli_wants_help(argc, argv)) {
        fputs(usage_text, stdout);
        return ICX_EXIT_OK;
    }
    if (parse(&o, argc - 1, argv + 1) < 0) {
        fputs(usage_text, stderr);
        return ICX_EXIT_USAGE;
    }
    if (strcmp(sub, "send") == 0)
        return cmd_send(&o);
    if (strcmp(sub, "answer") == 0)
        return cmd_answer(&o);
    if (strcmp(sub, "show") == 0)
        return cmd_show(&o);
    if (strcmp(sub, "status") == 0)
        return cmd_report(&o, 0);
    if (strcmp(sub, "compile") == 0)
        return cmd_report(&o, 1);
    icx_cli_error("unknown survey command \"%s\" (send, answer, show, "
                  "status, compile)", sub);
    return ICX_EXIT_USAGE;
}
