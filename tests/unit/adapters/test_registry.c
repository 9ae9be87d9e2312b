/*
 * test_registry.c - adapters found by name: built-in ones, the example
 * module loaded from a folder, and modules that must be refused (another
 * ABI number, no ops symbol, no file, a name that is not a name).
 *
 * The modules are built by adapters/example/CMakeLists.txt into
 * $ICX_BUILD_DIR/adapters/modules (the example) and
 * $ICX_BUILD_DIR/adapters/broken (the two refused ones).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "adapter.h"
#include "filedrop/filedrop_adapter.h"
#include "testutil.h"
#include "zmq/zmq_adapter.h"

static const char *build_dir(void)
{
    const char *b = getenv("ICX_BUILD_DIR");
    return b != NULL ? b : ".";
}

static void test_builtin(void **state)
{
    (void)state;
    icx_err err;
    icx_err_clear(&err);
    assert_ptr_equal(icx_adapter_find("filedrop"), &icx_adapter_filedrop);
    assert_ptr_equal(icx_adapter_lookup("zmq", NULL, &err), &icx_adapter_zmq);
    assert_ptr_equal(icx_adapter_lookup("filedrop", "/nonexistent", &err),
                     &icx_adapter_filedrop);
    assert_int_equal(icx_adapter_filedrop.abi, ICX_ADAPTER_ABI);
    assert_non_null(icx_adapter_filedrop.try_resume);
    assert_non_null(icx_adapter_zmq.try_resume); /* redials a dropped dialing socket */
}

/* Refusals, each with the exact text an operator reads. */
static void test_refused(void **state)
{
    (void)state;
    const char *broken = icx_test_path("%s/adapters/broken", build_dir());
    char want[1024];
    icx_err err;
    static const struct {
        const char *name, *dir, *want; /* want: %1$s is the folder */
    } cases[] = {
        {"pigeon", NULL, "adapter \"pigeon\" is not built in (zmq, filedrop) "
                         "and paths.adapters is not set"},
        {"../zmq", "DIR", "adapter \"../zmq\" is not a valid adapter name "
                          "(1..32 of a-z 0-9 _)"},
        {"missing", "DIR", "adapter \"missing\": no module "
                           "DIR/icx_adapter_missing.so (No such file or "
                           "directory)"},
        {"badabi", "DIR", "adapter \"badabi\": DIR/icx_adapter_badabi.so: "
                          "icx_adapter_badabi_ops is built for adapter ABI 2, "
                          "this gateway needs ABI 1 (rebuild it against this "
                          "gateway's adapter.h)"},
        {"nosym", "DIR", "adapter \"nosym\": DIR/icx_adapter_nosym.so has no "
                         "symbol icx_adapter_nosym_ops (an adapter module "
                         "exports its ops table under that name)"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *dir = cases[i].dir ? broken : NULL;
        /* The expected text with DIR replaced by the folder. */
        const char *w = cases[i].want;
        size_t k = 0;
        while (*w != '\0' && k + 1 < sizeof want) {
            if (strncmp(w, "DIR", 3) == 0) {
                k += (size_t)snprintf(want + k, sizeof want - k, "%s", broken);
                w += 3;
            } else {
                want[k++] = *w++;
            }
        }
        want[k] = '\0';
        icx_err_clear(&err);
        const icx_adapter_ops *ops = icx_adapter_lookup(cases[i].name, dir,
                                                        &err);
        if (ops != NULL)
            fail_msg("%s: got a table, want a refusal", cases[i].name);
        if (err.rc != ICX_ECONFIG || strcmp(err.msg, want) != 0)
            fail_msg("%s: got rc %d \"%s\", want ECONFIG \"%s\"",
                     cases[i].name, err.rc, err.msg, want);
    }
}

static void test_example_module(void **state)
{
    (void)state;
    const char *dir = icx_test_path("%s/adapters/modules", build_dir());
    icx_err err;
    icx_err_clear(&err);
    const icx_adapter_ops *ops = icx_adapter_lookup("example", dir, &err);
    if (ops == NULL)
        fail_msg("example: %s", err.msg);
    assert_string_equal(ops->name, "example");
    assert_int_equal(ops->abi, ICX_ADAPTER_ABI);
    assert_non_null(ops->try_resume);
    /* Looked up again (a reload): the same table. */
    assert_ptr_equal(icx_adapter_lookup("example", dir, &err), ops);
    /* A built-in name is never taken from the folder. */
    assert_ptr_equal(icx_adapter_lookup("zmq", dir, &err), &icx_adapter_zmq);
}

static void test_names(void **state)
{
    (void)state;
    assert_true(icx_adapter_name_valid("example"));
    assert_true(icx_adapter_name_valid("x_2"));
    assert_false(icx_adapter_name_valid(""));
    assert_false(icx_adapter_name_valid(NULL));
    assert_false(icx_adapter_name_valid("Example"));
    assert_false(icx_adapter_name_valid("a/b"));
    assert_false(icx_adapter_name_valid("a.so"));
    assert_false(icx_adapter_name_valid("abcdefghijklmnopqrstuvwxyz0123456"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_builtin),
        cmocka_unit_test(test_refused),
        cmocka_unit_test(test_example_module),
        cmocka_unit_test(test_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
