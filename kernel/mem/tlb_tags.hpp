// TLB tags (x86 PCIDs): which address space each tag names, and which tags must be flushed.
#pragma once

#include <stddef.h>
#include <stdint.h>

namespace mem {

// A tagged address space keeps its TLB entries while others run, so switching back to it
// refills nothing. Each space holds one tag from its creation to its destruction.
//
// A tag's entries can outlive what they translate: when a page of its space was unmapped
// while another space was live (and the CPU could not invalidate that one page under another
// tag), and when a freed tag goes to a new space. Such a tag is stale: its next load must
// flush it. kUntagged is never handed out: it is the kernel's, and that of spaces made after
// every tag was taken, and it is flushed on every load. One CPU: per-CPU staleness comes
// with SMP. Not thread-safe: the caller locks.
class TlbTags {
public:
    static constexpr uint32_t kCount = 4096; // x86: CR3 bits 11:0
    static constexpr uint16_t kUntagged = 0;

    // The lowest free tag, stale (its last owner's entries may still be cached), or kUntagged when
    // all are taken.
    [[nodiscard]] uint16_t allocate();
    // Gives a tag back; false (changing nothing) for kUntagged or a tag not handed out.
    [[nodiscard]] bool free(uint16_t tag);

    // The tag's cached entries may be wrong: its next load flushes them.
    void mark_stale(uint16_t tag);
    // Whether this load of `tag` must flush its entries (always for kUntagged); the mark
    // goes, as the load flushes.
    [[nodiscard]] bool take_stale(uint16_t tag);

    size_t in_use() const { return in_use_; }

private:
    static bool test(const uint64_t* bits, uint32_t i) { return bits[i / 64] & (uint64_t{1} << (i % 64)); }
    static void set(uint64_t* bits, uint32_t i) { bits[i / 64] |= uint64_t{1} << (i % 64); }
    static void clear(uint64_t* bits, uint32_t i) { bits[i / 64] &= ~(uint64_t{1} << (i % 64)); }

    uint64_t used_[kCount / 64] = {};
    uint64_t stale_[kCount / 64] = {};
    size_t in_use_ = 0;
};

} // namespace mem
