// Trap policy: what a user exception, a page fault, the timer and a device interrupt become.
// Architecture code decodes the vector and calls these; the decisions are made here. This is
// the whole interface arch/ calls into the generic kernel for traps.
#pragma once

#include <stdint.h>

namespace trap {

// A page fault of the running user thread: `access` is the l4::abi::page_rights the access
// needed, `not_present` whether the page was missing (not a protection fault), `ip` where.
// False when the thread has no pager: then it is an exception like any other.
[[nodiscard]] bool user_page_fault(uint64_t address, uint64_t access, bool not_present, uint64_t ip);

// Any other CPU exception of the running user thread (vector, the CPU's error code, and the
// fault address where the CPU gives one).
void user_exception(uint64_t vector, uint64_t error_code, uint64_t fault_address, uint64_t ip);

// A tick of the scheduler's timer (already counted and acknowledged by arch).
void timer_tick(uint64_t now);

// A device interrupt on legacy line `line` (the PIC's), not spurious.
void device_interrupt(uint32_t line);

} // namespace trap
