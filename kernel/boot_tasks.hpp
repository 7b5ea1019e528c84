// The first user tasks: sigma0 (boot module 0) and the root task (boot module 1).
#pragma once

#include <stddef.h>

#include "boot/multiboot2.hpp"

// Loads and starts them; returns how many started. A module that is not a valid ELF64
// executable is refused with a message, and the kernel goes on without it.
size_t start_boot_tasks(const mb2::BootInfo& info);
