// How the VMM leaves the emulator when every guest has stopped (docs/hypercalls.md, "Exit
// status"), so that a test or a CI job reads the guests' result in QEMU's exit code. Portable:
// the host tests include it.
#pragma once

#include <stdint.h>

namespace vmm {

// QEMU's isa-debug-exit leaves with (value << 1) | 1 in an 8-bit exit code: statuses above
// kMaxExitStatus read as kMaxExitStatus.
constexpr uint64_t kMaxExitStatus = 127;
// The status of a guest stopped on a fault (and not restarted), or one that could not start.
constexpr uint64_t kFaultStatus = kMaxExitStatus;

constexpr uint64_t clamp_status(uint64_t status) { return status < kMaxExitStatus ? status : kMaxExitStatus; }

// The run's status from the guests' last ones: the largest, so any guest's failure shows.
constexpr uint64_t combined_status(const uint64_t* statuses, uint64_t count)
{
    uint64_t worst = 0;
    for (uint64_t i = 0; i < count; ++i)
        if (clamp_status(statuses[i]) > worst)
            worst = clamp_status(statuses[i]);
    return worst;
}

// The exit code QEMU gives when `status` is written to isa-debug-exit.
constexpr uint64_t qemu_exit_code(uint64_t status) { return clamp_status(status) << 1 | 1; }

} // namespace vmm
