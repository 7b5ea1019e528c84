// Kernel micro-benchmarks. Each operation runs kRuns times; the median and the minimum of
// the TSC differences are printed, less the cost of an empty measurement. Under QEMU TCG
// with -icount shift=0 the TSC counts retired instructions, so the figures are instruction
// counts, identical on every run (scripts/bench).
#include "bench_stats.hpp"
#include "l4/abi/boot.hpp"
#include "l4/print.hpp"
#include "l4/syscall.hpp"

namespace {

namespace abi = l4::abi;
using l4::Error;
using l4::Selector;

constexpr uint64_t kRuns = 10000;
constexpr uint64_t kQuit = 0xdead;
constexpr Selector kFactory = abi::boot::kFactorySelector;
constexpr Selector kTask = abi::boot::kTaskSelector;
constexpr Selector kRemote = abi::boot::kSigma0EndpointSelector;
constexpr Selector kLocal = 20, kNotification = 21, kServerThread = 22, kPartnerThread = 23, kHandlerEndpoint = 24,
                   kVictimThread = 25, kPagerEndpoint = 26, kPagerThread = 27, kFaultThread = 28, kMapEndpoint = 29,
                   kMapThread = 30, kForeignThread = 31;
constexpr uint64_t kFaultArea = 0x0000100000000000; // fresh pages to fault on
constexpr uint64_t kMapTarget = 0x0000200000000000; // where the map server receives
constexpr uint64_t kSmallRuns = 1000;               // 2 MiB maps: fewer runs
constexpr uint64_t kPriority = 100;
constexpr uint64_t kStackSize = 16384;

alignas(16) uint8_t stacks[5][kStackSize];
alignas(4096) uint8_t pager_page[4096];
alignas(2 * 1024 * 1024) uint8_t big_region[2 * 1024 * 1024];
volatile uint64_t faulter_done;
uint64_t samples[kRuns];
uint64_t scratch[kRuns];
volatile uint64_t victim_done;
volatile uint64_t foreign_done;

using bench::tsc;

bench::Stats summarize(uint64_t n) { return bench::summarize(samples, scratch, n); }

uint64_t overhead;

void report(const char* name, uint64_t divisor = 1, uint64_t runs = kRuns)
{
    const bench::Stats s = summarize(runs);
    auto net = [](uint64_t v) { return v > overhead ? v - overhead : 0; };
    l4::print("bench: ");
    l4::print(name);
    l4::print(" median ");
    l4::print(net(s.median) / divisor);
    l4::print(" min ");
    l4::print(net(s.minimum) / divisor);
    l4::print(" runs ");
    l4::print(runs);
    l4::print("\n");
}

void fail(const char* what, Error e)
{
    l4::print("bench: FAILED ");
    l4::print(what);
    l4::print(" error ");
    l4::print(static_cast<uint64_t>(e));
    l4::print("\n");
}

template <typename Body>
void measure(Body body)
{
    for (uint64_t i = 0; i < kRuns; ++i) {
        uint64_t start = tsc();
        body();
        samples[i] = tsc() - start;
    }
}

[[noreturn]] void local_server()
{
    l4::Message m;
    l4::receive(kLocal, m);
    for (;;)
        l4::reply_wait(kLocal, m);
}

[[noreturn]] void yield_partner()
{
    for (;;)
        l4::yield();
}

// Handles the victim's ud2 faults: resume after the instruction.
[[noreturn]] void exception_handler()
{
    l4::Message m;
    l4::receive(kHandlerEndpoint, m);
    for (;;) {
        auto* state = reinterpret_cast<abi::ExceptionState*>(l4::utcb()->mr);
        for (uint64_t i = 0; i < abi::kRegisterWords; ++i)
            l4::utcb()->mr[i] = m.words[i];
        state->rip += 2;
        for (uint64_t i = 0; i < abi::kRegisterWords; ++i)
            m.words[i] = l4::utcb()->mr[i];
        m.tag = abi::MessageTag::make(abi::reply_label::resume_with_registers, abi::kExceptionWords);
        l4::reply_wait(kHandlerEndpoint, m);
    }
}

[[noreturn]] void victim()
{
    measure([] { asm volatile("ud2" ::: "memory"); });
    victim_done = 1;
    l4::thread_exit();
}

// A foreign-ABI thread (short message): each `syscall` is a round trip to bench_server, in
// another address space, which resumes it with rax. Then it stops for good: its ud2 is answered
// with a label that leaves it suspended.
[[noreturn]] void foreign_caller()
{
    measure([] {
        uint64_t rax = 39; // Linux's getpid
        asm volatile("syscall" : "+a"(rax) : : "rcx", "r11", "memory");
    });
    foreign_done = 1;
    for (;;)
        asm volatile("ud2" ::: "memory");
}

// Answers every page fault with pager_page mapped at the faulting page.
[[noreturn]] void pager()
{
    l4::Message m;
    l4::receive(kPagerEndpoint, m);
    for (;;) {
        uint64_t page = m.words[0] & ~uint64_t{4095};
        l4::utcb()->send_pages[0] = abi::MapItem{
            abi::Flexpage::make(reinterpret_cast<uint64_t>(pager_page), 12, abi::page_rights::read).raw, page, 0};
        m.tag = abi::MessageTag::make(0, 0, 0, 1);
        l4::reply_wait(kPagerEndpoint, m);
    }
}

// Touches a fresh page each run: fault, pager IPC, map, resume.
[[noreturn]] void faulter()
{
    uint64_t i = 0;
    measure([&] { (void)*reinterpret_cast<volatile uint8_t*>(kFaultArea + 4096 * i++); });
    faulter_done = 1;
    l4::thread_exit();
}

// Receives whatever is mapped to it into its window at kMapTarget and answers.
[[noreturn]] void map_server()
{
    l4::Message m;
    l4::utcb()->receive_window = abi::Flexpage::make(kMapTarget, 22, abi::page_rights::all).raw;
    l4::receive(kMapEndpoint, m);
    for (;;) {
        m.tag = abi::MessageTag::make(0, 0);
        l4::reply_wait(kMapEndpoint, m);
    }
}

// One map of `order` bytes from `base` to the map server, then its unmap.
void map_unmap(uint64_t base, uint64_t order)
{
    l4::Message m;
    l4::utcb()->send_pages[0] = abi::MapItem{abi::Flexpage::make(base, order, abi::page_rights::all).raw, 0, 0};
    m.tag = abi::MessageTag::make(0, 0, 0, 1);
    l4::call(kMapEndpoint, m);
    l4::memory_unmap(abi::Flexpage::make(base, order, abi::page_rights::all), false);
}

Error start(Selector slot, void (*body)(), int stack)
{
    Error e = l4::factory_create(kFactory, abi::ObjectKind::thread, slot, kTask, kPriority);
    if (e != Error::ok)
        return e;
    return l4::thread_start(slot, reinterpret_cast<uint64_t>(body),
                            reinterpret_cast<uint64_t>(stacks[stack] + kStackSize));
}

} // namespace

int main()
{
    measure([] {});
    overhead = summarize(kRuns).median;
    l4::print("bench: measurement overhead ");
    l4::print(overhead);
    l4::print(" (subtracted below)\n");

    measure([] { l4::raw_syscall(0xffff); });
    report("null_syscall");

    l4::Message m;
    measure([&] {
        m.tag = abi::MessageTag::make(1, 2);
        l4::call(kRemote, m);
    });
    report("ipc_call_reply_inter_as");

    Error e = l4::factory_create(kFactory, abi::ObjectKind::endpoint, kLocal);
    if (e == Error::ok)
        e = start(kServerThread, local_server, 0);
    if (e != Error::ok)
        fail("local server", e);
    measure([&] {
        m.tag = abi::MessageTag::make(1, 2);
        l4::call(kLocal, m);
    });
    report("ipc_call_reply_intra_as");

    e = l4::factory_create(kFactory, abi::ObjectKind::notification, kNotification);
    if (e != Error::ok)
        fail("notification", e);
    uint64_t bits;
    measure([&] {
        l4::notify_signal(kNotification, 1);
        l4::notify_wait(kNotification, bits);
    });
    report("notify_signal_wait");

    e = l4::factory_create(kFactory, abi::ObjectKind::endpoint, kHandlerEndpoint);
    if (e == Error::ok)
        e = start(kPartnerThread, exception_handler, 1);
    if (e == Error::ok)
        e = l4::factory_create(kFactory, abi::ObjectKind::thread, kVictimThread, kTask, kPriority);
    if (e == Error::ok)
        e = l4::thread_control(kVictimThread, abi::ThreadOp::set_exception_handler, kHandlerEndpoint);
    if (e == Error::ok)
        e = l4::thread_start(kVictimThread, reinterpret_cast<uint64_t>(victim),
                             reinterpret_cast<uint64_t>(stacks[2] + kStackSize));
    if (e != Error::ok)
        fail("exception handler", e);
    while (victim_done == 0)
        l4::yield();
    report("exception_ipc_round_trip");
    l4::cap_delete(kPartnerThread);

    e = l4::factory_create(kFactory, abi::ObjectKind::thread, kForeignThread, kTask, kPriority);
    if (e == Error::ok)
        e = l4::thread_control(kForeignThread, abi::ThreadOp::set_exception_handler, kRemote);
    if (e == Error::ok)
        e = l4::thread_control(kForeignThread, abi::ThreadOp::set_foreign_abi, abi::foreign_abi::short_message);
    if (e == Error::ok)
        e = l4::thread_start(kForeignThread, reinterpret_cast<uint64_t>(foreign_caller),
                             reinterpret_cast<uint64_t>(stacks[3] + kStackSize));
    if (e != Error::ok)
        fail("foreign syscall", e);
    while (foreign_done == 0)
        l4::yield();
    report("foreign_syscall_round_trip");
    l4::cap_delete(kForeignThread);

    e = start(kPartnerThread, yield_partner, 1);
    if (e != Error::ok)
        fail("yield partner", e);
    measure([] { l4::yield(); });
    report("thread_switch_yield", 2);

    l4::cap_delete(kPartnerThread);
    l4::cap_delete(kServerThread);

    e = l4::factory_create(kFactory, abi::ObjectKind::endpoint, kPagerEndpoint);
    if (e == Error::ok)
        e = start(kPagerThread, pager, 3);
    if (e == Error::ok)
        e = l4::factory_create(kFactory, abi::ObjectKind::thread, kFaultThread, kTask, kPriority);
    if (e == Error::ok)
        e = l4::thread_control(kFaultThread, abi::ThreadOp::set_pager, kPagerEndpoint);
    if (e == Error::ok)
        e = l4::thread_start(kFaultThread, reinterpret_cast<uint64_t>(faulter),
                             reinterpret_cast<uint64_t>(stacks[2] + kStackSize));
    if (e != Error::ok)
        fail("pager", e);
    while (faulter_done == 0)
        l4::yield();
    report("page_fault_round_trip");

    for (uint64_t i = 0; i < sizeof big_region; i += 4096) // fault the region in once
        big_region[i] = 1;
    e = l4::factory_create(kFactory, abi::ObjectKind::endpoint, kMapEndpoint);
    if (e == Error::ok)
        e = start(kMapThread, map_server, 4);
    if (e != Error::ok)
        fail("map server", e);
    measure([] { map_unmap(reinterpret_cast<uint64_t>(pager_page), 12); });
    report("map_unmap_4k");
    for (uint64_t i = 0; i < kSmallRuns; ++i) {
        uint64_t start_tsc = tsc();
        map_unmap(reinterpret_cast<uint64_t>(big_region), 21);
        samples[i] = tsc() - start_tsc;
    }
    report("map_unmap_2m", 1, kSmallRuns);

    m.tag = abi::MessageTag::make(kQuit, 0);
    l4::call(kRemote, m);
    l4::print("bench: done\n");
    return 0;
}
