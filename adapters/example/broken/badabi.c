/*
 * badabi.c - a test module the registry must refuse: its table says it was
 * built for the adapter ABI after this one.  Never used by a gateway.
 */
#include <stddef.h>

#include "adapter.h"

ICX_ADAPTER_EXPORT const icx_adapter_ops icx_adapter_badabi_ops = {
    .abi = ICX_ADAPTER_ABI + 1,
    .name = "badabi",
};
