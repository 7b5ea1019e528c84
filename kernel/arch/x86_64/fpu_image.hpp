// Whether an FXSAVE image a user hands in (ThreadOp::write_fpu) is one fxrstor64 can load.
// Portable: the host unit tests check it (test/unit/fpu_image_test.cpp).
#pragma once

#include <stdint.h>

#include "l4/abi/utcb.hpp"

namespace fpu {

using Image = uint8_t[l4::abi::fpu_image::kBytes];

// What a CPU whose FXSAVE reports an MXCSR_MASK of 0 supports (SDM vol. 1, 11.6.6): all but
// DAZ (bit 6) of the low 16 bits.
constexpr uint32_t kDefaultMxcsrMask = 0xffbf;

constexpr uint32_t mxcsr_mask_of(uint32_t reported) { return reported != 0 ? reported : kDefaultMxcsrMask; }

inline uint32_t image_word(const Image& image, uint64_t offset)
{
    return uint32_t{image[offset]} | uint32_t{image[offset + 1]} << 8 | uint32_t{image[offset + 2]} << 16 |
           uint32_t{image[offset + 3]} << 24;
}

// fxrstor64 raises #GP for an MXCSR bit outside the CPU's mask, and for nothing else in the
// image (its reserved and software bytes are ignored; x87 and SSE exceptions pending in it
// are raised later, at the thread's own next FPU instruction). `cpu_mask` is mxcsr_mask_of()
// of what this CPU reports.
inline bool loadable(const Image& image, uint32_t cpu_mask)
{
    return (image_word(image, l4::abi::fpu_image::kMxcsr) & ~cpu_mask) == 0;
}

} // namespace fpu
