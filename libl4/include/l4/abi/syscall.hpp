// System-call numbers and the register convention.
//
// `syscall` with the number in rax. Arguments in rdi, rsi, rdx, r10 (then r8, r9 for calls
// that carry no message). The CPU clobbers rcx and r11. The kernel returns an
// l4::abi::Error in rax and results in the argument registers; every other register is
// preserved. IPC calls carry message words 0..5 in r8, r9, r12, r13, r14, r15 and the rest in
// the UTCB (l4/abi/utcb.hpp); see docs/syscalls.md for each call.
#pragma once

#include <stdint.h>

namespace l4::abi {

enum class Syscall : uint64_t {
    debug_write = 0, // rdi = text, rsi = length (<= kMaxDebugWrite): write to the kernel console
    thread_exit = 1, // the calling thread stops for good; never returns
    yield = 2,       // give the rest of the time slice to threads of the same priority

    ipc_call = 3,       // rdi = endpoint, rsi = tag, rdx = timeout; words -> reply: rsi = tag, words
    ipc_send = 4,       // rdi = endpoint, rsi = tag, rdx = timeout; words
    ipc_receive = 5,    // rdi = endpoint, rdx = timeout -> rsi = tag, rdx = badge, words
    ipc_reply_wait = 6, // rdi = endpoint, rsi = reply tag, rdx = timeout; words -> as ipc_receive
    ipc_reply = 7,      // rsi = tag; words: answer the last caller, do not wait

    notify_signal = 8, // rdi = notification, rsi = bits to set
    notify_wait = 9,   // rdi = notification, rdx = timeout -> rsi = bits (cleared); blocks while none are set
    notify_poll = 10,  // rdi = notification -> rsi = bits (cleared), possibly 0

    cap_copy = 11,   // rdi = source, rsi = destination, rdx = rights mask, r10 = badge (0: keep)
    cap_delete = 12, // rdi = selector
    cap_revoke = 13, // rdi = selector: delete everything derived from it

    factory_create = 14, // rdi = factory, rsi = ObjectKind, rdx = destination selector, r10 = arg0, r8 = arg1
    thread_control = 15, // rdi = thread, rsi = ThreadOp, rdx, r10, r8 = op arguments -> rdx = result

    irq_control = 16,     // rdi = irq, rsi = IrqOp, rdx = notification (bind)
    ioport_enable = 17,   // rdi = I/O port capability: the caller's task may use its ports
    memory_unmap = 18,    // rdi = Flexpage (its rights: those to take away), rsi = 1: the caller's own too
    cap_copy_to = 19,     // rdi = task (control), rsi = source, rdx = destination in that task, r10 = rights mask,
                          // r8 = badge (0: keep): cap_copy into another task's capability space
    memory_map_to = 20,   // rdi = task (control), rsi = Flexpage of the caller's (its rights: those given),
                          // rdx = destination in that task, r10 = flags (0) -> rsi = pages mapped
    memory_unmap_in = 21, // rdi = task (control), rsi = Flexpage at that task's addresses (rights to take),
                          // rdx = flags (0) -> rsi = pages of that task affected
    reply_save = 22,      // rdi = reply object: it keeps the reply to the caller self would answer next
    reply_to = 23,        // rdi = reply object, rsi = tag; words: answer the caller it keeps, do not wait
    count
};

constexpr uint64_t kMaxDebugWrite = 4096;

// IPC timeouts, in timer ticks; the two named values are the ones every call accepts.
constexpr uint64_t kTimeoutZero = 0; // do not wait: fail with Error::timeout
constexpr uint64_t kTimeoutNever = ~uint64_t{0};

// What factory_create makes (rsi), and its arguments.
enum class ObjectKind : uint64_t {
    endpoint = 0,     // -
    notification = 1, // -
    thread = 2,       // r10 = task selector (its address space), r8 = priority
    task = 3,         // r10 = number of capability slots (1..kMaxTaskSlots)
    factory = 4,      // r10 = quota in bytes, taken from this factory's
    io_ports = 5,     // r10 = an I/O port capability covering the range, r8 = first | count << 16
    reply = 6,        // -: holds one kept reply (reply_save, reply_to)
};

constexpr uint64_t kMaxTaskSlots = 4096;

// Thread priorities: 0 (lowest) to kMaxPriority; nobody sets one above its own.
constexpr uint64_t kMaxPriority = 255;

// thread_control operations (rsi) and their arguments (rdx, r10, r8).
enum class ThreadOp : uint64_t {
    start = 0,                 // rdx = ip, r10 = sp: set them and make the thread runnable
    suspend = 1,               // stop it (it keeps its state)
    resume = 2,                // let a suspended thread run again
    set_priority = 3,          // rdx = priority (0..255, at most the caller's own)
    set_exception_handler = 4, // rdx = endpoint selector (exceptions become calls to it)
    set_pager = 5,             // rdx = endpoint selector (page faults become calls to it)
    set_fs_base = 6,           // rdx = FS base
    set_foreign_abi = 7,       // rdx = foreign_abi::*: its `syscall` instructions become exception IPC
    read_registers = 8,        // the thread's registers -> the caller's UTCB (ExceptionState layout)
    write_registers = 9,       // the caller's UTCB (ExceptionState layout) -> the thread's registers
    set_time_slice = 10,       // rdx = ticks (1..1000)
    read_fpu = 11,             // the thread's FXSAVE image (abi::fpu_image) -> the caller's UTCB mr[]
    write_fpu = 12,            // the caller's UTCB mr[] (an FXSAVE image) -> the thread's FPU/SSE state
    bind_notification = 13,    // rdx = notification (receive right; kUnbind: unbind): its signals end receives
    force_exception = 14,      // an exception IPC (vector kForcedVector) before it next runs user code;
                               // a blocked IPC of it ends with Error::cancelled first
};

// set_foreign_abi's rdx: how a foreign-ABI thread's `syscall` reaches its exception handler.
namespace foreign_abi {
constexpr uint64_t off = 0;           // the thread's syscalls are ours
constexpr uint64_t full = 1;          // exception IPC with the whole ExceptionState (kExceptionWords)
constexpr uint64_t short_message = 2; // exception IPC with a ForeignSyscall (kForeignSyscallWords)
} // namespace foreign_abi

// bind_notification's rdx to take the thread's bound notification away.
constexpr uint64_t kUnbind = ~uint64_t{0};

enum class IrqOp : uint64_t {
    bind = 0,        // rdx = notification: the interrupt sets bit 0 of it, then stays masked
    acknowledge = 1, // unmask: the driver has handled it
};

} // namespace l4::abi
