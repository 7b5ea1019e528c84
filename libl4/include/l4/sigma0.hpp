// A client of the sigma0 protocol (docs/sigma0.md), for the root task: memory from sigma0 into
// the caller's own address space, a page source for the heap, I/O ports and interrupt lines.
//
//   l4::sigma0::allocate(12, 0x0000200000000000);          // a fresh page there
//   l4::sigma0::map_physical(module.base & ~0xfff, 12, at); // module data, device memory
//   l4::heap_init(l4::sigma0::pages);                       // then malloc, new, ...
//   l4::sigma0::io_ports(0x3f8, 8, slot);                   // COM1's ports, then ioport_enable
//   l4::sigma0::irq_line(4, slot);                          // COM1's interrupt, then irq_bind
//
// Every request is a call on abi::boot::kSigma0EndpointSelector with a receive window of
// exactly the requested block at `at`; the caller's receive window is restored afterwards.
// Memory already mapped at `at` is replaced (and what was derived from it unmapped, see
// docs/syscalls.md), so callers should request memory only where nothing lives yet.
//
// Errors: what sigma0 answered (its reply label: invalid_argument, out_of_memory,
// missing_rights), or the call's own error (e.g. invalid_selector when the task holds no
// sigma0 endpoint); checked here first: invalid_argument for an order outside 12..22 or an
// address range outside user space, misaligned for an `at` or physical base not aligned to the
// block's size; bad_address when sigma0 said yes but not every page arrived (part of the window
// is a page the kernel keeps for itself, a UTCB or the boot information).
//
// Not thread-safe: each call uses the calling thread's UTCB, but pages() keeps one cursor
// without a lock (as the heap it feeds has none).
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "l4/abi/address_space.hpp"

#include "l4/abi/boot.hpp"
#include "l4/abi/sigma0.hpp"
#include "l4/syscall.hpp"

namespace l4::sigma0 {

constexpr Selector kEndpoint = abi::boot::kSigma0EndpointSelector;
constexpr uint64_t kPageSize = abi::kPageSize;

// Where pages() puts the memory it gets: [kHeapArenaBase, kHeapArenaBase + kHeapArenaSize) of
// the caller's space, nothing else of a root task using pages() may live there.
constexpr uint64_t kHeapArenaBase = 0x0000100000000000;
constexpr uint64_t kHeapArenaSize = uint64_t{1} << 40;

// 2^order bytes (order 12..22) of fresh free memory, mapped read/write/execute at `at`
// (aligned to 2^order). The content is whatever the frames held: not zeroed.
[[nodiscard]] Error allocate(uint64_t order, uint64_t at);

// The physical memory [phys, phys + 2^order) (order 12..22, phys aligned to it), which must lie
// in one module, device or firmware region, mapped read/write/execute at `at` (aligned too).
[[nodiscard]] Error map_physical(uint64_t phys, uint64_t order, uint64_t at);

// The whole pages covering [phys, phys + size) mapped from `at` (page-aligned) upward: the byte
// at phys lands at at + phys % kPageSize. Uses the largest blocks the alignment of both sides
// allows. On an error the pages mapped before it stay mapped.
[[nodiscard]] Error map_physical_range(uint64_t phys, uint64_t size, uint64_t at);

// The number of 4 KiB pages sigma0 can still hand out.
[[nodiscard]] Error free_pages(uint64_t& count);

// An I/O port capability (all rights) for exactly [first, first + count) (count 1..65536, first
// + count <= 65536), at `into` (an empty slot). sigma0 hands out a range as often as it is asked
// for. invalid_argument for a bad range or into == abi::kNoReceiveSlot; slot_occupied when
// sigma0 said yes but nothing arrived (`into` is not an empty slot of the caller's).
[[nodiscard]] Error io_ports(uint64_t first, uint64_t count, Selector into);

// A copy of sigma0's capability to interrupt line `line` (0..15, not 2, the PIC cascade), with
// every right (irq_bind, irq_acknowledge), at `into` (an empty slot). Each line once:
// busy when it was handed out before. invalid_argument for a bad line or into ==
// abi::kNoReceiveSlot; slot_occupied as for io_ports (and the line is spent all the same).
[[nodiscard]] Error irq_line(uint64_t line, Selector into);

// A PageSource for l4::heap_init: `count` contiguous fresh pages from the heap arena, or null
// when sigma0 is out of memory or the arena is used up. Pages mapped for a request that failed
// half-way are kept for the next one (nothing is lost).
void* pages(size_t count);

} // namespace l4::sigma0
