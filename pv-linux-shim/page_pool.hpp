// The shim's memory for its processes: the guest memory above its own image and initrd, handed
// out a 4 KiB page at a time (every process page is a shim page mapped into the process, so the
// shim reads and writes it in place). Freed pages are kept on a list threaded through them.
//
// Each page has a reference count (a side table at the pool's start): a page fork shares
// between parent and child, or a MAP_SHARED page, is held once by each process mapping it, and
// goes back to the pool when the last one lets go.
#pragma once

#include <stdint.h>

namespace shim {

class PagePool {
public:
    // [begin, end), page-aligned; the reference counts take the first pages of it.
    void init(uint64_t begin, uint64_t end);

    // A page held once, zeroed unless `cleared` is false (the caller fills all of it), or 0 when
    // none is left.
    uint64_t allocate(bool cleared = true);
    // `count` zeroed pages in a row, or 0: a run freed before of that length, or fresh pages.
    uint64_t allocate_contiguous(uint64_t count);
    // Gives a run back whole, for the next allocate_contiguous of its length (or page by page
    // when there is no room to remember it). `zeroed`: the caller left it all zero, so it need
    // not be cleared again (a process's page map, emptied entry by entry at its exit).
    void free_contiguous(uint64_t first, uint64_t count, bool zeroed = false);
    // Lets go of one reference: the page is free when it was the last.
    void free(uint64_t page);
    // One more holder of `page`; false (nothing changes) when its count is at its maximum.
    bool share(uint64_t page);
    // How many hold `page` (1 for a page that only its allocator has).
    uint32_t references(uint64_t page) const;

    uint64_t free_pages() const;

private:
    uint16_t& count_of(uint64_t page) const;

    uint64_t base_ = 0;           // the first page the counts cover
    uint16_t* counts_ = nullptr;  // a count per page of [base_, end_)
    uint64_t next_ = 0, end_ = 0; // never handed out yet
    uint64_t free_list_ = 0;      // each freed page holds the next one's address
    uint64_t free_count_ = 0;
    struct Run {
        uint64_t first, count; // count 0: an empty slot
        bool zeroed;
    };
    Run runs_[32] = {};
};

} // namespace shim
