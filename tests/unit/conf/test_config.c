/*
 * test_config.c - the configuration loader.
 *
 * Bad configurations are fixtures: tests/data/config/bad/<case>/ holds a
 * gateway.yaml (and partner files) beside expected.txt, the exact error
 * lines the load must produce, with paths as the test passes them (it runs
 * from tests/data/config/bad).  The good fixture checks values, defaults
 * and resolved paths.  Cases that need generated files (an expired
 * certificate, too many entries) build them in a temporary folder.
 */
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "config.h"
#include "testutil.h"
#include "util.h"

#define ERRS_MAX (256 * 1024)

static void chdir_data(const char *sub)
{
    const char *dir = icx_test_path("%s/tests/data/config%s%s",
                                    icx_test_srcdir(), sub[0] ? "/" : "", sub);
    if (chdir(dir) != 0)
        fail_msg("chdir %s failed", dir);
}

static void expect_str(const char *what, const char *got, const char *want)
{
    if (got == NULL && want == NULL)
        return;
    if (got == NULL || want == NULL || strcmp(got, want) != 0)
        fail_msg("%s: got \"%s\", want \"%s\"", what, got ? got : "(null)",
                 want ? want : "(null)");
}

static void expect_long(const char *what, long got, long want)
{
    if (got != want)
        fail_msg("%s: got %ld, want %ld", what, got, want);
}

/* Loads path, expects a refusal and returns the error lines (malloc'ed). */
static char *load_errors(const char *path)
{
    icx_config *cfg = NULL;
    icx_buf errs;
    icx_err err;
    icx_buf_init(&errs, ERRS_MAX);
    icx_err_clear(&err);
    int rc = icx_config_load(&cfg, path, &errs, &err);
    if (rc != ICX_ECONFIG)
        fail_msg("%s: got rc %s, want ECONFIG (errors: %s)", path,
                 icx_rc_name(rc), errs.data ? errs.data : "");
    if (cfg != NULL)
        fail_msg("%s: got a config, want NULL", path);
    /* err->msg is the first line. */
    size_t first = strcspn(errs.data, "\n");
    if (strlen(err.msg) != first || strncmp(err.msg, errs.data, first) != 0)
        fail_msg("%s: err.msg: got \"%s\", want the first line \"%.*s\"", path,
                 err.msg, (int)first, errs.data);
    return icx_buf_steal(&errs, NULL);
}

/* ---- bad fixtures ----------------------------------------------------- */

static void test_bad_fixture(void **state)
{
    const char *name = *state;
    char *want = NULL;
    size_t len = 0;
    icx_err err;

    chdir_data("bad");
    icx_err_clear(&err);
    if (icx_file_read(&want, &len, icx_test_path("%s/expected.txt", name),
                      ERRS_MAX, &err) < 0)
        fail_msg("%s", err.msg);
    char *got = load_errors(icx_test_path("%s/gateway.yaml", name));
    if (strcmp(got, want) != 0)
        fail_msg("%s: errors differ\ngot:\n%swant:\n%s", name, got, want);
    free(got);
    free(want);
}

#define BAD(name) {"bad/" name, test_bad_fixture, NULL, NULL, name}

/* ---- good config ------------------------------------------------------ */

static void test_good(void **state)
{
    (void)state;
    icx_config *cfg = NULL;
    icx_buf errs;
    icx_err err;
    char base[PATH_MAX];
    char want[PATH_MAX + 64];

    chdir_data("");
    if (realpath("good", base) == NULL)
        fail_msg("realpath good failed");
    icx_buf_init(&errs, ERRS_MAX);
    icx_err_clear(&err);
    int rc = icx_config_load(&cfg, "good/gateway.yaml", &errs, &err);
    if (rc != ICX_OK)
        fail_msg("load: got rc %s, want OK; errors:\n%s", icx_rc_name(rc),
                 errs.data ? errs.data : "");
    expect_long("errs.len", (long)errs.len, 0);

    expect_str("path", cfg->path, "good/gateway.yaml");
    expect_str("base_dir", cfg->base_dir, base);
    expect_str("id", cfg->id, "JP-NPA");
    snprintf(want, sizeof want, "%s/keys/key.pem", base);
    expect_str("private_key", cfg->private_key, want);
    snprintf(want, sizeof want, "%s/../cert.pem", base);
    expect_str("certificate", cfg->certificate, want);
    expect_str("curve_secret_file", cfg->curve_secret_file,
               "/etc/icx/curve.key");
    snprintf(want, sizeof want, "%s/icx.db", base);
    expect_str("store_path (default)", cfg->store_path, want);
    expect_str("listen", cfg->listen, "tcp://*:7701");
    snprintf(want, sizeof want, "%s/icx.sock", base);
    expect_str("control_socket (default)", cfg->control_socket, want);
    snprintf(want, sizeof want, "%s/partners", base);
    expect_str("partners_dir (default)", cfg->partners_dir, want);
    expect_str("schemas_dir", cfg->schemas_dir, NULL);
    expect_str("adapters_dir", cfg->adapters_dir, NULL);
    expect_str("hub", cfg->hub, "INT-ICPO");
    expect_long("relay", cfg->relay, 0);
    expect_long("max_message_bytes", cfg->max_message_bytes, 1048576);
    expect_long("max_depth", cfg->max_depth, 64);
    icx_xml_limits xl;
    icx_config_xml_limits(&xl, cfg);
    expect_long("limits.max_attributes_per_element", xl.max_attrs, 64);
    expect_long("limits.max_namespaces_per_element", xl.max_ns_decls, 32);
    expect_long("limits.max_attributes_total (0: scaled by the parser)",
                xl.max_attrs_total, 0);
    expect_long("limits.max_name_bytes", xl.max_name, 256);
    expect_long("limits.max_text_bytes", (long)xl.max_text, 262144);
    expect_long("limits: max_bytes", (long)xl.max_bytes, 1048576);
    expect_long("limits: max_depth", xl.max_depth, 64);
    expect_long("created_past_s", cfg->created_past_s, 600);
    expect_long("created_future_s", cfg->created_future_s, 300);
    expect_long("replay_retention_days", cfg->replay_retention_days, 30);
    expect_long("workers", cfg->workers, 4);
    expect_long("checkpoint_every", cfg->checkpoint_every, 1000);
    expect_long("checkpoint_seconds", cfg->checkpoint_seconds, 60);
    expect_str("log_level", cfg->log_level, "info");
    expect_str("log_format", cfg->log_format, "text");
    expect_long("npartners", (long)cfg->npartners, 2);

    /* Partner files load in name order; README.txt is not one. */
    const icx_partner *hub = &cfg->partners[0];
    const icx_partner *ph = &cfg->partners[1];
    expect_str("partners[0].id", hub->id, "INT-ICPO");
    expect_str("partners[1].id", ph->id, "PH-NBI");
    if (icx_config_partner(cfg, "PH-NBI") != ph)
        fail_msg("icx_config_partner(PH-NBI): got %p, want %p",
                 (const void *)icx_config_partner(cfg, "PH-NBI"),
                 (const void *)ph);
    if (icx_config_partner(cfg, "XX-NONE") != NULL)
        fail_msg("icx_config_partner(XX-NONE): got a partner, want NULL");

    expect_str("ph.name", ph->name,
               "Philippines National Bureau of Investigation");
    snprintf(want, sizeof want, "%s/partners/../../cert.pem", base);
    expect_str("ph.certificate", ph->certificate, want);
    expect_str("ph.adapter (default)", ph->adapter, "zmq");
    expect_str("ph.endpoint", ph->endpoint, "tcp://127.0.0.1:7702");
    expect_long("ph.direction (default)", ph->direction, ICX_DIR_CONNECT);
    expect_str("ph.curve_public_key", ph->curve_public_key,
               "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7");
    expect_long("ph.route", ph->route, ICX_ROUTE_HUB);
    expect_long("ph.categories_in.count", (long)ph->categories_in.count, 2);
    expect_str("ph.categories_in[1]", ph->categories_in.items[1], "receipt");
    expect_long("ph.categories_out.count", (long)ph->categories_out.count, 2);
    expect_str("ph.categories_out[1]", ph->categories_out.items[1],
               "case-request");
    expect_long("strlist_has(case-request)",
                icx_strlist_has(&ph->categories_out, "case-request"), 1);
    expect_long("strlist_has(receipt)",
                icx_strlist_has(&ph->categories_out, "receipt"), 0);
    expect_long("ph.lists.count", (long)ph->lists.count, 1);
    expect_str("ph.lists[0]", ph->lists.items[0], "csam-urls");
    expect_long("ph.max_tlp", ph->max_tlp, ICX_TLP_AMBER_STRICT);
    expect_long("ph.max_hcode", ph->max_hcode, 1);
    expect_str("ph.withhold[0]", ph->withhold.items[0], "victim.name");
    expect_long("ph.retry_initial_s", ph->retry_initial_s, 10);
    expect_long("ph.retry_max_s", ph->retry_max_s, 10);
    expect_long("ph.max_age_s (default)", ph->max_age_s, 86400);
    expect_str("ph.source_file", ph->source_file, "good/partners/ph-nbi.yaml");

    expect_str("hub.name (default)", hub->name, "");
    expect_str("hub.endpoint", hub->endpoint, NULL);
    expect_long("hub.direction", hub->direction, ICX_DIR_ACCEPT);
    expect_long("hub.route (default)", hub->route, ICX_ROUTE_DIRECT);
    expect_long("hub.categories_in.count (default)",
                (long)hub->categories_in.count, 0);
    expect_long("hub.max_tlp (default)", hub->max_tlp, ICX_TLP_AMBER);
    expect_long("hub.max_hcode (default)", hub->max_hcode, 2);
    expect_long("hub.retry_initial_s (default)", hub->retry_initial_s, 5);
    expect_long("hub.retry_max_s (default)", hub->retry_max_s, 600);

    icx_config_free(&cfg);
    if (cfg != NULL)
        fail_msg("icx_config_free: got %p, want NULL", (void *)cfg);
    icx_config_free(&cfg); /* NULL-safe */
    icx_buf_free(&errs);
}

/* Partners on other transports: filedrop folders (resolved against the
 * partner file), an external adapter with its options. */
static void test_filedrop(void **state)
{
    (void)state;
    icx_config *cfg = NULL;
    icx_buf errs;
    icx_err err;
    char base[PATH_MAX];
    char want[PATH_MAX + 64];

    chdir_data("");
    if (realpath("filedrop", base) == NULL)
        fail_msg("realpath filedrop failed");
    icx_buf_init(&errs, ERRS_MAX);
    icx_err_clear(&err);
    int rc = icx_config_load(&cfg, "filedrop/gateway.yaml", &errs, &err);
    if (rc != ICX_OK)
        fail_msg("load: got rc %s, want OK; errors:\n%s", icx_rc_name(rc),
                 errs.data ? errs.data : "");
    expect_str("curve_secret_file (none needed)", cfg->curve_secret_file,
               NULL);
    snprintf(want, sizeof want, "%s/modules", base);
    expect_str("adapters_dir", cfg->adapters_dir, want);
    expect_long("npartners", (long)cfg->npartners, 2);

    const icx_partner *ph = icx_config_partner(cfg, "PH-NBI");
    const icx_partner *th = icx_config_partner(cfg, "TH-RTP");
    if (ph == NULL || th == NULL)
        fail_msg("got no PH-NBI or TH-RTP partner");
    expect_str("ph.adapter", ph->adapter, "filedrop");
    expect_str("ph.filedrop_outbox (absolute)", ph->filedrop_outbox,
               "/srv/icx/to-ph-nbi");
    snprintf(want, sizeof want, "%s/partners/../drop/from-ph-nbi", base);
    expect_str("ph.filedrop_inbox (resolved)", ph->filedrop_inbox, want);
    expect_long("ph.filedrop_poll_ms", ph->filedrop_poll_ms, 250);
    expect_long("ph.filedrop_answer_s (default)", ph->filedrop_answer_s, 60);
    expect_str("ph.curve_public_key (none)", ph->curve_public_key, NULL);
    expect_long("ph.adapter_options.count", (long)ph->adapter_options.count,
                0);
    expect_str("option of ph", icx_partner_option(ph, "spool"), NULL);

    expect_str("th.adapter", th->adapter, "sample");
    expect_long("th.adapter_options.count", (long)th->adapter_options.count,
                2);
    expect_str("option spool", icx_partner_option(th, "spool"), "/srv/spool");
    expect_str("option mode", icx_partner_option(th, "mode"), "fast");
    expect_str("option mod (a prefix)", icx_partner_option(th, "mod"), NULL);
    expect_str("option missing", icx_partner_option(th, "other"), NULL);
    expect_long("th.filedrop_poll_ms (default)", th->filedrop_poll_ms, 1000);

    expect_long("builtin zmq", icx_config_adapter_builtin("zmq"), 1);
    expect_long("builtin filedrop", icx_config_adapter_builtin("filedrop"), 1);
    expect_long("builtin sample", icx_config_adapter_builtin("sample"), 0);
    icx_config_free(&cfg);
    icx_buf_free(&errs);
}

/* An external adapter whose module is not in paths.adapters. */
static void test_module_missing(void **state)
{
    (void)state;
    char *dir = icx_test_mkdtemp();
    char real[PATH_MAX];
    char want[PATH_MAX + 256];

    if (realpath(dir, real) == NULL)
        fail_msg("realpath %s failed", dir);
    chdir_data("");
    icx_test_write(icx_test_path("%s/gateway.yaml", dir),
                   "id: JP-NPA\nkeys:\n  private_key: key.pem\n"
                   "  certificate: cert.pem\npaths:\n  adapters: .\n");
    if (symlink(icx_test_path("%s/tests/data/config/cert.pem",
                              icx_test_srcdir()),
                icx_test_path("%s/cert.pem", dir)) != 0)
        fail_msg("symlink failed");
    mkdir(icx_test_path("%s/partners", dir), 0755);
    icx_test_write(icx_test_path("%s/partners/kr.yaml", dir),
                   "id: KR-KNPA\ncertificate: ../cert.pem\n"
                   "adapter: carrier_pigeon\n");
    char *got = load_errors(icx_test_path("%s/gateway.yaml", dir));
    snprintf(want, sizeof want,
             "%s/partners/kr.yaml:3:10: adapter: no module "
             "icx_adapter_carrier_pigeon.so in paths.adapters (%s/.)\n", dir,
             real);
    if (strcmp(got, want) != 0)
        fail_msg("got:\n%swant:\n%s", got, want);
    free(got);
    icx_test_rmrf(dir);
    free(dir);
}

/* A private key or CURVE secret readable by group or others is refused by
 * the loader (so by `icx config check`) as the daemon refuses it; 0600
 * loads. */
static void test_private_key_mode(void **state)
{
    (void)state;
    char *dir = icx_test_mkdtemp();
    char want[PATH_MAX * 3];
    static const char *const keys[] = {"key.pem", "curve.key"};

    icx_test_write(icx_test_path("%s/gateway.yaml", dir),
                   "id: JP-NPA\nkeys:\n  private_key: key.pem\n"
                   "  certificate: cert.pem\n  curve_secret: curve.key\n");
    if (symlink(icx_test_path("%s/tests/data/config/cert.pem",
                              icx_test_srcdir()),
                icx_test_path("%s/cert.pem", dir)) != 0)
        fail_msg("symlink failed");
    for (size_t i = 0; i < 2; i++) {
        icx_test_write(icx_test_path("%s/%s", dir, keys[i]), "not read\n");
        if (chmod(icx_test_path("%s/%s", dir, keys[i]), 0644) != 0)
            fail_msg("chmod failed");
    }
    char *got = load_errors(icx_test_path("%s/gateway.yaml", dir));
    snprintf(want, sizeof want,
             "%s/gateway.yaml:3:16: keys.private_key: \"key.pem\": private "
             "key is accessible by group or others (mode 0644); refusing to "
             "use it. Fix: chmod 600 %s/key.pem\n"
             "%s/gateway.yaml:5:17: keys.curve_secret: \"curve.key\": "
             "private key is accessible by group or others (mode 0644); "
             "refusing to use it. Fix: chmod 600 %s/curve.key\n",
             dir, dir, dir, dir);
    if (strcmp(got, want) != 0)
        fail_msg("got:\n%swant:\n%s", got, want);
    free(got);

    for (size_t i = 0; i < 2; i++)
        if (chmod(icx_test_path("%s/%s", dir, keys[i]), 0600) != 0)
            fail_msg("chmod failed");
    icx_config *cfg = NULL;
    icx_buf errs;
    icx_err err;
    icx_buf_init(&errs, ERRS_MAX);
    icx_err_clear(&err);
    int rc = icx_config_load(&cfg, icx_test_path("%s/gateway.yaml", dir),
                             &errs, &err);
    if (rc != ICX_OK)
        fail_msg("mode 0600: got %s (%s), want OK", icx_rc_name(rc),
                 errs.data ? errs.data : err.msg);
    icx_config_free(&cfg);
    icx_buf_free(&errs);
    icx_test_rmrf(dir);
    free(dir);
}

/* The shipped example is valid except for the key files, which are not in
 * git (icx keys gen makes them). */
static void test_example(void **state)
{
    (void)state;
    icx_config *cfg = NULL;
    icx_buf errs;
    icx_err err;

    icx_buf_init(&errs, ERRS_MAX);
    icx_err_clear(&err);
    int rc = icx_config_load(
        &cfg, icx_test_path("%s/config/gateway.yaml", icx_test_srcdir()),
        &errs, &err);
    if (rc == ICX_OK) {
        expect_long("example npartners", (long)cfg->npartners, 2);
        icx_config_free(&cfg);
    } else {
        if (rc != ICX_ECONFIG)
            fail_msg("example: got rc %s, want OK or ECONFIG",
                     icx_rc_name(rc));
        for (char *line = errs.data; *line != '\0';) {
            char *nl = strchr(line, '\n');
            *nl = '\0';
            if (strstr(line, "certificate: cannot read \"") == NULL)
                fail_msg("example: got \"%s\", want only missing "
                         "certificates", line);
            line = nl + 1;
        }
    }
    icx_buf_free(&errs);
}

/* ---- generated cases -------------------------------------------------- */

static const char gateway_head[] =
    "id: JP-NPA\n"
    "keys:\n"
    "  private_key: key.pem\n"
    "  certificate: cert.pem\n"
    "  curve_secret: curve.key\n";

static void write_cert(const char *path, const char *not_before,
                       const char *not_after)
{
    EVP_PKEY *key = EVP_EC_gen("P-256");
    X509 *x = X509_new();
    X509_NAME *name = X509_NAME_new();
    assert_non_null(key);
    assert_non_null(x);
    assert_non_null(name);
    assert_int_equal(X509_set_version(x, 2), 1);
    ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
    assert_int_equal(ASN1_TIME_set_string(X509_getm_notBefore(x), not_before),
                     1);
    assert_int_equal(ASN1_TIME_set_string(X509_getm_notAfter(x), not_after),
                     1);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                               (const unsigned char *)"JP-NPA", -1, -1, 0);
    X509_set_subject_name(x, name);
    X509_set_issuer_name(x, name);
    X509_set_pubkey(x, key);
    assert_true(X509_sign(x, key, EVP_sha256()) > 0);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    assert_int_equal(PEM_write_X509(f, x), 1);
    fclose(f);
    X509_NAME_free(name);
    X509_free(x);
    EVP_PKEY_free(key); /* never written: only the certificate matters */
}

static void test_expired_cert(void **state)
{
    (void)state;
    char *dir = icx_test_mkdtemp();
    write_cert(icx_test_path("%s/cert.pem", dir), "20200101000000Z",
               "20210101000000Z");
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/gateway.yaml", dir);
    icx_test_write(path, gateway_head);
    char *got = load_errors(path);
    const char *want = icx_test_path(
        "%s:4:16: keys.certificate: certificate \"cert.pem\" expired at "
        "2021-01-01T00:00:00Z\n", path);
    if (strcmp(got, want) != 0)
        fail_msg("got \"%s\", want \"%s\"", got, want);
    free(got);

    /* Not yet valid. */
    write_cert(icx_test_path("%s/cert.pem", dir), "21000101000000Z",
               "21010101000000Z");
    got = load_errors(path);
    want = icx_test_path("%s:4:16: keys.certificate: certificate \"cert.pem\" "
                         "is not valid before 2100-01-01T00:00:00Z\n", path);
    if (strcmp(got, want) != 0)
        fail_msg("got \"%s\", want \"%s\"", got, want);
    free(got);

    /* A generated, current certificate loads, with zero partner files. */
    write_cert(icx_test_path("%s/cert.pem", dir), "20200101000000Z",
               "21000101000000Z");
    icx_config *cfg = NULL;
    icx_err err;
    icx_err_clear(&err);
    int rc = icx_config_load(&cfg, path, NULL, &err);
    if (rc != ICX_OK)
        fail_msg("got rc %s (%s), want OK", icx_rc_name(rc), err.msg);
    expect_long("npartners", (long)cfg->npartners, 0);
    icx_config_free(&cfg);
    icx_test_rmrf(dir);
    free(dir);
}

/* keys.private_key as a pkcs11: URI: kept as written, with its module
 * and one PIN source; each missing or wrong piece named at its spot. */
static void test_pkcs11_key(void **state)
{
    (void)state;
    char *dir = icx_test_mkdtemp();
    char path[PATH_MAX];
    write_cert(icx_test_path("%s/cert.pem", dir), "20200101000000Z",
               "21000101000000Z");
    snprintf(path, sizeof path, "%s/gateway.yaml", dir);
    icx_test_write(icx_test_path("%s/pin", dir), "1234\n");
    chmod(icx_test_path("%s/pin", dir), 0600);
    const struct {
        const char *keys; /* the lines after "keys:" */
        const char *want; /* errors after "PATH:", "" when it loads */
    } cases[] = {
        {"  private_key: \"pkcs11:token=jp;object=sign\"\n"
         "  pkcs11_module: /usr/lib/softhsm/libsofthsm2.so\n"
         "  pin_file: pin\n", ""},
        {"  private_key: \"pkcs11:token=jp;object=sign\"\n"
         "  pkcs11_module: /usr/lib/softhsm/libsofthsm2.so\n"
         "  pin_env: ICX_PIN\n", ""},
        {"  private_key: \"pkcs11:token=jp;object=sign\"\n",
         "3:16: keys.pkcs11_module: required when keys.private_key is a "
         "pkcs11: URI (the token's module, e.g. "
         "/usr/lib/softhsm/libsofthsm2.so)\n"
         "3:16: keys.pin_file: a key in a token needs its PIN: set "
         "keys.pin_file (mode 0600) or keys.pin_env\n"},
        {"  private_key: \"pkcs11:token=jp;object=a;object=b\"\n"
         "  pkcs11_module: /m.so\n  pin_file: pin\n",
         "3:16: keys.private_key: pkcs11 URI: object given twice\n"},
        {"  private_key: \"pkcs11:token=jp;object=a\"\n"
         "  pkcs11_module: /m.so\n  pin_file: pin\n  pin_env: X\n",
         "3:16: keys.pin_file: more than one PIN source (keys.pin_file, "
         "keys.pin_env, pin-source in the URI); keep one\n"},
        {"  private_key: \"pkcs11:token=jp;object=a\"\n"
         "  pkcs11_module: /m.so\n  pin_env: 1-X\n",
         "3:16: keys.pin_file: a key in a token needs its PIN: set "
         "keys.pin_file (mode 0600) or keys.pin_env\n"
         "5:12: keys.pin_env: \"1-X\" is not an environment variable name "
         "(letters, digits, _; at most 64)\n"},
        {"  private_key: key.pem\n  pkcs11_module: /m.so\n",
         "4:18: keys.pkcs11_module: only for a key in a token "
         "(keys.private_key: pkcs11:...)\n"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        icx_test_write(path, icx_test_path("id: JP-NPA\nkeys:\n%s"
                                           "  certificate: cert.pem\n",
                                           cases[i].keys));
        if (cases[i].want[0] == '\0') {
            icx_config *cfg = NULL;
            icx_err err;
            icx_err_clear(&err);
            int rc = icx_config_load(&cfg, path, NULL, &err);
            if (rc != ICX_OK)
                fail_msg("case %zu: got rc %s (%s), want OK", i,
                         icx_rc_name(rc), err.msg);
            expect_str("private_key", cfg->private_key,
                       "pkcs11:token=jp;object=sign");
            expect_str("pkcs11_module", cfg->pkcs11_module,
                       "/usr/lib/softhsm/libsofthsm2.so");
            icx_config_free(&cfg);
            continue;
        }
        char *got = load_errors(path);
        /* Every line starts with the path. */
        char want[4096] = "";
        size_t w = 0;
        for (const char *l = cases[i].want; *l;) {
            size_t n = strcspn(l, "\n") + 1;
            w += (size_t)snprintf(want + w, sizeof want - w, "%s:%.*s", path,
                                  (int)n, l);
            l += n;
        }
        if (strcmp(got, want) != 0)
            fail_msg("case %zu: got\n%swant\n%s", i, got, want);
        free(got);
    }
    icx_test_rmrf(dir);
    free(dir);
}

static void test_missing_file(void **state)
{
    (void)state;
    chdir_data("");
    char *got = load_errors("nowhere/gateway.yaml");
    expect_str("missing file", got,
               "nowhere/gateway.yaml: cannot read: No such file or "
               "directory\n");
    free(got);
}

/* Limits: entries per list and partner files per folder. */
static void test_http_loopback(void **state)
{
    (void)state;
    static const struct {
        const char *addr;
        int want;
    } cases[] = {
        {"127.0.0.1", 1}, {"127.1.2.3", 1}, {"::1", 1}, {"localhost", 1},
        {"0.0.0.0", 0}, {"10.0.0.1", 0}, {"::", 0}, {"128.0.0.1", 0},
        {"::ffff:127.0.0.1", 0}, {"localhost.example", 0}, {"", 0},
        {NULL, 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        if (icx_config_loopback(cases[i].addr) != cases[i].want)
            fail_msg("loopback(%s): got %d, want %d", cases[i].addr,
                     !cases[i].want, cases[i].want);
}

static void test_limits(void **state)
{
    (void)state;
    char *dir = icx_test_mkdtemp();
    icx_buf y;
    icx_buf_init(&y, 64 * 1024);
    char gw[PATH_MAX];
    snprintf(gw, sizeof gw, "%s/gateway.yaml", dir);

    write_cert(icx_test_path("%s/cert.pem", dir), "20200101000000Z",
               "21000101000000Z");
    icx_test_write(gw, gateway_head);
    assert_int_equal(mkdir(icx_test_path("%s/partners", dir), 0700), 0);
    icx_buf_puts(&y, "id: PH-NBI\ncertificate: ../cert.pem\n"
                     "adapter: filedrop\nwithhold: [");
    for (int i = 0; i <= ICX_CONFIG_MAX_LIST; i++)
        icx_buf_printf(&y, "%sf%d", i ? ", " : "", i);
    icx_buf_puts(&y, "]\n");
    icx_test_write(icx_test_path("%s/partners/ph-nbi.yaml", dir), y.data);
    char *got = load_errors(gw);
    const char *want = icx_test_path(
        "%s/partners/ph-nbi.yaml:4:%d: withhold: more than %d entries\n", dir,
        12 + 4 * 10 + 5 * (ICX_CONFIG_MAX_LIST - 10), ICX_CONFIG_MAX_LIST);
    expect_str("list limit", got, want);
    free(got);
    icx_buf_free(&y);

    for (int i = 0; i <= ICX_CONFIG_MAX_PARTNERS; i++)
        icx_test_write(icx_test_path("%s/partners/p%03d.yaml", dir, i), "");
    got = load_errors(gw);
    want = icx_test_path("%s:1:1: paths.partners: %d partner files, limit is "
                         "%d\n", gw, ICX_CONFIG_MAX_PARTNERS + 2,
                         ICX_CONFIG_MAX_PARTNERS);
    expect_str("partner limit", got, want);
    free(got);
    icx_test_rmrf(dir);
    free(dir);
}

/* store.path: a postgresql:// URL is kept as written (not taken for a
 * relative path), store.head resolves like any path, and a URL of another
 * scheme is refused at its line. */
static void test_store_url(void **state)
{
    (void)state;
    char *dir = icx_test_mkdtemp();
    char gw[PATH_MAX];
    icx_config *cfg = NULL;
    icx_err err;
    icx_err_clear(&err);
    snprintf(gw, sizeof gw, "%s/gateway.yaml", dir);
    write_cert(icx_test_path("%s/cert.pem", dir), "20200101000000Z",
               "21000101000000Z");
    icx_test_write(gw, icx_test_path("%sstore:\n  path: postgresql://icx@db:"
                                     "5432/icx\n  head: node.head\n",
                                     gateway_head));
    int rc = icx_config_load(&cfg, gw, NULL, &err);
    if (rc != ICX_OK)
        fail_msg("load: got %s (%s), want OK", icx_rc_name(rc), err.msg);
    expect_str("store_path", cfg->store_path, "postgresql://icx@db:5432/icx");
    expect_str("store_head", cfg->store_head,
               icx_test_path("%s/node.head", dir));
    icx_config_free(&cfg);

    icx_test_write(gw, icx_test_path("%sstore:\n  path: mysql://db/icx\n",
                                     gateway_head));
    char *got = load_errors(gw);
    if (strstr(got, "store.path: want a file or a postgresql:// URL") == NULL)
        fail_msg("other scheme: got \"%s\", want store.path refused", got);
    free(got);
    icx_test_rmrf(dir);
    free(dir);
}

/* Keys below the minimum strength (keys.h), as the gateway's own
 * certificate and as a partner's: refused at the value that names the
 * file, with the key and the rule. */
static void test_weak_cert(void **state)
{
    (void)state;
    static const struct { const char *kind, *says; } weak[] = {
        {"rsa1024", "RSA 1024 bits"},
        {"p224", "EC on curve P-224 (secp224r1)"},
        {"secp256k1", "EC on curve secp256k1"},
        {"dsa2048", "DSA 2048 bits"},
        {"ed25519", "ED25519 256 bits"},
    };
    char *dir = icx_test_mkdtemp();
    char gw[PATH_MAX];
    snprintf(gw, sizeof gw, "%s/gateway.yaml", dir);
    icx_test_write(gw, gateway_head);
    assert_int_equal(mkdir(icx_test_path("%s/partners", dir), 0700), 0);
    assert_int_equal(mkdir(icx_test_path("%s/certs", dir), 0700), 0);
    icx_test_write(icx_test_path("%s/partners/ph-nbi.yaml", dir),
                   "id: PH-NBI\ncertificate: ../certs/ph.pem\n"
                   "adapter: filedrop\nfiledrop:\n  inbox: in\n"
                   "  outbox: out\n");
    EVP_PKEY *good = icx_test_key("p256");
    for (size_t i = 0; i < sizeof weak / sizeof weak[0]; i++) {
        EVP_PKEY *k = icx_test_key(weak[i].kind);
        /* Our own certificate weak, the partner's good. */
        icx_test_write_key(NULL, icx_test_path("%s/cert.pem", dir), k,
                           "JP-NPA");
        icx_test_write_key(NULL, icx_test_path("%s/certs/ph.pem", dir), good,
                           "PH-NBI");
        char *got = load_errors(gw);
        const char *want = icx_test_path(
            "%s:4:16: keys.certificate: cert.pem: %s; the minimum is RSA 2048 "
            "or ECDSA P-256/P-384/P-521\n", gw, weak[i].says);
        expect_str(weak[i].kind, got, want);
        free(got);
        /* The partner's weak, ours good. */
        icx_test_write_key(NULL, icx_test_path("%s/cert.pem", dir), good,
                           "JP-NPA");
        icx_test_write_key(NULL, icx_test_path("%s/certs/ph.pem", dir), k,
                           "PH-NBI");
        got = load_errors(gw);
        want = icx_test_path(
            "%s/partners/ph-nbi.yaml:2:14: certificate: ../certs/ph.pem: %s; "
            "the minimum is RSA 2048 or ECDSA P-256/P-384/P-521\n", dir,
            weak[i].says);
        expect_str(weak[i].kind, got, want);
        free(got);
        EVP_PKEY_free(k);
    }
    EVP_PKEY_free(good);
    icx_test_rmrf(dir);
    free(dir);
}

/* The parser limits set in gateway.yaml are the ones the verifier gets. */
static void test_parser_limits(void **state)
{
    (void)state;
    char *dir = icx_test_mkdtemp();
    char gw[PATH_MAX];
    snprintf(gw, sizeof gw, "%s/gateway.yaml", dir);
    write_cert(icx_test_path("%s/cert.pem", dir), "20200101000000Z",
               "21000101000000Z");
    icx_buf y;
    icx_buf_init(&y, 64 * 1024);
    icx_buf_printf(&y, "%slimits:\n  max_message_bytes: 2097152\n"
                       "  max_depth: 32\n"
                       "  max_attributes_per_element: 9\n"
                       "  max_namespaces_per_element: 5\n"
                       "  max_attributes_total: 1234\n"
                       "  max_name_bytes: 40\n"
                       "  max_text_bytes: 2048\n", gateway_head);
    icx_test_write(gw, y.data);
    icx_config *cfg = NULL;
    icx_err err;
    icx_err_clear(&err);
    if (icx_config_load(&cfg, gw, NULL, &err) != ICX_OK)
        fail_msg("loading %s: %s", gw, err.msg);
    icx_xml_limits xl;
    icx_config_xml_limits(&xl, cfg);
    expect_long("max_bytes", (long)xl.max_bytes, 2097152);
    expect_long("max_depth", xl.max_depth, 32);
    expect_long("max_attributes_per_element", xl.max_attrs, 9);
    expect_long("max_namespaces_per_element", xl.max_ns_decls, 5);
    expect_long("max_attributes_total", xl.max_attrs_total, 1234);
    expect_long("max_name_bytes", xl.max_name, 40);
    expect_long("max_text_bytes", (long)xl.max_text, 2048);
    icx_config_free(&cfg);
    icx_buf_free(&y);
    icx_test_rmrf(dir);
    free(dir);
}

/* Without an errs buffer the load still fails and err->msg says why. */
static void test_no_errs_buffer(void **state)
{
    (void)state;
    icx_config *cfg = NULL;
    icx_err err;
    chdir_data("bad");
    icx_err_clear(&err);
    int rc = icx_config_load(&cfg, "anchor/gateway.yaml", NULL, &err);
    expect_str("rc", icx_rc_name(rc), icx_rc_name(ICX_ECONFIG));
    expect_str("err.msg", err.msg,
               "anchor/gateway.yaml:5:10: workers: anchor \"&w\" not allowed");
    if (cfg != NULL)
        fail_msg("got a config, want NULL");
}

static void test_names(void **state)
{
    (void)state;
    static const struct { const char *name; int tlp; } tlps[] = {
        {"CLEAR", ICX_TLP_CLEAR}, {"GREEN", ICX_TLP_GREEN},
        {"AMBER", ICX_TLP_AMBER}, {"AMBER+STRICT", ICX_TLP_AMBER_STRICT},
        {"RED", ICX_TLP_RED}, {"amber", -1}, {"WHITE", -1}, {"", -1}};
    for (size_t i = 0; i < sizeof tlps / sizeof tlps[0]; i++) {
        expect_long(tlps[i].name, icx_tlp_from_name(tlps[i].name),
                    tlps[i].tlp);
        if (tlps[i].tlp >= 0)
            expect_str("icx_tlp_name", icx_tlp_name(tlps[i].tlp),
                       tlps[i].name);
    }
    expect_str("icx_tlp_name(99)", icx_tlp_name(99), "?");

    static const struct { const char *name; int h; } hcodes[] = {
        {"H0", 0}, {"H1", 1}, {"H2", 2}, {"H3", 3}, {"H4", -1}, {"h1", -1}};
    for (size_t i = 0; i < sizeof hcodes / sizeof hcodes[0]; i++)
        expect_long(hcodes[i].name, icx_hcode_from_name(hcodes[i].name),
                    hcodes[i].h);

    static const struct { const char *name; int known; } cats[] = {
        {"case-referral", 1}, {"case-request", 1}, {"case-response", 1},
        {"list-sync-request", 1}, {"list-update", 1}, {"survey-request", 1},
        {"survey-response", 1}, {"receipt", 1}, {"case", 0}, {"", 0}};
    for (size_t i = 0; i < sizeof cats / sizeof cats[0]; i++)
        expect_long(cats[i].name, icx_category_known(cats[i].name),
                    cats[i].known);

    expect_long("strlist_has(NULL)", icx_strlist_has(NULL, "x"), 0);
    expect_long("config_partner(NULL)",
                icx_config_partner(NULL, "PH-NBI") != NULL, 0);
}

int main(void)
{
    static char cwd[PATH_MAX];
    if (getcwd(cwd, sizeof cwd) == NULL)
        return 1;
    const struct CMUnitTest tests[] = {
        BAD("unknown_key"),
        BAD("wrong_type"),
        BAD("out_of_range"),
        BAD("parser_limits"),
        cmocka_unit_test(test_parser_limits),
        BAD("missing_required"),
        BAD("bad_enum"),
        BAD("duplicate_key"),
        BAD("duplicate_partner"),
        BAD("unreadable_cert"),
        BAD("invalid_cert"),
        BAD("anchor"),
        BAD("alias"),
        BAD("syntax"),
        BAD("too_deep"),
        BAD("cross"),
        BAD("partners_dir"),
        BAD("several"),
        BAD("filedrop"),
        BAD("tsa"),
        cmocka_unit_test(test_good),
        cmocka_unit_test(test_filedrop),
        cmocka_unit_test(test_module_missing),
        cmocka_unit_test(test_example),
        cmocka_unit_test(test_expired_cert),
        cmocka_unit_test(test_missing_file),
        cmocka_unit_test(test_pkcs11_key),
        cmocka_unit_test(test_limits),
        cmocka_unit_test(test_http_loopback),
        cmocka_unit_test(test_store_url),
        cmocka_unit_test(test_weak_cert),
        cmocka_unit_test(test_private_key_mode),
        cmocka_unit_test(test_no_errs_buffer),
        cmocka_unit_test(test_names),
    };
    int failed = cmocka_run_group_tests(tests, NULL, NULL);
    return chdir(cwd) == 0 ? failed : 1;
}
