// Deliberate faults and checks the system tests ask for with test=... on the command line.
#pragma once

#include "boot/cmdline.hpp"

// Never inlined (the kernel is built with LTO): the panic tests expect its frame in the
// backtrace, between the fault and kernel_main.
[[gnu::noinline]] void run_test_hook(cmdline::TestHook hook);
