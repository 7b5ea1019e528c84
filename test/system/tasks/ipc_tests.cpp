// IPC on endpoints: call/reply, send/receive, timeouts, badges, rights, limits, order.
// Selectors 200-299 (threads first); capability transfer is in ipc_transfer_tests.cpp.
//
// The main thread is the server wherever it can be: it receives with kTimeoutZero in a
// bounded loop (receive_polled), so a broken kernel shows as failures, not as a hang.
#include "ipc_peer.hpp"

using namespace kt;
using namespace kt::ipc;

namespace {

// The peer calls with (label, words); main receives, checks, replies with (rlabel, rwords).
void round_trip(uint64_t label, uint64_t words, uint64_t rlabel, uint64_t rwords)
{
    fill(peer_a.msg, peer_a.mr, 0x1000, words);
    l4::Message m;
    if (!receive_from_peer(call_body<peer_a>, Tag::make(label, words), m))
        return;
    KEXPECT_EQ(m.tag.label(), label);
    KEXPECT_EQ(m.tag.words(), words);
    KEXPECT_EQ(m.tag.caps(), 0);
    KEXPECT_EQ(m.badge, 0);
    expect_words(m, l4::utcb()->mr, 0x1000, words);

    l4::Message r;
    r.tag = Tag::make(rlabel, rwords);
    fill(r, l4::utcb()->mr, 0x2000, rwords);
    KEXPECT_EQ(l4::reply(r), Error::ok);
    if (!peer_done(peer_a))
        return;
    KEXPECT_EQ(peer_a.msg.tag.label(), rlabel);
    KEXPECT_EQ(peer_a.msg.tag.words(), rwords);
    expect_words(peer_a.msg, peer_a.mr, 0x2000, rwords);
}

// A server on a helper thread: starts with reply_wait (no caller yet), answers word 0 + 100
// three times, the last with a plain reply.
[[noreturn]] void reply_wait_server_body()
{
    prepare(peer_b);
    l4::Message m;
    Error e = l4::reply_wait(peer_b.endpoint, m);
    for (uint64_t i = 0; i < 3 && e == Error::ok; ++i) {
        peer_b.replies[i] = m.words[0];
        uint64_t answer = m.words[0] + 100;
        m = l4::Message{};
        m.tag = Tag::make(0, 1);
        m.words[0] = answer;
        e = i == 2 ? l4::reply(m) : l4::reply_wait(peer_b.endpoint, m);
    }
    finish(peer_b, e, m);
}

// Receive, send and call on kEndpoint, where nobody waits, time out after `timeout`.
void expect_timeouts(uint64_t timeout)
{
    l4::Message m;
    KEXPECT_EQ(l4::receive(kEndpoint, m, timeout), Error::timeout);
    m = l4::Message{};
    KEXPECT_EQ(l4::send(kEndpoint, m, timeout), Error::timeout);
    KEXPECT_EQ(l4::call(kEndpoint, m, timeout), Error::timeout);
}

} // namespace

IPC_TEST(ipc_call_reply_20_words) { round_trip(0x42, 20, 0x77, 20); }
IPC_TEST(ipc_call_reply_64_words) { round_trip(0x43, 64, 0x78, 64); }
IPC_TEST(ipc_call_reply_labels_and_counts) { round_trip(0xfedcba987654, 3, 0, 0); }
IPC_TEST(ipc_call_reply_register_words_only) { round_trip(1, 6, 0x123456789abc, 1); }

IPC_TEST(ipc_badge_seen_by_receiver)
{
    KREQUIRE_EQ(l4::cap_copy(kEndpoint, kCopy, rights::send, 0xb4d6e), Error::ok);
    const Selector via[] = {kCopy, kEndpoint};
    const uint64_t badges[] = {0xb4d6e, 0};
    for (int i = 0; i < 2; ++i) {
        release_slot(kPeerA);
        reset(peer_a, via[i]);
        l4::Message m;
        if (!receive_from_peer(call_body<peer_a>, Tag::make(7, 1), m))
            return;
        KEXPECT_EQ(m.badge, badges[i]);
        KEXPECT_EQ(m.tag.label(), 7);
        KEXPECT_EQ(l4::reply(l4::Message{}), Error::ok);
        peer_done(peer_a);
    }
}

IPC_TEST(ipc_reply_wait_server_loop)
{
    l4::Message m;
    if (!receive_from_peer(call_three_body, Tag{}, m))
        return;
    for (uint64_t i = 0; i < 3; ++i) {
        KEXPECT_EQ(m.tag.label(), 0x33);
        KEXPECT_EQ(m.words[0], i);
        uint64_t request = m.words[0];
        m = l4::Message{};
        m.tag = Tag::make(0, 1);
        m.words[0] = request + 100;
        if (i == 2)
            KEXPECT_EQ(l4::reply(m), Error::ok);
        else
            KREQUIRE_EQ(l4::reply_wait(kEndpoint, m, kServerTimeout), Error::ok);
    }
    if (peer_done(peer_a))
        expect_replies(peer_a, 100, 101, 102);
}

// The main thread calls a helper server three times (the send phase has a timeout; the
// reply comes or the server's exit fails the call).
IPC_TEST(ipc_call_helper_server_loop)
{
    KREQUIRE_EQ(spawn_thread(kPeerB, reply_wait_server_body), Error::ok);
    for (uint64_t i = 0; i < 3; ++i) {
        l4::Message m;
        m.tag = Tag::make(0x44, 1);
        m.words[0] = 10 + i;
        KEXPECT_EQ(l4::call(kEndpoint, m, kServerTimeout), Error::ok);
        KEXPECT_EQ(m.tag.words(), 1);
        KEXPECT_EQ(m.words[0], 110 + i);
    }
    if (peer_done(peer_b))
        expect_replies(peer_b, 10, 11, 12); // the requests it saw
}

// A bad reply tag fails and keeps the caller waiting; a good reply then reaches it.
IPC_TEST(ipc_reply_with_bad_tag)
{
    l4::Message m;
    if (!receive_from_peer(call_body<peer_a>, Tag{}, m))
        return;
    m = l4::Message{};
    m.tag = Tag::make(1, 65);
    KEXPECT_EQ(l4::reply(m), Error::invalid_argument);
    m.tag = Tag::make(1, 0, 5);
    KEXPECT_EQ(l4::reply(m), Error::invalid_argument);
    m.tag = Tag::make(1, 65);
    KEXPECT_EQ(l4::reply_wait(kEndpoint, m, abi::kTimeoutZero), Error::invalid_argument);
    yield_times(10);
    KEXPECT_EQ(peer_a.done, 0);
    m = l4::Message{};
    m.tag = Tag::make(0x99, 1);
    m.words[0] = 0x1234;
    KEXPECT_EQ(l4::reply(m), Error::ok);
    if (!peer_done(peer_a))
        return;
    KEXPECT_EQ(peer_a.msg.tag.label(), 0x99);
    KEXPECT_EQ(peer_a.msg.words[0], 0x1234);
}

// A sender with a finite timeout meets a receiver that comes in time.
IPC_TEST(ipc_finite_timeout_send_meets_receiver)
{
    KREQUIRE_EQ(spawn_thread(kPeerA, receive_body<peer_a>), Error::ok);
    l4::Message m;
    m.tag = Tag::make(0x55, 1);
    m.words[0] = 0x5555;
    KEXPECT_EQ(l4::send(kEndpoint, m, kServerTimeout), Error::ok);
    if (!peer_done(peer_a))
        return;
    KEXPECT_EQ(peer_a.msg.tag.label(), 0x55);
    KEXPECT_EQ(peer_a.msg.words[0], 0x5555);
}

// A server loop may start with reply_wait: no caller, so only the receive part happens.
IPC_TEST(ipc_reply_wait_without_caller_only_receives)
{
    l4::Message m;
    m.tag = Tag::make(0, 2);
    KEXPECT_EQ(l4::reply_wait(kEndpoint, m, abi::kTimeoutZero), Error::timeout);
}

IPC_TEST(ipc_send_then_receive)
{
    fill(peer_a.msg, peer_a.mr, 0x500, 8);
    l4::Message m;
    if (!receive_from_peer(send_body<peer_a>, Tag::make(5, 8), m))
        return;
    KEXPECT_EQ(m.tag.label(), 5);
    KEXPECT_EQ(m.tag.words(), 8);
    expect_words(m, l4::utcb()->mr, 0x500, 8);
    peer_done(peer_a);
    KEXPECT_EQ(l4::reply(l4::Message{}), Error::invalid_selector); // a send wants no reply
}

IPC_TEST(ipc_receiver_waits_then_send)
{
    KREQUIRE_EQ(spawn_thread(kPeerA, receive_body<peer_a>), Error::ok);
    l4::Message m;
    m.tag = Tag::make(6, 9);
    fill(m, l4::utcb()->mr, 0x600, 9);
    KEXPECT_EQ(send_polled(kEndpoint, m), Error::ok);
    if (!peer_done(peer_a))
        return;
    KEXPECT_EQ(peer_a.msg.tag.label(), 6);
    KEXPECT_EQ(peer_a.msg.tag.words(), 9);
    KEXPECT_EQ(peer_a.msg.badge, 0);
    expect_words(peer_a.msg, peer_a.mr, 0x600, 9);
}

IPC_TEST(ipc_zero_timeout_without_partner) { expect_timeouts(abi::kTimeoutZero); }

IPC_TEST(ipc_finite_timeout_without_partner)
{
    expect_timeouts(kShortTimeout);
    // Nobody is left queued: a zero-timeout receive finds no sender.
    l4::Message m;
    KEXPECT_EQ(l4::receive(kEndpoint, m, abi::kTimeoutZero), Error::timeout);
}

IPC_TEST(ipc_send_and_call_need_send_right)
{
    KREQUIRE_EQ(l4::cap_copy(kEndpoint, kCopy, rights::all & ~rights::send), Error::ok);
    expect_send_and_call(kCopy, Tag{}, Error::missing_rights);
}

IPC_TEST(ipc_receive_needs_receive_right)
{
    KREQUIRE_EQ(l4::cap_copy(kEndpoint, kCopy, rights::all & ~rights::receive), Error::ok);
    l4::Message m;
    KEXPECT_EQ(l4::receive(kCopy, m, abi::kTimeoutZero), Error::missing_rights);
    m = l4::Message{};
    KEXPECT_EQ(l4::reply_wait(kCopy, m, abi::kTimeoutZero), Error::missing_rights);
}

IPC_TEST(ipc_more_than_64_words)
{
    const uint64_t too_many[] = {65, 127};
    for (uint64_t words : too_many)
        expect_send_and_call(kEndpoint, Tag::make(1, words), Error::invalid_argument);
}

IPC_TEST(ipc_more_than_4_caps)
{
    KREQUIRE_EQ(make(kNote, ObjectKind::notification), Error::ok);
    for (auto& item : l4::utcb()->send_caps)
        item = {kNote, rights::all};
    const uint64_t too_many[] = {5, 7};
    for (uint64_t caps : too_many)
        expect_send_and_call(kEndpoint, Tag::make(1, 0, caps), Error::invalid_argument);
}

KTEST(ipc_reply_without_caller)
{
    l4::Message m;
    m.tag = Tag::make(1, 1);
    KEXPECT_EQ(l4::reply(m), Error::invalid_selector);
}

KTEST(ipc_wrong_types_and_selectors)
{
    Slots slots(200, 240);
    KREQUIRE_EQ(make(kNote, ObjectKind::notification), Error::ok);
    l4::Message m;
    KEXPECT_EQ(l4::call(kNote, m, abi::kTimeoutZero), Error::wrong_type);
    KEXPECT_EQ(l4::send(kSelf, m, abi::kTimeoutZero), Error::wrong_type);
    KEXPECT_EQ(l4::receive(kFactory, m, abi::kTimeoutZero), Error::wrong_type);
    m = l4::Message{};
    KEXPECT_EQ(l4::send(kSlots, m, abi::kTimeoutZero), Error::invalid_selector);
    KEXPECT_EQ(l4::receive(kEmpty, m, abi::kTimeoutZero), Error::invalid_selector);
    m = l4::Message{};
    KEXPECT_EQ(l4::call(~uint64_t{0}, m, abi::kTimeoutZero), Error::invalid_selector);
}

IPC_TEST(ipc_senders_served_in_order)
{
    peer_a.msg.tag = Tag::make(1, 0);
    peer_b.msg.tag = Tag::make(2, 0);
    if (!spawn_started(kPeerA, send_body<peer_a>, peer_a.started, 5) ||
        !spawn_started(kPeerB, send_body<peer_b>, peer_b.started, 5))
        return;
    l4::Message m;
    KEXPECT_EQ(receive_polled(kEndpoint, m), Error::ok);
    KEXPECT_EQ(m.tag.label(), 1);
    KEXPECT_EQ(receive_polled(kEndpoint, m), Error::ok);
    KEXPECT_EQ(m.tag.label(), 2);
    KEXPECT_EQ(wait_until([] { return peer_a.done + peer_b.done == 2; }), true);
}
