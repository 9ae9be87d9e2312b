/*
 * testutil.c - helpers shared by the unit tests (see testutil.h).
 */
#include "testutil.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

const char *icx_test_srcdir(void)
{
    const char *s = getenv("ICX_SOURCE_DIR");
    return s != NULL ? s : ".";
}

const char *icx_test_bin(void)
{
    const char *s = getenv("ICX_BIN");
    return s != NULL ? s : "icx";
}

char *icx_test_mkdtemp(void)
{
    const char *base = getenv("TMPDIR");
    char tmpl[512];
    snprintf(tmpl, sizeof tmpl, "%s/icx-test-XXXXXX", base ? base : "/tmp");
    if (mkdtemp(tmpl) == NULL) {
        perror("mkdtemp");
        abort();
    }
    return strdup(tmpl);
}

static int rm_one(const char *path, const struct stat *sb, int flag,
                  struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    remove(path);
    return 0;
}

void icx_test_rmrf(const char *dir)
{
    if (dir != NULL)
        nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

size_t icx_test_entries(const char *dir)
{
    DIR *d = opendir(dir);
    size_t n = 0;
    for (struct dirent *e; d && (e = readdir(d)) != NULL;)
        n += strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0;
    if (d)
        closedir(d);
    return n;
}

const char *icx_test_path(const char *fmt, ...)
{
    static char ring[16][1024];
    static int next;
    char *p = ring[next++ % 16];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(p, 1024, fmt, ap);
    va_end(ap);
    return p;
}

int icx_test_run(char *out, size_t outlen, const char *const argv[])
{
    int pfd[2];
    if (pipe(pfd) < 0)
        return -1;
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        dup2(pfd[1], 1);
        dup2(pfd[1], 2);
        close(pfd[0]);
        close(pfd[1]);
        execvp(argv[0], (char *const *)argv);
        _exit(127);
    }
    close(pfd[1]);
    size_t n = 0;
    for (;;) {
        char tmp[4096];
        ssize_t r = read(pfd[0], tmp, sizeof tmp);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        for (ssize_t i = 0; i < r; i++)
            if (out != NULL && n + 1 < outlen)
                out[n++] = tmp[i];
    }
    if (out != NULL && outlen > 0)
        out[n] = '\0';
    close(pfd[0]);
    int st;
    while (waitpid(pid, &st, 0) < 0)
        if (errno != EINTR)
            return -1;
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

void icx_test_write(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    if (f == NULL) {
        perror(path);
        abort();
    }
    fputs(text, f);
    fclose(f);
}
