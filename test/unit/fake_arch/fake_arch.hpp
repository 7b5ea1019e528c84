// A fake x86-64 arch for host tests of the generic kernel (IPC, scheduler, objects).
//
// Design. The generic files (ipc, scheduler, thread, task, endpoint, wait_queue, notification,
// objects, factory, memory, irq, io_ports, log, sys_ipc) are compiled unchanged and include the
// real arch headers: their types and constants (InterruptFrame, UserContext, CpuLocal, gdt
// selectors) are plain C++. Every arch *function* they call is out of line, or declared so
// under KESTREL_FAKE_ARCH where the kernel has it inline for speed (this_cpu, fpu save and
// restore, tlb::load, the TLS/UTCB bases, the direct map), so the fake is a link-time one:
// fake_arch.cpp defines this_cpu(),
// switch_kernel_stack, fpu, tlb::load, the MSR loads, kernel stacks, the timer, the platform,
// the serial console, panic, paging and vm. Nothing in a header is swapped.
//
// - "Physical memory" is a host buffer at fake physical addresses [kPhysBase, kPhysBase + size),
//   handed to the real mem::FrameAllocator; paging::phys_to_virt maps it to the buffer. The
//   real memory.cpp puts the real kernel heap on it, so factories charge what the kernel
//   charges, to the byte.
// - Paging models one thing the generic code depends on: which page tables a user space has,
//   charged to the current ChargeTables account like the real walker (one page per PDPT, PD and
//   PT it creates, all refunded by free_user_space), and which pages are mapped.
// - There is one CPU and no real stack switch. switch_kernel_stack records who gets the CPU
//   and returns at once: the code after a switch (the blocked thread's way back out of the
//   kernel) runs before the next thread's, which is harmless because the kernel is not
//   preemptible and that code only returns a status already written. A test acts as
//   scheduler::current(): it calls a system-call handler (or ipc::) for that thread, then the
//   kernel-exit step (status write, preempt_if_needed) like syscalls.cpp's dispatch, and
//   looks at who is current now.
// - vm is not modelled: no test sends map items (vm::transfer moves nothing).
// - panic() prints the log and aborts the test run.
#pragma once

#include <stdint.h>

#include <string>
#include <vector>

class Thread;

namespace fake {

// Brings up the fake machine once: physical memory, the kernel heap, the idle thread
// (scheduler::init), which is current. Idempotent.
void boot();

// Tick counter behind timer::ticks().
void set_ticks(uint64_t now);

// Names of the threads switch_kernel_stack switched to, oldest first; cleared by clear_switches.
const std::vector<std::string>& switches();
void clear_switches();

// Everything the kernel logged (klog), and clearing it.
const std::string& log();
void clear_log();

// Makes the idle thread current without the scheduler (test teardown: the thread that was
// current can then be destroyed like any other).
void run_idle();

// Kernel stacks and page tables the fake currently holds.
uint64_t live_kernel_stacks();
uint64_t live_page_tables();

// Task destructions seen (vm::release_space) and the spread of the stack depths they ran at,
// in bytes: a chain destroyed by recursion spreads with its length, a work list does not.
void reset_task_destructions();
uint64_t task_destructions();
uint64_t destruction_stack_spread();

} // namespace fake
