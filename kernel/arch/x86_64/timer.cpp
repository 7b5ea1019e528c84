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
    uint64_t count = c.apic_hz / hz;
    apic::timer_start_periodic(interrupts::vector::apic_timer, static_cast<uint32_t>(count > 0 ? count : 1));
    return c;
}

void tick() { tick_count = tick_count + 1; }
uint64_t ticks() { return tick_count; }

} // namespace timer
