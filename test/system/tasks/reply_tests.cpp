// Deferred replies (reply objects), notifications bound to a thread, notify_wait timeouts and
// the cancelling of badged sends. Selectors 360-399 (threads first).
#include "ipc_peer.hpp"

using namespace kt;
using namespace kt::ipc;

namespace {

constexpr Selector kClientA = 360, kClientB = 361;
constexpr Selector kEp = 370, kBadgedEp = 371, kBadgedCopy = 372;
constexpr Selector kReplyA = 375, kReplyB = 376, kWeakReply = 377;
constexpr Selector kBound = 380, kOtherNote = 381;
constexpr Selector kEmptySlot = 390;

bool endpoint_and_replies()
{
    return made(kEp, ObjectKind::endpoint) && made(kReplyA, ObjectKind::reply) && made(kReplyB, ObjectKind::reply);
}

// Client p calls through `endpoint` with label `label`, one word `word`.
bool start_caller(Selector slot, Peer& p, Selector endpoint, uint64_t label, uint64_t word, void (*body)())
{
    reset(p, endpoint);
    p.msg.tag = Tag::make(label, 1);
    p.msg.words[0] = word;
    return spawn_started(slot, body, p.started, 50);
}

// Receives one call on kEp (polled: the caller may still be on its way), expecting `word`.
bool receive_call(uint64_t word)
{
    l4::Message m;
    KREQUIRE_EQ_OR(receive_polled(kEp, m), Error::ok, false);
    KEXPECT_EQ(m.words[0], word);
    return true;
}

l4::Message one_word(uint64_t label, uint64_t word)
{
    l4::Message m;
    m.tag = Tag::make(label, 1);
    m.words[0] = word;
    return m;
}

} // namespace

#define REPLY_TEST(name) KTEST_F(name, 360, 400, endpoint_and_replies())

REPLY_TEST(reply_kept_replies_answered_in_the_other_order)
{
    KREQUIRE_EQ(start_caller(kClientA, peer_a, kEp, 1, 0xa, call_body<peer_a>), true);
    KREQUIRE_EQ(start_caller(kClientB, peer_b, kEp, 2, 0xb, call_body<peer_b>), true);
    KREQUIRE_EQ(receive_call(0xa), true);
    KEXPECT_EQ(l4::reply_save(kReplyA), Error::ok);
    KREQUIRE_EQ(receive_call(0xb), true); // a's call is kept, not abandoned
    KEXPECT_EQ(l4::reply_save(kReplyB), Error::ok);
    yield_times(20);
    KEXPECT_EQ(peer_a.done, 0); // both still wait
    KEXPECT_EQ(peer_b.done, 0);

    KEXPECT_EQ(l4::reply_to(kReplyB, one_word(0x20, 0xbb)), Error::ok);
    if (!peer_done(peer_b))
        return;
    KEXPECT_EQ(peer_b.msg.tag.raw, Tag::make(0x20, 1).raw);
    KEXPECT_EQ(peer_b.msg.words[0], 0xbb);
    KEXPECT_EQ(peer_a.done, 0);
    KEXPECT_EQ(l4::reply_to(kReplyA, one_word(0x10, 0xaa)), Error::ok);
    if (!peer_done(peer_a))
        return;
    KEXPECT_EQ(peer_a.msg.tag.raw, Tag::make(0x10, 1).raw);
    KEXPECT_EQ(peer_a.msg.words[0], 0xaa);
    // Used once: both are empty again.
    KEXPECT_EQ(l4::reply_to(kReplyA, one_word(0, 0)), Error::invalid_selector);
    KEXPECT_EQ(l4::reply_to(kReplyB, one_word(0, 0)), Error::invalid_selector);
}

REPLY_TEST(reply_save_and_reply_to_errors)
{
    KEXPECT_EQ(l4::reply_save(kReplyA), Error::invalid_selector);               // no caller
    KEXPECT_EQ(l4::reply_to(kReplyA, one_word(0, 0)), Error::invalid_selector); // keeps none
    KREQUIRE_EQ(start_caller(kClientA, peer_a, kEp, 1, 0xa, call_body<peer_a>), true);
    KREQUIRE_EQ(receive_call(0xa), true);
    KEXPECT_EQ(l4::reply_save(kEp), Error::wrong_type);
    KEXPECT_EQ(l4::reply_save(kEmptySlot), Error::invalid_selector);
    KEXPECT_EQ(l4::reply_save(kSlots), Error::invalid_selector);
    KEXPECT_EQ(l4::reply_save(~Selector{0}), Error::invalid_selector);
    KREQUIRE_EQ(l4::cap_copy(kReplyA, kWeakReply, rights::all & ~rights::send), Error::ok);
    KEXPECT_EQ(l4::reply_save(kWeakReply), Error::missing_rights);
    KEXPECT_EQ(l4::reply_save(kReplyA), Error::ok);
    KEXPECT_EQ(l4::reply_to(kWeakReply, one_word(0, 0)), Error::missing_rights);
    KEXPECT_EQ(l4::reply_to(kEp, one_word(0, 0)), Error::wrong_type);
    // A malformed reply is refused and the caller stays kept.
    KEXPECT_EQ(l4::reply_to(kReplyA, l4::Message{Tag::make(1, 65)}), Error::invalid_argument);
    KEXPECT_EQ(l4::reply_to(kReplyA, l4::Message{Tag::make(1, 0, 5)}), Error::invalid_argument);

    KREQUIRE_EQ(start_caller(kClientB, peer_b, kEp, 2, 0xb, call_body<peer_b>), true);
    KREQUIRE_EQ(receive_call(0xb), true);
    KEXPECT_EQ(l4::reply_save(kReplyA), Error::busy);    // it keeps a's
    KEXPECT_EQ(l4::reply(one_word(3, 0xb3)), Error::ok); // b's reply was not moved
    if (!peer_done(peer_b))
        return;
    KEXPECT_EQ(peer_b.msg.words[0], 0xb3);
    KEXPECT_EQ(peer_a.done, 0);
    KEXPECT_EQ(l4::reply_to(kReplyA, one_word(4, 0xa4)), Error::ok);
    if (peer_done(peer_a))
        KEXPECT_EQ(peer_a.msg.words[0], 0xa4);
}

REPLY_TEST(reply_deleted_reply_object_ends_the_kept_call)
{
    uint64_t before = available(kFactory, kEmptySlot);
    KREQUIRE_EQ(start_caller(kClientA, peer_a, kEp, 1, 0xa, call_body<peer_a>), true);
    KREQUIRE_EQ(receive_call(0xa), true);
    KEXPECT_EQ(l4::reply_save(kReplyA), Error::ok);
    KEXPECT_EQ(l4::cap_delete(kReplyA), Error::ok);
    peer_done(peer_a, Error::object_destroyed);
    KREQUIRE_EQ(release_slot(kClientA), Error::ok);
    // The reply object's memory came back: a new one costs what the old one did.
    KREQUIRE_EQ(make(kReplyA, ObjectKind::reply), Error::ok);
    KEXPECT_EQ(available(kFactory, kEmptySlot), before);
}

REPLY_TEST(reply_kept_caller_killed)
{
    KREQUIRE_EQ(start_caller(kClientA, peer_a, kEp, 1, 0xa, call_body<peer_a>), true);
    KREQUIRE_EQ(receive_call(0xa), true);
    KEXPECT_EQ(l4::reply_save(kReplyA), Error::ok);
    KEXPECT_EQ(release_slot(kClientA), Error::ok); // the caller dies while its reply is kept
    KEXPECT_EQ(l4::reply_to(kReplyA, one_word(0, 0)), Error::invalid_selector);
    // The reply object serves the next caller.
    KREQUIRE_EQ(start_caller(kClientB, peer_b, kEp, 2, 0xb, call_body<peer_b>), true);
    KREQUIRE_EQ(receive_call(0xb), true);
    KEXPECT_EQ(l4::reply_save(kReplyA), Error::ok);
    KEXPECT_EQ(l4::reply_to(kReplyA, one_word(5, 0xb5)), Error::ok);
    if (peer_done(peer_b))
        KEXPECT_EQ(peer_b.msg.words[0], 0xb5);
}

// A thread of ours blocked in a receive on kEp with kBound bound to it: peer_a records what
// ended the receive.
#define BOUND_TEST(name)                                                                                               \
    KTEST_F(name, 360, 400, made(kEp, ObjectKind::endpoint) && made(kBound, ObjectKind::notification))

BOUND_TEST(bound_notification_ends_a_receive)
{
    reset(peer_a, kEp);
    KREQUIRE_EQ(create_thread(kClientA), Error::ok);
    KREQUIRE_EQ(l4::bind_notification(kClientA, kBound), Error::ok);
    KREQUIRE_EQ(start_thread(kClientA, receive_body<peer_a>), Error::ok);
    KREQUIRE_EQ(wait_flag(peer_a.started), true);
    yield_times(20);
    KEXPECT_EQ(peer_a.done, 0);
    KEXPECT_EQ(l4::notify_signal(kBound, 0x90), Error::ok);
    if (!peer_done(peer_a))
        return;
    KEXPECT_EQ(peer_a.msg.tag.raw, Tag::make(abi::label::notification, 1).raw);
    KEXPECT_EQ(peer_a.msg.words[0], 0x90);
    KEXPECT_EQ(peer_a.msg.badge, 0);
    KEXPECT_EQ(poll_bits(kBound), 0); // delivered, so cleared
}

BOUND_TEST(bound_notification_pending_bits_return_at_once)
{
    KREQUIRE_EQ(l4::bind_notification(kSelf, kBound), Error::ok);
    KEXPECT_EQ(l4::notify_signal(kBound, 0x3), Error::ok);
    l4::Message m;
    KEXPECT_EQ(l4::receive(kEp, m, abi::kTimeoutZero), Error::ok);
    KEXPECT_EQ(m.tag.label(), abi::label::notification);
    KEXPECT_EQ(m.words[0], 0x3);
    m = l4::Message{};
    KEXPECT_EQ(l4::receive(kEp, m, abi::kTimeoutZero), Error::timeout); // nothing left
    KEXPECT_EQ(l4::bind_notification(kSelf, abi::kUnbind), Error::ok);
    KEXPECT_EQ(l4::notify_signal(kBound, 0x4), Error::ok);
    KEXPECT_EQ(l4::receive(kEp, m, abi::kTimeoutZero), Error::timeout); // unbound
    KEXPECT_EQ(poll_bits(kBound), 0x4);
}

BOUND_TEST(bound_notification_errors)
{
    KREQUIRE_EQ(make(kOtherNote, ObjectKind::notification), Error::ok);
    KREQUIRE_EQ(create_thread(kClientA), Error::ok);
    KEXPECT_EQ(l4::bind_notification(kSelf, kEp), Error::wrong_type);
    KEXPECT_EQ(l4::bind_notification(kSelf, kEmptySlot), Error::invalid_selector);
    KEXPECT_EQ(l4::bind_notification(kEp, kBound), Error::wrong_type);
    KREQUIRE_EQ(l4::cap_copy(kBound, kEmptySlot, rights::all & ~rights::receive), Error::ok);
    KEXPECT_EQ(l4::bind_notification(kSelf, kEmptySlot), Error::missing_rights);
    KEXPECT_EQ(l4::bind_notification(kSelf, kBound), Error::ok);
    KEXPECT_EQ(l4::bind_notification(kSelf, kBound), Error::busy);     // bound already
    KEXPECT_EQ(l4::bind_notification(kSelf, kOtherNote), Error::busy); // the thread is
    KEXPECT_EQ(l4::bind_notification(kClientA, kBound), Error::busy);  // the notification is
    KEXPECT_EQ(l4::bind_notification(kClientA, kOtherNote), Error::ok);
    KEXPECT_EQ(l4::bind_notification(kSelf, abi::kUnbind), Error::ok);
    KEXPECT_EQ(l4::bind_notification(kSelf, abi::kUnbind), Error::ok); // unbound: nothing to do
    KEXPECT_EQ(l4::bind_notification(kClientA, abi::kUnbind), Error::ok);
}

BOUND_TEST(bound_notification_deleted_while_its_thread_receives)
{
    reset(peer_a, kEp);
    KREQUIRE_EQ(create_thread(kClientA), Error::ok);
    KREQUIRE_EQ(l4::bind_notification(kClientA, kBound), Error::ok);
    KREQUIRE_EQ(start_thread(kClientA, receive_body<peer_a>), Error::ok);
    KREQUIRE_EQ(wait_flag(peer_a.started), true);
    yield_times(10);
    KEXPECT_EQ(l4::cap_delete(kBound), Error::ok);
    yield_times(10);
    KEXPECT_EQ(peer_a.done, 0); // the receive goes on
    KEXPECT_EQ(send_polled(kEp, one_word(7, 0x77)), Error::ok);
    if (!peer_done(peer_a))
        return;
    KEXPECT_EQ(peer_a.msg.tag.raw, Tag::make(7, 1).raw);
    KEXPECT_EQ(peer_a.msg.words[0], 0x77);
}

BOUND_TEST(notify_wait_timeouts)
{
    uint64_t bits = ~uint64_t{0};
    KEXPECT_EQ(l4::notify_wait(kBound, bits, abi::kTimeoutZero), Error::timeout);
    KEXPECT_EQ(l4::notify_wait(kBound, bits, kShortTimeout), Error::timeout);
    KEXPECT_EQ(l4::notify_signal(kBound, 0x11), Error::ok);
    KEXPECT_EQ(l4::notify_wait(kBound, bits, abi::kTimeoutZero), Error::ok);
    KEXPECT_EQ(bits, 0x11);
}

// A badged capability minted from kEp at kBadgedEp (badge 0x5a) and a copy of it.
#define BADGE_TEST(name)                                                                                               \
    KTEST_F(name, 360, 400,                                                                                            \
            made(kEp, ObjectKind::endpoint) && l4::cap_copy(kEp, kBadgedEp, rights::all, 0x5a) == Error::ok &&         \
                l4::cap_copy(kBadgedEp, kBadgedCopy, rights::all) == Error::ok)

BADGE_TEST(badge_last_copy_deleted_cancels_queued_sends)
{
    KREQUIRE_EQ(start_caller(kClientA, peer_a, kBadgedCopy, 1, 0xa, call_body<peer_a>), true);
    KREQUIRE_EQ(start_caller(kClientB, peer_b, kEp, 2, 0xb, call_body<peer_b>), true);
    yield_times(20);
    KEXPECT_EQ(l4::cap_delete(kBadgedEp), Error::ok); // its copy is left
    yield_times(20);
    KEXPECT_EQ(peer_a.done, 0);
    KEXPECT_EQ(l4::cap_delete(kBadgedCopy), Error::ok); // the badge's last
    peer_done(peer_a, Error::object_destroyed);
    KEXPECT_EQ(peer_b.done, 0); // unbadged: still queued
    KREQUIRE_EQ(receive_call(0xb), true);
    KEXPECT_EQ(l4::reply(one_word(0, 0)), Error::ok);
    peer_done(peer_b);
}

BADGE_TEST(badge_revoke_cancels_queued_sends)
{
    KREQUIRE_EQ(start_caller(kClientA, peer_a, kBadgedEp, 1, 0xa, call_body<peer_a>), true);
    KREQUIRE_EQ(start_caller(kClientB, peer_b, kBadgedCopy, 2, 0xb, call_body<peer_b>), true);
    yield_times(20);
    KEXPECT_EQ(l4::cap_revoke(kBadgedEp), Error::ok); // the copy goes; kBadgedEp stays
    peer_done(peer_a, Error::object_destroyed);
    peer_done(peer_b, Error::object_destroyed);
    // New sends through the badge still work: revoking cancels what was queued.
    KREQUIRE_EQ(start_caller(kClientA + 2, peer_a, kBadgedEp, 3, 0xc, call_body<peer_a>), true);
    l4::Message m;
    KREQUIRE_EQ(receive_polled(kEp, m), Error::ok);
    KEXPECT_EQ(m.badge, 0x5a);
    KEXPECT_EQ(m.words[0], 0xc);
    KEXPECT_EQ(l4::reply(one_word(0, 0)), Error::ok);
    peer_done(peer_a);
}
