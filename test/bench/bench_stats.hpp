// What every benchmark program shares: the TSC read and the median and minimum of a run of
// samples. Header-only and free of kernel calls, so the kernel benchmarks (bench.cpp) and the
// guest ones (pv_bench_guest.cpp, which links no libl4) use the same code.
#pragma once

#include <stdint.h>

namespace bench {

inline uint64_t tsc()
{
    uint32_t lo, hi;
    asm volatile("lfence; rdtsc" : "=a"(lo), "=d"(hi)::"memory");
    return (uint64_t{hi} << 32) | lo;
}

// The k-th smallest of values[0..n) (quickselect; values is reordered).
inline uint64_t select(uint64_t* values, uint64_t n, uint64_t k)
{
    uint64_t lo = 0, hi = n - 1;
    while (lo < hi) {
        uint64_t pivot = values[(lo + hi) / 2], i = lo, j = hi;
        while (i <= j) {
            while (values[i] < pivot)
                ++i;
            while (values[j] > pivot)
                --j;
            if (i <= j) {
                uint64_t t = values[i];
                values[i] = values[j];
                values[j] = t;
                ++i;
                if (j == 0)
                    break;
                --j;
            }
        }
        if (k <= j)
            hi = j;
        else if (k >= i)
            lo = i;
        else
            break;
    }
    return values[k];
}

struct Stats {
    uint64_t median, minimum;
};

// Of samples[0..n) (n > 0), using scratch[0..n) for the selection.
inline Stats summarize(const uint64_t* samples, uint64_t* scratch, uint64_t n)
{
    uint64_t minimum = samples[0];
    for (uint64_t i = 0; i < n; ++i) {
        scratch[i] = samples[i];
        minimum = samples[i] < minimum ? samples[i] : minimum;
    }
    return {select(scratch, n, n / 2), minimum};
}

} // namespace bench
