// The kernel's memory: physical frames and the heap for kernel objects.
#pragma once

#include <stddef.h>

#include "mem/budget.hpp"
#include "mem/frame_allocator.hpp"
#include "mem/kernel_heap.hpp"

namespace memory {

mem::FrameAllocator& frames();
mem::KernelHeap& heap();

// Starts the heap on top of the frame allocator (after paging::init).
void init_heap();

void release(void* object, size_t size); // panics if the heap reports misuse

// Plans the kernel's memory (mem::plan_budget) from the frames free now, before the kernel
// takes `fixed_bytes` for its own tables, and fixes the pool's floor: the free frames below it
// (lowest first, where the kernel allocates) are the kernel's, those above it sigma0's.
void plan_budget(uint64_t fixed_bytes, bool root_task);
const mem::Budget& budget();
uint64_t pool_floor();

} // namespace memory
