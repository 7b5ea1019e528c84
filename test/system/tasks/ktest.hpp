// A small test framework for in-QEMU kernel tests (sel4test-style): each TEST registers
// itself; run_all() prints how many cases there are ("ktest: N cases registered"), runs them
// in order, prints one line per failure, one verdict per case and a summary
// "N passed, N failed" that the harness checks against the registered count.
//
// Every check a case evaluates (KEXPECT_EQ, KREQUIRE_EQ and friends, expect_eq) is counted;
// a case that reaches none fails ("reached no check"). Each line is written with one
// debug_write, so the lines of a case's threads do not interleave.
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
// One check of the running case: counts it, and reports a failure when actual != expected.
// Returns whether it held.
bool expect_eq(const char* file, int line, const char* expression, uint64_t actual, uint64_t expected);
// A failed check (counted too): marks the running case failed and reports the mismatch.
void fail(const char* file, int line, const char* expression, uint64_t actual, uint64_t expected);
int run_all(); // returns the number of failures

struct Registrar {
    explicit Registrar(Test* test) { add(test); }
};

} // namespace ktest

#define KTEST(name)                                                                                                    \
    static void ktest_##name();                                                                                        \
    static ktest::Test ktest_record_##name{#name, ktest_##name, nullptr};                                              \
    static ktest::Registrar ktest_registrar_##name{&ktest_record_##name};                                              \
    static void ktest_##name()

// Compares as unsigned 64-bit values (errors, addresses, counts); `actual` is evaluated first.
#define KEXPECT_EQ(actual, expected)                                                                                   \
    do {                                                                                                               \
        auto ktest_a = static_cast<uint64_t>(actual);                                                                  \
        auto ktest_e = static_cast<uint64_t>(expected);                                                                \
        ktest::expect_eq(__FILE__, __LINE__, #actual, ktest_a, ktest_e);                                               \
    } while (0)
