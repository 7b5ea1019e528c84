// Local APIC: enable, end of interrupt, and its timer.
#include "arch/x86_64/apic.hpp"

#include "arch/x86_64/cpu.hpp"
#include "arch/x86_64/interrupts.hpp"
#include "arch/x86_64/paging.hpp"

namespace apic {
namespace {

// Register offsets (Intel SDM vol. 3, local APIC register address map).
constexpr uint32_t kId = 0x20, kTaskPriority = 0x80, kEoi = 0xb0, kSpurious = 0xf0, kLvtTimer = 0x320,
                   kLvtLint0 = 0x350, kLvtLint1 = 0x360, kLvtError = 0x370, kTimerInitial = 0x380,
                   kTimerCurrent = 0x390, kTimerDivide = 0x3e0;
constexpr uint32_t kMasked = 1u << 16, kPeriodic = 1u << 17, kSoftwareEnable = 1u << 8;
constexpr uint32_t kDivideBy16 = 0x3;
constexpr uint32_t kDeliveryExtInt = 0x700, kDeliveryNmi = 0x400;
constexpr uint64_t kBaseEnable = 1u << 11;

volatile uint32_t* registers;

uint32_t read(uint32_t reg) { return registers[reg / 4]; }
void write(uint32_t reg, uint32_t value) { registers[reg / 4] = value; }

} // namespace

bool init()
{
    if (!cpu::features().apic)
        return false;
    uint64_t base = cpu::rdmsr(cpu::msr::apic_base);
    cpu::wrmsr(cpu::msr::apic_base, base | kBaseEnable);
    registers = static_cast<volatile uint32_t*>(paging::map_mmio(base & 0xffffff000, 4096));
    if (registers == nullptr)
        return false;
    write(kTaskPriority, 0);
    // Virtual-wire mode: the 8259 PIC reaches the CPU through LINT0 (ExtINT); its lines
    // stay masked at the PIC unless a driver binds one. LINT1 carries NMIs.
    write(kLvtLint0, kDeliveryExtInt);
    write(kLvtLint1, kDeliveryNmi);
    write(kLvtError, kMasked);
    write(kSpurious, kSoftwareEnable | interrupts::vector::apic_spurious);
    return true;
}

void end_of_interrupt() { write(kEoi, 0); }

bool interrupt_requested()
{
    constexpr uint32_t kRequest = 0x200; // eight 32-bit registers, 16 bytes apart
    for (uint32_t i = 0; i < 8; ++i)
        if (read(kRequest + i * 0x10) != 0)
            return true;
    return false;
}
uint32_t id() { return read(kId) >> 24; }

void timer_start_oneshot_masked(uint32_t count)
{
    write(kTimerDivide, kDivideBy16);
    write(kLvtTimer, kMasked | interrupts::vector::apic_timer);
    write(kTimerInitial, count);
}

uint32_t timer_current_count() { return read(kTimerCurrent); }

void timer_start_periodic(uint8_t vector, uint32_t count)
{
    write(kTimerDivide, kDivideBy16);
    write(kLvtTimer, kPeriodic | vector);
    write(kTimerInitial, count);
}

void timer_stop()
{
    write(kLvtTimer, kMasked);
    write(kTimerInitial, 0);
}

} // namespace apic
