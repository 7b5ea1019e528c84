// IDT setup and the C++ side of interrupt entry.
#include "arch/x86_64/interrupts.hpp"

#include "arch/x86_64/apic.hpp"
#include "arch/x86_64/cpu.hpp"
#include "arch/x86_64/gdt.hpp"
#include "arch/x86_64/panic_report.hpp"
#include "arch/x86_64/timer.hpp"
#include "arch/x86_64/platform.hpp"
#include "l4/abi/ipc.hpp"
#include "trap.hpp"

extern "C" char interrupt_stubs[], debug_entry[];

namespace interrupts {
namespace {

constexpr uint64_t kStubSize = 16; // entry.S aligns every stub to 16 bytes

struct [[gnu::packed]] Gate {
    uint16_t offset_low;
    uint16_t selector;
    uint8_t ist;
    uint8_t type_attributes;
    uint16_t offset_mid;
    uint32_t offset_high;
    uint32_t reserved;
};
static_assert(sizeof(Gate) == 16);

struct [[gnu::packed]] Pointer {
    uint16_t limit;
    uint64_t base;
};

alignas(16) Gate idt[256];

constexpr uint8_t kInterruptGate = 0x8e; // present, DPL 0, 64-bit interrupt gate
constexpr uint8_t kUserGate = 0xee;      // the same, but user code may raise it (int3, into)

void set_gate(uint8_t vector, uint8_t ist, uint8_t type = kInterruptGate, uint64_t handler = 0)
{
    if (handler == 0)
        handler = reinterpret_cast<uint64_t>(interrupt_stubs) + vector * kStubSize;
    idt[vector] = Gate{static_cast<uint16_t>(handler),
                       gdt::kKernelCode,
                       ist,
                       type,
                       static_cast<uint16_t>(handler >> 16),
                       static_cast<uint32_t>(handler >> 32),
                       0};
}

constexpr const char* kExceptionNames[32] = {"#DE divide error",
                                             "#DB debug",
                                             "NMI",
                                             "#BP breakpoint",
                                             "#OF overflow",
                                             "#BR bound range exceeded",
                                             "#UD invalid opcode",
                                             "#NM device not available",
                                             "#DF double fault",
                                             "coprocessor segment overrun",
                                             "#TS invalid TSS",
                                             "#NP segment not present",
                                             "#SS stack-segment fault",
                                             "#GP general protection",
                                             "#PF page fault",
                                             "reserved 15",
                                             "#MF x87 floating-point",
                                             "#AC alignment check",
                                             "#MC machine check",
                                             "#XM SIMD floating-point",
                                             "#VE virtualization",
                                             "#CP control protection",
                                             "reserved 22",
                                             "reserved 23",
                                             "reserved 24",
                                             "reserved 25",
                                             "reserved 26",
                                             "reserved 27",
                                             "#HV hypervisor injection",
                                             "#VC VMM communication",
                                             "#SX security",
                                             "reserved 31"};

// The access a page fault's error code describes, as page rights.
uint64_t page_fault_access(uint64_t error_code)
{
    return (error_code & page_fault_error::fetch)   ? l4::abi::page_rights::execute
           : (error_code & page_fault_error::write) ? l4::abi::page_rights::write
                                                    : l4::abi::page_rights::read;
}

} // namespace

const char* exception_name(uint64_t vector) { return vector < 32 ? kExceptionNames[vector] : "interrupt"; }

void init()
{
    for (unsigned v = 0; v < 256; ++v)
        set_gate(static_cast<uint8_t>(v), 0);
    set_gate(8, gdt::kIstDoubleFault);
    set_gate(2, gdt::kIstNmi);
    set_gate(18, gdt::kIstMachineCheck);
    set_gate(1, gdt::kIstDebug, kInterruptGate, reinterpret_cast<uint64_t>(debug_entry));
    set_gate(3, 0, kUserGate);
    set_gate(4, 0, kUserGate);
    Pointer pointer{sizeof(idt) - 1, reinterpret_cast<uint64_t>(idt)};
    asm volatile("lidt %0" ::"m"(pointer));
}

} // namespace interrupts

extern "C" void interrupt_dispatch(interrupts::InterruptFrame* frame)
{
    using namespace interrupts;
    uint64_t v = frame->vector;
    if (v < 32 && (frame->cs & 3) == 0)
        panic_exception(*frame); // an exception in the kernel is a kernel bug
    if (v < 32) {
        uint64_t fault_address = v == vector::page_fault ? cpu::read_cr2() : 0;
        if (v == vector::page_fault &&
            trap::user_page_fault(fault_address, page_fault_access(frame->error_code),
                                  !(frame->error_code & page_fault_error::present), frame->rip))
            return;
        trap::user_exception(v, frame->error_code, fault_address, frame->rip);
        return;
    }

    switch (v) {
    case vector::apic_timer:
        timer::tick();
        apic::end_of_interrupt();
        trap::timer_tick(timer::ticks());
        return;
    case vector::apic_spurious: return; // the APIC wants no EOI for it
    default:
        if (v >= vector::pic_base && v < vector::pic_base + vector::pic_lines) {
            auto line = static_cast<uint32_t>(v - vector::pic_base);
            if ((line == 7 || line == 15) && platform::pic_spurious(line))
                return;
            trap::device_interrupt(line);
            return;
        }
        panic_exception(*frame);
    }
}
