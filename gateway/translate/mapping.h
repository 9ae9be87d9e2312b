/*
 * mapping.h - mapping profiles (config/mappings/NAME.yaml): which domestic
 * column becomes which payload field, code tables (above all the crosswalk
 * from domestic offence codes to UNODC ICCS), and the fields withheld per
 * partner.
 *
 * A profile is read with the key-table walker of conftab.h, so every error
 * is `file:line:col: key: what is wrong`, all of them collected before the
 * load fails.  The payload fields a profile may fill are a fixed
 * vocabulary (icx_map_target); each has a type whose normalizer always
 * runs (dates, prefectures, addresses, URLs, hashes), and the profile
 * adds NFKC and case folding per column.
 *
 * Ownership: icx_mapping_load() returns a profile freed with
 * icx_mapping_free(); everything inside is owned by it and immutable.
 * Thread safety: a loaded profile may be read from any thread.
 */
#ifndef ICX_MAPPING_H
#define ICX_MAPPING_H

#include <stddef.h>

#include "buf.h"
#include "config.h"
#include "err.h"

enum icx_map_kind { ICX_MAP_CASE, ICX_MAP_URL_LIST, ICX_MAP_HASH_LIST };
enum icx_map_format { ICX_MAP_CSV, ICX_MAP_YAML, ICX_MAP_LINES };
enum icx_map_fold { ICX_MAP_KEEP, ICX_MAP_UPPER, ICX_MAP_LOWER };

/* Value types: each has one normalizer (normalize.h). */
enum icx_map_type {
    ICX_MT_TEXT, ICX_MT_DATE, ICX_MT_DATETIME, ICX_MT_PREFECTURE,
    ICX_MT_COUNTRY, ICX_MT_IP, ICX_MT_PORT, ICX_MT_EMAIL, ICX_MT_URL,
    ICX_MT_HASH_ALG, ICX_MT_HASH, ICX_MT_ROLE, ICX_MT_STATUS, ICX_MT_CODE
};

/* The payload fields a profile can fill. */
enum icx_map_tid {
    ICX_T_CASE_REFERENCE, ICX_T_CASE_TITLE, ICX_T_CASE_SUMMARY,
    ICX_T_CASE_FROM, ICX_T_CASE_TO, ICX_T_CASE_PREFECTURE,
    ICX_T_OFFENCE_CODE,
    ICX_T_PERSON_KEY, ICX_T_PERSON_ROLE, ICX_T_PERSON_NAME,
    ICX_T_PERSON_NAME_KANA, ICX_T_PERSON_NAME_LATIN, ICX_T_PERSON_BIRTH,
    ICX_T_PERSON_NATIONALITY, ICX_T_PERSON_ACCOUNT, ICX_T_PERSON_SERVICE,
    ICX_T_PERSON_EMAIL, ICX_T_PERSON_IP, ICX_T_PERSON_PORT,
    ICX_T_PERSON_OBSERVED, ICX_T_PERSON_URL,
    /* Of a received Response, written back only; the evidence targets
     * stay together, ID first and GRADING last (translate_back.c). */
    ICX_T_RESPONSE_REFERENCE, ICX_T_RESPONSE_STATUS, ICX_T_RESPONSE_ANSWER,
    ICX_T_EVIDENCE_ID, ICX_T_EVIDENCE_DESCRIPTION, ICX_T_EVIDENCE_ALG,
    ICX_T_EVIDENCE_HASH, ICX_T_EVIDENCE_SIZE, ICX_T_EVIDENCE_GRADING_SCHEME,
    ICX_T_EVIDENCE_GRADING,
    ICX_T_ENTRY_URL, ICX_T_ENTRY_ALG, ICX_T_ENTRY_HASH, ICX_T_ENTRY_CATEGORY,
    ICX_T_ENTRY_DETECTED, ICX_T_ENTRY_STATUS,
    ICX_T__COUNT
};

typedef struct icx_map_target {
    const char *name;  /* "person.email" */
    unsigned kinds;    /* 1 << icx_map_kind it belongs to */
    int type;          /* icx_map_type */
    const char *path;  /* payload path, for --explain and Withheld */
    const char *doc;
} icx_map_target;

/* Target by id, or by name (NULL when unknown). */
const icx_map_target *icx_map_target_get(int tid);
int icx_map_target_find(const char *name);

/* One row of a code table: code (as the domestic file writes it, after
 * the column's normalization) -> to; for offences also the DomesticCode
 * text and system, a description and the note that justifies the row. */
typedef struct icx_map_code {
    char *code, *to, *domestic, *system, *label, *note;
    unsigned line;
} icx_map_code;

typedef struct icx_map_table {
    char *name;
    char *system;  /* default DomesticCode system of its rows */
    char *description;
    icx_map_code *rows;
    size_t nrows;
} icx_map_table;

typedef struct icx_map_field {
    char *column;  /* header name, or "#N" (1-based position) */
    char *field;   /* target name */
    char *table;   /* code table applied after normalization, or NULL */
    char *def;     /* value used when the cell is empty, or NULL */
    char *note;
    int nfkc;      /* default true (never applied to URLs) */
    int fold;      /* icx_map_fold */
    int required;
    int tid;       /* resolved target */
    unsigned line; /* of the row in the profile */
} icx_map_field;

typedef struct icx_map_partner {
    char *id;
    icx_strlist release;  /* profile-withheld fields this partner may get */
    icx_strlist withhold; /* more fields withheld from this partner */
} icx_map_partner;

typedef struct icx_mapping {
    char *path;
    char *profile;       /* name, e.g. "npa-case" */
    char *description;
    int kind;            /* icx_map_kind */
    char *version;       /* table version: crosswalkVersion of payloads */
    int format;          /* icx_map_format */
    char *encoding;      /* auto | utf-8 | cp932 */
    int header;          /* first CSV record names the columns */
    char *zone;          /* default zone for times without one */
    int zone_min;
    char *case_root;     /* Referral | Request */
    char *list_id;       /* list kinds: the ListId */
    icx_strlist withhold; /* withheld from every partner unless released */
    icx_map_field *fields;
    size_t nfields;
    icx_map_table *tables;
    size_t ntables;
    icx_map_partner *partners;
    size_t npartners;
} icx_mapping;

/* Loads and checks a profile.  On failure *out is NULL, the return is
 * ICX_ECONFIG and errs holds one line per error. */
int icx_mapping_load(icx_mapping **out, const char *path, icx_buf *errs,
                     icx_err *err);
void icx_mapping_free(icx_mapping **mp);

const icx_map_table *icx_mapping_table(const icx_mapping *m, const char *name);
const icx_map_code *icx_mapping_lookup(const icx_map_table *t,
                                       const char *code);

/* Whether the withholdable field ("victim.name", "case.summary") is
 * withheld for partner (NULL: no partner named, the profile default);
 * extra is the partner's `withhold` from its partner file (may be NULL). */
int icx_mapping_withheld(const icx_mapping *m, const char *partner,
                         const icx_strlist *extra, const char *field);
/* The `withhold` of partner's file in cfg, for icx_translate_opts'
 * partner_withhold (*out borrowed, valid until icx_config_free(cfg); an
 * empty list when the file names none).  A recipient that is not a
 * partner in cfg is refused, ICX_ENOTFOUND naming it and cfg's file:
 * what it may not receive cannot be known, so nothing is to be made for
 * it. */
int icx_mapping_partner_withhold(const icx_strlist **out,
                                 const icx_config *cfg, const char *partner,
                                 icx_err *err);
/* Payload path of a withholdable field ("Persons/Person/Name"), or NULL
 * when the name is not one this kind of profile can withhold. */
const char *icx_mapping_withhold_path(int kind, const char *field);

const char *icx_map_kind_name(int kind);

#endif
