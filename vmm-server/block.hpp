// The block device over a ramdisk: one request, its buffer already checked by the ring.
#pragma once

#include "ring.hpp"

namespace vmm {

struct Ramdisk {
    uint8_t* bytes = nullptr;
    uint64_t sectors = 0; // of pv::kSectorBytes
};

// The response to `copy` (its id is the ring's to set): bad_op for an unknown operation,
// bad_length for a length that is not count sectors (or under 8 for size), bad_sector for sectors
// beyond the disk.
pv::Response block_serve(const Ramdisk& disk, const pv::BlockRequest& copy, uint8_t* buffer);

} // namespace vmm
