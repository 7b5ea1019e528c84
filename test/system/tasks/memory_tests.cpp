// Memory: the boot information, sigma0's physical window, map and grant items in IPC. The
// unmap cases are in memory_unmap_tests.cpp, the pager cases in memory_pager_tests.cpp; what
// they share (set-up, probe threads, the server) is in memory_probe.hpp. Selectors 800-899.
#include "memory_probe.hpp"

using namespace kt;
using namespace kt::mem;

namespace {

bool starts_with(const char* s, const char* prefix)
{
    for (; *prefix != '\0'; ++s, ++prefix)
        if (*s != *prefix)
            return false;
    return true;
}

// The region holding physical address `phys`, or nullptr.
const abi::MemoryRegion* region_of(uint64_t phys)
{
    const abi::BootInfo& info = boot_info();
    for (uint64_t i = 0; i < info.region_count && i < abi::kMaxBootRegions; ++i)
        if (phys >= info.regions[i].base && phys - info.regions[i].base < info.regions[i].size)
            return &info.regions[i];
    return nullptr;
}

} // namespace

// Boot information ------------------------------------------------------------------------

KTEST(memory_boot_info_regions)
{
    const abi::BootInfo& info = boot_info();
    KEXPECT_EQ(info.magic, abi::kBootInfoMagic);
    KREQUIRE_EQ(info.region_count >= 1 && info.region_count <= abi::kMaxBootRegions, true);
    uint64_t free_regions = 0;
    for (uint64_t i = 0; i < info.region_count; ++i) {
        const abi::MemoryRegion& r = info.regions[i];
        KEXPECT_EQ(r.size > 0, true);
        KEXPECT_EQ(r.base + r.size > r.base, true); // no wrap
        uint32_t kind = static_cast<uint32_t>(r.kind);
        KEXPECT_EQ(kind >= 1 && kind <= 4, true);
        if (r.kind == abi::MemoryKind::free) {
            ++free_regions;
            KEXPECT_EQ(r.base % kPage, 0);
            KEXPECT_EQ(r.size % kPage, 0);
        }
        if (i > 0) { // ascending, non-overlapping
            const abi::MemoryRegion& prev = info.regions[i - 1];
            KEXPECT_EQ(r.base >= prev.base + prev.size, true);
        }
    }
    KEXPECT_EQ(free_regions >= 1, true);
    // The pages these tests use lie in the highest free region.
    const abi::MemoryRegion* top = highest_free();
    KREQUIRE_EQ(top != nullptr, true);
    KEXPECT_EQ(top->size >= 0x100000, true);
    KEXPECT_EQ(phys_page(63) >= top->base, true);
    KEXPECT_EQ(phys_page(35) % 0x4000, 0);
}

KTEST(memory_boot_info_modules)
{
    const abi::BootInfo& info = boot_info();
    KREQUIRE_EQ(info.module_count >= 1 && info.module_count <= abi::kMaxBootModules, true);
    uint64_t ktest_modules = 0;
    for (uint64_t i = 0; i < info.module_count; ++i) {
        const abi::BootModule& m = info.modules[i];
        bool terminated = false;
        for (char c : m.cmdline)
            terminated = terminated || c == '\0';
        KEXPECT_EQ(terminated, true);
        KEXPECT_EQ(m.size > 0, true);
        // Its data lies in a module region.
        const abi::MemoryRegion* r = region_of(m.base);
        KREQUIRE_EQ(r != nullptr, true);
        KEXPECT_EQ(static_cast<uint32_t>(r->kind), static_cast<uint32_t>(abi::MemoryKind::module));
        KEXPECT_EQ(m.base + m.size <= r->base + r->size, true);
        if (terminated && starts_with(m.cmdline, "ktest"))
            ++ktest_modules;
    }
    KEXPECT_EQ(ktest_modules >= 1, true);
    KEXPECT_EQ(starts_with(info.modules[0].cmdline, "ktest"), true); // we are sigma0
    bool terminated = false;
    for (char c : info.cmdline)
        terminated = terminated || c == '\0';
    KEXPECT_EQ(terminated, true);
}

KTEST(memory_boot_info_is_read_only)
{
    Case c(kNoTargets, 0);
    if (!c.ok)
        return;
    EXPECT_WRITE_FAULT(abi::kBootInfoAddress + 0x10);
    KEXPECT_EQ(boot_info().magic, abi::kBootInfoMagic);
    KEXPECT_EQ(boot_info().module_count >= 1, true);
}

// sigma0's window ---------------------------------------------------------------------------

KTEST(memory_sigma0_window_write_read_back)
{
    Case c(kNoTargets, 0);
    if (!c.ok)
        return;
    uint64_t a = window(0);
    KREQUIRE_EQ(region_of(phys_page(0)) != nullptr, true);
    FILL(a, 0x5150'0000'0000'0000);
    EXPECT_PAGE(a, 0x5150'0000'0000'0000);
    EXPECT_READS(a + 0x7f8, 0x5150'0000'0000'0000 + 0xff);
    EXPECT_WRITES(a + 0x100, 0x1234);
    EXPECT_READS(a + 0x100, 0x1234);
}

// Physical pages the boot information lists nowhere (low memory, the kernel image): no frame.
KTEST(memory_sigma0_window_unlisted_page_faults)
{
    Case c(kNoTargets, 0);
    if (!c.ok)
        return;
    const uint64_t unlisted[] = {0x0, 0x200000};
    for (uint64_t phys : unlisted) {
        KREQUIRE_EQ(region_of(phys) == nullptr, true);
        EXPECT_READ_FAULT(abi::kSigma0Window + phys + 0x18);
    }
}

// Map and grant in IPC -----------------------------------------------------------------------

MEMORY_TEST(memory_map_within_task, 1, 1, 0xa110'0000)
{
    map_page(a, b, b + 0x10);
    KEXPECT_EQ(server.value, 0xa110'0000 + 2);
    EXPECT_PAGE(b, 0xa110'0000);
    EXPECT_PAGE(a, 0xa110'0000); // map: we keep it
    // One frame: a write through either shows at the other.
    EXPECT_SHARED(b + 0x20, a + 0x20, 0xbbbb);
    EXPECT_SHARED(a + 0x28, b + 0x28, 0xaaaa);
}

MEMORY_TEST(memory_map_needs_grant_right, 2, 2, 0x92a0'0000)
{
    KREQUIRE_EQ(l4::cap_copy(kEndpoint, kNoGrant, rights::send | rights::receive), Error::ok);
    KREQUIRE_EQ(start_server(window_at(b).raw), Error::ok);
    set_item(0, page_at(a));
    KEXPECT_EQ(send_pages(kNoGrant, 0x50, 1), Error::missing_rights);
    KEXPECT_EQ(send_pages(kNoGrant, 0x51, 0), Error::ok); // without pages it may send
    KEXPECT_EQ(finish_server(), true);
    expect_server(0x51, 0);
    EXPECT_READ_FAULT(b);
}

MEMORY_TEST(memory_map_malformed_items, 3, 3, 0x3a10'0000)
{
    KREQUIRE_EQ(start_server(Flexpage::make(b, 16, page_rights::all).raw), Error::ok);
    const Flexpage bad[] = {
        Flexpage::make(b + 0x1000, 13, kRw),                        // base not aligned to its size
        Flexpage::make(0x20000000, 23, kRw),                        // 8 MiB: more than an item may carry
        Flexpage::make(b, 11, kRw),                                 // smaller than a page
        Flexpage::make(kKernelAddress & ~uint64_t{0xfff}, 12, kRw), // not in the lower half
    };
    for (Flexpage page : bad) {
        set_item(0, page_at(a)); // a good item first: nothing of it moves
        set_item(1, page);
        KEXPECT_EQ(send_pages(kEndpoint, 0x60, 2), Error::invalid_argument);
    }
    for (uint64_t i = 0; i < abi::kMaxMapItems; ++i)
        set_item(i, page_at(a));
    KEXPECT_EQ(send_pages(kEndpoint, 0x61, 5), Error::invalid_argument); // more than 4 items
    KEXPECT_EQ(send_pages(kEndpoint, 0x62, 0), Error::ok);
    KEXPECT_EQ(finish_server(), true);
    expect_server(0x62, 0);
    EXPECT_READ_FAULT(b);
}

// Pages the sender does not hold are skipped; a receiver without a window takes none.
MEMORY_TEST(memory_map_unheld_page_or_no_window, 4, 4, 0)
{
    uint64_t unheld = b + 0x80000;
    EXPECT_READ_FAULT(unheld);
    expect_mapped(page_at(unheld), window_at(b), 0);
    EXPECT_READ_FAULT(b);
    FILL(a, 0x4a10'0000);
    expect_mapped(page_at(a), Flexpage{0}, 0);
    EXPECT_READ_FAULT(b);
}

// An item lands at the window's base + hotspot modulo the window's size, rounded down to the
// item's size.
MEMORY_TEST(memory_map_hotspot_places_item, 5, 5, 0x5a10'0000)
{
    // 64 KiB window; hotspot 0x7'2345 -> 0x2345 in it -> page 0x2000.
    expect_mapped(page_at(a), Flexpage::make(b, 16, page_rights::all), 1, b + 0x2008, 0x72345);
    KEXPECT_EQ(server.value, 0x5a10'0000 + 1);
    EXPECT_PAGE(b + 0x2000, 0x5a10'0000);
    EXPECT_READ_FAULT(b);
    EXPECT_READ_FAULT(b + 0x3000);
}

// An item larger than the window is dropped; with a window of its size it arrives whole.
MEMORY_TEST(memory_map_item_larger_than_window_dropped, 39, 6, 0)
{
    uint64_t pair = a; // pages 39 and 38: 8 KiB, aligned
    KREQUIRE_EQ(phys_page(39) % 0x2000, 0);
    KREQUIRE_EQ(phys_page(38), phys_page(39) + kPage);
    FILL(pair, 0x6a10'0000);
    FILL(pair + kPage, 0x6b10'0000);
    expect_mapped(Flexpage::make(pair, 13, kRw), window_at(b), 0);
    EXPECT_READ_FAULT(b);
    expect_mapped(Flexpage::make(pair, 13, kRw), Flexpage::make(b, 13, page_rights::all), 2);
    EXPECT_PAGE(b, 0x6a10'0000);
    EXPECT_PAGE(b + kPage, 0x6b10'0000);
}

// Pages of the window the kernel uses itself (boot information, UTCBs) are never replaced.
KTEST(memory_map_skips_kernel_pages)
{
    Case c; // no targets; it clears the map items at the end
    if (!c.ok)
        return;
    uint64_t a = window(6);
    FILL(a, 0x6c10'0000);
    expect_mapped(page_at(a), window_at(abi::kBootInfoAddress), 0);
    KEXPECT_EQ(boot_info().magic, abi::kBootInfoMagic);
    uint64_t own_utcb = reinterpret_cast<uint64_t>(l4::utcb()) & ~(kPage - 1);
    expect_mapped(page_at(a), window_at(own_utcb), 0);
    KEXPECT_EQ(l4::utcb()->self, reinterpret_cast<uint64_t>(l4::utcb()));
}

// Rights = item & window & held: a read-only mapping stays read-only, whatever is asked.
MEMORY_TEST(memory_map_rights_only_shrink, 7, 7, 0x7a10'0000)
{
    const struct {
        Flexpage page, receive_window;
        uint64_t word; // read there, at 8 * word
    } steps[] = {
        {page_at(a, page_rights::read), window_at(b), 1},
        {page_at(b), window_at(d), 2},                            // from the read-only mapping
        {page_at(a), page_at(b + 0x20000, page_rights::read), 3}, // a read-only window
    };
    for (const auto& step : steps) {
        expect_mapped(step.page, step.receive_window, 1);
        EXPECT_READ_ONLY(step.receive_window.base() + 8 * step.word, 0x7a10'0000 + step.word);
    }
    EXPECT_SHARED(a + 32, b + 32, 0x7777); // the source keeps its rights
}

// A page already mapped at the target is replaced, and what was derived from it goes.
MEMORY_TEST(memory_map_replaces_target, 15, 17, 0x1a10'0000)
{
    uint64_t a2 = window(16);
    FILL(a2, 0x2a20'0000);
    map_page(a, b);
    map_page(b, d);
    EXPECT_PAGE(d, 0x1a10'0000);
    map_page(a2, b, b);
    KEXPECT_EQ(server.value, 0x2a20'0000);
    EXPECT_PAGE(b, 0x2a20'0000);
    EXPECT_READ_FAULT(d);
    EXPECT_PAGE(a, 0x1a10'0000);
    EXPECT_PAGE(a2, 0x2a20'0000);
}

// Execute is a right of its own: without it an instruction fetch faults (NX).
MEMORY_TEST(memory_map_execute_right, 17, 18, 0)
{
    // movabs $kt_mt_finish, %rax; jmp *%rax
    uint64_t finish = address(kt_mt_finish);
    KREQUIRE_EQ(finish >> 48, 0);
    EXPECT_WRITES(a, 0xb848 | (finish << 16));
    EXPECT_WRITES(a + 8, (finish >> 48) | (uint64_t{0xe0ff} << 16));
    map_page(a, b);
    expect_mapped(page_at(a, page_rights::all), window_at(d), 1);
    kt_mt_done = 0;
    expect_probe(run_probe(reinterpret_cast<ThreadBody>(b)), page_fault(b, 0x15, b), __LINE__); // fetch, present
    kt_mt_done = 0;
    expect_probe(run_probe(reinterpret_cast<ThreadBody>(d)), finished(), __LINE__);
}

// Grant moves the mapping: the source loses it, the target has the data, and it stays
// derived from where it came from.
MEMORY_TEST(memory_grant_moves_mapping, 8, 8, 0x8a10'0000)
{
    if (!map_page(a, b))
        return;
    expect_mapped(page_at(b), window_at(d), 1, d, 0, 1);
    KEXPECT_EQ(server.value, 0x8a10'0000);
    EXPECT_READ_FAULT(b);
    EXPECT_PAGE(d, 0x8a10'0000);
    EXPECT_SHARED(d + 8, a + 8, 0x8888);
    // Unmapping the page it was derived from takes it too.
    KEXPECT_EQ(memory_unmap(window_at(a), 0), Error::ok);
    EXPECT_READ_FAULT(d);
    EXPECT_READS(a + 8, 0x8888);
}
