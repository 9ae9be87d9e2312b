/*
 * example_adapter.c - "example", an external transport adapter: the worked
 * example of adapters/README.md, built as icx_adapter_example.so and
 * loaded by a gateway from paths.adapters.
 *
 * Transport: a spool folder shared by two gateways (the same machine, or a
 * shared disk).  A partner file says
 *
 *     adapter: example
 *     adapter_options: ["spool=/srv/icx-spool"]
 *
 * and frames from A to B are files in SPOOL/A-to-B/: "<ms>-<n>.env" for an
 * envelope, "<ms>-<n>.rcpt" for a receipt, written as ".<name>.tmp" and
 * renamed.  B reads SPOOL/<partner>-to-<self>/, hands each file to the core
 * with that partner as peer, and deletes it.  The folder is the identity:
 * only that partner may write there.
 *
 * What it shows: a module built against gateway/broker/adapter.h alone (it calls
 * nothing of the gateway: no icx_* function is linked into a module, so
 * errors are written into icx_err by hand), settings from adapter_options,
 * a file descriptor polled by the core's loop (an inotify descriptor that
 * becomes readable when a file is renamed into a spool folder), send()
 * results, and try_resume.
 *
 * Delivery: at most once on this side (a file is deleted once the core has
 * it); the core's retries and receipts make the exchange at least once end
 * to end, as with any adapter.
 *
 * Ownership: the state owns the inotify descriptor and the folder names;
 * env and the config are the core's.  Threads: the core's loop only.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "adapter.h"

struct link {
    const char *partner;
    char in[PATH_MAX];  /* SPOOL/<partner>-to-<self> */
    char out[PATH_MAX]; /* SPOOL/<self>-to-<partner> */
};

struct state {
    const icx_adapter_env *env;
    struct link *links;
    size_t nlinks;
    size_t max_body;
    int ino;            /* inotify descriptor, -1 when unavailable */
    unsigned serial;    /* makes file names unique within a millisecond */
    struct timespec last_scan;
};

/* The module cannot call icx_err_set (it is the gateway's): the same by
 * hand.  Returns rc. */
static int fail(icx_err *err, int rc, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int fail(icx_err *err, int rc, const char *fmt, ...)
{
    va_list ap;
    if (err != NULL) {
        err->rc = rc;
        err->reason = 0;
        va_start(ap, fmt);
        vsnprintf(err->msg, sizeof err->msg, fmt, ap);
        va_end(ap);
    }
    return rc;
}

/* The value of "key=value" in the partner's adapter_options, or NULL. */
static const char *option(const icx_partner *p, const char *key)
{
    size_t kl = strlen(key);
    for (size_t i = 0; i < p->adapter_options.count; i++) {
        const char *o = p->adapter_options.items[i];
        if (strncmp(o, key, kl) == 0 && o[kl] == '=')
            return o + kl + 1;
    }
    return NULL;
}

static int mkdirs(const char *dir)
{
    char tmp[PATH_MAX];
    snprintf(tmp, sizeof tmp, "%s", dir);
    for (char *p = tmp + 1; *p != '\0'; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(tmp, 0750) < 0 && errno != EEXIST)
            return -1;
        *p = '/';
    }
    return mkdir(tmp, 0750) < 0 && errno != EEXIST ? -1 : 0;
}

static struct link *link_of(struct state *st, const char *partner)
{
    for (size_t i = 0; partner != NULL && i < st->nlinks; i++)
        if (strcmp(st->links[i].partner, partner) == 0)
            return &st->links[i];
    return NULL;
}

/* Hands every complete file of one spool folder to the core. */
static void drain(struct state *st, struct link *l)
{
    DIR *d = opendir(l->in);
    struct dirent *e;
    if (d == NULL)
        return;
    while ((e = readdir(d)) != NULL) {
        const char *dot = strrchr(e->d_name, '.');
        int kind = dot == NULL               ? 0
                   : strcmp(dot, ".env") == 0 ? ICX_FRAME_ENVELOPE
                   : strcmp(dot, ".rcpt") == 0 ? ICX_FRAME_RECEIPT
                                               : 0;
        if (e->d_name[0] == '.' || kind == 0)
            continue; /* temporary or foreign */
        char path[PATH_MAX + NAME_MAX + 2];
        struct stat sb;
        snprintf(path, sizeof path, "%s/%s", l->in, e->d_name);
        int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
            continue;
        char *data = NULL;
        if (fstat(fd, &sb) == 0 && S_ISREG(sb.st_mode) && sb.st_size > 0 &&
            (size_t)sb.st_size <= st->max_body &&
            (data = malloc((size_t)sb.st_size)) != NULL &&
            read(fd, data, (size_t)sb.st_size) == sb.st_size)
            st->env->deliver(st->env->core, l->partner, kind, data,
                             (size_t)sb.st_size);
        free(data);
        close(fd);
        unlink(path);
    }
    closedir(d);
}

static void example_close(void **statep)
{
    struct state *st = *statep;
    if (st == NULL)
        return;
    if (st->ino >= 0)
        close(st->ino);
    free(st->links);
    free(st);
    *statep = NULL;
}

static int example_open(void **statep, const icx_adapter_env *env,
                        icx_err *err)
{
    const icx_config *cfg = env->cfg;
    struct state *st = calloc(1, sizeof *st);
    int rc = ICX_OK;

    *statep = NULL;
    if (st == NULL || (cfg->npartners > 0 &&
                       (st->links = calloc(cfg->npartners,
                                           sizeof *st->links)) == NULL)) {
        rc = fail(err, ICX_ENOMEM, "example adapter: out of memory");
        goto out;
    }
    st->env = env;
    st->max_body = (size_t)cfg->max_message_bytes;
    st->ino = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    for (size_t i = 0; i < cfg->npartners; i++) {
        const icx_partner *p = &cfg->partners[i];
        if (p->adapter == NULL || strcmp(p->adapter, "example") != 0)
            continue;
        const char *spool = option(p, "spool");
        if (spool == NULL || spool[0] != '/') {
            rc = fail(err, ICX_ECONFIG, "partner %s: adapter example needs "
                      "adapter_options: [\"spool=/absolute/folder\"]", p->id);
            goto out;
        }
        struct link *l = &st->links[st->nlinks++];
        l->partner = p->id;
        snprintf(l->in, sizeof l->in, "%s/%s-to-%s", spool, p->id, cfg->id);
        snprintf(l->out, sizeof l->out, "%s/%s-to-%s", spool, cfg->id, p->id);
        if (mkdirs(l->in) < 0) {
            rc = fail(err, ICX_EIO, "partner %s: cannot create %s: %s",
                      p->id, l->in, strerror(errno));
            goto out;
        }
        /* A file counts once it is renamed into the folder. */
        if (st->ino >= 0)
            inotify_add_watch(st->ino, l->in, IN_MOVED_TO);
    }
    *statep = st;
    st = NULL;
out:
    example_close((void **)&st);
    return rc;
}

static int example_pollitems(void *state, zmq_pollitem_t *items, size_t max,
                             size_t *n)
{
    struct state *st = state;
    *n = 0;
    if (st->ino < 0)
        return ICX_OK;
    if (max == 0)
        return ICX_EFULL;
    items[0] = (zmq_pollitem_t){.socket = NULL, .fd = st->ino,
                                .events = ZMQ_POLLIN, .revents = 0};
    *n = 1;
    return ICX_OK;
}

static int example_on_ready(void *state, const zmq_pollitem_t *items,
                            size_t n, icx_err *err)
{
    struct state *st = state;
    struct timespec now;
    int due = 0;
    (void)err;
    for (size_t i = 0; i < n; i++) {
        if (items[i].fd == st->ino && (items[i].revents & ZMQ_POLLIN)) {
            char buf[4096];
            while (read(st->ino, buf, sizeof buf) > 0)
                ; /* which folder does not matter: drain them all */
            due = 1;
        }
    }
    /* Without inotify, or for files that were there before the watch: a
     * scan every second. */
    clock_gettime(CLOCK_MONOTONIC, &now);
    if (now.tv_sec != st->last_scan.tv_sec)
        due = 1;
    if (!due)
        return ICX_OK;
    st->last_scan = now;
    for (size_t i = 0; i < st->nlinks; i++)
        drain(st, &st->links[i]);
    return ICX_OK;
}

static int example_send(void *state, const char *partner, int kind,
                        const char *data, size_t len, icx_err *err)
{
    struct state *st = state;
    struct link *l = link_of(st, partner);
    char tmp[PATH_MAX + 32], path[PATH_MAX + 32];
    struct timespec ts;

    if (l == NULL) {
        fail(err, ICX_ENOTFOUND, "%s is not an example partner", partner);
        return ICX_SEND_ERROR;
    }
    if (len == 0 || len > st->max_body) {
        fail(err, ICX_EFULL, "partner %s: %zu bytes, allowed 1..%zu", partner,
             len, st->max_body);
        return ICX_SEND_REJECTED; /* never retried */
    }
    clock_gettime(CLOCK_REALTIME, &ts);
    snprintf(tmp, sizeof tmp, "%s/.%lld-%u.tmp", l->out,
             (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000, st->serial);
    snprintf(path, sizeof path, "%s/%lld-%u.%s", l->out,
             (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000, st->serial,
             kind == ICX_FRAME_RECEIPT ? "rcpt" : "env");
    st->serial++;
    /* The partner creates the folder it reads: until then, not connected. */
    int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0640);
    if (fd < 0) {
        fail(err, ICX_ENOTCONN, "partner %s: %s: %s", partner, l->out,
             strerror(errno));
        return errno == ENOENT ? ICX_SEND_NOT_CONNECTED : ICX_SEND_RETRY;
    }
    size_t done = 0;
    while (done < len) {
        ssize_t w = write(fd, data + done, len - done);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            break;
        done += (size_t)w;
    }
    int ok = done == len && fsync(fd) == 0;
    ok = close(fd) == 0 && ok;
    if (!ok || rename(tmp, path) < 0) {
        fail(err, ICX_EIO, "partner %s: writing %s: %s", partner, path,
             strerror(errno));
        unlink(tmp);
        return ICX_SEND_RETRY;
    }
    return ICX_SEND_OK;
}

static int example_connected(void *state, const char *partner)
{
    struct link *l = link_of(state, partner);
    return l != NULL && access(l->out, W_OK) == 0;
}

static int example_try_resume(void *state, const char *partner)
{
    return example_connected(state, partner);
}

/* The one exported symbol: icx_adapter_<name>_ops. */
ICX_ADAPTER_EXPORT const icx_adapter_ops icx_adapter_example_ops = {
    .abi = ICX_ADAPTER_ABI,
    .name = "example",
    .open = example_open,
    .pollitems = example_pollitems,
    .on_ready = example_on_ready,
    .send = example_send,
    .connected = example_connected,
    .close = example_close,
    .endpoint = NULL,
    .try_resume = example_try_resume,
};
