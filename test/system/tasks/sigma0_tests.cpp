// The sigma0 protocol from the root task's side (docs/sigma0.md): allocation without
// duplicates, physical mappings of modules, refusals, the memory map, demand paging.
#include "helpers.hpp"
#include "ktest.hpp"
#include "l4/abi/boot.hpp"
#include "l4/abi/boot_info.hpp"
#include "l4/abi/sigma0.hpp"
#include "l4/syscall.hpp"

namespace {

namespace abi = l4::abi;
using abi::Error;
using abi::sigma0::Request;

constexpr l4::Selector kSigma0 = abi::boot::kSigma0EndpointSelector;
constexpr uint64_t kArena = 0x0000100000000000; // where allocated memory is received
constexpr uint64_t kPage = 4096;
constexpr uint64_t kRequests = 10000;

uint64_t arena_next = kArena;
uint64_t stamped_pages[(kRequests * 8 * 2) / 64]; // bitmap over the arena: pages we mapped

void mark(uint64_t address)
{
    uint64_t page = (address - kArena) / kPage;
    stamped_pages[page / 64] |= uint64_t{1} << (page % 64);
}

bool marked(uint64_t address)
{
    uint64_t page = (address - kArena) / kPage;
    return stamped_pages[page / 64] & (uint64_t{1} << (page % 64));
}

// One request; the reply's label (an Error) and the pages it mapped into `window`.
Error request(Request what, uint64_t a, uint64_t b, uint64_t window_base, uint64_t window_order, uint64_t& pages,
              l4::Message& m)
{
    l4::utcb()->receive_window = abi::Flexpage::make(window_base, window_order, abi::page_rights::all).raw;
    m = l4::Message{};
    m.tag = abi::MessageTag::make(static_cast<uint64_t>(what), 2);
    m.words[0] = a;
    m.words[1] = b;
    Error e = l4::call(kSigma0, m);
    pages = l4::utcb()->received_pages;
    l4::utcb()->receive_window = 0;
    return e == Error::ok ? static_cast<Error>(m.tag.label()) : e;
}

const abi::BootInfo& boot_info() { return *reinterpret_cast<const abi::BootInfo*>(abi::kBootInfoAddress); }

} // namespace

// Mixed sizes and alignments; every page gets a distinct stamp, and at the end every stamp
// is still there: no frame was handed out twice.
KTEST(sigma0_never_hands_out_a_page_twice)
{
    uint64_t stamped = 0, refused = 0;
    uint64_t state = 0x2545f4914f6cdd1d;
    uint64_t start = arena_next;
    for (uint64_t i = 0; i < kRequests; ++i) {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        uint64_t order = 12u + (state % 8 == 0 ? 2u : state % 4 == 0 ? 1u : 0u);
        uint64_t size = uint64_t{1} << order;
        arena_next = (arena_next + size - 1) & ~(size - 1);
        uint64_t pages = 0;
        l4::Message m;
        Error e = request(Request::allocate, order, order, arena_next, order, pages, m);
        if (e != Error::ok) {
            ++refused;
            continue;
        }
        KEXPECT_EQ(pages, size / kPage);
        for (uint64_t p = 0; p < size; p += kPage) {
            *reinterpret_cast<volatile uint64_t*>(arena_next + p) = arena_next + p;
            mark(arena_next + p);
        }
        stamped += size / kPage;
        arena_next += size;
    }
    KEXPECT_EQ(refused, 0);
    uint64_t intact = 0;
    for (uint64_t a = start; a < arena_next; a += kPage)
        if (marked(a)) // alignment gaps were never mapped
            intact += *reinterpret_cast<volatile uint64_t*>(a) == a ? 1u : 0u;
    KEXPECT_EQ(intact, stamped);
}

KTEST(sigma0_refuses_malformed_requests)
{
    uint64_t pages = 0;
    l4::Message m;
    KEXPECT_EQ(request(Request::allocate, 11, 11, kArena, 30, pages, m), Error::invalid_argument);
    KEXPECT_EQ(request(Request::allocate, 23, 23, kArena, 30, pages, m), Error::invalid_argument);
    KEXPECT_EQ(request(static_cast<Request>(77), 0, 0, kArena, 30, pages, m), Error::invalid_argument);
    KEXPECT_EQ(pages, 0);
    // Physical mappings: never free memory, never unaligned, never past a region.
    const abi::BootInfo& info = boot_info();
    uint64_t free_base = 0;
    for (uint64_t i = 0; i < info.region_count; ++i)
        if (info.regions[i].kind == abi::MemoryKind::free)
            free_base = info.regions[i].base;
    KEXPECT_EQ(request(Request::map_physical, free_base, 12, kArena, 30, pages, m), Error::missing_rights);
    KEXPECT_EQ(request(Request::map_physical, 0x1234, 12, kArena, 30, pages, m), Error::invalid_argument);
    KEXPECT_EQ(request(Request::map_physical, 0x200000, 12, kArena, 30, pages, m), Error::missing_rights);
}

// The root task reads its own boot module (this program) through sigma0: an ELF header.
KTEST(sigma0_maps_module_data)
{
    const abi::BootInfo& info = boot_info();
    KREQUIRE_EQ(info.magic, abi::kBootInfoMagic);
    KREQUIRE_EQ(info.module_count >= 2, true);
    const abi::BootModule& self = info.modules[1];
    uint64_t phys = self.base & ~(kPage - 1);
    uint64_t window = 0x0000200000000000;
    uint64_t pages = 0;
    l4::Message m;
    KEXPECT_EQ(request(Request::map_physical, phys, 12, window, 12, pages, m), Error::ok);
    KEXPECT_EQ(pages, 1);
    const auto* bytes = reinterpret_cast<const volatile uint8_t*>(window + (self.base - phys));
    KEXPECT_EQ(bytes[0], 0x7f);
    KEXPECT_EQ(bytes[1], 'E');
    KEXPECT_EQ(bytes[2], 'L');
    KEXPECT_EQ(bytes[3], 'F');
}

KTEST(sigma0_memory_map_matches_boot_info)
{
    l4::Message m;
    m.tag = abi::MessageTag::make(static_cast<uint64_t>(Request::memory_map), 0);
    KREQUIRE_EQ(l4::call(kSigma0, m), Error::ok);
    KEXPECT_EQ(m.tag.label(), 0);
    const abi::BootInfo& info = boot_info();
    uint64_t expected =
        info.region_count < abi::sigma0::kMemoryMapEntries ? info.region_count : abi::sigma0::kMemoryMapEntries;
    KEXPECT_EQ(m.words[0], expected);
    KEXPECT_EQ(m.tag.words(), 1 + 3 * expected);
    KEXPECT_EQ(m.words[1], info.regions[0].base);
    KEXPECT_EQ(m.words[2], info.regions[0].size);
}

// Touching memory nobody mapped: sigma0, the root task's pager, supplies a zeroed page.
KTEST(root_task_is_demand_paged)
{
    auto* fresh = reinterpret_cast<volatile uint64_t*>(0x0000300000000000);
    KEXPECT_EQ(fresh[0], 0);
    fresh[1] = 0xfeed;
    KEXPECT_EQ(fresh[1], 0xfeed);
    auto* next = reinterpret_cast<volatile uint64_t*>(0x0000300000001000);
    next[0] = 7;
    KEXPECT_EQ(next[0] + fresh[1], 0xfeed + 7);
}
