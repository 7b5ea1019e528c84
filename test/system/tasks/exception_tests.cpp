// Exceptions as IPC: a victim thread faults, the main thread (its handler) receives the
// ExceptionState and replies to resume it. Also foreign-ABI syscalls. Selectors 500-599.
#include "helpers.hpp"

using namespace kt;

namespace {

constexpr Selector kVictim = 500;
constexpr Selector kEndpoint = 510, kBadged = 511, kCopy = 512, kNote = 513;
constexpr Selector kEmpty = 550;
constexpr Selector kNoHandler = ~uint64_t{0};

using Tag = abi::MessageTag;

} // namespace

// The victims. Each faults at its _at label; the code at _after jumps to kt_exc_after, which
// publishes rax, rbx and rflags and exits.
extern "C" {
extern char kt_exc_ud2[], kt_exc_ud2_at[], kt_exc_ud2_after[];
extern char kt_exc_regs[], kt_exc_regs_at[];
extern char kt_exc_pf[], kt_exc_pf_at[], kt_exc_pf_after[];
extern char kt_exc_wro[], kt_exc_wro_at[], kt_exc_wro_after[];
extern char kt_exc_int3[], kt_exc_int3_after[];
extern char kt_exc_hlt[], kt_exc_hlt_at[], kt_exc_hlt_after[];
extern char kt_exc_div[], kt_exc_div_at[], kt_exc_div_after[];
extern char kt_exc_sys[], kt_exc_sys_after[];
extern char kt_exc_twice[], kt_exc_twice_at[];
volatile uint64_t kt_exc_done, kt_exc_rax, kt_exc_rbx, kt_exc_flags;
[[noreturn]] void kt_exc_exit() { l4::thread_exit(); }
}
asm(R"(
    .text
kt_exc_after:
    mov %rax, kt_exc_rax(%rip)
    mov %rbx, kt_exc_rbx(%rip)
    pushfq
    pop %rcx
    mov %rcx, kt_exc_flags(%rip)
    movq $1, kt_exc_done(%rip)
    and $-16, %rsp
    call kt_exc_exit

kt_exc_ud2:
    mov $0x1234, %rax
kt_exc_ud2_at:
    ud2
kt_exc_ud2_after:
    jmp kt_exc_after

kt_exc_regs:
    mov $0xa0, %rax
    mov $0xb0, %rbx
    mov $0xc0, %rcx
    mov $0xd0, %rdx
    mov $0x51, %rsi
    mov $0xd1, %rdi
    mov $0xb9, %rbp
    mov $0x108, %r8
    mov $0x109, %r9
    mov $0x110, %r10
    mov $0x111, %r11
    mov $0x112, %r12
    mov $0x113, %r13
    mov $0x114, %r14
    mov $0x115, %r15
kt_exc_regs_at:
    ud2
    jmp kt_exc_after

kt_exc_pf:
    mov $0x1000, %rbx
kt_exc_pf_at:
    mov (%rbx), %rax
kt_exc_pf_after:
    jmp kt_exc_after

kt_exc_wro:
    lea kt_exc_wro(%rip), %rbx
kt_exc_wro_at:
    movq $0, (%rbx)
kt_exc_wro_after:
    jmp kt_exc_after

kt_exc_int3:
    mov $0x77, %rax
    int3
kt_exc_int3_after:
    jmp kt_exc_after

kt_exc_hlt:
    mov $0x88, %rax
kt_exc_hlt_at:
    hlt
kt_exc_hlt_after:
    jmp kt_exc_after

kt_exc_div:
    mov $1, %eax
    xor %edx, %edx
    xor %ecx, %ecx
kt_exc_div_at:
    div %ecx
kt_exc_div_after:
    jmp kt_exc_after

kt_exc_sys:
    mov $39, %eax
    syscall
kt_exc_sys_after:
    jmp kt_exc_after

kt_exc_twice:
    mov $0x2, %rax
kt_exc_twice_at:
    ud2
    ud2
    jmp kt_exc_after
)");

namespace {

uint64_t address(const char* label) { return reinterpret_cast<uint64_t>(label); }

// A victim thread in our task with `handler` as its exception handler, started at `code`.
Error start_victim(const char* code, Selector handler = kEndpoint, bool foreign = false)
{
    kt_exc_done = 0;
    kt_exc_rax = 0;
    kt_exc_rbx = 0;
    kt_exc_flags = 0;
    Error e = create_thread(kVictim);
    if (e == Error::ok && handler != kNoHandler)
        e = l4::thread_control(kVictim, ThreadOp::set_exception_handler, handler);
    if (e == Error::ok && foreign)
        e = l4::thread_control(kVictim, ThreadOp::set_foreign_abi, 1);
    if (e == Error::ok)
        e = start_thread(kVictim, reinterpret_cast<ThreadBody>(const_cast<char*>(code)));
    return e;
}

// Receives the exception IPC (polled); its words as an ExceptionState in `s`.
Error receive_exception(l4::Message& m, abi::ExceptionState& s)
{
    Error e = receive_polled(kEndpoint, m);
    gather_words(m);
    s = utcb_state();
    return e;
}

Error reply_state(uint64_t label, const abi::ExceptionState& s)
{
    utcb_state() = s;
    l4::Message r;
    r.tag = Tag::make(label, abi::kExceptionWords);
    scatter_words(r);
    return l4::reply(r);
}

// Expects an exception with `vector` at `rip`, resumes at `resume_rip` with rax = `rax`,
// and expects the victim to publish that rax.
void expect_and_resume(uint64_t vector, uint64_t rip, uint64_t resume_rip, uint64_t rax)
{
    l4::Message m;
    abi::ExceptionState s;
    KREQUIRE_EQ(receive_exception(m, s), Error::ok);
    KEXPECT_EQ(m.tag.label(), abi::label::exception);
    KEXPECT_EQ(m.tag.words(), abi::kExceptionWords);
    KEXPECT_EQ(s.vector, vector);
    KEXPECT_EQ(s.rip, rip);
    s.rip = resume_rip;
    s.rax = rax;
    KEXPECT_EQ(reply_state(abi::reply_label::resume_with_registers, s), Error::ok);
    KEXPECT_EQ(wait_flag(kt_exc_done), true);
    KEXPECT_EQ(kt_exc_rax, rax);
}

} // namespace

KTEST(exception_ud2_resumed_with_registers)
{
    Slots slots(500, 520);
    KREQUIRE_EQ(make(kEndpoint, ObjectKind::endpoint), Error::ok);
    KREQUIRE_EQ(start_victim(kt_exc_ud2), Error::ok);
    l4::Message m;
    abi::ExceptionState s;
    KREQUIRE_EQ(receive_exception(m, s), Error::ok);
    KEXPECT_EQ(m.tag.label(), abi::label::exception);
    KEXPECT_EQ(m.tag.words(), 21);
    KEXPECT_EQ(m.tag.caps(), 0);
    KEXPECT_EQ(s.vector, 6);
    KEXPECT_EQ(s.error_code, 0);
    KEXPECT_EQ(s.rip, address(kt_exc_ud2_at));
    KEXPECT_EQ(s.rax, 0x1234);
    s.rip += 2;   // ud2 is 2 bytes
    KEXPECT_EQ(s.rip, address(kt_exc_ud2_after));
    s.rax = 0xfeedface;
    KEXPECT_EQ(reply_state(abi::reply_label::resume_with_registers, s), Error::ok);
    KEXPECT_EQ(wait_flag(kt_exc_done), true);
    KEXPECT_EQ(kt_exc_rax, 0xfeedface);
}

KTEST(exception_state_has_all_registers)
{
    Slots slots(500, 520);
    KREQUIRE_EQ(make(kEndpoint, ObjectKind::endpoint), Error::ok);
    KREQUIRE_EQ(start_victim(kt_exc_regs), Error::ok);
    l4::Message m;
    abi::ExceptionState s;
    KREQUIRE_EQ(receive_exception(m, s), Error::ok);
    const uint64_t expected[16] = {0xa0, 0xb0, 0xc0, 0xd0, 0x51, 0xd1, 0xb9, initial_sp(kVictim),
                                   0x108, 0x109, 0x110, 0x111, 0x112, 0x113, 0x114, 0x115};
    const uint64_t* got = &s.rax;
    for (int i = 0; i < 16; ++i)
        KEXPECT_EQ(got[i], expected[i]);
    KEXPECT_EQ(s.rip, address(kt_exc_regs_at));
    KEXPECT_EQ(s.rflags & 0x200, 0x200);
    s.rip += 2;
    s.rbx = 0xb0b0;
    KEXPECT_EQ(reply_state(abi::reply_label::resume_with_registers, s), Error::ok);
    KEXPECT_EQ(wait_flag(kt_exc_done), true);
    KEXPECT_EQ(kt_exc_rax, 0xa0);
    KEXPECT_EQ(kt_exc_rbx, 0xb0b0);
}

// Resumed flags are sanitized: IF stays on, IOPL stays 0; arithmetic flags (CF) are taken.
KTEST(exception_resume_sanitizes_flags)
{
    Slots slots(500, 520);
    KREQUIRE_EQ(make(kEndpoint, ObjectKind::endpoint), Error::ok);
    KREQUIRE_EQ(start_victim(kt_exc_ud2), Error::ok);
    l4::Message m;
    abi::ExceptionState s;
    KREQUIRE_EQ(receive_exception(m, s), Error::ok);
    s.rip += 2;
    s.rflags = (s.rflags & ~uint64_t{0x200}) | 0x3000 | 0x1;
    KEXPECT_EQ(reply_state(abi::reply_label::resume_with_registers, s), Error::ok);
    KREQUIRE_EQ(wait_flag(kt_exc_done), true);
    KEXPECT_EQ(kt_exc_flags & 0x3201, 0x201);
}

KTEST(exception_page_fault_read_unmapped)
{
    Slots slots(500, 520);
    KREQUIRE_EQ(make(kEndpoint, ObjectKind::endpoint), Error::ok);
    KREQUIRE_EQ(start_victim(kt_exc_pf), Error::ok);
    l4::Message m;
    abi::ExceptionState s;
    KREQUIRE_EQ(receive_exception(m, s), Error::ok);
    KEXPECT_EQ(s.vector, 14);
    KEXPECT_EQ(s.fault_address, 0x1000);
    KEXPECT_EQ(s.error_code, 0x4);   // user, read, not present
    KEXPECT_EQ(s.rip, address(kt_exc_pf_at));
    s.rip = address(kt_exc_pf_after);
    s.rax = 0x5a5a;
    KEXPECT_EQ(reply_state(abi::reply_label::resume_with_registers, s), Error::ok);
    KEXPECT_EQ(wait_flag(kt_exc_done), true);
    KEXPECT_EQ(kt_exc_rax, 0x5a5a);
}

KTEST(exception_page_fault_write_to_code)
{
    Slots slots(500, 520);
    KREQUIRE_EQ(make(kEndpoint, ObjectKind::endpoint), Error::ok);
    KREQUIRE_EQ(start_victim(kt_exc_wro), Error::ok);
    l4::Message m;
    abi::ExceptionState s;
    KREQUIRE_EQ(receive_exception(m, s), Error::ok);
    KEXPECT_EQ(s.vector, 14);
    KEXPECT_EQ(s.fault_address, address(kt_exc_wro));
    KEXPECT_EQ(s.error_code, 0x7);   // user, write, present
    KEXPECT_EQ(s.rip, address(kt_exc_wro_at));
    s.rip = address(kt_exc_wro_after);
    s.rax = 0x77aa;
    KEXPECT_EQ(reply_state(abi::reply_label::resume_with_registers, s), Error::ok);
    KEXPECT_EQ(wait_flag(kt_exc_done), true);
    KEXPECT_EQ(kt_exc_rax, 0x77aa);
}

// int3 is a trap: rip is after it; label resume continues unchanged.
KTEST(exception_int3_resume_unchanged)
{
    Slots slots(500, 520);
    KREQUIRE_EQ(make(kEndpoint, ObjectKind::endpoint), Error::ok);
    KREQUIRE_EQ(start_victim(kt_exc_int3), Error::ok);
    l4::Message m;
    abi::ExceptionState s;
    KREQUIRE_EQ(receive_exception(m, s), Error::ok);
    KEXPECT_EQ(s.vector, 3);
    KEXPECT_EQ(s.rip, address(kt_exc_int3_after));
    l4::Message r;
    r.tag = Tag::make(abi::reply_label::resume, 0);
    KEXPECT_EQ(l4::reply(r), Error::ok);
    KEXPECT_EQ(wait_flag(kt_exc_done), true);
    KEXPECT_EQ(kt_exc_rax, 0x77);
}

KTEST(exception_general_protection_hlt)
{
    Slots slots(500, 520);
    KREQUIRE_EQ(make(kEndpoint, ObjectKind::endpoint), Error::ok);
    KREQUIRE_EQ(start_victim(kt_exc_hlt), Error::ok);
    expect_and_resume(13, address(kt_exc_hlt_at), address(kt_exc_hlt_after), 0x1313);
}

KTEST(exception_divide_error)
{
    Slots slots(500, 520);
    KREQUIRE_EQ(make(kEndpoint, ObjectKind::endpoint), Error::ok);
    KREQUIRE_EQ(start_victim(kt_exc_div), Error::ok);
    expect_and_resume(0, address(kt_exc_div_at), address(kt_exc_div_after), 0xd1);
}

KTEST(exception_two_in_a_row)
{
    Slots slots(500, 520);
    KREQUIRE_EQ(make(kEndpoint, ObjectKind::endpoint), Error::ok);
    KREQUIRE_EQ(start_victim(kt_exc_twice), Error::ok);
    l4::Message m;
    abi::ExceptionState s;
    KREQUIRE_EQ(receive_exception(m, s), Error::ok);
    KEXPECT_EQ(s.rip, address(kt_exc_twice_at));
    s.rip += 2;
    KEXPECT_EQ(reply_state(abi::reply_label::resume_with_registers, s), Error::ok);
    expect_and_resume(6, address(kt_exc_twice_at) + 2, address(kt_exc_twice_at) + 4, 0x22);
}

// The handler capability's badge reaches the handler.
KTEST(exception_badge_of_handler_cap)
{
    Slots slots(500, 520);
    KREQUIRE_EQ(make(kEndpoint, ObjectKind::endpoint), Error::ok);
    KREQUIRE_EQ(l4::cap_copy(kEndpoint, kBadged, rights::send, 0xe1), Error::ok);
    KREQUIRE_EQ(start_victim(kt_exc_ud2, kBadged), Error::ok);
    l4::Message m;
    abi::ExceptionState s;
    KREQUIRE_EQ(receive_exception(m, s), Error::ok);
    KEXPECT_EQ(m.badge, 0xe1);
    s.rip += 2;
    s.rax = 0xe1e1;
    KEXPECT_EQ(reply_state(abi::reply_label::resume_with_registers, s), Error::ok);
    KEXPECT_EQ(wait_flag(kt_exc_done), true);
    KEXPECT_EQ(kt_exc_rax, 0xe1e1);
}

KTEST(exception_other_label_leaves_suspended)
{
    Slots slots(500, 520);
    KREQUIRE_EQ(make(kEndpoint, ObjectKind::endpoint), Error::ok);
    KREQUIRE_EQ(start_victim(kt_exc_ud2), Error::ok);
    l4::Message m;
    abi::ExceptionState s;
    KREQUIRE_EQ(receive_exception(m, s), Error::ok);
    s.rip += 2;
    KEXPECT_EQ(reply_state(7, s), Error::ok);
    yield_times(100);
    KEXPECT_EQ(kt_exc_done, 0);
    KEXPECT_EQ(l4::receive(kEndpoint, m, abi::kTimeoutZero), Error::timeout);   // no new fault
}

KTEST(exception_without_handler_stops_thread)
{
    Slots slots(500, 520);
    KREQUIRE_EQ(start_victim(kt_exc_ud2, kNoHandler), Error::ok);
    yield_times(100);
    KEXPECT_EQ(kt_exc_done, 0);
}

KTEST(exception_handler_selector_checks)
{
    Slots slots(500, 520);
    KREQUIRE_EQ(create_thread(kVictim), Error::ok);
    KREQUIRE_EQ(make(kEndpoint, ObjectKind::endpoint), Error::ok);
    KREQUIRE_EQ(make(kNote, ObjectKind::notification), Error::ok);
    KREQUIRE_EQ(l4::cap_copy(kEndpoint, kCopy, rights::all & ~rights::send), Error::ok);
    const ThreadOp ops[] = {ThreadOp::set_exception_handler, ThreadOp::set_pager};
    for (ThreadOp op : ops) {
        KEXPECT_EQ(l4::thread_control(kVictim, op, kNote), Error::wrong_type);
        KEXPECT_EQ(l4::thread_control(kVictim, op, kSelf), Error::wrong_type);
        KEXPECT_EQ(l4::thread_control(kVictim, op, kEmpty), Error::invalid_selector);
        KEXPECT_EQ(l4::thread_control(kVictim, op, kSlots), Error::invalid_selector);
        KEXPECT_EQ(l4::thread_control(kVictim, op, kCopy), Error::missing_rights);
        KEXPECT_EQ(l4::thread_control(kVictim, op, kEndpoint), Error::ok);
    }
}

// A foreign-ABI thread's `syscall` becomes an exception IPC; the handler answers it.
KTEST(exception_foreign_syscall)
{
    Slots slots(500, 520);
    KREQUIRE_EQ(make(kEndpoint, ObjectKind::endpoint), Error::ok);
    KREQUIRE_EQ(start_victim(kt_exc_sys, kEndpoint, true), Error::ok);
    l4::Message m;
    abi::ExceptionState s;
    KREQUIRE_EQ(receive_exception(m, s), Error::ok);
    KEXPECT_EQ(m.tag.label(), abi::label::foreign_syscall);
    KEXPECT_EQ(m.tag.words(), abi::kExceptionWords);
    KEXPECT_EQ(s.vector, abi::kForeignSyscallVector);
    KEXPECT_EQ(s.rax, 39);
    KEXPECT_EQ(s.rip, address(kt_exc_sys_after));
    // Native again, so that its own exit is a real system call.
    KEXPECT_EQ(l4::thread_control(kVictim, ThreadOp::set_foreign_abi, 0), Error::ok);
    s.rax = 4242;
    KEXPECT_EQ(reply_state(abi::reply_label::resume_with_registers, s), Error::ok);
    KEXPECT_EQ(wait_flag(kt_exc_done), true);
    KEXPECT_EQ(kt_exc_rax, 4242);
}

// Without the flag the same instruction is a native call: 39 is no Kestrel system call.
KTEST(exception_native_syscall_not_forwarded)
{
    Slots slots(500, 520);
    KREQUIRE_EQ(make(kEndpoint, ObjectKind::endpoint), Error::ok);
    KREQUIRE_EQ(start_victim(kt_exc_sys, kEndpoint, false), Error::ok);
    KEXPECT_EQ(wait_flag(kt_exc_done), true);
    KEXPECT_EQ(kt_exc_rax, Error::unknown_syscall);
    l4::Message m;
    KEXPECT_EQ(l4::receive(kEndpoint, m, abi::kTimeoutZero), Error::timeout);
}

// A thread in a task with an empty address space faults on its first instruction fetch.
KTEST(exception_fetch_fault_in_empty_task)
{
    Slots slots(500, 520);
    constexpr Selector kThreadThere = 501, kEmptyTask = 514;
    constexpr uint64_t kIp = 0x400000;
    KREQUIRE_EQ(make(kEndpoint, ObjectKind::endpoint), Error::ok);
    KREQUIRE_EQ(l4::factory_create(kFactory, ObjectKind::task, kEmptyTask, 16), Error::ok);
    KREQUIRE_EQ(l4::factory_create(kFactory, ObjectKind::thread, kThreadThere, kEmptyTask, kMainPriority), Error::ok);
    KEXPECT_EQ(l4::thread_control(kThreadThere, ThreadOp::set_exception_handler, kEndpoint), Error::ok);
    KREQUIRE_EQ(l4::thread_start(kThreadThere, kIp, 0x800000), Error::ok);
    l4::Message m;
    abi::ExceptionState s;
    KREQUIRE_EQ(receive_exception(m, s), Error::ok);
    KEXPECT_EQ(m.tag.label(), abi::label::exception);
    KEXPECT_EQ(s.vector, 14);
    KEXPECT_EQ(s.rip, kIp);
    KEXPECT_EQ(s.fault_address, kIp);
    KEXPECT_EQ(s.error_code, 0x14);   // user, instruction fetch, not present
    KEXPECT_EQ(s.rsp, 0x800000);
    KEXPECT_EQ(l4::cap_delete(kEmptyTask), Error::ok);   // its thread stops with it
    KEXPECT_EQ(l4::reply(l4::Message{}), Error::invalid_selector);
    KEXPECT_EQ(l4::receive(kEndpoint, m, abi::kTimeoutZero), Error::timeout);
}
