// Spins without entering the kernel between reports: only timer preemption lets another
// spinner of the same priority run. Built twice (SPINNER_NAME "A" and "B"); the harness
// checks that their reports interleave.
#include "l4/print.hpp"

namespace {
volatile uint64_t sink;
}

int main()
{
    for (uint64_t round = 0; round < 6; ++round) {
        for (uint64_t i = 0; i < 2000000; ++i)
            sink = sink + i;
        l4::print("spinner " SPINNER_NAME ": round ");
        l4::print(round);
        l4::print("\n");
    }
    return 0;
}
