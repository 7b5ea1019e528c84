// A small test framework for in-QEMU kernel tests (sel4test-style): each TEST registers
// itself; run_all() runs them in order and prints one line per failure and a summary
// "N passed, N failed" that the harness checks.
#pragma once

#include <stdint.h>

#include "l4/print.hpp"

namespace ktest {

struct Test {
    const char* name;
    void (*body)();
    Test* next;
};

void add(Test* test);
void fail(const char* file, int line, const char* expression, uint64_t actual, uint64_t expected);
int run_all();   // returns the number of failures

struct Registrar {
    explicit Registrar(Test* test) { add(test); }
};

} // namespace ktest

#define KTEST(name)                                                                 \
    static void ktest_##name();                                                     \
    static ktest::Test ktest_record_##name{#name, ktest_##name, nullptr};          \
    static ktest::Registrar ktest_registrar_##name{&ktest_record_##name};           \
    static void ktest_##name()

// Compares as unsigned 64-bit values (errors, addresses, counts).
#define KEXPECT_EQ(actual, expected)                                                \
    do {                                                                            \
        auto ktest_a = static_cast<uint64_t>(actual);                               \
        auto ktest_e = static_cast<uint64_t>(expected);                             \
        if (ktest_a != ktest_e)                                                     \
            ktest::fail(__FILE__, __LINE__, #actual, ktest_a, ktest_e);             \
    } while (0)
