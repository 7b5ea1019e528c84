// IPC: capabilities in messages, and what happens to waiters when a partner or the endpoint
// goes away. Selectors 200-299, shared with ipc_tests.cpp (threads first).
#include "ipc_peer.hpp"

using namespace kt;
using namespace kt::ipc;

namespace {

// The peer calls with `caps` capabilities; main receives them at `receive_slot` (or nowhere)
// and expects `received` of them to arrive.
void transfer(Selector receive_slot, uint64_t caps, abi::CapItem a, abi::CapItem b, uint64_t received)
{
    peer_a.msg.words[0] = 0xaa;
    peer_a.msg.words[1] = 0xbb;
    peer_a.caps[0] = a;
    peer_a.caps[1] = b;
    MainReceiveSlot slot(receive_slot);
    l4::utcb()->received_caps = ~uint64_t{0};
    l4::Message got;
    if (!receive_from_peer(call_body<peer_a>, Tag::make(0x77, 2, caps), got))
        return;
    KEXPECT_EQ(got.tag.label(), 0x77);
    KEXPECT_EQ(got.words[0], 0xaa);
    KEXPECT_EQ(got.words[1], 0xbb);
    KEXPECT_EQ(l4::utcb()->received_caps, received);
    KEXPECT_EQ(l4::reply(l4::Message{}), Error::ok);
    peer_done(peer_a);
}

// Deleting the endpoint wakes a blocked receiver (`receiver`) or sender with object_destroyed.
void delete_wakes(bool receiver)
{
    if (!spawn_started(kPeerA, receiver ? receive_body<peer_a> : send_body<peer_a>, peer_a.started, 20))
        return;
    KEXPECT_EQ(peer_a.done, 0);
    KEXPECT_EQ(l4::cap_delete(kEndpoint), Error::ok);
    peer_done(peer_a, Error::object_destroyed);
}

} // namespace

// An IPC test with a notification at kNote as well.
#define TRANSFER_TEST(name) KTEST_F(name, 200, 240, endpoint_and_peers() && made(kNote, ObjectKind::notification))

TRANSFER_TEST(ipc_transfer_cap_with_grant)
{
    transfer(kReceiveFirst, 1, {kNote, rights::send | rights::receive}, {}, 1);
    KEXPECT_EQ(l4::notify_signal(kReceiveFirst, 0x21), Error::ok);
    KEXPECT_EQ(poll_bits(kNote), 0x21); // the same notification
    KEXPECT_EQ(l4::notify_signal(kNote, 0x2), Error::ok);
    KEXPECT_EQ(poll_bits(kReceiveFirst), 0x2);
    KEXPECT_EQ(l4::cap_delete(kReceiveFirst + 1), Error::invalid_selector);
}

TRANSFER_TEST(ipc_transfer_cap_rights_masked)
{
    transfer(kReceiveFirst, 1, {kNote, rights::send}, {}, 1);
    KEXPECT_EQ(l4::notify_signal(kReceiveFirst, 1), Error::ok);
    KEXPECT_EQ(poll_error(kReceiveFirst), Error::missing_rights);
    // Derived from the sender's: revoking the original takes it away.
    KEXPECT_EQ(l4::cap_revoke(kNote), Error::ok);
    KEXPECT_EQ(l4::notify_signal(kReceiveFirst, 1), Error::invalid_selector);
}

TRANSFER_TEST(ipc_transfer_two_caps_consecutive)
{
    transfer(kReceiveFirst, 2, {kNote, rights::all}, {kEndpoint, rights::send}, 2);
    KEXPECT_EQ(l4::notify_signal(kReceiveFirst, 1), Error::ok);
    l4::Message m;
    KEXPECT_EQ(l4::send(kReceiveFirst + 1, m, abi::kTimeoutZero), Error::timeout); // an endpoint
    KEXPECT_EQ(l4::receive(kReceiveFirst + 1, m, abi::kTimeoutZero), Error::missing_rights);
}

TRANSFER_TEST(ipc_receiver_accepts_no_caps)
{
    transfer(abi::kNoReceiveSlot, 1, {kNote, rights::all}, {}, 0);
    KEXPECT_EQ(l4::cap_delete(kReceiveFirst), Error::invalid_selector);
}

TRANSFER_TEST(ipc_receive_slot_occupied)
{
    KREQUIRE_EQ(l4::cap_copy(kEndpoint, kReceiveFirst), Error::ok);
    transfer(kReceiveFirst, 1, {kNote, rights::all}, {}, 0);
    KEXPECT_EQ(l4::notify_signal(kReceiveFirst, 1), Error::wrong_type); // still the endpoint
}

// Any capability travels: here a copy of the main thread's own thread capability.
IPC_TEST(ipc_transfer_thread_cap)
{
    transfer(kReceiveFirst, 1, {kSelf, rights::control}, {}, 1);
    KEXPECT_EQ(l4::thread_control(kReceiveFirst, ThreadOp::set_priority, kMainPriority), Error::ok);
}

TRANSFER_TEST(ipc_transfer_needs_grant)
{
    KREQUIRE_EQ(l4::cap_copy(kEndpoint, kCopy, rights::send), Error::ok);
    l4::utcb()->send_caps[0] = {kNote, rights::all};
    expect_send_and_call(kCopy, Tag::make(1, 0, 1), Error::missing_rights);
}

// A bad selector in send_caps fails the send and nothing arrives; the next message does.
IPC_TEST(ipc_transfer_invalid_cap_sends_nothing)
{
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

IPC_TEST(ipc_delete_endpoint_wakes_receiver) { delete_wakes(true); }
IPC_TEST(ipc_delete_endpoint_wakes_sender) { delete_wakes(false); }

IPC_TEST(ipc_receive_again_abandons_caller)
{
    l4::Message m;
    if (!receive_from_peer(call_body<peer_a>, Tag::make(3, 0), m))
        return;
    KEXPECT_EQ(l4::receive(kEndpoint, m, abi::kTimeoutZero), Error::timeout);
    if (peer_done(peer_a, Error::object_destroyed))
        KEXPECT_EQ(l4::reply(l4::Message{}), Error::invalid_selector);
}

IPC_TEST(ipc_server_exit_fails_caller)
{
    // The server: receives once, exits without replying.
    if (!spawn_started(kPeerB, receive_body<peer_b>, peer_b.started, 0))
        return;
    peer_a.msg.tag = Tag::make(4, 0);
    KREQUIRE_EQ(spawn_thread(kPeerA, call_body<peer_a>), Error::ok);
    KEXPECT_EQ(wait_until([] { return peer_a.done == 1 && peer_b.done == 1; }), true);
    KEXPECT_EQ(peer_b.error, Error::ok);
    KEXPECT_EQ(peer_b.msg.tag.label(), 4);
    KEXPECT_EQ(peer_a.error, Error::object_destroyed);
}

// A thread deleted while queued on an endpoint leaves the queue.
IPC_TEST(ipc_deleted_waiters_leave_queue)
{
    if (!spawn_started(kPeerA, receive_body<peer_a>, peer_a.started, 10))
        return;
    KEXPECT_EQ(release_slot(kPeerA), Error::ok);
    l4::Message m;
    KEXPECT_EQ(l4::send(kEndpoint, m, abi::kTimeoutZero), Error::timeout);
    if (!spawn_started(kPeerB, send_body<peer_b>, peer_b.started, 10))
        return;
    KEXPECT_EQ(release_slot(kPeerB), Error::ok);
    KEXPECT_EQ(l4::receive(kEndpoint, m, abi::kTimeoutZero), Error::timeout);
    KEXPECT_EQ(peer_a.done + peer_b.done, 0);
}

// A caller deleted while waiting for its reply: nobody is left to reply to.
IPC_TEST(ipc_reply_to_deleted_caller)
{
    l4::Message m;
    if (!receive_from_peer(call_body<peer_a>, Tag{}, m))
        return;
    KEXPECT_EQ(release_slot(kPeerA), Error::ok);
    KEXPECT_EQ(l4::reply(l4::Message{}), Error::invalid_selector);
    KEXPECT_EQ(peer_a.done, 0);
}
