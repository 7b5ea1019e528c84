// TLB tags: allocation, exhaustion, staleness of new, reused and marked tags.
#include <catch2/catch.hpp>

#include "xorshift.hpp"

#include <set>

#include "mem/tlb_tags.hpp"

using mem::TlbTags;

TEST_CASE("tlb tags: handed out once each, never kUntagged, until all are taken")
{
    TlbTags tags;
    std::set<uint16_t> seen;
    for (uint32_t i = 1; i < TlbTags::kCount; ++i) {
        uint16_t tag = tags.allocate();
        REQUIRE(tag != TlbTags::kUntagged);
        REQUIRE(tag < TlbTags::kCount);
        REQUIRE(seen.insert(tag).second);
    }
    CHECK(tags.in_use() == TlbTags::kCount - 1);
    CHECK(tags.allocate() == TlbTags::kUntagged);
    CHECK(tags.allocate() == TlbTags::kUntagged);
    REQUIRE(tags.free(1234));
    CHECK(tags.allocate() == 1234);
    CHECK(tags.allocate() == TlbTags::kUntagged);
}

TEST_CASE("tlb tags: a new tag is stale once; a marked one again")
{
    TlbTags tags;
    uint16_t tag = tags.allocate();
    CHECK(tag == 1);
    CHECK(tags.take_stale(tag));
    CHECK_FALSE(tags.take_stale(tag));
    CHECK_FALSE(tags.take_stale(tag));
    tags.mark_stale(tag);
    tags.mark_stale(tag);
    CHECK(tags.take_stale(tag));
    CHECK_FALSE(tags.take_stale(tag));
}

TEST_CASE("tlb tags: marks stay with their own tag")
{
    TlbTags tags;
    uint16_t a = tags.allocate(), b = tags.allocate();
    CHECK(a != b);
    CHECK(tags.take_stale(a));
    CHECK(tags.take_stale(b));
    tags.mark_stale(b);
    CHECK_FALSE(tags.take_stale(a));
    CHECK(tags.take_stale(b));
}

TEST_CASE("tlb tags: kUntagged is flushed on every load")
{
    TlbTags tags;
    CHECK(tags.take_stale(TlbTags::kUntagged));
    CHECK(tags.take_stale(TlbTags::kUntagged));
    CHECK_FALSE(tags.free(TlbTags::kUntagged));
    CHECK(tags.in_use() == 0);
}

TEST_CASE("tlb tags: a freed tag comes back stale, even when its flush was taken")
{
    TlbTags tags;
    uint16_t tag = tags.allocate();
    CHECK(tags.take_stale(tag));
    REQUIRE(tags.free(tag));
    CHECK(tags.in_use() == 0);
    CHECK(tags.allocate() == tag);
    CHECK(tags.take_stale(tag));
}

TEST_CASE("tlb tags: freeing what was not handed out changes nothing")
{
    TlbTags tags;
    uint16_t tag = tags.allocate();
    CHECK_FALSE(tags.free(static_cast<uint16_t>(tag + 1)));
    CHECK_FALSE(tags.free(TlbTags::kCount));
    CHECK_FALSE(tags.free(0xffff));
    CHECK(tags.in_use() == 1);
    REQUIRE(tags.free(tag));
    CHECK_FALSE(tags.free(tag)); // twice
    CHECK(tags.in_use() == 0);
    CHECK(tags.take_stale(0xffff)); // out of range: flushed, never trusted
}

TEST_CASE("tlb tags: against a model under random allocate, free and mark")
{
    TlbTags tags;
    std::set<uint16_t> live;
    std::set<uint16_t> stale; // the model: new tags and marked tags are stale
    XorShift rng{0x9e3779b97f4a7c15};
    for (int step = 0; step < 30000; ++step) {
        uint64_t r = rng.next();
        switch (r % 4) {
        case 0: {
            uint16_t tag = tags.allocate();
            if (live.size() == TlbTags::kCount - 1) {
                REQUIRE(tag == TlbTags::kUntagged);
                break;
            }
            uint16_t want = 1; // the lowest free tag
            while (live.count(want))
                ++want;
            REQUIRE(tag == want);
            live.insert(tag);
            stale.insert(tag);
            break;
        }
        case 1: {
            auto tag = static_cast<uint16_t>((r >> 8) % TlbTags::kCount);
            bool held = live.count(tag) != 0;
            REQUIRE(tags.free(tag) == held);
            live.erase(tag);
            break;
        }
        case 2: {
            auto tag = static_cast<uint16_t>((r >> 8) % TlbTags::kCount);
            tags.mark_stale(tag);
            stale.insert(tag);
            break;
        }
        default: {
            auto tag = static_cast<uint16_t>((r >> 8) % TlbTags::kCount);
            bool want = tag == TlbTags::kUntagged || stale.count(tag) != 0;
            REQUIRE(tags.take_stale(tag) == want);
            stale.erase(tag);
            break;
        }
        }
        REQUIRE(tags.in_use() == live.size());
    }
}
