// Endpoint: creation and destruction; the rendezvous itself is in ipc.cpp.
#include "endpoint.hpp"

#include <new>

#include "factory.hpp"
#include "ipc.hpp"

Endpoint* Endpoint::create(Factory* factory, l4::abi::Error& error)
{
    void* memory = factory->allocate(sizeof(Endpoint), error);
    return memory == nullptr ? nullptr : new (memory) Endpoint(factory);
}

void Endpoint::destroy()
{
    while (Thread* thread = senders.pop())
        ipc::wake(*thread, l4::abi::Error::object_destroyed);
    while (Thread* thread = receivers.pop())
        ipc::wake(*thread, l4::abi::Error::object_destroyed);
    Factory* factory = factory_;
    this->~Endpoint();
    factory->free(this, sizeof(Endpoint));
}
