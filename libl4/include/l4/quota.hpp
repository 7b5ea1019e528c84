// How much kernel memory a factory can still hand out, measured the only way the kernel allows:
// the largest sub-factory it can make, found bit by bit (41 attempts) and deleted again.
// Header-only over the inline system calls, so guest kernels (no libl4) use it too.
#pragma once

#include <stdint.h>

#include "l4/syscall.hpp"

namespace l4 {

// `scratch` must be an empty slot of the caller's; it is empty again afterwards.
inline uint64_t factory_free_bytes(Selector factory, Selector scratch)
{
    uint64_t quota = 0;
    for (uint64_t bit = uint64_t{1} << 40; bit != 0; bit >>= 1)
        if (factory_create(factory, abi::ObjectKind::factory, scratch, quota | bit) == Error::ok) {
            quota |= bit;
            (void)cap_delete(scratch);
        }
    return quota;
}

} // namespace l4
