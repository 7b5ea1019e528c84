// Converting between saved registers and ExceptionState.
#include "arch/x86_64/user_registers.hpp"

#include "arch/x86_64/gdt.hpp"
#include "arch/x86_64/paging.hpp"
#include "arch/x86_64/user_context.hpp"

namespace user_registers {
namespace {

constexpr uint64_t kUserChangeableFlags = 0xcd5;           // CF PF AF ZF SF DF OF
constexpr uint64_t kForcedFlags = arch::kInitialUserFlags; // IF, and bit 1 which is always set

} // namespace

l4::abi::ExceptionState save(const interrupts::InterruptFrame& f, uint64_t fs_base, uint64_t vector,
                             uint64_t error_code, uint64_t fault_address)
{
    return {f.rax, f.rbx, f.rcx, f.rdx, f.rsi, f.rdi, f.rbp,    f.rsp,  f.r8,       f.r9,          f.r10,
            f.r11, f.r12, f.r13, f.r14, f.r15, f.rip, f.rflags, vector, error_code, fault_address, fs_base};
}

l4::abi::ForeignSyscall save_syscall(const interrupts::InterruptFrame& f)
{
    return {f.rax, f.rdi, f.rsi, f.rdx, f.r10, f.r8, f.r9, f.rip, f.rsp, f.rflags};
}

bool load(interrupts::InterruptFrame& f, uint64_t& fs_base, const l4::abi::ExceptionState& s)
{
    if (s.rip >= paging::kUserEnd || s.rsp >= paging::kUserEnd || s.fs_base >= paging::kUserEnd)
        return false;
    fs_base = s.fs_base;
    f.rax = s.rax;
    f.rbx = s.rbx;
    f.rcx = s.rcx;
    f.rdx = s.rdx;
    f.rsi = s.rsi;
    f.rdi = s.rdi;
    f.rbp = s.rbp;
    f.rsp = s.rsp;
    f.r8 = s.r8;
    f.r9 = s.r9;
    f.r10 = s.r10;
    f.r11 = s.r11;
    f.r12 = s.r12;
    f.r13 = s.r13;
    f.r14 = s.r14;
    f.r15 = s.r15;
    f.rip = s.rip;
    f.rflags = (s.rflags & kUserChangeableFlags) | kForcedFlags;
    f.cs = gdt::kUserCode; // a thread always goes on in 64-bit user code
    f.ss = gdt::kUserData;
    return true;
}

} // namespace user_registers
