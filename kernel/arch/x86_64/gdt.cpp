// GDT and TSS for the boot CPU.
#include "arch/x86_64/gdt.hpp"

#include <stddef.h>

namespace gdt {
namespace {

struct [[gnu::packed]] Tss {
    uint32_t reserved0;
    uint64_t rsp[3];
    uint64_t reserved1;
    uint64_t ist[7];
    uint64_t reserved2;
    uint16_t reserved3;
    uint16_t io_map_base;
};
static_assert(sizeof(Tss) == 104);

// The TSS followed by the I/O permission bitmap of the running task (a set bit denies the
// port) and the 0xff byte the CPU wants after it.
struct [[gnu::packed]] TssWithIoMap {
    Tss tss;
    uint8_t io_bitmap[kIoBitmapBytes];
    uint8_t terminator;
};

struct [[gnu::packed]] Pointer {
    uint16_t limit;
    uint64_t base;
};

constexpr size_t kIstStackSize = 16384;
constexpr size_t kIstStacks = 4;

alignas(16) uint8_t ist_stacks[kIstStacks][kIstStackSize];
TssWithIoMap tss_block;
Tss& tss = tss_block.tss;
const uint8_t* loaded_io_bitmap; // whose bitmap the TSS holds now

// Access byte | flags; P, DPL, S, type; L for 64-bit code.
alignas(16) uint64_t table[] = {
    0,
    0x00af9a000000ffff, // kernel code, 64-bit
    0x00cf92000000ffff, // kernel data
    0,                  // sysret base (kSysretBase): no 32-bit user code segment
    0x00cff2000000ffff, // user data
    0x00affa000000ffff, // user code, 64-bit
    0,                  // TSS, low half
    0,                  // TSS, high half
};

void set_tss_descriptor()
{
    auto base = reinterpret_cast<uint64_t>(&tss_block);
    uint64_t limit = sizeof(TssWithIoMap) - 1;
    uint64_t low = (limit & 0xffff) | ((base & 0xffffff) << 16) | (uint64_t{0x89} << 40) |
                   (((limit >> 16) & 0xf) << 48) | (((base >> 24) & 0xff) << 56);
    table[kTss / 8] = low;
    table[kTss / 8 + 1] = base >> 32;
}

} // namespace

void init()
{
    for (size_t i = 0; i < kIstStacks; ++i)
        tss.ist[i] = reinterpret_cast<uint64_t>(ist_stacks[i] + kIstStackSize);
    tss.io_map_base = sizeof(TssWithIoMap); // past the limit: ring 3 gets no port
    tss_block.terminator = 0xff;
    set_tss_descriptor();

    Pointer pointer{sizeof(table) - 1, reinterpret_cast<uint64_t>(table)};
    asm volatile("lgdt %0" ::"m"(pointer));
    // Reload CS with a far return, then the data segments and the task register.
    asm volatile("pushq %[code]\n"
                 "leaq 1f(%%rip), %%rax\n"
                 "pushq %%rax\n"
                 "lretq\n"
                 "1:\n"
                 "mov %[data], %%ds\n"
                 "mov %[data], %%es\n"
                 "mov %[data], %%ss\n"
                 "ltr %[tss]\n"
                 "lldt %w[none]\n" // no LDT: user code can name only the GDT's segments
                 :
                 : [code] "i"(kKernelCode), [data] "r"(kKernelData), [tss] "r"(kTss), [none] "r"(0)
                 : "rax", "memory");
}

void set_kernel_stack(uint64_t top) { tss.rsp[0] = top; }

void set_io_bitmap(const uint8_t* bitmap)
{
    if (bitmap == nullptr) {
        tss.io_map_base = sizeof(TssWithIoMap);
        return;
    }
    if (bitmap != loaded_io_bitmap) { // 8 KiB: copied only when another task's map is needed
        __builtin_memcpy(tss_block.io_bitmap, bitmap, kIoBitmapBytes);
        loaded_io_bitmap = bitmap;
    }
    tss.io_map_base = sizeof(Tss);
}

void forget_io_bitmap(const uint8_t* bitmap)
{
    if (loaded_io_bitmap == bitmap)
        loaded_io_bitmap = nullptr;
}

} // namespace gdt
