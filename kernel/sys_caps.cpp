// System calls on capabilities and factories.
#include "endpoint.hpp"
#include "factory.hpp"
#include "io_ports.hpp"
#include "notification.hpp"
#include "reply.hpp"
#include "l4/abi/syscall.hpp"
#include "syscalls.hpp"
#include "task.hpp"
#include "thread.hpp"
#include "vm.hpp"

namespace syscalls {
namespace {

namespace rights = l4::abi::rights;
using l4::abi::ObjectKind;

// A new object of `kind` (arguments 3 and 4), or nullptr with `error` saying why.
cap::Object* make_object(Thread& self, Factory& factory, ObjectKind kind, Frame& f, Error& error)
{
    cap::Object* object = nullptr;
    switch (kind) {
    case ObjectKind::endpoint: object = Endpoint::create(&factory, error); break;
    case ObjectKind::notification: object = Notification::create(&factory, error); break;
    case ObjectKind::reply: object = Reply::create(&factory, error); break;
    case ObjectKind::thread: {
        auto task = self.task()->caps().lookup<Task>(f.arg(3), rights::control);
        if (task.error != Error::ok) {
            error = task.error;
            return nullptr;
        }
        if (f.arg(4) > l4::abi::kMaxPriority || f.arg(4) > self.priority) {
            error = Error::invalid_argument;
            return nullptr;
        }
        Task* owner = task.object;
        object = Thread::create(&factory, owner, owner->name(), static_cast<uint8_t>(f.arg(4)), error);
        break;
    }
    case ObjectKind::task:
        if (f.arg(3) == 0 || f.arg(3) > l4::abi::kMaxTaskSlots) {
            error = Error::invalid_argument;
            return nullptr;
        }
        object = Task::create(&factory, static_cast<size_t>(f.arg(3)), self.task()->name(), error);
        break;
    case ObjectKind::factory: object = factory.create_child(f.arg(3), error); break;
    case ObjectKind::io_ports: {
        auto source = self.task()->caps().lookup<IoPorts>(f.arg(3), rights::control);
        if (source.error != Error::ok) {
            error = source.error;
            return nullptr;
        }
        auto first = static_cast<uint32_t>(f.arg(4) & 0xffff);
        auto count = static_cast<uint32_t>((f.arg(4) >> 16) & 0x1ffff);
        if (count == 0 || f.arg(4) >> 33 != 0 || !source.object->covers(first, count)) {
            error = Error::invalid_argument;
            return nullptr;
        }
        object = IoPorts::create(&factory, first, count, error);
        break;
    }
    default: error = Error::invalid_argument; return nullptr;
    }
    return object; // on failure the creation said why in `error`
}

} // namespace

Error cap_copy(Thread& self, Frame& f)
{
    cap::CapSpace& space = self.task()->caps();
    return cap::CapSpace::derive(space, f.arg(0), space, f.arg(1), static_cast<l4::abi::Rights>(f.arg(2)), f.arg(3));
}

// How a task puts capabilities into one it made (a loader, the VMM): derived from the
// caller's, recorded in the derivation tree like any copy, so revoking the source takes them.
Error cap_copy_to(Thread& self, Frame& f)
{
    cap::CapSpace& space = self.task()->caps();
    auto task = space.lookup<Task>(f.arg(0), rights::control);
    if (task.error != Error::ok)
        return task.error;
    return cap::CapSpace::derive(space, f.arg(1), task.object->caps(), f.arg(2), static_cast<l4::abi::Rights>(f.arg(3)),
                                 f.arg(4));
}

Error memory_unmap(Thread& self, Frame& f)
{
    if (f.arg(1) > 1)
        return Error::invalid_argument;
    return vm::unmap(*self.task(), l4::abi::Flexpage{f.arg(0)}, f.arg(1) == 1);
}

Error cap_delete(Thread& self, Frame& f) { return self.task()->caps().remove(f.arg(0)); }
Error cap_revoke(Thread& self, Frame& f) { return self.task()->caps().revoke(f.arg(0)); }

Error factory_create(Thread& self, Frame& f)
{
    cap::CapSpace& space = self.task()->caps();
    auto found = space.lookup<Factory>(f.arg(0), rights::control);
    if (found.error != Error::ok)
        return found.error;
    const cap::Slot* destination = space.slot(f.arg(2));
    if (destination == nullptr)
        return Error::invalid_selector;
    if (!destination->empty())
        return Error::slot_occupied;
    Error error = Error::ok;
    cap::Object* object = make_object(self, *found.object, static_cast<ObjectKind>(f.arg(1)), f, error);
    if (object == nullptr)
        return error;
    return space.insert_original(f.arg(2), object, rights::all);
}

} // namespace syscalls
