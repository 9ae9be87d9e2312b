/*
 * lists.h - versioned distribution of the blocking address list and the
 * image hash lists: the publisher keeps numbered serials of each list and
 * answers partners' pull requests with signed pages of deltas or a
 * snapshot; the subscriber keeps a local copy per (partner, list), applies
 * pages in order, refuses gaps and checks the digest (docs/LISTS.md).
 *
 * Position: a session id (UUID, new when the list is reset) and a serial
 * (1, 2, ...: one per import that changed something).  Digest: SHA-256 of
 * the canonical entry lines sorted bytewise, each followed by "\n" (URL
 * lists: the URL; hash lists: "ALGORITHM:VALUE"), the definition of
 * docs/TRANSLATE.md, so `LC_ALL=C sort | sha256sum` reproduces it.
 *
 * State lives in the lists store (lists_store.c), a SQLite file of its own
 * beside the broker's store; declarations in lists.yaml beside
 * gateway.yaml (lists_conf.c).  Serving and applying run inside the daemon
 * as category hooks (hooks.h): one page per request, the next page asked
 * for with the cursor the previous page carried, so a hook never builds
 * more than one page.
 *
 * Ownership: icx_listdb and icx_lists_conf are owned by the caller that
 * opened or loaded them.  Threads: one thread per icx_listdb at a time;
 * several processes may open the same file (SQLite WAL, busy timeout).
 * Errors: ICX_EINVAL (bad input, named file:line), ICX_ENOTFOUND (unknown
 * list or subscription), ICX_EPOLICY (not allowed), ICX_ESTORE/ICX_EFULL.
 */
#ifndef ICX_LISTS_H
#define ICX_LISTS_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "buf.h"
#include "config.h"
#include "err.h"
#include "hooks.h"

enum icx_list_kind { ICX_LIST_URL, ICX_LIST_HASH };

#define ICX_LISTS_SESSION_LEN 36
#define ICX_LISTS_LINE_MAX 4096  /* a canonical entry line, bytes */
#define ICX_LISTS_PAGE_MIN 10
#define ICX_LISTS_PAGE_MAX 20000

/* One list declared in lists.yaml. */
typedef struct icx_list_decl {
    char *id;              /* ListId */
    int kind;              /* url | hash */
    icx_strlist allow;     /* partners that may pull it */
    long page_entries;     /* entries per page, default 5000 */
    long keep;             /* serials whose deltas are kept, default 30 */
    char *legal_basis;     /* LegalBasis of the pages */
    char *tlp;             /* TLP of the pages, default AMBER */
    char *handling;        /* handling code of the pages, default H2 */
    long retain_days;      /* RetainUntil of the pages: now + days */
    unsigned line;         /* position in lists.yaml */
} icx_list_decl;

typedef struct icx_lists_conf {
    char *path;            /* lists.yaml, resolved; "" when absent */
    icx_list_decl *lists;
    size_t nlists;
    /* Settings of this gateway's own pull requests. */
    char *pull_legal_basis;
    char *pull_tlp;
    char *pull_handling;
    long pull_every_s;         /* scheduled pulls inside icx serve; 0: off */
    icx_strlist pull_schedule; /* "PARTNER/LIST" */
} icx_lists_conf;

/* Paths beside the gateway configuration: lists.yaml next to
 * gateway.yaml, the store next to the broker's ("icx.db" ->
 * "icx-lists.db").  malloc'ed; NULL when out of memory. */
char *icx_lists_conf_path(const icx_config *cfg);
char *icx_lists_db_path(const icx_config *cfg);

/* Loads lists.yaml (an absent file is an empty declaration).  Errors as
 * `file:line:col: key: what is wrong` lines in errs; ICX_ECONFIG. */
int icx_lists_conf_load(icx_lists_conf **out, const char *path, icx_buf *errs,
                        icx_err *err);
/* The same for the daemon's modules: lists.yaml beside cfg's gateway.yaml,
 * its first error logged (event lists.config) as well as returned. */
int icx_lists_conf_load_beside(icx_lists_conf **out, const icx_config *cfg,
                               icx_err *err);
void icx_lists_conf_free(icx_lists_conf **cp);
const icx_list_decl *icx_lists_conf_find(const icx_lists_conf *c,
                                         const char *id);
const char *icx_list_kind_name(int kind);

/* ---- the store ---------------------------------------------------------- */

typedef struct icx_listdb icx_listdb;

/* Opens (creating mode 0600 and migrating) the lists store. */
int icx_listdb_open(icx_listdb **out, const char *path, icx_err *err);
void icx_listdb_free(icx_listdb **dp);
int icx_listdb_version(icx_listdb *db);

/* ---- publisher ---------------------------------------------------------- */

typedef struct icx_lists_import_opts {
    const char *format;    /* "lines" | "csv"; NULL: by extension */
    const char *reason;    /* removal reason of entries that left the
                            * export without saying why; default
                            * content-removed */
    const char *user;      /* who imported (OS user), for the record */
    const char *display;   /* file name in messages (default: path) */
    int progress;          /* write progress to stderr */
    time_t now;            /* 0: time(NULL) */
} icx_lists_import_opts;

typedef struct icx_lists_import_result {
    uint64_t serial;       /* the new serial (or the head when unchanged) */
    char session[ICX_LISTS_SESSION_LEN + 1];
    uint64_t rows, duplicates;
    uint64_t added, removed, changed, count;
    char digest[65];
    char source_sha256[65];
    int unchanged;         /* nothing differed: no serial recorded */
} icx_lists_import_result;

/* Compares the full export in file with the list's head and records a
 * new serial with the entries added, removed (with a reason) and changed.
 * Rows whose status column says a removal reason count as removed with
 * that reason.  One invalid row refuses the whole file (ICX_EINVAL, every
 * problem a `file:line: ...` line in report). */
int icx_lists_import(icx_listdb *db, const icx_list_decl *decl,
                     const char *file, const icx_lists_import_opts *o,
                     icx_lists_import_result *res, icx_buf *report,
                     icx_err *err);

/* Starts a new session: serial 1 holds the current entries; every
 * partner's next pull is a snapshot.  res gets the new position. */
int icx_lists_reset(icx_listdb *db, const icx_list_decl *decl,
                    const char *user, time_t now,
                    icx_lists_import_result *res, icx_err *err);

/* Answers one list:SyncRequest payload from partner: *out gets a
 * list:Update page or a list:Refusal payload.  cfg (partner files) and
 * conf (lists.yaml) decide who may pull what. */
typedef struct icx_lists_answer {
    char list[72];         /* the ListId asked for */
    int refused;           /* out is a Refusal */
    char code[40];         /* its reason code */
    int snapshot;
    uint64_t from, to;     /* PreviousSerial, Serial */
    unsigned long page, pages;
    size_t entries;
    int ack;               /* the request was an acknowledgement: out is
                            * empty, nothing is sent back */
    int ack_state;         /* 1 its digest is ours at that serial, 0 it is
                            * not, -1 that serial is no longer kept */
    uint64_t ack_serial;
} icx_lists_answer;
int icx_lists_serve(icx_buf *out, icx_lists_answer *ans, icx_listdb *db,
                    const icx_lists_conf *conf, const icx_config *cfg,
                    const char *partner, const char *req, size_t len,
                    time_t now, icx_err *err);

/* Text views (icx lists show|diff|history|export|status). */
int icx_lists_show(icx_buf *out, icx_listdb *db, const icx_lists_conf *conf,
                   const char *list, int json, icx_err *err);
/* Entries added and removed between serials a and b (b = 0: head). */
int icx_lists_diff(icx_buf *out, icx_listdb *db, const char *list,
                   uint64_t a, uint64_t b, icx_err *err);
int icx_lists_history(icx_buf *out, icx_listdb *db, const char *list,
                      int json, icx_err *err);
int icx_lists_status(icx_buf *out, icx_listdb *db, const icx_lists_conf *conf,
                     time_t now, int json, icx_err *err);
/* The publisher's half of the status, one call per (list, allowed
 * partner) in lists.yaml order: the list's head serial, the serial the
 * partner holds (-1: none in this session; snapshot = 1 when it pulled
 * but must start over), its last pull and last answer.  Strings are
 * borrowed for the call; fn returning non-zero stops the walk. */
typedef struct icx_lists_lag {
    const char *list, *partner;
    int64_t head, holds;
    int snapshot;
    int64_t last_pull;
    const char *last_answer;
} icx_lists_lag;
typedef int (*icx_lists_lag_fn)(void *ctx, const icx_lists_lag *l);
int icx_lists_lag_each(icx_listdb *db, const icx_lists_conf *conf,
                       icx_lists_lag_fn fn, void *ctx, icx_err *err);

/* ---- subscriber --------------------------------------------------------- */

/* Records that a pull of list from partner starts (creating the local
 * copy when new) and writes the list:SyncRequest payload to send into
 * req.  *seq identifies this pull (see icx_lists_pull_result). */
int icx_lists_pull_begin(icx_buf *req, int64_t *seq, icx_listdb *db,
                         const char *partner, const char *list, time_t now,
                         icx_err *err);

typedef struct icx_lists_sub {
    char partner[32];
    char list[72];
    char kind[8];
    char session[ICX_LISTS_SESSION_LEN + 1];
    uint64_t serial, count;
    char digest[65];
    char state[24];        /* idle, pulling, ok, refused, gap, mismatch, error */
    char detail[300];
    int64_t pull_seq, done_seq;
    int64_t requested_at, last_ok_at, last_page_at;
    uint64_t pages, head_seen;
    int last_snapshot;
} icx_lists_sub;

/* The local copy of (partner, list); ICX_ENOTFOUND when never pulled. */
int icx_lists_sub_get(icx_lists_sub *sub, icx_listdb *db, const char *partner,
                      const char *list, icx_err *err);

/* Applies one list:Update or list:Refusal payload received from partner.
 * When the pull continues (more pages, a gap to recover from, a digest
 * mismatch to repair with a snapshot) *next gets the list:SyncRequest to
 * send back (next->len > 0). */
int icx_lists_apply(icx_buf *next, icx_listdb *db, const char *partner,
                    const char *payload, size_t len, time_t now,
                    icx_err *err);

/* Frees the rows of local copies no longer in use (after a snapshot), at
 * most max rows per call; *left gets 1 while more remain. */
int icx_lists_sub_gc(icx_listdb *db, size_t max, int *left, icx_err *err);

/* Writes the local copy as txt (one canonical line per entry, sorted) or
 * csv (value,algorithm,category,detected_at). */
int icx_lists_export(icx_listdb *db, const char *partner, const char *list,
                     int csv, int (*write)(void *ctx, const char *s,
                                           size_t n), void *ctx,
                     icx_err *err);

/* ---- the HTTPS pull (lists_rrdp.c) -------------------------------------- */

/* For partners without ICX, after RPKI RRDP (RFC 8182): per list and
 * partner a signed notification (session, serial, digest of the whole
 * list, the snapshot's and each kept delta's page URIs with their SHA-256)
 * and the signed pages themselves, each one an envelope of category
 * list-update addressed to the partner whose payload is the page the
 * ZeroMQ pull sends (docs/LISTS.md, "Over HTTPS").  Paths, relative to
 * where the server mounts the lists:
 *   LIST/notification.xml
 *   LIST/SESSION/SERIAL/snapshot-PAGE.xml   the list at SERIAL
 *   LIST/SESSION/SERIAL/delta-PAGE.xml      from SERIAL-1 to SERIAL
 * The URIs in the notification are relative to the notification's own
 * (RFC 3986): SESSION/SERIAL/NAME.xml.
 *
 * The documents are built and signed when the head has moved since the
 * partner's last notification, stored in the lists store (http_doc) and
 * served from there, so a page keeps its bytes and its ETag. */

/* Signs: fills h's message id, created and sender, wraps payload in an
 * envelope and signs it into out.  Provided by the caller (the lists part
 * holds no key). */
typedef int (*icx_lists_seal_fn)(void *ctx, icx_buf *out, icx_header *h,
                                 const char *payload, size_t len,
                                 icx_err *err);

typedef struct icx_lists icx_lists;

typedef struct icx_http_reply {
    int status;               /* 200, 304 or 404 */
    char *body;               /* malloc'ed (200 only), free with
                               * icx_http_reply_clear() */
    size_t len;
    const char *content_type; /* static string */
    char etag[67];            /* the SHA-256 hex of the body in double
                               * quotes (200, 304) */
} icx_http_reply;

/* Appends a record to the gateway's audit log, like hooks.h's
 * env->audit (ids, digests, partner ids and reasons only); returns 0, or
 * a negative code when the record could not be written (then nothing is
 * sent: icx_lists_http_get returns the error). */
typedef int (*icx_lists_audit_fn)(void *actx, const char *event,
                                  const char *message_id,
                                  const char *partner, const char *detail);

/* Opens the lists store of cfg (borrowed: it must outlive the handle) for
 * HTTPS pulls; seal signs each document; audit (may be NULL only in
 * tests) records every document sent (list.http.served, with the
 * envelope's MessageId) and every refusal of a partner
 * (list.http.refused).  Safe for several threads: calls on one handle are
 * serialized. */
int icx_lists_http_open(icx_lists **out, const icx_config *cfg,
                        icx_lists_seal_fn seal, void *seal_ctx,
                        icx_lists_audit_fn audit, void *actx, icx_err *err);
void icx_lists_http_free(icx_lists **lp);

/* Answers GET path for partner, the agency the server mapped the client's
 * certificate to (NULL: nobody, every answer is 404).  404 whenever the
 * partner may not pull the list (the same rule as the ZeroMQ pull: the
 * list's `allow` and the partner file's `lists:`, and the partner's
 * egress limits for category list-update), the list has no serial, or the
 * path names no current document: a partner learns nothing about lists it
 * may not pull.  304 when if_none_match (may be NULL) names the current
 * ETag.  Returns 0, or an error (store, signing) the server answers 500
 * or 503 to. */
int icx_lists_http_get(icx_lists *l, const char *partner, const char *path,
                       const char *if_none_match, icx_http_reply *out,
                       icx_err *err);
void icx_http_reply_clear(icx_http_reply *r);

/* ---- daemon hooks ------------------------------------------------------- */

/* The hooks `icx serve` registers: list-sync-request (serve) and
 * list-update (apply).  Their state (the open store) lives until
 * icx_lists_hooks_close(). */
const icx_hook *icx_lists_hooks(size_t *n);
/* The scheduled pulls of lists.yaml (pull.every_seconds, pull.schedule). */
const icx_tick *icx_lists_ticks(size_t *n);
void icx_lists_hooks_close(void);

#endif
