/*
 * normalize.h - value normalizers for domestic data: NFKC, Japanese era
 * dates, zoned times to UTC, prefectures, IP addresses, e-mail, URLs and
 * hashes.
 *
 * Every normalizer takes UTF-8 text and writes the canonical form into
 * caller storage, or returns ICX_EINVAL with the rule that was broken in
 * why ("day 31 does not exist in 2025-04").  Input is NFKC-normalized
 * first where that cannot change meaning (digits, dates, addresses,
 * hashes); URLs are not, because their path is kept exactly.
 *
 * Eras: Meiji (from 1873, the first Gregorian year), Taisho, Showa, Heisei
 * and Reiwa, written in kanji (令和), as letters (R, H, S, T, M) or as the
 * one-character era signs (㋿, ㍻); 元年 is year 1.  A date outside its era
 * (令和元年4月30日) is refused.
 *
 * Ownership: icx_norm_nfkc() returns malloc'ed text; everything else
 * writes into caller buffers.  Thread safety: reentrant.
 */
#ifndef ICX_NORMALIZE_H
#define ICX_NORMALIZE_H

#include <stddef.h>

#include "buf.h"
#include "err.h"

#define ICX_NORM_WHY 192
#define ICX_NORM_DATE_LEN 11     /* YYYY-MM-DD */
#define ICX_NORM_TIME_LEN 21     /* YYYY-MM-DDTHH:MM:SSZ */
#define ICX_NORM_IP_LEN 46       /* INET6_ADDRSTRLEN */
#define ICX_NORM_URL_MAX 2048
#define ICX_NORM_JST_MINUTES 540

/* NFKC, then leading and trailing white space (also U+3000) removed.
 * ICX_EINVAL when s is not valid UTF-8. */
int icx_norm_nfkc(char **out, const char *s);

/* Era or Gregorian date -> YYYY-MM-DD. */
int icx_norm_date(char *out, const char *s, char *why, size_t whylen);
/* Date with optional time (HH:MM[:SS], 10時30分) and zone (Z, UTC, JST,
 * +09:00, +0900); without a zone default_offset_min applies (JST: 540).
 * A date alone is midnight.  Written as UTC YYYY-MM-DDTHH:MM:SSZ. */
int icx_norm_datetime(char *out, const char *s, int default_offset_min,
                      char *why, size_t whylen);
/* Parses a zone ("JST", "UTC", "Z", "+09:00") into minutes east of UTC. */
int icx_norm_zone(int *minutes, const char *s);

/* Prefecture (東京都, 東京, Tokyo, 13, JP-13) -> ISO 3166-2:JP "JP-13"
 * (out >= 6 bytes).  icx_norm_prefecture_name gives the romanized name of
 * a code ("Tokyo") or NULL. */
int icx_norm_prefecture(char *out, const char *s, char *why, size_t whylen);
const char *icx_norm_prefecture_name(const char *code);

/* ISO 3166-1 alpha-2 (two letters, uppercased). */
int icx_norm_country(char *out, const char *s, char *why, size_t whylen);

/* IPv4 dotted quad or IPv6 in RFC 5952 form (out >= 46 bytes). */
int icx_norm_ip(char *out, const char *s, char *why, size_t whylen);
/* TCP/UDP port 1..65535 -> decimal without leading zeros. */
int icx_norm_port(char *out, size_t outlen, const char *s, char *why,
                  size_t whylen);
/* local@domain: local part kept, domain lowercased (IDN to punycode). */
int icx_norm_email(char *out, size_t outlen, const char *s, char *why,
                   size_t whylen);
/* http, https or ftp URL: scheme and host lowercased, IDN host to
 * punycode, IPv6 host canonical, default port and fragment dropped, the
 * path and query kept exactly. */
int icx_norm_url(char *out, size_t outlen, const char *s, char *why,
                 size_t whylen);

/* Hash algorithm name (md5, sha1, sha256, pdq, photodna; "SHA-256" is
 * sha256) -> canonical name in out (>= 16 bytes). */
int icx_norm_hash_alg(char *out, const char *s, char *why, size_t whylen);
/* Value of a hash of algorithm alg (canonical): hex of the right length
 * lowercased; photodna is opaque base64 or hex, kept as written. */
int icx_norm_hash(char *out, size_t outlen, const char *alg, const char *s,
                  char *why, size_t whylen);

/* UTF-8 text to CP932 (Shift_JIS), appended to out.  A character with no
 * CP932 form is ICX_EINVAL naming its byte offset in what, followed by
 * remedy (e.g. "export as utf-8"). */
int icx_utf8_to_cp932(icx_buf *out, const icx_buf *in, const char *what,
                      const char *remedy, icx_err *err);

#endif
