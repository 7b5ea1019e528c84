// Reply: creation and destruction; keeping and answering are in ipc.cpp.
#include "reply.hpp"

#include <new>

#include "factory.hpp"
#include "ipc.hpp"

Reply* Reply::create(Factory* factory, l4::abi::Error& error)
{
    void* memory = factory->allocate(sizeof(Reply), error);
    return memory == nullptr ? nullptr : new (memory) Reply(factory);
}

void Reply::destroy()
{
    ipc::drop_reply(*this);
    Factory* factory = factory_;
    this->~Reply();
    factory->free(this, sizeof(Reply));
}
