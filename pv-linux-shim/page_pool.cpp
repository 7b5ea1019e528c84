// The shim's page pool (page_pool.hpp).
#include "page_pool.hpp"

#include "common/string.hpp"

namespace shim {

namespace {
constexpr uint64_t kPage = 4096;
constexpr uint16_t kMaxReferences = 0xffff;
} // namespace

void PagePool::init(uint64_t begin, uint64_t end)
{
    // n pages need 2n bytes of counts: the first ceil(2n / (kPage + 2)) pages hold them.
    const uint64_t pages = (end - begin) / kPage, count_pages = (2 * pages + kPage + 1) / (kPage + 2);
    counts_ = reinterpret_cast<uint16_t*>(begin);
    memset(counts_, 0, count_pages * kPage);
    base_ = next_ = begin + count_pages * kPage;
    end_ = end;
    free_list_ = 0;
    free_count_ = 0;
    for (Run& run : runs_)
        run = Run{};
}

uint16_t& PagePool::count_of(uint64_t page) const { return counts_[(page - base_) / kPage]; }

uint64_t PagePool::allocate(bool cleared)
{
    uint64_t page = 0;
    if (free_list_ != 0) {
        page = free_list_;
        free_list_ = *reinterpret_cast<uint64_t*>(page);
        --free_count_;
    } else if (next_ < end_) {
        page = next_;
        next_ += kPage;
    } else {
        return 0;
    }
    if (cleared)
        memset(reinterpret_cast<void*>(page), 0, kPage);
    count_of(page) = 1;
    return page;
}

uint64_t PagePool::allocate_contiguous(uint64_t count)
{
    uint64_t first = 0;
    bool zeroed = false;
    for (Run& run : runs_)
        if (run.count == count) {
            first = run.first;
            zeroed = run.zeroed;
            run = Run{};
            break;
        }
    if (first == 0) {
        if (count > (end_ - next_) / kPage)
            return 0;
        first = next_;
        next_ += count * kPage;
    }
    if (!zeroed)
        memset(reinterpret_cast<void*>(first), 0, count * kPage);
    for (uint64_t i = 0; i < count; ++i) // each held once: free_contiguous may give them back one by one
        count_of(first + i * kPage) = 1;
    return first;
}

void PagePool::free_contiguous(uint64_t first, uint64_t count, bool zeroed)
{
    for (Run& run : runs_)
        if (run.count == 0) {
            run = Run{first, count, zeroed};
            return;
        }
    for (uint64_t i = 0; i < count; ++i)
        free(first + i * kPage);
}

uint64_t PagePool::free_pages() const
{
    uint64_t pages = free_count_ + (end_ - next_) / kPage;
    for (const Run& run : runs_)
        pages += run.count;
    return pages;
}

void PagePool::free(uint64_t page)
{
    if (--count_of(page) != 0)
        return; // others still hold it
    *reinterpret_cast<uint64_t*>(page) = free_list_;
    free_list_ = page;
    ++free_count_;
}

bool PagePool::share(uint64_t page)
{
    uint16_t& count = count_of(page);
    if (count == kMaxReferences)
        return false;
    ++count;
    return true;
}

uint32_t PagePool::references(uint64_t page) const { return count_of(page); }

} // namespace shim
