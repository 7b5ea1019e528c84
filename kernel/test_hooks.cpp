// Test hooks: each provokes one behaviour whose serial output a system test checks.
#include "test_hooks.hpp"

#include "arch/x86_64/cpu.hpp"
#include "arch/x86_64/kernel_stack.hpp"
#include "arch/x86_64/timer.hpp"
#include "log.hpp"
#include "panic.hpp"

namespace {

constexpr uint64_t kUnmappedAddress = 0xdead0000;
constexpr uint64_t kTicksToWatch = 10;

const uint64_t read_only_word = 0x5eed;
uint8_t data_bytes[16] = {0xc3}; // `ret`: harmless if NX failed to stop it

volatile bool keep_recursing = true; // hides the endless recursion from the compiler

[[gnu::noinline]] uint64_t recurse(uint64_t depth)
{
    volatile uint8_t frame[256];
    frame[0] = static_cast<uint8_t>(depth);
    if (!keep_recursing)
        return depth;
    return recurse(depth + 1) + frame[0]; // not a tail call: the stack must grow
}

void watch_ticks()
{
    cpu::enable_interrupts();
    uint64_t last = timer::ticks();
    uint64_t start_tsc = cpu::rdtsc();
    for (uint64_t seen = 0; seen < kTicksToWatch;) {
        cpu::halt();
        uint64_t now = timer::ticks();
        if (now != last) {
            ++seen;
            klog::print("test ticks: tick {} (+{})\n", now, now - last);
            last = now;
        }
    }
    cpu::disable_interrupts();
    klog::print("test ticks: {} ticks advanced in {} TSC cycles\n", kTicksToWatch, cpu::rdtsc() - start_tsc);
}

} // namespace

void run_test_hook(cmdline::TestHook hook)
{
    switch (hook) {
    case cmdline::TestHook::none: return;
    case cmdline::TestHook::page_fault:
        klog::print("test page fault: reading {:#x}\n", kUnmappedAddress);
        klog::print("read {}\n", *reinterpret_cast<volatile uint64_t*>(kUnmappedAddress));
        return;
    case cmdline::TestHook::stack_overflow:
        klog::print("test stack overflow: recursing into the guard page\n");
        klog::print("depth {}\n", recurse(0));
        return;
    case cmdline::TestHook::kernel_stack_overflow: {
        // The same recursion on a thread's kernel stack (kernel_stack.cpp), whose guard must
        // stop it as cleanly as the boot stack's.
        uint8_t* stack = kernel_stack::allocate();
        if (stack == nullptr)
            panic("test kernel stack overflow: no stack");
        klog::print("test kernel stack overflow: recursing on a thread's kernel stack at {:#018x}\n",
                    static_cast<void*>(stack));
        asm volatile("mov %0, %%rsp\n"
                     "xor %%edi, %%edi\n"
                     "call *%1\n"
                     "ud2\n"
                     :
                     : "r"(stack + kernel_stack::kSize), "r"(recurse)
                     : "memory");
        return;
    }
    case cmdline::TestHook::ud:
        klog::print("test invalid opcode\n");
        asm volatile("ud2");
        return;
    case cmdline::TestHook::write_rodata:
        klog::print("test W^X: writing to .rodata at {:#018x}\n", &read_only_word);
        *const_cast<volatile uint64_t*>(&read_only_word) = 1;
        klog::print("wrote .rodata: W^X is broken\n");
        return;
    case cmdline::TestHook::exec_data:
        klog::print("test W^X: calling into .data at {:#018x}\n", static_cast<void*>(data_bytes));
        reinterpret_cast<void (*)()>(reinterpret_cast<uintptr_t>(data_bytes))();
        klog::print("executed .data: NX is broken\n");
        return;
    case cmdline::TestHook::ticks: watch_ticks(); return;
    case cmdline::TestHook::panic: panic("test panic: the kernel's own check failed ({} of {})", 1, 2);
    }
}
