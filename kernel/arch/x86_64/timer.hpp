// The periodic kernel tick, from the local APIC timer calibrated against the PIT.
#pragma once

#include <stdint.h>

namespace timer {

struct Calibration {
    uint64_t apic_hz;    // local APIC timer input after its divide-by-16
    uint64_t tsc_hz;     // 0: unknown
    bool from_pit;       // false: the PIT did not answer and defaults were assumed
    bool tsc_from_cpuid; // tsc_hz is what CPUID leaf 0x15 or 0x16 states
    bool tsc_invariant;  // CPUID 0x80000007 EDX bit 8
};

// Measures the APIC timer and TSC over 10 ms of PIT time, then ticks at `hz`. A TSC rate that
// CPUID (leaf 0x15, else 0x16) states replaces the measured one when it is within 1% of it, or
// when there was no PIT to measure against.
Calibration init(uint32_t hz);

void tick(); // from the timer interrupt
uint64_t ticks();

} // namespace timer
