// libl4's capability selector allocator (l4/slots.hpp).
#include <catch2/catch.hpp>

#include <random>
#include <set>

#include "l4/abi/boot.hpp"
#include "l4/slots.hpp"

using l4::Selector;
using l4::SlotAllocator;

TEST_CASE("libl4 slots: hands out every selector of the range once, then runs dry")
{
    SlotAllocator slots(100, 130); // not a multiple of 64
    CHECK(slots.first() == 100);
    CHECK(slots.capacity() == 130);
    CHECK(slots.available() == 130);
    std::set<Selector> seen;
    Selector s = 0;
    for (int i = 0; i < 130; ++i) {
        REQUIRE(slots.alloc(s));
        CHECK(s >= 100);
        CHECK(s < 230);
        CHECK(seen.insert(s).second);
        CHECK(slots.is_allocated(s));
    }
    CHECK(slots.available() == 0);
    s = 7;
    CHECK(!slots.alloc(s));
    CHECK(s == 7); // untouched on failure
    Selector first = 0;
    CHECK(!slots.alloc_range(1, first));

    CHECK(slots.free(150));
    CHECK(!slots.is_allocated(150));
    CHECK(slots.available() == 1);
    REQUIRE(slots.alloc(s));
    CHECK(s == 150);
}

TEST_CASE("libl4 slots: free and reserve check the range and the state")
{
    SlotAllocator slots(48, 16);
    CHECK(!slots.free(48)); // not allocated
    CHECK(!slots.free(47)); // below the range
    CHECK(!slots.free(64)); // past it
    CHECK(!slots.free(~Selector{0}));
    CHECK(!slots.is_allocated(64));
    CHECK(!slots.contains(64));
    CHECK(slots.contains(63));
    CHECK(!slots.reserve(64));

    CHECK(slots.reserve(50));
    CHECK(!slots.reserve(50)); // already taken
    CHECK(slots.available() == 15);
    Selector s = 0;
    REQUIRE(slots.alloc(s));
    CHECK(s == 48);
    REQUIRE(slots.alloc(s));
    CHECK(s == 49);
    REQUIRE(slots.alloc(s));
    CHECK(s == 51); // 50 was reserved
    CHECK(slots.free(50));
    CHECK(!slots.free(50)); // double free
    CHECK(slots.available() == 13);
}

TEST_CASE("libl4 slots: contiguous runs")
{
    SlotAllocator slots(0, 256);
    Selector first = 0;
    REQUIRE(slots.alloc_range(10, first));
    CHECK(first == 0);
    REQUIRE(slots.alloc_range(100, first)); // crosses a word boundary
    CHECK(first == 10);
    CHECK(slots.available() == 146);
    for (Selector s = 20; s < 30; ++s)
        CHECK(slots.free(s));
    REQUIRE(slots.alloc_range(10, first)); // the hole fits exactly
    CHECK(first == 20);
    CHECK(!slots.alloc_range(147, first));
    CHECK(!slots.alloc_range(0, first));
    REQUIRE(slots.alloc_range(146, first));
    CHECK(first == 110);
    CHECK(slots.available() == 0);
    CHECK(slots.free(5));
    CHECK(slots.free(200));
    CHECK(!slots.alloc_range(2, first)); // two free, but not adjacent
}

TEST_CASE("libl4 slots: limits of the range")
{
    SlotAllocator none;
    Selector s = 0;
    CHECK(!none.alloc(s));
    CHECK(none.available() == 0);

    SlotAllocator slots;
    CHECK(!slots.init(0, SlotAllocator::kCapacity + 1));
    CHECK(slots.capacity() == 0);
    CHECK(!slots.alloc(s));
    CHECK(!slots.init(~Selector{0} - 5, 10)); // wraps
    CHECK(slots.capacity() == 0);
    CHECK(slots.init(0, 0));
    CHECK(!slots.alloc(s));

    REQUIRE(slots.init(0, SlotAllocator::kCapacity));
    for (size_t i = 0; i < SlotAllocator::kCapacity; ++i)
        REQUIRE(slots.alloc(s));
    CHECK(s == SlotAllocator::kCapacity - 1);
    CHECK(!slots.alloc(s));

    // init starts over.
    REQUIRE(slots.init(l4::abi::boot::kFirstFreeSelector,
                       l4::abi::boot::kBootTaskSlots - l4::abi::boot::kFirstFreeSelector));
    CHECK(slots.available() == l4::abi::boot::kBootTaskSlots - l4::abi::boot::kFirstFreeSelector);
    REQUIRE(slots.alloc(s));
    CHECK(s == l4::abi::boot::kFirstFreeSelector);

    constexpr SlotAllocator at_compile_time(10, 5);
    static_assert(at_compile_time.available() == 5);
}

TEST_CASE("libl4 slots: random alloc and free against a model")
{
    std::mt19937 rng(99);
    SlotAllocator slots(1000, 300);
    std::set<Selector> taken;
    for (int step = 0; step < 20000; ++step) {
        const uint32_t op = rng() % 8;
        Selector s = 0;
        if (op < 4) {
            const bool ok = slots.alloc(s);
            REQUIRE(ok == (taken.size() < 300));
            if (ok)
                REQUIRE(taken.insert(s).second);
        } else if (op < 5) {
            const size_t n = 1 + rng() % 5;
            if (slots.alloc_range(n, s)) {
                for (Selector i = s; i < s + n; ++i)
                    REQUIRE(taken.insert(i).second);
            }
        } else {
            s = 1000 + rng() % 310; // now and then outside the range
            REQUIRE(slots.free(s) == (taken.erase(s) == 1));
        }
        REQUIRE(slots.available() == 300 - taken.size());
        if (step % 1000 == 0)
            for (Selector i = 990; i < 1310; ++i)
                REQUIRE(slots.is_allocated(i) == (taken.count(i) == 1));
    }
}
