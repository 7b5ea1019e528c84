// Kernel log: leveled, formatted lines on the console.
#pragma once

#include "boot/cmdline.hpp"
#include "common/format.hpp"

namespace klog {

using Level = cmdline::LogLevel;

void set_level(Level level);
bool enabled(Level level);
const fmt::Sink& console();

// Prints without a level prefix or filtering (banner, panic report).
template <typename... Args>
void print(const char* format, const Args&... args)
{
    fmt::format(console(), format, args...);
}

template <typename... Args>
void at(Level level, const char* format, const Args&... args)
{
    if (!enabled(level))
        return;
    static constexpr const char* prefix[] = {"error: ", "warning: ", "", "debug: "};
    print(prefix[static_cast<int>(level)]);
    print(format, args...);
    print("\n");
}

template <typename... Args>
void error(const char* f, const Args&... a)
{
    at(Level::error, f, a...);
}
template <typename... Args>
void warn(const char* f, const Args&... a)
{
    at(Level::warn, f, a...);
}
template <typename... Args>
void info(const char* f, const Args&... a)
{
    at(Level::info, f, a...);
}
template <typename... Args>
void debug(const char* f, const Args&... a)
{
    at(Level::debug, f, a...);
}

} // namespace klog
