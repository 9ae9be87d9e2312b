/*
 * test_stamper.c - the time-stamp thread (broker/stamper.c): one request
 * in flight at a time, a result for an unreachable TSA (ICX_EAGAIN, the
 * checkpoint's size kept), a token for a reachable one (a one-shot HTTP
 * answer served from this test with a reply made by `openssl ts`), and a
 * stop that cancels a request the TSA never answers within about a
 * second instead of waiting for the timeout.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "err.h"
#include "stamper.h"
#include "testutil.h"
#include "util.h"

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Waits up to ms for a result. */
static int wait_take(icx_stamper *st, icx_stamp_result *res, int ms)
{
    int64_t end = mono_ms() + ms;
    while (mono_ms() < end) {
        if (icx_stamper_take(st, res))
            return 1;
        usleep(10000);
    }
    return 0;
}

/* A socket listening on 127.0.0.1 that never accepts: connections land in
 * the backlog and no answer ever comes.  *port gets its port. */
static int silent_listener(int *port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a;
    socklen_t len = sizeof a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_true(fd >= 0);
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(listen(fd, 4), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
    *port = ntohs(a.sin_port);
    return fd;
}

static void test_unreachable(void **state)
{
    (void)state;
    icx_stamper *st = NULL;
    icx_stamp_result res;
    icx_err err;
    icx_stamp_tsa tsa = {"http://127.0.0.1:1/tsa", "/nonexistent-ca.pem",
                         NULL, 5};
    CHECK_RC(icx_stamper_start(&st, &err), ICX_OK, &err);
    assert_int_equal(icx_stamper_busy(st), 0);
    CHECK_RC(icx_stamper_submit(st, 42, "text\n", 5, &tsa, &err), ICX_OK,
             &err);
    /* One at a time. */
    CHECK_RC(icx_stamper_submit(st, 43, "text\n", 5, &tsa, &err), ICX_EAGAIN,
             &err);
    assert_int_equal(icx_stamper_busy(st), 1);
    if (!wait_take(st, &res, 5000))
        fail_msg("no result within 5 s");
    if (res.size != 42 || res.rc != ICX_EAGAIN)
        fail_msg("result: got size %llu rc %s (%s), want 42 ICX_EAGAIN",
                 (unsigned long long)res.size, icx_rc_name(res.rc),
                 res.err.msg);
    assert_int_equal(res.token.len, 0);
    icx_buf_free(&res.token);
    assert_int_equal(icx_stamper_busy(st), 0);
    assert_int_equal(icx_stamper_take(st, &res), 0);
    icx_stamper_stop(&st);
    assert_null(st);
    icx_stamper_stop(&st); /* NULL-safe */
}

static void test_stop_cancels(void **state)
{
    (void)state;
    icx_stamper *st = NULL;
    icx_err err;
    char url[64];
    int port = 0;
    int fd = silent_listener(&port);
    snprintf(url, sizeof url, "http://127.0.0.1:%d/tsa", port);
    icx_stamp_tsa tsa = {url, "/nonexistent-ca.pem", NULL, 60};
    CHECK_RC(icx_stamper_start(&st, &err), ICX_OK, &err);
    CHECK_RC(icx_stamper_submit(st, 7, "text\n", 5, &tsa, &err), ICX_OK,
             &err);
    usleep(300000); /* connected, waiting for an answer */
    int64_t t0 = mono_ms();
    icx_stamper_stop(&st);
    int64_t took = mono_ms() - t0;
    if (took > 3000)
        fail_msg("stop: got %lld ms, want the request cancelled within 3 s "
                 "(its timeout is 60 s)", (long long)took);
    close(fd);
}

/* ---- a TSA answering once, from this test ---------------------------- */

struct once {
    int fd;
    char *dir;
};

/* Reads one HTTP request, has `openssl ts -reply` answer its body. */
static void *serve_once(void *arg)
{
    struct once *o = arg;
    int c = accept(o->fd, NULL, NULL);
    char buf[65536];
    size_t n = 0;
    ssize_t r;
    char *body = NULL;
    size_t clen = 0;
    while (c >= 0 && n < sizeof buf - 1 &&
           (r = read(c, buf + n, sizeof buf - 1 - n)) > 0) {
        n += (size_t)r;
        buf[n] = '\0';
        char *h = strstr(buf, "\r\n\r\n");
        char *cl = strcasestr(buf, "Content-Length:");
        if (h != NULL && cl != NULL) {
            clen = strtoul(cl + 15, NULL, 10);
            if (n >= (size_t)(h + 4 - buf) + clen) {
                body = h + 4;
                break;
            }
        }
    }
    if (body != NULL) {
        char q[512], rp[512], cnf[512], out[4096];
        snprintf(q, sizeof q, "%s/q.tsq", o->dir);
        snprintf(rp, sizeof rp, "%s/r.tsr", o->dir);
        snprintf(cnf, sizeof cnf, "%s/tsa.cnf", o->dir);
        FILE *f = fopen(q, "wb");
        fwrite(body, 1, clen, f);
        fclose(f);
        const char *argv[] = {"openssl", "ts", "-reply", "-config", cnf,
                              "-queryfile", q, "-out", rp, NULL};
        icx_test_run(out, sizeof out, argv);
        char *reply = NULL;
        size_t rlen = 0;
        icx_err e;
        if (icx_file_read(&reply, &rlen, rp, 1 << 20, &e) == ICX_OK) {
            char head[256];
            int hl = snprintf(head, sizeof head, "HTTP/1.1 200 OK\r\n"
                              "Content-Type: application/timestamp-reply\r\n"
                              "Content-Length: %zu\r\nConnection: close\r\n\r\n",
                              rlen);
            if (write(c, head, (size_t)hl) < 0 || write(c, reply, rlen) < 0)
                perror("write");
            free(reply);
        }
    }
    if (c >= 0)
        close(c);
    return NULL;
}

static void test_token(void **state)
{
    (void)state;
    icx_stamper *st = NULL;
    icx_stamp_result res;
    icx_err err;
    char out[4096], url[64], ca[512];
    struct once o;
    pthread_t th;
    int port = 0;
    o.dir = icx_test_mkdtemp();
    char *script = strdup(icx_test_path(
        "%s/tests/integration/tools/tsa_make.sh", icx_test_srcdir()));
    const char *argv[] = {"bash", script, o.dir, NULL};
    if (icx_test_run(out, sizeof out, argv) != 0)
        fail_msg("tsa_make.sh: %s", out);
    free(script);
    o.fd = silent_listener(&port);
    snprintf(url, sizeof url, "http://127.0.0.1:%d/tsa", port);
    snprintf(ca, sizeof ca, "%s/ca.pem", o.dir);
    assert_int_equal(pthread_create(&th, NULL, serve_once, &o), 0);
    icx_stamp_tsa tsa = {url, ca, NULL, 10};
    CHECK_RC(icx_stamper_start(&st, &err), ICX_OK, &err);
    CHECK_RC(icx_stamper_submit(st, 9, "icx-audit-checkpoint v1\n", 24, &tsa,
                                &err), ICX_OK, &err);
    if (!wait_take(st, &res, 10000))
        fail_msg("no result within 10 s");
    pthread_join(th, NULL);
    if (res.rc != ICX_OK || res.size != 9 || res.token.len == 0)
        fail_msg("result: got size %llu rc %s (%s), want 9 ICX_OK and a "
                 "token", (unsigned long long)res.size, icx_rc_name(res.rc),
                 res.err.msg);
    CHECK_RC(icx_tsa_token_check(NULL, res.token.data, res.token.len,
                                 "icx-audit-checkpoint v1\n", 24, ca, &err),
             ICX_OK, &err);
    icx_buf_free(&res.token);
    icx_stamper_stop(&st);
    close(o.fd);
    icx_test_rmrf(o.dir);
    free(o.dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_unreachable),
        cmocka_unit_test(test_stop_cancels),
        cmocka_unit_test(test_token),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
