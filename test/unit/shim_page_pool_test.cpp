// pv-linux-shim's page pool (pv-linux-shim/page_pool.cpp): the reference counts that fork's
// copy-on-write and MAP_SHARED pages rest on, over a host buffer standing in for guest memory.
#include <catch2/catch.hpp>

#include <cstdint>
#include <cstdlib>
#include <cstring>

#include "page_pool.hpp"

namespace {

struct Memory {
    explicit Memory(uint64_t pages) : bytes(pages * 4096), base(std::aligned_alloc(4096, bytes)) {}
    ~Memory() { std::free(base); }
    uint64_t begin() const { return reinterpret_cast<uint64_t>(base); }
    uint64_t end() const { return begin() + bytes; }
    uint64_t bytes;
    void* base;
};

} // namespace

TEST_CASE("shim page pool: the counts take the first page; pages come zeroed, held once")
{
    Memory memory(100);
    shim::PagePool pool;
    pool.init(memory.begin(), memory.end());
    CHECK(pool.free_pages() == 99); // 100 pages need 200 bytes of counts: one page
    const uint64_t page = pool.allocate();
    CHECK(page == memory.begin() + 4096);
    CHECK(pool.references(page) == 1);
    CHECK(pool.free_pages() == 98);
    std::memset(reinterpret_cast<void*>(page), 0xab, 4096);
    pool.free(page);
    CHECK(pool.free_pages() == 99);
    const uint64_t again = pool.allocate();
    CHECK(again == page);
    CHECK(reinterpret_cast<const unsigned char*>(again)[4095] == 0);
}

TEST_CASE("shim page pool: a shared page is free only when its last holder lets go")
{
    Memory memory(16);
    shim::PagePool pool;
    pool.init(memory.begin(), memory.end());
    const uint64_t page = pool.allocate();
    const uint64_t before = pool.free_pages();
    CHECK(pool.share(page));
    CHECK(pool.share(page));
    CHECK(pool.references(page) == 3);
    pool.free(page);
    pool.free(page);
    CHECK(pool.references(page) == 1);
    CHECK(pool.free_pages() == before); // still held
    pool.free(page);
    CHECK(pool.free_pages() == before + 1);
}

TEST_CASE("shim page pool: a count stops at its maximum; runs are held once per page")
{
    Memory memory(16);
    shim::PagePool pool;
    pool.init(memory.begin(), memory.end());
    const uint64_t page = pool.allocate();
    for (uint32_t i = 1; i < 0xffff; ++i)
        REQUIRE(pool.share(page));
    CHECK(pool.references(page) == 0xffff);
    CHECK_FALSE(pool.share(page));
    CHECK(pool.references(page) == 0xffff);
    const uint64_t run = pool.allocate_contiguous(3);
    REQUIRE(run != 0);
    for (uint64_t i = 0; i < 3; ++i)
        CHECK(pool.references(run + i * 4096) == 1);
    const uint64_t free_before = pool.free_pages();
    pool.free_contiguous(run, 3);
    CHECK(pool.free_pages() == free_before + 3);
    CHECK(pool.allocate_contiguous(3) == run); // the same run again
    CHECK(pool.allocate_contiguous(100) == 0); // more than there is
}

TEST_CASE("shim page pool: a run given back as zeroed is not cleared again; others are")
{
    Memory memory(16);
    shim::PagePool pool;
    pool.init(memory.begin(), memory.end());
    const uint64_t run = pool.allocate_contiguous(2);
    auto* bytes = reinterpret_cast<unsigned char*>(run);
    bytes[100] = 7; // the caller's promise broken on purpose: shows the pool did not clear it
    pool.free_contiguous(run, 2, true);
    REQUIRE(pool.allocate_contiguous(2) == run);
    CHECK(bytes[100] == 7);
    pool.free_contiguous(run, 2);
    REQUIRE(pool.allocate_contiguous(2) == run);
    CHECK(bytes[100] == 0);
}
