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

// The bits of a page fault's error code the kernel reads (Intel SDM vol. 3, 4.7).
namespace page_fault_error {
constexpr uint64_t present = 1u << 0, write = 1u << 1, user = 1u << 2, reserved = 1u << 3, fetch = 1u << 4,
                   protection_key = 1u << 5;
} // namespace page_fault_error

namespace vector {
constexpr uint8_t page_fault = 14;
constexpr uint8_t pic_base = 0x20; // legacy PIC, remapped here and masked
constexpr uint8_t pic_lines = 16;
constexpr uint8_t apic_timer = 0x30;
constexpr uint8_t apic_spurious = 0xff;
} // namespace vector

void init();
const char* exception_name(uint64_t vector);

} // namespace interrupts
