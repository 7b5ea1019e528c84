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
    Slots slots(200, 240);
    KREQUIRE_EQ(make(kEndpoint, ObjectKind::endpoint), Error::ok);
    reset(peer_a, kEndpoint);
    peer_a.msg.tag = Tag::make(label, words);
    fill(peer_a.msg, peer_a.mr, 0x1000, words);
    KREQUIRE_EQ(spawn_thread(kPeerA, call_body<peer_a>), Error::ok);

    l4::Message m;
    KREQUIRE_EQ(receive_polled(kEndpoint, m), Error::ok);
    KEXPECT_EQ(m.tag.label(), label);
    KEXPECT_EQ(m.tag.words(), words);
    KEXPECT_EQ(m.tag.caps(), 0);
    KEXPECT_EQ(m.badge, 0);
    expect_words(m, l4::utcb()->mr, 0x1000, words);

    l4::Message r;
    r.tag = Tag::make(rlabel, rwords);
    fill(r, l4::utcb()->mr, 0x2000, rwords);
    KEXPECT_EQ(l4::reply(r), Error::ok);
    KREQUIRE_EQ(wait_flag(peer_a.done), true);
    KEXPECT_EQ(peer_a.error, Error::ok);
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

} // namespace

KTEST(ipc_call_reply_20_words) { round_trip(0x42, 20, 0x77, 20); }
KTEST(ipc_call_reply_64_words) { round_trip(0x43, 64, 0x78, 64); }
KTEST(ipc_call_reply_labels_and_counts) { round_trip(0xfedcba987654, 3, 0, 0); }
KTEST(ipc_call_reply_register_words_only) { round_trip(1, 6, 0x123456789abc, 1); }

KTEST(ipc_badge_seen_by_receiver)
{
    Slots slots(200, 240);
    KREQUIRE_EQ(make(kEndpoint, ObjectKind::endpoint), Error::ok);
    KREQUIRE_EQ(l4::cap_copy(kEndpoint, kCopy, rights::send, 0xb4d6e), Error::ok);
    const Selector via[] = {kCopy, kEndpoint};
    const uint64_t badges[] = {0xb4d6e, 0};
    for (int i = 0; i < 2; ++i) {
        release_slot(kPeerA);
        reset(peer_a, via[i]);
        peer_a.msg.tag = Tag::make(7, 1);
        KREQUIRE_EQ(spawn_thread(kPeerA, call_body<peer_a>), Error::ok);
        l4::Message m;
        KREQUIRE_EQ(receive_polled(kEndpoint, m), Error::ok);
        KEXPECT_EQ(m.badge, badges[i]);
        KEXPECT_EQ(m.tag.label(), 7);
        l4::Message r;
        KEXPECT_EQ(l4::reply(r), Error::ok);
        KEXPECT_EQ(wait_flag(peer_a.done), true);
        KEXPECT_EQ(peer_a.error, Error::ok);
    }
}

KTEST(ipc_reply_wait_server_loop)
{
    Slots slots(200, 240);
    KREQUIRE_EQ(make(kEndpoint, ObjectKind::endpoint), Error::ok);
    reset(peer_a, kEndpoint);
    KREQUIRE_EQ(spawn_thread(kPeerA, call_three_body), Error::ok);
    l4::Message m;
    KREQUIRE_EQ(receive_polled(kEndpoint, m), Error::ok);
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
    KREQUIRE_EQ(wait_flag(peer_a.done), true);
    KEXPECT_EQ(peer_a.error, Error::ok);
    KEXPECT_EQ(peer_a.replies[0], 100);
    KEXPECT_EQ(peer_a.replies[1], 101);
    KEXPECT_EQ(peer_a.replies[2], 102);
}

// The main thread calls a helper server three times (the send phase has a timeout; the
// reply comes or the server's exit fails the call).
KTEST(ipc_call_helper_server_loop)
{
    Slots slots(200, 240);
    KREQUIRE_EQ(make(kEndpoint, ObjectKind::endpoint), Error::ok);
    reset(peer_b, kEndpoint);
    KREQUIRE_EQ(spawn_thread(kPeerB, reply_wait_server_body), Error::ok);
    for (uint64_t i = 0; i < 3; ++i) {
        l4::Message m;
        m.tag = Tag::make(0x44, 1);
        m.words[0] = 10 + i;
        KEXPECT_EQ(l4::call(kEndpoint, m, kServerTimeout), Error::ok);
        KEXPECT_EQ(m.tag.words(), 1);
        KEXPECT_EQ(m.words[0], 110 + i);
    }
    KREQUIRE_EQ(wait_flag(peer_b.done), true);
    KEXPECT_EQ(peer_b.error, Error::ok);
    KEXPECT_EQ(peer_b.replies[0], 10);
    KEXPECT_EQ(peer_b.replies[2], 12);
}

// A bad reply tag fails and keeps the caller waiting; a good reply then reaches it.
KTEST(ipc_reply_with_bad_tag)
{
    Slots slots(200, 240);
    KREQUIRE_EQ(make(kEndpoint, ObjectKind::endpoint), Error::ok);
    reset(peer_a, kEndpoint);
    KREQUIRE_EQ(spawn_thread(kPeerA, call_body<peer_a>), Error::ok);
    l4::Message m;
    KREQUIRE_EQ(receive_polled(kEndpoint, m), Error::ok);
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
    KREQUIRE_EQ(wait_flag(peer_a.done), true);
    KEXPECT_EQ(peer_a.error, Error::ok);
    KEXPECT_EQ(peer_a.msg.tag.label(), 0x99);
    KEXPECT_EQ(peer_a.msg.words[0], 0x1234);
}

// A sender with a finite timeout meets a receiver that comes in time.
KTEST(ipc_finite_timeout_send_meets_receiver)
{
    Slots slots(200, 240);
    KREQUIRE_EQ(make(kEndpoint, ObjectKind::endpoint), Error::ok);
    reset(peer_a, kEndpoint);
    KREQUIRE_EQ(spawn_thread(kPeerA, receive_body<peer_a>), Error::ok);
    l4::Message m;
    m.tag = Tag::make(0x55, 1);
    m.words[0] = 0x5555;
    KEXPECT_EQ(l4::send(kEndpoint, m, kServerTimeout), Error::ok);
    KREQUIRE_EQ(wait_flag(peer_a.done), true);
    KEXPECT_EQ(peer_a.error, Error::ok);
    KEXPECT_EQ(peer_a.msg.tag.label(), 0x55);
    KEXPECT_EQ(peer_a.msg.words[0], 0x5555);
}

// A server loop may start with reply_wait: no caller, so only the receive part happens.
KTEST(ipc_reply_wait_without_caller_only_receives)
{
    Slots slots(200, 240);
    KREQUIRE_EQ(make(kEndpoint, ObjectKind::endpoint), Error::ok);
    l4::Message m;
    m.tag = Tag::make(0, 2);
    KEXPECT_EQ(l4::reply_wait(kEndpoint, m, abi::kTimeoutZero), Error::timeout);
}

KTEST(ipc_send_then_receive)
{
    Slots slots(200, 240);
    KREQUIRE_EQ(make(kEndpoint, ObjectKind::endpoint), Error::ok);
    reset(peer_a, kEndpoint);
    peer_a.msg.tag = Tag::make(5, 8);
    fill(peer_a.msg, peer_a.mr, 0x500, 8);
    KREQUIRE_EQ(spawn_thread(kPeerA, send_body<peer_a>), Error::ok);
    l4::Message m;
    KREQUIRE_EQ(receive_polled(kEndpoint, m), Error::ok);
    KEXPECT_EQ(m.tag.label(), 5);
    KEXPECT_EQ(m.tag.words(), 8);
    expect_words(m, l4::utcb()->mr, 0x500, 8);
    KEXPECT_EQ(wait_flag(peer_a.done), true);
    KEXPECT_EQ(peer_a.error, Error::ok);
    KEXPECT_EQ(l4::reply(l4::Message{}), Error::invalid_selector);   // a send wants no reply
}

KTEST(ipc_receiver_waits_then_send)
{
    Slots slots(200, 240);
    KREQUIRE_EQ(make(kEndpoint, ObjectKind::endpoint), Error::ok);
    reset(peer_a, kEndpoint);
    KREQUIRE_EQ(spawn_thread(kPeerA, receive_body<peer_a>), Error::ok);
    l4::Message m;
    m.tag = Tag::make(6, 9);
    fill(m, l4::utcb()->mr, 0x600, 9);
    KEXPECT_EQ(send_polled(kEndpoint, m), Error::ok);
    KREQUIRE_EQ(wait_flag(peer_a.done), true);
    KEXPECT_EQ(peer_a.error, Error::ok);
    KEXPECT_EQ(peer_a.msg.tag.label(), 6);
    KEXPECT_EQ(peer_a.msg.tag.words(), 9);
    KEXPECT_EQ(peer_a.msg.badge, 0);
    expect_words(peer_a.msg, peer_a.mr, 0x600, 9);
}

KTEST(ipc_zero_timeout_without_partner)
{
    Slots slots(200, 240);
    KREQUIRE_EQ(make(kEndpoint, ObjectKind::endpoint), Error::ok);
    l4::Message m;
    KEXPECT_EQ(l4::receive(kEndpoint, m, abi::kTimeoutZero), Error::timeout);
    m = l4::Message{};
    KEXPECT_EQ(l4::send(kEndpoint, m, abi::kTimeoutZero), Error::timeout);
    KEXPECT_EQ(l4::call(kEndpoint, m, abi::kTimeoutZero), Error::timeout);
}

KTEST(ipc_finite_timeout_without_partner)
{
    Slots slots(200, 240);
    KREQUIRE_EQ(make(kEndpoint, ObjectKind::endpoint), Error::ok);
    l4::Message m;
    KEXPECT_EQ(l4::receive(kEndpoint, m, kShortTimeout), Error::timeout);
    m = l4::Message{};
    KEXPECT_EQ(l4::send(kEndpoint, m, kShortTimeout), Error::timeout);
    KEXPECT_EQ(l4::call(kEndpoint, m, kShortTimeout), Error::timeout);
    // Nobody is left queued: a zero-timeout receive finds no sender.
    KEXPECT_EQ(l4::receive(kEndpoint, m, abi::kTimeoutZero), Error::timeout);
}

KTEST(ipc_send_and_call_need_send_right)
{
    Slots slots(200, 240);
    KREQUIRE_EQ(make(kEndpoint, ObjectKind::endpoint), Error::ok);
    KREQUIRE_EQ(l4::cap_copy(kEndpoint, kCopy, rights::all & ~rights::send), Error::ok);
    l4::Message m;
    KEXPECT_EQ(l4::call(kCopy, m, abi::kTimeoutZero), Error::missing_rights);
    KEXPECT_EQ(l4::send(kCopy, m, abi::kTimeoutZero), Error::missing_rights);
}

KTEST(ipc_receive_needs_receive_right)
{
    Slots slots(200, 240);
    KREQUIRE_EQ(make(kEndpoint, ObjectKind::endpoint), Error::ok);
    KREQUIRE_EQ(l4::cap_copy(kEndpoint, kCopy, rights::all & ~rights::receive), Error::ok);
    l4::Message m;
    KEXPECT_EQ(l4::receive(kCopy, m, abi::kTimeoutZero), Error::missing_rights);
    m = l4::Message{};
    KEXPECT_EQ(l4::reply_wait(kCopy, m, abi::kTimeoutZero), Error::missing_rights);
}

KTEST(ipc_more_than_64_words)
{
    Slots slots(200, 240);
    KREQUIRE_EQ(make(kEndpoint, ObjectKind::endpoint), Error::ok);
    const uint64_t too_many[] = {65, 127};
    for (uint64_t words : too_many) {
        l4::Message m;
        m.tag = Tag::make(1, words);
        KEXPECT_EQ(l4::send(kEndpoint, m, abi::kTimeoutZero), Error::invalid_argument);
        KEXPECT_EQ(l4::call(kEndpoint, m, abi::kTimeoutZero), Error::invalid_argument);
    }
}

KTEST(ipc_more_than_4_caps)
{
    Slots slots(200, 240);
    KREQUIRE_EQ(make(kEndpoint, ObjectKind::endpoint), Error::ok);
    KREQUIRE_EQ(make(kNote, ObjectKind::notification), Error::ok);
    for (auto& item : l4::utcb()->send_caps)
        item = {kNote, rights::all};
    const uint64_t too_many[] = {5, 7};
    for (uint64_t caps : too_many) {
        l4::Message m;
        m.tag = Tag::make(1, 0, caps);
        KEXPECT_EQ(l4::send(kEndpoint, m, abi::kTimeoutZero), Error::invalid_argument);
        KEXPECT_EQ(l4::call(kEndpoint, m, abi::kTimeoutZero), Error::invalid_argument);
    }
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

KTEST(ipc_senders_served_in_order)
{
    Slots slots(200, 240);
    KREQUIRE_EQ(make(kEndpoint, ObjectKind::endpoint), Error::ok);
    reset(peer_a, kEndpoint);
    reset(peer_b, kEndpoint);
    peer_a.msg.tag = Tag::make(1, 0);
    peer_b.msg.tag = Tag::make(2, 0);
    KREQUIRE_EQ(spawn_thread(kPeerA, send_body<peer_a>), Error::ok);
    KEXPECT_EQ(wait_flag(peer_a.started), true);
    yield_times(5);
    KREQUIRE_EQ(spawn_thread(kPeerB, send_body<peer_b>), Error::ok);
    KEXPECT_EQ(wait_flag(peer_b.started), true);
    yield_times(5);
    l4::Message m;
    KEXPECT_EQ(receive_polled(kEndpoint, m), Error::ok);
    KEXPECT_EQ(m.tag.label(), 1);
    KEXPECT_EQ(receive_polled(kEndpoint, m), Error::ok);
    KEXPECT_EQ(m.tag.label(), 2);
    KEXPECT_EQ(wait_until([] { return peer_a.done + peer_b.done == 2; }), true);
}
