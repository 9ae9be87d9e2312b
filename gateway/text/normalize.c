/*
 * normalize.c - canonical forms of domestic values (see normalize.h).
 *
 * NFKC comes from utf8proc and IDNA (internationalized host names to
 * punycode, UTS #46 non-transitional) from libidn2; glibc has neither.
 * IP addresses go through inet_pton/inet_ntop, whose output is the RFC
 * 5952 form.  Era arithmetic is a table of era start dates; a date is in an
 * era when it lies on or after the era's start and before the next one's.
 *
 * Failure: ICX_EINVAL with a short rule in why; ICX_ENOMEM.  No globals.
 */
#include "normalize.h"

#include <arpa/inet.h>
#include <iconv.h>
#include <ctype.h>
#include <idn2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <utf8proc.h>

#include "csv.h"

#define WHY(...) (snprintf(why, whylen, __VA_ARGS__), ICX_EINVAL)

static int is_space_at(const char *s, size_t *n)
{
    if (*s == ' ' || *s == '\t' || *s == '\r' || *s == '\n') {
        *n = 1;
        return 1;
    }
    if ((unsigned char)s[0] == 0xE3 && (unsigned char)s[1] == 0x80 &&
        (unsigned char)s[2] == 0x80) { /* U+3000 IDEOGRAPHIC SPACE */
        *n = 3;
        return 1;
    }
    return 0;
}

int icx_norm_nfkc(char **out, const char *s)
{
    *out = NULL;
    if (!icx_utf8_valid(s, strlen(s)))
        return ICX_EINVAL;
    char *n = (char *)utf8proc_NFKC((const utf8proc_uint8_t *)s);
    if (n == NULL)
        return ICX_ENOMEM;
    size_t k, start = 0, end = strlen(n);
    while (start < end && is_space_at(n + start, &k))
        start += k;
    while (end > start && (n[end - 1] == ' ' || n[end - 1] == '\t' ||
                           n[end - 1] == '\r' || n[end - 1] == '\n'))
        end--;
    memmove(n, n + start, end - start);
    n[end - start] = '\0';
    *out = n;
    return ICX_OK;
}

/* NFKC into a fixed buffer, for the short values parsed below. */
static int nfkc_into(char *buf, size_t len, const char *s, char *why,
                     size_t whylen)
{
    char *n = NULL;
    int rc = icx_norm_nfkc(&n, s);
    if (rc == ICX_EINVAL)
        return WHY("not valid UTF-8");
    if (rc < 0)
        return rc;
    if (strlen(n) >= len) {
        free(n);
        return WHY("value too long (at most %zu bytes)", len - 1);
    }
    memcpy(buf, n, strlen(n) + 1);
    free(n);
    return ICX_OK;
}

/* ---- dates ------------------------------------------------------------ */

static const struct era {
    const char *kanji, *latin;
    int y, m, d; /* first day */
} eras[] = {
    {"明治", "M", 1873, 1, 1},  /* Gregorian calendar from Meiji 6 */
    {"大正", "T", 1912, 7, 30},
    {"昭和", "S", 1926, 12, 25},
    {"平成", "H", 1989, 1, 8},
    {"令和", "R", 2019, 5, 1},
};
static const int meiji_first_year = 1868;

static int days_in(int y, int m)
{
    static const int d[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
        return 29;
    return d[m - 1];
}

static int ymd_key(int y, int m, int d) { return y * 10000 + m * 100 + d; }

/* Reads 1-4 ASCII digits. */
static int digits(const char **p, int maxd, int *v)
{
    int n = 0, x = 0;
    while (n < maxd && isdigit((unsigned char)**p)) {
        x = x * 10 + (**p - '0');
        (*p)++;
        n++;
    }
    *v = x;
    return n;
}

static int eat(const char **p, const char *lit)
{
    size_t n = strlen(lit);
    if (strncmp(*p, lit, n) == 0) {
        *p += n;
        return 1;
    }
    return 0;
}

static void skip_spaces(const char **p)
{
    while (**p == ' ')
        (*p)++;
}

/* Separator between date parts: 年/月 (kanji) or . / - */
static int date_sep(const char **p, const char *kanji, int *style)
{
    if (eat(p, kanji)) {
        *style = 1;
        return 1;
    }
    if (**p == '.' || **p == '/' || **p == '-') {
        (*p)++;
        *style = 2;
        return 1;
    }
    return 0;
}

/* Parses a date at *p (already NFKC), advancing past it. */
static int parse_date(const char **p, int *y, int *m, int *d, char *why,
                      size_t whylen)
{
    const char *s = *p;
    int era = -1, style = 0, n;
    for (size_t i = 0; i < sizeof eras / sizeof eras[0] && era < 0; i++) {
        if (eat(&s, eras[i].kanji))
            era = (int)i;
        else if (toupper((unsigned char)s[0]) == eras[i].latin[0] &&
                 (isdigit((unsigned char)s[1]) || s[1] == '.' ||
                  strncmp(s + 1, "元", 3) == 0)) {
            s++;
            era = (int)i;
        }
    }
    if (era >= 0) {
        int ey;
        skip_spaces(&s);
        if (eat(&s, "元"))
            ey = 1;
        else if (digits(&s, 2, &ey) == 0 || ey == 0)
            return WHY("want an era year (元 or 1-99) after the era name");
        skip_spaces(&s);
        if (!date_sep(&s, "年", &style))
            return WHY("want 年 or a separator after the era year");
        *y = (era == 0 ? meiji_first_year : eras[era].y) + ey - 1;
    } else {
        if (digits(&s, 4, y) != 4)
            return WHY("not a date (want 令和7年4月1日, R7.4.1 or "
                       "2025-04-01)");
        if (isdigit((unsigned char)*s) || !date_sep(&s, "年", &style)) {
            /* YYYYMMDD */
            const char *t = *p;
            int v;
            if (digits(&t, 8, &v) == 8 && !isdigit((unsigned char)*t)) {
                *y = v / 10000;
                *m = v / 100 % 100;
                *d = v % 100;
                s = t;
                goto check;
            }
            return WHY("not a date (want 令和7年4月1日, R7.4.1 or "
                       "2025-04-01)");
        }
    }
    skip_spaces(&s);
    if ((n = digits(&s, 2, m)) == 0)
        return WHY("want a month after the year");
    skip_spaces(&s);
    if (style == 1 ? !eat(&s, "月") : !(*s == '.' || *s == '/' || *s == '-'))
        return WHY("want %s after the month", style == 1 ? "月" : "the same "
                   "separator");
    if (style != 1)
        s++;
    skip_spaces(&s);
    if (digits(&s, 2, d) == 0)
        return WHY("want a day after the month");
    if (style == 1)
        eat(&s, "日");
check:
    if (*m < 1 || *m > 12)
        return WHY("month %d does not exist", *m);
    if (*y < 1 || *d < 1 || *d > days_in(*y, *m))
        return WHY("day %d does not exist in %04d-%02d", *d, *y, *m);
    if (era >= 0) {
        int k = ymd_key(*y, *m, *d);
        const struct era *e = &eras[era];
        if (k < ymd_key(e->y, e->m, e->d))
            return WHY("%04d-%02d-%02d is before the %s era (from "
                       "%04d-%02d-%02d)", *y, *m, *d, e->kanji, e->y, e->m,
                       e->d);
        if ((size_t)era + 1 < sizeof eras / sizeof eras[0]) {
            const struct era *nx = &eras[era + 1];
            if (k >= ymd_key(nx->y, nx->m, nx->d))
                return WHY("%04d-%02d-%02d is after the %s era (%s from "
                           "%04d-%02d-%02d)", *y, *m, *d, e->kanji,
                           nx->kanji, nx->y, nx->m, nx->d);
        }
    }
    *p = s;
    return ICX_OK;
}

int icx_norm_date(char *out, const char *s, char *why, size_t whylen)
{
    char buf[128];
    int y, m, d, rc = nfkc_into(buf, sizeof buf, s, why, whylen);
    if (rc < 0)
        return rc;
    const char *p = buf;
    if ((rc = parse_date(&p, &y, &m, &d, why, whylen)) < 0)
        return rc;
    skip_spaces(&p);
    if (*p != '\0')
        return WHY("unexpected \"%s\" after the date", p);
    char tmp[48];
    if (snprintf(tmp, sizeof tmp, "%04d-%02d-%02d", y, m, d) !=
        ICX_NORM_DATE_LEN - 1)
        return WHY("year %d out of range", y);
    memcpy(out, tmp, ICX_NORM_DATE_LEN);
    return ICX_OK;
}

int icx_norm_zone(int *minutes, const char *z)
{
    if (strcmp(z, "Z") == 0 || strcasecmp(z, "UTC") == 0 ||
        strcasecmp(z, "GMT") == 0) {
        *minutes = 0;
        return ICX_OK;
    }
    if (strcasecmp(z, "JST") == 0) {
        *minutes = ICX_NORM_JST_MINUTES;
        return ICX_OK;
    }
    const char *p = z;
    int sign = *p == '+' ? 1 : *p == '-' ? -1 : 0, h, m = 0;
    if (sign == 0)
        return ICX_EINVAL;
    p++;
    if (digits(&p, 2, &h) != 2)
        return ICX_EINVAL;
    if (*p == ':')
        p++;
    if (*p != '\0' && digits(&p, 2, &m) != 2)
        return ICX_EINVAL;
    if (*p != '\0' || h > 14 || m > 59)
        return ICX_EINVAL;
    *minutes = sign * (h * 60 + m);
    return ICX_OK;
}

int icx_norm_datetime(char *out, const char *s, int default_offset_min,
                      char *why, size_t whylen)
{
    char buf[160];
    int y, mo, d, h = 0, mi = 0, sec = 0, off = default_offset_min;
    int rc = nfkc_into(buf, sizeof buf, s, why, whylen);
    if (rc < 0)
        return rc;
    const char *p = buf;
    if ((rc = parse_date(&p, &y, &mo, &d, why, whylen)) < 0)
        return rc;
    if (*p == 'T' || *p == ' ')
        p++;
    skip_spaces(&p);
    if (isdigit((unsigned char)*p)) {
        if (digits(&p, 2, &h) == 0)
            return WHY("want an hour");
        int kanji = eat(&p, "時");
        if (!kanji && !eat(&p, ":"))
            return WHY("want : or 時 after the hour");
        if (kanji && isdigit((unsigned char)*p)) {
            digits(&p, 2, &mi);
            if (!eat(&p, "分"))
                return WHY("want 分 after the minutes");
            if (isdigit((unsigned char)*p)) {
                digits(&p, 2, &sec);
                if (!eat(&p, "秒"))
                    return WHY("want 秒 after the seconds");
            }
        } else if (!kanji) {
            if (digits(&p, 2, &mi) != 2)
                return WHY("want two-digit minutes after the hour");
            if (eat(&p, ":") && digits(&p, 2, &sec) != 2)
                return WHY("want two-digit seconds");
        }
        if (*p == '.' || *p == ',')
            return WHY("fractional seconds are not accepted");
    }
    skip_spaces(&p);
    if (*p != '\0') {
        char z[16];
        size_t n = strlen(p);
        if (*p == '(' && n > 2 && p[n - 1] == ')') {
            p++;
            n -= 2;
        }
        if (n >= sizeof z || (snprintf(z, sizeof z, "%.*s", (int)n, p),
                              icx_norm_zone(&off, z) < 0))
            return WHY("unknown time or zone \"%s\" (want HH:MM[:SS] and "
                       "JST, UTC, Z or +09:00)", p);
    }
    if (h > 23 || mi > 59 || sec > 59)
        return WHY("time %02d:%02d:%02d does not exist", h, mi, sec);
    struct tm tm = {.tm_year = y - 1900, .tm_mon = mo - 1, .tm_mday = d,
                    .tm_hour = h, .tm_min = mi, .tm_sec = sec};
    time_t t = timegm(&tm) - (time_t)off * 60;
    struct tm u;
    if (gmtime_r(&t, &u) == NULL)
        return WHY("time out of range");
    char tmp[96];
    int w = snprintf(tmp, sizeof tmp, "%04d-%02d-%02dT%02d:%02d:%02dZ",
                     u.tm_year + 1900, u.tm_mon + 1, u.tm_mday, u.tm_hour,
                     u.tm_min, u.tm_sec);
    if (w != ICX_NORM_TIME_LEN - 1)
        return WHY("time out of range");
    memcpy(out, tmp, ICX_NORM_TIME_LEN);
    return ICX_OK;
}

/* ---- places ------------------------------------------------------------ */

static const char *const prefs[47][2] = {
    {"北海道", "Hokkaido"}, {"青森県", "Aomori"}, {"岩手県", "Iwate"},
    {"宮城県", "Miyagi"}, {"秋田県", "Akita"}, {"山形県", "Yamagata"},
    {"福島県", "Fukushima"}, {"茨城県", "Ibaraki"}, {"栃木県", "Tochigi"},
    {"群馬県", "Gunma"}, {"埼玉県", "Saitama"}, {"千葉県", "Chiba"},
    {"東京都", "Tokyo"}, {"神奈川県", "Kanagawa"}, {"新潟県", "Niigata"},
    {"富山県", "Toyama"}, {"石川県", "Ishikawa"}, {"福井県", "Fukui"},
    {"山梨県", "Yamanashi"}, {"長野県", "Nagano"}, {"岐阜県", "Gifu"},
    {"静岡県", "Shizuoka"}, {"愛知県", "Aichi"}, {"三重県", "Mie"},
    {"滋賀県", "Shiga"}, {"京都府", "Kyoto"}, {"大阪府", "Osaka"},
    {"兵庫県", "Hyogo"}, {"奈良県", "Nara"}, {"和歌山県", "Wakayama"},
    {"鳥取県", "Tottori"}, {"島根県", "Shimane"}, {"岡山県", "Okayama"},
    {"広島県", "Hiroshima"}, {"山口県", "Yamaguchi"}, {"徳島県", "Tokushima"},
    {"香川県", "Kagawa"}, {"愛媛県", "Ehime"}, {"高知県", "Kochi"},
    {"福岡県", "Fukuoka"}, {"佐賀県", "Saga"}, {"長崎県", "Nagasaki"},
    {"熊本県", "Kumamoto"}, {"大分県", "Oita"}, {"宮崎県", "Miyazaki"},
    {"鹿児島県", "Kagoshima"}, {"沖縄県", "Okinawa"},
};

int icx_norm_prefecture(char *out, const char *s, char *why, size_t whylen)
{
    char buf[64];
    int rc = nfkc_into(buf, sizeof buf, s, why, whylen), num = -1;
    if (rc < 0)
        return rc;
    const char *p = buf;
    if (strncasecmp(p, "JP-", 3) == 0)
        p += 3;
    int v;
    const char *q = p;
    if (digits(&q, 2, &v) > 0 && *q == '\0')
        num = v;
    for (int i = 0; i < 47 && num < 0; i++) {
        size_t kl = strlen(prefs[i][0]);
        size_t bl = strlen(buf);
        if (strcmp(buf, prefs[i][0]) == 0 || strcasecmp(buf, prefs[i][1]) == 0 ||
            (i > 0 && bl + 3 == kl && strncmp(buf, prefs[i][0], bl) == 0))
            num = i + 1;
    }
    if (num < 1 || num > 47)
        return WHY("unknown prefecture \"%s\" (want a name such as 東京都 or "
                   "a code JP-01 to JP-47)", buf);
    snprintf(out, 6, "JP-%02u", (unsigned)num % 100u);
    return ICX_OK;
}

const char *icx_norm_prefecture_name(const char *code)
{
    int v = 0;
    if (strncmp(code, "JP-", 3) != 0)
        return NULL;
    const char *p = code + 3;
    if (digits(&p, 2, &v) != 2 || *p || v < 1 || v > 47)
        return NULL;
    return prefs[v - 1][1];
}

int icx_norm_country(char *out, const char *s, char *why, size_t whylen)
{
    char buf[16];
    int rc = nfkc_into(buf, sizeof buf, s, why, whylen);
    if (rc < 0)
        return rc;
    if (strlen(buf) != 2 || !isalpha((unsigned char)buf[0]) ||
        !isalpha((unsigned char)buf[1]))
        return WHY("not an ISO 3166-1 alpha-2 country code: \"%s\"", buf);
    out[0] = (char)toupper((unsigned char)buf[0]);
    out[1] = (char)toupper((unsigned char)buf[1]);
    out[2] = '\0';
    return ICX_OK;
}

/* ---- network identifiers ----------------------------------------------- */

int icx_norm_ip(char *out, const char *s, char *why, size_t whylen)
{
    char buf[64];
    unsigned char bin[16];
    int rc = nfkc_into(buf, sizeof buf, s, why, whylen);
    if (rc < 0)
        return rc;
    char *p = buf;
    size_t n = strlen(p);
    if (n >= 2 && p[0] == '[' && p[n - 1] == ']') {
        p[n - 1] = '\0';
        p++;
    }
    if (inet_pton(AF_INET, p, bin) == 1) {
        inet_ntop(AF_INET, bin, out, ICX_NORM_IP_LEN);
        return ICX_OK;
    }
    if (strchr(p, ':') != NULL && inet_pton(AF_INET6, p, bin) == 1) {
        inet_ntop(AF_INET6, bin, out, ICX_NORM_IP_LEN);
        return ICX_OK;
    }
    return WHY("not an IPv4 or IPv6 address: \"%s\"", buf);
}

int icx_norm_port(char *out, size_t outlen, const char *s, char *why,
                  size_t whylen)
{
    char buf[16];
    int rc = nfkc_into(buf, sizeof buf, s, why, whylen);
    if (rc < 0)
        return rc;
    const char *p = buf;
    int v;
    if (digits(&p, 5, &v) == 0 || *p || v < 1 || v > 65535)
        return WHY("not a port 1-65535: \"%s\"", buf);
    snprintf(out, outlen, "%d", v);
    return ICX_OK;
}

/* Host name -> lowercase ASCII (punycode for IDN); out >= 256 bytes. */
static int norm_host(char *out, size_t outlen, const char *host, char *why,
                     size_t whylen)
{
    int ascii = 1;
    for (const char *p = host; *p; p++)
        if ((unsigned char)*p >= 0x80)
            ascii = 0;
    if (*host == '\0')
        return WHY("empty host name");
    if (ascii) {
        size_t n = strlen(host);
        if (n >= outlen || n > 253)
            return WHY("host name too long");
        for (size_t i = 0; i <= n; i++) {
            char c = (char)tolower((unsigned char)host[i]);
            if (c && !isalnum((unsigned char)c) && c != '-' && c != '.' &&
                c != '_')
                return WHY("character '%c' not allowed in a host name", c);
            out[i] = c;
        }
        return ICX_OK;
    }
    uint8_t *res = NULL;
    int r = idn2_lookup_u8((const uint8_t *)host, &res,
                           IDN2_NFC_INPUT | IDN2_NONTRANSITIONAL);
    if (r != IDN2_OK)
        return WHY("host name \"%s\" is not a valid internationalized "
                   "name: %s", host, idn2_strerror(r));
    size_t n = strlen((char *)res);
    if (n >= outlen) {
        idn2_free(res);
        return WHY("host name too long");
    }
    for (size_t i = 0; i <= n; i++)
        out[i] = (char)tolower(res[i]);
    idn2_free(res);
    return ICX_OK;
}

int icx_norm_email(char *out, size_t outlen, const char *s, char *why,
                   size_t whylen)
{
    char buf[300], host[256];
    int rc = nfkc_into(buf, sizeof buf, s, why, whylen);
    if (rc < 0)
        return rc;
    char *at = strrchr(buf, '@');
    if (at == NULL || strchr(buf, '@') != at)
        return WHY("not an e-mail address (want exactly one @): \"%s\"", buf);
    *at = '\0';
    size_t ll = strlen(buf);
    if (ll == 0 || ll > 64)
        return WHY("local part must have 1 to 64 characters");
    if (buf[0] == '.' || buf[ll - 1] == '.' || strstr(buf, "..") != NULL)
        return WHY("dots in the local part must separate words");
    for (const char *p = buf; *p; p++)
        if ((unsigned char)*p < 0x80 && !isalnum((unsigned char)*p) &&
            strchr("!#$%&'*+-/=?^_`{|}~.", *p) == NULL)
            return WHY("character '%c' not allowed in an e-mail address", *p);
    if ((rc = norm_host(host, sizeof host, at + 1, why, whylen)) < 0)
        return rc;
    if (strchr(host, '.') == NULL || host[0] == '.' ||
        host[strlen(host) - 1] == '.')
        return WHY("e-mail domain \"%s\" is not a full domain name", host);
    if (ll + 1 + strlen(host) > 254 ||
        (size_t)snprintf(out, outlen, "%s@%s", buf, host) >= outlen)
        return WHY("e-mail address too long");
    return ICX_OK;
}

static const struct { const char *scheme; const char *port; } schemes[] = {
    {"http", "80"}, {"https", "443"}, {"ftp", "21"},
};

int icx_norm_url(char *out, size_t outlen, const char *s, char *why,
                 size_t whylen)
{
    char host[512], canon[256], port[8] = "";
    size_t n = strlen(s), i = 0;
    while (n > 0 && strchr(" \t\r\n", s[n - 1]))
        n--;
    while (i < n && strchr(" \t", s[i]))
        i++;
    const char *u = s + i, *end = s + n;
    if (end - u > ICX_NORM_URL_MAX)
        return WHY("URL longer than %d bytes", ICX_NORM_URL_MAX);
    for (const char *p = u; p < end; p++)
        if ((unsigned char)*p <= 0x20 || *p == 0x7f)
            return WHY("URL contains white space or a control character at "
                       "offset %zu", (size_t)(p - u));
    const char *colon = memchr(u, ':', (size_t)(end - u));
    size_t si = 0, ns = sizeof schemes / sizeof schemes[0];
    for (; colon && si < ns; si++)
        if ((size_t)(colon - u) == strlen(schemes[si].scheme) &&
            strncasecmp(u, schemes[si].scheme, strlen(schemes[si].scheme)) == 0)
            break;
    if (colon == NULL || si == ns)
        return WHY("not an http, https or ftp URL: \"%.*s\"",
                   (int)(end - u > 80 ? 80 : end - u), u);
    if (end - colon < 3 || strncmp(colon + 1, "//", 2) != 0)
        return WHY("want // after the scheme");
    const char *auth = colon + 3, *rest = auth;
    while (rest < end && *rest != '/' && *rest != '?' && *rest != '#')
        rest++;
    const char *hend = strchr(auth, '@');
    const char *hstart = auth;
    if (hend != NULL && hend < rest)
        hstart = hend + 1; /* userinfo kept as written */
    const char *pstart = NULL;
    if (*hstart == '[') {
        const char *rb = memchr(hstart, ']', (size_t)(rest - hstart));
        if (rb == NULL)
            return WHY("unterminated [ in the host");
        char ip6[64], canon6[ICX_NORM_IP_LEN];
        unsigned char bin[16];
        if ((size_t)(rb - hstart - 1) >= sizeof ip6)
            return WHY("bad IPv6 host");
        snprintf(ip6, sizeof ip6, "%.*s", (int)(rb - hstart - 1), hstart + 1);
        if (inet_pton(AF_INET6, ip6, bin) != 1)
            return WHY("bad IPv6 host \"%s\"", ip6);
        inet_ntop(AF_INET6, bin, canon6, sizeof canon6);
        snprintf(canon, sizeof canon, "[%s]", canon6);
        pstart = rb + 1 < rest && rb[1] == ':' ? rb + 2 : NULL;
        if (rb + 1 < rest && rb[1] != ':')
            return WHY("unexpected text after the IPv6 host");
    } else {
        const char *pc = memchr(hstart, ':', (size_t)(rest - hstart));
        const char *he = pc ? pc : rest;
        if ((size_t)(he - hstart) >= sizeof host)
            return WHY("host name too long");
        snprintf(host, sizeof host, "%.*s", (int)(he - hstart), hstart);
        int rc = norm_host(canon, sizeof canon, host, why, whylen);
        if (rc < 0)
            return rc;
        pstart = pc ? pc + 1 : NULL;
    }
    if (pstart != NULL && pstart < rest) {
        int v;
        const char *p = pstart;
        if (digits(&p, 5, &v) == 0 || p != rest || v < 1 || v > 65535)
            return WHY("bad port \"%.*s\"", (int)(rest - pstart), pstart);
        if (strcmp(schemes[si].port, (snprintf(port, sizeof port, "%d", v),
                                      port)) == 0)
            port[0] = '\0';
    }
    const char *frag = memchr(rest, '#', (size_t)(end - rest));
    const char *pend = frag ? frag : end;
    int w = snprintf(out, outlen, "%s://%.*s%s%s%s%.*s", schemes[si].scheme,
                     (int)(hstart - auth), auth, canon, port[0] ? ":" : "",
                     port, (int)(pend - rest), rest);
    if (w < 0 || (size_t)w >= outlen || w > ICX_NORM_URL_MAX)
        return WHY("URL too long after normalization");
    return ICX_OK;
}

/* ---- hashes ------------------------------------------------------------- */

static const struct { const char *name; size_t hexlen; } algs[] = {
    {"md5", 32}, {"sha1", 40}, {"sha256", 64}, {"pdq", 64}, {"photodna", 0},
};

int icx_norm_hash_alg(char *out, const char *s, char *why, size_t whylen)
{
    char buf[32], flat[32];
    size_t k = 0;
    int rc = nfkc_into(buf, sizeof buf, s, why, whylen);
    if (rc < 0)
        return rc;
    for (const char *p = buf; *p && k + 1 < sizeof flat; p++)
        if (*p != '-' && *p != '_' && *p != ' ')
            flat[k++] = (char)tolower((unsigned char)*p);
    flat[k] = '\0';
    for (size_t i = 0; i < sizeof algs / sizeof algs[0]; i++)
        if (strcmp(flat, algs[i].name) == 0) {
            snprintf(out, 16, "%s", algs[i].name);
            return ICX_OK;
        }
    return WHY("unknown hash algorithm \"%s\" (want md5, sha1, sha256, pdq "
               "or photodna)", buf);
}

int icx_norm_hash(char *out, size_t outlen, const char *alg, const char *s,
                  char *why, size_t whylen)
{
    char *v = NULL;
    int rc = icx_norm_nfkc(&v, s);
    if (rc == ICX_EINVAL)
        return WHY("not valid UTF-8");
    if (rc < 0)
        return rc;
    size_t n = strlen(v), i;
    for (i = 0; i < sizeof algs / sizeof algs[0]; i++)
        if (strcmp(alg, algs[i].name) == 0)
            break;
    if (i == sizeof algs / sizeof algs[0]) {
        free(v);
        return WHY("unknown hash algorithm \"%s\"", alg);
    }
    if (n == 0 || n >= outlen || n > 1024) {
        free(v);
        return WHY("%s value must have 1 to 1024 characters", alg);
    }
    if (algs[i].hexlen == 0) { /* photodna: opaque, base64 or hex */
        size_t pad = 0;
        for (size_t k = 0; k < n; k++) {
            char c = v[k];
            if (c == '=' && k + 2 >= n) {
                pad++;
            } else if (pad || !(isalnum((unsigned char)c) || c == '+' ||
                                c == '/')) {
                free(v);
                return WHY("photodna value must be base64 or hex");
            }
        }
        memcpy(out, v, n + 1);
        free(v);
        return ICX_OK;
    }
    for (size_t k = 0; k < n; k++) {
        if (!isxdigit((unsigned char)v[k])) {
            char bad = v[k];
            free(v);
            return WHY("%s value must be hexadecimal (character %zu is "
                       "'%c')", alg, k + 1, bad);
        }
        out[k] = (char)tolower((unsigned char)v[k]);
    }
    out[n] = '\0';
    free(v);
    if (n != algs[i].hexlen)
        return WHY("%s value must have %zu hex digits, got %zu", alg,
                   algs[i].hexlen, n);
    return ICX_OK;
}

int icx_utf8_to_cp932(icx_buf *out, const icx_buf *in, const char *what,
                      const char *remedy, icx_err *err)
{
    iconv_t cd = iconv_open("CP932", "UTF-8");
    if (cd == (iconv_t)-1)
        return icx_err_set(err, ICX_ERROR, "iconv: CP932 is not available");
    char *buf = malloc(in->len + 1), *ip = in->data, *op = buf;
    size_t il = in->len, ol = in->len;
    int rc = ICX_OK;
    if (buf == NULL) {
        rc = icx_err_set(err, ICX_ENOMEM, "out of memory");
    } else if (il > 0 && iconv(cd, &ip, &il, &op, &ol) == (size_t)-1) {
        rc = icx_err_set(err, ICX_EINVAL, "byte %zu of %s has no CP932 "
                         "(Shift_JIS) form; %s", (size_t)(ip - in->data), what,
                         remedy);
    } else {
        rc = icx_buf_append(out, buf, (size_t)(op - buf));
    }
    iconv_close(cd);
    free(buf);
    return rc;
}
