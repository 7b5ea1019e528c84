// The shim's memory for its processes: the guest memory above its own image and initrd, handed
// out a 4 KiB page at a time (every process page is a shim page mapped into the process, so the
// shim reads and writes it in place). Freed pages are kept on a list threaded through them.
#pragma once

#include <stdint.h>

namespace shim {

class PagePool {
public:
    // [begin, end), page-aligned.
    void init(uint64_t begin, uint64_t end);

    // A zeroed page, or 0 when none is left.
    uint64_t allocate();
    // `count` zeroed pages in a row, or 0: a run freed before of that length, or fresh pages.
    uint64_t allocate_contiguous(uint64_t count);
    // Gives a run back whole, for the next allocate_contiguous of its length (or page by page
    // when there is no room to remember it).
    void free_contiguous(uint64_t first, uint64_t count);
    void free(uint64_t page);

    uint64_t free_pages() const;

private:
    uint64_t next_ = 0, end_ = 0; // never handed out yet
    uint64_t free_list_ = 0;      // each freed page holds the next one's address
    uint64_t free_count_ = 0;
    struct Run {
        uint64_t first, count; // count 0: an empty slot
    };
    Run runs_[32] = {};
};

} // namespace shim
