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
    // `count` zeroed pages in a row (never used before), or 0; freed one by one.
    uint64_t allocate_contiguous(uint64_t count);
    void free(uint64_t page);

    uint64_t free_pages() const { return free_count_ + (end_ - next_) / 4096; }

private:
    uint64_t next_ = 0, end_ = 0; // never handed out yet
    uint64_t free_list_ = 0;      // each freed page holds the next one's address
    uint64_t free_count_ = 0;
};

} // namespace shim
