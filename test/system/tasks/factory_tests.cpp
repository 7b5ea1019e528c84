// factory_create: every kind, argument checks, and quotas of sub-factories. Selectors 600-699.
#include "helpers.hpp"

using namespace kt;

namespace {

constexpr Selector kObj = 600, kObj2 = 601, kSub = 602, kSub2 = 603, kCopy = 604;
constexpr Selector kFillFirst = 610, kFillEnd = 700; // slots for filling a quota
constexpr Selector kEmpty = 650;

// The part of a thread's cost that is certain: its kernel stack and UTCB page.
constexpr uint64_t kThreadCostAtLeast = 8192 + 4096;

Error create_in(Selector factory, ObjectKind kind, Selector slot, uint64_t a0 = 0, uint64_t a1 = 0)
{
    return l4::factory_create(factory, kind, slot, a0, a1);
}

// factory_create with a kind number outside ObjectKind.
Error create_raw(uint64_t kind, Selector slot)
{
    return l4::raw_syscall(static_cast<uint64_t>(abi::Syscall::factory_create), kFactory, kind, slot);
}

} // namespace

KTEST(factory_create_endpoint)
{
    Slots slots(600, 610);
    KREQUIRE_EQ(make(kObj, ObjectKind::endpoint), Error::ok);
    l4::Message m;
    KEXPECT_EQ(l4::send(kObj, m, abi::kTimeoutZero), Error::timeout); // an endpoint, no receiver
    KEXPECT_EQ(l4::notify_signal(kObj, 1), Error::wrong_type);
    KEXPECT_EQ(l4::cap_delete(kObj), Error::ok);
}

KTEST(factory_create_notification)
{
    Slots slots(600, 610);
    KREQUIRE_EQ(make(kObj, ObjectKind::notification), Error::ok);
    KEXPECT_EQ(l4::notify_signal(kObj, 0x11), Error::ok);
    KEXPECT_EQ(poll_bits(kObj), 0x11);
    KEXPECT_EQ(l4::cap_delete(kObj), Error::ok);
}

KTEST(factory_create_thread)
{
    Slots slots(600, 610);
    KREQUIRE_EQ(create_in(kFactory, ObjectKind::thread, kObj, kTask, kMainPriority), Error::ok);
    KEXPECT_EQ(l4::thread_control(kObj, ThreadOp::set_priority, 10), Error::ok);
    KEXPECT_EQ(l4::notify_signal(kObj, 1), Error::wrong_type);
    KEXPECT_EQ(l4::cap_delete(kObj), Error::ok);
}

KTEST(factory_create_task)
{
    Slots slots(600, 610);
    KREQUIRE_EQ(create_in(kFactory, ObjectKind::task, kObj, 16), Error::ok);
    // A thread in the new (empty) address space; never started.
    KEXPECT_EQ(create_in(kFactory, ObjectKind::thread, kObj2, kObj, 50), Error::ok);
    KEXPECT_EQ(l4::cap_delete(kObj2), Error::ok);
    KEXPECT_EQ(l4::cap_delete(kObj), Error::ok);
}

KTEST(factory_create_factory)
{
    Slots slots(600, 610);
    KREQUIRE_EQ(create_in(kFactory, ObjectKind::factory, kSub, 64 * 1024), Error::ok);
    KEXPECT_EQ(create_in(kSub, ObjectKind::endpoint, kObj), Error::ok);
    KEXPECT_EQ(create_in(kSub, ObjectKind::notification, kObj2), Error::ok);
    KEXPECT_EQ(create_in(kSub, ObjectKind::factory, kSub2, 4096), Error::ok);
    KEXPECT_EQ(l4::cap_delete(kObj), Error::ok);
    KEXPECT_EQ(l4::cap_delete(kObj2), Error::ok);
    KEXPECT_EQ(l4::cap_delete(kSub2), Error::ok);
    KEXPECT_EQ(l4::cap_delete(kSub), Error::ok);
}

KTEST(factory_create_unknown_kind)
{
    Slots slots(600, 610);
    KEXPECT_EQ(create_raw(7, kObj), Error::invalid_argument); // 6 is reply, the last
    KEXPECT_EQ(create_raw(99, kObj), Error::invalid_argument);
    KEXPECT_EQ(create_raw(~uint64_t{0}, kObj), Error::invalid_argument);
    KEXPECT_EQ(l4::cap_delete(kObj), Error::invalid_selector);
}

KTEST(factory_create_on_non_factory)
{
    Slots slots(600, 610);
    KEXPECT_EQ(create_in(kSelf, ObjectKind::endpoint, kObj), Error::wrong_type);
    KEXPECT_EQ(create_in(kTask, ObjectKind::endpoint, kObj), Error::wrong_type);
    KREQUIRE_EQ(make(kObj2, ObjectKind::endpoint), Error::ok);
    KEXPECT_EQ(create_in(kObj2, ObjectKind::endpoint, kObj), Error::wrong_type);
    KEXPECT_EQ(l4::cap_delete(kObj), Error::invalid_selector);
}

KTEST(factory_create_invalid_factory_selector)
{
    Slots slots(600, 610);
    KEXPECT_EQ(create_in(kSlots, ObjectKind::endpoint, kObj), Error::invalid_selector);
    KEXPECT_EQ(create_in(~uint64_t{0}, ObjectKind::endpoint, kObj), Error::invalid_selector);
    KEXPECT_EQ(create_in(kEmpty, ObjectKind::endpoint, kObj), Error::invalid_selector);
}

KTEST(factory_create_destination_checks)
{
    Slots slots(600, 610);
    KEXPECT_EQ(make(kSelf, ObjectKind::endpoint), Error::slot_occupied);
    KREQUIRE_EQ(make(kObj, ObjectKind::notification), Error::ok);
    KEXPECT_EQ(make(kObj, ObjectKind::endpoint), Error::slot_occupied);
    KEXPECT_EQ(l4::notify_signal(kObj, 1), Error::ok); // still the notification
    KEXPECT_EQ(make(kSlots, ObjectKind::endpoint), Error::invalid_selector);
    KEXPECT_EQ(make(~uint64_t{0}, ObjectKind::endpoint), Error::invalid_selector);
}

KTEST(factory_create_task_slot_limits)
{
    Slots slots(600, 610);
    KEXPECT_EQ(create_in(kFactory, ObjectKind::task, kObj, 0), Error::invalid_argument);
    KEXPECT_EQ(create_in(kFactory, ObjectKind::task, kObj, abi::kMaxTaskSlots + 1), Error::invalid_argument);
    KEXPECT_EQ(create_in(kFactory, ObjectKind::task, kObj, ~uint64_t{0}), Error::invalid_argument);
    KEXPECT_EQ(l4::cap_delete(kObj), Error::invalid_selector);
    KEXPECT_EQ(create_in(kFactory, ObjectKind::task, kObj, 1), Error::ok);
    KEXPECT_EQ(create_in(kFactory, ObjectKind::task, kObj2, abi::kMaxTaskSlots), Error::ok);
}

KTEST(factory_create_thread_priority_limits)
{
    Slots slots(600, 610);
    KEXPECT_EQ(create_in(kFactory, ObjectKind::thread, kObj, kTask, 256), Error::invalid_argument);
    KEXPECT_EQ(create_in(kFactory, ObjectKind::thread, kObj, kTask, kMainPriority + 1), Error::invalid_argument);
    KEXPECT_EQ(l4::cap_delete(kObj), Error::invalid_selector);
    KEXPECT_EQ(create_in(kFactory, ObjectKind::thread, kObj, kTask, kMainPriority), Error::ok);
    KEXPECT_EQ(create_in(kFactory, ObjectKind::thread, kObj2, kTask, 0), Error::ok);
}

KTEST(factory_create_thread_task_checks)
{
    Slots slots(600, 610);
    KEXPECT_EQ(create_in(kFactory, ObjectKind::thread, kObj, kSelf, 50), Error::wrong_type);
    KEXPECT_EQ(create_in(kFactory, ObjectKind::thread, kObj, kSlots, 50), Error::invalid_selector);
    KEXPECT_EQ(create_in(kFactory, ObjectKind::thread, kObj, kEmpty, 50), Error::invalid_selector);
    KEXPECT_EQ(l4::cap_copy(kTask, kCopy, rights::send), Error::ok);
    KEXPECT_EQ(create_in(kFactory, ObjectKind::thread, kObj, kCopy, 50), Error::missing_rights);
    KEXPECT_EQ(l4::cap_delete(kObj), Error::invalid_selector);
}

KTEST(factory_create_needs_control)
{
    Slots slots(600, 610);
    KEXPECT_EQ(l4::cap_copy(kFactory, kCopy, rights::send), Error::ok);
    KEXPECT_EQ(create_in(kCopy, ObjectKind::endpoint, kObj), Error::missing_rights);
    KEXPECT_EQ(l4::cap_delete(kObj), Error::invalid_selector);
    KEXPECT_EQ(l4::cap_delete(kCopy), Error::ok);
    KEXPECT_EQ(l4::cap_copy(kFactory, kCopy, rights::control), Error::ok);
    KEXPECT_EQ(create_in(kCopy, ObjectKind::endpoint, kObj), Error::ok);
}

// A 1 KiB sub-factory fills up with notifications; the parent goes on; a delete refunds.
KTEST(sub_factory_quota_fills_and_refunds)
{
    Slots slots(600, 700);
    KREQUIRE_EQ(create_in(kFactory, ObjectKind::factory, kSub, 1024), Error::ok);
    Selector next = kFillFirst;
    Error e = Error::ok;
    while (next < kFillEnd) {
        e = create_in(kSub, ObjectKind::notification, next);
        if (e != Error::ok)
            break;
        ++next;
    }
    KEXPECT_EQ(e, Error::quota_exhausted);
    KEXPECT_EQ(next > kFillFirst, true); // at least one fitted
    KREQUIRE_EQ(next < kFillEnd, true);
    KEXPECT_EQ(l4::cap_delete(next), Error::invalid_selector); // nothing changed
    KEXPECT_EQ(create_in(kSub, ObjectKind::notification, next), Error::quota_exhausted);
    KEXPECT_EQ(make(kObj, ObjectKind::notification), Error::ok); // the parent still works
    KEXPECT_EQ(l4::cap_delete(kFillFirst), Error::ok);
    KEXPECT_EQ(create_in(kSub, ObjectKind::notification, next), Error::ok);
    KEXPECT_EQ(create_in(kSub, ObjectKind::notification, next + 1), Error::quota_exhausted);
}

// One thread fits in a 20 KiB sub-factory, two do not; deleting the first makes room.
KTEST(sub_factory_thread_quota)
{
    Slots slots(600, 610);
    KREQUIRE_EQ(create_in(kFactory, ObjectKind::factory, kSub, 20 * 1024), Error::ok);
    KEXPECT_EQ(create_in(kSub, ObjectKind::thread, kObj, kTask, 50), Error::ok);
    KEXPECT_EQ(create_in(kSub, ObjectKind::thread, kObj2, kTask, 50), Error::quota_exhausted);
    KEXPECT_EQ(l4::cap_delete(kObj2), Error::invalid_selector);
    KEXPECT_EQ(l4::cap_delete(kObj), Error::ok);
    KEXPECT_EQ(create_in(kSub, ObjectKind::thread, kObj2, kTask, 50), Error::ok);
}

KTEST(sub_factory_too_small_for_a_thread)
{
    Slots slots(600, 610);
    KREQUIRE_EQ(create_in(kFactory, ObjectKind::factory, kSub, kThreadCostAtLeast - 1), Error::ok);
    KEXPECT_EQ(create_in(kSub, ObjectKind::thread, kObj, kTask, 50), Error::quota_exhausted);
    KEXPECT_EQ(create_in(kSub, ObjectKind::endpoint, kObj), Error::ok);
}

KTEST(sub_factory_larger_than_parent)
{
    Slots slots(600, 610);
    KREQUIRE_EQ(create_in(kFactory, ObjectKind::factory, kSub, 8192), Error::ok);
    KEXPECT_EQ(create_in(kSub, ObjectKind::factory, kSub2, 8193), Error::quota_exhausted);
    KEXPECT_EQ(create_in(kSub, ObjectKind::factory, kSub2, ~uint64_t{0}), Error::quota_exhausted);
    KEXPECT_EQ(create_in(kFactory, ObjectKind::factory, kSub2, boot_quota() + 1), Error::quota_exhausted);
    KEXPECT_EQ(create_in(kFactory, ObjectKind::factory, kSub2, ~uint64_t{0}), Error::quota_exhausted);
    KEXPECT_EQ(l4::cap_delete(kSub2), Error::invalid_selector);
    KEXPECT_EQ(create_in(kSub, ObjectKind::factory, kSub2, 4096), Error::ok);
}

// Destroying a sub-factory gives its whole quota back to the parent.
KTEST(sub_factory_delete_refunds_parent)
{
    Slots slots(600, 610);
    const uint64_t kBig = available(kFactory, kCopy) / 2 + 1; // only one fits
    KREQUIRE_EQ(create_in(kFactory, ObjectKind::factory, kSub, kBig), Error::ok);
    KEXPECT_EQ(create_in(kFactory, ObjectKind::factory, kSub2, kBig), Error::quota_exhausted);
    KEXPECT_EQ(l4::cap_delete(kSub), Error::ok);
    KEXPECT_EQ(create_in(kFactory, ObjectKind::factory, kSub2, kBig), Error::ok);
}

// A sub-factory of a sub-factory charges its own parent, not the grandparent's spare room.
KTEST(nested_factory_quota)
{
    Slots slots(600, 610);
    KREQUIRE_EQ(create_in(kFactory, ObjectKind::factory, kSub, 16 * 1024), Error::ok);
    KREQUIRE_EQ(create_in(kSub, ObjectKind::factory, kSub2, 1024), Error::ok);
    KEXPECT_EQ(create_in(kSub2, ObjectKind::thread, kObj, kTask, 50), Error::quota_exhausted);
    KEXPECT_EQ(create_in(kSub2, ObjectKind::notification, kObj), Error::ok);
}
