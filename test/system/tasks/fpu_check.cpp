// Two copies (FPU_NAME "A" and "B") load their own values into all 16 SSE registers, spin
// through several timer preemptions by the other, and check that every register kept its
// value: the kernel must save and restore each thread's FPU/SSE state.
#include "l4/format.hpp"

namespace {

// Fills xmm0..xmm15 with seed + i, spins `loops` times, and counts registers that changed.
uint64_t check_registers(uint64_t seed, uint64_t loops)
{
    uint64_t changed = 0;
    asm volatile(".irp n, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15\n"
                 "  lea \\n(%[seed]), %%rax\n"
                 "  movq %%rax, %%xmm\\n\n"
                 ".endr\n"
                 "1: dec %[loops]\n"
                 "  jnz 1b\n"
                 ".irp n, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15\n"
                 "  movq %%xmm\\n, %%rax\n"
                 "  lea \\n(%[seed]), %%rdx\n"
                 "  cmp %%rax, %%rdx\n"
                 "  je 2f\n"
                 "  inc %[changed]\n"
                 "2:\n"
                 ".endr\n"
                 : [changed] "+r"(changed), [loops] "+r"(loops)
                 : [seed] "r"(seed)
                 : "rax", "rdx", "cc"); // no xmm clobbers: user code is built general-regs-only
    return changed;
}

} // namespace

int main()
{
    uint64_t seed = FPU_NAME[0] == 'A' ? 0x1111'0000'0000 : 0x2222'0000'0000;
    uint64_t changed = 0;
    for (uint64_t round = 0; round < 4; ++round)
        changed += check_registers(seed + round * 0x100, 20'000'000);
    l4::println("fpu {}: {} registers changed", FPU_NAME, changed); // one write: lines never interleave
    return 0;
}
