// Panic report for a CPU exception: vector, error code, CR2, registers, backtrace.
#pragma once

#include "arch/x86_64/interrupts.hpp"
#include "panic.hpp"

[[noreturn]] void panic_exception(const interrupts::InterruptFrame& frame);
