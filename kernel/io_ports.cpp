// IoPorts: creation and destruction.
#include "io_ports.hpp"

#include <new>

#include "factory.hpp"

IoPorts* IoPorts::create(Factory* factory, uint32_t first, uint32_t count, l4::abi::Error& error)
{
    void* memory = factory->allocate(sizeof(IoPorts), error);
    return memory == nullptr ? nullptr : new (memory) IoPorts(factory, first, count);
}

void IoPorts::destroy()
{
    Factory* factory = factory_;
    this->~IoPorts();
    factory->free(this, sizeof(IoPorts));
}
