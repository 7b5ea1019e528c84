// The general IPC path's exact behaviour, pinned so that a fast path (call and reply_wait with
// register-only messages, short foreign syscalls, page-fault replies) cannot differ from it
// unseen: tags, badges, which registers a receive writes and which it keeps, the UTCB's
// received counts, timeouts, suspension, priorities, bound notifications, queued senders and
// quotas. Selectors 200-259. Threads of the child task run our image, mapped there at our
// addresses (as in pager_reply_tests.cpp), so they share our globals.
#include "helpers.hpp"

using namespace kt;

namespace {

constexpr Selector kServer = 200, kClient = 201, kThird = 202, kVictim = 203;
constexpr Selector kEp = 210, kBadged = 211, kNote = 212, kSleep = 213;
constexpr Selector kChild = 220, kSub = 221, kScratch = 222;
constexpr Selector kChildEp = 1; // kEp in the child's space
constexpr uint64_t kChildSlots = 16;
constexpr uint64_t kPage = 4096;
constexpr uint64_t kBadge = 0x77;
constexpr uint64_t kUnusedTagBits = 0xe000; // tag bits 13-15: no field
constexpr uint64_t kGarbage = 0xdead'beef;
constexpr uint64_t kWait = 100; // ticks: the bound of every blocking wait of the main thread

using Tag = abi::MessageTag;
using abi::Flexpage;
namespace page_rights = abi::page_rights;
using abi::Syscall;

uint64_t address(const void* p) { return reinterpret_cast<uint64_t>(p); }
uint64_t number(Syscall s) { return static_cast<uint64_t>(s); }

// kEp, kBadged (kEp with badge kBadge), kSleep; false (reported) on a failure.
bool endpoints()
{
    KREQUIRE_EQ_OR(make(kEp, ObjectKind::endpoint), Error::ok, false);
    KREQUIRE_EQ_OR(make(kSleep, ObjectKind::notification), Error::ok, false);
    KREQUIRE_EQ_OR(l4::cap_copy(kEp, kBadged, rights::all, kBadge), Error::ok, false);
    return true;
}

// endpoints(), and a child task of a 1 MiB factory (kSub) with our image and kEp at kChildEp.
bool endpoints_and_child()
{
    if (!endpoints())
        return false;
    KREQUIRE_EQ_OR(make_image_task(kSub, 1024 * 1024, kChild, kChildSlots), true, false);
    KREQUIRE_EQ_OR(l4::cap_copy_to(kChild, kEp, kChildEp), Error::ok, false);
    return true;
}

// A thread at `slot`, in the child or in our task, started at `body`.
bool spawn_in(Selector slot, ThreadBody body, bool in_child, uint64_t priority = kMainPriority)
{
    KREQUIRE_EQ_OR(create_thread(slot, priority, in_child ? kChild : kTask), Error::ok, false);
    KREQUIRE_EQ_OR(start_thread(slot, body), Error::ok, false);
    return true;
}

// kServer, in the child or in our task, started at `body` and waiting where it blocks first
// (it sets `started` on its way there).
bool server_waits(ThreadBody body, const volatile uint64_t& started, bool in_child)
{
    KREQUIRE_EQ_OR(spawn_in(kServer, body, in_child), true, false);
    KREQUIRE_EQ_OR(wait_flag(started), true, false);
    yield_times(3);
    return true;
}

// The calling thread blocks for `ticks`: a wait on a notification nobody signals.
Error sleep_ticks(uint64_t ticks)
{
    uint64_t bits = 0;
    return l4::notify_wait(kSleep, bits, ticks);
}

// The order in which threads got somewhere.
volatile uint64_t order[8];
volatile uint64_t order_count;

void reset_order()
{
    for (volatile uint64_t& o : order)
        o = 0;
    order_count = 0;
}

void mark(uint64_t who)
{
    uint64_t i = __atomic_fetch_add(&order_count, 1, __ATOMIC_SEQ_CST);
    if (i < 8)
        order[i] = who;
}

void expect_order(const uint64_t* expected, uint64_t n)
{
    KEXPECT_EQ(order_count, n);
    for (uint64_t i = 0; i < n; ++i)
        KEXPECT_EQ(order[i], expected[i]);
}

// One IPC of a helper thread: what it sent, what came back.
struct Side {
    Selector endpoint;
    l4::Message msg;
    uint64_t error;
    volatile uint64_t started, done;
};
Side client, third;

void reset_side(Side& s, Selector endpoint, Tag tag, uint64_t first_word)
{
    s = Side{};
    s.endpoint = endpoint;
    s.error = ~uint64_t{0};
    s.msg.tag = tag;
    for (uint64_t i = 0; i < abi::kRegisterWords; ++i)
        s.msg.words[i] = first_word + i;
}

[[noreturn]] void call_side(Side& s, uint64_t who)
{
    l4::utcb()->mr[6] = s.msg.words[0] + 6; // word 6 of a 7-word message
    set_flag(s.started);
    s.error = static_cast<uint64_t>(l4::call(s.endpoint, s.msg));
    mark(who);
    set_flag(s.done);
    l4::thread_exit();
}
[[noreturn]] void client_body() { call_side(client, 'C'); }
[[noreturn]] void third_body() { call_side(third, 'T'); }

// Expects the helper's call to have returned `tag` with words first_word...
void expect_reply(Side& s, Tag tag, uint64_t first_word)
{
    KREQUIRE_EQ(wait_flag(s.done), true);
    KEXPECT_EQ(s.error, Error::ok);
    KEXPECT_EQ(s.msg.tag.raw, tag.raw);
    KEXPECT_EQ(s.msg.badge, 0);
    for (uint64_t i = 0; i < tag.words() && i < abi::kRegisterWords; ++i)
        KEXPECT_EQ(s.msg.words[i], first_word + i);
}

// Raw IPC of the main thread: every register set, so that what the kernel writes shows.
RawRegisters raw_ipc(Syscall s, Selector endpoint, uint64_t tag, uint64_t timeout, uint64_t first_word)
{
    RawRegisters r{};
    r.rax = number(s);
    r.rdi = endpoint;
    r.rsi = tag;
    r.rdx = timeout;
    r.rbx = 0xb0b0'0000 + first_word;
    r.rbp = 0xb9b9'0000 + first_word;
    r.r10 = 0x1010'0000 + first_word;
    for (uint64_t i = 0; i < abi::kRegisterWords; ++i)
        raw_word(r, i) = first_word + i;
    return r;
}

// What a raw IPC must leave alone: rdi, rbx, rbp, r10, and the words past `words`.
void expect_kept(const RawRegisters& after, RawRegisters& before, uint64_t words)
{
    KEXPECT_EQ(after.rdi, before.rdi);
    KEXPECT_EQ(after.rbx, before.rbx);
    KEXPECT_EQ(after.rbp, before.rbp);
    KEXPECT_EQ(after.r10, before.r10);
    RawRegisters copy = after;
    for (uint64_t i = words; i < abi::kRegisterWords; ++i)
        KEXPECT_EQ(raw_word(copy, i), raw_word(before, i));
}

// --- a, b: word counts 0..7, badges, tag bits, registers past the message --------------------

constexpr uint64_t kRounds = 16; // word counts 0..7 through kEp, then through kBadged

uint64_t call_words(uint64_t r) { return r % 8; }
uint64_t reply_words(uint64_t r) { return (r * 3 + 5) % 8; } // every count in 8 rounds
uint64_t call_value(uint64_t r, uint64_t i) { return 0xc000'0000 + r * 16 + i; }
uint64_t reply_value(uint64_t r, uint64_t i) { return 0xa000'0000 + r * 16 + i; }
uint64_t odd_bits(uint64_t r) { return r % 2 == 1 ? kUnusedTagBits : 0; }
uint64_t call_tag(uint64_t r) { return Tag::make(0x1000 + r, call_words(r)).raw | odd_bits(r); }
uint64_t reply_tag(uint64_t r) { return Tag::make(0x2000 + r, reply_words(r)).raw | odd_bits(r); }
// The server's word i (6: mr[6]) as it enters the receive of round r: its reply of round r-1,
// else a value of its own.
uint64_t server_entry(uint64_t r, uint64_t i)
{
    return r > 0 && i < reply_words(r - 1) ? reply_value(r - 1, i) : 0x5e00'0000 + r * 16 + i;
}

struct Received {
    RawRegisters regs;
    uint64_t mr6, caps, pages;
};

struct EchoServer {
    Selector endpoint; // in the server's own space
    Received got[kRounds];
    uint64_t last_reply;
    volatile uint64_t started, done;
};
EchoServer echo;

// Round r's receive (0) or reply_wait (the reply to round r-1), then ipc_reply to the last.
[[noreturn]] void echo_body()
{
    abi::Utcb* u = l4::utcb();
    u->receive_slot = abi::kNoReceiveSlot;
    u->receive_window = 0;
    set_flag(echo.started);
    for (uint64_t r = 0; r <= kRounds; ++r) {
        Syscall op = r == 0 ? Syscall::ipc_receive : r == kRounds ? Syscall::ipc_reply : Syscall::ipc_reply_wait;
        RawRegisters regs = raw_ipc(op, echo.endpoint, r == 0 ? 0 : reply_tag(r - 1), abi::kTimeoutNever, 0);
        regs.rbx += r;
        for (uint64_t i = 0; i < abi::kRegisterWords; ++i)
            raw_word(regs, i) = server_entry(r, i);
        u->mr[6] = server_entry(r, 6);
        u->received_caps = u->received_pages = kGarbage;
        kt_raw_syscall(&regs);
        if (r < kRounds)
            echo.got[r] = {regs, u->mr[6], u->received_caps, u->received_pages};
        else
            echo.last_reply = regs.rax;
    }
    set_flag(echo.done);
    l4::thread_exit();
}

void echo_rounds(bool in_child)
{
    echo = EchoServer{};
    echo.endpoint = in_child ? kChildEp : kEp;
    KREQUIRE_EQ(server_waits(echo_body, echo.started, in_child), true);
    abi::Utcb* u = l4::utcb();
    for (uint64_t r = 0; r < kRounds; ++r) {
        RawRegisters sent =
            raw_ipc(Syscall::ipc_call, r < 8 ? kEp : kBadged, call_tag(r), abi::kTimeoutNever, call_value(r, 0));
        u->mr[6] = call_value(r, 6);
        u->received_caps = u->received_pages = kGarbage;
        RawRegisters got = sent;
        kt_raw_syscall(&got);
        // The reply: its label and count, bits 13-15 dropped, badge 0, the words past it kept.
        KEXPECT_EQ(got.rax, Error::ok);
        KEXPECT_EQ(got.rsi, Tag::make(0x2000 + r, reply_words(r)).raw);
        KEXPECT_EQ(got.rdx, 0);
        for (uint64_t i = 0; i < reply_words(r) && i < abi::kRegisterWords; ++i)
            KEXPECT_EQ(raw_word(got, i), reply_value(r, i));
        expect_kept(got, sent, reply_words(r));
        KEXPECT_EQ(u->mr[6], reply_words(r) == 7 ? reply_value(r, 6) : call_value(r, 6));
        KEXPECT_EQ(u->received_caps, 0);
        KEXPECT_EQ(u->received_pages, 0);
    }
    KREQUIRE_EQ(wait_flag(echo.done), true);
    KEXPECT_EQ(echo.last_reply, Error::ok);
    for (uint64_t r = 0; r < kRounds; ++r) {
        Received& g = echo.got[r];
        KEXPECT_EQ(g.regs.rax, Error::ok);
        KEXPECT_EQ(g.regs.rsi, Tag::make(0x1000 + r, call_words(r)).raw);
        KEXPECT_EQ(g.regs.rdx, r < 8 ? 0 : kBadge);
        KEXPECT_EQ(g.regs.rdi, echo.endpoint);
        KEXPECT_EQ(g.regs.rbx, 0xb0b0'0000 + r);
        KEXPECT_EQ(g.regs.rbp, 0xb9b9'0000);
        KEXPECT_EQ(g.regs.r10, 0x1010'0000);
        for (uint64_t i = 0; i < abi::kRegisterWords; ++i)
            KEXPECT_EQ(raw_word(g.regs, i), i < call_words(r) ? call_value(r, i) : server_entry(r, i));
        KEXPECT_EQ(g.mr6, call_words(r) == 7 ? call_value(r, 6) : server_entry(r, 6));
        KEXPECT_EQ(g.caps, 0);
        KEXPECT_EQ(g.pages, 0);
    }
}

} // namespace

#define FP_TEST(name) KTEST_F(name, 200, 260, endpoints())
#define FP_CHILD_TEST(name) KTEST_F(name, 200, 260, endpoints_and_child())

// a, b: a call of 0..7 words through kEp (badge 0) and kBadged, answered by reply_wait with
// 0..7 words: each side sees exactly the label, count and words sent (bits 13-15 of the tag
// dropped), the badge, ok; every register past the count keeps what its thread had when it
// entered the call or receive (only `words` registers are written), rdi, rbx, rbp and r10
// stay, and received_caps and received_pages are 0 whatever they were.
FP_TEST(fastpath_words_and_registers_in_one_task) { echo_rounds(false); }
FP_CHILD_TEST(fastpath_words_and_registers_across_tasks) { echo_rounds(true); }

namespace {

// --- c: finite timeouts that a message beats ----------------------------------------------------

struct Timed {
    uint64_t first, first_tag, first_word, slept, replied, second, second_tag, second_word;
    volatile uint64_t started, waiting, done;
};
Timed timed;

// Receives with a deadline 10 ticks away, sleeps 30 ticks before it replies, then receives
// without a deadline: no timeout of either side may end anything after its message came.
[[noreturn]] void timed_body()
{
    set_flag(timed.started);
    l4::Message m;
    timed.first = static_cast<uint64_t>(l4::receive(kEp, m, 10));
    timed.first_tag = m.tag.raw;
    timed.first_word = m.words[0];
    timed.slept = static_cast<uint64_t>(sleep_ticks(30));
    l4::Message r;
    r.tag = Tag::make(0x32, 1);
    r.words[0] = timed.first_word + 1;
    timed.replied = static_cast<uint64_t>(l4::reply(r));
    set_flag(timed.waiting);
    m = l4::Message{};
    timed.second = static_cast<uint64_t>(l4::receive(kEp, m));
    timed.second_tag = m.tag.raw;
    timed.second_word = m.words[0];
    r.words[0] = timed.second_word + 1;
    (void)l4::reply(r);
    set_flag(timed.done);
    l4::thread_exit();
}

} // namespace

// c: a receiver waiting with a deadline gets a call with a 5-tick send timeout; the reply comes
// 30 ticks later and still arrives (ok); both deadlines long past, the next receive and call
// (a zero timeout: the receiver waits) of the same threads work normally.
FP_TEST(fastpath_finite_timeouts_beaten_by_the_message)
{
    timed = Timed{};
    KREQUIRE_EQ(spawn_started(kServer, timed_body, timed.started, 3), true);
    l4::Message m;
    m.tag = Tag::make(0x31, 1);
    m.words[0] = 0x410;
    KEXPECT_EQ(l4::call(kEp, m, 5), Error::ok);
    KEXPECT_EQ(m.tag.raw, Tag::make(0x32, 1).raw);
    KEXPECT_EQ(m.words[0], 0x411);
    KEXPECT_EQ(timed.first, Error::ok);
    KEXPECT_EQ(timed.first_tag, Tag::make(0x31, 1).raw);
    KEXPECT_EQ(timed.first_word, 0x410);
    KEXPECT_EQ(timed.slept, Error::timeout);
    KEXPECT_EQ(timed.replied, Error::ok);
    KREQUIRE_EQ(wait_flag(timed.waiting), true);
    KEXPECT_EQ(sleep_ticks(20), Error::timeout);
    m = l4::Message{};
    m.tag = Tag::make(0x31, 1);
    m.words[0] = 0x420;
    KEXPECT_EQ(l4::call(kEp, m, abi::kTimeoutZero), Error::ok); // zero: the receiver waits
    KEXPECT_EQ(m.words[0], 0x421);
    KREQUIRE_EQ(wait_flag(timed.done), true);
    KEXPECT_EQ(timed.second, Error::ok);
    KEXPECT_EQ(timed.second_tag, Tag::make(0x31, 1).raw);
    KEXPECT_EQ(timed.second_word, 0x420);
}

namespace {

// --- d: a suspended receiver ---------------------------------------------------------------------

struct Sleeper {
    uint64_t error, tag, badge, words[abi::kRegisterWords], mr6;
    volatile uint64_t started, ran;
};
Sleeper sleeper;

[[noreturn]] void sleeper_body()
{
    set_flag(sleeper.started);
    l4::Message m;
    sleeper.error = static_cast<uint64_t>(l4::receive(kEp, m));
    set_flag(sleeper.ran);
    sleeper.tag = m.tag.raw;
    sleeper.badge = m.badge;
    for (uint64_t i = 0; i < abi::kRegisterWords; ++i)
        sleeper.words[i] = m.words[i];
    sleeper.mr6 = l4::utcb()->mr[6];
    l4::Message r;
    r.tag = Tag::make(0x44, 2);
    r.words[0] = 0x440;
    r.words[1] = 0x441;
    (void)l4::reply(r);
    l4::thread_exit();
}

} // namespace

// d: a call to a receiver suspended in its receive takes the receiver (the endpoint has none
// waiting afterwards) and blocks the caller; the receiver runs only once resumed, with the
// exact message, and its reply reaches the caller.
FP_TEST(fastpath_call_to_a_suspended_receiver)
{
    sleeper = Sleeper{};
    KREQUIRE_EQ(spawn_started(kServer, sleeper_body, sleeper.started, 3), true);
    KEXPECT_EQ(l4::thread_control(kServer, ThreadOp::suspend), Error::ok);
    reset_side(client, kBadged, Tag::make(0x43, 7), 0x430);
    KREQUIRE_EQ(spawn_started(kClient, client_body, client.started, 20), true);
    KEXPECT_EQ(client.done, 0);
    KEXPECT_EQ(sleeper.ran, 0);
    l4::Message m;
    KEXPECT_EQ(l4::send(kEp, m, abi::kTimeoutZero), Error::timeout);    // no receiver waits
    KEXPECT_EQ(l4::receive(kEp, m, abi::kTimeoutZero), Error::timeout); // and no sender
    KEXPECT_EQ(l4::thread_control(kServer, ThreadOp::resume), Error::ok);
    KREQUIRE_EQ(wait_flag(sleeper.ran), true);
    expect_reply(client, Tag::make(0x44, 2), 0x440);
    KEXPECT_EQ(sleeper.error, Error::ok);
    KEXPECT_EQ(sleeper.tag, Tag::make(0x43, 7).raw);
    KEXPECT_EQ(sleeper.badge, kBadge);
    for (uint64_t i = 0; i < abi::kRegisterWords; ++i)
        KEXPECT_EQ(sleeper.words[i], 0x430 + i);
    KEXPECT_EQ(sleeper.mr6, 0x436);
}

namespace {

// --- e: priorities -------------------------------------------------------------------------------

// Receives one call, marks 'R', replies (label 0x51, no words), marks 'r'.
[[noreturn]] void marking_receiver_body()
{
    l4::Message m;
    if (l4::receive(kEp, m) == Error::ok && m.tag.raw == Tag::make(0x50, 0).raw)
        mark('R');
    l4::Message r;
    r.tag = Tag::make(0x51, 0);
    (void)l4::reply(r);
    mark('r');
    l4::thread_exit();
}

[[noreturn]] void marking_other_body()
{
    mark('O');
    l4::thread_exit();
}

// Receives one call, marks 'R', signals kNote (which marking_waiter_body waits for) and
// answers by reply_wait, where it stays.
[[noreturn]] void marking_reply_wait_body()
{
    l4::Message m;
    if (l4::receive(kEp, m) == Error::ok && m.tag.raw == Tag::make(0x50, 0).raw)
        mark('R');
    (void)l4::notify_signal(kNote, 1);
    m = l4::Message{};
    m.tag = Tag::make(0x51, 0);
    (void)l4::reply_wait(kEp, m);
    mark('x'); // not before the end of the test
    l4::thread_exit();
}

[[noreturn]] void marking_waiter_body()
{
    uint64_t bits = 0;
    if (l4::notify_wait(kNote, bits) == Error::ok && bits == 1)
        mark('O');
    l4::thread_exit();
}

volatile uint64_t marking_call_error;

[[noreturn]] void marking_caller_body()
{
    mark('P');
    l4::Message m;
    m.tag = Tag::make(0x50, 0);
    marking_call_error = static_cast<uint64_t>(l4::call(kEp, m));
    mark('p');
    l4::thread_exit();
}

} // namespace

// e: the main thread (100) calls a receiver of priority 60 while a thread of 80 is ready: the
// ready thread runs first, then the receiver, whose reply lets the main thread run at once.
FP_TEST(fastpath_call_yields_to_a_higher_ready_thread)
{
    reset_order();
    KREQUIRE_EQ(spawn_thread(kServer, marking_receiver_body, 60), Error::ok);
    KEXPECT_EQ(sleep_ticks(2), Error::timeout); // the receiver waits now
    KREQUIRE_EQ(spawn_thread(kThird, marking_other_body, 80), Error::ok);
    l4::Message m;
    m.tag = Tag::make(0x50, 0);
    KEXPECT_EQ(l4::call(kEp, m), Error::ok);
    KEXPECT_EQ(m.tag.raw, Tag::make(0x51, 0).raw);
    mark('M');
    KEXPECT_EQ(sleep_ticks(2), Error::timeout);
    const uint64_t expected[] = {'O', 'R', 'M', 'r'};
    expect_order(expected, 4);
}

// e: a caller (50) to a receiver of lower priority (40) switches to it directly, before a ready
// thread of the receiver's own priority; the reply lets the caller run at once; then the
// receiver, which goes on before the other thread of its priority.
FP_TEST(fastpath_call_to_a_lower_priority_receiver)
{
    reset_order();
    marking_call_error = ~uint64_t{0};
    KREQUIRE_EQ(spawn_thread(kServer, marking_receiver_body, 40), Error::ok);
    KEXPECT_EQ(sleep_ticks(2), Error::timeout);
    KREQUIRE_EQ(spawn_thread(kThird, marking_other_body, 40), Error::ok);
    KREQUIRE_EQ(spawn_thread(kClient, marking_caller_body, 50), Error::ok);
    KEXPECT_EQ(sleep_ticks(3), Error::timeout);
    KEXPECT_EQ(marking_call_error, Error::ok);
    const uint64_t expected[] = {'P', 'R', 'p', 'r', 'O'};
    expect_order(expected, 5);
}

// e: a caller (50) and a higher receiver (60) that makes a thread of 55 ready and answers by
// reply_wait: the reply does not switch to the caller while the thread of 55 is ready.
FP_TEST(fastpath_reply_wait_yields_to_a_thread_above_the_caller)
{
    reset_order();
    marking_call_error = ~uint64_t{0};
    KREQUIRE_EQ(make(kNote, ObjectKind::notification), Error::ok);
    KREQUIRE_EQ(spawn_thread(kServer, marking_reply_wait_body, 60), Error::ok);
    KREQUIRE_EQ(spawn_thread(kThird, marking_waiter_body, 55), Error::ok);
    KEXPECT_EQ(sleep_ticks(2), Error::timeout); // both wait now
    KREQUIRE_EQ(spawn_thread(kClient, marking_caller_body, 50), Error::ok);
    KEXPECT_EQ(sleep_ticks(3), Error::timeout);
    KEXPECT_EQ(marking_call_error, Error::ok);
    const uint64_t expected[] = {'P', 'R', 'O', 'p'};
    expect_order(expected, 4);
}

// --- f: reply_wait that returns at once ----------------------------------------------------------

// f: reply_wait of a thread whose bound notification has bits pending: the caller gets its
// reply, and the replier returns first, at once, with label notification, word 0 the bits,
// badge 0; the words past it and the other registers kept; the bits are taken.
FP_TEST(fastpath_reply_wait_with_pending_bits)
{
    reset_order();
    KREQUIRE_EQ(make(kNote, ObjectKind::notification), Error::ok);
    KREQUIRE_EQ(l4::thread_control(kSelf, ThreadOp::bind_notification, kNote), Error::ok);
    reset_side(client, kEp, Tag::make(0x61, 2), 0x610);
    KREQUIRE_EQ(spawn_thread(kClient, client_body), Error::ok);
    l4::Message m;
    KEXPECT_EQ(receive_polled(kEp, m), Error::ok);
    KEXPECT_EQ(m.tag.raw, Tag::make(0x61, 2).raw);
    KEXPECT_EQ(l4::notify_signal(kNote, 0x5), Error::ok);
    abi::Utcb* u = l4::utcb();
    u->received_caps = u->received_pages = kGarbage;
    RawRegisters sent = raw_ipc(Syscall::ipc_reply_wait, kEp, Tag::make(0x62, 1).raw, kWait, 0x620);
    RawRegisters got = sent;
    kt_raw_syscall(&got);
    mark('M');
    KEXPECT_EQ(got.rax, Error::ok);
    KEXPECT_EQ(got.rsi, Tag::make(abi::label::notification, 1).raw);
    KEXPECT_EQ(got.rdx, 0);
    KEXPECT_EQ(got.r8, 0x5);
    expect_kept(got, sent, 1);
    KEXPECT_EQ(u->received_caps, 0);
    KEXPECT_EQ(u->received_pages, 0);
    expect_reply(client, Tag::make(0x62, 1), 0x620);
    const uint64_t expected[] = {'M', 'C'};
    expect_order(expected, 2);
    KEXPECT_EQ(poll_bits(kNote), 0);
    KEXPECT_EQ(l4::thread_control(kSelf, ThreadOp::bind_notification, abi::kUnbind), Error::ok);
}

// f: reply_wait while a sender is queued: the reply reaches the caller and the replier receives
// the queued call at once (its badge, label, words; the words past them kept).
FP_TEST(fastpath_reply_wait_with_a_queued_sender)
{
    reset_order();
    reset_side(client, kEp, Tag::make(0x71, 1), 0x710);
    reset_side(third, kBadged, Tag::make(0x72, 3), 0x720);
    KREQUIRE_EQ(spawn_thread(kClient, client_body), Error::ok);
    l4::Message m;
    KEXPECT_EQ(receive_polled(kEp, m), Error::ok);
    KEXPECT_EQ(m.words[0], 0x710);
    KREQUIRE_EQ(spawn_started(kThird, third_body, third.started, 3), true);
    RawRegisters sent = raw_ipc(Syscall::ipc_reply_wait, kEp, Tag::make(0x73, 2).raw, kWait, 0x730);
    RawRegisters got = sent;
    kt_raw_syscall(&got);
    mark('M');
    KEXPECT_EQ(got.rax, Error::ok);
    KEXPECT_EQ(got.rsi, Tag::make(0x72, 3).raw);
    KEXPECT_EQ(got.rdx, kBadge);
    for (uint64_t i = 0; i < 3; ++i)
        KEXPECT_EQ(raw_word(got, i), 0x720 + i);
    expect_kept(got, sent, 3);
    expect_reply(client, Tag::make(0x73, 2), 0x730);
    l4::Message r;
    r.tag = Tag::make(0x74, 1);
    r.words[0] = 0x740;
    KEXPECT_EQ(l4::reply(r), Error::ok);
    expect_reply(third, Tag::make(0x74, 1), 0x740);
    const uint64_t expected[] = {'M', 'C', 'T'};
    expect_order(expected, 3);
}

// f: reply_wait with kTimeoutZero and nothing queued: the reply is delivered, the replier gets
// timeout with its registers as it sent them (the reply tag too, bits 13-15 and all).
FP_TEST(fastpath_reply_wait_zero_timeout)
{
    reset_side(client, kEp, Tag::make(0x81, 0), 0x810);
    KREQUIRE_EQ(spawn_thread(kClient, client_body), Error::ok);
    l4::Message m;
    KEXPECT_EQ(receive_polled(kEp, m), Error::ok);
    uint64_t tag = Tag::make(0x82, 4).raw | kUnusedTagBits;
    RawRegisters sent = raw_ipc(Syscall::ipc_reply_wait, kEp, tag, abi::kTimeoutZero, 0x820);
    RawRegisters got = sent;
    kt_raw_syscall(&got);
    KEXPECT_EQ(got.rax, Error::timeout);
    KEXPECT_EQ(got.rsi, tag);
    KEXPECT_EQ(got.rdx, abi::kTimeoutZero);
    expect_kept(got, sent, 0);
    expect_reply(client, Tag::make(0x82, 4), 0x820);
}

namespace {

// --- g: short foreign syscalls -------------------------------------------------------------------

constexpr uint64_t kForeignFlags = 0xad7; // CF PF AF ZF SF OF, IF and bit 1
constexpr uint64_t kLoops = 1000;
constexpr uint64_t kEndMarker = 0xe11d;

uint64_t loop_rax(uint64_t i) { return 0x4000'0000 + i * 0x9e37; }
uint64_t loop_result(uint64_t i) { return ~loop_rax(i) + i; }

} // namespace

// The victim: distinct values in every register and known flags, one `syscall`, then every
// register, the flags and rsp stored into kt_fp_out (RawRegisters, then rflags, rsp).
extern "C" {
extern char kt_fp_sys[], kt_fp_sys_after[];
volatile uint64_t kt_fp_out[17], kt_fp_done;
[[noreturn]] void kt_fp_exit() { l4::thread_exit(); }
}
asm(R"(
    .text
kt_fp_sys:
    mov $0x1000a, %rax
    mov $0x1000b, %rbx
    mov $0x1000c, %rcx
    mov $0x1000d, %rdx
    mov $0x10051, %rsi
    mov $0x100d1, %rdi
    mov $0x100b9, %rbp
    mov $0x10008, %r8
    mov $0x10009, %r9
    mov $0x10010, %r10
    mov $0x10011, %r11
    mov $0x10012, %r12
    mov $0x10013, %r13
    mov $0x10014, %r14
    mov $0x10015, %r15
    push $0xad7
    popfq
    syscall
kt_fp_sys_after:
    mov %rax, kt_fp_out+0(%rip)
    mov %rbx, kt_fp_out+8(%rip)
    mov %rcx, kt_fp_out+16(%rip)
    mov %rdx, kt_fp_out+24(%rip)
    mov %rsi, kt_fp_out+32(%rip)
    mov %rdi, kt_fp_out+40(%rip)
    mov %rbp, kt_fp_out+48(%rip)
    mov %r8, kt_fp_out+56(%rip)
    mov %r9, kt_fp_out+64(%rip)
    mov %r10, kt_fp_out+72(%rip)
    mov %r11, kt_fp_out+80(%rip)
    mov %r12, kt_fp_out+88(%rip)
    mov %r13, kt_fp_out+96(%rip)
    mov %r14, kt_fp_out+104(%rip)
    mov %r15, kt_fp_out+112(%rip)
    pushfq
    pop %rax
    mov %rax, kt_fp_out+120(%rip)
    mov %rsp, kt_fp_out+128(%rip)
    movq $1, kt_fp_done(%rip)
    and $-16, %rsp
    call kt_fp_exit
)");

namespace {

// A foreign-ABI (short_message) victim at kVictim with kBadged as its handler.
bool start_foreign(ThreadBody body, bool in_child)
{
    KREQUIRE_EQ_OR(create_thread(kVictim, kMainPriority, in_child ? kChild : kTask), Error::ok, false);
    KREQUIRE_EQ_OR(l4::thread_control(kVictim, ThreadOp::set_exception_handler, kBadged), Error::ok, false);
    KREQUIRE_EQ_OR(l4::thread_control(kVictim, ThreadOp::set_foreign_abi, abi::foreign_abi::short_message), Error::ok,
                   false);
    KREQUIRE_EQ_OR(start_thread(kVictim, body), Error::ok, false);
    return true;
}

uint64_t foreign_tag() { return Tag::make(abi::label::foreign_syscall, abi::kForeignSyscallWords).raw; }

// The victim's syscall received (the handler waiting first, or it comes queued), checked
// word by word; false (reported) if none came.
bool receive_foreign(bool in_child, bool handler_waits)
{
    kt_fp_done = 0;
    for (volatile uint64_t& o : kt_fp_out)
        o = 0;
    KREQUIRE_EQ_OR(start_foreign(reinterpret_cast<ThreadBody>(kt_fp_sys), in_child), true, false);
    if (!handler_waits)
        KEXPECT_EQ(sleep_ticks(3), Error::timeout); // busy elsewhere: the syscall queues
    l4::Message m;
    KREQUIRE_EQ_OR(l4::receive(kEp, m, handler_waits ? kWait : abi::kTimeoutZero), Error::ok, false);
    KEXPECT_EQ(m.tag.raw, foreign_tag());
    KEXPECT_EQ(m.badge, kBadge);
    const uint64_t registers[] = {0x1000a, 0x100d1, 0x10051, 0x1000d, 0x10010, 0x10008};
    for (uint64_t i = 0; i < abi::kRegisterWords; ++i)
        KEXPECT_EQ(m.words[i], registers[i]);
    abi::Utcb* u = l4::utcb();
    KEXPECT_EQ(u->mr[6], 0x10009);
    KEXPECT_EQ(u->mr[7], address(kt_fp_sys_after));
    KEXPECT_EQ(u->mr[8], initial_sp(kVictim));
    KEXPECT_EQ(u->mr[9], kForeignFlags);
    return true;
}

// The victim's registers after its syscall returned rax = `rax`: all as `syscall` left them.
void expect_after_syscall(uint64_t rax)
{
    KREQUIRE_EQ(wait_flag(kt_fp_done), true);
    const uint64_t expected[] = {rax,
                                 0x1000b,
                                 address(kt_fp_sys_after),
                                 0x1000d,
                                 0x10051,
                                 0x100d1,
                                 0x100b9,
                                 0x10008,
                                 0x10009,
                                 0x10010,
                                 kForeignFlags,
                                 0x10012,
                                 0x10013,
                                 0x10014,
                                 0x10015,
                                 kForeignFlags,
                                 initial_sp(kVictim)};
    for (uint64_t i = 0; i < 17; ++i)
        KEXPECT_EQ(kt_fp_out[i], expected[i]);
}

void foreign_round_trip(bool in_child, bool handler_waits)
{
    if (!receive_foreign(in_child, handler_waits))
        return;
    // Native again, so that its exit is a real system call.
    KEXPECT_EQ(l4::thread_control(kVictim, ThreadOp::set_foreign_abi, abi::foreign_abi::off), Error::ok);
    l4::Message r;
    r.tag = Tag::make(abi::reply_label::resume_with_rax, 1);
    r.words[0] = 0x5151'5151'5151;
    uint64_t pages = ~uint64_t{0};
    KEXPECT_EQ(l4::reply(r, pages), Error::ok);
    KEXPECT_EQ(pages, 0);
    expect_after_syscall(0x5151'5151'5151);
}

volatile uint64_t loop_wrong, loop_count;

[[noreturn]] void foreign_loop_body()
{
    uint64_t wrong = 0, i = 0;
    for (; i < kLoops; ++i) {
        uint64_t rax = loop_rax(i);
        asm volatile("syscall" : "+a"(rax) : : "rcx", "r11", "memory");
        wrong += rax != loop_result(i);
    }
    uint64_t rax = kEndMarker;
    asm volatile("syscall" : "+a"(rax) : : "rcx", "r11", "memory");
    loop_wrong = wrong + (rax != 0);
    loop_count = i;
    set_flag(kt_fp_done);
    l4::thread_exit();
}

} // namespace

// g: a short foreign syscall, its handler in another task or the same, waiting or busy (the
// syscall queues): the ForeignSyscall words exactly, label foreign_syscall, the handler
// capability's badge; resume_with_rax V: the thread goes on with rax = V, rcx = the return rip,
// r11 = its rflags, every other register, rsp and rflags as before; ipc_reply's rsi is 0.
FP_CHILD_TEST(fastpath_foreign_syscall_other_task_waiting) { foreign_round_trip(true, true); }
FP_CHILD_TEST(fastpath_foreign_syscall_other_task_queued) { foreign_round_trip(true, false); }
FP_TEST(fastpath_foreign_syscall_same_task_waiting) { foreign_round_trip(false, true); }
FP_TEST(fastpath_foreign_syscall_same_task_queued) { foreign_round_trip(false, false); }

// g: 1,000 foreign syscalls answered by reply_wait, each with its own result.
FP_CHILD_TEST(fastpath_foreign_syscall_thousand_round_trips)
{
    kt_fp_done = 0;
    loop_count = 0;
    loop_wrong = ~uint64_t{0};
    KREQUIRE_EQ(start_foreign(foreign_loop_body, true), true);
    l4::Message m;
    KREQUIRE_EQ(l4::receive(kEp, m, kWait), Error::ok);
    uint64_t wrong = 0;
    for (uint64_t i = 0; i < kLoops; ++i) {
        wrong += m.tag.raw != foreign_tag() || m.badge != kBadge || m.words[0] != loop_rax(i);
        m = l4::Message{};
        m.tag = Tag::make(abi::reply_label::resume_with_rax, 1);
        m.words[0] = loop_result(i);
        KREQUIRE_EQ(l4::reply_wait(kEp, m, kWait), Error::ok);
    }
    KEXPECT_EQ(wrong, 0);
    KEXPECT_EQ(m.words[0], kEndMarker);
    KEXPECT_EQ(l4::thread_control(kVictim, ThreadOp::set_foreign_abi, abi::foreign_abi::off), Error::ok);
    m = l4::Message{};
    m.tag = Tag::make(abi::reply_label::resume_with_rax, 1);
    KEXPECT_EQ(l4::reply(m), Error::ok);
    KREQUIRE_EQ(wait_flag(kt_fp_done), true);
    KEXPECT_EQ(loop_wrong, 0);
    KEXPECT_EQ(loop_count, kLoops);
}

// g: resume_with_rax without its word leaves the thread suspended with its registers as at the
// syscall; resumed, it goes on after the syscall with rax unchanged.
FP_TEST(fastpath_foreign_syscall_reply_without_its_word)
{
    if (!receive_foreign(false, true))
        return;
    KEXPECT_EQ(l4::thread_control(kVictim, ThreadOp::set_foreign_abi, abi::foreign_abi::off), Error::ok);
    l4::Message r;
    r.tag = Tag::make(abi::reply_label::resume_with_rax, 0);
    KEXPECT_EQ(l4::reply(r), Error::ok);
    yield_times(20);
    KEXPECT_EQ(kt_fp_done, 0);
    abi::ExceptionState s{};
    KEXPECT_EQ(l4::read_registers(kVictim, s), Error::ok);
    KEXPECT_EQ(s.rax, 0x1000a);
    KEXPECT_EQ(s.rip, address(kt_fp_sys_after));
    KEXPECT_EQ(l4::thread_control(kVictim, ThreadOp::resume), Error::ok);
    expect_after_syscall(0x1000a);
}

namespace {

// --- h: page faults to a pager in another task ---------------------------------------------------

constexpr uint64_t kDest = 0x3000'0000; // two pages of our space nothing else uses
alignas(4096) uint64_t fault_pages[2][512];

struct PagerLog {
    uint64_t status[2], tag[2], badge[2], fault[2], access[2], replied[2], pages[2];
    volatile uint64_t started, done;
};
PagerLog pager_log;
volatile uint64_t faulter_value[2];
volatile uint64_t faulter_done;

// In the child: two faults, each answered with one map item of fault_pages[k]: the first by
// ipc_reply, the second by reply_wait with a zero timeout.
[[noreturn]] void pager_body()
{
    set_flag(pager_log.started);
    for (uint64_t k = 0; k < 2; ++k) {
        RawRegisters r = raw_ipc(Syscall::ipc_receive, kChildEp, 0, abi::kTimeoutNever, 0);
        kt_raw_syscall(&r);
        pager_log.status[k] = r.rax;
        pager_log.tag[k] = r.rsi;
        pager_log.badge[k] = r.rdx;
        pager_log.fault[k] = r.r8;
        pager_log.access[k] = r.r9;
        l4::utcb()->send_pages[0] = {Flexpage::make(address(fault_pages[k]), 12, page_rights::read).raw, r.r8, 0};
        Syscall answer = k == 0 ? Syscall::ipc_reply : Syscall::ipc_reply_wait;
        RawRegisters q = raw_ipc(answer, kChildEp, Tag::make(0, 0, 0, 1).raw, abi::kTimeoutZero, 0);
        kt_raw_syscall(&q);
        pager_log.replied[k] = q.rax;
        pager_log.pages[k] = q.rsi;
    }
    set_flag(pager_log.done);
    l4::thread_exit();
}

// In our task: reads a word of each of the two pages at kDest.
[[noreturn]] void faulter_body()
{
    faulter_value[0] = *reinterpret_cast<volatile uint64_t*>(kDest + 8);
    faulter_value[1] = *reinterpret_cast<volatile uint64_t*>(kDest + kPage + 16);
    set_flag(faulter_done);
    l4::thread_exit();
}

bool start_faulter()
{
    KREQUIRE_EQ_OR(create_thread(kVictim), Error::ok, false);
    KREQUIRE_EQ_OR(l4::thread_control(kVictim, ThreadOp::set_pager, kBadged), Error::ok, false);
    KREQUIRE_EQ_OR(start_thread(kVictim, faulter_body), Error::ok, false);
    return true;
}

void pager_in_child(bool pager_first)
{
    pager_log = PagerLog{};
    faulter_done = 0;
    faulter_value[0] = 0;
    faulter_value[1] = 0;
    fault_pages[0][1] = 0x1111'0001;
    fault_pages[1][2] = 0x2222'0002;
    if (pager_first) {
        KREQUIRE_EQ(server_waits(pager_body, pager_log.started, true), true);
    }
    KREQUIRE_EQ(start_faulter(), true);
    if (!pager_first) {
        yield_times(5); // it faults and waits in the queue
        KEXPECT_EQ(faulter_done, 0);
        KREQUIRE_EQ(spawn_in(kServer, pager_body, true), true);
    }
    KREQUIRE_EQ(wait_flag(faulter_done), true);
    KREQUIRE_EQ(wait_flag(pager_log.done), true);
    KEXPECT_EQ(faulter_value[0], 0x1111'0001);
    KEXPECT_EQ(faulter_value[1], 0x2222'0002);
    const uint64_t faults[] = {kDest + 8, kDest + kPage + 16};
    for (uint64_t k = 0; k < 2; ++k) {
        KEXPECT_EQ(pager_log.status[k], Error::ok);
        KEXPECT_EQ(pager_log.tag[k], Tag::make(abi::label::page_fault, abi::kPageFaultWords).raw);
        KEXPECT_EQ(pager_log.badge[k], kBadge);
        KEXPECT_EQ(pager_log.fault[k], faults[k]);
        KEXPECT_EQ(pager_log.access[k], page_rights::read);
    }
    KEXPECT_EQ(pager_log.replied[0], Error::ok);
    KEXPECT_EQ(pager_log.pages[0], 1); // ipc_reply: the pages installed
    KEXPECT_EQ(pager_log.replied[1], Error::timeout);
    KEXPECT_EQ(pager_log.pages[1], Tag::make(0, 0, 0, 1).raw); // reply_wait: rsi as it was sent
    KEXPECT_EQ(l4::memory_unmap(Flexpage::make(kDest, 13, page_rights::all), true), Error::ok);
}

} // namespace

// h: a pager in another task, already waiting or started after the fault: it sees the fault
// (label, badge, address, access); its one-item ipc_reply returns rsi = 1 page, its one-item
// reply_wait with a zero timeout returns timeout with rsi the tag it sent; the faulting thread
// goes on and reads each page the pager mapped.
FP_CHILD_TEST(fastpath_page_fault_pager_waiting) { pager_in_child(true); }
FP_CHILD_TEST(fastpath_page_fault_pager_not_yet_waiting) { pager_in_child(false); }

// kt_fp_xmm_ipc(RawRegisters* r, const uint64_t* in, uint64_t* out): xmm0-15 and MXCSR loaded
// from in[0..32] (MXCSR in the low half of in[32]), kt_raw_syscall(r), then stored into out.
extern "C" void kt_fp_xmm_ipc(RawRegisters* r, const uint64_t* in, uint64_t* out);
asm(R"(
    .text
kt_fp_xmm_ipc:
    push %r12
    push %r13
    push %rbx
    mov %rsi, %r12
    mov %rdx, %r13
    .irp n, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15
    movdqu \n*16(%r12), %xmm\n
    .endr
    ldmxcsr 256(%r12)
    call kt_raw_syscall
    .irp n, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15
    movdqu %xmm\n, \n*16(%r13)
    .endr
    movq $0, 256(%r13)
    stmxcsr 256(%r13)
    pop %rbx
    pop %r13
    pop %r12
    ret
)");

namespace {

// --- FPU state across the switches of a call ------------------------------------------------

constexpr uint64_t kFpuWords = 33;
constexpr uint64_t kFpuRounds = 4;
constexpr uint64_t kCleanMxcsr = 0x1f80;

// Thread `who`'s xmm words and MXCSR for round r (round toward zero, or flush to zero).
void fpu_values(uint64_t who, uint64_t r, uint64_t* in)
{
    for (uint64_t i = 0; i < 32; ++i)
        in[i] = who << 48 | r << 32 | i;
    in[32] = who == 1 ? 0x7f80 : 0x9f80;
}

struct FpuServer {
    uint64_t wrong, rounds;
    volatile uint64_t started;
};
FpuServer fpu_server;

// Receives and answers kFpuRounds calls, each time with its own xmm and MXCSR values, and
// counts the values it did not get back.
[[noreturn]] void fpu_server_body()
{
    set_flag(fpu_server.started);
    uint64_t in[kFpuWords], out[kFpuWords];
    for (uint64_t r = 0; r <= kFpuRounds; ++r) {
        Syscall op = r == 0 ? Syscall::ipc_receive : r == kFpuRounds ? Syscall::ipc_reply : Syscall::ipc_reply_wait;
        RawRegisters regs = raw_ipc(op, kChildEp, Tag::make(0x95, 1).raw, abi::kTimeoutNever, 0);
        fpu_values(2, r, in);
        kt_fp_xmm_ipc(&regs, in, out);
        for (uint64_t i = 0; i < kFpuWords; ++i)
            fpu_server.wrong += out[i] != in[i];
        fpu_server.rounds = r + 1;
    }
    l4::thread_exit();
}

} // namespace

// The switches of a call and its reply between two tasks keep each thread's xmm registers and
// MXCSR.
FP_CHILD_TEST(fastpath_call_keeps_each_threads_fpu_state)
{
    fpu_server = FpuServer{};
    KREQUIRE_EQ(server_waits(fpu_server_body, fpu_server.started, true), true);
    uint64_t in[kFpuWords], out[kFpuWords], wrong = 0;
    for (uint64_t r = 0; r < kFpuRounds; ++r) {
        RawRegisters regs = raw_ipc(Syscall::ipc_call, kEp, Tag::make(0x94, 1).raw, abi::kTimeoutNever, 0);
        fpu_values(1, r, in);
        kt_fp_xmm_ipc(&regs, in, out);
        KEXPECT_EQ(regs.rax, Error::ok);
        KEXPECT_EQ(regs.rsi, Tag::make(0x95, 1).raw);
        for (uint64_t i = 0; i < kFpuWords; ++i)
            wrong += out[i] != in[i];
    }
    uint32_t clean = kCleanMxcsr;
    asm volatile("ldmxcsr %0" : : "m"(clean));
    KEXPECT_EQ(wrong, 0);
    KREQUIRE_EQ(wait_until([] { return fpu_server.rounds == kFpuRounds + 1; }), true);
    KEXPECT_EQ(fpu_server.wrong, 0);
}

namespace {

// --- i: stress and quotas ------------------------------------------------------------------------

constexpr uint64_t kStress = 10000;

uint64_t stress_word(uint64_t k, uint64_t i) { return (k * 0x9e37'79b9'7f4a'7c15) ^ (i << 56) ^ i; }

struct Stress {
    uint64_t wrong, served;
    volatile uint64_t started;
};
Stress stress;

// In the child: answers every call with the complement of its words and waits again.
[[noreturn]] void stress_body()
{
    set_flag(stress.started);
    l4::Message m;
    Error e = l4::receive(kChildEp, m);
    for (uint64_t k = 0; e == Error::ok; ++k) {
        uint64_t wrong = m.tag.raw != Tag::make(0x90, 6).raw || m.badge != kBadge;
        l4::Message r;
        r.tag = Tag::make(0x91, 6);
        for (uint64_t i = 0; i < abi::kRegisterWords; ++i) {
            wrong += m.words[i] != stress_word(k, i);
            r.words[i] = ~stress_word(k, i);
        }
        stress.wrong += wrong;
        stress.served = k + 1;
        m = r;
        e = l4::reply_wait(kChildEp, m);
    }
    l4::thread_exit();
}

} // namespace

// i: 10,000 calls between two tasks, each word of each checked on both sides; the IPC costs no
// kernel memory: both factories have exactly what they had before.
FP_CHILD_TEST(fastpath_ten_thousand_calls_cost_no_quota)
{
    stress = Stress{};
    KREQUIRE_EQ(server_waits(stress_body, stress.started, true), true);
    uint64_t ours = available(kFactory, kScratch), childs = available(kSub, kScratch);
    uint64_t wrong = 0;
    for (uint64_t k = 0; k < kStress; ++k) {
        l4::Message m;
        m.tag = Tag::make(0x90, 6);
        for (uint64_t i = 0; i < abi::kRegisterWords; ++i)
            m.words[i] = stress_word(k, i);
        Error e = l4::call(kBadged, m);
        wrong += e != Error::ok || m.tag.raw != Tag::make(0x91, 6).raw || m.badge != 0;
        for (uint64_t i = 0; i < abi::kRegisterWords; ++i)
            wrong += m.words[i] != ~stress_word(k, i);
    }
    KEXPECT_EQ(wrong, 0);
    KEXPECT_EQ(stress.wrong, 0);
    KEXPECT_EQ(stress.served, kStress);
    KEXPECT_EQ(available(kFactory, kScratch), ours);
    KEXPECT_EQ(available(kSub, kScratch), childs);
}
