// FPU/SSE enablement and the clean state.
#include "arch/x86_64/fpu.hpp"

#include "arch/x86_64/cpu.hpp"

namespace fpu {
namespace {

State clean;

constexpr uint64_t kCr0MonitorCoprocessor = 1u << 1, kCr0Emulation = 1u << 2, kCr0TaskSwitched = 1u << 3;
constexpr uint64_t kCr0NumericError = 1u << 5; // x87 errors are #MF, not the legacy IRQ 13
constexpr uint64_t kCr4Fxsr = 1u << 9, kCr4SimdExceptions = 1u << 10;

} // namespace

void init()
{
    uint64_t cr0 = cpu::read_cr0();
    cr0 = (cr0 & ~(kCr0Emulation | kCr0TaskSwitched)) | kCr0MonitorCoprocessor | kCr0NumericError;
    asm volatile("mov %0, %%cr0" ::"r"(cr0));
    cpu::write_cr4(cpu::read_cr4() | kCr4Fxsr | kCr4SimdExceptions);
    asm volatile("fninit");
    save(clean);
}

void initial_state(State& state) { state = clean; }

uint32_t mxcsr_mask() { return mxcsr_mask_of(image_word(clean.area, l4::abi::fpu_image::kMxcsrMask)); }

} // namespace fpu
