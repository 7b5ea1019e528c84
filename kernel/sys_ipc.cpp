// System calls of IPC and notifications.
#include "endpoint.hpp"
#include "l4/abi/syscall.hpp"
#include "ipc.hpp"
#include "notification.hpp"
#include "reply.hpp"
#include "syscalls.hpp"
#include "task.hpp"
#include "thread.hpp"
#include "vm.hpp"

namespace syscalls {
namespace {

using l4::abi::MessageTag;
namespace rights = l4::abi::rights;

// Checks the tag of the message self is about to send or reply with and keeps the copy that
// delivery will use (Thread::message_tag): what was checked is what moves.
bool take_tag(Thread& self, uint64_t raw)
{
    MessageTag tag{raw};
    self.message_tag = raw; // a refused tag is never delivered: the call fails here
    return tag.words() <= l4::abi::kMessageWords && tag.caps() <= l4::abi::kMaxTypedItems &&
           tag.pages() <= l4::abi::kMaxMapItems &&
           (tag.pages() == 0 || vm::check_items(self.utcb().send_pages, tag.pages()));
}

// The endpoint a send names, with the rights its message needs, and the capabilities the
// message would carry: all checked before anything moves.
Error send_through(Thread& self, Frame& f, bool call)
{
    if (!take_tag(self, f.tag()))
        return Error::invalid_argument;
    MessageTag tag{self.message_tag};
    uint64_t caps = tag.caps();
    bool carries = caps > 0 || tag.pages() > 0;
    cap::CapSpace& space = self.task()->caps();
    auto found = space.lookup<Endpoint>(f.arg(0), rights::send | (carries ? rights::grant : 0));
    if (found.error != Error::ok)
        return found.error;
    for (uint64_t i = 0; i < caps; ++i)
        if (space.lookup(self.utcb().send_caps[i].selector, cap::ObjectType::none, 0).error != Error::ok)
            return Error::invalid_selector;
    self.kernel_message = false;
    return ipc::send(self, *found.object, found.slot->badge(), call, f.arg(2));
}

Error receive_on(Thread& self, Frame& f)
{
    auto found = self.task()->caps().lookup<Endpoint>(f.arg(0), rights::receive);
    if (found.error != Error::ok)
        return found.error;
    return ipc::receive(self, *found.object, f.arg(2));
}

} // namespace

Error ipc_call(Thread& self, Frame& f) { return send_through(self, f, true); }
Error ipc_send(Thread& self, Frame& f) { return send_through(self, f, false); }
Error ipc_receive(Thread& self, Frame& f) { return receive_on(self, f); }

Error ipc_reply(Thread& self, Frame& f)
{
    if (!take_tag(self, f.tag()))
        return Error::invalid_argument;
    uint64_t pages = 0;
    Error replied = ipc::reply(self, pages);
    f.set_result(1, pages);
    return replied;
}

Error ipc_reply_wait(Thread& self, Frame& f)
{
    if (!take_tag(self, f.tag()))
        return Error::invalid_argument;
    auto found = self.task()->caps().lookup<Endpoint>(f.arg(0), rights::receive);
    if (found.error != Error::ok)
        return found.error;
    Thread* replied = nullptr;
    uint64_t pages; // not reported: rsi is for the tag received
    // A page-fault reply the faulting task cannot pay for ends the call at once: the pager
    // still holds that reply, and a receive would take it away.
    if (self.caller != nullptr && ipc::reply(self, pages, &replied) == Error::quota_exhausted) [[unlikely]]
        return Error::quota_exhausted;
    return ipc::receive(self, *found.object, f.arg(2), replied);
}

Error notify_signal(Thread& self, Frame& f)
{
    auto found = self.task()->caps().lookup<Notification>(f.arg(0), rights::send);
    if (found.error != Error::ok)
        return found.error;
    found.object->signal(f.arg(1) | found.slot->badge());
    return Error::ok;
}

Error notify_poll(Thread& self, Frame& f)
{
    auto found = self.task()->caps().lookup<Notification>(f.arg(0), rights::receive);
    if (found.error != Error::ok)
        return found.error;
    f.set_result(1, found.object->take());
    return Error::ok;
}

Error notify_wait(Thread& self, Frame& f)
{
    auto found = self.task()->caps().lookup<Notification>(f.arg(0), rights::receive);
    if (found.error != Error::ok)
        return found.error;
    Notification* notification = found.object;
    uint64_t bits = notification->take();
    f.set_result(1, bits);
    if (bits != 0)
        return Error::ok;
    uint64_t timeout = f.arg(2);
    if (timeout == l4::abi::kTimeoutZero)
        return Error::timeout;
    notification->wait(self, timeout);
    return ipc::kStatusSet;
}

Error reply_save(Thread& self, Frame& f)
{
    auto found = self.task()->caps().lookup<Reply>(f.arg(0), rights::send);
    if (found.error != Error::ok)
        return found.error;
    return ipc::save_reply(self, *found.object);
}

Error reply_to(Thread& self, Frame& f)
{
    if (!take_tag(self, f.tag()))
        return Error::invalid_argument;
    auto found = self.task()->caps().lookup<Reply>(f.arg(0), rights::send);
    if (found.error != Error::ok)
        return found.error;
    uint64_t pages = 0;
    Error replied = ipc::reply_to(self, *found.object, pages);
    f.set_result(1, pages);
    return replied;
}

} // namespace syscalls
