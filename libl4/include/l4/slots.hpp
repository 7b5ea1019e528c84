// Free capability selectors of a task: a bitmap over a range [first, first + count).
//
//   l4::SlotAllocator slots(l4::abi::boot::kFirstFreeSelector,
//                           l4::abi::boot::kBootTaskSlots - l4::abi::boot::kFirstFreeSelector);
//   l4::Selector endpoint;
//   if (!slots.alloc(endpoint)) { ... every slot is taken ... }
//   ... slots.free(endpoint);
//
// Only bookkeeping: it does not look at the capability space (a slot freed here must have been
// emptied with cap_delete by its user). Not thread-safe. Portable (host unit tests).
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "l4/abi/syscall.hpp"

namespace l4 {

using Selector = uint64_t; // as in l4/syscall.hpp

class SlotAllocator {
public:
    static constexpr size_t kCapacity = abi::kMaxTaskSlots; // the largest capability space

    constexpr SlotAllocator() = default;
    constexpr SlotAllocator(Selector first, size_t count) { init(first, count); }

    // Starts over with every selector of the range free. False (and an empty range) if count
    // exceeds kCapacity or the range wraps.
    constexpr bool init(Selector first, size_t count)
    {
        first_ = 0;
        count_ = 0;
        available_ = 0;
        hint_ = 0;
        const bool ok = count <= kCapacity && first + count >= first;
        if (ok) {
            first_ = first;
            count_ = count;
            available_ = count;
        }
        // Bits past the range stay set, so the search never hands them out.
        for (size_t w = 0; w < kWords; ++w) {
            const size_t base = w * 64;
            used_[w] = base >= count_ ? ~uint64_t{0} : count_ - base >= 64 ? 0 : ~uint64_t{0} << (count_ - base);
        }
        return ok;
    }

    // A free selector, now taken; false when none is left.
    [[nodiscard]] constexpr bool alloc(Selector& out)
    {
        if (available_ == 0)
            return false;
        for (size_t n = 0; n < kWords; ++n) {
            const size_t w = (hint_ + n) % kWords;
            if (used_[w] != ~uint64_t{0}) {
                const auto bit = static_cast<size_t>(__builtin_ctzll(~used_[w]));
                used_[w] |= uint64_t{1} << bit;
                --available_;
                hint_ = w;
                out = first_ + w * 64 + bit;
                return true;
            }
        }
        return false; // not reached while available_ is right
    }

    // `count` consecutive free selectors (the lowest such run), now taken; false if there is
    // no such run or count is 0.
    [[nodiscard]] constexpr bool alloc_range(size_t count, Selector& out)
    {
        if (count == 0 || count > available_)
            return false;
        size_t run = 0;
        for (size_t i = 0; i < count_; ++i) {
            run = test(i) ? 0 : run + 1;
            if (run == count) {
                const size_t start = i + 1 - count;
                for (size_t j = start; j <= i; ++j)
                    set(j);
                available_ -= count;
                out = first_ + start;
                return true;
            }
        }
        return false;
    }

    // Takes a particular selector (one already in use when the allocator was set up); false if
    // it is outside the range or taken.
    constexpr bool reserve(Selector selector)
    {
        if (!contains(selector) || test(selector - first_))
            return false;
        set(selector - first_);
        --available_;
        return true;
    }

    // Gives a selector back; false (and nothing changes) if it is outside the range or free.
    constexpr bool free(Selector selector)
    {
        if (!contains(selector) || !test(selector - first_))
            return false;
        const size_t index = selector - first_;
        used_[index / 64] &= ~(uint64_t{1} << (index % 64));
        ++available_;
        return true;
    }

    constexpr bool contains(Selector selector) const { return selector >= first_ && selector - first_ < count_; }
    constexpr bool is_allocated(Selector selector) const { return contains(selector) && test(selector - first_); }
    constexpr Selector first() const { return first_; }
    constexpr size_t capacity() const { return count_; }
    constexpr size_t available() const { return available_; }

private:
    static constexpr size_t kWords = kCapacity / 64;
    static_assert(kCapacity % 64 == 0);

    constexpr bool test(size_t index) const { return (used_[index / 64] >> (index % 64) & 1) != 0; }
    constexpr void set(size_t index) { used_[index / 64] |= uint64_t{1} << (index % 64); }

    uint64_t used_[kWords] = {};
    Selector first_ = 0;
    size_t count_ = 0;
    size_t available_ = 0;
    size_t hint_ = 0; // the word the last alloc took from
};

} // namespace l4
