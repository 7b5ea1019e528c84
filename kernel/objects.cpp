// The end of kernel objects: what happens when the last capability to one goes.
#include "objects.hpp"

#include "endpoint.hpp"
#include "factory.hpp"
#include "io_ports.hpp"
#include "ipc.hpp"
#include "irq.hpp"
#include "notification.hpp"
#include "panic.hpp"
#include "reply.hpp"
#include "scheduler.hpp"
#include "task.hpp"
#include "thread.hpp"

void kill_thread(Thread& thread)
{
    if (thread.state() == Thread::State::dead || thread.dying())
        return;
    ipc::detach(thread);
    scheduler::remove(thread);
    if (thread.task() != nullptr) {
        thread.task()->remove_thread(thread);
        thread.task()->free_utcb(thread.utcb_address());
    }
    if (&thread == &scheduler::current()) {
        thread.return_work |= Thread::must_exit;
        return;
    }
    scheduler::forget(thread);
    thread.set_state(Thread::State::dead);
    thread.release_stack();
}

namespace {

// Destroying an object can release others (a task's capability space holds the last
// capability to another task, whose space holds the last to a third, ...). Run as recursion
// that would be one kernel stack frame per link of a chain user code builds; so released
// objects wait in a list, and the outermost release destroys them one after another.
cap::Object* released_head;
cap::Object* released_tail;
bool destroying;

void destroy_now(cap::Object* object)
{
    switch (object->type) {
    case cap::ObjectType::task: static_cast<Task*>(object)->destroy(); return;
    case cap::ObjectType::thread: {
        auto* thread = static_cast<Thread*>(object);
        kill_thread(*thread);
        if (thread != &scheduler::current())
            thread->destroy(); // else the scheduler frees it once it has switched away
        return;
    }
    case cap::ObjectType::endpoint: static_cast<Endpoint*>(object)->destroy(); return;
    case cap::ObjectType::notification: static_cast<Notification*>(object)->destroy(); return;
    case cap::ObjectType::factory: static_cast<Factory*>(object)->destroy(); return;
    case cap::ObjectType::irq: static_cast<Irq*>(object)->destroy(); return;
    case cap::ObjectType::io_ports: static_cast<IoPorts*>(object)->destroy(); return;
    case cap::ObjectType::reply: static_cast<Reply*>(object)->destroy(); return;
    default: panic("destroy_object: object {:#018x} of unknown type {}", static_cast<void*>(object), object->type);
    }
}

} // namespace

void destroy_object(cap::Object* object, void*)
{
    object->next_released = nullptr;
    if (released_tail != nullptr)
        released_tail->next_released = object;
    else
        released_head = object;
    released_tail = object;
    if (destroying)
        return; // the loop below, further up the stack, gets to it
    destroying = true;
    while (cap::Object* next = released_head) {
        released_head = next->next_released;
        if (released_head == nullptr)
            released_tail = nullptr;
        destroy_now(next);
    }
    destroying = false;
}

void retire_badge(cap::Object* object, uint64_t badge)
{
    if (object->type == cap::ObjectType::endpoint)
        ipc::cancel_sends(*static_cast<Endpoint*>(object), badge);
}
