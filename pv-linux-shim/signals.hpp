// Linux signals as the shim delivers them (portable: host-tested in shim_signals_test.cpp):
// the numbers and default actions (man 7 signal), which interrupted calls restart, and the
// x86-64 rt_sigframe a handler is entered with and rt_sigreturn reads back
// (arch/x86/include/uapi/asm/sigcontext.h, ucontext.h, siginfo.h).
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "l4/abi/utcb.hpp"

namespace shim::signals {

constexpr int kSigHup = 1, kSigInt = 2, kSigQuit = 3, kSigIll = 4, kSigTrap = 5, kSigAbrt = 6, kSigBus = 7, kSigFpe = 8,
              kSigKill = 9, kSigUsr1 = 10, kSigSegv = 11, kSigUsr2 = 12, kSigPipe = 13, kSigAlrm = 14, kSigTerm = 15,
              kSigChld = 17, kSigCont = 18, kSigStop = 19, kSigTstp = 20, kSigTtin = 21, kSigTtou = 22, kSigWinch = 28,
              kMaxSignal = 64;

constexpr uint64_t bit(int signal) { return uint64_t{1} << (signal - 1); }
constexpr uint64_t kUnblockable = bit(kSigKill) | bit(kSigStop);
constexpr uint64_t kStopSignals = bit(kSigStop) | bit(kSigTstp) | bit(kSigTtin) | bit(kSigTtou);

// sigaction's handler values and flags.
constexpr uint64_t kSigDfl = 0, kSigIgn = 1;
constexpr uint64_t kSaNocldstop = 1, kSaNocldwait = 2, kSaSiginfo = 4, kSaRestorer = 0x0400'0000,
                   kSaOnstack = 0x0800'0000, kSaRestart = 0x1000'0000, kSaNodefer = 0x4000'0000,
                   kSaResethand = 0x8000'0000;

// si_code values.
constexpr int32_t kSiUser = 0, kSiKernel = 0x80, kSiTkill = -6;
constexpr int32_t kCldExited = 1, kCldKilled = 2, kCldStopped = 5, kCldContinued = 6;
constexpr int32_t kSegvMaperr = 1, kSegvAccerr = 2;

enum class Default : uint8_t { terminate, ignore, stop, resume };

// What a signal does when its handler is SIG_DFL (core-dumping ones terminate: no core files).
Default default_action(int signal);

// struct kernel_sigaction, as rt_sigaction carries it.
struct Action {
    uint64_t handler, flags, restorer, mask;
};

// Whether `action` for `signal` leaves it without effect (discarded when sent unblocked).
bool ignored(int signal, const Action& action);

// stack_t: sigaltstack's.
struct AltStack {
    uint64_t sp;
    int32_t flags;
    uint32_t pad;
    uint64_t size;
};
constexpr int32_t kSsOnstack = 1, kSsDisable = 2;
constexpr uint64_t kMinSigStackSize = 2048;

// What a siginfo says of one signal.
struct Info {
    int32_t signo = 0, code = 0;
    int32_t pid = 0, uid = 0;
    int32_t status = 0;                // SIGCHLD: the exit code or the signal
    uint64_t address = 0;              // SIGSEGV, SIGBUS, SIGILL, SIGFPE: the fault address
    uint64_t trap = 0, error_code = 0; // a CPU exception's vector and error code (sigcontext)
};

// The frame: its size and where its parts go (offsets from the frame's start).
constexpr size_t kFrameBytes = 440, kUcontextOffset = 8, kInfoOffset = 312, kFpuBytes = 512;
constexpr size_t kMcontextOffset = kUcontextOffset + 40, kSigmaskOffset = kUcontextOffset + 296;
constexpr size_t kRedZone = 128;

// Everything a handler's entry needs.
struct Delivery {
    l4::abi::ExceptionState registers; // where the process would have gone on
    const uint8_t* fpu;                // its FXSAVE image, kFpuBytes
    uint64_t saved_mask;               // the mask rt_sigreturn puts back
    Info info;
    Action action;
    AltStack alt_stack; // flags kSsDisable: none
};

// The bytes to write: the frame (at `frame_address`) and the FXSAVE image (at `fpu_address`),
// and the registers the handler starts with.
struct Frame {
    uint64_t frame_address, fpu_address;
    uint8_t frame[kFrameBytes];
    uint8_t fpu[kFpuBytes];
    l4::abi::ExceptionState entry;
};

// Lays out the frame below the process's stack (or on its alternate stack); false when the
// stack pointer leaves no room for it (the address space's bottom would be crossed).
bool build_frame(const Delivery& delivery, Frame& out);

// What rt_sigreturn takes back from the ucontext at the process's rsp: its registers, its mask
// (less SIGKILL and SIGSTOP), where its FXSAVE image is (0: none), its alternate stack.
struct Restored {
    l4::abi::ExceptionState registers;
    uint64_t mask;
    uint64_t fpu_address;
    AltStack alt_stack;
};
constexpr size_t kUcontextBytes = kInfoOffset - kUcontextOffset; // 304: up to the sigmask's end
void parse_ucontext(const uint8_t (&ucontext)[kUcontextBytes], const l4::abi::ExceptionState& now, Restored& out);

// Interrupted system calls: restarted after a handler with SA_RESTART (those that Linux answers
// ERESTARTSYS), or always answered EINTR (ERESTARTNOHAND and restart_block ones: sleeps, poll,
// sigsuspend).
bool restarts_with_sa_restart(uint64_t syscall_number);

} // namespace shim::signals
