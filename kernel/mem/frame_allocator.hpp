// Physical frame allocator: two bitmaps over all frames below the top of usable RAM.
#pragma once

#include <stddef.h>
#include <stdint.h>

namespace mem {

// A physical byte range [base, end).
struct PhysRange {
    uint64_t base;
    uint64_t end;
};

// Hands out 4 KiB physical frames, first fit from low addresses.
//
// `managed_` says which frames may ever be handed out (usable RAM minus everything reserved,
// frame 0 and the bitmaps themselves); `free_` says which of those are free now. Keeping both
// lets free() tell a double free from a bogus address. Not thread-safe: the caller locks.
class FrameAllocator {
public:
    static constexpr uint64_t kFrameSize = 4096;
    static constexpr uint64_t kNone = ~uint64_t{0};

    // Where the allocator may write its bitmaps (the kernel's early direct map).
    using PhysToVirt = void* (*)(uint64_t phys);

    enum class InitError : uint8_t { none, no_usable_memory, no_room_for_bitmap };

    // usable: RAM the firmware calls available, any order, may overlap; edges are trimmed
    //   inward to whole frames.
    // reserved: never handed out (kernel image, modules, boot info, firmware areas); may
    //   overlap usable or each other; edges are widened outward to whole frames.
    // bitmap_limit: the bitmaps must end at or below this physical address.
    // The bitmaps go as high as possible below bitmap_limit, so the low frames that early
    // page tables and AP trampolines want stay free.
    [[nodiscard]] InitError init(const PhysRange* usable, size_t usable_count, const PhysRange* reserved,
                                 size_t reserved_count, PhysToVirt p2v, uint64_t bitmap_limit);

    // `count` contiguous frames whose base is aligned to `align` bytes (a power of two, at
    // least kFrameSize) and whose end is at or below `limit`. kNone when impossible.
    [[nodiscard]] uint64_t alloc(size_t count = 1, uint64_t align = kFrameSize, uint64_t limit = kNone);

    // The first run of free frames at or above `from`: true and [base, end) set, or false.
    [[nodiscard]] bool next_free_run(uint64_t from, uint64_t& base, uint64_t& end) const;

    // Takes the one frame at `phys` if it is managed and free (sigma0 claiming its memory
    // page by page); false otherwise, and nothing changes.
    [[nodiscard]] bool claim(uint64_t phys);

    enum class FreeError : uint8_t { none, misaligned, not_managed, double_free };

    // Checks every frame before changing anything: on error nothing is freed.
    FreeError free(uint64_t phys, size_t count = 1);

    // Frames the allocator manages: usable minus reserved minus its own bitmaps.
    size_t total_frames() const { return total_frames_; }
    size_t free_frames() const { return free_frames_; }

    // Where the bookkeeping lives: two bitmaps back to back, occupying whole frames.
    uint64_t bitmap_base() const { return bitmap_base_; }
    uint64_t bitmap_bytes() const { return 2 * words_ * sizeof(uint64_t); }

private:
    uint64_t* managed_ = nullptr; // bit set: may be handed out
    uint64_t* free_ = nullptr;    // bit set: free now (implies managed)
    uint64_t frames_ = 0;         // frames covered by the bitmaps: [0, top of usable RAM)
    uint64_t words_ = 0;          // 64-bit words per bitmap
    uint64_t search_hint_ = 0;    // no free frame lies in a word below this one
    uint64_t bitmap_base_ = 0;
    size_t total_frames_ = 0;
    size_t free_frames_ = 0;
};

} // namespace mem
