// Exceptions as IPC: a victim thread faults, the main thread (its handler) receives the
// ExceptionState and replies to resume it. Also foreign-ABI syscalls. Selectors 500-599.
#include "helpers.hpp"
#include "l4/abi/address_space.hpp"

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
extern char kt_exc_sys6[], kt_exc_sys6_after[];
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

kt_exc_sys6:
    mov $0x3c, %eax
    mov $0xd1, %rdi
    mov $0x51, %rsi
    mov $0xd0, %rdx
    mov $0x110, %r10
    mov $0x108, %r8
    mov $0x109, %r9
    mov $0xb0, %rbx
    syscall
kt_exc_sys6_after:
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
// `foreign`: its set_foreign_abi mode (abi::foreign_abi; 0 native).
Error start_victim(const char* code, Selector handler = kEndpoint, uint64_t foreign = 0)
{
    kt_exc_done = 0;
    kt_exc_rax = 0;
    kt_exc_rbx = 0;
    kt_exc_flags = 0;
    Error e = create_thread(kVictim);
    if (e == Error::ok && handler != kNoHandler)
        e = l4::thread_control(kVictim, ThreadOp::set_exception_handler, handler);
    if (e == Error::ok && foreign != 0)
        e = l4::thread_control(kVictim, ThreadOp::set_foreign_abi, foreign);
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

// An endpoint, and a victim at `code` whose handler it is (through a send-only copy with
// `badge` when that is not 0); false after a failed check.
bool start_handled(const char* code, uint64_t badge = 0, uint64_t foreign = 0)
{
    KREQUIRE_EQ_OR(make(kEndpoint, ObjectKind::endpoint), Error::ok, false);
    Selector handler = kEndpoint;
    if (badge != 0) {
        KREQUIRE_EQ_OR(l4::cap_copy(kEndpoint, kBadged, rights::send, badge), Error::ok, false);
        handler = kBadged;
    }
    KREQUIRE_EQ_OR(start_victim(code, handler, foreign), Error::ok, false);
    return true;
}

// One case: its slots, and the first exception of a victim started at `code` (start_handled)
// in m and s. `ok` is false after a failed check; the test then ends.
struct Fault {
    Slots slots{500, 520};
    l4::Message m;
    abi::ExceptionState s{};
    bool ok;

    explicit Fault(const char* code, uint64_t badge = 0, uint64_t foreign = 0)
        : ok(start_handled(code, badge, foreign) && received())
    {
    }

    bool received()
    {
        KREQUIRE_EQ_OR(receive_exception(m, s), Error::ok, false);
        return true;
    }
};

// Resumes the victim with its registers `s`, rax = `rax`, and expects it to publish that rax.
void resume_with_rax(abi::ExceptionState s, uint64_t rax)
{
    s.rax = rax;
    KEXPECT_EQ(reply_state(abi::reply_label::resume_with_registers, s), Error::ok);
    KEXPECT_EQ(wait_flag(kt_exc_done), true);
    KEXPECT_EQ(kt_exc_rax, rax);
}

// Expects that m and s are an exception with `vector` at `rip`, and resumes at `resume_rip`
// with rax = `rax` (resume_with_rax).
void check_and_resume(const l4::Message& m, abi::ExceptionState s, uint64_t vector, uint64_t rip, uint64_t resume_rip,
                      uint64_t rax)
{
    KEXPECT_EQ(m.tag.label(), abi::label::exception);
    KEXPECT_EQ(m.tag.words(), abi::kExceptionWords);
    KEXPECT_EQ(s.vector, vector);
    KEXPECT_EQ(s.rip, rip);
    s.rip = resume_rip;
    resume_with_rax(s, rax);
}

// check_and_resume for the next exception to arrive.
void expect_and_resume(uint64_t vector, uint64_t rip, uint64_t resume_rip, uint64_t rax)
{
    l4::Message m;
    abi::ExceptionState s;
    KREQUIRE_EQ(receive_exception(m, s), Error::ok);
    check_and_resume(m, s, vector, rip, resume_rip, rax);
}

// A whole case: the victim at `code` faults with `vector` at `at`; resumed at `after`, it
// publishes `rax`. Returns the exception's state, for more checks.
abi::ExceptionState faults_and_resumes(const char* code, uint64_t vector, const char* at, const char* after,
                                       uint64_t rax)
{
    Fault f(code);
    if (f.ok)
        check_and_resume(f.m, f.s, vector, address(at), address(after), rax);
    return f.s;
}

} // namespace

KTEST(exception_ud2_resumed_with_registers)
{
    Fault f(kt_exc_ud2);
    if (!f.ok)
        return;
    KEXPECT_EQ(f.m.tag.label(), abi::label::exception);
    KEXPECT_EQ(f.m.tag.words(), 22);
    KEXPECT_EQ(f.m.tag.caps(), 0);
    KEXPECT_EQ(f.s.vector, 6);
    KEXPECT_EQ(f.s.error_code, 0);
    KEXPECT_EQ(f.s.rip, address(kt_exc_ud2_at));
    KEXPECT_EQ(f.s.rax, 0x1234);
    f.s.rip += 2; // ud2 is 2 bytes
    KEXPECT_EQ(f.s.rip, address(kt_exc_ud2_after));
    resume_with_rax(f.s, 0xfeedface);
}

KTEST(exception_state_has_all_registers)
{
    Fault f(kt_exc_regs);
    if (!f.ok)
        return;
    const uint64_t expected[16] = {0xa0,  0xb0,  0xc0,  0xd0,  0x51,  0xd1,  0xb9,  initial_sp(kVictim),
                                   0x108, 0x109, 0x110, 0x111, 0x112, 0x113, 0x114, 0x115};
    const uint64_t* got = &f.s.rax;
    for (int i = 0; i < 16; ++i)
        KEXPECT_EQ(got[i], expected[i]);
    KEXPECT_EQ(f.s.rip, address(kt_exc_regs_at));
    KEXPECT_EQ(f.s.rflags & 0x200, 0x200);
    f.s.rip += 2;
    f.s.rbx = 0xb0b0;
    resume_with_rax(f.s, 0xa0); // rax as it was
    KEXPECT_EQ(kt_exc_rbx, 0xb0b0);
}

// Resumed flags are sanitized: IF stays on, IOPL stays 0; arithmetic flags (CF) are taken.
KTEST(exception_resume_sanitizes_flags)
{
    Fault f(kt_exc_ud2);
    if (!f.ok)
        return;
    f.s.rip += 2;
    f.s.rflags = (f.s.rflags & ~uint64_t{0x200}) | 0x3000 | 0x1;
    KEXPECT_EQ(reply_state(abi::reply_label::resume_with_registers, f.s), Error::ok);
    KREQUIRE_EQ(wait_flag(kt_exc_done), true);
    KEXPECT_EQ(kt_exc_flags & 0x3201, 0x201);
}

KTEST(exception_page_fault_read_unmapped)
{
    abi::ExceptionState s = faults_and_resumes(kt_exc_pf, 14, kt_exc_pf_at, kt_exc_pf_after, 0x5a5a);
    KEXPECT_EQ(s.fault_address, 0x1000);
    KEXPECT_EQ(s.error_code, 0x4); // user, read, not present
}

KTEST(exception_page_fault_write_to_code)
{
    abi::ExceptionState s = faults_and_resumes(kt_exc_wro, 14, kt_exc_wro_at, kt_exc_wro_after, 0x77aa);
    KEXPECT_EQ(s.fault_address, address(kt_exc_wro));
    KEXPECT_EQ(s.error_code, 0x7); // user, write, present
}

// int3 is a trap: rip is after it; label resume continues unchanged.
KTEST(exception_int3_resume_unchanged)
{
    Fault f(kt_exc_int3);
    if (!f.ok)
        return;
    KEXPECT_EQ(f.s.vector, 3);
    KEXPECT_EQ(f.s.rip, address(kt_exc_int3_after));
    l4::Message r;
    r.tag = Tag::make(abi::reply_label::resume, 0);
    KEXPECT_EQ(l4::reply(r), Error::ok);
    KEXPECT_EQ(wait_flag(kt_exc_done), true);
    KEXPECT_EQ(kt_exc_rax, 0x77);
}

KTEST(exception_general_protection_hlt) { faults_and_resumes(kt_exc_hlt, 13, kt_exc_hlt_at, kt_exc_hlt_after, 0x1313); }
KTEST(exception_divide_error) { faults_and_resumes(kt_exc_div, 0, kt_exc_div_at, kt_exc_div_after, 0xd1); }

KTEST(exception_two_in_a_row)
{
    Fault f(kt_exc_twice);
    if (!f.ok)
        return;
    KEXPECT_EQ(f.s.rip, address(kt_exc_twice_at));
    f.s.rip += 2;
    KEXPECT_EQ(reply_state(abi::reply_label::resume_with_registers, f.s), Error::ok);
    expect_and_resume(6, address(kt_exc_twice_at) + 2, address(kt_exc_twice_at) + 4, 0x22);
}

// The handler capability's badge reaches the handler.
KTEST(exception_badge_of_handler_cap)
{
    Fault f(kt_exc_ud2, 0xe1);
    if (!f.ok)
        return;
    KEXPECT_EQ(f.m.badge, 0xe1);
    f.s.rip += 2;
    resume_with_rax(f.s, 0xe1e1);
}

KTEST(exception_other_label_leaves_suspended)
{
    Fault f(kt_exc_ud2);
    if (!f.ok)
        return;
    f.s.rip += 2;
    KEXPECT_EQ(reply_state(7, f.s), Error::ok);
    yield_times(100);
    KEXPECT_EQ(kt_exc_done, 0);
    KEXPECT_EQ(l4::receive(kEndpoint, f.m, abi::kTimeoutZero), Error::timeout); // no new fault
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
    Fault f(kt_exc_sys, 0, true);
    if (!f.ok)
        return;
    KEXPECT_EQ(f.m.tag.label(), abi::label::foreign_syscall);
    KEXPECT_EQ(f.m.tag.words(), abi::kExceptionWords);
    KEXPECT_EQ(f.s.vector, abi::kForeignSyscallVector);
    KEXPECT_EQ(f.s.rax, 39);
    KEXPECT_EQ(f.s.rip, address(kt_exc_sys_after));
    // Native again, so that its own exit is a real system call.
    KEXPECT_EQ(l4::thread_control(kVictim, ThreadOp::set_foreign_abi, 0), Error::ok);
    resume_with_rax(f.s, 4242);
}

// The short form: the system-call registers and where the thread was, ten words; the reply
// resume_with_rax sets rax alone and the thread goes on after its syscall.
KTEST(exception_foreign_syscall_short_message)
{
    Fault f(kt_exc_sys6, 0, abi::foreign_abi::short_message);
    if (!f.ok)
        return;
    KEXPECT_EQ(f.m.tag.raw, Tag::make(abi::label::foreign_syscall, abi::kForeignSyscallWords).raw);
    auto& call = *reinterpret_cast<abi::ForeignSyscall*>(l4::utcb()->mr); // gather_words put them there
    const uint64_t expected[] = {0x3c, 0xd1, 0x51, 0xd0, 0x110, 0x108, 0x109};
    const uint64_t* got = &call.rax;
    for (uint64_t i = 0; i < 7; ++i)
        KEXPECT_EQ(got[i], expected[i]);
    KEXPECT_EQ(call.rip, address(kt_exc_sys6_after));
    KEXPECT_EQ(call.rsp != 0 && call.rsp < abi::kUserEnd, true);
    KEXPECT_EQ(call.rflags & 0x202, 0x202);
    KEXPECT_EQ(l4::thread_control(kVictim, ThreadOp::set_foreign_abi, abi::foreign_abi::off), Error::ok);
    l4::Message r;
    r.tag = Tag::make(abi::reply_label::resume_with_rax, 1);
    r.words[0] = 0x777;
    KEXPECT_EQ(l4::reply(r), Error::ok);
    KEXPECT_EQ(wait_flag(kt_exc_done), true);
    KEXPECT_EQ(kt_exc_rax, 0x777);
    KEXPECT_EQ(kt_exc_rbx, 0xb0); // every other register as it was
}

// resume_with_rax without its word is no valid answer: the thread stays stopped. A mode past
// short_message is refused.
KTEST(exception_resume_with_rax_needs_its_word)
{
    Fault f(kt_exc_sys6, 0, abi::foreign_abi::short_message);
    if (!f.ok)
        return;
    KEXPECT_EQ(l4::thread_control(kVictim, ThreadOp::set_foreign_abi, 3), Error::invalid_argument);
    KEXPECT_EQ(l4::thread_control(kVictim, ThreadOp::set_foreign_abi, ~uint64_t{0}), Error::invalid_argument);
    l4::Message r;
    r.tag = Tag::make(abi::reply_label::resume_with_rax, 0);
    KEXPECT_EQ(l4::reply(r), Error::ok);
    yield_times(20);
    KEXPECT_EQ(kt_exc_done, 0);
}

// Without the flag the same instruction is a native call: 39 is no Kestrel system call.
KTEST(exception_native_syscall_not_forwarded)
{
    Slots slots(500, 520);
    if (!start_handled(kt_exc_sys, 0, false))
        return;
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
    KEXPECT_EQ(s.error_code, 0x14); // user, instruction fetch, not present
    KEXPECT_EQ(s.rsp, 0x800000);
    KEXPECT_EQ(l4::cap_delete(kEmptyTask), Error::ok); // its thread stops with it
    KEXPECT_EQ(l4::reply(l4::Message{}), Error::invalid_selector);
    KEXPECT_EQ(l4::receive(kEndpoint, m, abi::kTimeoutZero), Error::timeout);
}
