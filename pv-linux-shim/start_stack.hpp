// A Linux process's start-up stack written into the process (exec_stack.hpp lays it out).
#pragma once

#include <stdint.h>

#include "elf_exec.hpp"
#include "process.hpp"

namespace shim {

struct StartStack {
    const char* const* argv;
    uint64_t argc;
    const char* const* envp;
    uint64_t envc;
    const char* execfn; // AT_EXECFN: the path the program was run by
    const ExecImage& exec;
};

// Lays the stack out (before the old program goes, so that E2BIG leaves it running): 0, or
// -E2BIG when it does not fit in kMaxStartStack bytes.
int prepare_start_stack(const StartStack& stack, uint64_t& rsp);
// Writes what prepare_start_stack laid out below kStackTop; false when the process's memory
// cannot be had.
bool write_start_stack(Process& process);

} // namespace shim
