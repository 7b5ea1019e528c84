// System-call numbers and the register convention.
//
// `syscall` with the number in rax and arguments in rdi, rsi, rdx, r10, r8, r9 (the CPU
// clobbers rcx and r11). The kernel returns an l4::abi::Error in rax and results in the
// argument registers; it preserves every other register.
#pragma once

#include <stdint.h>

namespace l4::abi {

enum class Syscall : uint64_t {
    debug_write = 0,   // rdi = text, rsi = length (<= kMaxDebugWrite): write to the kernel console
    thread_exit = 1,   // the calling thread stops for good; never returns
    yield = 2,         // give the rest of the time slice to threads of the same priority
    count
};

constexpr uint64_t kMaxDebugWrite = 4096;

} // namespace l4::abi
