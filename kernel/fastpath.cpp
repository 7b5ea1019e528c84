// The IPC fast path (seL4's fastpath.c is the model). A call, a reply-and-wait, a guest's
// system call and a page fault each end with one thread blocked and its partner running,
// and most of the time the partner is already waiting and the message fits in registers.
// Then the work is small: check, move a few registers, fix the IPC links, switch. This file
// does exactly that and nothing else; whatever is unusual (a partner not waiting, UTCB words,
// typed items, a timeout, pending notification bits, a suspended or outranked partner) leaves
// before anything has changed, for the general path in ipc.cpp. So every condition here is a
// reason to take the short way, never a result: the general path gives every answer, and
// the short way must be indistinguishable from it.
//
// The switch. The partner is blocked in the kernel with nothing left to do there but return
// to user mode (the message has been written into its saved registers), so the CPU leaves
// through the partner's user frame at the top of its kernel stack; what else its stack holds
// is dead. The thread that blocks here gets the stack a new thread starts with
// (thread_first_return), so that the general path can wake it like any other.
#include "fastpath.hpp"

#include "endpoint.hpp"
#include "ipc.hpp"
#include "l4/abi/syscall.hpp"
#include "notification.hpp"
#include "scheduler.hpp"
#include "task.hpp"
#include "thread.hpp"
#include "vm.hpp"

// entry.S: `self` resumes later through thread_first_return; the CPU leaves for user mode
// through `next_frame` (on next's kernel stack, now the live one). The host tests' fake
// records the switch and returns.
#ifdef KESTREL_FAKE_ARCH
extern "C" void fastpath_leave(uint64_t* self_saved_rsp, interrupts::InterruptFrame* self_frame,
                               interrupts::InterruptFrame* next_frame);
#else
extern "C" [[noreturn]] void fastpath_leave(uint64_t* self_saved_rsp, interrupts::InterruptFrame* self_frame,
                                            interrupts::InterruptFrame* next_frame);
#endif

namespace fastpath {
namespace {

using l4::abi::Error;
using l4::abi::MessageTag;
namespace rights = l4::abi::rights;

// A register-only tag: at most kRegisterWords words, no typed items, no unused bits.
bool register_only(uint64_t tag) { return (tag & 0xffff) <= l4::abi::kRegisterWords; }

// A partner blocked in the kernel that may run now, as the general path would run it: in no
// timeout list (it waits forever), with nothing to do on its way out, not outranked.
bool may_resume(const Thread& partner)
{
    return partner.deadline == Thread::kNoDeadline && partner.return_work == 0 && scheduler::may_hand_over(partner);
}

// The end of every short way: self blocks, `next` (no longer waiting) runs. Does not return
// in the kernel.
[[gnu::always_inline]] inline bool switch_to(Thread& self, Thread& next)
{
    self.set_state(Thread::State::blocked);
    scheduler::enter_directly(next);
    fastpath_leave(&self.saved_kernel_rsp, &self.user_frame(), &next.user_frame());
    return true;
}

// `receiver`, first in `ep`'s receive queue, stops waiting; self calls it (a reply is due).
void take_receiver(Thread& self, Endpoint& ep, Thread& receiver)
{
    ep.receivers.remove(receiver);
    receiver.wait = Thread::Wait::none;
    self.wait = Thread::Wait::reply;
    self.server = &receiver;
    receiver.caller = &self;
}

// How the short way answers `caller` with self's reply `tag`, if it can.
enum class Reply : uint8_t {
    general, // the general path must
    message, // a register-only message to a caller of ipc_call
    rax,     // resume_with_rax to a kernel-message caller (a guest's system call)
    mapping, // map items to a page-fault caller
};

Reply reply_kind(Thread& self, const Thread& caller, uint64_t tag)
{
    MessageTag t{tag};
    if (!caller.kernel_message)
        return register_only(tag) ? Reply::message : Reply::general;
    if (MessageTag{caller.message_tag}.label() == l4::abi::label::page_fault) {
        constexpr uint64_t kPagesField = MessageTag::make(0, 0, 0, 7).raw;
        bool items_only = (tag & ~kPagesField) == 0 && t.pages() <= l4::abi::kMaxMapItems;
        return items_only && vm::check_items(self.utcb().send_pages, t.pages()) ? Reply::mapping : Reply::general;
    }
    bool rax = t.label() == l4::abi::reply_label::resume_with_rax && register_only(tag) && t.words() != 0;
    return rax ? Reply::rax : Reply::general;
}

} // namespace

bool call(Thread& self, arch::UserContext f)
{
    uint64_t tag = f.tag();
    if (!register_only(tag))
        return false;
    auto found = self.task()->caps().lookup<Endpoint>(f.arg(0), rights::send);
    if (found.error != Error::ok)
        return false;
    Thread* receiver = found.object->receivers.head();
    if (receiver == nullptr || !may_resume(*receiver))
        return false;
    take_receiver(self, *found.object, *receiver);
    self.kernel_message = false; // (message_tag is not needed: the message is delivered now)
    receiver->user_context().copy_words(f, MessageTag{tag}.words());
    ipc::complete_receive(*receiver, tag, found.slot->badge());
    return switch_to(self, *receiver);
}

bool reply_wait(Thread& self, arch::UserContext f)
{
    uint64_t tag = f.tag();
    Thread* caller = self.caller;
    if (caller == nullptr || f.arg(2) != l4::abi::kTimeoutNever || !may_resume(*caller))
        return false;
    Reply kind = reply_kind(self, *caller, tag);
    if (kind == Reply::general)
        return false;
    auto found = self.task()->caps().lookup<Endpoint>(f.arg(0), rights::receive);
    if (found.error != Error::ok)
        return false;
    Endpoint& ep = *found.object;
    if (!ep.senders.empty() || (self.bound_notification != nullptr && self.bound_notification->pending()))
        return false;
    // The reply.
    if (kind == Reply::mapping) {
        self.message_tag = tag; // map_fault_reply reads the items' count there
        uint64_t pages;
        Error mapped = ipc::map_fault_reply(self, *caller, pages);
        if (mapped != Error::ok) [[unlikely]] {
            f.set_status(mapped); // the reply stays due, as the general path leaves it
            return true;
        }
        caller->kernel_message = false;
    } else if (kind == Reply::rax) {
        caller->kernel_message = false;
        caller->user_context().set_foreign_result(f.word(0));
    } else {
        caller->user_context().copy_words(f, MessageTag{tag}.words());
        ipc::complete_receive(*caller, tag, 0);
    }
    self.caller = nullptr;
    caller->server = nullptr;
    caller->wait = Thread::Wait::none;
    // The wait.
    ep.receivers.push(self);
    self.wait = Thread::Wait::receive;
    return switch_to(self, *caller);
}

bool kernel_message(Thread& self, Endpoint& ep, uint64_t badge)
{
    Thread* receiver = ep.receivers.head();
    if (receiver == nullptr || !may_resume(*receiver))
        return false;
    take_receiver(self, ep, *receiver);
    ipc::deliver(self, *receiver, badge);
    return switch_to(self, *receiver);
}

} // namespace fastpath
