// Kernel tick: calibrate the local APIC timer with PIT channel 2, then run it periodic.
#include "arch/x86_64/timer.hpp"

#include "arch/x86_64/apic.hpp"
#include "arch/x86_64/cpu.hpp"
#include "arch/x86_64/interrupts.hpp"

namespace timer {
namespace {

constexpr uint16_t kPitChannel2 = 0x42, kPitCommand = 0x43, kPitGate = 0x61;
constexpr uint32_t kPitHz = 1193182;
constexpr uint32_t kCalibrationDivisor = 100; // 10 ms
constexpr uint64_t kMaxPolls = 50'000'000;

volatile uint64_t tick_count;

// Waits for one 10 ms PIT one-shot on channel 2; false if its output never rose.
bool wait_pit_10ms()
{
    constexpr uint32_t count = kPitHz / kCalibrationDivisor;
    uint8_t gate = cpu::inb(kPitGate);
    cpu::outb(kPitGate, static_cast<uint8_t>(gate & ~0x03)); // gate low, speaker off
    cpu::outb(kPitCommand, 0xb0);                            // channel 2, lo/hi, mode 0
    cpu::outb(kPitChannel2, count & 0xff);
    cpu::outb(kPitChannel2, count >> 8);
    cpu::outb(kPitGate, static_cast<uint8_t>((gate & ~0x02) | 0x01)); // gate high: count
    for (uint64_t polls = 0; polls < kMaxPolls; ++polls)
        if (cpu::inb(kPitGate) & 0x20)
            return true;
    return false;
}

// The TSC rate CPUID states: leaf 0x15 when it names the crystal clock and the ratio (exact),
// else leaf 0x16's nominal base frequency in MHz; 0 when it states neither (QEMU's TCG CPUs).
uint64_t tsc_hz_from_cpuid()
{
    uint32_t max_leaf = cpu::cpuid(0).eax;
    if (max_leaf >= 0x15) {
        cpu::CpuidResult r = cpu::cpuid(0x15); // eax denominator, ebx numerator, ecx crystal Hz
        if (r.eax != 0 && r.ebx != 0 && r.ecx != 0)
            return uint64_t{r.ecx} * r.ebx / r.eax;
    }
    if (max_leaf >= 0x16)
        return uint64_t{cpu::cpuid(0x16).eax & 0xffff} * 1'000'000;
    return 0;
}

// An emulator's CPUID may state a rate its TSC does not run at: a stated rate is taken only
// within 1% of the measured one (then it is the more exact), or when nothing was measured.
bool believable(uint64_t stated, uint64_t measured)
{
    if (stated == 0)
        return false;
    if (measured == 0)
        return true;
    uint64_t difference = stated > measured ? stated - measured : measured - stated;
    return difference <= measured / 100;
}

} // namespace

Calibration init(uint32_t hz)
{
    Calibration c{};
    apic::timer_start_oneshot_masked(0xffffffff);
    uint64_t tsc_start = cpu::rdtsc();
    c.from_pit = wait_pit_10ms();
    uint64_t tsc_end = cpu::rdtsc();
    uint32_t elapsed = 0xffffffff - apic::timer_current_count();
    apic::timer_stop();

    if (c.from_pit && elapsed > 0) {
        c.apic_hz = uint64_t{elapsed} * kCalibrationDivisor;
        c.tsc_hz = (tsc_end - tsc_start) * kCalibrationDivisor;
    } else { // no PIT (some UEFI-only boards): assume a common 100 MHz bus
        c.apic_hz = 100'000'000 / 16;
        c.tsc_hz = 0;
    }
    uint64_t stated = tsc_hz_from_cpuid();
    if (believable(stated, c.tsc_hz)) {
        c.tsc_hz = stated;
        c.tsc_from_cpuid = true;
    }
    c.tsc_invariant = cpu::features().invariant_tsc;
    uint64_t count = c.apic_hz / hz;
    apic::timer_start_periodic(interrupts::vector::apic_timer, static_cast<uint32_t>(count > 0 ? count : 1));
    return c;
}

void tick() { tick_count = tick_count + 1; }
uint64_t ticks() { return tick_count; }

} // namespace timer
