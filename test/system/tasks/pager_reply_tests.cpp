// A pager's reply: how many pages it installed (rsi of ipc_reply and reply_to), and a reply
// the faulting task's quota cannot pay for, which fails to the pager (quota_exhausted) and
// leaves the thread waiting. Selectors 460-469, the probe slots 800-819 of memory_probe.hpp;
// window pages 300-319.
//
// The faulting probe runs in a child task of a small factory that shows our image at our
// addresses (as in memory_map_to_tests.cpp), so its quota is the one the replies spend.
#include "memory_probe.hpp"

using namespace kt;
using namespace kt::mem;

namespace {

constexpr Selector kChild = 460, kSub = 461, kBallast = 462, kScratch = 463, kReply = 464;
constexpr uint64_t kChildSlots = 16;
constexpr uint64_t kDest = 0x2000'0000;
constexpr uint64_t kNodeCharge = 48; // docs/syscalls.md: what each mapping costs its holder
constexpr uint64_t kLeft = 40;       // less than a mapping node
constexpr uint64_t kSeed = 0x7100'0000, kSeed16 = 0x7200'0000;

uint64_t one_page() { return window(300); }
uint64_t sixteen_pages() { return window(319); } // 319..304: 64 KiB, aligned

// A child task of a new 1 MiB factory, with our image mapped into it and the page tables
// for kDest and for its threads' UTCBs made (a page mapped there and taken away again, a
// thread made and deleted); false (reported) on a failure.
// `tables`: what the factory then has left, as `available` measures it.
bool make_child(uint64_t& tables)
{
    KREQUIRE_EQ_OR(make_image_task(kSub, 1024 * 1024, kChild, kChildSlots), true, false);
    uint64_t mapped = 0;
    KREQUIRE_EQ_OR(l4::memory_map_to(kChild, page_at(one_page()), kDest, mapped), Error::ok, false);
    uint64_t affected = 0;
    KREQUIRE_EQ_OR(l4::memory_unmap_in(kChild, Flexpage::make(kDest, 21, page_rights::all), affected), Error::ok,
                   false);
    KREQUIRE_EQ_OR(affected, 1, false);
    // A thread's UTCB needs page tables of the task's factory too: made once, they stay.
    KREQUIRE_EQ_OR(create_thread(kVictim, kMainPriority, kChild), Error::ok, false);
    KREQUIRE_EQ_OR(release_slot(kVictim), Error::ok, false);
    tables = available(kSub, kScratch);
    return true;
}

// Leaves exactly kLeft bytes in the child's factory: `available` is what remains less one
// factory object, and the ballast costs its quota plus one factory object.
bool spend_quota(uint64_t tables)
{
    KREQUIRE_EQ_OR(l4::factory_create(kSub, ObjectKind::factory, kBallast, tables - kLeft), Error::ok, false);
    KREQUIRE_EQ_OR(available(kSub, kScratch), 0, false);
    return true;
}

// A read probe in the child at `addr`, and its page fault received by kPager; false
// (reported) when that fails.
bool fault_in_child(uint64_t addr)
{
    reset_probe(addr, 0);
    KREQUIRE_EQ_OR(start_victim(reinterpret_cast<ThreadBody>(kt_mt_read), kPager, kChild), Error::ok, false);
    l4::Message m;
    KREQUIRE_EQ_OR(receive_polled(kPager, m), Error::ok, false);
    KEXPECT_EQ(m.tag.label(), abi::label::page_fault);
    KEXPECT_EQ(m.words[0], addr);
    KEXPECT_EQ(m.words[2], address(kt_mt_read_at));
    return true;
}

// A pager's reply mapping `page` with hotspot `addr`.
l4::Message mapping(Flexpage page, uint64_t addr)
{
    set_item(0, page, addr);
    l4::Message m;
    m.tag = Tag::make(0, 0, 0, 1);
    return m;
}

// The probe did not go on: it is still waiting for the pager (or stopped). (A receive here
// would abandon the call we still hold; that the reply later goes through shows it waits.)
void expect_still_waiting(int line)
{
    for (int i = 0; i < 20; ++i)
        l4::yield();
    ktest::expect_eq(__FILE__, line, "kt_mt_done", kt_mt_done, 0);
}

// The probe read the word at offset 8 of a page filled with `seed`.
void expect_continued(uint64_t seed, int line)
{
    ktest::expect_eq(__FILE__, line, "kt_mt_done", wait_flag(kt_mt_done), true);
    ktest::expect_eq(__FILE__, line, "kt_mt_value", kt_mt_value, seed + 1);
    ktest::expect_eq(__FILE__, line, "release", static_cast<uint64_t>(release_slot(kVictim)),
                     static_cast<uint64_t>(Error::ok));
}

volatile uint64_t caller_window, caller_received, caller_done;

// Calls kEndpoint (label 9) with caller_window as its receive window.
[[noreturn]] void caller_body()
{
    abi::Utcb* u = l4::utcb();
    u->receive_window = caller_window;
    u->receive_slot = abi::kNoReceiveSlot;
    l4::Message m;
    m.tag = Tag::make(9, 0);
    if (l4::call(kEndpoint, m) == Error::ok)
        caller_received = u->received_pages;
    set_flag(caller_done);
    l4::thread_exit();
}

} // namespace

#define EXPECT_STILL_WAITING() expect_still_waiting(__LINE__)
#define EXPECT_CONTINUED(seed) expect_continued((seed), __LINE__)

// A test with the probe set-up (kHandler, kPager), slots 460-469 emptied around it, window
// pages 300 and 319..304 filled, and the child made (`tables` left in its factory).
#define PAGER_REPLY_TEST(name)                                                                                         \
    static void name##_body(uint64_t tables);                                                                          \
    KTEST(name)                                                                                                        \
    {                                                                                                                  \
        Case c(kNoTargets, kPager);                                                                                    \
        Slots slots(460, 470);                                                                                         \
        if (!c.ok)                                                                                                     \
            return;                                                                                                    \
        FILL(one_page(), kSeed);                                                                                       \
        for (uint64_t i = 0; i < 16; ++i)                                                                              \
            FILL(sixteen_pages() + i * kPage, kSeed16 + i * 0x10000);                                                  \
        uint64_t tables = 0;                                                                                           \
        if (make_child(tables))                                                                                        \
            name##_body(tables);                                                                                       \
    }                                                                                                                  \
    static void name##_body(uint64_t tables)

// ipc_reply says how many pages it installed: 1, then 16 (one 64 KiB item); the child's
// factory pays a node for each.
PAGER_REPLY_TEST(pager_reply_reports_pages)
{
    if (!fault_in_child(kDest + 8))
        return;
    uint64_t pages = ~uint64_t{0};
    KEXPECT_EQ(l4::reply(mapping(page_at(one_page()), kDest), pages), Error::ok);
    KEXPECT_EQ(pages, 1);
    EXPECT_CONTINUED(kSeed);
    KEXPECT_EQ(available(kSub, kScratch), tables - kNodeCharge);
    if (!fault_in_child(kDest + 0x10008))
        return;
    pages = ~uint64_t{0};
    KEXPECT_EQ(l4::reply(mapping(Flexpage::make(sixteen_pages(), 16, kRw), kDest + 0x10000), pages), Error::ok);
    KEXPECT_EQ(pages, 16);
    EXPECT_CONTINUED(kSeed16);
    KEXPECT_EQ(available(kSub, kScratch), tables - 17 * kNodeCharge);
    uint64_t affected = 0;
    KEXPECT_EQ(l4::memory_unmap_in(kChild, Flexpage::make(kDest, 21, page_rights::all), affected), Error::ok);
    KEXPECT_EQ(affected, 17);
    KEXPECT_EQ(available(kSub, kScratch), tables);
}

// A reply the child's quota cannot pay for fails to the pager with nothing installed; the
// thread waits on. Once the ballast is gone the same reply maps the page and it goes on.
PAGER_REPLY_TEST(pager_reply_over_quota_keeps_the_thread_waiting)
{
    if (!spend_quota(tables) || !fault_in_child(kDest + 8))
        return;
    uint64_t pages = ~uint64_t{0};
    KEXPECT_EQ(l4::reply(mapping(page_at(one_page()), kDest), pages), Error::quota_exhausted);
    KEXPECT_EQ(pages, 0);
    EXPECT_STILL_WAITING();
    KEXPECT_EQ(release_slot(kBallast), Error::ok);
    KEXPECT_EQ(available(kSub, kScratch), tables); // the refused reply kept nothing
    pages = ~uint64_t{0};
    KEXPECT_EQ(l4::reply(mapping(page_at(one_page()), kDest), pages), Error::ok);
    KEXPECT_EQ(pages, 1);
    EXPECT_CONTINUED(kSeed);
    KEXPECT_EQ(available(kSub, kScratch), tables - kNodeCharge);
    KEXPECT_EQ(l4::reply(l4::Message{}), Error::invalid_selector); // answered: nothing to reply to
}

// ipc_reply_wait whose reply fails that way returns at once, without receiving (kTimeoutZero
// would be timeout); the pager still holds the reply and stops the thread with a refusal.
PAGER_REPLY_TEST(pager_reply_wait_over_quota_returns_at_once)
{
    if (!spend_quota(tables) || !fault_in_child(kDest + 8))
        return;
    l4::Message m = mapping(page_at(one_page()), kDest);
    KEXPECT_EQ(l4::reply_wait(kPager, m, abi::kTimeoutZero), Error::quota_exhausted);
    EXPECT_STILL_WAITING();
    l4::Message refuse;
    refuse.tag = Tag::make(1, 0);
    uint64_t pages = ~uint64_t{0};
    KEXPECT_EQ(l4::reply(refuse, pages), Error::ok);
    KEXPECT_EQ(pages, 0);
    EXPECT_STILL_WAITING(); // stopped
    KEXPECT_EQ(release_slot(kVictim), Error::ok);
    KEXPECT_EQ(release_slot(kBallast), Error::ok);
    KEXPECT_EQ(available(kSub, kScratch), tables);
}

// A kept page-fault reply: reply_to reports pages too, fails over quota with the call still
// kept, and succeeds through the same reply object once there is quota.
PAGER_REPLY_TEST(pager_reply_to_reports_pages)
{
    KREQUIRE_EQ(make(kReply, ObjectKind::reply), Error::ok);
    if (!spend_quota(tables) || !fault_in_child(kDest + 0x10008))
        return;
    KREQUIRE_EQ(l4::reply_save(kReply), Error::ok);
    l4::Message m = mapping(Flexpage::make(sixteen_pages(), 16, kRw), kDest + 0x10000);
    uint64_t pages = ~uint64_t{0};
    KEXPECT_EQ(l4::reply_to(kReply, m, pages), Error::quota_exhausted);
    KEXPECT_EQ(pages, 0);
    EXPECT_STILL_WAITING();
    l4::Message none; // kept, so a receive may look: it did not fault again
    KEXPECT_EQ(l4::receive(kPager, none, abi::kTimeoutZero), Error::timeout);
    KEXPECT_EQ(release_slot(kBallast), Error::ok);
    KEXPECT_EQ(available(kSub, kScratch), tables);
    pages = ~uint64_t{0};
    KEXPECT_EQ(l4::reply_to(kReply, m, pages), Error::ok);
    KEXPECT_EQ(pages, 16);
    EXPECT_CONTINUED(kSeed16);
    KEXPECT_EQ(available(kSub, kScratch), tables - 16 * kNodeCharge);
    KEXPECT_EQ(l4::reply_to(kReply, m, pages), Error::invalid_selector); // no longer kept
}

// A reply that maps pages, but not the faulting one, succeeds: the thread retries and faults
// again at the same address.
PAGER_REPLY_TEST(pager_reply_elsewhere_faults_again)
{
    if (!fault_in_child(kDest + 8))
        return;
    uint64_t pages = ~uint64_t{0};
    KEXPECT_EQ(l4::reply(mapping(page_at(one_page()), kDest + 0x20000), pages), Error::ok);
    KEXPECT_EQ(pages, 1);
    l4::Message m;
    KREQUIRE_EQ(receive_polled(kPager, m), Error::ok);
    KEXPECT_EQ(m.tag.label(), abi::label::page_fault);
    KEXPECT_EQ(m.words[0], kDest + 8);
    KEXPECT_EQ(kt_mt_done, 0);
    KEXPECT_EQ(l4::reply(mapping(page_at(one_page()), kDest), pages), Error::ok);
    KEXPECT_EQ(pages, 1);
    EXPECT_CONTINUED(kSeed);
    KEXPECT_EQ(available(kSub, kScratch), tables - 2 * kNodeCharge);
}

// A normal reply reports the pages its caller received in its receive window; an exception
// reply is not counted here (0, docs/syscalls.md).
MEMORY_TEST(pager_reply_plain_reply_reports_received_pages, 300, 43, kSeed)
{
    caller_window = window_at(b).raw;
    caller_received = ~uint64_t{0};
    caller_done = 0;
    KREQUIRE_EQ(spawn_thread(kServer, caller_body), Error::ok);
    l4::Message m;
    KREQUIRE_EQ(receive_polled(kEndpoint, m), Error::ok);
    KEXPECT_EQ(m.tag.label(), 9);
    uint64_t pages = ~uint64_t{0};
    KEXPECT_EQ(l4::reply(mapping(page_at(a), 0), pages), Error::ok);
    KEXPECT_EQ(pages, 1);
    KEXPECT_EQ(wait_flag(caller_done), true);
    KEXPECT_EQ(caller_received, 1);
    EXPECT_READS(b + 8, kSeed + 1);
    KEXPECT_EQ(release_slot(kServer), Error::ok);
    // Nothing to carry: 0.
    caller_done = 0;
    KREQUIRE_EQ(spawn_thread(kServer, caller_body), Error::ok);
    KREQUIRE_EQ(receive_polled(kEndpoint, m), Error::ok);
    pages = ~uint64_t{0};
    KEXPECT_EQ(l4::reply(l4::Message{}, pages), Error::ok);
    KEXPECT_EQ(pages, 0);
    KEXPECT_EQ(wait_flag(caller_done), true);
    KEXPECT_EQ(release_slot(kServer), Error::ok);
}
