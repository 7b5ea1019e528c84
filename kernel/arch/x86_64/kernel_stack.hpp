// Kernel stacks: each in its own slot of a virtual region, below an unmapped guard, so an
// overflow is a clean fault (a double fault on the IST stack) that names the thread, never a
// silent write over the neighbour in the heap.
#pragma once

#include <stddef.h>
#include <stdint.h>

namespace kernel_stack {

constexpr size_t kSize = 8192;
// What a stack costs its factory: its frames and its share of the page table that maps it
// (one table maps 128 slots and is kept for the next stack there).
constexpr size_t kChargedBytes = kSize + 32;

// The lowest byte of a new stack (kSize bytes), nullptr when out of memory or slots.
[[nodiscard]] uint8_t* allocate();
void free(uint8_t* stack);

// Whether `address` lies in the guard below some stack (a kernel stack overflow).
bool in_guard(uint64_t address);

// The most bytes any stack has used: stacks start filled with a pattern; each freed stack
// (and the ones measure_live() is shown) is scanned for the deepest word that changed.
size_t deepest_use();
void measure(const uint8_t* stack);

} // namespace kernel_stack
