// Formatting for user tasks: the common formatter (common/format.hpp, placeholder syntax
// there) under libl4's names, and console output over debug_write.
//
//   l4::format_to(buf, size, "x={} at {:#x}", a, b);
//   l4::println("loaded {} segments", count);
#pragma once

#include "common/format.hpp"

namespace l4 {

using fmt::format;
using fmt::format_to;
using fmt::Str;

// Console output (user tasks only, src/console.cpp): a line is written with one debug_write
// when it fits in 512 bytes, so lines of different threads do not interleave.
namespace detail {
void console_vprint(const char* format, const fmt::Arg* args, size_t count, bool newline);
}

template <typename... Args>
void print_format(const char* format_string, const Args&... args)
{
    const fmt::Arg list[] = {fmt::make_arg(args)..., fmt::Arg()};
    detail::console_vprint(format_string, list, sizeof...(Args), false);
}

template <typename... Args>
void println(const char* format_string, const Args&... args)
{
    const fmt::Arg list[] = {fmt::make_arg(args)..., fmt::Arg()};
    detail::console_vprint(format_string, list, sizeof...(Args), true);
}

} // namespace l4
