// One guest's console output, collected into lines so that guests sharing the serial line do
// not interleave within a line; the VMM prints each line after the guest's name.
#pragma once

#include <stddef.h>
#include <stdint.h>

namespace vmm {

constexpr size_t kConsoleLineBytes = 160; // a longer line is cut into pieces of this size

struct ConsoleLine {
    char text[kConsoleLineBytes + 1] = {}; // NUL-terminated when complete
    size_t length = 0;

    // Takes one byte of the guest's output. True when the line is complete (a newline, or full):
    // print `text`, then clear(). A carriage return is dropped; a byte that is neither printable
    // ASCII nor a tab shows as '?', so a guest cannot send escape sequences to the terminal.
    bool put(uint8_t byte);
    void clear() { length = 0, text[0] = '\0'; }
    bool empty() const { return length == 0; }
};

} // namespace vmm
