/*
 * nosym.c - a test module the registry must refuse: it exports a table,
 * but not under the name icx_adapter_nosym_ops.  Never used by a gateway.
 */
#include <stddef.h>

#include "adapter.h"

ICX_ADAPTER_EXPORT const icx_adapter_ops icx_adapter_nosym_table = {
    .abi = ICX_ADAPTER_ABI,
    .name = "nosym",
};
