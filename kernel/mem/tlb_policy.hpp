// When to flush and what to invalidate, for a TLB whose entries may be tagged by address
// space (x86 PCIDs). Portable: the instructions come from `Hardware`, so the host tests run
// this against a model of the architecture's TLB rules.
#pragma once

#include <stdint.h>

#include "l4/abi/address_space.hpp"

#include "mem/tlb_tags.hpp"

namespace mem {

// An address space as the MMU sees it: its top-level table and the tag of its TLB entries.
struct TlbSpace {
    uint64_t root;
    uint16_t tag;
};

enum class TlbMode : uint8_t {
    untagged,              // no tags: every switch flushes the user entries
    tagged,                // tags; a change to a space not live flushes its tag when next loaded
    tagged_invalidate_any, // tags, and single pages of any tag can be invalidated
};

// Hardware provides:
//   uint64_t live_root();                            the table translating now
//   void load(uint64_t root, uint16_t tag, bool keep); make it live; keep: its tag's entries
//                                                    stay (only ever asked for in a tagged mode)
//   void invalidate_live(uint64_t virt);             one page of the live tag (x86: INVLPG)
//   void invalidate_tagged(uint16_t tag, uint64_t virt); one page of any tag (x86: INVPCID)
template <typename Hardware>
class TlbPolicy {
public:
    Hardware& hardware() { return hardware_; }

    // Set once, before the first space is made.
    void set_mode(TlbMode mode) { mode_ = mode; }
    TlbMode mode() const { return mode_; }

    // A tag for a new space (TlbTags::kUntagged, flushed on every load, when untagged or
    // when all are taken), and its return when the space is destroyed.
    uint16_t new_tag() { return mode_ == TlbMode::untagged ? TlbTags::kUntagged : tags_.allocate(); }
    void free_tag(uint16_t tag) { (void)tags_.free(tag); }

    bool is_live(uint64_t root) { return hardware_.live_root() == root; }

    // Makes `space` live, keeping its entries unless its tag is stale.
    [[gnu::always_inline]] void load(TlbSpace space)
    {
        if (is_live(space.root))
            return;
        bool keep = mode_ != TlbMode::untagged && !tags_.take_stale(space.tag);
        hardware_.load(space.root, mode_ == TlbMode::untagged ? TlbTags::kUntagged : space.tag, keep);
    }

    // The kernel's own root (untagged, flushed): before a live space's tables are freed.
    void load_kernel(uint64_t kernel_root) { hardware_.load(kernel_root, TlbTags::kUntagged, false); }

    // Takes `pages` pages from `virt` on out of `space`'s TLB entries, live or not.
    void invalidate(TlbSpace space, uint64_t virt, uint64_t pages)
    {
        constexpr uint64_t kPage = l4::abi::kPageSize;
        if (is_live(space.root)) {
            for (uint64_t i = 0; i < pages; ++i)
                hardware_.invalidate_live(virt + i * kPage);
            return;
        }
        // Not live. Untagged, it has no entries now: its load flushes them.
        if (mode_ == TlbMode::untagged || space.tag == TlbTags::kUntagged)
            return;
        if (mode_ == TlbMode::tagged_invalidate_any && pages <= kMaxSinglePages) {
            for (uint64_t i = 0; i < pages; ++i)
                hardware_.invalidate_tagged(space.tag, virt + i * kPage);
            return;
        }
        tags_.mark_stale(space.tag);
    }

    // Past this many pages one flush of the whole tag at its next load is the cheaper way.
    static constexpr uint64_t kMaxSinglePages = 32;

private:
    Hardware hardware_;
    TlbMode mode_ = TlbMode::untagged;
    TlbTags tags_;
};

} // namespace mem
