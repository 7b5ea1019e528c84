// A user thread's saved registers as the ABI names them (docs/syscalls.md): generic code asks
// for "argument 2" or "message word 4"; only this file knows which x86 register that is. All
// inline: the system-call and IPC paths pay nothing for the names.
#pragma once

#include <stdint.h>

#include "arch/x86_64/gdt.hpp"
#include "arch/x86_64/interrupts.hpp"
#include "l4/abi/error.hpp"
#include "l4/abi/ipc.hpp"

namespace arch {

// A thread's flags when it starts: interrupts on (and bit 1, which is always set).
constexpr uint64_t kInitialUserFlags = 0x202;

class UserContext {
public:
    explicit UserContext(interrupts::InterruptFrame& frame) : f_(frame) {}

    // System calls: the number, up to five arguments, and what comes back.
    uint64_t syscall_number() const { return f_.rax; }
    void set_syscall_number(uint64_t number) { f_.rax = number; } // a call that restarts
    uint64_t arg(unsigned i) const
    {
        switch (i) {
        case 0: return f_.rdi;
        case 1: return f_.rsi;
        case 2: return f_.rdx;
        case 3: return f_.r10;
        default: return f_.r8;
        }
    }
    void set_arg(unsigned i, uint64_t value) // a call that restarts with advanced arguments
    {
        switch (i) {
        case 0: f_.rdi = value; return;
        case 1: f_.rsi = value; return;
        case 2: f_.rdx = value; return;
        case 3: f_.r10 = value; return;
        default: f_.r8 = value; return;
        }
    }
    // Results travel back in the first argument registers.
    void set_result(unsigned i, uint64_t value) { set_arg(i, value); }
    void set_status(l4::abi::Error status) { f_.rax = static_cast<uint64_t>(status); }
    // What a foreign-ABI system call returns (resume_with_rax): the Linux ABI's rax.
    void set_foreign_result(uint64_t value) { f_.rax = value; }
    // The thread runs its system call again when it returns to user mode. Every encoding of
    // `syscall` ends in its two opcode bytes, 0f 05.
    void restart_syscall() { f_.rip -= 2; }

    // IPC: the tag, the badge the receiver sees, and the message words that travel in
    // registers (the rest are in the UTCB).
    uint64_t tag() const { return f_.rsi; }
    void set_tag(uint64_t tag) { f_.rsi = tag; }
    void set_badge(uint64_t badge) { f_.rdx = badge; }
    uint64_t& word(uint64_t i)
    {
        switch (i) {
        case 0: return f_.r8;
        case 1: return f_.r9;
        case 2: return f_.r12;
        case 3: return f_.r13;
        case 4: return f_.r14;
        default: return f_.r15;
        }
    }
    static_assert(l4::abi::kRegisterWords == 6, "word() names six registers");
    // Words 0 .. count-1 (count <= kRegisterWords) from `source`'s registers, or from memory;
    // the registers of later words keep their values. Unrolled: the IPC paths use them.
    [[gnu::always_inline]] void copy_words(const UserContext& source, uint64_t count)
    {
        const interrupts::InterruptFrame& s = source.f_;
        switch (count) {
        default: f_.r15 = s.r15; [[fallthrough]];
        case 5: f_.r14 = s.r14; [[fallthrough]];
        case 4: f_.r13 = s.r13; [[fallthrough]];
        case 3: f_.r12 = s.r12; [[fallthrough]];
        case 2: f_.r9 = s.r9; [[fallthrough]];
        case 1: f_.r8 = s.r8; [[fallthrough]];
        case 0: break;
        }
    }
    [[gnu::always_inline]] void load_words(const uint64_t* w, uint64_t count)
    {
        switch (count) {
        default: f_.r15 = w[5]; [[fallthrough]];
        case 5: f_.r14 = w[4]; [[fallthrough]];
        case 4: f_.r13 = w[3]; [[fallthrough]];
        case 3: f_.r12 = w[2]; [[fallthrough]];
        case 2: f_.r9 = w[1]; [[fallthrough]];
        case 1: f_.r8 = w[0]; [[fallthrough]];
        case 0: break;
        }
    }

    uint64_t ip() const { return f_.rip; }
    uint64_t sp() const { return f_.rsp; }
    uint64_t flags() const { return f_.rflags; }
    void set_entry(uint64_t ip, uint64_t sp)
    {
        f_.rip = ip;
        f_.rsp = sp;
    }
    // A new thread: zero registers, 64-bit user segments, the initial flags.
    void reset()
    {
        f_ = interrupts::InterruptFrame{};
        f_.cs = gdt::kUserCode;
        f_.ss = gdt::kUserData;
        f_.rflags = kInitialUserFlags;
    }

    interrupts::InterruptFrame& frame() { return f_; } // for arch code (user_registers)

private:
    interrupts::InterruptFrame& f_;
};

} // namespace arch
