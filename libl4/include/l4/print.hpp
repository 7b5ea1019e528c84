// Minimal console output for user tasks, over the formatter and debug_write (l4/format.hpp).
#pragma once

#include <stdint.h>

#include "l4/format.hpp"

namespace l4 {

inline void print(const char* text) { print_format("{}", text); }

// Decimal (or, with hex, 0x-prefixed hexadecimal) text of `value`.
inline void print(uint64_t value, bool hex = false) { print_format(hex ? "{:#x}" : "{}", value); }

} // namespace l4
