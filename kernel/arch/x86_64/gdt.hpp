// Segments and the task-state segment. Long mode ignores segment bases and limits; the GDT
// exists for the privilege levels, the syscall/sysret selector layout and the TSS.
#pragma once

#include <stddef.h>
#include <stdint.h>

namespace gdt {

// Order fixed by sysret: user data must sit 8 below user code, and STAR[63:48] names the
// slot below that (where sysret to 32-bit code would find its CS). That slot stays a null
// descriptor: no user segment runs in compatibility mode, so a far jump there is a #GP.
constexpr uint16_t kKernelCode = 0x08;
constexpr uint16_t kKernelData = 0x10;
constexpr uint16_t kSysretBase = 0x18;
constexpr uint16_t kUserData = 0x20 | 3;
constexpr uint16_t kUserCode = 0x28 | 3;
constexpr uint16_t kTss = 0x30;

// Interrupt stack table slots (1-based as the IDT encodes them).
constexpr uint8_t kIstDoubleFault = 1;
constexpr uint8_t kIstNmi = 2;
constexpr uint8_t kIstMachineCheck = 3;
constexpr uint8_t kIstDebug = 4; // #DB may hit the first instruction of syscall_entry, on the user stack

constexpr size_t kIoBitmapBytes = 65536 / 8;

void init();

// The I/O permission bitmap for ring 3 from now on (nullptr: no port); a task's bitmap
// changes only through forget_io_bitmap() followed by set_io_bitmap().
void set_io_bitmap(const uint8_t* bitmap);
void forget_io_bitmap(const uint8_t* bitmap);
void set_kernel_stack(uint64_t top); // stack for entries from ring 3 (TSS.rsp0)

} // namespace gdt
