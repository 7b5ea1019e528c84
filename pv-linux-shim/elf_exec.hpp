// What execve needs to know of a static Linux program before loading it: ET_EXEC at its own
// addresses or static-PIE (ET_DYN without PT_INTERP) moved to a base, where its program
// headers are in memory (AT_PHDR), its PT_TLS and PT_GNU_STACK. Dynamically linked programs
// (PT_INTERP) are refused with ENOEXEC: the shim has no ld.so to run.
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "common/elf.hpp"

namespace shim {

struct ExecImage {
    elf::Image image; // segments, entry and PT_TLS, all biased
    uint64_t phdr;    // the program headers' address in the process (AT_PHDR)
    uint64_t phent, phnum;
    bool has_gnu_stack;    // a PT_GNU_STACK header was there
    bool executable_stack; // it asked for PF_X
};

// -ENOEXEC for anything the ELF reader refuses, a PT_INTERP, or program headers outside the
// loaded segments (a static libc reads them through AT_PHDR to find its TLS). `pie_base` is
// where a static-PIE goes, rounded up to its largest segment alignment.
[[nodiscard]] int prepare_exec(const void* file, size_t size, uint64_t pie_base, ExecImage& out);

} // namespace shim
