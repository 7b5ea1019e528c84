// Capabilities: cap_copy (rights, badges), cap_delete, cap_revoke and the derivation tree.
// Selectors 100-199. Notifications serve as probes: signal needs send, poll needs receive.
#include "helpers.hpp"

using namespace kt;

namespace {

constexpr Selector kA = 100, kB = 101, kC = 102, kD = 103, kE = 104;
constexpr Selector kEmpty = 150;
constexpr Selector kBadSelectors[] = {kSlots, uint64_t{1} << 40, ~uint64_t{0}, kEmpty};

// A -> B -> C: copies of A with all rights (KEXPECT_EQ each).
void copy_chain()
{
    KEXPECT_EQ(l4::cap_copy(kA, kB), Error::ok);
    KEXPECT_EQ(l4::cap_copy(kB, kC), Error::ok);
}

} // namespace

// A test on a notification at kA (slots 100-109).
#define CAP_TEST(name) KTEST_F(name, 100, 110, made(kA, ObjectKind::notification))

CAP_TEST(cap_copy_keeps_all_rights)
{
    KEXPECT_EQ(l4::cap_copy(kA, kB), Error::ok);
    KEXPECT_EQ(l4::notify_signal(kB, 0x3), Error::ok);
    KEXPECT_EQ(poll_bits(kA), 0x3);
    KEXPECT_EQ(l4::notify_signal(kA, 0x4), Error::ok);
    KEXPECT_EQ(poll_bits(kB), 0x4);
    KEXPECT_EQ(l4::cap_delete(kB), Error::ok);
    KEXPECT_EQ(l4::cap_delete(kA), Error::ok);
}

CAP_TEST(cap_copy_mask_drops_rights)
{
    KEXPECT_EQ(l4::cap_copy(kA, kB, rights::receive), Error::ok);
    KEXPECT_EQ(l4::notify_signal(kB, 1), Error::missing_rights);
    KEXPECT_EQ(poll_error(kB), Error::ok);
    KEXPECT_EQ(l4::cap_copy(kA, kC, rights::send), Error::ok);
    KEXPECT_EQ(l4::notify_signal(kC, 1), Error::ok);
    KEXPECT_EQ(poll_error(kC), Error::missing_rights);
    KEXPECT_EQ(poll_bits(kA), 1);
}

CAP_TEST(cap_copy_rights_never_grow)
{
    KEXPECT_EQ(l4::cap_copy(kA, kB, rights::receive), Error::ok);
    KEXPECT_EQ(l4::cap_copy(kB, kC, rights::all), Error::ok); // asks for more than kB has
    KEXPECT_EQ(l4::notify_signal(kC, 1), Error::missing_rights);
    KEXPECT_EQ(poll_error(kC), Error::ok);
}

CAP_TEST(cap_copy_with_empty_mask)
{
    KEXPECT_EQ(l4::cap_copy(kA, kB, 0), Error::ok);
    KEXPECT_EQ(l4::notify_signal(kB, 1), Error::missing_rights);
    KEXPECT_EQ(poll_error(kB), Error::missing_rights);
    KEXPECT_EQ(l4::cap_delete(kB), Error::ok);
}

KTEST(cap_copy_thread_without_control)
{
    Slots slots(100, 110);
    KEXPECT_EQ(l4::cap_copy(kSelf, kA, rights::all & ~rights::control), Error::ok);
    KEXPECT_EQ(l4::thread_control(kA, ThreadOp::set_priority, kMainPriority), Error::missing_rights);
    KEXPECT_EQ(l4::cap_copy(kSelf, kB), Error::ok);
    KEXPECT_EQ(l4::thread_control(kB, ThreadOp::set_priority, kMainPriority), Error::ok);
}

KTEST(cap_copy_to_occupied_slot)
{
    Slots slots(100, 110);
    KREQUIRE_EQ(make(kA, ObjectKind::endpoint), Error::ok);
    KREQUIRE_EQ(make(kB, ObjectKind::notification), Error::ok);
    KEXPECT_EQ(l4::cap_copy(kA, kB), Error::slot_occupied);
    KEXPECT_EQ(l4::cap_copy(kA, kSelf), Error::slot_occupied);
    KEXPECT_EQ(l4::cap_copy(kA, kA), Error::slot_occupied);
    // The occupant is untouched.
    KEXPECT_EQ(l4::notify_signal(kB, 0x10), Error::ok);
    KEXPECT_EQ(poll_bits(kB), 0x10);
}

KTEST(cap_copy_invalid_source)
{
    Slots slots(100, 110);
    for (Selector bad : kBadSelectors)
        KEXPECT_EQ(l4::cap_copy(bad, kA), Error::invalid_selector);
    KEXPECT_EQ(l4::cap_delete(kA), Error::invalid_selector); // nothing arrived
}

CAP_TEST(cap_copy_invalid_destination)
{
    const Selector bad_destinations[] = {kSlots, uint64_t{1} << 40, ~uint64_t{0}};
    for (Selector bad : bad_destinations)
        KEXPECT_EQ(l4::cap_copy(kA, bad), Error::invalid_selector);
}

CAP_TEST(cap_copy_to_last_slot)
{
    KEXPECT_EQ(l4::cap_copy(kA, kSlots - 1), Error::ok);
    KEXPECT_EQ(l4::notify_signal(kSlots - 1, 0x40), Error::ok);
    KEXPECT_EQ(poll_bits(kA), 0x40);
    KEXPECT_EQ(l4::cap_delete(kSlots - 1), Error::ok);
}

KTEST(cap_delete_invalid_selectors)
{
    for (Selector bad : kBadSelectors)
        KEXPECT_EQ(l4::cap_delete(bad), Error::invalid_selector);
}

KTEST(cap_revoke_invalid_selectors)
{
    for (Selector bad : kBadSelectors)
        KEXPECT_EQ(l4::cap_revoke(bad), Error::invalid_selector);
}

CAP_TEST(cap_delete_empties_slot)
{
    KEXPECT_EQ(l4::cap_delete(kA), Error::ok);
    KEXPECT_EQ(l4::notify_signal(kA, 1), Error::invalid_selector);
    KEXPECT_EQ(poll_error(kA), Error::invalid_selector);
    KEXPECT_EQ(l4::cap_copy(kA, kB), Error::invalid_selector);
    KEXPECT_EQ(l4::cap_delete(kA), Error::invalid_selector);
    KEXPECT_EQ(make(kA, ObjectKind::notification), Error::ok); // the slot is free again
}

CAP_TEST(cap_delete_original_keeps_copy)
{
    KEXPECT_EQ(l4::cap_copy(kA, kB), Error::ok);
    KEXPECT_EQ(l4::cap_delete(kA), Error::ok);
    KEXPECT_EQ(l4::notify_signal(kB, 0x20), Error::ok);
    KEXPECT_EQ(poll_bits(kB), 0x20);
    KEXPECT_EQ(l4::cap_revoke(kB), Error::ok);
}

KTEST(badge_mint_on_endpoint_once)
{
    Slots slots(100, 110);
    KREQUIRE_EQ(make(kA, ObjectKind::endpoint), Error::ok);
    KEXPECT_EQ(l4::cap_copy(kA, kB, rights::all, 0x1234), Error::ok);
    KEXPECT_EQ(l4::cap_copy(kB, kC, rights::all, 0x99), Error::invalid_argument);
    KEXPECT_EQ(l4::cap_delete(kC), Error::invalid_selector);     // nothing was made
    KEXPECT_EQ(l4::cap_copy(kB, kC, rights::all, 0), Error::ok); // plain copy of a badged cap
    KEXPECT_EQ(l4::cap_copy(kC, kD, rights::send, 0x99), Error::invalid_argument);
}

// A copy with badge 0 keeps the source's badge (visible through a notification).
CAP_TEST(badge_kept_by_plain_copy)
{
    KEXPECT_EQ(l4::cap_copy(kA, kB, rights::send, 0x500), Error::ok);
    KEXPECT_EQ(l4::cap_copy(kB, kC, rights::send, 0), Error::ok);
    KEXPECT_EQ(l4::notify_signal(kC, 0), Error::ok);
    KEXPECT_EQ(poll_bits(kA), 0x500);
    KEXPECT_EQ(l4::cap_copy(kB, kD, rights::all, 0x600), Error::invalid_argument);
}

KTEST(badge_on_unbadgeable_caps)
{
    Slots slots(100, 110);
    const Selector unbadgeable[] = {kSelf, kTask, kFactory};
    for (Selector s : unbadgeable)
        KEXPECT_EQ(l4::cap_copy(s, kA, rights::all, 5), Error::invalid_argument);
    KEXPECT_EQ(l4::cap_delete(kA), Error::invalid_selector);
    KEXPECT_EQ(l4::cap_copy(kSelf, kA, rights::all, 0), Error::ok);
}

CAP_TEST(revoke_three_level_chain)
{
    copy_chain();
    KEXPECT_EQ(l4::cap_revoke(kA), Error::ok);
    KEXPECT_EQ(poll_error(kB), Error::invalid_selector);
    KEXPECT_EQ(poll_error(kC), Error::invalid_selector);
    KEXPECT_EQ(l4::notify_signal(kA, 0x7), Error::ok);
    KEXPECT_EQ(poll_bits(kA), 0x7);
    KEXPECT_EQ(l4::cap_copy(kA, kB), Error::ok); // the slots are free again
}

CAP_TEST(revoke_middle_keeps_siblings_and_other_trees)
{
    KREQUIRE_EQ(make(kD, ObjectKind::notification), Error::ok);
    copy_chain();                                 // A -> B -> C
    KEXPECT_EQ(l4::cap_copy(kA, 105), Error::ok); // A -> 105 (sibling of B)
    KEXPECT_EQ(l4::cap_copy(kD, kE), Error::ok);  // another object: D -> E
    KEXPECT_EQ(l4::cap_revoke(kB), Error::ok);
    KEXPECT_EQ(poll_error(kC), Error::invalid_selector);
    KEXPECT_EQ(poll_error(kB), Error::ok);
    KEXPECT_EQ(poll_error(105), Error::ok);
    KEXPECT_EQ(poll_error(kA), Error::ok);
    KEXPECT_EQ(l4::cap_revoke(kA), Error::ok);
    KEXPECT_EQ(poll_error(kB), Error::invalid_selector);
    KEXPECT_EQ(poll_error(105), Error::invalid_selector);
    KEXPECT_EQ(poll_error(kE), Error::ok); // other trees are untouched
    KEXPECT_EQ(poll_error(kD), Error::ok);
}

CAP_TEST(revoke_after_middle_deleted_reaches_grandchild)
{
    copy_chain();
    KEXPECT_EQ(l4::cap_delete(kB), Error::ok);
    KEXPECT_EQ(poll_error(kC), Error::ok); // C survives its parent
    KEXPECT_EQ(l4::cap_revoke(kA), Error::ok);
    KEXPECT_EQ(poll_error(kC), Error::invalid_selector);
    KEXPECT_EQ(poll_error(kA), Error::ok);
}

CAP_TEST(revoke_leaf_changes_nothing)
{
    KEXPECT_EQ(l4::cap_copy(kA, kB), Error::ok);
    KEXPECT_EQ(l4::cap_revoke(kB), Error::ok);
    KEXPECT_EQ(l4::cap_revoke(kB), Error::ok);
    KEXPECT_EQ(l4::notify_signal(kB, 2), Error::ok);
    KEXPECT_EQ(poll_bits(kA), 2);
}

// Revoking the boot factory's copies: the factory itself (slot 2) keeps working.
KTEST(revoke_copy_of_boot_factory)
{
    Slots slots(100, 110);
    KEXPECT_EQ(l4::cap_copy(kFactory, kA), Error::ok);
    KEXPECT_EQ(l4::cap_copy(kA, kB), Error::ok);
    KEXPECT_EQ(l4::cap_revoke(kA), Error::ok);
    KEXPECT_EQ(l4::factory_create(kB, ObjectKind::notification, kC), Error::invalid_selector);
    KEXPECT_EQ(l4::factory_create(kA, ObjectKind::notification, kC), Error::ok);
    KEXPECT_EQ(l4::cap_delete(kC), Error::ok);
}

// cap_copy_to: capabilities into a task we made (slots 110-129). The copy is recorded like any
// other: it fills the slot in that task, revoking our capability takes it back, and it keeps
// the object alive (the object's bytes come back only when the last copy goes).
namespace {
constexpr Selector kSubF = 110, kTaskT = 111, kNote = 112, kWeakTask = 113, kMeasure = 114;
constexpr uint64_t kSlotsInT = 16;
} // namespace

namespace {
// A 64 KiB sub-factory at kSubF, and in it a task at kTaskT and a notification at kNote.
bool copy_to_set_up()
{
    KREQUIRE_EQ_OR(l4::factory_create(kFactory, ObjectKind::factory, kSubF, 64 * 1024), Error::ok, false);
    KREQUIRE_EQ_OR(l4::factory_create(kSubF, ObjectKind::task, kTaskT, kSlotsInT), Error::ok, false);
    KREQUIRE_EQ_OR(l4::factory_create(kSubF, ObjectKind::notification, kNote), Error::ok, false);
    return true;
}
} // namespace

#define CAP_COPY_TO_TEST(name) KTEST_F(name, 110, 130, copy_to_set_up())

CAP_COPY_TO_TEST(cap_copy_to_fills_a_slot_of_the_task)
{
    KEXPECT_EQ(l4::cap_copy_to(kTaskT, kNote, 5), Error::ok);
    KEXPECT_EQ(l4::cap_copy_to(kTaskT, kNote, 5), Error::slot_occupied);
    KEXPECT_EQ(l4::cap_copy_to(kTaskT, kNote, 6, abi::rights::send, 0x77), Error::ok); // a badged copy
    KEXPECT_EQ(l4::cap_copy_to(kTaskT, kNote, kSlotsInT - 1), Error::ok);
    // Revoking ours takes both copies back: their slots take new copies again.
    KEXPECT_EQ(l4::cap_revoke(kNote), Error::ok);
    KEXPECT_EQ(l4::cap_copy_to(kTaskT, kNote, 5), Error::ok);
    KEXPECT_EQ(l4::cap_copy_to(kTaskT, kNote, 6), Error::ok);
    KEXPECT_EQ(l4::notify_signal(kNote, 1), Error::ok); // ours is untouched
    KEXPECT_EQ(poll_bits(kNote), 1);
}

CAP_COPY_TO_TEST(cap_copy_to_refusals)
{
    KEXPECT_EQ(l4::cap_copy_to(kTaskT, kNote, kSlotsInT), Error::invalid_selector); // past the task's slots
    KEXPECT_EQ(l4::cap_copy_to(kTaskT, kNote, ~uint64_t{0}), Error::invalid_selector);
    KEXPECT_EQ(l4::cap_copy_to(kTaskT, kEmpty, 5), Error::invalid_selector); // no source
    KEXPECT_EQ(l4::cap_copy_to(kEmpty, kNote, 5), Error::invalid_selector);  // no task
    KEXPECT_EQ(l4::cap_copy_to(kNote, kNote, 5), Error::wrong_type);         // not a task
    KEXPECT_EQ(l4::cap_copy(kTaskT, kWeakTask, abi::rights::send), Error::ok);
    KEXPECT_EQ(l4::cap_copy_to(kWeakTask, kNote, 5), Error::missing_rights); // no control
    KEXPECT_EQ(l4::cap_copy_to(kTaskT, kNote, 5, abi::rights::all, 0x1), Error::ok);
    KEXPECT_EQ(l4::cap_copy_to(kTaskT, 5, 7), Error::invalid_selector); // 5 is the task's, not ours
    // Copying into our own task through its capability is cap_copy.
    KEXPECT_EQ(l4::cap_copy_to(kTask, kNote, kWeakTask), Error::slot_occupied);
    KEXPECT_EQ(l4::cap_copy_to(kTask, kNote, kMeasure), Error::ok);
    KEXPECT_EQ(l4::notify_signal(kMeasure, 2), Error::ok);
    KEXPECT_EQ(poll_bits(kNote), 2);
}

CAP_COPY_TO_TEST(cap_copy_to_keeps_the_object_alive)
{
    KEXPECT_EQ(l4::cap_copy_to(kTaskT, kNote, 5), Error::ok);
    uint64_t with_note = available(kSubF, kMeasure);
    KEXPECT_EQ(l4::cap_delete(kNote), Error::ok);
    KEXPECT_EQ(available(kSubF, kMeasure), with_note); // the task's copy keeps it
    KEXPECT_EQ(l4::cap_delete(kTaskT), Error::ok);     // the task and its copy go: so does it
    KEXPECT_EQ(available(kSubF, kMeasure) > with_note, true);
}

// A thread of the task, its capability copied into the task's own space: revoking and deleting
// ours destroys the thread, and its bytes come back. (Measured after a first thread: the page
// tables of the task's UTCB area stay, charged, until the task dies.)
CAP_COPY_TO_TEST(cap_copy_to_a_thread_of_that_task)
{
    constexpr Selector kThreadT = 115;
    KREQUIRE_EQ(l4::factory_create(kSubF, ObjectKind::thread, kThreadT, kTaskT, kMainPriority), Error::ok);
    KREQUIRE_EQ(l4::cap_delete(kThreadT), Error::ok);
    uint64_t before = available(kSubF, kMeasure);
    KREQUIRE_EQ(l4::factory_create(kSubF, ObjectKind::thread, kThreadT, kTaskT, kMainPriority), Error::ok);
    KEXPECT_EQ(l4::cap_copy_to(kTaskT, kThreadT, 3), Error::ok);
    KEXPECT_EQ(l4::cap_copy_to(kTaskT, kTaskT, 4), Error::ok); // the task holds itself, too
    KEXPECT_EQ(l4::cap_revoke(kThreadT), Error::ok);
    KEXPECT_EQ(l4::cap_delete(kThreadT), Error::ok);
    KEXPECT_EQ(available(kSubF, kMeasure), before);
}
