/*
 * survey.h - legislation surveys: a round defined in YAML becomes a
 * survey:Request payload; a partner's answers in YAML become a checked
 * survey:Response payload; received responses are checked against the
 * round's questions and compiled into a country-by-question comparison
 * (survey_compile.c), with the changes since an earlier round.
 *
 * YAML files are read through the conftab walker: every problem is a
 * `file:line:col: key: what is wrong` line, all of them collected before
 * the load fails (ICX_ECONFIG).  Payloads read back (a stored request, a
 * received response) are parsed with the hardened parser and validated
 * against schemas/ before they are read; what XSD cannot say (an answer
 * fits its question's type, names a question of the round) is checked
 * here, the same code for the partner who answers and for the ministry
 * that compiles.
 *
 * Ownership: every struct below is owned by the object it was loaded into
 * and freed with its free function (NULL-safe, clears the pointer).
 * Strings are malloc'ed, NUL-terminated UTF-8.  Thread safety: none
 * needed; one command owns its objects.
 */
#ifndef ICX_SURVEY_H
#define ICX_SURVEY_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "buf.h"
#include "hooks.h"
#include "err.h"
#include "store.h"

#define ICX_SURVEY_NS "urn:icx:survey:1"
#define ICX_SURVEY_MAX_PAYLOAD (4u << 20)
#define ICX_SURVEY_MAX_RECIPIENTS 64

/* Question types, in the order of the schema's QuestionType. */
enum icx_sq_type { ICX_SQ_YES_NO_PARTIAL, ICX_SQ_NUMBER, ICX_SQ_DATE,
                   ICX_SQ_TEXT, ICX_SQ_CITATIONS, ICX_SQ__COUNT };
/* "yes-no-partial", ...; -1 / NULL when unknown. */
int icx_sq_type_from_name(const char *name);
const char *icx_sq_type_name(int type);

/* The five criteria of the ICMEC model-legislation review, as tag values of
 * scheme icmec, NULL-terminated. */
extern const char *const icx_survey_icmec_criteria[];

typedef struct icx_survey_text {
    char *lang;            /* "" when the definition gave no language */
    char *text;
} icx_survey_text;

typedef struct icx_survey_tag {
    char *scheme;          /* "iccs" or "icmec" */
    char *value;
} icx_survey_tag;

typedef struct icx_survey_question {
    char *id;
    int type;              /* enum icx_sq_type */
    icx_survey_text *texts;
    size_t ntexts;
    icx_survey_tag *tags;
    size_t ntags;
} icx_survey_question;

typedef struct icx_survey_recipient {
    char *id;              /* agency id */
    char *group;           /* the group it came from, NULL when named */
    unsigned line, col;    /* where the survey file names it */
} icx_survey_recipient;

/* A round: what the Request carries, plus (when loaded from YAML) the
 * recipients and the handling of the envelopes. */
typedef struct icx_survey {
    char *round;
    char *previous;        /* PreviousRoundId, NULL when none */
    char *title;
    char *deadline;        /* YYYY-MM-DD */
    icx_survey_question *questions;
    size_t nquestions;
    /* definition only: */
    char *path;            /* the YAML file */
    char *groups_file;     /* groups_file: or the default given to load */
    icx_survey_recipient *recipients;
    size_t nrecipients;
    char *legal_basis;
    char *retain_until;
    char *tlp;
} icx_survey;

/* Loads a survey definition.  groups_default is the groups file used when
 * the survey has no groups_file key (may be NULL or missing: then a group
 * name among the recipients is an error).  self (may be NULL) is this
 * gateway's id: dropped from expanded groups, an error when named.  On
 * failure *out is NULL, errs gets one line per problem. */
int icx_survey_load(icx_survey **out, const char *path,
                    const char *groups_default, const char *self,
                    icx_buf *errs, icx_err *err);
void icx_survey_free(icx_survey **sp);
const icx_survey_question *icx_survey_question_find(const icx_survey *s,
                                                    const char *id);
/* The question's text in lang, else the first one. */
const char *icx_survey_question_text(const icx_survey_question *q,
                                     const char *lang);

/* The survey:Request payload document of s. */
int icx_survey_request_xml(icx_buf *out, const icx_survey *s, icx_err *err);
/* Reads a survey:Request from a payload or from an envelope carrying one
 * (validated against the default schemas first). */
int icx_survey_from_xml(icx_survey **out, const char *xml, size_t len,
                        icx_err *err);

/* ---- answers ------------------------------------------------------------ */

typedef struct icx_survey_citation {
    char *statute;
    char *article;
    char *url;             /* NULL when none */
} icx_survey_citation;

typedef struct icx_survey_answer {
    char *question;
    char *value;           /* NULL when unchanged */
    char *since;           /* Unchanged/@sinceRound, else NULL */
    icx_survey_citation *citations;
    size_t ncitations;
    char *note;            /* NULL when none */
} icx_survey_answer;

typedef struct icx_survey_response {
    char *round;
    icx_survey_answer *answers;
    size_t nanswers;
} icx_survey_response;

/* Checks one value against a question type: 0 when it fits, else -1 with
 * the reason in why ("\"many\" is not a number"). */
int icx_survey_check_value(int type, const char *value, char *why,
                           size_t whylen);

/* The Value written for a citations question answered with citations
 * only ("2 provisions cited"); compile shows the citations instead. */
#define ICX_SURVEY_CITED_FMT "%zu provision%s cited"

/* Reads an answers YAML file against the request and writes the
 * survey:Response payload into out.  Unknown questions, values that do not
 * fit their type, a citations question without citations, a round that is
 * not the request's: each one a file:line:col line in errs, ICX_ECONFIG. */
int icx_survey_answers_load(icx_buf *out, const icx_survey *request,
                            const char *path, icx_buf *errs, icx_err *err);

/* Reads a survey:Response (payload or envelope), schema-checked. */
int icx_survey_response_from_xml(icx_survey_response **out, const char *xml,
                                 size_t len, icx_err *err);
void icx_survey_response_free(icx_survey_response **rp);
const icx_survey_answer *icx_survey_response_find(const icx_survey_response *r,
                                                  const char *question);
/* Checks a response against the request: round, known questions, types,
 * citations, sinceRound.  Returns the number of problems, each appended to
 * why as "q03: ..." separated by "; " (0: the response is sound). */
int icx_survey_response_check(const icx_survey *request,
                              const icx_survey_response *r, icx_buf *why);

/* ---- rounds as received (survey_compile.c) ------------------------------ */

/* One recipient of a round: the request it got, the answer it gave. */
typedef struct icx_survey_party {
    char agency[32];
    char request_id[40];      /* "" when not known */
    char request_state[16];   /* outbox state of the request, "" unknown */
    int nresponses;           /* responses received, sound or not */
    icx_survey_response *answer; /* the latest sound response, or NULL */
    char answer_id[40];
    int64_t answered_at;
    char rejected[512];       /* why the latest unsound one was refused */
    char rejected_id[40];
    int64_t rejected_at;
} icx_survey_party;

typedef struct icx_survey_round {
    icx_survey *request;      /* owned */
    icx_survey_party *parties;
    size_t nparties;
} icx_survey_round;

/* Takes ownership of request. */
int icx_survey_round_new(icx_survey_round **out, icx_survey *request,
                         icx_err *err);
void icx_survey_round_free(icx_survey_round **rp);
/* The party of agency, added when absent (NULL on ENOMEM). */
icx_survey_party *icx_survey_round_party(icx_survey_round *r,
                                         const char *agency);
/* A response received from agency: parsed, checked against the request and
 * kept when sound and newer than the one held; an unsound one (or one the
 * gateway rejected: gateway_reason not NULL) is recorded as rejected with
 * its reason.  Returns ICX_OK when the response belongs to another round
 * (*mine = 0) or was recorded (*mine = 1); < 0 only on ENOMEM. */
int icx_survey_round_add_response(icx_survey_round *r, const char *agency,
                                  const char *message_id, int64_t received_at,
                                  const char *xml, size_t len,
                                  const char *gateway_reason, int *mine,
                                  icx_err *err);

/* Loads an earlier round by id (for "unchanged since" and --since);
 * ICX_ENOTFOUND when this gateway has no record of it. */
typedef int (*icx_survey_round_fn)(void *ctx, const char *round,
                                   icx_survey_round **out, icx_err *err);

enum icx_survey_format { ICX_SURVEY_CSV, ICX_SURVEY_MD, ICX_SURVEY_HTML };

typedef struct icx_survey_compile_opts {
    int format;               /* enum icx_survey_format */
    const char *since;        /* earlier round for the changes table */
    icx_survey_round_fn load; /* NULL: unchanged answers stay unresolved */
    void *ctx;
    const char *lang;         /* question texts; NULL: "en" */
    time_t now;               /* "compiled on"; 0: time(NULL) */
} icx_survey_compile_opts;

/* Writes the comparison of round r.  ICX_ENOTFOUND when o->since cannot
 * be loaded. */
int icx_survey_compile(icx_buf *out, const icx_survey_round *r,
                       const icx_survey_compile_opts *o, icx_err *err);

/* Writes who answered, whose answer was rejected, who is late (deadline
 * before `now`) and who may still answer; as text or JSON. */
int icx_survey_status(icx_buf *out, const icx_survey_round *r, time_t now,
                      int json);

/* ---- the store as the record of rounds (survey_record.c) --------------- */

/* Rounds as the store records them: requests sent (outbox), responses
 * received (inbox).  The record borrows store (NULL: nothing was sent
 * yet) and reads it on first use. */
typedef struct icx_survey_record icx_survey_record;
int icx_survey_record_new(icx_survey_record **out, icx_store *store,
                          const char *self, icx_err *err);
void icx_survey_record_free(icx_survey_record **rp);
/* An icx_survey_round_fn (ctx: the record): round id as sent from this
 * gateway with every response received for it; ICX_ENOTFOUND when no
 * request of that round was sent. */
int icx_survey_record_load(void *rec, const char *round,
                           icx_survey_round **out, icx_err *err);
/* The rounds sent, newest first, each once; fn returning non-zero stops. */
typedef int (*icx_survey_round_id_fn)(void *ctx, const char *round,
                                      int64_t sent_at);
int icx_survey_record_rounds(icx_survey_record *r, icx_survey_round_id_fn fn,
                             void *ctx, icx_err *err);
/* Appends the bytes of the survey-request message_id received and
 * accepted here; ICX_ENOTFOUND, or ICX_EPOLICY when it was rejected. */
int icx_survey_record_request(icx_buf *env, icx_survey_record *r,
                              const char *message_id, icx_err *err);

/* ---- inside icx serve (survey_hooks.c) -------------------------------- */

/* The hook that checks accepted survey-responses (hooks.h). */
const icx_hook *icx_survey_hooks(size_t *n);

#endif
