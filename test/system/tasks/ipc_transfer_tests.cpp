// IPC: capabilities in messages, and what happens to waiters when a partner or the endpoint
// goes away. Selectors 200-299, shared with ipc_tests.cpp (threads first).
#include "ipc_peer.hpp"

using namespace kt;
using namespace kt::ipc;

namespace {

// The peer calls with `caps` capabilities; main receives them at kReceiveFirst (or nowhere).
void transfer(Selector receive_slot, uint64_t caps, abi::CapItem a, abi::CapItem b, l4::Message& got)
{
    reset(peer_a, kEndpoint);
    peer_a.msg.tag = Tag::make(0x77, 2, caps);
    peer_a.msg.words[0] = 0xaa;
    peer_a.msg.words[1] = 0xbb;
    peer_a.caps[0] = a;
    peer_a.caps[1] = b;
    KREQUIRE_EQ(spawn_thread(kPeerA, call_body<peer_a>), Error::ok);
    MainReceiveSlot slot(receive_slot);
    l4::utcb()->received_caps = ~uint64_t{0};
    KREQUIRE_EQ(receive_polled(kEndpoint, got), Error::ok);
    KEXPECT_EQ(got.tag.label(), 0x77);
    KEXPECT_EQ(got.words[0], 0xaa);
    KEXPECT_EQ(got.words[1], 0xbb);
    KEXPECT_EQ(l4::reply(l4::Message{}), Error::ok);
    KEXPECT_EQ(wait_flag(peer_a.done), true);
    KEXPECT_EQ(peer_a.error, Error::ok);
}

// Deleting the endpoint wakes a blocked receiver (`receiver`) or sender with object_destroyed.
void delete_wakes(bool receiver)
{
    Slots slots(200, 240);
    KREQUIRE_EQ(make(kEndpoint, ObjectKind::endpoint), Error::ok);
    reset(peer_a, kEndpoint);
    KREQUIRE_EQ(spawn_thread(kPeerA, receiver ? receive_body<peer_a> : send_body<peer_a>), Error::ok);
    KEXPECT_EQ(wait_flag(peer_a.started), true);
    yield_times(20);
    KEXPECT_EQ(peer_a.done, 0);
    KEXPECT_EQ(l4::cap_delete(kEndpoint), Error::ok);
    KREQUIRE_EQ(wait_flag(peer_a.done), true);
    KEXPECT_EQ(peer_a.error, Error::object_destroyed);
}

} // namespace

KTEST(ipc_transfer_cap_with_grant)
{
    Slots slots(200, 240);
    KREQUIRE_EQ(make(kEndpoint, ObjectKind::endpoint), Error::ok);
    KREQUIRE_EQ(make(kNote, ObjectKind::notification), Error::ok);
    l4::Message got;
    transfer(kReceiveFirst, 1, {kNote, rights::send | rights::receive}, {}, got);
    KEXPECT_EQ(l4::utcb()->received_caps, 1);
    KEXPECT_EQ(l4::notify_signal(kReceiveFirst, 0x21), Error::ok);
    uint64_t bits = 0;
    KEXPECT_EQ(l4::notify_poll(kNote, bits), Error::ok);   // the same notification
    KEXPECT_EQ(bits, 0x21);
    KEXPECT_EQ(l4::notify_signal(kNote, 0x2), Error::ok);
    KEXPECT_EQ(l4::notify_poll(kReceiveFirst, bits), Error::ok);
    KEXPECT_EQ(bits, 0x2);
    KEXPECT_EQ(l4::cap_delete(kReceiveFirst + 1), Error::invalid_selector);
}

KTEST(ipc_transfer_cap_rights_masked)
{
    Slots slots(200, 240);
    KREQUIRE_EQ(make(kEndpoint, ObjectKind::endpoint), Error::ok);
    KREQUIRE_EQ(make(kNote, ObjectKind::notification), Error::ok);
    l4::Message got;
    transfer(kReceiveFirst, 1, {kNote, rights::send}, {}, got);
    KEXPECT_EQ(l4::utcb()->received_caps, 1);
    uint64_t bits = 0;
    KEXPECT_EQ(l4::notify_signal(kReceiveFirst, 1), Error::ok);
    KEXPECT_EQ(l4::notify_poll(kReceiveFirst, bits), Error::missing_rights);
    // Derived from the sender's: revoking the original takes it away.
    KEXPECT_EQ(l4::cap_revoke(kNote), Error::ok);
    KEXPECT_EQ(l4::notify_signal(kReceiveFirst, 1), Error::invalid_selector);
}

KTEST(ipc_transfer_two_caps_consecutive)
{
    Slots slots(200, 240);
    KREQUIRE_EQ(make(kEndpoint, ObjectKind::endpoint), Error::ok);
    KREQUIRE_EQ(make(kNote, ObjectKind::notification), Error::ok);
    l4::Message got;
    transfer(kReceiveFirst, 2, {kNote, rights::all}, {kEndpoint, rights::send}, got);
    KEXPECT_EQ(l4::utcb()->received_caps, 2);
    KEXPECT_EQ(l4::notify_signal(kReceiveFirst, 1), Error::ok);
    l4::Message m;
    KEXPECT_EQ(l4::send(kReceiveFirst + 1, m, abi::kTimeoutZero), Error::timeout);   // an endpoint
    KEXPECT_EQ(l4::receive(kReceiveFirst + 1, m, abi::kTimeoutZero), Error::missing_rights);
}

KTEST(ipc_receiver_accepts_no_caps)
{
    Slots slots(200, 240);
    KREQUIRE_EQ(make(kEndpoint, ObjectKind::endpoint), Error::ok);
    KREQUIRE_EQ(make(kNote, ObjectKind::notification), Error::ok);
    l4::Message got;
    transfer(abi::kNoReceiveSlot, 1, {kNote, rights::all}, {}, got);
    KEXPECT_EQ(l4::utcb()->received_caps, 0);
    KEXPECT_EQ(l4::cap_delete(kReceiveFirst), Error::invalid_selector);
}

KTEST(ipc_receive_slot_occupied)
{
    Slots slots(200, 240);
    KREQUIRE_EQ(make(kEndpoint, ObjectKind::endpoint), Error::ok);
    KREQUIRE_EQ(make(kNote, ObjectKind::notification), Error::ok);
    KREQUIRE_EQ(l4::cap_copy(kEndpoint, kReceiveFirst), Error::ok);
    l4::Message got;
    transfer(kReceiveFirst, 1, {kNote, rights::all}, {}, got);
    KEXPECT_EQ(l4::utcb()->received_caps, 0);
    KEXPECT_EQ(l4::notify_signal(kReceiveFirst, 1), Error::wrong_type);   // still the endpoint
}

// Any capability travels: here a copy of the main thread's own thread capability.
KTEST(ipc_transfer_thread_cap)
{
    Slots slots(200, 240);
    KREQUIRE_EQ(make(kEndpoint, ObjectKind::endpoint), Error::ok);
    l4::Message got;
    transfer(kReceiveFirst, 1, {kSelf, rights::control}, {}, got);
    KEXPECT_EQ(l4::utcb()->received_caps, 1);
    KEXPECT_EQ(l4::thread_control(kReceiveFirst, ThreadOp::set_priority, kMainPriority), Error::ok);
}

KTEST(ipc_transfer_needs_grant)
{
    Slots slots(200, 240);
    KREQUIRE_EQ(make(kEndpoint, ObjectKind::endpoint), Error::ok);
    KREQUIRE_EQ(make(kNote, ObjectKind::notification), Error::ok);
    KREQUIRE_EQ(l4::cap_copy(kEndpoint, kCopy, rights::send), Error::ok);
    l4::utcb()->send_caps[0] = {kNote, rights::all};
    l4::Message m;
    m.tag = Tag::make(1, 0, 1);
    KEXPECT_EQ(l4::send(kCopy, m, abi::kTimeoutZero), Error::missing_rights);
    KEXPECT_EQ(l4::call(kCopy, m, abi::kTimeoutZero), Error::missing_rights);
}

// A bad selector in send_caps fails the send and nothing arrives; the next message does.
KTEST(ipc_transfer_invalid_cap_sends_nothing)
{
    Slots slots(200, 240);
    KREQUIRE_EQ(make(kEndpoint, ObjectKind::endpoint), Error::ok);
    reset(peer_a, kEndpoint);
    peer_a.receive_slot = kReceiveFirst;
    KREQUIRE_EQ(spawn_thread(kPeerA, receive_body<peer_a>), Error::ok);
    l4::utcb()->send_caps[0] = {kEmpty, rights::all};
    l4::Message m;
    m.tag = Tag::make(8, 0, 1);
    KEXPECT_EQ(send_polled(kEndpoint, m), Error::invalid_selector);
    KEXPECT_EQ(peer_a.done, 0);
    m.tag = Tag::make(9, 0);
    KEXPECT_EQ(send_polled(kEndpoint, m), Error::ok);
    KREQUIRE_EQ(wait_flag(peer_a.done), true);
    KEXPECT_EQ(peer_a.msg.tag.label(), 9);
    KEXPECT_EQ(peer_a.received_caps, 0);
}

KTEST(ipc_delete_endpoint_wakes_receiver) { delete_wakes(true); }
KTEST(ipc_delete_endpoint_wakes_sender) { delete_wakes(false); }

KTEST(ipc_receive_again_abandons_caller)
{
    Slots slots(200, 240);
    KREQUIRE_EQ(make(kEndpoint, ObjectKind::endpoint), Error::ok);
    reset(peer_a, kEndpoint);
    peer_a.msg.tag = Tag::make(3, 0);
    KREQUIRE_EQ(spawn_thread(kPeerA, call_body<peer_a>), Error::ok);
    l4::Message m;
    KREQUIRE_EQ(receive_polled(kEndpoint, m), Error::ok);
    KEXPECT_EQ(l4::receive(kEndpoint, m, abi::kTimeoutZero), Error::timeout);
    KREQUIRE_EQ(wait_flag(peer_a.done), true);
    KEXPECT_EQ(peer_a.error, Error::object_destroyed);
    KEXPECT_EQ(l4::reply(l4::Message{}), Error::invalid_selector);
}

KTEST(ipc_server_exit_fails_caller)
{
    Slots slots(200, 240);
    KREQUIRE_EQ(make(kEndpoint, ObjectKind::endpoint), Error::ok);
    reset(peer_b, kEndpoint);   // the server: receives once, exits without replying
    KREQUIRE_EQ(spawn_thread(kPeerB, receive_body<peer_b>), Error::ok);
    KEXPECT_EQ(wait_flag(peer_b.started), true);
    reset(peer_a, kEndpoint);
    peer_a.msg.tag = Tag::make(4, 0);
    KREQUIRE_EQ(spawn_thread(kPeerA, call_body<peer_a>), Error::ok);
    KEXPECT_EQ(wait_until([] { return peer_a.done == 1 && peer_b.done == 1; }), true);
    KEXPECT_EQ(peer_b.error, Error::ok);
    KEXPECT_EQ(peer_b.msg.tag.label(), 4);
    KEXPECT_EQ(peer_a.error, Error::object_destroyed);
}

// A thread deleted while queued on an endpoint leaves the queue.
KTEST(ipc_deleted_waiters_leave_queue)
{
    Slots slots(200, 240);
    KREQUIRE_EQ(make(kEndpoint, ObjectKind::endpoint), Error::ok);
    reset(peer_a, kEndpoint);
    reset(peer_b, kEndpoint);
    KREQUIRE_EQ(spawn_thread(kPeerA, receive_body<peer_a>), Error::ok);
    KEXPECT_EQ(wait_flag(peer_a.started), true);
    yield_times(10);
    KEXPECT_EQ(release_slot(kPeerA), Error::ok);
    l4::Message m;
    KEXPECT_EQ(l4::send(kEndpoint, m, abi::kTimeoutZero), Error::timeout);
    KREQUIRE_EQ(spawn_thread(kPeerB, send_body<peer_b>), Error::ok);
    KEXPECT_EQ(wait_flag(peer_b.started), true);
    yield_times(10);
    KEXPECT_EQ(release_slot(kPeerB), Error::ok);
    KEXPECT_EQ(l4::receive(kEndpoint, m, abi::kTimeoutZero), Error::timeout);
    KEXPECT_EQ(peer_a.done + peer_b.done, 0);
}

// A caller deleted while waiting for its reply: nobody is left to reply to.
KTEST(ipc_reply_to_deleted_caller)
{
    Slots slots(200, 240);
    KREQUIRE_EQ(make(kEndpoint, ObjectKind::endpoint), Error::ok);
    reset(peer_a, kEndpoint);
    KREQUIRE_EQ(spawn_thread(kPeerA, call_body<peer_a>), Error::ok);
    l4::Message m;
    KREQUIRE_EQ(receive_polled(kEndpoint, m), Error::ok);
    KEXPECT_EQ(release_slot(kPeerA), Error::ok);
    KEXPECT_EQ(l4::reply(l4::Message{}), Error::invalid_selector);
    KEXPECT_EQ(peer_a.done, 0);
}
