// User memory: L4 recursive address spaces over the mapping database. Pages move between
// tasks as map or grant items of IPC; unmap takes back everything derived; sigma0 sees
// physical memory through a window the kernel fills on its page faults.
#pragma once

#include <stdint.h>

#include "l4/abi/error.hpp"
#include "l4/abi/ipc.hpp"

class Task;

namespace vm {

using l4::abi::Error;

constexpr uint64_t kMaxItemOrder = 22;  // a map item covers at most 4 MiB (1024 pages)
constexpr uint64_t kMaxUnmapOrder = 30; // an unmap at most 1 GiB

// Storage for the mapping database (memory::budget's nodes) and sigma0's frame bitmap (RAM
// below ram_end), from the kernel pool; false when out of memory.
[[nodiscard]] bool init(uint64_t ram_end);
// What init takes besides the database: the bitmap's whole pages, in bytes.
uint64_t bitmap_bytes(uint64_t ram_end);

// An address-space number for a new task (0 when all are taken), and its release.
uint32_t register_space(Task& task);
void unregister_space(uint32_t space);

// A frame the kernel gives a task itself (boot tasks): a root mapping at `virt`.
[[nodiscard]] bool map_root(Task& task, uint64_t virt, uint64_t frame, uint64_t rights);

// The memory items of a message: pages of `from` land in `to`'s `window`; how many 4 KiB
// pages arrived. The items were checked by check_items().
uint64_t transfer(Task& from, const l4::abi::MapItem* items, uint64_t count, Task& to, l4::abi::Flexpage window);
// As transfer, and quota_exhausted when `to`'s quota refused a charge on the way (a mapping
// node or a page table): the pages that arrived stay and count in `moved`.
[[nodiscard]] Error transfer_charged(Task& from, const l4::abi::MapItem* items, uint64_t count, Task& to,
                                     l4::abi::Flexpage window, uint64_t& moved);
// Whether `task` holds a mapping of the page at `address` with all of `rights` (the database
// keeps none that its page tables do not show).
[[nodiscard]] bool page_mapped(Task& task, uint64_t address, uint64_t rights);
[[nodiscard]] bool check_items(const l4::abi::MapItem* items, uint64_t count);

// memory_map_to: the caller's pages in `page` appear in `to` at `destination`, derived from
// them (the caller's unmap takes them back), with at most `page.rights()`, charged to `to`'s
// quota like received pages. Pages the caller lacks are skipped; it goes in steps of at most
// 2 MiB, and the step in which `to`'s quota refused a charge is the last (quota_exhausted; the
// pages that arrived stay). `mapped`: the 4 KiB pages that arrived, on success or failure.
// `to` must not be `from`.
[[nodiscard]] Error map_to(Task& from, l4::abi::Flexpage page, Task& to, uint64_t destination, uint64_t& mapped);

// sigma0 touched its physical window at `address`: map it if it may have it.
[[nodiscard]] bool sigma0_fault(Task& sigma0, uint64_t address);

// unmap: take `page.rights()` from every mapping derived from the caller's pages in `page`
// (and from the caller's own, with include_self).
[[nodiscard]] Error unmap(Task& task, l4::abi::Flexpage page, bool include_self);

// memory_unmap_in: take `page.rights()` from `task`'s own mappings in `page` and from what was
// derived from them; other mappings of the same frames stay. `affected`: the task's pages
// that lost a right.
[[nodiscard]] Error unmap_in(Task& task, l4::abi::Flexpage page, uint64_t& affected);

// Removes every mapping of a task being destroyed (and what others derived from them).
void release_space(Task& task);

// Live mappings, for tests and the banner.
uint64_t mappings();

} // namespace vm
