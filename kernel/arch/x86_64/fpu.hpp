// FPU/SSE state of user threads, saved and restored eagerly on every switch between them
// (the kernel itself never touches these registers: it is built without SSE).
#pragma once

#include <stdint.h>

#include "arch/x86_64/fpu_image.hpp"

namespace fpu {

struct alignas(16) State {
    Image area; // the FXSAVE layout (l4::abi::fpu_image)
};

// Enables x87/SSE for user mode and records the clean state new threads start with.
void init();
void initial_state(State& state);

// The MXCSR bits this CPU supports (mxcsr_mask_of what FXSAVE reported at init).
uint32_t mxcsr_mask();

#ifdef KESTREL_FAKE_ARCH // the host unit tests link a fake (cpu_local.hpp)
void save(State& state);
void restore(const State& state);
#else
inline void save(State& state) { asm volatile("fxsave64 %0" : "=m"(state)); }
inline void restore(const State& state) { asm volatile("fxrstor64 %0" ::"m"(state)); }
#endif

} // namespace fpu
