// The host tests' random numbers: xorshift64, seeded, so every run takes the same steps and a
// failure names a step that repeats.
#pragma once

#include <stdint.h>

struct XorShift {
    uint64_t state; // never 0

    uint64_t next()
    {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        return state;
    }
    uint64_t below(uint64_t n) { return next() % n; }
    bool chance(uint64_t percent) { return below(100) < percent; }
};
