// Memory aimed at a task: memory_map_to and memory_unmap_in, the calls of a server that owns
// its clients' memory. Selectors 1000-1023 (threads first), and the probe slots 800-819 of
// memory_probe.hpp; window pages 200-299.
//
// A child task gets our whole image at our addresses (memory_map_to itself), so a probe
// thread in it runs our code and shares our variables; what a test maps into it lands at
// kDest, where we have nothing, and the probes there say what the child sees.
#include "memory_probe.hpp"

#include "l4/abi/address_space.hpp"

extern "C" char __image_end[];

using namespace kt;
using namespace kt::mem;

namespace {

constexpr Selector kSender = 1000, kReceiver = 1001;                            // threads in children
constexpr Selector kChildA = 1002, kChildB = 1003, kChildC = 1004, kSub = 1005; // tasks, factories
constexpr Selector kEp = 1006, kCopy = 1007, kEmpty = 1008, kBallast = 1009;    // the rest
constexpr Selector kScratch = 1010, kSubScratch = 1011;                         // for available()
constexpr Selector kChildEndpoint = 1;                                          // kEp, in a child's capability space
constexpr uint64_t kChildSlots = 16;
constexpr uint64_t kImage = 0x400000; // libl4/user.ld
constexpr uint64_t kDest = 0x2000'0000, kWindowInC = 0x3000'0000;
constexpr uint64_t kNodeCharge = 48;         // docs/syscalls.md: what each mapping costs its holder
constexpr uint64_t kTableCharge = 3 * kPage; // a fresh 2 MiB region: PDPT, PD and page table

uint64_t image_pages() { return (reinterpret_cast<uint64_t>(__image_end) + kPage - 1 - kImage) / kPage; }

Error map_to(Selector task, Flexpage page, uint64_t destination, uint64_t& mapped)
{
    return l4::memory_map_to(task, page, destination, mapped);
}

// A new task at `task` (of `factory`) with our image mapped into it; false (reported) when
// that fails.
bool make_child(Selector task, Selector factory = kFactory)
{
    KREQUIRE_EQ_OR(l4::factory_create(factory, ObjectKind::task, task, kChildSlots), Error::ok, false);
    uint64_t mapped = 0;
    KREQUIRE_EQ_OR(map_to(task, Flexpage::make(kImage, 22, page_rights::all), kImage, mapped), Error::ok, false);
    KREQUIRE_EQ_OR(mapped, image_pages(), false);
    return true;
}

// Maps `page` into `task` at `destination`, expecting `pages` pages; false on a mismatch.
bool mapped_to(Selector task, Flexpage page, uint64_t destination, uint64_t pages)
{
    uint64_t mapped = ~uint64_t{0};
    KREQUIRE_EQ_OR(map_to(task, page, destination, mapped), Error::ok, false);
    KREQUIRE_EQ_OR(mapped, pages, false);
    return true;
}

// memory_unmap_in, expecting success with `pages` pages affected.
void expect_unmapped_in(Selector task, Flexpage page, uint64_t pages, int line)
{
    uint64_t affected = ~uint64_t{0};
    ktest::expect_eq(__FILE__, line, "memory_unmap_in",
                     static_cast<uint64_t>(l4::memory_unmap_in(task, page, affected)),
                     static_cast<uint64_t>(Error::ok));
    ktest::expect_eq(__FILE__, line, "affected", affected, pages);
}

} // namespace

#define EXPECT_UNMAPPED_IN(task, page, pages) expect_unmapped_in((task), (page), (pages), __LINE__)
// The probes of memory_probe.hpp, run in a child task.
#define EXPECT_READS_IN(task, addr, expected)                                                                          \
    expect_probe(probe(Op::read, (addr), 0, (task)), finished(expected), __LINE__)
#define EXPECT_WRITES_IN(task, addr, value)                                                                            \
    expect_probe(probe(Op::write, (addr), (value), (task)), finished(), __LINE__)
#define EXPECT_READ_FAULT_IN(task, addr)                                                                               \
    expect_probe(probe(Op::read, (addr), 0x0bad, (task)), read_fault(addr), __LINE__)
#define EXPECT_WRITE_FAULT_IN(task, addr)                                                                              \
    expect_probe(probe(Op::write, (addr), 0x0bad, (task)), write_fault(addr), __LINE__)

// A test with the probe set-up (Case), slots 1000-1023 emptied around it, and child A made.
#define MAP_TO_TEST(name)                                                                                              \
    static void name##_body();                                                                                         \
    KTEST(name)                                                                                                        \
    {                                                                                                                  \
        Case c;                                                                                                        \
        Slots slots(1000, 1024);                                                                                       \
        if (c.ok && make_child(kChildA))                                                                               \
            name##_body();                                                                                             \
    }                                                                                                                  \
    static void name##_body()

// Four pages, read-write, in the child: it reads what we wrote and we read what it writes.
MAP_TO_TEST(memory_map_to_shares_pages_with_a_child)
{
    uint64_t a = window(203); // pages 203..200: 16 KiB, aligned
    KREQUIRE_EQ(phys_page(203) % 0x4000, 0);
    for (uint64_t i = 0; i < 4; ++i)
        FILL(a + i * kPage, 0x6100'0000 + i * 0x10000);
    if (!mapped_to(kChildA, Flexpage::make(a, 14, kRw), kDest, 4))
        return;
    for (uint64_t i = 0; i < 4; ++i)
        EXPECT_READS_IN(kChildA, kDest + i * kPage + 8 * 7, 0x6100'0000 + i * 0x10000 + 7);
    EXPECT_WRITES_IN(kChildA, kDest + 3 * kPage + 16, 0x6161);
    EXPECT_READS(a + 3 * kPage + 16, 0x6161);
    // Mapping the same again changes nothing and costs nothing more: the pages are there.
    uint64_t before = available(kFactory, kScratch);
    if (mapped_to(kChildA, Flexpage::make(a, 14, kRw), kDest, 4))
        KEXPECT_EQ(available(kFactory, kScratch), before);
    EXPECT_UNMAPPED_IN(kChildA, Flexpage::make(kDest, 14, page_rights::all), 4);
    KEXPECT_EQ(available(kFactory, kScratch), before + 4 * kNodeCharge);
    EXPECT_READ_FAULT_IN(kChildA, kDest);
}

// Rights only shrink: a read-only map faults on a write, and our code page (read and
// execute only), given with every right, arrives without write.
MAP_TO_TEST(memory_map_to_gives_at_most_the_callers_rights)
{
    uint64_t a = window(204);
    FILL(a, 0x6200'0000);
    if (!mapped_to(kChildA, page_at(a, page_rights::read), kDest, 1))
        return;
    EXPECT_READS_IN(kChildA, kDest + 8, 0x6200'0001);
    EXPECT_WRITE_FAULT_IN(kChildA, kDest + 8);
    EXPECT_READS(a + 8, 0x6200'0001); // the write did not happen
    uint64_t code = address(kt_mt_read) & ~(kPage - 1);
    if (!mapped_to(kChildA, Flexpage::make(code, 12, page_rights::all), kDest + kPage, 1))
        return;
    EXPECT_READS_IN(kChildA, kDest + kPage, *reinterpret_cast<volatile uint64_t*>(code));
    EXPECT_WRITE_FAULT_IN(kChildA, kDest + kPage);
    // Rights without read give nothing: x86 has no write-only page.
    uint64_t mapped = ~uint64_t{0};
    KEXPECT_EQ(map_to(kChildA, page_at(a, page_rights::write), kDest + 2 * kPage, mapped), Error::invalid_argument);
    KEXPECT_EQ(mapped, 0);
    // Pages we do not have are skipped: one of two.
    uint64_t unmapped = 0x5000'0000; // nothing of ours lives there
    if (mapped_to(kChildA, Flexpage::make(unmapped, 13, kRw), kDest + 4 * kPage, 0))
        EXPECT_READ_FAULT_IN(kChildA, kDest + 4 * kPage);
}

// The pages are derived from ours: our memory_unmap takes them from the child too.
MAP_TO_TEST(memory_map_to_revoked_by_the_callers_unmap)
{
    uint64_t a = window(205);
    FILL(a, 0x6300'0000);
    if (!mapped_to(kChildA, page_at(a), kDest, 1))
        return;
    EXPECT_READS_IN(kChildA, kDest + 16, 0x6300'0002);
    KEXPECT_EQ(memory_unmap(page_at(a, page_rights::write), 0), Error::ok);
    EXPECT_READS_IN(kChildA, kDest + 16, 0x6300'0002);
    EXPECT_WRITE_FAULT_IN(kChildA, kDest + 16);
    KEXPECT_EQ(memory_unmap(window_at(a), 0), Error::ok);
    EXPECT_READ_FAULT_IN(kChildA, kDest + 16);
    EXPECT_PAGE(a, 0x6300'0000); // ours stays
    EXPECT_UNMAPPED_IN(kChildA, window_at(kDest), 0);
}

// Two children share our page; memory_unmap_in takes it from one only (what munmap in one
// process needs), and taking write from the other leaves it readable.
MAP_TO_TEST(memory_unmap_in_takes_only_from_that_task)
{
    uint64_t a = window(206);
    FILL(a, 0x6400'0000);
    if (!make_child(kChildB) || !mapped_to(kChildA, page_at(a), kDest, 1) || !mapped_to(kChildB, page_at(a), kDest, 1))
        return;
    EXPECT_UNMAPPED_IN(kChildA, window_at(kDest), 1);
    EXPECT_READ_FAULT_IN(kChildA, kDest);
    EXPECT_READS_IN(kChildB, kDest + 24, 0x6400'0003);
    EXPECT_WRITES_IN(kChildB, kDest + 24, 0x6464);
    EXPECT_READS(a + 24, 0x6464);
    EXPECT_UNMAPPED_IN(kChildA, window_at(kDest), 0); // nothing left there
    EXPECT_UNMAPPED_IN(kChildB, page_at(kDest, page_rights::write), 1);
    EXPECT_READS_IN(kChildB, kDest + 24, 0x6464);
    EXPECT_WRITE_FAULT_IN(kChildB, kDest + 24);
    EXPECT_UNMAPPED_IN(kChildB, page_at(kDest, page_rights::write), 0); // has no write now
    EXPECT_READS(a + 24, 0x6464);
}

namespace {

// Child A's sender passes the page at kDest on to child C's receiver, as an IPC map item.
struct Onward {
    uint64_t send_error, receive_error, received_pages, value;
    volatile uint64_t started, sent, received;
} onward;

[[noreturn]] void onward_receiver()
{
    abi::Utcb* u = l4::utcb();
    u->receive_window = window_at(kWindowInC).raw;
    u->receive_slot = abi::kNoReceiveSlot;
    u->received_pages = ~uint64_t{0};
    set_flag(onward.started);
    l4::Message m;
    onward.receive_error = static_cast<uint64_t>(l4::receive(kChildEndpoint, m, kServerTimeout));
    onward.received_pages = u->received_pages;
    if (onward.received_pages == 1)
        onward.value = *reinterpret_cast<volatile uint64_t*>(kWindowInC + 32);
    set_flag(onward.received);
    l4::thread_exit();
}

[[noreturn]] void onward_sender()
{
    l4::utcb()->send_pages[0] = abi::MapItem{page_at(kDest).raw, 0, 0};
    l4::Message m;
    m.tag = Tag::make(0x4f, 0, 0, 1);
    onward.send_error = static_cast<uint64_t>(l4::send(kChildEndpoint, m, kServerTimeout));
    set_flag(onward.sent);
    l4::thread_exit();
}

bool start_in(Selector thread, Selector task, ThreadBody body)
{
    KREQUIRE_EQ_OR(create_thread(thread, kMainPriority, task), Error::ok, false);
    KREQUIRE_EQ_OR(start_thread(thread, body), Error::ok, false);
    return true;
}

} // namespace

// A's page goes on from A to C by IPC; memory_unmap_in of A takes C's too (derived from A's),
// and leaves ours.
MAP_TO_TEST(memory_unmap_in_takes_what_was_derived)
{
    uint64_t a = window(207);
    FILL(a, 0x6500'0000);
    onward = Onward{};
    if (!make_child(kChildC) || !made(kEp, ObjectKind::endpoint) || !mapped_to(kChildA, page_at(a), kDest, 1))
        return;
    KREQUIRE_EQ(l4::cap_copy_to(kChildA, kEp, kChildEndpoint), Error::ok);
    KREQUIRE_EQ(l4::cap_copy_to(kChildC, kEp, kChildEndpoint), Error::ok);
    if (!start_in(kReceiver, kChildC, onward_receiver) || !wait_flag(onward.started))
        return;
    yield_times(3); // it waits in receive now
    if (!start_in(kSender, kChildA, onward_sender))
        return;
    KEXPECT_EQ(wait_flag(onward.received), true);
    KEXPECT_EQ(wait_flag(onward.sent), true);
    KEXPECT_EQ(onward.send_error, Error::ok);
    KEXPECT_EQ(onward.receive_error, Error::ok);
    KEXPECT_EQ(onward.received_pages, 1);
    KEXPECT_EQ(onward.value, 0x6500'0004);
    EXPECT_READS_IN(kChildC, kWindowInC + 40, 0x6500'0005);
    EXPECT_UNMAPPED_IN(kChildA, window_at(kDest), 1); // A's own page: C's goes with it
    EXPECT_READ_FAULT_IN(kChildC, kWindowInC);
    EXPECT_READ_FAULT_IN(kChildA, kDest);
    EXPECT_PAGE(a, 0x6500'0000);
    EXPECT_UNMAPPED_IN(kChildC, window_at(kWindowInC), 0);
}

// Every refusal of memory_map_to, before anything is mapped or charged.
MAP_TO_TEST(memory_map_to_refusals)
{
    uint64_t a = window(208);
    FILL(a, 0x6600'0000);
    KREQUIRE_EQ(made(kEp, ObjectKind::endpoint), true);
    KREQUIRE_EQ(l4::cap_copy(kChildA, kCopy, rights::all & ~rights::control), Error::ok);
    const uint64_t map = static_cast<uint64_t>(abi::Syscall::memory_map_to);
    const uint64_t page = page_at(a).raw;
    const struct {
        Selector task;
        uint64_t page, destination, flags;
        Error error;
    } cases[] = {
        {kSlots, page, kDest, 0, Error::invalid_selector},
        {~uint64_t{0}, page, kDest, 0, Error::invalid_selector},
        {kEmpty, page, kDest, 0, Error::invalid_selector},
        {kEp, page, kDest, 0, Error::wrong_type},
        {kSelf, page, kDest, 0, Error::wrong_type}, // a thread
        {kCopy, page, kDest, 0, Error::missing_rights},
        {kTask, page, kDest, 0, Error::invalid_argument}, // our own task
        {kChildA, page, kDest, 1, Error::invalid_argument},
        {kChildA, page, kDest, 2, Error::invalid_argument},
        {kChildA, page, kDest, uint64_t{1} << 63, Error::invalid_argument},
        {kChildA, Flexpage::make(a, 11, kRw).raw, kDest, 0, Error::invalid_argument},
        {kChildA, Flexpage::make(window(211) + kPage, 13, kRw).raw, kDest, 0, Error::invalid_argument}, // misaligned
        {kChildA, Flexpage::make(0, 23, kRw).raw, kDest, 0, Error::invalid_argument},                   // over 4 MiB
        {kChildA, Flexpage::make(0, 48, kRw).raw, kDest, 0, Error::invalid_argument},
        {kChildA, Flexpage::make(kKernelAddress & ~uint64_t{0xfff}, 12, kRw).raw, kDest, 0, Error::invalid_argument},
        {kChildA, page_at(a, 0).raw, kDest, 0, Error::invalid_argument},
        {kChildA, page_at(a, page_rights::execute).raw, kDest, 0, Error::invalid_argument},
        {kChildA, page, kDest + 8, 0, Error::misaligned},
        {kChildA, Flexpage::make(window(211), 14, kRw).raw, kDest + kPage, 0, Error::misaligned},
        {kChildA, page, kKernelAddress, 0, Error::bad_address},
        {kChildA, page, kNonCanonical, 0, Error::bad_address},
        {kChildA, page, abi::kLastUserPage, 0, Error::bad_address},
        {kChildA, Flexpage::make(window(211), 13, kRw).raw, abi::kUserEnd - 2 * kPage, 0, Error::bad_address},
        {kChildA, Flexpage::make(0, 21, kRw).raw, abi::kUserEnd - 0x200000, 0, Error::bad_address},
        {kChildA, page, ~uint64_t{0} & ~(kPage - 1), 0, Error::bad_address}, // would wrap
        {kChildA, Flexpage::make(0, 22, kRw).raw, ~uint64_t{0} << 22, 0, Error::bad_address},
    };
    uint64_t before = available(kFactory, kScratch);
    for (const auto& t : cases) {
        l4::detail::Registers r{t.task, t.page, t.destination, t.flags, 0, 0};
        KEXPECT_EQ(l4::detail::syscall(static_cast<abi::Syscall>(map), r), t.error);
        KEXPECT_EQ(r.rsi, 0);
    }
    KEXPECT_EQ(available(kFactory, kScratch), before);
    EXPECT_READ_FAULT_IN(kChildA, kDest);
    // The highest page a task may hold is fine.
    if (mapped_to(kChildA, page_at(a), abi::kLastUserPage - kPage, 1)) {
        EXPECT_READS_IN(kChildA, abi::kLastUserPage - kPage + 8, 0x6600'0001);
        EXPECT_UNMAPPED_IN(kChildA, window_at(abi::kLastUserPage - kPage), 1);
    }
}

// Every refusal of memory_unmap_in; and well-formed ones where nothing is mapped affect nothing.
MAP_TO_TEST(memory_unmap_in_refusals)
{
    uint64_t a = window(209);
    FILL(a, 0x6700'0000);
    KREQUIRE_EQ(made(kEp, ObjectKind::endpoint), true);
    KREQUIRE_EQ(l4::cap_copy(kChildA, kCopy, rights::all & ~rights::control), Error::ok);
    if (!mapped_to(kChildA, page_at(a), kDest, 1))
        return;
    const uint64_t unmap_in = static_cast<uint64_t>(abi::Syscall::memory_unmap_in);
    const uint64_t page = window_at(kDest).raw;
    const struct {
        Selector task;
        uint64_t page, flags;
        Error error;
    } cases[] = {
        {kSlots, page, 0, Error::invalid_selector},
        {kEmpty, page, 0, Error::invalid_selector},
        {kEp, page, 0, Error::wrong_type},
        {kCopy, page, 0, Error::missing_rights},
        {kTask, window_at(a).raw, 0, Error::invalid_argument}, // our own task: memory_unmap is for that
        {kChildA, page, 1, Error::invalid_argument},
        {kChildA, page, ~uint64_t{0}, Error::invalid_argument},
        {kChildA, Flexpage::make(kDest, 11, page_rights::all).raw, 0, Error::invalid_argument},
        {kChildA, Flexpage::make(kDest + kPage, 13, page_rights::all).raw, 0, Error::invalid_argument},
        {kChildA, Flexpage::make(0, 31, page_rights::all).raw, 0, Error::invalid_argument}, // over 1 GiB
        {kChildA, Flexpage::make(kKernelAddress & ~uint64_t{0xfff}, 12, page_rights::all).raw, 0,
         Error::invalid_argument},
        // Well-formed: nothing there, or no right taken.
        {kChildA, window_at(kDest + kPage).raw, 0, Error::ok},
        {kChildA, page_at(kDest, 0).raw, 0, Error::ok},
        {kChildA, Flexpage::make(0x4000'0000, 30, page_rights::all).raw, 0, Error::ok},
    };
    for (const auto& t : cases) {
        l4::detail::Registers r{t.task, t.page, t.flags, 0, 0, 0};
        KEXPECT_EQ(l4::detail::syscall(static_cast<abi::Syscall>(unmap_in), r), t.error);
        KEXPECT_EQ(r.rsi, 0);
    }
    EXPECT_READS_IN(kChildA, kDest + 8, 0x6700'0001); // still there
    EXPECT_PAGE(a, 0x6700'0000);
}

// A child in a small factory: the map stops at the first page its quota cannot pay for, keeps
// the pages before it, and says how many; unmapping them refunds every byte.
KTEST(memory_map_to_over_quota)
{
    Case c;
    Slots slots(1000, 1024);
    if (!c.ok)
        return;
    KREQUIRE_EQ(l4::factory_create(kFactory, ObjectKind::factory, kSub, 64 * 1024), Error::ok);
    KREQUIRE_EQ(l4::factory_create(kSub, ObjectKind::task, kChildB, kChildSlots), Error::ok);
    // 2 MiB of our window, 2 MiB aligned, below what the other tests use.
    const abi::MemoryRegion* region = highest_free(16 * 1024 * 1024);
    KREQUIRE_EQ(region != nullptr, true);
    uint64_t phys = (region->base + region->size - 12 * 1024 * 1024) & ~uint64_t{0x1fffff};
    KREQUIRE_EQ(phys >= region->base, true);
    uint64_t source = abi::kSigma0Window + phys;
    // The page tables for kDest first, so that what follows costs mapping nodes alone.
    uint64_t fresh = available(kSub, kSubScratch);
    if (!mapped_to(kChildB, page_at(source), kDest, 1))
        return;
    KEXPECT_EQ(available(kSub, kSubScratch), fresh - kTableCharge - kNodeCharge);
    EXPECT_UNMAPPED_IN(kChildB, page_at(kDest, page_rights::all), 1);
    uint64_t tables = available(kSub, kSubScratch);
    KEXPECT_EQ(tables, fresh - kTableCharge);
    // Ballast leaves exactly 10,000 bytes: `available` is what remains less one factory
    // object, and the ballast costs its quota plus one factory object.
    constexpr uint64_t kLeft = 10000;
    KREQUIRE_EQ(l4::factory_create(kSub, ObjectKind::factory, kBallast, tables - kLeft), Error::ok);
    uint64_t left = available(kSub, kSubScratch);
    uint64_t mapped = ~uint64_t{0};
    KEXPECT_EQ(map_to(kChildB, Flexpage::make(source, 21, kRw), kDest, mapped), Error::quota_exhausted);
    KEXPECT_EQ(mapped, kLeft / kNodeCharge); // 208 pages; 16 bytes stay
    KEXPECT_EQ(available(kSub, kSubScratch), 0);
    // Exactly the pages before the refusal are there.
    EXPECT_UNMAPPED_IN(kChildB, Flexpage::make(kDest, 21, page_rights::all), kLeft / kNodeCharge);
    KEXPECT_EQ(available(kSub, kSubScratch), left);
    // 2,000 bytes left: a node, but not the page tables a page 1 GiB further needs. Nothing
    // arrives, and the node charged for it comes back.
    KREQUIRE_EQ(l4::factory_create(kSub, ObjectKind::factory, kSubScratch, left - 2000), Error::ok);
    uint64_t little = available(kSub, kScratch);
    KEXPECT_EQ(map_to(kChildB, page_at(source), kDest + (uint64_t{1} << 30), mapped), Error::quota_exhausted);
    KEXPECT_EQ(mapped, 0);
    KEXPECT_EQ(available(kSub, kScratch), little);
    KEXPECT_EQ(release_slot(kSubScratch), Error::ok);
    KEXPECT_EQ(available(kSub, kSubScratch), left);
    KEXPECT_EQ(release_slot(kBallast), Error::ok);
    KEXPECT_EQ(available(kSub, kSubScratch), tables);
    KEXPECT_EQ(release_slot(kChildB), Error::ok);
}

// A task whose last capability went is gone at once, with every mapping it got: a map aimed at
// its selector finds nothing there, and its factory has every byte back.
KTEST(memory_map_to_a_destroyed_task)
{
    Case c;
    Slots slots(1000, 1024);
    if (!c.ok)
        return;
    uint64_t a = window(210);
    FILL(a, 0x6800'0000);
    KREQUIRE_EQ(l4::factory_create(kFactory, ObjectKind::factory, kSub, 64 * 1024), Error::ok);
    uint64_t original = available(kSub, kSubScratch);
    KREQUIRE_EQ(l4::factory_create(kSub, ObjectKind::task, kChildB, kChildSlots), Error::ok);
    KREQUIRE_EQ(l4::cap_copy(kChildB, kCopy, rights::all), Error::ok);
    if (!mapped_to(kChildB, page_at(a), kDest, 1))
        return;
    KEXPECT_EQ(l4::cap_delete(kChildB), Error::ok); // the copy keeps it alive
    if (!mapped_to(kCopy, page_at(a), kDest + kPage, 1))
        return;
    KEXPECT_EQ(l4::cap_delete(kCopy), Error::ok); // the last one: destroyed now
    KEXPECT_EQ(available(kSub, kSubScratch), original);
    const Selector gone_selectors[] = {kChildB, kCopy};
    for (Selector gone : gone_selectors) {
        uint64_t mapped = ~uint64_t{0};
        KEXPECT_EQ(map_to(gone, page_at(a), kDest, mapped), Error::invalid_selector);
        KEXPECT_EQ(mapped, 0);
    }
    KEXPECT_EQ(available(kSub, kSubScratch), original);
    // Our page did not go with it.
    EXPECT_PAGE(a, 0x6800'0000);
}
