// Per-CPU state and the CPU features user mode relies on: syscall/sysret, SMEP, SMAP.
#include "arch/x86_64/cpu_local.hpp"

#include "arch/x86_64/cpu.hpp"

extern "C" char syscall_entry[], syscall_compat_entry[];

namespace cpu_local {
namespace {

constexpr uint64_t kEferSyscall = 1u << 0;
// Every flag user code controls that matters in ring 0 is cleared on syscall: TF (no single
// step in the kernel), IF (the kernel runs with interrupts off), DF (the ABI wants it clear),
// IOPL (cannot be raised from ring 3, cleared anyway), NT (iretq in 64-bit mode raises #GP
// with NT set), RF and AC (SMAP must hold in the kernel). The user's own flags come back
// from r11 unchanged.
constexpr uint64_t kSyscallMask =
    (1u << 8) | (1u << 9) | (1u << 10) | (3u << 12) | (1u << 14) | (1u << 16) | (1u << 18);

CpuLocal boot_cpu;

} // namespace

void init_boot_cpu()
{
    boot_cpu.self = &boot_cpu;
    boot_cpu.id = 0;
    cpu::wrmsr(cpu::msr::gs_base, reinterpret_cast<uint64_t>(&boot_cpu));
    cpu::wrmsr(cpu::msr::kernel_gs_base, 0);

    cpu::wrmsr(cpu::msr::efer, cpu::rdmsr(cpu::msr::efer) | kEferSyscall);
    // sysret loads CS from STAR[63:48] + 16 and SS from STAR[63:48] + 8.
    cpu::wrmsr(cpu::msr::star, (uint64_t{gdt::kSysretBase} << 48) | (uint64_t{gdt::kKernelCode} << 32));
    cpu::wrmsr(cpu::msr::lstar, reinterpret_cast<uint64_t>(syscall_entry));
    // No user segment runs in compatibility mode (gdt.cpp), but should one ever, its
    // `syscall` lands in a stub that makes it an invalid-opcode exception, never at 0.
    cpu::wrmsr(cpu::msr::cstar, reinterpret_cast<uint64_t>(syscall_compat_entry));
    cpu::wrmsr(cpu::msr::fmask, kSyscallMask);
    // sysenter is closed: a zero code selector makes it #GP (#UD on AMD in long mode).
    cpu::wrmsr(cpu::msr::sysenter_cs, 0);
    cpu::wrmsr(cpu::msr::sysenter_esp, 0);
    cpu::wrmsr(cpu::msr::sysenter_eip, 0);

    const cpu::Features& f = cpu::features();
    uint64_t cr4 = cpu::read_cr4();
    if (f.smep)
        cr4 |= cpu::cr4::smep;
    if (f.smap) {
        cr4 |= cpu::cr4::smap;
        boot_cpu.flags |= CPU_LOCAL_FLAG_CLAC; // entry.S clears a user's AC on interrupts
    }
    if (f.umip)
        cr4 |= cpu::cr4::umip; // sgdt, sidt, sldt, str, smsw fault in user mode
    // User code must not change GS or FS bases behind swapgs: rdgsbase and friends stay off.
    cr4 &= ~cpu::cr4::fsgsbase;
    // User code reads the clock with rdtsc (and rdtscp), whatever the firmware left.
    cr4 &= ~cpu::cr4::tsd;
    cpu::write_cr4(cr4);
}

void set_kernel_stack(uint64_t stack_top)
{
    this_cpu().kernel_stack = stack_top;
    gdt::set_kernel_stack(stack_top);
}

} // namespace cpu_local
