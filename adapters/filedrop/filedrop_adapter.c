/*
 * filedrop_adapter.c - the "filedrop" transport adapter (see
 * filedrop_adapter.h and adapters/README.md).
 *
 * Outbound: send() writes each frame whole into the partner's outbox
 * folder: a temporary ".NAME.tmp" (open, write, fsync), then rename() to
 * NAME and fsync of the folder, so a reader sees the complete file or
 * nothing.  NAME is the SHA-256 of the bytes: "<sha256>.xml" for an
 * envelope, "<sha256>.receipt.xml" for a receipt; a retry of the same
 * bytes rewrites the same name.
 *
 * Inbound: every poll_ms the inbox folder is scanned in name order.  Names
 * that start with "." or end in ".tmp", and names that do not end in
 * ".xml", are never read; subfolders are skipped.  Each other regular
 * file is read whole and handed to the core with the partner as peer: the
 * folder is the transport identity (the core still verifies every
 * envelope against the partner's certificate).  A receipt file is moved
 * to processed/ as soon as the core has it (receipts are not answered).
 * An envelope file stays where it is, pending, until the core answers it:
 * the receipt the core sends back through send() names the SHA-256 of the
 * bytes it answers, and only once that receipt is written is the file
 * moved, to processed/ (positive receipt) or to rejected/ with
 * NAME.reason (negative receipt: reason code and text).  The core sends
 * receipts only after its store transaction committed, so a file that
 * reached processed/ or rejected/ is never needed again; one still in the
 * inbox after a crash or restart is handed over again, and the core's
 * duplicate logic answers it with the original receipt.  A file without an
 * answer within answer_seconds is handed over again, and after
 * ICX_FILEDROP_MAX_HANDOVERS goes to rejected/.  Files the adapter can
 * refuse itself (too large, not a regular file, incomplete) go to
 * rejected/ with the reason at once.
 *
 * Folders: a missing, non-folder or unusable inbox or outbox is logged
 * once per change of state (filedrop.inbox / filedrop.outbox), send()
 * returns RETRY and the scan tries again at every poll.  The inbox and
 * outbox are never created here: on removable media an absent folder
 * usually means an unmounted medium, and creating it would write to the
 * wrong disk.  processed/ and rejected/ are created inside the inbox.
 *
 * Ownership: the state owns its pending lists; env and the config are the
 * core's.  Data passed to env->deliver lives until the callback returns.
 * Threads: the core's loop thread only; nothing here starts a thread.
 * There are no sockets: pollitems gives none and the work happens in
 * on_ready, which the core calls on every loop turn.
 *
 * Failure: open() fails only on a partner without folders; everything
 * later is logged and retried, never fatal.
 */
#include "filedrop_adapter.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "receipt.h"
#include "util.h"

#define HANDOVERS_PER_SCAN 64
#define WHY_MAX 300
#define REASON_MAX 400      /* "CODE: detail" of a negative receipt */
#define DUP_SUFFIX_MAX 1000 /* name.1 .. name.999 when a name is taken */

enum { UNKNOWN = -1, FAILING = 0, FINE = 1 };
enum { OPEN = 0, PROCESSED = 1, REJECTED = 2 };

/* An envelope file handed to the core and not yet moved. */
struct pending {
    char name[NAME_MAX + 1];
    char digest[ICX_SHA256_HEX_LEN + 1];
    int handovers;
    int64_t deadline;       /* ms: hand over again when no answer by then */
    int verdict;            /* OPEN, or where it goes once it can move */
    char reason[REASON_MAX]; /* for REJECTED */
};

struct peer {
    const icx_partner *p;
    int in_state, out_state; /* UNKNOWN, FAILING or FINE */
    int reported;            /* the outbox state last told to the core */
    int64_t next_scan;       /* ms */
    struct pending pend[ICX_FILEDROP_MAX_PENDING];
    size_t npend;
};

struct state {
    const icx_adapter_env *env;
    struct peer *peers;
    size_t npeers;
    size_t max_body;
    icx_xml_limits limits;  /* for the core's receipts */
};

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int uses_filedrop(const icx_partner *p)
{
    return p->adapter != NULL && strcmp(p->adapter, "filedrop") == 0;
}

static struct peer *peer_by_id(struct state *st, const char *id)
{
    for (size_t i = 0; id != NULL && i < st->npeers; i++)
        if (strcmp(st->peers[i].p->id, id) == 0)
            return &st->peers[i];
    return NULL;
}

static int ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcmp(s + n - m, suffix) == 0;
}

/* Whether the reader may look at a file of this name at all. */
static int readable_name(const char *name)
{
    return name[0] != '.' && !ends_with(name, ".tmp") &&
           ends_with(name, ".xml") && strlen(name) > 4;
}

static int kind_of(const char *name)
{
    return ends_with(name, ICX_FILEDROP_RECEIPT_SUFFIX) ? ICX_FRAME_RECEIPT
                                                        : ICX_FRAME_ENVELOPE;
}

/* ---- folder states ---------------------------------------------------- */

/* Logs a change of a folder's state; the same state again is silent. */
static void set_state(struct peer *pe, int out, int ok, const char *why)
{
    int *s = out ? &pe->out_state : &pe->in_state;
    const char *folder = out ? pe->p->filedrop_outbox : pe->p->filedrop_inbox;
    if (*s == ok)
        return;
    if (ok == FINE && *s == FAILING)
        icx_log_info(out ? "filedrop.outbox_ok" : "filedrop.inbox_ok",
                     "partner=%s folder=%s", pe->p->id, folder);
    else if (ok == FAILING)
        icx_log_warn(out ? "filedrop.outbox_unusable"
                         : "filedrop.inbox_unusable",
                     "partner=%s folder=%s reason=\"%s\" action=%s",
                     pe->p->id, folder, why ? why : "?",
                     out ? "sends return RETRY until it is usable"
                         : "scanned again at every poll");
    *s = ok;
}

/* 0 when dir is a folder we can read (and write, for need_write). */
static int folder_usable(const char *dir, int need_write, char *why, size_t n)
{
    struct stat sb;
    if (stat(dir, &sb) < 0) {
        snprintf(why, n, "%s", strerror(errno));
        return -1;
    }
    if (!S_ISDIR(sb.st_mode)) {
        snprintf(why, n, "not a folder");
        return -1;
    }
    if (access(dir, R_OK | X_OK | (need_write ? W_OK : 0)) < 0) {
        snprintf(why, n, "%s", strerror(errno));
        return -1;
    }
    return 0;
}

static void check_outbox(struct peer *pe)
{
    char why[WHY_MAX];
    int ok = folder_usable(pe->p->filedrop_outbox, 1, why, sizeof why) == 0;
    set_state(pe, 1, ok ? FINE : FAILING, why);
}

static void fsync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        fsync(fd);
        close(fd);
    }
}

/* ---- writing ---------------------------------------------------------- */

/* Writes data as dir/name through dir/.name.tmp, fsync and rename. */
static int write_file(const char *dir, const char *name, const void *data,
                      size_t len, char *why, size_t n)
{
    char tmp[PATH_MAX], path[PATH_MAX];
    int fd = -1;
    if (snprintf(tmp, sizeof tmp, "%s/.%s.tmp", dir, name) >= (int)sizeof tmp ||
        snprintf(path, sizeof path, "%s/%s", dir, name) >= (int)sizeof path) {
        snprintf(why, n, "path too long");
        return -1;
    }
    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW,
              0640);
    if (fd < 0) {
        snprintf(why, n, "cannot create %.200s: %s", tmp, strerror(errno));
        return -1;
    }
    const char *p = data;
    size_t left = len;
    while (left > 0) {
        ssize_t w = write(fd, p, left);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0) {
            snprintf(why, n, "cannot write %.200s: %s", tmp, strerror(errno));
            goto fail;
        }
        p += w;
        left -= (size_t)w;
    }
    if (fsync(fd) < 0) {
        snprintf(why, n, "fsync %.200s: %s", tmp, strerror(errno));
        goto fail;
    }
    if (close(fd) < 0) {
        fd = -1;
        snprintf(why, n, "close %.200s: %s", tmp, strerror(errno));
        goto fail;
    }
    fd = -1;
    if (rename(tmp, path) < 0) {
        snprintf(why, n, "rename to %.200s: %s", path, strerror(errno));
        goto fail;
    }
    fsync_dir(dir);
    return 0;
fail:
    if (fd >= 0)
        close(fd);
    unlink(tmp);
    return -1;
}

/* ---- moving handled files --------------------------------------------- */

/* Moves inbox/name to inbox/sub/ (name, or name.N when taken), writing
 * the reason beside it first for rejected/.  0, or -1 with why. */
static int move_file(struct peer *pe, const char *name, int verdict,
                     const char *reason, char *why, size_t n)
{
    const char *inbox = pe->p->filedrop_inbox;
    const char *sub = verdict == PROCESSED ? ICX_FILEDROP_PROCESSED
                                           : ICX_FILEDROP_REJECTED;
    char dir[PATH_MAX], from[PATH_MAX], target[NAME_MAX + 1];
    char to[sizeof dir + NAME_MAX + 2];
    struct stat sb;

    snprintf(dir, sizeof dir, "%s/%s", inbox, sub);
    snprintf(from, sizeof from, "%s/%s", inbox, name);
    if (mkdir(dir, 0750) < 0 && errno != EEXIST) {
        snprintf(why, n, "cannot create %.200s: %s", dir, strerror(errno));
        return -1;
    }
    /* A name seen before (the partner sent the same file again) keeps
     * both copies: they are evidence of what arrived. */
    snprintf(target, sizeof target, "%s", name);
    for (int k = 1; k < DUP_SUFFIX_MAX; k++) {
        snprintf(to, sizeof to, "%s/%s", dir, target);
        if (lstat(to, &sb) < 0 && errno == ENOENT)
            break;
        snprintf(target, sizeof target, "%.*s.%d", NAME_MAX - 8, name, k);
    }
    if (verdict == REJECTED) {
        char text[REASON_MAX + 2], rname[NAME_MAX + 1];
        int len = snprintf(text, sizeof text, "%s\n", reason);
        snprintf(rname, sizeof rname, "%.*s%s",
                 NAME_MAX - (int)strlen(ICX_FILEDROP_REASON_SUFFIX), target,
                 ICX_FILEDROP_REASON_SUFFIX);
        if (write_file(dir, rname, text, (size_t)len, why, n) < 0)
            return -1;
    }
    if (rename(from, to) < 0) {
        if (errno == ENOENT)
            return 0; /* gone already: nothing left to move */
        snprintf(why, n, "cannot move %s to %.200s/: %s", name, sub,
                 strerror(errno));
        return -1;
    }
    fsync_dir(dir);
    fsync_dir(inbox);
    if (verdict == PROCESSED)
        icx_log_info("filedrop.processed", "partner=%s file=%s moved_to=%s/%s",
                     pe->p->id, name, sub, target);
    else
        icx_log_warn("filedrop.rejected", "partner=%s file=%s moved_to=%s/%s "
                     "reason=\"%s\"", pe->p->id, name, sub, target, reason);
    return 0;
}

static void drop_pending(struct peer *pe, size_t i)
{
    pe->pend[i] = pe->pend[--pe->npend];
}

/* Moves a file whose verdict is known; on failure it stays pending and
 * the move is tried again at the next scan.  0 or -1. */
static int settle(struct peer *pe, size_t i)
{
    struct pending *f = &pe->pend[i];
    char why[WHY_MAX];
    if (move_file(pe, f->name, f->verdict, f->reason, why, sizeof why) == 0) {
        drop_pending(pe, i);
        return 0;
    }
    set_state(pe, 0, FAILING, why);
    return -1;
}

/* A file refused by the adapter itself, never handed to the core. */
static void refuse_file(struct peer *pe, const char *name, const char *reason)
{
    char why[WHY_MAX];
    if (move_file(pe, name, REJECTED, reason, why, sizeof why) < 0)
        set_state(pe, 0, FAILING, why);
}

/* ---- reading ---------------------------------------------------------- */

static int is_space(char c)
{
    return c == ' ' || c == '\n' || c == '\r' || c == '\t';
}

static int name_char(char c)
{
    return c != '\0' && !is_space(c) && c != '>' && c != '/';
}

/* Whether data ends like a whole XML document: its last tag closes the
 * root element (or the root is one empty-element tag).  Not a parse: the
 * core parses and verifies; this only tells a file still being written by
 * a tool that ignores the temporary-name rule. */
static int complete_xml(const char *data, size_t size)
{
    size_t root = 0, rlen = 0, end = size, last;

    /* The root's name: the first tag that is not <?...?> or <!...>. */
    for (size_t i = 0; i + 1 < size && rlen == 0; i++) {
        if (data[i] != '<' || data[i + 1] == '?' || data[i + 1] == '!')
            continue;
        root = i + 1;
        while (root + rlen < size && name_char(data[root + rlen]))
            rlen++;
    }
    while (end > 0 && is_space(data[end - 1]))
        end--;
    if (rlen == 0 || end < 2 || data[end - 1] != '>')
        return 0;
    last = end - 1;
    while (last > 0 && data[last] != '<')
        last--;
    if (last + 1 == root) /* <Root .../> */
        return data[end - 2] == '/';
    if (data[last + 1] != '/' || end - last < rlen + 3 ||
        memcmp(data + last + 2, data + root, rlen) != 0)
        return 0;
    for (size_t i = last + 2 + rlen; i < end - 1; i++)
        if (!is_space(data[i]))
            return 0;
    return 1;
}

enum { READ_OK, READ_SKIP, READ_GONE, READ_REFUSE };

/* Reads inbox/name whole.  READ_SKIP: not ready yet (left for a later
 * scan); READ_GONE: no longer there; READ_REFUSE: why says why it can
 * never be taken. */
static int read_file(struct state *st, struct peer *pe, const char *name,
                     char **out, size_t *len, char *why, size_t n)
{
    char path[PATH_MAX];
    struct stat sb;
    char *data = NULL;
    int rc = READ_SKIP;
    int fd;

    *out = NULL;
    snprintf(path, sizeof path, "%s/%s", pe->p->filedrop_inbox, name);
    fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ELOOP) {
            snprintf(why, n, "a symbolic link, not a file");
            return READ_REFUSE;
        }
        if (errno == ENOENT)
            return READ_GONE;
        icx_log_warn("filedrop.unreadable", "partner=%s file=%s "
                     "error=\"%s\"", pe->p->id, name, strerror(errno));
        return READ_SKIP;
    }
    if (fstat(fd, &sb) < 0)
        goto out;
    if (!S_ISREG(sb.st_mode)) {
        snprintf(why, n, "not a regular file");
        rc = READ_REFUSE;
        goto out;
    }
    if ((uint64_t)sb.st_size > st->max_body) {
        snprintf(why, n, "TOO_LARGE: %lld bytes, limit %zu "
                 "(limits.max_message_bytes)", (long long)sb.st_size,
                 st->max_body);
        rc = READ_REFUSE;
        goto out;
    }
    size_t size = (size_t)sb.st_size, got = 0;
    data = malloc(size + 1);
    if (data == NULL)
        goto out;
    while (got < size) {
        ssize_t r = read(fd, data + got, size - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            goto out; /* shrank or failed: look again next scan */
        got += (size_t)r;
    }
    char extra;
    if (read(fd, &extra, 1) != 0)
        goto out; /* still growing */
    data[size] = '\0';
    if (!complete_xml(data, size)) {
        if (time(NULL) - sb.st_mtime < ICX_FILEDROP_SETTLE_S)
            goto out;
        snprintf(why, n, "incomplete: %s", size == 0 ? "the file is empty"
                                                     : "it does not end like "
                                                       "an XML document");
        rc = READ_REFUSE;
        goto out;
    }
    *out = data;
    *len = size;
    data = NULL;
    rc = READ_OK;
out:
    free(data);
    close(fd);
    return rc;
}

static struct pending *pending_named(struct peer *pe, const char *name)
{
    for (size_t i = 0; i < pe->npend; i++)
        if (strcmp(pe->pend[i].name, name) == 0)
            return &pe->pend[i];
    return NULL;
}

/* Hands one file to the core (again, when f is its pending entry). */
static void hand_over(struct state *st, struct peer *pe, const char *name,
                      struct pending *f, int64_t now)
{
    char *data = NULL, why[WHY_MAX];
    size_t len = 0;
    int kind = kind_of(name);
    int r = read_file(st, pe, name, &data, &len, why, sizeof why);

    if (r == READ_REFUSE) {
        if (f != NULL) {
            f->verdict = REJECTED;
            snprintf(f->reason, sizeof f->reason, "%s", why);
            settle(pe, (size_t)(f - pe->pend));
        } else {
            refuse_file(pe, name, why);
        }
        return;
    }
    if (r == READ_GONE) {
        if (f != NULL)
            drop_pending(pe, (size_t)(f - pe->pend));
        return;
    }
    if (r == READ_SKIP)
        return;
    char digest[ICX_SHA256_HEX_LEN + 1];
    icx_sha256_hex(digest, data, len);
    if (kind == ICX_FRAME_ENVELOPE && f == NULL) {
        f = &pe->pend[pe->npend++];
        memset(f, 0, sizeof *f);
        snprintf(f->name, sizeof f->name, "%s", name);
    }
    if (f != NULL) {
        memcpy(f->digest, digest, sizeof f->digest);
        f->handovers++;
        f->deadline = now + pe->p->filedrop_answer_s * 1000;
    }
    icx_log_info("filedrop.received", "partner=%s file=%s kind=%s sha256=%s "
                 "bytes=%zu handover=%d", pe->p->id, name,
                 kind == ICX_FRAME_RECEIPT ? "receipt" : "envelope", digest,
                 len, f != NULL ? f->handovers : 1);
    st->env->deliver(st->env->core, pe->p->id, kind, data, len);
    free(data);
    if (kind == ICX_FRAME_RECEIPT) {
        /* Not answered: it is the core's once delivered. */
        char mwhy[WHY_MAX];
        if (move_file(pe, name, PROCESSED, NULL, mwhy, sizeof mwhy) < 0)
            set_state(pe, 0, FAILING, mwhy);
    }
}

static int only_readable(const struct dirent *d)
{
    return readable_name(d->d_name);
}

/* Re-handles pending files: moves that failed before, answers overdue.
 * Returns how many moves failed again. */
static int check_pending(struct state *st, struct peer *pe, int64_t now)
{
    int fails = 0;
    for (size_t i = pe->npend; i-- > 0;) {
        struct pending *f = &pe->pend[i];
        if (f->verdict != OPEN) {
            fails += settle(pe, i) < 0;
        } else if (now >= f->deadline) {
            if (f->handovers >= ICX_FILEDROP_MAX_HANDOVERS) {
                char digest[sizeof f->digest];
                memcpy(digest, f->digest, sizeof digest);
                f->verdict = REJECTED;
                snprintf(f->reason, sizeof f->reason,
                         "NO_ANSWER: handed to the gateway %d times, %ld s "
                         "apart, without a receipt (not an envelope it can "
                         "answer; see its log for sha256=%s)",
                         f->handovers, pe->p->filedrop_answer_s, digest);
                fails += settle(pe, i) < 0;
            } else {
                hand_over(st, pe, f->name, f, now);
            }
        }
    }
    return fails;
}

static void scan(struct state *st, struct peer *pe, int64_t now)
{
    const char *inbox = pe->p->filedrop_inbox;
    struct dirent **names = NULL;
    char why[WHY_MAX];
    int n, handed = 0;

    /* Writable too: a file that cannot be moved once answered would be
     * handed over again and again. */
    if (folder_usable(inbox, 1, why, sizeof why) < 0) {
        set_state(pe, 0, FAILING, why);
        return;
    }
    n = scandir(inbox, &names, only_readable, alphasort);
    if (n < 0) {
        snprintf(why, sizeof why, "%s", strerror(errno));
        set_state(pe, 0, FAILING, why);
        return;
    }
    if (check_pending(st, pe, now) == 0)
        set_state(pe, 0, FINE, NULL);
    for (int i = 0; i < n; i++) {
        const char *name = names[i]->d_name;
        if (pe->npend < ICX_FILEDROP_MAX_PENDING &&
            handed < HANDOVERS_PER_SCAN && pending_named(pe, name) == NULL) {
            struct stat sb;
            char path[PATH_MAX];
            snprintf(path, sizeof path, "%s/%s", inbox, name);
            /* Subfolders are not files; everything else is looked at. */
            if (lstat(path, &sb) == 0 && !S_ISDIR(sb.st_mode)) {
                hand_over(st, pe, name, NULL, now);
                handed++;
            }
        }
        free(names[i]);
    }
    free(names);
}

/* The core answered a file: its receipt names the digest it answers. */
static void answered(struct state *st, struct peer *pe, const char *data,
                     size_t len)
{
    icx_receipt r;
    icx_err err;
    icx_xml_limits lim = st->limits;

    icx_err_clear(&err);
    if (icx_receipt_read(&r, data, len, &lim, &err) < 0)
        return; /* not ours to judge: it went out as it is */
    for (size_t i = 0; i < pe->npend; i++) {
        struct pending *f = &pe->pend[i];
        if (f->verdict != OPEN || strcmp(f->digest, r.digest) != 0)
            continue;
        f->verdict = r.positive ? PROCESSED : REJECTED;
        if (!r.positive)
            snprintf(f->reason, sizeof f->reason, "%s: %s", r.reason,
                     r.detail[0] ? r.detail : r.reason);
        settle(pe, i);
        return;
    }
}

/* ---- ops -------------------------------------------------------------- */

static void filedrop_close(void **statep)
{
    struct state *st = *statep;
    if (st == NULL)
        return;
    free(st->peers);
    free(st);
    *statep = NULL;
}

static int filedrop_open(void **statep, const icx_adapter_env *env,
                         icx_err *err)
{
    const icx_config *cfg = env->cfg;
    struct state *st = NULL;
    int rc = ICX_OK;

    *statep = NULL;
    if (cfg == NULL || env->deliver == NULL) {
        rc = icx_err_set(err, ICX_EINVAL,
                         "filedrop adapter: config or deliver missing");
        goto out;
    }
    if (cfg->max_message_bytes <= 0) {
        rc = icx_err_set(err, ICX_EINVAL, "filedrop adapter: "
                         "max_message_bytes %ld is not positive",
                         cfg->max_message_bytes);
        goto out;
    }
    st = calloc(1, sizeof *st);
    if (st == NULL || (cfg->npartners > 0 &&
                       (st->peers = calloc(cfg->npartners,
                                           sizeof *st->peers)) == NULL)) {
        rc = icx_err_set(err, ICX_ENOMEM, "out of memory");
        goto out;
    }
    st->env = env;
    st->max_body = (size_t)cfg->max_message_bytes;
    icx_config_xml_limits(&st->limits, cfg);
    st->limits.max_bytes = st->max_body + 1;
    if (st->limits.max_depth <= 0)
        st->limits.max_depth = 64;
    for (size_t i = 0; i < cfg->npartners; i++) {
        const icx_partner *p = &cfg->partners[i];
        if (!uses_filedrop(p))
            continue;
        if (p->filedrop_outbox == NULL || p->filedrop_inbox == NULL) {
            rc = icx_err_set(err, ICX_ECONFIG, "partner %s: filedrop needs "
                             "filedrop.outbox and filedrop.inbox", p->id);
            goto out;
        }
        if (p->filedrop_poll_ms <= 0 || p->filedrop_answer_s <= 0) {
            rc = icx_err_set(err, ICX_ECONFIG, "partner %s: filedrop.poll_ms "
                             "and filedrop.answer_seconds must be positive",
                             p->id);
            goto out;
        }
        struct peer *pe = &st->peers[st->npeers++];
        pe->p = p;
        pe->in_state = pe->out_state = pe->reported = UNKNOWN;
        /* The first scan waits one period: files found at start are handed
         * over once the core's loop and workers are running. */
        pe->next_scan = now_ms() + p->filedrop_poll_ms;
        icx_log_info("filedrop.partner", "partner=%s inbox=%s outbox=%s "
                     "poll_ms=%ld", p->id, p->filedrop_inbox,
                     p->filedrop_outbox, p->filedrop_poll_ms);
    }
    *statep = st;
    st = NULL;
out:
    filedrop_close((void **)&st);
    return rc;
}

static int filedrop_pollitems(void *state, zmq_pollitem_t *items, size_t max,
                              size_t *n)
{
    (void)state;
    (void)items;
    (void)max;
    *n = 0; /* no sockets: on_ready runs on every loop turn anyway */
    return ICX_OK;
}

static int filedrop_on_ready(void *state, const zmq_pollitem_t *items,
                             size_t n, icx_err *err)
{
    struct state *st = state;
    int64_t now = now_ms();

    (void)items;
    (void)n;
    (void)err;
    for (size_t i = 0; i < st->npeers; i++) {
        struct peer *pe = &st->peers[i];
        if (now < pe->next_scan)
            continue;
        pe->next_scan = now + pe->p->filedrop_poll_ms;
        check_outbox(pe);
        scan(st, pe, now);
        /* The outbox decides whether the partner counts as reachable;
         * telling the core "up" makes it send what waits at once. */
        if (pe->out_state != pe->reported && st->env->peer_event != NULL) {
            pe->reported = pe->out_state;
            st->env->peer_event(st->env->core, pe->p->id,
                                pe->out_state == FINE ? ICX_PEER_UP
                                                      : ICX_PEER_DOWN);
        }
    }
    return ICX_OK;
}

static int filedrop_send(void *state, const char *partner, int kind,
                         const char *data, size_t len, icx_err *err)
{
    struct state *st = state;
    struct peer *pe = peer_by_id(st, partner);
    char digest[ICX_SHA256_HEX_LEN + 1];
    char name[NAME_MAX + 1], why[WHY_MAX];

    if (pe == NULL)
        return icx_err_result(err, ICX_SEND_ERROR, ICX_ENOTFOUND,
                      "partner %s is not a filedrop partner of this gateway",
                      partner ? partner : "(null)");
    if (kind != ICX_FRAME_ENVELOPE && kind != ICX_FRAME_RECEIPT)
        return icx_err_result(err, ICX_SEND_ERROR, ICX_EINVAL,
                      "partner %s: cannot send frame kind %d", pe->p->id,
                      kind);
    if (len == 0 || len > st->max_body)
        return icx_err_result(err, ICX_SEND_REJECTED, ICX_EFULL,
                      "partner %s: message is %zu bytes, allowed 1..%zu",
                      pe->p->id, len, st->max_body);
    icx_sha256_hex(digest, data, len);
    snprintf(name, sizeof name, "%s%s", digest,
             kind == ICX_FRAME_RECEIPT ? ICX_FILEDROP_RECEIPT_SUFFIX : ".xml");
    if (folder_usable(pe->p->filedrop_outbox, 1, why, sizeof why) < 0 ||
        write_file(pe->p->filedrop_outbox, name, data, len, why,
                   sizeof why) < 0) {
        set_state(pe, 1, FAILING, why);
        return icx_err_result(err, ICX_SEND_RETRY, ICX_EAGAIN, "partner %s: outbox "
                      "%s: %s", pe->p->id, pe->p->filedrop_outbox, why);
    }
    set_state(pe, 1, FINE, NULL);
    icx_log_debug("filedrop.written", "partner=%s file=%s bytes=%zu",
                  pe->p->id, name, len);
    /* Only a receipt that reached the outbox settles the file it answers:
     * otherwise the file is handed over again and answered again. */
    if (kind == ICX_FRAME_RECEIPT)
        answered(st, pe, data, len);
    return ICX_SEND_OK;
}

static int filedrop_connected(void *state, const char *partner)
{
    struct state *st = state;
    struct peer *pe = peer_by_id(st, partner);
    if (pe == NULL)
        return 0;
    if (pe->out_state == UNKNOWN)
        check_outbox(pe);
    return pe->out_state == FINE;
}

static int filedrop_try_resume(void *state, const char *partner)
{
    struct state *st = state;
    struct peer *pe = peer_by_id(st, partner);
    if (pe == NULL)
        return 0;
    pe->next_scan = 0; /* and scan at the next turn */
    check_outbox(pe);
    return pe->out_state == FINE;
}

const icx_adapter_ops icx_adapter_filedrop = {
    .abi = ICX_ADAPTER_ABI,
    .name = "filedrop",
    .open = filedrop_open,
    .pollitems = filedrop_pollitems,
    .on_ready = filedrop_on_ready,
    .send = filedrop_send,
    .connected = filedrop_connected,
    .close = filedrop_close,
    .endpoint = NULL,
    .try_resume = filedrop_try_resume,
};
