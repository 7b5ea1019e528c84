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

    // ORs `bits` in; wakes the first waiter (if any) with all the bits, which are then clear.
    void signal(uint64_t bits);
    // The bits (cleared), or 0 when none are set.
    uint64_t take()
    {
        uint64_t b = bits_;
        bits_ = 0;
        return b;
    }
    // Blocks `thread` until a signal arrives (the caller checked take() gave 0).
    void wait(Thread& thread);

private:
    explicit Notification(Factory* factory) : cap::Object(kType), factory_(factory) {}

    Factory* factory_;
    uint64_t bits_ = 0;
    WaitQueue waiters_;
};
