// Endpoint: where senders and receivers meet for synchronous IPC (ipc.cpp moves messages).
#pragma once

#include "cap/capability.hpp"
#include "l4/abi/error.hpp"
#include "wait_queue.hpp"

class Factory;

class Endpoint : public cap::Object {
public:
    static constexpr cap::ObjectType kType = cap::ObjectType::endpoint;

    [[nodiscard]] static Endpoint* create(Factory* factory, l4::abi::Error& error);
    // Wakes every waiting thread with object_destroyed, then frees the endpoint.
    void destroy();

    WaitQueue senders;   // threads waiting to send (or call)
    WaitQueue receivers; // threads waiting to receive

private:
    explicit Endpoint(Factory* factory) : cap::Object(kType), factory_(factory) {}
    Factory* factory_;
};
