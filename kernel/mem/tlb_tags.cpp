// TLB tags: a bitmap of tags in use and one of stale tags.
#include "mem/tlb_tags.hpp"

namespace mem {

uint16_t TlbTags::allocate()
{
    for (uint32_t word = 0; word < kCount / 64; ++word) {
        uint64_t free_bits = ~used_[word];
        if (word == 0)
            free_bits &= ~uint64_t{1}; // kUntagged
        if (free_bits == 0)
            continue;
        auto tag = static_cast<uint16_t>(word * 64 + static_cast<uint32_t>(__builtin_ctzll(free_bits)));
        set(used_, tag);
        set(stale_, tag);
        ++in_use_;
        return tag;
    }
    return kUntagged;
}

bool TlbTags::free(uint16_t tag)
{
    if (tag == kUntagged || tag >= kCount || !test(used_, tag))
        return false;
    clear(used_, tag);
    --in_use_;
    return true;
}

void TlbTags::mark_stale(uint16_t tag)
{
    if (tag < kCount)
        set(stale_, tag);
}

bool TlbTags::take_stale(uint16_t tag)
{
    if (tag == kUntagged || tag >= kCount)
        return true;
    bool stale = test(stale_, tag);
    clear(stale_, tag);
    return stale;
}

} // namespace mem
