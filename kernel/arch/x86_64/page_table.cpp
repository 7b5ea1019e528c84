// User page tables: address spaces that share the kernel half, their 4 KiB and 2 MiB pages,
// and the tables' charge to the task that owns them. Portable (page_table.hpp): the host unit
// tests run this file over fake physical memory (test/unit/page_table_test.cpp).
#include "arch/x86_64/page_table.hpp"

#include "mem/frame_allocator.hpp"

namespace paging {

using table::at;
using table::index_at;
using table::kLargeAddressMask;
using table::kLargePage;
using table::kPage;

namespace {

constexpr uint64_t kNone = mem::FrameAllocator::kNone;

// A table below a user root, paid for by the current account (if any).
uint64_t new_user_table()
{
    if (!ChargeTables::charge())
        return kNone;
    uint64_t fresh = table::new_table();
    if (fresh == kNone)
        ChargeTables::refund();
    return fresh;
}

void free_user_table(uint64_t phys)
{
    table::free_frame(phys);
    ChargeTables::refund();
}

// A user 2 MiB page becomes a table of 512 4 KiB pages with the same translations (so no
// TLB flush is needed), before one of them changes. False when out of memory.
bool split_large(uint64_t& entry)
{
    uint64_t fresh = new_user_table();
    if (fresh == kNone)
        return false;
    uint64_t flags =
        entry & (pte::present | pte::writable | pte::user | pte::write_through | pte::cache_disable | pte::no_execute);
    uint64_t base = entry & kLargeAddressMask;
    uint64_t* pages = at(fresh);
    for (uint64_t i = 0; i < table::kEntries; ++i)
        pages[i] = (base + i * kPage) | flags;
    entry = fresh | pte::present | pte::writable | pte::user;
    return true;
}

// The leaf entry bits for user rights (l4::abi::page_rights; read is implied).
uint64_t user_leaf_flags(uint64_t rights, bool uncached)
{
    constexpr uint64_t kWrite = 2, kExecute = 4;
    return pte::present | pte::user | ((rights & kWrite) ? pte::writable : 0) |
           ((rights & kExecute) ? 0 : table::no_execute()) | (uncached ? pte::cache_disable | pte::write_through : 0);
}

constexpr uint64_t kUserTableFlags = pte::present | pte::writable | pte::user;

} // namespace

namespace table {

uint64_t new_table()
{
    uint64_t phys = alloc_frame();
    if (phys == kNone)
        return phys;
    uint64_t* entries = at(phys);
    for (unsigned i = 0; i < kEntries; ++i)
        entries[i] = 0;
    return phys;
}

uint64_t* walk_create(uint64_t root, uint64_t virt, int level, uint64_t table_flags)
{
    uint64_t phys = root;
    for (int l = 4; l > level; --l) {
        uint64_t& entry = at(phys)[index_at(virt, l)];
        if (!(entry & pte::present)) {
            uint64_t fresh = (table_flags & pte::user) ? new_user_table() : new_table();
            if (fresh == kNone)
                return nullptr;
            entry = fresh | table_flags;
        } else if (entry & pte::large) {
            // Only user 2 MiB pages are split; the kernel's direct map keeps its large pages.
            if (l != 2 || !(entry & pte::user) || !split_large(entry))
                return nullptr;
        }
        phys = entry & pte::address_mask;
    }
    return &at(phys)[index_at(virt, level)];
}

} // namespace table

uint64_t lookup_in(uint64_t root, uint64_t virt)
{
    uint64_t phys = root;
    for (int level = 4; level >= 1; --level) {
        uint64_t entry = at(phys)[index_at(virt, level)];
        if (!(entry & pte::present) || level == 1 || (entry & pte::large))
            return entry;
        phys = entry & pte::address_mask;
    }
    return 0;
}

AddressSpace new_user_space()
{
    uint64_t root = table::new_table();
    if (root == kNone)
        return {0, 0};
    // Share the kernel half: its top-level entries are all made at boot and never change.
    const uint64_t* kernel = at(kernel_root());
    for (unsigned i = 256; i < table::kEntries; ++i)
        at(root)[i] = kernel[i];
    return {root, tlb::new_tag()};
}

bool map_user_page(uint64_t root, uint64_t virt, uint64_t phys, bool writable, bool executable)
{
    if (virt >= kLastUserPage || virt % kPage != 0 || phys % kPage != 0)
        return false;
    uint64_t* entry = table::walk_create(root, virt, 1, kUserTableFlags);
    if (entry == nullptr || (*entry & pte::present))
        return false;
    *entry = phys | pte::present | pte::user | (writable ? pte::writable : 0) | (executable ? 0 : table::no_execute());
    return true;
}

bool install_user_page(AddressSpace space, uint64_t virt, uint64_t phys, uint64_t rights, bool uncached)
{
    if (virt >= kLastUserPage || virt % kPage != 0 || phys % kPage != 0)
        return false;
    uint64_t* entry = table::walk_create(space.root, virt, 1, kUserTableFlags);
    if (entry == nullptr)
        return false;
    *entry = phys | user_leaf_flags(rights, uncached);
    tlb::invalidate(space, virt, 1);
    return true;
}

bool install_user_large_page(AddressSpace space, uint64_t virt, uint64_t phys, uint64_t rights, bool uncached)
{
    // Not virt + kLargePage > kLastUserPage: that wraps for the top 2 MiB of the kernel half.
    if (virt % kLargePage != 0 || phys % kLargePage != 0 || virt > kLastUserPage - kLargePage)
        return false;
    uint64_t* entry = table::walk_create(space.root, virt, 2, kUserTableFlags);
    if (entry == nullptr || ((*entry & pte::present) && !(*entry & pte::large)))
        return false; // a table of 4 KiB pages is there: leave it to them
    *entry = phys | pte::large | user_leaf_flags(rights, uncached);
    tlb::invalidate(space, virt, kLargePage / kPage);
    return true;
}

uint64_t unmap_user_page(AddressSpace space, uint64_t virt)
{
    if (virt >= kUserEnd)
        return 0;
    uint64_t phys = space.root;
    for (int level = 4; level > 1; --level) {
        uint64_t& entry = at(phys)[index_at(virt, level)];
        if (!(entry & pte::present))
            return 0;
        if ((entry & pte::large) && level != 2)
            return 0; // user space has no 1 GiB pages
        if ((entry & pte::large) && !split_large(entry)) {
            // No memory to split this 2 MiB page: take the whole of it away. The mapping
            // database still lists its other pages, so a fault on one maps it again.
            uint64_t base = virt & ~(kLargePage - 1);
            uint64_t frame = (entry & kLargeAddressMask) + (virt - base);
            entry = 0;
            tlb::invalidate(space, base, kLargePage / kPage);
            return frame;
        }
        phys = entry & pte::address_mask;
    }
    uint64_t& entry = at(phys)[index_at(virt, 1)];
    if (!(entry & pte::present))
        return 0;
    uint64_t frame = entry & pte::address_mask;
    entry = 0;
    tlb::invalidate(space, virt, 1);
    return frame;
}

void for_each_user_page(uint64_t root, void (*fn)(void* context, uint64_t virt), void* context)
{
    uint64_t* pml4 = at(root);
    for (uint64_t i = 0; i < 256; ++i) {
        if (!(pml4[i] & pte::present))
            continue;
        uint64_t* pdpt = at(pml4[i] & pte::address_mask);
        for (uint64_t j = 0; j < 512; ++j) {
            if (!(pdpt[j] & pte::present) || (pdpt[j] & pte::large))
                continue;
            uint64_t* pd = at(pdpt[j] & pte::address_mask);
            for (uint64_t k = 0; k < 512; ++k) {
                if (!(pd[k] & pte::present))
                    continue;
                if (pd[k] & pte::large) { // a 2 MiB page: all of its 4 KiB pages
                    for (uint64_t l = 0; l < 512; ++l)
                        fn(context, (i << 39) | (j << 30) | (k << 21) | (l << 12));
                    continue;
                }
                uint64_t* pt = at(pd[k] & pte::address_mask);
                for (uint64_t l = 0; l < 512; ++l)
                    if (pt[l] & pte::present)
                        fn(context, (i << 39) | (j << 30) | (k << 21) | (l << 12));
            }
        }
    }
}

void free_user_space(AddressSpace space)
{
    if (tlb::is_live(space.root)) // its last thread is dying right now: leave its tables first
        tlb::load_kernel(kernel_root());
    // Walk the lower half only; frames mapped at level 1 belong to their owner, not to us.
    uint64_t* pml4 = at(space.root);
    for (unsigned i = 0; i < 256; ++i) {
        if (!(pml4[i] & pte::present))
            continue;
        uint64_t* pdpt = at(pml4[i] & pte::address_mask);
        for (unsigned j = 0; j < 512; ++j) {
            if (!(pdpt[j] & pte::present) || (pdpt[j] & pte::large))
                continue;
            uint64_t* pd = at(pdpt[j] & pte::address_mask);
            for (unsigned k = 0; k < 512; ++k)
                if ((pd[k] & pte::present) && !(pd[k] & pte::large))
                    free_user_table(pd[k] & pte::address_mask);
            free_user_table(pdpt[j] & pte::address_mask);
        }
        free_user_table(pml4[i] & pte::address_mask);
    }
    table::free_frame(space.root);
    tlb::free_tag(space.tag); // stale when handed out again: its entries may still be cached
}

} // namespace paging
