// The panic report: registers and a frame-pointer backtrace with symbol names.
#include "arch/x86_64/panic_report.hpp"

#include "arch/x86_64/cpu.hpp"
#include "arch/x86_64/gdt.hpp"
#include "arch/x86_64/kernel_stack.hpp"
#include "arch/x86_64/paging.hpp"
#include "arch/x86_64/platform.hpp"
#include "lib/elf_symbols.hpp"

namespace {

const elf::SymbolTable* symbols;
const char* (*thread_namer)();
volatile bool panicking;

constexpr int kMaxFrames = 32;

// A frame (saved rbp and return address) is read only where the kernel's own tables map it,
// so a corrupt frame pointer cannot fault here (thread stacks: kernel_stack.cpp).
bool readable_stack_slot(uint64_t address)
{
    constexpr uint64_t kKernelHalf = 0xffff800000000000;
    return address % 8 == 0 && address >= kKernelHalf && address + 16 > address &&
           (paging::lookup(address) & paging::pte::present) && (paging::lookup(address + 15) & paging::pte::present);
}

// `returns_to`: the address follows a call, and may be one past the end of the calling function
// (a call to something that never returns), so the name is looked up one byte before.
void print_address(int index, uint64_t address, bool returns_to)
{
    elf::Symbol symbol{};
    char name[96];
    if (symbols != nullptr && symbols->lookup(returns_to ? address - 1 : address, symbol)) {
        elf::demangle(symbol.name, name, sizeof name);
        klog::print("  #{:<2} {:#018x} {}+{:#x}\n", index, address, name, address - symbol.address);
    } else
        klog::print("  #{:<2} {:#018x} ?\n", index, address);
}

// From `rip` (the faulting instruction, or a return address: rip_returns_to) up the rbp chain.
void backtrace(uint64_t rip, bool rip_returns_to, uint64_t rbp)
{
    klog::print("backtrace:\n");
    print_address(0, rip, rip_returns_to);
    for (int i = 1; i < kMaxFrames && rbp != 0; ++i) {
        if (!readable_stack_slot(rbp)) {
            klog::print("  (frame pointer {:#x} is outside kernel stacks)\n", rbp);
            return;
        }
        auto* frame = reinterpret_cast<const uint64_t*>(rbp);
        uint64_t return_address = frame[1];
        if (return_address == 0)
            return;
        print_address(i, return_address, true);
        rbp = frame[0];
    }
}

void print_registers(const interrupts::InterruptFrame& f)
{
    klog::print("rax={:016x} rbx={:016x} rcx={:016x} rdx={:016x}\n", f.rax, f.rbx, f.rcx, f.rdx);
    klog::print("rsi={:016x} rdi={:016x} rbp={:016x} rsp={:016x}\n", f.rsi, f.rdi, f.rbp, f.rsp);
    klog::print("r8 ={:016x} r9 ={:016x} r10={:016x} r11={:016x}\n", f.r8, f.r9, f.r10, f.r11);
    klog::print("r12={:016x} r13={:016x} r14={:016x} r15={:016x}\n", f.r12, f.r13, f.r14, f.r15);
    klog::print("rip={:016x} cs={:04x} ss={:04x} rflags={:016x}\n", f.rip, f.cs, f.ss, f.rflags);
    klog::print("cr0={:016x} cr2={:016x} cr3={:016x} cr4={:016x}\n", cpu::read_cr0(), cpu::read_cr2(), cpu::read_cr3(),
                cpu::read_cr4());
}

void describe_page_fault(uint64_t error)
{
    namespace bits = interrupts::page_fault_error;
    klog::print(
        "page fault: {} access by {} to a {} page{}{}\n",
        (error & bits::fetch)   ? "instruction fetch"
        : (error & bits::write) ? "write"
                                : "read",
        (error & bits::user) ? "user" : "kernel", (error & bits::present) ? "present (protection)" : "non-present",
        (error & bits::reserved) ? ", reserved bit set" : "", (error & bits::protection_key) ? ", protection key" : "");
}

} // namespace

void panic_set_symbols(const elf::SymbolTable* table) { symbols = table; }
void panic_set_thread_namer(const char* (*namer)()) { thread_namer = namer; }

namespace panic_detail {

void begin()
{
    cpu::disable_interrupts();
    if (panicking) { // a fault inside the report: say so and stop for good
        klog::print("\nPANIC while panicking\n");
        platform::stop(platform::ExitCode::panic);
    }
    panicking = true;
    klog::print("\n");
}

[[noreturn]] void finish()
{
    uint64_t rbp;
    asm volatile("mov %%rbp, %0" : "=r"(rbp));
    uint64_t rsp;
    asm volatile("mov %%rsp, %0" : "=r"(rsp));
    klog::print("rsp={:016x} rbp={:016x}\n", rsp, rbp);
    klog::print("cr0={:016x} cr2={:016x} cr3={:016x} cr4={:016x}\n", cpu::read_cr0(), cpu::read_cr2(), cpu::read_cr3(),
                cpu::read_cr4());
    auto* frame = reinterpret_cast<const uint64_t*>(rbp);
    backtrace(frame[1], true, frame[0]);
    platform::stop(platform::ExitCode::panic);
}

} // namespace panic_detail

void panic_exception(const interrupts::InterruptFrame& frame)
{
    panic_detail::begin();
    klog::print("PANIC: CPU exception {} (vector {}) in {} mode, error code {:#x}\n",
                interrupts::exception_name(frame.vector), frame.vector, (frame.cs & 3) ? "user" : "kernel",
                frame.error_code);
    if (frame.vector == interrupts::vector::page_fault) {
        klog::print("fault address (cr2): {:#018x}\n", cpu::read_cr2());
        describe_page_fault(frame.error_code);
    }
    const char* thread = thread_namer != nullptr ? thread_namer() : nullptr;
    if (thread != nullptr)
        klog::print("running thread: \"{}\"\n", thread);
    if (kernel_stack::in_guard(cpu::read_cr2()) || kernel_stack::in_guard(frame.rsp))
        klog::print("kernel stack overflow: rsp {:#x} ran into the guard below a kernel stack\n", frame.rsp);
    print_registers(frame);
    backtrace(frame.rip, false, frame.rbp);
    platform::stop(platform::ExitCode::panic);
}
