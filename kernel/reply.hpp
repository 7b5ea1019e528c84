// Reply: a kept reply. A server moves the reply to a call it received into one (reply_save)
// and answers through it later (reply_to), after serving others; the caller waits meanwhile.
// One object holds at most one reply, and each is used once.
#pragma once

#include "cap/capability.hpp"
#include "l4/abi/error.hpp"

class Factory;
class Thread;

class Reply : public cap::Object {
public:
    static constexpr cap::ObjectType kType = cap::ObjectType::reply;

    [[nodiscard]] static Reply* create(Factory* factory, l4::abi::Error& error);
    // A kept caller's call ends with object_destroyed (an exception or fault caller stays
    // suspended); then the object is freed.
    void destroy();

    Thread* caller = nullptr; // the thread waiting for this reply, or none

private:
    explicit Reply(Factory* factory) : cap::Object(kType), factory_(factory) {}
    Factory* factory_;
};
