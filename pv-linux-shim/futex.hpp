// futex(2) for the shim's processes: FUTEX_WAIT and FUTEX_WAKE, and their _BITSET forms, with
// FUTEX_PRIVATE_FLAG and timeouts. A waiter waits for the word's place: the shim page and
// offset when the word is in a MAP_SHARED mapping (one word for every process that has it, as
// after fork), else its process and address (a private futex, or a private page).
#pragma once

#include <stdint.h>

#include "l4/abi/utcb.hpp"
#include "process.hpp"
#include "syscalls.hpp"

namespace shim {

// futex(uaddr = rdi, op = rsi, val = rdx, timeout = r10, uaddr2 = r8, val3 = r9). A wait is
// Outcome::wait until a wake or its deadline (Process::wake_deadline), tried again after events.
Outcome sys_futex(Process& p, const l4::abi::ForeignSyscall& c, uint64_t& result);

} // namespace shim
