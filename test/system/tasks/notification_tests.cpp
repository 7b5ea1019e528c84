// Notifications: signal, poll, wait, badges, rights. Selectors 300-359 (threads first; 360-399
// are reply_tests.cpp's).
#include "helpers.hpp"

using namespace kt;

namespace {

constexpr Selector kWaiterA = 300, kWaiterB = 301;
constexpr Selector kNote = 310, kCopy = 311, kCopy2 = 312, kEndpoint = 316;
constexpr Selector kEmpty = 350;

// What a waiter thread saw: started, returned (with error and bits).
struct Waiter {
    volatile uint64_t started, done, error, bits;
};
Waiter waiter_a, waiter_b;

template <Waiter& w>
[[noreturn]] void wait_body()
{
    w.started = 1;
    uint64_t bits = 0;
    Error e = l4::notify_wait(kNote, bits);
    w.error = static_cast<uint64_t>(e);
    w.bits = bits;
    w.done = 1;
    l4::thread_exit();
}

void reset(Waiter& w)
{
    w.started = 0;
    w.done = 0;
    w.error = ~uint64_t{0};
    w.bits = ~uint64_t{0};
}

// waiter_a waiting on kNote (spawn_started); false when it could not start.
bool start_waiter_a(uint64_t yields)
{
    reset(waiter_a);
    return spawn_started(kWaiterA, wait_body<waiter_a>, waiter_a.started, yields);
}

// Expects waiter_a to return with `error`.
void expect_woken(Error error)
{
    KEXPECT_EQ(wait_flag(waiter_a.done), true);
    KEXPECT_EQ(waiter_a.error, error);
}

} // namespace

// A test on a notification at kNote (slots 300-319).
#define NOTIFY_TEST(name) KTEST_F(name, 300, 320, made(kNote, ObjectKind::notification))

NOTIFY_TEST(notify_signal_then_poll_clears)
{
    KEXPECT_EQ(l4::notify_signal(kNote, 0x5), Error::ok);
    KEXPECT_EQ(poll_bits(kNote), 0x5);
    KEXPECT_EQ(poll_bits(kNote), 0);
}

NOTIFY_TEST(notify_poll_empty_is_zero)
{
    KEXPECT_EQ(poll_bits(kNote), 0);
    KEXPECT_EQ(l4::notify_signal(kNote, 0), Error::ok); // no bits, no badge: nothing
    KEXPECT_EQ(poll_bits(kNote), 0);
}

NOTIFY_TEST(notify_bits_accumulate)
{
    const uint64_t signals[] = {0x1, 0x2, 0x80, 0x2};
    for (uint64_t bits : signals)
        KEXPECT_EQ(l4::notify_signal(kNote, bits), Error::ok);
    KEXPECT_EQ(poll_bits(kNote), 0x83);
}

NOTIFY_TEST(notify_all_64_bits)
{
    const uint64_t patterns[] = {uint64_t{1} << 63, ~uint64_t{0}};
    for (uint64_t bits : patterns) {
        KEXPECT_EQ(l4::notify_signal(kNote, bits), Error::ok);
        KEXPECT_EQ(poll_bits(kNote), bits);
    }
}

NOTIFY_TEST(notify_wait_with_pending_bits_returns_at_once)
{
    KEXPECT_EQ(l4::notify_signal(kNote, 0x8), Error::ok);
    uint64_t bits = 0;
    KEXPECT_EQ(l4::notify_wait(kNote, bits), Error::ok);
    KEXPECT_EQ(bits, 0x8);
    KEXPECT_EQ(poll_bits(kNote), 0);
}

NOTIFY_TEST(notify_wait_blocks_until_signal)
{
    if (!start_waiter_a(20))
        return;
    KEXPECT_EQ(waiter_a.done, 0); // still blocked
    KEXPECT_EQ(l4::notify_signal(kNote, 0x40), Error::ok);
    expect_woken(Error::ok);
    KEXPECT_EQ(waiter_a.bits, 0x40);
    KEXPECT_EQ(poll_bits(kNote), 0); // the waiter took them
}

// One signal wakes one waiter with its bits; the next signal wakes the other.
NOTIFY_TEST(notify_two_waiters_one_signal_each)
{
    reset(waiter_a);
    reset(waiter_b);
    KREQUIRE_EQ(spawn_thread(kWaiterA, wait_body<waiter_a>), Error::ok);
    KREQUIRE_EQ(spawn_thread(kWaiterB, wait_body<waiter_b>), Error::ok);
    KEXPECT_EQ(wait_until([] { return waiter_a.started == 1 && waiter_b.started == 1; }), true);
    yield_times(20);
    KEXPECT_EQ(l4::notify_signal(kNote, 0x1), Error::ok);
    KEXPECT_EQ(wait_until([] { return waiter_a.done + waiter_b.done == 1; }), true);
    yield_times(20);
    KEXPECT_EQ(waiter_a.done + waiter_b.done, 1);
    KEXPECT_EQ(l4::notify_signal(kNote, 0x2), Error::ok);
    KEXPECT_EQ(wait_until([] { return waiter_a.done + waiter_b.done == 2; }), true);
    KEXPECT_EQ(waiter_a.bits | waiter_b.bits, 0x3);
    KEXPECT_EQ(waiter_a.bits & waiter_b.bits, 0);
    KEXPECT_EQ(waiter_a.error, Error::ok);
    KEXPECT_EQ(waiter_b.error, Error::ok);
}

NOTIFY_TEST(notify_badged_copy_ors_badge)
{
    KREQUIRE_EQ(l4::cap_copy(kNote, kCopy, rights::send, 0x100), Error::ok);
    KEXPECT_EQ(l4::notify_signal(kCopy, 0x1), Error::ok);
    KEXPECT_EQ(poll_bits(kNote), 0x101);
    KEXPECT_EQ(l4::notify_signal(kCopy, 0), Error::ok);
    KEXPECT_EQ(poll_bits(kNote), 0x100);
}

NOTIFY_TEST(notify_two_badges_accumulate)
{
    KREQUIRE_EQ(l4::cap_copy(kNote, kCopy, rights::send, 0x10), Error::ok);
    KREQUIRE_EQ(l4::cap_copy(kNote, kCopy2, rights::send, 0x20), Error::ok);
    KEXPECT_EQ(l4::notify_signal(kCopy, 0), Error::ok);
    KEXPECT_EQ(l4::notify_signal(kCopy2, 0), Error::ok);
    KEXPECT_EQ(poll_bits(kNote), 0x30);
}

NOTIFY_TEST(notify_badge_wakes_waiter)
{
    KREQUIRE_EQ(l4::cap_copy(kNote, kCopy, rights::send, 0x4000), Error::ok);
    if (!start_waiter_a(10))
        return;
    KEXPECT_EQ(l4::notify_signal(kCopy, 0), Error::ok);
    expect_woken(Error::ok);
    KEXPECT_EQ(waiter_a.bits, 0x4000);
}

NOTIFY_TEST(notify_signal_needs_send)
{
    KREQUIRE_EQ(l4::cap_copy(kNote, kCopy, rights::all & ~rights::send), Error::ok);
    KEXPECT_EQ(l4::notify_signal(kCopy, 1), Error::missing_rights);
    KEXPECT_EQ(poll_bits(kNote), 0); // nothing was set
}

NOTIFY_TEST(notify_wait_and_poll_need_receive)
{
    KREQUIRE_EQ(l4::cap_copy(kNote, kCopy, rights::all & ~rights::receive), Error::ok);
    KEXPECT_EQ(l4::notify_signal(kNote, 0x9), Error::ok); // bits pending: wait would not block
    uint64_t bits = 0;
    KEXPECT_EQ(l4::notify_wait(kCopy, bits), Error::missing_rights);
    KEXPECT_EQ(poll_error(kCopy), Error::missing_rights);
    KEXPECT_EQ(poll_bits(kNote), 0x9); // the failed calls took nothing
}

KTEST(notify_on_wrong_types)
{
    Slots slots(300, 320);
    KREQUIRE_EQ(make(kEndpoint, ObjectKind::endpoint), Error::ok);
    uint64_t bits = 0;
    KEXPECT_EQ(l4::notify_signal(kEndpoint, 1), Error::wrong_type);
    KEXPECT_EQ(l4::notify_wait(kEndpoint, bits), Error::wrong_type);
    KEXPECT_EQ(poll_error(kEndpoint), Error::wrong_type);
    KEXPECT_EQ(l4::notify_signal(kSelf, 1), Error::wrong_type);
    KEXPECT_EQ(poll_error(kTask), Error::wrong_type);
    KEXPECT_EQ(poll_error(kFactory), Error::wrong_type);
}

KTEST(notify_invalid_selectors)
{
    const Selector bad_selectors[] = {kSlots, ~uint64_t{0}, kEmpty};
    uint64_t bits = 0;
    for (Selector bad : bad_selectors) {
        KEXPECT_EQ(l4::notify_signal(bad, 1), Error::invalid_selector);
        KEXPECT_EQ(l4::notify_wait(bad, bits), Error::invalid_selector);
        KEXPECT_EQ(poll_error(bad), Error::invalid_selector);
    }
}

NOTIFY_TEST(notify_delete_wakes_waiter)
{
    if (!start_waiter_a(10))
        return;
    KEXPECT_EQ(waiter_a.done, 0);
    KEXPECT_EQ(l4::cap_delete(kNote), Error::ok);
    expect_woken(Error::object_destroyed);
}

// A waiter deleted while blocked takes no bits with it.
NOTIFY_TEST(notify_deleted_waiter_takes_no_bits)
{
    if (!start_waiter_a(10))
        return;
    KEXPECT_EQ(release_slot(kWaiterA), Error::ok);
    KEXPECT_EQ(l4::notify_signal(kNote, 0x3), Error::ok);
    KEXPECT_EQ(poll_bits(kNote), 0x3);
    KEXPECT_EQ(waiter_a.done, 0);
}
