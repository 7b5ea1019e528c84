// System-call bindings: one inline function per call, following l4/abi/syscall.hpp.
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "l4/abi/error.hpp"
#include "l4/abi/syscall.hpp"

namespace l4 {

using abi::Error;

namespace detail {

inline uint64_t syscall(abi::Syscall number, uint64_t a0 = 0, uint64_t a1 = 0, uint64_t a2 = 0)
{
    uint64_t result;
    asm volatile("syscall"
                 : "=a"(result), "+D"(a0), "+S"(a1), "+d"(a2)
                 : "a"(static_cast<uint64_t>(number))
                 : "rcx", "r11", "memory");
    return result;
}

} // namespace detail

inline Error debug_write(const char* text, size_t length)
{
    return static_cast<Error>(detail::syscall(abi::Syscall::debug_write, reinterpret_cast<uint64_t>(text), length));
}

inline Error yield() { return static_cast<Error>(detail::syscall(abi::Syscall::yield)); }

[[noreturn]] inline void thread_exit()
{
    detail::syscall(abi::Syscall::thread_exit);
    __builtin_unreachable();
}

// A raw call with any number, for tests of the kernel's checks.
inline Error raw_syscall(uint64_t number, uint64_t a0 = 0, uint64_t a1 = 0, uint64_t a2 = 0)
{
    return static_cast<Error>(detail::syscall(static_cast<abi::Syscall>(number), a0, a1, a2));
}

} // namespace l4
