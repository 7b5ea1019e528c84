// The fuzzer's hostile classes (fuzz.hpp), mixed into its random stream by fuzz.cpp:
// 1. flags set by popf before a system call (NT, AC, DF, RF, IOPL, ID and the arithmetic ones on
//    the fuzzer's own calls: fuzz.cpp op_flags; TF on a thread of ours whose debug exception we
//    handle: op_trap_syscall);
// 2. far jumps, calls and returns, iretq, segment loads and sysenter aimed at compatibility mode
//    (selector 0x1b is null now), kernel or system segments: an exception IPC each, unless the
//    selector is the 64-bit user code (or data) segment, where they land (op_far_transfer);
// 3. write_registers on a thread blocked in IPC (send, call, receive, waiting for the reply), with
//    tags of huge counts in its rsi: what moves is what the kernel checked (op_write_blocked);
// 4. deep chains: tasks each holding the only capability to the previous one, nested factories,
//    capabilities derived from derived ones, a page mapped through a chain of tasks; after each,
//    the chain's factory has its quota back to the byte.
// Every result is checked against docs/syscalls.md (fuzz.cpp's record), and what the kernel
// must have delivered, exactly.
#include "fuzz.hpp"

#include <stddef.h>

#include "l4/abi/address_space.hpp"
#include "l4/format.hpp"

namespace fz {
namespace {

using abi::ExceptionState;
using abi::Flexpage;
using abi::MessageTag;
using abi::Syscall;
using abi::ThreadOp;

constexpr uint64_t kMaxSelector = kt::kSlots;
constexpr uint64_t kNoResume = 7;   // an exception reply label that leaves the thread suspended
constexpr uint64_t kWaitTicks = 50; // the longest wait for one of our threads (nobody else sends there)

// rflags bits.
constexpr uint64_t kCF = 1u << 0, kPF = 1u << 2, kAF = 1u << 4, kZF = 1u << 6, kSF = 1u << 7, kTF = 1u << 8,
                   kIF = 1u << 9, kDF = 1u << 10, kOF = 1u << 11, kIOPL = 3u << 12, kNT = 1u << 14, kRF = 1u << 16,
                   kVM = 1u << 17, kAC = 1u << 18, kVIF = 1u << 19, kVIP = 1u << 20, kID = 1u << 21, kFixed = 1u << 1;
constexpr uint64_t kArithmetic = kCF | kPF | kAF | kZF | kSF | kOF;
// What popf changes at CPL 3 with IOPL 0: not IF, IOPL, VM, VIF, VIP; RF it clears.
constexpr uint64_t kPopfChanges = kArithmetic | kTF | kDF | kNT | kAC | kID;
// What an exception reply or write_registers may set (user_registers.cpp: flags are sanitized).
constexpr uint64_t kSanitized = kArithmetic | kDF;
uint64_t sanitized(uint64_t flags) { return (flags & kSanitized) | kIF | kFixed; }

uint64_t sys_number(Syscall s) { return static_cast<uint64_t>(s); }

struct Stats {
    uint64_t flagged, traps, debug_traps, debug_after_pushf, far, far_landed, far_smap, far_vectors[32], rewrites,
        rewrites_refused, blocked[3];
    uint64_t chains[4], depth[4], max_depth[4];
};
Stats hs;

} // namespace
} // namespace fz

// The shared data of the assembly below (C names).
extern "C" {
struct TrapArgs {
    uint64_t flags;                          // 0: popf image before the instruction tested
    uint64_t number, rdi, rsi, rdx, r10, r8; // 8..48: the system call
    uint64_t selector;                       // 56
    uint64_t ss;                             // 64: iretq's
    uint64_t frame_flags;                    // 72: iretq's
    uint64_t address;                        // 80: fz_trap_read's
};
struct [[gnu::packed]] FarPointer {
    uint32_t offset;
    uint16_t selector;
};
struct BlockedRegs {
    uint64_t rax, rdi, rsi, rdx, r8, r9, r12, r13, r14, r15;
};
TrapArgs fz_trap_args;
FarPointer fz_trap_far;
BlockedRegs fz_blocked_regs;
void fz_blocked_prepare();
extern char fz_trap_syscall[], fz_trap_sys_ret[], fz_trap_sys_pushed[], fz_trap_sys_ud[];
extern char fz_trap_lret[], fz_trap_lret_at[], fz_trap_ljmp[], fz_trap_ljmp_at[], fz_trap_lcall[], fz_trap_lcall_at[];
extern char fz_trap_iret[], fz_trap_iret_at[], fz_trap_sysenter[], fz_trap_sysenter_at[];
extern char fz_trap_mov_ds[], fz_trap_mov_ds_at[], fz_trap_mov_es[], fz_trap_mov_es_at[], fz_trap_mov_ss[],
    fz_trap_mov_ss_at[];
extern char fz_trap_read[], fz_trap_read_at[], fz_trap_landed[];
extern char fz_blocked_entry[], fz_blocked_after[], fz_blocked_report[];
extern char fz_relay[];
}

static_assert(offsetof(TrapArgs, selector) == 56 && offsetof(TrapArgs, address) == 80);
static_assert(offsetof(BlockedRegs, r15) == 72);
static_assert(offsetof(l4::abi::Utcb, receive_slot) == 584 && offsetof(l4::abi::Utcb, send_pages) == 600 &&
              offsetof(l4::abi::Utcb, receive_window) == 696 && sizeof(l4::abi::MapItem) == 24);

// The trap thread's bodies: each does one thing and ends in ud2 (or faults doing it), so its
// exception handler (the fuzzer) sees the registers. fz_trap_syscall: popf, a system call, pushf
// (TF: the single step traps after it or after the pushf), the flags to rbx.
asm(R"(
    .text
    .globl fz_trap_syscall, fz_trap_sys_ret, fz_trap_sys_pushed, fz_trap_sys_ud
fz_trap_syscall:
    mov %gs:0, %rax
    movq $-1, 584(%rax)             # receive_slot: none
    movq $0, 696(%rax)              # receive_window: none
    mov fz_trap_args+8(%rip), %rax
    mov fz_trap_args+16(%rip), %rdi
    mov fz_trap_args+24(%rip), %rsi
    mov fz_trap_args+32(%rip), %rdx
    mov fz_trap_args+40(%rip), %r10
    mov fz_trap_args+48(%rip), %r8
    pushq fz_trap_args(%rip)
    popfq
    syscall
fz_trap_sys_ret:
    pushfq
fz_trap_sys_pushed:
    pop %rbx
fz_trap_sys_ud:
    ud2

    .globl fz_trap_lret, fz_trap_lret_at
fz_trap_lret:
    pushq fz_trap_args+56(%rip)     # cs
    lea fz_trap_landed(%rip), %rax
    push %rax
fz_trap_lret_at:
    lretq

    .globl fz_trap_ljmp, fz_trap_ljmp_at, fz_trap_lcall, fz_trap_lcall_at
fz_trap_ljmp:
fz_trap_ljmp_at:
    ljmpl *fz_trap_far(%rip)
fz_trap_lcall:
fz_trap_lcall_at:
    lcalll *fz_trap_far(%rip)
    ud2

    .globl fz_trap_iret, fz_trap_iret_at
fz_trap_iret:
    mov %rsp, %rax
    pushq fz_trap_args+64(%rip)     # ss
    push %rax                       # rsp
    pushq fz_trap_args+72(%rip)     # rflags
    pushq fz_trap_args+56(%rip)     # cs
    lea fz_trap_landed(%rip), %rax
    push %rax                       # rip
    pushq fz_trap_args(%rip)        # our own flags (NT: iretq must fault)
    popfq
fz_trap_iret_at:
    iretq

    .globl fz_trap_sysenter, fz_trap_sysenter_at
fz_trap_sysenter:
fz_trap_sysenter_at:
    sysenter
    jmp fz_trap_landed

    .globl fz_trap_mov_ds, fz_trap_mov_ds_at, fz_trap_mov_es, fz_trap_mov_es_at, fz_trap_mov_ss, fz_trap_mov_ss_at
fz_trap_mov_ds:
    mov fz_trap_args+56(%rip), %rax
fz_trap_mov_ds_at:
    mov %ax, %ds
    jmp fz_trap_landed
fz_trap_mov_es:
    mov fz_trap_args+56(%rip), %rax
fz_trap_mov_es_at:
    mov %ax, %es
    jmp fz_trap_landed
fz_trap_mov_ss:
    mov fz_trap_args+56(%rip), %rax
fz_trap_mov_ss_at:
    mov %ax, %ss
    jmp fz_trap_landed

    .globl fz_trap_read, fz_trap_read_at, fz_trap_landed
fz_trap_read:
    mov fz_trap_args+80(%rip), %rax
fz_trap_read_at:
    mov (%rax), %rbx
fz_trap_landed:
    ud2

# The blocked thread: its UTCB from fz_blocked_prepare, its registers from fz_blocked_regs, one
# IPC that blocks; write_registers sends it on to fz_blocked_report.
    .globl fz_blocked_entry, fz_blocked_after, fz_blocked_report
fz_blocked_entry:
    call fz_blocked_prepare
    mov fz_blocked_regs+0(%rip), %rax
    mov fz_blocked_regs+8(%rip), %rdi
    mov fz_blocked_regs+16(%rip), %rsi
    mov fz_blocked_regs+24(%rip), %rdx
    mov fz_blocked_regs+32(%rip), %r8
    mov fz_blocked_regs+40(%rip), %r9
    mov fz_blocked_regs+48(%rip), %r12
    mov fz_blocked_regs+56(%rip), %r13
    mov fz_blocked_regs+64(%rip), %r14
    mov fz_blocked_regs+72(%rip), %r15
    syscall
fz_blocked_after:
    ud2
fz_blocked_report:
    ud2

# The relay of a mapping chain, in a task of its own: the page is mapped to it (read and execute)
# by its pager together with the data page (at its start's sp), and it answers every page fault
# on its slot 0 with both pages, at the same addresses. No stack.
    .balign 4096
    .globl fz_relay
fz_relay:
    mov %gs:0, %rbx
    lea fz_relay(%rip), %rax
    mov %rax, 608(%rbx)             # send_pages[0]: this page, read + execute
    or $0xc5, %rax
    mov %rax, 600(%rbx)
    movq $0, 616(%rbx)
    mov %rsp, %rax
    and $-4096, %rax
    mov %rax, 632(%rbx)             # send_pages[1]: the data page, read + write
    or $0xc3, %rax
    mov %rax, 624(%rbx)
    movq $0, 640(%rbx)
    movq $-1, 584(%rbx)             # receive_slot: none
    movq $0, 696(%rbx)              # receive_window: none
    xor %edi, %edi
    mov $-1, %rdx
    mov $5, %eax                    # ipc_receive(slot 0, never)
    syscall
1:  test %rax, %rax
    jnz 2f
    xor %edi, %edi
    mov $0x800, %esi                # label 0, two map items
    mov $-1, %rdx
    mov $6, %eax                    # ipc_reply_wait(slot 0, never)
    syscall
    jmp 1b
2:  mov $1, %eax                    # thread_exit
    syscall
    ud2
    .balign 4096
)");

namespace fz {
namespace {

alignas(16) uint8_t trap_stack[4096];
alignas(16) uint8_t blocked_stack[8192];

uint64_t addr(const char* label) { return reinterpret_cast<uint64_t>(label); }
uint64_t stack_top(uint8_t* stack, uint64_t size) { return reinterpret_cast<uint64_t>(stack + size); }

// Empty pool slots, from the top of the capability space down (the random calls name those
// least); fewer than n when there are not so many.
uint64_t empty_slots(Selector* out, uint64_t n)
{
    uint64_t found = 0;
    for (Selector s = kMaxSelector - 1; s >= kHotEnd && found < n; --s)
        if (slot_empty(s))
            out[found++] = s;
    return found;
}

// The trap thread ---------------------------------------------------------------------------

bool trap_pending; // its last exception waits for our reply

// A thread of ours at `ip` (stack trap_stack) whose exceptions come to kTrapEndpoint; false
// (skipped) when the fuzz factory cannot pay for it.
bool trap_start(uint64_t ip)
{
    auto create = sys_number(Syscall::factory_create), control = sys_number(Syscall::thread_control);
    Error e = checked(create, kFuzzFactory, static_cast<uint64_t>(abi::ObjectKind::thread), kTrapThread,
                      abi::boot::kTaskSelector, kMainPriority,
                      err_bit(Error::ok) | err_bit(Error::quota_exhausted) | err_bit(Error::out_of_memory));
    if (e != Error::ok) {
        count_skipped();
        return false;
    }
    checked(control, kTrapThread, static_cast<uint64_t>(ThreadOp::set_exception_handler), kTrapEndpoint, 0, 0,
            err_bit(Error::ok));
    checked(control, kTrapThread, static_cast<uint64_t>(ThreadOp::start), ip, stack_top(trap_stack, sizeof trap_stack),
            0, err_bit(Error::ok));
    trap_pending = false;
    return true;
}

// The next exception of kTrapThread or kBlockedThread (its ExceptionState); false when none came.
bool next_exception(ExceptionState& s, const char* who)
{
    abi::Utcb& u = *l4::utcb();
    u.receive_slot = abi::kNoReceiveSlot;
    u.receive_window = 0;
    l4::Message m;
    Error e = l4::receive(kTrapEndpoint, m, kWaitTicks);
    if (!check(e == Error::ok, who, static_cast<uint64_t>(e)))
        return false;
    check(m.tag.label() == abi::label::exception && m.tag.words() == abi::kExceptionWords && m.badge == 0,
          "an exception IPC with the wrong tag or badge", m.tag.raw);
    kt::gather_words(m);
    s = kt::utcb_state();
    trap_pending = true;
    ++hs.traps;
    return true;
}

// Answers the pending exception: resume (with registers `with`, if not null) or leave it
// suspended.
void answer_exception(const ExceptionState* with, uint64_t label)
{
    if (!trap_pending)
        return;
    trap_pending = false;
    l4::Message m;
    uint64_t words = 0;
    if (with != nullptr) {
        kt::utcb_state() = *with;
        kt::scatter_words(m);
        words = abi::kExceptionWords;
    }
    m.tag = MessageTag::make(label, words);
    check(l4::reply(m) == Error::ok, "the reply to an exception IPC failed");
}

void release_thread(Selector thread)
{
    answer_exception(nullptr, kNoResume);
    checked(sys_number(Syscall::cap_delete), thread, 0, 0, 0, 0, err_bit(Error::ok));
}

// Reads the word at `address` on the trap thread: true and the word, or false and the vector
// and fault address of the exception the read took.
struct Read {
    bool started, ok;
    uint64_t value, vector, fault_address;
};
Read trap_read(uint64_t address)
{
    fz_trap_args.address = address;
    Read r{};
    if (!trap_start(addr(fz_trap_read)))
        return r;
    r.started = true;
    ExceptionState s;
    if (next_exception(s, "a read probe took no exception")) {
        r.ok = s.vector == 6 && s.rip == addr(fz_trap_landed);
        r.value = s.rbx;
        r.vector = s.vector;
        r.fault_address = s.fault_address;
        if (!r.ok)
            check(s.vector == 14 && s.rip == addr(fz_trap_read_at) && s.fault_address == address,
                  "a read probe ended in neither its ud2 nor a page fault at its read", s.vector);
    }
    release_thread(kTrapThread);
    return r;
}

} // namespace

// Class 1: flags -----------------------------------------------------------------------------

uint64_t call_flags;

uint64_t random_flags(Rng& rng, bool trap)
{
    static const uint64_t bits[] = {kNT, kAC, kDF, kRF, kIOPL, 1u << 12, 1u << 13, kID, kVM, kVIF, kVIP, kCF, kZF, kOF};
    uint64_t flags = kFixed | (rng.chance(85) ? kIF : 0);
    uint64_t n = 1 + rng.below(5);
    for (uint64_t i = 0; i < n; ++i)
        flags |= pick(rng, bits);
    if (rng.chance(10))
        flags |= rng.next() & 0x3f7ed5; // anything of the low 22 bits but TF and the reserved ones
    if (trap)
        flags |= kTF;
    return flags;
}

uint64_t popf_result(uint64_t flags) { return (flags & kPopfChanges) | kIF | kFixed; }

void check_flags_after(uint64_t number, uint64_t wanted, uint64_t after)
{
    ++hs.flagged;
    uint64_t expected = popf_result(wanted);
    if (after != expected) {
        l4::println("fuzz: flags {:#x} before system call {}: {:#x} after it, {:#x} expected", wanted, number, after,
                    expected);
        check(false, "the flags after a system call are not the flags before it", after ^ expected);
    }
}

// The call with popf's flags; `flags` then holds pushf's right after the syscall. The red zone
// below rsp is stepped over; the flags are made plain again (DF clear) before C++ goes on.
Error flagged_syscall(uint64_t number, uint64_t rdi, uint64_t rsi, uint64_t rdx, uint64_t r10v, uint64_t r8v,
                      uint64_t& flags)
{
    uint64_t result = number, f = flags;
    register uint64_t r10 asm("r10") = r10v;
    register uint64_t r8 asm("r8") = r8v;
    register uint64_t r9 asm("r9") = 0;
    asm volatile("sub $128, %%rsp\n\t"
                 "push %[f]\n\t"
                 "popfq\n\t"
                 "syscall\n\t"
                 "pushfq\n\t"
                 "pop %[f]\n\t"
                 "pushq $0x202\n\t"
                 "popfq\n\t"
                 "add $128, %%rsp"
                 : "+a"(result), "+D"(rdi), "+S"(rsi), "+d"(rdx), "+r"(r10), "+r"(r8), "+r"(r9), [f] "+r"(f)
                 :
                 : "rcx", "r11", "memory", "cc");
    flags = f;
    return static_cast<Error>(result);
}

Error flagged_ipc(Syscall number, Selector endpoint, l4::Message& m, uint64_t timeout, uint64_t& flags)
{
    uint64_t result = static_cast<uint64_t>(number), f = flags;
    uint64_t rdi = endpoint, rsi = m.tag.raw, rdx = timeout;
    register uint64_t w0 asm("r8") = m.words[0];
    register uint64_t w1 asm("r9") = m.words[1];
    register uint64_t w2 asm("r12") = m.words[2];
    register uint64_t w3 asm("r13") = m.words[3];
    register uint64_t w4 asm("r14") = m.words[4];
    register uint64_t w5 asm("r15") = m.words[5];
    asm volatile("sub $128, %%rsp\n\t"
                 "push %[f]\n\t"
                 "popfq\n\t"
                 "syscall\n\t"
                 "pushfq\n\t"
                 "pop %[f]\n\t"
                 "pushq $0x202\n\t"
                 "popfq\n\t"
                 "add $128, %%rsp"
                 : "+a"(result), "+D"(rdi), "+S"(rsi), "+d"(rdx), "+r"(w0), "+r"(w1), "+r"(w2), "+r"(w3), "+r"(w4),
                   "+r"(w5), [f] "+b"(f)
                 :
                 : "rcx", "r10", "r11", "memory", "cc");
    m.tag.raw = rsi;
    m.badge = rdx;
    m.words[0] = w0;
    m.words[1] = w1;
    m.words[2] = w2;
    m.words[3] = w3;
    m.words[4] = w4;
    m.words[5] = w5;
    flags = f;
    return static_cast<Error>(result);
}

// TF (and the rest) on the trap thread: popf, one system call whose result is known exactly,
// pushf. TF comes back with the user's flags, so the single step traps once user code runs
// again (after the syscall or the pushf): a #DB (vector 1) to the handler, whose
// resume_with_registers reply clears TF (flags are sanitized). Then the ud2 reports rbx, pushf's
// image.
void op_trap_syscall()
{
    Rng& rng = fuzz_rng();
    struct Case {
        Syscall number;
        uint64_t rdi, rsi, rdx, r10, r8;
        uint32_t allow;
    };
    const uint64_t bad_page = Flexpage::make(kScratchD, 3, 0).raw;
    const Case cases[] = {
        {Syscall::yield, 0, 0, 0, 0, 0, err_bit(Error::ok)},
        {Syscall::debug_write, addr(fz_trap_landed), 0, 0, 0, 0, err_bit(Error::ok)},
        {Syscall::debug_write, kt::kKernelAddress, 8, 0, 0, 0, err_bit(Error::bad_address)},
        {Syscall::debug_write, addr(fz_trap_landed), abi::kMaxDebugWrite + 1, 0, 0, 0,
         err_bit(Error::invalid_argument)},
        {Syscall::notify_signal, kPulse, 1, 0, 0, 0, err_bit(Error::ok)},
        {Syscall::notify_poll, kPulse, 0, 0, 0, 0, err_bit(Error::ok)},
        {Syscall::cap_delete, kAlwaysEmpty, 0, 0, 0, 0, err_bit(Error::invalid_selector)},
        {Syscall::thread_control, kTrapThread, static_cast<uint64_t>(ThreadOp::read_registers), 0, 0, 0,
         err_bit(Error::busy)},
        {Syscall::memory_unmap, bad_page, 0, 0, 0, 0, err_bit(Error::invalid_argument)},
        {Syscall::ipc_send, kNobody, 0, abi::kTimeoutZero, 0, 0, err_bit(Error::timeout)},
        {Syscall::ipc_receive, kNobody, 0, 1, 0, 0, err_bit(Error::timeout)},
        {Syscall::ipc_call, kRendezvous, MessageTag::make(7, 0).raw, 2, 0, 0,
         err_bit(Error::ok) | err_bit(Error::timeout)},
        {Syscall::ipc_reply, 0, 0, 0, 0, 0, err_bit(Error::invalid_selector)},
        {Syscall::factory_create, kFuzzFactory, 99, kAlwaysEmpty, 0, 0, err_bit(Error::invalid_argument)},
        {static_cast<Syscall>(1000), 0, 0, 0, 0, 0, err_bit(Error::unknown_syscall)},
    };
    const Case& c = cases[rng.below(sizeof cases / sizeof cases[0])];
    bool tf = rng.chance(75);
    uint64_t flags = random_flags(rng, tf);
    fz_trap_args = TrapArgs{flags, static_cast<uint64_t>(c.number), c.rdi, c.rsi, c.rdx, c.r10, c.r8, 0, 0, 0, 0};
    if (!trap_start(addr(fz_trap_syscall)))
        return;
    uint64_t expected = popf_result(flags);
    uint64_t debug_at = 0; // where the #DB came (0: none yet)
    bool recorded = false;
    auto result = [&](const ExceptionState& s) {
        if (!recorded)
            record_call(static_cast<uint64_t>(c.number), c.rdi, c.rsi, c.rdx, c.r10, c.r8, s.rax, c.allow);
        recorded = true;
    };
    for (int round = 0; round < 3; ++round) {
        ExceptionState s;
        if (!next_exception(s, "the trap thread took no exception after its system call")) {
            uint64_t rip =
                l4::thread_control(kTrapThread, ThreadOp::read_registers) == Error::ok ? kt::utcb_state().rip : 0;
            l4::println("fuzz: trap thread: system call {} flags {:#x} round {} (#DB at {:#x}): it is at {:#x}",
                        static_cast<uint64_t>(c.number), flags, round, debug_at, rip);
            break;
        }
        if (s.vector == 1 && debug_at == 0) {
            ++hs.debug_traps;
            debug_at = s.rip;
            if (s.rip == addr(fz_trap_sys_pushed))
                ++hs.debug_after_pushf;
            result(s);
            check(tf, "a debug exception without TF", flags);
            check(s.rip == addr(fz_trap_sys_ret) || s.rip == addr(fz_trap_sys_pushed),
                  "the single step after a system call trapped elsewhere", s.rip);
            check((s.rflags & ~kRF) == expected, "the flags at the single step are not those set before the call",
                  s.rflags ^ expected);
            if (s.rip == addr(fz_trap_sys_pushed))
                check(*reinterpret_cast<const uint64_t*>(s.rsp) == expected,
                      "pushf after a system call with TF: not the flags before it",
                      *reinterpret_cast<const uint64_t*>(s.rsp) ^ expected);
            answer_exception(&s, abi::reply_label::resume_with_registers);
            continue;
        }
        if (s.vector == 6 && s.rip == addr(fz_trap_sys_ud)) {
            result(s);
            check(!tf || debug_at != 0, "TF set before a system call, but no debug exception", flags);
            // pushf ran before the sanitizing reply, or after it.
            uint64_t pushed = debug_at == addr(fz_trap_sys_ret) ? sanitized(expected) : expected;
            uint64_t live = debug_at != 0 ? sanitized(expected) : expected;
            check(s.rbx == pushed, "the flags after a system call on the trap thread are not those before it",
                  s.rbx ^ pushed);
            check((s.rflags & ~kRF) == live, "the trap thread's flags at its ud2", s.rflags ^ live);
            break;
        }
        l4::println("fuzz: trap thread: vector {} at {:#x} (flags {:#x}, system call {})", s.vector, s.rip, flags,
                    static_cast<uint64_t>(c.number));
        check(false, "the trap thread took an exception it should not have", s.vector);
        break;
    }
    release_thread(kTrapThread);
}

// Class 2: far transfers and segment loads -----------------------------------------------------

// The GDT (kernel gdt.cpp): 0x08 kernel code, 0x10 kernel data, 0x18 null (no 32-bit user code),
// 0x20 user data, 0x28 user code (64-bit), 0x30 the TSS (two entries); nothing at 0x40 and up, no
// LDT. A far transfer lands only in 0x28 (ljmp/lcall: any RPL, CS.RPL becomes 3; lretq and iretq:
// RPL 3, and iretq needs SS 0x23 and NT clear); ds and es take null selectors and 0x20 and 0x28
// (readable code), ss only 0x23; sysenter is closed (#GP, or #UD on AMD).
void op_far_transfer()
{
    Rng& rng = fuzz_rng();
    static const uint64_t selectors[] = {0x1b, 0x18, 0x19, 0x0b, 0x08, 0x13, 0x10, 0x33, 0x30, 0x3b,   0x38,  0x23,
                                         0x20, 0x2b, 0x28, 0x29, 0x00, 0x03, 0x43, 0x1f, 0x2f, 0xfffb, 0xffff};
    enum Kind : uint64_t { lret, ljmp, lcall, iret, sysenter, mov_ds, mov_es, mov_ss, kinds };
    struct Entry {
        char* entry;
        char* at;
    };
    const Entry entries[kinds] = {{fz_trap_lret, fz_trap_lret_at},         {fz_trap_ljmp, fz_trap_ljmp_at},
                                  {fz_trap_lcall, fz_trap_lcall_at},       {fz_trap_iret, fz_trap_iret_at},
                                  {fz_trap_sysenter, fz_trap_sysenter_at}, {fz_trap_mov_ds, fz_trap_mov_ds_at},
                                  {fz_trap_mov_es, fz_trap_mov_es_at},     {fz_trap_mov_ss, fz_trap_mov_ss_at}};
    auto kind = static_cast<Kind>(rng.below(kinds));
    uint64_t sel = rng.chance(80) ? pick(rng, selectors) : rng.below(0x10000);
    uint64_t ss = rng.chance(70) ? 0x23 : pick(rng, selectors);
    uint64_t flags = kIF | kFixed | (rng.next() & kArithmetic) | (rng.chance(20) ? kDF : 0) |
                     (rng.chance(20) ? kAC : 0) | (kind == iret && rng.chance(25) ? kNT : 0);
    fz_trap_args = TrapArgs{flags, 0, 0, 0, 0, 0, 0, sel, ss, kIF | kFixed | (rng.next() & kArithmetic), 0};
    fz_trap_far = FarPointer{static_cast<uint32_t>(addr(fz_trap_landed)), static_cast<uint16_t>(sel)};
    uint64_t index = sel & 0xfffc; // the index and the table bit
    bool lands = false;
    switch (kind) {
    case lret: lands = sel == 0x2b; break;
    case ljmp:
    case lcall: lands = index == 0x28; break;
    case iret: lands = sel == 0x2b && ss == 0x23 && (flags & kNT) == 0; break;
    case sysenter: lands = false; break;
    case mov_ds:
    case mov_es: lands = index == 0 || index == 0x20 || index == 0x28; break;
    case mov_ss: lands = sel == 0x23; break;
    default: break;
    }
    if (!trap_start(addr(entries[kind].entry)))
        return;
    ++hs.far;
    ExceptionState s;
    if (next_exception(s, "a far transfer took no exception")) {
        bool landed = s.vector == 6 && s.rip == addr(fz_trap_landed);
        if (landed)
            ++hs.far_landed;
        else if (s.vector < 32 && s.vector != 14)
            ++hs.far_vectors[s.vector];
        // QEMU 7.2's TCG (Debian 12's) pops lretq's and iretq's frame and pushes lcall's return
        // address with supervisor accesses: under SMAP a page fault (present, not user) on the
        // stack at the instruction, whatever the selector. The kernel must take it as any user
        // page fault; counted apart, and the selector's outcome is then not known.
        auto stack = reinterpret_cast<uint64_t>(trap_stack);
        bool emulator_smap = (kind == lret || kind == iret || kind == lcall) && s.vector == 14 &&
                             s.rip == addr(entries[kind].at) && (s.error_code & ~uint64_t{2}) == 1 &&
                             s.fault_address >= stack && s.fault_address < stack + sizeof trap_stack;
        if (emulator_smap) {
            ++hs.far_smap;
            landed = lands;
        }
        // iretq checks SS too: a #GP may name the SS selector (Bochs does) rather than CS.
        bool fault_ok =
            emulator_smap ||
            (s.rip == addr(entries[kind].at) && (s.vector == 13 || s.vector == 11 || s.vector == 12 || s.vector == 6) &&
             (s.error_code == 0 || s.error_code == index || (kind == iret && s.error_code == (ss & 0xfffc))));
        if (landed != lands || (!landed && !fault_ok)) {
            l4::println("fuzz: far transfer kind {} selector {:#x} ss {:#x} flags {:#x}: vector {} error {:#x} at "
                        "{:#x} ({:#x} expected; {}), cr2 {:#x}",
                        static_cast<uint64_t>(kind), sel, ss, flags, s.vector, s.error_code, s.rip,
                        addr(entries[kind].at), lands ? "should have landed" : "should have faulted", s.fault_address);
            check(false, "a far transfer or segment load ended otherwise than the GDT says", sel);
        }
    }
    release_thread(kTrapThread);
}

// Class 3: write_registers on a thread blocked in IPC ---------------------------------------------

namespace {

struct BlockedSetup {
    uint64_t mr[abi::kMessageWords];
    abi::CapItem cap;
    abi::MapItem page;
    uint64_t receive_slot, receive_window;
    abi::Utcb* utcb;
};
BlockedSetup blocked;

uint64_t& word_of(ExceptionState& s, uint64_t i)
{
    uint64_t* const regs[] = {&s.r8, &s.r9, &s.r12, &s.r13, &s.r14, &s.r15};
    return *regs[i];
}

// A page of S, mapped read-write in our space (as op_touch does: unmapped, then written).
uint64_t scratch_page(Rng& rng, uint64_t value)
{
    uint64_t page = scratch_s + (rng.below(kScratchSize / abi::kPageSize) << 12);
    checked(sys_number(Syscall::memory_unmap), Flexpage::make(page, 12, abi::page_rights::all).raw, 1, 0, 0, 0,
            err_bit(Error::ok));
    *reinterpret_cast<volatile uint64_t*>(page) = value;
    return page;
}

uint64_t hot_empty_slot(Rng& rng)
{
    for (int i = 0; i < 8; ++i) {
        Selector s = kHotFirst + rng.below(kHotEnd - kHotFirst - abi::kMaxTypedItems);
        if (slot_empty(s))
            return s;
    }
    return abi::kNoReceiveSlot;
}

uint64_t d_page(Rng& rng) { return Flexpage::make(kScratchD + (rng.below(2048) << 12), 12, abi::page_rights::all).raw; }

// A tag nobody checked: counts far out of range, or anything.
uint64_t wild_tag(Rng& rng)
{
    return rng.chance(70) ? MessageTag::make(rng.next() >> 16, 64 + rng.below(64), rng.below(8), rng.below(8)).raw
                          : rng.next();
}

// write_registers on kBlockedThread, 1-3 times: random registers, a wild tag in rsi, rip the
// report (or, refused, a kernel address: nothing changes). `last` is what it goes on with.
void rewrite(Rng& rng, ExceptionState& last, bool at_least_once)
{
    auto control = sys_number(Syscall::thread_control);
    uint64_t n = (at_least_once ? 1 : 0) + rng.below(3);
    for (uint64_t i = 0; i < n; ++i) {
        ExceptionState w;
        auto* words = reinterpret_cast<uint64_t*>(&w);
        for (uint64_t k = 0; k < abi::kExceptionWords; ++k)
            words[k] = rng.chance(50) ? edge_value(rng) : rng.next();
        w.rsi = wild_tag(rng);
        w.rip = addr(fz_blocked_report);
        w.rsp = rng.below(abi::kUserEnd);
        w.fs_base = rng.chance(50) ? 0 : rng.below(abi::kUserEnd); // it never reads through FS
        bool bad = i + 1 < n && rng.chance(25);
        if (bad) {
            uint64_t k = rng.below(3);
            if (k == 0)
                w.rip = rng.chance(50) ? kt::kKernelAddress : abi::kUserEnd + rng.below(1u << 20);
            else if (k == 1)
                w.rsp = kt::kNonCanonical + rng.below(1u << 20);
            else
                w.fs_base = rng.chance(50) ? kt::kKernelAddress : kt::kNonCanonical + rng.below(1u << 20);
        }
        kt::utcb_state() = w;
        Error e = checked(control, kBlockedThread, static_cast<uint64_t>(ThreadOp::write_registers), 0, 0, 0,
                          err_bit(bad ? Error::bad_address : Error::ok));
        ++hs.rewrites;
        if (bad) {
            ++hs.rewrites_refused;
            // Refused: the registers are those of before.
            if (l4::thread_control(kBlockedThread, ThreadOp::read_registers) == Error::ok) {
                ExceptionState now = kt::utcb_state();
                check(now.rip == last.rip && now.rsp == last.rsp && now.rsi == last.rsi && now.rbx == last.rbx &&
                          now.r15 == last.r15 && now.fs_base == last.fs_base,
                      "a refused write_registers changed the registers", now.rip);
            }
        } else if (e == Error::ok) {
            last = w;
            last.rflags = sanitized(w.rflags);
        }
    }
}

} // namespace

extern "C" void fz_blocked_prepare()
{
    abi::Utcb& u = *l4::utcb();
    blocked.utcb = &u;
    for (uint64_t i = abi::kRegisterWords; i < abi::kMessageWords; ++i)
        u.mr[i] = blocked.mr[i];
    u.send_caps[0] = blocked.cap;
    u.send_pages[0] = blocked.page;
    u.receive_slot = blocked.receive_slot;
    u.receive_window = blocked.receive_window;
    u.received_caps = 0x5a5a; // the kernel must write both at the next receipt
    u.received_pages = 0x5a5a;
}

// The call the fuzzer received (from the blocked thread) kept in a new reply object and answered
// through it with `r`, each step's error exact: the empty object answers nothing, the first
// reply_save keeps the call, a second finds no caller, nor does ipc_reply, reply_to answers
// (rsi 0 pages), and after it the object is empty again. kNotKept: done that way (recorded);
// anything else: no object could be made, l4::reply's result.
constexpr Error kNotKept = static_cast<Error>(~uint64_t{0});

Error answer_kept(Rng& rng, const l4::Message& r)
{
    // Finding an empty slot may use the UTCB's words: the reply's stay as they were.
    uint64_t words[abi::kMessageWords];
    abi::Utcb& u = *l4::utcb();
    __builtin_memcpy(words, u.mr, sizeof words);
    Selector keep = hot_empty_slot(rng);
    auto create = sys_number(Syscall::factory_create), save = sys_number(Syscall::reply_save);
    auto to = sys_number(Syscall::reply_to);
    if (keep == abi::kNoReceiveSlot ||
        checked(create, kFuzzFactory, static_cast<uint64_t>(abi::ObjectKind::reply), keep, 0, 0,
                err_bit(Error::ok) | err_bit(Error::quota_exhausted) | err_bit(Error::out_of_memory)) != Error::ok)
        keep = abi::kNoReceiveSlot;
    __builtin_memcpy(u.mr, words, sizeof words);
    if (keep == abi::kNoReceiveSlot)
        return l4::reply(r);
    l4::Message m = r;
    record_call(to, keep, m.tag.raw, 0, 0, 0, static_cast<uint64_t>(l4::detail::ipc(Syscall::reply_to, keep, m, 0)),
                err_bit(Error::invalid_selector));
    checked(save, keep, rng.next(), rng.next(), 0, 0, err_bit(Error::ok));
    checked(save, keep, 0, 0, 0, 0, err_bit(Error::invalid_selector));
    m = r;
    record_call(sys_number(Syscall::ipc_reply), 0, m.tag.raw, 0, 0, 0,
                static_cast<uint64_t>(l4::detail::ipc(Syscall::ipc_reply, 0, m, 0)), err_bit(Error::invalid_selector));
    uint64_t pages = ~uint64_t{0};
    Error e = l4::reply_to(keep, r, pages);
    record_call(to, keep, r.tag.raw, 0, 0, 0, static_cast<uint64_t>(e), err_bit(Error::ok));
    check(e != Error::ok || pages == 0, "reply_to of a reply without pages installed some", pages);
    m = r;
    record_call(to, keep, m.tag.raw, 0, 0, 0, static_cast<uint64_t>(l4::detail::ipc(Syscall::reply_to, keep, m, 0)),
                err_bit(Error::invalid_selector));
    remember(static_cast<uint64_t>(abi::ObjectKind::reply), keep);
    return kNotKept;
}

void op_write_blocked()
{
    Rng& rng = fuzz_rng();
    enum Kind : uint64_t { send, call, receive };
    auto kind = static_cast<Kind>(rng.below(3));
    Selector through = rng.chance(50) ? kBlockedEndpoint : kBlockedBadged;
    uint64_t badge = through == kBlockedBadged ? kBlockedBadge : 0;
    uint64_t value = rng.next();
    uint64_t page = scratch_page(rng, value);
    // What the blocked thread sends (send, call): the tag the kernel checks.
    MessageTag sent = MessageTag::make(rng.next() >> 16, rng.below(abi::kMessageWords + 1), rng.chance(25) ? 1 : 0,
                                       rng.chance(25) ? 1 : 0);
    for (uint64_t& w : blocked.mr)
        w = rng.next();
    blocked.cap = {kPulse, abi::rights::all};
    blocked.page = {Flexpage::make(page, 12, abi::page_rights::read | abi::page_rights::write).raw, 0, 0};
    blocked.receive_slot = kind == send     ? abi::kNoReceiveSlot
                           : rng.chance(40) ? abi::kNoReceiveSlot
                                            : hot_empty_slot(rng);
    blocked.receive_window = kind == send || rng.chance(40) ? 0 : d_page(rng);
    static const uint64_t numbers[] = {sys_number(Syscall::ipc_send), sys_number(Syscall::ipc_call),
                                       sys_number(Syscall::ipc_receive)};
    fz_blocked_regs = BlockedRegs{numbers[kind],
                                  kind == receive ? kBlockedEndpoint : through,
                                  kind == receive ? wild_tag(rng) : sent.raw,
                                  abi::kTimeoutNever,
                                  rng.next(),
                                  rng.next(),
                                  rng.next(),
                                  rng.next(),
                                  rng.next(),
                                  rng.next()};
    auto control = sys_number(Syscall::thread_control);
    Error e = checked(sys_number(Syscall::factory_create), kFuzzFactory, static_cast<uint64_t>(abi::ObjectKind::thread),
                      kBlockedThread, abi::boot::kTaskSelector, kMainPriority,
                      err_bit(Error::ok) | err_bit(Error::quota_exhausted) | err_bit(Error::out_of_memory));
    if (e != Error::ok) {
        count_skipped();
        return;
    }
    ++hs.blocked[kind];
    trap_pending = false;
    checked(control, kBlockedThread, static_cast<uint64_t>(ThreadOp::set_exception_handler), kTrapEndpoint, 0, 0,
            err_bit(Error::ok));
    checked(control, kBlockedThread, static_cast<uint64_t>(ThreadOp::start), addr(fz_blocked_entry),
            stack_top(blocked_stack, sizeof blocked_stack), 0, err_bit(Error::ok));
    // Blocked: its saved rip is right after the syscall (nothing can complete its IPC but us).
    ExceptionState last{};
    bool is_blocked = kt::wait_until(
        [&] {
            if (l4::thread_control(kBlockedThread, ThreadOp::read_registers) != Error::ok)
                return false;
            last = kt::utcb_state();
            return last.rip == addr(fz_blocked_after);
        },
        2000);
    if (!check(is_blocked, "a thread never blocked in its IPC", static_cast<uint64_t>(kind))) {
        release_thread(kBlockedThread);
        return;
    }
    rewrite(rng, last, true);

    abi::Utcb& u = *l4::utcb();
    // What reaches the blocked thread (call: the reply; receive: our message), and where.
    MessageTag answer{};
    uint64_t answer_badge = 0, answer_words[abi::kMessageWords];
    uint64_t theirs_caps = 0, theirs_pages = 0;
    for (uint64_t& w : answer_words)
        w = rng.next();
    if (kind == send || kind == call) {
        uint64_t slot = rng.chance(30) ? abi::kNoReceiveSlot : hot_empty_slot(rng);
        uint64_t window = rng.chance(30) ? 0 : d_page(rng);
        u.receive_slot = slot;
        u.receive_window = window;
        l4::Message m;
        e = l4::receive(kBlockedEndpoint, m, abi::kTimeoutZero);
        record_call(sys_number(Syscall::ipc_receive), kBlockedEndpoint, 0, 0, 0, 0, static_cast<uint64_t>(e),
                    err_bit(Error::ok));
        if (e == Error::ok) {
            uint64_t caps = sent.caps() != 0 && slot != abi::kNoReceiveSlot ? 1 : 0;
            uint64_t pages = sent.pages() != 0 && window != 0 ? 1 : 0;
            MessageTag want = MessageTag::make(sent.label(), sent.words(), caps, sent.pages());
            if (m.tag.raw != want.raw)
                l4::println("fuzz: write_registers on a blocked sender: tag {:#x} arrived, {:#x} was sent (rsi now "
                            "{:#x})",
                            m.tag.raw, want.raw, last.rsi);
            check(m.tag.raw == want.raw, "a blocked sender's message arrived with another tag than it sent", m.tag.raw);
            check(m.badge == badge, "a blocked sender's message arrived with the wrong badge", m.badge);
            check(u.received_caps == caps && u.received_pages == pages,
                  "a blocked sender's message brought other capabilities or pages than it sent",
                  u.received_caps << 32 | u.received_pages);
            check(u.receive_slot == slot && u.receive_window == window,
                  "a receipt changed the receiver's receive slot or window", u.receive_slot);
            uint64_t words = m.tag.words() < sent.words() ? m.tag.words() : sent.words();
            for (uint64_t i = 0; i < words; ++i) {
                uint64_t want_word = i < abi::kRegisterWords ? word_of(last, i) : blocked.mr[i];
                uint64_t got = i < abi::kRegisterWords ? m.words[i] : u.mr[i];
                if (!check(got == want_word, "a blocked sender's word arrived changed", i))
                    break;
            }
            if (pages != 0 && u.received_pages == 1) {
                Flexpage w{window};
                check(*reinterpret_cast<volatile uint64_t*>(w.base()) == value,
                      "the page a blocked sender mapped does not hold its word");
            }
            if (caps != 0)
                checked(sys_number(Syscall::cap_delete), slot, 0, 0, 0, 0, err_bit(Error::ok));
        }
        if (kind == call && e == Error::ok) {
            // Waiting for the reply now: rewrite again, then answer.
            rewrite(rng, last, false);
            answer = MessageTag::make(rng.next() >> 16, rng.below(abi::kMessageWords + 1));
            l4::Message r;
            r.tag = answer;
            for (uint64_t i = 0; i < abi::kRegisterWords; ++i)
                r.words[i] = answer_words[i];
            for (uint64_t i = abi::kRegisterWords; i < abi::kMessageWords; ++i)
                u.mr[i] = answer_words[i];
            e = rng.chance(50) ? answer_kept(rng, r) : l4::reply(r);
            if (e != kNotKept)
                record_call(sys_number(Syscall::ipc_reply), 0, answer.raw, 0, 0, 0, static_cast<uint64_t>(e),
                            err_bit(Error::ok));
            else
                e = Error::ok;
        }
    } else {
        // It waits in receive: our message, through `through`.
        uint64_t caps = rng.chance(30) ? 1 : 0, pages = rng.chance(30) ? 1 : 0;
        answer = MessageTag::make(rng.next() >> 16, rng.below(abi::kMessageWords + 1), caps, pages);
        answer_badge = badge;
        u.send_caps[0] = {kPulse, abi::rights::all};
        u.send_pages[0] = {Flexpage::make(page, 12, abi::page_rights::read | abi::page_rights::write).raw, 0, 0};
        l4::Message m;
        m.tag = answer;
        for (uint64_t i = 0; i < abi::kRegisterWords; ++i)
            m.words[i] = answer_words[i];
        for (uint64_t i = abi::kRegisterWords; i < abi::kMessageWords; ++i)
            u.mr[i] = answer_words[i];
        e = l4::send(through, m, abi::kTimeoutZero);
        record_call(sys_number(Syscall::ipc_send), through, answer.raw, 0, 0, 0, static_cast<uint64_t>(e),
                    err_bit(Error::ok));
        theirs_caps = caps != 0 && blocked.receive_slot != abi::kNoReceiveSlot ? 1 : 0;
        theirs_pages = pages != 0 && blocked.receive_window != 0 ? 1 : 0;
        answer = MessageTag::make(answer.label(), answer.words(), theirs_caps, pages);
        for (abi::MapItem& item : u.send_pages)
            item = abi::MapItem{};
    }
    // It goes on at the report with our registers, but for what its IPC returns.
    ExceptionState s;
    if (e == Error::ok && next_exception(s, "a thread whose IPC completed did not go on at its new rip")) {
        check(s.vector == 6 && s.rip == addr(fz_blocked_report), "a rewritten blocked thread went on elsewhere", s.rip);
        check(s.rax == 0, "a rewritten blocked thread's IPC did not return ok", s.rax);
        check((s.rflags & ~kRF) == last.rflags, "a rewritten thread's flags", s.rflags ^ last.rflags);
        check(s.rbx == last.rbx && s.rbp == last.rbp && s.rsp == last.rsp && s.rdi == last.rdi && s.r10 == last.r10,
              "write_registers: a register the IPC does not return changed", s.rbx ^ last.rbx);
        if (kind == send) {
            check(s.rsi == last.rsi && s.rdx == last.rdx, "write_registers: a sender's rsi or rdx changed", s.rsi);
            for (uint64_t i = 0; i < abi::kRegisterWords; ++i)
                check(word_of(s, i) == word_of(last, i), "write_registers: a sender's word register changed", i);
        } else {
            abi::Utcb& theirs = *blocked.utcb;
            if (s.rsi != answer.raw)
                l4::println("fuzz: write_registers on a blocked {}: it got tag {:#x}, {:#x} was sent",
                            kind == call ? "caller" : "receiver", s.rsi, answer.raw);
            check(s.rsi == answer.raw, "a rewritten thread received another tag than was sent", s.rsi);
            check(s.rdx == answer_badge, "a rewritten thread received the wrong badge", s.rdx);
            for (uint64_t i = 0; i < abi::kRegisterWords; ++i)
                check(word_of(s, i) == (i < answer.words() ? answer_words[i] : word_of(last, i)),
                      "a rewritten thread's word registers", i);
            for (uint64_t i = abi::kRegisterWords; i < answer.words(); ++i)
                if (!check(theirs.mr[i] == answer_words[i], "a rewritten thread's UTCB words", i))
                    break;
            check(theirs.received_caps == theirs_caps && theirs.received_pages == theirs_pages,
                  "a rewritten thread's received_caps or received_pages",
                  theirs.received_caps << 32 | theirs.received_pages);
            check(theirs.receive_slot == blocked.receive_slot && theirs.receive_window == blocked.receive_window,
                  "a receipt changed a rewritten thread's receive slot or window", theirs.receive_slot);
            if (theirs_caps != 0)
                checked(sys_number(Syscall::cap_delete), blocked.receive_slot, 0, 0, 0, 0, err_bit(Error::ok));
            if (theirs_pages != 0 && theirs.received_pages == 1)
                check(*reinterpret_cast<volatile uint64_t*>(Flexpage{blocked.receive_window}.base()) == value,
                      "the page a rewritten receiver got does not hold our word");
        }
    }
    release_thread(kBlockedThread);
}

// Class 4: deep chains ------------------------------------------------------------------------

namespace {

uint64_t factory_bytes; // what a factory object costs its parent (besides the quota it carries)

enum Chain : uint64_t { tasks, factories, caps, mappings };

void count_chain(Chain c, uint64_t depth)
{
    ++hs.chains[c];
    hs.depth[c] += depth;
    if (depth > hs.max_depth[c])
        hs.max_depth[c] = depth;
}

// kChainFactory from the fuzz factory, with `quota` or less (halved until it fits); its
// available bytes, or 0 (skipped) when none fits.
uint64_t make_chain_factory(uint64_t quota)
{
    auto create = sys_number(Syscall::factory_create);
    for (int i = 0; i < 4; ++i, quota /= 2) {
        Error e = checked(create, kFuzzFactory, static_cast<uint64_t>(abi::ObjectKind::factory), kChainFactory, quota,
                          0, err_bit(Error::ok) | err_bit(Error::quota_exhausted));
        if (e == Error::ok) {
            uint64_t a = quota_of(kChainFactory);
            check(a == quota - factory_bytes, "a new factory does not have its quota", a);
            return a;
        }
    }
    count_skipped();
    return 0;
}

// The chain's factory must have its quota back: then it goes.
void end_chain(uint64_t available0, const char* what)
{
    kt::yield_times(2);
    uint64_t a = quota_of(kChainFactory);
    if (a != available0)
        l4::println("fuzz: {}: the chain's factory has {} bytes free, {} before", what, a, available0);
    check(a == available0, what, available0 - a);
    checked(sys_number(Syscall::cap_delete), kChainFactory, 0, 0, 0, 0, err_bit(Error::ok));
}

uint64_t kind_of(abi::ObjectKind k) { return static_cast<uint64_t>(k); }

} // namespace

// Tasks T1, T2, ... each made holding (cap_copy_to, into its slot 0) the only capability to the
// one before, as deep as the factory pays for (sometimes each also holding a thread of its own
// or an endpoint); then the last capability goes: the whole chain is destroyed, without
// recursion in the kernel.
void op_chain_tasks()
{
    Rng& rng = fuzz_rng();
    uint64_t a0 = make_chain_factory(64 * 1024 + rng.below(1024 * 1024));
    if (a0 == 0)
        return;
    Selector slots[3];
    if (empty_slots(slots, 3) < 3) {
        end_chain(a0, "task chain: no slots");
        return;
    }
    auto create = sys_number(Syscall::factory_create), copy_to = sys_number(Syscall::cap_copy_to),
         del = sys_number(Syscall::cap_delete);
    constexpr uint32_t kMade = err_bit(Error::ok) | err_bit(Error::quota_exhausted);
    // A thread's creation may also end in out_of_memory when the kernel runs out of frames (we
    // are sigma0 and may have claimed them); its UTCB's page tables over the task's quota are
    // quota_exhausted (they once were out_of_memory).
    constexpr uint32_t kThreadMade = kMade | err_bit(Error::out_of_memory);
    bool extras = rng.chance(40);
    uint64_t depth = 0, limit = rng.chance(20) ? 1 + rng.below(8) : 4000;
    Selector prev = slots[0], cur = slots[1], extra = slots[2];
    bool have_prev = false;
    while (depth < limit) {
        uint64_t task_slots = 1 + rng.below(4) + (extras ? 1 : 0);
        if (checked(create, kChainFactory, kind_of(abi::ObjectKind::task), cur, task_slots, 0, kMade) != Error::ok)
            break;
        if (extras) {
            // A thread of the task itself (never started), or an endpoint, held only by the task.
            bool thread = rng.chance(50);
            Error e = thread ? checked(create, kChainFactory, kind_of(abi::ObjectKind::thread), extra, cur,
                                       rng.below(kMainPriority + 1), kThreadMade)
                             : checked(create, kChainFactory, kind_of(abi::ObjectKind::endpoint), extra, 0, 0, kMade);
            if (e == Error::ok) {
                checked(copy_to, cur, extra, task_slots - 1, abi::rights::all, 0, err_bit(Error::ok));
                checked(del, extra, 0, 0, 0, 0, err_bit(Error::ok));
            }
        }
        if (have_prev) {
            checked(copy_to, cur, prev, 0, rng.chance(80) ? abi::rights::all : rng.below(16), 0, err_bit(Error::ok));
            checked(del, prev, 0, 0, 0, 0, err_bit(Error::ok));
        }
        have_prev = true;
        Selector t = prev;
        prev = cur;
        cur = t;
        ++depth;
    }
    if (have_prev)
        checked(del, prev, 0, 0, 0, 0, err_bit(Error::ok));
    count_chain(tasks, depth);
    end_chain(a0, "task chain: the factory did not get its quota back");
}

// Factories F1 from F0, F2 from F1, ..., each carrying what its parent has left (less a random
// few bytes): with the capabilities deleted from the top as it goes (each orphaned factory lives
// on for the one below it), or kept and deleted at the end in some order; sometimes an object
// in the deepest one outlives every factory capability.
void op_chain_factories()
{
    Rng& rng = fuzz_rng();
    uint64_t a0 = make_chain_factory(4096 + rng.below(rng.chance(50) ? 64 * 1024 : 512 * 1024));
    if (a0 == 0)
        return;
    constexpr uint64_t kKept = 64;
    Selector slots[kKept + 2];
    bool top_down = rng.chance(60);
    uint64_t have = empty_slots(slots, top_down ? 3 : kKept + 2);
    if (have < 3) {
        end_chain(a0, "factory chain: no slots");
        return;
    }
    uint64_t room = top_down ? 6000 : have - 1; // the last slot: an object in the deepest factory
    auto create = sys_number(Syscall::factory_create), del = sys_number(Syscall::cap_delete);
    uint64_t quota = a0; // what the factory made last carries ...
    Selector parent = kChainFactory;
    uint64_t depth = 0, avail = a0; // ... and what it may give (exact: nothing else in it)
    while (depth < room && avail > 0) {
        Selector slot = top_down ? slots[depth % 2] : slots[depth];
        uint64_t give = rng.chance(30) ? avail : avail - rng.below(avail < 64 ? avail + 1 : 64);
        if (rng.chance(4)) {
            // One byte too much: refused, the slot stays empty.
            checked(create, parent, kind_of(abi::ObjectKind::factory), slot, avail + 1, 0,
                    err_bit(Error::quota_exhausted));
        }
        if (checked(create, parent, kind_of(abi::ObjectKind::factory), slot, give, 0, err_bit(Error::ok)) != Error::ok)
            break;
        if (top_down && parent != kChainFactory)
            checked(del, parent, 0, 0, 0, 0, err_bit(Error::ok));
        parent = slot;
        quota = give;
        avail = quota > factory_bytes ? quota - factory_bytes : 0;
        ++depth;
    }
    (void)quota;
    // An endpoint in the deepest factory, when it can pay for one: deleted last.
    Selector object = top_down ? slots[2] : slots[have - 1];
    bool with_object = depth > 0 && rng.chance(40) &&
                       checked(create, parent, kind_of(abi::ObjectKind::endpoint), object, 0, 0,
                               err_bit(Error::ok) | err_bit(Error::quota_exhausted)) == Error::ok;
    if (top_down) {
        if (depth > 0)
            checked(del, parent, 0, 0, 0, 0, err_bit(Error::ok));
    } else {
        // Kept: deleted top first, bottom first, or in a random order.
        uint64_t order = rng.below(3);
        for (uint64_t i = 0; i < depth; ++i) {
            uint64_t k = order == 0 ? i : order == 1 ? depth - 1 - i : rng.below(depth);
            Error e = checked(del, slots[k], 0, 0, 0, 0,
                              order == 2 ? err_bit(Error::ok) | err_bit(Error::invalid_selector) : err_bit(Error::ok));
            (void)e;
        }
        if (order == 2)
            for (uint64_t i = 0; i < depth; ++i)
                checked(del, slots[i], 0, 0, 0, 0, err_bit(Error::ok) | err_bit(Error::invalid_selector));
    }
    if (with_object)
        checked(del, object, 0, 0, 0, 0, err_bit(Error::ok));
    count_chain(factories, depth);
    end_chain(a0, "factory chain: the factory did not get its quota back");
}

// A capability copied from a copy from a copy ... (cap_copy or cap_copy_to our own task, random
// masks, a badge at some level: once only), then: revoke at the root, revoke in the middle,
// delete the root (the copies stay, re-parented), or delete the copies in a random order; each
// slot's state checked after, and the object's bytes back at the end.
void op_chain_caps()
{
    Rng& rng = fuzz_rng();
    uint64_t a0 = make_chain_factory(16 * 1024);
    if (a0 == 0)
        return;
    constexpr uint64_t kMax = 400;
    static Selector slots[kMax + 1];
    uint64_t have = empty_slots(slots, 1 + (rng.chance(30) ? kMax : 1 + rng.below(40)));
    if (have < 2) {
        end_chain(a0, "capability chain: no slots");
        return;
    }
    static const abi::ObjectKind kinds[] = {abi::ObjectKind::endpoint, abi::ObjectKind::notification,
                                            abi::ObjectKind::task, abi::ObjectKind::factory};
    abi::ObjectKind kind = kinds[rng.below(4)];
    bool badgeable = kind == abi::ObjectKind::endpoint || kind == abi::ObjectKind::notification;
    auto create = sys_number(Syscall::factory_create), copy = sys_number(Syscall::cap_copy),
         copy_to = sys_number(Syscall::cap_copy_to), del = sys_number(Syscall::cap_delete),
         revoke = sys_number(Syscall::cap_revoke);
    // The chain's factory may have come out small (make_chain_factory halves what it asks
    // for): then even the root may not fit (a task is its object, its slots and a page).
    if (checked(create, kChainFactory, kind_of(kind), slots[0], kind == abi::ObjectKind::task ? 1 : 1024, 0,
                err_bit(Error::ok) | err_bit(Error::quota_exhausted)) != Error::ok) {
        end_chain(a0, "capability chain: no root");
        return;
    }
    bool badged = false;
    uint64_t depth = 1; // slots [0, depth) hold the chain
    for (; depth < have; ++depth) {
        uint64_t mask = rng.chance(80) ? abi::rights::all : rng.below(16);
        uint64_t badge = rng.chance(5) ? 1 + rng.below(0xffff) : 0;
        uint32_t allow = badge != 0 && (!badgeable || badged) ? err_bit(Error::invalid_argument) : err_bit(Error::ok);
        Error e = rng.chance(50)
                      ? checked(copy, slots[depth - 1], slots[depth], mask, badge, 0, allow)
                      : checked(copy_to, abi::boot::kTaskSelector, slots[depth - 1], slots[depth], mask, badge, allow);
        if (e == Error::invalid_argument)
            e = checked(copy, slots[depth - 1], slots[depth], mask, 0, 0, err_bit(Error::ok));
        if (e != Error::ok)
            break;
        badged |= badge != 0;
    }
    auto expect_slots = [&](uint64_t from, uint64_t to, bool filled, const char* what) {
        for (uint64_t i = from; i < to; ++i)
            if (!check(slot_empty(slots[i]) != filled, what, i))
                break;
    };
    switch (rng.below(4)) {
    case 0: // revoke at the root: every copy goes, the root stays
        checked(revoke, slots[0], 0, 0, 0, 0, err_bit(Error::ok));
        expect_slots(1, depth, false, "revoke at the root of a chain left a copy");
        expect_slots(0, 1, true, "revoke emptied the chain's root");
        break;
    case 1: { // revoke in the middle: what is below it goes
        uint64_t k = rng.below(depth);
        checked(revoke, slots[k], 0, 0, 0, 0, err_bit(Error::ok));
        expect_slots(0, k + 1, true, "revoke in a chain emptied a slot above it");
        expect_slots(k + 1, depth, false, "revoke in a chain left a copy below it");
        break;
    }
    case 2: { // delete the root: the copies stay, and a revoke of the first one takes the rest
        checked(del, slots[0], 0, 0, 0, 0, err_bit(Error::ok));
        expect_slots(1, depth, true, "deleting a chain's root emptied a copy");
        if (depth > 1) {
            checked(revoke, slots[1], 0, 0, 0, 0, err_bit(Error::ok));
            expect_slots(2, depth, false, "revoke after the root's delete left a copy");
        }
        break;
    }
    default: // delete copies in a random order
        for (uint64_t i = 0; i < depth; ++i) {
            uint64_t k = rng.below(depth);
            bool was_empty = slot_empty(slots[k]);
            checked(del, slots[k], 0, 0, 0, 0, err_bit(was_empty ? Error::invalid_selector : Error::ok));
        }
        break;
    }
    for (uint64_t i = 0; i < depth; ++i)
        checked(del, slots[i], 0, 0, 0, 0, err_bit(Error::ok) | err_bit(Error::invalid_selector));
    count_chain(caps, depth);
    end_chain(a0, "capability chain: the object's bytes did not come back");
}

// A page P of ours mapped to task T1 (we are the pager of its relay thread), from T1 to T2 (T1's
// relay is the pager of T2's), ..., and from the last back to us (a call whose reply maps it in
// our D): P's word must read there. Then: unmap at the root (every task's factory refunded 48
// bytes a mapping, to the byte; the word no longer reads), take only write first (nothing
// refunded, still readable), or delete a task in the middle (what came through it goes).
void op_chain_mappings()
{
    Rng& rng = fuzz_rng();
    uint64_t a0 = make_chain_factory(256 * 1024 + rng.below(1024 * 1024));
    if (a0 == 0)
        return;
    constexpr uint64_t kMaxLevels = 48, kReserve = 20 * 1024; // page tables for two pages
    static Selector slots[3 * kMaxLevels];
    uint64_t levels = rng.chance(30) ? 1 + rng.below(4) : kMaxLevels;
    levels = empty_slots(slots, 3 * levels) / 3;
    Selector *task = slots, *endpoint = slots + levels, *thread = slots + 2 * levels;
    auto create = sys_number(Syscall::factory_create), control = sys_number(Syscall::thread_control),
         copy_to = sys_number(Syscall::cap_copy_to), del = sys_number(Syscall::cap_delete);
    constexpr uint32_t kMade = err_bit(Error::ok) | err_bit(Error::quota_exhausted);
    uint64_t n = 0;
    for (; n < levels; ++n) {
        bool ok = checked(create, kChainFactory, kind_of(abi::ObjectKind::task), task[n], 1 + rng.below(4), 0, kMade) ==
                  Error::ok;
        ok = ok &&
             checked(create, kChainFactory, kind_of(abi::ObjectKind::endpoint), endpoint[n], 0, 0, kMade) == Error::ok;
        ok = ok && checked(create, kChainFactory, kind_of(abi::ObjectKind::thread), thread[n], task[n], kMainPriority,
                           kMade | err_bit(Error::out_of_memory)) == Error::ok;
        ok = ok && quota_of(kChainFactory) >= kReserve * (n + 1);
        if (!ok) {
            const Selector made[] = {thread[n], endpoint[n], task[n]};
            for (Selector s : made)
                checked(del, s, 0, 0, 0, 0, err_bit(Error::ok) | err_bit(Error::invalid_selector));
            break;
        }
        checked(copy_to, task[n], endpoint[n], 0, abi::rights::all, 0, err_bit(Error::ok));
        checked(control, thread[n], static_cast<uint64_t>(ThreadOp::set_pager), n == 0 ? kChainPager : endpoint[n - 1],
                0, 0, err_bit(Error::ok));
    }
    auto teardown = [&] {
        for (uint64_t i = 0; i < n; ++i) {
            const Selector made[] = {thread[i], task[i], endpoint[i]};
            for (Selector s : made)
                checked(del, s, 0, 0, 0, 0, err_bit(Error::ok) | err_bit(Error::invalid_selector));
        }
        count_chain(mappings, n);
        end_chain(a0, "mapping chain: the factory did not get its quota back");
    };
    if (n == 0) {
        teardown();
        return;
    }
    uint64_t value = rng.next();
    uint64_t page = scratch_page(rng, value);
    uint64_t data = 0x10000000 + (rng.below(1024) << 12); // where the tasks have it (below 4 MiB mod 8 MiB)
    uint64_t relay_page = addr(fz_relay) & ~(abi::kPageSize - 1);
    for (uint64_t i = 0; i < n; ++i)
        checked(control, thread[i], static_cast<uint64_t>(ThreadOp::start), addr(fz_relay), data, 0,
                err_bit(Error::ok));
    abi::Utcb& u = *l4::utcb();
    u.receive_slot = abi::kNoReceiveSlot;
    u.receive_window = 0;
    l4::Message m;
    Error e = l4::receive(kChainPager, m, kWaitTicks);
    bool ok = check(e == Error::ok && m.tag.label() == abi::label::page_fault && m.words[0] == addr(fz_relay),
                    "mapping chain: the first relay's page fault", static_cast<uint64_t>(e));
    if (ok) {
        u.send_pages[0] = {Flexpage::make(relay_page, 12, abi::page_rights::read | abi::page_rights::execute).raw,
                           relay_page, 0};
        u.send_pages[1] = {Flexpage::make(page, 12, abi::page_rights::read | abi::page_rights::write).raw, data, 0};
        m = l4::Message{};
        m.tag = MessageTag::make(0, 0, 0, 2);
        ok = check(l4::reply(m) == Error::ok, "mapping chain: our answer to the first relay");
        for (abi::MapItem& item : u.send_pages)
            item = abi::MapItem{};
    }
    // The last relay answers us: both pages into D.
    uint64_t seen = kScratchD + (data & (kScratchSize - 1));
    if (ok) {
        u.receive_window = Flexpage::make(kScratchD, kScratchOrder, abi::page_rights::all).raw;
        for (uint64_t tries = 0; tries < 400 * n + 1000; ++tries) {
            m = l4::Message{};
            m.tag = MessageTag::make(1, 0);
            e = l4::call(endpoint[n - 1], m, abi::kTimeoutZero);
            if (e != Error::timeout)
                break;
            l4::yield();
        }
        record_call(sys_number(Syscall::ipc_call), endpoint[n - 1], 1 << 16, 0, 0, 0, static_cast<uint64_t>(e),
                    err_bit(Error::ok));
        ok = e == Error::ok && check(m.tag.pages() == 2 && u.received_pages == 2,
                                     "mapping chain: the last relay's pages did not arrive", u.received_pages);
        u.receive_window = 0;
    }
    if (ok) {
        Read r = trap_read(seen);
        ok = r.started &&
             check(r.ok && r.value == value, "mapping chain: the page does not hold its word at the end", r.vector);
    }
    if (ok) {
        auto unmap = sys_number(Syscall::memory_unmap);
        switch (rng.below(3)) {
        case 0:
        case 1: {
            uint64_t before = quota_of(kChainFactory);
            if (rng.chance(50)) {
                // Write only: the mappings stay (read-only), nothing comes back.
                checked(unmap, Flexpage::make(page, 12, abi::page_rights::write).raw, 0, 0, 0, 0, err_bit(Error::ok));
                uint64_t now = quota_of(kChainFactory);
                check(now == before, "mapping chain: taking write refunded something", now - before);
                Read r = trap_read(seen);
                check(!r.started || (r.ok && r.value == value), "mapping chain: read-only, the word is gone", r.vector);
            }
            checked(unmap, Flexpage::make(page, 12, abi::page_rights::all).raw, 0, 0, 0, 0, err_bit(Error::ok));
            uint64_t after = quota_of(kChainFactory);
            if (after != before + 48 * n)
                l4::println("fuzz: mapping chain of {}: unmapped at the root, the tasks' factory has {} bytes free, {} "
                            "before ({} expected)",
                            n, after, before, before + 48 * n);
            check(after == before + 48 * n, "mapping chain: unmap at the root did not refund every mapping",
                  after - before);
            break;
        }
        default: {
            uint64_t k = rng.below(n);
            checked(del, thread[k], 0, 0, 0, 0, err_bit(Error::ok));
            checked(del, task[k], 0, 0, 0, 0, err_bit(Error::ok));
            break;
        }
        }
        Read r = trap_read(seen);
        check(!r.started || (!r.ok && r.vector == 14), "mapping chain: the page still reads after its chain broke",
              r.value);
    }
    // Our own page at the root is ours again to map anywhere (op_touch takes it as it is).
    teardown();
}

bool set_up_hostile()
{
    using K = abi::ObjectKind;
    const Selector boot = abi::boot::kFactorySelector;
    bool ok = l4::factory_create(boot, K::endpoint, kTrapEndpoint) == Error::ok &&
              l4::factory_create(boot, K::endpoint, kChainPager) == Error::ok &&
              l4::factory_create(boot, K::endpoint, kNobody) == Error::ok &&
              l4::factory_create(boot, K::endpoint, kBlockedEndpoint) == Error::ok &&
              l4::cap_copy(kBlockedEndpoint, kBlockedBadged, abi::rights::all, kBlockedBadge) == Error::ok;
    // What a factory object costs: a fresh one's quota less what it can give.
    constexpr uint64_t kProbe = 8192;
    ok = ok && l4::factory_create(kFuzzFactory, K::factory, kChainFactory, kProbe) == Error::ok;
    if (ok) {
        factory_bytes = kProbe - quota_of(kChainFactory);
        ok = l4::cap_delete(kChainFactory) == Error::ok && factory_bytes > 0 && factory_bytes < 1024;
    }
    return check(ok, "hostile ops: set-up failed", factory_bytes);
}

void print_hostile()
{
    l4::println("fuzz: hostile: {} calls with popf flags checked, {} exceptions of our trap threads ({} single steps, "
                "{} of them after the pushf that follows the syscall)",
                hs.flagged, hs.traps, hs.debug_traps, hs.debug_after_pushf);
    l4::println("fuzz: hostile: {} far transfers and segment loads: {} landed, #GP {}, #NP {}, #SS {}, #UD {}, {} "
                "page faults on the stack (the emulator's supervisor accesses under SMAP)",
                hs.far, hs.far_landed, hs.far_vectors[13], hs.far_vectors[11], hs.far_vectors[12], hs.far_vectors[6],
                hs.far_smap);
    l4::println("fuzz: hostile: write_registers on threads blocked in IPC: {} ({} refused), blocked in send {}, call "
                "{}, receive {}",
                hs.rewrites, hs.rewrites_refused, hs.blocked[0], hs.blocked[1], hs.blocked[2]);
    static const char* const names[] = {"tasks", "factories", "capabilities", "mappings"};
    for (uint64_t c = 0; c < 4; ++c)
        l4::println("fuzz: hostile: chains of {}: {}, mean depth {}, deepest {}", names[c], hs.chains[c],
                    hs.chains[c] != 0 ? hs.depth[c] / hs.chains[c] : 0, hs.max_depth[c]);
}

} // namespace fz
