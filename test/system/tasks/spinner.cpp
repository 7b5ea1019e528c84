// Spins without entering the kernel between reports: only timer preemption lets another
// spinner of the same priority run. Built twice (SPINNER_NAME "A" and "B"); the harness
// checks that their reports interleave.
#include "l4/format.hpp"

namespace {
volatile uint64_t sink;
}

int main()
{
    for (uint64_t round = 0; round < 6; ++round) {
        for (uint64_t i = 0; i < 2000000; ++i)
            sink = sink + i;
        l4::println("spinner {}: round {}", SPINNER_NAME, round); // one write: lines never interleave
    }
    return 0;
}
