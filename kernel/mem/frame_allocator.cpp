// Physical frame allocator: bitmap placement at boot, first-fit allocation, checked free.
#include "mem/frame_allocator.hpp"

namespace mem {

namespace {

constexpr uint64_t kFrame = FrameAllocator::kFrameSize;
constexpr uint64_t kFrameMask = kFrame - 1;
constexpr uint64_t kLastFrame = ~kFrameMask; // highest frame-aligned address
constexpr uint64_t kBits = 64;

constexpr uint64_t round_down(uint64_t x) { return x & ~kFrameMask; }

// Saturating, so ranges ending near 2^64 do not wrap around to 0.
constexpr uint64_t round_up(uint64_t x) { return x > kLastFrame ? kLastFrame : (x + kFrameMask) & ~kFrameMask; }

constexpr uint64_t min_u64(uint64_t a, uint64_t b) { return a < b ? a : b; }
constexpr uint64_t max_u64(uint64_t a, uint64_t b) { return a > b ? a : b; }

// A frame-aligned [base, end) after adjusting a firmware range.
struct Span {
    uint64_t base;
    uint64_t end;
    constexpr bool empty() const { return base >= end; }
};

// Usable RAM shrinks to the whole frames inside it: a partial frame is not ours to hand out.
constexpr Span trimmed(const PhysRange& r) { return {round_up(r.base), round_down(r.end)}; }

// Reserved memory grows to every frame it touches: a partial frame is not safe to hand out.
constexpr Span widened(const PhysRange& r)
{
    if (r.end <= r.base)
        return {0, 0};
    return {round_down(r.base), round_up(r.end)};
}

// Is [a, b) inside the union of the adjusted ranges? The ranges may be unsorted and
// overlapping, so walk forward from `a`, each time jumping to the furthest end of a range
// that contains the current point. Quadratic, but boot maps have a few dozen entries.
template <Span (*Adjust)(const PhysRange&)>
bool covered(const PhysRange* ranges, size_t count, uint64_t a, uint64_t b)
{
    uint64_t cur = a;
    while (cur < b) {
        uint64_t next = cur;
        for (size_t i = 0; i < count; ++i) {
            const Span s = Adjust(ranges[i]);
            if (s.base <= cur && cur < s.end && s.end > next)
                next = s.end;
        }
        if (next == cur)
            return false;
        cur = next;
    }
    return true;
}

bool overlaps_reserved(const PhysRange* reserved, size_t count, uint64_t a, uint64_t b)
{
    for (size_t i = 0; i < count; ++i) {
        const Span s = widened(reserved[i]);
        if (!s.empty() && s.base < b && a < s.end)
            return true;
    }
    return false;
}

// Mask of bits [bit, bit + n) within one word; n in 1..64.
constexpr uint64_t word_mask(uint64_t bit, uint64_t n)
{
    return (n == kBits ? ~uint64_t{0} : (uint64_t{1} << n) - 1) << bit;
}

void set_bits(uint64_t* words, uint64_t from, uint64_t to)
{
    while (from < to) {
        const uint64_t bit = from % kBits;
        const uint64_t n = min_u64(kBits - bit, to - from);
        words[from / kBits] |= word_mask(bit, n);
        from += n;
    }
}

void clear_bits(uint64_t* words, uint64_t from, uint64_t to)
{
    while (from < to) {
        const uint64_t bit = from % kBits;
        const uint64_t n = min_u64(kBits - bit, to - from);
        words[from / kBits] &= ~word_mask(bit, n);
        from += n;
    }
}

// First bit in [from, to) whose value is `value`, or `to` if there is none.
template <bool value>
uint64_t find_bit(const uint64_t* words, uint64_t from, uint64_t to)
{
    while (from < to) {
        const uint64_t index = from / kBits;
        uint64_t word = value ? words[index] : ~words[index];
        word &= ~uint64_t{0} << (from % kBits);
        if (word != 0) {
            const uint64_t found = index * kBits + static_cast<uint64_t>(__builtin_ctzll(word));
            return min_u64(found, to);
        }
        from = (index + 1) * kBits;
    }
    return to;
}

// Plain SWAR popcount: __builtin_popcountll may become a libgcc call without -mpopcnt.
constexpr uint64_t popcount(uint64_t x)
{
    x = x - ((x >> 1) & 0x5555555555555555);
    x = (x & 0x3333333333333333) + ((x >> 2) & 0x3333333333333333);
    x = (x + (x >> 4)) & 0x0f0f0f0f0f0f0f0f;
    return (x * 0x0101010101010101) >> 56;
}

} // namespace

FrameAllocator::InitError FrameAllocator::init(const PhysRange* usable, size_t usable_count, const PhysRange* reserved,
                                               size_t reserved_count, PhysToVirt p2v, uint64_t bitmap_limit)
{
    *this = FrameAllocator{}; // a failed init leaves an allocator that hands out nothing

    // Is there any frame that is usable, not frame 0 and not reserved?
    uint64_t top = 0;
    bool any_usable = false;
    for (size_t i = 0; i < usable_count; ++i) {
        const Span s = trimmed(usable[i]);
        if (s.empty())
            continue;
        top = max_u64(top, s.end);
        const uint64_t base = max_u64(s.base, kFrame);
        if (base < s.end && !covered<widened>(reserved, reserved_count, base, s.end))
            any_usable = true;
    }
    if (!any_usable)
        return InitError::no_usable_memory;

    const uint64_t frames = top / kFrame;
    const uint64_t words = (frames + kBits - 1) / kBits;
    const uint64_t need = round_up(2 * words * sizeof(uint64_t));

    // Place the bitmaps as high as possible below the limit. The highest fitting spot ends at
    // the limit, at the end of a usable range or at the start of a reserved one: moving any
    // other spot up by one frame would still fit. So only those ends need to be tried.
    const uint64_t ceiling = round_down(min_u64(bitmap_limit, top));
    uint64_t best = kNone;
    auto consider = [&](uint64_t end) {
        end = min_u64(end, ceiling);
        if (end < need || end - need < kFrame)
            return; // frame 0 is never ours
        const uint64_t base = end - need;
        if (best != kNone && base <= best)
            return;
        if (covered<trimmed>(usable, usable_count, base, end) &&
            !overlaps_reserved(reserved, reserved_count, base, end))
            best = base;
    };
    consider(ceiling);
    for (size_t i = 0; i < usable_count; ++i)
        consider(trimmed(usable[i]).end);
    for (size_t i = 0; i < reserved_count; ++i) {
        const Span s = widened(reserved[i]);
        if (!s.empty())
            consider(s.base);
    }
    if (best == kNone)
        return InitError::no_room_for_bitmap;

    uint64_t* const bitmaps = static_cast<uint64_t*>(p2v(best));
    // Boot memory holds whatever the firmware left there.
    for (uint64_t i = 0; i < 2 * words; ++i)
        bitmaps[i] = 0;
    uint64_t* const managed = bitmaps;
    uint64_t* const free_map = bitmaps + words;

    for (size_t i = 0; i < usable_count; ++i) {
        const Span s = trimmed(usable[i]);
        if (!s.empty())
            set_bits(managed, s.base / kFrame, s.end / kFrame);
    }
    for (size_t i = 0; i < reserved_count; ++i) {
        const Span s = widened(reserved[i]);
        const uint64_t end = min_u64(s.end, top);
        if (s.base < end)
            clear_bits(managed, s.base / kFrame, end / kFrame);
    }
    clear_bits(managed, 0, 1); // physical 0 doubles as "no frame" too often to hand out
    clear_bits(managed, best / kFrame, (best + need) / kFrame);

    size_t count = 0;
    for (uint64_t i = 0; i < words; ++i) {
        free_map[i] = managed[i];
        count += popcount(managed[i]);
    }
    // Possible when the bitmaps took the last usable frames.
    if (count == 0)
        return InitError::no_usable_memory;

    managed_ = managed;
    free_ = free_map;
    frames_ = frames;
    words_ = words;
    bitmap_base_ = best;
    total_frames_ = count;
    free_frames_ = count;
    return InitError::none;
}

uint64_t FrameAllocator::alloc(size_t count, uint64_t align, uint64_t limit)
{
    if (frames_ == 0 || count == 0 || align < kFrame || (align & (align - 1)) != 0)
        return kNone;
    const uint64_t limit_frame = min_u64(limit / kFrame, frames_); // frames wholly below limit
    if (count > limit_frame)
        return kNone;

    uint64_t start = find_bit<true>(free_, search_hint_ * kBits, limit_frame);
    const uint64_t step = align / kFrame;

    if (count == 1 && step == 1) {
        // The common case: the hint makes repeated single-frame allocations cheap, and since
        // it only skips words without free frames, the result is still the lowest free frame.
        if (start == limit_frame)
            return kNone;
        clear_bits(free_, start, start + 1);
        search_hint_ = start / kBits;
        --free_frames_;
        return start * kFrame;
    }

    for (;;) {
        start = (start + step - 1) / step * step;
        if (start >= limit_frame || count > limit_frame - start)
            return kNone;
        const uint64_t busy = find_bit<false>(free_, start, start + count);
        if (busy == start + count)
            break;
        start = find_bit<true>(free_, busy + 1, limit_frame); // skip the whole busy stretch
    }
    clear_bits(free_, start, start + count);
    free_frames_ -= count;
    return start * kFrame;
}

bool FrameAllocator::next_free_run(uint64_t from, uint64_t& base, uint64_t& end) const
{
    const uint64_t first = (from + kFrame - 1) / kFrame;
    if (first >= frames_)
        return false;
    const uint64_t start = find_bit<true>(free_, first, frames_);
    if (start == frames_)
        return false;
    base = start * kFrame;
    end = find_bit<false>(free_, start, frames_) * kFrame;
    return true;
}

bool FrameAllocator::claim(uint64_t phys)
{
    const uint64_t frame = phys / kFrame;
    if ((phys & kFrameMask) != 0 || frame >= frames_)
        return false;
    if (find_bit<true>(free_, frame, frame + 1) != frame)
        return false;
    clear_bits(free_, frame, frame + 1);
    --free_frames_;
    return true;
}

FrameAllocator::FreeError FrameAllocator::free(uint64_t phys, size_t count)
{
    if (count == 0)
        return FreeError::none;
    if ((phys & kFrameMask) != 0)
        return FreeError::misaligned;
    const uint64_t first = phys / kFrame;
    if (first >= frames_ || count > frames_ - first)
        return FreeError::not_managed;
    const uint64_t end = first + count;

    // Check everything before touching anything: a bad free must not half-happen.
    if (find_bit<false>(managed_, first, end) != end)
        return FreeError::not_managed;
    if (find_bit<true>(free_, first, end) != end)
        return FreeError::double_free;

    set_bits(free_, first, end);
    free_frames_ += count;
    search_hint_ = min_u64(search_hint_, first / kBits);
    return FreeError::none;
}

} // namespace mem
