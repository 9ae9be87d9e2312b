/*
 * fuzz_xmlsig.h - the set-up most targets share: icx_xmlsig_init() once
 * (libxml2, xmlsec, OpenSSL), icx_xmlsig_shutdown() at exit.  A failure
 * aborts: it is a broken fixture, not a finding.
 */
#ifndef ICX_FUZZ_XMLSIG_H
#define ICX_FUZZ_XMLSIG_H

#include <stdlib.h>

#include "xmlsig.h"

static void fuzz_xmlsig_cleanup(void) { icx_xmlsig_shutdown(); }

static void fuzz_xmlsig_init(void)
{
    icx_err err;
    if (icx_xmlsig_init(&err) < 0)
        abort();
    atexit(fuzz_xmlsig_cleanup);
}

#endif
