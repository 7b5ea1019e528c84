// The IDT, the saved register frame of an interrupt, and the vectors the kernel uses.
#pragma once

#include <stdint.h>

namespace interrupts {

// Laid out by entry.S: general registers, then vector and error code, then the CPU's frame.
struct InterruptFrame {
    uint64_t r15, r14, r13, r12, r11, r10, r9, r8, rbp, rdi, rsi, rdx, rcx, rbx, rax;
    uint64_t vector, error_code;
    uint64_t rip, cs, rflags, rsp, ss;
};
static_assert(sizeof(InterruptFrame) == 22 * 8);

namespace vector {
constexpr uint8_t page_fault = 14;
constexpr uint8_t pic_base = 0x20;     // legacy PIC, remapped here and masked
constexpr uint8_t apic_timer = 0x30;
constexpr uint8_t apic_spurious = 0xff;
} // namespace vector

void init();
const char* exception_name(uint64_t vector);

} // namespace interrupts
