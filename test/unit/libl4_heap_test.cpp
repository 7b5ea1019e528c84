// libl4's heap (l4/heap.hpp) over fake page sources.
#include <catch2/catch.hpp>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <map>
#include <random>
#include <vector>

#include "l4/heap.hpp"
#include "l4/libc.hpp"

using l4::Heap;
using l4::HeapError;

namespace {

constexpr size_t kPage = l4::kHeapPageSize;

// The page source of the test that runs: pages from aligned_alloc, filled with junk (the heap
// must not expect zeroed memory), or from one arena in order (so runs are adjacent and the heap
// merges them). It can run dry on request. PageSource is a plain function, hence the global.
class FakePages {
public:
    enum class Mode { scattered, contiguous };

    explicit FakePages(Mode mode, size_t arena_pages = 4096) : mode_(mode)
    {
        if (mode_ == Mode::contiguous) {
            arena_ = static_cast<uint8_t*>(std::aligned_alloc(kPage, arena_pages * kPage));
            std::memset(arena_, 0xa5, arena_pages * kPage);
            arena_pages_ = arena_pages;
        }
        current_ = this;
    }
    ~FakePages()
    {
        for (void* p : blocks_)
            std::free(p);
        std::free(arena_);
        current_ = nullptr;
    }
    FakePages(const FakePages&) = delete;
    FakePages& operator=(const FakePages&) = delete;

    static void* get(size_t count) { return current_->take(count); }

    void limit(size_t pages) { budget_ = pages; }
    size_t pages_out() const { return pages_out_; }
    size_t calls() const { return calls_; }

private:
    void* take(size_t count)
    {
        ++calls_;
        if (count == 0 || count > budget_)
            return nullptr;
        void* p = nullptr;
        if (mode_ == Mode::contiguous) {
            if (count > arena_pages_ - arena_used_)
                return nullptr;
            p = arena_ + arena_used_ * kPage;
            arena_used_ += count;
        } else {
            p = std::aligned_alloc(kPage, count * kPage);
            std::memset(p, 0x5a, count * kPage);
            blocks_.push_back(p);
        }
        budget_ -= count;
        pages_out_ += count;
        return p;
    }

    static inline FakePages* current_ = nullptr;
    Mode mode_;
    std::vector<void*> blocks_;
    uint8_t* arena_ = nullptr;
    size_t arena_pages_ = 0, arena_used_ = 0;
    size_t budget_ = SIZE_MAX;
    size_t pages_out_ = 0, calls_ = 0;
};

struct Reported {
    HeapError error;
    const void* pointer;
};
std::vector<Reported> g_reports;
void record(HeapError error, const void* pointer) { g_reports.push_back({error, pointer}); }

bool aligned(const void* p, size_t alignment) { return reinterpret_cast<uintptr_t>(p) % alignment == 0; }

} // namespace

TEST_CASE("libl4 heap: blocks are aligned, distinct and reused after free")
{
    FakePages pages(FakePages::Mode::scattered);
    Heap heap;
    heap.init(FakePages::get, record);
    CHECK(heap.stats().regions == 0);

    std::vector<void*> blocks;
    for (size_t size : {0u, 1u, 15u, 16u, 17u, 100u, 1000u, 4096u, 10000u}) {
        void* p = heap.allocate(size);
        REQUIRE(p != nullptr);
        CHECK(aligned(p, 16));
        CHECK(heap.usable_size(p) >= size);
        std::memset(p, 0xcc, size);
        blocks.push_back(p);
    }
    for (size_t i = 0; i < blocks.size(); ++i)
        for (size_t j = i + 1; j < blocks.size(); ++j)
            CHECK(blocks[i] != blocks[j]);
    CHECK(heap.check());
    CHECK(heap.stats().blocks_in_use == blocks.size());

    void* freed = blocks[5];
    heap.release(freed);
    CHECK(heap.allocate(100) == freed); // the first fit is the hole it left
    for (void* p : blocks)
        heap.release(p);
    CHECK(heap.check());
    const l4::HeapStats s = heap.stats();
    CHECK(s.blocks_in_use == 0);
    CHECK(s.bytes_in_use == 0);
    CHECK(s.free_blocks == s.regions); // everything merged back into one block per region
    CHECK(s.errors == 0);
    heap.release(nullptr);
    CHECK(heap.stats().errors == 0);
}

TEST_CASE("libl4 heap: freed neighbours merge in any order")
{
    FakePages pages(FakePages::Mode::scattered);
    Heap heap;
    heap.init(FakePages::get, record);
    const int orders[][3] = {{0, 1, 2}, {0, 2, 1}, {1, 0, 2}, {1, 2, 0}, {2, 0, 1}, {2, 1, 0}};
    for (const auto& order : orders) {
        void* guard_before = heap.allocate(64);
        void* p[3] = {heap.allocate(100), heap.allocate(200), heap.allocate(300)};
        void* guard_after = heap.allocate(64);
        const size_t free_before = heap.stats().free_blocks;
        for (int i : order) {
            heap.release(p[i]);
            REQUIRE(heap.check());
        }
        // The three became one free block between the guards.
        CHECK(heap.stats().free_blocks == free_before + 1);
        void* whole = heap.allocate(600 + 32);
        CHECK(whole == p[0]);
        heap.release(whole);
        heap.release(guard_before);
        heap.release(guard_after);
        CHECK(heap.check());
    }
}

TEST_CASE("libl4 heap: double free, stray pointers and overwritten headers are reported")
{
    FakePages pages(FakePages::Mode::scattered);
    Heap heap;
    heap.init(FakePages::get, record);
    g_reports.clear();

    void* a = heap.allocate(32);
    void* b = heap.allocate(32);
    void* c = heap.allocate(32);
    heap.release(b);
    heap.release(b);
    REQUIRE(g_reports.size() == 1);
    CHECK(g_reports[0].error == HeapError::double_free);
    CHECK(g_reports[0].pointer == b);

    // b merged into its free neighbour after c is freed: freeing b again is still a double free.
    heap.release(c);
    heap.release(b);
    REQUIRE(g_reports.size() == 2);
    CHECK(g_reports[1].error == HeapError::double_free);
    CHECK(heap.check());

    void* d = heap.allocate(64);
    std::memset(d, 0, 64);
    heap.release(static_cast<char*>(d) + 1);  // misaligned
    heap.release(static_cast<char*>(d) + 32); // inside a block, no mark before it
    REQUIRE(g_reports.size() == 4);
    CHECK(g_reports[2].error == HeapError::invalid_pointer);
    CHECK(g_reports[3].error == HeapError::invalid_pointer);
    CHECK(heap.usable_size(static_cast<char*>(d) + 32) == 0);
    CHECK(heap.reallocate(static_cast<char*>(d) + 32, 10) == nullptr);
    REQUIRE(g_reports.size() == 5);

    CHECK(heap.stats().errors == 5);
    CHECK(heap.check());
    (void)a;

    // An overflow of one block into the next one's header: a changed size is noticed through
    // the header after it.
    Heap other;
    other.init(FakePages::get, record);
    void* x = other.allocate(32);
    void* y = other.allocate(32);
    void* z = other.allocate(32);
    REQUIRE(y == static_cast<char*>(x) + 48); // x's block is 48 bytes: y's header is x[32..48)
    const uint64_t bogus = 0x40;
    std::memcpy(static_cast<char*>(x) + 32, &bogus, sizeof bogus);
    other.release(y);
    REQUIRE(g_reports.size() == 6);
    CHECK(g_reports[5].error == HeapError::corrupted);
    CHECK(!other.check());
    CHECK(other.stats().errors == 1);
    (void)z;
}

TEST_CASE("libl4 heap: realloc grows in place, shrinks, moves and keeps contents")
{
    FakePages pages(FakePages::Mode::scattered);
    Heap heap;
    heap.init(FakePages::get, record);

    void* p = heap.reallocate(nullptr, 40); // acts as malloc
    REQUIRE(p != nullptr);
    std::memset(p, 0x11, 40);
    void* q = heap.reallocate(p, 400); // the rest of the region is free: in place
    CHECK(q == p);
    CHECK(static_cast<uint8_t*>(q)[39] == 0x11);
    void* blocker = heap.allocate(16); // now the block cannot grow in place
    std::memset(q, 0x22, 400);
    void* r = heap.reallocate(q, 5000);
    REQUIRE(r != nullptr);
    CHECK(r != q);
    for (size_t i = 0; i < 400; ++i)
        REQUIRE(static_cast<uint8_t*>(r)[i] == 0x22);
    void* s = heap.reallocate(r, 8); // shrinks in place
    CHECK(s == r);
    CHECK(heap.usable_size(s) < 64);
    CHECK(heap.check());
    CHECK(heap.reallocate(s, 0) == nullptr); // frees
    CHECK(heap.stats().blocks_in_use == 1);
    CHECK(heap.reallocate(blocker, Heap::kMaxAllocation + 1) == nullptr); // too big: kept
    CHECK(heap.usable_size(blocker) >= 16);
    heap.release(blocker);
    CHECK(heap.check());
}

TEST_CASE("libl4 heap: aligned allocations")
{
    FakePages pages(FakePages::Mode::scattered);
    Heap heap;
    heap.init(FakePages::get, record);
    std::vector<void*> blocks;
    for (size_t alignment = 1; alignment <= 65536; alignment *= 2) {
        for (size_t size : {1u, 24u, 100u, 5000u}) {
            void* p = heap.allocate_aligned(alignment, size);
            REQUIRE(p != nullptr);
            CHECK(aligned(p, alignment < 16 ? 16 : alignment));
            CHECK(heap.usable_size(p) >= size);
            std::memset(p, 0x33, size);
            blocks.push_back(p);
            REQUIRE(heap.check());
        }
    }
    CHECK(heap.allocate_aligned(0, 10) == nullptr);
    CHECK(heap.allocate_aligned(48, 10) == nullptr);
    CHECK(heap.allocate_aligned(size_t{1} << 63, 10) == nullptr);
    for (void* p : blocks)
        heap.release(p);
    CHECK(heap.check());
    CHECK(heap.stats().blocks_in_use == 0);
    CHECK(heap.stats().free_blocks == heap.stats().regions);
}

TEST_CASE("libl4 heap: running out of memory")
{
    FakePages pages(FakePages::Mode::scattered);
    Heap heap;
    CHECK(heap.allocate(10) == nullptr); // not initialised: no memory
    heap.init(FakePages::get, record);
    CHECK(heap.allocate(Heap::kMaxAllocation + 1) == nullptr);
    CHECK(heap.allocate(SIZE_MAX) == nullptr);
    CHECK(heap.allocate_aligned(4096, SIZE_MAX - 100) == nullptr);

    pages.limit(3); // less than the heap's usual 16-page step: it asks again for what it needs
    void* p = heap.allocate(100);
    CHECK(p != nullptr);
    CHECK(pages.pages_out() == 1);
    CHECK(heap.allocate(3 * kPage) == nullptr); // needs 4 pages, 2 are left
    void* q = heap.allocate(kPage);
    CHECK(q != nullptr);
    CHECK(pages.pages_out() == 3);
    CHECK(heap.check());
    pages.limit(0);
    size_t got = 0;
    while (heap.allocate(64) != nullptr)
        ++got;
    CHECK(got > 0);
    CHECK(heap.check());

    Heap no_source;
    no_source.init(nullptr, record);
    CHECK(no_source.allocate(1) == nullptr);
}

TEST_CASE("libl4 heap: adjacent runs merge; memory handed in directly")
{
    FakePages pages(FakePages::Mode::contiguous);
    Heap heap;
    heap.init(FakePages::get, record);
    void* a = heap.allocate(100);
    void* big = heap.allocate(200 * 1024); // more than the first run: the next run extends it
    REQUIRE(a != nullptr);
    REQUIRE(big != nullptr);
    CHECK(heap.stats().regions == 1);
    CHECK(heap.stats().bytes_managed == pages.pages_out() * kPage);
    heap.release(a);
    heap.release(big);
    CHECK(heap.check());
    CHECK(heap.stats().free_blocks == 1);
    // All of it is one block again.
    CHECK(heap.stats().largest_free == heap.stats().bytes_managed - 32);

    alignas(16) static uint8_t arena[3000];
    Heap fixed;
    fixed.init(nullptr, record);
    CHECK(!fixed.add_memory(arena + 1, 40)); // too small once aligned
    CHECK(!fixed.add_memory(nullptr, 4096));
    REQUIRE(fixed.add_memory(arena + 1, 1000));
    CHECK(fixed.add_memory(arena + 992, sizeof arena - 992)); // follows on: merged
    CHECK(fixed.stats().regions == 1);
    void* x = fixed.allocate(2000);
    REQUIRE(x != nullptr);
    CHECK(static_cast<uint8_t*>(x) >= arena);
    CHECK(static_cast<uint8_t*>(x) + 2000 <= arena + sizeof arena);
    CHECK(fixed.allocate(2000) == nullptr);
    CHECK(fixed.check());
}

namespace {

// A random mix of malloc, free and realloc against a model: every block keeps its contents
// and no two live blocks overlap.
void random_workout(Heap& heap, uint32_t seed, int steps)
{
    struct Block {
        size_t size;
        uint8_t fill;
    };
    std::map<uintptr_t, Block> live;
    std::mt19937 rng(seed);

    auto verify = [&](uintptr_t p, const Block& b) {
        const auto* bytes = reinterpret_cast<const uint8_t*>(p);
        for (size_t i = 0; i < b.size; ++i)
            if (bytes[i] != static_cast<uint8_t>(b.fill + i))
                return false;
        return true;
    };
    auto fill = [](uintptr_t p, const Block& b) {
        auto* bytes = reinterpret_cast<uint8_t*>(p);
        for (size_t i = 0; i < b.size; ++i)
            bytes[i] = static_cast<uint8_t>(b.fill + i);
    };
    auto no_overlap = [&](uintptr_t p, size_t size) {
        auto next = live.lower_bound(p);
        if (next != live.end() && next->first < p + (size ? size : 1))
            return false;
        if (next != live.begin()) {
            auto prev = std::prev(next);
            if (prev->first + (prev->second.size ? prev->second.size : 1) > p)
                return false;
        }
        return true;
    };
    auto random_size = [&]() -> size_t {
        switch (rng() % 8) {
        case 0: return rng() % 16;
        case 1: return rng() % 20000;
        default: return rng() % 300;
        }
    };

    for (int step = 0; step < steps; ++step) {
        const auto op = rng() % 10;
        if (op < 4 || live.empty()) {
            const size_t size = random_size();
            const size_t alignment = rng() % 6 == 0 ? size_t{16} << (rng() % 8) : 0;
            void* p = alignment ? heap.allocate_aligned(alignment, size) : heap.allocate(size);
            REQUIRE(p != nullptr);
            REQUIRE(aligned(p, alignment ? alignment : 16));
            const auto a = reinterpret_cast<uintptr_t>(p);
            REQUIRE(no_overlap(a, size));
            Block b{size, static_cast<uint8_t>(rng())};
            fill(a, b);
            live[a] = b;
        } else {
            auto it = live.begin();
            std::advance(it, rng() % live.size());
            const uintptr_t a = it->first;
            const Block b = it->second;
            REQUIRE(verify(a, b));
            live.erase(it);
            if (op < 7) {
                heap.release(reinterpret_cast<void*>(a));
            } else {
                const size_t size = random_size();
                void* p = heap.reallocate(reinterpret_cast<void*>(a), size);
                if (size == 0) {
                    REQUIRE(p == nullptr);
                    continue;
                }
                REQUIRE(p != nullptr);
                const auto moved = reinterpret_cast<uintptr_t>(p);
                REQUIRE(aligned(p, 16));
                Block kept{b.size < size ? b.size : size, b.fill};
                REQUIRE(verify(moved, kept));
                REQUIRE(no_overlap(moved, size));
                Block nb{size, static_cast<uint8_t>(rng())};
                fill(moved, nb);
                live[moved] = nb;
            }
        }
        if (step % 500 == 0) {
            REQUIRE(heap.check());
            REQUIRE(heap.stats().blocks_in_use == live.size());
        }
    }
    for (const auto& [a, b] : live) {
        REQUIRE(verify(a, b));
        heap.release(reinterpret_cast<void*>(a));
    }
    REQUIRE(heap.check());
    const l4::HeapStats s = heap.stats();
    REQUIRE(s.blocks_in_use == 0);
    REQUIRE(s.free_blocks == s.regions);
    REQUIRE(s.errors == 0);
}

} // namespace

TEST_CASE("libl4 heap: random malloc/free/realloc keeps contents and never overlaps")
{
    SECTION("scattered pages")
    {
        FakePages pages(FakePages::Mode::scattered);
        Heap heap;
        heap.init(FakePages::get, record);
        random_workout(heap, 20240611, 20000);
    }
    SECTION("contiguous pages")
    {
        FakePages pages(FakePages::Mode::contiguous, 8192);
        Heap heap;
        heap.init(FakePages::get, record);
        random_workout(heap, 7, 20000);
        CHECK(heap.stats().regions == 1);
    }
}

TEST_CASE("libl4 heap: the C functions over the global heap")
{
    FakePages pages(FakePages::Mode::scattered);
    l4::heap_init(FakePages::get, record);
    g_reports.clear();

    void* p = l4_malloc(100);
    REQUIRE(p != nullptr);
    CHECK(l4_malloc_usable_size(p) >= 100);
    CHECK(l4_malloc_usable_size(nullptr) == 0);

    auto* zeroed = static_cast<uint8_t*>(l4_calloc(50, 40));
    REQUIRE(zeroed != nullptr);
    for (size_t i = 0; i < 2000; ++i)
        REQUIRE(zeroed[i] == 0); // the fake pages are 0x5a
    CHECK(l4_calloc(SIZE_MAX / 2, 3) == nullptr);
    CHECK(l4_calloc(0, 10) != nullptr);

    p = l4_realloc(p, 1000);
    REQUIRE(p != nullptr);
    void* aligned_block = l4_aligned_alloc(256, 10);
    CHECK(aligned(aligned_block, 256));
    void* pm = nullptr;
    CHECK(l4_posix_memalign(&pm, 1024, 10) == 0);
    CHECK(aligned(pm, 1024));
    void* untouched = &pm;
    CHECK(l4_posix_memalign(&untouched, 12, 10) == 22);
    CHECK(l4_posix_memalign(&untouched, 4, 10) == 22);
    CHECK(untouched == &pm);
    CHECK(l4_posix_memalign(&untouched, 16, SIZE_MAX) == 12);

    l4_free(p);
    l4_free(zeroed);
    l4_free(aligned_block);
    l4_free(pm);
    l4_free(pm);
    CHECK(g_reports.size() == 1);
    CHECK(l4::heap_check());
    CHECK(l4::heap_stats().blocks_in_use == 1); // calloc(0, 10)
    CHECK(l4::global_heap().stats().blocks_in_use == 1);
    CHECK(l4::describe(HeapError::double_free) != nullptr);

    l4::heap_init(nullptr, record); // forget the fake pages before they go
    CHECK(l4_malloc(1) == nullptr);
}
