// ThreadOp::force_exception: a victim thread, spinning or blocked in IPC, is sent into its
// exception handler (the main thread) with vector kForcedVector. Selectors 660-699.
#include "helpers.hpp"

using namespace kt;

namespace {

constexpr Selector kVictim = 660;
constexpr Selector kEndpoint = 670, kOther = 671, kNote = 672, kNoControl = 673;
constexpr Selector kEmpty = 690;

using Tag = abi::MessageTag;

} // namespace

// The victims. kt_fx_spin counts forever without system calls; the others block in one call
// (on selectors 671 and 672, kOther and kNote), then publish its rax and exit.
extern "C" {
extern char kt_fx_spin[], kt_fx_spin_end[];
extern char kt_fx_recv[], kt_fx_recv_after[];
extern char kt_fx_wait[], kt_fx_wait_after[];
extern char kt_fx_call[], kt_fx_call_after[];
volatile uint64_t kt_fx_count, kt_fx_done, kt_fx_rax;
[[noreturn]] void kt_fx_exit() { l4::thread_exit(); }
}
asm(R"(
    .text
kt_fx_spin:
    incq kt_fx_count(%rip)
    jmp kt_fx_spin
kt_fx_spin_end:

kt_fx_done_with_rax:
    mov %rax, kt_fx_rax(%rip)
    movq $1, kt_fx_done(%rip)
    and $-16, %rsp
    call kt_fx_exit

kt_fx_recv:
    mov $5, %eax
    mov $671, %edi
    mov $-1, %rdx
    syscall
kt_fx_recv_after:
    jmp kt_fx_done_with_rax

kt_fx_wait:
    mov $9, %eax
    mov $672, %edi
    mov $-1, %rdx
    syscall
kt_fx_wait_after:
    jmp kt_fx_done_with_rax

kt_fx_call:
    mov $3, %eax
    mov $671, %edi
    xor %esi, %esi
    mov $-1, %rdx
    syscall
kt_fx_call_after:
    jmp kt_fx_done_with_rax
)");

namespace {

uint64_t address(const char* label) { return reinterpret_cast<uint64_t>(label); }

// An endpoint (the handler's, unless `handled` is false), the other objects, and a victim of
// our priority started at `code`; false after a failed check.
bool start_victim(const char* code, bool handled = true)
{
    kt_fx_count = 0;
    kt_fx_done = 0;
    kt_fx_rax = 0;
    KREQUIRE_EQ_OR(make(kEndpoint, ObjectKind::endpoint), Error::ok, false);
    KREQUIRE_EQ_OR(make(kOther, ObjectKind::endpoint), Error::ok, false);
    KREQUIRE_EQ_OR(make(kNote, ObjectKind::notification), Error::ok, false);
    KREQUIRE_EQ_OR(create_thread(kVictim), Error::ok, false);
    if (handled)
        KREQUIRE_EQ_OR(l4::thread_control(kVictim, ThreadOp::set_exception_handler, kEndpoint), Error::ok, false);
    KREQUIRE_EQ_OR(start_thread(kVictim, reinterpret_cast<ThreadBody>(const_cast<char*>(code))), Error::ok, false);
    return true;
}

Error force(Selector thread) { return l4::thread_control(thread, ThreadOp::force_exception); }

// Receives the forced exception (polled) and checks its label and vector; its state in `s`.
bool receive_forced(abi::ExceptionState& s)
{
    l4::Message m;
    KREQUIRE_EQ_OR(receive_polled(kEndpoint, m), Error::ok, false);
    gather_words(m);
    s = utcb_state();
    KEXPECT_EQ(m.tag.label(), abi::label::exception);
    KEXPECT_EQ(m.tag.words(), abi::kExceptionWords);
    KEXPECT_EQ(s.vector, abi::kForcedVector);
    KEXPECT_EQ(s.error_code, 0);
    return true;
}

Error resume()
{
    l4::Message r;
    r.tag = Tag::make(abi::reply_label::resume, 0);
    return l4::reply(r);
}

bool counting()
{
    return wait_until([] { return kt_fx_count > 0; });
}

// A victim at kt_fx_spin that has started counting; false after a failed check.
bool spinning(bool handled = true)
{
    if (!start_victim(kt_fx_spin, handled))
        return false;
    KREQUIRE_EQ_OR(counting(), true, false);
    return true;
}

bool advances()
{
    uint64_t before = kt_fx_count;
    return wait_until([before] { return kt_fx_count > before; });
}

// The forced exception of a victim whose call was cancelled: rax = cancelled, rip `after` its
// syscall; resumed, the call returns cancelled.
void expect_cancelled(const char* after)
{
    abi::ExceptionState s;
    if (!receive_forced(s))
        return;
    KEXPECT_EQ(s.rax, Error::cancelled);
    KEXPECT_EQ(s.rip, address(after));
    KEXPECT_EQ(resume(), Error::ok);
    KEXPECT_EQ(wait_flag(kt_fx_done), true);
    KEXPECT_EQ(kt_fx_rax, Error::cancelled);
}

// A victim blocked in the call at `code` is forced: the handler sees rax = cancelled and rip
// after its syscall; resumed, the call returns cancelled.
void cancels(const char* code, const char* after)
{
    Slots slots(660, 700);
    if (!start_victim(code))
        return;
    yield_times(20); // it blocks
    KREQUIRE_EQ(kt_fx_done, 0);
    KEXPECT_EQ(force(kVictim), Error::ok);
    expect_cancelled(after);
}

} // namespace

// A thread spinning without system calls enters its handler inside its loop; resumed, it loops
// on. While the handler has it, a second force is busy.
KTEST(force_exception_spinning_thread)
{
    Slots slots(660, 700);
    if (!spinning())
        return;
    KEXPECT_EQ(force(kVictim), Error::ok);
    abi::ExceptionState s;
    if (!receive_forced(s))
        return;
    KEXPECT_EQ(s.rip >= address(kt_fx_spin) && s.rip < address(kt_fx_spin_end), true);
    KEXPECT_EQ(force(kVictim), Error::busy); // its handler has it
    uint64_t stopped = kt_fx_count;
    yield_times(20);
    KEXPECT_EQ(kt_fx_count, stopped); // it waits for the reply
    KEXPECT_EQ(resume(), Error::ok);
    KEXPECT_EQ(advances(), true);
}

KTEST(force_exception_cancels_receive) { cancels(kt_fx_recv, kt_fx_recv_after); }
KTEST(force_exception_cancels_notify_wait) { cancels(kt_fx_wait, kt_fx_wait_after); }

// A call waiting for its reply is cancelled: the server's reply finds no caller.
KTEST(force_exception_cancels_call_waiting_for_reply)
{
    Slots slots(660, 700);
    if (!start_victim(kt_fx_call))
        return;
    l4::Message m;
    KREQUIRE_EQ(receive_polled(kOther, m), Error::ok); // we hold its reply now
    KEXPECT_EQ(force(kVictim), Error::ok);
    KEXPECT_EQ(l4::reply(l4::Message{}), Error::invalid_selector);
    expect_cancelled(kt_fx_call_after);
}

// Without an exception handler the force is refused and the thread is left alone.
KTEST(force_exception_without_handler_refused)
{
    Slots slots(660, 700);
    if (!spinning(false))
        return;
    KEXPECT_EQ(force(kVictim), Error::invalid_argument);
    KEXPECT_EQ(advances(), true);
    l4::Message m;
    KEXPECT_EQ(l4::receive(kEndpoint, m, abi::kTimeoutZero), Error::timeout);
}

// Forced twice before it runs: one exception.
KTEST(force_exception_twice_one_exception)
{
    Slots slots(660, 700);
    if (!spinning())
        return;
    KEXPECT_EQ(force(kVictim), Error::ok);
    KEXPECT_EQ(force(kVictim), Error::ok);
    abi::ExceptionState s;
    if (!receive_forced(s))
        return;
    KEXPECT_EQ(resume(), Error::ok);
    KEXPECT_EQ(advances(), true);
    l4::Message m;
    KEXPECT_EQ(l4::receive(kEndpoint, m, abi::kTimeoutZero), Error::timeout);
}

KTEST(force_exception_selector_checks)
{
    Slots slots(660, 700);
    KREQUIRE_EQ(make(kEndpoint, ObjectKind::endpoint), Error::ok);
    KREQUIRE_EQ(create_thread(kVictim), Error::ok);
    KREQUIRE_EQ(l4::thread_control(kVictim, ThreadOp::set_exception_handler, kEndpoint), Error::ok);
    KREQUIRE_EQ(l4::cap_copy(kVictim, kNoControl, rights::all & ~rights::control), Error::ok);
    KEXPECT_EQ(force(kEmpty), Error::invalid_selector);
    KEXPECT_EQ(force(kSlots), Error::invalid_selector);
    KEXPECT_EQ(force(kEndpoint), Error::wrong_type);
    KEXPECT_EQ(force(kNoControl), Error::missing_rights);
    KEXPECT_EQ(force(kVictim), Error::busy); // never started
}
