// A small kernel world for the host tests of IPC, the scheduler and object lifecycles: a root
// factory, a task whose capability space holds the endpoints, threads in it, and the kernel
// entry and exit around a system-call handler (as syscalls.cpp's dispatch does them).
#pragma once

#include <catch2/catch.hpp>

#include <stdint.h>

#include "endpoint.hpp"
#include "factory.hpp"
#include "fake_arch.hpp"
#include "ipc.hpp"
#include "mem/kernel_heap.hpp"
#include "l4/abi/ipc.hpp"
#include "l4/abi/syscall.hpp"
#include "notification.hpp"
#include "objects.hpp"
#include "reply.hpp"
#include "scheduler.hpp"
#include "syscalls.hpp"
#include "task.hpp"
#include "thread.hpp"
#include "user_return.hpp"

namespace kt {

using Error = l4::abi::Error;
using l4::abi::MessageTag;
using State = Thread::State;
using Wait = Thread::Wait;
constexpr uint64_t kNever = l4::abi::kTimeoutNever;

// Every object a test makes gets its first capability here; clearing it destroys them all
// through the kernel's release hook (objects.cpp).
struct World {
    using Selector = cap::Selector;
    static constexpr size_t kHeld = 1024;

    explicit World(uint64_t quota = 2 * 1024 * 1024)
    {
        fake::boot();
        fake::clear_switches();
        fake::clear_log();
        fake::set_ticks(0);
        fake::set_fault_reply({});
        factory = Factory::create_root(quota);
        REQUIRE(factory != nullptr);
        task = make_task(*factory, 16, "task");
    }

    ~World()
    {
        fake::run_idle();
        held.clear();
        CHECK(factory->used() == 0);            // every byte charged came back
        CHECK(fake::live_kernel_stacks() == 1); // the idle thread's
        CHECK(fake::live_page_tables() == 0);
        CHECK_FALSE(ipc::timeouts_pending());
        factory->destroy();
    }

    Selector hold(cap::Object* object)
    {
        REQUIRE(object != nullptr);
        REQUIRE(held.insert_original(next, object, l4::abi::rights::all) == Error::ok);
        return next++;
    }
    // Removes the capability hold() made for `object` (its last, usually: the object goes).
    void release(cap::Object& object)
    {
        for (Selector s = 0; s < next; ++s)
            if (held.slot(s)->object() == &object) {
                REQUIRE(held.remove(s) == Error::ok);
                return;
            }
        FAIL("not held");
    }

    Task* make_task(Factory& from, size_t slot_count, const char* name)
    {
        Error error = Error::ok;
        Task* made = Task::create(&from, slot_count, name, error);
        REQUIRE(error == Error::ok);
        hold(made);
        return made;
    }

    Thread* make_thread(const char* name, uint8_t priority, Task* in = nullptr, Factory* from = nullptr)
    {
        Error error = Error::ok;
        Thread* made =
            Thread::create(from != nullptr ? from : factory, in != nullptr ? in : task, name, priority, error);
        REQUIRE(made != nullptr);
        hold(made);
        return made;
    }

    // An object T (made by T::create(factory, error)) with a capability at `selector` of the
    // task's space (with `badge`, where T takes one).
    template <typename T>
    T* make_object(cap::Selector selector, uint64_t badge = 0)
    {
        Error error = Error::ok;
        T* made = T::create(factory, error);
        REQUIRE(made != nullptr);
        REQUIRE(task->caps().insert_original(selector, made, l4::abi::rights::all, badge) == Error::ok);
        return made;
    }
    Endpoint* make_endpoint(cap::Selector selector, uint64_t badge = 0)
    {
        return make_object<Endpoint>(selector, badge);
    }
    Reply* make_reply(cap::Selector selector) { return make_object<Reply>(selector); }
    Notification* make_notification(cap::Selector selector) { return make_object<Notification>(selector); }

    // From idle, the kernel's exit path picks the best ready thread.
    void start() { scheduler::preempt_if_needed(); }

    Factory* factory = nullptr;
    Task* task = nullptr;
    cap::Slot slots[kHeld];
    cap::CapSpace held{slots, kHeld, destroy_object, nullptr};
    Selector next = 0;
};

// The system call `handler` as `self` makes it: self must be running; the status goes to its
// registers unless the handler blocked; then the kernel exit's work (a forced exception) and
// preemption check.
inline void enter(Thread& self, syscalls::Handler handler)
{
    REQUIRE(&scheduler::current() == &self);
    syscalls::Frame frame = self.user_context();
    Error result = handler(self, frame);
    if (result != ipc::kStatusSet)
        frame.set_status(result);
    REQUIRE_FALSE(self.dying()); // thread exit is not modelled
    user_return::check(self);
    scheduler::preempt_if_needed();
}

inline void set_message(Thread& t, MessageTag tag, std::initializer_list<uint64_t> words = {})
{
    arch::UserContext c = t.user_context();
    c.set_tag(tag.raw);
    uint64_t i = 0;
    for (uint64_t w : words) {
        if (i < l4::abi::kRegisterWords)
            c.word(i) = w;
        else
            t.utcb().mr[i] = w;
        ++i;
    }
}

inline void call(Thread& t, cap::Selector ep, uint64_t timeout = kNever)
{
    t.user_context().set_arg(0, ep);
    t.user_context().set_arg(2, timeout);
    enter(t, syscalls::ipc_call);
}
inline void send(Thread& t, cap::Selector ep, uint64_t timeout = kNever)
{
    t.user_context().set_arg(0, ep);
    t.user_context().set_arg(2, timeout);
    enter(t, syscalls::ipc_send);
}
inline void receive(Thread& t, cap::Selector ep, uint64_t timeout = kNever)
{
    t.user_context().set_arg(0, ep);
    t.user_context().set_arg(2, timeout);
    enter(t, syscalls::ipc_receive);
}
inline void reply(Thread& t) { enter(t, syscalls::ipc_reply); }
inline void reply_wait(Thread& t, cap::Selector ep, uint64_t timeout = kNever)
{
    t.user_context().set_arg(0, ep);
    t.user_context().set_arg(2, timeout);
    enter(t, syscalls::ipc_reply_wait);
}

inline void reply_save(Thread& t, cap::Selector reply)
{
    t.user_context().set_arg(0, reply);
    enter(t, syscalls::reply_save);
}
inline void reply_to(Thread& t, cap::Selector reply)
{
    t.user_context().set_arg(0, reply);
    enter(t, syscalls::reply_to);
}
inline void notify_wait(Thread& t, cap::Selector note, uint64_t timeout = kNever)
{
    t.user_context().set_arg(0, note);
    t.user_context().set_arg(2, timeout);
    enter(t, syscalls::notify_wait);
}
inline void notify_signal(Thread& t, cap::Selector note, uint64_t bits)
{
    t.user_context().set_arg(0, note);
    t.user_context().set_arg(1, bits);
    enter(t, syscalls::notify_signal);
}

// What a thread's last system call returned, and the message it received.
inline Error status(Thread& t) { return static_cast<Error>(t.user_frame().rax); }
inline MessageTag tag(Thread& t) { return MessageTag{t.user_context().tag()}; }
inline uint64_t badge(Thread& t) { return t.user_frame().rdx; }
inline uint64_t word(Thread& t, uint64_t i)
{
    return i < l4::abi::kRegisterWords ? t.user_context().word(i) : t.utcb().mr[i];
}

inline Thread& current() { return scheduler::current(); }

} // namespace kt
