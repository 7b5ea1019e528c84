// The fuzzer's own threads (fuzz.hpp): the stub that random threads run, the helper that
// answers messages on kRendezvous, and the rescuer that ends the fuzzer's long waits.
#include "fuzz.hpp"

#include "l4/abi/address_space.hpp"
#include "l4/format.hpp"

namespace fz {

// The stub: no stack, every register it uses set before each call (a thread may arrive here
// with any registers, through write_registers or an exception reply).
static_assert(kPulse == 52 && kRendezvous == 50 && kStubLabel == 0xf00d);
asm(R"(
    .text
    .globl fz_stub
fz_stub:
    mov $2, %eax            # yield
    syscall
    mov $8, %eax            # notify_signal(kPulse, 1)
    mov $52, %edi
    mov $1, %esi
    syscall
    mov $4, %eax            # ipc_send(kRendezvous, label kStubLabel, timeout 2 ticks)
    mov $50, %edi
    mov $0xf00d0000, %esi
    mov $2, %edx
    syscall
    mov $2, %eax            # yield
    syscall
    mov $1, %eax            # thread_exit
    syscall
    ud2
)");

namespace {

Rng helper_rng;
volatile uint64_t messages;
volatile uint64_t mapped;
volatile uint64_t unexpected;

// A result a peer did not expect: reported (the first few) and counted.
void report(const char* who, const char* what, uint64_t value)
{
    unexpected = unexpected + 1;
    if (unexpected <= 10)
        l4::println("fuzz: UNEXPECTED {}: {} ({:#x})", who, what, value);
}

// What arrived must be what the tag says (and within the limits).
void check_received(const char* who, const l4::Message& m, const abi::Utcb& utcb)
{
    if (m.tag.words() > abi::kMessageWords || m.tag.caps() != utcb.received_caps ||
        utcb.received_caps > abi::kMaxTypedItems || m.tag.pages() > abi::kMaxMapItems ||
        utcb.received_pages > abi::kMaxMapItems * 1024)
        report(who, "received tag does not match the transfer", m.tag.raw);
}

// Answers a caller with random content; when the kernel refuses the reply (or the faulting
// task cannot pay for a page-fault reply), with a plain one (whose label leaves an exception
// or page-fault sender stopped), so no caller waits forever.
void answer(Rng& rng, abi::Utcb& utcb, const l4::Message& received)
{
    l4::Message r;
    random_message(rng, r, utcb);
    if (!may_map_into(received.tag.label(), received.badge))
        r.tag = abi::MessageTag::make(r.tag.label(), r.tag.words(), r.tag.caps());
    bool malformed = tag_refused(r.tag.raw, utcb);
    Error e = l4::reply(r);
    if (e == Error::ok && malformed)
        report("helper", "a malformed reply was accepted", r.tag.raw);
    if (e == Error::invalid_argument && !malformed)
        report("helper", "a well-formed reply was refused", r.tag.raw);
    // quota_exhausted: a page-fault reply the faulting task cannot pay for (still ours).
    if (e != Error::ok && e != Error::invalid_argument && e != Error::invalid_selector && e != Error::quota_exhausted)
        report("helper", "reply failed", static_cast<uint64_t>(e));
    if (e == Error::invalid_argument || e == Error::quota_exhausted) {
        l4::Message plain;
        plain.tag = abi::MessageTag::make(7, 0);
        e = l4::reply(plain);
        if (e != Error::ok && e != Error::invalid_selector)
            report("helper", "plain reply failed", static_cast<uint64_t>(e));
    }
}

// A page fault of a thread in another task (through kForeignPager) at the stub's code: the
// page is mapped there, read and execute, at the same address, so that the thread runs the
// stub in its own address space (and capability space). Any other fault: a random answer.
bool map_stub(const l4::Message& m)
{
    uint64_t address = m.words[0] & ~(abi::kPageSize - 1);
    auto stub = reinterpret_cast<uint64_t>(fz_stub) & ~(abi::kPageSize - 1);
    if (m.badge != kForeignBadge || m.tag.label() != abi::label::page_fault ||
        (address != stub && address != stub + abi::kPageSize) || helper_rng.chance(15))
        return false;
    abi::Utcb& utcb = *l4::utcb();
    utcb.send_pages[0] = {abi::Flexpage::make(address, 12, abi::page_rights::read | abi::page_rights::execute).raw,
                          address, 0};
    l4::Message r;
    r.tag = abi::MessageTag::make(0, 0, 0, 1);
    Error e = l4::reply(r);
    if (e == Error::quota_exhausted) { // the foreign task's quota is spent: stop the thread
        r.tag = abi::MessageTag::make(7, 0);
        e = l4::reply(r);
    }
    if (e != Error::ok)
        report("helper", "mapping the stub for a foreign thread failed", static_cast<uint64_t>(e));
    mapped = mapped + 1;
    return true;
}

[[noreturn]] void helper_body()
{
    abi::Utcb& utcb = *l4::utcb();
    for (;;) {
        utcb.receive_slot = receive_slot(helper_rng);
        utcb.receive_window = receive_window(helper_rng);
        l4::Message m;
        Error e = l4::receive(kRendezvous, m);
        if (e != Error::ok) {
            report("helper", "receive failed", static_cast<uint64_t>(e));
            l4::yield();
            continue;
        }
        messages = messages + 1;
        check_received("helper", m, utcb);
        if (m.tag.label() == kEchoLabel) {
            m.tag = abi::MessageTag::make(kEchoLabel + 1, m.tag.words());
            e = l4::reply(m);
            if (e != Error::ok)
                report("helper", "echo reply failed", static_cast<uint64_t>(e));
            continue;
        }
        if (!map_stub(m))
            answer(helper_rng, utcb, m);
    }
}

// The rescuer's instructions: armed while the fuzzer waits on kRescue; `generation` tells a
// stale wake-up (from an earlier wait) from the current one.
struct Intent {
    volatile uint64_t armed;
    volatile uint64_t generation;
    Wait what;
    uint64_t delay;
};
Intent intent;

void rescue(Wait what)
{
    l4::Message m;
    m.tag = abi::MessageTag::make(1, 1);
    m.words[0] = intent.generation;
    constexpr uint64_t kTries = 100;
    Error e = Error::ok;
    if (what == Wait::receive) {
        e = kt::send_polled(kRescue, m, kTries);
    } else {
        e = kt::receive_polled(kRescue, m, kTries);
        if (e == Error::ok && what == Wait::call) {
            m.tag = abi::MessageTag::make(2, 1);
            e = l4::reply(m);
        }
    }
    if (e != Error::ok && intent.armed)
        report("rescuer", "could not reach the waiting fuzzer", static_cast<uint64_t>(e));
}

[[noreturn]] void rescuer_body()
{
    for (;;) {
        uint64_t bits = 0;
        Error e = l4::notify_wait(kRescueNote, bits);
        if (e != Error::ok)
            report("rescuer", "notify_wait failed", static_cast<uint64_t>(e));
        uint64_t generation = intent.generation;
        if (!intent.armed)
            continue;
        if (intent.delay > 0) {
            l4::Message m;
            e = l4::receive(kSleep, m, intent.delay);
            if (e != Error::timeout)
                report("rescuer", "sleeping on an endpoint nobody sends to did not time out", static_cast<uint64_t>(e));
        }
        // The fuzzer outranks us: while it is armed and we run, it is waiting on kRescue.
        if (intent.armed && intent.generation == generation)
            rescue(intent.what);
    }
}

} // namespace

bool start_peers(uint64_t seed)
{
    helper_rng.state = seed ^ 0x6a09e667f3bcc908;
    if (helper_rng.state == 0)
        helper_rng.state = 1;
    return kt::spawn_thread(kHelper, helper_body, kMainPriority) == Error::ok &&
           kt::spawn_thread(kRescuer, rescuer_body, kRescuerPriority) == Error::ok;
}

void stop_peers()
{
    (void)kt::release_slot(kHelper);
    (void)kt::release_slot(kRescuer);
}

uint64_t helper_messages() { return messages; }
uint64_t stubs_mapped() { return mapped; }
uint64_t peer_unexpected() { return unexpected; }

void expect_rescue(Wait what, uint64_t delay)
{
    intent.what = what;
    intent.delay = delay;
    intent.generation = intent.generation + 1;
    kt::set_flag(intent.armed, 1);
    (void)l4::notify_signal(kRescueNote, 1);
}

void rescue_done() { kt::set_flag(intent.armed, 0); }

} // namespace fz
