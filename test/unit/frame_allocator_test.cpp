// Host tests of mem::FrameAllocator over simulated physical memory.
#include <catch2/catch.hpp>

#include "xorshift.hpp"

#include <algorithm>
#include <cstdint>
#include <set>
#include <utility>
#include <vector>

#include "mem/frame_allocator.hpp"

using mem::FrameAllocator;
using mem::PhysRange;
using InitError = FrameAllocator::InitError;
using FreeError = FrameAllocator::FreeError;

namespace {

constexpr uint64_t kPage = FrameAllocator::kFrameSize;
constexpr uint64_t KiB = 1024;
constexpr uint64_t MiB = 1024 * KiB;
constexpr uint64_t GiB = 1024 * MiB;
constexpr uint8_t kFill = 0xa5;

// Simulated physical memory for one test case: only [base, end) is backed, by a buffer full of
// junk, so the allocator must zero its bitmaps itself and must not write anywhere else.
struct Sim {
    uint64_t base;
    uint64_t end;
    std::vector<uint64_t> words; // uint64_t for the alignment the bitmaps need

    Sim(uint64_t b, uint64_t e);
    ~Sim();
    Sim(const Sim&) = delete;
    Sim& operator=(const Sim&) = delete;
    uint8_t* bytes() { return reinterpret_cast<uint8_t*>(words.data()); }
};

Sim* g_sim = nullptr;

Sim::Sim(uint64_t b, uint64_t e) : base(b), end(e), words((e - b) / 8)
{
    std::fill(bytes(), bytes() + (e - b), kFill);
    g_sim = this;
}
Sim::~Sim() { g_sim = nullptr; }

void* window_p2v(uint64_t phys)
{
    REQUIRE(g_sim != nullptr);
    REQUIRE(phys >= g_sim->base);
    REQUIRE(phys < g_sim->end);
    return g_sim->bytes() + (phys - g_sim->base);
}

using Ranges = std::vector<PhysRange>;

InitError init(FrameAllocator& fa, const Ranges& usable, const Ranges& reserved, uint64_t limit)
{
    return fa.init(usable.data(), usable.size(), reserved.data(), reserved.size(), window_p2v, limit);
}

// The model's own reading of the rules, written independently of the allocator's.
bool frame_usable(const Ranges& usable, uint64_t frame)
{
    for (const PhysRange& r : usable)
        if (r.base <= frame && frame + kPage <= r.end)
            return true;
    return false;
}

bool frame_reserved(const Ranges& reserved, uint64_t frame)
{
    for (const PhysRange& r : reserved)
        if (r.base < r.end && r.base < frame + kPage && frame < r.end)
            return true;
    return false;
}

bool frame_in_bitmap(const FrameAllocator& fa, uint64_t frame)
{
    return frame >= fa.bitmap_base() && frame < fa.bitmap_base() + fa.bitmap_bytes();
}

uint64_t usable_top(const Ranges& usable)
{
    uint64_t top = 0;
    for (const PhysRange& r : usable)
        top = std::max(top, r.end / kPage * kPage);
    return top;
}

std::set<uint64_t> expected_managed(const FrameAllocator& fa, const Ranges& usable, const Ranges& reserved)
{
    std::set<uint64_t> frames;
    for (uint64_t f = kPage; f < usable_top(usable); f += kPage)
        if (frame_usable(usable, f) && !frame_reserved(reserved, f) && !frame_in_bitmap(fa, f))
            frames.insert(f);
    return frames;
}

// Allocates single frames until the allocator runs dry.
std::vector<uint64_t> drain(FrameAllocator& fa)
{
    std::vector<uint64_t> got;
    for (uint64_t f = fa.alloc(); f != FrameAllocator::kNone; f = fa.alloc())
        got.push_back(f);
    return got;
}

// A PC-like map: low memory with the EBDA cut off mid-frame, 64 MiB above 1 MiB, and the
// reserved pieces a multiboot kernel sees (some overlapping, some with unaligned edges).
const Ranges kPcUsable = {
    {0, 0x9fc00},
    {1 * MiB, 64 * MiB},
};
const Ranges kPcReserved = {
    {0x9000, 0x9400},                   // multiboot info, unaligned end
    {0xf0000, 0x100000},                // BIOS, outside usable anyway
    {1 * MiB, 0x2a3456},                // kernel image, unaligned end
    {0x2a4123, 0x7ffff0},               // module, unaligned both ends
    {0x700000, 0x900000},               // overlaps the module
    {0x880000, 0x890000},               // inside the previous one
    {63 * MiB + 0x10, 63 * MiB + 0x20}, // a few bytes reserve a whole frame
};
constexpr uint64_t kPcLimit = 16 * MiB;

// An allocator initialized over the PC-like map.
struct PcMachine {
    Sim sim{0, kPcLimit};
    FrameAllocator fa;
    PcMachine() { REQUIRE(init(fa, kPcUsable, kPcReserved, kPcLimit) == InitError::none); }
};

} // namespace

TEST_CASE_METHOD(PcMachine, "frame allocator: init: frame count, bitmap placement", "[frame_allocator]")
{
    const uint64_t base = fa.bitmap_base();
    const uint64_t bytes = fa.bitmap_bytes();
    CHECK(base % kPage == 0);
    CHECK(bytes >= 2 * (64 * MiB / kPage) / 8); // two bits per frame
    CHECK(base + bytes <= kPcLimit);
    for (uint64_t f = base; f < base + bytes; f += kPage) {
        CHECK(frame_usable(kPcUsable, f));
        CHECK_FALSE(frame_reserved(kPcReserved, f));
    }
    // Placed as high as possible below the limit, away from the precious low frames.
    CHECK((base + bytes + kPage - 1) / kPage * kPage == kPcLimit);

    const auto managed = expected_managed(fa, kPcUsable, kPcReserved);
    CHECK(fa.total_frames() == managed.size());
    CHECK(fa.free_frames() == managed.size());

    // Nothing outside the bitmaps was written.
    uint8_t* mem = sim.bytes();
    size_t stray = 0;
    for (uint64_t a = 0; a < kPcLimit; ++a)
        if ((a < base || a >= base + bytes) && mem[a] != kFill)
            ++stray;
    CHECK(stray == 0);
}

TEST_CASE_METHOD(PcMachine, "frame allocator: first fit from low addresses", "[frame_allocator]")
{
    std::vector<uint64_t> got;
    for (int i = 0; i < 10; ++i)
        got.push_back(fa.alloc());
    const std::vector<uint64_t> want = {0x1000, 0x2000, 0x3000, 0x4000, 0x5000, 0x6000, 0x7000, 0x8000, 0xa000, 0xb000};
    CHECK(got == want); // frame 0 and the multiboot info frame skipped
}

TEST_CASE_METHOD(PcMachine, "frame allocator: bad arguments change nothing", "[frame_allocator]")
{
    const size_t before = fa.free_frames();
    CHECK(fa.alloc(0) == FrameAllocator::kNone);
    CHECK(fa.alloc(1, 0) == FrameAllocator::kNone);
    CHECK(fa.alloc(1, 2048) == FrameAllocator::kNone);
    CHECK(fa.alloc(1, 3 * kPage) == FrameAllocator::kNone);
    CHECK(fa.alloc(size_t{1} << 40) == FrameAllocator::kNone);
    CHECK(fa.alloc(1, uint64_t{1} << 63) == FrameAllocator::kNone); // only frame 0 qualifies
    CHECK(fa.free_frames() == before);
    CHECK(fa.alloc() == 0x1000);
}

TEST_CASE_METHOD(PcMachine, "frame allocator: aligned contiguous runs", "[frame_allocator]")
{
    const size_t start_free = fa.free_frames();

    const uint64_t one = fa.alloc(1, 2 * MiB);
    REQUIRE(one != FrameAllocator::kNone);
    CHECK(one % (2 * MiB) == 0);
    CHECK(one == 10 * MiB); // the first 2 MiB boundary past the kernel, modules and 0x900000

    const uint64_t big = fa.alloc(512, 2 * MiB); // a 2 MiB large page
    REQUIRE(big != FrameAllocator::kNone);
    CHECK(big % (2 * MiB) == 0);
    CHECK(big == 12 * MiB);

    const uint64_t small = fa.alloc(3, 16 * KiB);
    REQUIRE(small != FrameAllocator::kNone);
    CHECK(small % (16 * KiB) == 0);
    CHECK(small == 0x4000); // 0x0 is frame 0, never handed out

    CHECK(fa.free_frames() == start_free - 516);

    // No frame of those ranges is handed out again, and none is reserved.
    std::set<uint64_t> owned;
    for (uint64_t f = big; f < big + 2 * MiB; f += kPage)
        owned.insert(f);
    for (uint64_t f = small; f < small + 3 * kPage; f += kPage)
        owned.insert(f);
    owned.insert(one);
    for (uint64_t f : owned)
        CHECK_FALSE(frame_reserved(kPcReserved, f));
    size_t handed_twice = 0;
    for (uint64_t f : drain(fa))
        handed_twice += owned.count(f);
    CHECK(handed_twice == 0);
}

// Exhaustion, and never a reserved frame, frame 0 or a bitmap frame.
TEST_CASE_METHOD(PcMachine, "frame allocator: allocating everything", "[frame_allocator]")
{
    const size_t start_free = fa.free_frames();

    const auto got = drain(fa);
    CHECK(got.size() == start_free);
    CHECK(fa.free_frames() == 0);
    CHECK(fa.alloc() == FrameAllocator::kNone);
    CHECK(fa.alloc(1, 2 * MiB) == FrameAllocator::kNone);
    CHECK(fa.alloc(4) == FrameAllocator::kNone);
    CHECK(fa.total_frames() == start_free);

    std::set<uint64_t> seen;
    size_t bad = 0;
    for (uint64_t f : got) {
        if (f == 0 || f % kPage != 0 || !frame_usable(kPcUsable, f) || frame_reserved(kPcReserved, f) ||
            frame_in_bitmap(fa, f) || !seen.insert(f).second)
            ++bad;
    }
    CHECK(bad == 0);
    // And everything that could be handed out was.
    CHECK(seen == expected_managed(fa, kPcUsable, kPcReserved));
    // Spot checks at the unaligned edges (0x9f000 is only partly usable).
    const uint64_t never[] = {0x9000, 0x9f000, 0x2a3000, 0x2a4000, 0x7ff000, 63 * MiB};
    const uint64_t handed_out[] = {0x9e000, 0x900000, 63 * MiB + kPage};
    for (uint64_t f : never)
        CHECK(seen.count(f) == 0);
    for (uint64_t f : handed_out)
        CHECK(seen.count(f) == 1);
}

TEST_CASE_METHOD(PcMachine, "frame allocator: freed frames are reused", "[frame_allocator]")
{
    const size_t start_free = fa.free_frames();

    const uint64_t a = fa.alloc();
    CHECK(fa.free(a) == FreeError::none);
    CHECK(fa.free_frames() == start_free);
    CHECK(fa.alloc() == a);

    // After exhaustion, a freed frame in the middle is the only one left.
    auto got = drain(fa);
    const uint64_t middle = got[got.size() / 2];
    CHECK(fa.free(middle) == FreeError::none);
    CHECK(fa.free_frames() == 1);
    CHECK(fa.alloc() == middle);
    CHECK(fa.alloc() == FrameAllocator::kNone);

    // Freeing a contiguous run makes a contiguous allocation possible again.
    const uint64_t run = 20 * MiB;
    CHECK(fa.alloc(16) == FrameAllocator::kNone);
    CHECK(fa.free(run, 16) == FreeError::none);
    CHECK(fa.free_frames() == 16);
    CHECK(fa.alloc(16, 64 * KiB) == run);
    CHECK(fa.free_frames() == 0);
}

TEST_CASE_METHOD(PcMachine, "frame allocator: bad frees free nothing", "[frame_allocator]")
{
    const uint64_t block = fa.alloc(4, 64 * KiB);
    REQUIRE(block != FrameAllocator::kNone);
    const size_t free_before = fa.free_frames();

    CHECK(fa.free(block + 1) == FreeError::misaligned);
    CHECK(fa.free(block + 0x800, 2) == FreeError::misaligned);
    CHECK(fa.free(0) == FreeError::not_managed);                // frame 0
    CHECK(fa.free(0x9000) == FreeError::not_managed);           // multiboot info
    CHECK(fa.free(1 * MiB) == FreeError::not_managed);          // kernel image
    CHECK(fa.free(0x2a4000) == FreeError::not_managed);         // module's widened edge
    CHECK(fa.free(0xa0000) == FreeError::not_managed);          // hole below 1 MiB
    CHECK(fa.free(fa.bitmap_base()) == FreeError::not_managed); // the bitmaps
    CHECK(fa.free(64 * MiB) == FreeError::not_managed);         // past the top of RAM
    CHECK(fa.free(uint64_t{1} << 40) == FreeError::not_managed);
    CHECK(fa.free(64 * MiB - kPage, 2) == FreeError::not_managed); // runs past the top
    CHECK(fa.free(kPage, ~size_t{0}) == FreeError::not_managed);   // count would wrap
    CHECK(fa.free(block + 4 * kPage) == FreeError::double_free);   // never allocated
    CHECK(fa.free(block, 0) == FreeError::none);                   // nothing to do
    CHECK(fa.free_frames() == free_before);

    // One frame of the block already free: the multi-frame free must free nothing.
    CHECK(fa.free(block + 2 * kPage) == FreeError::none);
    CHECK(fa.free(block + 2 * kPage) == FreeError::double_free);
    CHECK(fa.free(block, 4) == FreeError::double_free);
    CHECK(fa.free_frames() == free_before + 1);
    // A run that reaches into reserved memory frees nothing either.
    CHECK(fa.alloc(1, 32 * KiB) == 0x8000); // right below the multiboot info
    CHECK(fa.free(0x8000, 2) == FreeError::not_managed);
    CHECK(fa.free(0x8000) == FreeError::none);            // so it was still owned
    CHECK(fa.free(0x9e000, 3) == FreeError::not_managed); // 0x9f000 is only partly usable
    // The rest of the block is still owned and can be freed frame by frame.
    CHECK(fa.free(block) == FreeError::none);
    CHECK(fa.free(block + kPage) == FreeError::none);
    CHECK(fa.free(block + 3 * kPage) == FreeError::none);
    CHECK(fa.free_frames() == free_before + 4);
    CHECK(fa.free(block, 4) == FreeError::double_free);
}

TEST_CASE_METHOD(PcMachine, "frame allocator: the limit bounds the whole run", "[frame_allocator]")
{
    CHECK(fa.alloc(1, kPage, kPage) == FrameAllocator::kNone);  // only frame 0 lies below
    CHECK(fa.alloc(1, kPage, 0x1fff) == FrameAllocator::kNone); // frame 1 ends above it
    CHECK(fa.alloc(1, kPage, 0x2000) == 0x1000);
    CHECK(fa.alloc(2, kPage, 0x3fff) == FrameAllocator::kNone);
    CHECK(fa.alloc(2, kPage, 0x4000) == 0x2000);

    // Take everything below 1 MiB through the limit; then only a limited request fails.
    size_t low = 0;
    for (uint64_t f = fa.alloc(1, kPage, 1 * MiB); f != FrameAllocator::kNone; f = fa.alloc(1, kPage, 1 * MiB)) {
        CHECK(f + kPage <= 1 * MiB);
        ++low;
    }
    CHECK(low == 0x9f - 1 - 1 - 3); // frames 1..0x9e, minus 0x9000, minus the four above
    CHECK(fa.free_frames() > 0);
    CHECK(fa.alloc(1, kPage, 1 * MiB) == FrameAllocator::kNone);
    CHECK(fa.alloc(1, kPage, 10 * MiB + kPage) == 9 * MiB);
    // A contiguous run must fit below the limit as a whole.
    CHECK(fa.alloc(8, kPage, 9 * MiB + 8 * kPage) == FrameAllocator::kNone);
    CHECK(fa.alloc(8, kPage, 9 * MiB + 9 * kPage) == 9 * MiB + kPage);
}

TEST_CASE("frame allocator: unsorted, overlapping, unaligned usable ranges", "[frame_allocator]")
{
    Sim sim(0, 8 * MiB);
    const Ranges usable = {
        {0x600000, 0x700000}, // adjacent to the next one down
        {0x300000, 0x600000}, // overlaps the next one
        {0x100800, 0x400000}, // unaligned start
        {0x200000, 0x280000}, // entirely inside the previous one
        {0x20000, 0x30001},   // unaligned end
        {0x5000, 0x5fff},     // less than a frame
        {0x7ff000, 0x7ff000}, // empty
        {0x700000, 0x6ff000}, // backwards: empty
    };
    const Ranges reserved = {{0x101000, 0x102000}};
    FrameAllocator fa;
    REQUIRE(init(fa, usable, reserved, 8 * MiB) == InitError::none);

    const auto managed = expected_managed(fa, usable, reserved);
    CHECK(fa.total_frames() == managed.size());
    CHECK(fa.bitmap_base() == 0x6ff000); // 0x700 frames need one frame of bitmaps
    CHECK(managed.size() == 0x10 + (0x700 - 0x102) - 1);

    // A contiguous run across all the seams between the ranges.
    const uint64_t span = fa.alloc((0x6f0000 - 0x102000) / kPage);
    CHECK(span == 0x102000);

    const auto got = drain(fa);
    std::set<uint64_t> seen(got.begin(), got.end());
    CHECK(seen.size() == got.size());
    for (uint64_t f : got)
        CHECK(managed.count(f) == 1);
    CHECK(got.size() + (0x6f0000 - 0x102000) / kPage == managed.size());
}

TEST_CASE("frame allocator: init fails without usable memory", "[frame_allocator]")
{
    Sim sim(0, 1 * MiB);
    FrameAllocator fa;

    SECTION("empty map") { CHECK(init(fa, {}, {}, 1 * MiB) == InitError::no_usable_memory); }
    SECTION("only partial frames")
    {
        CHECK(init(fa, {{0x1800, 0x2400}, {0x3001, 0x3fff}}, {}, 1 * MiB) == InitError::no_usable_memory);
    }
    SECTION("only frame 0") { CHECK(init(fa, {{0, 0x1000}}, {}, 1 * MiB) == InitError::no_usable_memory); }
    SECTION("everything reserved")
    {
        CHECK(init(fa, {{0x1000, 0x80000}}, {{0x0, 0x40000}, {0x3ffff, 0x80000}}, 1 * MiB) ==
              InitError::no_usable_memory);
    }
    SECTION("the bitmaps take the only free frame")
    {
        CHECK(init(fa, {{0x1000, 0x2000}}, {}, 1 * MiB) == InitError::no_usable_memory);
    }
    // A failed allocator hands out nothing and takes nothing back.
    CHECK(fa.total_frames() == 0);
    CHECK(fa.free_frames() == 0);
    CHECK(fa.alloc() == FrameAllocator::kNone);
    CHECK(fa.free(0x1000) == FreeError::not_managed);
}

TEST_CASE("frame allocator: init fails when the bitmaps do not fit", "[frame_allocator]")
{
    Sim sim(0, 1 * MiB);
    FrameAllocator fa;

    SECTION("no usable memory below the limit")
    {
        CHECK(init(fa, {{1 * MiB, 64 * MiB}}, {}, 1 * MiB) == InitError::no_room_for_bitmap);
    }
    SECTION("usable memory below the limit is reserved")
    {
        CHECK(init(fa, {{0, 0x9f000}, {1 * MiB, 64 * MiB}}, {{0x1000, 0x9f000}}, 1 * MiB) ==
              InitError::no_room_for_bitmap);
    }
    SECTION("too little contiguous room below the limit")
    {
        // 8 GiB of frames need 512 KiB of bitmaps; below 1 MiB there are only 256 KiB pieces.
        CHECK(init(fa, {{0x1000, 0x41000}, {0x42000, 0x82000}, {1 * MiB, 8 * GiB}}, {{0x41000, 0x42000}}, 1 * MiB) ==
              InitError::no_room_for_bitmap);
    }
    CHECK(fa.alloc() == FrameAllocator::kNone);
    CHECK(fa.free(2 * MiB) == FreeError::not_managed);
}

TEST_CASE("frame allocator: bitmaps avoid reserved memory near the limit", "[frame_allocator]")
{
    Sim sim(0, 16 * MiB);
    const Ranges usable = {{0x1000, 32 * MiB}};
    const Ranges reserved = {{15 * MiB + 0x800, 16 * MiB + 3}};
    FrameAllocator fa;
    REQUIRE(init(fa, usable, reserved, 16 * MiB) == InitError::none);
    CHECK(fa.bitmap_base() + fa.bitmap_bytes() <= 15 * MiB);
    CHECK(fa.bitmap_base() + fa.bitmap_bytes() > 15 * MiB - kPage);

    for (uint64_t f : drain(fa)) {
        CHECK_FALSE(frame_in_bitmap(fa, f));
        CHECK_FALSE(frame_reserved(reserved, f));
    }
}

TEST_CASE("frame allocator: 8 GiB of RAM, 1 GiB aligned runs", "[frame_allocator]")
{
    Sim sim(0, 16 * MiB);
    const Ranges usable = {{0x1000, 0x9f000}, {1 * MiB, 3 * GiB}, {4 * GiB, 8 * GiB + 0x123}};
    const Ranges reserved = {{1 * MiB, 2 * MiB}};
    FrameAllocator fa;
    REQUIRE(init(fa, usable, reserved, 16 * MiB) == InitError::none);
    CHECK(fa.bitmap_bytes() == 2 * (8 * GiB / kPage) / 8); // 512 KiB, 128 frames
    CHECK(fa.bitmap_base() == 16 * MiB - fa.bitmap_bytes());
    const size_t total = (0x9e000 + 7 * GiB - 2 * MiB) / kPage - fa.bitmap_bytes() / kPage;
    CHECK(fa.total_frames() == total);

    const size_t frames_per_gib = GiB / kPage;
    CHECK(fa.alloc(frames_per_gib, GiB) == 1 * GiB);
    CHECK(fa.alloc(frames_per_gib, GiB) == 2 * GiB);
    CHECK(fa.alloc(frames_per_gib, GiB) == 4 * GiB); // 3..4 GiB is a hole
    CHECK(fa.alloc(frames_per_gib, GiB, 5 * GiB) == FrameAllocator::kNone);
    CHECK(fa.alloc(2 * frames_per_gib, GiB) == 5 * GiB);
    CHECK(fa.alloc(2 * frames_per_gib, GiB) == FrameAllocator::kNone); // would pass the top
    CHECK(fa.free(4 * GiB, frames_per_gib) == FreeError::none);
    CHECK(fa.free(5 * GiB, 2 * frames_per_gib) == FreeError::none);
    CHECK(fa.alloc(2 * frames_per_gib, 2 * GiB) == 4 * GiB);
    CHECK(fa.free_frames() == total - 4 * frames_per_gib);
}

namespace {

} // namespace

TEST_CASE("frame allocator: randomized alloc and free against a model", "[frame_allocator]")
{
    Sim sim(0, 8 * MiB);
    const Ranges usable = {{0x6000, 0x9fc00}, {0x3ff000, 8 * MiB}, {1 * MiB + 0x10, 0x300000}};
    const Ranges reserved = {{1 * MiB, 0x180000}, {0x500123, 0x510000}, {0x30000, 0x31000}};
    FrameAllocator fa;
    REQUIRE(init(fa, usable, reserved, 8 * MiB) == InitError::none);

    const auto managed = expected_managed(fa, usable, reserved);
    REQUIRE(fa.total_frames() == managed.size());
    const uint64_t top = usable_top(usable);

    std::set<uint64_t> owned;
    std::vector<std::pair<uint64_t, size_t>> blocks; // what we hold, for freeing
    std::vector<bool> free_now(top / kPage);         // managed and not owned, for speed
    for (uint64_t f : managed)
        free_now[f / kPage] = true;
    auto is_free = [&](uint64_t f) { return free_now[f / kPage]; };

    // First fit as the model sees it.
    auto model_alloc = [&](size_t count, uint64_t align, uint64_t limit) {
        const uint64_t end = std::min(limit / kPage * kPage, top);
        for (uint64_t s = 0; s + count * kPage <= end; s += align) {
            bool fits = true;
            for (size_t i = 0; i < count && fits; ++i)
                fits = is_free(s + i * kPage);
            if (fits)
                return s;
        }
        return FrameAllocator::kNone;
    };

    XorShift rng{0x9e3779b97f4a7c15};
    for (int step = 0; step < 20000; ++step) {
        INFO("step " << step); // REQUIRE: stop at the first divergence, not a cascade
        const uint64_t op = rng.below(10);
        if (op < 6) {
            size_t count = 1;
            uint64_t align = kPage;
            uint64_t limit = FrameAllocator::kNone;
            if (op >= 4) {
                count = 1 + rng.below(16);
                align = kPage << rng.below(7);
            }
            if (rng.below(4) == 0)
                limit = rng.below(top + 2 * kPage);
            INFO("alloc(" << count << ", " << align << ", " << limit << ")");
            const uint64_t got = fa.alloc(count, align, limit);
            REQUIRE(got == model_alloc(count, align, limit));
            if (got != FrameAllocator::kNone) {
                for (size_t i = 0; i < count; ++i) {
                    owned.insert(got + i * kPage);
                    free_now[got / kPage + i] = false;
                }
                blocks.emplace_back(got, count);
            }
        } else if (op < 9) {
            if (blocks.empty())
                continue;
            const size_t pick = rng.below(blocks.size());
            auto [base, count] = blocks[pick];
            blocks[pick] = blocks.back();
            blocks.pop_back();
            // Sometimes free only the front part; the rest stays owned.
            const size_t n = rng.below(3) == 0 ? 1 + rng.below(count) : count;
            if (n < count)
                blocks.emplace_back(base + n * kPage, count - n);
            REQUIRE(fa.free(base, n) == FreeError::none);
            for (size_t i = 0; i < n; ++i) {
                owned.erase(base + i * kPage);
                free_now[base / kPage + i] = true;
            }
        } else {
            // A free that should fail, with the error the model predicts.
            const uint64_t frame = rng.below(top / kPage + 8) * kPage;
            const size_t count = 1 + rng.below(4);
            const bool misalign = rng.below(8) == 0;
            FreeError want = FreeError::none;
            for (size_t i = 0; i < count; ++i)
                if (managed.count(frame + i * kPage) == 0)
                    want = FreeError::not_managed;
            if (want == FreeError::none)
                for (size_t i = 0; i < count; ++i)
                    if (owned.count(frame + i * kPage) == 0)
                        want = FreeError::double_free;
            if (misalign)
                want = FreeError::misaligned;
            if (want == FreeError::none)
                continue; // that would be a legal free
            INFO("free(" << frame << ", " << count << ")");
            REQUIRE(fa.free(frame + (misalign ? 0x10 : 0), count) == want);
        }
        REQUIRE(fa.free_frames() == managed.size() - owned.size());
    }

    for (auto [base, count] : blocks)
        CHECK(fa.free(base, count) == FreeError::none);
    CHECK(fa.free_frames() == managed.size());
    const auto got = drain(fa);
    CHECK(std::set<uint64_t>(got.begin(), got.end()) == managed);
}

TEST_CASE("frame allocator: claim takes exactly one free managed frame")
{
    alignas(4096) static uint8_t window[64 * 1024];
    static uint64_t window_base;
    window_base = 0x900000 - sizeof window; // the bitmaps go just below bitmap_limit
    auto p2v = [](uint64_t phys) -> void* { return window + (phys - window_base); };
    const mem::PhysRange usable[] = {{0x100000, 0x900000}};
    const mem::PhysRange reserved[] = {{0x200000, 0x201000}};
    mem::FrameAllocator frames;
    REQUIRE(frames.init(usable, 1, reserved, 1, p2v, 0x900000) == mem::FrameAllocator::InitError::none);
    size_t before = frames.free_frames();
    CHECK(frames.claim(0x300000));
    CHECK(frames.free_frames() == before - 1);
    CHECK_FALSE(frames.claim(0x300000));  // already taken
    CHECK_FALSE(frames.claim(0x200000));  // reserved
    CHECK_FALSE(frames.claim(0x300800));  // misaligned
    CHECK_FALSE(frames.claim(0x5000000)); // outside RAM
    CHECK_FALSE(frames.claim(0));         // frame 0 is never handed out
    CHECK(frames.free_frames() == before - 1);
    CHECK(frames.free(0x300000) == mem::FrameAllocator::FreeError::none);
    CHECK(frames.claim(0x300000));
}

TEST_CASE("frame allocator: free runs are reported in order")
{
    alignas(4096) static uint8_t window[64 * 1024];
    static uint64_t window_base;
    window_base = 0x900000 - sizeof window;
    auto p2v = [](uint64_t phys) -> void* { return window + (phys - window_base); };
    const mem::PhysRange usable[] = {{0x100000, 0x400000}, {0x600000, 0x900000}};
    const mem::PhysRange reserved[] = {{0x200000, 0x210000}};
    mem::FrameAllocator frames;
    REQUIRE(frames.init(usable, 2, reserved, 1, p2v, 0x900000) == mem::FrameAllocator::InitError::none);
    uint64_t base = 0, end = 0;
    REQUIRE(frames.next_free_run(0, base, end));
    CHECK(base == 0x100000);
    CHECK(end == 0x200000);
    REQUIRE(frames.next_free_run(end, base, end));
    CHECK(base == 0x210000);
    CHECK(end == 0x400000);
    REQUIRE(frames.next_free_run(end, base, end));
    CHECK(base == 0x600000);
    CHECK(end == frames.bitmap_base()); // the bitmaps sit at the top, below bitmap_limit
    CHECK_FALSE(frames.next_free_run(0x900000, base, end));
}
