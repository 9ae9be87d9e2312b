/*
 * signer_serve.c - the signer process (`icx signer`, started by the
 * daemon through signer_remote.c): holds the agency key and signs
 * SHA-256 digests, nothing else.
 *
 * cmd_signer.c opens the key (signkey.h: a key file, or a key in a
 * PKCS#11 token through its module) and hands it over; this signs once
 * to let OpenSSL (or the module) set up what it sets up lazily, sends
 * the outcome to the daemon (struct icx_sw_hello, carrying the open
 * error word for word), then locks the process down before it reads any
 * request.  A key file (ICX_SIGNERPROC_FILE): every descriptor but its
 * channels closed, no new privileges, not dumpable, no core, no file
 * growth, and a seccomp filter (libseccomp) that kills the process on
 * any system call outside what the request loop needs: recv/send/read/
 * write on its channels, futex, memory (without PROT_EXEC), getrandom,
 * clocks and exit.  No open, no socket, no exec, no ptrace.  A token key
 * (ICX_SIGNERPROC_TOKEN): the module keeps the descriptors it opened and
 * may open more (SoftHSM2 re-reads its token files, a hardware module
 * talks to its device or daemon), so: no new privileges, not dumpable,
 * no core, and a filter that kills the process on exec, ptrace and
 * process_vm_readv/writev; the PIN and the module's session live here,
 * never in the daemon.
 *
 * Threads: one per channel, started after the process-wide steps and
 * before any filter; each loads the filter for itself (as the main
 * thread, which serves channel 0) before its first request, so no thread
 * ever serves unfiltered.  Not SCMP_FLTATR_CTL_TSYNC: that needs the
 * seccomp() system call, which systemd's @system-service filter (our
 * unit's) refuses; per-thread filters load through prctl there.  Each
 * serves its channel alone.
 * Requests are checked for shape (signer_wire.c) and refused with
 * ICX_EINVAL otherwise; a channel closed by the daemon ends the process.
 * It never parses XML.
 */
#include "signerproc.h"

#include <errno.h>
#include <pthread.h>
#include <seccomp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "signer_wire.h"

struct chan {
    int fd;
    const icx_signer *s;
    int first_fd, nch, mode;
};

/* One channel's request loop; never returns. */
static void serve_channel(const struct chan *c)
{
    for (;;) {
        unsigned char buf[sizeof(struct icx_sw_req) + 1];
        ssize_t n = recv(c->fd, buf, sizeof buf, 0);
        if (n == 0)
            _exit(0); /* the daemon closed the channel */
        if (n < 0) {
            if (errno == EINTR)
                continue;
            _exit(1);
        }
        struct icx_sw_rep rep;
        struct icx_sw_req q;
        size_t replen = offsetof(struct icx_sw_rep, sig);
        memset(&rep, 0, offsetof(struct icx_sw_rep, sig));
        memset(&q, 0, sizeof q);
        memcpy(&q, buf, (size_t)n < sizeof q ? (size_t)n : sizeof q);
        rep.magic = ICX_SW_REP_MAGIC;
        rep.id = q.id;
        if (icx_sw_req_check(buf, (size_t)n) < 0) {
            rep.rc = ICX_EINVAL;
        } else {
            icx_err err;
            size_t siglen = 0;
            icx_err_clear(&err);
            /* Each signature is exactly the key's size (checked by
             * icx_signer_sign_digest), so they lie back to back. */
            for (uint32_t i = 0; i < q.count && rep.rc == ICX_OK; i++) {
                size_t cap = sizeof rep.sig - i * siglen;
                rep.rc = icx_signer_sign_digest(rep.sig + i * siglen, &cap,
                                                c->s, q.digest[i], &err);
                siglen = cap;
            }
            if (rep.rc == ICX_OK) {
                rep.siglen = (uint32_t)siglen;
                rep.count = q.count;
                replen = ICX_SW_REP_LEN(q.count, siglen);
            } else {
                /* Why, word for word (a token's "the signing key is
                 * gone"); error texts never carry key material. */
                size_t tl = strnlen(err.msg, ICX_ERR_MSG_MAX - 1);
                memcpy(rep.sig, err.msg, tl);
                rep.sig[tl] = '\0';
                rep.siglen = (uint32_t)(tl + 1);
                replen = ICX_SW_REP_LEN(1, rep.siglen);
            }
        }
        if (send(c->fd, &rep, replen, MSG_NOSIGNAL) != (ssize_t)replen)
            _exit(errno == EPIPE || errno == ECONNRESET ? 0 : 1);
    }
}

static int load_filter(const struct chan *c);

static void *channel_thread(void *arg)
{
    struct chan *c = arg;
    if (load_filter(c) < 0)
        _exit(1); /* never serve unfiltered */
    serve_channel(c);
    return NULL;
}

/* Allows syscall nr when its first argument is one of the channels. */
static int allow_on_channels(scmp_filter_ctx f, int nr, int first_fd, int nch)
{
    for (int i = 0; i < nch; i++) {
        /* Every field named: SCMP_A0 with two values leaves datum_b to
         * the compiler, which clang warns about. */
        struct scmp_arg_cmp fd = {.arg = 0, .op = SCMP_CMP_EQ,
                                  .datum_a = (scmp_datum_t)(first_fd + i),
                                  .datum_b = 0};
        if (seccomp_rule_add(f, SCMP_ACT_ALLOW, nr, 1, fd) < 0)
            return -1;
    }
    return 0;
}

/* A token's module: what no module needs is taken away. */
static int load_token_filter(void)
{
    static const int denied[] = {
        SCMP_SYS(execve), SCMP_SYS(execveat), SCMP_SYS(ptrace),
        SCMP_SYS(process_vm_readv), SCMP_SYS(process_vm_writev),
    };
    scmp_filter_ctx f = seccomp_init(SCMP_ACT_ALLOW);
    int ok = f != NULL;
    for (size_t i = 0; ok && i < sizeof denied / sizeof denied[0]; i++)
        ok = seccomp_rule_add(f, SCMP_ACT_KILL_PROCESS, denied[i], 0) == 0 ||
             seccomp_rule_add(f, SCMP_ACT_KILL, denied[i], 0) == 0;
    ok = ok && seccomp_load(f) == 0;
    seccomp_release(f);
    return ok ? 0 : -1;
}

static int load_filter(const struct chan *c)
{
    if (c->mode == ICX_SIGNERPROC_TOKEN)
        return load_token_filter();
    int first_fd = c->first_fd, nch = c->nch;
    static const int plain[] = {
        SCMP_SYS(futex), SCMP_SYS(exit), SCMP_SYS(exit_group),
        SCMP_SYS(brk), SCMP_SYS(munmap), SCMP_SYS(mremap),
        SCMP_SYS(madvise), SCMP_SYS(getrandom), SCMP_SYS(clock_gettime),
        SCMP_SYS(rt_sigreturn), SCMP_SYS(rt_sigprocmask),
        SCMP_SYS(sched_yield), SCMP_SYS(getpid), SCMP_SYS(gettid),
        SCMP_SYS(restart_syscall),
    };
    static const int on_channels[] = {
        SCMP_SYS(recvfrom), SCMP_SYS(sendto), SCMP_SYS(recvmsg),
        SCMP_SYS(sendmsg), SCMP_SYS(read), SCMP_SYS(write),
    };
    /* The whole process when the kernel lets libseccomp say so; else
     * (seccomp() itself filtered, as systemd's @system-service does, and
     * libseccomp falls back to prctl) the thread, and the daemon's reply
     * timeout ends the rest. */
    scmp_filter_ctx f = seccomp_init(SCMP_ACT_KILL_PROCESS);
    if (f == NULL)
        f = seccomp_init(SCMP_ACT_KILL);
    int ok = f != NULL;
    for (size_t i = 0; ok && i < sizeof plain / sizeof plain[0]; i++)
        ok = seccomp_rule_add(f, SCMP_ACT_ALLOW, plain[i], 0) == 0;
    for (size_t i = 0; ok && i < sizeof on_channels / sizeof on_channels[0];
         i++)
        ok = allow_on_channels(f, on_channels[i], first_fd, nch) == 0;
    /* malloc's memory, never executable. */
    ok = ok &&
         seccomp_rule_add(f, SCMP_ACT_ALLOW, SCMP_SYS(mmap), 1,
                          SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_EXEC, 0)) == 0 &&
         seccomp_rule_add(f, SCMP_ACT_ALLOW, SCMP_SYS(mprotect), 1,
                          SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_EXEC, 0)) == 0 &&
         seccomp_load(f) == 0;
    seccomp_release(f);
    return ok ? 0 : -1;
}

/* Everything but the request loop taken away, for the whole process
 * (each thread then loads the system call filter for itself: see
 * load_filter); -1 when a step failed. */
static int lock_down(int first_fd, int nch, int mode)
{
    struct rlimit zero = {0, 0};
    if (mode == ICX_SIGNERPROC_TOKEN)
        return setrlimit(RLIMIT_CORE, &zero) < 0 ||
                       prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0 ||
                       prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0
                   ? -1
                   : 0;
    if (first_fd > 0 && close_range(0, (unsigned)first_fd - 1, 0) < 0)
        return -1;
    if (close_range((unsigned)(first_fd + nch), ~0U, 0) < 0)
        return -1;
    struct rlimit nofile = {(rlim_t)(first_fd + nch), (rlim_t)(first_fd + nch)};
    if (setrlimit(RLIMIT_NOFILE, &nofile) < 0 ||
        setrlimit(RLIMIT_FSIZE, &zero) < 0 ||
        setrlimit(RLIMIT_CORE, &zero) < 0 ||
        prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0 ||
        prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
        return -1;
    return 0;
}

int icx_signerproc_serve(int first_fd, int nch, icx_signer *s, int mode,
                         icx_err *err)
{
    struct icx_sw_hello h;
    struct chan ch[ICX_SIGNER_MAX_CHANNELS];
    int rc;

    if (first_fd < 0 || nch < 1 || nch > ICX_SIGNER_MAX_CHANNELS) {
        icx_signer_free(&s);
        return icx_err_set(err, ICX_EINVAL, "signer: --fd and --channels "
                           "out of range (1..%d channels)",
                           ICX_SIGNER_MAX_CHANNELS);
    }
    prctl(PR_SET_NAME, "icx-signer", 0, 0, 0);
    memset(&h, 0, sizeof h);
    h.magic = ICX_SW_HELLO_MAGIC;
    rc = s != NULL ? ICX_OK : err->rc < 0 ? err->rc : ICX_EINVAL;
    if (rc == ICX_OK) {
        /* One signature now: OpenSSL seeds its generators and finds its
         * algorithms on first use, which may read files. */
        unsigned char d[ICX_SW_DIGEST] = {0}, sig[ICX_SIG_MAX];
        size_t siglen = sizeof sig;
        rc = icx_signer_sign_digest(sig, &siglen, s, d, err);
    }
    h.rc = rc;
    if (rc == ICX_OK) {
        h.ecdsa = (uint32_t)icx_signer_ecdsa(s);
        h.field = (uint32_t)icx_signer_field(s);
    } else if (err != NULL) {
        snprintf(h.msg, sizeof h.msg, "%s", err->msg);
    }
    if (send(first_fd, &h, sizeof h, MSG_NOSIGNAL) != (ssize_t)sizeof h &&
        rc == ICX_OK)
        rc = icx_err_set(err, ICX_EIO, "signer: cannot report to the daemon");
    if (rc < 0)
        goto fail;
    /* Before any thread: they inherit no-new-privs and the limits. */
    if (lock_down(first_fd, nch, mode) < 0)
        _exit(1); /* never serve without the lockdown */
    for (int i = 0; i < nch; i++) {
        ch[i] = (struct chan){first_fd + i, s, first_fd, nch, mode};
        pthread_t t;
        if (i > 0 && pthread_create(&t, NULL, channel_thread, &ch[i]) != 0)
            _exit(1); /* the daemon sees the channels close */
    }
    if (load_filter(&ch[0]) < 0)
        _exit(1);
    serve_channel(&ch[0]);
fail:
    icx_signer_free(&s);
    return rc;
}
