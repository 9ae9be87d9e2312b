/*
 * test_normalize.c - value normalizers: eras, zones, prefectures,
 * addresses, URLs and hashes.  Tables of input and the canonical form (or
 * the start of the rule it breaks).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "normalize.h"

typedef int (*norm_fn)(char *out, const char *in, char *why);

struct norm_case {
    const char *in;
    const char *want; /* NULL: refused */
    const char *why;  /* start of the refusal, when refused */
};

static void run(const char *what, norm_fn fn, const struct norm_case *c,
                size_t n)
{
    for (size_t i = 0; i < n; i++) {
        char out[4096] = "", why[ICX_NORM_WHY] = "";
        int rc = fn(out, c[i].in, why);
        if (c[i].want != NULL && rc != 0)
            fail_msg("%s(\"%s\"): got refusal \"%s\", want \"%s\"", what,
                     c[i].in, why, c[i].want);
        if (c[i].want != NULL && strcmp(out, c[i].want) != 0)
            fail_msg("%s(\"%s\"): got \"%s\", want \"%s\"", what, c[i].in,
                     out, c[i].want);
        if (c[i].want == NULL && rc == 0)
            fail_msg("%s(\"%s\"): got \"%s\", want a refusal", what, c[i].in,
                     out);
        if (c[i].want == NULL && c[i].why &&
            strncmp(why, c[i].why, strlen(c[i].why)) != 0)
            fail_msg("%s(\"%s\"): got \"%s\", want \"%s...\"", what, c[i].in,
                     why, c[i].why);
    }
}

#define RUN(what, fn, table) run(what, fn, table, sizeof table / sizeof table[0])

static int date(char *o, const char *i, char *w) { return icx_norm_date(o, i, w, ICX_NORM_WHY); }
static int jst(char *o, const char *i, char *w) { return icx_norm_datetime(o, i, ICX_NORM_JST_MINUTES, w, ICX_NORM_WHY); }
static int pref(char *o, const char *i, char *w) { return icx_norm_prefecture(o, i, w, ICX_NORM_WHY); }
static int ip(char *o, const char *i, char *w) { return icx_norm_ip(o, i, w, ICX_NORM_WHY); }
static int email(char *o, const char *i, char *w) { return icx_norm_email(o, 4096, i, w, ICX_NORM_WHY); }
static int url(char *o, const char *i, char *w) { return icx_norm_url(o, 4096, i, w, ICX_NORM_WHY); }

static void test_dates(void **state)
{
    (void)state;
    static const struct norm_case t[] = {
        {"令和7年4月1日", "2025-04-01", NULL},
        {"R7.4.1", "2025-04-01", NULL},
        {"r07/04/01", "2025-04-01", NULL},
        {"令和７年４月１日", "2025-04-01", NULL}, /* full-width digits */
        {"Ｒ７．４．１", "2025-04-01", NULL},
        {"㋿7年4月1日", "2025-04-01", NULL},   /* era sign, NFKC */
        {"平成31年4月30日", "2019-04-30", NULL},
        {"令和元年5月1日", "2019-05-01", NULL},
        {"令和元年4月30日", NULL, "2019-04-30 is before the 令和 era"},
        {"平成31年5月1日", NULL, "2019-05-01 is after the 平成 era"},
        {"H31.4.30", "2019-04-30", NULL},
        {"平成元年1月8日", "1989-01-08", NULL},
        {"昭和64年1月7日", "1989-01-07", NULL},
        {"昭和64年1月8日", NULL, "1989-01-08 is after the 昭和 era"},
        {"S56.5.17", "1981-05-17", NULL},
        {"2025-04-01", "2025-04-01", NULL},
        {"2025/4/1", "2025-04-01", NULL},
        {"2025年4月1日", "2025-04-01", NULL},
        {"20250401", "2025-04-01", NULL},
        {"2025-02-29", NULL, "day 29 does not exist in 2025-02"},
        {"2024-02-29", "2024-02-29", NULL},
        {"2025-13-01", NULL, "month 13 does not exist"},
        {"昨日", NULL, "not a date"},
        {"2025-04-01x", NULL, "unexpected \"x\""},
    };
    RUN("date", date, t);
}

static void test_datetimes(void **state)
{
    (void)state;
    static const struct norm_case t[] = {
        {"2025-04-01 09:30", "2025-04-01T00:30:00Z", NULL},        /* JST */
        {"2025-04-01T09:30:15+09:00", "2025-04-01T00:30:15Z", NULL},
        {"2025-04-01 09:30 JST", "2025-04-01T00:30:00Z", NULL},
        {"2025-04-01 09:30 UTC", "2025-04-01T09:30:00Z", NULL},
        {"2025-04-01T09:30:00Z", "2025-04-01T09:30:00Z", NULL},
        {"2025-04-01 09:30 +0800", "2025-04-01T01:30:00Z", NULL},
        {"令和7年4月1日 10時5分", "2025-04-01T01:05:00Z", NULL},
        {"R7.4.1 ０８：００", "2025-03-31T23:00:00Z", NULL},       /* crosses the day */
        {"令和元年5月1日", "2019-04-30T15:00:00Z", NULL},           /* midnight JST */
        {"2025-04-01 25:00", NULL, "time 25:00:00 does not exist"},
        {"2025-04-01 09:30 PST", NULL, "unknown time or zone"},
        {"2025-04-01 09:30:00.5", NULL, "fractional seconds"},
    };
    RUN("datetime", jst, t);
    int m;
    assert_int_equal(icx_norm_zone(&m, "-05:30"), 0);
    assert_int_equal(m, -330);
    assert_int_not_equal(icx_norm_zone(&m, "+25:00"), 0);
}

static void test_prefectures(void **state)
{
    (void)state;
    static const struct norm_case t[] = {
        {"東京都", "JP-13", NULL}, {"東京", "JP-13", NULL},
        {"大阪府", "JP-27", NULL}, {"京都", "JP-26", NULL},
        {"北海道", "JP-01", NULL}, {"沖縄県", "JP-47", NULL},
        {"神奈川", "JP-14", NULL}, {"Tokyo", "JP-13", NULL},
        {"jp-13", "JP-13", NULL}, {"１３", "JP-13", NULL},
        {"JP-48", NULL, "unknown prefecture"}, {"東京府", NULL, "unknown"},
    };
    RUN("prefecture", pref, t);
    assert_string_equal(icx_norm_prefecture_name("JP-27"), "Osaka");
}

static void test_addresses(void **state)
{
    (void)state;
    static const struct norm_case ips[] = {
        {"198.51.100.23", "198.51.100.23", NULL},
        {"１９８.５１.１００.２３", "198.51.100.23", NULL},
        {"2001:DB8:0:0:0:0:0:7C", "2001:db8::7c", NULL},
        {"2001:0db8:04a1:0f00:0000:0000:0000:007c", "2001:db8:4a1:f00::7c", NULL},
        {"[2001:db8::1]", "2001:db8::1", NULL},
        {"::ffff:192.0.2.1", "::ffff:192.0.2.1", NULL},
        {"2001:db8:0:1:1:1:1:1", "2001:db8:0:1:1:1:1:1", NULL},
        {"256.1.1.1", NULL, "not an IPv4 or IPv6"},
        {"1.2.3", NULL, "not an IPv4"},
        {"2001:db8::1::2", NULL, "not an IPv4"},
    };
    RUN("ip", ip, ips);
    static const struct norm_case mails[] = {
        {"Taro.K@Mail.Example", "Taro.K@mail.example", NULL},
        {"ｔａｒｏ＠ｍａｉｌ．ｅｘａｍｐｌｅ", "taro@mail.example", NULL},
        {"user@例え.テスト", "user@xn--r8jz45g.xn--zckzah", NULL},
        {"a@@b.example", NULL, "not an e-mail address"},
        {"a..b@x.example", NULL, "dots in the local part"},
        {"a@localhost", NULL, "e-mail domain"},
    };
    RUN("email", email, mails);
}

static void test_urls(void **state)
{
    (void)state;
    static const struct norm_case t[] = {
        {"HTTP://Files.Example/s/8Kq2xZ", "http://files.example/s/8Kq2xZ", NULL},
        {"https://files.example:443/A/b?X=1#frag", "https://files.example/A/b?X=1", NULL},
        {"http://files.example:8080/x", "http://files.example:8080/x", NULL},
        {"http://files.example:80", "http://files.example", NULL},
        {"https://例え.テスト/パス/%41", "https://xn--r8jz45g.xn--zckzah/パス/%41", NULL},
        {"https://ＥＸＡＭＰＬＥ.com/a", "https://example.com/a", NULL},
        {"http://[2001:DB8::0:1]:8080/a", "http://[2001:db8::1]:8080/a", NULL},
        {"  https://a.example/Keep//Exactly/  ", "https://a.example/Keep//Exactly/", NULL},
        {"ftp://User@Host.Example/f", "ftp://User@host.example/f", NULL},
        {"javascript:alert(1)", NULL, "not an http, https or ftp URL"},
        {"https://a.example/a b", NULL, "URL contains white space"},
        {"https://a.example:99999/", NULL, "bad port"},
        {"https:/a.example/", NULL, "want // after the scheme"},
    };
    RUN("url", url, t);
}

static void test_hashes(void **state)
{
    (void)state;
    char alg[16], out[2048], why[ICX_NORM_WHY];
    assert_int_equal(icx_norm_hash_alg(alg, "SHA-256", why, sizeof why), 0);
    assert_string_equal(alg, "sha256");
    assert_int_equal(icx_norm_hash_alg(alg, "PhotoDNA", why, sizeof why), 0);
    assert_string_equal(alg, "photodna");
    assert_int_not_equal(icx_norm_hash_alg(alg, "crc32", why, sizeof why), 0);
    static const struct { const char *alg, *in, *want; } t[] = {
        {"md5", "FE1984F7C23760D247EAABC220348599", "fe1984f7c23760d247eaabc220348599"},
        {"sha1", "da39a3ee5e6b4b0d3255bfef95601890afd80709", "da39a3ee5e6b4b0d3255bfef95601890afd80709"},
        {"sha256", "31844E716D0E0BCC5235D1C9A35CE663101F3F521106CDCE427208346463F2B9",
         "31844e716d0e0bcc5235d1c9a35ce663101f3f521106cdce427208346463f2b9"},
        {"pdq", "3afbd5577a879d3382d92b187b738d91526e47ae1834218e4538afd30ff85554",
         "3afbd5577a879d3382d92b187b738d91526e47ae1834218e4538afd30ff85554"},
        {"photodna", "AbC+/9==", "AbC+/9=="},
        {"md5", "fe1984f7c23760d247eaabc22034859", NULL},     /* 31 digits */
        {"sha1", "da39a3ee5e6b4b0d3255bfef95601890afd8070g", NULL},
        {"sha256", "31844e716d0e0bcc", NULL},
        {"photodna", "not base64!", NULL},
    };
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        int rc = icx_norm_hash(out, sizeof out, t[i].alg, t[i].in, why, sizeof why);
        if (t[i].want && (rc != 0 || strcmp(out, t[i].want) != 0))
            fail_msg("hash %s %s: got \"%s\" (%s), want \"%s\"", t[i].alg,
                     t[i].in, rc ? "" : out, rc ? why : "", t[i].want);
        if (!t[i].want && rc == 0)
            fail_msg("hash %s %s: got \"%s\", want a refusal", t[i].alg,
                     t[i].in, out);
    }
    assert_int_not_equal(icx_norm_hash(out, sizeof out, "md5",
                                       "fe1984f7c23760d247eaabc22034859", why,
                                       sizeof why), 0);
    assert_string_equal(why, "md5 value must have 32 hex digits, got 31");
}

static void test_nfkc(void **state)
{
    (void)state;
    char *o = NULL;
    assert_int_equal(icx_norm_nfkc(&o, "　ＮＰＡ－２０２５　ｶｸｳ "), 0);
    assert_string_equal(o, "NPA-2025 カクウ");
    free(o);
    assert_int_equal(icx_norm_nfkc(&o, "\xff"), ICX_EINVAL);
    char c[3], why[ICX_NORM_WHY];
    assert_int_equal(icx_norm_country(c, "ph", why, sizeof why), 0);
    assert_string_equal(c, "PH");
    char port[8];
    assert_int_equal(icx_norm_port(port, sizeof port, "０８０", why, sizeof why), 0);
    assert_string_equal(port, "80");
    assert_int_not_equal(icx_norm_port(port, sizeof port, "0", why, sizeof why), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dates),      cmocka_unit_test(test_datetimes),
        cmocka_unit_test(test_prefectures), cmocka_unit_test(test_addresses),
        cmocka_unit_test(test_urls),       cmocka_unit_test(test_hashes),
        cmocka_unit_test(test_nfkc),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
