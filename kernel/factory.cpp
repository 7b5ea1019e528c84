// Factory: quota accounting around the kernel heap.
#include "factory.hpp"

#include <new>

#include "memory.hpp"
#include "panic.hpp"

Factory::Factory(Factory* parent, uint64_t quota)
    : cap::Object(kType), parent_(parent), quota_(quota), used_(0), live_objects_(0), orphaned_(false)
{
}

Factory* Factory::create_root(uint64_t quota)
{
    void* memory = memory::heap().alloc(sizeof(Factory));
    if (memory == nullptr)
        return nullptr;
    return new (memory) Factory(nullptr, quota);
}

bool Factory::charge(uint64_t bytes)
{
    if (bytes > quota_ - used_)
        return false;
    used_ += bytes;
    return true;
}

// Every refund matches an earlier charge: one that does not is a kernel accounting bug, and
// clamping it would hide a task growing its quota.
void Factory::refund(uint64_t bytes)
{
    if (bytes > used_)
        panic("factory {:#018x}: refund of {} bytes, only {} charged", static_cast<void*>(this), bytes, used_);
    used_ -= bytes;
}

// Objects are charged what the heap really gives up for them (mem::KernelHeap::charged_size:
// the size class with its share of the slab header, or whole pages), not their sizeof.
void* Factory::allocate(size_t size, l4::abi::Error& error)
{
    size_t charged = mem::KernelHeap::charged_size(size);
    if (!charge(charged)) {
        error = l4::abi::Error::quota_exhausted;
        return nullptr;
    }
    void* object = memory::heap().alloc(size);
    if (object == nullptr) {
        refund(charged);
        error = l4::abi::Error::out_of_memory;
        return nullptr;
    }
    ++live_objects_;
    return object;
}

void Factory::free(void* object, size_t size)
{
    memory::release(object, size);
    refund(mem::KernelHeap::charged_size(size));
    if (--live_objects_ == 0 && orphaned_)
        release_memory();
}

Factory* Factory::create_child(uint64_t quota, l4::abi::Error& error)
{
    if (!charge(quota)) {
        error = l4::abi::Error::quota_exhausted;
        return nullptr;
    }
    void* memory = allocate(sizeof(Factory), error);
    if (memory == nullptr) {
        refund(quota);
        return nullptr;
    }
    return new (memory) Factory(this, quota);
}

// Its objects refund it when they go, so it outlives its last capability until they have.
void Factory::destroy()
{
    orphaned_ = true;
    if (live_objects_ == 0)
        release_memory();
}

// A chain of orphaned factories, each kept only by the one below it, goes in one loop: each
// freed factory may be the last object its parent was waiting for.
void Factory::release_memory()
{
    for (Factory* factory = this; factory != nullptr;) {
        Factory* parent = factory->parent_;
        uint64_t carried = factory->quota_;
        factory->~Factory();
        if (parent == nullptr) {
            memory::release(factory, sizeof(Factory));
            return;
        }
        parent->refund(carried);
        memory::release(factory, sizeof(Factory));
        parent->refund(mem::KernelHeap::charged_size(sizeof(Factory)));
        factory = --parent->live_objects_ == 0 && parent->orphaned_ ? parent : nullptr;
    }
}
