// Memory: a whole, aligned 2 MiB of contiguous frames arrives as one 2 MiB page, and a later
// unmap of one 4 KiB page in it splits it (the kernel logs the 2 MiB page at debug level).
// Selectors 800-899 (memory_probe.hpp).
#include "memory_probe.hpp"

using namespace kt;
using namespace kt::mem;

namespace {

constexpr uint64_t kLarge = 2 * 1024 * 1024;
constexpr uint64_t kLargeTarget = 0x80000000; // 2 MiB aligned, apart from every other test's

} // namespace

KTEST(memory_map_2mib_as_one_large_page)
{
    Case c;
    if (!c.ok)
        return;
    // 2 MiB of free memory, 2 MiB aligned, well below the pages the other tests use (16 MiB
    // below the top of a region that has them, and a 2 MiB boundary).
    const abi::MemoryRegion* region = highest_free(8 * kLarge + kLarge);
    KREQUIRE_EQ(region != nullptr, true);
    uint64_t phys = (region->base + region->size - 8 * kLarge) & ~(kLarge - 1);
    KREQUIRE_EQ(phys >= region->base, true);
    uint64_t source = abi::kSigma0Window + phys;
    auto word = [](uint64_t address) { return reinterpret_cast<volatile uint64_t*>(address); };
    *word(source) = 0x1a;
    *word(source + 199 * 4096) = 0x199;
    *word(source + 200 * 4096) = 0x200;
    *word(source + 201 * 4096) = 0x201;
    *word(source + kLarge - 8) = 0x1e;

    KREQUIRE_EQ(expect_mapped(Flexpage::make(source, 21, kRw), Flexpage::make(kLargeTarget, 21, page_rights::all), 512),
                true);
    EXPECT_READS(kLargeTarget, 0x1a);
    EXPECT_READS(kLargeTarget + 200 * 4096, 0x200);
    EXPECT_READS(kLargeTarget + kLarge - 8, 0x1e);
    EXPECT_WRITES(kLargeTarget + 8, 0x2b);
    KEXPECT_EQ(*word(source + 8), 0x2b); // one frame, two addresses

    // Unmapping one page of the source takes exactly that page of the 2 MiB one.
    KEXPECT_EQ(memory_unmap(Flexpage::make(source + 200 * 4096, 12, page_rights::all), 0), Error::ok);
    EXPECT_READ_FAULT(kLargeTarget + 200 * 4096);
    EXPECT_READS(kLargeTarget + 199 * 4096, 0x199);
    EXPECT_READS(kLargeTarget + 201 * 4096, 0x201);
    EXPECT_READS(kLargeTarget, 0x1a);

    // Taking write from the rest leaves it readable only.
    KEXPECT_EQ(memory_unmap(Flexpage::make(source, 21, page_rights::write), 0), Error::ok);
    EXPECT_READS(kLargeTarget + kLarge - 8, 0x1e);
    EXPECT_WRITE_FAULT(kLargeTarget + 16);
    KEXPECT_EQ(memory_unmap(Flexpage::make(kLargeTarget, 21, page_rights::all), 1), Error::ok);
    EXPECT_READ_FAULT(kLargeTarget);
}

namespace {

constexpr Selector kHog = 830, kHogScratch = 831; // a sub-factory holding the rest of our quota

// Moves all of the boot factory's remaining quota into a sub-factory at kHog.
Error take_all_quota()
{
    return l4::factory_create(kFactory, ObjectKind::factory, kHog, available(kFactory, kHogScratch));
}

} // namespace

// A mapping costs the receiver's quota: with none left, a map item does not arrive; with the
// quota back, the same item does.
KTEST(memory_mappings_are_charged_to_the_quota)
{
    Case c(42);
    if (!c.ok)
        return;
    uint64_t a = window(60), b = target(42);
    FILL(a, 0x42a0'0000);
    KREQUIRE_EQ(start_server(window_at(b).raw), Error::ok); // threads first: they cost quota too
    KREQUIRE_EQ(take_all_quota(), Error::ok);
    set_item(0, page_at(a), 0, 0);
    KEXPECT_EQ(send_pages(kEndpoint, 0x4d, 1), Error::ok);
    KEXPECT_EQ(finish_server(), true);
    KEXPECT_EQ(server.received_pages, 0);
    EXPECT_READ_FAULT(b);
    KEXPECT_EQ(l4::cap_delete(kHog), Error::ok);
    KEXPECT_EQ(map_page(a, b, b), true);
    KEXPECT_EQ(server.received_pages, 1);
    KEXPECT_EQ(server.value, 0x42a0'0000);
}
