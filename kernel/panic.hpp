// panic(): the kernel found a state it cannot continue from. It prints the cause, the
// registers and a backtrace on the console and stops (or leaves QEMU under test).
#pragma once

#include "log.hpp"

namespace elf {
class SymbolTable;
}

namespace panic_detail {
void begin();
[[noreturn]] void finish();
} // namespace panic_detail

// Symbol names for backtraces, once the kernel has found its symbol table.
void panic_set_symbols(const elf::SymbolTable* symbols);
// Who runs, for the report: the name of the current thread (nullptr before the first).
void panic_set_thread_namer(const char* (*namer)());

template <typename... Args>
[[noreturn]] void panic(const char* format, const Args&... args)
{
    panic_detail::begin();
    klog::print("PANIC: ");
    klog::print(format, args...);
    klog::print("\n");
    panic_detail::finish();
}
