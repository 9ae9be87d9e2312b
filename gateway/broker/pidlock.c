/*
 * pidlock.c - the single-instance lock of `icx serve` (see pidlock.h).
 *
 * Order: open (O_NOFOLLOW, created 0600), check it is a regular file of
 * ours that nobody else may read or write, lock the whole file with an
 * OFD write lock without waiting, then replace its content with our pid.
 * A process refused the lock reads the pid the holder wrote; between the
 * holder's lock and its write the file may still be empty or hold the
 * previous holder's pid, so the pid is reported, never acted on.
 *
 * Owns only the descriptor it returns.  Any thread, one call at a time.
 */
#include "pidlock.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* The pid written in the lock file, or 0 when it cannot be read. */
static long holder_pid(int fd)
{
    char buf[32];
    ssize_t n = pread(fd, buf, sizeof buf - 1, 0);
    if (n <= 0)
        return 0;
    buf[n] = '\0';
    char *end = NULL;
    long pid = strtol(buf, &end, 10);
    return end != buf && pid > 0 ? pid : 0;
}

int icx_pidlock_take(int *fd, const char *path, icx_err *err)
{
    int rc = ICX_OK;
    *fd = -1;
    int d = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (d < 0)
        return icx_err_set(err, errno == ELOOP ? ICX_EPERM : ICX_EIO,
                           "lock file %s: %s", path, strerror(errno));
    struct stat st;
    if (fstat(d, &st) < 0) {
        rc = icx_err_set(err, ICX_EIO, "lock file %s: %s", path,
                         strerror(errno));
        goto out;
    }
    if (!S_ISREG(st.st_mode) || st.st_uid != geteuid() ||
        (st.st_mode & 077) != 0) {
        rc = icx_err_set(err, ICX_EPERM, "lock file %s: must be a regular "
                         "file of this user with mode 0600 (found mode %04o)",
                         path, (unsigned)(st.st_mode & 07777));
        goto out;
    }
    struct flock fl;
    memset(&fl, 0, sizeof fl);
    fl.l_type = F_WRLCK;
    fl.l_whence = SEEK_SET; /* l_start 0, l_len 0: the whole file */
    if (fcntl(d, F_OFD_SETLK, &fl) < 0) {
        if (errno == EAGAIN || errno == EACCES) {
            long pid = holder_pid(d);
            char who[40] = "a process whose pid is not written yet";
            if (pid > 0)
                snprintf(who, sizeof who, "pid %ld", pid);
            rc = icx_err_set(err, ICX_EEXIST, "lock file %s is held by %s: "
                             "another icx serve runs on this store; stop it "
                             "first", path, who);
        } else {
            rc = icx_err_set(err, ICX_EIO, "lock file %s: %s", path,
                             strerror(errno));
        }
        goto out;
    }
    char line[32];
    int n = snprintf(line, sizeof line, "%ld\n", (long)getpid());
    if (ftruncate(d, 0) < 0 || pwrite(d, line, (size_t)n, 0) != n) {
        rc = icx_err_set(err, ICX_EIO, "lock file %s: cannot write the pid: "
                         "%s", path, strerror(errno));
        goto out;
    }
    *fd = d;
    d = -1;
out:
    if (d >= 0)
        close(d);
    return rc;
}

void icx_pidlock_release(int *fd)
{
    if (*fd >= 0)
        close(*fd);
    *fd = -1;
}
