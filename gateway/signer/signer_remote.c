/*
 * signer_remote.c - the daemon's side of the signer process: spawns it,
 * and is the icx_sign_backend that sends it digests.
 *
 * The signer is the daemon's own binary (/proc/self/exe) run as `icx
 * signer` through posix_spawn, safe in a process with threads: the child
 * runs nothing of ours between fork and exec.  nch SOCK_SEQPACKET
 * socketpairs become its descriptors 3.. ; the daemon keeps a free list
 * of its ends.  A worker takes a free channel, sends one request (up to
 * ICX_SW_BATCH digests: a worker signing several envelopes pays one
 * round trip), waits for the reply (bounded by a timeout), and gives the
 * channel back: nch requests are signed at once, by nch signer threads.
 *
 * Failure: a channel that breaks (signer killed, reply missing or out of
 * shape, timeout) marks the generation dead, kills what is left of that
 * process, and fails that request with ICX_EAGAIN.  The next request
 * waits until no channel of the dead generation is in use, reaps the old
 * process and spawns a new one (restart); a signer that cannot start
 * again (the key file gone) fails with its own error.
 *
 * Threads: any; one mutex guards the channel list and the generation.
 * Ownership: the remote owns the channels and the process; freed by
 * icx_signer_free through the backend (closing the channels ends the
 * signer, which is then reaped).
 */
#include "signerproc.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "signer_wire.h"

extern char **environ;

/* A reply later than this means the signer is stuck: it is killed and
 * restarted. */
#define REPLY_TIMEOUT_MS 10000
/* How long a starting signer may take to load its key (a token may be
 * slow). */
#define HELLO_TIMEOUT_MS 30000

struct icx_signer_remote {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    char *exe;
    char *key;
    char *extra[ICX_SIGNER_MAX_EXTRA + 1]; /* NULL-terminated */
    int nch;
    pid_t pid;           /* 0: none */
    int fds[ICX_SIGNER_MAX_CHANNELS];
    int free_fds[ICX_SIGNER_MAX_CHANNELS];
    int nfree;
    int in_use;
    unsigned gen;
    int dead;
    unsigned restarts;
    uint64_t next_id;
    int ecdsa;
    size_t field;
};

/* Reaps the signer after making sure it is gone; closes the channels. */
static void stop_process(icx_signer_remote *r, int kill_it)
{
    for (int i = 0; i < r->nch; i++)
        if (r->fds[i] >= 0) {
            close(r->fds[i]);
            r->fds[i] = -1;
        }
    r->nfree = 0;
    if (r->pid > 0) {
        int status = 0, gone = 0;
        /* Closed channels end a signer that reads them; one that does
         * not (stopped, stuck) gets two seconds, then SIGKILL. */
        for (int i = 0; !kill_it && !gone && i < 200; i++) {
            pid_t w = waitpid(r->pid, &status, WNOHANG);
            /* ECHILD: not ours to wait for any more; never signal a pid
             * that may have been given to another process. */
            gone = w == r->pid || (w < 0 && errno == ECHILD);
            if (w < 0 && errno != EINTR)
                break;
            if (!gone)
                usleep(10 * 1000);
        }
        if (!gone) {
            kill(r->pid, SIGKILL);
            while (waitpid(r->pid, &status, 0) < 0 && errno == EINTR)
                ;
        }
        if (WIFSIGNALED(status))
            icx_log_info("signer.exited", "pid=%ld signal=%d", (long)r->pid,
                         WTERMSIG(status));
        else
            icx_log_info("signer.exited", "pid=%ld status=%d", (long)r->pid,
                         WEXITSTATUS(status));
        r->pid = 0;
    }
}

/* Waits up to ms for fd to be readable: 1 yes, 0 timeout, -1 error. */
static int wait_readable(int fd, int ms)
{
    struct pollfd p = {fd, POLLIN, 0};
    for (;;) {
        int n = poll(&p, 1, ms);
        if (n < 0 && errno == EINTR)
            continue;
        return n < 0 ? -1 : n;
    }
}

/* Starts a signer process; r->mu held (or r not yet shared). */
static int spawn(icx_signer_remote *r, icx_err *err)
{
    int theirs[ICX_SIGNER_MAX_CHANNELS];
    int rc = ICX_OK, nmade = 0;
    posix_spawn_file_actions_t fa;
    int fa_ok = 0;
    char fdarg[16], charg[16];

    for (int i = 0; i < r->nch; i++)
        r->fds[i] = theirs[i] = -1;
    for (; nmade < r->nch; nmade++) {
        int sv[2];
        if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) {
            rc = icx_err_set(err, ICX_EIO, "signer: socketpair: %s",
                             strerror(errno));
            goto out;
        }
        r->fds[nmade] = sv[0];
        struct timeval tv = {REPLY_TIMEOUT_MS / 1000, 0};
        if (setsockopt(sv[0], SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) < 0) {
            close(sv[1]);
            rc = icx_err_set(err, ICX_EIO, "signer: %s", strerror(errno));
            goto out;
        }
        /* Above 3 + nch, so that no dup2 of the spawn overwrites another
         * channel before it is copied. */
        theirs[nmade] = fcntl(sv[1], F_DUPFD_CLOEXEC, 3 + r->nch);
        close(sv[1]);
        if (theirs[nmade] < 0) {
            rc = icx_err_set(err, ICX_EIO, "signer: %s", strerror(errno));
            goto out;
        }
    }
    if (posix_spawn_file_actions_init(&fa) != 0) {
        rc = icx_err_set(err, ICX_ENOMEM, "out of memory");
        goto out;
    }
    fa_ok = 1;
    for (int i = 0; i < r->nch; i++)
        if (posix_spawn_file_actions_adddup2(&fa, theirs[i], 3 + i) != 0) {
            rc = icx_err_set(err, ICX_ENOMEM, "out of memory");
            goto out;
        }
    snprintf(fdarg, sizeof fdarg, "%d", 3);
    snprintf(charg, sizeof charg, "%d", r->nch);
    char *argv[8 + ICX_SIGNER_MAX_EXTRA + 1] = {
        "icx", "signer", "--fd", fdarg, "--channels", charg, "--key", r->key};
    for (int i = 0; r->extra[i] != NULL; i++)
        argv[8 + i] = r->extra[i];
    /* The daemon blocks the signals it reads through signalfd; the
     * signer starts with none blocked and every one at its default. */
    posix_spawnattr_t at;
    sigset_t none, all;
    sigemptyset(&none);
    sigfillset(&all);
    pid_t pid;
    int e = posix_spawnattr_init(&at);
    if (e == 0) {
        /* Its own session: a signal to the daemon's process group (^C,
         * a test's kill) is the daemon's to handle, and the daemon ends
         * the signer by closing the channels, after its last signature. */
        posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSIGMASK |
                                          POSIX_SPAWN_SETSIGDEF |
                                          POSIX_SPAWN_SETSID);
        posix_spawnattr_setsigmask(&at, &none);
        posix_spawnattr_setsigdefault(&at, &all);
        e = posix_spawn(&pid, r->exe, &fa, &at, argv, environ);
        posix_spawnattr_destroy(&at);
    }
    if (e != 0) {
        rc = icx_err_set(err, ICX_EIO, "signer: cannot start %s: %s", r->exe,
                         strerror(e));
        goto out;
    }
    r->pid = pid;
    for (int i = 0; i < r->nch; i++) {
        close(theirs[i]);
        theirs[i] = -1;
    }
    /* The signer's report: the key loaded, or why not. */
    struct icx_sw_hello h;
    ssize_t n = -1;
    if (wait_readable(r->fds[0], HELLO_TIMEOUT_MS) == 1)
        n = recv(r->fds[0], &h, sizeof h, 0);
    if (n < 0 || icx_sw_hello_check(&h, (size_t)n) < 0) {
        rc = icx_err_set(err, ICX_EIO, "signer: the signer process (pid %ld) "
                         "did not report", (long)pid);
        goto out;
    }
    if (h.rc < 0) {
        /* The key's own error, as icx_signer_load said it. */
        rc = icx_err_set(err, h.rc, "%s", h.msg);
        goto out;
    }
    if (r->gen > 0 && (r->ecdsa != (int)h.ecdsa || r->field != h.field)) {
        rc = icx_err_set(err, ICX_ECONFIG, "signer: the key %s changed "
                         "while the daemon ran; restart the daemon", r->key);
        goto out;
    }
    r->ecdsa = (int)h.ecdsa;
    r->field = h.field;
    r->gen++;
    r->dead = 0;
    for (int i = 0; i < r->nch; i++)
        r->free_fds[i] = r->fds[i];
    r->nfree = r->nch;
    icx_log_info("signer.started", "pid=%ld channels=%d generation=%u",
                 (long)pid, r->nch, r->gen);
out:
    if (fa_ok)
        posix_spawn_file_actions_destroy(&fa);
    for (int i = 0; i < r->nch; i++)
        if (theirs[i] >= 0)
            close(theirs[i]);
    if (rc < 0)
        stop_process(r, 1);
    return rc;
}

/* One request of n digests on fd: 0 with the signer's answer in
 * *signer_rc (on ICX_OK the signatures, stride ICX_SIG_MAX, and *siglen;
 * otherwise its text in why, ICX_ERR_MSG_MAX bytes, "" when it gave
 * none), or -1 when the channel broke. */
static int exchange(int fd, uint64_t id, const unsigned char *digests, int n,
                    unsigned char *sigs, size_t *siglen, int *signer_rc,
                    char *why)
{
    struct icx_sw_req q;
    struct icx_sw_rep p;
    size_t qlen = ICX_SW_REQ_LEN(n);
    memset(&q, 0, qlen);
    q.magic = ICX_SW_REQ_MAGIC;
    q.id = id;
    q.dlen = ICX_SW_DIGEST;
    q.count = (uint32_t)n;
    memcpy(q.digest, digests, (size_t)n * ICX_SW_DIGEST);
    if (send(fd, &q, qlen, MSG_NOSIGNAL) != (ssize_t)qlen)
        return -1;
    /* SO_RCVTIMEO (set at spawn) bounds the wait: one system call less
     * than poll, on the path every signature takes. */
    ssize_t got;
    do
        got = recv(fd, &p, sizeof p, 0);
    while (got < 0 && errno == EINTR);
    if (got <= 0 ||
        icx_sw_rep_check(&p, (size_t)got, id, (uint32_t)n, ICX_SIG_MAX) < 0)
        return -1;
    *signer_rc = p.rc;
    if (p.rc == ICX_OK) {
        for (int i = 0; i < n; i++)
            memcpy(sigs + (size_t)i * ICX_SIG_MAX,
                   p.sig + (size_t)i * p.siglen, p.siglen);
        *siglen = p.siglen;
    } else {
        memcpy(why, p.sig, p.siglen); /* NUL-terminated: checked */
        why[p.siglen ? p.siglen - 1 : 0] = '\0';
    }
    return 0;
}

/* The backend's sign_digests: n digests, one request on a free channel. */
static int remote_sign_many(void *ctx, const unsigned char *digests, int n,
                            unsigned char *sigs, size_t *siglen, icx_err *err)
{
    icx_signer_remote *r = ctx;
    if (n < 1 || n > ICX_SW_BATCH)
        return icx_err_set(err, ICX_EINVAL, "signer: %d digests in one "
                           "request (1..%d)", n, ICX_SW_BATCH);
    pthread_mutex_lock(&r->mu);
    for (;;) {
        if (r->dead && r->in_use == 0) {
            stop_process(r, 1);
            r->restarts++;
            int rc = spawn(r, err);
            if (rc < 0) {
                pthread_mutex_unlock(&r->mu);
                return rc;
            }
            continue;
        }
        if (!r->dead && r->nfree > 0)
            break;
        pthread_cond_wait(&r->cv, &r->mu);
    }
    int fd = r->free_fds[--r->nfree];
    unsigned gen = r->gen;
    uint64_t id = ++r->next_id;
    r->in_use++;
    pthread_mutex_unlock(&r->mu);

    int signer_rc = ICX_OK;
    char why[ICX_ERR_MSG_MAX] = "";
    int broke =
        exchange(fd, id, digests, n, sigs, siglen, &signer_rc, why) < 0;

    pthread_mutex_lock(&r->mu);
    r->in_use--;
    if (gen == r->gen && !r->dead) {
        if (broke) {
            r->dead = 1;
            kill(r->pid, SIGKILL); /* whatever is left of it */
            icx_log_warn("signer.lost", "pid=%ld generation=%u",
                         (long)r->pid, gen);
        } else {
            r->free_fds[r->nfree++] = fd;
        }
    }
    pthread_cond_broadcast(&r->cv);
    pthread_mutex_unlock(&r->mu);
    if (broke)
        return icx_err_set(err, ICX_EAGAIN, "the signer process stopped; "
                           "it is restarted, try again");
    if (signer_rc < 0 && why[0] != '\0') /* its own words */
        return icx_err_set(err, signer_rc, "%s", why);
    if (signer_rc < 0)
        return icx_err_set(err, signer_rc, "the signer process could not "
                           "sign (%s)", icx_rc_str(signer_rc));
    return ICX_OK;
}

/* The backend's sign_digest: a request of one. */
static int remote_sign(void *ctx, const unsigned char *digest, size_t dlen,
                       unsigned char *sig, size_t *siglen, icx_err *err)
{
    unsigned char one[ICX_SIG_MAX];
    size_t len = 0;
    if (dlen != ICX_SW_DIGEST)
        return icx_err_set(err, ICX_EINVAL, "signer: digest of %zu bytes",
                           dlen);
    int rc = remote_sign_many(ctx, digest, 1, one, &len, err);
    if (rc < 0)
        return rc;
    if (len > *siglen)
        return icx_err_set(err, ICX_EINVAL, "signature buffer too small");
    memcpy(sig, one, len);
    *siglen = len;
    return ICX_OK;
}

static void remote_free(void *ctx)
{
    icx_signer_remote *r = ctx;
    if (r == NULL)
        return;
    stop_process(r, 0); /* closed channels end it */
    pthread_cond_destroy(&r->cv);
    pthread_mutex_destroy(&r->mu);
    free(r->exe);
    free(r->key);
    for (int i = 0; r->extra[i] != NULL; i++)
        free(r->extra[i]);
    free(r);
}

int icx_signer_remote_start(icx_signer **out, icx_signer_remote **remote,
                            const char *exe, const char *key,
                            const char *const *extra, int nch, icx_err *err)
{
    *out = NULL;
    if (remote != NULL)
        *remote = NULL;
    if (nch < 1 || nch > ICX_SIGNER_MAX_CHANNELS)
        return icx_err_set(err, ICX_EINVAL, "signer: 1..%d channels",
                           ICX_SIGNER_MAX_CHANNELS);
    icx_signer_remote *r = calloc(1, sizeof *r);
    if (r == NULL)
        return icx_err_set(err, ICX_ENOMEM, "out of memory");
    pthread_mutex_init(&r->mu, NULL);
    pthread_cond_init(&r->cv, NULL);
    r->nch = nch;
    for (int i = 0; i < nch; i++)
        r->fds[i] = -1;
    r->exe = strdup(exe);
    r->key = strdup(key);
    int rc = r->exe != NULL && r->key != NULL
                 ? ICX_OK
                 : icx_err_set(err, ICX_ENOMEM, "out of memory");
    size_t n = 0;
    while (extra != NULL && extra[n] != NULL)
        n++;
    if (rc == ICX_OK && n > ICX_SIGNER_MAX_EXTRA)
        rc = icx_err_set(err, ICX_EINVAL, "signer: %zu key arguments, at "
                         "most %d", n, ICX_SIGNER_MAX_EXTRA);
    for (size_t i = 0; rc == ICX_OK && i < n; i++)
        if ((r->extra[i] = strdup(extra[i])) == NULL)
            rc = icx_err_set(err, ICX_ENOMEM, "out of memory");
    if (rc == ICX_OK)
        rc = spawn(r, err);
    if (rc == ICX_OK) {
        icx_sign_backend b = {.ecdsa = r->ecdsa, .field = r->field,
                              .sign_digest = remote_sign,
                              .sign_digests = remote_sign_many,
                              .free_ctx = remote_free, .ctx = r};
        rc = icx_signer_from_backend(out, &b, err);
    }
    if (rc < 0) {
        remote_free(r);
        return rc;
    }
    if (remote != NULL)
        *remote = r;
    return ICX_OK;
}

int icx_signer_remote_check(icx_signer_remote *r, icx_err *err)
{
    int rc = ICX_OK;
    if (r == NULL) /* no signer process (a benchmark build) */
        return ICX_OK;
    pthread_mutex_lock(&r->mu);
    if (!r->dead && r->pid > 0) {
        int status = 0;
        if (waitpid(r->pid, &status, WNOHANG) == r->pid) {
            if (WIFSIGNALED(status))
                icx_log_warn("signer.exited", "pid=%ld signal=%d",
                             (long)r->pid, WTERMSIG(status));
            else
                icx_log_warn("signer.exited", "pid=%ld status=%d",
                             (long)r->pid, WEXITSTATUS(status));
            r->pid = 0; /* reaped */
            r->dead = 1;
        }
    }
    if (r->dead && r->in_use == 0) {
        stop_process(r, 1);
        r->restarts++;
        rc = spawn(r, err);
    }
    pthread_cond_broadcast(&r->cv);
    pthread_mutex_unlock(&r->mu);
    return rc;
}

long icx_signer_remote_pid(icx_signer_remote *r)
{
    if (r == NULL)
        return 0;
    pthread_mutex_lock(&r->mu);
    long pid = (long)r->pid;
    pthread_mutex_unlock(&r->mu);
    return pid;
}

unsigned icx_signer_remote_restarts(icx_signer_remote *r)
{
    if (r == NULL)
        return 0;
    pthread_mutex_lock(&r->mu);
    unsigned n = r->restarts;
    pthread_mutex_unlock(&r->mu);
    return n;
}
