// sigma0's free memory as a sorted array of ranges.
#include "page_pool.hpp"

namespace sigma0 {

bool PagePool::insert(size_t at, Range range)
{
    if (count_ == kMaxRanges)
        return false;
    for (size_t i = count_; i > at; --i)
        ranges_[i] = ranges_[i - 1];
    ranges_[at] = range;
    ++count_;
    return true;
}

void PagePool::erase(size_t at)
{
    for (size_t i = at; i + 1 < count_; ++i)
        ranges_[i] = ranges_[i + 1];
    --count_;
}

bool PagePool::add(uint64_t base, uint64_t size)
{
    uint64_t first = (base + kPage - 1) / kPage * kPage;
    if (size > ~uint64_t{0} - base)
        return false;
    uint64_t end = (base + size) / kPage * kPage;
    if (first >= end)
        return false;
    size_t at = 0;
    while (at < count_ && ranges_[at].base < first)
        ++at;
    if ((at > 0 && ranges_[at - 1].end > first) || (at < count_ && ranges_[at].base < end))
        return false;
    return insert(at, {first, end});
}

bool PagePool::allocate(uint64_t order, uint64_t alignment, uint64_t& base)
{
    if (order < 12 || order > 47 || alignment < order || alignment > 47)
        return false;
    uint64_t size = uint64_t{1} << order, align = uint64_t{1} << alignment;
    for (size_t i = 0; i < count_; ++i) {
        Range r = ranges_[i];
        uint64_t start = (r.base + align - 1) & ~(align - 1);
        if (start < r.base || start >= r.end || r.end - start < size)
            continue;
        // Carve [start, start + size) out: up to two pieces stay.
        bool before = start > r.base, after = start + size < r.end;
        if (before && after && count_ == kMaxRanges)
            continue; // no room to split this one
        if (before)
            ranges_[i].end = start;
        if (after) {
            Range rest{start + size, r.end};
            if (before)
                (void)insert(i + 1, rest);
            else
                ranges_[i] = rest;
        }
        if (!before && !after)
            erase(i);
        base = start;
        return true;
    }
    return false;
}

uint64_t PagePool::free_pages() const
{
    uint64_t pages = 0;
    for (size_t i = 0; i < count_; ++i)
        pages += (ranges_[i].end - ranges_[i].base) / kPage;
    return pages;
}

} // namespace sigma0
