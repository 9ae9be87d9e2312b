/*
 * fuzz_util.h - small helpers shared by the libFuzzer targets: a private
 * temporary folder removed at exit, and writing a file into it.
 *
 * Each target is one process; these run in LLVMFuzzerInitialize or in the
 * single fuzzing thread.  Failures here are set-up failures: the target
 * aborts at once rather than fuzz a half-built fixture.
 */
#ifndef ICX_FUZZ_UTIL_H
#define ICX_FUZZ_UTIL_H

#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char fuzz_dir[4096];

static int fuzz_rm_one(const char *path, const struct stat *sb, int flag,
                       struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static void fuzz_cleanup(void)
{
    if (fuzz_dir[0] != '\0')
        nftw(fuzz_dir, fuzz_rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* Creates the private folder (mode 0700) once; returns its path. */
static const char *fuzz_tmpdir(void)
{
    if (fuzz_dir[0] != '\0')
        return fuzz_dir;
    const char *t = getenv("TMPDIR");
    snprintf(fuzz_dir, sizeof fuzz_dir, "%s/icx-fuzz-XXXXXX",
             t != NULL && t[0] != '\0' ? t : "/tmp");
    if (mkdtemp(fuzz_dir) == NULL) {
        perror("mkdtemp");
        abort();
    }
    atexit(fuzz_cleanup);
    return fuzz_dir;
}

/* Writes len bytes to path (mode 0600, truncated); 0 or -1. */
static int fuzz_write(const char *path, const void *data, size_t len)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0)
        return -1;
    const char *p = data;
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n <= 0) {
            close(fd);
            return -1;
        }
        p += n;
        len -= (size_t)n;
    }
    return close(fd);
}

#endif
