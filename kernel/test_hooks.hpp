// Deliberate faults and checks the system tests ask for with test=... on the command line.
#pragma once

#include "boot/cmdline.hpp"

void run_test_hook(cmdline::TestHook hook);
