// Linux signals: default actions, restarts and the x86-64 signal frame (signals.hpp).
#include "signals.hpp"

#include "common/string.hpp"

namespace shim::signals {

namespace {

// struct sigcontext's words, in their order (uapi asm/sigcontext.h).
enum Word : size_t {
    r8,
    r9,
    r10,
    r11,
    r12,
    r13,
    r14,
    r15,
    rdi,
    rsi,
    rbp,
    rbx,
    rdx,
    rax,
    rcx,
    rsp,
    rip,
    eflags,
    cs_gs_fs_ss,
    err,
    trapno,
    oldmask,
    cr2,
    fpstate,
    kWords
};
constexpr uint64_t kUserSelectors = 0x33 | uint64_t{0x2b} << 48; // cs, gs 0, fs 0, ss
constexpr uint64_t kUcSigcontextSs = 2, kUcStrictRestoreSs = 4;
constexpr uint64_t kFlagsClearedForHandler = 0x400 | 0x100 | 0x10000; // DF, TF, RF
constexpr uint64_t kSyscallsRestarted[] = {0,  1,  16,  19,
                                           20, 61, 247, 202}; // read write ioctl readv writev wait4 waitid futex

void put(uint8_t* at, uint64_t value) { memcpy(at, &value, sizeof value); }
uint64_t get(const uint8_t* at)
{
    uint64_t value;
    memcpy(&value, at, sizeof value);
    return value;
}

void put_registers(uint8_t* words, const l4::abi::ExceptionState& s)
{
    const uint64_t values[kWords] = {s.r8,  s.r9,     s.r10,          s.r11, s.r12, s.r13, s.r14, s.r15,
                                     s.rdi, s.rsi,    s.rbp,          s.rbx, s.rdx, s.rax, s.rcx, s.rsp,
                                     s.rip, s.rflags, kUserSelectors, 0,     0,     0,     0,     0};
    memcpy(words, values, sizeof values);
}

// struct siginfo (128 bytes): signo, errno, code, then the union's fields of this code.
void put_info(uint8_t* at, const Info& info)
{
    memset(at, 0, 128);
    const int32_t head[3] = {info.signo, 0, info.code};
    memcpy(at, head, sizeof head);
    const bool fault = info.signo == kSigSegv || info.signo == kSigBus || info.signo == kSigIll ||
                       info.signo == kSigFpe || info.signo == kSigTrap;
    if (fault && info.code > 0) {
        put(at + 16, info.address);
        return;
    }
    const int32_t who[3] = {info.pid, info.uid, info.status};
    memcpy(at + 16, who, info.signo == kSigChld ? sizeof who : 2 * sizeof(int32_t));
}

} // namespace

Default default_action(int signal)
{
    switch (signal) {
    case kSigChld:
    case 23: // SIGURG
    case kSigWinch: return Default::ignore;
    case kSigStop:
    case kSigTstp:
    case kSigTtin:
    case kSigTtou: return Default::stop;
    case kSigCont: return Default::resume;
    default: return Default::terminate;
    }
}

bool ignored(int signal, const Action& action)
{
    if (action.handler == kSigIgn)
        return signal != kSigKill && signal != kSigStop;
    return action.handler == kSigDfl && default_action(signal) == Default::ignore;
}

bool build_frame(const Delivery& d, Frame& out)
{
    const AltStack& alt = d.alt_stack;
    uint64_t sp = d.registers.rsp;
    const bool on_alt = (alt.flags & kSsDisable) == 0 && sp - alt.sp <= alt.size && sp != alt.sp;
    if ((d.action.flags & kSaOnstack) != 0 && (alt.flags & kSsDisable) == 0 && !on_alt)
        sp = alt.sp + alt.size;
    else if (sp >= kRedZone)
        sp -= kRedZone;
    else
        return false;
    if (sp < kFpuBytes + kFrameBytes + 64 + 4096)
        return false; // it would reach the null page, or wrap
    out.fpu_address = (sp - kFpuBytes) & ~uint64_t{63};
    out.frame_address = ((out.fpu_address - kFrameBytes) & ~uint64_t{15}) - 8; // as if called
    memcpy(out.fpu, d.fpu, kFpuBytes);
    memset(out.fpu + 464, 0, kFpuBytes - 464); // software-reserved bytes: no xstate magic
    memset(out.frame, 0, sizeof out.frame);
    uint8_t* const uc = out.frame + kUcontextOffset;
    put(out.frame, d.action.restorer);
    put(uc, kUcSigcontextSs | kUcStrictRestoreSs);
    const AltStack now{alt.sp, (alt.flags & kSsDisable) != 0 ? kSsDisable : on_alt ? kSsOnstack : 0, 0, alt.size};
    memcpy(uc + 16, &now, sizeof now);
    uint8_t* const words = out.frame + kMcontextOffset;
    put_registers(words, d.registers);
    put(words + 8 * err, d.info.error_code);
    put(words + 8 * trapno, d.info.trap);
    put(words + 8 * oldmask, d.saved_mask);
    put(words + 8 * cr2, d.info.address);
    put(words + 8 * fpstate, out.fpu_address);
    put(out.frame + kSigmaskOffset, d.saved_mask);
    put_info(out.frame + kInfoOffset, d.info);

    out.entry = d.registers;
    out.entry.rip = d.action.handler;
    out.entry.rsp = out.frame_address;
    out.entry.rdi = static_cast<uint64_t>(d.info.signo);
    out.entry.rsi = out.frame_address + kInfoOffset;
    out.entry.rdx = out.frame_address + kUcontextOffset;
    out.entry.rax = 0;
    out.entry.rflags &= ~kFlagsClearedForHandler;
    return true;
}

void parse_ucontext(const uint8_t (&ucontext)[kUcontextBytes], const l4::abi::ExceptionState& now, Restored& out)
{
    const uint8_t* const w = ucontext + (kMcontextOffset - kUcontextOffset);
    l4::abi::ExceptionState& s = out.registers;
    s = now; // vector, error code, fault address, FS base: not the frame's to set
    s.r8 = get(w + 8 * r8), s.r9 = get(w + 8 * r9), s.r10 = get(w + 8 * r10), s.r11 = get(w + 8 * r11);
    s.r12 = get(w + 8 * r12), s.r13 = get(w + 8 * r13), s.r14 = get(w + 8 * r14), s.r15 = get(w + 8 * r15);
    s.rdi = get(w + 8 * rdi), s.rsi = get(w + 8 * rsi), s.rbp = get(w + 8 * rbp), s.rbx = get(w + 8 * rbx);
    s.rdx = get(w + 8 * rdx), s.rax = get(w + 8 * rax), s.rcx = get(w + 8 * rcx), s.rsp = get(w + 8 * rsp);
    s.rip = get(w + 8 * rip), s.rflags = get(w + 8 * eflags);
    out.fpu_address = get(w + 8 * fpstate);
    out.mask = get(ucontext + (kSigmaskOffset - kUcontextOffset)) & ~kUnblockable;
    memcpy(&out.alt_stack, ucontext + 16, sizeof out.alt_stack);
}

bool restarts_with_sa_restart(uint64_t syscall_number)
{
    for (uint64_t n : kSyscallsRestarted)
        if (n == syscall_number)
            return true;
    return false;
}

} // namespace shim::signals
