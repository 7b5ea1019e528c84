// The kernel's memory: one frame allocator, one heap over it, reached through the direct map.
#include "memory.hpp"

#include "arch/x86_64/paging.hpp"
#include "panic.hpp"

namespace memory {
namespace {

mem::FrameAllocator frame_allocator;
mem::KernelHeap kernel_heap;
mem::Budget planned;
uint64_t floor;

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

// The frame above the first `pool` bytes of free memory.
uint64_t floor_above(uint64_t pool)
{
    uint64_t base = 0, end = 0, from = 0;
    while (frame_allocator.next_free_run(from, base, end)) {
        if (end - base >= pool)
            return base + pool;
        pool -= end - base;
        from = end;
    }
    return end; // less free memory than the pool: sigma0 gets nothing
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

void plan_budget(uint64_t fixed_bytes, bool root_task)
{
    planned = mem::plan_budget(frame_allocator.free_frames() * mem::FrameAllocator::kFrameSize, fixed_bytes, root_task);
    floor = floor_above(planned.pool_bytes);
}

const mem::Budget& budget() { return planned; }
uint64_t pool_floor() { return floor; }

} // namespace memory
