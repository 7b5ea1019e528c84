// Notification: asynchronous signals, the way interrupts and virtual interrupts arrive.
#include "notification.hpp"

#include <new>

#include "factory.hpp"
#include "ipc.hpp"
#include "l4/abi/syscall.hpp"
#include "thread.hpp"

Notification* Notification::create(Factory* factory, l4::abi::Error& error)
{
    void* memory = factory->allocate(sizeof(Notification), error);
    return memory == nullptr ? nullptr : new (memory) Notification(factory);
}

void Notification::destroy()
{
    unbind();
    while (Thread* waiter = waiters_.pop())
        ipc::wake(*waiter, l4::abi::Error::object_destroyed);
    Factory* factory = factory_;
    this->~Notification();
    factory->free(this, sizeof(Notification));
}

void Notification::signal(uint64_t bits)
{
    bits_ |= bits;
    if (bits_ == 0)
        return;
    if (Thread* waiter = waiters_.pop()) {
        waiter->user_context().set_result(1, take());
        ipc::wake(*waiter, l4::abi::Error::ok);
    } else if (bound_ != nullptr && bound_->wait == Thread::Wait::receive) {
        (void)ipc::end_receive_with_bits(*bound_, take());
    }
}

void Notification::wait(Thread& thread, uint64_t timeout)
{
    waiters_.push(thread);
    ipc::block(thread, Thread::Wait::notification, timeout);
}

l4::abi::Error Notification::bind(Thread& thread)
{
    if (bound_ != nullptr || thread.bound_notification != nullptr)
        return l4::abi::Error::busy;
    bound_ = &thread;
    thread.bound_notification = this;
    return l4::abi::Error::ok;
}

void Notification::unbind()
{
    if (bound_ == nullptr)
        return;
    bound_->bound_notification = nullptr;
    bound_ = nullptr;
}
