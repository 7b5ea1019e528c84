// Factory: kernel memory on a quota. Every object is charged to the factory that made it and
// refunded when destroyed, so no task can exhaust kernel memory for others.
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "cap/capability.hpp"
#include "l4/abi/error.hpp"

class Factory : public cap::Object {
public:
    static constexpr cap::ObjectType kType = cap::ObjectType::factory;

    // The root factory of a boot task (charged to nobody); nullptr when the heap is empty.
    // Every byte any task can be charged for comes from a root factory, so the quotas of the
    // boot plan (memory::budget) bound all charges at once: the mapping database is sized
    // from them and can never run dry for a task that stays within its quota.
    [[nodiscard]] static Factory* create_root(uint64_t quota);

    // Memory for an object of `size` bytes charged to this factory: nullptr, with `error`
    // quota_exhausted (the quota cannot cover it) or out_of_memory (the heap is empty).
    [[nodiscard]] void* allocate(size_t size, l4::abi::Error& error);
    void free(void* object, size_t size);

    // Takes `bytes` out of this quota, for a sub-factory or for memory charged by hand.
    [[nodiscard]] bool charge(uint64_t bytes);
    void refund(uint64_t bytes);

    // A sub-factory carrying `quota` bytes of this one's quota (plus its own size).
    [[nodiscard]] Factory* create_child(uint64_t quota, l4::abi::Error& error);
    void destroy();

    uint64_t quota() const { return quota_; }
    uint64_t used() const { return used_; }

private:
    Factory(Factory* parent, uint64_t quota);
    void release_memory();

    Factory* parent_;
    uint64_t quota_;
    uint64_t used_;
    uint64_t live_objects_; // objects charged here and not yet freed
    bool orphaned_;         // its last capability is gone; it goes with its last object
};
