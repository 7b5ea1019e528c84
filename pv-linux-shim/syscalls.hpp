// Linux x86-64 system calls of the shim's processes: numbers, arguments and results as Linux
// has them (man 2 syscalls), answered from the process's foreign-syscall message.
#pragma once

#include <stdint.h>

#include "l4/abi/utcb.hpp"
#include "process.hpp"

namespace shim {

// What became of a system call.
enum class Outcome : uint8_t {
    resume, // `result` goes to rax and the process goes on
    exited, // exit or exit_group (processes.cpp answers those; handle_syscall never says it)
    wait,   // it must wait (for input, or until process.wake_deadline): try it again after an event
};

Outcome handle_syscall(Process& process, const l4::abi::ForeignSyscall& call, uint64_t& result);

} // namespace shim
