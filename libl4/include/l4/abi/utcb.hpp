// The user thread control block: one page per thread, mapped in its task. The thread finds
// it through GS (%gs:0 holds the UTCB's own address).
#pragma once

#include <stdint.h>

#include "l4/abi/ipc.hpp"

namespace l4::abi {

// Registers of a thread as exception IPC and read/write_registers carry them (message words).
// fs_base is last so that the older words keep their indexes. There is no GS base: GS holds
// the UTCB's address and user code cannot change it (FSGSBASE stays off).
struct ExceptionState {
    uint64_t rax, rbx, rcx, rdx, rsi, rdi, rbp, rsp;
    uint64_t r8, r9, r10, r11, r12, r13, r14, r15;
    uint64_t rip, rflags;
    uint64_t vector; // CPU exception vector, kForeignSyscallVector or kForcedVector
    uint64_t error_code;
    uint64_t fault_address; // cr2 for page faults
    uint64_t fs_base;       // the thread's TLS base (ThreadOp::set_fs_base)
};
constexpr uint64_t kExceptionWords = sizeof(ExceptionState) / 8;
constexpr uint64_t kForeignSyscallVector = 0x100; // a foreign-ABI thread's `syscall`
constexpr uint64_t kForcedVector = 0x101;         // ThreadOp::force_exception

// The short form of a foreign-ABI syscall's exception IPC (ThreadOp::set_foreign_abi with
// foreign_abi::short_message): the system-call registers as the Linux x86-64 ABI has them,
// then where the thread was. Words 0..5 travel in registers, 6..9 in the UTCB. The reply
// reply_label::resume_with_rax (word 0 = the result) lets the thread go on after its syscall.
struct ForeignSyscall {
    uint64_t rax, rdi, rsi, rdx, r10, r8, r9;
    uint64_t rip, rsp, rflags;
};
constexpr uint64_t kForeignSyscallWords = sizeof(ForeignSyscall) / 8;
static_assert(kExceptionWords <= kMessageWords);

// A thread's x87/SSE state as ThreadOp::read_fpu and write_fpu carry it in mr[0..63]: the
// 512-byte FXSAVE (64-bit) image the CPU defines (Intel SDM vol. 1, 10.5.1).
namespace fpu_image {
constexpr uint64_t kBytes = 512;
constexpr uint64_t kMxcsr = 24;     // uint32_t MXCSR
constexpr uint64_t kMxcsrMask = 28; // uint32_t: the MXCSR bits this CPU has (0: 0xffbf)
constexpr uint64_t kSt0 = 32;       // st0..st7 (mm0..mm7), 16 bytes apart
constexpr uint64_t kXmm0 = 160;     // xmm0..xmm15, 16 bytes apart
constexpr uint64_t kRegisterStride = 16;
} // namespace fpu_image
static_assert(fpu_image::kBytes == kMessageWords * 8);

// A capability to send: the sender's selector and the rights the receiver may have.
struct CapItem {
    uint64_t selector;
    uint64_t rights;
};

struct Utcb {
    uint64_t self;                     // this UTCB's address
    uint64_t mr[kMessageWords];        // message words; mr[0..5] also travel in registers
    CapItem send_caps[kMaxTypedItems]; // capabilities of an outgoing message
    uint64_t receive_slot;             // where received capabilities land (consecutive slots);
                                       // ~0: accept none
    uint64_t received_caps;            // how many arrived with the last message
    MapItem send_pages[kMaxMapItems];  // memory of an outgoing message
    uint64_t receive_window;           // Flexpage where received memory may land; 0: none
    uint64_t received_pages;           // how many 4 KiB pages arrived with the last message
    uint64_t reserved[16];
};
static_assert(sizeof(Utcb) <= 4096);

constexpr uint64_t kNoReceiveSlot = ~uint64_t{0};

} // namespace l4::abi
