// The boot-information pages the kernel maps read-only into each boot task: physical memory
// as sigma0 may hand it out, the boot modules, the kernel command line.
#pragma once

#include <stdint.h>

namespace l4::abi {

constexpr uint64_t kBootInfoAddress = 0x00007fffbffe0000;
constexpr uint64_t kBootInfoMagic = 0x314c4552'5453454b; // "KESTREL1"

// sigma0 sees physical address P at kSigma0Window + P: touching it there makes the kernel map
// it (free memory, module data, device memory; never the kernel's).
constexpr uint64_t kSigma0Window = 0x0000400000000000;

enum class MemoryKind : uint32_t {
    free = 1,     // sigma0's to hand out
    module = 2,   // a boot module's contents (sigma0 maps them to the root task on request)
    device = 3,   // not RAM: device memory the firmware reported (MMIO)
    firmware = 4, // ACPI tables and other firmware data
};

struct MemoryRegion {
    uint64_t base;
    uint64_t size;
    MemoryKind kind;
    uint32_t reserved;
};

struct BootModule {
    uint64_t base;
    uint64_t size;
    char cmdline[112]; // NUL-terminated, cut if longer
};

constexpr uint64_t kMaxBootRegions = 160;
constexpr uint64_t kMaxBootModules = 16;

struct BootInfo {
    uint64_t magic;
    uint64_t region_count;
    uint64_t module_count;
    uint64_t reserved;
    MemoryRegion regions[kMaxBootRegions]; // ascending, non-overlapping
    BootModule modules[kMaxBootModules];
    char cmdline[256]; // the kernel's
    // Time (docs/boot.md, "Time"): user code may read the TSC with rdtsc.
    uint64_t tsc_hz;     // TSC ticks per second; 0: unknown (no PIT and no CPUID leaf 0x15/0x16)
    uint64_t tick_hz;    // kernel timer ticks per second (hz=N): the unit of IPC timeouts
    uint64_t tick_ns;    // one tick in nanoseconds, 10^9 / tick_hz rounded down
    uint64_t time_flags; // kTimeTscInvariant, kTimeTscFromCpuid
    // Kernel memory (docs/syscalls.md, "Boot tasks"): the quota each boot task's factory
    // (boot::kFactorySelector) held when it started, in bytes, sized by the machine's memory.
    uint64_t sigma0_quota; // boot module 0; everything when there is no root task
    uint64_t root_quota;   // boot module 1; 0 when there is none
    uint64_t boot_flags;   // kBootLeavesEmulator
};

constexpr uint64_t kTimeTscInvariant = 1u << 0; // CPUID 0x80000007 EDX bit 8: constant rate, also in sleep states
constexpr uint64_t kTimeTscFromCpuid = 1u << 1; // tsc_hz is the CPU's statement (leaf 0x15/0x16), not measured

// Booted with exit=qemu: the kernel leaves the emulator when it is done, and a root task that
// ends the run (vmm-server, when its guests have stopped) may leave it too (docs/boot.md).
constexpr uint64_t kBootLeavesEmulator = 1u << 0;

constexpr uint64_t kBootInfoPages = (sizeof(BootInfo) + 4095) / 4096;

} // namespace l4::abi
