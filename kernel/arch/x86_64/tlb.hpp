// The TLB: address spaces tagged with PCIDs where the CPU has them, so that a switch keeps
// every space's translations, and invalidation of exactly what a change removes. The
// decisions are mem::TlbPolicy's; this supplies the instructions.
#pragma once

#include <stdint.h>

#include "mem/tlb_policy.hpp"

namespace tlb {

using AddressSpace = mem::TlbSpace;
using Mode = mem::TlbMode;

// Turns PCIDs on when the CPU has them and `allowed` (the pcid= option); after paging::init,
// with the kernel's root live and untagged.
void init(bool allowed);
Mode mode();

// A tag for a new address space, and its return.
uint16_t new_tag();
void free_tag(uint16_t tag);

// Whether `root` is the one the CPU translates through now.
bool is_live(uint64_t root);

// Makes `space` the live one (nothing when it is), flushing its tag if it is stale.
void load(AddressSpace space);
// Makes the kernel's root (`kernel_root`) live: before a live space's tables are freed.
void load_kernel(uint64_t kernel_root);

// Drops the TLB entries of `pages` pages from `virt` on in `space`, live or not.
void invalidate(AddressSpace space, uint64_t virt, uint64_t pages);

} // namespace tlb
