// Fixed-priority preemptive scheduling, round robin within a priority. The kernel itself
// is not preemptible: switches happen on kernel exit paths (timer, block, yield).
#pragma once

#include <stdint.h>

class Thread;

namespace scheduler {

void init();               // creates this CPU's idle thread
[[noreturn]] void start(); // leaves the boot stack for the best ready thread

void make_ready(Thread& thread);        // a new or woken thread
void block_current();                   // the caller's thread has set its own state
void block_and_hand_over(Thread& next); // the same, running `next` (not yet ready) at once
void yield();                           // rest of the slice to equal-priority threads
void exit_current();                    // ends the current thread; never returns to it
void remove(Thread& thread);            // takes a ready thread off the run queue
void forget(Thread& thread);            // a started thread has died (counts live threads)
// On kernel exits to user mode. A thread switched out here runs user_return::check() when it
// is switched back in.
void timer_tick();        // from the timer interrupt
void preempt_if_needed(); // a woken thread may outrank us

Thread& current();

} // namespace scheduler
