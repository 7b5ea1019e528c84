// The periodic kernel tick, from the local APIC timer calibrated against the PIT.
#pragma once

#include <stdint.h>

namespace timer {

struct Calibration {
    uint64_t apic_hz; // local APIC timer input after its divide-by-16
    uint64_t tsc_hz;
    bool from_pit; // false: the PIT did not answer and defaults were assumed
};

// Measures the APIC timer and TSC over 10 ms of PIT time, then ticks at `hz`.
Calibration init(uint32_t hz);

void tick(); // from the timer interrupt
uint64_t ticks();

} // namespace timer
