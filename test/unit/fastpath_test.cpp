// Host tests of the IPC fast path (fastpath.cpp): it must be indistinguishable from the general
// path. Each scenario is built twice, identically, through the real system calls; world A runs
// the operation as the kernel's entry does (the fast path first, the general handler when it
// declines), world B the general handler alone, and everything a thread, a queue or the
// scheduler shows afterwards is compared. Worlds share the scheduler's globals, so they are
// built one after the other and compared as snapshots (threads named by index).
#include <cstring>
#include <functional>
#include <string>
#include <vector>

#include "arch/x86_64/cpu_local.hpp"
#include "arch/x86_64/user_registers.hpp"
#include "common/string.hpp"
#include "fake_arch/kernel_world.hpp"
#include "fastpath.hpp"
#include "l4/abi/utcb.hpp"
#include "vm.hpp"
#include "xorshift.hpp"

using namespace kt;

namespace {

namespace rights = l4::abi::rights;
namespace reply_label = l4::abi::reply_label;

// The task's capabilities; 8..15 stay free for capabilities a message carries.
constexpr cap::Selector kE0 = 0, kE1 = 1, kE0Badged = 2, kE0SendOnly = 3, kE0ReceiveOnly = 4, kN0 = 5, kN1 = 6,
                        kReply = 7, kFirstReceiveSlot = 8, kEmpty = 12;
constexpr uint64_t kBadge = 0x42, kHandlerBadge = 0x77;
constexpr size_t kMaxThreads = 8;
const char* const kNames[kMaxThreads] = {"t0", "t1", "t2", "t3", "t4", "t5", "t6", "t7"};
constexpr uint64_t kFaultAddress = 0x2000'0008;

// The operation under test, made by `self`: its registers hold the system call's arguments.
struct Op {
    enum Kind { call, reply_wait, exception, page_fault } kind = call;
    uint64_t vector = 13; // exception
};

// A scene: the objects every scenario has, and up to kMaxThreads threads in the task.
struct Scene : World {
    explicit Scene(uint64_t seed) : rng{seed}
    {
        e0 = make_endpoint(kE0);
        e1 = make_endpoint(kE1);
        n0 = make_notification(kN0);
        n1 = make_notification(kN1);
        reply = make_reply(kReply);
        cap::CapSpace& caps = task->caps();
        REQUIRE(cap::CapSpace::derive(caps, kE0, caps, kE0Badged, rights::all, kBadge) == Error::ok);
        REQUIRE(cap::CapSpace::derive(caps, kE0, caps, kE0SendOnly, rights::send) == Error::ok);
        REQUIRE(cap::CapSpace::derive(caps, kE0, caps, kE0ReceiveOnly, rights::receive) == Error::ok);
    }

    // A ready thread with random registers and UTCB words.
    Thread& add(uint8_t priority)
    {
        Thread& t = *make_thread(kNames[threads.size()], priority);
        threads.push_back(&t);
        interrupts::InterruptFrame& f = t.user_frame();
        for (uint64_t* r : {&f.r15, &f.r14, &f.r13, &f.r12, &f.r11, &f.r10, &f.r9, &f.r8, &f.rbp, &f.rdi, &f.rsi,
                            &f.rdx, &f.rcx, &f.rbx, &f.rax, &f.rip, &f.rsp})
            *r = rng.next();
        t.fs_base = rng.next() & 0x7fff'ffff'f000;
        for (uint64_t& w : t.utcb().mr)
            w = rng.next();
        t.utcb().receive_slot = rng.chance(50) ? kFirstReceiveSlot + threads.size() : l4::abi::kNoReceiveSlot;
        t.utcb().send_caps[0] = {kN1, rights::all};
        scheduler::make_ready(t);
        return t;
    }
    // `t`'s exception handler (or pager) is `ep`, through a capability with `badge`.
    void handled_by(Thread& t, Thread::SpecialSlot slot, cap::Selector ep, uint64_t badge = kHandlerBadge)
    {
        REQUIRE(cap::CapSpace::derive(task->caps(), ep, t.special_caps(), slot, rights::send, badge) == Error::ok);
    }

    // The setup's context switch: `t` (ready or running) runs, the thread that ran is ready.
    void become(Thread& t)
    {
        Thread& running = current();
        if (&running == &t)
            return;
        REQUIRE((t.state() == State::ready || t.state() == State::running));
        scheduler::remove(t);
        if (&running != this_cpu().idle && running.state() == State::running)
            scheduler::make_ready(running);
        this_cpu().current = &t;
        t.set_state(State::running);
    }
    bool runnable(const Thread& t) const { return t.state() == State::ready || t.state() == State::running; }

    Endpoint* e0 = nullptr;
    Endpoint* e1 = nullptr;
    Notification* n0 = nullptr;
    Notification* n1 = nullptr;
    Reply* reply = nullptr;
    std::vector<Thread*> threads;
    XorShift rng;
};

// The kernel's exit from a system call or a fault that took the general path (syscalls.cpp,
// trap.cpp); the fast path leaves through its partner's frame instead.
void general_exit(Thread& self)
{
    user_return::check(self);
    scheduler::preempt_if_needed();
}

// ipc::raise_exception and raise_page_fault without their fast path: the same kernel message,
// sent by the general path.
void general_exception(Thread& self, uint64_t vector)
{
    auto handler = self.special_caps().lookup<Endpoint>(Thread::exception_handler, rights::send);
    REQUIRE(handler.error == Error::ok);
    uint64_t label = l4::abi::label::exception, words = l4::abi::kExceptionWords;
    if (vector == l4::abi::kForeignSyscallVector && self.foreign_abi == l4::abi::foreign_abi::short_message) {
        l4::abi::ForeignSyscall s = user_registers::save_syscall(self.user_frame());
        memcpy(self.kernel_words, &s, sizeof s);
        label = l4::abi::label::foreign_syscall;
        words = l4::abi::kForeignSyscallWords;
    } else {
        l4::abi::ExceptionState s = user_registers::save(self.user_frame(), self.fs_base, vector, 0, 0);
        memcpy(self.kernel_words, &s, sizeof s);
        if (vector == l4::abi::kForeignSyscallVector)
            label = l4::abi::label::foreign_syscall;
    }
    self.kernel_message = true;
    self.message_tag = MessageTag::make(label, words).raw;
    (void)ipc::send(self, *handler.object, handler.slot->badge(), true, kNever);
}
void general_page_fault(Thread& self, uint64_t rip)
{
    auto pager = self.special_caps().lookup<Endpoint>(Thread::pager, rights::send);
    REQUIRE(pager.error == Error::ok);
    self.kernel_words[0] = kFaultAddress;
    self.kernel_words[1] = 1;
    self.kernel_words[2] = rip;
    self.kernel_message = true;
    self.message_tag = MessageTag::make(l4::abi::label::page_fault, l4::abi::kPageFaultWords).raw;
    (void)ipc::send(self, *pager.object, pager.slot->badge(), true, kNever);
}

// Runs `op` for the current thread `self`: through the fast path first (world A, as
// syscall_dispatch_ipc and ipc::raise_* do) or through the general path alone (world B).
// Whether the fast path took it.
bool perform(Thread& self, const Op& op, bool fast)
{
    uint64_t leaves = fake::fast_leaves();
    bool took = false;
    switch (op.kind) {
    case Op::call:
        took = fast && self.foreign_abi == 0 && fastpath::call(self, self.user_context());
        if (!took)
            enter(self, syscalls::ipc_call);
        break;
    case Op::reply_wait:
        took = fast && self.foreign_abi == 0 && fastpath::reply_wait(self, self.user_context());
        if (!took)
            enter(self, syscalls::ipc_reply_wait);
        break;
    case Op::exception:
        if (fast)
            REQUIRE(ipc::raise_exception(self, op.vector, 0, 0));
        else
            general_exception(self, op.vector);
        took = fake::fast_leaves() != leaves;
        if (!took)
            general_exit(self);
        break;
    case Op::page_fault:
        if (fast)
            REQUIRE(ipc::raise_page_fault(self, kFaultAddress, 1, self.user_frame().rip));
        else
            general_page_fault(self, self.user_frame().rip);
        took = fake::fast_leaves() != leaves;
        if (!took)
            general_exit(self);
        break;
    }
    REQUIRE(took == (fake::fast_leaves() != leaves)); // a true answer is a switch, and only then
    return took;
}

// --- What the fast path is for, in the terms a thread sees (fastpath.cpp's conditions).

bool register_only(uint64_t tag)
{
    MessageTag t{tag};
    return t.words() <= l4::abi::kRegisterWords && t.caps() == 0 && t.pages() == 0 && (tag & 0xe000) == 0;
}
// A blocked partner that may run at once: no timeout, nothing to do on its way out, not to be
// suspended, no ready thread above it.
bool resumable(const Thread& t)
{
    bool outranked = !scheduler::run_queue.empty() && scheduler::run_queue.highest_priority() > t.priority;
    return t.deadline == Thread::kNoDeadline && t.return_work == 0 && !t.suspend_requested && !outranked;
}
Endpoint* endpoint(cap::CapSpace& space, cap::Selector sel, l4::abi::Rights needed)
{
    auto found = space.lookup<Endpoint>(sel, needed);
    return found.error == Error::ok ? found.object : nullptr;
}
bool should_take(Thread& self, const Op& op)
{
    arch::UserContext c = self.user_context();
    switch (op.kind) {
    case Op::call: {
        Endpoint* ep = endpoint(self.task()->caps(), c.arg(0), rights::send);
        return self.foreign_abi == 0 && register_only(c.tag()) && ep != nullptr && ep->receivers.head() != nullptr &&
               resumable(*ep->receivers.head());
    }
    case Op::reply_wait: {
        Thread* caller = self.caller;
        Endpoint* ep = endpoint(self.task()->caps(), c.arg(0), rights::receive);
        if (self.foreign_abi != 0 || caller == nullptr || c.arg(2) != kNever || !resumable(*caller) || ep == nullptr ||
            !ep->senders.empty())
            return false;
        if (self.bound_notification != nullptr && self.bound_notification->pending())
            return false;
        MessageTag answer{c.tag()};
        if (caller->kernel_message && MessageTag{caller->message_tag}.label() == l4::abi::label::page_fault) {
            // Map items alone (label 0, no words): the pager's usual answer.
            constexpr uint64_t kPagesField = MessageTag::make(0, 0, 0, 7).raw;
            return (answer.raw & ~kPagesField) == 0 && answer.pages() <= l4::abi::kMaxMapItems &&
                   vm::check_items(self.utcb().send_pages, answer.pages());
        }
        bool rax_only = answer.label() == reply_label::resume_with_rax && answer.words() >= 1;
        return register_only(c.tag()) && (!caller->kernel_message || rax_only);
    }
    case Op::exception:
    case Op::page_fault: {
        auto slot = op.kind == Op::exception ? Thread::exception_handler : Thread::pager;
        Endpoint* ep = endpoint(self.special_caps(), slot, rights::send);
        return ep != nullptr && ep->receivers.head() != nullptr && resumable(*ep->receivers.head());
    }
    }
    return false;
}

// --- Snapshots: everything observable, with threads and objects named by index.

struct Field {
    int thread; // -1: not a thread's
    const char* name;
    uint64_t index;
    uint64_t value;
};
using Snapshot = std::vector<Field>;

constexpr const char* kFrameNames[] = {"r15",        "r14", "r13", "r12",    "r11", "r10", "r9",  "r8",
                                       "rbp",        "rdi", "rsi", "rdx",    "rcx", "rbx", "rax", "vector",
                                       "error_code", "rip", "cs",  "rflags", "rsp", "ss"};
static_assert(sizeof kFrameNames / sizeof kFrameNames[0] == sizeof(interrupts::InterruptFrame) / 8);

struct Snapper {
    Scene& s;
    Snapshot out;

    uint64_t id(const void* object) const
    {
        if (object == nullptr)
            return 0;
        for (size_t i = 0; i < s.threads.size(); ++i)
            if (object == s.threads[i])
                return 100 + i;
        if (object == this_cpu().idle)
            return 99;
        const void* known[] = {
            s.e0, s.e1, s.n0, s.n1, s.reply, &s.e0->senders, &s.e0->receivers, &s.e1->senders, &s.e1->receivers};
        for (size_t i = 0; i < sizeof known / sizeof known[0]; ++i)
            if (object == known[i])
                return 1 + i;
        return 98; // something else (a notification's waiters)
    }
    void add(int thread, const char* name, uint64_t value, uint64_t index = 0)
    {
        out.push_back({thread, name, index, value});
    }
    void queue(const char* name, const WaitQueue& q)
    {
        uint64_t i = 0;
        for (Thread* t = q.head(); t != nullptr; t = t->wait_next)
            add(-1, name, id(t), i++);
        add(-1, name, ~uint64_t{0}, i); // the end
    }

    void thread(int i, Thread& t)
    {
        add(i, "state", static_cast<uint64_t>(t.state()));
        if (t.state() == State::dead)
            return; // killed in the setup (a pager refused): its stack is gone
        uint64_t frame[sizeof(interrupts::InterruptFrame) / 8];
        memcpy(frame, &t.user_frame(), sizeof frame);
        for (size_t r = 0; r < sizeof frame / 8; ++r)
            add(i, kFrameNames[r], frame[r]);
        l4::abi::Utcb& u = t.utcb();
        add(i, "utcb.received_caps", u.received_caps);
        add(i, "utcb.received_pages", u.received_pages);
        add(i, "utcb.receive_slot", u.receive_slot);
        for (uint64_t w = 0; w < l4::abi::kMessageWords; ++w)
            add(i, "utcb.mr", u.mr[w], w);
        add(i, "wait", static_cast<uint64_t>(t.wait));
        add(i, "wait_queue", id(t.wait_queue));
        add(i, "caller", id(t.caller));
        add(i, "server", id(t.server));
        add(i, "kept_reply", id(t.kept_reply));
        add(i, "bound_notification", id(t.bound_notification));
        add(i, "deadline", t.deadline);
        add(i, "kernel_message", t.kernel_message);
        // Read only for a message still to be delivered (a queued sender's, a kernel message's)
        // and by the replier itself: the fast path does not keep the tag of a call it delivered.
        if (t.wait == Wait::send || t.kernel_message)
            add(i, "message_tag", t.message_tag);
        for (uint64_t w = 0; w < l4::abi::kExceptionWords; ++w)
            add(i, "kernel_words", t.kernel_words[w], w);
        // Read only while it waits in a send queue: a stale value elsewhere is no difference.
        if (t.wait == Wait::send) {
            add(i, "send_badge", t.send_badge);
            add(i, "send_is_call", t.send_is_call);
        }
        add(i, "suspend_requested", t.suspend_requested);
        add(i, "return_work", t.return_work);
        add(i, "queued", t.queued);
        add(i, "priority", t.priority);
        add(i, "remaining_slice", t.remaining_slice());
        add(i, "fs_base", t.fs_base);
    }

    Snapshot take()
    {
        for (size_t i = 0; i < s.threads.size(); ++i)
            thread(static_cast<int>(i), *s.threads[i]);
        Thread& running = current();
        add(-1, "current", id(&running));
        add(-1, "cpu.kernel_stack is current's", this_cpu().kernel_stack == running.kernel_stack_top());
        add(-1, "live address space is current's",
            running.task() != nullptr && fake::live_root() == running.task()->address_space().root);
        uint64_t n = 0;
        for (int p = sched::RunQueue::kPriorities - 1; p >= 0; --p) {
            sched::QueueLink* head = scheduler::run_queue.head(static_cast<uint8_t>(p));
            for (sched::QueueLink* l = head; l != nullptr; l = l->next == head ? nullptr : l->next)
                add(-1, "run queue", id(static_cast<Thread*>(l)), n++);
        }
        add(-1, "run queue", ~uint64_t{0}, n);
        queue("e0.senders", s.e0->senders);
        queue("e0.receivers", s.e0->receivers);
        queue("e1.senders", s.e1->senders);
        queue("e1.receivers", s.e1->receivers);
        add(-1, "n0.pending", s.n0->pending());
        add(-1, "n1.pending", s.n1->pending());
        add(-1, "reply.caller", id(s.reply->caller));
        add(-1, "timeouts pending", ipc::timeouts_pending());
        add(-1, "factory used", s.factory->used());
        for (cap::Selector sel = 0; sel < s.task->caps().size(); ++sel) {
            const cap::Slot* slot = s.task->caps().slot(sel);
            add(-1, "cap object", id(slot->object()), sel);
            add(-1, "cap rights", slot->rights(), sel);
            add(-1, "cap badge", slot->badge(), sel);
        }
        const auto& switches = fake::switches();
        for (size_t i = 0; i < switches.size(); ++i) {
            uint64_t who = 97;
            for (size_t t = 0; t < kMaxThreads; ++t)
                if (switches[i] == kNames[t])
                    who = 100 + t;
            add(-1, "switch", who, i);
        }
        add(-1, "switches", switches.size());
        add(-1, "log length", fake::log().size());
        return std::move(out);
    }
};

// A scenario: builds the scene's threads and their states, and returns the thread that makes
// `op` (its registers set), or nullptr when the scene allows none.
using Build = std::function<Thread*(Scene&, Op&)>;

// The next operation of whichever thread runs after one (the scene's rng decides), or false.
using Next = std::function<bool(Scene&, Op&)>;
constexpr int kFollowing = 3; // at most, after the first

struct Run {
    Snapshot snapshot;
    std::string log;
    bool skipped = false;
    bool took = false; // the first operation
    Op::Kind kind = Op::call;
    std::vector<bool> took_each, expected_each;
};

Run run_world(uint64_t seed, const Build& build, bool fast, const Next& next)
{
    Run run;
    Scene s(seed);
    s.start();
    Op op;
    Thread* self = build(s, op);
    if (self == nullptr) {
        run.skipped = true;
        return run;
    }
    REQUIRE(&current() == self);
    REQUIRE((scheduler::run_queue.empty() || scheduler::run_queue.highest_priority() <= self->priority));
    fake::clear_switches();
    fake::clear_log();
    run.kind = op.kind;
    for (int i = 0; i <= kFollowing; ++i) {
        if (i > 0) {
            if (!next || !next(s, op))
                break;
            self = &current();
            REQUIRE((scheduler::run_queue.empty() || scheduler::run_queue.highest_priority() <= self->priority));
        }
        run.expected_each.push_back(should_take(*self, op));
        run.took_each.push_back(perform(*self, op, fast));
    }
    run.took = run.took_each[0];
    run.snapshot = Snapper{s, {}}.take();
    run.log = fake::log();
    return run;
}

const char* kind_name(Op::Kind kind)
{
    switch (kind) {
    case Op::call: return "call";
    case Op::reply_wait: return "reply_wait";
    case Op::exception: return "exception";
    case Op::page_fault: return "page_fault";
    }
    return "?";
}

// The differences between A and B, one line each.
std::string differences(const Run& a, const Run& b)
{
    std::string text;
    if (a.snapshot.size() != b.snapshot.size())
        text +=
            "snapshot sizes " + std::to_string(a.snapshot.size()) + " vs " + std::to_string(b.snapshot.size()) + "\n";
    for (size_t i = 0; i < a.snapshot.size() && i < b.snapshot.size(); ++i) {
        const Field& x = a.snapshot[i];
        const Field& y = b.snapshot[i];
        if (x.value == y.value && x.name == y.name && x.index == y.index)
            continue;
        text += (x.thread >= 0 ? std::string(kNames[x.thread]) + "." : std::string()) + x.name + "[" +
                std::to_string(x.index) + "]: A " + std::to_string(x.value) + ", B " + std::to_string(y.value) +
                (x.name != y.name || x.index != y.index ? std::string(" (B's field: ") + y.name + ")" : "") + "\n";
    }
    if (a.log != b.log)
        text += "log A: " + a.log + "\nlog B: " + b.log + "\n";
    return text;
}

// Both worlds; true when they agree. `expect`: whether the fast path must take it (-1: as
// should_take says).
struct Compared {
    bool skipped, took, agree;
    uint64_t operations = 0, taken = 0; // the first and those following it
};
Compared compare(uint64_t seed, const Build& build, int expect = -1, const Next& next = {})
{
    Run a = run_world(seed, build, true, next);
    Run b = run_world(seed, build, false, next);
    REQUIRE(a.skipped == b.skipped);
    if (a.skipped)
        return {true, false, true};
    INFO("seed " << seed << ", " << kind_name(a.kind) << ", operations " << a.took_each.size());
    CHECK(a.took_each.size() == b.took_each.size());
    CHECK(b.took_each == std::vector<bool>(b.took_each.size(), false));
    CHECK(a.took_each == a.expected_each); // taken exactly where nothing unusual is in the way
    if (expect >= 0)
        CHECK(a.took == (expect == 1));
    std::string diff = differences(a, b);
    INFO(diff);
    CHECK(diff.empty());
    uint64_t taken = 0;
    for (bool took : a.took_each)
        taken += took;
    return {false, a.took, diff.empty(), a.took_each.size(), taken};
}

// --- Random scenarios.

uint64_t random_timeout(XorShift& r)
{
    if (r.chance(75))
        return kNever;
    return r.chance(40) ? l4::abi::kTimeoutZero : 5 + r.below(50);
}

uint64_t random_tag(XorShift& r, bool exception_reply)
{
    uint64_t label = exception_reply && r.chance(60) ? reply_label::resume_with_rax : r.below(4);
    uint64_t words = r.chance(85) ? r.below(l4::abi::kRegisterWords + 1) : r.below(12);
    uint64_t caps = r.chance(6) ? 1 : 0;
    uint64_t pages = r.chance(4) ? 1 : 0;
    uint64_t raw = MessageTag::make(label, words, caps, pages).raw;
    if (r.chance(3))
        raw |= uint64_t{1} << (13 + r.below(3)); // a bit no field uses
    return raw;
}

cap::Selector random_selector(XorShift& r, bool receive)
{
    if (r.chance(80))
        return r.chance(70) ? kE0 : kE0Badged;
    const cap::Selector others[] = {
        kE1, receive ? kE0ReceiveOnly : kE0SendOnly, kE0SendOnly, kE0ReceiveOnly, kN0, kEmpty, 200};
    return others[r.below(sizeof others / sizeof others[0])];
}

void set_words(Thread& t, XorShift& r, uint64_t tag)
{
    t.user_context().set_tag(tag);
    for (uint64_t i = 0; i < l4::abi::kRegisterWords; ++i)
        t.user_context().word(i) = r.next();
}

bool has_special(Thread& t, Thread::SpecialSlot slot) { return !t.special_caps().slot(slot)->empty(); }

// A kernel message of the current thread `t` during the setup (as trap.cpp makes it).
void raise_in_setup(Scene& s, Thread& t)
{
    if (has_special(t, Thread::pager) && (!has_special(t, Thread::exception_handler) || s.rng.chance(40))) {
        REQUIRE(ipc::raise_page_fault(t, kFaultAddress, 1, t.user_frame().rip));
    } else {
        uint64_t vector = t.foreign_abi != 0 || s.rng.chance(30) ? l4::abi::kForeignSyscallVector : 13;
        REQUIRE(ipc::raise_exception(t, vector, 0, 0));
    }
    general_exit(t);
}

// One thing a runnable thread does during the setup.
void random_step(Scene& s)
{
    XorShift& r = s.rng;
    std::vector<Thread*> runnable;
    for (Thread* t : s.threads)
        if (s.runnable(*t))
            runnable.push_back(t);
    if (runnable.empty())
        return;
    Thread& t = *runnable[r.below(runnable.size())];
    bool can_raise = has_special(t, Thread::exception_handler) || has_special(t, Thread::pager);
    uint64_t action = r.below(10);
    if (t.foreign_abi != 0)
        action = 7; // its system calls are exceptions
    s.become(t);
    switch (action) {
    case 0:
    case 1: receive(t, r.chance(75) ? kE0 : kE1, random_timeout(r)); break;
    case 2:
    case 3:
        set_words(t, r, MessageTag::make(r.below(4), r.below(8)).raw);
        call(t, r.chance(70) ? kE0 : r.chance(50) ? kE0Badged : kE1, random_timeout(r));
        break;
    case 4:
        set_words(t, r, MessageTag::make(r.below(4), r.below(4)).raw);
        send(t, r.chance(80) ? kE0 : kE1, random_timeout(r));
        break;
    case 5: notify_signal(t, kN0, uint64_t{1} << r.below(64)); break;
    case 6:
        if (t.caller != nullptr)
            reply_save(t, kReply);
        else
            notify_wait(t, kN1); // parked: nothing signals n1
        break;
    case 7:
        if (can_raise)
            raise_in_setup(s, t);
        else
            notify_wait(t, kN1);
        break;
    case 8:
        set_words(t, r, random_tag(r, t.caller != nullptr && t.caller->kernel_message));
        reply_wait(t, r.chance(80) ? kE0 : kE1, random_timeout(r));
        break;
    default: {
        std::vector<Thread*> blocked;
        for (Thread* b : s.threads)
            if (b->state() == State::blocked)
                blocked.push_back(b);
        if (!blocked.empty())
            blocked[r.below(blocked.size())]->suspend_requested = true; // thread_control suspend
        break;
    }
    }
}

Thread* random_scene(Scene& s, Op& op)
{
    XorShift& r = s.rng;
    size_t count = 2 + r.below(kMaxThreads - 3);
    const uint8_t priorities[] = {5, 10, 10, 15};
    for (size_t i = 0; i < count; ++i) {
        Thread& t = s.add(priorities[r.below(4)]);
        if (r.chance(40))
            s.handled_by(t, Thread::exception_handler, r.chance(80) ? kE0 : kE1, r.chance(50) ? kHandlerBadge : 0);
        if (r.chance(25))
            s.handled_by(t, Thread::pager, r.chance(80) ? kE0 : kE1);
        if (i > 0 && r.chance(10))
            t.foreign_abi = r.chance(50) ? l4::abi::foreign_abi::short_message : l4::abi::foreign_abi::full;
    }
    if (r.chance(40))
        REQUIRE(s.n0->bind(*s.threads[r.below(count)]) == Error::ok);
    // Most scenes begin as a client-server pair does: t0 receives, t1 calls or faults to it.
    if (r.chance(70)) {
        s.become(*s.threads[0]);
        receive(*s.threads[0], kE0, r.chance(85) ? kNever : 5 + r.below(50));
        Thread& client = *s.threads[1];
        if (r.chance(60)) {
            if (s.runnable(client) && client.foreign_abi == 0) {
                s.become(client);
                set_words(client, r, MessageTag::make(r.below(4), r.below(8)).raw);
                call(client, r.chance(70) ? kE0 : kE0Badged);
            }
        } else if (s.runnable(client)) {
            if (!has_special(client, Thread::exception_handler) && !has_special(client, Thread::pager))
                s.handled_by(client, Thread::exception_handler, kE0);
            s.become(client);
            raise_in_setup(s, client);
        }
        // Often a second receiver waits behind (or instead of) t0.
        if (count > 2 && s.runnable(*s.threads[2]) && s.threads[2]->foreign_abi == 0 && r.chance(50)) {
            s.become(*s.threads[2]);
            receive(*s.threads[2], kE0, r.chance(85) ? kNever : 5 + r.below(50));
        }
    }
    for (uint64_t steps = r.below(6); steps > 0; --steps)
        random_step(s);

    // The operation, and a thread that can make it.
    uint64_t pick = r.below(100);
    op.kind = pick < 40 ? Op::call : pick < 85 ? Op::reply_wait : pick < 95 ? Op::exception : Op::page_fault;
    std::vector<Thread*> candidates, with_caller;
    for (Thread* t : s.threads) {
        if (!s.runnable(*t) || t->suspend_requested)
            continue;
        bool able = op.kind == Op::exception    ? has_special(*t, Thread::exception_handler)
                    : op.kind == Op::page_fault ? has_special(*t, Thread::pager)
                                                : t->foreign_abi == 0;
        if (!able)
            continue;
        candidates.push_back(t);
        if (t->caller != nullptr)
            with_caller.push_back(t);
    }
    if (op.kind == Op::reply_wait && !with_caller.empty() && r.chance(85))
        candidates = with_caller;
    if (candidates.empty()) {
        // A fresh thread makes the operation, with a handler or pager if it needs one.
        Thread& fresh = s.add(priorities[r.below(4)]);
        if (op.kind == Op::exception)
            s.handled_by(fresh, Thread::exception_handler, r.chance(80) ? kE0 : kE1);
        if (op.kind == Op::page_fault)
            s.handled_by(fresh, Thread::pager, r.chance(80) ? kE0 : kE1);
        candidates.push_back(&fresh);
    }
    Thread& self = *candidates[r.below(candidates.size())];
    // On a kernel entry nothing ready outranks the running thread: those above self wait.
    for (Thread* t : s.threads)
        if (t != &self && s.runnable(*t) && t->priority > self.priority) {
            s.become(*t);
            notify_wait(*t, kN1);
        }
    s.become(self);

    arch::UserContext c = self.user_context();
    switch (op.kind) {
    case Op::call:
        set_words(self, r, random_tag(r, false));
        c.set_arg(0, random_selector(r, false));
        c.set_arg(2, random_timeout(r));
        break;
    case Op::reply_wait:
        set_words(self, r, random_tag(r, self.caller != nullptr && self.caller->kernel_message));
        c.set_arg(0, random_selector(r, true));
        c.set_arg(2, random_timeout(r));
        break;
    case Op::exception: op.vector = self.foreign_abi != 0 || r.chance(30) ? l4::abi::kForeignSyscallVector : 13; break;
    case Op::page_fault: break;
    }
    return &self;
}

// The running thread's next call or reply_wait, with random registers; none from idle.
bool random_next(Scene& s, Op& op)
{
    XorShift& r = s.rng;
    Thread& self = current();
    if (&self == this_cpu().idle || self.foreign_abi != 0 || r.chance(30))
        return false;
    bool answer = self.caller != nullptr && r.chance(80);
    op.kind = answer ? Op::reply_wait : Op::call;
    set_words(self, r, random_tag(r, answer && self.caller->kernel_message));
    self.user_context().set_arg(0, random_selector(r, answer));
    self.user_context().set_arg(2, random_timeout(r));
    return true;
}

} // namespace

TEST_CASE("fastpath: random scenarios end as the general path ends them", "[fastpath]")
{
    constexpr uint64_t kScenarios = 6000;
    uint64_t run = 0, skipped = 0, taken = 0, failed = 0, operations = 0, taken_operations = 0;
    uint64_t taken_by[4] = {}, declined_by[4] = {};
    for (uint64_t i = 0; i < kScenarios && failed < 5; ++i) {
        uint64_t seed = 0x9e37'79b9'7f4a'7c15 ^ (i * 0x1000'0001);
        Op::Kind kind = Op::call;
        Build build = [&kind](Scene& s, Op& op) {
            Thread* self = random_scene(s, op);
            kind = op.kind;
            return self;
        };
        Compared c = compare(seed, build, -1, random_next);
        if (c.skipped) {
            ++skipped;
            continue;
        }
        ++run;
        taken += c.took;
        operations += c.operations;
        taken_operations += c.taken;
        (c.took ? taken_by : declined_by)[kind]++;
        failed += !c.agree;
    }
    INFO("scenarios " << run << ", skipped " << skipped << ", fast path took " << taken << " first operations; "
                      << operations << " operations in all, " << taken_operations << " taken");

    CHECK(failed == 0);
    CHECK(run > kScenarios * 9 / 10);
    // Both answers are common for every operation: a fast path that always declines (or
    // always takes) fails above or here.
    for (int k = 0; k < 4; ++k) {
        INFO(kind_name(static_cast<Op::Kind>(k)) << ": taken " << taken_by[k] << ", declined " << declined_by[k]);
        CHECK(taken_by[k] >= 20);
        CHECK(declined_by[k] >= 20);
    }
}

// --- Hand-written scenes: each condition of fastpath.cpp, deciding once each way.

namespace {

// A server t0 and a client t1 (and whatever `tweak` adds, before the operation).
using Tweak = std::function<void(Scene&, Thread& server, Thread& client)>;
struct Pair {
    uint8_t server = 10, client = 10;
    uint64_t server_timeout = kNever; // of the server's receive on e0
    // How the client reached the server before a reply_wait: not at all, by a call, or by a
    // kernel message (exception, a foreign syscall with the short message, a page fault).
    enum Start { none, call, exception, foreign, page_fault } start = call;
    Tweak tweak = {};
};

// t0 receives on e0, then t1 runs.
void pair_up(Scene& s, const Pair& p, Thread*& server, Thread*& client)
{
    server = &s.add(p.server);
    client = &s.add(p.client);
    if (p.start == Pair::none)
        return; // the server runs, with no caller
    s.become(*server);
    receive(*server, kE0, p.server_timeout);
}

// `t` runs and is about to make the system call `kind` with `tag`, `sel` and `timeout`.
Thread* make_op(Scene& s, Op& op, Op::Kind kind, Thread& t, uint64_t tag, cap::Selector sel, uint64_t timeout)
{
    s.become(t);
    set_words(t, s.rng, tag);
    t.user_context().set_arg(0, sel);
    t.user_context().set_arg(2, timeout);
    op.kind = kind;
    return &t;
}

// t1 calls with `tag` through `sel`.
Build call_scene(uint64_t tag, cap::Selector sel = kE0, Pair p = {})
{
    return [=](Scene& s, Op& op) {
        Thread *server, *client;
        pair_up(s, p, server, client);
        if (p.tweak)
            p.tweak(s, *server, *client);
        return make_op(s, op, Op::call, *client, tag, sel, kNever);
    };
}

// t1 reaches t0 as p.start says; t0 answers with reply_wait(`tag`, `sel`, `timeout`).
Build reply_scene(uint64_t tag, cap::Selector sel = kE0, uint64_t timeout = kNever, Pair p = {})
{
    return [=](Scene& s, Op& op) {
        Thread *server, *client;
        pair_up(s, p, server, client);
        if (p.start == Pair::exception || p.start == Pair::foreign)
            s.handled_by(*client, Thread::exception_handler, kE0);
        if (p.start == Pair::page_fault)
            s.handled_by(*client, Thread::pager, kE0);
        if (p.start == Pair::foreign)
            client->foreign_abi = l4::abi::foreign_abi::short_message;
        if (p.start != Pair::none) {
            s.become(*client);
            if (p.start == Pair::call) {
                set_words(*client, s.rng, MessageTag::make(1, 2).raw);
                call(*client, kE0);
            } else {
                raise_in_setup(s, *client);
            }
            REQUIRE(server->caller == client);
        }
        if (p.tweak)
            p.tweak(s, *server, *client);
        return make_op(s, op, Op::reply_wait, *server, tag, sel, timeout);
    };
}

// t1's exception (`vector`) or page fault goes to e0, where t0 waits.
Build kernel_scene(Op::Kind kind, uint64_t vector = 13, Pair p = {})
{
    return [=](Scene& s, Op& op) {
        Thread *server, *client;
        pair_up(s, p, server, client);
        s.handled_by(*client, kind == Op::exception ? Thread::exception_handler : Thread::pager, kE0);
        if (vector == l4::abi::kForeignSyscallVector)
            client->foreign_abi = l4::abi::foreign_abi::short_message;
        if (p.tweak)
            p.tweak(s, *server, *client);
        s.become(*client);
        op.kind = kind;
        op.vector = vector;
        return client;
    };
}

// A third thread, ready at `priority`.
Tweak ready_third(uint8_t priority)
{
    return [=](Scene& s, Thread&, Thread&) { s.add(priority); };
}

// A fourth thread, queued sending on `ep`.
Tweak sender_on(cap::Selector ep)
{
    return [=](Scene& s, Thread&, Thread&) {
        Thread& sender = s.add(10);
        s.become(sender);
        set_words(sender, s.rng, MessageTag::make(3, 1).raw);
        send(sender, ep);
    };
}

void expect(const char* what, const Build& build, bool taken)
{
    INFO(what);
    Compared c = compare(1, build, taken ? 1 : 0);
    CHECK_FALSE(c.skipped);
}

uint64_t tag(uint64_t label, uint64_t words, uint64_t caps = 0, uint64_t pages = 0)
{
    return MessageTag::make(label, words, caps, pages).raw;
}

} // namespace

TEST_CASE("fastpath: call, each condition", "[fastpath]")
{
    expect("three words to a waiting receiver", call_scene(tag(1, 3)), true);
    expect("no words", call_scene(tag(1, 0)), true);
    expect("six words, all in registers", call_scene(tag(1, 6)), true);
    expect("seven words: one in the UTCB", call_scene(tag(1, 7)), false);
    expect("a capability item", call_scene(tag(1, 1, 1)), false);
    expect("a map item", call_scene(tag(1, 1, 0, 1)), false);
    expect("a tag bit no field uses", call_scene(tag(1, 1) | 0x2000), false);
    expect("a badged capability", call_scene(tag(1, 2), kE0Badged), true);
    expect("a capability without send", call_scene(tag(1, 2), kE0ReceiveOnly), false);
    expect("a notification, not an endpoint", call_scene(tag(1, 2), kN0), false);
    expect("an empty slot", call_scene(tag(1, 2), kEmpty), false);
    expect("a selector past the space", call_scene(tag(1, 2), 200), false);
    expect("nobody receives (e1)", call_scene(tag(1, 2), kE1), false);
    expect("the receiver waits with a timeout", call_scene(tag(1, 2), kE0, {.server_timeout = 20}), false);
    expect("the receiver is to be suspended",
           call_scene(tag(1, 2), kE0, {.tweak = [](Scene&, Thread& r, Thread&) { r.suspend_requested = true; }}),
           false);
    expect("the receiver has work on its way out",
           call_scene(tag(1, 2), kE0,
                      {.tweak = [](Scene&, Thread& r, Thread&) { r.return_work = Thread::forced_exception; }}),
           false);
    expect("a ready thread outranks the receiver",
           call_scene(tag(1, 2), kE0, {.server = 5, .client = 15, .tweak = ready_third(10)}), false);
    expect("a ready thread as high as the receiver",
           call_scene(tag(1, 2), kE0, {.server = 10, .client = 15, .tweak = ready_third(10)}), true);
    expect("a receiver above the caller", call_scene(tag(1, 2), kE0, {.server = 15, .client = 10}), true);
    expect("a receiver below the caller, nothing ready", call_scene(tag(1, 2), kE0, {.server = 5, .client = 15}), true);
    expect("a receiver with a bound notification, no bits",
           call_scene(tag(1, 2), kE0,
                      {.tweak = [](Scene& s, Thread& r, Thread&) { REQUIRE(s.n0->bind(r) == Error::ok); }}),
           true);
    expect("a second receiver queued behind the first",
           call_scene(tag(1, 2), kE0,
                      {.tweak =
                           [](Scene& s, Thread&, Thread&) {
                               Thread& second = s.add(10);
                               s.become(second);
                               receive(second, kE0);
                           }}),
           true);
}

TEST_CASE("fastpath: reply_wait, each condition", "[fastpath]")
{
    expect("two words to a plain caller", reply_scene(tag(0, 2)), true);
    expect("seven words", reply_scene(tag(0, 7)), false);
    expect("a capability item", reply_scene(tag(0, 1, 1)), false);
    expect("a finite timeout", reply_scene(tag(0, 2), kE0, 30), false);
    expect("a zero timeout", reply_scene(tag(0, 2), kE0, l4::abi::kTimeoutZero), false);
    expect("no caller", reply_scene(tag(0, 2), kE0, kNever, {.start = Pair::none}), false);
    expect("the caller kept in a reply object",
           reply_scene(tag(0, 2), kE0, kNever,
                       {.tweak = [](Scene&, Thread& server, Thread&) { reply_save(server, kReply); }}),
           false);
    expect(
        "the caller is to be suspended",
        reply_scene(tag(0, 2), kE0, kNever, {.tweak = [](Scene&, Thread&, Thread& c) { c.suspend_requested = true; }}),
        false);
    expect("the caller has work on its way out",
           reply_scene(tag(0, 2), kE0, kNever,
                       {.tweak = [](Scene&, Thread&, Thread& c) { c.return_work = Thread::forced_exception; }}),
           false);
    expect("a ready thread outranks the caller",
           reply_scene(tag(0, 2), kE0, kNever, {.server = 15, .client = 5, .tweak = ready_third(10)}), false);
    expect("a ready thread as high as the caller",
           reply_scene(tag(0, 2), kE0, kNever, {.server = 15, .client = 10, .tweak = ready_third(10)}), true);
    expect("a caller above the server", reply_scene(tag(0, 2), kE0, kNever, {.server = 5, .client = 15}), true);
    expect("a sender queued", reply_scene(tag(0, 2), kE0, kNever, {.tweak = sender_on(kE0)}), false);
    expect("a sender queued on the other endpoint", reply_scene(tag(0, 2), kE0, kNever, {.tweak = sender_on(kE1)}),
           true);
    expect("bound notification bits pending",
           reply_scene(tag(0, 2), kE0, kNever,
                       {.tweak =
                            [](Scene& s, Thread& server, Thread&) {
                                REQUIRE(s.n0->bind(server) == Error::ok);
                                s.n0->signal(4);
                            }}),
           false);
    expect("a bound notification without bits",
           reply_scene(tag(0, 2), kE0, kNever,
                       {.tweak = [](Scene& s, Thread& server, Thread&) { REQUIRE(s.n0->bind(server) == Error::ok); }}),
           true);
    expect("a capability without receive", reply_scene(tag(0, 2), kE0SendOnly), false);
    expect("an empty slot", reply_scene(tag(0, 2), kEmpty), false);
    expect("waiting on the other endpoint", reply_scene(tag(0, 2), kE1), true);
    expect("a badged capability", reply_scene(tag(0, 2), kE0Badged), true);
    Pair exception{.start = Pair::exception};
    expect("an exception resumed with rax", reply_scene(tag(reply_label::resume_with_rax, 1), kE0, kNever, exception),
           true);
    expect("an exception resumed with rax, three words",
           reply_scene(tag(reply_label::resume_with_rax, 3), kE0, kNever, exception), true);
    expect("an exception resumed with rax but no word",
           reply_scene(tag(reply_label::resume_with_rax, 0), kE0, kNever, exception), false);
    expect("an exception resumed unchanged", reply_scene(tag(reply_label::resume, 0), kE0, kNever, exception), false);
    expect("an exception resumed with registers",
           reply_scene(tag(reply_label::resume_with_registers, 6), kE0, kNever, exception), false);
    expect("an exception left stopped", reply_scene(tag(9, 1), kE0, kNever, exception), false);
    expect("a foreign syscall resumed with rax",
           reply_scene(tag(reply_label::resume_with_rax, 1), kE0, kNever, {.start = Pair::foreign}), true);
    Pair fault{.start = Pair::page_fault};
    expect("a page fault answered with a map item", reply_scene(tag(0, 0, 0, 1), kE0, kNever, fault), true);
    expect("a page fault answered with no item", reply_scene(tag(0, 0, 0, 0), kE0, kNever, fault), true);
    expect("a page fault answered with five map items", reply_scene(tag(0, 0, 0, 5), kE0, kNever, fault), false);
    expect("a page fault answered with a map item and a word", reply_scene(tag(0, 1, 0, 1), kE0, kNever, fault), false);
    expect("a page fault refused (label 1)", reply_scene(tag(1, 0, 0, 1), kE0, kNever, fault), false);
    expect("a page fault answered in registers", reply_scene(tag(0, 1), kE0, kNever, fault), false);
    expect("a page fault 'resumed with rax'", reply_scene(tag(reply_label::resume_with_rax, 1), kE0, kNever, fault),
           false);
}

TEST_CASE("fastpath: kernel messages, each condition", "[fastpath]")
{
    expect("an exception to a waiting handler", kernel_scene(Op::exception), true);
    expect("a foreign syscall, short message", kernel_scene(Op::exception, l4::abi::kForeignSyscallVector), true);
    expect("a page fault to a waiting pager", kernel_scene(Op::page_fault), true);
    expect("a badgeless handler capability",
           kernel_scene(Op::exception, 13,
                        {.tweak =
                             [](Scene& s, Thread&, Thread& c) {
                                 REQUIRE(c.special_caps().remove(Thread::exception_handler) == Error::ok);
                                 s.handled_by(c, Thread::exception_handler, kE0, 0);
                             }}),
           true);
    expect("the handler waits elsewhere",
           kernel_scene(Op::exception, 13,
                        {.tweak =
                             [](Scene&, Thread& server, Thread&) {
                                 ipc::cancel(server); // its receive ends: it is ready, not waiting
                             }}),
           false);
    expect("the handler waits with a timeout", kernel_scene(Op::exception, 13, {.server_timeout = 9}), false);
    expect("the pager is to be suspended",
           kernel_scene(Op::page_fault, 13,
                        {.tweak = [](Scene&, Thread& server, Thread&) { server.suspend_requested = true; }}),
           false);
    expect("a ready thread outranks the handler",
           kernel_scene(Op::exception, 13, {.server = 5, .client = 15, .tweak = ready_third(10)}), false);
}
