// The Linux x86-64 process start-up stack, as execve leaves it for _start (the psABI's
// figure 3.9 "Initial Process Stack", and Linux's create_elf_tables):
//
//   stack_top ->  8 zero bytes (the end marker)
//                 the exec file name, envp strings, argv strings (NUL-terminated)
//                 "x86_64" (AT_PLATFORM), 16 random bytes (AT_RANDOM)
//                 padding to 16
//                 auxv: (type, value) pairs, AT_NULL last
//                 0, envp[envc - 1] .. envp[0]
//                 0, argv[argc - 1] .. argv[0]
//   rsp ->        argc                          (rsp % 16 == 0)
//
// (drawn from high addresses down). The auxv types and their order are Linux's, without
// AT_SYSINFO_EHDR (no vDSO yet).
#pragma once

#include <stddef.h>
#include <stdint.h>

namespace shim {

// NUL-terminated strings.
struct StringList {
    const char* const* items;
    size_t count;
};

// What the ELF loader found: the program headers' address in the process, and so on.
struct ExecFacts {
    uint64_t phdr, phent, phnum, entry;
    uint64_t base; // the interpreter's load address: 0 for a static program
};

struct StackRequest {
    // The buffer stands for the user addresses [stack_top - size, stack_top).
    uint8_t* buffer;
    size_t size;
    uint64_t stack_top; // 16-aligned
    StringList argv, envp;
    const char* exec_file_name; // AT_EXECFN
    ExecFacts exec;
    const uint8_t* random; // 16 bytes for AT_RANDOM
    uint64_t hwcap, hwcap2;
    uint32_t uid, euid, gid, egid;
};

// Where things went, as user addresses.
struct StackLayout {
    uint64_t rsp; // at argc
    uint64_t argv, envp, auxv;
    uint64_t random, platform, exec_file_name;
    size_t used; // bytes from rsp to stack_top
};

// Number of auxv pairs written, AT_NULL included.
constexpr size_t kAuxvPairs = 19;

// 0, -E2BIG (it does not fit, or a string is longer than MAX_ARG_STRLEN), or -EINVAL (a
// misaligned top, a buffer larger than the address space below the top).
[[nodiscard]] int build_start_stack(const StackRequest& request, StackLayout& out);

} // namespace shim
