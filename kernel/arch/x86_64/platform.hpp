// The machine around the CPU: stopping it, and leaving QEMU under test.
#pragma once

#include <stdint.h>

#include "boot/cmdline.hpp"

namespace platform {

// Values written to QEMU's isa-debug-exit port; QEMU exits with (value << 1) | 1.
enum class ExitCode : uint8_t { success = 0x10, failure = 0x11, panic = 0x12 };

void set_exit_mode(cmdline::ExitMode mode);

// Leaves QEMU when the command line asked for it, otherwise halts this CPU for good.
[[noreturn]] void stop(ExitCode code);

// Leaves QEMU when the command line asked for it; otherwise does nothing.
void exit_if_requested(ExitCode code);
// Whether the command line asked for it (exit=qemu or exit=qemu-waiting).
bool leaves_emulator();
// Whether a machine whose threads all wait ends the run then (exit=qemu).
bool ends_when_quiet();

// Masks the legacy 8259 PICs (remapped first, so a spurious IRQ cannot look like an exception).
void disable_legacy_pic();

// Legacy PIC lines for user-level drivers (Irq objects).
void pic_mask(uint32_t line, bool masked);
void pic_end_of_interrupt(uint32_t line);
// IRQ 7 and 15 can be spurious: true when the PIC did not really raise `line`.
bool pic_spurious(uint32_t line);

// Whether an interrupt (local APIC or an unmasked PIC line) waits for the kernel to open
// interrupts: work done with them off ends its slice early when one does.
bool interrupt_waiting();

} // namespace platform
