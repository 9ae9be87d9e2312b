/*
 * survey_int.h - helpers shared by the survey files (survey.c,
 * survey_answer.c, survey_read.c, survey_compile.c); not an interface.
 */
#ifndef ICX_SURVEY_INT_H
#define ICX_SURVEY_INT_H

#include <stddef.h>

#include "conftab.h"
#include "survey.h"

/* n when it is a node of kind, NULL when absent or empty; otherwise
 * reports "want a list|a mapping" at n and returns NULL. */
const icx_conftab_node *icx_survey_want(icx_conftab_file *f,
                                        const icx_conftab_node *n, int kind,
                                        const char *key);
/* icx_conftab_apply() on map with every key named "prefix.key". */
int icx_survey_apply_at(void *base, const icx_conftab_key *tab,
                        const icx_conftab_node *map, const char *prefix,
                        icx_conftab_file *f);
/* RoundId / QuestionId pattern of the schema. */
int icx_survey_id_valid(const char *s);
/* Characters (UTF-8 code points) of s. */
size_t icx_survey_chars(const char *s);
/* strdup that keeps NULL. */
char *icx_survey_dup(const char *s);
/* Frees the strings of one answer. */
void icx_survey_answer_clear(icx_survey_answer *a);

#endif
