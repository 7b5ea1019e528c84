// The boot-information pages for the boot tasks (l4/abi/boot_info.hpp): sigma0's memory is the
// free memory above the kernel pool's floor (memory::pool_floor).
#pragma once

#include <stdint.h>

#include "arch/x86_64/timer.hpp"
#include "boot/cmdline.hpp"
#include "boot/multiboot2.hpp"
#include "l4/abi/boot_info.hpp"

namespace boot_info {

// Fills the pages (after the frame allocator, the kernel heap and the timer are up, the timer
// ticking at options.timer_hz); false when out of memory.
[[nodiscard]] bool build(const mb2::BootInfo& multiboot, const timer::Calibration& timer,
                         const cmdline::Options& options);

// Physical address of the pages, and the kernel's view of them.
uint64_t pages();
const l4::abi::BootInfo& info();

// The region holding physical address `phys`, or nullptr.
const l4::abi::MemoryRegion* region_of(uint64_t phys);

} // namespace boot_info
