/*
 * util.h - small shared helpers: bounded file reads, atomic writes, time
 * stamps, hex, SHA-256, UUIDs and path checks.
 *
 * Ownership: icx_file_read() returns a malloc'ed buffer the caller frees
 * with free().  Everything else writes into caller-provided storage.
 * Thread safety: all functions are reentrant.
 */
#ifndef ICX_UTIL_H
#define ICX_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "err.h"

#define ICX_SHA256_HEX_LEN 64
#define ICX_UUID_LEN 36
#define ICX_TIME_LEN 20 /* YYYY-MM-DDTHH:MM:SSZ */

/* Reads at most max bytes of path; a larger file is ICX_EFULL.  *out is
 * NUL-terminated (not counted in *len). */
int icx_file_read(char **out, size_t *len, const char *path, size_t max,
                  icx_err *err);
/* Writes data to path through a temporary file, fsync and rename, with the
 * given mode.  Never leaves a half-written path behind. */
int icx_file_write_atomic(const char *path, const void *data, size_t len,
                          unsigned mode, icx_err *err);
/* Creates dir and its parents with mode (existing dirs are fine). */
int icx_mkdir_p(const char *dir, unsigned mode, icx_err *err);

/* Seconds since the epoch, as UTC "YYYY-MM-DDTHH:MM:SSZ" (out >= 21 bytes). */
void icx_time_format(char *out, size_t outlen, time_t t);
/* Parses xs:dateTime with a zone (Z or +hh:mm) and optional fraction;
 * returns ICX_EINVAL when malformed or without a zone. */
int icx_time_parse(time_t *out, const char *s);
/* Parses xs:date YYYY-MM-DD into midnight UTC. */
int icx_date_parse(time_t *out, const char *s);

void icx_hex(char *out, const unsigned char *in, size_t len); /* 2*len+1 */
/* Lowercase hex of exactly 2*n digits -> n bytes; -1 when malformed. */
int icx_unhex(unsigned char *out, const char *hex, size_t n);
/* Lowercase hex SHA-256 of data (out >= 65 bytes). */
int icx_sha256_hex(char *out, const void *data, size_t len);
/* SHA-256 (bits 256), SHA-384 or SHA-512, fetched from OpenSSL once per
 * process: EVP_sha256() and the like make OpenSSL 3 look the
 * implementation up again at every use.  Never NULL. */
struct evp_md_st; /* OpenSSL's EVP_MD */
const struct evp_md_st *icx_sha(int bits);
/* Random version-4 UUID, lowercase (out >= 37 bytes). */
int icx_uuid4(char *out, icx_err *err);
/* Version-7 UUID (RFC 9562), lowercase (out >= 37 bytes): the Unix time
 * in milliseconds ms_now, then 74 random bits.  Ids made later sort later
 * (to the millisecond), so an index over them grows at its end. */
int icx_uuid7(char *out, int64_t ms_now, icx_err *err);

/* A file only its owner may read: created empty with mode 0600 when
 * missing; an existing one must be a regular file (not a symbolic link)
 * with no group or other permission.  Errors name it as "WHAT PATH".  An
 * existing file is checked without being opened: closing any descriptor
 * of a file drops every POSIX lock the process holds on it, such as
 * SQLite's for a connection already open on it. */
int icx_private_file(const char *path, const char *what, icx_err *err);

/* Agency id CC-NAME (two capitals, dash, 2-16 of A-Z 0-9) or INT-NAME. */
int icx_agency_id_valid(const char *id);
/* A MessageId as the schemas define it: 8-4-4-4-12 lowercase hex digits. */
int icx_uuid_valid(const char *id);

/* The installed data folder <bindir>/ICX_SHARE_REL/SUB (by default
 * <prefix>/share/icx/SUB), found beside the running program through
 * /proc/self/exe, so an installed icx finds its data wherever the prefix
 * (or DESTDIR) put it.  SUB is "schemas" or "mappings".  Returns the
 * resolved folder, or NULL when it does not exist (a build tree, or an
 * unknown SUB).  Resolved once per process; the result lives as long. */
const char *icx_share_dir(const char *sub);

#endif
