/*
 * p11.c - signing keys in PKCS#11 tokens (see p11.h).
 *
 * Parses RFC 7512 URIs (bounded: the URI, each value and the id have a
 * maximum; values are percent-decoded; unknown or repeated attributes are
 * errors, so a typo never silently selects another key), loads the
 * module with dlopen and speaks the standard C API through the function
 * list it returns.  The header is p11-kit's pkcs11.h (libp11-kit-dev):
 * the API's types and constants, nothing linked.
 *
 * A module is initialized once per process however many icx_p11 use it
 * (a table of loaded modules with reference counts under one mutex):
 * C_Initialize a second time is an error, and C_Finalize would close the
 * sessions of every other user.  Each icx_p11 has one session and one
 * mutex around C_SignInit/C_Sign.
 *
 * Failures name the step and the token: module not loadable, no token
 * with that label (the labels present are listed), wrong or locked PIN,
 * no key, a key whose halves do not match (a test signature is verified
 * with the public half at open).  The PIN and signatures are never
 * logged; the PIN is not kept after C_Login.
 */
#include "p11.h"

#include <ctype.h>
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/param_build.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <p11-kit/pkcs11.h>

#include "keys.h"
#include "util.h"
#include "xmlsig.h"

/* ---- URIs ---------------------------------------------------------------- */

int icx_p11_uri_is(const char *s)
{
    return s != NULL && strncasecmp(s, "pkcs11:", 7) == 0;
}

/* Percent-decodes [s, e) into out (at most max bytes); *len gets the
 * length.  Raw bytes must be printable ASCII other than the separators
 * of the part they sit in (seps). */
static int decode(unsigned char *out, size_t *len, size_t max, const char *s,
                  const char *e, const char *seps, const char *name,
                  icx_err *err)
{
    size_t n = 0;
    for (const char *p = s; p < e; p++) {
        unsigned char c = (unsigned char)*p;
        if (c == '%') {
            if (e - p < 3 || !isxdigit((unsigned char)p[1]) ||
                !isxdigit((unsigned char)p[2]))
                return icx_err_set(err, ICX_EINVAL, "pkcs11 URI: %s: bad "
                                   "percent-encoding", name);
            char hex[3] = {p[1], p[2], 0};
            c = (unsigned char)strtoul(hex, NULL, 16);
            p += 2;
        } else if (c <= 0x20 || c >= 0x7f || strchr(seps, c) != NULL) {
            return icx_err_set(err, ICX_EINVAL, "pkcs11 URI: %s: character "
                               "0x%02x must be percent-encoded", name, c);
        }
        if (n == max)
            return icx_err_set(err, ICX_EINVAL, "pkcs11 URI: %s: longer "
                               "than %zu bytes", name, max);
        out[n++] = c;
    }
    *len = n;
    return ICX_OK;
}

static int decode_str(char *out, size_t max, const char *s, const char *e,
                      const char *seps, const char *name, icx_err *err)
{
    size_t n = 0;
    int rc = decode((unsigned char *)out, &n, max, s, e, seps, name, err);
    if (rc < 0)
        return rc;
    if (memchr(out, '\0', n) != NULL)
        return icx_err_set(err, ICX_EINVAL, "pkcs11 URI: %s: holds a NUL "
                           "byte", name);
    if (n == 0)
        return icx_err_set(err, ICX_EINVAL, "pkcs11 URI: %s: empty", name);
    out[n] = '\0';
    return ICX_OK;
}

enum { A_TOKEN, A_MANUF, A_SERIAL, A_MODEL, A_OBJECT, A_ID, A_TYPE, A_PIN_SOURCE,
       A_COUNT };

static int path_attr(icx_p11_uri *u, unsigned *seen, const char *s,
                     const char *e, icx_err *err)
{
    static const char seps[] = ";?&/";
    const char *eq = memchr(s, '=', (size_t)(e - s));
    char name[32];
    size_t nl = eq ? (size_t)(eq - s) : (size_t)(e - s);
    snprintf(name, sizeof name, "%.*s", (int)(nl < 31 ? nl : 31), s);
    if (eq == NULL)
        return icx_err_set(err, ICX_EINVAL, "pkcs11 URI: attribute \"%s\" "
                           "has no value (want name=value)", name);
    static const char *const names[] = {"token", "manufacturer", "serial",
                                        "model", "object", "id", "type"};
    int a = -1;
    for (int i = 0; i < (int)(sizeof names / sizeof names[0]); i++)
        if (strlen(names[i]) == nl && strncmp(names[i], s, nl) == 0)
            a = i;
    if (a < 0)
        return icx_err_set(err, ICX_EINVAL, "pkcs11 URI: unknown attribute "
                           "\"%s\" (token, manufacturer, serial, model, "
                           "object, id, type)", name);
    if (*seen & (1u << a))
        return icx_err_set(err, ICX_EINVAL, "pkcs11 URI: %s given twice",
                           name);
    *seen |= 1u << a;
    const char *v = eq + 1;
    switch (a) {
    case A_TOKEN:
        return decode_str(u->token, ICX_P11_LABEL_MAX, v, e, seps, name, err);
    case A_MANUF:
        return decode_str(u->manufacturer, ICX_P11_LABEL_MAX, v, e, seps, name,
                          err);
    case A_SERIAL:
        return decode_str(u->serial, ICX_P11_LABEL_MAX, v, e, seps, name, err);
    case A_MODEL:
        return decode_str(u->model, ICX_P11_LABEL_MAX, v, e, seps, name, err);
    case A_OBJECT:
        return decode_str(u->object, ICX_P11_LABEL_MAX, v, e, seps, name, err);
    case A_ID: {
        int rc = decode(u->id, &u->id_len, ICX_P11_ID_MAX, v, e, seps, name,
                        err);
        if (rc == ICX_OK && u->id_len == 0)
            rc = icx_err_set(err, ICX_EINVAL, "pkcs11 URI: id: empty");
        return rc;
    }
    default: {
        char type[16];
        int rc = decode_str(type, sizeof type - 1, v, e, seps, name, err);
        if (rc < 0)
            return rc;
        if (strcmp(type, "private") != 0)
            return icx_err_set(err, ICX_EINVAL, "pkcs11 URI: type=%s: the "
                               "signing key is type=private", type);
        return ICX_OK;
    }
    }
}

static int query_attr(icx_p11_uri *u, unsigned *seen, const char *s,
                      const char *e, icx_err *err)
{
    const char *eq = memchr(s, '=', (size_t)(e - s));
    size_t nl = eq ? (size_t)(eq - s) : (size_t)(e - s);
    char name[32];
    snprintf(name, sizeof name, "%.*s", (int)(nl < 31 ? nl : 31), s);
    if (eq == NULL)
        return icx_err_set(err, ICX_EINVAL, "pkcs11 URI: attribute \"%s\" "
                           "has no value (want name=value)", name);
    if (strcmp(name, "pin-value") == 0)
        return icx_err_set(err, ICX_EINVAL, "pkcs11 URI: pin-value is refused: "
                           "a PIN must not be written in the configuration; "
                           "use keys.pin_file or keys.pin_env");
    if (strcmp(name, "module-path") == 0 || strcmp(name, "module-name") == 0)
        return icx_err_set(err, ICX_EINVAL, "pkcs11 URI: %s is not used; the "
                           "module is keys.pkcs11_module", name);
    if (strcmp(name, "pin-source") != 0)
        return icx_err_set(err, ICX_EINVAL, "pkcs11 URI: unknown query "
                           "attribute \"%s\" (pin-source)", name);
    if (*seen & (1u << A_PIN_SOURCE))
        return icx_err_set(err, ICX_EINVAL, "pkcs11 URI: pin-source given "
                           "twice");
    *seen |= 1u << A_PIN_SOURCE;
    char src[sizeof u->pin_source];
    int rc = decode_str(src, sizeof src - 1, eq + 1, e, "&", name, err);
    if (rc < 0)
        return rc;
    const char *path = src;
    if (strncmp(path, "file://", 7) == 0)
        path += 7;
    else if (strncmp(path, "file:", 5) == 0)
        path += 5;
    if (path[0] != '/')
        return icx_err_set(err, ICX_EINVAL, "pkcs11 URI: pin-source: want an "
                           "absolute file path or file: URI, got \"%s\"", src);
    snprintf(u->pin_source, sizeof u->pin_source, "%s", path);
    return ICX_OK;
}

int icx_p11_uri_parse(icx_p11_uri *out, const char *uri, icx_err *err)
{
    memset(out, 0, sizeof *out);
    if (uri == NULL || !icx_p11_uri_is(uri))
        return icx_err_set(err, ICX_EINVAL, "not a pkcs11: URI");
    size_t len = strnlen(uri, ICX_P11_URI_MAX + 1);
    if (len > ICX_P11_URI_MAX)
        return icx_err_set(err, ICX_EINVAL, "pkcs11 URI: longer than %d "
                           "bytes", ICX_P11_URI_MAX);
    const char *p = uri + 7, *end = uri + len;
    const char *q = memchr(p, '?', (size_t)(end - p));
    const char *pend = q ? q : end;
    unsigned seen = 0;
    int rc = ICX_OK;
    while (rc == ICX_OK && p < pend) {
        const char *semi = memchr(p, ';', (size_t)(pend - p));
        const char *e = semi ? semi : pend;
        if (e == p)
            return icx_err_set(err, ICX_EINVAL, "pkcs11 URI: empty attribute "
                               "(\";;\" or a trailing \";\")");
        rc = path_attr(out, &seen, p, e, err);
        p = semi ? e + 1 : e;
        if (semi && p == pend)
            return icx_err_set(err, ICX_EINVAL, "pkcs11 URI: empty attribute "
                               "(\";;\" or a trailing \";\")");
    }
    if (rc == ICX_OK && q != NULL) {
        p = q + 1;
        if (p == end)
            return icx_err_set(err, ICX_EINVAL, "pkcs11 URI: empty query");
        while (rc == ICX_OK && p < end) {
            const char *amp = memchr(p, '&', (size_t)(end - p));
            const char *e = amp ? amp : end;
            if (e == p || (amp && amp + 1 == end))
                return icx_err_set(err, ICX_EINVAL, "pkcs11 URI: empty query "
                                   "attribute");
            rc = query_attr(out, &seen, p, e, err);
            p = amp ? e + 1 : e;
        }
    }
    if (rc < 0)
        return rc;
    if (out->token[0] == '\0' && out->serial[0] == '\0')
        return icx_err_set(err, ICX_EINVAL, "pkcs11 URI: names no token "
                           "(want token= or serial=)");
    if (out->object[0] == '\0' && out->id_len == 0)
        return icx_err_set(err, ICX_EINVAL, "pkcs11 URI: names no key (want "
                           "object= or id=)");
    return ICX_OK;
}

/* ---- PINs ---------------------------------------------------------------- */

int icx_p11_pin_read(char *out, const char *pin_file, const char *pin_env,
                     icx_err *err)
{
    out[0] = '\0';
    if (pin_file != NULL) {
        char *data = NULL;
        size_t len = 0;
        int rc = icx_keys_check_private_mode(pin_file, err);
        if (rc < 0)
            return icx_err_wrap(err, "PIN file");
        rc = icx_file_read(&data, &len, pin_file, 4096, err);
        if (rc < 0)
            return rc;
        size_t n = strcspn(data, "\r\n");
        if (n == 0 || n > ICX_P11_PIN_MAX)
            rc = icx_err_set(err, ICX_EINVAL, "%s: want the PIN on the first "
                             "line (1..%d bytes)", pin_file, ICX_P11_PIN_MAX);
        else
            memcpy(out, data, n), out[n] = '\0';
        OPENSSL_cleanse(data, len);
        free(data);
        return rc;
    }
    if (pin_env != NULL) {
        const char *v = getenv(pin_env);
        if (v == NULL || v[0] == '\0')
            return icx_err_set(err, ICX_ENOTFOUND, "environment variable %s "
                               "(the token PIN) is not set", pin_env);
        size_t n = strlen(v);
        if (n > ICX_P11_PIN_MAX)
            return icx_err_set(err, ICX_EINVAL, "environment variable %s: "
                               "longer than %d bytes", pin_env,
                               ICX_P11_PIN_MAX);
        memcpy(out, v, n + 1);
        return ICX_OK;
    }
    return icx_err_set(err, ICX_ENOTFOUND, "no PIN source: set keys.pin_file "
                       "or keys.pin_env (or pin-source in the URI)");
}

/* ---- modules ------------------------------------------------------------- */

#define MAX_MODULES 8

static struct module {
    char *path;
    void *dl;
    CK_FUNCTION_LIST *fl;
    int refs;
    int finalize; /* we initialized it */
} modules[MAX_MODULES];
static pthread_mutex_t modules_lock = PTHREAD_MUTEX_INITIALIZER;

static const char *rv_name(CK_RV rv)
{
    switch (rv) {
    case CKR_OK: return "CKR_OK";
    case CKR_PIN_INCORRECT: return "CKR_PIN_INCORRECT";
    case CKR_PIN_LOCKED: return "CKR_PIN_LOCKED";
    case CKR_PIN_LEN_RANGE: return "CKR_PIN_LEN_RANGE";
    case CKR_TOKEN_NOT_PRESENT: return "CKR_TOKEN_NOT_PRESENT";
    case CKR_TOKEN_NOT_RECOGNIZED: return "CKR_TOKEN_NOT_RECOGNIZED";
    case CKR_DEVICE_REMOVED: return "CKR_DEVICE_REMOVED";
    case CKR_DEVICE_ERROR: return "CKR_DEVICE_ERROR";
    case CKR_KEY_HANDLE_INVALID: return "CKR_KEY_HANDLE_INVALID";
    case CKR_OBJECT_HANDLE_INVALID: return "CKR_OBJECT_HANDLE_INVALID";
    case CKR_KEY_FUNCTION_NOT_PERMITTED: return "CKR_KEY_FUNCTION_NOT_PERMITTED";
    case CKR_MECHANISM_INVALID: return "CKR_MECHANISM_INVALID";
    case CKR_SESSION_HANDLE_INVALID: return "CKR_SESSION_HANDLE_INVALID";
    case CKR_SESSION_CLOSED: return "CKR_SESSION_CLOSED";
    case CKR_USER_NOT_LOGGED_IN: return "CKR_USER_NOT_LOGGED_IN";
    case CKR_USER_PIN_NOT_INITIALIZED: return "CKR_USER_PIN_NOT_INITIALIZED";
    case CKR_ARGUMENTS_BAD: return "CKR_ARGUMENTS_BAD";
    case CKR_TEMPLATE_INCONSISTENT: return "CKR_TEMPLATE_INCONSISTENT";
    case CKR_ATTRIBUTE_VALUE_INVALID: return "CKR_ATTRIBUTE_VALUE_INVALID";
    case CKR_BUFFER_TOO_SMALL: return "CKR_BUFFER_TOO_SMALL";
    case CKR_CRYPTOKI_NOT_INITIALIZED: return "CKR_CRYPTOKI_NOT_INITIALIZED";
    case CKR_GENERAL_ERROR: return "CKR_GENERAL_ERROR";
    case CKR_FUNCTION_FAILED: return "CKR_FUNCTION_FAILED";
    case CKR_HOST_MEMORY: return "CKR_HOST_MEMORY";
    default: return "CKR_?";
    }
}

static int p11err(icx_err *err, CK_RV rv, const char *fmt, const char *a)
{
    char what[256];
    snprintf(what, sizeof what, fmt, a);
    return icx_err_set(err, ICX_ECRYPTO, "%s: %s (0x%lx)", what, rv_name(rv),
                       (unsigned long)rv);
}

static void module_put(struct module *m)
{
    if (m == NULL)
        return;
    pthread_mutex_lock(&modules_lock);
    if (--m->refs == 0) {
        if (m->finalize)
            m->fl->C_Finalize(NULL);
        dlclose(m->dl);
        free(m->path);
        memset(m, 0, sizeof *m);
    }
    pthread_mutex_unlock(&modules_lock);
}

static int module_get(struct module **out, const char *path, icx_err *err)
{
    int rc = ICX_OK;
    struct module *m = NULL, *free_slot = NULL;
    void *dl = NULL;
    *out = NULL;
    if (path == NULL || path[0] == '\0')
        return icx_err_set(err, ICX_ECONFIG, "no PKCS#11 module configured "
                           "(keys.pkcs11_module)");
    pthread_mutex_lock(&modules_lock);
    for (int i = 0; i < MAX_MODULES; i++) {
        if (modules[i].refs > 0 && strcmp(modules[i].path, path) == 0)
            m = &modules[i];
        else if (modules[i].refs == 0 && free_slot == NULL)
            free_slot = &modules[i];
    }
    if (m != NULL) {
        m->refs++;
        *out = m;
        goto out;
    }
    if (free_slot == NULL) {
        rc = icx_err_set(err, ICX_EFULL, "more than %d PKCS#11 modules",
                         MAX_MODULES);
        goto out;
    }
    dl = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (dl == NULL) {
        const char *why = dlerror();
        rc = icx_err_set(err, ICX_ECONFIG, "PKCS#11 module %s: cannot load: "
                         "%s", path, why ? why : "unknown error");
        goto out;
    }
    CK_C_GetFunctionList get = NULL;
    *(void **)&get = dlsym(dl, "C_GetFunctionList");
    CK_FUNCTION_LIST *fl = NULL;
    if (get == NULL || get(&fl) != CKR_OK || fl == NULL) {
        rc = icx_err_set(err, ICX_ECONFIG, "PKCS#11 module %s: not a PKCS#11 "
                         "module (no usable C_GetFunctionList)", path);
        goto out;
    }
    CK_C_INITIALIZE_ARGS args;
    memset(&args, 0, sizeof args);
    args.flags = CKF_OS_LOCKING_OK;
    CK_RV rv = fl->C_Initialize(&args);
    if (rv != CKR_OK && rv != CKR_CRYPTOKI_ALREADY_INITIALIZED) {
        rc = p11err(err, rv, "PKCS#11 module %s: C_Initialize", path);
        goto out;
    }
    free_slot->path = strdup(path);
    if (free_slot->path == NULL) {
        if (rv == CKR_OK)
            fl->C_Finalize(NULL);
        rc = icx_err_set(err, ICX_ENOMEM, "out of memory");
        goto out;
    }
    free_slot->dl = dl;
    free_slot->fl = fl;
    free_slot->refs = 1;
    free_slot->finalize = rv == CKR_OK;
    dl = NULL;
    *out = free_slot;
out:
    if (dl != NULL)
        dlclose(dl);
    pthread_mutex_unlock(&modules_lock);
    return rc;
}

/* ---- tokens and keys ----------------------------------------------------- */

struct icx_p11 {
    struct module *m;
    CK_SESSION_HANDLE session;
    int have_session;
    CK_OBJECT_HANDLE key;
    int ecdsa;
    size_t field;
    EVP_PKEY *pub;
    char token[ICX_P11_LABEL_MAX + 1];
    pthread_mutex_t lock;
};

/* Token info fields are fixed width, padded with spaces. */
static void field_str(char *out, size_t outlen, const unsigned char *f,
                      size_t n)
{
    while (n > 0 && (f[n - 1] == ' ' || f[n - 1] == '\0'))
        n--;
    snprintf(out, outlen, "%.*s", (int)n, (const char *)f);
}

static int find_slot(CK_SLOT_ID *out, struct module *m, const icx_p11_uri *u,
                     const char *module, icx_err *err)
{
    CK_SLOT_ID slots[64];
    CK_ULONG n = 64;
    char seen[512] = "";
    size_t used = 0;
    CK_RV rv = m->fl->C_GetSlotList(CK_TRUE, slots, &n);
    if (rv == CKR_BUFFER_TOO_SMALL)
        return icx_err_set(err, ICX_EFULL, "PKCS#11 module %s: more than 64 "
                           "tokens", module);
    if (rv != CKR_OK)
        return p11err(err, rv, "PKCS#11 module %s: C_GetSlotList", module);
    for (CK_ULONG i = 0; i < n; i++) {
        CK_TOKEN_INFO ti;
        char label[40], manuf[40], model[24], serial[24];
        if (m->fl->C_GetTokenInfo(slots[i], &ti) != CKR_OK)
            continue;
        field_str(label, sizeof label, ti.label, sizeof ti.label);
        field_str(manuf, sizeof manuf, ti.manufacturerID,
                  sizeof ti.manufacturerID);
        field_str(model, sizeof model, ti.model, sizeof ti.model);
        field_str(serial, sizeof serial, ti.serialNumber,
                  sizeof ti.serialNumber);
        if (!(ti.flags & CKF_TOKEN_INITIALIZED))
            continue; /* the free slot SoftHSM and others keep */
        if (used < sizeof seen) {
            int w = snprintf(seen + used, sizeof seen - used, "%s\"%s\"",
                             used ? ", " : "", label);
            used += w > 0 ? (size_t)w : 0;
        }
        if ((u->token[0] && strcmp(u->token, label) != 0) ||
            (u->manufacturer[0] && strcmp(u->manufacturer, manuf) != 0) ||
            (u->model[0] && strcmp(u->model, model) != 0) ||
            (u->serial[0] && strcmp(u->serial, serial) != 0))
            continue;
        *out = slots[i];
        return ICX_OK;
    }
    return icx_err_set(err, ICX_ENOTFOUND, "PKCS#11 module %s: no token "
                       "%s\"%s\" (tokens present: %s)", module,
                       u->token[0] ? "labelled " : "with serial ",
                       u->token[0] ? u->token : u->serial,
                       used ? seen : "none");
}

static int login(struct module *m, CK_SESSION_HANDLE s, const char *pin,
                 const char *token, icx_err *err)
{
    if (pin == NULL)
        return icx_err_set(err, ICX_EINVAL, "PKCS#11 token \"%s\": no PIN",
                           token);
    CK_RV rv = m->fl->C_Login(s, CKU_USER, (CK_UTF8CHAR *)pin,
                              (CK_ULONG)strlen(pin));
    if (rv == CKR_OK || rv == CKR_USER_ALREADY_LOGGED_IN)
        return ICX_OK;
    if (rv == CKR_PIN_INCORRECT || rv == CKR_PIN_LEN_RANGE)
        return icx_err_set(err, ICX_EPERM, "PKCS#11 token \"%s\": wrong PIN "
                           "(C_Login: %s)", token, rv_name(rv));
    if (rv == CKR_PIN_LOCKED)
        return icx_err_set(err, ICX_EPERM, "PKCS#11 token \"%s\": PIN locked "
                           "after too many wrong tries; the security officer "
                           "must unlock it", token);
    return p11err(err, rv, "PKCS#11 token \"%s\": C_Login", token);
}

/* The template naming the key of u: class, then label and id if given. */
static CK_ULONG key_template(CK_ATTRIBUTE *t, CK_OBJECT_CLASS *cls,
                             const icx_p11_uri *u)
{
    CK_ULONG n = 0;
    t[n++] = (CK_ATTRIBUTE){CKA_CLASS, cls, sizeof *cls};
    if (u->object[0])
        t[n++] = (CK_ATTRIBUTE){CKA_LABEL, (void *)u->object,
                                (CK_ULONG)strlen(u->object)};
    if (u->id_len)
        t[n++] = (CK_ATTRIBUTE){CKA_ID, (void *)u->id, (CK_ULONG)u->id_len};
    return n;
}

/* *count gets 0, 1 or 2 (2: more than one). */
static int find_objects(CK_OBJECT_HANDLE *out, int *count, struct module *m,
                        CK_SESSION_HANDLE s, CK_OBJECT_CLASS cls,
                        const icx_p11_uri *u, icx_err *err)
{
    CK_ATTRIBUTE t[3];
    CK_OBJECT_HANDLE h[2];
    CK_ULONG found = 0;
    CK_ULONG n = key_template(t, &cls, u);
    CK_RV rv = m->fl->C_FindObjectsInit(s, t, n);
    if (rv != CKR_OK)
        return p11err(err, rv, "PKCS#11 token \"%s\": C_FindObjectsInit",
                      u->token);
    rv = m->fl->C_FindObjects(s, h, 2, &found);
    m->fl->C_FindObjectsFinal(s);
    if (rv != CKR_OK)
        return p11err(err, rv, "PKCS#11 token \"%s\": C_FindObjects", u->token);
    *count = (int)found;
    if (found > 0)
        *out = h[0];
    return ICX_OK;
}

/* Reads one variable-length attribute (malloc'ed into *out). */
static int get_attr(unsigned char **out, size_t *len, struct module *m,
                    CK_SESSION_HANDLE s, CK_OBJECT_HANDLE o,
                    CK_ATTRIBUTE_TYPE type, icx_err *err)
{
    CK_ATTRIBUTE a = {type, NULL, 0};
    *out = NULL;
    CK_RV rv = m->fl->C_GetAttributeValue(s, o, &a, 1);
    if (rv != CKR_OK || a.ulValueLen == (CK_ULONG)-1 || a.ulValueLen == 0 ||
        a.ulValueLen > 4096)
        return icx_err_set(err, ICX_ECRYPTO, "PKCS#11: cannot read attribute "
                           "0x%lx of the key: %s", (unsigned long)type,
                           rv_name(rv));
    a.pValue = malloc(a.ulValueLen);
    if (a.pValue == NULL)
        return icx_err_set(err, ICX_ENOMEM, "out of memory");
    rv = m->fl->C_GetAttributeValue(s, o, &a, 1);
    if (rv != CKR_OK) {
        free(a.pValue);
        return p11err(err, rv, "PKCS#11: C_GetAttributeValue%s", "");
    }
    *out = a.pValue;
    *len = a.ulValueLen;
    return ICX_OK;
}

static EVP_PKEY *pkey_from_params(const char *type, OSSL_PARAM_BLD *bld)
{
    EVP_PKEY *pkey = NULL;
    OSSL_PARAM *params = OSSL_PARAM_BLD_to_param(bld);
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, type, NULL);
    if (params != NULL && ctx != NULL && EVP_PKEY_fromdata_init(ctx) == 1 &&
        EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params) != 1)
        pkey = NULL;
    EVP_PKEY_CTX_free(ctx);
    OSSL_PARAM_free(params);
    return pkey;
}

static int rsa_public(EVP_PKEY **out, struct module *m, CK_SESSION_HANDLE s,
                      CK_OBJECT_HANDLE o, icx_err *err)
{
    unsigned char *mod = NULL, *exp = NULL;
    size_t ml = 0, el = 0;
    BIGNUM *n = NULL, *e = NULL;
    OSSL_PARAM_BLD *bld = NULL;
    int rc = get_attr(&mod, &ml, m, s, o, CKA_MODULUS, err);
    if (rc == ICX_OK)
        rc = get_attr(&exp, &el, m, s, o, CKA_PUBLIC_EXPONENT, err);
    if (rc < 0)
        goto out;
    n = BN_bin2bn(mod, (int)ml, NULL);
    e = BN_bin2bn(exp, (int)el, NULL);
    bld = OSSL_PARAM_BLD_new();
    if (n == NULL || e == NULL || bld == NULL ||
        OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, n) != 1 ||
        OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, e) != 1 ||
        (*out = pkey_from_params("RSA", bld)) == NULL)
        rc = icx_err_set(err, ICX_ECRYPTO, "PKCS#11: the token's RSA public "
                         "key is not usable");
out:
    OSSL_PARAM_BLD_free(bld);
    BN_free(n);
    BN_free(e);
    free(mod);
    free(exp);
    return rc;
}

static int ec_public(EVP_PKEY **out, struct module *m, CK_SESSION_HANDLE s,
                     CK_OBJECT_HANDLE o, icx_err *err)
{
    unsigned char *params = NULL, *point = NULL;
    size_t pl = 0, ptl = 0;
    ASN1_OBJECT *oid = NULL;
    ASN1_OCTET_STRING *os = NULL;
    OSSL_PARAM_BLD *bld = NULL;
    const unsigned char *p;
    int rc = get_attr(&params, &pl, m, s, o, CKA_EC_PARAMS, err);
    if (rc == ICX_OK)
        rc = get_attr(&point, &ptl, m, s, o, CKA_EC_POINT, err);
    if (rc < 0)
        goto out;
    p = params;
    oid = d2i_ASN1_OBJECT(NULL, &p, (long)pl);
    int nid = oid ? OBJ_obj2nid(oid) : NID_undef;
    if (nid == NID_undef || p != params + pl) {
        rc = icx_err_set(err, ICX_EPOLICY, "PKCS#11: the token's EC key has "
                         "no named curve; %s", ICX_KEYS_RULE);
        goto out;
    }
    /* CKA_EC_POINT is a DER OCTET STRING around the point (PKCS#11 2.40);
     * some modules give the bare point. */
    const unsigned char *q = point;
    size_t ql = ptl;
    p = point;
    os = d2i_ASN1_OCTET_STRING(NULL, &p, (long)ptl);
    if (os != NULL && p == point + ptl) {
        q = ASN1_STRING_get0_data(os);
        ql = (size_t)ASN1_STRING_length(os);
    }
    bld = OSSL_PARAM_BLD_new();
    if (bld == NULL ||
        OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME,
                                        OBJ_nid2sn(nid), 0) != 1 ||
        OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, q,
                                         ql) != 1 ||
        (*out = pkey_from_params("EC", bld)) == NULL)
        rc = icx_err_set(err, ICX_ECRYPTO, "PKCS#11: the token's EC public "
                         "key is not usable");
out:
    OSSL_PARAM_BLD_free(bld);
    ASN1_OCTET_STRING_free(os);
    ASN1_OBJECT_free(oid);
    free(params);
    free(point);
    return rc;
}

static const unsigned char sha256_prefix[] = {
    0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01,
    0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00, 0x04, 0x20};

int icx_p11_sign_digest(icx_p11 *p, const unsigned char *digest, size_t dlen,
                        unsigned char *sig, size_t *siglen, icx_err *err)
{
    unsigned char in[sizeof sha256_prefix + 32];
    CK_MECHANISM mech = {p->ecdsa ? CKM_ECDSA : CKM_RSA_PKCS, NULL, 0};
    size_t want = p->ecdsa ? 2 * p->field : p->field;
    const unsigned char *data = digest;
    CK_ULONG inlen = (CK_ULONG)dlen, outlen = (CK_ULONG)*siglen;
    if (dlen != 32)
        return icx_err_set(err, ICX_EINVAL, "PKCS#11 sign: want a SHA-256 "
                           "digest (32 bytes), got %zu", dlen);
    if (*siglen < want)
        return icx_err_set(err, ICX_EINVAL, "PKCS#11 sign: signature buffer "
                           "of %zu bytes, want %zu", *siglen, want);
    if (!p->ecdsa) {
        memcpy(in, sha256_prefix, sizeof sha256_prefix);
        memcpy(in + sizeof sha256_prefix, digest, 32);
        data = in;
        inlen = sizeof in;
    }
    pthread_mutex_lock(&p->lock);
    CK_RV rv = p->m->fl->C_SignInit(p->session, &mech, p->key);
    if (rv == CKR_OK)
        rv = p->m->fl->C_Sign(p->session, (CK_BYTE *)data, inlen, sig,
                              &outlen);
    pthread_mutex_unlock(&p->lock);
    if (rv == CKR_KEY_HANDLE_INVALID || rv == CKR_OBJECT_HANDLE_INVALID)
        return icx_err_set(err, ICX_ENOTFOUND, "PKCS#11 token \"%s\": the "
                           "signing key is gone (removed from the token?)",
                           p->token);
    if (rv != CKR_OK)
        return p11err(err, rv, "PKCS#11 token \"%s\": C_Sign", p->token);
    if (outlen != want)
        return icx_err_set(err, ICX_ECRYPTO, "PKCS#11 token \"%s\": "
                           "signature of %lu bytes, want %zu", p->token,
                           (unsigned long)outlen, want);
    *siglen = outlen;
    return ICX_OK;
}

/* A test signature checked with the public half: proves the URI named the
 * halves of one key pair, and that the token signs at all. */
static int self_test(icx_p11 *p, icx_err *err)
{
    unsigned char dg[32], sig[1024], der[1100];
    size_t siglen = sizeof sig, derlen = 0;
    int rc = ICX_OK;
    EVP_PKEY_CTX *ctx = NULL;
    ECDSA_SIG *es = NULL;
    if (RAND_bytes(dg, sizeof dg) != 1)
        return icx_err_set(err, ICX_ECRYPTO, "no randomness");
    rc = icx_p11_sign_digest(p, dg, sizeof dg, sig, &siglen, err);
    if (rc < 0)
        return rc;
    const unsigned char *s = sig;
    derlen = siglen;
    if (p->ecdsa) {
        BIGNUM *r = BN_bin2bn(sig, (int)p->field, NULL);
        BIGNUM *ss = BN_bin2bn(sig + p->field, (int)p->field, NULL);
        es = ECDSA_SIG_new();
        if (r == NULL || ss == NULL || es == NULL ||
            ECDSA_SIG_set0(es, r, ss) != 1) {
            BN_free(r);
            BN_free(ss);
            rc = icx_err_set(err, ICX_ENOMEM, "out of memory");
            goto out;
        }
        unsigned char *w = der;
        int n = i2d_ECDSA_SIG(es, NULL);
        if (n <= 0 || (size_t)n > sizeof der || i2d_ECDSA_SIG(es, &w) != n) {
            rc = icx_err_set(err, ICX_ECRYPTO, "cannot encode ECDSA signature");
            goto out;
        }
        s = der;
        derlen = (size_t)n;
    }
    ctx = EVP_PKEY_CTX_new(p->pub, NULL);
    if (ctx == NULL || EVP_PKEY_verify_init(ctx) != 1 ||
        (!p->ecdsa && EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING) != 1) ||
        EVP_PKEY_CTX_set_signature_md(ctx, EVP_sha256()) != 1 ||
        EVP_PKEY_verify(ctx, s, derlen, dg, sizeof dg) != 1)
        rc = icx_err_set(err, ICX_ECRYPTO, "PKCS#11 token \"%s\": a test "
                         "signature does not verify with the public key "
                         "found for the URI (private and public objects of "
                         "different key pairs?)", p->token);
out:
    EVP_PKEY_CTX_free(ctx);
    ECDSA_SIG_free(es);
    return rc;
}

static int open_session(icx_p11 *p, const icx_p11_uri *u, const char *module,
                        const char *pin, int rw, icx_err *err)
{
    CK_SLOT_ID slot;
    int rc = find_slot(&slot, p->m, u, module, err);
    if (rc < 0)
        return rc;
    snprintf(p->token, sizeof p->token, "%s", u->token[0] ? u->token : u->serial);
    CK_FLAGS flags = CKF_SERIAL_SESSION | (rw ? CKF_RW_SESSION : 0);
    CK_RV rv = p->m->fl->C_OpenSession(slot, flags, NULL, NULL, &p->session);
    if (rv != CKR_OK)
        return p11err(err, rv, "PKCS#11 token \"%s\": C_OpenSession", p->token);
    p->have_session = 1;
    return login(p->m, p->session, pin, p->token, err);
}

static int p11_new(icx_p11 **out, const char *module, icx_err *err)
{
    icx_p11 *p = calloc(1, sizeof *p);
    if (p == NULL)
        return icx_err_set(err, ICX_ENOMEM, "out of memory");
    pthread_mutex_init(&p->lock, NULL);
    int rc = module_get(&p->m, module, err);
    if (rc < 0) {
        icx_p11_free(&p);
        return rc;
    }
    *out = p;
    return ICX_OK;
}

static void describe(char *out, size_t n, const icx_p11_uri *u)
{
    char id[2 * ICX_P11_ID_MAX + 1] = "";
    icx_hex(id, u->id, u->id_len);
    snprintf(out, n, "%s%s%s%s%s%s", u->object[0] ? "object=\"" : "",
             u->object, u->object[0] ? "\"" : "",
             u->object[0] && u->id_len ? " " : "", u->id_len ? "id=" : "", id);
}

int icx_p11_open(icx_p11 **out, const char *module, const char *uri,
                 const char *pin, icx_err *err)
{
    icx_p11_uri u;
    icx_p11 *p = NULL;
    int count = 0;
    char what[256];
    *out = NULL;
    int rc = icx_p11_uri_parse(&u, uri, err);
    if (rc < 0)
        return rc;
    describe(what, sizeof what, &u);
    rc = p11_new(&p, module, err);
    if (rc == ICX_OK)
        rc = open_session(p, &u, module, pin, 0, err);
    if (rc == ICX_OK)
        rc = find_objects(&p->key, &count, p->m, p->session, CKO_PRIVATE_KEY,
                          &u, err);
    if (rc < 0)
        goto out;
    if (count != 1) {
        rc = icx_err_set(err, ICX_ENOTFOUND, "PKCS#11 token \"%s\": %s "
                         "private key %s", p->token,
                         count == 0 ? "no" : "more than one", what);
        goto out;
    }
    CK_KEY_TYPE kt = 0;
    CK_ATTRIBUTE a = {CKA_KEY_TYPE, &kt, sizeof kt};
    CK_RV rv = p->m->fl->C_GetAttributeValue(p->session, p->key, &a, 1);
    if (rv != CKR_OK) {
        rc = p11err(err, rv, "PKCS#11 token \"%s\": key type", p->token);
        goto out;
    }
    if (kt != CKK_RSA && kt != CKK_EC) {
        rc = icx_err_set(err, ICX_EPOLICY, "PKCS#11 token \"%s\": key %s is "
                         "neither RSA nor EC; %s", p->token, what,
                         ICX_KEYS_RULE);
        goto out;
    }
    p->ecdsa = kt == CKK_EC;
    /* The public half: its own object, or (RSA) the private object's
     * public attributes. */
    CK_OBJECT_HANDLE pubh = p->key;
    rc = find_objects(&pubh, &count, p->m, p->session, CKO_PUBLIC_KEY, &u, err);
    if (rc < 0)
        goto out;
    if (count == 0 && p->ecdsa) {
        rc = icx_err_set(err, ICX_ENOTFOUND, "PKCS#11 token \"%s\": no "
                         "public key %s beside the private key", p->token,
                         what);
        goto out;
    }
    if (count == 0)
        pubh = p->key;
    rc = p->ecdsa ? ec_public(&p->pub, p->m, p->session, pubh, err)
                  : rsa_public(&p->pub, p->m, p->session, pubh, err);
    if (rc < 0)
        goto out;
    {
        char name[400];
        snprintf(name, sizeof name, "PKCS#11 token \"%s\" key %s", p->token,
                 what);
        rc = icx_keys_check_strength(p->pub, name, err);
        if (rc < 0)
            goto out;
    }
    p->field = (size_t)(EVP_PKEY_get_bits(p->pub) + 7) / 8;
    rc = self_test(p, err);
out:
    if (rc < 0)
        icx_p11_free(&p);
    *out = p;
    return rc;
}

void icx_p11_free(icx_p11 **pp)
{
    if (pp == NULL || *pp == NULL)
        return;
    icx_p11 *p = *pp;
    if (p->have_session)
        p->m->fl->C_CloseSession(p->session);
    module_put(p->m);
    EVP_PKEY_free(p->pub);
    pthread_mutex_destroy(&p->lock);
    free(p);
    *pp = NULL;
}

int icx_p11_is_ecdsa(const icx_p11 *p)
{
    return p->ecdsa;
}

size_t icx_p11_field(const icx_p11 *p)
{
    return p->field;
}

EVP_PKEY *icx_p11_public_key(const icx_p11 *p)
{
    return EVP_PKEY_up_ref(p->pub) == 1 ? p->pub : NULL;
}

static int backend_sign(void *ctx, const unsigned char *digest, size_t dlen,
                        unsigned char *sig, size_t *siglen, icx_err *err)
{
    return icx_p11_sign_digest(ctx, digest, dlen, sig, siglen, err);
}

static void backend_free(void *ctx)
{
    icx_p11 *p = ctx;
    icx_p11_free(&p);
}

int icx_p11_signer(icx_signer **out, icx_p11 **pp, icx_err *err)
{
    icx_sign_backend b = {.ecdsa = (*pp)->ecdsa,
                          .field = (*pp)->field,
                          .sign_digest = backend_sign,
                          .free_ctx = backend_free,
                          .ctx = *pp};
    int rc = icx_signer_from_backend(out, &b, err);
    if (rc == ICX_OK)
        *pp = NULL;
    return rc;
}

/* ---- generation ---------------------------------------------------------- */

int icx_p11_generate(const char *module, const char *uri, const char *pin,
                     int alg, icx_err *err)
{
    icx_p11_uri u;
    icx_p11 *p = NULL;
    int count = 0;
    char what[256];
    int rc = icx_p11_uri_parse(&u, uri, err);
    if (rc < 0)
        return rc;
    describe(what, sizeof what, &u);
    if (u.object[0] == '\0')
        return icx_err_set(err, ICX_EINVAL, "pkcs11 URI: a new key needs "
                           "object= (its label)");
    rc = p11_new(&p, module, err);
    if (rc == ICX_OK)
        rc = open_session(p, &u, module, pin, 1, err);
    if (rc < 0)
        goto out;
    /* Neither the label nor the id may name a key already there. */
    for (int pass = 0; pass < 2; pass++) {
        icx_p11_uri one = u;
        if (pass == 0)
            one.id_len = 0;
        else if (u.id_len == 0)
            break;
        else
            one.object[0] = '\0';
        CK_OBJECT_CLASS classes[] = {CKO_PRIVATE_KEY, CKO_PUBLIC_KEY};
        for (int c = 0; c < 2; c++) {
            CK_OBJECT_HANDLE h;
            rc = find_objects(&h, &count, p->m, p->session, classes[c], &one,
                              err);
            if (rc < 0)
                goto out;
            if (count > 0) {
                rc = icx_err_set(err, ICX_EEXIST, "PKCS#11 token \"%s\": a "
                                 "key %s exists; refusing to make another",
                                 p->token, what);
                goto out;
            }
        }
    }
    unsigned char id[16];
    const unsigned char *idp = u.id;
    CK_ULONG idl = (CK_ULONG)u.id_len;
    if (idl == 0) {
        /* Pairs the halves for tools that match by CKA_ID. */
        if (RAND_bytes(id, sizeof id) != 1) {
            rc = icx_err_set(err, ICX_ECRYPTO, "no randomness");
            goto out;
        }
        idp = id;
        idl = sizeof id;
    }
    CK_BBOOL yes = CK_TRUE, no = CK_FALSE;
    CK_ULONG bits = 2048;
    unsigned char e65537[] = {0x01, 0x00, 0x01};
    /* prime256v1 (P-256), DER OBJECT IDENTIFIER */
    unsigned char p256[] = {0x06, 0x08, 0x2a, 0x86, 0x48, 0xce,
                            0x3d, 0x03, 0x01, 0x07};
    CK_ULONG ll = (CK_ULONG)strlen(u.object);
    CK_ATTRIBUTE pubt[8], privt[10];
    CK_ULONG np = 0, nv = 0;
    pubt[np++] = (CK_ATTRIBUTE){CKA_TOKEN, &yes, sizeof yes};
    pubt[np++] = (CK_ATTRIBUTE){CKA_VERIFY, &yes, sizeof yes};
    pubt[np++] = (CK_ATTRIBUTE){CKA_LABEL, u.object, ll};
    pubt[np++] = (CK_ATTRIBUTE){CKA_ID, (void *)idp, idl};
    if (alg == ICX_ALG_ECDSA_P256) {
        pubt[np++] = (CK_ATTRIBUTE){CKA_EC_PARAMS, p256, sizeof p256};
    } else {
        pubt[np++] = (CK_ATTRIBUTE){CKA_MODULUS_BITS, &bits, sizeof bits};
        pubt[np++] = (CK_ATTRIBUTE){CKA_PUBLIC_EXPONENT, e65537,
                                    sizeof e65537};
    }
    privt[nv++] = (CK_ATTRIBUTE){CKA_TOKEN, &yes, sizeof yes};
    privt[nv++] = (CK_ATTRIBUTE){CKA_PRIVATE, &yes, sizeof yes};
    privt[nv++] = (CK_ATTRIBUTE){CKA_SENSITIVE, &yes, sizeof yes};
    privt[nv++] = (CK_ATTRIBUTE){CKA_EXTRACTABLE, &no, sizeof no};
    privt[nv++] = (CK_ATTRIBUTE){CKA_SIGN, &yes, sizeof yes};
    privt[nv++] = (CK_ATTRIBUTE){CKA_DECRYPT, &no, sizeof no};
    privt[nv++] = (CK_ATTRIBUTE){CKA_LABEL, u.object, ll};
    privt[nv++] = (CK_ATTRIBUTE){CKA_ID, (void *)idp, idl};
    CK_MECHANISM mech = {alg == ICX_ALG_ECDSA_P256 ? CKM_EC_KEY_PAIR_GEN
                                                   : CKM_RSA_PKCS_KEY_PAIR_GEN,
                         NULL, 0};
    CK_OBJECT_HANDLE hpub, hpriv;
    CK_RV rv = p->m->fl->C_GenerateKeyPair(p->session, &mech, pubt, np, privt,
                                           nv, &hpub, &hpriv);
    if (rv != CKR_OK)
        rc = p11err(err, rv, "PKCS#11 token \"%s\": C_GenerateKeyPair",
                    p->token);
out:
    icx_p11_free(&p);
    return rc;
}
