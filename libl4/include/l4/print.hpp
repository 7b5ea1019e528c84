// Minimal console output for user tasks over the debug_write system call.
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "l4/syscall.hpp"

namespace l4 {

inline void print(const char* text)
{
    size_t length = 0;
    while (text[length] != '\0')
        ++length;
    debug_write(text, length);
}

// Decimal (or, with hex, 0x-prefixed hexadecimal) text of `value`.
inline void print(uint64_t value, bool hex = false)
{
    char digits[20];
    size_t n = 0;
    unsigned base = hex ? 16 : 10;
    do {
        digits[n++] = "0123456789abcdef"[value % base];
        value /= base;
    } while (value != 0);
    char text[24];
    size_t length = 0;
    if (hex) {
        text[length++] = '0';
        text[length++] = 'x';
    }
    while (n > 0)
        text[length++] = digits[--n];
    debug_write(text, length);
}

} // namespace l4
