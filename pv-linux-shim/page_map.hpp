// A process's page map: which shim page backs each of its virtual pages, with its rights and
// flags, in an open-addressing table (linear probing from a multiplicative hash). Portable: the
// host tests check it (test/unit/shim_page_map_test.cpp).
#pragma once

#include <stdint.h>

namespace shim {

struct PageEntry {
    uint64_t virtual_page; // 0: free (page 0 is never mapped)
    uint64_t shim_page;
    uint32_t rights; // what the process may do (Process's kRead, kWrite, kExecute)
    uint32_t flags;  // Process's kCopyOnWrite, kShared, kNotMapped
};

constexpr uint64_t kPageMapEntries = 8192; // a power of two

// The entry of `virtual_page` in `table` (kPageMapEntries of them), or the free one where it
// would go; null when the table is full without it.
PageEntry* page_map_find(PageEntry* table, uint64_t virtual_page);
// Frees `entry` and moves the rest of its probe run where searches find them again.
void page_map_erase(PageEntry* table, PageEntry* entry);

} // namespace shim
