// sigma0's free memory: sorted ranges of physical addresses, from which blocks are carved
// out for good. Portable, so the unit tests check it on the host.
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "l4/abi/address_space.hpp"

namespace sigma0 {

class PagePool {
public:
    static constexpr size_t kMaxRanges = 256;
    static constexpr uint64_t kPage = l4::abi::kPageSize;

    // Adds [base, base + size) (trimmed inward to whole pages); false when it overlaps what is
    // there or no range is left to hold it.
    bool add(uint64_t base, uint64_t size);

    // 2^order bytes aligned to 2^alignment (both >= 12): the lowest such block. Nothing
    // handed out is ever handed out again. False when no block fits.
    [[nodiscard]] bool allocate(uint64_t order, uint64_t alignment, uint64_t& base);

    uint64_t free_pages() const;

private:
    struct Range {
        uint64_t base, end;
    };
    bool insert(size_t at, Range range);
    void erase(size_t at);

    Range ranges_[kMaxRanges];
    size_t count_ = 0;
};

} // namespace sigma0
