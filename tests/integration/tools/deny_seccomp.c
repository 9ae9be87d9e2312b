/*
 * deny_seccomp.c - runs a command the way systemd's
 * SystemCallFilter=@system-service (with SystemCallErrorNumber=EPERM)
 * runs icx.service: the seccomp() system call answers EPERM, prctl and
 * everything else work.  signer_crash.sh starts a daemon under it: the
 * signer process must still lock itself down and sign.
 *
 * Usage: icx_test_deny_seccomp PROGRAM [ARGS...]; exit 1 when the filter
 * cannot be loaded or PROGRAM cannot be run.
 */
#include <errno.h>
#include <seccomp.h>
#include <stdio.h>
#include <sys/prctl.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    if (argc < 2) {
        fputs("usage: icx_test_deny_seccomp PROGRAM [ARGS...]\n", stderr);
        return 1;
    }
    scmp_filter_ctx f = seccomp_init(SCMP_ACT_ALLOW);
    if (f == NULL ||
        seccomp_rule_add(f, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(seccomp), 0) < 0 ||
        prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 || seccomp_load(f) < 0) {
        fputs("icx_test_deny_seccomp: cannot load the filter\n", stderr);
        return 1;
    }
    seccomp_release(f);
    execv(argv[1], argv + 1);
    perror("icx_test_deny_seccomp: exec");
    return 1;
}
