// thread_control: starting, stopping and configuring threads.
#include "arch/x86_64/fpu.hpp"
#include "arch/x86_64/paging.hpp"
#include "arch/x86_64/user_registers.hpp"
#include "arch/x86_64/user_state.hpp"
#include "endpoint.hpp"
#include "ipc.hpp"
#include "notification.hpp"
#include "scheduler.hpp"
#include "l4/abi/syscall.hpp"
#include "syscalls.hpp"
#include "task.hpp"
#include "thread.hpp"
#include "user_return.hpp"

namespace syscalls {
namespace {

namespace rights = l4::abi::rights;
using l4::abi::ThreadOp;

constexpr uint64_t kMaxTimeSlice = 1000;

bool user_address(uint64_t address) { return address < paging::kUserEnd; }

// Puts a capability to an endpoint of the caller's into one of the thread's own slots.
Error set_special(Thread& self, Thread& target, Thread::SpecialSlot slot, uint64_t selector)
{
    cap::CapSpace& mine = self.task()->caps();
    auto found = mine.lookup<Endpoint>(selector, rights::send);
    if (found.error != Error::ok)
        return found.error;
    (void)target.special_caps().remove(slot); // an empty slot is fine
    return cap::CapSpace::derive(mine, selector, target.special_caps(), slot, rights::send);
}

Error suspend(Thread& self, Thread& target)
{
    target.suspend_requested = true;
    if (&target == &self) {
        self.user_context().set_status(Error::ok);
        self.set_state(Thread::State::suspended);
        scheduler::block_current(); // back here after a resume
        return ipc::kStatusSet;
    }
    if (target.state() == Thread::State::ready) {
        scheduler::remove(target);
        target.set_state(Thread::State::suspended);
    }
    return Error::ok; // a blocked thread stops when its wait ends (make_ready)
}

Error resume(Thread& target)
{
    target.suspend_requested = false;
    if (target.state() == Thread::State::suspended)
        scheduler::make_ready(target);
    return Error::ok;
}

Error set_priority(Thread& self, Thread& target, uint64_t priority)
{
    if (priority > l4::abi::kMaxPriority || priority > self.priority)
        return Error::invalid_argument;
    bool queued = target.queued;
    scheduler::remove(target);
    target.priority = static_cast<uint8_t>(priority);
    if (queued)
        scheduler::make_ready(target);
    return Error::ok;
}

// The caller's own FPU state is live in the CPU (switches save and restore it eagerly, and the
// kernel never touches it); every other thread's is in its fpu_state (one CPU: with more, a
// thread running elsewhere would have to be stopped first).
Error read_fpu(Thread& self, Thread& target)
{
    static_assert(sizeof target.fpu_state.area == sizeof self.utcb().mr);
    if (&target == &self)
        fpu::save(self.fpu_state);
    __builtin_memcpy(self.utcb().mr, target.fpu_state.area, sizeof target.fpu_state.area);
    return Error::ok;
}

// A copy is checked, so that the image fxrstor sees is the one that passed (the caller's other
// threads may write its UTCB meanwhile).
Error write_fpu(Thread& self, Thread& target)
{
    fpu::State image;
    __builtin_memcpy(image.area, self.utcb().mr, sizeof image.area);
    if (!fpu::loadable(image.area, fpu::mxcsr_mask()))
        return Error::invalid_argument; // fxrstor would #GP
    target.fpu_state = image;
    if (&target == &self)
        fpu::restore(self.fpu_state);
    return Error::ok;
}

Error bind_notification(Thread& self, Thread& target, uint64_t selector)
{
    if (selector == l4::abi::kUnbind) {
        if (target.bound_notification != nullptr)
            target.bound_notification->unbind();
        return Error::ok;
    }
    auto found = self.task()->caps().lookup<Notification>(selector, rights::receive);
    if (found.error != Error::ok)
        return found.error;
    return found.object->bind(target);
}

} // namespace

Error thread_control(Thread& self, Frame& f)
{
    auto found = self.task()->caps().lookup<Thread>(f.arg(0), rights::control);
    if (found.error != Error::ok)
        return found.error;
    Thread& target = *found.object;
    uint64_t a = f.arg(2), b = f.arg(3);
    auto op = static_cast<ThreadOp>(f.arg(1));
    if (op == ThreadOp::start && target.state() != Thread::State::inactive)
        return Error::busy; // started before, whether it still runs or not
    if (target.state() == Thread::State::dead || target.dying())
        return Error::object_destroyed;

    switch (op) {
    case ThreadOp::start:
        if (!user_address(a) || !user_address(b))
            return Error::bad_address;
        target.set_entry(a, b);
        scheduler::make_ready(target);
        return Error::ok;
    case ThreadOp::suspend: return suspend(self, target);
    case ThreadOp::resume: return resume(target);
    case ThreadOp::set_priority: return set_priority(self, target, a);
    case ThreadOp::set_exception_handler: return set_special(self, target, Thread::exception_handler, a);
    case ThreadOp::set_pager: return set_special(self, target, Thread::pager, a);
    case ThreadOp::set_fs_base:
        if (!user_address(a))
            return Error::bad_address;
        target.fs_base = a;
        if (&target == &self)
            arch::set_tls_base(a);
        return Error::ok;
    case ThreadOp::set_foreign_abi:
        if (a > l4::abi::foreign_abi::short_message)
            return Error::invalid_argument;
        target.foreign_abi = static_cast<uint8_t>(a);
        return Error::ok;
    case ThreadOp::read_registers: {
        if (&target == &self)
            return Error::busy;
        l4::abi::ExceptionState s = user_registers::save(target.user_frame(), target.fs_base);
        __builtin_memcpy(self.utcb().mr, &s, sizeof s);
        return Error::ok;
    }
    case ThreadOp::write_registers: {
        if (&target == &self)
            return Error::busy;
        l4::abi::ExceptionState s;
        __builtin_memcpy(&s, self.utcb().mr, sizeof s);
        return user_registers::load(target.user_frame(), target.fs_base, s) ? Error::ok : Error::bad_address;
    }
    case ThreadOp::set_time_slice:
        if (a == 0 || a > kMaxTimeSlice)
            return Error::invalid_argument;
        target.set_time_slice(static_cast<uint32_t>(a));
        return Error::ok;
    case ThreadOp::read_fpu: return read_fpu(self, target);
    case ThreadOp::write_fpu: return write_fpu(self, target);
    case ThreadOp::bind_notification: return bind_notification(self, target, a);
    case ThreadOp::force_exception: return user_return::force_exception(target);
    }
    return Error::invalid_argument;
}

} // namespace syscalls
