// The scheduler: a run queue per CPU (one CPU for now), the idle thread, the switch.
#include "scheduler.hpp"

#include "arch/x86_64/cpu.hpp"
#include "arch/x86_64/cpu_local.hpp"
#include "arch/x86_64/fpu.hpp"
#include "arch/x86_64/kernel_stack.hpp"
#include "arch/x86_64/platform.hpp"
#include "arch/x86_64/tlb.hpp"
#include "arch/x86_64/user_state.hpp"
#include "ipc.hpp"
#include "objects.hpp"
#include "panic.hpp"
#include "sched/run_queue.hpp"
#include "task.hpp"
#include "thread.hpp"
#include "user_return.hpp"

extern "C" void switch_kernel_stack(uint64_t* save_rsp, uint64_t new_rsp);

namespace scheduler {

sched::RunQueue run_queue;

namespace {

Thread* zombie; // a dead thread whose stack we were still on; freed right after the next switch
uint64_t boot_stack_rsp;
size_t live_threads; // started and not yet dead
bool quiet_reported; // the idle report was made and nothing has run since

[[noreturn]] void idle_loop()
{
    for (;;)
        cpu::enable_interrupts_and_halt();
}

// The thread that exited last, now that its stack is no longer in use.
void reap()
{
    if (zombie == nullptr)
        return;
    Thread* dead = zombie;
    zombie = nullptr;
    dead->release_stack();
    if (dead->references == 0)
        dead->destroy();
}

// FS for its TLS, GS for its UTCB, its task's I/O ports.
[[gnu::always_inline]] inline void load_user_segments(Thread& thread)
{
    arch::load_thread_bases(thread.fs_base, thread.utcb_address());
    arch::load_io_bitmap(thread.task() != nullptr ? thread.task()->io_bitmap() : nullptr);
}

// Makes `next` this CPU's running thread: its kernel stack for entries from user mode, its
// address space (by root, not by task: the previous thread's task may have just been
// destroyed), its FS, GS and I/O ports, its FPU state. The kernel stack switch is the caller's.
[[gnu::always_inline]] inline void load_context(CpuLocal& cpu_state, Thread& next)
{
    cpu_state.current = &next;
    next.set_state(Thread::State::running);
    cpu_local::set_kernel_stack(next.kernel_stack_top());
    if (next.task() != nullptr)
        tlb::load(next.task()->address_space());
    load_user_segments(next);
    if (next.task() != nullptr)
        fpu::restore(next.fpu_state);
}

void switch_to(Thread& next)
{
    CpuLocal& cpu_state = this_cpu();
    Thread& previous = *cpu_state.current;
    if (&previous == &next) {
        next.set_state(Thread::State::running);
        return;
    }
    // Eager: the kernel and the idle thread use no FPU, so only user threads' state moves.
    if (previous.task() != nullptr)
        fpu::save(previous.fpu_state);
    load_context(cpu_state, next);
    switch_kernel_stack(&previous.saved_kernel_rsp, next.saved_kernel_rsp);
    reap();
}

// The best ready thread, taken off the queue; the idle thread when none is.
Thread& pick_next()
{
    sched::QueueLink* link = run_queue.highest();
    if (link == nullptr)
        return *this_cpu().idle;
    if (!run_queue.remove(*link))
        panic("scheduler: run queue head was not queued");
    return *static_cast<Thread*>(link);
}

// Puts the running thread back in the queue (unless idle, blocked or dead) and switches to
// the best ready thread.
void reschedule(bool front)
{
    Thread& running = *this_cpu().current;
    if (&running != this_cpu().idle && running.state() == Thread::State::running) {
        running.set_state(Thread::State::ready);
        bool queued = front ? run_queue.enqueue_front(running) : run_queue.enqueue(running);
        if (!queued)
            panic("scheduler: {} was already queued", running.name());
    }
    switch_to(pick_next());
}

// reschedule() on a kernel exit: the thread that was running is on its way to user mode when
// it runs again here, and does what it must first (user_return.hpp).
void reschedule_on_exit(bool front)
{
    Thread& running = *this_cpu().current;
    reschedule(front);
    user_return::check(running);
}

} // namespace

namespace {
const char* current_name() { return this_cpu().current != nullptr ? this_cpu().current->name() : nullptr; }
} // namespace

void init()
{
    panic_set_thread_namer(current_name);
    Thread* idle = Thread::create_kernel("idle", idle_loop);
    if (idle == nullptr)
        panic("scheduler: no memory for the idle thread");
    this_cpu().idle = idle;
}

void start()
{
    // The boot stack becomes the idle thread's "previous" context, never resumed.
    Thread& first = pick_next();
    load_context(this_cpu(), first);
    switch_kernel_stack(&boot_stack_rsp, first.saved_kernel_rsp);
    panic("scheduler: returned to the boot stack");
}

void make_ready(Thread& thread)
{
    quiet_reported = false;
    if (thread.state() == Thread::State::inactive)
        ++live_threads;
    if (thread.suspend_requested) {
        thread.set_state(Thread::State::suspended);
        return;
    }
    thread.set_state(Thread::State::ready);
    if (!run_queue.enqueue(thread))
        panic("scheduler: {} was already queued", thread.name());
    // A higher-priority thread preempts at the next kernel exit: the caller returns first.
}

void block_current() { reschedule(false); }

void block_and_hand_over(Thread& next)
{
    // The partner of a rendezvous runs next unless a ready thread outranks it: no trip
    // through the run queue (L4's direct process switch).
    if (!may_hand_over(next)) {
        make_ready(next);
        reschedule(false);
        return;
    }
    switch_to(next);
}

void enter_directly(Thread& next)
{
    CpuLocal& cpu_state = this_cpu();
    fpu::save(cpu_state.current->fpu_state); // both are user threads
    load_context(cpu_state, next);
}

void yield()
{
    this_cpu().current->remaining_slice() = this_cpu().current->time_slice();
    reschedule(false);
}

void exit_current()
{
    Thread& dying = *this_cpu().current;
    kill_thread(dying);
    forget(dying);
    dying.set_state(Thread::State::dead);
    zombie = &dying;
    switch_to(pick_next());
    panic("scheduler: a dead thread was resumed");
}

void remove(Thread& thread)
{
    if (thread.queued && !run_queue.remove(thread))
        panic("scheduler: cannot dequeue {}", thread.name());
}

void forget(Thread& thread)
{
    if (thread.state() == Thread::State::inactive || thread.state() == Thread::State::dead)
        return;
    if (--live_threads == 0) {
        klog::info("all user threads have exited");
        kernel_stack::measure(reinterpret_cast<const uint8_t*>(thread.kernel_stack_top() - kernel_stack::kSize));
        klog::info("kernel stacks: deepest use {} of {} bytes", kernel_stack::deepest_use(), kernel_stack::kSize);
        platform::exit_if_requested(platform::ExitCode::success);
    }
}

void timer_tick()
{
    if (this_cpu().current == nullptr)
        return; // ticks during boot, before the first thread runs
    Thread& running = *this_cpu().current;
    if (&running == this_cpu().idle) {
        if (!run_queue.empty()) {
            reschedule(false);
        } else if (live_threads > 0 && !quiet_reported && !ipc::timeouts_pending()) {
            // Every thread waits for a message no one can send (servers like sigma0 wait
            // forever): under test (exit=qemu) that is the end of the run. Otherwise a person at
            // the console may still type, waking a driver: nothing to say above debug level.
            // Said once per quiet spell.
            quiet_reported = true;
            if (platform::ends_when_quiet()) {
                klog::info("all user threads are blocked: nothing left to run");
                platform::exit_if_requested(platform::ExitCode::success);
            } else {
                klog::debug("all user threads are blocked: waiting for an interrupt");
            }
        }
        return;
    }
    // The tick is charged also when a higher-priority thread takes the CPU now: a server woken
    // at every tick (a timeout of one tick) would otherwise keep the thread's slice from ever
    // running out, and its equals would never run.
    const bool expired = --running.remaining_slice() == 0;
    if (expired)
        running.remaining_slice() = running.time_slice();
    const bool preempted = !run_queue.empty() && run_queue.highest_priority() > running.priority;
    if (preempted || expired)
        reschedule_on_exit(!expired); // preempted with slice left: it keeps its place at the head
}

void preempt_if_needed()
{
    if (run_queue.empty())
        return;
    Thread& running = *this_cpu().current;
    if (&running == this_cpu().idle || run_queue.highest_priority() > running.priority)
        reschedule_on_exit(true);
}

Thread& current() { return *this_cpu().current; }

} // namespace scheduler

// A new thread's first switch ends here instead of in switch_to: it reaps as switch_to does,
// so a dead thread is freed before anything else runs (before the new thread could delete
// its last capability and free it a second time).
extern "C" void scheduler_first_run()
{
    scheduler::reap();
    user_return::check(scheduler::current()); // forced after its start, before it first ran
}
// thread_first_return calls it with rsp at the user frame: a call needs it 16-byte aligned.
static_assert(sizeof(interrupts::InterruptFrame) % 16 == 0);
