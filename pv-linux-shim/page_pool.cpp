// The shim's page pool (page_pool.hpp).
#include "page_pool.hpp"

#include "common/string.hpp"

namespace shim {

void PagePool::init(uint64_t begin, uint64_t end)
{
    next_ = begin;
    end_ = end;
    free_list_ = 0;
    free_count_ = 0;
    for (Run& run : runs_)
        run = Run{};
}

uint64_t PagePool::allocate()
{
    uint64_t page = 0;
    if (free_list_ != 0) {
        page = free_list_;
        free_list_ = *reinterpret_cast<uint64_t*>(page);
        --free_count_;
    } else if (next_ < end_) {
        page = next_;
        next_ += 4096;
    } else {
        return 0;
    }
    memset(reinterpret_cast<void*>(page), 0, 4096);
    return page;
}

uint64_t PagePool::allocate_contiguous(uint64_t count)
{
    for (Run& run : runs_)
        if (run.count == count) {
            const uint64_t first = run.first;
            run = Run{};
            memset(reinterpret_cast<void*>(first), 0, count * 4096);
            return first;
        }
    if (count > (end_ - next_) / 4096)
        return 0;
    const uint64_t first = next_;
    next_ += count * 4096;
    memset(reinterpret_cast<void*>(first), 0, count * 4096);
    return first;
}

void PagePool::free_contiguous(uint64_t first, uint64_t count)
{
    for (Run& run : runs_)
        if (run.count == 0) {
            run = Run{first, count};
            return;
        }
    for (uint64_t i = 0; i < count; ++i)
        free(first + i * 4096);
}

uint64_t PagePool::free_pages() const
{
    uint64_t pages = free_count_ + (end_ - next_) / 4096;
    for (const Run& run : runs_)
        pages += run.count;
    return pages;
}

void PagePool::free(uint64_t page)
{
    *reinterpret_cast<uint64_t*>(page) = free_list_;
    free_list_ = page;
    ++free_count_;
}

} // namespace shim
