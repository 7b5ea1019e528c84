// The checks of a test guest: each failure is said with what was checked and the value got,
// and the guest powers off with status 0 only when none failed. Header-only, for guests.
#pragma once

#include <stdint.h>

#include "l4/guest_console.hpp"

namespace guest_checks {

inline unsigned passed = 0, failed = 0;
inline const char* prefix = ""; // before each line, e.g. "pv-test: "

inline void expect(bool ok, const char* what, uint64_t got = 0)
{
    if (ok) {
        ++passed;
        return;
    }
    ++failed;
    l4::hc::println("{}FAIL {} (got {:#x})", prefix, what, got);
}

[[noreturn]] inline void power_off()
{
    (void)l4::hc::shutdown(l4::abi::hc::ShutdownReason::poweroff, failed == 0 ? 0 : 1);
    for (;;) {
    }
}

// "PREFIX: N passed, M failed", then power_off().
[[noreturn]] inline void finish()
{
    l4::hc::println("{}{} passed, {} failed", prefix, passed, failed);
    power_off();
}

} // namespace guest_checks
