// The shim's processes: the table of them, and what concerns more than one process (fork,
// execve, wait4, exit), on top of the one-process system calls of syscalls.cpp. One endpoint
// takes every process's system calls and page faults, badged with its pid.
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "common/elf.hpp"

namespace shim {

// The initramfs the programs come from.
struct Initramfs {
    const uint8_t* archive;
    size_t size;
};

// Starts `argv[0]` from the initramfs as init (pid 1) and serves every process until init
// exits; init's exit status (128 + the signal when it was killed), or 127 when it could not
// start (and says why).
uint64_t run_init(const Initramfs& initramfs, const char* const* argv, uint64_t argc);

} // namespace shim
