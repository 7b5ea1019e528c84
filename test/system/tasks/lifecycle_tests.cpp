// Object lifecycles in the middle of IPC: endpoints, notifications, threads, tasks and
// factories that go away (or are suspended, revoked, exhausted) while threads wait on them,
// hold reply relations or fault. Every outcome is exact: the error each thread gets, who
// wakes and who does not, and quotas back to the byte (available()). Selectors 900-999
// (threads first).
//
// A task made by a factory starts with an empty capability space, and no system call can put
// a capability into another task's space (a reply to an exception or page fault carries none):
// its threads can only fault. So the tasks here are foreign tasks whose threads sit in
// exception or page-fault IPC, in the run queue, or suspended; our own helper threads play
// every other part.
#include "ipc_peer.hpp"

#include "l4/abi/address_space.hpp"

using namespace kt;
using namespace kt::ipc;

namespace {

constexpr Selector kA = 900, kB = 901, kC = 902, kVictim = 903;           // threads of our task
constexpr Selector kF1 = 904, kF2 = 905, kF3 = 906, kF4 = 907, kF5 = 908; // of kTaskX
constexpr Selector kEp = 910, kEp2 = 911, kClock = 912, kEpSub = 913, kPark = 919;
constexpr Selector kCopy1 = 914, kCopy2 = 915, kCopy3 = 916;
constexpr Selector kNoteL = 917, kNoteCopy = 918;
constexpr Selector kTaskX = 930;
constexpr Selector kSub = 940, kHog = 941, kMeasure = 942;
constexpr Selector kSpare = 950, kSpare2 = 951;
constexpr Selector kReceived = 960;                              // where received capabilities land
constexpr uint64_t kLong = 1000;                                 // ticks: a timeout that never expires during a test
constexpr uint64_t kForeignIp = 0x400000, kForeignSp = 0x800000; // unmapped in a new task
constexpr uint64_t kBelowMain = kMainPriority - 50;

Peer peer_c;
volatile uint64_t stage; // a helper's progress, where its Peer record has no room for it

} // namespace

// The victims. kt_lc_ud2 faults at once; resumed after the ud2, it sets kt_lc_done and exits.
// kt_lc_spin counts in kt_lc_spins forever without entering the kernel (and needs no stack).
extern "C" {
extern char kt_lc_ud2[], kt_lc_ud2_after[], kt_lc_spin[];
volatile uint64_t kt_lc_done, kt_lc_spins;
[[noreturn]] void kt_lc_exit() { l4::thread_exit(); }
}
asm(R"(
    .text
kt_lc_ud2:
    ud2
kt_lc_ud2_after:
    movq $1, kt_lc_done(%rip)
    and $-16, %rsp
    call kt_lc_exit

kt_lc_spin:
    incq kt_lc_spins(%rip)
    jmp kt_lc_spin
)");

namespace {

uint64_t address(const char* label) { return reinterpret_cast<uint64_t>(label); }

uint64_t available(Selector factory) { return kt::available(factory, kMeasure); }

// Sleeps `ticks` timer ticks: a send on kClock, where nobody ever receives (a receive would
// abandon the caller we may owe a reply).
void sleep_ticks(uint64_t ticks) { KEXPECT_EQ(l4::send(kClock, l4::Message{}, ticks), Error::timeout); }

// A message of one word.
l4::Message one_word(uint64_t label, uint64_t word)
{
    l4::Message m;
    m.tag = Tag::make(label, 1);
    m.words[0] = word;
    return m;
}

// Our reply (label 0x5e, word 0 = `word`) to the caller we owe, and the check that peer `p`'s
// call returned just that.
constexpr uint64_t kReplyLabel = 0x5e;
Error reply_word(uint64_t word) { return l4::reply(one_word(kReplyLabel, word)); }

void expect_reply(Peer& p, uint64_t word)
{
    if (!peer_done(p))
        return;
    KEXPECT_EQ(p.msg.tag.label(), kReplyLabel);
    KEXPECT_EQ(p.msg.words[0], word);
}

// Peers A and B call kEp with labels 0xa and 0xb, queued in that order; false if one failed
// to start.
bool two_callers_queued()
{
    peer_a.msg.tag = Tag::make(0xa, 0);
    peer_b.msg.tag = Tag::make(0xb, 0);
    return spawn_started(kA, call_body<peer_a>, peer_a.started, 5) &&
           spawn_started(kB, call_body<peer_b>, peer_b.started, 5);
}

// Helper bodies beyond ipc_peer.hpp's: a notification waiter (its bits in msg.words[0]).
template <Peer& p>
[[noreturn]] void notify_wait_body()
{
    prepare(p);
    l4::Message m;
    uint64_t bits = 0;
    Error e = l4::notify_wait(p.endpoint, bits);
    m.words[0] = bits;
    finish(p, e, m);
}

// A receiver (peer_a) whose first receive (its endpoint and timeout) ends early: its error
// in replies[0]; then it receives on kPark without a timeout, so it stays (with its kernel
// stack) until a message comes there.
[[noreturn]] void receive_twice_body()
{
    prepare(peer_a);
    l4::Message m;
    peer_a.replies[0] = static_cast<uint64_t>(l4::receive(peer_a.endpoint, m, peer_a.timeout));
    m = l4::Message{};
    finish(peer_a, l4::receive(kPark, m), m);
}

// A server (peer_b) that receives a call on kEp and, still owing the reply, waits on kNoteL
// (stage 1) or calls kEp2 (stage 2).
template <uint64_t then>
[[noreturn]] void owing_server_body()
{
    prepare(peer_b);
    l4::Message m;
    Error e = l4::receive(kEp, m);
    peer_b.replies[0] = m.tag.label();
    set_flag(stage, then);
    if (e == Error::ok && then == 1) {
        uint64_t bits = 0;
        e = l4::notify_wait(kNoteL, bits);
    } else if (e == Error::ok) {
        m = l4::Message{};
        m.tag = Tag::make(0x2b, 0);
        e = l4::call(kEp2, m);
    }
    finish(peer_b, e, m);
}

// A server (peer_c, at kC) that receives a call and then deletes its own (last) thread
// capability: it never comes back from that.
[[noreturn]] void self_deleting_server_body()
{
    prepare(peer_c);
    l4::Message m;
    Error e = l4::receive(kEp, m);
    set_flag(stage, 1);
    if (e == Error::ok)
        e = l4::cap_delete(kC);
    finish(peer_c, e, m);
}

// A thread of our task made by `factory` (priority `priority`), started at `body`.
Error spawn_from(Selector factory, Selector slot, ThreadBody body, uint64_t priority = kMainPriority)
{
    Error e = l4::factory_create(factory, ObjectKind::thread, slot, kTask, priority);
    return e == Error::ok ? start_thread(slot, body) : e;
}

// A thread of kTaskX made by `factory`, with `handler` as its exception handler or pager;
// started (at an address its empty address space does not map) unless `start` is false.
Error spawn_foreign(Selector slot, ThreadOp handler_op, Selector handler, uint64_t priority = kMainPriority,
                    bool start = true, uint64_t ip = kForeignIp)
{
    Error e = l4::factory_create(kSub, ObjectKind::thread, slot, kTaskX, priority);
    if (e == Error::ok)
        e = l4::thread_control(slot, handler_op, handler);
    if (e == Error::ok && start)
        e = l4::thread_start(slot, ip, kForeignSp);
    return e;
}

// The victim (our task), with `handler` as its exception handler, faulting at kt_lc_ud2.
bool start_victim(Selector handler)
{
    kt_lc_done = 0;
    KREQUIRE_EQ_OR(create_thread(kVictim), Error::ok, false);
    KREQUIRE_EQ_OR(l4::thread_control(kVictim, ThreadOp::set_exception_handler, handler), Error::ok, false);
    KREQUIRE_EQ_OR(start_thread(kVictim, reinterpret_cast<ThreadBody>(kt_lc_ud2)), Error::ok, false);
    yield_times(5); // it faults and waits on `handler`
    return true;
}

// Receives the victim's ud2 exception on `ep` (polled); its state stays in the UTCB.
bool victim_faulted(Selector ep)
{
    l4::Message m;
    KREQUIRE_EQ_OR(receive_polled(ep, m), Error::ok, false);
    KEXPECT_EQ(m.tag.label(), abi::label::exception);
    gather_words(m);
    KEXPECT_EQ(utcb_state().vector, 6);
    KREQUIRE_EQ_OR(utcb_state().rip, address(kt_lc_ud2), false);
    return true;
}

// Answers the exception just received: the victim goes on after its ud2.
Error resume_victim()
{
    utcb_state().rip = address(kt_lc_ud2_after);
    l4::Message r;
    r.tag = Tag::make(abi::reply_label::resume_with_registers, abi::kExceptionWords);
    scatter_words(r);
    return l4::reply(r);
}

// Answers a page fault at `addr` by mapping our own page there (same address, `rights`).
Error reply_mapping(uint64_t addr, uint64_t rights)
{
    uint64_t page = addr & ~(abi::kPageSize - 1);
    l4::utcb()->send_pages[0] = {abi::Flexpage::make(page, 12, rights).raw, page, 0};
    l4::Message r;
    r.tag = Tag::make(0, 0, 0, 1);
    Error e = l4::reply(r);
    l4::utcb()->send_pages[0] = abi::MapItem{};
    return e;
}

// A sub-factory of `quota` bytes at kSub; its available() before anything is made in it.
uint64_t sub_factory(uint64_t quota)
{
    KREQUIRE_EQ_OR(l4::factory_create(kFactory, ObjectKind::factory, kSub, quota), Error::ok, 0);
    return available(kSub);
}

// kTaskX, made by kSub (16 slots).
bool foreign_task()
{
    KREQUIRE_EQ_OR(l4::factory_create(kSub, ObjectKind::task, kTaskX, 16), Error::ok, false);
    return true;
}

bool fresh()
{
    reset(peer_a, kEp);
    reset(peer_b, kEp);
    reset(peer_c, kEp);
    stage = 0;
    kt_lc_done = 0;
    kt_lc_spins = 0;
    return made(kEp, ObjectKind::endpoint) && made(kClock, ObjectKind::endpoint) && made(kPark, ObjectKind::endpoint);
}

} // namespace

// A test with slots 900-999 emptied around it, the peers reset for kEp, and the endpoints
// kEp, kClock and kPark.
#define LIFECYCLE_TEST(name) KTEST_F(name, 900, 1000, fresh())

// Endpoints deleted under waiters ---------------------------------------------------------

// The last capability goes: a timed receiver, a sender and a timed caller (queued behind the
// sender) all wake at once with object_destroyed, long before their timeouts.
LIFECYCLE_TEST(lifecycle_endpoint_delete_wakes_timed_and_untimed_waiters)
{
    KREQUIRE_EQ(make(kEp2, ObjectKind::endpoint), Error::ok);
    peer_a.timeout = kLong;
    reset(peer_b, kEp2);
    reset(peer_c, kEp2);
    peer_c.timeout = kLong;
    if (!spawn_started(kA, receive_body<peer_a>, peer_a.started, 5) ||
        !spawn_started(kB, send_body<peer_b>, peer_b.started, 5) ||
        !spawn_started(kC, call_body<peer_c>, peer_c.started, 5))
        return;
    KEXPECT_EQ(peer_a.done + peer_b.done + peer_c.done, 0);
    KEXPECT_EQ(l4::cap_delete(kEp), Error::ok);
    peer_done(peer_a, Error::object_destroyed);
    KEXPECT_EQ(peer_b.done + peer_c.done, 0); // kEp2 is another endpoint
    KEXPECT_EQ(l4::cap_delete(kEp2), Error::ok);
    peer_done(peer_b, Error::object_destroyed);
    peer_done(peer_c, Error::object_destroyed);
}

// A timed receive ended by the endpoint's end leaves no deadline behind: the thread's next
// (untimed) receive, on kPark, outlives the first one's 20 ticks, and a message then
// reaches it.
LIFECYCLE_TEST(lifecycle_woken_waiter_keeps_no_stale_deadline)
{
    peer_a.timeout = 20;
    if (!spawn_started(kA, receive_twice_body, peer_a.started, 5))
        return;
    KEXPECT_EQ(l4::cap_delete(kEp), Error::ok);
    KREQUIRE_EQ(wait_until([] { return peer_a.replies[0] != 0; }), true);
    KEXPECT_EQ(peer_a.replies[0], Error::object_destroyed);
    sleep_ticks(40);
    KEXPECT_EQ(peer_a.done, 0);
    KEXPECT_EQ(send_polled(kPark, one_word(0x5e, 0x77)), Error::ok);
    if (peer_done(peer_a))
        KEXPECT_EQ(peer_a.msg.words[0], 0x77);
}

// A caller the server has received from waits on the server, not on the endpoint: deleting
// the endpoint leaves it waiting, and the reply still reaches it. A reply_wait naming the
// deleted endpoint fails its selector check before it replies.
LIFECYCLE_TEST(lifecycle_endpoint_delete_spares_callers_awaiting_reply)
{
    peer_a.msg.tag = Tag::make(3, 0);
    KREQUIRE_EQ(spawn_thread(kA, call_body<peer_a>), Error::ok);
    l4::Message m;
    KREQUIRE_EQ(receive_polled(kEp, m), Error::ok);
    KEXPECT_EQ(m.tag.label(), 3);
    KEXPECT_EQ(l4::cap_delete(kEp), Error::ok);
    yield_times(20);
    KEXPECT_EQ(peer_a.done, 0);
    m = l4::Message{};
    KEXPECT_EQ(l4::reply_wait(kEp, m, abi::kTimeoutZero), Error::invalid_selector);
    yield_times(20);
    KEXPECT_EQ(peer_a.done, 0);
    KEXPECT_EQ(reply_word(0x1234), Error::ok);
    expect_reply(peer_a, 0x1234);
    KEXPECT_EQ(reply_word(0x1234), Error::invalid_selector); // used once
}

// A call's timeout covers its send phase only: once the server has taken the call, the
// caller waits for the reply past that timeout.
LIFECYCLE_TEST(lifecycle_timed_call_keeps_no_deadline_once_taken)
{
    peer_a.timeout = 5;
    peer_a.msg.tag = Tag::make(0x7c, 0);
    KREQUIRE_EQ(spawn_thread(kA, call_body<peer_a>), Error::ok);
    l4::Message m;
    KREQUIRE_EQ(receive_polled(kEp, m), Error::ok);
    sleep_ticks(20);
    KEXPECT_EQ(peer_a.done, 0);
    KEXPECT_EQ(reply_word(0x7777), Error::ok);
    expect_reply(peer_a, 0x7777);
}

// A sender's capabilities are looked up when the message is taken, not when it was sent:
// one deleted while the sender waits does not arrive (nor do those after it), and the tag
// says so; the sender's send succeeds.
LIFECYCLE_TEST(lifecycle_caps_deleted_while_sender_waits_do_not_arrive)
{
    KREQUIRE_EQ(make(kEp2, ObjectKind::endpoint), Error::ok);
    KREQUIRE_EQ(make(kNoteL, ObjectKind::notification), Error::ok);
    peer_a.caps[0] = {kEp2, rights::send};
    peer_a.caps[1] = {kNoteL, rights::all};
    peer_a.caps[2] = {kEp2, rights::all};
    peer_a.msg.tag = Tag::make(0x77, 0, 3);
    if (!spawn_started(kA, send_body<peer_a>, peer_a.started, 5))
        return;
    KEXPECT_EQ(l4::cap_delete(kNoteL), Error::ok); // the notification is gone
    MainReceiveSlot slot(kReceived);
    l4::Message m;
    KEXPECT_EQ(receive_polled(kEp, m), Error::ok);
    KEXPECT_EQ(m.tag.label(), 0x77);
    KEXPECT_EQ(m.tag.caps(), 1);
    KEXPECT_EQ(l4::utcb()->received_caps, 1);
    KEXPECT_EQ(l4::send(kReceived, l4::Message{}, abi::kTimeoutZero), Error::timeout); // kEp2, send right
    KEXPECT_EQ(l4::cap_delete(kReceived + 1), Error::invalid_selector);
    peer_done(peer_a);
}

// Servers that go away owing a reply ---------------------------------------------------------

// A server deleted while it waits on a notification, owing a reply: its caller wakes with
// object_destroyed; the server never returns.
LIFECYCLE_TEST(lifecycle_server_deleted_before_reply_fails_caller)
{
    KREQUIRE_EQ(make(kNoteL, ObjectKind::notification), Error::ok);
    KREQUIRE_EQ(spawn_thread(kB, owing_server_body<1>), Error::ok);
    KREQUIRE_EQ(wait_flag(peer_b.started), true);
    peer_a.msg.tag = Tag::make(0x51, 0);
    KREQUIRE_EQ(spawn_thread(kA, call_body<peer_a>), Error::ok);
    KREQUIRE_EQ(wait_flag(stage, 1), true);
    yield_times(10);
    KEXPECT_EQ(peer_b.replies[0], 0x51);
    KEXPECT_EQ(peer_a.done, 0); // a notification wait does not abandon the caller
    KEXPECT_EQ(release_slot(kB), Error::ok);
    peer_done(peer_a, Error::object_destroyed);
    KEXPECT_EQ(l4::notify_signal(kNoteL, 1), Error::ok);
    yield_times(10);
    KEXPECT_EQ(peer_b.done, 0);
    KEXPECT_EQ(poll_bits(kNoteL), 1); // nobody took them
}

// A calls B, B calls us: deleting B (blocked in its own call) fails A's call, and takes the
// reply we owe B away (our reply finds no caller).
LIFECYCLE_TEST(lifecycle_middle_server_deleted_in_call_chain)
{
    KREQUIRE_EQ(make(kEp2, ObjectKind::endpoint), Error::ok);
    KREQUIRE_EQ(spawn_thread(kB, owing_server_body<2>), Error::ok);
    peer_a.msg.tag = Tag::make(0x52, 0);
    KREQUIRE_EQ(spawn_thread(kA, call_body<peer_a>), Error::ok);
    l4::Message m;
    KREQUIRE_EQ(receive_polled(kEp2, m), Error::ok);
    KEXPECT_EQ(m.tag.label(), 0x2b);
    KEXPECT_EQ(peer_b.replies[0], 0x52);
    KEXPECT_EQ(release_slot(kB), Error::ok);
    peer_done(peer_a, Error::object_destroyed);
    KEXPECT_EQ(l4::reply(l4::Message{}), Error::invalid_selector);
    m = l4::Message{};
    KEXPECT_EQ(l4::reply_wait(kEp2, m, abi::kTimeoutZero), Error::timeout);
    KEXPECT_EQ(peer_b.done, 0);
}

// A server that exits owing a reply fails that caller only: a second caller queued on the
// endpoint stays queued and is served by the next receiver.
LIFECYCLE_TEST(lifecycle_server_exit_leaves_queued_callers_queued)
{
    if (!two_callers_queued())
        return;
    KREQUIRE_EQ(spawn_thread(kC, receive_body<peer_c>), Error::ok); // receives A's call, exits
    if (!peer_done(peer_c))
        return;
    KEXPECT_EQ(peer_c.msg.tag.label(), 0xa);
    peer_done(peer_a, Error::object_destroyed);
    yield_times(10);
    KEXPECT_EQ(peer_b.done, 0);
    l4::Message m;
    KREQUIRE_EQ(receive_polled(kEp, m), Error::ok);
    KEXPECT_EQ(m.tag.label(), 0xb);
    KEXPECT_EQ(reply_word(0xb0b), Error::ok);
    expect_reply(peer_b, 0xb0b);
}

// We hold A's reply and A is deleted: reply_wait skips the reply it no longer owes and takes
// the next caller (B), which our reply then reaches.
LIFECYCLE_TEST(lifecycle_caller_deleted_then_reply_wait_serves_next)
{
    if (!two_callers_queued())
        return;
    l4::Message m;
    KREQUIRE_EQ(receive_polled(kEp, m), Error::ok);
    KEXPECT_EQ(m.tag.label(), 0xa);
    KEXPECT_EQ(release_slot(kA), Error::ok);
    m = one_word(0x99, 0x99);
    KEXPECT_EQ(l4::reply_wait(kEp, m, abi::kTimeoutZero), Error::ok);
    KEXPECT_EQ(m.tag.label(), 0xb);
    KEXPECT_EQ(reply_word(0x4242), Error::ok);
    expect_reply(peer_b, 0x4242);
    KEXPECT_EQ(peer_a.done, 0);
}

// A server that deletes its own last thread capability while owing a reply: the caller wakes
// with object_destroyed, the server never returns from cap_delete, and its factory gets every
// byte back.
LIFECYCLE_TEST(lifecycle_server_deletes_itself_owing_reply)
{
    uint64_t before = sub_factory(64 * 1024);
    KREQUIRE_EQ(spawn_from(kSub, kC, self_deleting_server_body), Error::ok);
    KREQUIRE_EQ(wait_flag(peer_c.started), true);
    peer_a.msg.tag = Tag::make(0x5d, 0);
    KREQUIRE_EQ(spawn_thread(kA, call_body<peer_a>), Error::ok);
    peer_done(peer_a, Error::object_destroyed);
    KEXPECT_EQ(stage, 1);
    yield_times(10);
    KEXPECT_EQ(peer_c.done, 0);
    KEXPECT_EQ(release_slot(kC), Error::invalid_selector); // the slot emptied itself
    KEXPECT_EQ(available(kSub), before);
}

// A thread that exited, deleted afterwards: its factory gets every byte back.
LIFECYCLE_TEST(lifecycle_exited_thread_deleted_later_refunds_exactly)
{
    uint64_t before = sub_factory(64 * 1024);
    KREQUIRE_EQ(make(kNoteL, ObjectKind::notification), Error::ok);
    reset(peer_a, kNoteL);
    KREQUIRE_EQ(spawn_from(kSub, kA, notify_wait_body<peer_a>), Error::ok);
    KEXPECT_EQ(l4::notify_signal(kNoteL, 0x40), Error::ok);
    if (peer_done(peer_a))
        KEXPECT_EQ(peer_a.msg.words[0], 0x40);
    yield_times(5);
    KEXPECT_EQ(l4::thread_control(kA, ThreadOp::resume), Error::object_destroyed);
    KEXPECT_EQ(available(kSub) < before, true); // the thread object lives while named
    KEXPECT_EQ(release_slot(kA), Error::ok);
    KEXPECT_EQ(available(kSub), before);
}

// Regression (a kernel bug these tests found, fixed): a thread that exits becomes the
// scheduler's `zombie`, freed right after the next switch. A thread that had never run took
// its first switch through thread_first_return, which did not reap; when it deleted the exited
// thread's last capability, destroy_object() freed the thread, and the pending reap freed its
// kernel stack again (a kernel panic: "kernel heap returned pages ... it does not own").
// Here: A waits on a notification; we signal it (A queued) and start B (queued behind A); A
// exits and B, new, runs next and deletes A; B's own exit must find nothing left to reap.
[[noreturn]] void delete_exited_body()
{
    peer_b.error = static_cast<uint64_t>(l4::cap_delete(kA));
    set_flag(peer_b.done);
    l4::thread_exit();
}

LIFECYCLE_TEST(lifecycle_exited_thread_deleted_by_a_new_thread)
{
    KREQUIRE_EQ(make(kNoteL, ObjectKind::notification), Error::ok);
    reset(peer_a, kNoteL);
    if (!spawn_started(kA, notify_wait_body<peer_a>, peer_a.started, 5))
        return;
    KEXPECT_EQ(l4::notify_signal(kNoteL, 1), Error::ok);
    KREQUIRE_EQ(spawn_thread(kB, delete_exited_body), Error::ok);
    KEXPECT_EQ(wait_flag(peer_b.done), true);
    KEXPECT_EQ(peer_b.error, Error::ok);
    KEXPECT_EQ(peer_a.done, 1);
    yield_times(10);
    KEXPECT_EQ(release_slot(kA), Error::invalid_selector);
}

// Suspended while blocked --------------------------------------------------------------------

// A receiver suspended while it waits still takes the message (the sender goes on at once),
// but runs only once resumed.
LIFECYCLE_TEST(lifecycle_suspended_receiver_takes_message_runs_on_resume)
{
    if (!spawn_started(kA, receive_body<peer_a>, peer_a.started, 5))
        return;
    KEXPECT_EQ(l4::thread_control(kA, ThreadOp::suspend), Error::ok);
    l4::Message m = one_word(0x5a, 0xabc);
    KEXPECT_EQ(l4::send(kEp, m, abi::kTimeoutZero), Error::ok);
    yield_times(20);
    KEXPECT_EQ(peer_a.done, 0);
    KEXPECT_EQ(l4::send(kEp, m, abi::kTimeoutZero), Error::timeout); // it no longer waits
    KEXPECT_EQ(l4::thread_control(kA, ThreadOp::resume), Error::ok);
    if (peer_done(peer_a)) {
        KEXPECT_EQ(peer_a.msg.tag.label(), 0x5a);
        KEXPECT_EQ(peer_a.msg.words[0], 0xabc);
    }
}

// A caller suspended while its call waits: the server takes the call and replies; the reply
// waits for the resume.
LIFECYCLE_TEST(lifecycle_suspended_caller_gets_reply_on_resume)
{
    peer_a.msg.tag = Tag::make(0x5c, 0);
    if (!spawn_started(kA, call_body<peer_a>, peer_a.started, 5))
        return;
    KEXPECT_EQ(l4::thread_control(kA, ThreadOp::suspend), Error::ok);
    l4::Message m;
    KREQUIRE_EQ(receive_polled(kEp, m), Error::ok);
    KEXPECT_EQ(m.tag.label(), 0x5c);
    KEXPECT_EQ(reply_word(0xc0de), Error::ok);
    yield_times(20);
    KEXPECT_EQ(peer_a.done, 0);
    KEXPECT_EQ(l4::thread_control(kA, ThreadOp::resume), Error::ok);
    expect_reply(peer_a, 0xc0de);
}

// A suspended receiver's timeout still expires; resumed, it reports the timeout.
LIFECYCLE_TEST(lifecycle_suspended_waiter_times_out_then_resumes)
{
    peer_a.timeout = 10;
    if (!spawn_started(kA, receive_body<peer_a>, peer_a.started, 5))
        return;
    KEXPECT_EQ(l4::thread_control(kA, ThreadOp::suspend), Error::ok);
    sleep_ticks(30);
    KEXPECT_EQ(peer_a.done, 0);
    l4::Message m;
    KEXPECT_EQ(l4::send(kEp, m, abi::kTimeoutZero), Error::timeout); // no longer queued
    KEXPECT_EQ(l4::thread_control(kA, ThreadOp::resume), Error::ok);
    peer_done(peer_a, Error::timeout);
}

// A suspended receiver whose endpoint goes: woken with object_destroyed, it still waits for
// the resume to say so.
LIFECYCLE_TEST(lifecycle_suspended_waiter_of_deleted_endpoint)
{
    if (!spawn_started(kA, receive_body<peer_a>, peer_a.started, 5))
        return;
    KEXPECT_EQ(l4::thread_control(kA, ThreadOp::suspend), Error::ok);
    KEXPECT_EQ(l4::cap_delete(kEp), Error::ok);
    yield_times(20);
    KEXPECT_EQ(peer_a.done, 0);
    KEXPECT_EQ(l4::thread_control(kA, ThreadOp::resume), Error::ok);
    peer_done(peer_a, Error::object_destroyed);
}

// Suspend and resume of a blocked thread before its partner comes change nothing; deleting
// a suspended waiter takes it off the queue.
LIFECYCLE_TEST(lifecycle_suspend_resume_of_blocked_thread)
{
    if (!spawn_started(kA, receive_body<peer_a>, peer_a.started, 5) ||
        !spawn_started(kB, send_body<peer_b>, peer_b.started, 5))
        return;
    // A got B's message at once (A was waiting): make A wait again with a second receiver.
    peer_done(peer_b);
    peer_done(peer_a);
    reset(peer_a, kEp);
    release_slot(kA);
    if (!spawn_started(kA, receive_body<peer_a>, peer_a.started, 5) ||
        !spawn_started(kC, receive_body<peer_c>, peer_c.started, 5))
        return;
    KEXPECT_EQ(l4::thread_control(kA, ThreadOp::suspend), Error::ok);
    KEXPECT_EQ(l4::thread_control(kA, ThreadOp::resume), Error::ok);
    KEXPECT_EQ(l4::thread_control(kC, ThreadOp::suspend), Error::ok);
    KEXPECT_EQ(release_slot(kC), Error::ok); // suspended and queued
    l4::Message m;
    m.tag = Tag::make(0x61, 0);
    KEXPECT_EQ(l4::send(kEp, m, abi::kTimeoutZero), Error::ok);
    if (peer_done(peer_a))
        KEXPECT_EQ(peer_a.msg.tag.label(), 0x61);
    KEXPECT_EQ(l4::send(kEp, m, abi::kTimeoutZero), Error::timeout); // C left the queue
    KEXPECT_EQ(peer_c.done, 0);
}

// Revoke and derived copies ----------------------------------------------------------------

// Revoking kEp deletes every copy. Receivers that waited through a copy keep waiting on the
// endpoint (which lives on): a receiver through kCopy1 gets our message. A sender through the
// badged kCopy2 is cancelled with object_destroyed: the last capability with its badge went,
// so a badge handed out again can never have the old sender's message served. Deleting kEp,
// the last capability, then wakes a receiver that came through a (revoked) copy.
LIFECYCLE_TEST(lifecycle_revoke_keeps_receivers_cancels_badged_senders)
{
    KREQUIRE_EQ(l4::cap_copy(kEp, kCopy1, rights::receive), Error::ok);
    KREQUIRE_EQ(l4::cap_copy(kEp, kCopy2, rights::send, 0xb1), Error::ok);
    KREQUIRE_EQ(l4::cap_copy(kEp, kCopy3, rights::receive), Error::ok);
    reset(peer_a, kCopy1);
    reset(peer_b, kCopy2);
    reset(peer_c, kCopy3);
    peer_b.msg.tag = Tag::make(0xb2, 0);
    if (!spawn_started(kA, receive_body<peer_a>, peer_a.started, 5))
        return;
    KEXPECT_EQ(l4::cap_revoke(kEp), Error::ok);
    KEXPECT_EQ(l4::cap_delete(kCopy1), Error::invalid_selector);
    yield_times(10);
    KEXPECT_EQ(peer_a.done, 0);
    l4::Message m;
    m.tag = Tag::make(0xa1, 0);
    KEXPECT_EQ(l4::send(kEp, m, abi::kTimeoutZero), Error::ok);
    if (peer_done(peer_a))
        KEXPECT_EQ(peer_a.msg.tag.label(), 0xa1);

    KREQUIRE_EQ(l4::cap_copy(kEp, kCopy2, rights::send, 0xb1), Error::ok);
    if (!spawn_started(kB, send_body<peer_b>, peer_b.started, 5))
        return;
    KEXPECT_EQ(l4::cap_revoke(kEp), Error::ok);
    peer_done(peer_b, Error::object_destroyed);
    KEXPECT_EQ(l4::receive(kEp, m, abi::kTimeoutZero), Error::timeout); // nothing left queued

    KREQUIRE_EQ(l4::cap_copy(kEp, kCopy3, rights::receive), Error::ok);
    if (!spawn_started(kC, receive_body<peer_c>, peer_c.started, 5))
        return;
    KEXPECT_EQ(l4::cap_revoke(kEp), Error::ok);
    KEXPECT_EQ(peer_c.done, 0);
    KEXPECT_EQ(l4::cap_delete(kEp), Error::ok);
    peer_done(peer_c, Error::object_destroyed);
}

// Notifications ---------------------------------------------------------------------------

// A waiter waits on the object, not on the capability it named: A waits through a copy we
// then delete, B through a copy we then revoke; both keep waiting. A signal through what is
// left wakes the first (A) with its bits; when the last capability goes, B wakes with
// object_destroyed; and the deleted selectors name nothing.
LIFECYCLE_TEST(lifecycle_notification_copies_deleted_under_waiters)
{
    KREQUIRE_EQ(make(kNoteL, ObjectKind::notification), Error::ok);
    struct Waiter {
        Peer& peer;
        ThreadBody body;
        Selector slot;
        bool revoke;
    };
    const Waiter waiters[] = {{peer_a, notify_wait_body<peer_a>, kA, false},
                              {peer_b, notify_wait_body<peer_b>, kB, true}};
    for (const Waiter& w : waiters) {
        KREQUIRE_EQ(l4::cap_copy(kNoteL, kNoteCopy, rights::receive), Error::ok);
        reset(w.peer, kNoteCopy);
        if (!spawn_started(w.slot, w.body, w.peer.started, 5))
            return;
        KEXPECT_EQ(w.revoke ? l4::cap_revoke(kNoteL) : l4::cap_delete(kNoteCopy), Error::ok);
        KEXPECT_EQ(l4::notify_signal(kNoteCopy, 1), Error::invalid_selector);
    }
    yield_times(10);
    KEXPECT_EQ(peer_a.done + peer_b.done, 0);
    KEXPECT_EQ(l4::notify_signal(kNoteL, 0x24), Error::ok);
    if (peer_done(peer_a))
        KEXPECT_EQ(peer_a.msg.words[0], 0x24);
    KEXPECT_EQ(peer_b.done, 0);
    KEXPECT_EQ(l4::cap_delete(kNoteL), Error::ok);
    peer_done(peer_b, Error::object_destroyed);
    KEXPECT_EQ(l4::notify_signal(kNoteL, 1), Error::invalid_selector);
    KEXPECT_EQ(poll_error(kNoteCopy), Error::invalid_selector);
}

// Exception IPC whose handler goes away ------------------------------------------------------

// The victim's exception waits on kEpSub (made by kSub). Deleting our only capability to it
// leaves the victim waiting: its handler slot is a capability too, and keeps the endpoint
// (and its quota) alive. Giving it another handler drops the last one: the endpoint goes (its
// bytes back to kSub), and the victim, whose exception IPC can no longer complete, is left
// suspended. Resumed, it faults again, to the new handler, whose reply still reaches it after
// we deleted our capability to that endpoint too.
LIFECYCLE_TEST(lifecycle_exception_handler_endpoint_deleted_while_fault_waits)
{
    uint64_t before = sub_factory(16 * 1024);
    KREQUIRE_EQ(l4::factory_create(kSub, ObjectKind::endpoint, kEpSub), Error::ok);
    uint64_t with_endpoint = available(kSub);
    if (!start_victim(kEpSub))
        return;
    KEXPECT_EQ(l4::cap_delete(kEpSub), Error::ok);
    yield_times(20);
    KEXPECT_EQ(kt_lc_done, 0);
    KEXPECT_EQ(available(kSub), with_endpoint);
    KREQUIRE_EQ(make(kEp2, ObjectKind::endpoint), Error::ok);
    KEXPECT_EQ(l4::thread_control(kVictim, ThreadOp::set_exception_handler, kEp2), Error::ok);
    KEXPECT_EQ(available(kSub), before);
    yield_times(20);
    l4::Message m;
    KEXPECT_EQ(l4::receive(kEp2, m, abi::kTimeoutZero), Error::timeout); // suspended
    KEXPECT_EQ(l4::thread_control(kVictim, ThreadOp::resume), Error::ok);
    if (!victim_faulted(kEp2))
        return;
    KEXPECT_EQ(l4::cap_delete(kEp2), Error::ok);
    KEXPECT_EQ(resume_victim(), Error::ok);
    KEXPECT_EQ(wait_flag(kt_lc_done), true);
}

// The handler thread takes the victim's exception and exits without answering: the victim
// is left suspended (no error can be returned into a faulting instruction). Resumed, it
// faults again, and a reply then lets it go on.
LIFECYCLE_TEST(lifecycle_exception_handler_thread_exits_owing_reply)
{
    if (!start_victim(kEp))
        return;
    KREQUIRE_EQ(spawn_thread(kC, receive_body<peer_c>), Error::ok);
    if (!peer_done(peer_c))
        return;
    KEXPECT_EQ(peer_c.msg.tag.label(), abi::label::exception);
    yield_times(20);
    KEXPECT_EQ(kt_lc_done, 0);
    l4::Message m;
    KEXPECT_EQ(l4::receive(kEp, m, abi::kTimeoutZero), Error::timeout);
    KEXPECT_EQ(l4::thread_control(kVictim, ThreadOp::resume), Error::ok);
    if (!victim_faulted(kEp))
        return;
    KEXPECT_EQ(resume_victim(), Error::ok);
    KEXPECT_EQ(wait_flag(kt_lc_done), true);
}

// Revoking the handler endpoint also revokes the victim's handler slot (derived from ours):
// the exception already queued is still delivered, but the same fault again, with no handler
// left, stops the victim for good.
LIFECYCLE_TEST(lifecycle_revoke_takes_exception_handler_slot)
{
    if (!start_victim(kEp))
        return;
    KEXPECT_EQ(l4::cap_revoke(kEp), Error::ok);
    if (!victim_faulted(kEp))
        return;
    l4::Message r;
    r.tag = Tag::make(abi::reply_label::resume, 0); // the ud2 once more
    KEXPECT_EQ(l4::reply(r), Error::ok);
    yield_times(20);
    KEXPECT_EQ(kt_lc_done, 0);
    l4::Message m;
    KEXPECT_EQ(l4::receive(kEp, m, abi::kTimeoutZero), Error::timeout);
    KEXPECT_EQ(l4::thread_control(kVictim, ThreadOp::resume), Error::object_destroyed);
}

// Tasks destroyed under their threads ------------------------------------------------------

// kTaskX's threads: F2 faults to its pager (we hold its reply), F1's exception waits on kEp
// between our senders A and B, F3 (below our priority) waits in the run queue, F4 is
// suspended, F5 never started. Deleting the task stops them all: our reply (with a map item)
// finds no caller, the queue yields A then B, every operation on them says object_destroyed
// but start, which says busy (for F5 too, which never started), and kSub gets every byte back.
LIFECYCLE_TEST(lifecycle_task_destroyed_with_threads_queued_owed_ready_suspended)
{
    uint64_t before = sub_factory(256 * 1024);
    if (before == 0 || !foreign_task())
        return;
    KREQUIRE_EQ(spawn_foreign(kF2, ThreadOp::set_pager, kEp), Error::ok);
    l4::Message m;
    KREQUIRE_EQ(receive_polled(kEp, m), Error::ok);
    KEXPECT_EQ(m.tag.label(), abi::label::page_fault);
    KEXPECT_EQ(m.words[0], kForeignIp);
    KEXPECT_EQ(m.words[1], abi::page_rights::execute);
    peer_a.msg.tag = Tag::make(0xa, 0);
    peer_b.msg.tag = Tag::make(0xb, 0);
    if (!spawn_started(kA, send_body<peer_a>, peer_a.started, 5))
        return;
    KREQUIRE_EQ(spawn_foreign(kF1, ThreadOp::set_exception_handler, kEp), Error::ok);
    yield_times(5);
    if (!spawn_started(kB, send_body<peer_b>, peer_b.started, 5))
        return;
    KREQUIRE_EQ(spawn_foreign(kF3, ThreadOp::set_exception_handler, kEp, kBelowMain), Error::ok);
    KREQUIRE_EQ(spawn_foreign(kF4, ThreadOp::set_exception_handler, kEp, kMainPriority, false), Error::ok);
    KEXPECT_EQ(l4::thread_control(kF4, ThreadOp::suspend), Error::ok);
    KEXPECT_EQ(l4::thread_start(kF4, kForeignIp, kForeignSp), Error::ok);
    KREQUIRE_EQ(spawn_foreign(kF5, ThreadOp::set_exception_handler, kEp, kMainPriority, false), Error::ok);

    KEXPECT_EQ(l4::cap_delete(kTaskX), Error::ok);
    KEXPECT_EQ(reply_mapping(address(kt_lc_spin), abi::page_rights::read | abi::page_rights::execute),
               Error::invalid_selector);
    const uint64_t order[] = {0xa, 0xb};
    for (uint64_t label : order) {
        m = l4::Message{};
        KEXPECT_EQ(l4::receive(kEp, m, abi::kTimeoutZero), Error::ok);
        KEXPECT_EQ(m.tag.label(), label);
    }
    KEXPECT_EQ(l4::receive(kEp, m, abi::kTimeoutZero), Error::timeout);
    peer_done(peer_a);
    peer_done(peer_b);
    const Selector foreign[] = {kF1, kF2, kF3, kF4, kF5};
    for (Selector f : foreign) {
        KEXPECT_EQ(l4::thread_control(f, ThreadOp::resume), Error::object_destroyed);
        KEXPECT_EQ(l4::thread_start(f, kForeignIp, kForeignSp), Error::busy);
    }
    yield_times(10);
    KEXPECT_EQ(l4::receive(kEp, m, abi::kTimeoutZero), Error::timeout); // F3 never ran
    for (Selector f : foreign)
        KEXPECT_EQ(l4::cap_delete(f), Error::ok);
    KEXPECT_EQ(available(kSub), before);
}

// A thread of kTaskX runs our spinner (its pages mapped by us, its pager), is preempted, and
// waits in the run queue when the task goes: it never runs again, and kSub gets back every
// byte of the task, the thread, their page tables and the mappings.
LIFECYCLE_TEST(lifecycle_task_destroyed_while_its_thread_is_preempted)
{
    uint64_t before = sub_factory(256 * 1024);
    if (before == 0 || !foreign_task())
        return;
    KREQUIRE_EQ(spawn_foreign(kF1, ThreadOp::set_pager, kEp, kMainPriority, true, address(kt_lc_spin)), Error::ok);
    for (uint64_t i = 0; i < kMaxYields && kt_lc_spins == 0; ++i) {
        l4::Message m;
        if (l4::receive(kEp, m, abi::kTimeoutZero) != Error::ok) {
            l4::yield();
            continue;
        }
        KREQUIRE_EQ(m.tag.label(), abi::label::page_fault);
        bool fetch = m.words[1] == abi::page_rights::execute;
        uint64_t rights = abi::page_rights::read | (fetch ? abi::page_rights::execute : abi::page_rights::write);
        KREQUIRE_EQ(reply_mapping(m.words[0], rights), Error::ok);
    }
    KREQUIRE_EQ(wait_until([] { return kt_lc_spins > 1000; }), true);
    KEXPECT_EQ(l4::cap_delete(kTaskX), Error::ok);
    uint64_t spins = kt_lc_spins;
    yield_times(20);
    KEXPECT_EQ(kt_lc_spins, spins);
    KEXPECT_EQ(l4::thread_control(kF1, ThreadOp::suspend), Error::object_destroyed);
    KEXPECT_EQ(l4::cap_delete(kF1), Error::ok);
    KEXPECT_EQ(available(kSub), before);
}

// Factories exhausted in the middle ---------------------------------------------------------

// kSub holds a thread waiting on an endpoint, both its own, and a hog that took the rest:
// nothing more fits. Deleting the endpoint wakes the thread (which then waits on kPark,
// keeping its kernel stack) and frees exactly one endpoint's bytes: one fits again, a second
// does not. kSub's capability then goes while its objects live (they keep it), and once they
// are gone the boot factory has every byte back.
LIFECYCLE_TEST(lifecycle_exhausted_factory_refunds_to_the_byte)
{
    uint64_t boot = available(kFactory);
    KREQUIRE_EQ(sub_factory(64 * 1024) != 0, true);
    KREQUIRE_EQ(l4::factory_create(kSub, ObjectKind::endpoint, kEpSub), Error::ok);
    reset(peer_a, kEpSub);
    KREQUIRE_EQ(spawn_from(kSub, kA, receive_twice_body), Error::ok);
    KREQUIRE_EQ(wait_flag(peer_a.started), true);
    yield_times(5);
    KREQUIRE_EQ(l4::factory_create(kSub, ObjectKind::factory, kHog, available(kSub)), Error::ok);
    KEXPECT_EQ(l4::factory_create(kSub, ObjectKind::endpoint, kSpare), Error::quota_exhausted);
    KEXPECT_EQ(l4::factory_create(kSub, ObjectKind::notification, kSpare), Error::quota_exhausted);
    KEXPECT_EQ(l4::cap_delete(kEpSub), Error::ok);
    KEXPECT_EQ(wait_until([] { return peer_a.replies[0] != 0; }), true);
    KEXPECT_EQ(peer_a.replies[0], Error::object_destroyed); // and it waits on kPark now
    KEXPECT_EQ(l4::factory_create(kSub, ObjectKind::endpoint, kSpare), Error::ok);
    KEXPECT_EQ(l4::factory_create(kSub, ObjectKind::endpoint, kSpare2), Error::quota_exhausted);
    KEXPECT_EQ(l4::cap_delete(kSub), Error::ok);
    KEXPECT_EQ(available(kFactory) < boot, true);
    const Selector objects[] = {kSpare, kHog, kA};
    for (Selector s : objects)
        KEXPECT_EQ(release_slot(s), Error::ok);
    KEXPECT_EQ(available(kFactory), boot);
}

namespace {

// Leaves exactly `bytes` of kSub's quota free, the rest in a hog at kHog.
bool leave(uint64_t bytes)
{
    (void)l4::cap_delete(kHog);
    KREQUIRE_EQ_OR(l4::factory_create(kSub, ObjectKind::factory, kHog, available(kSub) - bytes), Error::ok, false);
    return true;
}

// A creation of a thread (of our task) or a task in kSub at `slot`.
Error create_costly(Selector slot, bool thread)
{
    return thread ? l4::factory_create(kSub, ObjectKind::thread, slot, kTask, kMainPriority)
                  : l4::factory_create(kSub, ObjectKind::task, slot, 16);
}

} // namespace

// A thread in a new task also needs page tables for its UTCB, charged to the task's factory:
// with only the thread's own cost left, the creation fails with quota_exhausted (it was once
// out_of_memory) and leaves the quota as it was.
LIFECYCLE_TEST(lifecycle_thread_short_of_quota_for_utcb_tables)
{
    uint64_t before = sub_factory(64 * 1024);
    KREQUIRE_EQ(l4::factory_create(kSub, ObjectKind::task, kTaskX, 16), Error::ok);
    uint64_t with_task = available(kSub);
    KREQUIRE_EQ(l4::factory_create(kSub, ObjectKind::thread, kA, kTaskX, kMainPriority), Error::ok);
    uint64_t first = with_task - available(kSub); // a thread and its UTCB's page tables
    KREQUIRE_EQ(l4::factory_create(kSub, ObjectKind::thread, kB, kTaskX, kMainPriority), Error::ok);
    uint64_t second = with_task - first - available(kSub); // a thread alone: the tables exist
    KEXPECT_EQ(first - second >= abi::kPageSize, true);
    KEXPECT_EQ(release_slot(kA), Error::ok);
    KEXPECT_EQ(release_slot(kB), Error::ok);
    KEXPECT_EQ(release_slot(kTaskX), Error::ok);
    KEXPECT_EQ(available(kSub), before);

    KREQUIRE_EQ(l4::factory_create(kSub, ObjectKind::task, kTaskX, 16), Error::ok);
    if (!leave(second))
        return;
    uint64_t left = available(kSub);
    KEXPECT_EQ(l4::factory_create(kSub, ObjectKind::thread, kA, kTaskX, kMainPriority), Error::quota_exhausted);
    KEXPECT_EQ(available(kSub), left);
    KEXPECT_EQ(release_slot(kTaskX), Error::ok);
    KEXPECT_EQ(l4::cap_delete(kHog), Error::ok);
    KEXPECT_EQ(available(kSub), before);
}

// A thread and a task each cost several charges (object, kernel stack or slots, a page). A
// creation that misses by one byte, or by a page and a byte (its last or its second charge
// fails), returns quota_exhausted and leaves the quota exactly as it was; with exactly its
// cost left it succeeds and leaves nothing; and its end gives every byte back.
LIFECYCLE_TEST(lifecycle_creation_short_of_quota_changes_nothing)
{
    uint64_t before = sub_factory(64 * 1024);
    const bool kinds[] = {true, false};
    for (bool thread : kinds) {
        Selector slot = thread ? kA : kTaskX;
        KREQUIRE_EQ(create_costly(slot, thread), Error::ok);
        uint64_t cost = before - available(kSub);
        KEXPECT_EQ(release_slot(slot), Error::ok);
        const uint64_t short_by[] = {1, abi::kPageSize + 1};
        for (uint64_t missing : short_by) {
            if (!leave(cost - missing))
                return;
            uint64_t left = available(kSub);
            KEXPECT_EQ(create_costly(slot, thread), Error::quota_exhausted);
            KEXPECT_EQ(available(kSub), left);
        }
        if (!leave(cost))
            return;
        KEXPECT_EQ(create_costly(slot, thread), Error::ok);
        KEXPECT_EQ(l4::factory_create(kSub, ObjectKind::endpoint, kSpare), Error::quota_exhausted);
        KEXPECT_EQ(release_slot(slot), Error::ok);
        KEXPECT_EQ(l4::cap_delete(kHog), Error::ok);
        KEXPECT_EQ(available(kSub), before);
    }
}
