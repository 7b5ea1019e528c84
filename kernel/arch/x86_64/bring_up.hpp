// Bringing up the boot CPU: the steps main.cpp takes in its generic order, each hiding the
// x86 work behind it (GDT, IDT, syscall MSRs, FPU, PIC and local APIC, the timer).
#pragma once

#include <stdint.h>

#include "arch/x86_64/timer.hpp"

namespace arch {

// The console, descriptor tables, CPU features, per-CPU state and FPU: enough to run C++
// and report a panic. First thing after the switch to long mode.
void init_boot_cpu();

// Interrupt controllers and the tick at `hz` (panics without a local APIC).
timer::Calibration init_timer(uint32_t hz);

// The banner's CPU lines: vendor, model, the features the kernel looks at.
void print_cpu();
// How the TLB is run: PCID on or off and why (`pcid_allowed`: not turned off by pcid=off).
void print_tlb_mode(bool pcid_allowed);

} // namespace arch
