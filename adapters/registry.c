/*
 * registry.c - the built-in transport adapters, found by name.
 *
 * A static, const array: nothing to initialize or free, callable from any
 * thread.  An unknown name is NULL; loading external adapters from
 * adapters_dir is a separate concern.
 */
#include <stddef.h>
#include <string.h>

#include "adapter.h"
#include "zmq/zmq_adapter.h"

static const icx_adapter_ops *const builtin[] = {
    &icx_adapter_zmq,
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
