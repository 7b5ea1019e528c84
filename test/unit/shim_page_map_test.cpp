// pv-linux-shim's page map (pv-linux-shim/page_map.cpp): lookups, and erasing from the middle
// of probe runs, checked against std::map over random inserts and erases.
#include <catch2/catch.hpp>

#include <map>
#include <vector>

#include "page_map.hpp"
#include "xorshift.hpp"

using shim::kPageMapEntries;
using shim::page_map_erase;
using shim::page_map_find;
using shim::PageEntry;

TEST_CASE("shim page map: an entry goes where find says and is found there")
{
    std::vector<PageEntry> table(kPageMapEntries);
    PageEntry* slot = page_map_find(table.data(), 0x40'1000);
    REQUIRE(slot != nullptr);
    CHECK(slot->virtual_page == 0);
    *slot = PageEntry{0x40'1000, 0x123'4000, 3, 1};
    CHECK(page_map_find(table.data(), 0x40'1000) == slot);
    CHECK(page_map_find(table.data(), 0x40'2000)->virtual_page == 0);
    page_map_erase(table.data(), slot);
    CHECK(page_map_find(table.data(), 0x40'1000)->virtual_page == 0);
}

TEST_CASE("shim page map: a full table says so")
{
    std::vector<PageEntry> table(kPageMapEntries);
    for (uint64_t i = 0; i < kPageMapEntries; ++i) {
        PageEntry* slot = page_map_find(table.data(), (i + 1) << 12);
        REQUIRE(slot != nullptr);
        REQUIRE(slot->virtual_page == 0);
        *slot = PageEntry{(i + 1) << 12, i << 12, 1, 0};
    }
    CHECK(page_map_find(table.data(), (kPageMapEntries + 1) << 12) == nullptr);
    CHECK(page_map_find(table.data(), uint64_t{77} << 12)->shim_page == uint64_t{76} << 12);
}

TEST_CASE("shim page map: random inserts and erases keep every entry findable")
{
    std::vector<PageEntry> table(kPageMapEntries);
    std::map<uint64_t, uint64_t> model;
    XorShift rng{12};
    for (int step = 0; step < 200000; ++step) {
        // Pages clustered in a few regions, as a process's are, so probe runs grow long.
        const uint64_t page = ((rng.next() % 4) << 32 | (rng.next() % 6000)) << 12 | 0x1000;
        PageEntry* slot = page_map_find(table.data(), page);
        REQUIRE(slot != nullptr);
        const bool present = model.count(page) != 0;
        REQUIRE((slot->virtual_page == page) == present);
        if (present) {
            REQUIRE(slot->shim_page == model[page]);
            page_map_erase(table.data(), slot);
            model.erase(page);
        } else if (model.size() < kPageMapEntries / 2) {
            *slot = PageEntry{page, rng.next() << 12, 3, 0};
            model[page] = slot->shim_page;
        }
    }
    uint64_t count = 0;
    for (const PageEntry& e : table)
        count += e.virtual_page != 0;
    CHECK(count == model.size());
    for (const auto& [page, shim_page] : model)
        CHECK(page_map_find(table.data(), page)->shim_page == shim_page);
}
