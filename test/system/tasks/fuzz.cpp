// A hostile test, run as sigma0: random and malformed system calls from user space, to check
// that bad input gets a documented error, loses nothing, and never hangs or crashes the
// kernel. Module command line: "fuzz [seed=N] [iterations=N] [sweep=N] [trace=N] [bug=N]":
// trace=N prints the 300 calls from iteration N on. First come the regression checks of the
// kernel bugs this fuzzer found (1: a wrapping IPC timeout expired at once; 2 and 5: a deadline
// of exactly 0 ended in a hang or a panic; 3 and 4: a mapping outlived its task), all of them,
// or only number N with bug=N; the random calls reach them too (1: wrapping timeouts; 3: memory
// for any task's page faults).
//
// Every call's result must be an error its system call documents (docs/syscalls.md), and
// exactly the expected one where the fuzzer knows it (malformed tags and flexpages, out of
// range selectors, empty or occupied slots: probed before and after without changing
// anything). Objects accumulate in the pool; every `sweep` iterations the pool is emptied, and the
// fuzzer's factory must then have its whole quota back. Every 1000 calls a liveness check makes
// objects of its own, signals, polls and calls the helper, and checks every answer exactly.
// Output: "fuzz: UNEXPECTED ..." for every surprise, a histogram of the errors per system
// call, and "fuzz: N calls ..., 0 unexpected, kernel alive".
#include "fuzz.hpp"

#include "l4/abi/address_space.hpp"
#include "l4/format.hpp"
#include "l4/libc.hpp"
#include "memory_probe.hpp"

using namespace fz;
using kt::Error;

namespace {

using abi::Flexpage;
using abi::Syscall;

constexpr uint64_t kSyscalls = static_cast<uint64_t>(Syscall::count);
constexpr uint64_t kRows = kSyscalls + 1; // the last: numbers out of range
constexpr uint64_t kErrors = static_cast<uint64_t>(Error::cancelled) + 1;
constexpr uint64_t kGarbage = kErrors; // a result that is no Error at all
constexpr uint64_t kMaxSelector = kt::kSlots;
constexpr uint64_t kMaxUnmapOrder = 30;
constexpr uint64_t kCheckQuota = 64 * 1024;
constexpr uint64_t kFuzzQuota = 1536 * 1024;
constexpr uint64_t kForeignQuota = 768 * 1024;
constexpr uint64_t kEndpoint = static_cast<uint64_t>(abi::ObjectKind::endpoint);
constexpr uint64_t kNotification = static_cast<uint64_t>(abi::ObjectKind::notification);
constexpr uint64_t kThread = static_cast<uint64_t>(abi::ObjectKind::thread);
constexpr uint64_t kTask = static_cast<uint64_t>(abi::ObjectKind::task);
constexpr uint64_t kReply = static_cast<uint64_t>(abi::ObjectKind::reply);

const char* const kSyscallNames[kRows] = {
    "debug_write",    "thread_exit",     "yield",         "ipc_call",      "ipc_send",
    "ipc_receive",    "ipc_reply_wait",  "ipc_reply",     "notify_signal", "notify_wait",
    "notify_poll",    "cap_copy",        "cap_delete",    "cap_revoke",    "factory_create",
    "thread_control", "irq_control",     "ioport_enable", "memory_unmap",  "cap_copy_to",
    "memory_map_to",  "memory_unmap_in", "reply_save",    "reply_to",      "out_of_range"};

struct Options {
    uint64_t seed = 0x5eed;
    uint64_t iterations = 300000;
    uint64_t sweep = 10000;
    uint64_t trace = ~uint64_t{0}; // print every call from this iteration on (300 of them)
    uint64_t bug = 0;              // 0: every regression check (show_bug_N); N: only that one
};

struct Call {
    uint64_t iteration, number, rdi, rsi, rdx, r10, r8, result;
};

struct Stats {
    uint64_t counts[kRows][kErrors + 1];
    uint64_t calls, probes, skipped, touches, rescues, unexpected;
};

Options options;
Stats stats;
Rng rng;
uint64_t iteration;
constexpr uint64_t kRecent = 8;
Call recent[kRecent];
uint64_t recent_count;
bool alive = true;
uint64_t fuzz_quota0, check_quota0, boot_quota0;

constexpr uint32_t bit(Error e) { return 1u << static_cast<uint64_t>(e); }
constexpr uint32_t kSelectorErrors = bit(Error::invalid_selector) | bit(Error::wrong_type) | bit(Error::missing_rights);

// The errors docs/syscalls.md lets each call return.
uint32_t allowed(uint64_t number)
{
    // cancelled: a blocked call of a thread that another forced into its handler.
    constexpr uint32_t ok = bit(Error::ok), sel = kSelectorErrors, cancel = bit(Error::cancelled);
    switch (static_cast<Syscall>(number)) {
    case Syscall::debug_write: return ok | bit(Error::invalid_argument) | bit(Error::bad_address);
    case Syscall::yield: return ok;
    case Syscall::ipc_call:
    case Syscall::ipc_send:
        return ok | sel | bit(Error::invalid_argument) | bit(Error::timeout) | bit(Error::object_destroyed) | cancel;
    case Syscall::ipc_receive: return ok | sel | bit(Error::timeout) | bit(Error::object_destroyed) | cancel;
    // quota_exhausted: a page-fault reply the faulting task cannot pay for (the fuzzer is the
    // pager of threads it makes).
    case Syscall::ipc_reply_wait:
        return ok | sel | bit(Error::timeout) | bit(Error::object_destroyed) | bit(Error::invalid_argument) |
               bit(Error::quota_exhausted) | cancel;
    case Syscall::ipc_reply:
        return ok | bit(Error::invalid_selector) | bit(Error::invalid_argument) | bit(Error::quota_exhausted);
    case Syscall::notify_signal:
    case Syscall::notify_poll: return ok | sel;
    case Syscall::notify_wait: return ok | sel | bit(Error::timeout) | bit(Error::object_destroyed) | cancel;
    case Syscall::reply_save: return ok | sel | bit(Error::busy);
    case Syscall::reply_to: return ok | sel | bit(Error::invalid_argument) | bit(Error::quota_exhausted);
    case Syscall::cap_copy:
        return ok | bit(Error::invalid_selector) | bit(Error::slot_occupied) | bit(Error::invalid_argument);
    case Syscall::cap_delete:
    case Syscall::cap_revoke: return ok | bit(Error::invalid_selector);
    case Syscall::factory_create:
        return ok | sel | bit(Error::slot_occupied) | bit(Error::invalid_argument) | bit(Error::quota_exhausted) |
               bit(Error::out_of_memory) | bit(Error::busy); // busy: a task's 257th thread
    case Syscall::thread_control:
        return ok | sel | bit(Error::busy) | bit(Error::bad_address) | bit(Error::invalid_argument) |
               bit(Error::object_destroyed);
    case Syscall::irq_control: return ok | sel | bit(Error::invalid_argument);
    case Syscall::ioport_enable: return ok | sel | bit(Error::quota_exhausted) | bit(Error::out_of_memory);
    case Syscall::memory_unmap: return ok | bit(Error::invalid_argument);
    case Syscall::cap_copy_to:
        return ok | sel | bit(Error::slot_occupied) | bit(Error::invalid_argument) | bit(Error::out_of_memory);
    case Syscall::memory_map_to:
        return ok | sel | bit(Error::invalid_argument) | bit(Error::misaligned) | bit(Error::bad_address) |
               bit(Error::quota_exhausted);
    case Syscall::memory_unmap_in: return ok | sel | bit(Error::invalid_argument);
    default: return number >= kSyscalls ? bit(Error::unknown_syscall) : 0;
    }
}

const char* name_of(uint64_t number) { return kSyscallNames[number < kSyscalls ? number : kSyscalls]; }
const char* error_name(uint64_t e) { return e < kErrors ? abi::error_name(static_cast<Error>(e)) : "garbage"; }

void print_call(const char* prefix, const Call& c)
{
    l4::println("fuzz: {}#{} {}({:#x}, {:#x}, {:#x}, {:#x}, {:#x}) -> {}", prefix, c.iteration, name_of(c.number),
                c.rdi, c.rsi, c.rdx, c.r10, c.r8, error_name(c.result));
}

// Reports a surprise: what, the call (or a value), and for the first few the calls before.
void unexpected(const char* what, const Call* c, uint64_t value = 0)
{
    ++stats.unexpected;
    if (stats.unexpected > 20)
        return;
    if (c != nullptr)
        l4::println("fuzz: UNEXPECTED at iteration {} (seed {}): {}", iteration, options.seed, what);
    else
        l4::println("fuzz: UNEXPECTED at iteration {} (seed {}): {} ({:#x})", iteration, options.seed, what, value);
    if (stats.unexpected <= 3) {
        uint64_t first = recent_count > kRecent ? recent_count - kRecent : 0;
        for (uint64_t i = first; i < recent_count; ++i)
            if (c == nullptr || i + 1 < recent_count)
                print_call("  before ", recent[i % kRecent]);
    }
    if (c != nullptr)
        print_call("  call ", *c);
}

// Counts a call and checks its result against `allow`.
Error record(Call c, uint32_t allow)
{
    c.iteration = iteration;
    recent[recent_count++ % kRecent] = c;
    uint64_t row = c.number < kSyscalls ? c.number : kSyscalls;
    uint64_t col = c.result < kErrors ? c.result : kGarbage;
    ++stats.counts[row][col];
    ++stats.calls;
    if (iteration >= options.trace && iteration < options.trace + 300)
        print_call("", c);
    if (col == kGarbage)
        unexpected("a result that is no error code", &c);
    else if ((allow & (1u << col)) == 0)
        unexpected(allow == allowed(c.number) ? "an error the call does not document" : "not the error expected", &c);
    return static_cast<Error>(c.result);
}

// (With call_flags set, op_flags is running: the call is made with those flags.)
Error sys(uint64_t number, uint64_t rdi = 0, uint64_t rsi = 0, uint64_t rdx = 0, uint64_t r10 = 0, uint64_t r8 = 0,
          uint32_t allow = 0)
{
    Error e;
    if (call_flags != 0) {
        uint64_t flags = call_flags;
        e = flagged_syscall(number, rdi, rsi, rdx, r10, r8, flags);
        check_flags_after(number, call_flags, flags);
    } else {
        e = l4::raw_syscall(number, rdi, rsi, rdx, r10, r8);
    }
    return record({0, number, rdi, rsi, rdx, r10, r8, static_cast<uint64_t>(e)}, allow ? allow : allowed(number));
}

Error ipc(Syscall number, Selector endpoint, l4::Message& m, uint64_t timeout, uint32_t allow = 0)
{
    uint64_t tag = m.tag.raw, word = m.words[0];
    auto n = static_cast<uint64_t>(number);
    Error e;
    if (call_flags != 0) {
        uint64_t flags = call_flags;
        e = flagged_ipc(number, endpoint, m, timeout, flags);
        check_flags_after(n, call_flags, flags);
    } else {
        e = l4::detail::ipc(number, endpoint, m, timeout);
    }
    return record({0, n, endpoint, tag, timeout, 0, word, static_cast<uint64_t>(e)}, allow ? allow : allowed(n));
}

// A check outside the histogram (the liveness check, the sweep): reported when it fails.
bool expect(bool holds, const char* what, uint64_t value = 0)
{
    if (!holds)
        unexpected(what, nullptr, value);
    return holds;
}

// Whether a slot is empty, without changing anything: read_registers looks the slot up as a
// thread first (invalid_selector only for an empty slot or one out of range).
bool empty(Selector s)
{
    Error e = l4::thread_control(s, abi::ThreadOp::read_registers);
    ++stats.probes;
    constexpr uint32_t kAllowed = kSelectorErrors | bit(Error::ok) | bit(Error::busy) | bit(Error::object_destroyed);
    auto code = static_cast<uint64_t>(e);
    if (code >= kErrors || (kAllowed & (1u << code)) == 0)
        expect(false, "read_registers as a slot probe: an error it does not document", code);
    return e == Error::invalid_selector;
}

// Whether a slot holds a task capability, without changing anything: cap_copy_to looks its
// first argument up as a task before anything else, and a source out of range then fails.
bool holds_task(Selector s)
{
    if (s >= kMaxSelector || empty(s))
        return false;
    Error e = l4::raw_syscall(static_cast<uint64_t>(Syscall::cap_copy_to), s, kMaxSelector, 0);
    ++stats.probes;
    return e != Error::wrong_type;
}

// The slot probe around a call that may fill `slot`: before, then after, checked.
struct SlotWatch {
    Selector slot;
    bool in_range, before;
    explicit SlotWatch(Selector s) : slot(s), in_range(s < kMaxSelector), before(in_range && empty(s)) {}
    // `filled`: the call reported success.
    void after(bool filled, const char* name)
    {
        if (!in_range)
            return;
        bool now = empty(slot);
        if (filled && !before)
            expect(false, name, slot); // succeeded on an occupied slot
        else if (filled && now)
            expect(false, "the call succeeded but the destination slot is empty", slot);
        else if (!filled && now != before)
            expect(false, "a failed call changed the destination slot", slot);
    }
};

// The largest quota a new sub-factory of `factory` may carry: what it has left, less the
// sub-factory object itself. Creates and deletes kMeasure.
uint64_t available(Selector factory) { return kt::available(factory, kMeasure); }

// Ops ---------------------------------------------------------------------------------------

const char kDots[] = "................";

void op_debug_write()
{
    constexpr uint32_t kBad = bit(Error::bad_address), kLong = bit(Error::invalid_argument);
    uint64_t n = static_cast<uint64_t>(Syscall::debug_write);
    auto text = reinterpret_cast<uint64_t>(kDots);
    switch (rng.below(8)) {
    case 0: // a little harmless output (rarely: it goes to the log)
        sys(n, text, rng.chance(95) ? 0 : rng.chance(90) ? 1 : sizeof kDots - 1, 0, 0, 0, bit(Error::ok));
        break;
    case 1: sys(n, kt::kKernelAddress + rng.below(1u << 30), 1 + rng.below(4096), 0, 0, 0, kBad); break;
    case 2:
        sys(n, rng.chance(50) ? kt::kNonCanonical + rng.below(1u << 20) : ~uint64_t{0} - rng.below(8),
            1 + rng.below(4096), 0, 0, 0, kBad);
        break;
    case 3: sys(n, rng.below(0x1000), 1 + rng.below(64), 0, 0, 0, kBad); break;
    case 4: // straddles the end of user space
        sys(n, abi::kUserEnd - 1 - rng.below(8), 16, 0, 0, 0, kBad);
        break;
    case 5:
        sys(n, text, abi::kMaxDebugWrite + 1 + (rng.chance(50) ? rng.below(4096) : rng.next() >> 1), 0, 0, 0, kLong);
        break;
    case 6: // scratch, image or boot information: a few bytes (shorter than any forbidden log line)
        sys(n, any_address(rng), rng.chance(10) ? 1 + rng.below(4) : 0);
        break;
    default: // nothing to write: any pointer
        sys(n, any_address(rng), 0, 0, 0, 0, bit(Error::ok) | kBad);
        break;
    }
}

// What the fuzzer received last: a reply may go to that caller (see may_map_into).
uint64_t received_label, received_badge;

// What an IPC that succeeded delivered must match its tag.
void check_delivery(const l4::Message& m)
{
    const abi::Utcb& u = *l4::utcb();
    expect(m.tag.words() <= abi::kMessageWords && m.tag.caps() <= abi::kMaxTypedItems &&
               m.tag.caps() == u.received_caps && m.tag.pages() <= abi::kMaxMapItems &&
               u.received_pages <= abi::kMaxMapItems * 1024,
           "the received tag does not match what arrived", m.tag.raw);
}

void op_ipc(Syscall number)
{
    abi::Utcb& u = *l4::utcb();
    l4::Message m;
    random_message(rng, m, u);
    if (rng.chance(25))
        l4::yield(); // lets the helper (and stubs) get back to their receive
    Selector endpoint = rng.chance(10) ? kRendezvous : typed(rng, kEndpoint);
    uint64_t timeout = short_timeout(rng);
    bool replies = number == Syscall::ipc_reply || number == Syscall::ipc_reply_wait;
    if (replies && !may_map_into(received_label, received_badge))
        m.tag = abi::MessageTag::make(m.tag.label(), m.tag.words(), m.tag.caps());
    uint32_t allow = allowed(static_cast<uint64_t>(number));
    bool sends = number != Syscall::ipc_receive;
    if (sends && tag_refused(m.tag.raw, u))
        allow = bit(Error::invalid_argument); // the tag is checked before anything else
    else if (number != Syscall::ipc_reply && endpoint >= kMaxSelector)
        allow = bit(Error::invalid_selector);
    Error e = ipc(number, endpoint, m, timeout, allow);
    bool received = number == Syscall::ipc_call || number == Syscall::ipc_receive || number == Syscall::ipc_reply_wait;
    if (e == Error::ok && received)
        check_delivery(m);
    if (e == Error::ok && number != Syscall::ipc_call && received) {
        received_label = m.tag.label();
        received_badge = m.badge;
    }
    // A message received may be a call (an exception, a page fault): often answer it at once,
    // sometimes keep it in a reply object (op_reply_to answers it later, or its deletion ends it).
    if (e == Error::ok && number != Syscall::ipc_call && received && rng.chance(60))
        op_ipc(Syscall::ipc_reply);
    else if (e == Error::ok && number != Syscall::ipc_call && received && rng.chance(80))
        sys(static_cast<uint64_t>(Syscall::reply_save), typed(rng, kReply));
}

// Answers whatever a reply object keeps (a call the fuzzer received and kept), with a random
// message that carries no memory: who the caller is, and so what may be mapped, is unknown.
void op_reply_to()
{
    abi::Utcb& u = *l4::utcb();
    l4::Message m;
    random_message(rng, m, u);
    m.tag = abi::MessageTag::make(m.tag.label(), m.tag.words(), m.tag.caps());
    Selector reply = rng.chance(80) ? typed(rng, kReply) : selector(rng);
    uint32_t allow = allowed(static_cast<uint64_t>(Syscall::reply_to));
    if (tag_refused(m.tag.raw, u))
        allow = bit(Error::invalid_argument) | kSelectorErrors;
    ipc(Syscall::reply_to, reply, m, 0, allow);
}

// Keeps the reply to whatever caller the fuzzer would answer next (mostly none: invalid_selector)
// in a reply object, or tries to, through any selector with junk in the other registers.
void op_reply_save()
{
    Selector reply = rng.chance(75) ? typed(rng, kReply) : rng.chance(50) ? selector(rng) : edge_value(rng);
    sys(static_cast<uint64_t>(Syscall::reply_save), reply, rng.next(), rng.next(), rng.next(), rng.next());
}

// Binds (or unbinds) a notification to a thread other than the fuzzer's own (whose receives
// it would end); any selector, any thread.
void op_bind_notification()
{
    Selector t = typed(rng, kThread);
    ++stats.probes;
    if (l4::thread_control(t, abi::ThreadOp::read_registers) == Error::busy) {
        ++stats.skipped; // the fuzzer itself
        return;
    }
    uint64_t k = rng.below(100);
    uint64_t note = k < 60 ? typed(rng, kNotification) : k < 80 ? abi::kUnbind : edge_value(rng);
    sys(static_cast<uint64_t>(Syscall::thread_control), t, static_cast<uint64_t>(abi::ThreadOp::bind_notification),
        note, 0, 0);
}

void op_notify_signal()
{
    sys(static_cast<uint64_t>(Syscall::notify_signal), typed(rng, kNotification), rng.chance(20) ? 0 : edge_value(rng));
}

// notify_wait blocks while no bits are set: signal first, and wait only after a signal that
// took (then the wait must return at once with at least those bits).
void op_notify_wait()
{
    Selector s = typed(rng, kNotification);
    uint64_t bits = edge_value(rng) | 1;
    if (sys(static_cast<uint64_t>(Syscall::notify_signal), s, bits) != Error::ok) {
        ++stats.skipped;
        return;
    }
    uint64_t got = 0;
    Error e = l4::notify_wait(s, got, rng.chance(50) ? abi::kTimeoutNever : edge_value(rng));
    record({0, static_cast<uint64_t>(Syscall::notify_wait), s, bits, 0, 0, 0, static_cast<uint64_t>(e)},
           bit(Error::ok) | bit(Error::missing_rights));
    if (e == Error::ok)
        expect((got & bits) == bits, "notify_wait lost bits just signalled", got);
}

void op_notify_poll()
{
    Selector s = typed(rng, kNotification);
    uint64_t bits = 0;
    Error e = l4::notify_poll(s, bits);
    record({0, static_cast<uint64_t>(Syscall::notify_poll), s, 0, 0, 0, bits, static_cast<uint64_t>(e)},
           allowed(static_cast<uint64_t>(Syscall::notify_poll)));
}

void op_cap_copy()
{
    Selector from = copy_source(rng), to = selector(rng);
    uint64_t mask = rng.chance(85) ? rng.below(16) : rng.next();
    uint64_t badge = rng.chance(60) ? 0 : edge_value(rng);
    bool source_empty = from >= kMaxSelector || empty(from);
    SlotWatch watch(to);
    uint32_t allow;
    if (source_empty || to >= kMaxSelector)
        allow = bit(Error::invalid_selector);
    else if (!watch.before)
        allow = bit(Error::slot_occupied);
    else
        allow = bit(Error::ok) | bit(Error::invalid_argument); // a badge where none may go
    Error e = sys(static_cast<uint64_t>(Syscall::cap_copy), from, to, mask, badge, 0, allow);
    watch.after(e == Error::ok, "cap_copy succeeded on an occupied slot");
}

// cap_copy_to: into our own task through its task capability (then exactly as op_cap_copy),
// into one of the foreign tasks (whose slots we cannot see), or through any selector at all.
void op_cap_copy_to()
{
    Selector from = copy_source(rng), to = selector(rng);
    uint64_t mask = rng.chance(85) ? rng.below(16) : rng.next();
    uint64_t badge = rng.chance(60) ? 0 : edge_value(rng);
    auto number = static_cast<uint64_t>(Syscall::cap_copy_to);
    uint64_t where = rng.below(3);
    if (where == 0) {
        bool source_empty = from >= kMaxSelector || empty(from);
        SlotWatch watch(to);
        uint32_t allow = source_empty || to >= kMaxSelector ? bit(Error::invalid_selector)
                         : !watch.before                    ? bit(Error::slot_occupied)
                                                            : bit(Error::ok) | bit(Error::invalid_argument);
        Error e = sys(number, abi::boot::kTaskSelector, from, to, mask, badge, allow);
        watch.after(e == Error::ok, "cap_copy_to our task succeeded on an occupied slot");
        return;
    }
    Selector task = selector(rng);
    if (where == 1) {
        // Into a foreign task: our rendezvous endpoint or pulse notification (slots 50 and 52
        // there are where the stub looks for them). Copies of pool objects stay out: once we
        // delete our capability the copy (moved up to a root) keeps the object alive in a task
        // that never dies, rightly, and the sweep could not give the fuzz factory its quota.
        task = kForeignTasks + rng.below(kForeignTaskCount);
        from = rng.chance(50) ? kRendezvous : kPulse;
    } else if (!in_pool(from)) {
        return; // a copy of anything else may keep a hot slot's object alive past the sweep
    } else if (holds_task(from)) {
        // A task capability copied into that same task (or into another one whose capability it
        // holds) is a cycle: once we delete ours, the task keeps itself alive, rightly, where no
        // sweep can reach it, and the fuzz factory never gets its quota back.
        return;
    }
    // Through any selector the task may be ours (a copy of our task capability): the slot is then
    // one of the pool's, never a reserved one.
    Selector destination = where == 1 ? (rng.chance(80) ? rng.below(64) : rng.next()) : to;
    sys(number, task, from, destination, mask, badge, allowed(number));
}

void op_cap_delete(bool revoke)
{
    Selector s = victim(rng);
    bool was_empty = s >= kMaxSelector || empty(s);
    auto number = static_cast<uint64_t>(revoke ? Syscall::cap_revoke : Syscall::cap_delete);
    sys(number, s, 0, 0, 0, 0, bit(was_empty ? Error::invalid_selector : Error::ok));
    if (s < kMaxSelector && !was_empty)
        expect(empty(s) != revoke, revoke ? "revoke emptied the revoked slot itself" : "delete left the slot full", s);
}

void op_factory_create()
{
    static const uint64_t bad_kinds[] = {7, 8, 99, 1ull << 32, ~0ull};
    uint64_t kind = rng.chance(90) ? rng.below(7) : pick(rng, bad_kinds);
    Selector factory = factory_selector(rng), slot = selector(rng);
    uint64_t a = rng.next(), b = rng.next();
    switch (static_cast<abi::ObjectKind>(kind)) {
    case abi::ObjectKind::thread:
        a = rng.chance(50) ? abi::boot::kTaskSelector : typed(rng, kTask);
        b = rng.chance(80) ? rng.below(kMainPriority + 1) : edge_value(rng);
        break;
    case abi::ObjectKind::task: a = rng.chance(75) ? 1 + rng.below(64) : edge_value(rng); break;
    case abi::ObjectKind::factory:
        a = rng.chance(60) ? rng.below(64 * 1024) : rng.chance(50) ? rng.below(1024 * 1024) : edge_value(rng);
        break;
    case abi::ObjectKind::io_ports:
        a = rng.chance(70) ? kIoPorts : selector(rng);
        b = rng.chance(70) ? rng.below(0x10000) | (rng.below(64) << 16) : edge_value(rng);
        break;
    default: break;
    }
    SlotWatch watch(slot);
    Error e = sys(static_cast<uint64_t>(Syscall::factory_create), factory, kind, slot, a, b);
    if (e == Error::slot_occupied)
        expect(slot < kMaxSelector && !watch.before, "slot_occupied for an empty slot", slot);
    watch.after(e == Error::ok, "factory_create succeeded on an occupied slot");
    if (e == Error::ok)
        remember(kind, slot);
}

// A thread started at the stub (or an address that faults): in our own task, or in another
// one, whose page faults the helper answers (kForeignPager) by mapping it the stub's code.
void op_spawn()
{
    Selector slot = kHotFirst + rng.below(kHotEnd - kHotFirst);
    Selector factory = rng.chance(85) ? kFuzzFactory : factory_selector(rng);
    bool foreign = rng.chance(30);
    Selector task = !foreign                          ? abi::boot::kTaskSelector
                    : regression(3) && rng.chance(50) ? typed(rng, kTask)
                                                      : kForeignTasks + rng.below(kForeignTaskCount);
    Error e = sys(static_cast<uint64_t>(Syscall::factory_create), factory,
                  static_cast<uint64_t>(abi::ObjectKind::thread), slot, task, rng.below(kMainPriority + 1));
    if (e != Error::ok)
        return;
    remember(kThread, slot);
    auto control = static_cast<uint64_t>(Syscall::thread_control);
    auto handler = static_cast<uint64_t>(abi::ThreadOp::set_exception_handler);
    auto pager = static_cast<uint64_t>(abi::ThreadOp::set_pager);
    if (foreign) {
        sys(control, slot, pager, kForeignPager);
        if (rng.chance(50))
            sys(control, slot, handler, kForeignPager);
    } else {
        if (rng.chance(30))
            sys(control, slot, handler, rng.chance(50) ? kRendezvous : typed(rng, kEndpoint));
        if (rng.chance(15))
            sys(control, slot, pager, kRendezvous);
    }
    uint64_t ip = rng.chance(85) ? reinterpret_cast<uint64_t>(fz_stub) : safe_ip(rng);
    sys(control, slot, static_cast<uint64_t>(abi::ThreadOp::start), ip, any_address(rng));
}

void op_thread_control()
{
    using abi::ThreadOp;
    static const uint64_t bad_ops[] = {64, 255, 1ull << 32, ~0ull};
    Selector t = typed(rng, kThread);
    uint64_t op = rng.chance(92)   ? rng.below(static_cast<uint64_t>(ThreadOp::write_fpu) + 1)
                  : rng.chance(50) ? static_cast<uint64_t>(ThreadOp::force_exception)
                                   : pick(rng, bad_ops);
    uint64_t a = edge_value(rng), b = any_address(rng), c = rng.next();
    switch (static_cast<ThreadOp>(op)) {
    case ThreadOp::start: a = safe_ip(rng); break;
    case ThreadOp::set_priority: a = rng.chance(70) ? rng.below(kMainPriority + 1) : edge_value(rng); break;
    case ThreadOp::set_exception_handler:
    case ThreadOp::set_pager: a = typed(rng, kEndpoint); break;
    case ThreadOp::set_fs_base: a = any_address(rng); break;
    case ThreadOp::set_foreign_abi: a = rng.chance(70) ? rng.below(3) : edge_value(rng); break;
    case ThreadOp::write_registers:
        for (uint64_t i = 0; i < abi::kExceptionWords; ++i)
            l4::utcb()->mr[i] = rng.chance(50) ? any_address(rng) : rng.next();
        sanitize_registers(rng, *l4::utcb());
        break;
    case ThreadOp::set_time_slice: a = rng.chance(70) ? rng.below(1002) : edge_value(rng); break;
    case ThreadOp::write_fpu: random_fpu_image(rng, *l4::utcb()); break;
    default: break;
    }
    // Operations that would stop, slow down or redirect the fuzzer itself: not on itself
    // (read_registers tells: busy only for the caller). A random FPU image could leave it
    // with unmasked SSE exceptions pending; a forced exception would end a wait of its own.
    bool risky =
        op == static_cast<uint64_t>(ThreadOp::suspend) || op == static_cast<uint64_t>(ThreadOp::set_priority) ||
        op == static_cast<uint64_t>(ThreadOp::set_exception_handler) ||
        op == static_cast<uint64_t>(ThreadOp::set_pager) || op == static_cast<uint64_t>(ThreadOp::set_fs_base) ||
        op == static_cast<uint64_t>(ThreadOp::set_foreign_abi) || op == static_cast<uint64_t>(ThreadOp::write_fpu) ||
        op == static_cast<uint64_t>(ThreadOp::force_exception);
    if (risky) {
        ++stats.probes;
        if (l4::thread_control(t, ThreadOp::read_registers) == Error::busy) {
            ++stats.skipped;
            return;
        }
    }
    sys(static_cast<uint64_t>(Syscall::thread_control), t, op, a, b, c);
}

void op_irq_control()
{
    Selector irq = rng.chance(60) ? kIrqBase + rng.below(abi::boot::kIrqLines) : selector(rng);
    uint64_t op = rng.chance(85) ? rng.below(2) : edge_value(rng);
    sys(static_cast<uint64_t>(Syscall::irq_control), irq, op, typed(rng, kNotification));
}

void op_ioport_enable()
{
    sys(static_cast<uint64_t>(Syscall::ioport_enable), rng.chance(50) ? kIoPorts : selector(rng));
}

void op_memory_unmap()
{
    static const uint64_t flags[] = {0, 0, 0, 1, 1, 2, 3, ~0ull};
    uint64_t self = pick(rng, flags);
    // Our own mappings go only in scratch memory (the kernel must refuse the rest).
    Flexpage page = flexpage(rng, self != 0);
    bool malformed = self > 1 || refused(page, kMaxUnmapOrder);
    sys(static_cast<uint64_t>(Syscall::memory_unmap), page.raw, self, 0, 0, 0,
        bit(malformed ? Error::invalid_argument : Error::ok));
}

// memory_map_to and memory_unmap_in: aimed at a foreign task (exact verdicts; what it accepts
// lands in D, where nobody looks), at our own task (refused), or through any selector. The pages
// are ours from anywhere: they are only mapped, never taken from us.
Selector aimed_task(bool& known)
{
    uint64_t k = rng.below(100);
    known = k < 60;
    return k < 50   ? kForeignTasks + rng.below(kForeignTaskCount)
           : k < 60 ? abi::boot::kTaskSelector
                    : typed(rng, kTask);
}

uint64_t memory_flags() { return rng.chance(85) ? 0 : edge_value(rng); }

void op_memory_map_to()
{
    bool known = false;
    Selector task = aimed_task(known);
    Flexpage page = rng.chance(10) ? Flexpage{rng.next()} : flexpage(rng, false);
    uint64_t destination = map_destination(rng, page);
    uint64_t flags = memory_flags();
    uint32_t allow = allowed(static_cast<uint64_t>(Syscall::memory_map_to));
    if (known && task == abi::boot::kTaskSelector) {
        allow = bit(Error::invalid_argument);
    } else if (known) {
        Error verdict = map_to_verdict(page, destination, flags);
        allow = verdict == Error::ok ? bit(Error::ok) | bit(Error::quota_exhausted) : bit(verdict);
    } else if (destination >= kScratchD + kScratchSize || destination < kScratchD) {
        allow &= ~bit(Error::ok) & ~bit(Error::quota_exhausted); // outside D: must be refused
    }
    sys(static_cast<uint64_t>(Syscall::memory_map_to), task, page.raw, destination, flags, 0, allow);
}

void op_memory_unmap_in()
{
    bool known = false;
    Selector task = aimed_task(known);
    Flexpage page = unmap_in_page(rng); // a foreign task's code stays

    uint64_t flags = memory_flags();
    uint32_t allow = allowed(static_cast<uint64_t>(Syscall::memory_unmap_in));
    if (known)
        allow = bit(task == abi::boot::kTaskSelector || flags != 0 || refused(page, kMaxUnmapOrder)
                        ? Error::invalid_argument
                        : Error::ok);
    sys(static_cast<uint64_t>(Syscall::memory_unmap_in), task, page.raw, flags, 0, 0, allow);
}

void op_out_of_range()
{
    static const uint64_t numbers[] = {kSyscalls, kSyscalls + 1, 63, 64, 255, 256, 1ull << 32, 1ull << 63, ~0ull};
    uint64_t number = rng.chance(80) ? pick(rng, numbers) : rng.next() | (uint64_t{1} << 40);
    sys(number, rng.next(), rng.next(), rng.next(), rng.next(), rng.next());
}

// sigma0's window maps back on a touch, whatever happened to the page (unmapped, granted).
// An unmap may also have left it read-only (taking write only): before a write, it goes
// wholly, and the write maps it back read-write.
void op_touch()
{
    uint64_t address = scratch_s + (rng.below(kScratchSize) & ~uint64_t{7});
    auto* word = reinterpret_cast<volatile uint64_t*>(address);
    if (rng.chance(50)) {
        sys(static_cast<uint64_t>(Syscall::memory_unmap), Flexpage::make(address, 12, abi::page_rights::all).raw, 1, 0,
            0, 0, bit(Error::ok));
        *word = rng.next();
    } else {
        (void)*word;
    }
    ++stats.touches;
}

// A long wait on kRescue that only the rescuer ends (after `delay` ticks): a timeout of 2^40
// ticks or more (or kTimeoutNever) must not expire first.
void op_long_wait()
{
    static const uint64_t timeouts[] = {abi::kTimeoutNever, 1ull << 40, 1ull << 62, 1ull << 63};
    // Known bug 1: a timeout that wraps the tick counter (within 2^20 ticks of 2^64) expires
    // at once.
    static const uint64_t wrapping[] = {abi::kTimeoutNever - 1, abi::kTimeoutNever - 2, abi::kTimeoutNever - 1000};
    uint64_t timeout = regression(1) && rng.chance(50) ? pick(rng, wrapping) : pick(rng, timeouts);
    auto what = static_cast<Wait>(rng.below(3));
    static const Syscall numbers[] = {Syscall::ipc_receive, Syscall::ipc_send, Syscall::ipc_call};
    l4::Message m;
    m.tag = abi::MessageTag::make(3, 1);
    abi::Utcb& u = *l4::utcb();
    u.receive_slot = abi::kNoReceiveSlot;
    u.receive_window = 0;
    expect_rescue(what, 1 + rng.below(3));
    ipc(numbers[static_cast<uint64_t>(what)], kRescue, m, timeout, bit(Error::ok));
    rescue_done();
    ++stats.rescues;
}

// Regression checks of the kernel bugs this fuzzer found (fixed; bug=N runs only number N) ------
//
// kernel/ipc.cpp block() computed deadline = ticks + timeout, unchecked. Bug 1: a timeout that wraps
// (ticks + timeout >= 2^64, e.g. kTimeoutNever - 1) expires at the next tick instead of never.
// Bug 2: when the sum is exactly 0, clear_deadline() takes the deadline for "none" and leaves
// the thread on the timeout list: every later tick wakes it with `timeout`, whatever it waits
// for (a kTimeoutNever wait times out; a ready thread is queued twice: panic), and its next
// wait with a timeout links it into the list a second time.

// A wait on kRescue with timeout 2^64 - k that the rescuer ends after `delay` ticks; true if
// it timed out instead (the deadline ticks - k had passed: k <= ticks).
bool wrapped_wait(uint64_t k, uint64_t delay)
{
    expect_rescue(Wait::receive, delay);
    l4::Message m;
    Error e = l4::receive(kRescue, m, 0 - k);
    rescue_done();
    return e == Error::timeout;
}

// Bug 1 at once: kTimeoutNever - 1 must not expire before the rescuer comes (3 ticks).
void show_bug_1()
{
    l4::Message m;
    (void)l4::receive(kSleep, m, 4); // ticks >= 4: ticks - 2 is no 0 (that is bug 2)
    bool wrapped = wrapped_wait(2, 3);
    l4::println("fuzz: bug 1: ipc_receive with timeout 2^64 - 2 {}", wrapped ? "timed out after a tick" : "waited");
    expect(!wrapped, "bug 1: a timeout of 2^64 - 2 ticks expired at once");
}

[[noreturn]] void spin()
{
    for (;;)
        asm volatile("");
}

// Bug 2: find the tick count (a timed-out wait returns on the tick after the call, a rescued
// one `kDelay` ticks after it, so the count stays known), then wait with 2^64 - ticks. What
// follows: another wait with a timeout (the kernel hangs), or, with `ready_at_tick`, the
// thread is in the run queue when the next tick wakes it again (the kernel panics).
void show_bug_2(bool ready_at_tick)
{
    constexpr uint64_t kDelay = 2, kFirst = 4;
    l4::Message m;
    (void)l4::receive(kSleep, m, kFirst); // on a tick boundary: ticks = t0 >= kFirst
    uint64_t elapsed = 0;
    // (guess + elapsed >= 2: 2^64 - 1 would be kTimeoutNever.)
    auto at_most_t0 = [&](uint64_t guess) {
        bool out = wrapped_wait(guess + elapsed, kDelay);
        elapsed += out ? 1 : kDelay;
        return out;
    };
    uint64_t lo = kFirst, hi = 2 * kFirst; // guess <= t0 for lo, not for hi
    while (at_most_t0(hi)) {
        lo = hi;
        hi *= 2;
    }
    while (hi - lo > 1) {
        uint64_t mid = lo + (hi - lo) / 2;
        (at_most_t0(mid) ? lo : hi) = mid;
    }
    uint64_t ticks = lo + elapsed;
    l4::println("fuzz: bug 2: ticks now {}: ipc_receive with timeout 2^64 - {} (deadline 0)", ticks, ticks);
    bool out = wrapped_wait(ticks, kDelay);
    l4::println("fuzz: bug 2: that wait {}; now ipc_receive with kTimeoutNever, answered after 3 ticks",
                out ? "timed out" : "was answered");
    expect_rescue(Wait::receive, 3);
    Error e = l4::receive(kRescue, m, abi::kTimeoutNever);
    rescue_done();
    l4::println("fuzz: bug 2: the kTimeoutNever wait returned {}", error_name(static_cast<uint64_t>(e)));
    expect(e == Error::ok, "bug 2: a wait without timeout timed out", static_cast<uint64_t>(e));
    if (ready_at_tick) {
        l4::println("fuzz: bug 2: now yielding to a thread of our priority that spins through the next tick");
        expect(kt::spawn_thread(kHotFirst, spin, kMainPriority) == Error::ok, "bug 2: spinner");
        l4::yield();
        l4::println("fuzz: bug 2: back from the yield");
        (void)kt::release_slot(kHotFirst);
        return;
    }
    l4::println("fuzz: bug 2: now a 5-tick sleep (the thread joins the timeout list again)");
    Error sleep = l4::receive(kSleep, m, 5);
    l4::println("fuzz: bug 2: the sleep returned {}", error_name(static_cast<uint64_t>(sleep)));
}

// Bug 3 (and 4): a mapping the kernel records but cannot install outlives its task. vm.cpp
// move_chunk() charges the receiving task's factory for a database node and makes the node,
// then install() fails: when the page tables cannot be charged (bug 3) or at the last user
// page, which install_user_page() refuses (bug 4). The node stays; release_space() walks the
// page tables, so when the task dies the node (and its 48 bytes of quota) is never given back,
// and it keeps the dead task's space number, which the next task inherits.
// Here: a task in its own factory, its thread's page fault answered by a map item.
void show_bug_3(bool last_page)
{
    const Selector factory = kHotFirst, task = kHotFirst + 1, thread = kHotFirst + 2, pager = kHotFirst + 3,
                   filler = kHotFirst + 4;
    constexpr uint64_t kFault = 0x10000, kLeft = 100;
    using K = abi::ObjectKind;
    bool ok = expect(l4::factory_create(kFuzzFactory, K::factory, factory, 256 * 1024) == Error::ok, "bug 3: factory");
    uint64_t before = available(factory);
    ok = ok && expect(l4::factory_create(factory, K::task, task, 4) == Error::ok, "bug 3: task") &&
         expect(l4::factory_create(factory, K::thread, thread, task, kMainPriority) == Error::ok, "bug 3: thread") &&
         expect(kt::make(pager, K::endpoint) == Error::ok, "bug 3: endpoint") &&
         expect(l4::thread_control(thread, abi::ThreadOp::set_pager, pager) == Error::ok, "bug 3: pager");
    // Bug 3: leave the factory kLeft bytes: a node (48) fits, a page table (4096) does not.
    if (ok && !last_page)
        ok = expect(l4::factory_create(factory, K::factory, filler, available(factory) - kLeft) == Error::ok,
                    "bug 3: filler");
    ok = ok && expect(l4::thread_start(thread, kFault, 0) == Error::ok, "bug 3: start");
    l4::Message m;
    ok = ok && expect(kt::receive_polled(pager, m) == Error::ok && m.tag.label() == abi::label::page_fault,
                      "bug 3: the page fault");
    // One page of S, to kFault, or to the last user page.
    uint64_t target = last_page ? abi::kLastUserPage : kFault;
    l4::utcb()->send_pages[0] = {Flexpage::make(scratch_s, 12, abi::page_rights::all).raw, target, 0};
    m = l4::Message{};
    m.tag = abi::MessageTag::make(0, 0, 0, 1);
    // Bug 3: the page tables cannot be paid for, so the reply fails (quota_exhausted) and the
    // thread still waits for it. Bug 4: the reply succeeds and the thread faults again
    // (nothing was installed at kFault). Refused, it is stopped.
    ok = ok && expect(l4::reply(m) == (last_page ? Error::ok : Error::quota_exhausted), "bug 3: the pager's reply");
    if (last_page)
        ok = ok && expect(kt::receive_polled(pager, m) == Error::ok && m.tag.label() == abi::label::page_fault,
                          "bug 3: the second page fault");
    m = l4::Message{};
    m.tag = abi::MessageTag::make(7, 0);
    ok = ok && expect(l4::reply(m) == Error::ok, "bug 3: the refusal");
    const Selector made[] = {thread, task, filler, pager};
    for (Selector s : made)
        (void)l4::cap_delete(s);
    kt::yield_times(2);
    uint64_t after = available(factory);
    l4::println("fuzz: bug {}: a page mapped {}: the task's factory has {} bytes free after the task died, {} before "
                "it was made",
                last_page ? 4 : 3, last_page ? "to the last user page" : "with no quota left for page tables", after,
                before);
    expect(!ok || after == before, "bug 3/4: a dead task's mapping kept its quota", before - after);
    // The next task takes the dead one's space number, and the node with it: unmapping our page
    // (the node's parent) refunds the new task's factory for a node it never paid for.
    const Selector factory2 = kHotFirst + 5, task2 = kHotFirst + 6;
    if (ok &&
        expect(l4::factory_create(kFuzzFactory, K::factory, factory2, 64 * 1024) == Error::ok, "bug 3: factory") &&
        expect(l4::factory_create(factory2, K::task, task2, 4) == Error::ok, "bug 3: second task")) {
        uint64_t free2 = available(factory2);
        (void)kt::mem::memory_unmap(Flexpage::make(scratch_s, 12, abi::page_rights::all), 0);
        uint64_t free2_after = available(factory2);
        l4::println("fuzz: bug {}: a new task's factory: {} bytes free, {} after we unmapped our page (the new task "
                    "holds nothing of it)",
                    last_page ? 4 : 3, free2, free2_after);
        expect(free2_after == free2, "bug 3/4: a new task inherited a dead task's mapping", free2_after - free2);
    }
    const Selector rest[] = {task2, factory2, factory};
    for (Selector s : rest)
        (void)l4::cap_delete(s);
}

// Class 1 of the hostile ops: one of the ops above whose calls all run with random flags set by
// popf (NT, AC, DF, RF, IOPL, ID, arithmetic; TF only on a thread with a handler:
// op_trap_syscall). Every result is checked as usual, and the flags after each call.
void op_flags()
{
    static void (*const ops[])() = {
        op_debug_write,
        [] { sys(static_cast<uint64_t>(Syscall::yield)); },
        [] { op_ipc(Syscall::ipc_call); },
        [] { op_ipc(Syscall::ipc_send); },
        [] { op_ipc(Syscall::ipc_receive); },
        [] { op_ipc(Syscall::ipc_reply_wait); },
        [] { op_ipc(Syscall::ipc_reply); },
        op_notify_signal,
        op_cap_copy,
        op_cap_copy_to,
        [] { op_cap_delete(false); },
        [] { op_cap_delete(true); },
        op_factory_create,
        op_spawn,
        op_thread_control,
        op_irq_control,
        op_ioport_enable,
        op_memory_unmap,
        op_memory_map_to,
        op_memory_unmap_in,
        op_reply_save,
        op_reply_to,
        op_bind_notification,
        op_out_of_range,
    };
    call_flags = random_flags(rng, false);
    ops[rng.below(sizeof ops / sizeof ops[0])]();
    call_flags = 0;
}

// The costly hostile ops (chains of hundreds or thousands of objects): one in kRareEvery of
// their turns.
void op_rare()
{
    constexpr uint64_t kRareEvery = 8;
    if (!rng.chance(100 / kRareEvery)) {
        ++stats.skipped;
        return;
    }
    static void (*const ops[])() = {op_chain_tasks, op_chain_factories, op_chain_caps, op_chain_mappings};
    ops[rng.below(sizeof ops / sizeof ops[0])]();
}

// One random operation, weighted.
void one_op()
{
    struct Weighted {
        void (*run)();
        uint32_t weight;
    };
    // (Long waits are rare: without -icount each costs real ticks.)
    static const Weighted ops[] = {
        {op_debug_write, 9},
        {[] { sys(static_cast<uint64_t>(Syscall::yield)); }, 6},
        {[] { op_ipc(Syscall::ipc_call); }, 18},
        {[] { op_ipc(Syscall::ipc_send); }, 18},
        {[] { op_ipc(Syscall::ipc_receive); }, 18},
        {[] { op_ipc(Syscall::ipc_reply_wait); }, 15},
        {[] { op_ipc(Syscall::ipc_reply); }, 12},
        {op_notify_signal, 15},
        {op_notify_wait, 9},
        {op_notify_poll, 12},
        {op_cap_copy, 27},
        {op_cap_copy_to, 9},
        {[] { op_cap_delete(false); }, 15},
        {[] { op_cap_delete(true); }, 9},
        {op_factory_create, 30},
        {op_spawn, 9},
        {op_thread_control, 30},
        {op_irq_control, 9},
        {op_ioport_enable, 6},
        {op_memory_unmap, 18},
        {op_memory_map_to, 12},
        {op_memory_unmap_in, 9},
        {op_reply_to, 9},
        {op_reply_save, 3},
        {op_bind_notification, 6},
        {op_out_of_range, 9},
        {op_touch, 3},
        {op_long_wait, 1},
        {[] { ++stats.skipped; }, 3}, // thread_exit: never on ourselves
        // The hostile classes (fuzz_hostile.cpp).
        {op_flags, 12},
        {op_trap_syscall, 3},
        {op_far_transfer, 3},
        {op_write_blocked, 3},
        {op_rare, 1},
    };
    uint32_t total = 0;
    for (const Weighted& op : ops)
        total += op.weight;
    uint64_t k = rng.below(total);
    for (const Weighted& op : ops) {
        if (k < op.weight) {
            op.run();
            return;
        }
        k -= op.weight;
    }
}

// Liveness and sweeps ------------------------------------------------------------------------

// The kernel still works: objects of our own, exact answers.
bool check_alive()
{
    const Selector ep = kCheckFirst, note = kCheckFirst + 1, copy = kCheckFirst + 2;
    bool ok =
        expect(l4::factory_create(kCheckFactory, abi::ObjectKind::endpoint, ep) == Error::ok, "liveness: endpoint") &
        expect(l4::factory_create(kCheckFactory, abi::ObjectKind::notification, note) == Error::ok,
               "liveness: notification");
    uint64_t bits = rng.next() | 1, got = 0;
    ok &= expect(l4::notify_signal(note, bits) == Error::ok, "liveness: signal");
    ok &= expect(l4::notify_poll(note, got) == Error::ok && got == bits, "liveness: poll", got);
    ok &= expect(l4::notify_poll(note, got) == Error::ok && got == 0, "liveness: second poll", got);
    ok &= expect(l4::cap_copy(note, copy, abi::rights::all, 0x8000) == Error::ok, "liveness: badged copy");
    ok &= expect(l4::notify_signal(copy, 1) == Error::ok, "liveness: signal through the copy");
    ok &= expect(l4::notify_poll(note, got) == Error::ok && got == 0x8001, "liveness: badge bits", got);
    l4::Message m;
    ok &= expect(l4::send(ep, m, abi::kTimeoutZero) == Error::timeout, "liveness: send with no receiver");
    // A call the helper echoes: words in registers and in the UTCB.
    constexpr uint64_t kWords = 10;
    m.tag = abi::MessageTag::make(kEchoLabel, kWords);
    uint64_t sent[kWords];
    for (uint64_t i = 0; i < kWords; ++i)
        sent[i] = rng.next();
    for (uint64_t i = 0; i < kWords; ++i)
        (i < abi::kRegisterWords ? m.words[i] : l4::utcb()->mr[i]) = sent[i];
    abi::Utcb& u = *l4::utcb();
    u.receive_slot = abi::kNoReceiveSlot;
    u.receive_window = 0;
    Error e = l4::call(kRendezvous, m, 100);
    ok &= expect(e == Error::ok && m.tag.label() == kEchoLabel + 1 && m.tag.words() == kWords, "liveness: echo call",
                 static_cast<uint64_t>(e));
    for (uint64_t i = 0; i < kWords; ++i)
        ok &= expect((i < abi::kRegisterWords ? m.words[i] : u.mr[i]) == sent[i], "liveness: echoed word", i);
    ok &= expect(l4::cap_delete(copy) == Error::ok && l4::cap_delete(note) == Error::ok &&
                     l4::cap_delete(ep) == Error::ok,
                 "liveness: delete");
    ok &= expect(l4::cap_delete(ep) == Error::invalid_selector, "liveness: deleted slot is empty");
    uint64_t quota = available(kCheckFactory);
    ok &= expect(quota == check_quota0, "liveness: the check's factory did not get its quota back", quota);
    alive = ok;
    return ok;
}

// Empties the pool (revoke, then delete), restores the device capabilities from their
// backups, takes the IRQ lines back, unmaps the scratch memory; then the fuzzer's factory must
// have its whole quota again.
void sweep()
{
    auto each_pool_slot = [](auto&& f) {
        for (Selector s = kPoolLow; s < kMaxSelector; ++s)
            if (in_pool(s))
                f(s);
    };
    each_pool_slot([](Selector s) {
        Error e = l4::cap_revoke(s);
        expect(e == Error::ok || e == Error::invalid_selector, "sweep: revoke", s);
    });
    each_pool_slot([](Selector s) {
        Error e = l4::cap_delete(s);
        expect(e == Error::ok || e == Error::invalid_selector, "sweep: delete", s);
    });
    for (uint64_t line = 0; line < abi::boot::kIrqLines; ++line) {
        if (line == kCascadeLine)
            continue;
        expect(l4::cap_copy(kBackupBase + line, kIrqBase + line) == Error::ok, "sweep: restore an IRQ line", line);
        expect(l4::raw_syscall(static_cast<uint64_t>(Syscall::irq_control), kBackupBase + line,
                               static_cast<uint64_t>(abi::IrqOp::bind), kIrqSink) == Error::ok,
               "sweep: bind an IRQ line to the sink", line);
    }
    expect(l4::cap_copy(kBackupBase + 16, kIoPorts) == Error::ok, "sweep: restore the I/O ports");
    const uint64_t scratch[] = {scratch_s, kScratchD};
    for (uint64_t base : scratch)
        expect(kt::mem::memory_unmap(Flexpage::make(base, kScratchOrder, abi::page_rights::all), 1) == Error::ok,
               "sweep: unmap scratch memory", base);
    // What others got of our image (the stub's page in the foreign tasks, map items).
    expect(kt::mem::memory_unmap(Flexpage::make(kImage, kImageOrder, abi::page_rights::all), 0) == Error::ok,
           "sweep: unmap what was derived from our image");
    // What memory_map_to put in the foreign tasks' D from anywhere else of ours: gone after one
    // memory_unmap_in, so a second finds nothing.
    for (uint64_t i = 0; i < kForeignTaskCount; ++i) {
        uint64_t affected = ~uint64_t{0};
        Flexpage d = Flexpage::make(kScratchD, kScratchOrder, abi::page_rights::all);
        expect(l4::memory_unmap_in(kForeignTasks + i, d, affected) == Error::ok, "sweep: unmap_in a foreign D", i);
        expect(l4::memory_unmap_in(kForeignTasks + i, d, affected) == Error::ok && affected == 0,
               "sweep: a foreign D kept pages after memory_unmap_in", affected);
    }
    kt::yield_times(4); // threads that were exiting are reaped
    uint64_t quota = available(kFuzzFactory);
    expect(quota == fuzz_quota0, "sweep: the fuzz factory did not get its whole quota back", fuzz_quota0 - quota);
    l4::println("fuzz: sweep at {}: fuzz factory {} bytes free (of {}), boot factory {}", iteration, quota, fuzz_quota0,
                available(abi::boot::kFactorySelector));
}

// Options from our boot module's command line ("fuzz seed=1234 ...").
void parse_options()
{
    const char* line = kt::boot_info().modules[0].cmdline;
    struct {
        const char* key;
        uint64_t* value;
    } keys[] = {{"seed=", &options.seed},
                {"iterations=", &options.iterations},
                {"sweep=", &options.sweep},
                {"trace=", &options.trace},
                {"bug=", &options.bug}};
    for (const char* p = line; *p != '\0'; ++p) {
        if (p != line && p[-1] != ' ')
            continue;
        for (auto& k : keys)
            if (strncmp(p, k.key, strlen(k.key)) == 0)
                *k.value = l4_strtoull(p + strlen(k.key), nullptr, 0);
    }
    if (options.sweep == 0)
        options.sweep = ~uint64_t{0};
}

// Reserved objects, device capability backups, peers; the quotas to compare with.
bool set_up()
{
    const abi::MemoryRegion* region = kt::mem::highest_free();
    if (region == nullptr || region->size < 2 * kScratchSize)
        return expect(false, "no free region for scratch memory");
    scratch_s = abi::kSigma0Window + ((region->base + region->size) & ~(kScratchSize - 1)) - kScratchSize;
    using K = abi::ObjectKind;
    const Selector boot = abi::boot::kFactorySelector;
    bool ok = l4::factory_create(boot, K::factory, kFuzzFactory, kFuzzQuota) == Error::ok &&
              l4::factory_create(boot, K::factory, kCheckFactory, kCheckQuota) == Error::ok;
    const Selector endpoints[] = {kRendezvous, kRescue, kSleep}, notifications[] = {kPulse, kIrqSink, kRescueNote};
    for (Selector s : endpoints)
        ok = ok && l4::factory_create(boot, K::endpoint, s) == Error::ok;
    for (Selector s : notifications)
        ok = ok && l4::factory_create(boot, K::notification, s) == Error::ok;
    // The device capabilities become copies of backups that are roots, so that no revoke of
    // them reaches the backups; the sweep restores them.
    for (uint64_t line = 0; line <= abi::boot::kIrqLines && ok; ++line) {
        if (line == kCascadeLine)
            continue;
        Selector original = line < abi::boot::kIrqLines ? kIrqBase + line : kIoPorts;
        ok = l4::cap_copy(original, kBackupBase + line) == Error::ok && l4::cap_delete(original) == Error::ok &&
             l4::cap_copy(kBackupBase + line, original) == Error::ok;
    }
    ok = ok && l4::cap_copy(kRendezvous, kForeignPager, abi::rights::all, kForeignBadge) == Error::ok &&
         l4::factory_create(boot, K::factory, kForeignFactory, kForeignQuota) == Error::ok;
    for (uint64_t i = 0; i < kForeignTaskCount; ++i)
        ok = ok && l4::factory_create(kForeignFactory, K::task, kForeignTasks + i, 64) == Error::ok;
    ok = ok && start_peers(options.seed) && set_up_hostile();
    if (!expect(ok, "set-up failed"))
        return false;
    fuzz_quota0 = available(kFuzzFactory);
    check_quota0 = available(kCheckFactory);
    boot_quota0 = available(boot);
    return true;
}

void print_histogram()
{
    for (uint64_t row = 0; row < kRows; ++row) {
        uint64_t total = 0;
        for (uint64_t col = 0; col <= kErrors; ++col)
            total += stats.counts[row][col];
        if (total == 0)
            continue;
        char line[600];
        size_t used = l4::format_to(line, sizeof line, "fuzz:   {:<15} {:>6}:", kSyscallNames[row], total);
        for (uint64_t col = 0; col <= kErrors && used < sizeof line; ++col)
            if (stats.counts[row][col] != 0)
                used +=
                    l4::format_to(line + used, sizeof line - used, " {} {}", error_name(col), stats.counts[row][col]);
        l4::println("{}", line);
    }
}

} // namespace

namespace fz {

Error checked(uint64_t number, uint64_t rdi, uint64_t rsi, uint64_t rdx, uint64_t r10, uint64_t r8, uint32_t allow)
{
    return sys(number, rdi, rsi, rdx, r10, r8, allow);
}

Error record_call(uint64_t number, uint64_t rdi, uint64_t rsi, uint64_t rdx, uint64_t r10, uint64_t r8, uint64_t result,
                  uint32_t allow)
{
    return record({0, number, rdi, rsi, rdx, r10, r8, result}, allow ? allow : allowed(number));
}

bool check(bool holds, const char* what, uint64_t value) { return expect(holds, what, value); }
bool slot_empty(Selector s) { return empty(s); }
uint64_t quota_of(Selector factory) { return available(factory); }
Rng& fuzz_rng() { return rng; }
void count_skipped() { ++stats.skipped; }

} // namespace fz

KTEST(fuzz_syscalls)
{
    parse_options();
    known_bug = options.bug;
    rng.state = options.seed != 0 ? options.seed : 1;
    l4::println("fuzz: seed {} ({} iterations, sweep every {}, bug {})", options.seed, options.iterations,
                options.sweep, options.bug);
    if (!set_up())
        return;
    l4::println("fuzz: scratch S {:#x}, D {:#x}; quotas: fuzz {}, check {}, boot {}", scratch_s, kScratchD, fuzz_quota0,
                check_quota0, boot_quota0);
    if (regression(1))
        show_bug_1();
    if (regression(2))
        show_bug_2(false);
    if (regression(5))
        show_bug_2(true);
    if (regression(3))
        show_bug_3(false);
    if (regression(4))
        show_bug_3(true);
    for (iteration = 0; iteration < options.iterations; ++iteration) {
        if (iteration % 1000 == 0)
            check_alive();
        if (iteration != 0 && iteration % options.sweep == 0)
            sweep();
        if (iteration != 0 && iteration % 10000 == 0)
            l4::println("fuzz: {} iterations, {} calls, {} unexpected", iteration, stats.calls,
                        stats.unexpected + peer_unexpected());
        one_op();
    }
    sweep();
    check_alive();
    stop_peers();
    uint64_t boot_quota = available(abi::boot::kFactorySelector);
    l4::println("fuzz: histogram (calls: errors)");
    print_histogram();
    l4::println("fuzz: {} probe calls, {} skipped, {} touches, {} long waits, {} messages to the helper ({} stub "
                "pages mapped into other tasks)",
                stats.probes, stats.skipped, stats.touches, stats.rescues, helper_messages(), stubs_mapped());
    print_hostile();
    l4::println("fuzz: boot factory {} bytes free at the end, {} at the start", boot_quota, boot_quota0);
    uint64_t total_unexpected = stats.unexpected + peer_unexpected();
    l4::println("fuzz: {} calls, {} unexpected, kernel {}", stats.calls, total_unexpected,
                alive ? "alive" : "NOT alive");
    KEXPECT_EQ(total_unexpected, 0);
    KEXPECT_EQ(alive, true);
}
