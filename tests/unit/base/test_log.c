/*
 * test_log.c - the log's line format and its per-condition limiter.
 *
 * Also the json format's encoder and the journald prefixes.
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
#include <sys/stat.h>
#include <unistd.h>

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

/* The JSON encoder: quotes, backslashes and control characters escaped,
 * UTF-8 kept, quoted values unquoted, a bare word under "text". */
static void json_encoding(void **state)
{
    (void)state;
    char out[512];
    size_t n = icx_log_json(out, sizeof out, "2026-01-02T03:04:05.006Z",
                            "warn", "store",
                            "op=due error=\"disk \"full\" \\ now\" "
                            "tab=a\tb who=Jos\xc3\xa9 lone");
    assert_int_equal(n, strlen(out));
    assert_string_equal(out,
        "{\"ts\":\"2026-01-02T03:04:05.006Z\",\"level\":\"warn\","
        "\"event\":\"store\",\"op\":\"due\","
        "\"error\":\"disk \\\"full\\\" \\\\ now\",\"tab\":\"a\\u0009b\","
        "\"who\":\"Jos\xc3\xa9\",\"text\":\"lone\"}");
    n = icx_log_json(out, sizeof out, NULL, "info", "x", "");
    assert_string_equal(out, "{\"level\":\"info\",\"event\":\"x\"}");
    /* Too small: ends early, still one valid object. */
    n = icx_log_json(out, 64, NULL, "info", "ev",
                     "a=1 b=22222222222222222222222222222222222222222");
    assert_true(n < 64);
    assert_string_equal(out, "{\"level\":\"info\",\"event\":\"ev\",\"a\":\"1\","
                             "\"truncated\":\"1\"}");
}

/* json format through icx_log: one object per line, newline-ended. */
static void json_lines(void **state)
{
    (void)state;
    icx_log_set_format(ICX_LOG_JSON);
    icx_log(ICX_LOG_ERROR, "config.refused", "path=%s error=\"%s\"",
            "/etc/icx/gateway.yaml", "line 3: \x01" "bad");
    icx_log_set_format(ICX_LOG_TEXT);
    char *s = take();
    assert_int_equal(strncmp(s, "{\"ts\":\"", 7), 0);
    assert_non_null(strstr(s, "\",\"level\":\"error\",\"event\":\"config.refused\","
                              "\"path\":\"/etc/icx/gateway.yaml\","
                              "\"error\":\"line 3: \\u0001bad\"}\n"));
    assert_int_equal(count_lines(s, "\n"), 1);
    free(s);
}

/* Under journald: the syslog level first, no ts= (text), ts kept (json). */
static void journal_prefix(void **state)
{
    (void)state;
    icx_log_set_level(ICX_LOG_DEBUG);
    icx_log_set_journal(1);
    icx_log(ICX_LOG_ERROR, "a", "k=v");
    icx_log(ICX_LOG_WARN, "b", NULL);
    icx_log(ICX_LOG_INFO, "c", NULL);
    icx_log(ICX_LOG_DEBUG, "d", NULL);
    icx_log_set_format(ICX_LOG_JSON);
    icx_log(ICX_LOG_WARN, "e", NULL);
    icx_log_set_format(ICX_LOG_TEXT);
    icx_log_set_journal(0);
    icx_log_set_level(ICX_LOG_INFO);
    char *s = take();
    assert_non_null(strstr(s, "<3>level=error event=a k=v\n"
                              "<4>level=warn event=b\n"
                              "<6>level=info event=c\n"
                              "<7>level=debug event=d\n<4>{\"ts\":\""));
    assert_null(strstr(s, "ts="));
    free(s);
    assert_int_equal(icx_log_format_from_name("json"), ICX_LOG_JSON);
    assert_int_equal(icx_log_format_from_name("text"), ICX_LOG_TEXT);
    assert_int_equal(icx_log_format_from_name("xml"), -1);
}

/* $JOURNAL_STREAM must name stderr itself, not merely be set. */
static void journal_detect(void **state)
{
    (void)state;
    unsetenv("JOURNAL_STREAM");
    assert_int_equal(icx_log_journal_detect(), 0);
    setenv("JOURNAL_STREAM", "1:1", 1);
    assert_int_equal(icx_log_journal_detect(), 0);
    setenv("JOURNAL_STREAM", "garbage", 1);
    assert_int_equal(icx_log_journal_detect(), 0);
    struct stat st;
    assert_int_equal(fstat(STDERR_FILENO, &st), 0);
    char v[64];
    snprintf(v, sizeof v, "%llu:%llux", (unsigned long long)st.st_dev,
             (unsigned long long)st.st_ino);
    setenv("JOURNAL_STREAM", v, 1);
    assert_int_equal(icx_log_journal_detect(), 0); /* trailing junk */
    v[strlen(v) - 1] = '\0';
    setenv("JOURNAL_STREAM", v, 1);
    assert_int_equal(icx_log_journal_detect(), 1);
    unsetenv("JOURNAL_STREAM");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(line_format, setup, teardown),
        cmocka_unit_test_setup_teardown(thousand_in_a_minute, setup, teardown),
        cmocka_unit_test_setup_teardown(keys_apart, setup, teardown),
        cmocka_unit_test_setup_teardown(condition_ends, setup, teardown),
        cmocka_unit_test_setup_teardown(below_level, setup, teardown),
        cmocka_unit_test(json_encoding),
        cmocka_unit_test_setup_teardown(json_lines, setup, teardown),
        cmocka_unit_test_setup_teardown(journal_prefix, setup, teardown),
        cmocka_unit_test(journal_detect),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
