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

// Out of line (LTO inlines them): the host unit tests link a fake.
void save(State& state);
void restore(const State& state);

} // namespace fpu
