// x86-64 instructions the kernel needs, as inline functions, and the CPU's feature set.
#pragma once

#include <stdint.h>

namespace cpu {

inline void outb(uint16_t port, uint8_t value) { asm volatile("outb %0, %1" ::"a"(value), "Nd"(port)); }
inline void outl(uint16_t port, uint32_t value) { asm volatile("outl %0, %1" ::"a"(value), "Nd"(port)); }
inline uint8_t inb(uint16_t port)
{
    uint8_t value;
    asm volatile("inb %1, %0" : "=a"(value) : "Nd"(port));
    return value;
}

inline uint64_t rdmsr(uint32_t msr)
{
    uint32_t lo, hi;
    asm volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr));
    return (uint64_t{hi} << 32) | lo;
}
inline void wrmsr(uint32_t msr, uint64_t value)
{
    asm volatile("wrmsr" ::"c"(msr), "a"(static_cast<uint32_t>(value)), "d"(static_cast<uint32_t>(value >> 32)));
}

struct CpuidResult {
    uint32_t eax, ebx, ecx, edx;
};
inline CpuidResult cpuid(uint32_t leaf, uint32_t subleaf = 0)
{
    CpuidResult r;
    asm volatile("cpuid" : "=a"(r.eax), "=b"(r.ebx), "=c"(r.ecx), "=d"(r.edx) : "a"(leaf), "c"(subleaf));
    return r;
}

inline uint64_t rdtsc()
{
    uint32_t lo, hi;
    asm volatile("rdtsc" : "=a"(lo), "=d"(hi));
    return (uint64_t{hi} << 32) | lo;
}

inline uint64_t read_cr0()
{
    uint64_t v;
    asm volatile("mov %%cr0, %0" : "=r"(v));
    return v;
}
inline uint64_t read_cr2()
{
    uint64_t v;
    asm volatile("mov %%cr2, %0" : "=r"(v));
    return v;
}
inline uint64_t read_cr3()
{
    uint64_t v;
    asm volatile("mov %%cr3, %0" : "=r"(v));
    return v;
}
inline uint64_t read_cr4()
{
    uint64_t v;
    asm volatile("mov %%cr4, %0" : "=r"(v));
    return v;
}
inline void write_cr3(uint64_t v) { asm volatile("mov %0, %%cr3" ::"r"(v) : "memory"); }
inline void write_cr4(uint64_t v) { asm volatile("mov %0, %%cr4" ::"r"(v) : "memory"); }

inline void enable_interrupts() { asm volatile("sti" ::: "memory"); }
inline void disable_interrupts() { asm volatile("cli" ::: "memory"); }
inline void halt() { asm volatile("hlt" ::: "memory"); }
// Enables interrupts and halts with no window between them (sti's one-instruction shadow).
inline void enable_interrupts_and_halt() { asm volatile("sti; hlt" ::: "memory"); }
inline void pause() { asm volatile("pause"); }

[[noreturn]] inline void halt_forever()
{
    for (;;)
        asm volatile("cli; hlt");
}

// Every model-specific register the kernel touches (Intel SDM vol. 4).
namespace msr {
constexpr uint32_t apic_base = 0x1b;
constexpr uint32_t sysenter_cs = 0x174, sysenter_esp = 0x175, sysenter_eip = 0x176;
constexpr uint32_t efer = 0xc0000080;
constexpr uint32_t star = 0xc0000081, lstar = 0xc0000082, cstar = 0xc0000083, fmask = 0xc0000084;
constexpr uint32_t fs_base = 0xc0000100, gs_base = 0xc0000101;
constexpr uint32_t kernel_gs_base = 0xc0000102; // the user's GS while in the kernel (swapgs)
} // namespace msr

namespace cr4 {
constexpr uint64_t tsd = 1u << 2; // rdtsc only in ring 0
constexpr uint64_t pge = 1u << 7;
constexpr uint64_t umip = 1u << 11;
constexpr uint64_t fsgsbase = 1u << 16;
constexpr uint64_t pcide = 1u << 17;
constexpr uint64_t smep = 1u << 20;
constexpr uint64_t smap = 1u << 21;
} // namespace cr4

// What the CPU offers, read once at boot.
struct Features {
    char vendor[13];
    char brand[49];
    uint32_t family, model, stepping;
    bool nx, pge, pcid, invpcid, smep, smap, x2apic, tsc_deadline, invariant_tsc, huge_1g, apic, fsgsbase, umip;
};

const Features& features();
void detect_features();

} // namespace cpu
