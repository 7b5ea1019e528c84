// FPU/SSE state of user threads, saved and restored eagerly on every switch between them
// (the kernel itself never touches these registers: it is built without SSE).
#pragma once

#include <stdint.h>

namespace fpu {

struct alignas(16) State {
    uint8_t area[512]; // the FXSAVE layout
};

// Enables x87/SSE for user mode and records the clean state new threads start with.
void init();
void initial_state(State& state);

#ifdef KESTREL_FAKE_ARCH // the host unit tests link a fake (cpu_local.hpp)
void save(State& state);
void restore(const State& state);
#else
inline void save(State& state) { asm volatile("fxsave64 %0" : "=m"(state)); }
inline void restore(const State& state) { asm volatile("fxrstor64 %0" ::"m"(state)); }
#endif

} // namespace fpu
