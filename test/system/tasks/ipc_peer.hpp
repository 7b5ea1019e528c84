// The helper-thread side of IPC tests (ipc_tests.cpp, ipc_transfer_tests.cpp): a Peer
// describes one call, send or receive a helper thread makes, and records what came back.
#pragma once

#include "helpers.hpp"

namespace kt::ipc {

constexpr Selector kPeerA = 200, kPeerB = 201;
constexpr Selector kEndpoint = 210, kCopy = 211;
constexpr Selector kNote = 220;
constexpr Selector kReceiveFirst = 230;
constexpr Selector kEmpty = 250;
constexpr uint64_t kShortTimeout = 5;    // ticks
constexpr uint64_t kServerTimeout = 200; // ticks: 2 s at 100 Hz

using Tag = abi::MessageTag;

// A helper thread's side of one IPC: what it sends, and what came back.
struct Peer {
    Selector endpoint;
    uint64_t timeout;
    l4::Message msg;
    uint64_t mr[abi::kMessageWords]; // words 6.. of msg (both ways)
    abi::CapItem caps[abi::kMaxTypedItems];
    uint64_t receive_slot;
    uint64_t received_caps;
    uint64_t error;
    uint64_t replies[3];
    volatile uint64_t started, done;
};
inline Peer peer_a, peer_b;

inline void reset(Peer& p, Selector endpoint)
{
    p = Peer{};
    p.endpoint = endpoint;
    p.timeout = abi::kTimeoutNever;
    p.receive_slot = abi::kNoReceiveSlot;
    p.error = ~uint64_t{0};
}

inline void prepare(Peer& p)
{
    abi::Utcb* u = l4::utcb();
    for (uint64_t i = abi::kRegisterWords; i < abi::kMessageWords; ++i)
        u->mr[i] = p.mr[i];
    for (uint64_t i = 0; i < abi::kMaxTypedItems; ++i)
        u->send_caps[i] = p.caps[i];
    u->receive_slot = p.receive_slot;
    u->received_caps = ~uint64_t{0};
    set_flag(p.started);
}

[[noreturn]] inline void finish(Peer& p, Error e, const l4::Message& m)
{
    p.error = static_cast<uint64_t>(e);
    p.msg = m;
    for (uint64_t i = abi::kRegisterWords; i < abi::kMessageWords; ++i)
        p.mr[i] = l4::utcb()->mr[i];
    p.received_caps = l4::utcb()->received_caps;
    set_flag(p.done);
    l4::thread_exit();
}

enum class PeerOp { call, send, receive };

// The peer's one IPC: its message out (call, send) and what came back (call, receive).
[[noreturn]] inline void run_peer(Peer& p, PeerOp op)
{
    prepare(p);
    l4::Message m = op == PeerOp::receive ? l4::Message{} : p.msg;
    Error e = op == PeerOp::call   ? l4::call(p.endpoint, m, p.timeout)
              : op == PeerOp::send ? l4::send(p.endpoint, m, p.timeout)
                                   : l4::receive(p.endpoint, m, p.timeout);
    finish(p, e, m);
}

template <Peer& p>
[[noreturn]] void call_body()
{
    run_peer(p, PeerOp::call);
}
template <Peer& p>
[[noreturn]] void send_body()
{
    run_peer(p, PeerOp::send);
}
template <Peer& p>
[[noreturn]] void receive_body()
{
    run_peer(p, PeerOp::receive);
}

// Three calls with word 0 = 0, 1, 2; the replies' word 0 are kept.
[[noreturn]] inline void call_three_body()
{
    prepare(peer_a);
    Error e = Error::ok;
    l4::Message m;
    for (uint64_t i = 0; i < 3 && e == Error::ok; ++i) {
        m = l4::Message{};
        m.tag = Tag::make(0x33, 1);
        m.words[0] = i;
        e = l4::call(peer_a.endpoint, m);
        peer_a.replies[i] = m.words[0];
    }
    finish(peer_a, e, m);
}

// Fills words 0..n-1 of a message with base + i (registers and UTCB).
inline void fill(l4::Message& m, uint64_t* mr, uint64_t base, uint64_t n)
{
    for (uint64_t i = 0; i < n; ++i) {
        if (i < abi::kRegisterWords)
            m.words[i] = base + i;
        else
            mr[i] = base + i;
    }
}

inline void expect_words(const l4::Message& m, const uint64_t* mr, uint64_t base, uint64_t n)
{
    for (uint64_t i = 0; i < n; ++i)
        KEXPECT_EQ(i < abi::kRegisterWords ? m.words[i] : mr[i], base + i);
}

// Waits for peer `p` to be done, and expects its IPC to have ended with `error`; false
// (after a failure report) when it never finished.
inline bool peer_done(Peer& p, Error error = Error::ok)
{
    KREQUIRE_EQ_OR(wait_flag(p.done), true, false);
    KEXPECT_EQ(p.error, error);
    return true;
}

// Expects the word 0 of the peer's replies (call_three_body) or requests (a server's).
inline void expect_replies(const Peer& p, uint64_t first, uint64_t second, uint64_t third)
{
    const uint64_t expected[3] = {first, second, third};
    for (uint64_t i = 0; i < 3; ++i)
        KEXPECT_EQ(p.replies[i], expected[i]);
}

// Starts peer_a at `body` (its message tag `tag`), and receives what it sends or calls (polled,
// into m); false after a failed check.
inline bool receive_from_peer(ThreadBody body, Tag tag, l4::Message& m)
{
    peer_a.msg.tag = tag;
    KREQUIRE_EQ_OR(spawn_thread(kPeerA, body), Error::ok, false);
    KREQUIRE_EQ_OR(receive_polled(kEndpoint, m), Error::ok, false);
    return true;
}

// A send and a call (zero timeout) of `tag` through `through` both fail with `error`.
inline void expect_send_and_call(Selector through, Tag tag, Error error)
{
    l4::Message m;
    m.tag = tag;
    KEXPECT_EQ(l4::send(through, m, abi::kTimeoutZero), error);
    KEXPECT_EQ(l4::call(through, m, abi::kTimeoutZero), error);
}

// The set-up of most IPC tests: kEndpoint, and both peers reset for it.
inline bool endpoint_and_peers()
{
    reset(peer_a, kEndpoint);
    reset(peer_b, kEndpoint);
    return made(kEndpoint, ObjectKind::endpoint);
}

// Receive settings of the main thread, put back afterwards.
struct MainReceiveSlot {
    explicit MainReceiveSlot(Selector s) { l4::utcb()->receive_slot = s; }
    ~MainReceiveSlot() { l4::utcb()->receive_slot = abi::kNoReceiveSlot; }
};

} // namespace kt::ipc

// An IPC test: slots 200-239, kEndpoint and the peers set up (endpoint_and_peers).
#define IPC_TEST(name) KTEST_F(name, 200, 240, kt::ipc::endpoint_and_peers())
