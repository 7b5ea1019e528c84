// The boot CPU's local APIC (xAPIC, memory-mapped).
#pragma once

#include <stdint.h>

namespace apic {

// Maps and enables the local APIC; false when the CPU has none.
[[nodiscard]] bool init();

void end_of_interrupt();
// Whether an interrupt waits in the request register (it would be taken with IF set).
bool interrupt_requested();
uint32_t id();

// Timer: divide-by-16 input clock.
void timer_start_oneshot_masked(uint32_t count); // for calibration
uint32_t timer_current_count();
void timer_start_periodic(uint8_t vector, uint32_t count);
void timer_stop();

} // namespace apic
