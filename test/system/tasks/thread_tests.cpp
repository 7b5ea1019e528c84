// Threads: start, suspend/resume, priorities, preemption, FS base, registers, argument
// checks. Selectors 400-499 (threads first).
#include <stddef.h>

#include "helpers.hpp"
#include "l4/thread.hpp"

using namespace kt;

namespace {

constexpr Selector kThreadA = 400, kThreadB = 401, kCopy = 410, kEndpoint = 411;
constexpr Selector kEmpty = 450;
constexpr uint64_t kSpinLimit = 200000000; // iterations before a spinner gives up

volatile uint64_t ran, counter_a, counter_b, stop, saw_other_a, saw_other_b, done_a, done_b;
volatile uint64_t fs_read_1, fs_read_2, restored;

void reset_globals()
{
    volatile uint64_t* const all[] = {&ran,    &counter_a, &counter_b, &stop,      &saw_other_a, &saw_other_b,
                                      &done_a, &done_b,    &fs_read_1, &fs_read_2, &restored};
    for (volatile uint64_t* v : all)
        *v = 0;
}

[[noreturn]] void set_ran_body()
{
    set_flag(ran);
    l4::thread_exit();
}

// Counts, yielding between increments, until told to stop.
[[noreturn]] void counting_body()
{
    while (stop == 0) {
        counter_a = counter_a + 1;
        l4::yield();
    }
    set_flag(done_a);
    l4::thread_exit();
}

// Counts without ever entering the kernel until the other spinner has counted too: only
// timer preemption can let it run.
template <volatile uint64_t& mine, volatile uint64_t& other, volatile uint64_t& saw, volatile uint64_t& done>
[[noreturn]] void spinner_body()
{
    for (uint64_t i = 0; i < kSpinLimit && other == 0; ++i)
        mine = mine + 1;
    if (mine == 0)
        mine = 1;
    saw = other != 0 ? 1 : 0;
    set_flag(done);
    l4::thread_exit();
}

struct FsBlock {
    uint64_t magic;
    uint64_t second;
};
FsBlock fs_block = {0x600df5b10c, 0x5ec0d};

uint64_t read_fs(uint64_t offset)
{
    uint64_t value;
    asm volatile("mov %%fs:(%1), %0" : "=r"(value) : "r"(offset) : "memory");
    return value;
}

[[noreturn]] void fs_reader_body()
{
    fs_read_1 = read_fs(0);
    l4::yield(); // the FS base survives a switch
    fs_read_2 = read_fs(8);
    set_flag(done_a);
    l4::thread_exit();
}

// Resumes the main thread, which suspended itself, until it says it is back (bounded).
[[noreturn]] void resume_main_body()
{
    wait_flag(ran); // the main thread is about to suspend itself
    for (uint64_t i = 0; i < 1000 && restored == 0; ++i) {
        l4::yield();
        l4::thread_control(kSelf, ThreadOp::resume);
    }
    set_flag(done_a);
    l4::thread_exit();
}

// Runs above the main thread (which lowered itself to 99): puts the main thread back to 100.
[[noreturn]] void restore_main_body()
{
    set_flag(ran);
    if (l4::thread_control(kSelf, ThreadOp::set_priority, kMainPriority) == Error::ok)
        set_flag(restored);
    l4::thread_exit();
}

// The globals zeroed; and with a thread at kThreadA, created but not started.
bool fresh()
{
    reset_globals();
    return true;
}

bool fresh_thread()
{
    reset_globals();
    KREQUIRE_EQ_OR(create_thread(kThreadA), Error::ok, false);
    return true;
}

// thread_control(thread, op, value), and the error it should give.
struct Control {
    Selector thread;
    ThreadOp op;
    uint64_t value;
    Error error;
};

template <size_t N>
void expect_controls(const Control (&cases)[N])
{
    for (const Control& c : cases)
        KEXPECT_EQ(l4::thread_control(c.thread, c.op, c.value), c.error);
}

// counting_body on kThreadA, once it has counted a little; false after a failed check.
bool start_counting()
{
    KREQUIRE_EQ_OR(spawn_thread(kThreadA, counting_body), Error::ok, false);
    KREQUIRE_EQ_OR(wait_until([] { return counter_a > 3; }), true, false);
    return true;
}

// Expects the counter to stand still while the main thread yields; returns where it stands.
uint64_t expect_frozen()
{
    uint64_t frozen = counter_a;
    yield_times(200);
    KEXPECT_EQ(counter_a, frozen);
    return frozen;
}

} // namespace

// A register-loading spinner: rbx and r12 are set, then a tight loop; written registers
// may send it to the escape, which stores rbx and exits.
extern "C" {
extern char kt_regs_spin[], kt_regs_loop[], kt_regs_escape[];
volatile uint64_t kt_regs_escape_rbx;
[[noreturn]] void kt_regs_exit() { l4::thread_exit(); }
}
asm(R"(
    .text
kt_regs_spin:
    mov $0x1111, %rbx
    mov $0x2222, %r12
kt_regs_loop:
    jmp kt_regs_loop
kt_regs_escape:
    mov %rbx, kt_regs_escape_rbx(%rip)
    and $-16, %rsp
    call kt_regs_exit
)");

// A thread test (slots 400-419, the globals zeroed); NEW_THREAD_TEST: with a new thread at
// kThreadA as well, not started.
#define THREAD_TEST(name) KTEST_F(name, 400, 420, fresh())
#define NEW_THREAD_TEST(name) KTEST_F(name, 400, 420, fresh_thread())

THREAD_TEST(thread_start_runs_body)
{
    KREQUIRE_EQ(spawn_thread(kThreadA, set_ran_body), Error::ok);
    KEXPECT_EQ(wait_flag(ran), true);
}

THREAD_TEST(thread_start_twice_is_busy)
{
    KREQUIRE_EQ(spawn_thread(kThreadA, set_ran_body), Error::ok);
    KEXPECT_EQ(start_thread(kThreadA, set_ran_body), Error::busy);
    KEXPECT_EQ(wait_flag(ran), true);
    KEXPECT_EQ(start_thread(kThreadA, set_ran_body), Error::busy); // also after its exit
}

NEW_THREAD_TEST(thread_start_bad_addresses)
{
    uint64_t ip = reinterpret_cast<uint64_t>(set_ran_body);
    uint64_t sp = 0x00007fffffff0000; // any user address will do for the check
    const uint64_t bad[][2] = {
        {kKernelAddress, sp}, {kNonCanonical, sp}, {~uint64_t{0}, sp}, {ip, kKernelAddress}, {ip, kNonCanonical}};
    for (const auto& start : bad)
        KEXPECT_EQ(l4::thread_start(kThreadA, start[0], start[1]), Error::bad_address);
    yield_times(10);
    KEXPECT_EQ(ran, 0);
    KEXPECT_EQ(start_thread(kThreadA, set_ran_body), Error::ok); // still startable
    KEXPECT_EQ(wait_flag(ran), true);
}

NEW_THREAD_TEST(thread_set_priority_limits)
{
    const Control cases[] = {
        {kThreadA, ThreadOp::set_priority, 256, Error::invalid_argument},
        {kThreadA, ThreadOp::set_priority, kMainPriority + 1, Error::invalid_argument},
        {kThreadA, ThreadOp::set_priority, ~uint64_t{0}, Error::invalid_argument},
        {kThreadA, ThreadOp::set_priority, 0, Error::ok},
        {kThreadA, ThreadOp::set_priority, kMainPriority, Error::ok},
        {kSelf, ThreadOp::set_priority, kMainPriority + 1, Error::invalid_argument},
    };
    expect_controls(cases);
}

NEW_THREAD_TEST(thread_control_needs_control)
{
    KREQUIRE_EQ(l4::cap_copy(kThreadA, kCopy, rights::all & ~rights::control), Error::ok);
    KEXPECT_EQ(l4::thread_control(kCopy, ThreadOp::set_priority, 10), Error::missing_rights);
    KEXPECT_EQ(start_thread(kCopy, set_ran_body), Error::missing_rights);
    KEXPECT_EQ(l4::thread_control(kCopy, ThreadOp::suspend), Error::missing_rights);
}

THREAD_TEST(thread_control_wrong_type_and_selectors)
{
    KREQUIRE_EQ(make(kEndpoint, ObjectKind::endpoint), Error::ok);
    const Selector wrong_type[] = {kEndpoint, kTask}, invalid[] = {kSlots, kEmpty};
    for (Selector s : wrong_type)
        KEXPECT_EQ(l4::thread_control(s, ThreadOp::set_priority, 10), Error::wrong_type);
    for (Selector s : invalid)
        KEXPECT_EQ(l4::thread_control(s, ThreadOp::set_priority, 10), Error::invalid_selector);
}

NEW_THREAD_TEST(thread_control_unknown_operation)
{
    const uint64_t unknown[] = {64, ~uint64_t{0}};
    for (uint64_t op : unknown)
        KEXPECT_EQ(l4::raw_syscall(static_cast<uint64_t>(abi::Syscall::thread_control), kThreadA, op),
                   Error::invalid_argument);
}

NEW_THREAD_TEST(thread_set_time_slice_limits)
{
    const Control cases[] = {
        {kThreadA, ThreadOp::set_time_slice, 0, Error::invalid_argument},
        {kThreadA, ThreadOp::set_time_slice, 1001, Error::invalid_argument},
        {kThreadA, ThreadOp::set_time_slice, 1, Error::ok},
        {kThreadA, ThreadOp::set_time_slice, 1000, Error::ok},
    };
    expect_controls(cases);
}

NEW_THREAD_TEST(thread_set_foreign_abi_values)
{
    const Control cases[] = {
        {kThreadA, ThreadOp::set_foreign_abi, 3, Error::invalid_argument},
        {kThreadA, ThreadOp::set_foreign_abi, ~uint64_t{0}, Error::invalid_argument},
        {kThreadA, ThreadOp::set_foreign_abi, abi::foreign_abi::short_message, Error::ok},
        {kThreadA, ThreadOp::set_foreign_abi, abi::foreign_abi::full, Error::ok},
        {kThreadA, ThreadOp::set_foreign_abi, abi::foreign_abi::off, Error::ok},
    };
    expect_controls(cases);
}

THREAD_TEST(thread_suspend_and_resume)
{
    if (!start_counting())
        return;
    KEXPECT_EQ(l4::thread_control(kThreadA, ThreadOp::suspend), Error::ok);
    uint64_t frozen = expect_frozen();
    KEXPECT_EQ(l4::thread_control(kThreadA, ThreadOp::resume), Error::ok);
    KEXPECT_EQ(wait_until([&] { return counter_a > frozen + 3; }), true);
    set_flag(stop);
    KEXPECT_EQ(wait_flag(done_a), true);
}

THREAD_TEST(thread_suspend_self_until_resumed)
{
    KREQUIRE_EQ(spawn_thread(kThreadA, resume_main_body), Error::ok);
    set_flag(ran);
    KEXPECT_EQ(l4::thread_control(kSelf, ThreadOp::suspend), Error::ok);
    set_flag(restored);
    KEXPECT_EQ(wait_flag(done_a), true);
}

THREAD_TEST(thread_delete_stops_it)
{
    if (!start_counting())
        return;
    KEXPECT_EQ(release_slot(kThreadA), Error::ok);
    expect_frozen();
    KEXPECT_EQ(done_a, 0);
}

NEW_THREAD_TEST(thread_set_fs_base_bad_addresses)
{
    const Control cases[] = {
        {kThreadA, ThreadOp::set_fs_base, kKernelAddress, Error::bad_address},
        {kThreadA, ThreadOp::set_fs_base, kNonCanonical, Error::bad_address},
        {kSelf, ThreadOp::set_fs_base, ~uint64_t{0}, Error::bad_address},
    };
    expect_controls(cases);
}

NEW_THREAD_TEST(thread_set_fs_base_seen_by_thread)
{
    KEXPECT_EQ(l4::thread_control(kThreadA, ThreadOp::set_fs_base, reinterpret_cast<uint64_t>(&fs_block)), Error::ok);
    KREQUIRE_EQ(start_thread(kThreadA, fs_reader_body), Error::ok);
    KREQUIRE_EQ(wait_flag(done_a), true);
    KEXPECT_EQ(fs_read_1, fs_block.magic);
    KEXPECT_EQ(fs_read_2, fs_block.second);
}

KTEST(thread_set_fs_base_on_self)
{
    KREQUIRE_EQ(l4::thread_control(kSelf, ThreadOp::set_fs_base, reinterpret_cast<uint64_t>(&fs_block)), Error::ok);
    KEXPECT_EQ(read_fs(0), fs_block.magic);
    l4::yield();
    KEXPECT_EQ(read_fs(8), fs_block.second);
    KEXPECT_EQ(l4::thread_control(kSelf, ThreadOp::set_fs_base, 0), Error::ok);
}

KTEST(thread_registers_of_self_are_busy)
{
    KEXPECT_EQ(l4::thread_control(kSelf, ThreadOp::read_registers), Error::busy);
    KEXPECT_EQ(l4::thread_control(kSelf, ThreadOp::write_registers), Error::busy);
}

// Suspend a spinning thread, read its registers, redirect it with written ones, resume.
NEW_THREAD_TEST(thread_read_and_write_registers)
{
    kt_regs_escape_rbx = 0;
    KREQUIRE_EQ(start_thread(kThreadA, reinterpret_cast<ThreadBody>(kt_regs_spin)), Error::ok);
    yield_times(5); // it runs until its time slice ends
    KREQUIRE_EQ(l4::thread_control(kThreadA, ThreadOp::suspend), Error::ok);
    KREQUIRE_EQ(l4::thread_control(kThreadA, ThreadOp::read_registers), Error::ok);
    abi::ExceptionState s = utcb_state();
    KEXPECT_EQ(s.rip, reinterpret_cast<uint64_t>(kt_regs_loop));
    KEXPECT_EQ(s.rbx, 0x1111);
    KEXPECT_EQ(s.r12, 0x2222);
    KEXPECT_EQ(s.rflags & 0x200, 0x200); // interrupts on
    s.rbx = 0x3333;
    s.rip = kKernelAddress;
    utcb_state() = s;
    KEXPECT_EQ(l4::thread_control(kThreadA, ThreadOp::write_registers), Error::bad_address);
    s.rip = reinterpret_cast<uint64_t>(kt_regs_escape);
    uint64_t rsp = s.rsp;
    s.rsp = kKernelAddress;
    utcb_state() = s;
    KEXPECT_EQ(l4::thread_control(kThreadA, ThreadOp::write_registers), Error::bad_address);
    s.rsp = rsp;
    utcb_state() = s;
    KEXPECT_EQ(l4::thread_control(kThreadA, ThreadOp::write_registers), Error::ok);
    KEXPECT_EQ(l4::thread_control(kThreadA, ThreadOp::resume), Error::ok);
    KEXPECT_EQ(wait_until([] { return kt_regs_escape_rbx != 0; }), true);
    KEXPECT_EQ(kt_regs_escape_rbx, 0x3333);
}

// Two spinners of the main thread's priority both count: the timer preempts them.
THREAD_TEST(thread_preemption_between_spinners)
{
    KREQUIRE_EQ(spawn_thread(kThreadA, spinner_body<counter_a, counter_b, saw_other_a, done_a>), Error::ok);
    KREQUIRE_EQ(spawn_thread(kThreadB, spinner_body<counter_b, counter_a, saw_other_b, done_b>), Error::ok);
    KEXPECT_EQ(wait_until([] { return done_a == 1 && done_b == 1; }), true);
    KEXPECT_EQ(counter_a != 0, true);
    KEXPECT_EQ(counter_b != 0, true);
    KEXPECT_EQ(saw_other_a | saw_other_b, 1); // whoever ran first saw the other count
}

// A lower-priority thread does not run while the main thread is ready, even when it yields.
THREAD_TEST(thread_lower_priority_waits)
{
    KREQUIRE_EQ(spawn_thread(kThreadA, set_ran_body, kMainPriority - 1), Error::ok);
    yield_times(100);
    KEXPECT_EQ(ran, 0);
    KEXPECT_EQ(l4::thread_control(kThreadA, ThreadOp::set_priority, kMainPriority), Error::ok);
    KEXPECT_EQ(wait_flag(ran), true);
}

// Main lowers itself to 99 and starts a thread of 100: it runs before thread_start returns,
// and puts the main thread back to 100.
NEW_THREAD_TEST(thread_higher_priority_runs_first)
{
    KREQUIRE_EQ(l4::thread_control(kSelf, ThreadOp::set_priority, kMainPriority - 1), Error::ok);
    Error e = start_thread(kThreadA, restore_main_body);
    uint64_t ran_at_return = ran;
    KEXPECT_EQ(e, Error::ok);
    KEXPECT_EQ(ran_at_return, 1);
    KEXPECT_EQ(wait_flag(restored), true);
}

// libl4's thread helpers (l4/thread.hpp): a body that returns ends its thread; the stack it
// got is aligned as for a call; bad arguments create nothing.
namespace {

alignas(16) uint8_t helper_stack[4096];
volatile uint64_t helper_rsp;

void returning_body()
{
    uint64_t rsp;
    asm volatile("mov %%rsp, %0" : "=r"(rsp));
    helper_rsp = rsp;
    set_flag(ran);
}

} // namespace

THREAD_TEST(libl4_spawn_thread_body_returns_and_the_thread_exits)
{
    helper_rsp = 0;
    KREQUIRE_EQ(
        l4::spawn_thread(kFactory, kTask, kThreadA, kMainPriority, returning_body, helper_stack, sizeof helper_stack),
        Error::ok);
    KEXPECT_EQ(wait_flag(ran), true);
    // As if called: the return address was pushed onto a 16-byte aligned stack.
    KEXPECT_EQ((helper_rsp + 8) % 16, 0);
    KEXPECT_EQ(helper_rsp < reinterpret_cast<uint64_t>(helper_stack + sizeof helper_stack), true);
    KEXPECT_EQ(wait_until([] { return l4::thread_control(kThreadA, ThreadOp::suspend) == Error::object_destroyed; }),
               true); // it exited when its body returned
}

THREAD_TEST(libl4_spawn_thread_refusals_leave_nothing)
{
    KEXPECT_EQ(l4::spawn_thread(kFactory, kTask, kThreadA, kMainPriority, nullptr, helper_stack, sizeof helper_stack),
               Error::invalid_argument);
    KEXPECT_EQ(l4::cap_delete(kThreadA), Error::invalid_selector); // deleted again
    KEXPECT_EQ(l4::spawn_thread(kFactory, kTask, kThreadA, kMainPriority, returning_body, nullptr, 4096),
               Error::invalid_argument);
    KEXPECT_EQ(l4::spawn_thread(kFactory, kTask, kThreadA, kMainPriority, returning_body, helper_stack, 32),
               Error::invalid_argument);
    KEXPECT_EQ(l4::cap_delete(kThreadA), Error::invalid_selector);
    KEXPECT_EQ(
        l4::spawn_thread(kFactory, kEmpty, kThreadA, kMainPriority, returning_body, helper_stack, sizeof helper_stack),
        Error::invalid_selector); // no such task: factory_create's error
    KEXPECT_EQ(l4::start_thread(kEmpty, returning_body, helper_stack, sizeof helper_stack), Error::invalid_selector);
}
