// Capability space: slots, derivation tree, delete with re-parenting, iterative revoke.
#include "cap/cap_space.hpp"

#include <limits>

namespace cap {

namespace {

using l4::abi::Error;

// A reference count at its maximum would wrap to 0 and free a live object.
bool references_full(const Object* o) { return o->references == std::numeric_limits<uint32_t>::max(); }

} // namespace

CapSpace::CapSpace(Slot* storage, size_t count, ReleaseHook hook, void* context, BadgeHook badge_hook)
    : slots_(storage), count_(count), hook_(hook), hook_context_(context), badge_hook_(badge_hook)
{
    for (size_t i = 0; i < count_; ++i)
        empty_slot(slots_[i]);
}

void CapSpace::empty_slot(Slot& s)
{
    s.object_ = nullptr;
    s.parent_ = nullptr;
    s.first_child_ = nullptr;
    s.next_ = nullptr;
    s.prev_ = nullptr;
    s.badge_ = 0;
    s.rights_ = 0;
}

// Integer arithmetic: comparing pointers into different arrays is unspecified in C++.
Selector CapSpace::selector_of(const Slot* s) const
{
    const uintptr_t base = reinterpret_cast<uintptr_t>(slots_);
    const uintptr_t at = reinterpret_cast<uintptr_t>(s);
    if (at < base || at - base >= count_ * sizeof(Slot))
        return count_;
    return (at - base) / sizeof(Slot);
}

Error CapSpace::insert_original(Selector sel, Object* object, Rights rights, uint64_t badge)
{
    if (sel >= count_)
        return Error::invalid_selector;
    Slot& s = slots_[sel];
    if (!s.empty())
        return Error::slot_occupied;
    if (object == nullptr || object->type == ObjectType::none)
        return Error::invalid_argument;
    if (badge != 0 && !takes_badge(object->type))
        return Error::invalid_argument;
    if (references_full(object))
        return Error::out_of_memory;

    s.object_ = object;
    s.rights_ = rights & l4::abi::rights::all;
    s.badge_ = badge;
    ++object->references;
    return Error::ok;
}

Error CapSpace::derive(CapSpace& from, Selector sel_from, CapSpace& to, Selector sel_to, Rights mask, uint64_t badge)
{
    if (sel_from >= from.count_ || from.slots_[sel_from].empty())
        return Error::invalid_selector;
    if (sel_to >= to.count_)
        return Error::invalid_selector;
    Slot& src = from.slots_[sel_from];
    Slot& dst = to.slots_[sel_to];
    if (!dst.empty())
        return Error::slot_occupied;
    Object* object = src.object_;
    // Once set, a badge is what the receiver trusts to tell senders apart: never rewrite it.
    if (badge != 0 && (src.badge_ != 0 || !takes_badge(object->type)))
        return Error::invalid_argument;
    if (references_full(object))
        return Error::out_of_memory;

    dst.object_ = object;
    dst.rights_ = src.rights_ & mask;
    dst.badge_ = badge != 0 ? badge : src.badge_;
    // Push at the front of the source's children: O(1).
    dst.parent_ = &src;
    dst.prev_ = nullptr;
    dst.next_ = src.first_child_;
    if (src.first_child_ != nullptr)
        src.first_child_->prev_ = &dst;
    src.first_child_ = &dst;
    ++object->references;
    return Error::ok;
}

Error CapSpace::move(CapSpace& from, Selector sel_from, CapSpace& to, Selector sel_to)
{
    if (sel_from >= from.count_ || from.slots_[sel_from].empty())
        return Error::invalid_selector;
    if (sel_to >= to.count_)
        return Error::invalid_selector;
    Slot& src = from.slots_[sel_from];
    Slot& dst = to.slots_[sel_to];
    if (!dst.empty())
        return Error::slot_occupied; // also catches moving onto itself

    dst.object_ = src.object_;
    dst.rights_ = src.rights_;
    dst.badge_ = src.badge_;
    dst.parent_ = src.parent_;
    dst.first_child_ = src.first_child_;
    dst.prev_ = src.prev_;
    dst.next_ = src.next_;
    // Everything that pointed at the old slot now points at the new one.
    if (dst.parent_ != nullptr && dst.parent_->first_child_ == &src)
        dst.parent_->first_child_ = &dst;
    if (dst.prev_ != nullptr)
        dst.prev_->next_ = &dst;
    if (dst.next_ != nullptr)
        dst.next_->prev_ = &dst;
    for (Slot* c = dst.first_child_; c != nullptr; c = c->next_)
        c->parent_ = &dst;
    empty_slot(src);
    return Error::ok;
}

void CapSpace::remove_slot(Slot& s)
{
    Object* object = s.object_;
    Slot* parent = s.parent_;
    Slot* first = s.first_child_;
    // Copies of a badged capability keep its badge, so this is the lineage's last when it has
    // no children and its parent (if any) is the unbadged capability it was minted from.
    uint64_t retired_badge =
        s.badge_ != 0 && first == nullptr && (parent == nullptr || parent->badge_ != s.badge_) ? s.badge_ : 0;

    if (parent == nullptr) {
        // A root has no siblings, and each of its children becomes a root of its own.
        for (Slot* c = first; c != nullptr;) {
            Slot* next = c->next_;
            c->parent_ = nullptr;
            c->prev_ = nullptr;
            c->next_ = nullptr;
            c = next;
        }
    } else if (first == nullptr) {
        // A leaf: plain unlink from its siblings.
        if (s.prev_ != nullptr)
            s.prev_->next_ = s.next_;
        else
            parent->first_child_ = s.next_;
        if (s.next_ != nullptr)
            s.next_->prev_ = s.prev_;
    } else {
        // Splice the children, in order, into the sibling list where `s` was.
        Slot* last = first;
        for (Slot* c = first; c != nullptr; c = c->next_) {
            c->parent_ = parent;
            last = c;
        }
        first->prev_ = s.prev_;
        if (s.prev_ != nullptr)
            s.prev_->next_ = first;
        else
            parent->first_child_ = first;
        last->next_ = s.next_;
        if (s.next_ != nullptr)
            s.next_->prev_ = last;
    }
    empty_slot(s);

    if (retired_badge != 0 && badge_hook_ != nullptr)
        badge_hook_(object, retired_badge);
    // Last: the hook may destroy the object and touch other spaces, so every tree must
    // already be consistent.
    if (--object->references == 0 && hook_ != nullptr)
        hook_(object, hook_context_);
}

Error CapSpace::remove(Selector sel)
{
    if (sel >= count_ || slots_[sel].empty())
        return Error::invalid_selector;
    remove_slot(slots_[sel]);
    return Error::ok;
}

Error CapSpace::revoke(Selector sel)
{
    if (sel >= count_ || slots_[sel].empty())
        return Error::invalid_selector;
    Slot* const root = &slots_[sel];

    // Post-order without recursion or a stack: go down to a leaf, remove it, continue from
    // its parent. Each slot is entered once and removed once, so the walk is linear. Every
    // descendant names the root's object and the root keeps its reference, so no count
    // reaches 0 here and no release hook can run and change the tree under the walk.
    Slot* cur = root;
    for (;;) {
        if (cur->first_child_ != nullptr) {
            cur = cur->first_child_;
            continue;
        }
        if (cur == root)
            break;
        Slot* up = cur->parent_;
        remove_slot(*cur);
        cur = up;
    }
    if (root->badge_ != 0 && badge_hook_ != nullptr)
        badge_hook_(root->object_, root->badge_);
    return Error::ok;
}

void CapSpace::clear()
{
    // By index, re-reading each slot: a release hook may empty slots further on.
    for (size_t i = 0; i < count_; ++i)
        if (!slots_[i].empty())
            remove_slot(slots_[i]);
}

} // namespace cap
