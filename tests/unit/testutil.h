/*
 * testutil.h - helpers shared by the cmocka unit tests: temporary folders,
 * fixture paths and running the icx program.
 */
#ifndef ICX_TESTUTIL_H
#define ICX_TESTUTIL_H

#include <stddef.h>

struct evp_pkey_st; /* OpenSSL's EVP_PKEY */

/* Source tree root (ICX_SOURCE_DIR from ctest, else "."). */
const char *icx_test_srcdir(void);
/* Path of the icx binary (ICX_BIN from ctest). */
const char *icx_test_bin(void);
/* Creates a fresh temporary folder; returns a malloc'ed path. */
char *icx_test_mkdtemp(void);
/* Removes a folder tree. */
void icx_test_rmrf(const char *dir);
/* Entries in a folder (files and folders, without . and ..). */
size_t icx_test_entries(const char *dir);
/* snprintf into a static ring of buffers: for building paths in tests. */
const char *icx_test_path(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));
/* Runs argv (execvp, no shell), captures stdout+stderr into out (NUL
 * terminated, truncated to outlen); returns the exit status or -1. */
int icx_test_run(char *out, size_t outlen, const char *const argv[]);
/* Writes text to path (mode 0644); asserts on failure. */
void icx_test_write(const char *path, const char *text);

/* A new key pair made with OpenSSL: "rsa1024", "rsa2048", "p224", "p256",
 * "p384", "p521", "secp256k1", "dsa2048", "ed25519".  Asserts on failure. */
struct evp_pkey_st *icx_test_key(const char *kind);
/* Writes key (PEM PKCS#8, mode 0600) and/or a self-signed certificate of
 * it (CN=cn, valid from 2020 to 2100) when the paths are not NULL. */
void icx_test_write_key(const char *key_path, const char *cert_path,
                        struct evp_pkey_st *key, const char *cn);

/* Fails the test unless the call got returns want, in the form "CALL: got
 * RC (err's message), want RC".  Needs cmocka.h and err.h (icx_rc_name). */
#define CHECK_RC(got, want, err)                                              \
    do {                                                                      \
        int got_ = (got);                                                     \
        if (got_ != (want))                                                   \
            fail_msg("%s: got %s (%s), want %s", #got, icx_rc_name(got_),     \
                     (err)->msg, icx_rc_name(want));                          \
    } while (0)

#endif
