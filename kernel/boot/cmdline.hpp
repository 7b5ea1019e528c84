// The kernel command line, parsed in one place.
//
// Words are separated by spaces (or tabs); each is `key=value` or a bare `flag`. Parsing
// never fails: a word it does not understand, or a known key with a bad value, is counted
// (the default is kept) so the caller can print one warning line. The last of repeated
// keys wins.
#pragma once

#include <stddef.h>
#include <stdint.h>

namespace cmdline {

enum class LogLevel : uint8_t { error = 0, warn = 1, info = 2, debug = 3 };

// test=pagefault|stackoverflow|ticks|ud|writerodata|execdata|panic (test=none is accepted
// too): a fault or check the boot tests trigger on purpose.
enum class TestHook : uint8_t {
    none,
    page_fault,
    stack_overflow,
    kernel_stack_overflow,
    ticks,
    ud,
    write_rodata,
    exec_data,
    panic
};

// exit=qemu: leave the emulator when done or on panic (QEMU's isa-debug-exit, Bochs' shutdown
// port); exit=halt: the default.
// qemu_waiting: as qemu, but a machine whose threads all wait goes on waiting for an interrupt
// (a test that types at the console with pauses between its keys).
enum class ExitMode : uint8_t { halt, qemu, qemu_waiting };

constexpr uint32_t kMinTimerHz = 10;
constexpr uint32_t kMaxTimerHz = 10000;

struct Options {
    LogLevel log_level = LogLevel::info; // loglevel=error|warn|info|debug or 0..3
    TestHook test = TestHook::none;
    ExitMode exit = ExitMode::halt;
    uint32_t timer_hz = 100; // hz=N, accepted kMinTimerHz..kMaxTimerHz
    bool pcid = true;        // pcid=on|off: tag TLB entries where the CPU can

    // Words not understood. The pointers point into the line and are not NUL-terminated
    // at the word's end: print them with their length.
    size_t unknown_count = 0;
    const char* first_unknown = nullptr;
    size_t first_unknown_len = 0;

    // Known key with a bad or missing value (the default is kept); first_bad is the word.
    size_t bad_value_count = 0;
    const char* first_bad = nullptr;
    size_t first_bad_len = 0;
};

// Never fails; nullptr means an empty line.
[[nodiscard]] Options parse(const char* line);

} // namespace cmdline
