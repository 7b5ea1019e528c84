// The kernel's address space: W^X kernel image, direct map of RAM, MMIO window.
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "arch/x86_64/layout.hpp"

namespace mem {
class FrameAllocator;
}

namespace paging {

namespace pte {
constexpr uint64_t present = 1u << 0;
constexpr uint64_t writable = 1u << 1;
constexpr uint64_t user = 1u << 2;
constexpr uint64_t write_through = 1u << 3;
constexpr uint64_t cache_disable = 1u << 4;
constexpr uint64_t large = 1u << 7;
constexpr uint64_t global = 1u << 8;
constexpr uint64_t no_execute = uint64_t{1} << 63;
constexpr uint64_t address_mask = 0x000ffffffffff000;
} // namespace pte

inline void* phys_to_virt(uint64_t phys) { return reinterpret_cast<void*>(DIRECT_MAP_BASE + phys); }
inline uint64_t direct_virt_to_phys(const void* virt)
{
    return reinterpret_cast<uint64_t>(virt) - DIRECT_MAP_BASE;
}

// Builds the kernel page tables (direct map of [0, direct_map_end)) and switches to them.
// Until then only the boot tables' first 4 GiB are reachable, so page tables come from there.
void init(mem::FrameAllocator& frames, uint64_t direct_map_end);

// Maps device registers uncached; returns their virtual address, or nullptr when out of room.
[[nodiscard]] void* map_mmio(uint64_t phys, size_t size);

// The page-table entry that maps `virt` in the kernel tables (0 when unmapped): for tests.
uint64_t lookup(uint64_t virt);

} // namespace paging
