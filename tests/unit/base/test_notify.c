/*
 * test_notify.c - the sd_notify datagrams: to a socket path and to an
 * abstract @name, RELOADING=1 with MONOTONIC_USEC, nothing without
 * $NOTIFY_SOCKET, an error (not a crash) for a socket nobody listens on.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cmocka.h>

#include "log.h"
#include "notify.h"

/* A datagram socket bound at name (path, or @abstract); returns the fd. */
static int listen_at(const char *name)
{
    struct sockaddr_un sa;
    memset(&sa, 0, sizeof sa);
    sa.sun_family = AF_UNIX;
    size_t n = strlen(name);
    assert_true(n < sizeof sa.sun_path);
    memcpy(sa.sun_path, name, n);
    if (name[0] == '@')
        sa.sun_path[0] = '\0';
    int fd = socket(AF_UNIX, SOCK_DGRAM, 0);
    assert_true(fd >= 0);
    socklen_t len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n +
                                (name[0] == '@' ? 0 : 1));
    assert_int_equal(bind(fd, (struct sockaddr *)&sa, len), 0);
    return fd;
}

static void received(int fd, char *out, size_t cap)
{
    ssize_t n = recv(fd, out, cap - 1, MSG_DONTWAIT);
    assert_true(n > 0);
    out[n] = '\0';
}

static void to_path(void **state)
{
    (void)state;
    char dir[] = "/tmp/icx-notify-XXXXXX", path[64], msg[256];
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/sock", dir);
    int fd = listen_at(path);
    setenv("NOTIFY_SOCKET", path, 1);
    assert_int_equal(icx_notify("READY=1"), 1);
    received(fd, msg, sizeof msg);
    assert_string_equal(msg, "READY=1");
    assert_int_equal(icx_notify("RELOADING=1"), 1);
    received(fd, msg, sizeof msg);
    assert_int_equal(strncmp(msg, "RELOADING=1\nMONOTONIC_USEC=", 27), 0);
    assert_true(strtoull(msg + 27, NULL, 10) > 0);
    assert_int_equal(icx_notify("STOPPING=1"), 1);
    received(fd, msg, sizeof msg);
    assert_string_equal(msg, "STOPPING=1");
    close(fd);
    unlink(path);
    rmdir(dir);
    /* Nobody listens any more: an error, logged, not fatal. */
    FILE *logf = tmpfile();
    icx_log_set_output(logf);
    assert_int_equal(icx_notify("READY=1"), -1);
    icx_log_set_output(NULL);
    fclose(logf);
    unsetenv("NOTIFY_SOCKET");
}

static void to_abstract(void **state)
{
    (void)state;
    char name[64], msg[256];
    snprintf(name, sizeof name, "@icx-notify-test-%ld", (long)getpid());
    int fd = listen_at(name);
    setenv("NOTIFY_SOCKET", name, 1);
    assert_int_equal(icx_notify("READY=1"), 1);
    received(fd, msg, sizeof msg);
    assert_string_equal(msg, "READY=1");
    close(fd);
    unsetenv("NOTIFY_SOCKET");
}

static void without_socket(void **state)
{
    (void)state;
    unsetenv("NOTIFY_SOCKET");
    assert_int_equal(icx_notify("READY=1"), 0);
    setenv("NOTIFY_SOCKET", "", 1);
    assert_int_equal(icx_notify("READY=1"), 0);
    FILE *logf = tmpfile();
    icx_log_set_output(logf);
    setenv("NOTIFY_SOCKET", "relative/sock", 1);
    assert_int_equal(icx_notify("READY=1"), -1);
    icx_log_set_output(NULL);
    fclose(logf);
    unsetenv("NOTIFY_SOCKET");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(to_path),
        cmocka_unit_test(to_abstract),
        cmocka_unit_test(without_socket),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
