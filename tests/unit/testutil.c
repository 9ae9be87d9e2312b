/*
 * testutil.c - helpers shared by the unit tests (see testutil.h).
 */
#include "testutil.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

const char *icx_test_srcdir(void)
{
    const char *s = getenv("ICX_SOURCE_DIR");
    return s != NULL ? s : ".";
}

const char *icx_test_bin(void)
{
    const char *s = getenv("ICX_BIN");
    return s != NULL ? s : "icx";
}

char *icx_test_mkdtemp(void)
{
    const char *base = getenv("TMPDIR");
    char tmpl[512];
    snprintf(tmpl, sizeof tmpl, "%s/icx-test-XXXXXX", base ? base : "/tmp");
    if (mkdtemp(tmpl) == NULL) {
        perror("mkdtemp");
        abort();
    }
    return strdup(tmpl);
}

static int rm_one(const char *path, const struct stat *sb, int flag,
                  struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    remove(path);
    return 0;
}

void icx_test_rmrf(const char *dir)
{
    if (dir != NULL)
        nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

size_t icx_test_entries(const char *dir)
{
    DIR *d = opendir(dir);
    size_t n = 0;
    for (struct dirent *e; d && (e = readdir(d)) != NULL;)
        n += strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0;
    if (d)
        closedir(d);
    return n;
}

const char *icx_test_path(const char *fmt, ...)
{
    static char ring[16][1024];
    static int next;
    char *p = ring[next++ % 16];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(p, 1024, fmt, ap);
    va_end(ap);
    return p;
}

int icx_test_run(char *out, size_t outlen, const char *const argv[])
{
    int pfd[2];
    if (pipe(pfd) < 0)
        return -1;
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        dup2(pfd[1], 1);
        dup2(pfd[1], 2);
        close(pfd[0]);
        close(pfd[1]);
        execvp(argv[0], (char *const *)argv);
        _exit(127);
    }
    close(pfd[1]);
    size_t n = 0;
    for (;;) {
        char tmp[4096];
        ssize_t r = read(pfd[0], tmp, sizeof tmp);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        for (ssize_t i = 0; i < r; i++)
            if (out != NULL && n + 1 < outlen)
                out[n++] = tmp[i];
    }
    if (out != NULL && outlen > 0)
        out[n] = '\0';
    close(pfd[0]);
    int st;
    while (waitpid(pid, &st, 0) < 0)
        if (errno != EINTR)
            return -1;
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

void icx_test_write(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    if (f == NULL) {
        perror(path);
        abort();
    }
    fputs(text, f);
    fclose(f);
}

EVP_PKEY *icx_test_key(const char *kind)
{
    static const struct { const char *kind, *type, *curve; size_t bits; }
        kinds[] = {
            {"rsa1024", "RSA", NULL, 1024}, {"rsa2048", "RSA", NULL, 2048},
            {"p224", "EC", "P-224", 0},     {"p256", "EC", "P-256", 0},
            {"p384", "EC", "P-384", 0},     {"p521", "EC", "P-521", 0},
            {"secp256k1", "EC", "secp256k1", 0},
            {"ed25519", "ED25519", NULL, 0},
        };
    EVP_PKEY *key = NULL;
    if (strcmp(kind, "dsa2048") == 0) {
        EVP_PKEY *params = NULL;
        EVP_PKEY_CTX *pc = EVP_PKEY_CTX_new_from_name(NULL, "DSA", NULL);
        assert_non_null(pc);
        assert_int_equal(EVP_PKEY_paramgen_init(pc), 1);
        assert_int_equal(EVP_PKEY_CTX_set_dsa_paramgen_bits(pc, 2048), 1);
        assert_int_equal(EVP_PKEY_paramgen(pc, &params), 1);
        EVP_PKEY_CTX *kc = EVP_PKEY_CTX_new_from_pkey(NULL, params, NULL);
        assert_non_null(kc);
        assert_int_equal(EVP_PKEY_keygen_init(kc), 1);
        assert_int_equal(EVP_PKEY_keygen(kc, &key), 1);
        EVP_PKEY_CTX_free(kc);
        EVP_PKEY_CTX_free(pc);
        EVP_PKEY_free(params);
        return key;
    }
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++) {
        if (strcmp(kinds[i].kind, kind) != 0)
            continue;
        if (kinds[i].curve != NULL)
            key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", kinds[i].curve);
        else if (kinds[i].bits != 0)
            key = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", kinds[i].bits);
        else
            key = EVP_PKEY_Q_keygen(NULL, NULL, kinds[i].type);
        if (key == NULL)
            fail_msg("cannot make a %s key", kind);
        return key;
    }
    fail_msg("unknown key kind %s", kind);
    return NULL;
}

void icx_test_write_key(const char *key_path, const char *cert_path,
                        EVP_PKEY *key, const char *cn)
{
    if (key_path != NULL) {
        int fd = open(key_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        assert_true(fd >= 0);
        FILE *f = fdopen(fd, "w");
        assert_non_null(f);
        assert_int_equal(PEM_write_PrivateKey(f, key, NULL, NULL, 0, NULL,
                                              NULL), 1);
        assert_int_equal(fclose(f), 0);
    }
    if (cert_path == NULL)
        return;
    X509 *x = X509_new();
    X509_NAME *name = X509_NAME_new();
    assert_non_null(x);
    assert_non_null(name);
    assert_int_equal(X509_set_version(x, 2), 1);
    ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
    assert_int_equal(ASN1_TIME_set_string(X509_getm_notBefore(x),
                                          "20200101000000Z"), 1);
    assert_int_equal(ASN1_TIME_set_string(X509_getm_notAfter(x),
                                          "21000101000000Z"), 1);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                               (const unsigned char *)cn, -1, -1, 0);
    X509_set_subject_name(x, name);
    X509_set_issuer_name(x, name);
    X509_set_pubkey(x, key);
    /* EdDSA signs without a separate digest. */
    const EVP_MD *md = EVP_PKEY_is_a(key, "ED25519") ? NULL : EVP_sha256();
    assert_true(X509_sign(x, key, md) > 0);
    FILE *f = fopen(cert_path, "w");
    assert_non_null(f);
    assert_int_equal(PEM_write_X509(f, x), 1);
    assert_int_equal(fclose(f), 0);
    X509_NAME_free(name);
    X509_free(x);
}
