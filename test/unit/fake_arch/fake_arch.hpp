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
// - Paging is the real page-table code (arch/x86_64/page_table.cpp) over that memory: the fake
//   supplies its machine side (table frames, the NX bit, a kernel root whose upper half every
//   space shares, TLB tags and invalidation). A test can take the table frames and the
//   invalidations over (PagingWatch: page_table_test.cpp).
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

#include "mem/tlb_policy.hpp"

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
// How many times the IPC fast path left through fastpath_leave (it took the short way).
uint64_t fast_leaves();

// Everything the kernel logged (klog), and clearing it.
const std::string& log();
void clear_log();

// Makes the idle thread current without the scheduler (test teardown: the thread that was
// current can then be destroyed like any other).
void run_idle();

// Kernel stacks the fake currently holds, and page-table frames (roots too) the page-table
// code holds.
uint64_t live_kernel_stacks();
uint64_t live_page_tables();

// While set, the page-table code's table frames come from (and go back to) `alloc_frame` and
// `free_frame` instead of the kernel's frame allocator, and every TLB invalidation is reported.
class PagingWatch {
public:
    virtual uint64_t alloc_frame() = 0; // mem::FrameAllocator::kNone: out of memory
    virtual void free_frame(uint64_t phys) = 0;
    virtual void invalidated(mem::TlbSpace space, uint64_t virt, uint64_t pages) = 0;

protected:
    ~PagingWatch() = default;
};
void watch_paging(PagingWatch* watch); // nullptr: back to the frame allocator

// The root tlb::load (or tlb::load_kernel) made live last.
uint64_t live_root();

// Task destructions seen (vm::release_space) and the spread of the stack depths they ran at,
// in bytes: a chain destroyed by recursion spreads with its length, a work list does not.
void reset_task_destructions();
uint64_t task_destructions();
uint64_t destruction_stack_spread();

// What vm::transfer_charged reports for a page-fault reply (no memory moves in these tests):
// the pages that arrived, whether the receiver's quota refused a charge, and whether the
// page of the fault address is mapped afterwards (vm::page_mapped). World resets it.
struct FaultReply {
    uint64_t pages = 0;
    bool refused = false;
    bool fault_page_mapped = false;
};
void set_fault_reply(FaultReply outcome);

} // namespace fake
