// Per-CPU state and the CPU features user mode relies on: syscall/sysret, SMEP, SMAP.
#include "arch/x86_64/cpu_local.hpp"

#include "arch/x86_64/cpu.hpp"

extern "C" char syscall_entry[];

namespace cpu_local {
namespace {

constexpr uint32_t kGsBase = 0xc0000101, kKernelGsBase = 0xc0000102;
constexpr uint32_t kStar = 0xc0000081, kLstar = 0xc0000082, kFmask = 0xc0000084;
constexpr uint64_t kEferSyscall = 1u << 0;
// Flags cleared on syscall: interrupts (the kernel runs with them off), direction, trap, AC.
constexpr uint64_t kSyscallMask = (1u << 9) | (1u << 10) | (1u << 8) | (1u << 18);

CpuLocal boot_cpu;

} // namespace

void init_boot_cpu()
{
    boot_cpu.self = &boot_cpu;
    boot_cpu.id = 0;
    cpu::wrmsr(kGsBase, reinterpret_cast<uint64_t>(&boot_cpu));
    cpu::wrmsr(kKernelGsBase, 0);

    cpu::wrmsr(cpu::msr::efer, cpu::rdmsr(cpu::msr::efer) | kEferSyscall);
    // sysret loads CS from STAR[63:48] + 16 and SS from STAR[63:48] + 8.
    cpu::wrmsr(kStar, (uint64_t{gdt::kUserCode32 & ~3} << 48) | (uint64_t{gdt::kKernelCode} << 32));
    cpu::wrmsr(kLstar, reinterpret_cast<uint64_t>(syscall_entry));
    cpu::wrmsr(kFmask, kSyscallMask);

    const cpu::Features& f = cpu::features();
    uint64_t cr4 = cpu::read_cr4();
    if (f.smep)
        cr4 |= cpu::cr4::smep;
    if (f.smap)
        cr4 |= cpu::cr4::smap;
    cpu::write_cr4(cr4);
}

void set_kernel_stack(uint64_t stack_top)
{
    this_cpu().kernel_stack = stack_top;
    gdt::set_kernel_stack(stack_top);
}

} // namespace cpu_local
