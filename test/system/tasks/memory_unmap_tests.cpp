// Memory: unmap, of what was mapped or granted and of sigma0's own window pages (set-up and
// probes in memory_probe.hpp). Selectors 800-899.
#include "memory_probe.hpp"

using namespace kt;
using namespace kt::mem;

// A -> B -> C: unmapping A takes B and C (recursively), A stays.
MEMORY_TEST(memory_unmap_recursive, 9, 9, 0x9a10'0000)
{
    map_page(a, b);
    map_page(b, d);
    EXPECT_PAGE(d, 0x9a10'0000);
    KEXPECT_EQ(memory_unmap(window_at(a), 0), Error::ok);
    EXPECT_READ_FAULT(b);
    EXPECT_READ_FAULT(d);
    EXPECT_PAGE(a, 0x9a10'0000);
    // Again from the middle: B's unmap takes C, keeps B.
    map_page(a, b);
    map_page(b, d);
    KEXPECT_EQ(memory_unmap(window_at(b), 0), Error::ok);
    EXPECT_READ_FAULT(d);
    EXPECT_PAGE(b, 0x9a10'0000);
    EXPECT_PAGE(a, 0x9a10'0000);
}

// With self = 1 the window page itself goes too; touching it again maps the frame anew
// (sigma0's fault on free memory), with its data: the frame was never freed.
MEMORY_TEST(memory_unmap_self_window_page_maps_anew, 10, 10, 0xaa10'0000)
{
    map_page(a, b);
    KEXPECT_EQ(memory_unmap(window_at(a), 1), Error::ok);
    EXPECT_READ_FAULT(b);
    EXPECT_PAGE(a, 0xaa10'0000);
    // A root again: it maps as before.
    map_page(a, d, d);
    KEXPECT_EQ(server.value, 0xaa10'0000);
}

// Taking write with self = 1: the window page and what was derived from it become read-only.
MEMORY_TEST(memory_unmap_self_write_window_page, 11, 11, 0xab10'0000)
{
    map_page(a, b);
    KEXPECT_EQ(memory_unmap(page_at(a, page_rights::write), 1), Error::ok);
    EXPECT_READ_ONLY(a + 0x40, 0xab10'0000 + 8);
    EXPECT_READ_ONLY(b + 0x40, 0xab10'0000 + 8);
}

// Unmapping 4 KiB of a 16 KiB mapping takes exactly that page of the target.
MEMORY_TEST(memory_unmap_part_of_large_flexpage, 35, 12, 0)
{
    uint64_t w = a, t = b; // pages 35, 34, 33, 32: 16 KiB, aligned
    KREQUIRE_EQ(phys_page(35) % 0x4000, 0);
    KREQUIRE_EQ(phys_page(32), phys_page(35) + 3 * kPage);
    for (uint64_t i = 0; i < 4; ++i)
        FILL(w + i * kPage, 0xc000'0000 + i * 0x10000);
    expect_mapped(Flexpage::make(w, 14, kRw), Flexpage::make(t, 14, page_rights::all), 4);
    for (uint64_t i = 0; i < 4; ++i)
        EXPECT_READS(t + i * kPage, 0xc000'0000 + i * 0x10000);
    KEXPECT_EQ(memory_unmap(window_at(w + kPage), 0), Error::ok);
    for (uint64_t i = 0; i < 4; ++i) { // all but page 1 stay
        if (i == 1)
            EXPECT_READ_FAULT(t + kPage);
        else
            EXPECT_READS(t + i * kPage, 0xc000'0000 + i * 0x10000);
    }
    EXPECT_READS(w + kPage, 0xc000'0000 + 0x10000);
}

// Taking only write leaves the derived mapping readable; the source keeps write.
MEMORY_TEST(memory_unmap_write_only, 12, 13, 0xd010'0000)
{
    map_page(a, b);
    EXPECT_WRITES(b + 8, 0xd0d0);
    KEXPECT_EQ(memory_unmap(page_at(a, page_rights::write), 0), Error::ok);
    EXPECT_READ_ONLY(b + 8, 0xd0d0);
    EXPECT_SHARED(a + 16, b + 16, 0xd1d1);
}

KTEST(memory_unmap_bad_arguments)
{
    Targets targets(14);
    uint64_t t = target(14);
    const struct {
        Flexpage page;
        uint64_t self;
        Error error;
    } cases[] = {
        {window_at(t), 2, Error::invalid_argument},
        {window_at(t), ~uint64_t{0}, Error::invalid_argument},
        {Flexpage::make(0, 31, page_rights::all), 0, Error::invalid_argument}, // > 1 GiB
        {Flexpage::make(t + kPage, 13, page_rights::all), 0, Error::invalid_argument},
        {Flexpage::make(t, 11, page_rights::all), 0, Error::invalid_argument},
        {window_at(kKernelAddress & ~uint64_t{0xfff}), 0, Error::invalid_argument},
        // Well-formed: fine even where nothing is mapped, up to 1 GiB.
        {window_at(t), 0, Error::ok},
        {window_at(t), 1, Error::ok},
        {Flexpage::make(0x40000000, 30, page_rights::all), 0, Error::ok},
    };
    for (const auto& c : cases)
        KEXPECT_EQ(memory_unmap(c.page, c.self), c.error);
}
