/*
 * test_pidlock.c - the single-instance lock: a second taker is refused
 * with the holder's pid, the lock is free again once released, and a
 * lock file that is a symbolic link or readable by others is refused.
 *
 * Both takers are in this process: OFD locks conflict between open file
 * descriptions even of one process (POSIX record locks would not).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <sys/stat.h>
#include <unistd.h>

#include "pidlock.h"
#include "testutil.h"

static void second_taker_refused(void **state)
{
    (void)state;
    char *dir = icx_test_mkdtemp();
    const char *path = icx_test_path("%s/icx.db.lock", dir);
    icx_err err;
    int a = -1, b = -1;
    icx_err_clear(&err);
    int rc = icx_pidlock_take(&a, path, &err);
    if (rc != ICX_OK)
        fail_msg("first take: got %d (%s), want 0", rc, err.msg);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    if ((st.st_mode & 0777) != 0600)
        fail_msg("mode: got %04o, want 0600", (unsigned)(st.st_mode & 0777));
    char want[64];
    snprintf(want, sizeof want, "pid %ld:", (long)getpid());
    rc = icx_pidlock_take(&b, path, &err);
    if (rc != ICX_EEXIST || b != -1)
        fail_msg("second take: got %d fd %d, want %d (ICX_EEXIST) fd -1", rc,
                 b, ICX_EEXIST);
    if (strstr(err.msg, path) == NULL || strstr(err.msg, want) == NULL)
        fail_msg("message: got \"%s\", want the file and \"%s\"", err.msg,
                 want);
    icx_pidlock_release(&a);
    assert_int_equal(a, -1);
    rc = icx_pidlock_take(&b, path, &err);
    if (rc != ICX_OK)
        fail_msg("take after release: got %d (%s), want 0", rc, err.msg);
    icx_pidlock_release(&b);
    icx_pidlock_release(&b); /* safe twice */
    icx_test_rmrf(dir);
    free(dir);
}

static void unsafe_files_refused(void **state)
{
    (void)state;
    char *dir = icx_test_mkdtemp();
    const char *target = icx_test_path("%s/elsewhere", dir);
    const char *link = icx_test_path("%s/link.lock", dir);
    const char *open_file = icx_test_path("%s/open.lock", dir);
    icx_err err;
    int fd = -1;
    icx_test_write(target, "");
    assert_int_equal(symlink(target, link), 0);
    int rc = icx_pidlock_take(&fd, link, &err);
    if (rc != ICX_EPERM || fd != -1)
        fail_msg("symbolic link: got %d, want %d (ICX_EPERM)", rc, ICX_EPERM);
    icx_test_write(open_file, "");
    assert_int_equal(chmod(open_file, 0644), 0);
    rc = icx_pidlock_take(&fd, open_file, &err);
    if (rc != ICX_EPERM || strstr(err.msg, "0644") == NULL)
        fail_msg("mode 0644: got %d \"%s\", want %d naming the mode", rc,
                 err.msg, ICX_EPERM);
    icx_test_rmrf(dir);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(second_taker_refused),
        cmocka_unit_test(unsafe_files_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
