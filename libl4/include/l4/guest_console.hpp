// Console output for a guest kernel: formatted text through the console_write hypercall, in
// slices of kConsoleBytes (the VMM puts the guest's name before each line). Header-only, with
// common/'s formatter: a guest links no libl4.
#pragma once

#include <stddef.h>

#include "common/format.hpp"
#include "l4/hypercall.hpp"

namespace l4::hc {

inline void console_write_all(const char* text, size_t length)
{
    for (size_t done = 0; done < length; done += abi::hc::kConsoleBytes) {
        const size_t left = length - done;
        (void)console_write(text + done, left < abi::hc::kConsoleBytes ? left : abi::hc::kConsoleBytes);
    }
}

// One line (cut at 254 bytes), newline added.
template <typename... Args>
void println(const char* format_string, const Args&... args)
{
    char line[256];
    size_t n = fmt::format_to(line, sizeof line - 1, format_string, args...);
    if (n > sizeof line - 2)
        n = sizeof line - 2;
    line[n] = '\n';
    console_write_all(line, n + 1);
}

} // namespace l4::hc
