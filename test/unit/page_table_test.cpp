// The user page tables (arch/x86_64/page_table.cpp) over fake physical memory. Table frames
// come from a pool that hands them out full of garbage, and a "hardware walker" checks every
// watched tree whenever another CPU's walker could look at it (each table allocation, each TLB
// invalidation): no half-built table is ever reachable. Then the edges of user space, 2 MiB
// pages and their split, out of memory at every allocation, quota, and a randomized run
// against a model.
#include <catch2/catch.hpp>

#include "fake_arch/fake_arch.hpp"
#include "xorshift.hpp"

#include <algorithm>
#include <cstdio>
#include <map>
#include <ostream>
#include <set>
#include <string>
#include <vector>

#include "arch/x86_64/page_table.hpp"
#include "memory.hpp"

namespace {

using paging::AddressSpace;
using paging::kLastUserPage;
using paging::kUserEnd;
namespace pte = paging::pte;

constexpr uint64_t kPage = 4096;
constexpr uint64_t kLarge = 2 * 1024 * 1024;
constexpr uint64_t kNone = mem::FrameAllocator::kNone;
constexpr uint64_t kGarbage = 0xa5a5a5a5a5a5a5a5; // every word of a frame just handed out
constexpr uint64_t kFreed = 0x5a5a5a5a5a5a5a5a;   // every word of a frame given back
constexpr uint64_t kTableFlags = pte::present | pte::writable | pte::user;
constexpr uint64_t kLeafFlags =
    pte::present | pte::writable | pte::user | pte::write_through | pte::cache_disable | pte::no_execute;
constexpr uint64_t kRead = 1, kWrite = 2, kExecute = 4; // l4::abi::page_rights
constexpr uint64_t kUncached = pte::cache_disable | pte::write_through;

struct Invalidation {
    uint64_t root, virt, pages;
    bool operator==(const Invalidation& o) const { return root == o.root && virt == o.virt && pages == o.pages; }
};
std::ostream& operator<<(std::ostream& out, const Invalidation& i)
{
    return out << std::hex << "{root " << i.root << ", " << i.virt << ", " << std::dec << i.pages << " pages}";
}

// What the CPU would make of one 4 KiB page: its frame and the leaf bits that matter.
struct Translation {
    uint64_t phys, flags;
    bool operator==(const Translation& o) const { return phys == o.phys && flags == o.flags; }
};
std::ostream& operator<<(std::ostream& out, const Translation& t)
{
    return out << std::hex << "{" << t.phys << ", flags " << t.flags << "}" << std::dec;
}

Translation translate(uint64_t root, uint64_t virt)
{
    uint64_t entry = paging::lookup_in(root, virt);
    if (!(entry & pte::present))
        return {0, 0};
    if (entry & pte::large)
        return {(entry & paging::table::kLargeAddressMask) + (virt % kLarge) / kPage * kPage, entry & kLeafFlags};
    return {entry & pte::address_mask, entry & kLeafFlags};
}

std::vector<Translation> region(uint64_t root, uint64_t base)
{
    std::vector<Translation> pages;
    for (uint64_t i = 0; i < 512; ++i)
        pages.push_back(translate(root, base + i * kPage));
    return pages;
}

uint64_t* table_at(uint64_t phys) { return paging::table::at(phys); }

// The table frames and the TLB, watched. Frames come from a pool taken from the fake RAM.
class Machine final : public fake::PagingWatch {
public:
    static constexpr size_t kPool = 64;

    Machine()
    {
        fake::boot();
        for (size_t i = 0; i < kPool; ++i) {
            uint64_t phys = memory::frames().alloc();
            REQUIRE(phys != kNone);
            fill(phys, kFreed);
            pool_[phys] = false;
        }
        fake::watch_paging(this);
    }

    ~Machine()
    {
        fake::watch_paging(nullptr);
        for (const std::string& problem : problems)
            UNSCOPED_INFO(problem);
        CHECK(problems.empty());
        for (auto [phys, in_use] : pool_)
            if (!in_use)
                (void)memory::frames().free(phys);
    }

    Machine(const Machine&) = delete;
    Machine& operator=(const Machine&) = delete;

    AddressSpace new_space()
    {
        AddressSpace space = paging::new_user_space();
        if (space.root != 0) {
            roots_.insert(space.root);
            walk_all("new_user_space");
        }
        return space;
    }

    void free_space(AddressSpace space)
    {
        roots_.erase(space.root);
        paging::free_user_space(space);
    }

    uint64_t alloc_frame() override
    {
        ++allocations;
        walk_all("allocation " + std::to_string(allocations));
        if (allocations == fail_at) {
            ++failures;
            return kNone;
        }
        for (auto& [phys, in_use] : pool_)
            if (!in_use) {
                in_use = true;
                fill(phys, kGarbage);
                return phys;
            }
        problems.push_back("the frame pool ran dry");
        return kNone;
    }

    void free_frame(uint64_t phys) override
    {
        ++frees;
        auto frame = pool_.find(phys);
        if (frame == pool_.end() || !frame->second) {
            problems.push_back("freed a frame that is not a table: " + hex(phys));
            return;
        }
        frame->second = false;
        fill(phys, kFreed);
    }

    void invalidated(mem::TlbSpace space, uint64_t virt, uint64_t pages) override
    {
        invalidations.push_back({space.root, virt, pages});
        walk_all("invalidation of " + hex(virt));
    }

    // Table frames handed out and not given back (roots too).
    size_t tables_out() const
    {
        return static_cast<size_t>(std::count_if(pool_.begin(), pool_.end(), [](auto& f) { return f.second; }));
    }

    // Tables linked below `root` (not counting it).
    size_t linked_tables(uint64_t root) const
    {
        std::set<uint64_t> seen;
        (void)walk(root, seen);
        return seen.size() - 1;
    }

    // The walker over every watched tree: each problem it finds is noted with `when`.
    void walk_all(const std::string& when)
    {
        ++walks;
        for (uint64_t root : roots_) {
            std::set<uint64_t> seen;
            std::string problem = walk(root, seen);
            if (!problem.empty())
                problems.push_back(when + ": " + problem);
        }
    }

    uint64_t allocations = 0, fail_at = 0, failures = 0, frees = 0, walks = 0;
    std::vector<Invalidation> invalidations;
    std::vector<std::string> problems;

private:
    static void fill(uint64_t phys, uint64_t word)
    {
        uint64_t* words = table_at(phys);
        for (unsigned i = 0; i < 512; ++i)
            words[i] = word;
    }

    static std::string hex(uint64_t value)
    {
        char text[24];
        std::snprintf(text, sizeof text, "%#llx", static_cast<unsigned long long>(value));
        return text;
    }

    bool is_table(uint64_t phys) const
    {
        auto frame = pool_.find(phys);
        return frame != pool_.end() && frame->second;
    }

    // What a hardware walker could trip over in the tree below `root`: "" when nothing.
    std::string walk(uint64_t root, std::set<uint64_t>& seen) const
    {
        seen.insert(root);
        if (!is_table(root))
            return "root " + hex(root) + " is not a table frame";
        const uint64_t* top = table_at(root);
        const uint64_t* kernel = table_at(paging::kernel_root());
        for (unsigned i = 256; i < 512; ++i)
            if (top[i] != kernel[i])
                return "kernel-half entry " + std::to_string(i) + " differs from the kernel's";
        std::string kernel_half = walk_kernel(root, 4, 256);
        return kernel_half.empty() ? walk_table(root, 4, 256, seen) : kernel_half;
    }

    // The kernel half (entries [first, 512) of the root): nothing in it is user-accessible.
    static std::string walk_kernel(uint64_t phys, int level, unsigned first)
    {
        const uint64_t* entries = table_at(phys);
        for (unsigned i = first; i < 512; ++i) {
            if (!(entries[i] & pte::present))
                continue;
            if (entries[i] & pte::user)
                return "user-accessible entry in the kernel half: level " + std::to_string(level) + " table " +
                       hex(phys) + " entry " + std::to_string(i);
            if (level > 1 && !(entries[i] & pte::large)) {
                std::string below = walk_kernel(entries[i] & pte::address_mask, level - 1, 0);
                if (!below.empty())
                    return below;
            }
        }
        return "";
    }

    std::string walk_table(uint64_t phys, int level, unsigned count, std::set<uint64_t>& seen) const
    {
        const uint64_t* entries = table_at(phys);
        for (unsigned i = 0; i < count; ++i) {
            uint64_t entry = entries[i];
            auto where = [&](const char* what) {
                return "level " + std::to_string(level) + " table " + hex(phys) + " entry " + std::to_string(i) +
                       " = " + hex(entry) + ": " + what;
            };
            if (entry == kGarbage || entry == kFreed)
                return where("garbage");
            if (!(entry & pte::present)) {
                if (entry != 0)
                    return where("not present but not clear");
                continue;
            }
            if (!(entry & pte::user))
                return where("supervisor-only in user space");
            if (level == 1 || (entry & pte::large)) {
                if (level > 2)
                    return where("a large page above level 2");
                uint64_t allowed = pte::address_mask | kLeafFlags | (level == 2 ? pte::large : 0);
                if (entry & ~allowed)
                    return where("leaf with unexpected bits");
                if (level == 2 && (entry & pte::address_mask) % kLarge != 0)
                    return where("misaligned 2 MiB page");
                continue;
            }
            uint64_t next = entry & pte::address_mask;
            if ((entry & ~pte::address_mask) != kTableFlags)
                return where("table entry with other flags");
            if (!is_table(next))
                return where("points at a frame not handed out as a table");
            if (!seen.insert(next).second)
                return where("table linked twice");
            std::string below = walk_table(next, level - 1, 512, seen);
            if (!below.empty())
                return below;
        }
        return "";
    }

    std::map<uint64_t, bool> pool_; // frame -> handed out as a table
    std::set<uint64_t> roots_;
};

// A task's table account with a quota, counting every charge, refusal and refund.
struct Account {
    explicit Account(uint64_t quota_tables = 1000) : quota(quota_tables) {}

    static bool charge(void* context)
    {
        auto* self = static_cast<Account*>(context);
        if (self->charges - self->refunds >= self->quota) {
            ++self->refusals;
            return false;
        }
        ++self->charges;
        return true;
    }
    static void refund(void* context) { ++static_cast<Account*>(context)->refunds; }
    uint64_t balance() const { return charges - refunds; }

    uint64_t quota, charges = 0, refunds = 0, refusals = 0;
    paging::TableAccount tables{charge, refund, this};
};

// One space with its account in force.
struct World {
    explicit World(uint64_t quota = 1000) : account(quota)
    {
        space = machine.new_space();
        REQUIRE(space.root != 0);
    }
    ~World()
    {
        machine.free_space(space);
        CHECK(account.balance() == 0);
        CHECK(machine.tables_out() == 0);
    }

    bool map(uint64_t virt, uint64_t phys, bool writable = true, bool executable = false)
    {
        return paging::map_user_page(space.root, virt, phys, writable, executable);
    }
    bool install(uint64_t virt, uint64_t phys, uint64_t rights = kRead | kWrite, bool uncached = false)
    {
        return paging::install_user_page(space, virt, phys, rights, uncached);
    }
    bool install_large(uint64_t virt, uint64_t phys, uint64_t rights = kRead | kWrite, bool uncached = false)
    {
        return paging::install_user_large_page(space, virt, phys, rights, uncached);
    }
    uint64_t unmap(uint64_t virt) { return paging::unmap_user_page(space, virt); }
    Translation at(uint64_t virt) const { return translate(space.root, virt); }
    // Tables charged are exactly the tables linked.
    bool charges_match() const { return account.balance() == machine.linked_tables(space.root); }

    Machine machine;
    Account account;
    paging::ChargeTables charged{account.tables};
    AddressSpace space{};
};

std::vector<uint64_t> visited(uint64_t root)
{
    std::vector<uint64_t> pages;
    paging::for_each_user_page(
        root, [](void* context, uint64_t virt) { static_cast<std::vector<uint64_t>*>(context)->push_back(virt); },
        &pages);
    return pages;
}

constexpr uint64_t kRw = pte::present | pte::user | pte::writable | pte::no_execute;
constexpr uint64_t kRo = pte::present | pte::user | pte::no_execute;

} // namespace

TEST_CASE("page table: a new space shares the kernel half and has nothing below it")
{
    Machine machine;
    AddressSpace space = machine.new_space();
    REQUIRE(space.root != 0);
    CHECK(space.tag != 0);
    CHECK(machine.allocations == 1);
    const uint64_t* top = table_at(space.root);
    const uint64_t* kernel = table_at(paging::kernel_root());
    for (unsigned i = 0; i < 256; ++i)
        CHECK(top[i] == 0);
    for (unsigned i = 256; i < 512; ++i)
        CHECK(top[i] == kernel[i]);
    CHECK(kernel[511] != 0); // the fake kernel's one shared table
    CHECK(visited(space.root).empty());
    machine.free_space(space);
    CHECK(machine.tables_out() == 0);
    CHECK(machine.frees == 1);

    machine.fail_at = machine.allocations + 1;
    AddressSpace none = machine.new_space();
    CHECK(none.root == 0);
    CHECK(none.tag == 0);
    CHECK(machine.tables_out() == 0);
}

TEST_CASE("page table: a 4 KiB page maps with exactly its rights; tables come cleared and charged")
{
    World w;
    REQUIRE(w.map(0, 0x7654000, true, false));
    CHECK(paging::lookup_in(w.space.root, 0) == (0x7654000 | kRw));
    CHECK(w.machine.allocations == 4); // root, PDPT, PD, PT
    CHECK(w.account.charges == 3);
    CHECK(w.charges_match());
    CHECK(w.machine.invalidations.empty()); // a new mapping had nothing to flush
    CHECK(w.machine.walks == 5);

    REQUIRE(w.map(kPage, 0x9000, false, true));
    CHECK(paging::lookup_in(w.space.root, kPage) == (0x9000 | pte::present | pte::user));
    CHECK(w.machine.allocations == 4); // the same PT
    CHECK(w.account.charges == 3);
    CHECK(w.at(2 * kPage) == Translation{0, 0});
}

TEST_CASE("page table: the edges of user space")
{
    World w;
    const uint64_t kernel_top_before = table_at(paging::kernel_root())[511];
    const uint64_t kernel_pdpt = kernel_top_before & pte::address_mask;
    std::vector<uint64_t> kernel_pdpt_before(table_at(kernel_pdpt), table_at(kernel_pdpt) + 512);

    SECTION("address 0 and the last page below kLastUserPage map; kLastUserPage does not")
    {
        CHECK(w.map(0, 0x1000));
        CHECK(w.install(kLastUserPage - kPage, 0x2000, kRead));
        CHECK(w.at(kLastUserPage - kPage) == Translation{0x2000, kRo});
        CHECK_FALSE(w.map(kLastUserPage, 0x3000));
        CHECK_FALSE(w.install(kLastUserPage, 0x3000));
        CHECK(w.at(kLastUserPage) == Translation{0, 0});
        CHECK(w.unmap(kLastUserPage) == 0);
        CHECK(w.unmap(kLastUserPage - kPage) == 0x2000);
        CHECK(w.unmap(0) == 0x1000);
        CHECK(w.machine.invalidations == std::vector<Invalidation>{{w.space.root, kLastUserPage - kPage, 1},
                                                                   {w.space.root, kLastUserPage - kPage, 1},
                                                                   {w.space.root, 0, 1}});
        CHECK(w.machine.allocations == 1 + 3 + 3);
    }

    SECTION("kUserEnd, non-canonical and kernel-half addresses are refused, touching nothing")
    {
        for (uint64_t virt : {kUserEnd, kUserEnd + kLarge, uint64_t{0x0000900000000000}, uint64_t{0xffff800000000000},
                              uint64_t{0xffffffff80000000}, uint64_t{0xffffffffffe00000}}) {
            INFO("virt " << std::hex << virt);
            CHECK_FALSE(w.map(virt, 0x1000));
            CHECK_FALSE(w.install(virt, 0x1000));
            CHECK_FALSE(w.install_large(virt, 0x40000000));
            CHECK(w.unmap(virt) == 0);
            CHECK(w.unmap(virt + kLarge - kPage) == 0);
        }
        CHECK_FALSE(w.map(0xfffffffffffff000, 0x1000));
        CHECK_FALSE(w.install(0xfffffffffffff000, 0x1000));
        CHECK(w.machine.allocations == 1);
        CHECK(w.account.charges == 0);
        CHECK(w.machine.invalidations.empty());
        CHECK(table_at(paging::kernel_root())[511] == kernel_top_before);
        CHECK(std::vector<uint64_t>(table_at(kernel_pdpt), table_at(kernel_pdpt) + 512) == kernel_pdpt_before);
    }

    SECTION("a 2 MiB page must end at or below kLastUserPage")
    {
        CHECK_FALSE(w.install_large(kUserEnd - kLarge, 0x40000000)); // would hold kLastUserPage
        CHECK(w.machine.allocations == 1);
        CHECK(w.install_large(kUserEnd - 2 * kLarge, 0x40000000));
        CHECK(w.at(kUserEnd - kLarge - kPage) == Translation{0x40000000 + kLarge - kPage, kRw});
        CHECK(w.at(kUserEnd - kLarge) == Translation{0, 0});
    }

    SECTION("misaligned addresses are refused")
    {
        CHECK_FALSE(w.map(0x1001, 0x2000));
        CHECK_FALSE(w.map(0x1000, 0x2001));
        CHECK_FALSE(w.install(0x1800, 0x2000));
        CHECK_FALSE(w.install(0x1000, 0x2008));
        CHECK_FALSE(w.install_large(kPage, 0x40000000));
        CHECK_FALSE(w.install_large(kLarge, 0x40001000));
        CHECK(w.machine.allocations == 1);
        CHECK(w.machine.invalidations.empty());
        CHECK(visited(w.space.root).empty());
    }

    SECTION("map_user_page refuses a mapped page; install_user_page replaces it and flushes it")
    {
        REQUIRE(w.map(0x5000, 0x1000, true, true));
        CHECK_FALSE(w.map(0x5000, 0x2000, false, false));
        CHECK(w.at(0x5000) == Translation{0x1000, pte::present | pte::user | pte::writable});
        CHECK(w.install(0x5000, 0x3000, kRead, true));
        CHECK(paging::lookup_in(w.space.root, 0x5000) == (0x3000 | kRo | kUncached));
        CHECK(w.install(0x5000, 0x4000, kRead | kWrite | kExecute));
        CHECK(paging::lookup_in(w.space.root, 0x5000) == (0x4000 | pte::present | pte::user | pte::writable));
        CHECK(w.machine.invalidations ==
              std::vector<Invalidation>{{w.space.root, 0x5000, 1}, {w.space.root, 0x5000, 1}});
        CHECK(w.unmap(0x5000) == 0x4000);
        CHECK(w.unmap(0x5000) == 0);
        CHECK(w.machine.invalidations.size() == 3);
        CHECK(w.machine.allocations == 4);
    }
}

TEST_CASE("page table: a 2 MiB page, and its split keeps the other 511 translations exactly")
{
    World w;
    constexpr uint64_t kBase = 0x0000004000600000, kFrame = 0x80000000;
    std::vector<Translation> expected;
    for (uint64_t i = 0; i < 512; ++i)
        expected.push_back({kFrame + i * kPage, pte::present | pte::user | kUncached});

    REQUIRE(w.install_large(kBase, kFrame, kRead | kExecute, true));
    CHECK(paging::lookup_in(w.space.root, kBase + 77 * kPage) ==
          (kFrame | pte::present | pte::user | pte::large | kUncached));
    CHECK(region(w.space.root, kBase) == expected);
    CHECK(w.machine.allocations == 3); // root, PDPT, PD
    CHECK(w.machine.invalidations == std::vector<Invalidation>{{w.space.root, kBase, 512}});
    w.machine.invalidations.clear();

    SECTION("install_user_page on one of its pages")
    {
        REQUIRE(w.install(kBase + 7 * kPage, 0x123000, kRead | kWrite));
        expected[7] = {0x123000, kRw};
        CHECK(region(w.space.root, kBase) == expected);
        CHECK(w.machine.allocations == 4); // the PT it became
        CHECK(w.machine.invalidations == std::vector<Invalidation>{{w.space.root, kBase + 7 * kPage, 1}});
        CHECK(w.charges_match());
    }

    SECTION("unmap_user_page of one of its pages")
    {
        CHECK(w.unmap(kBase + 511 * kPage) == kFrame + 511 * kPage);
        expected[511] = {0, 0};
        CHECK(region(w.space.root, kBase) == expected);
        CHECK(w.unmap(kBase + 511 * kPage) == 0);
        CHECK(w.machine.allocations == 4);
        CHECK(w.machine.invalidations == std::vector<Invalidation>{{w.space.root, kBase + 511 * kPage, 1}});
        CHECK(visited(w.space.root).size() == 511);
    }

    SECTION("map_user_page on one of its pages is refused (it is mapped) but keeps them all")
    {
        CHECK_FALSE(w.map(kBase + 3 * kPage, 0x5000));
        CHECK(region(w.space.root, kBase) == expected);
        CHECK(w.machine.invalidations.empty());
    }

    SECTION("a 2 MiB page replaces a 2 MiB page")
    {
        REQUIRE(w.install_large(kBase, 2 * kFrame, kRead | kWrite));
        for (uint64_t i = 0; i < 512; ++i)
            expected[i] = {2 * kFrame + i * kPage, kRw};
        CHECK(region(w.space.root, kBase) == expected);
        CHECK(w.machine.allocations == 3);
        CHECK(w.machine.invalidations == std::vector<Invalidation>{{w.space.root, kBase, 512}});
    }

    SECTION("a 2 MiB page is refused over a table of 4 KiB pages, which stays as it was")
    {
        REQUIRE(w.unmap(kBase) == kFrame); // now a table of 511 pages
        expected[0] = {0, 0};
        w.machine.invalidations.clear();
        CHECK_FALSE(w.install_large(kBase, 2 * kFrame));
        CHECK(region(w.space.root, kBase) == expected);
        CHECK(w.machine.allocations == 4);
        CHECK(w.machine.invalidations.empty());

        for (uint64_t i = 1; i < 512; ++i) // even once the table is empty
            REQUIRE(w.unmap(kBase + i * kPage) == kFrame + i * kPage);
        w.machine.invalidations.clear();
        CHECK_FALSE(w.install_large(kBase, 2 * kFrame));
        CHECK(region(w.space.root, kBase) == std::vector<Translation>(512, Translation{0, 0}));
        CHECK(w.machine.invalidations.empty());
        CHECK(w.machine.allocations == 4);
    }
}

TEST_CASE("page table: out of memory at every allocation fails cleanly and changes no translation")
{
    constexpr uint64_t kKept = 0x3000, kTarget = 0x0000123456789000, kLargeBase = 0x0000123456600000;
    struct Case {
        const char* name;
        uint64_t allocations; // the operation's allocation points
        bool (*run)(World&);
        Translation made;      // at kTarget once it succeeds
        size_t flushes, pages; // invalidations it makes, pages mapped after it
    };
    const Case cases[] = {
        {"map_user_page", 3, [](World& w) { return w.map(kTarget, 0x777000); }, {0x777000, kRw}, 0, 2},
        {"install_user_page", 3, [](World& w) { return w.install(kTarget, 0x777000); }, {0x777000, kRw}, 1, 2},
        {"install_user_large_page",
         2,
         [](World& w) { return w.install_large(kLargeBase, 0x40000000); },
         {0x40000000 + (kTarget - kLargeBase), kRw},
         1,
         513},
    };
    for (const Case& c : cases)
        for (uint64_t n = 1; n <= c.allocations + 1; ++n) {
            INFO(c.name << ", allocation " << n << " fails");
            World w;
            REQUIRE(w.map(kKept, 0x1000));
            w.machine.fail_at = w.machine.allocations + n;
            bool fails = n <= c.allocations;
            CHECK(c.run(w) == !fails);
            CHECK(w.machine.failures == (fails ? 1u : 0u));
            CHECK(w.at(kKept) == Translation{0x1000, kRw});
            CHECK(w.at(kTarget) == (fails ? Translation{0, 0} : c.made));
            CHECK(w.machine.invalidations.size() == (fails ? 0 : c.flushes));
            CHECK(w.charges_match());
            CHECK_FALSE(w.account.tables.refused); // out of memory is not over quota
            CHECK(visited(w.space.root).size() == (fails ? 1 : c.pages));
        }
}

TEST_CASE("page table: out of memory for a split")
{
    constexpr uint64_t kBase = 0x0000000040000000, kFrame = 0x00000000c0000000;
    World w;
    REQUIRE(w.install_large(kBase, kFrame, kRead | kWrite | kExecute));
    std::vector<Translation> before = region(w.space.root, kBase);
    w.machine.invalidations.clear();

    SECTION("install_user_page inside the 2 MiB page fails and leaves it whole")
    {
        w.machine.fail_at = w.machine.allocations + 1;
        CHECK_FALSE(w.install(kBase + 5 * kPage, 0x5000));
        CHECK(w.machine.failures == 1);
        CHECK(region(w.space.root, kBase) == before);
        CHECK(paging::lookup_in(w.space.root, kBase) & pte::large);
        CHECK(w.machine.invalidations.empty());
        CHECK(w.charges_match());
    }

    SECTION("unmap_user_page takes the whole 2 MiB page away, as documented")
    {
        w.machine.fail_at = w.machine.allocations + 1;
        CHECK(w.unmap(kBase + 5 * kPage) == kFrame + 5 * kPage);
        CHECK(w.machine.failures == 1);
        CHECK(region(w.space.root, kBase) == std::vector<Translation>(512, Translation{0, 0}));
        CHECK(paging::lookup_in(w.space.root, kBase) == 0);
        CHECK(w.machine.invalidations == std::vector<Invalidation>{{w.space.root, kBase, 512}});
        CHECK(w.charges_match());
        CHECK(visited(w.space.root).empty());
        REQUIRE(w.map(kBase + 5 * kPage, 0x5000)); // and the place can be used again
        CHECK(w.at(kBase + 5 * kPage) == Translation{0x5000, kRw});
    }

    SECTION("a split refused for quota does the same")
    {
        w.account.quota = w.account.balance();
        CHECK(w.unmap(kBase + 6 * kPage) == kFrame + 6 * kPage);
        CHECK(w.account.refusals == 1);
        CHECK(w.account.tables.refused);
        CHECK(w.machine.failures == 0);
        CHECK(region(w.space.root, kBase) == std::vector<Translation>(512, Translation{0, 0}));
        CHECK(w.charges_match());
    }
}

TEST_CASE("page table: quota; charges and refunds balance to zero and every table comes back")
{
    Machine machine;
    Account account(2);
    AddressSpace space = machine.new_space();
    {
        paging::ChargeTables charged(account.tables);
        CHECK_FALSE(paging::map_user_page(space.root, 0, 0x1000, true, false)); // needs three
        CHECK(account.charges == 2);
        CHECK(account.refusals == 1);
        CHECK(account.refunds == 0);
        CHECK(account.tables.refused);
        CHECK(machine.linked_tables(space.root) == 2); // PDPT and PD stay, empty and charged
        CHECK(translate(space.root, 0) == Translation{0, 0});

        account.quota = 3;
        account.tables.refused = false;
        CHECK(paging::map_user_page(space.root, 0, 0x1000, true, false));
        CHECK(paging::map_user_page(space.root, kPage, 0x2000, true, false)); // the same PT
        CHECK(account.charges == 3);
        CHECK_FALSE(account.tables.refused);

        CHECK_FALSE(paging::install_user_large_page(space, 0x0000008000000000, 0x40000000, kRead, false));
        CHECK(account.tables.refused);
        CHECK(account.refusals == 2);
        CHECK(machine.invalidations.empty());

        account.quota = 10;
        account.tables.refused = false;
        REQUIRE(paging::install_user_large_page(space, 0x0000008000000000, 0x40000000, kRead, false));
        REQUIRE(paging::unmap_user_page(space, 0x0000008000001000) == 0x40001000); // a split: one more
        CHECK(account.charges == 6);
        CHECK(account.balance() == machine.linked_tables(space.root));
        CHECK_FALSE(account.tables.refused);
        CHECK(machine.tables_out() == 7); // the root is not the account's

        tlb::load(space);
        machine.free_space(space);
    }
    CHECK(fake::live_root() == paging::kernel_root()); // left before its tables went
    CHECK(account.charges == 6);
    CHECK(account.refunds == 6);
    CHECK(account.refusals == 2);
    CHECK(machine.tables_out() == 0);
    CHECK(machine.frees == 7);
}

TEST_CASE("page table: without an account tables are the kernel's")
{
    Machine machine;
    AddressSpace space = machine.new_space();
    CHECK(paging::map_user_page(space.root, 0x400000, 0x1000, true, true));
    CHECK(machine.tables_out() == 4);
    uint64_t other = fake::live_root();
    machine.free_space(space);
    CHECK(fake::live_root() == other); // not live: nothing to leave
    CHECK(machine.tables_out() == 0);
}

TEST_CASE("page table: for_each_user_page visits exactly the mapped pages")
{
    World w;
    constexpr uint64_t kLargeBase = 0x0000000080200000;
    std::vector<uint64_t> expected = {0, 5 * kPage, 0x0000004000000000, kLastUserPage - kPage};
    for (uint64_t virt : expected)
        REQUIRE(w.map(virt, 0x1000));
    REQUIRE(w.install_large(kLargeBase, 0x40000000));
    for (uint64_t i = 0; i < 512; ++i)
        expected.push_back(kLargeBase + i * kPage);
    std::sort(expected.begin(), expected.end());
    std::vector<uint64_t> pages = visited(w.space.root);
    CHECK(pages == expected); // in address order, once each

    REQUIRE(w.unmap(kLargeBase + kPage) == 0x40001000);
    REQUIRE(w.unmap(5 * kPage) == 0x1000);
    expected.erase(std::find(expected.begin(), expected.end(), kLargeBase + kPage));
    expected.erase(std::find(expected.begin(), expected.end(), 5 * kPage));
    CHECK(visited(w.space.root) == expected);
}

TEST_CASE("page table: randomized operations against a model")
{
    // Regions of 2 MiB: two sharing a PD, one in another PML4 slot, the last two 2 MiB of user
    // space (the very last holds kLastUserPage, so it takes no 2 MiB page).
    constexpr uint64_t kRegions[] = {0, kLarge, 0x0000400000000000, kUserEnd - 2 * kLarge, kUserEnd - kLarge};
    enum class Kind { none, table, large };
    struct Page {
        uint64_t phys, flags;
    };

    for (uint64_t seed : {1u, 2u, 3u}) {
        INFO("seed " << seed);
        XorShift rng{seed * 0x9e3779b97f4a7c15};
        World w;
        std::map<uint64_t, Page> model; // virt -> its translation
        std::map<uint64_t, Kind> kinds; // region -> what its PD entry holds
        for (int step = 0; step < 2000; ++step) {
            INFO("step " << step);
            uint64_t base = kRegions[rng.below(5)];
            uint64_t virt = base + (rng.chance(50) ? rng.below(8) : rng.below(512)) * kPage;
            uint64_t phys = (1 + rng.below(1000)) * kPage;
            uint64_t rights = kRead | (rng.chance(50) ? kWrite : 0) | (rng.chance(30) ? kExecute : 0);
            bool uncached = rng.chance(10);
            uint64_t flags = pte::present | pte::user | ((rights & kWrite) ? pte::writable : 0) |
                             ((rights & kExecute) ? 0 : pte::no_execute) | (uncached ? kUncached : 0);
            w.machine.fail_at = rng.chance(10) ? w.machine.allocations + 1 + rng.below(3) : 0;
            uint64_t failures = w.machine.failures;
            size_t flushes = w.machine.invalidations.size();
            Kind& kind = kinds[base];
            auto hit = [&] { return w.machine.failures != failures; };
            std::vector<Invalidation> flushed;

            switch (rng.below(4)) {
            case 0: { // map_user_page: writable and executable from the rights
                bool done = w.map(virt, phys, rights & kWrite, rights & kExecute);
                bool absent = model.count(virt) == 0;
                REQUIRE(done == (virt < kLastUserPage && absent && !hit()));
                if (done) {
                    model[virt] = {phys, flags & ~kUncached};
                    kind = Kind::table;
                } else if (virt < kLastUserPage && kind == Kind::large && !hit()) {
                    kind = Kind::table; // split on the way to the mapped page
                }
                break;
            }
            case 1: {
                bool done = w.install(virt, phys, rights, uncached);
                REQUIRE(done == (virt < kLastUserPage && !hit()));
                if (done) {
                    model[virt] = {phys, flags};
                    kind = Kind::table;
                    flushed.push_back({w.space.root, virt, 1});
                }
                break;
            }
            case 2: {
                uint64_t frame = (1 + rng.below(100)) * kLarge;
                bool done = w.install_large(base, frame, rights, uncached);
                REQUIRE(done == (base + kLarge <= kLastUserPage && kind != Kind::table && !hit()));
                if (done) {
                    for (uint64_t i = 0; i < 512; ++i)
                        model[base + i * kPage] = {frame + i * kPage, flags};
                    kind = Kind::large;
                    flushed.push_back({w.space.root, base, 512});
                }
                break;
            }
            default: {
                uint64_t frame = w.unmap(virt);
                auto page = model.find(virt);
                REQUIRE(frame == (page == model.end() ? 0 : page->second.phys));
                if (kind == Kind::large && hit()) { // no table for the split: all of it goes
                    for (uint64_t i = 0; i < 512; ++i)
                        model.erase(base + i * kPage);
                    kind = Kind::none;
                    flushed.push_back({w.space.root, base, 512});
                } else if (page != model.end()) {
                    model.erase(page);
                    kind = Kind::table;
                    flushed.push_back({w.space.root, virt, 1});
                }
                break;
            }
            }
            w.machine.fail_at = 0;

            REQUIRE(std::vector<Invalidation>(w.machine.invalidations.begin() + static_cast<long>(flushes),
                                              w.machine.invalidations.end()) == flushed);
            uint64_t wrong = 0; // pages of the region whose translation is not the model's
            for (uint64_t i = 0; i < 512; ++i) {
                auto page = model.find(base + i * kPage);
                Translation want =
                    page == model.end() ? Translation{0, 0} : Translation{page->second.phys, page->second.flags};
                wrong += !(w.at(base + i * kPage) == want);
            }
            REQUIRE(wrong == 0);
            std::vector<uint64_t> mapped;
            for (auto& [page_virt, page] : model)
                mapped.push_back(page_virt);
            REQUIRE(visited(w.space.root) == mapped);
            REQUIRE(w.charges_match());
            REQUIRE(w.machine.problems.empty());
        }
        // The walker looked at every allocation and invalidation (and the new space).
        CHECK(w.machine.walks == w.machine.allocations + w.machine.invalidations.size() + 1);
        w.machine.invalidations.clear();
    }
}
