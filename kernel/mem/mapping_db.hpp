// Mapping database: which page of which address space was derived from which (L4 map/grant).
#pragma once

#include <stddef.h>
#include <stdint.h>

namespace mem {

namespace page_rights {
constexpr uint8_t read = 1;
constexpr uint8_t write = 2;
constexpr uint8_t execute = 4;
constexpr uint8_t all = 7;
} // namespace page_rights

// One 4 KiB page of one address space: the frame it shows, with which rights, and (through
// MappingDb::parent) the mapping it was derived from. Every node of a derivation tree shows
// the same frame, and a node's rights are a subset of its parent's. A live node always has
// read: x86 has no write-only or execute-only pages.
//
// Trivial on purpose, so the kernel may hand the database any suitably aligned memory.
struct Mapping {
public:
    uint32_t space() const { return space_; }
    uint64_t page() const { return page_; }
    uint64_t frame() const { return frame_; }
    uint8_t rights() const { return rights_; }

private:
    friend class MappingDb;

    // Links are node numbers, not pointers: 40 bytes a node instead of 56.
    uint64_t page_;
    uint64_t frame_;
    uint32_t space_;
    uint32_t parent_;
    uint32_t first_child_;
    uint32_t next_sibling_; // also links the free list
    uint32_t prev_sibling_;
    uint8_t rights_; // 0: the node is free
};

// Where MappingDb reports changed mappings (see the reporting contract below).
struct MappingChanged {
    void (*fn)(void* context, uint32_t space, uint64_t page, uint64_t frame,
               uint8_t new_rights) = nullptr; // nullptr: nobody listens
    void* context = nullptr;
};

// The derivation trees of all mappings, with a hash index on (space, page). Every operation
// is iterative: a chain of any depth costs no kernel stack. Not thread-safe: the caller locks.
//
// Reporting contract: the callback hears of every mapping whose rights shrank (new_rights) or
// that went away (new_rights == 0), so the kernel rewrites or clears that page-table entry and
// flushes the TLB. The mapping map() or grant() returns is not reported when it is new, moved
// or has only gained rights: the caller writes its entry from rights() afterwards. The
// callback runs before the node is freed and must not call back into the database.
class MappingDb {
public:
    using Callback = MappingChanged;

    // Node storage and the index come from the caller, uninitialised. index_slots should be
    // at least 2 * capacity (any number, a power of two or not); with fewer, capacity is cut
    // to index_slots / 2 (see capacity()), so the index never runs more than half full.
    MappingDb(Mapping* nodes, size_t capacity, uint32_t* index, size_t index_slots);
    MappingDb(const MappingDb&) = delete;
    MappingDb& operator=(const MappingDb&) = delete;

    // A root: `space` holds `frame` at `page` (sigma0's own memory). nullptr when the
    // rights lack read, storage is full, or (space, page) is already mapped.
    [[nodiscard]] Mapping* insert_root(uint32_t space, uint64_t page, uint64_t frame, uint8_t rights);

    // The mapping of (space, page), or nullptr. O(1) expected.
    Mapping* find(uint32_t space, uint64_t page) const;

    // The mapping `m` was derived from; nullptr for a root.
    Mapping* parent(const Mapping& m) const;

    // Map `from`'s frame to (space, page) as a child of `from`, with rights
    // from.rights() & rights. If (space, page) is already mapped:
    //   - by a child of `from`: it gains the new rights and is returned;
    //   - by `from` itself or one of its ancestors (same frame): nothing changes, it is returned;
    //   - by anything else: it is unmapped with its whole subtree (reported), then replaced.
    // nullptr, with nothing changed, when the rights lack read or storage is full (a
    // replacement frees a node first, so it never fails for storage).
    // `added` (if given) says whether (space, page) gained a node: true for a new mapping
    // (replacement or not), false when an existing one was kept. The caller's accounting
    // must follow this, not a comparison of pointers: a replacement may reuse the node it
    // just freed.
    [[nodiscard]] Mapping* map(Mapping* from, uint32_t space, uint64_t page, uint8_t rights, Callback changed = {},
                               bool* added = nullptr);

    // Move `from` to (space, page), keeping its frame and its children, with rights
    // from.rights() & rights (descendants shrink with it, reported). The source entry goes
    // away (reported as removed); the returned node is `from` itself at its new place.
    // Whatever else held (space, page) is unmapped with its subtree first (reported).
    // Granting onto itself only shrinks the rights (reported). nullptr, with nothing changed,
    // when the rights lack read or (space, page) holds an ancestor of `from`.
    // `added` as for map(): true when `from` moved to (space, page) (its old place was
    // reported removed), false when it was granted onto itself or nothing changed.
    [[nodiscard]] Mapping* grant(Mapping* from, uint32_t space, uint64_t page, uint8_t rights, Callback changed = {},
                                 bool* added = nullptr);

    // Take `rights` away from every mapping derived from `m`, and from `m` itself when
    // include_self (roots included: the caller decides). Losing read means removal, with the
    // whole subtree; losing write or execute leaves the mapping with fewer rights.
    void unmap(Mapping* m, uint8_t rights, bool include_self, Callback changed = {});

    // The next mapping of `space` at node number `cursor` or above (cursor moves past it);
    // nullptr when there is none. Linear in the capacity: for the rare sweep of a whole space.
    [[nodiscard]] Mapping* next_in_space(uint32_t space, uint32_t& cursor);

    size_t size() const { return size_; }         // live nodes
    size_t capacity() const { return capacity_; } // after any cut made by the constructor

private:
    static constexpr uint32_t kNil = ~uint32_t{0};

    Mapping& node(uint32_t n) const { return nodes_[n]; }
    bool live(const Mapping* m) const;
    uint32_t number(const Mapping& m) const { return static_cast<uint32_t>(&m - nodes_); }

    size_t home_slot(uint32_t space, uint64_t page) const;
    size_t next_slot(size_t i) const { return i + 1 == index_slots_ ? 0 : i + 1; }
    uint32_t lookup(uint32_t space, uint64_t page) const;
    void index_insert(uint32_t n);
    void index_erase(uint32_t n);

    uint32_t alloc_node(uint32_t space, uint64_t page, uint64_t frame, uint8_t rights);
    void release(uint32_t n);
    void link_child(uint32_t parent, uint32_t child);
    void unlink(uint32_t n);
    bool is_ancestor_or_self(uint32_t a, uint32_t n) const;

    void remove_subtree(uint32_t top, bool include_self, Callback changed);
    void shrink_subtree(uint32_t top, uint8_t mask, bool include_self, Callback changed);

    Mapping* nodes_;
    uint32_t* index_; // 0: empty slot, else node number + 1; linear probing
    size_t capacity_;
    size_t index_slots_;
    size_t size_ = 0;
    uint32_t free_head_ = kNil;
};

} // namespace mem
