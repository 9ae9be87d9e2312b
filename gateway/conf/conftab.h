/*
 * conftab.h - YAML configuration files read through key tables.
 *
 * A file is parsed with libyaml's event API into a small tree in which every
 * node keeps its 1-based line and column.  Anchors, aliases and tags are
 * refused (reported once, the node marked and skipped), nesting is limited to ICX_CONFTAB_MAX_DEPTH, sequences to
 * ICX_CONFIG_MAX_LIST entries and mappings to ICX_CONFTAB_MAX_KEYS keys.
 *
 * A key table (icx_conftab_key, ended by an entry whose name is NULL)
 * declares each key: name, type, offset of the field in the target struct,
 * required flag, bounds, default and a one-line doc.  icx_conftab_apply()
 * walks one mapping against one table and stores values into the struct;
 * nested mappings use a sub-table whose offsets are into the same struct.
 *
 * Problems never stop a walk: each one becomes a diagnostic
 * `file:line:col: key: what is wrong`, collected in an icx_conftab_diag and
 * emitted, sorted by file and position, by icx_conftab_diag_emit().  Only
 * running out of memory makes a function return ICX_ENOMEM.
 *
 * Ownership: strings and lists stored into a struct are malloc'ed and
 * released by icx_conftab_release() with the same table.  Trees are freed
 * with icx_conftab_node_free().  Not thread-safe: one loader owns it all.
 *
 * conftab_tree.c holds the parser, the nodes and the diagnostics;
 * conftab.c the walker over key tables and the string lists.
 */
#ifndef ICX_CONFTAB_H
#define ICX_CONFTAB_H

#include <stddef.h>

#include "buf.h"
#include "err.h"

#define ICX_CONFTAB_MAX_DEPTH 16
#define ICX_CONFTAB_MAX_KEYS 128
#define ICX_CONFIG_MAX_LIST 64 /* entries in a list-valued key */

/* A list of strings, as a list-valued key (ICX_CT_STRLIST) stores it:
 * malloc'ed copies, owned by the struct that holds it. */
typedef struct icx_strlist {
    char **items;
    size_t count;
} icx_strlist;

/* 1 when s is one of the entries of l, else 0 (0 for NULL l or s). */
int icx_strlist_has(const icx_strlist *l, const char *s);

enum icx_conftab_type {
    ICX_CT_STRING,  /* char *; with names: one of them */
    ICX_CT_PATH,    /* char *, resolved against the file's directory */
    ICX_CT_INT,     /* long, min..max */
    ICX_CT_BOOL,    /* int, true|false */
    ICX_CT_ENUM,    /* int, index into names */
    ICX_CT_STRLIST, /* icx_strlist, at most ICX_CONFIG_MAX_LIST entries */
    ICX_CT_MAPPING, /* nested table in sub */
    ICX_CT_PATH_URL /* char *, a path as ICX_CT_PATH, or a URL (a value with
                     * "://", as "postgresql://...") kept as written */
};

/* Extra check of a string, path or list entry.  value is what is stored
 * (for paths: resolved), written is what the file says.  Returns 0 when
 * fine, else -1 with a reason in why ("unknown category \"foo\""). */
typedef int (*icx_conftab_check)(const char *value, const char *written,
                                 char *why, size_t whylen);

typedef struct icx_conftab_key {
    const char *name;
    int type;
    size_t offset;
    int required;
    long min, max;            /* ICX_CT_INT */
    const char *def;          /* default as written in YAML; NULL: none */
    const char *doc;          /* one line: what the key means */
    const char *const *names; /* ICX_CT_ENUM, ICX_CT_STRING: allowed values */
    const struct icx_conftab_key *sub; /* ICX_CT_MAPPING */
    icx_conftab_check check;
} icx_conftab_key;

enum icx_conftab_kind { ICX_CN_SCALAR, ICX_CN_SEQ, ICX_CN_MAP };

/* A parsed node.  A mapping holds keys and values alternately in kids. */
typedef struct icx_conftab_node {
    int kind;
    int plain;      /* scalar written without quotes */
    int refused;    /* carried an anchor, alias or tag: already reported */
    unsigned line;  /* 1-based */
    unsigned col;   /* 1-based */
    char *text;     /* scalar value */
    struct icx_conftab_node **kids;
    size_t nkids;
    size_t cap;
} icx_conftab_node;

typedef struct icx_conftab_msg {
    int file;
    unsigned line, col;
    size_t seq;
    char *text;
} icx_conftab_msg;

typedef struct icx_conftab_diag {
    icx_conftab_msg *v;
    size_t n, cap;
    int oom;
} icx_conftab_diag;

/* One file being read: its name in messages, the absolute directory that
 * relative paths resolve against, its rank in the sorted output. */
typedef struct icx_conftab_file {
    const char *display;
    const char *base_dir;
    int index;
    icx_conftab_diag *diag;
} icx_conftab_file;

/* Adds `display:line:col: key: message` (at == NULL: `display: message`). */
void icx_conftab_error(icx_conftab_file *f, const icx_conftab_node *at,
                       const char *key, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Reads path (at most max bytes) and parses it.  *out is the root mapping,
 * or NULL when the file could not be read or parsed (the reason is a
 * diagnostic).  Returns ICX_ENOMEM only when memory ran out. */
int icx_conftab_parse(icx_conftab_node **out, const char *path, size_t max,
                      icx_conftab_file *f);
void icx_conftab_node_free(icx_conftab_node **np);

/* Applies tab to the mapping map and stores into base: values that are
 * present, defaults for the others.  Nested sections that are absent get
 * their defaults too; missing required keys are reported at the start of
 * the nearest mapping that exists, as "keys.private_key". */
int icx_conftab_apply(void *base, const icx_conftab_key *tab,
                      const icx_conftab_node *map, icx_conftab_file *f);
/* Frees every string and list tab stored into base. */
void icx_conftab_release(void *base, const icx_conftab_key *tab);

/* Value node at a dotted key ("retry.max_seconds") or NULL. */
const icx_conftab_node *icx_conftab_find(const icx_conftab_node *map,
                                         const char *dotted);

/* True for a scalar that says nothing: "", ~ or null. */
int icx_conftab_is_empty(const icx_conftab_node *n);

/* What a node is, for "want X, got Y" messages: "a sequence", "a mapping"
 * or the quoted scalar (shortened); may use buf. */
const char *icx_conftab_got(const icx_conftab_node *n, char *buf,
                            size_t buflen);

/* Joins base_dir and p unless p is absolute; malloc'ed, NULL on ENOMEM. */
char *icx_conftab_resolve(const char *base_dir, const char *p);
/* A shallow mapping node holding the pairs of map whose key is not one of
 * skip (NULL-terminated); the kids are borrowed from map.  Free with
 * icx_conftab_view_free().  NULL on ENOMEM. */
icx_conftab_node *icx_conftab_view_without(const icx_conftab_node *map,
                                           const char *const *skip);
void icx_conftab_view_free(icx_conftab_node *v);

void icx_conftab_diag_free(icx_conftab_diag *d);
/* Sorts the diagnostics by file, line and column (equal ones keep their
 * order), appends one line each to errs (when not NULL) and copies the
 * first into err->msg.  Returns the count. */
size_t icx_conftab_diag_emit(icx_conftab_diag *d, icx_buf *errs,
                             icx_err *err);

#endif
