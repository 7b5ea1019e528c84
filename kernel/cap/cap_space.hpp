// Capability space: a task's array of capability slots, and the derivation tree across spaces.
//
// Rules:
// - A selector is an index into the space; out of range and empty both mean invalid_selector.
// - insert_original() makes the root of a derivation tree; derive() makes a child of its source
//   (in any space, the same one included). Rights only shrink: child = source & mask.
// - Badges only on endpoints and notifications. A badge is set once: minting a badge needs an
//   unbadged source; deriving with badge 0 keeps the source's badge.
// - move() carries a capability to another slot, keeping its parent and children.
// - remove() empties one slot and hands its children to its parent (or makes them roots), so a
//   middleman deleting its copy never shields others from the original holder's revoke().
// - revoke() removes every descendant, in every space, and keeps the capability itself.
// - The capabilities made by minting a badge, and every copy made from them, are that badge's
//   lineage. When the last of a lineage goes (remove(), clear(), revoke() of an ancestor), or a
//   badged capability is revoked, the badge hook runs: the kernel cancels the sends queued
//   through that badge there.
// - Object::references counts capabilities. When it drops to 0 (remove(), clear()) the release
//   hook of the space that held the last one runs, with every tree consistent again.
// - Not thread-safe: revoke() crosses spaces, so the caller holds one lock over all of them.
#pragma once

#include <stddef.h>
#include <stdint.h>

#include <type_traits>

#include "cap/capability.hpp"
#include "l4/abi/error.hpp"
#include "l4/abi/rights.hpp"

namespace cap {

using Selector = uint64_t;

// Runs when an object's last capability goes, from remove() or clear() of the space that held
// it, after that slot is empty and every tree is consistent; the kernel destroys the object
// here. It may use any CapSpace (e.g. clear() a dying task's space), but must not free the
// storage of a space whose clear() is running. revoke() never runs it: the revoked capability
// still names the object every descendant names.
using ReleaseHook = void (*)(Object* object, void* context);

// Runs with the object and the badge whose lineage just ended, or whose capability was
// revoked; before any release hook of the same removal, with every tree consistent. It must
// not change any capability space.
using BadgeHook = void (*)(Object* object, uint64_t badge);

class CapSpace {
public:
    using Error = l4::abi::Error;
    using Rights = l4::abi::Rights;

    struct Lookup {
        Error error;
        Slot* slot; // nullptr unless error == ok
    };

    // `storage` (count slots) stays owned by the caller and must outlive the space; the
    // constructor empties every slot. Not emptied on destruction (a static CapSpace must stay
    // trivially destructible, the kernel has no atexit): call clear() before freeing storage.
    CapSpace(Slot* storage, size_t count, ReleaseHook hook = nullptr, void* context = nullptr,
             BadgeHook badge_hook = nullptr);
    CapSpace(const CapSpace&) = delete;
    CapSpace& operator=(const CapSpace&) = delete;

    size_t size() const { return count_; }

    // The slot at `sel` (possibly empty), nullptr out of range. For diagnostics and tests.
    const Slot* slot(Selector sel) const { return sel < count_ ? &slots_[sel] : nullptr; }

    // Selector of a slot of this space, or size() if the slot belongs elsewhere.
    Selector selector_of(const Slot* s) const;

    // The first capability of a new object: a derivation-tree root (an object that already
    // has capabilities gets an independent second root). invalid_selector; slot_occupied;
    // invalid_argument (null object, type none, or a badge on a type that takes none);
    // out_of_memory (the reference count would overflow).
    [[nodiscard]] Error insert_original(Selector sel, Object* object, Rights rights, uint64_t badge = 0);

    // The one validation every system call does: no loops. expected == none accepts any type.
    // invalid_selector; wrong_type; missing_rights (any bit of `needed` absent).
    [[nodiscard]] Lookup lookup(Selector sel, ObjectType expected, Rights needed)
    {
        if (sel >= count_ || slots_[sel].object_ == nullptr)
            return {Error::invalid_selector, nullptr};
        Slot* s = &slots_[sel];
        if (expected != ObjectType::none && s->object_->type != expected)
            return {Error::wrong_type, nullptr};
        if ((s->rights_ & needed) != needed)
            return {Error::missing_rights, nullptr};
        return {Error::ok, s};
    }

    // The typed form every kernel caller uses: the object as a T (T names its tag as
    // `static constexpr ObjectType kType`), so the type check and the cast cannot drift apart.
    template <typename T>
    struct Found {
        Error error;
        T* object;  // nullptr unless error == ok
        Slot* slot; // nullptr unless error == ok
    };
    template <typename T>
    [[nodiscard]] Found<T> lookup(Selector sel, Rights needed)
    {
        static_assert(std::is_base_of_v<Object, T>, "lookup<T> is for kernel objects");
        Lookup found = lookup(sel, T::kType, needed);
        if (found.error != Error::ok)
            return {found.error, nullptr, nullptr};
        return {Error::ok, static_cast<T*>(found.slot->object()), found.slot};
    }

    // Copy/mint: a child of from[sel_from] in to[sel_to], rights = source & mask. badge != 0
    // mints: the source must be unbadged and of a badge-taking type, else invalid_argument.
    // invalid_selector (either side); slot_occupied; out_of_memory (reference overflow).
    [[nodiscard]] static Error derive(CapSpace& from, Selector sel_from, CapSpace& to, Selector sel_to, Rights mask,
                                      uint64_t badge = 0);

    // Moves from[sel_from] to to[sel_to]; parent and children stay. Costs O(children).
    // invalid_selector (either side); slot_occupied (also when moving onto itself).
    [[nodiscard]] static Error move(CapSpace& from, Selector sel_from, CapSpace& to, Selector sel_to);

    // Deletes one capability; its children move up to its parent. Costs O(children).
    // invalid_selector.
    [[nodiscard]] Error remove(Selector sel);

    // Removes every capability derived from this one, in any space; this one stays. Iterative
    // and linear in the subtree; never releases an object. A badged one runs the badge hook
    // (after the removed lineages' own). invalid_selector.
    [[nodiscard]] Error revoke(Selector sel);

    // Removes every capability of this space (same rules as remove), e.g. to destroy a task.
    void clear();

private:
    static void empty_slot(Slot& s);

    // Empties `s`, re-links the tree, drops the reference (maybe running the hook).
    void remove_slot(Slot& s);

    Slot* slots_;
    size_t count_;
    ReleaseHook hook_;
    void* hook_context_;
    BadgeHook badge_hook_;
};

} // namespace cap
