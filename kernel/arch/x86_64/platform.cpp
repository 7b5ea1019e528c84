// Legacy PIC, and the way out of QEMU for tests.
#include "arch/x86_64/platform.hpp"

#include "arch/x86_64/apic.hpp"

#include "arch/x86_64/cpu.hpp"
#include "arch/x86_64/interrupts.hpp"
#include "arch/x86_64/serial.hpp"
#include "log.hpp"

namespace platform {
namespace {

constexpr uint16_t kDebugExitPort = 0xf4;       // QEMU's isa-debug-exit
constexpr uint16_t kBochsShutdownPort = 0x8900; // Bochs quits on "Shutdown" written here
constexpr uint16_t kPic1Command = 0x20, kPic1Data = 0x21, kPic2Command = 0xa0, kPic2Data = 0xa1;

cmdline::ExitMode exit_mode = cmdline::ExitMode::halt;

} // namespace

void set_exit_mode(cmdline::ExitMode mode) { exit_mode = mode; }

void stop(ExitCode code)
{
    cpu::disable_interrupts();
    if (exit_mode != cmdline::ExitMode::halt) {
        // Said first: Bochs has no exit port, so its harness reads the code from the log.
        klog::print("leaving the emulator: exit code {:#x}\n", static_cast<unsigned>(code));
        serial::drain();
        cpu::outb(kDebugExitPort, static_cast<uint8_t>(code));
        for (const char* c = "Shutdown"; *c != '\0'; ++c)
            cpu::outb(kBochsShutdownPort, static_cast<uint8_t>(*c));
    }
    cpu::halt_forever();
}

bool leaves_emulator() { return exit_mode != cmdline::ExitMode::halt; }

bool ends_when_quiet() { return exit_mode == cmdline::ExitMode::qemu; }

void exit_if_requested(ExitCode code)
{
    if (leaves_emulator())
        stop(code);
}

void disable_legacy_pic()
{
    cpu::outb(kPic1Command, 0x11); // ICW1: initialise, expect ICW4
    cpu::outb(kPic2Command, 0x11);
    cpu::outb(kPic1Data, interrupts::vector::pic_base); // ICW2: vector offsets
    cpu::outb(kPic2Data, interrupts::vector::pic_base + 8);
    cpu::outb(kPic1Data, 0x04); // ICW3: slave on IRQ2
    cpu::outb(kPic2Data, 0x02);
    cpu::outb(kPic1Data, 0x01); // ICW4: 8086 mode
    cpu::outb(kPic2Data, 0x01);
    cpu::outb(kPic1Data, 0xff); // mask everything
    cpu::outb(kPic2Data, 0xff);
}

void pic_mask(uint32_t line, bool masked)
{
    uint16_t port = line < 8 ? kPic1Data : kPic2Data;
    auto bit = static_cast<uint8_t>(1u << (line % 8));
    uint8_t mask = cpu::inb(port);
    cpu::outb(port, static_cast<uint8_t>(masked ? (mask | bit) : (mask & ~bit)));
    if (line >= 8 && !masked) // the slave reaches the CPU through the master's line 2
        pic_mask(2, false);
}

void pic_end_of_interrupt(uint32_t line)
{
    constexpr uint8_t kEndOfInterrupt = 0x20;
    if (line >= 8)
        cpu::outb(kPic2Command, kEndOfInterrupt);
    cpu::outb(kPic1Command, kEndOfInterrupt);
}

bool pic_spurious(uint32_t line)
{
    constexpr uint8_t kReadInService = 0x0b;
    uint16_t command = line < 8 ? kPic1Command : kPic2Command;
    cpu::outb(command, kReadInService);
    if (cpu::inb(command) & (1u << (line % 8)))
        return false;
    if (line >= 8) // the master saw the slave's line 2 and wants its end of interrupt
        cpu::outb(kPic1Command, 0x20);
    return true;
}

bool interrupt_waiting()
{
    if (apic::interrupt_requested())
        return true;
    constexpr uint8_t kReadRequests = 0x0a;
    cpu::outb(kPic1Command, kReadRequests);
    cpu::outb(kPic2Command, kReadRequests);
    uint32_t requests = cpu::inb(kPic1Command) | (uint32_t{cpu::inb(kPic2Command)} << 8);
    uint32_t masks = cpu::inb(kPic1Data) | (uint32_t{cpu::inb(kPic2Data)} << 8);
    return (requests & ~masks & ~uint32_t{1u << 2}) != 0; // line 2 only carries the slave
}

} // namespace platform
