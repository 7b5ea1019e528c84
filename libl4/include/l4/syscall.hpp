// System-call bindings: one inline function per call, following l4/abi/syscall.hpp.
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "l4/abi/error.hpp"
#include "l4/abi/ipc.hpp"
#include "l4/abi/rights.hpp"
#include "l4/abi/syscall.hpp"
#include "l4/abi/utcb.hpp"

namespace l4 {

using abi::Error;
using Selector = uint64_t;

namespace detail {

// Calls that carry no message: up to six arguments, results back in rdi, rsi, rdx.
struct Registers {
    uint64_t rdi = 0, rsi = 0, rdx = 0, r10 = 0, r8 = 0, r9 = 0;
};

inline Error syscall(abi::Syscall number, Registers& r)
{
    uint64_t result = static_cast<uint64_t>(number);
    register uint64_t r10 asm("r10") = r.r10;
    register uint64_t r8 asm("r8") = r.r8;
    register uint64_t r9 asm("r9") = r.r9;
    asm volatile("syscall"
                 : "+a"(result), "+D"(r.rdi), "+S"(r.rsi), "+d"(r.rdx), "+r"(r10), "+r"(r8), "+r"(r9)
                 :
                 : "rcx", "r11", "memory");
    return static_cast<Error>(result);
}

inline Error syscall(abi::Syscall number, uint64_t rdi = 0, uint64_t rsi = 0, uint64_t rdx = 0, uint64_t r10 = 0,
                     uint64_t r8 = 0)
{
    Registers r{rdi, rsi, rdx, r10, r8, 0};
    return syscall(number, r);
}

} // namespace detail

// The calling thread's UTCB.
inline abi::Utcb* utcb()
{
    abi::Utcb* self;
    asm volatile("mov %%gs:0, %0" : "=r"(self));
    return self;
}

inline Error debug_write(const char* text, size_t length)
{
    return detail::syscall(abi::Syscall::debug_write, reinterpret_cast<uint64_t>(text), length);
}

inline Error yield() { return detail::syscall(abi::Syscall::yield); }

[[noreturn]] inline void thread_exit()
{
    detail::syscall(abi::Syscall::thread_exit);
    __builtin_unreachable();
}

// A raw call with any number and registers, for tests of the kernel's checks.
inline Error raw_syscall(uint64_t number, uint64_t rdi = 0, uint64_t rsi = 0, uint64_t rdx = 0, uint64_t r10 = 0,
                         uint64_t r8 = 0)
{
    return detail::syscall(static_cast<abi::Syscall>(number), rdi, rsi, rdx, r10, r8);
}

// Capabilities --------------------------------------------------------------------------

// cap_copy into the capability space of `task` (a task capability with control).
inline Error cap_copy_to(Selector task, Selector from, Selector to, abi::Rights mask = abi::rights::all,
                         uint64_t badge = 0)
{
    return detail::syscall(abi::Syscall::cap_copy_to, task, from, to, mask, badge);
}

inline Error cap_copy(Selector from, Selector to, abi::Rights mask = abi::rights::all, uint64_t badge = 0)
{
    return detail::syscall(abi::Syscall::cap_copy, from, to, mask, badge);
}
inline Error cap_delete(Selector sel) { return detail::syscall(abi::Syscall::cap_delete, sel); }
inline Error cap_revoke(Selector sel) { return detail::syscall(abi::Syscall::cap_revoke, sel); }

inline Error factory_create(Selector factory, abi::ObjectKind kind, Selector destination, uint64_t arg0 = 0,
                            uint64_t arg1 = 0)
{
    return detail::syscall(abi::Syscall::factory_create, factory, static_cast<uint64_t>(kind), destination, arg0, arg1);
}

// Threads -------------------------------------------------------------------------------

inline Error thread_control(Selector thread, abi::ThreadOp op, uint64_t a = 0, uint64_t b = 0, uint64_t c = 0)
{
    return detail::syscall(abi::Syscall::thread_control, thread, static_cast<uint64_t>(op), a, b, c);
}

inline Error thread_start(Selector thread, uint64_t ip, uint64_t sp)
{
    return thread_control(thread, abi::ThreadOp::start, ip, sp);
}

// Another thread's registers through the caller's UTCB (ThreadOp::read/write_registers).
inline Error read_registers(Selector thread, abi::ExceptionState& state)
{
    Error e = thread_control(thread, abi::ThreadOp::read_registers);
    if (e == Error::ok)
        __builtin_memcpy(&state, utcb()->mr, sizeof state);
    return e;
}

inline Error write_registers(Selector thread, const abi::ExceptionState& state)
{
    __builtin_memcpy(utcb()->mr, &state, sizeof state);
    return thread_control(thread, abi::ThreadOp::write_registers);
}

// A thread's FXSAVE image (abi::fpu_image) through the caller's UTCB (ThreadOp::read/write_fpu).
struct FpuImage {
    alignas(16) uint8_t bytes[abi::fpu_image::kBytes];
};

inline Error read_fpu(Selector thread, FpuImage& image)
{
    Error e = thread_control(thread, abi::ThreadOp::read_fpu);
    if (e == Error::ok)
        __builtin_memcpy(image.bytes, utcb()->mr, sizeof image.bytes);
    return e;
}

inline Error write_fpu(Selector thread, const FpuImage& image)
{
    __builtin_memcpy(utcb()->mr, image.bytes, sizeof image.bytes);
    return thread_control(thread, abi::ThreadOp::write_fpu);
}

// Notifications -------------------------------------------------------------------------

inline Error notify_signal(Selector notification, uint64_t bits)
{
    return detail::syscall(abi::Syscall::notify_signal, notification, bits);
}

// Waits at most `timeout` ticks (kTimeoutZero: not at all) for bits to be set.
inline Error notify_wait(Selector notification, uint64_t& bits, uint64_t timeout = abi::kTimeoutNever)
{
    detail::Registers r{notification, 0, timeout};
    Error e = detail::syscall(abi::Syscall::notify_wait, r);
    bits = r.rsi;
    return e;
}

inline Error notify_poll(Selector notification, uint64_t& bits)
{
    detail::Registers r{notification};
    Error e = detail::syscall(abi::Syscall::notify_poll, r);
    bits = r.rsi;
    return e;
}

// IPC ----------------------------------------------------------------------------------

// A message: the tag, the first words (the rest are in utcb()->mr[6..]), and on receipt
// the badge of the capability it came through.
struct Message {
    abi::MessageTag tag{};
    uint64_t words[abi::kRegisterWords] = {};
    uint64_t badge = 0;
};

namespace detail {

inline Error ipc(abi::Syscall number, Selector endpoint, Message& m, uint64_t timeout)
{
    uint64_t result = static_cast<uint64_t>(number);
    uint64_t rdi = endpoint, rsi = m.tag.raw, rdx = timeout;
    register uint64_t w0 asm("r8") = m.words[0];
    register uint64_t w1 asm("r9") = m.words[1];
    register uint64_t w2 asm("r12") = m.words[2];
    register uint64_t w3 asm("r13") = m.words[3];
    register uint64_t w4 asm("r14") = m.words[4];
    register uint64_t w5 asm("r15") = m.words[5];
    asm volatile("syscall"
                 : "+a"(result), "+D"(rdi), "+S"(rsi), "+d"(rdx), "+r"(w0), "+r"(w1), "+r"(w2), "+r"(w3), "+r"(w4),
                   "+r"(w5)
                 :
                 : "rcx", "r10", "r11", "memory");
    m.tag.raw = rsi;
    m.badge = rdx;
    m.words[0] = w0;
    m.words[1] = w1;
    m.words[2] = w2;
    m.words[3] = w3;
    m.words[4] = w4;
    m.words[5] = w5;
    return static_cast<Error>(result);
}

} // namespace detail

// Sends `m` and waits for the reply, which replaces it.
inline Error call(Selector endpoint, Message& m, uint64_t timeout = abi::kTimeoutNever)
{
    return detail::ipc(abi::Syscall::ipc_call, endpoint, m, timeout);
}

inline Error send(Selector endpoint, const Message& m, uint64_t timeout = abi::kTimeoutNever)
{
    Message copy = m;
    return detail::ipc(abi::Syscall::ipc_send, endpoint, copy, timeout);
}

inline Error receive(Selector endpoint, Message& m, uint64_t timeout = abi::kTimeoutNever)
{
    return detail::ipc(abi::Syscall::ipc_receive, endpoint, m, timeout);
}

// Replies with `m` to the last caller, then waits on `endpoint`; the next message replaces `m`.
inline Error reply_wait(Selector endpoint, Message& m, uint64_t timeout = abi::kTimeoutNever)
{
    return detail::ipc(abi::Syscall::ipc_reply_wait, endpoint, m, timeout);
}

// `pages`: the 4 KiB pages the reply installed in the caller's space (a page-fault reply's
// pages, or those a normal reply's caller received), also with quota_exhausted.
inline Error reply(const Message& m, uint64_t& pages)
{
    Message copy = m;
    Error status = detail::ipc(abi::Syscall::ipc_reply, 0, copy, 0);
    pages = copy.tag.raw; // rsi
    return status;
}
inline Error reply(const Message& m)
{
    uint64_t pages = 0;
    return reply(m, pages);
}

// Deferred replies: keep the reply to the last caller in a reply object (ObjectKind::reply),
// answer through it later.
inline Error reply_save(Selector reply) { return detail::syscall(abi::Syscall::reply_save, reply); }
inline Error reply_to(Selector reply, const Message& m, uint64_t& pages)
{
    Message copy = m;
    Error status = detail::ipc(abi::Syscall::reply_to, reply, copy, 0);
    pages = copy.tag.raw; // rsi
    return status;
}
inline Error reply_to(Selector reply, const Message& m)
{
    uint64_t pages = 0;
    return reply_to(reply, m, pages);
}

// Binds a notification to a thread: its signals end the thread's receives (label
// abi::label::notification, word 0 = the bits). abi::kUnbind as `notification` unbinds.
inline Error bind_notification(Selector thread, Selector notification)
{
    return detail::syscall(abi::Syscall::thread_control, thread,
                           static_cast<uint64_t>(abi::ThreadOp::bind_notification), notification);
}

// Devices and memory --------------------------------------------------------------------

// Binds the interrupt line to a notification (irq_bind), or unmasks it again (irq_acknowledge).
inline Error irq_bind(Selector irq, Selector notification)
{
    return detail::syscall(abi::Syscall::irq_control, irq, static_cast<uint64_t>(abi::IrqOp::bind), notification);
}
inline Error irq_acknowledge(Selector irq)
{
    return detail::syscall(abi::Syscall::irq_control, irq, static_cast<uint64_t>(abi::IrqOp::acknowledge));
}

// Lets the caller's task use the ports of an I/O-port capability.
inline Error ioport_enable(Selector ports) { return detail::syscall(abi::Syscall::ioport_enable, ports); }

// Takes the flexpage's rights from every mapping derived from the caller's pages in it, and
// with `own` from the caller's own mappings too.
inline Error memory_unmap(abi::Flexpage page, bool own)
{
    return detail::syscall(abi::Syscall::memory_unmap, page.raw, own ? 1 : 0);
}

// Maps the caller's pages in `page` (with at most its rights) into `task` (a task capability
// with control) at `destination`; `mapped` says how many 4 KiB pages arrived, also when the
// task's quota ran out (quota_exhausted) part of the way.
inline Error memory_map_to(Selector task, abi::Flexpage page, uint64_t destination, uint64_t& mapped)
{
    detail::Registers r{task, page.raw, destination, 0, 0, 0};
    Error e = detail::syscall(abi::Syscall::memory_map_to, r);
    mapped = r.rsi;
    return e;
}

// Takes the flexpage's rights from `task`'s own mappings in it (at its addresses) and from what
// was derived from them; `affected` says how many of its pages lost a right.
inline Error memory_unmap_in(Selector task, abi::Flexpage page, uint64_t& affected)
{
    detail::Registers r{task, page.raw, 0, 0, 0, 0};
    Error e = detail::syscall(abi::Syscall::memory_unmap_in, r);
    affected = r.rsi;
    return e;
}

} // namespace l4
