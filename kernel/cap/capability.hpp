// Capabilities: the kernel-object base and the slot a capability lives in.
#pragma once

#include <stddef.h>
#include <stdint.h>

#include <type_traits>

#include "l4/abi/rights.hpp"

namespace cap {

enum class ObjectType : uint8_t { none, task, thread, endpoint, notification, irq, factory, reply, io_ports };

// Only IPC objects show a badge to the receiver; on anything else a badge would mean nothing.
constexpr bool takes_badge(ObjectType t) { return t == ObjectType::endpoint || t == ObjectType::notification; }

// Base of every kernel object. The type tag stands in for RTTI (see CapSpace::lookup<T>).
struct Object {
    ObjectType type;
    uint32_t references;             // capabilities naming this object; the release hook runs at 0
    Object* next_released = nullptr; // in the kernel's list of objects waiting to be destroyed

    constexpr explicit Object(ObjectType t) : type(t), references(0) {}
    Object(const Object&) = delete;
    Object& operator=(const Object&) = delete;

protected:
    // Not virtual: nobody deletes through an Object*; the release hook downcasts first.
    ~Object() = default;
};

// One capability: an object, the rights held on it, a badge, and its place in the derivation
// tree (which capability it was derived from, and which were derived from it). Only CapSpace
// changes a slot; everyone else reads it.
class Slot {
public:
    constexpr Slot() = default;
    // Other slots point at this one by address: copying would leave them pointing at the old.
    Slot(const Slot&) = delete;
    Slot& operator=(const Slot&) = delete;

    bool empty() const { return object_ == nullptr; }
    Object* object() const { return object_; }
    l4::abi::Rights rights() const { return rights_; }
    uint64_t badge() const { return badge_; } // 0: unbadged

    // The derivation tree, read-only (for diagnostics and tests). A root has no parent and
    // no siblings; the children of a slot form a doubly linked list, in no particular order.
    const Slot* parent() const { return parent_; }
    const Slot* first_child() const { return first_child_; }
    const Slot* next_sibling() const { return next_; }
    const Slot* prev_sibling() const { return prev_; }

private:
    friend class CapSpace;

    Object* object_ = nullptr;
    Slot* parent_ = nullptr;
    Slot* first_child_ = nullptr;
    Slot* next_ = nullptr;
    Slot* prev_ = nullptr;
    uint64_t badge_ = 0;
    l4::abi::Rights rights_ = 0;
};

} // namespace cap
