// Signals as pv-linux-shim delivers them (pv-linux-shim/signals.hpp): the rt_sigframe read
// back through the host's own <signal.h> and <ucontext.h> (what glibc's handlers see), its
// placement, rt_sigreturn's reading of it, and the default actions of man 7 signal.
#include <catch2/catch.hpp>

#include <csignal>
#include <cstddef>
#include <cstring>
#include <ucontext.h>

#include "signals.hpp"

using namespace shim::signals;

namespace {

l4::abi::ExceptionState sample_registers()
{
    l4::abi::ExceptionState s{};
    uint64_t* words = reinterpret_cast<uint64_t*>(&s);
    for (size_t i = 0; i < sizeof s / 8; ++i)
        words[i] = 0x1111'0000'0000'0000 + i * 0x101;
    s.rsp = 0x7fff'0000'1234;
    s.rip = 0x40'1000;
    s.rflags = 0x202 | 0x400 | 0x100; // DF and TF set: a handler starts with them clear
    return s;
}

struct Sample {
    uint8_t fpu[kFpuBytes];
    Delivery delivery{};
    Sample()
    {
        for (size_t i = 0; i < sizeof fpu; ++i)
            fpu[i] = static_cast<uint8_t>(i * 7 + 1);
        delivery.registers = sample_registers();
        delivery.fpu = fpu;
        delivery.saved_mask = bit(kSigUsr1) | bit(kSigChld);
        delivery.info.signo = kSigUsr2;
        delivery.info.code = kSiUser;
        delivery.info.pid = 42;
        delivery.action = Action{0x40'2000, kSaRestorer | kSaSiginfo, 0x40'3000, bit(kSigTerm)};
        delivery.alt_stack = AltStack{0, kSsDisable, 0, 0};
    }
};

ucontext_t host_ucontext(const Frame& frame)
{
    ucontext_t uc;
    std::memset(&uc, 0, sizeof uc);
    std::memcpy(&uc, frame.frame + kUcontextOffset, kUcontextBytes);
    return uc;
}

siginfo_t host_siginfo(const Frame& frame)
{
    siginfo_t info;
    static_assert(sizeof info == 128);
    std::memcpy(&info, frame.frame + kInfoOffset, sizeof info);
    return info;
}

} // namespace

TEST_CASE("the frame's layout is the host's ucontext_t and siginfo_t")
{
    CHECK(offsetof(ucontext_t, uc_mcontext) == kMcontextOffset - kUcontextOffset);
    CHECK(offsetof(ucontext_t, uc_sigmask) == kSigmaskOffset - kUcontextOffset);
    CHECK(offsetof(ucontext_t, uc_stack) == 16);
    CHECK(sizeof(stack_t) == sizeof(AltStack));
    CHECK(kSaRestorer == 0x0400'0000); // <asm/signal.h>'s; glibc's headers do not name it
    CHECK(SA_ONSTACK == static_cast<int>(kSaOnstack));
    CHECK(SA_RESTART == static_cast<int>(kSaRestart));
    CHECK(SA_NODEFER == static_cast<int>(kSaNodefer));
    CHECK(static_cast<uint64_t>(static_cast<uint32_t>(SA_RESETHAND)) == kSaResethand);
    CHECK(SA_NOCLDSTOP == static_cast<int>(kSaNocldstop));
    CHECK(SA_NOCLDWAIT == static_cast<int>(kSaNocldwait));
    CHECK(SI_TKILL == kSiTkill);
    CHECK(SI_KERNEL == kSiKernel);
    CHECK(CLD_STOPPED == kCldStopped);
    CHECK(CLD_CONTINUED == kCldContinued);
    CHECK(SS_DISABLE == kSsDisable);
    CHECK(SS_ONSTACK == kSsOnstack);
    CHECK(SIGTTOU == kSigTtou);
    CHECK(SIGWINCH == kSigWinch);
}

TEST_CASE("a handler is entered with the frame below the red zone, its registers as glibc reads them")
{
    Sample sample;
    Frame frame;
    REQUIRE(build_frame(sample.delivery, frame));
    const l4::abi::ExceptionState& r = sample.delivery.registers;

    CHECK(frame.fpu_address % 64 == 0);
    CHECK(frame.fpu_address + kFpuBytes <= r.rsp - kRedZone);
    CHECK(frame.frame_address + kFrameBytes <= frame.fpu_address);
    CHECK((frame.frame_address + 8) % 16 == 0); // as a call leaves it
    CHECK(frame.fpu_address - (frame.frame_address + kFrameBytes) < 16 + 64);

    CHECK(frame.entry.rip == 0x40'2000);
    CHECK(frame.entry.rsp == frame.frame_address);
    CHECK(frame.entry.rdi == static_cast<uint64_t>(kSigUsr2));
    CHECK(frame.entry.rsi == frame.frame_address + kInfoOffset);
    CHECK(frame.entry.rdx == frame.frame_address + kUcontextOffset);
    CHECK(frame.entry.rax == 0);
    CHECK(frame.entry.rflags == 0x202);
    CHECK(frame.entry.rbx == r.rbx); // the rest as they were
    CHECK(frame.entry.r15 == r.r15);

    uint64_t return_address;
    std::memcpy(&return_address, frame.frame, 8);
    CHECK(return_address == 0x40'3000); // the restorer, where the handler's ret goes

    const ucontext_t uc = host_ucontext(frame);
    const greg_t* g = uc.uc_mcontext.gregs;
    CHECK(static_cast<uint64_t>(g[REG_RAX]) == r.rax);
    CHECK(static_cast<uint64_t>(g[REG_RBX]) == r.rbx);
    CHECK(static_cast<uint64_t>(g[REG_RCX]) == r.rcx);
    CHECK(static_cast<uint64_t>(g[REG_RDX]) == r.rdx);
    CHECK(static_cast<uint64_t>(g[REG_RSI]) == r.rsi);
    CHECK(static_cast<uint64_t>(g[REG_RDI]) == r.rdi);
    CHECK(static_cast<uint64_t>(g[REG_RBP]) == r.rbp);
    CHECK(static_cast<uint64_t>(g[REG_RSP]) == r.rsp);
    CHECK(static_cast<uint64_t>(g[REG_R8]) == r.r8);
    CHECK(static_cast<uint64_t>(g[REG_R11]) == r.r11);
    CHECK(static_cast<uint64_t>(g[REG_R15]) == r.r15);
    CHECK(static_cast<uint64_t>(g[REG_RIP]) == r.rip);
    CHECK(static_cast<uint64_t>(g[REG_EFL]) == r.rflags);
    CHECK((static_cast<uint64_t>(g[REG_CSGSFS]) & 0xffff) == 0x33);
    CHECK(static_cast<uint64_t>(g[REG_OLDMASK]) == sample.delivery.saved_mask);
    CHECK(reinterpret_cast<uint64_t>(uc.uc_mcontext.fpregs) == frame.fpu_address);
    uint64_t mask;
    std::memcpy(&mask, &uc.uc_sigmask, 8);
    CHECK(mask == sample.delivery.saved_mask);
    CHECK(uc.uc_stack.ss_flags == SS_DISABLE);

    CHECK(std::memcmp(frame.fpu, sample.fpu, 464) == 0);
    for (size_t i = 464; i < kFpuBytes; ++i)
        CHECK(frame.fpu[i] == 0);

    const siginfo_t info = host_siginfo(frame);
    CHECK(info.si_signo == SIGUSR2);
    CHECK(info.si_code == SI_USER);
    CHECK(info.si_pid == 42);
    CHECK(info.si_uid == 0);
}

TEST_CASE("siginfo of SIGCHLD and of a fault")
{
    Sample sample;
    Frame frame;
    sample.delivery.info = Info{};
    sample.delivery.info.signo = kSigChld;
    sample.delivery.info.code = kCldKilled;
    sample.delivery.info.pid = 7;
    sample.delivery.info.status = SIGTERM;
    REQUIRE(build_frame(sample.delivery, frame));
    siginfo_t info = host_siginfo(frame);
    CHECK(info.si_signo == SIGCHLD);
    CHECK(info.si_code == CLD_KILLED);
    CHECK(info.si_pid == 7);
    CHECK(info.si_status == SIGTERM);

    sample.delivery.info = Info{};
    sample.delivery.info.signo = kSigSegv;
    sample.delivery.info.code = kSegvAccerr;
    sample.delivery.info.address = 0xdead'b000;
    sample.delivery.info.trap = 14;
    sample.delivery.info.error_code = 7;
    REQUIRE(build_frame(sample.delivery, frame));
    info = host_siginfo(frame);
    CHECK(info.si_signo == SIGSEGV);
    CHECK(info.si_code == SEGV_ACCERR);
    CHECK(reinterpret_cast<uint64_t>(info.si_addr) == 0xdead'b000);
    const ucontext_t uc = host_ucontext(frame);
    CHECK(uc.uc_mcontext.gregs[REG_TRAPNO] == 14);
    CHECK(uc.uc_mcontext.gregs[REG_ERR] == 7);
    CHECK(static_cast<uint64_t>(uc.uc_mcontext.gregs[REG_CR2]) == 0xdead'b000);
}

TEST_CASE("SA_ONSTACK moves to the alternate stack once, and nests on it")
{
    Sample sample;
    Frame frame;
    sample.delivery.alt_stack = AltStack{0x10'0000, 0, 0, 0x4000};
    sample.delivery.action.flags |= kSaOnstack;
    REQUIRE(build_frame(sample.delivery, frame));
    CHECK(frame.fpu_address + kFpuBytes <= 0x10'4000); // no red zone on a fresh stack
    CHECK(frame.fpu_address + kFpuBytes > 0x10'4000 - 64);
    CHECK(frame.frame_address > 0x10'0000);
    CHECK(host_ucontext(frame).uc_stack.ss_flags == 0);

    sample.delivery.registers.rsp = frame.frame_address; // a second signal in the handler
    const uint64_t first = frame.frame_address;
    REQUIRE(build_frame(sample.delivery, frame));
    CHECK(frame.fpu_address + kFpuBytes <= first - kRedZone);
    CHECK(host_ucontext(frame).uc_stack.ss_flags == SS_ONSTACK);

    sample.delivery.action.flags &= ~kSaOnstack; // without the flag: the process's own stack
    sample.delivery.registers = sample_registers();
    REQUIRE(build_frame(sample.delivery, frame));
    CHECK(frame.fpu_address + kFpuBytes <= sample.delivery.registers.rsp - kRedZone);
}

TEST_CASE("a stack pointer with no room below it gets no frame")
{
    Sample sample;
    Frame frame;
    sample.delivery.registers.rsp = 0x1000;
    CHECK_FALSE(build_frame(sample.delivery, frame));
    sample.delivery.registers.rsp = 64; // would wrap
    CHECK_FALSE(build_frame(sample.delivery, frame));
    sample.delivery.registers.rsp = 0x3000;
    CHECK(build_frame(sample.delivery, frame));
}

TEST_CASE("rt_sigreturn takes back every register, the mask less KILL and STOP, the FPU address")
{
    Sample sample;
    Frame frame;
    sample.delivery.saved_mask = ~uint64_t{0};
    REQUIRE(build_frame(sample.delivery, frame));
    // The handler changed rax to what the interrupted call returns (-EINTR).
    const uint64_t eintr = static_cast<uint64_t>(-4);
    std::memcpy(frame.frame + kMcontextOffset + 8 * 13, &eintr, 8);

    uint8_t ucontext[kUcontextBytes];
    std::memcpy(ucontext, frame.frame + kUcontextOffset, sizeof ucontext);
    l4::abi::ExceptionState now{};
    now.fs_base = 0x7000;
    now.vector = 0x100;
    Restored restored;
    parse_ucontext(ucontext, now, restored);
    l4::abi::ExceptionState want = sample.delivery.registers;
    want.rax = eintr;
    want.fs_base = 0x7000;
    want.vector = 0x100;
    want.error_code = 0;
    want.fault_address = 0;
    CHECK(std::memcmp(&restored.registers, &want, sizeof want) == 0);
    CHECK(restored.mask == ~kUnblockable);
    CHECK(restored.fpu_address == frame.fpu_address);
    CHECK(restored.alt_stack.flags == kSsDisable);
}

TEST_CASE("default actions are those of man 7 signal")
{
    for (int s = 1; s <= kMaxSignal; ++s) {
        Default want = Default::terminate;
        if (s == SIGCHLD || s == SIGURG || s == SIGWINCH)
            want = Default::ignore;
        else if (s == SIGSTOP || s == SIGTSTP || s == SIGTTIN || s == SIGTTOU)
            want = Default::stop;
        else if (s == SIGCONT)
            want = Default::resume;
        INFO("signal " << s);
        CHECK(default_action(s) == want);
    }
    CHECK(ignored(kSigChld, Action{kSigDfl, 0, 0, 0}));
    CHECK(ignored(kSigTerm, Action{kSigIgn, 0, 0, 0}));
    CHECK_FALSE(ignored(kSigTerm, Action{kSigDfl, 0, 0, 0}));
    CHECK_FALSE(ignored(kSigKill, Action{kSigIgn, 0, 0, 0}));
    CHECK_FALSE(ignored(kSigChld, Action{0x40'1000, 0, 0, 0}));
}

TEST_CASE("SA_RESTART restarts the calls Linux answers ERESTARTSYS, not sleeps, poll or sigsuspend")
{
    for (uint64_t n : {0u, 1u, 16u, 19u, 20u, 61u, 202u, 247u})
        CHECK(restarts_with_sa_restart(n));
    for (uint64_t n : {7u, 35u, 130u, 230u, 23u, 34u, 39u})
        CHECK_FALSE(restarts_with_sa_restart(n));
}
