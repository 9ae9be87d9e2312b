/*
 * lists_import.c - a full export of a list becomes a new serial: the
 * entries added, removed (with a reason) and changed since the head.
 *
 * Input: "lines" (one entry per line: a URL, or ALGORITHM:VALUE, or a bare
 * hex hash whose length says md5/sha1/sha256; `#` comments) read as a
 * stream, or "csv" with a header row naming the columns value (or url,
 * hash), algorithm, category, detected_at, status; the column names of
 * the domestic exports (config/mappings/npa-urls.yaml, npa-hashes.yaml:
 * URL, ハッシュ値, アルゴリズム, 分類, 検知日時, 登録日時, 状態) are known
 * too, with their status table.  A status other than active is a removal
 * reason: the entry leaves the list with that reason.  Entries that
 * simply left the export are removed with opts->reason.  Values go
 * through the normalizers of normalize.h, so the same URL written twice
 * is one entry; duplicates are collapsed and reported.
 *
 * The export is read into a temporary table first (no lock on the store
 * meanwhile), then one IMMEDIATE transaction compares it with the list's
 * current versions, writes the serial, its delta keys and digest, and
 * prunes deltas older than keep_serials.  An export identical to the head
 * records nothing.  One invalid row refuses the file.
 *
 * Memory: bounded by SQLite's cache and one line, not by the list size.
 */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "csv.h"
#include "lists_int.h"
#include "normalize.h"
#include "util.h"

#define MAX_REPORTED 50
#define LINE_MAX_BYTES 8192

typedef struct imp {
    icx_listdb *db;
    const icx_list_decl *decl;
    const icx_lists_import_opts *o;
    const char *display;
    icx_buf *report;
    sqlite3_stmt *ins;
    uint64_t rows, dups, bad;
    size_t max_entry;
    int progress;
    time_t now;
} imp;

static void report(imp *m, unsigned line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void report(imp *m, unsigned line, const char *fmt, ...)
{
    va_list ap;
    m->bad++;
    if (m->bad > MAX_REPORTED)
        return;
    icx_buf_printf(m->report, "%s:%u: ", m->display, line);
    va_start(ap, fmt);
    icx_buf_vprintf(m->report, fmt, ap);
    va_end(ap);
    icx_buf_puts(m->report, "\n");
}

static void progress(imp *m, const char *what, uint64_t n, int done)
{
    if (!m->progress)
        return;
    fprintf(stderr, "\r%s: %llu entries%s", what, (unsigned long long)n,
            done ? "\n" : "");
    fflush(stderr);
}

static const char *status_of(const char *s)
{
    static const struct { const char *in, *out; } st[] = {
        {"active", "active"}, {"公開中", "active"},
        {"content-removed", "content-removed"}, {"削除済", "content-removed"},
        {"appeal-upheld", "appeal-upheld"}, {"異議認容", "appeal-upheld"},
        {"misclassified", "misclassified"}, {"誤登録", "misclassified"},
        {"expired", "expired"}, {"期限切れ", "expired"},
    };
    for (size_t i = 0; i < sizeof st / sizeof st[0]; i++)
        if (strcmp(s, st[i].in) == 0)
            return st[i].out;
    return NULL;
}

static const char *category_of(const char *s)
{
    /* The grading table of npa-hashes.yaml; anything else is kept. */
    if (strcmp(s, "ベースライン") == 0)
        return "baseline";
    if (strcmp(s, "国内基準") == 0)
        return "national";
    return s;
}

/* The common case without the Unicode normalizer: md5, sha1 or sha256
 * named in ASCII, a value of ASCII hex of the right length.  Anything
 * else goes through icx_norm_hash_alg/icx_norm_hash. */
static int hex_fast(char alg_out[16], char *out, const char *alg,
                    const char *v)
{
    static const struct { const char *name; size_t len; } algs[] = {
        {"md5", 32}, {"sha1", 40}, {"sha256", 64},
    };
    for (size_t i = 0; i < sizeof algs / sizeof algs[0]; i++) {
        if (strcmp(alg, algs[i].name) != 0)
            continue;
        size_t n = strlen(v);
        if (n != algs[i].len)
            return 0;
        for (size_t k = 0; k < n; k++) {
            char c = v[k];
            if (c >= 'A' && c <= 'F')
                c = (char)(c - 'A' + 'a');
            else if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
                return 0;
            out[k] = c;
        }
        out[n] = '\0';
        snprintf(alg_out, 16, "%s", algs[i].name);
        return 1;
    }
    return 0;
}

/* One entry: normalizes, checks, and inserts into the temporary table. */
static int add_entry(imp *m, unsigned line, const char *value, const char *alg,
                     const char *category, const char *detected,
                     const char *status)
{
    char canon[ICX_NORM_URL_MAX + 64], why[ICX_NORM_WHY];
    char a[16], h[1024], det[ICX_NORM_TIME_LEN + 4];
    const char *reason = NULL;
    m->rows++;
    if (value == NULL || value[0] == '\0') {
        report(m, line, "no value");
        return ICX_OK;
    }
    if (m->decl->kind == ICX_LIST_URL) {
        if (icx_norm_url(canon, sizeof canon, value, why, sizeof why) < 0) {
            report(m, line, "\"%s\": %s", value, why);
            return ICX_OK;
        }
    } else {
        if (alg == NULL || alg[0] == '\0') {
            size_t n = strlen(value);
            alg = n == 32 ? "md5" : n == 40 ? "sha1" : n == 64 ? "sha256" : NULL;
            if (alg == NULL) {
                report(m, line, "\"%s\": no algorithm (write ALGORITHM:VALUE)",
                       value);
                return ICX_OK;
            }
        }
        if (!hex_fast(a, h, alg, value) &&
            (icx_norm_hash_alg(a, alg, why, sizeof why) < 0 ||
             icx_norm_hash(h, sizeof h, a, value, why, sizeof why) < 0)) {
            report(m, line, "\"%s:%s\": %s", alg, value, why);
            return ICX_OK;
        }
        snprintf(canon, sizeof canon, "%s:%s", a, h);
    }
    if (category != NULL && category[0] == '\0')
        category = NULL;
    if (category != NULL) {
        category = category_of(category);
        size_t n = strlen(category);
        int blank = 1;
        for (size_t i = 0; i < n; i++)
            blank &= isspace((unsigned char)category[i]) != 0;
        if (n > 64 || blank) {
            report(m, line, "category \"%.80s\": 1 to 64 characters", category);
            return ICX_OK;
        }
    }
    if (detected != NULL && detected[0] != '\0') {
        if (icx_norm_datetime(det, detected, 0, why, sizeof why) < 0) {
            report(m, line, "detected_at \"%s\": %s", detected, why);
            return ICX_OK;
        }
        detected = det;
    } else {
        detected = NULL;
    }
    if (status != NULL && status[0] != '\0') {
        const char *s = status_of(status);
        if (s == NULL) {
            report(m, line, "status \"%s\": want active, content-removed, "
                   "appeal-upheld, misclassified or expired", status);
            return ICX_OK;
        }
        if (strcmp(s, "active") != 0)
            reason = s;
    }
    size_t len = strlen(canon);
    sqlite3_stmt *st = m->ins;
    sqlite3_reset(st);
    sqlite3_bind_text(st, 1, canon, (int)len, SQLITE_TRANSIENT);
    lst_text(st, 2, category);
    lst_text(st, 3, detected);
    lst_text(st, 4, reason);
    sqlite3_bind_int64(st, 5, line);
    int rc = sqlite3_step(st);
    if (rc != SQLITE_DONE) {
        icx_err err;
        return lst_fail(m->db, rc, "reading the export", &err);
    }
    if (reason == NULL) {
        size_t x = lst_entry_xml_len(canon, category);
        if (x > m->max_entry)
            m->max_entry = x;
    }
    if (m->progress && m->rows % 100000 == 0)
        progress(m, "reading", m->rows, 0);
    return ICX_OK;
}

static char *trim(char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    size_t n = strlen(s);
    while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r' ||
                     s[n - 1] == '\n'))
        s[--n] = '\0';
    return s;
}

static int read_lines(imp *m, const char *path, icx_err *err)
{
    FILE *f = fopen(path, "re");
    if (f == NULL)
        return icx_err_set(err, ICX_EIO, "%s: cannot open: %s", m->display,
                           strerror(errno));
    char buf[LINE_MAX_BYTES];
    unsigned line = 0;
    int rc = ICX_OK;
    while (rc == ICX_OK && fgets(buf, sizeof buf, f) != NULL) {
        line++;
        size_t n = strlen(buf);
        if (n == sizeof buf - 1 && buf[n - 1] != '\n') {
            report(m, line, "line longer than %d bytes", LINE_MAX_BYTES - 2);
            int c;
            while ((c = fgetc(f)) != EOF && c != '\n')
                ;
            continue;
        }
        char *s = buf;
        if (line == 1 && (unsigned char)s[0] == 0xEF &&
            (unsigned char)s[1] == 0xBB && (unsigned char)s[2] == 0xBF)
            s += 3;
        s = trim(s);
        if (s[0] == '\0' || s[0] == '#')
            continue;
        if (!icx_utf8_valid(s, strlen(s))) {
            report(m, line, "not UTF-8");
            continue;
        }
        const char *alg = NULL, *value = s;
        if (m->decl->kind == ICX_LIST_HASH) {
            char *sep = strpbrk(s, ": \t,");
            if (sep != NULL) {
                *sep = '\0';
                alg = s;
                value = trim(sep + 1);
            }
        }
        rc = add_entry(m, line, value, alg, NULL, NULL, NULL);
    }
    if (rc == ICX_OK && ferror(f))
        rc = icx_err_set(err, ICX_EIO, "%s: read error", m->display);
    fclose(f);
    return rc;
}

enum { COL_VALUE, COL_ALG, COL_CAT, COL_DET, COL_STATUS, COL__N };

static int column_of(const char *name)
{
    static const struct { const char *name; int col; } names[] = {
        {"value", COL_VALUE}, {"url", COL_VALUE}, {"hash", COL_VALUE},
        {"URL", COL_VALUE}, {"ハッシュ値", COL_VALUE},
        {"algorithm", COL_ALG}, {"アルゴリズム", COL_ALG},
        {"category", COL_CAT}, {"分類", COL_CAT},
        {"detected_at", COL_DET}, {"検知日時", COL_DET}, {"登録日時", COL_DET},
        {"status", COL_STATUS}, {"状態", COL_STATUS},
    };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (strcasecmp(name, names[i].name) == 0)
            return names[i].col;
    return -1;
}

static int read_csv(imp *m, const char *path, icx_err *err)
{
    char *raw = NULL, *text = NULL;
    size_t rawlen = 0, len = 0;
    const char *used = NULL;
    icx_csv *csv = NULL;
    icx_csv_limits lim = ICX_CSV_DEFAULT_LIMITS;
    int col[COL__N];
    int rc = icx_file_read(&raw, &rawlen, path, lim.max_bytes, err);
    if (rc < 0)
        goto out;
    if ((rc = icx_text_decode(&text, &len, &used, raw, rawlen, "auto", err)) < 0) {
        icx_err_wrap(err, "%s", m->display);
        goto out;
    }
    lim.max_rows = 4000000;
    if ((rc = icx_csv_parse(&csv, text, len, &lim, err)) < 0) {
        icx_err_wrap(err, "%s", m->display);
        goto out;
    }
    for (int i = 0; i < COL__N; i++)
        col[i] = -1;
    size_t nrows = icx_csv_rows(csv);
    for (size_t c = 0; nrows > 0 && c < icx_csv_cols(csv, 0); c++) {
        const char *name = icx_csv_field(csv, 0, c);
        int k = column_of(name);
        if (k < 0) {
            report(m, icx_csv_line(csv, 0), "unknown column \"%s\" (want "
                   "value, algorithm, category, detected_at, status)", name);
            continue;
        }
        col[k] = (int)c;
    }
    if (col[COL_VALUE] < 0) {
        report(m, 1, "no value column (value, url or hash)");
        goto out;
    }
    if (m->decl->kind == ICX_LIST_URL && col[COL_ALG] >= 0)
        report(m, 1, "column algorithm in a url list");
    for (size_t r = 1; rc == ICX_OK && r < nrows; r++) {
        const char *v[COL__N];
        for (int i = 0; i < COL__N; i++)
            v[i] = col[i] >= 0 ? icx_csv_field(csv, r, (size_t)col[i]) : NULL;
        char det[ICX_NORM_TIME_LEN + 4], why[ICX_NORM_WHY];
        /* Domestic exports write local (JST) times without a zone. */
        if (v[COL_DET] != NULL && v[COL_DET][0] != '\0' &&
            icx_norm_datetime(det, v[COL_DET], ICX_NORM_JST_MINUTES, why,
                              sizeof why) == 0)
            v[COL_DET] = det;
        rc = add_entry(m, icx_csv_line(csv, r), v[COL_VALUE], v[COL_ALG],
                       v[COL_CAT], v[COL_DET], v[COL_STATUS]);
    }
out:
    icx_csv_free(&csv);
    free(raw);
    free(text);
    return rc;
}

/* Names up to ten duplicated entries with the lines they are on. */
static void report_dups(imp *m)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(m->db->db, "SELECT line, group_concat(lineno, ', ')"
                           " FROM imp_raw GROUP BY line HAVING count(*) > 1"
                           " LIMIT 10", -1, &st, NULL) != SQLITE_OK)
        return;
    while (sqlite3_step(st) == SQLITE_ROW)
        icx_buf_printf(m->report, "%s: lines %s: the same entry (%s), "
                       "collapsed\n", m->display,
                       (const char *)sqlite3_column_text(st, 1),
                       (const char *)sqlite3_column_text(st, 0));
    sqlite3_finalize(st);
    if (m->dups > 10)
        icx_buf_printf(m->report, "%s: %llu duplicates in all\n", m->display,
                       (unsigned long long)m->dups);
}

static int file_sha256(char hex[65], const char *path)
{
    FILE *f = fopen(path, "re");
    if (f == NULL)
        return ICX_EIO;
    EVP_MD_CTX *c = EVP_MD_CTX_new();
    unsigned char buf[1 << 16], md[EVP_MAX_MD_SIZE];
    unsigned mdlen = 0;
    size_t n;
    int ok = c != NULL && EVP_DigestInit_ex(c, icx_sha(256), NULL) == 1;
    while (ok && (n = fread(buf, 1, sizeof buf, f)) > 0)
        ok = EVP_DigestUpdate(c, buf, n) == 1;
    ok = ok && !ferror(f) && EVP_DigestFinal_ex(c, md, &mdlen) == 1;
    EVP_MD_CTX_free(c);
    fclose(f);
    if (!ok)
        return ICX_EIO;
    icx_hex(hex, md, 32);
    return ICX_OK;
}

/* Runs one statement with the usual bindings (?1 list, ?2 serial, ?3
 * default reason, ?4 now) and returns the rows it changed. */
static int run(icx_listdb *db, const char *text, const char *list,
               int64_t serial, const char *reason, const char *now,
               int64_t *changed, icx_err *err)
{
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(db->db, text, -1, &st, NULL);
    if (rc != SQLITE_OK)
        return lst_fail(db, rc, "comparing the export", err);
    for (int i = 1; i <= sqlite3_bind_parameter_count(st); i++) {
        const char *name = sqlite3_bind_parameter_name(st, i);
        if (name == NULL)
            continue;
        if (strcmp(name, "?1") == 0)
            lst_text(st, i, list);
        else if (strcmp(name, "?2") == 0)
            sqlite3_bind_int64(st, i, serial);
        else if (strcmp(name, "?3") == 0)
            lst_text(st, i, reason);
        else if (strcmp(name, "?4") == 0)
            lst_text(st, i, now);
    }
    rc = sqlite3_step(st);
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE)
        return lst_fail(db, rc, "comparing the export", err);
    if (changed != NULL)
        *changed = sqlite3_changes64(db->db);
    return ICX_OK;
}

typedef struct head {
    char kind[8];
    char session[ICX_LISTS_SESSION_LEN + 1];
    int64_t head, min_serial, max_entry;
} head;

static int get_head(head *h, icx_listdb *db, const char *list, icx_err *err)
{
    sqlite3_stmt *st = lst_stmt(db, LS_LIST_GET);
    lst_text(st, 1, list);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        lst_col(h->kind, sizeof h->kind, st, 0);
        lst_col(h->session, sizeof h->session, st, 1);
        h->head = sqlite3_column_int64(st, 2);
        h->min_serial = sqlite3_column_int64(st, 3);
        h->max_entry = sqlite3_column_int64(st, 4);
        sqlite3_reset(st);
        return ICX_OK;
    }
    sqlite3_reset(st);
    if (rc == SQLITE_DONE)
        return icx_err_set(err, ICX_ENOTFOUND, "list %s has no serial yet",
                           list);
    return lst_fail(db, rc, "reading the list", err);
}

/* The list's row, created with a new session at its first import. */
static int ensure_list(head *h, icx_listdb *db, const icx_list_decl *decl,
                       time_t now, icx_err *err)
{
    int rc = get_head(h, db, decl->id, err);
    if (rc != ICX_ENOTFOUND)
        return rc;
    memset(h, 0, sizeof *h);
    if ((rc = icx_uuid4(h->session, err)) < 0)
        return rc;
    snprintf(h->kind, sizeof h->kind, "%s", icx_list_kind_name(decl->kind));
    sqlite3_stmt *st = lst_stmt(db, LS_LIST_INSERT);
    lst_text(st, 1, decl->id);
    lst_text(st, 2, h->kind);
    lst_text(st, 3, h->session);
    sqlite3_bind_int64(st, 4, (sqlite3_int64)now);
    rc = sqlite3_step(st);
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? ICX_OK : lst_fail(db, rc, "creating the list", err);
}

/* Records serial n (counts, digest of the current versions), moves the
 * head and prunes deltas older than keep serials. */
static int record_serial(icx_listdb *db, const icx_list_decl *decl, head *h,
                         int64_t n, const int64_t counts[3], const char *src,
                         const char *src_sha, const char *user, time_t now,
                         size_t max_entry, icx_lists_import_result *res,
                         icx_err *err)
{
    sqlite3_stmt *st = lst_stmt(db, LS_CUR_LINES);
    lst_text(st, 1, decl->id);
    int rc = lst_digest_stmt(db, st, res->digest, &res->count, err);
    if (rc < 0)
        return rc;
    st = lst_stmt(db, LS_SERIAL_INSERT);
    lst_text(st, 1, decl->id);
    sqlite3_bind_int64(st, 2, n);
    lst_text(st, 3, h->session);
    sqlite3_bind_int64(st, 4, (sqlite3_int64)now);
    sqlite3_bind_int64(st, 5, counts[0]);
    sqlite3_bind_int64(st, 6, counts[1]);
    sqlite3_bind_int64(st, 7, counts[2]);
    sqlite3_bind_int64(st, 8, (sqlite3_int64)res->count);
    lst_text(st, 9, res->digest);
    lst_text(st, 10, src);
    lst_text(st, 11, src_sha);
    lst_text(st, 12, user);
    rc = sqlite3_step(st);
    sqlite3_reset(st);
    if (rc != SQLITE_DONE)
        return lst_fail(db, rc, "recording the serial", err);
    int64_t min = h->min_serial < 1 ? 1 : h->min_serial;
    if (n - decl->keep > min)
        min = n - decl->keep;
    if (min > h->min_serial) {
        char q[64];
        snprintf(q, sizeof q, "%lld", (long long)min);
        rc = run(db, "DELETE FROM pub_version WHERE list_id = ?1 AND"
                 " removed IS NOT NULL AND removed <= ?2", decl->id, min,
                 NULL, NULL, NULL, err);
        if (rc == ICX_OK)
            rc = run(db, "DELETE FROM pub_change WHERE list_id = ?1 AND"
                     " serial <= ?2", decl->id, min, NULL, NULL, NULL, err);
        if (rc < 0)
            return rc;
    }
    st = lst_stmt(db, LS_LIST_HEAD);
    lst_text(st, 1, decl->id);
    sqlite3_bind_int64(st, 2, n);
    sqlite3_bind_int64(st, 3, min);
    sqlite3_bind_int64(st, 4, h->max_entry > (int64_t)max_entry
                                  ? h->max_entry : (int64_t)max_entry);
    rc = sqlite3_step(st);
    sqlite3_reset(st);
    if (rc != SQLITE_DONE)
        return lst_fail(db, rc, "moving the head", err);
    res->serial = (uint64_t)n;
    snprintf(res->session, sizeof res->session, "%s", h->session);
    return ICX_OK;
}

int icx_lists_import(icx_listdb *db, const icx_list_decl *decl,
                     const char *file, const icx_lists_import_opts *o,
                     icx_lists_import_result *res, icx_buf *rep,
                     icx_err *err)
{
    imp m = {.db = db, .decl = decl, .o = o, .report = rep};
    head h;
    int64_t counts[3] = {0, 0, 0}, n = 0, ch = 0;
    char now[ICX_TIME_LEN + 1];
    const char *reason = o->reason ? o->reason : "content-removed";
    int rc;
    memset(res, 0, sizeof *res);
    m.display = o->display ? o->display : file;
    m.progress = o->progress;
    m.now = o->now ? o->now : time(NULL);
    icx_time_format(now, sizeof now, m.now);
    if (!lst_reason_known(reason))
        return icx_err_set(err, ICX_EINVAL, "removal reason \"%s\": want "
                           "content-removed, appeal-upheld, misclassified or "
                           "expired", reason);
    if (file_sha256(res->source_sha256, file) < 0)
        return icx_err_set(err, ICX_EIO, "%s: cannot read", m.display);
    /* imp_raw in file order (appends), then imp sorted by line with the
     * first of each duplicate kept (SQLite sorts in bounded memory). */
    rc = lst_exec(db, "CREATE TEMP TABLE IF NOT EXISTS imp_raw (line TEXT NOT"
                  " NULL, category TEXT, detected TEXT, reason TEXT, lineno"
                  " INTEGER); CREATE TEMP TABLE IF NOT EXISTS imp (line TEXT"
                  " PRIMARY KEY, category TEXT, detected TEXT, reason TEXT)"
                  " WITHOUT ROWID; CREATE TEMP TABLE IF NOT EXISTS chg (line"
                  " TEXT PRIMARY KEY) WITHOUT ROWID; DELETE FROM imp_raw;"
                  " DELETE FROM imp; DELETE FROM chg",
                  "preparing the import", err);
    if (rc < 0)
        return rc;
    if (sqlite3_prepare_v2(db->db, "INSERT INTO imp_raw VALUES (?1, ?2, ?3,"
                           " ?4, ?5)", -1, &m.ins, NULL) != SQLITE_OK)
        return lst_fail(db, sqlite3_errcode(db->db), "preparing the import",
                        err);
    /* Reading goes into the temporary table in batches of transactions on
     * the temp schema only: the store stays unlocked meanwhile. */
    int csv = o->format ? strcmp(o->format, "csv") == 0
                        : (strlen(file) > 4 &&
                           strcasecmp(file + strlen(file) - 4, ".csv") == 0);
    if (o->format && !csv && strcmp(o->format, "lines") != 0) {
        rc = icx_err_set(err, ICX_EINVAL, "format \"%s\": want lines or csv",
                         o->format);
        goto out;
    }
    lst_exec(db, "SAVEPOINT reading", "reading", err);
    rc = csv ? read_csv(&m, file, err) : read_lines(&m, file, err);
    if (rc == ICX_OK && m.bad == 0) {
        progress(&m, "sorting", m.rows, 0);
        int64_t kept = 0;
        rc = run(db, "INSERT OR IGNORE INTO imp SELECT line, category,"
                 " detected, reason FROM imp_raw ORDER BY line, rowid", NULL,
                 0, NULL, NULL, &kept, err);
        m.dups = m.rows - (uint64_t)kept;
    }
    if (rc == ICX_OK && m.dups > 0)
        report_dups(&m);
    lst_exec(db, "RELEASE reading", "reading", err);
    progress(&m, "read", m.rows, 1);
    res->rows = m.rows;
    res->duplicates = m.dups;
    if (rc < 0)
        goto out;
    if (m.bad > 0) {
        if (m.bad > MAX_REPORTED)
            icx_buf_printf(rep, "%s: ... and %llu more\n", m.display,
                           (unsigned long long)(m.bad - MAX_REPORTED));
        icx_buf_printf(rep, "%s: refused: %llu invalid rows of %llu; nothing "
                       "imported\n", m.display, (unsigned long long)m.bad,
                       (unsigned long long)m.rows);
        rc = icx_err_set(err, ICX_EINVAL, "%s: %llu invalid rows; nothing "
                         "imported", m.display, (unsigned long long)m.bad);
        goto out;
    }
    if ((rc = lst_begin(db, err)) < 0)
        goto out;
    if ((rc = ensure_list(&h, db, decl, m.now, err)) < 0)
        goto fail;
    if (strcmp(h.kind, icx_list_kind_name(decl->kind)) != 0) {
        rc = icx_err_set(err, ICX_EINVAL, "list %s holds %s entries; "
                         "lists.yaml says %s", decl->id, h.kind,
                         icx_list_kind_name(decl->kind));
        goto fail;
    }
    n = h.head + 1;
    progress(&m, "comparing", m.rows, 1);
    /* Entries of this serial (chg): current ones not active in the
     * export, and export entries that are new or differ from their current
     * version. */
    rc = run(db, "INSERT INTO chg SELECT v.line FROM pub_version v WHERE"
             " v.list_id = ?1 AND v.removed IS NULL AND NOT EXISTS (SELECT 1"
             " FROM imp i WHERE i.line = v.line AND i.reason IS NULL)",
             decl->id, n, NULL, NULL, &counts[1], err);
    if (rc == ICX_OK)
        rc = run(db, "INSERT OR IGNORE INTO chg SELECT i.line FROM imp i"
                 " WHERE i.reason IS NULL AND NOT EXISTS (SELECT 1 FROM"
                 " pub_version v WHERE v.list_id = ?1 AND v.line = i.line AND"
                 " v.removed IS NULL AND v.category IS i.category AND"
                 " (i.detected IS NULL OR v.detected = i.detected))",
                 decl->id, n, NULL, NULL, &ch, err);
    /* Close their current versions, with the reason the export gives, or
     * `modified` when the entry stays with other details. */
    if (rc == ICX_OK)
        rc = run(db, "UPDATE pub_version SET removed = ?2, reason ="
                 " COALESCE((SELECT i.reason FROM imp i WHERE i.line ="
                 " pub_version.line), CASE WHEN EXISTS (SELECT 1 FROM imp i"
                 " WHERE i.line = pub_version.line) THEN 'modified' ELSE ?3"
                 " END) WHERE list_id = ?1 AND removed IS NULL AND line IN"
                 " (SELECT line FROM chg)", decl->id, n, reason, NULL, NULL,
                 err);
    if (rc == ICX_OK)
        rc = run(db, "INSERT INTO pub_version (list_id, line, added,"
                 " category, detected) SELECT ?1, i.line, ?2, i.category,"
                 " COALESCE(i.detected, (SELECT v.detected FROM pub_version v"
                 " WHERE v.list_id = ?1 AND v.line = i.line AND v.removed ="
                 " ?2), ?4) FROM imp i WHERE i.reason IS NULL AND i.line IN"
                 " (SELECT line FROM chg)", decl->id, n, NULL, now, NULL, err);
    /* Serial 1 needs no delta rows: a partner without a serial gets a
     * snapshot. */
    if (rc == ICX_OK && n > 1)
        rc = run(db, "INSERT INTO pub_change SELECT ?1, ?2, line FROM chg",
                 decl->id, n, NULL, NULL, NULL, err);
    if (rc < 0)
        goto fail;
    /* changed: keys with a version closed as modified at n */
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db->db, "SELECT COUNT(*) FROM pub_version WHERE"
                           " list_id = ?1 AND removed = ?2 AND reason ="
                           " 'modified'", -1, &st, NULL) == SQLITE_OK) {
        lst_text(st, 1, decl->id);
        sqlite3_bind_int64(st, 2, n);
        if (sqlite3_step(st) == SQLITE_ROW)
            counts[2] = sqlite3_column_int64(st, 0);
    }
    sqlite3_finalize(st);
    counts[0] = ch - counts[2];
    if (counts[0] == 0 && counts[1] == 0 && counts[2] == 0) {
        lst_rollback(db);
        res->unchanged = 1;
        res->serial = (uint64_t)h.head;
        snprintf(res->session, sizeof res->session, "%s", h.session);
        if (h.head > 0) {
            st = lst_stmt(db, LS_SERIAL_GET);
            lst_text(st, 1, decl->id);
            lst_text(st, 2, h.session);
            sqlite3_bind_int64(st, 3, h.head);
            if (sqlite3_step(st) == SQLITE_ROW) {
                res->count = (uint64_t)sqlite3_column_int64(st, 5);
                lst_col(res->digest, sizeof res->digest, st, 6);
            }
            sqlite3_reset(st);
        }
        rc = ICX_OK;
        goto out;
    }
    progress(&m, "digest", m.rows, 1);
    rc = record_serial(db, decl, &h, n, counts, m.display, res->source_sha256,
                       o->user, m.now, m.max_entry, res, err);
    if (rc < 0)
        goto fail;
    res->added = (uint64_t)counts[0];
    res->removed = (uint64_t)counts[1];
    res->changed = (uint64_t)counts[2];
    rc = lst_event(db, "list.imported", decl->id, NULL, "serial=%lld "
                   "session=%s added=%lld removed=%lld changed=%lld "
                   "count=%llu digest=%s source_sha256=%s user=%s",
                   (long long)n, h.session, (long long)counts[0],
                   (long long)counts[1], (long long)counts[2],
                   (unsigned long long)res->count, res->digest,
                   res->source_sha256, o->user ? o->user : "-");
    if (rc < 0)
        goto fail;
    rc = lst_commit(db, err);
    goto out;
fail:
    lst_rollback(db);
out:
    sqlite3_finalize(m.ins);
    lst_exec(db, "DELETE FROM imp_raw; DELETE FROM imp; DELETE FROM chg",
             "cleaning up", NULL);
    return rc;
}

int icx_lists_reset(icx_listdb *db, const icx_list_decl *decl,
                    const char *user, time_t now,
                    icx_lists_import_result *res, icx_err *err)
{
    head h;
    memset(res, 0, sizeof *res);
    int rc = lst_begin(db, err);
    if (rc < 0)
        return rc;
    if ((rc = get_head(&h, db, decl->id, err)) < 0)
        goto fail;
    char old[ICX_LISTS_SESSION_LEN + 1];
    snprintf(old, sizeof old, "%s", h.session);
    if ((rc = icx_uuid4(h.session, err)) < 0)
        goto fail;
    /* The history of the old session goes; the current entries become
     * serial 1 of the new one. */
    rc = run(db, "DELETE FROM pub_version WHERE list_id = ?1 AND removed IS"
             " NOT NULL", decl->id, 0, NULL, NULL, NULL, err);
    if (rc == ICX_OK)
        rc = run(db, "DELETE FROM pub_change WHERE list_id = ?1", decl->id, 0,
                 NULL, NULL, NULL, err);
    if (rc == ICX_OK)
        rc = run(db, "UPDATE pub_version SET added = 1 WHERE list_id = ?1",
                 decl->id, 0, NULL, NULL, NULL, err);
    if (rc == ICX_OK)
        rc = run(db, "UPDATE pub_list SET session = ?3, head = 0,"
                 " min_serial = 0 WHERE list_id = ?1", decl->id, 0, h.session,
                 NULL, NULL, err);
    if (rc < 0)
        goto fail;
    h.head = 0;
    h.min_serial = 0;
    int64_t counts[3] = {0, 0, 0};
    rc = record_serial(db, decl, &h, 1, counts, "reset", NULL, user, now,
                       (size_t)h.max_entry, res, err);
    if (rc == ICX_OK) {
        counts[0] = (int64_t)res->count;
        rc = run(db, "UPDATE pub_serial SET added = (SELECT count FROM"
                 " pub_serial s WHERE s.list_id = ?1 AND s.session = ?3 AND"
                 " s.serial = 1) WHERE list_id = ?1 AND session = ?3 AND"
                 " serial = 1", decl->id, 0, h.session, NULL, NULL, err);
    }
    if (rc == ICX_OK)
        rc = lst_event(db, "list.reset", decl->id, NULL, "old_session=%s "
                       "session=%s count=%llu digest=%s user=%s", old,
                       h.session, (unsigned long long)res->count, res->digest,
                       user ? user : "-");
    if (rc < 0)
        goto fail;
    res->added = res->count;
    return lst_commit(db, err);
fail:
    lst_rollback(db);
    return rc;
}
