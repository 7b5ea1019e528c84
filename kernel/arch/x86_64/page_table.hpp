// Page tables in memory: the walker that the kernel's boot-time mappings (paging.cpp) and user
// address spaces (page_table.cpp) share, and the little it needs from the machine.
//
// page_table.cpp touches no hardware: it reaches table frames through the direct map
// (phys_to_virt), takes and returns them through alloc_frame / free_frame, learns the NX bit
// from no_execute() and flushes through tlb::. The kernel defines those in paging.cpp and tlb.hpp
// (inlined by LTO); the host unit tests link the fake arch's (test/unit/fake_arch/), which runs
// the same page-table code over fake physical memory.
#pragma once

#include <stdint.h>

#include "arch/x86_64/paging.hpp"

namespace paging::table {

constexpr uint64_t kPage = l4::abi::kPageSize;
constexpr uint64_t kLargePage = 2 * 1024 * 1024;
constexpr uint64_t kLargeAddressMask = 0x000fffffffe00000;
constexpr unsigned kEntries = 512;

inline uint64_t* at(uint64_t phys) { return static_cast<uint64_t*>(phys_to_virt(phys)); }

// The index of `virt` in its table at `level` (4: PML4, 3: PDPT, 2: PD, 1: PT).
inline unsigned index_at(uint64_t virt, int level) { return (virt >> (12 + 9 * (level - 1))) & (kEntries - 1); }

// The machine's side (paging.cpp in the kernel, the fake arch on the host).
// A frame for a page table, its contents undefined; mem::FrameAllocator::kNone when none is left.
uint64_t alloc_frame();
void free_frame(uint64_t phys);
// pte::no_execute when the CPU has NX, else 0 (the bit would be reserved).
uint64_t no_execute();

// The portable side (page_table.cpp).
// A cleared table (kernel, uncharged); kNone when out of memory.
uint64_t new_table();
// The entry for `virt` at `level` (1: 4 KiB page, 2: 2 MiB page) under `root`, creating tables
// on the way (with `table_flags`: with pte::user they are user tables, charged to the account
// in force, and a user 2 MiB page on the way is split); nullptr when out of memory or quota for
// a table, or a large page is in the way that cannot be split.
uint64_t* walk_create(uint64_t root, uint64_t virt, int level, uint64_t table_flags);

} // namespace paging::table
