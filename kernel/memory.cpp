// The kernel's memory: one frame allocator, one heap over it, reached through the direct map.
#include "memory.hpp"

#include "arch/x86_64/paging.hpp"
#include "panic.hpp"

namespace memory {
namespace {

mem::FrameAllocator frame_allocator;
mem::KernelHeap kernel_heap;

void* alloc_pages(void*, size_t count)
{
    uint64_t phys = frame_allocator.alloc(count);
    return phys == mem::FrameAllocator::kNone ? nullptr : paging::phys_to_virt(phys);
}

void free_pages(void*, void* pages, size_t count)
{
    auto error = frame_allocator.free(paging::direct_virt_to_phys(pages), count);
    if (error != mem::FrameAllocator::FreeError::none)
        panic("kernel heap returned pages {:#018x} it does not own (error {})", pages, error);
}

} // namespace

mem::FrameAllocator& frames() { return frame_allocator; }
mem::KernelHeap& heap() { return kernel_heap; }

void init_heap() { kernel_heap.init(mem::PageSource{nullptr, alloc_pages, free_pages}); }

void release(void* object, size_t size)
{
    auto error = kernel_heap.free(object, size);
    if (error != mem::KernelHeap::FreeError::none)
        panic("kernel heap: bad free of {} ({} bytes): error {}", object, size, error);
}

} // namespace memory
