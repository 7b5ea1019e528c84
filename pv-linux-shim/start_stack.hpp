// A Linux process's start-up stack (the x86-64 psABI's): argc, argv, envp, the auxiliary
// vector, and the strings they point to, written at the top of the process's stack.
#pragma once

#include <stdint.h>

#include "common/elf.hpp"
#include "process.hpp"

namespace shim {

struct StartStack {
    const char* const* argv;
    uint64_t argc;
    const char* const* envp;
    uint64_t envc;
    const char* execfn;      // AT_EXECFN: the path the program was run by
    const elf::Image& image; // AT_PHDR, AT_PHNUM, AT_ENTRY
};

// Writes the stack below kStackTop; `rsp` is where argc lies (16-byte aligned). False when it
// does not fit in a page's worth of stack or the process's memory cannot be had.
bool write_start_stack(Process& process, const StartStack& stack, uint64_t& rsp);

} // namespace shim
