// Fixed-priority preemptive scheduling, round robin within a priority. The kernel itself
// is not preemptible: switches happen on kernel exit paths (timer, block, yield).
#pragma once

#include <stdint.h>

#include "sched/run_queue.hpp"
#include "thread.hpp"

namespace scheduler {

// This CPU's ready threads; only scheduler.cpp changes them.
extern sched::RunQueue run_queue;

void init();               // creates this CPU's idle thread
[[noreturn]] void start(); // leaves the boot stack for the best ready thread

void make_ready(Thread& thread);        // a new or woken thread
void block_current();                   // the caller's thread has set its own state
void block_and_hand_over(Thread& next); // the same, running `next` (not yet ready) at once
// Whether `next`, just unblocked, may run at once in place of the current thread: no ready
// thread outranks it and it is not to be suspended (else it only becomes ready). Inline: the
// IPC fast path asks it on every call.
inline bool may_hand_over(const Thread& next)
{
    return !next.suspend_requested && (run_queue.empty() || run_queue.highest_priority() <= next.priority);
}
// The IPC fast path's switch (fastpath.cpp): `next` becomes the running thread, with its
// address space, FS, GS, I/O ports and FPU state; the current thread has blocked itself. The
// kernel stack is the caller's to switch, and it never returns to the current one.
void enter_directly(Thread& next);
void yield();                // rest of the slice to equal-priority threads
void exit_current();         // ends the current thread; never returns to it
void remove(Thread& thread); // takes a ready thread off the run queue
void forget(Thread& thread); // a started thread has died (counts live threads)
// On kernel exits to user mode. A thread switched out here runs user_return::check() when it
// is switched back in.
void timer_tick();        // from the timer interrupt
void preempt_if_needed(); // a woken thread may outrank us

Thread& current();

} // namespace scheduler
