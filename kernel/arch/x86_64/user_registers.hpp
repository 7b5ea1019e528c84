// A user thread's saved registers as the ABI's ExceptionState (exception IPC, read/write
// registers), and back, with what a user may not set filtered out.
#pragma once

#include "arch/x86_64/interrupts.hpp"
#include "l4/abi/utcb.hpp"

namespace user_registers {

l4::abi::ExceptionState save(const interrupts::InterruptFrame& frame, uint64_t vector = 0, uint64_t error_code = 0,
                             uint64_t fault_address = 0);

// False, changing nothing, when rip or rsp is not a user address. Flags a user may not
// choose (IF stays on, TF, IOPL and the rest stay off) are forced.
[[nodiscard]] bool load(interrupts::InterruptFrame& frame, const l4::abi::ExceptionState& state);

} // namespace user_registers
