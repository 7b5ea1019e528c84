// Kernel log: the console sink and the level filter.
#include "log.hpp"

#include "arch/x86_64/serial.hpp"

namespace klog {
namespace {

Level current = Level::info;

void write_console(void*, const char* text, size_t length) { serial::write(text, length); }

constexpr fmt::Sink console_sink{write_console, nullptr};

} // namespace

void set_level(Level level) { current = level; }
bool enabled(Level level) { return static_cast<int>(level) <= static_cast<int>(current); }
const fmt::Sink& console() { return console_sink; }

} // namespace klog
