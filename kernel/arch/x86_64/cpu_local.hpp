// Per-CPU state, reached through GS in the kernel.
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "arch/x86_64/cpu_local_offsets.hpp"
#include "arch/x86_64/gdt.hpp"

class Thread;

struct CpuLocal {
    CpuLocal* self;        // for reading the pointer itself through %gs:0
    uint64_t kernel_stack; // top of the running thread's kernel stack (syscall entry)
    uint64_t user_rsp;     // scratch for syscall entry
    Thread* current;       // the thread running on this CPU
    Thread* idle;          // what runs when nothing else can
    uint32_t id;
    uint32_t flags; // CPU_LOCAL_FLAG_*, for the entry assembly
};

static_assert(offsetof(CpuLocal, self) == CPU_LOCAL_SELF);
static_assert(offsetof(CpuLocal, kernel_stack) == CPU_LOCAL_KERNEL_STACK);
static_assert(offsetof(CpuLocal, user_rsp) == CPU_LOCAL_USER_RSP);
static_assert(offsetof(CpuLocal, flags) == CPU_LOCAL_FLAGS);
static_assert(USER_DATA_SELECTOR == gdt::kUserData && USER_CODE_SELECTOR == gdt::kUserCode);

// The host unit tests link the generic code against a fake arch (test/unit/fake_arch/), which
// defines the few arch functions generic code calls; the kernel has them inline.
#ifdef KESTREL_FAKE_ARCH
CpuLocal& this_cpu();
#else
inline CpuLocal& this_cpu()
{
    CpuLocal* self;
    asm volatile("mov %%gs:0, %0" : "=r"(self));
    return *self;
}
#endif

namespace cpu_local {

// GS for the boot CPU, the syscall MSRs, and SMEP/SMAP where the CPU has them.
void init_boot_cpu();

// Makes `stack_top` the stack for the next entry from user mode on this CPU.
void set_kernel_stack(uint64_t stack_top);

} // namespace cpu_local
