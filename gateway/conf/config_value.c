/*
 * config_value.c - what one configuration value may be: the names the
 * configuration knows (categories, TLP labels, handling codes, built-in
 * adapters) and the value checks the key tables of config.c name
 * (icx_conftab_check: agency ids, list ids, endpoints, Z85 keys, field
 * paths, folders, adapter names and options, certificates, private keys).
 *
 * Each check looks at one value, alone: rules that join keys or files
 * belong to config.c.  A check never fails the load itself; it returns -1
 * with a reason the walker turns into `file:line:col: key: reason`.
 * Certificates are read (at most CERT_MAX_BYTES) and parsed with OpenSSL;
 * of a private key only the mode is looked at, never the bytes.
 *
 * Calls nothing else of conf/ (conf_int.h declares what config.c uses).
 * Stateless; any thread.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "conf_int.h"
#include "keys.h"
#include "p11.h"
#include "util.h"

#define CERT_MAX_BYTES (64 * 1024)

/* ---- names ------------------------------------------------------------ */

static const char *const categories[] = {
    "case-referral", "case-request", "case-response", "list-sync-request",
    "list-update", "survey-request", "survey-response", "receipt",
    "audit-checkpoint", NULL};
const char *const icx_config_tlp_names[] = {"CLEAR", "GREEN", "AMBER",
                                            "AMBER+STRICT", "RED", NULL};
const char *const icx_config_hcode_names[] = {"H0", "H1", "H2", "H3",
                                              NULL};
static const char *const adapter_names[] = {"zmq", "filedrop", NULL};

static int name_index(const char *const *names, const char *s)
{
    for (int i = 0; s != NULL && names[i] != NULL; i++)
        if (strcmp(names[i], s) == 0)
            return i;
    return -1;
}

int icx_category_known(const char *name)
{
    return name_index(categories, name) >= 0;
}

int icx_tlp_from_name(const char *name)
{
    return name_index(icx_config_tlp_names, name);
}

const char *icx_tlp_name(int tlp)
{
    if (tlp < ICX_TLP_CLEAR || tlp > ICX_TLP_RED)
        return "?";
    return icx_config_tlp_names[tlp];
}

int icx_hcode_from_name(const char *name)
{
    return name_index(icx_config_hcode_names, name);
}

int icx_config_adapter_builtin(const char *name)
{
    return name_index(adapter_names, name) >= 0;
}
/* ---- value checks (icx_conftab_check) --------------------------------- */

int icx_config_check_agency(const char *v, const char *w, char *why,
                            size_t n)
{
    (void)w;
    if (icx_agency_id_valid(v))
        return 0;
    snprintf(why, n, "\"%s\" is not an agency id (want CC-NAME or INT-NAME)",
             v);
    return -1;
}

static int endpoint_ok(const char *v, int bind)
{
    if (strncmp(v, "tcp://", 6) != 0)
        return 0;
    const char *host = v + 6;
    const char *colon = strrchr(host, ':');
    if (colon == NULL || colon == host)
        return 0;
    if (!bind && colon - host == 1 && host[0] == '*')
        return 0;
    long port = 0;
    const char *p = colon + 1;
    if (bind && strcmp(p, "*") == 0)
        return 1; /* an ephemeral port chosen by the system */
    if (*p == '\0' || strlen(p) > 5)
        return 0;
    for (; *p != '\0'; p++) {
        if (*p < '0' || *p > '9')
            return 0;
        port = port * 10 + (*p - '0');
    }
    return port >= 1 && port <= 65535;
}

int icx_config_check_listen(const char *v, const char *w, char *why,
                            size_t n)
{
    (void)w;
    if (endpoint_ok(v, 1))
        return 0;
    snprintf(why, n, "\"%s\" is not tcp://host:port (or tcp://host:* for an "
             "ephemeral port)", v);
    return -1;
}

int icx_config_check_connect(const char *v, const char *w, char *why,
                             size_t n)
{
    (void)w;
    if (endpoint_ok(v, 0))
        return 0;
    snprintf(why, n, "\"%s\" is not tcp://host:port", v);
    return -1;
}

int icx_config_check_z85(const char *v, const char *w, char *why,
                         size_t n)
{
    static const char z85[] = "0123456789abcdefghijklmnopqrstuvwxyz"
                              "ABCDEFGHIJKLMNOPQRSTUVWXYZ.-:+=^!/*?&<>()[]{}@%$#";
    (void)w;
    size_t len = strlen(v);
    if (len != 40) {
        snprintf(why, n, "want 40 characters of Z85, got %zu", len);
        return -1;
    }
    for (size_t i = 0; i < len; i++) {
        if (strchr(z85, v[i]) == NULL) {
            snprintf(why, n, "character %zu ('%c') is not Z85", i + 1, v[i]);
            return -1;
        }
    }
    return 0;
}

int icx_config_check_category(const char *v, const char *w, char *why,
                              size_t n)
{
    (void)w;
    if (icx_category_known(v))
        return 0;
    snprintf(why, n, "unknown category \"%s\"", v);
    return -1;
}

int icx_config_check_list_id(const char *v, const char *w, char *why,
                              size_t n)
{
    (void)w;
    size_t len = strlen(v);
    int ok = len >= 1 && len <= 64 && v[0] >= 'a' && v[0] <= 'z';
    for (size_t i = 0; ok && i < len; i++)
        ok = (v[i] >= 'a' && v[i] <= 'z') || (v[i] >= '0' && v[i] <= '9') ||
             v[i] == '-';
    if (ok)
        return 0;
    snprintf(why, n, "\"%s\" is not a list id (want lowercase letters, "
             "digits and dashes)", v);
    return -1;
}

int icx_config_check_field(const char *v, const char *w, char *why,
                           size_t n)
{
    (void)w;
    size_t len = strlen(v);
    int ok = len >= 1 && len <= 128 && v[0] != '.' && v[len - 1] != '.' &&
             strstr(v, "..") == NULL;
    for (size_t i = 0; ok && i < len; i++)
        ok = (v[i] >= 'a' && v[i] <= 'z') || (v[i] >= 'A' && v[i] <= 'Z') ||
             (v[i] >= '0' && v[i] <= '9') || v[i] == '_' || v[i] == '-' ||
             v[i] == '.';
    if (ok)
        return 0;
    snprintf(why, n, "\"%s\" is not a field path (want names joined by dots, "
             "e.g. victim.name)", v);
    return -1;
}

int icx_config_check_dir(const char *v, const char *w, char *why,
                         size_t n)
{
    struct stat st;
    if (stat(v, &st) < 0) {
        snprintf(why, n, "cannot use \"%s\": %s", w, strerror(errno));
        return -1;
    }
    if (!S_ISDIR(st.st_mode)) {
        snprintf(why, n, "\"%s\" is not a directory", w);
        return -1;
    }
    return 0;
}

/* A built-in adapter, or a name an external module can have. */
int icx_config_check_adapter(const char *v, const char *w, char *why,
                             size_t n)
{
    (void)w;
    size_t len = strlen(v);
    int ok = len >= 1 && len <= 32;
    for (size_t i = 0; ok && i < len; i++)
        ok = (v[i] >= 'a' && v[i] <= 'z') || (v[i] >= '0' && v[i] <= '9') ||
             v[i] == '_';
    if (ok || icx_config_adapter_builtin(v))
        return 0;
    snprintf(why, n, "unknown value \"%s\" (want zmq|filedrop, or the name "
             "of a module in paths.adapters: 1..32 of a-z 0-9 _)", v);
    return -1;
}

/* One "key=value" setting of an external adapter. */
int icx_config_check_option(const char *v, const char *w, char *why,
                            size_t n)
{
    (void)w;
    const char *eq = strchr(v, '=');
    int ok = eq != NULL && eq > v && eq - v <= 64;
    for (const char *c = v; ok && c < eq; c++)
        ok = (*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') || *c == '_';
    if (ok)
        return 0;
    snprintf(why, n, "\"%s\" is not key=value (key: 1..64 of a-z 0-9 _)", v);
    return -1;
}

int icx_config_check_http_url(const char *v, const char *w, char *why,
                              size_t n)
{
    (void)w;
    size_t len = strlen(v);
    int scheme = strncmp(v, "http://", 7) == 0 || strncmp(v, "https://", 8) == 0;
    for (size_t i = 0; scheme && i < len; i++)
        if ((unsigned char)v[i] <= 0x20 || (unsigned char)v[i] >= 0x7f)
            scheme = 0;
    if (scheme && len > 8 && len < 1024)
        return 0;
    snprintf(why, n, "\"%.200s\" is not an http:// or https:// URL "
             "(printable ASCII, no spaces)", v);
    return -1;
}

int icx_config_check_oid(const char *v, const char *w, char *why, size_t n)
{
    (void)w;
    int arcs = 1, ok = v[0] >= '0' && v[0] <= '9' && strlen(v) < 80;
    for (const char *p = v; ok && *p != '\0'; p++) {
        if (*p == '.') {
            arcs++;
            ok = p[1] >= '0' && p[1] <= '9';
        } else if (*p < '0' || *p > '9') {
            ok = 0;
        }
    }
    if (ok && arcs >= 2)
        return 0;
    snprintf(why, n, "\"%.80s\" is not a dotted OID such as 1.2.3.4", v);
    return -1;
}

/* The file must hold a PEM X.509 certificate that is valid now, with a key
 * of the minimum strength (keys.h). */
int icx_config_check_cert(const char *v, const char *w, char *why,
                          size_t n)
{
    char *data = NULL;
    size_t len = 0;
    BIO *bio = NULL;
    X509 *x = NULL;
    icx_err e;
    int rc = -1;

    icx_err_clear(&e);
    int r = icx_file_read(&data, &len, v, CERT_MAX_BYTES, &e);
    if (r < 0) {
        const char *m = e.msg;
        size_t vl = strlen(v);
        if (strncmp(m, v, vl) == 0 && strncmp(m + vl, ": ", 2) == 0)
            m += vl + 2;
        snprintf(why, n, "cannot read \"%s\": %s", w, m);
        goto out;
    }
    bio = BIO_new_mem_buf(data, (int)len);
    if (bio != NULL)
        x = PEM_read_bio_X509(bio, NULL, NULL, NULL);
    if (x == NULL) {
        snprintf(why, n, "\"%s\" is not a PEM X.509 certificate", w);
        goto out;
    }
    const ASN1_TIME *t = X509_get0_notAfter(x);
    if (X509_cmp_current_time(t) <= 0) {
        struct tm tm;
        char when[ICX_TIME_LEN + 1] = "?";
        if (ASN1_TIME_to_tm(t, &tm) == 1)
            icx_time_format(when, sizeof when, timegm(&tm));
        snprintf(why, n, "certificate \"%s\" expired at %s", w, when);
        goto out;
    }
    t = X509_get0_notBefore(x);
    if (X509_cmp_current_time(t) >= 0) {
        struct tm tm;
        char when[ICX_TIME_LEN + 1] = "?";
        if (ASN1_TIME_to_tm(t, &tm) == 1)
            icx_time_format(when, sizeof when, timegm(&tm));
        snprintf(why, n, "certificate \"%s\" is not valid before %s", w, when);
        goto out;
    }
    if (icx_keys_check_strength(X509_get0_pubkey(x), w, &e) < 0) {
        snprintf(why, n, "%s", e.msg);
        goto out;
    }
    rc = 0;
out:
    ERR_clear_error();
    X509_free(x);
    BIO_free(bio);
    free(data);
    return rc;
}

int icx_config_check_cert_bundle(const char *v, const char *w, char *why,
                                 size_t n)
{
    char *data = NULL;
    size_t len = 0;
    BIO *bio = NULL;
    X509 *x = NULL;
    icx_err e;
    int rc = -1, count = 0;
    icx_err_clear(&e);
    if (icx_file_read(&data, &len, v, CERT_MAX_BYTES * 16, &e) < 0) {
        snprintf(why, n, "cannot read \"%s\"", w);
        goto out;
    }
    bio = BIO_new_mem_buf(data, (int)len);
    while (bio != NULL && (x = PEM_read_bio_X509(bio, NULL, NULL, NULL))) {
        count++;
        if (count > 16) {
            snprintf(why, n, "\"%s\": more than 16 certificates", w);
            goto out;
        }
        if (icx_keys_check_strength(X509_get0_pubkey(x), w, &e) < 0) {
            snprintf(why, n, "%s", e.msg);
            goto out;
        }
        X509_free(x);
        x = NULL;
    }
    if (count == 0) {
        snprintf(why, n, "\"%s\" holds no PEM X.509 certificate", w);
        goto out;
    }
    rc = 0;
out:
    ERR_clear_error();
    X509_free(x);
    BIO_free(bio);
    free(data);
    return rc;
}

/* A private key file (the signing key, the CURVE secret): the same mode
 * rule icx serve applies when it loads it, so `icx config check` refuses
 * what the daemon would.  Only the mode is looked at, never the bytes; a
 * file not there yet is left to the program that loads it (the keys of
 * an example configuration are made by `icx keys gen`). */
int icx_config_check_private(const char *v, const char *w, char *why,
                             size_t n)
{
    icx_err e;
    icx_err_clear(&e);
    int rc = icx_keys_check_private_mode(v, &e);
    if (rc == ICX_OK || rc == ICX_ENOTFOUND)
        return 0;
    const char *m = e.msg;
    size_t vl = strlen(v);
    if (strncmp(m, v, vl) == 0 && strncmp(m + vl, ": ", 2) == 0)
        m += vl + 2;
    snprintf(why, n, "\"%s\": %s", w, m);
    return -1;
}

int icx_config_check_key_ref(const char *v, const char *w, char *why,
                             size_t n)
{
    (void)w;
    if (!icx_p11_uri_is(v))
        return 0;
    icx_p11_uri u;
    icx_err e;
    icx_err_clear(&e);
    if (icx_p11_uri_parse(&u, v, &e) == ICX_OK)
        return 0;
    snprintf(why, n, "%s", e.msg);
    return -1;
}

int icx_config_check_env_name(const char *v, const char *w, char *why,
                              size_t n)
{
    size_t len = strlen(v);
    int ok = len > 0 && len <= 64 && !(v[0] >= '0' && v[0] <= '9');
    for (const char *c = v; ok && *c; c++)
        ok = (*c >= 'A' && *c <= 'Z') || (*c >= 'a' && *c <= 'z') ||
             (*c >= '0' && *c <= '9') || *c == '_';
    if (ok)
        return 0;
    snprintf(why, n, "\"%s\" is not an environment variable name (letters, "
             "digits, _; at most 64)", w);
    return -1;
}
