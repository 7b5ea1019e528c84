// Host tests of mem::KernelHeap over a fake page source.
#include <catch2/catch.hpp>

#include "xorshift.hpp"

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <map>
#include <vector>

#include "mem/kernel_heap.hpp"

using mem::KernelHeap;
using FreeError = KernelHeap::FreeError;

namespace {

constexpr size_t kPage = 4096;
constexpr size_t kUnlimited = std::numeric_limits<size_t>::max();

// Pages from aligned_alloc, filled with junk (the heap must not expect zeroed pages). Counts
// what is out, checks every free against what was handed out, and can run dry on request.
class FakePages {
public:
    FakePages() = default;
    FakePages(const FakePages&) = delete;
    FakePages& operator=(const FakePages&) = delete;
    ~FakePages()
    {
        for (auto& [p, count] : live_)
            std::free(p);
    }

    mem::PageSource source() { return {this, &FakePages::alloc, &FakePages::release}; }

    void fail_after(size_t pages) { budget_ = pages; }
    void recover() { budget_ = kUnlimited; }

    size_t pages_out() const { return pages_out_; }
    size_t pages_handed_out_ever() const { return handed_ever_; }
    size_t bad_frees() const { return bad_frees_; }

private:
    static void* alloc(void* context, size_t count)
    {
        auto* self = static_cast<FakePages*>(context);
        if (count > self->budget_)
            return nullptr;
        if (self->budget_ != kUnlimited)
            self->budget_ -= count;
        void* p = std::aligned_alloc(kPage, count * kPage);
        REQUIRE(p != nullptr);
        std::memset(p, 0xcd, count * kPage);
        self->live_[p] = count;
        self->pages_out_ += count;
        self->handed_ever_ += count;
        return p;
    }

    static void release(void* context, void* pages, size_t count)
    {
        auto* self = static_cast<FakePages*>(context);
        auto it = self->live_.find(pages);
        if (it == self->live_.end() || it->second != count) {
            ++self->bad_frees_;
            return;
        }
        self->live_.erase(it);
        self->pages_out_ -= count;
        std::free(pages);
    }

    std::map<void*, size_t> live_;
    size_t budget_ = kUnlimited;
    size_t pages_out_ = 0;
    size_t handed_ever_ = 0;
    size_t bad_frees_ = 0;
};

// What an allocation of `size` really occupies.
size_t rounded(size_t size)
{
    if (size > KernelHeap::kMaxSlabSize)
        return (size + kPage - 1) / kPage * kPage;
    size_t cls = KernelHeap::kMinSize;
    while (cls < size)
        cls *= 2;
    return cls;
}

uintptr_t addr(const void* p) { return reinterpret_cast<uintptr_t>(p); }

void fill(void* p, size_t size, uint8_t seed)
{
    auto* bytes = static_cast<uint8_t*>(p);
    for (size_t i = 0; i < size; ++i)
        bytes[i] = static_cast<uint8_t>(seed + i * 7);
}

bool intact(const void* p, size_t size, uint8_t seed)
{
    const auto* bytes = static_cast<const uint8_t*>(p);
    for (size_t i = 0; i < size; ++i)
        if (bytes[i] != static_cast<uint8_t>(seed + i * 7))
            return false;
    return true;
}

} // namespace

TEST_CASE("kernel heap: every size class and odd sizes are aligned and usable", "[kernel_heap]")
{
    FakePages pages;
    KernelHeap heap;
    heap.init(pages.source());

    const size_t sizes[] = {1,   2,   15,  16,  17,  31,   32,   33,   63,   64,   65,   100,  128,  129,  255,
                            256, 257, 511, 512, 513, 1000, 1024, 1025, 2047, 2048, 2049, 4096, 4097, 10000};
    for (size_t size : sizes) {
        INFO("size " << size);
        void* p = heap.alloc(size);
        REQUIRE(p != nullptr);
        const size_t want_align = std::min(rounded(size), kPage);
        CHECK(addr(p) % want_align == 0);
        CHECK(heap.bytes_in_use() == rounded(size));
        CHECK(heap.pages_held() == pages.pages_out());
        fill(p, size, 0x11);
        CHECK(intact(p, size, 0x11));
        CHECK(heap.free(p, size) == FreeError::none);
        CHECK(heap.bytes_in_use() == 0);
    }
    // Large objects went straight back; each class keeps one cached empty slab.
    CHECK(heap.pages_held() == KernelHeap::kClassCount);
    heap.trim();
    CHECK(heap.pages_held() == 0);
    CHECK(pages.pages_out() == 0);
    CHECK(pages.bad_frees() == 0);
}

TEST_CASE("kernel heap: zero, huge and uninitialized requests", "[kernel_heap]")
{
    KernelHeap uninitialized;
    CHECK(uninitialized.alloc(16) == nullptr);

    FakePages pages;
    KernelHeap heap;
    heap.init(pages.source());
    CHECK(heap.alloc(0) == nullptr);
    CHECK(heap.alloc(std::numeric_limits<size_t>::max()) == nullptr);
    CHECK(heap.free(nullptr, 16) == FreeError::none);
    CHECK(heap.free(nullptr, 0) == FreeError::none);
    CHECK(heap.bytes_in_use() == 0);
    CHECK(heap.pages_held() == 0);
}

TEST_CASE("kernel heap: a slab page holds what fits after its header", "[kernel_heap]")
{
    const size_t per_page[] = {252, 126, 63, 31, 15, 7, 3, 1};
    for (size_t index = 0; index < KernelHeap::kClassCount; ++index) {
        const size_t size = KernelHeap::kMinSize << index;
        INFO("class " << size);
        FakePages pages;
        KernelHeap heap;
        heap.init(pages.source());
        std::vector<void*> objects;
        for (size_t i = 0; i < per_page[index]; ++i)
            objects.push_back(heap.alloc(size));
        CHECK(heap.pages_held() == 1);
        objects.push_back(heap.alloc(size));
        CHECK(heap.pages_held() == 2);
        for (void* p : objects) {
            REQUIRE(p != nullptr);
            CHECK(heap.free(p, size) == FreeError::none);
        }
        heap.trim();
        CHECK(pages.pages_out() == 0);
    }
}

TEST_CASE("kernel heap: objects are distinct and do not overlap", "[kernel_heap]")
{
    FakePages pages;
    KernelHeap heap;
    heap.init(pages.source());

    struct Object {
        void* p;
        size_t size;
    };
    std::vector<Object> objects;
    XorShift rng{12345};
    for (size_t i = 0; i < 3000; ++i) {
        const size_t size = rng.below(8) == 0 ? 2049 + rng.below(9000) : 1 + rng.below(2048);
        void* p = heap.alloc(size);
        REQUIRE(p != nullptr);
        fill(p, size, static_cast<uint8_t>(i));
        objects.push_back({p, size});
    }
    size_t damaged = 0;
    for (size_t i = 0; i < objects.size(); ++i)
        if (!intact(objects[i].p, objects[i].size, static_cast<uint8_t>(i)))
            ++damaged;
    CHECK(damaged == 0);

    // Reserved extents ([p, p + rounded size)) must be pairwise disjoint.
    auto sorted = objects;
    std::sort(sorted.begin(), sorted.end(), [](const Object& a, const Object& b) { return addr(a.p) < addr(b.p); });
    size_t overlaps = 0;
    for (size_t i = 1; i < sorted.size(); ++i)
        if (addr(sorted[i - 1].p) + rounded(sorted[i - 1].size) > addr(sorted[i].p))
            ++overlaps;
    CHECK(overlaps == 0);

    for (const Object& o : objects)
        CHECK(heap.free(o.p, o.size) == FreeError::none);
    CHECK(heap.bytes_in_use() == 0);
    heap.trim();
    CHECK(pages.pages_out() == 0);
    CHECK(pages.bad_frees() == 0);
}

TEST_CASE("kernel heap: freed objects are reused", "[kernel_heap]")
{
    FakePages pages;
    KernelHeap heap;
    heap.init(pages.source());

    void* a = heap.alloc(64);
    void* b = heap.alloc(64);
    REQUIRE(a != nullptr);
    REQUIRE(b != nullptr);
    CHECK(a != b);
    CHECK(heap.free(a, 64) == FreeError::none);
    CHECK(heap.alloc(64) == a);
    CHECK(heap.alloc(48) != b); // same class, next slot
    CHECK(pages.pages_handed_out_ever() == 1);
}

TEST_CASE("kernel heap: empty slabs go back, one per class stays cached", "[kernel_heap]")
{
    FakePages pages;
    KernelHeap heap;
    heap.init(pages.source());

    std::vector<void*> objects;
    for (size_t i = 0; i < 3 * 63; ++i)
        objects.push_back(heap.alloc(64)); // three full slabs
    CHECK(heap.pages_held() == 3);
    CHECK(pages.pages_out() == 3);

    // Free from the middle slab first, then the rest.
    for (size_t i = 63; i < 126; ++i)
        CHECK(heap.free(objects[i], 64) == FreeError::none);
    CHECK(heap.pages_held() == 3); // the first empty slab is cached
    for (size_t i = 0; i < 63; ++i)
        CHECK(heap.free(objects[i], 64) == FreeError::none);
    CHECK(heap.pages_held() == 2); // the second went back
    for (size_t i = 126; i < 189; ++i)
        CHECK(heap.free(objects[i], 64) == FreeError::none);
    CHECK(heap.pages_held() == 1);
    CHECK(pages.pages_out() == 1);

    // Alloc/free around the empty boundary does not ping-pong pages with the source.
    const size_t ever = pages.pages_handed_out_ever();
    for (int i = 0; i < 100; ++i) {
        void* p = heap.alloc(64);
        CHECK(heap.free(p, 64) == FreeError::none);
    }
    CHECK(pages.pages_handed_out_ever() == ever);

    // A 2048-byte slab holds one object: empty right after its free.
    void* big1 = heap.alloc(2048);
    void* big2 = heap.alloc(2048);
    CHECK(heap.pages_held() == 3);
    CHECK(heap.free(big1, 2048) == FreeError::none);
    CHECK(heap.free(big2, 2048) == FreeError::none);
    CHECK(heap.pages_held() == 2); // one cached per class

    heap.trim();
    CHECK(heap.pages_held() == 0);
    CHECK(pages.pages_out() == 0);
    CHECK(pages.bad_frees() == 0);
}

TEST_CASE("kernel heap: exhaustion, then recovery with the source", "[kernel_heap]")
{
    FakePages pages;
    KernelHeap heap;
    heap.init(pages.source());
    pages.fail_after(2);

    std::vector<void*> objects;
    for (void* p = heap.alloc(64); p != nullptr; p = heap.alloc(64))
        objects.push_back(p);
    CHECK(objects.size() == 2 * 63);
    CHECK(heap.alloc(16) == nullptr);   // another class needs a new page
    CHECK(heap.alloc(5000) == nullptr); // so does a large object
    CHECK(heap.bytes_in_use() == 2 * 63 * 64);
    CHECK(heap.pages_held() == 2);

    // A freed slot is served without the source.
    CHECK(heap.free(objects.back(), 64) == FreeError::none);
    objects.pop_back();
    void* again = heap.alloc(64);
    CHECK(again != nullptr);
    objects.push_back(again);

    pages.recover();
    void* small = heap.alloc(16);
    void* large = heap.alloc(5000);
    void* more = heap.alloc(64);
    CHECK(small != nullptr);
    CHECK(large != nullptr);
    CHECK(more != nullptr);
    objects.push_back(more);
    CHECK(heap.pages_held() == 2 + 1 + 2 + 1);

    CHECK(heap.free(small, 16) == FreeError::none);
    CHECK(heap.free(large, 5000) == FreeError::none);
    for (void* p : objects)
        CHECK(heap.free(p, 64) == FreeError::none);
    CHECK(heap.bytes_in_use() == 0);
    heap.trim();
    CHECK(pages.pages_out() == 0);
    CHECK(pages.bad_frees() == 0);
}

TEST_CASE("kernel heap: bytes_in_use counts what each object occupies", "[kernel_heap]")
{
    FakePages pages;
    KernelHeap heap;
    heap.init(pages.source());

    void* a = heap.alloc(1);
    CHECK(heap.bytes_in_use() == 16);
    void* b = heap.alloc(17);
    CHECK(heap.bytes_in_use() == 16 + 32);
    void* c = heap.alloc(2049);
    CHECK(heap.bytes_in_use() == 16 + 32 + 4096);
    void* d = heap.alloc(10000);
    CHECK(heap.bytes_in_use() == 16 + 32 + 4096 + 12288);
    CHECK(heap.pages_held() == 1 + 1 + 1 + 3);

    CHECK(heap.free(c, 2049) == FreeError::none);
    CHECK(heap.bytes_in_use() == 16 + 32 + 12288);
    CHECK(heap.free(a, 1) == FreeError::none);
    CHECK(heap.free(d, 10000) == FreeError::none);
    CHECK(heap.free(b, 17) == FreeError::none);
    CHECK(heap.bytes_in_use() == 0);
    CHECK(heap.pages_held() == 2); // the two cached empty slabs
    heap.trim();
    CHECK(pages.bad_frees() == 0);
}

// Quotas charge charged_size(): it must cover the class size and, over many objects, every
// page the heap takes for them (header and rounding included).
TEST_CASE("kernel heap: charged_size covers the pages objects really take", "[kernel_heap]")
{
    CHECK(KernelHeap::charged_size(0) == 0);
    CHECK(KernelHeap::charged_size(1) == 17);       // 252 objects of 16 bytes per slab
    CHECK(KernelHeap::charged_size(48) == 66);      // 64-byte class: 63 per slab
    CHECK(KernelHeap::charged_size(1024) == 1366);  // 3 per slab
    CHECK(KernelHeap::charged_size(2048) == kPage); // the header leaves room for one
    CHECK(KernelHeap::charged_size(2049) == kPage);
    CHECK(KernelHeap::charged_size(kPage + 1) == 2 * kPage);
    for (size_t size :
         {size_t{1}, size_t{16}, size_t{17}, size_t{40}, size_t{64}, size_t{100}, size_t{192}, size_t{256}, size_t{600},
          size_t{1024}, size_t{1500}, size_t{2048}, size_t{3000}, size_t{9000}}) {
        INFO("size " << size);
        FakePages pages;
        KernelHeap heap;
        heap.init(pages.source());
        constexpr size_t kObjects = 1000;
        std::vector<void*> objects;
        for (size_t i = 0; i < kObjects; ++i)
            objects.push_back(heap.alloc(size));
        CHECK(KernelHeap::charged_size(size) >= size);
        // All slabs but the last are full; the last may be partly empty.
        CHECK(pages.pages_out() * kPage <= kObjects * KernelHeap::charged_size(size) + kPage);
        for (void* p : objects)
            REQUIRE(heap.free(p, size) == FreeError::none);
    }
}

TEST_CASE("kernel heap: caller bugs in free are detected and change nothing", "[kernel_heap]")
{
    FakePages pages;
    KernelHeap heap;
    heap.init(pages.source());

    auto* p = static_cast<uint8_t*>(heap.alloc(64));
    auto* q = static_cast<uint8_t*>(heap.alloc(64));
    auto* large = static_cast<uint8_t*>(heap.alloc(5000));
    REQUIRE(p != nullptr);
    REQUIRE(q != nullptr);
    REQUIRE(large != nullptr);
    const size_t in_use = heap.bytes_in_use();
    const size_t held = heap.pages_held();

    CHECK(heap.free(p, 128) == FreeError::size_mismatch);
    CHECK(heap.free(p, 16) == FreeError::size_mismatch);
    CHECK(heap.free(p, 0) == FreeError::size_mismatch);
    CHECK(heap.free(p + 16, 64) == FreeError::misaligned);
    CHECK(heap.free(q + 64, 64) == FreeError::double_free); // a slot never allocated
    CHECK(heap.free(large + 64, 64) == FreeError::not_slab_object);
    CHECK(heap.free(large, 64) == FreeError::not_slab_object);
    CHECK(heap.free(large + 8, 5000) == FreeError::misaligned);
    CHECK(heap.bytes_in_use() == in_use);
    CHECK(heap.pages_held() == held);

    CHECK(heap.free(p, 33) == FreeError::none); // any size of the same class is the same size
    CHECK(heap.free(p, 64) == FreeError::double_free);
    CHECK(heap.free(q, 64) == FreeError::none);
    CHECK(heap.free(q, 64) == FreeError::double_free); // in the cached empty slab
    CHECK(heap.free(large, 5000) == FreeError::none);
    CHECK(heap.bytes_in_use() == 0);
    heap.trim();
    CHECK(pages.pages_out() == 0);
    CHECK(pages.bad_frees() == 0);
}

TEST_CASE("kernel heap: randomized alloc and free against a model", "[kernel_heap]")
{
    FakePages pages;
    KernelHeap heap;
    heap.init(pages.source());

    struct Live {
        size_t size;
        uint8_t seed;
    };
    std::map<uintptr_t, Live> live; // by address, to find neighbours
    size_t model_bytes = 0;
    XorShift rng{0xdeadbeefcafef00d};
    size_t failures = 0;
    bool dry = false;

    for (int step = 0; step < 20000 && failures == 0; ++step) {
        // Now and then the source runs dry for a while.
        if (step % 1000 == 0) {
            dry = step % 3000 == 2000;
            if (dry)
                pages.fail_after(0);
            else
                pages.recover();
        }
        if (live.empty() || rng.below(100) < 55) {
            // Mostly small objects, some of every class, a few large ones.
            size_t size = 1 + rng.below(rng.below(2) != 0 ? 64 : 2048);
            if (rng.below(20) == 0)
                size = 2049 + rng.below(3 * kPage);
            void* p = heap.alloc(size);
            if (p == nullptr) {
                if (!dry) {
                    INFO("step " << step << " size " << size);
                    FAIL_CHECK("alloc failed with pages available");
                    ++failures;
                }
                continue;
            }
            const uintptr_t a = addr(p);
            const uintptr_t end = a + rounded(size);
            auto next = live.lower_bound(a);
            bool overlap = next != live.end() && next->first < end;
            if (next != live.begin()) {
                auto prev = std::prev(next);
                overlap = overlap || prev->first + rounded(prev->second.size) > a;
            }
            if (overlap || a % std::min(rounded(size), kPage) != 0) {
                INFO("step " << step << " size " << size);
                FAIL_CHECK("overlapping or misaligned object");
                ++failures;
            }
            const auto seed = static_cast<uint8_t>(rng.next());
            fill(p, size, seed);
            live[a] = {size, seed};
            model_bytes += rounded(size);
        } else {
            auto it = live.begin();
            std::advance(it, static_cast<long>(rng.below(live.size())));
            void* p = reinterpret_cast<void*>(it->first);
            if (!intact(p, it->second.size, it->second.seed)) {
                INFO("step " << step);
                FAIL_CHECK("object contents damaged");
                ++failures;
            }
            if (heap.free(p, it->second.size) != FreeError::none) {
                INFO("step " << step);
                FAIL_CHECK("free failed");
                ++failures;
            }
            model_bytes -= rounded(it->second.size);
            live.erase(it);
        }
        if (heap.bytes_in_use() != model_bytes || heap.pages_held() != pages.pages_out()) {
            INFO("step " << step);
            FAIL_CHECK("accounting differs from the model");
            ++failures;
        }
    }
    CHECK(failures == 0);

    for (auto& [a, o] : live) {
        CHECK(intact(reinterpret_cast<void*>(a), o.size, o.seed));
        CHECK(heap.free(reinterpret_cast<void*>(a), o.size) == FreeError::none);
    }
    CHECK(heap.bytes_in_use() == 0);
    CHECK(heap.pages_held() <= KernelHeap::kClassCount);
    heap.trim();
    CHECK(pages.pages_out() == 0);
    CHECK(pages.bad_frees() == 0);
}
