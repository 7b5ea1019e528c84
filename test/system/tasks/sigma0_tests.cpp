// The sigma0 protocol from the root task's side (docs/sigma0.md): allocation without
// duplicates, physical mappings of modules, refusals, the memory map, demand paging, I/O ports
// and interrupt lines (selectors 470-479).
#include "helpers.hpp"
#include "ktest.hpp"
#include "l4/abi/boot.hpp"
#include "l4/abi/boot_info.hpp"
#include "l4/abi/sigma0.hpp"
#include "l4/sigma0.hpp"
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

// One request of `words` words (a, b) with that receive window and slot (both cleared again
// afterwards); the reply's label (an Error).
Error exchange(Request what, uint64_t words, uint64_t a, uint64_t b, uint64_t window, l4::Selector slot, l4::Message& m)
{
    abi::Utcb* u = l4::utcb();
    u->receive_window = window;
    u->receive_slot = slot;
    m = l4::Message{};
    m.tag = abi::MessageTag::make(static_cast<uint64_t>(what), words);
    m.words[0] = a;
    m.words[1] = b;
    Error e = l4::call(kSigma0, m);
    u->receive_window = 0;
    u->receive_slot = abi::kNoReceiveSlot;
    return e == Error::ok ? static_cast<Error>(m.tag.label()) : e;
}

// One request for memory; the reply's label and the pages it mapped into `window`.
Error request(Request what, uint64_t a, uint64_t b, uint64_t window_base, uint64_t window_order, uint64_t& pages,
              l4::Message& m)
{
    Error e = exchange(what, 2, a, b, abi::Flexpage::make(window_base, window_order, abi::page_rights::all).raw,
                       abi::kNoReceiveSlot, m);
    pages = l4::utcb()->received_pages;
    return e;
}

// One request for a capability, received at `into`; the reply's label and how many arrived.
Error request_cap(Request what, uint64_t words, uint64_t a, uint64_t b, l4::Selector into, uint64_t& caps)
{
    l4::Message m;
    Error e = exchange(what, words, a, b, 0, into, m);
    caps = l4::utcb()->received_caps;
    return e;
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

// Threads that touch a port just outside COM1's; each stays stopped at its fault.
extern "C" {
extern char kt_s0_outb[], kt_s0_outb_at[], kt_s0_inb[], kt_s0_inb_at[];
}
asm(R"(
    .text
kt_s0_outb:
    mov $0x400, %edx
    mov $0x5a, %al
kt_s0_outb_at:
    outb %al, %dx
    ud2
kt_s0_inb:
    mov $0x3f7, %edx
kt_s0_inb_at:
    inb %dx, %al
    ud2
)");

namespace {

using abi::ObjectKind;

constexpr l4::Selector kCom1Ports = 470, kMorePorts = 471, kAllPorts = 472, kSubrange = 473, kCom1Irq = 474,
                       kIrqAgain = 475, kIrqNote = 476, kHandler = 477, kVictim = 478, kScratch = 479;
constexpr uint16_t kCom1 = 0x3f8, kCom1Count = 8;
constexpr uint16_t kInterruptEnable = 1, kInterruptId = 2, kLineStatus = 5;
constexpr uint8_t kTransmitterIdle = 0x60;        // LSR: holding register empty, transmitter empty
constexpr uint8_t kHoldingEmptyInterrupt = 0x02;  // IER: that interrupt on
constexpr uint8_t kHoldingEmptyIdentified = 0xc2; // IIR: FIFOs on, "holding register empty" pending
constexpr uint64_t kCom1Line = 4;
constexpr uint64_t kGeneralProtection = 13;

uint8_t inb(uint16_t port)
{
    uint8_t value;
    asm volatile("inb %1, %0" : "=a"(value) : "Nd"(port));
    return value;
}

void outb(uint16_t port, uint8_t value) { asm volatile("outb %0, %1" ::"a"(value), "Nd"(port)); }

// A port capability of `count` ports from `first` made out of `source` at kScratch (then gone):
// the kernel refuses one that `source` does not cover.
Error subrange(l4::Selector source, uint64_t first, uint64_t count)
{
    Error e = l4::factory_create(kt::kFactory, ObjectKind::io_ports, kScratch, source, first | count << 16);
    (void)l4::cap_delete(kScratch);
    return e;
}

// A thread of ours at `code` whose exceptions go to kHandler (its page faults to sigma0): the
// vector, error code and rip of its first exception; it stays stopped there and is deleted.
bool first_exception(const char* code, abi::ExceptionState& s)
{
    KREQUIRE_EQ_OR(kt::make(kHandler, ObjectKind::endpoint), Error::ok, false);
    KREQUIRE_EQ_OR(kt::create_thread(kVictim), Error::ok, false);
    KREQUIRE_EQ_OR(l4::thread_control(kVictim, abi::ThreadOp::set_exception_handler, kHandler), Error::ok, false);
    KREQUIRE_EQ_OR(l4::thread_control(kVictim, abi::ThreadOp::set_pager, kSigma0), Error::ok, false);
    KREQUIRE_EQ_OR(kt::start_thread(kVictim, reinterpret_cast<kt::ThreadBody>(const_cast<char*>(code))), Error::ok,
                   false);
    l4::Message m;
    KREQUIRE_EQ_OR(kt::receive_polled(kHandler, m), Error::ok, false);
    KEXPECT_EQ(m.tag.label(), abi::label::exception);
    kt::gather_words(m);
    s = kt::utcb_state();
    l4::Message stop;
    stop.tag = abi::MessageTag::make(0x77, 0); // not a resume label: the thread stays stopped
    KEXPECT_EQ(l4::reply(stop), Error::ok);
    KEXPECT_EQ(kt::release_slot(kVictim), Error::ok);
    KEXPECT_EQ(kt::release_slot(kHandler), Error::ok);
    return true;
}

} // namespace

// The capability covers COM1's eight ports, not one more, and has every right: it enables them,
// and the UART answers (idle under QEMU: bits 5 and 6 of the line status register).
KTEST(sigma0_io_ports_grants_exactly_the_range)
{
    kt::Slots slots(470, 480);
    KREQUIRE_EQ(l4::sigma0::io_ports(kCom1, kCom1Count, kCom1Ports), Error::ok);
    KEXPECT_EQ(subrange(kCom1Ports, kCom1, kCom1Count), Error::ok);
    KEXPECT_EQ(subrange(kCom1Ports, kCom1 - 1, 1), Error::invalid_argument);
    KEXPECT_EQ(subrange(kCom1Ports, kCom1 + kCom1Count - 1, 2), Error::invalid_argument);
    KREQUIRE_EQ(l4::ioport_enable(kCom1Ports), Error::ok);
    KEXPECT_EQ(kt::wait_until([] { return (inb(kCom1 + kLineStatus) & kTransmitterIdle) == kTransmitterIdle; }), true);
}

// Ports just past either end of the range stay closed: #GP, error code 0, at the access.
KTEST(sigma0_io_ports_outside_the_range_fault)
{
    kt::Slots slots(470, 480);
    KREQUIRE_EQ(l4::sigma0::io_ports(kCom1, kCom1Count, kCom1Ports), Error::ok);
    KREQUIRE_EQ(l4::ioport_enable(kCom1Ports), Error::ok);
    const char* code[] = {kt_s0_outb, kt_s0_inb};
    const char* at[] = {kt_s0_outb_at, kt_s0_inb_at};
    for (int i = 0; i < 2; ++i) {
        abi::ExceptionState s{};
        KREQUIRE_EQ(first_exception(code[i], s), true);
        KEXPECT_EQ(s.vector, kGeneralProtection);
        KEXPECT_EQ(s.error_code, 0);
        KEXPECT_EQ(s.rip, reinterpret_cast<uint64_t>(at[i]));
    }
}

KTEST(sigma0_io_ports_refuses_bad_ranges)
{
    kt::Slots slots(470, 480);
    uint64_t caps = 7;
    KEXPECT_EQ(request_cap(Request::io_ports, 2, kCom1, 0, kMorePorts, caps), Error::invalid_argument);
    KEXPECT_EQ(request_cap(Request::io_ports, 2, 0, 65537, kMorePorts, caps), Error::invalid_argument);
    KEXPECT_EQ(request_cap(Request::io_ports, 2, 0xffff, 2, kMorePorts, caps), Error::invalid_argument);
    KEXPECT_EQ(request_cap(Request::io_ports, 2, 0x10000, 1, kMorePorts, caps), Error::invalid_argument);
    KEXPECT_EQ(request_cap(Request::io_ports, 2, ~uint64_t{0}, 2, kMorePorts, caps), Error::invalid_argument);
    KEXPECT_EQ(request_cap(Request::io_ports, 1, kCom1, kCom1Count, kMorePorts, caps), Error::invalid_argument);
    KEXPECT_EQ(caps, 0);
    // The edges: the last port alone; all 65,536 ports.
    KEXPECT_EQ(request_cap(Request::io_ports, 2, 0xffff, 1, kMorePorts, caps), Error::ok);
    KEXPECT_EQ(caps, 1);
    KEXPECT_EQ(subrange(kMorePorts, 0xffff, 1), Error::ok);
    KEXPECT_EQ(subrange(kMorePorts, 0xfffe, 1), Error::invalid_argument);
    KEXPECT_EQ(request_cap(Request::io_ports, 2, 0, 65536, kAllPorts, caps), Error::ok);
    KEXPECT_EQ(caps, 1);
    KEXPECT_EQ(subrange(kAllPorts, 0, 65536), Error::ok);
    // Ranges handed out before (whole, or in part) come again.
    KEXPECT_EQ(l4::sigma0::io_ports(kCom1, kCom1Count, kCom1Ports), Error::ok);
    KEXPECT_EQ(l4::sigma0::io_ports(kCom1 + 4, 2, kSubrange), Error::ok);
    KEXPECT_EQ(subrange(kSubrange, kCom1 + 4, 2), Error::ok);
    KEXPECT_EQ(subrange(kSubrange, kCom1 + 3, 1), Error::invalid_argument);
    // The wrapper's own errors: nowhere to receive, a slot that is taken; and sigma0's.
    KEXPECT_EQ(l4::sigma0::io_ports(kCom1, kCom1Count, abi::kNoReceiveSlot), Error::invalid_argument);
    KEXPECT_EQ(l4::sigma0::io_ports(kCom1, kCom1Count, kCom1Ports), Error::slot_occupied);
    KEXPECT_EQ(l4::sigma0::io_ports(kCom1, 0, kScratch), Error::invalid_argument);
    KEXPECT_EQ(l4::sigma0::io_ports(0xfff0, 17, kScratch), Error::invalid_argument);
}

// One owner per line; the copy has sigma0's rights: it binds, and COM1's "holding register
// empty" interrupt (IRQ 4) reaches the notification.
KTEST(sigma0_irq_line_once_and_bound)
{
    kt::Slots slots(470, 480);
    uint64_t caps = 7;
    KEXPECT_EQ(request_cap(Request::irq, 1, abi::boot::kCascadeIrqLine, 0, kIrqAgain, caps), Error::invalid_argument);
    KEXPECT_EQ(request_cap(Request::irq, 1, abi::boot::kIrqLines, 0, kIrqAgain, caps), Error::invalid_argument);
    KEXPECT_EQ(request_cap(Request::irq, 1, ~uint64_t{0}, 0, kIrqAgain, caps), Error::invalid_argument);
    KEXPECT_EQ(request_cap(Request::irq, 0, kCom1Line, 0, kIrqAgain, caps), Error::invalid_argument);
    KEXPECT_EQ(caps, 0);
    KREQUIRE_EQ(l4::sigma0::irq_line(kCom1Line, kCom1Irq), Error::ok);
    KEXPECT_EQ(l4::sigma0::irq_line(kCom1Line, kIrqAgain), Error::busy);
    KEXPECT_EQ(request_cap(Request::irq, 1, kCom1Line, 0, kIrqAgain, caps), Error::busy);
    KEXPECT_EQ(caps, 0);
    KEXPECT_EQ(l4::sigma0::irq_line(2, kIrqAgain), Error::invalid_argument);
    KEXPECT_EQ(l4::sigma0::irq_line(16, kIrqAgain), Error::invalid_argument);

    KREQUIRE_EQ(kt::make(kIrqNote, ObjectKind::notification), Error::ok);
    KREQUIRE_EQ(l4::irq_bind(kCom1Irq, kIrqNote), Error::ok);
    KREQUIRE_EQ(l4::sigma0::io_ports(kCom1, kCom1Count, kCom1Ports), Error::ok);
    KREQUIRE_EQ(l4::ioport_enable(kCom1Ports), Error::ok);
    outb(kCom1 + kInterruptEnable, kHoldingEmptyInterrupt);
    uint64_t bits = 0;
    bool arrived = kt::wait_until([&] { return l4::notify_poll(kIrqNote, bits) == Error::ok && bits != 0; });
    uint8_t identified = inb(kCom1 + kInterruptId); // reading it clears the interrupt
    outb(kCom1 + kInterruptEnable, 0);              // before anything prints again
    KEXPECT_EQ(arrived, true);
    KEXPECT_EQ(bits, 1);
    KEXPECT_EQ(identified, kHoldingEmptyIdentified);
    KEXPECT_EQ(l4::irq_acknowledge(kCom1Irq), Error::ok);
}
