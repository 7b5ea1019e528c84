// A user thread's saved registers as the ABI's ExceptionState (exception IPC, read/write
// registers), and back, with what a user may not set filtered out.
#pragma once

#include "arch/x86_64/interrupts.hpp"
#include "l4/abi/utcb.hpp"

namespace user_registers {

// `fs_base` is the thread's TLS base (Thread::fs_base), which the frame does not hold.
l4::abi::ExceptionState save(const interrupts::InterruptFrame& frame, uint64_t fs_base, uint64_t vector = 0,
                             uint64_t error_code = 0, uint64_t fault_address = 0);

// A foreign-ABI syscall's registers, the short exception message.
l4::abi::ForeignSyscall save_syscall(const interrupts::InterruptFrame& frame);

// False, changing nothing, when rip, rsp or the FS base is not a user address (the FS base
// as ThreadOp::set_fs_base checks it). Flags a user may not choose (IF stays on, TF, IOPL and
// the rest stay off) are forced. The new FS base goes to `fs_base` (Thread::fs_base): the
// thread must not be running, as its MSR is not written.
[[nodiscard]] bool load(interrupts::InterruptFrame& frame, uint64_t& fs_base, const l4::abi::ExceptionState& state);

} // namespace user_registers
