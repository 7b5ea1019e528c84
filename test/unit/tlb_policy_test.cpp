// The TLB policy against a model of the x86 TLB rules: whatever the order of switches,
// changes, and tasks made and destroyed, every access translates as the page tables say now.
#include <catch2/catch.hpp>

#include "xorshift.hpp"

#include <algorithm>
#include <map>
#include <utility>
#include <vector>

#include "mem/tlb_policy.hpp"

using mem::TlbMode;
using mem::TlbPolicy;
using mem::TlbSpace;
using mem::TlbTags;

namespace {

constexpr uint64_t kPage = 4096;

// The x86 TLB as the SDM describes it (vol. 3A, 4.10), for user pages, caching all it may:
// an entry stays until something drops it. Entries are tagged by PCID (all 0 while PCIDs are
// off). A MOV to CR3 flushes the new PCID's entries unless told to keep them (with PCIDs off,
// every entry); INVLPG drops a page of the live PCID; INVPCID a page of any PCID.
struct ModelTlb {
    bool pcid_enabled = false;
    bool invpcid = false;
    uint64_t root = 0;
    uint16_t pcid = 0;
    std::map<std::pair<uint16_t, uint64_t>, uint64_t> entries; // (pcid, page) -> frame
    std::map<uint64_t, std::map<uint64_t, uint64_t>> tables;   // root -> page -> frame
    int errors = 0; // misuse: a PCID or keep bit with PCIDs off, INVPCID without it

    uint64_t live_root() { return root; }

    void load(uint64_t new_root, uint16_t tag, bool keep)
    {
        if (!pcid_enabled && (tag != 0 || keep))
            ++errors; // reserved bits of CR3: #GP on real hardware
        if (!pcid_enabled)
            entries.clear();
        else if (!keep)
            for (auto it = entries.begin(); it != entries.end();)
                it = it->first.first == tag ? entries.erase(it) : std::next(it);
        root = new_root;
        pcid = tag;
    }

    void invalidate_live(uint64_t virt) { entries.erase({pcid, virt}); }

    void invalidate_tagged(uint16_t tag, uint64_t virt)
    {
        if (!invpcid)
            ++errors; // #UD on a CPU without INVPCID
        entries.erase({tag, virt});
    }

    // An access by the live space: the cached entry, or a walk that caches what it finds.
    uint64_t access(uint64_t page)
    {
        auto cached = entries.find({pcid, page});
        if (cached != entries.end())
            return cached->second;
        auto& table = tables[root];
        auto mapped = table.find(page);
        if (mapped == table.end() || mapped->second == 0)
            return 0; // a fault: not cached
        entries[{pcid, page}] = mapped->second;
        return mapped->second;
    }
};

constexpr uint64_t kKernelRoot = 0x1000;
constexpr uint64_t kPages = 48; // user pages 0..47: runs of up to 40 cross kMaxSinglePages

// Random steps over up to eight spaces, with roots reused as frames are; every access is
// checked against the page tables. `taken` tags are held elsewhere from the start.
void run_model(TlbMode mode, uint64_t seed, uint32_t taken)
{
    TlbPolicy<ModelTlb> policy;
    ModelTlb& hw = policy.hardware();
    hw.pcid_enabled = mode != TlbMode::untagged;
    hw.invpcid = mode == TlbMode::tagged_invalidate_any;
    hw.root = kKernelRoot;
    policy.set_mode(mode);
    for (uint32_t i = 0; i < taken; ++i)
        (void)policy.new_tag();

    std::vector<TlbSpace> spaces;
    std::vector<uint64_t> free_roots;
    for (uint64_t r = 1; r <= 10; ++r)
        free_roots.push_back(kKernelRoot + r * kPage);
    XorShift rng{seed};
    uint64_t next_frame = 1;
    for (int step = 0; step < 20000; ++step) {
        uint64_t op = rng.below(100);
        if (op < 8 && !free_roots.empty() && spaces.size() < 8) { // a new task
            uint64_t root = free_roots[rng.below(free_roots.size())];
            free_roots.erase(std::find(free_roots.begin(), free_roots.end(), root));
            auto& table = hw.tables[root];
            table.clear();
            for (uint64_t p = 0; p < kPages; ++p)
                if (rng.below(2))
                    table[p * kPage] = next_frame++;
            spaces.push_back({root, policy.new_tag()});
        } else if (op < 14 && !spaces.empty()) { // a task destroyed
            size_t i = rng.below(spaces.size());
            TlbSpace s = spaces[i];
            if (policy.is_live(s.root))
                policy.load_kernel(kKernelRoot);
            policy.free_tag(s.tag);
            hw.tables.erase(s.root);
            free_roots.push_back(s.root);
            spaces.erase(spaces.begin() + static_cast<long>(i));
        } else if (op < 30 && !spaces.empty()) { // a switch
            policy.load(spaces[rng.below(spaces.size())]);
        } else if (op < 45 && !spaces.empty()) { // map, remap or unmap a page anywhere
            TlbSpace s = spaces[rng.below(spaces.size())];
            uint64_t page = rng.below(kPages) * kPage;
            hw.tables[s.root][page] = rng.below(3) == 0 ? 0 : next_frame++;
            policy.invalidate(s, page, 1);
        } else if (op < 50 && !spaces.empty()) { // a run of pages (a flexpage) changed
            TlbSpace s = spaces[rng.below(spaces.size())];
            uint64_t first = rng.below(kPages), count = 1 + rng.below(kPages - first);
            for (uint64_t p = first; p < first + count; ++p)
                hw.tables[s.root][p * kPage] = 0;
            policy.invalidate(s, first * kPage, count);
        } else if (hw.root != kKernelRoot) { // an access by the live task
            uint64_t page = rng.below(kPages) * kPage;
            auto& table = hw.tables[hw.root];
            uint64_t want = table.count(page) ? table[page] : 0;
            INFO("step " << step << " root " << hw.root << " pcid " << hw.pcid << " page " << page);
            REQUIRE(hw.access(page) == want);
        }
        REQUIRE(hw.errors == 0);
    }
}

} // namespace

TEST_CASE("tlb policy: accesses translate as the tables say, without tags")
{
    for (uint64_t seed = 1; seed <= 5; ++seed)
        run_model(TlbMode::untagged, seed * 0x9e3779b97f4a7c15, 0);
}

TEST_CASE("tlb policy: accesses translate as the tables say, with tags")
{
    for (uint64_t seed = 1; seed <= 5; ++seed)
        run_model(TlbMode::tagged, seed * 0x9e3779b97f4a7c15, 0);
}

TEST_CASE("tlb policy: accesses translate as the tables say, with tags and single-page invalidation")
{
    for (uint64_t seed = 1; seed <= 5; ++seed)
        run_model(TlbMode::tagged_invalidate_any, seed * 0x9e3779b97f4a7c15, 0);
}

TEST_CASE("tlb policy: spaces made once the tags ran out share the untagged PCID safely")
{
    // 4,091 tags held: of up to eight live spaces, four get tags and the rest go untagged.
    for (uint64_t seed = 1; seed <= 3; ++seed) {
        run_model(TlbMode::tagged, seed * 0x2545f4914f6cdd1d, TlbTags::kCount - 5);
        run_model(TlbMode::tagged_invalidate_any, seed * 0x2545f4914f6cdd1d, TlbTags::kCount - 5);
    }
}

TEST_CASE("tlb policy: a switch keeps the entries of a tagged space and flushes an untagged one")
{
    TlbPolicy<ModelTlb> policy;
    ModelTlb& hw = policy.hardware();
    hw.pcid_enabled = true;
    hw.root = kKernelRoot;
    policy.set_mode(TlbMode::tagged);
    TlbSpace a{0x2000, policy.new_tag()}, b{0x3000, policy.new_tag()};
    hw.tables[a.root][0] = 7;
    hw.tables[b.root][0] = 9;
    policy.load(a);
    CHECK(hw.access(0) == 7);
    policy.load(b);
    CHECK(hw.access(0) == 9);
    policy.load(a);
    CHECK(hw.entries.size() == 2); // both kept: nothing to refill
    CHECK(hw.access(0) == 7);
    policy.load(a); // already live: no CR3 write
    CHECK(hw.entries.size() == 2);

    TlbPolicy<ModelTlb> off; // PCIDs off: the same switches flush
    ModelTlb& plain = off.hardware();
    plain.root = kKernelRoot;
    TlbSpace c{0x2000, off.new_tag()}, d{0x3000, off.new_tag()};
    CHECK(c.tag == TlbTags::kUntagged);
    plain.tables[c.root][0] = 7;
    plain.tables[d.root][0] = 9;
    off.load(c);
    CHECK(plain.access(0) == 7);
    off.load(d);
    CHECK(plain.entries.empty());
    CHECK(plain.errors == 0);
}
