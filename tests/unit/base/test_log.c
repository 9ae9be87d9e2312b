/*
 * test_log.c - the log's line format and its per-condition limiter.
 *
 * Lines go to a memory stream; the limiter's clock is a variable the test
 * moves, so a minute passes in no time.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "log.h"

static int64_t fake_ms;
static int64_t fake_clock(void) { return fake_ms; }

struct capture {
    char *buf;
    size_t len;
    size_t taken; /* of len, returned by take() already */
    FILE *f;
};

static struct capture cap;

static int setup(void **state)
{
    (void)state;
    memset(&cap, 0, sizeof cap);
    cap.f = open_memstream(&cap.buf, &cap.len);
    assert_non_null(cap.f);
    icx_log_set_output(cap.f);
    icx_log_set_clock(fake_clock);
    icx_log_set_level(ICX_LOG_INFO);
    fake_ms = 1000000;
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    icx_log_limited_end(""); /* forget every key between tests */
    icx_log_set_output(NULL);
    icx_log_set_clock(NULL);
    fclose(cap.f);
    free(cap.buf);
    return 0;
}

/* Lines written since the last call, in a fresh string. */
static char *take(void)
{
    fflush(cap.f);
    char *s = strdup(cap.buf != NULL ? cap.buf + cap.taken : "");
    cap.taken = cap.len;
    assert_non_null(s);
    return s;
}

static size_t count_lines(const char *s, const char *needle)
{
    size_t n = 0;
    for (const char *p = s; (p = strstr(p, needle)) != NULL; p++)
        n++;
    return n;
}

static void line_format(void **state)
{
    (void)state;
    icx_log(ICX_LOG_WARN, "store", "op=%s error=\"%s\"", "due", "disk full");
    char *s = take();
    assert_non_null(strstr(s, " level=warn event=store op=due "
                              "error=\"disk full\"\n"));
    assert_int_equal(strncmp(s, "ts=", 3), 0);
    free(s);
}

/* 1000 occurrences within a minute: one line; the next occurrence after
 * the minute: one line counting the 999 held back and itself. */
static void thousand_in_a_minute(void **state)
{
    (void)state;
    for (int i = 0; i < 1000; i++) {
        icx_log_limited(ICX_LOG_ERROR, "store.commit", "store.commit",
                        "error=\"disk full\" attempt=%d", i);
        fake_ms += 59; /* 1000 * 59 ms: 59 s, still inside the minute */
    }
    char *s = take();
    size_t n = count_lines(s, "event=store.commit");
    if (n != 1)
        fail_msg("got %zu lines, want 1:\n%s", n, s);
    assert_non_null(strstr(s, "level=error event=store.commit "
                              "error=\"disk full\" attempt=0 count=1\n"));
    free(s);

    fake_ms += 1000; /* the minute has passed */
    icx_log_limited(ICX_LOG_ERROR, "store.commit", "store.commit",
                    "error=\"disk full\" attempt=%d", 1000);
    s = take();
    n = count_lines(s, "event=store.commit");
    if (n != 1 || strstr(s, "attempt=1000 count=1000\n") == NULL)
        fail_msg("got %zu lines, want 1 with count=1000:\n%s", n, s);
    free(s);

    /* And again held back for the next minute. */
    fake_ms += 30000;
    icx_log_limited(ICX_LOG_ERROR, "store.commit", "store.commit", NULL);
    s = take();
    assert_string_equal(s, "");
    free(s);
}

/* Keys are limited apart: one condition does not hide another. */
static void keys_apart(void **state)
{
    (void)state;
    for (int i = 0; i < 10; i++) {
        icx_log_limited(ICX_LOG_WARN, "store.write", "store", "op=a");
        icx_log_limited(ICX_LOG_WARN, "wal.checkpoint", "store.checkpoint",
                        "op=b");
    }
    char *s = take();
    assert_int_equal(count_lines(s, "event=store op=a count=1\n"), 1);
    assert_int_equal(count_lines(s, "event=store.checkpoint op=b count=1\n"),
                     1);
    assert_int_equal(count_lines(s, "\n"), 2);
    free(s);
}

/* The end of a condition reports what was held back, forgets the key (a
 * new occurrence is written at once) and leaves other keys alone. */
static void condition_ends(void **state)
{
    (void)state;
    for (int i = 0; i < 5; i++) {
        icx_log_limited(ICX_LOG_ERROR, "store.commit", "store.commit", NULL);
        icx_log_limited(ICX_LOG_WARN, "tick.lists", "tick.failed", NULL);
    }
    free(take());
    icx_log_limited_end("store.");
    char *s = take();
    assert_int_equal(count_lines(s, "\n"), 1);
    assert_non_null(strstr(s, "level=info event=condition.cleared "
                              "key=store.commit count=4\n"));
    free(s);
    /* Nothing held any more: ending again writes nothing. */
    icx_log_limited_end("store.");
    s = take();
    assert_string_equal(s, "");
    free(s);
    icx_log_limited(ICX_LOG_ERROR, "store.commit", "store.commit", NULL);
    icx_log_limited(ICX_LOG_WARN, "tick.lists", "tick.failed", NULL);
    s = take();
    assert_non_null(strstr(s, "event=store.commit count=1\n"));
    assert_null(strstr(s, "tick.failed"));
    free(s);
}

/* Below the level nothing is written, limited or not. */
static void below_level(void **state)
{
    (void)state;
    icx_log_set_level(ICX_LOG_ERROR);
    icx_log_limited(ICX_LOG_WARN, "store.write", "store", NULL);
    icx_log(ICX_LOG_INFO, "x", NULL);
    char *s = take();
    assert_string_equal(s, "");
    free(s);
    icx_log_set_level(ICX_LOG_INFO);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(line_format, setup, teardown),
        cmocka_unit_test_setup_teardown(thousand_in_a_minute, setup, teardown),
        cmocka_unit_test_setup_teardown(keys_apart, setup, teardown),
        cmocka_unit_test_setup_teardown(condition_ends, setup, teardown),
        cmocka_unit_test_setup_teardown(below_level, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
