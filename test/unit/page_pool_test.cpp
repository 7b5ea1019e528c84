// sigma0's page pool: never one page twice, alignment, exhaustion.
#include <catch2/catch.hpp>

#include "xorshift.hpp"
#include <set>

#include "page_pool.hpp"

TEST_CASE("sigma0 pool: ranges are trimmed, overlaps refused")
{
    sigma0::PagePool pool;
    CHECK(pool.add(0x100800, 0x3000)); // trimmed to [0x101000, 0x103000)
    CHECK(pool.free_pages() == 2);
    CHECK_FALSE(pool.add(0x102000, 0x1000));       // overlaps
    CHECK_FALSE(pool.add(0x200000, 0x800));        // less than a page
    CHECK_FALSE(pool.add(~uint64_t{0} - 10, 100)); // wraps
    CHECK(pool.add(0x400000, 0x400000));
    CHECK(pool.free_pages() == 2 + 1024);
}

TEST_CASE("sigma0 pool: alignment and exhaustion")
{
    sigma0::PagePool pool;
    REQUIRE(pool.add(0x1000, 0x7ff000)); // [4 KiB, 8 MiB)
    uint64_t base = 0;
    REQUIRE(pool.allocate(21, 21, base));
    CHECK(base == 0x200000);
    REQUIRE(pool.allocate(12, 12, base));
    CHECK(base == 0x1000);
    REQUIRE(pool.allocate(22, 22, base));
    CHECK(base == 0x400000);
    CHECK_FALSE(pool.allocate(22, 22, base)); // no 4 MiB-aligned 4 MiB left
    CHECK_FALSE(pool.allocate(11, 12, base)); // below a page
    CHECK_FALSE(pool.allocate(13, 12, base)); // alignment below the size
    uint64_t left = pool.free_pages();
    uint64_t got = 0;
    while (pool.allocate(12, 12, base))
        ++got;
    CHECK(got == left);
    CHECK(pool.free_pages() == 0);
}

TEST_CASE("sigma0 pool: 10,000 mixed requests never hand out a page twice")
{
    sigma0::PagePool pool;
    REQUIRE(pool.add(0x100000, 0x3f00000));
    REQUIRE(pool.add(0x8000000, 0x1000000));
    std::set<uint64_t> pages;
    XorShift rng{0x9e3779b97f4a7c15};
    auto next = [&] { return rng.next(); };
    uint64_t total = pool.free_pages();
    for (int i = 0; i < 10000; ++i) {
        uint64_t order = 12 + next() % 5;
        uint64_t alignment = order + next() % 3;
        uint64_t base = 0;
        if (!pool.allocate(order, alignment, base))
            continue;
        REQUIRE(base % (uint64_t{1} << alignment) == 0);
        for (uint64_t p = base; p < base + (uint64_t{1} << order); p += 4096)
            REQUIRE(pages.insert(p).second);
    }
    CHECK(pool.free_pages() + pages.size() == total);
}
