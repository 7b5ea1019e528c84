// Synchronous IPC. The kernel is not preemptible and runs on one CPU for now, so a rendezvous
// needs no lock; the queues live in the endpoints, the reply relation in the two threads.
#include "ipc.hpp"

#include "arch/x86_64/paging.hpp"
#include "common/string.hpp"
#include "arch/x86_64/timer.hpp"
#include "arch/x86_64/user_registers.hpp"
#include "endpoint.hpp"
#include "fastpath.hpp"
#include "l4/abi/ipc.hpp"
#include "l4/abi/syscall.hpp"
#include "log.hpp"
#include "notification.hpp"
#include "objects.hpp"
#include "reply.hpp"
#include "scheduler.hpp"
#include "task.hpp"
#include "vm.hpp"

namespace ipc {
namespace {

using l4::abi::MessageTag;

Thread* timeouts; // threads waiting with a deadline

constexpr uint64_t kTypedItemBits = MessageTag::make(0, 0, 7, 7).raw; // the caps and pages fields

void clear_deadline(Thread& thread)
{
    if (thread.deadline == Thread::kNoDeadline)
        return;
    for (Thread** link = &timeouts; *link != nullptr; link = &(*link)->timeout_next)
        if (*link == &thread) {
            *link = thread.timeout_next;
            break;
        }
    thread.deadline = Thread::kNoDeadline;
    thread.timeout_next = nullptr;
}

// Copies capabilities named in from's UTCB into to's receive slots; how many arrived.
uint64_t transfer_caps(Thread& from, Thread& to, uint64_t count)
{
    uint64_t first = to.utcb().receive_slot;
    uint64_t moved = 0;
    if (first == l4::abi::kNoReceiveSlot)
        return 0;
    for (; moved < count; ++moved) {
        const l4::abi::CapItem& item = from.utcb().send_caps[moved];
        auto rights = static_cast<l4::abi::Rights>(item.rights);
        if (cap::CapSpace::derive(from.task()->caps(), item.selector, to.task()->caps(), first + moved, rights) !=
            Error::ok)
            break;
    }
    return moved;
}

} // namespace

void deliver(Thread& from, Thread& to, uint64_t badge)
{
    arch::UserContext source = from.user_context();
    arch::UserContext target = to.user_context();
    MessageTag tag{from.message_tag};
    uint64_t words = tag.words();
    const uint64_t* memory_words = from.kernel_message ? from.kernel_words : from.utcb().mr;
    uint64_t register_words = words < l4::abi::kRegisterWords ? words : l4::abi::kRegisterWords;
    if (from.kernel_message)
        target.load_words(memory_words, register_words);
    else
        target.copy_words(source, register_words);
    if (words > l4::abi::kRegisterWords)
        memcpy(&to.utcb().mr[l4::abi::kRegisterWords], &memory_words[l4::abi::kRegisterWords],
               (words - l4::abi::kRegisterWords) * sizeof(uint64_t));
    // Typed items are rare: the common message pays one test for them.
    uint64_t caps = 0, pages = 0, received_pages = 0;
    if (!from.kernel_message && (tag.raw & kTypedItemBits) != 0) {
        caps = transfer_caps(from, to, tag.caps());
        pages = tag.pages();
        received_pages = vm::transfer(*from.task(), from.utcb().send_pages, pages, *to.task(),
                                      l4::abi::Flexpage{to.utcb().receive_window});
    }
    complete_receive(to, MessageTag::make(tag.label(), words, caps, pages).raw, badge, caps, received_pages);
}

namespace {

// The reply to an exception IPC decides how the faulting thread goes on (docs/syscalls.md).
void finish_exception(Thread& server, Thread& faulted)
{
    faulted.kernel_message = false;
    arch::UserContext reply = server.user_context();
    MessageTag tag{server.message_tag};
    if (tag.label() == l4::abi::reply_label::resume_with_rax && tag.words() >= 1) {
        faulted.user_context().set_foreign_result(reply.word(0));
    } else if (tag.label() == l4::abi::reply_label::resume_with_registers) {
        l4::abi::ExceptionState s{};
        uint64_t words = tag.words() < l4::abi::kExceptionWords ? tag.words() : l4::abi::kExceptionWords;
        auto* out = reinterpret_cast<uint64_t*>(&s);
        for (uint64_t i = 0; i < words; ++i)
            out[i] = i < l4::abi::kRegisterWords ? reply.word(i) : server.utcb().mr[i];
        if (words < l4::abi::kExceptionWords || !user_registers::load(faulted.user_frame(), faulted.fs_base, s)) {
            klog::warn("thread \"{}\": exception reply with bad registers: left suspended", faulted.name());
            faulted.suspend_requested = true;
        }
    } else if (tag.label() != l4::abi::reply_label::resume) {
        faulted.suspend_requested = true;
    }
}

// The receiver `self` takes `sender`'s message; a caller then waits for self's reply.
void accept(Thread& self, Thread& sender)
{
    clear_deadline(sender);
    deliver(sender, self, sender.send_badge);
    if (sender.send_is_call) {
        sender.wait = Thread::Wait::reply;
        sender.server = &self;
        self.caller = &sender;
    } else {
        sender.wait = Thread::Wait::none;
        sender.user_context().set_status(Error::ok);
        scheduler::make_ready(sender);
    }
}

// A caller whose server will not answer: its call ends with object_destroyed.
void abandon_caller(Thread& server)
{
    Thread* caller = server.caller;
    if (caller == nullptr)
        return;
    server.caller = nullptr;
    caller->server = nullptr;
    wake(*caller, Error::object_destroyed);
}

// `reply` keeps `caller`'s call, answered later through it.
void keep(Reply& reply, Thread& caller)
{
    caller.kept_reply = &reply;
    reply.caller = &caller;
}

// The caller a reply object keeps (or nullptr), no longer kept there.
Thread* take_kept(Reply& reply)
{
    Thread* caller = reply.caller;
    if (caller != nullptr) {
        reply.caller = nullptr;
        caller->kept_reply = nullptr;
    }
    return caller;
}

// Ends `receiver`'s receive with the bits of its bound notification instead of a message.
void deliver_bits(Thread& receiver, uint64_t bits)
{
    receiver.user_context().word(0) = bits;
    complete_receive(receiver, MessageTag::make(l4::abi::label::notification, 1).raw, 0);
}

} // namespace

Error map_fault_reply(Thread& pager, Thread& faulted, uint64_t& pages)
{
    Error charged = vm::transfer_charged(*pager.task(), pager.utcb().send_pages, MessageTag{pager.message_tag}.pages(),
                                         *faulted.task(), l4::abi::Flexpage::whole_space(), pages);
    if (charged != Error::ok && !vm::page_mapped(*faulted.task(), faulted.kernel_words[0], faulted.kernel_words[1]))
        [[unlikely]]
        return charged;
    return Error::ok;
}

namespace {

// The reply self sends (its checked tag, registers and UTCB) reaches `caller`, whose reply
// relation the caller of this function has already undone; `pages`: the 4 KiB pages it
// installed in the caller's space. quota_exhausted: a page-fault reply whose pages the
// faulting task could not pay for, the faulting page among them; nothing else changed, so
// the caller of this function gives the reply back to self.
Error answer(Thread& self, Thread& caller, Thread** deferred, uint64_t& pages)
{
    if (caller.kernel_message && MessageTag{caller.message_tag}.label() == l4::abi::label::page_fault) {
        // The pager's answer maps into the faulting thread's whole space; the access is retried.
        // Any label but 0 means the pager refuses: the thread is stopped.
        MessageTag answer{self.message_tag};
        if (answer.label() != 0) {
            pages = 0;
            caller.kernel_message = false;
            caller.wait = Thread::Wait::none;
            // The pager's decision (a guest kernel's segfault), not a kernel fault: info, not warn.
            klog::info("thread \"{}\": pager refused its page fault at {:#x}: thread stopped", caller.name(),
                       caller.kernel_words[0]);
            kill_thread(caller);
            return Error::ok;
        }
        Error mapped = map_fault_reply(self, caller, pages);
        if (mapped != Error::ok) [[unlikely]]
            return mapped; // it would only fault again: the pager keeps the reply
        caller.kernel_message = false;
    } else if (caller.kernel_message) {
        pages = 0;
        finish_exception(self, caller);
    } else {
        deliver(self, caller, 0);
        pages = caller.utcb().received_pages;
    }
    caller.wait = Thread::Wait::none;
    if (deferred != nullptr)
        *deferred = &caller; // the replier blocks next and hands the CPU to it
    else
        scheduler::make_ready(caller);
    return Error::ok;
}

} // namespace

void block(Thread& self, Thread::Wait what, uint64_t timeout, Thread* hand_over)
{
    self.wait = what;
    self.set_state(Thread::State::blocked);
    // A deadline the tick counter would reach only by wrapping is never: no deadline at all
    // (so every deadline is below kNoDeadline, and none wraps to a tick long past).
    if (timeout != l4::abi::kTimeoutNever) {
        uint64_t now = timer::ticks();
        if (timeout < Thread::kNoDeadline - now) {
            self.deadline = now + timeout;
            self.timeout_next = timeouts;
            timeouts = &self;
        }
    }
    if (hand_over != nullptr)
        scheduler::block_and_hand_over(*hand_over);
    else
        scheduler::block_current();
}

void wake(Thread& thread, Error status)
{
    clear_deadline(thread);
    if (thread.wait_queue != nullptr)
        thread.wait_queue->remove(thread);
    thread.wait = Thread::Wait::none;
    if (thread.kernel_message) { // an exception IPC that cannot complete: the thread stays stopped
        thread.kernel_message = false;
        klog::warn("thread \"{}\": exception handler gone: left suspended", thread.name());
        thread.suspend_requested = true;
    } else {
        thread.user_context().set_status(status);
    }
    scheduler::make_ready(thread);
}

Error send(Thread& self, Endpoint& ep, uint64_t badge, bool call, uint64_t timeout)
{
    if (Thread* receiver = ep.receivers.pop()) {
        clear_deadline(*receiver);
        self.send_badge = badge;
        deliver(self, *receiver, badge);
        receiver->wait = Thread::Wait::none;
        if (!call) {
            scheduler::make_ready(*receiver);
            return Error::ok;
        }
        self.server = receiver;
        receiver->caller = &self;
        block(self, Thread::Wait::reply, l4::abi::kTimeoutNever, receiver);
        return kStatusSet;
    }
    if (timeout == l4::abi::kTimeoutZero)
        return Error::timeout;
    self.send_badge = badge;
    self.send_is_call = call;
    ep.senders.push(self);
    block(self, Thread::Wait::send, timeout);
    return kStatusSet;
}

Error receive(Thread& self, Endpoint& ep, uint64_t timeout, Thread* replied)
{
    abandon_caller(self);
    if (self.bound_notification != nullptr && self.bound_notification->pending()) {
        if (replied != nullptr)
            scheduler::make_ready(*replied);
        deliver_bits(self, self.bound_notification->take());
        return kStatusSet;
    }
    if (Thread* sender = ep.senders.pop()) {
        if (replied != nullptr)
            scheduler::make_ready(*replied);
        accept(self, *sender);
        return kStatusSet; // deliver() wrote the status and the message into self's registers
    }
    if (timeout == l4::abi::kTimeoutZero) {
        if (replied != nullptr)
            scheduler::make_ready(*replied);
        return Error::timeout;
    }
    ep.receivers.push(self);
    block(self, Thread::Wait::receive, timeout, replied);
    return kStatusSet;
}

Error reply(Thread& self, uint64_t& pages, Thread** deferred)
{
    Thread* caller = self.caller;
    if (caller == nullptr)
        return Error::invalid_selector;
    self.caller = nullptr;
    caller->server = nullptr;
    Error answered = answer(self, *caller, deferred, pages);
    if (answered != Error::ok) [[unlikely]] { // still self's to answer
        self.caller = caller;
        caller->server = &self;
    }
    return answered;
}

Error save_reply(Thread& self, Reply& reply)
{
    Thread* caller = self.caller;
    if (caller == nullptr)
        return Error::invalid_selector;
    if (reply.caller != nullptr)
        return Error::busy;
    self.caller = nullptr;
    caller->server = nullptr;
    keep(reply, *caller);
    return Error::ok;
}

Error reply_to(Thread& self, Reply& reply, uint64_t& pages)
{
    Thread* caller = take_kept(reply);
    if (caller == nullptr)
        return Error::invalid_selector;
    Error answered = answer(self, *caller, nullptr, pages);
    if (answered != Error::ok) [[unlikely]] // still kept there
        keep(reply, *caller);
    return answered;
}

void drop_reply(Reply& reply)
{
    if (Thread* caller = take_kept(reply))
        wake(*caller, Error::object_destroyed);
}

void cancel_sends(Endpoint& ep, uint64_t badge)
{
    for (Thread* sender = ep.senders.head(); sender != nullptr;) {
        Thread* next = sender->wait_next;
        if (sender->send_badge == badge)
            wake(*sender, Error::object_destroyed);
        sender = next;
    }
}

bool end_receive_with_bits(Thread& receiver, uint64_t bits)
{
    if (receiver.wait != Thread::Wait::receive)
        return false;
    clear_deadline(receiver);
    receiver.wait_queue->remove(receiver);
    receiver.wait = Thread::Wait::none;
    deliver_bits(receiver, bits);
    scheduler::make_ready(receiver);
    return true;
}

bool raise_exception(Thread& self, uint64_t vector, uint64_t error_code, uint64_t fault_address)
{
    auto handler = self.special_caps().lookup<Endpoint>(Thread::exception_handler, l4::abi::rights::send);
    if (handler.error != Error::ok)
        return false;
    uint64_t label = l4::abi::label::exception, words = l4::abi::kExceptionWords;
    if (vector == l4::abi::kForeignSyscallVector && self.foreign_abi == l4::abi::foreign_abi::short_message) {
        l4::abi::ForeignSyscall s = user_registers::save_syscall(self.user_frame());
        static_assert(sizeof s <= sizeof self.kernel_words);
        memcpy(self.kernel_words, &s, sizeof s);
        label = l4::abi::label::foreign_syscall;
        words = l4::abi::kForeignSyscallWords;
    } else {
        l4::abi::ExceptionState s =
            user_registers::save(self.user_frame(), self.fs_base, vector, error_code, fault_address);
        static_assert(sizeof s == sizeof self.kernel_words);
        memcpy(self.kernel_words, &s, sizeof s);
        if (vector == l4::abi::kForeignSyscallVector)
            label = l4::abi::label::foreign_syscall;
    }
    self.kernel_message = true;
    self.message_tag = MessageTag::make(label, words).raw;
    if (!fastpath::kernel_message(self, *handler.object, handler.slot->badge()))
        (void)send(self, *handler.object, handler.slot->badge(), true, l4::abi::kTimeoutNever);
    return true;
}

bool raise_page_fault(Thread& self, uint64_t address, uint64_t access, uint64_t rip)
{
    auto pager = self.special_caps().lookup<Endpoint>(Thread::pager, l4::abi::rights::send);
    if (pager.error != Error::ok)
        return false;
    self.kernel_words[0] = address;
    self.kernel_words[1] = access;
    self.kernel_words[2] = rip;
    self.kernel_message = true;
    self.message_tag = MessageTag::make(l4::abi::label::page_fault, l4::abi::kPageFaultWords).raw;
    if (!fastpath::kernel_message(self, *pager.object, pager.slot->badge()))
        (void)send(self, *pager.object, pager.slot->badge(), true, l4::abi::kTimeoutNever);
    return true;
}

namespace {

// A caller that no longer waits for its reply: the server's reply (or reply_to through the
// object that keeps it) finds no caller (invalid_selector).
void leave_server(Thread& caller)
{
    if (caller.server != nullptr) {
        caller.server->caller = nullptr;
        caller.server = nullptr;
    }
    if (caller.kept_reply != nullptr)
        (void)take_kept(*caller.kept_reply);
}

} // namespace

void cancel(Thread& thread)
{
    leave_server(thread);
    wake(thread, Error::cancelled);
}

void detach(Thread& thread)
{
    clear_deadline(thread);
    if (thread.wait_queue != nullptr)
        thread.wait_queue->remove(thread);
    leave_server(thread);
    abandon_caller(thread);
    if (thread.bound_notification != nullptr)
        thread.bound_notification->unbind();
    thread.wait = Thread::Wait::none;
}

bool timeouts_pending() { return timeouts != nullptr; }

void expire_timeouts(uint64_t now)
{
    for (Thread* thread = timeouts; thread != nullptr;) {
        Thread* next = thread->timeout_next;
        if (thread->deadline <= now)
            wake(*thread, Error::timeout);
        thread = next;
    }
}

} // namespace ipc
