/*
 * test_trust.c - the trust store's map from a TLS client certificate to a
 * partner (icx_trust_partner_of_cert): a partner's configured certificate
 * maps to it, the gateway's own and an unknown one to nobody.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "keys.h"
#include "testutil.h"
#include "trust.h"

static void test_partner_of_cert(void **state)
{
    (void)state;
    icx_err err;
    char *dir = icx_test_mkdtemp();
    const char *ids[] = {"JP-NPA", "PH-NBI", "KR-KNPA", "XX-EVIL"};
    char certs[4][512], fp[4][65], who[32];
    for (int i = 0; i < 4; i++) {
        assert_int_equal(icx_keys_generate(ids[i], icx_test_path("%s/%d", dir, i),
                                           ICX_ALG_RSA2048, 30, &err), 0);
        snprintf(certs[i], sizeof certs[i], "%s/%d/cert.pem", dir, i);
        assert_int_equal(icx_keys_cert_fingerprint(fp[i], certs[i], &err), 0);
    }
    icx_partner partners[2];
    memset(partners, 0, sizeof partners);
    partners[0].id = "PH-NBI";
    partners[0].certificate = certs[1];
    partners[1].id = "KR-KNPA";
    partners[1].certificate = certs[2];
    icx_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.id = "JP-NPA";
    cfg.certificate = certs[0];
    cfg.partners = partners;
    cfg.npartners = 2;

    assert_int_equal(icx_trust_partner_of_cert(who, sizeof who, &cfg, fp[1],
                                               &err), 0);
    assert_string_equal(who, "PH-NBI");
    assert_int_equal(icx_trust_partner_of_cert(who, sizeof who, &cfg, fp[2],
                                               &err), 0);
    assert_string_equal(who, "KR-KNPA");
    /* The gateway's own certificate and a stranger's: nobody. */
    assert_int_equal(icx_trust_partner_of_cert(who, sizeof who, &cfg, fp[0],
                                               &err), ICX_ENOTFOUND);
    assert_string_equal(who, "");
    assert_int_equal(icx_trust_partner_of_cert(who, sizeof who, &cfg, fp[3],
                                               &err), ICX_ENOTFOUND);
    assert_int_equal(icx_trust_partner_of_cert(who, sizeof who, &cfg, "abc",
                                               &err), ICX_EINVAL);
    assert_int_equal(icx_trust_partner_of_cert(who, sizeof who, &cfg, NULL,
                                               &err), ICX_EINVAL);
    icx_test_rmrf(dir);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_partner_of_cert),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
