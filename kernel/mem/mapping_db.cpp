// Mapping database: derivation trees, the (space, page) hash index, iterative map/grant/unmap.
#include "mem/mapping_db.hpp"

#include <type_traits>

namespace mem {

static_assert(std::is_trivial_v<Mapping>, "the kernel hands us raw memory for the nodes");
static_assert(sizeof(Mapping) == 40);

namespace {

// MurmurHash3's finaliser: neighbouring pages of one space must spread over the index, or
// linear probing degrades into long runs.
constexpr uint64_t mix(uint64_t x)
{
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ULL;
    x ^= x >> 33;
    return x;
}

constexpr uint8_t without(uint8_t rights, uint8_t mask) { return static_cast<uint8_t>(rights & ~mask); }

void report(MappingDb::Callback changed, const Mapping& m, uint8_t new_rights)
{
    if (changed.fn)
        changed.fn(changed.context, m.space(), m.page(), m.frame(), new_rights);
}

} // namespace

MappingDb::MappingDb(Mapping* nodes, size_t capacity, uint32_t* index, size_t index_slots)
    : nodes_(nodes), index_(index)
{
    // At most 2^32 slots, for home_slot's multiply-shift; the index at most half full.
    constexpr size_t kMaxSlots = size_t{1} << 32;
    const size_t slots = !nodes || !index ? 0 : index_slots < kMaxSlots ? index_slots : kMaxSlots;
    capacity_ = capacity < slots / 2 ? capacity : slots / 2;
    index_slots_ = slots;

    for (size_t i = 0; i < slots; ++i)
        index_[i] = 0;
    // Free list in ascending order, so a fresh database fills its storage from the front.
    for (size_t i = capacity_; i-- > 0;) {
        nodes_[i].rights_ = 0;
        nodes_[i].next_sibling_ = free_head_;
        free_head_ = static_cast<uint32_t>(i);
    }
}

// A caller's pointer must be one of our live nodes; anything else is refused, not trusted.
bool MappingDb::live(const Mapping* m) const
{
    if (!m || capacity_ == 0)
        return false;
    const uintptr_t base = reinterpret_cast<uintptr_t>(nodes_);
    const uintptr_t p = reinterpret_cast<uintptr_t>(m);
    if (p < base || p >= base + capacity_ * sizeof(Mapping))
        return false;
    if ((p - base) % sizeof(Mapping) != 0)
        return false;
    return m->rights_ != 0;
}

// Any slot count works: the top 32 bits of the hash, scaled to [0, slots) without a division.
size_t MappingDb::home_slot(uint32_t space, uint64_t page) const
{
    const uint64_t h = mix(page ^ (uint64_t{space} << 45) ^ (uint64_t{space} >> 19));
    return static_cast<size_t>(((h >> 32) * index_slots_) >> 32);
}

uint32_t MappingDb::lookup(uint32_t space, uint64_t page) const
{
    if (capacity_ == 0)
        return kNil;
    // The index is at most half full, so every probe sequence ends at an empty slot.
    for (size_t i = home_slot(space, page);; i = next_slot(i)) {
        const uint32_t v = index_[i];
        if (v == 0)
            return kNil;
        const Mapping& m = node(v - 1);
        if (m.space_ == space && m.page_ == page)
            return v - 1;
    }
}

void MappingDb::index_insert(uint32_t n)
{
    size_t i = home_slot(node(n).space_, node(n).page_);
    while (index_[i] != 0)
        i = next_slot(i);
    index_[i] = n + 1;
}

// Backward-shift deletion: no tombstones, so lookups stay short however much churn there is.
void MappingDb::index_erase(uint32_t n)
{
    size_t hole = home_slot(node(n).space_, node(n).page_);
    while (index_[hole] != n + 1)
        hole = next_slot(hole);

    index_[hole] = 0;
    for (size_t j = next_slot(hole); index_[j] != 0; j = next_slot(j)) {
        const Mapping& m = node(index_[j] - 1);
        const size_t home = home_slot(m.space_, m.page_);
        // An entry whose home lies cyclically in (hole, j] is found without passing the hole
        // and stays; any other would be cut off by the hole, so it moves into it.
        const bool stays = hole <= j ? (hole < home && home <= j) : (hole < home || home <= j);
        if (stays)
            continue;
        index_[hole] = index_[j];
        index_[j] = 0;
        hole = j;
    }
}

Mapping* MappingDb::next_in_space(uint32_t space, uint32_t& cursor)
{
    for (; cursor < capacity_; ++cursor) {
        Mapping& m = node(cursor);
        if (m.rights_ != 0 && m.space_ == space) {
            ++cursor;
            return &m;
        }
    }
    return nullptr;
}

uint32_t MappingDb::alloc_node(uint32_t space, uint64_t page, uint64_t frame, uint8_t rights)
{
    const uint32_t n = free_head_;
    Mapping& m = node(n);
    free_head_ = m.next_sibling_;
    m.space_ = space;
    m.page_ = page;
    m.frame_ = frame;
    m.rights_ = rights;
    m.parent_ = kNil;
    m.first_child_ = kNil;
    m.next_sibling_ = kNil;
    m.prev_sibling_ = kNil;
    index_insert(n);
    ++size_;
    return n;
}

// The node must already be out of its parent's child list and have no children.
void MappingDb::release(uint32_t n)
{
    index_erase(n);
    Mapping& m = node(n);
    m.rights_ = 0;
    m.parent_ = kNil;
    m.next_sibling_ = free_head_;
    free_head_ = n;
    --size_;
}

void MappingDb::link_child(uint32_t parent, uint32_t child)
{
    Mapping& c = node(child);
    Mapping& p = node(parent);
    c.parent_ = parent;
    c.prev_sibling_ = kNil;
    c.next_sibling_ = p.first_child_;
    if (p.first_child_ != kNil)
        node(p.first_child_).prev_sibling_ = child;
    p.first_child_ = child;
}

void MappingDb::unlink(uint32_t n)
{
    Mapping& m = node(n);
    if (m.prev_sibling_ != kNil) {
        node(m.prev_sibling_).next_sibling_ = m.next_sibling_;
    } else if (m.parent_ != kNil) {
        node(m.parent_).first_child_ = m.next_sibling_;
    }
    if (m.next_sibling_ != kNil)
        node(m.next_sibling_).prev_sibling_ = m.prev_sibling_;
    m.parent_ = kNil;
    m.prev_sibling_ = kNil;
    m.next_sibling_ = kNil;
}

// Every node of a tree shows the same frame, so a different frame answers without a walk;
// otherwise the walk is as long as the chain above `n`.
bool MappingDb::is_ancestor_or_self(uint32_t a, uint32_t n) const
{
    if (node(a).frame_ != node(n).frame_)
        return false;
    for (uint32_t i = n; i != kNil; i = node(i).parent_) {
        if (i == a)
            return true;
    }
    return false;
}

// Post-order without a stack: go down first children to a leaf, free it (it is its parent's
// first child), continue from the parent. Each edge is walked down once.
void MappingDb::remove_subtree(uint32_t top, bool include_self, Callback changed)
{
    if (include_self)
        unlink(top);
    uint32_t cur = top;
    for (;;) {
        while (node(cur).first_child_ != kNil)
            cur = node(cur).first_child_;
        if (cur == top)
            break;
        const uint32_t parent = node(cur).parent_;
        const uint32_t next = node(cur).next_sibling_;
        node(parent).first_child_ = next;
        if (next != kNil)
            node(next).prev_sibling_ = kNil;
        report(changed, node(cur), 0);
        release(cur);
        cur = parent;
    }
    if (include_self) {
        report(changed, node(top), 0);
        release(top);
    }
}

// Pre-order without a stack. A node that already lacks every right in `mask` has descendants
// that lack them too (rights only shrink down a tree), so its subtree is skipped.
void MappingDb::shrink_subtree(uint32_t top, uint8_t mask, bool include_self, Callback changed)
{
    auto visit = [&](uint32_t n) {
        Mapping& m = node(n);
        if ((m.rights_ & mask) == 0)
            return false;
        m.rights_ = without(m.rights_, mask);
        report(changed, m, m.rights_);
        return true;
    };

    bool descend = include_self ? visit(top) : true;
    uint32_t n = top;
    for (;;) {
        if (descend && node(n).first_child_ != kNil) {
            n = node(n).first_child_;
        } else {
            while (n != top && node(n).next_sibling_ == kNil)
                n = node(n).parent_;
            if (n == top)
                return;
            n = node(n).next_sibling_;
        }
        descend = visit(n);
    }
}

Mapping* MappingDb::insert_root(uint32_t space, uint64_t page, uint64_t frame, uint8_t rights)
{
    rights &= page_rights::all;
    if ((rights & page_rights::read) == 0 || free_head_ == kNil)
        return nullptr;
    if (lookup(space, page) != kNil)
        return nullptr;
    return &node(alloc_node(space, page, frame, rights));
}

Mapping* MappingDb::find(uint32_t space, uint64_t page) const
{
    const uint32_t n = lookup(space, page);
    return n == kNil ? nullptr : &node(n);
}

Mapping* MappingDb::parent(const Mapping& m) const { return m.parent_ == kNil ? nullptr : &node(m.parent_); }

Mapping* MappingDb::map(Mapping* from, uint32_t space, uint64_t page, uint8_t rights, Callback changed, bool* added)
{
    if (added)
        *added = false;
    if (!live(from))
        return nullptr;
    const uint8_t r = static_cast<uint8_t>(from->rights_ & rights & page_rights::all);
    if ((r & page_rights::read) == 0)
        return nullptr;
    const uint32_t f = number(*from);

    const uint32_t e = lookup(space, page);
    if (e != kNil) {
        Mapping& existing = node(e);
        if (existing.parent_ == f) {
            existing.rights_ = static_cast<uint8_t>(existing.rights_ | r);
            return &existing;
        }
        // Replacing `from` or an ancestor would free `from` under our feet; and it already
        // shows this frame with at least these rights.
        if (is_ancestor_or_self(e, f))
            return &existing;
        remove_subtree(e, true, changed); // frees at least one node: allocation succeeds
    } else if (free_head_ == kNil) {
        return nullptr;
    }

    const uint32_t n = alloc_node(space, page, from->frame_, r);
    link_child(f, n);
    if (added)
        *added = true;
    return &node(n);
}

Mapping* MappingDb::grant(Mapping* from, uint32_t space, uint64_t page, uint8_t rights, Callback changed, bool* added)
{
    if (added)
        *added = false;
    if (!live(from))
        return nullptr;
    const uint8_t r = static_cast<uint8_t>(from->rights_ & rights & page_rights::all);
    if ((r & page_rights::read) == 0)
        return nullptr;
    const uint32_t f = number(*from);
    const uint8_t lost = without(from->rights_, r);

    const uint32_t e = lookup(space, page);
    if (e == f) {
        shrink_subtree(f, lost, true, changed);
        return from;
    }
    if (e != kNil) {
        if (is_ancestor_or_self(e, f))
            return nullptr;
        remove_subtree(e, true, changed);
    }

    report(changed, *from, 0); // the sender's page-table entry goes
    index_erase(f);
    from->space_ = space;
    from->page_ = page;
    index_insert(f);
    if (lost != 0)
        shrink_subtree(f, lost, false, changed);
    from->rights_ = r;
    if (added)
        *added = true;
    return from;
}

void MappingDb::unmap(Mapping* m, uint8_t rights, bool include_self, Callback changed)
{
    if (!live(m))
        return;
    rights &= page_rights::all;
    const uint32_t n = number(*m);
    if (rights & page_rights::read) {
        remove_subtree(n, include_self, changed);
    } else if (rights != 0) {
        shrink_subtree(n, rights, include_self, changed);
    }
}

} // namespace mem
