// Notification: a word of bits that signals set without blocking and waiters collect.
#pragma once

#include <stdint.h>

#include "cap/capability.hpp"
#include "l4/abi/error.hpp"
#include "wait_queue.hpp"

class Factory;
class Thread;

class Notification : public cap::Object {
public:
    static constexpr cap::ObjectType kType = cap::ObjectType::notification;

    [[nodiscard]] static Notification* create(Factory* factory, l4::abi::Error& error);
    void destroy();

    // ORs `bits` in; wakes the first waiter (if any) with all the bits, which are then clear;
    // with no waiter, ends the bound thread's receive on an endpoint the same way.
    void signal(uint64_t bits);
    bool pending() const { return bits_ != 0; }
    // The bits (cleared), or 0 when none are set.
    uint64_t take()
    {
        uint64_t b = bits_;
        bits_ = 0;
        return b;
    }
    // Blocks `thread` until a signal arrives or `timeout` ticks pass (the caller checked
    // take() gave 0 and the timeout is not zero).
    void wait(Thread& thread, uint64_t timeout);

    // Binding to a thread that serves IPC and interrupts from one receive loop: busy when
    // either is bound already. unbind() undoes it from either side (no-op when unbound).
    [[nodiscard]] l4::abi::Error bind(Thread& thread);
    void unbind();
    Thread* bound_thread() const { return bound_; }

private:
    explicit Notification(Factory* factory) : cap::Object(kType), factory_(factory) {}

    Factory* factory_;
    uint64_t bits_ = 0;
    WaitQueue waiters_;
    Thread* bound_ = nullptr;
};
