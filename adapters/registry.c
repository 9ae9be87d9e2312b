/*
 * registry.c - transport adapters found by name: the built-in ones in a
 * static, const array, external ones loaded from paths.adapters.
 *
 * An external adapter NAME is the shared object
 * <adapters_dir>/icx_adapter_NAME.so exporting one const icx_adapter_ops
 * named icx_adapter_NAME_ops (adapters/README.md).  It is refused, with an
 * error naming the file and the symbol, when it cannot be loaded, lacks
 * the symbol, was built for another ABI number or calls itself by another
 * name.  Built-in names win: a module cannot replace zmq or filedrop.
 *
 * Ownership: a loaded module stays loaded until the process exits (a
 * reload looks it up again and dlopen returns the same handle), so the
 * returned table is valid for the life of the process.  Threads: the
 * built-in lookup is callable from any thread; loading uses dlerror(),
 * which is per thread in glibc, and is done by the daemon's loop thread.
 */
#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "adapter.h"
#include "filedrop/filedrop_adapter.h"
#include "zmq/zmq_adapter.h"

static const icx_adapter_ops *const builtin[] = {
    &icx_adapter_zmq,
    &icx_adapter_filedrop,
};

const icx_adapter_ops *icx_adapter_find(const char *name)
{
    if (name == NULL)
        return NULL;
    for (size_t i = 0; i < sizeof builtin / sizeof builtin[0]; i++)
        if (strcmp(builtin[i]->name, name) == 0)
            return builtin[i];
    return NULL;
}

int icx_adapter_name_valid(const char *name)
{
    size_t len = name != NULL ? strlen(name) : 0;
    if (len == 0 || len > 32)
        return 0;
    for (size_t i = 0; i < len; i++)
        if (!((name[i] >= 'a' && name[i] <= 'z') ||
              (name[i] >= '0' && name[i] <= '9') || name[i] == '_'))
            return 0;
    return 1;
}

/* Loads <dir>/icx_adapter_<name>.so and checks its table. */
static const icx_adapter_ops *load(const char *name, const char *dir,
                                   icx_err *err)
{
    char path[PATH_MAX], sym[64];
    struct stat st;
    int n = snprintf(path, sizeof path, "%s/icx_adapter_%s.so", dir, name);
    snprintf(sym, sizeof sym, "icx_adapter_%s_ops", name);
    if (n < 0 || (size_t)n >= sizeof path) {
        icx_err_set(err, ICX_ECONFIG, "adapter \"%s\": paths.adapters is too "
                    "long", name);
        return NULL;
    }
    if (stat(path, &st) < 0) {
        icx_err_set(err, ICX_ECONFIG, "adapter \"%s\": no module %s (%s)",
                    name, path, strerror(errno));
        return NULL;
    }
    /* RTLD_NOW: an unresolved function is refused here, not when a partner
     * first needs it; RTLD_LOCAL: modules do not see each other. */
    dlerror();
    void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (h == NULL) {
        const char *why = dlerror();
        icx_err_set(err, ICX_ECONFIG, "adapter \"%s\": cannot load %s: %s",
                    name, path, why ? why : "unknown error");
        return NULL;
    }
    dlerror();
    const icx_adapter_ops *ops = dlsym(h, sym);
    if (ops == NULL) {
        icx_err_set(err, ICX_ECONFIG, "adapter \"%s\": %s has no symbol %s "
                    "(an adapter module exports its ops table under that "
                    "name)", name, path, sym);
        dlclose(h);
        return NULL;
    }
    if (ops->abi != ICX_ADAPTER_ABI) {
        icx_err_set(err, ICX_ECONFIG, "adapter \"%s\": %s: %s is built for "
                    "adapter ABI %d, this gateway needs ABI %d (rebuild it "
                    "against this gateway's adapter.h)", name, path, sym,
                    ops->abi, ICX_ADAPTER_ABI);
        dlclose(h);
        return NULL;
    }
    if (ops->name == NULL || strcmp(ops->name, name) != 0 ||
        ops->open == NULL || ops->pollitems == NULL || ops->on_ready == NULL ||
        ops->send == NULL || ops->connected == NULL || ops->close == NULL) {
        icx_err_set(err, ICX_ECONFIG, "adapter \"%s\": %s: %s %s", name, path,
                    sym, ops->name == NULL || strcmp(ops->name, name) != 0
                             ? "names another adapter"
                             : "lacks a required operation");
        dlclose(h);
        return NULL;
    }
    return ops;
}

const icx_adapter_ops *icx_adapter_lookup(const char *name, const char *dir,
                                          icx_err *err)
{
    const icx_adapter_ops *ops = icx_adapter_find(name);
    if (ops != NULL)
        return ops;
    if (!icx_adapter_name_valid(name)) {
        icx_err_set(err, ICX_ECONFIG, "adapter \"%s\" is not a valid adapter "
                    "name (1..32 of a-z 0-9 _)", name ? name : "(null)");
        return NULL;
    }
    if (dir == NULL) {
        icx_err_set(err, ICX_ECONFIG, "adapter \"%s\" is not built in (zmq, "
                    "filedrop) and paths.adapters is not set", name);
        return NULL;
    }
    return load(name, dir, err);
}
