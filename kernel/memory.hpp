// The kernel's memory: physical frames and the heap for kernel objects.
#pragma once

#include <stddef.h>

#include "mem/frame_allocator.hpp"
#include "mem/kernel_heap.hpp"

namespace memory {

mem::FrameAllocator& frames();
mem::KernelHeap& heap();

// Starts the heap on top of the frame allocator (after paging::init).
void init_heap();

void release(void* object, size_t size); // panics if the heap reports misuse

} // namespace memory
