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

// Masks the legacy 8259 PICs (remapped first, so a spurious IRQ cannot look like an exception).
void disable_legacy_pic();

} // namespace platform
