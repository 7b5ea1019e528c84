// Kernel page tables. The kernel image is mapped with 4 KiB pages so every section gets
// exactly its rights (text RX, rodata R, data RW+NX) and the boot stack's guard page stays
// unmapped; RAM is direct-mapped RW+NX with 2 MiB pages.
#include "arch/x86_64/paging.hpp"

#include "arch/x86_64/cpu.hpp"
#include "mem/frame_allocator.hpp"
#include "panic.hpp"

extern "C" char __text_start[], __text_end[], __rodata_start[], __rodata_end[], __data_start[], __kernel_end[],
    boot_stack_guard[];

namespace paging {

namespace {

constexpr uint64_t kPage = l4::abi::kPageSize;
constexpr uint64_t kLargePage = 2 * 1024 * 1024;
constexpr uint64_t kLargeAddressMask = 0x000fffffffe00000;
constexpr uint64_t kBootReachable = uint64_t{4} << 30; // boot tables map 0-4 GiB
constexpr uint64_t kMmioWindowSize = 256 * 1024 * 1024;

mem::FrameAllocator* frame_allocator;
uint64_t pml4_phys;
uint64_t no_execute; // pte::no_execute when the CPU has NX, else 0 (the bit would be reserved)
uint64_t global_bit; // pte::global when the CPU has PGE
uint64_t mmio_next = MMIO_WINDOW_BASE;
uint64_t table_limit = kBootReachable; // lifted once the full direct map is live

uint64_t* table_at(uint64_t phys) { return static_cast<uint64_t*>(phys_to_virt(phys)); }

uint64_t new_table()
{
    uint64_t phys = frame_allocator->alloc(1, kPage, table_limit);
    if (phys == mem::FrameAllocator::kNone)
        return phys;
    uint64_t* table = table_at(phys);
    for (int i = 0; i < 512; ++i)
        table[i] = 0;
    return phys;
}

unsigned index_at(uint64_t virt, int level) { return (virt >> (12 + 9 * (level - 1))) & 511; }

// A table below a user root, paid for by the current account (if any).
uint64_t new_user_table()
{
    if (!ChargeTables::charge())
        return mem::FrameAllocator::kNone;
    uint64_t table = new_table();
    if (table == mem::FrameAllocator::kNone)
        ChargeTables::refund();
    return table;
}

void free_user_table(uint64_t table)
{
    (void)frame_allocator->free(table);
    ChargeTables::refund();
}

// A user 2 MiB page becomes a table of 512 4 KiB pages with the same translations (so no
// TLB flush is needed), before one of them changes. False when out of memory.
bool split_large(uint64_t& entry)
{
    uint64_t table = new_user_table();
    if (table == mem::FrameAllocator::kNone)
        return false;
    uint64_t flags =
        entry & (pte::present | pte::writable | pte::user | pte::write_through | pte::cache_disable | pte::no_execute);
    uint64_t base = entry & kLargeAddressMask;
    uint64_t* pages = table_at(table);
    for (uint64_t i = 0; i < 512; ++i)
        pages[i] = (base + i * kPage) | flags;
    entry = table | pte::present | pte::writable | pte::user;
    return true;
}

// The entry for `virt` at `level` (1: 4 KiB page, 2: 2 MiB page) under `root`, creating
// tables on the way (with `table_flags`); nullptr when out of memory for a table.
uint64_t* walk_create(uint64_t root, uint64_t virt, int level, uint64_t table_flags)
{
    uint64_t table = root;
    for (int l = 4; l > level; --l) {
        uint64_t& entry = table_at(table)[index_at(virt, l)];
        if (!(entry & pte::present)) {
            uint64_t fresh = (table_flags & pte::user) ? new_user_table() : new_table();
            if (fresh == mem::FrameAllocator::kNone)
                return nullptr;
            entry = fresh | table_flags;
        } else if (entry & pte::large) {
            // Only user 2 MiB pages are split; the kernel's direct map keeps its large pages.
            if (l != 2 || !(entry & pte::user) || !split_large(entry))
                return nullptr;
        }
        table = entry & pte::address_mask;
    }
    return &table_at(table)[index_at(virt, level)];
}

// Kernel mappings are made at boot, when running out of memory is fatal.
uint64_t* entry_for(uint64_t virt, int level)
{
    uint64_t* entry = walk_create(pml4_phys, virt, level, pte::present | pte::writable);
    if (entry == nullptr)
        panic("paging: cannot map {:#x} (out of memory, or inside a large page)", virt);
    return entry;
}

void map_range(uint64_t virt, uint64_t end, uint64_t flags)
{
    auto guard = reinterpret_cast<uint64_t>(boot_stack_guard);
    for (; virt < end; virt += kPage)
        if (virt != guard) // a boot stack overflow must fault, not scribble over .bss
            *entry_for(virt, 1) = (virt - KERNEL_VIRT_OFFSET) | flags | global_bit | pte::present;
}

} // namespace

void init(mem::FrameAllocator& frames, uint64_t direct_map_end)
{
    const cpu::Features& features = cpu::features();
    frame_allocator = &frames;
    no_execute = features.nx ? pte::no_execute : 0;
    global_bit = features.pge ? pte::global : 0;
    pml4_phys = new_table();
    if (pml4_phys == mem::FrameAllocator::kNone)
        panic("paging: no memory for the kernel page tables");

    map_range(reinterpret_cast<uint64_t>(__text_start), reinterpret_cast<uint64_t>(__text_end), 0);
    map_range(reinterpret_cast<uint64_t>(__rodata_start), reinterpret_cast<uint64_t>(__rodata_end), no_execute);
    map_range(reinterpret_cast<uint64_t>(__data_start), reinterpret_cast<uint64_t>(__kernel_end),
              pte::writable | no_execute);

    for (uint64_t phys = 0; phys < direct_map_end; phys += kLargePage)
        *entry_for(DIRECT_MAP_BASE + phys, 2) =
            phys | pte::present | pte::writable | pte::large | global_bit | no_execute;

    cpu::write_cr3(pml4_phys);
    table_limit = mem::FrameAllocator::kNone;
    if (features.pge)
        cpu::write_cr4(cpu::read_cr4() | cpu::cr4::pge);
}

void* map_mmio(uint64_t phys, size_t size)
{
    uint64_t offset = phys % kPage;
    uint64_t first = phys - offset;
    uint64_t length = (offset + size + kPage - 1) / kPage * kPage;
    if (length > MMIO_WINDOW_BASE + kMmioWindowSize - mmio_next)
        return nullptr;
    uint64_t virt = mmio_next;
    mmio_next += length;
    for (uint64_t done = 0; done < length; done += kPage)
        *entry_for(virt + done, 1) = (first + done) | pte::present | pte::writable | pte::cache_disable |
                                     pte::write_through | global_bit | no_execute;
    return reinterpret_cast<void*>(virt + offset);
}

bool map_kernel_page(uint64_t virt, uint64_t phys)
{
    // Below the kernel image's top-level entry, which every space shares (new_user_space), so
    // tables made here later are seen everywhere.
    uint64_t* entry = walk_create(pml4_phys, virt, 1, pte::present | pte::writable);
    if (entry == nullptr || (*entry & pte::present))
        return false;
    *entry = phys | pte::present | pte::writable | global_bit | no_execute;
    return true;
}

uint64_t unmap_kernel_page(uint64_t virt)
{
    uint64_t* entry = walk_create(pml4_phys, virt, 1, pte::present | pte::writable);
    if (entry == nullptr || !(*entry & pte::present))
        return 0;
    uint64_t phys = *entry & pte::address_mask;
    *entry = 0;
    asm volatile("invlpg (%0)" ::"r"(virt) : "memory"); // global: gone from every tag
    return phys;
}

uint64_t lookup(uint64_t virt) { return lookup_in(pml4_phys, virt); }

uint64_t lookup_in(uint64_t root, uint64_t virt)
{
    uint64_t table = root;
    for (int level = 4; level >= 1; --level) {
        uint64_t entry = table_at(table)[index_at(virt, level)];
        if (!(entry & pte::present) || level == 1 || (entry & pte::large))
            return entry;
        table = entry & pte::address_mask;
    }
    return 0;
}

uint64_t kernel_root() { return pml4_phys; }

AddressSpace new_user_space()
{
    uint64_t root = new_table();
    if (root == mem::FrameAllocator::kNone)
        return {0, 0};
    // Share the kernel half: its top-level entries are all made at boot and never change.
    for (unsigned i = 256; i < 512; ++i)
        table_at(root)[i] = table_at(pml4_phys)[i];
    return {root, tlb::new_tag()};
}

bool map_user_page(uint64_t root, uint64_t virt, uint64_t phys, bool writable, bool executable)
{
    if (virt >= kLastUserPage || virt % kPage != 0 || phys % kPage != 0)
        return false;
    uint64_t* entry = walk_create(root, virt, 1, pte::present | pte::writable | pte::user);
    if (entry == nullptr || (*entry & pte::present))
        return false;
    *entry = phys | pte::present | pte::user | (writable ? pte::writable : 0) | (executable ? 0 : no_execute);
    return true;
}

bool install_user_page(AddressSpace space, uint64_t virt, uint64_t phys, uint64_t rights, bool uncached)
{
    if (virt >= kLastUserPage || virt % kPage != 0 || phys % kPage != 0)
        return false;
    uint64_t* entry = walk_create(space.root, virt, 1, pte::present | pte::writable | pte::user);
    if (entry == nullptr)
        return false;
    constexpr uint64_t kWrite = 2, kExecute = 4;
    *entry = phys | pte::present | pte::user | ((rights & kWrite) ? pte::writable : 0) |
             ((rights & kExecute) ? 0 : no_execute) | (uncached ? pte::cache_disable | pte::write_through : 0);
    tlb::invalidate(space, virt, 1);
    return true;
}

bool install_user_large_page(AddressSpace space, uint64_t virt, uint64_t phys, uint64_t rights, bool uncached)
{
    if (virt % kLargePage != 0 || phys % kLargePage != 0 || virt + kLargePage > kLastUserPage)
        return false;
    uint64_t* entry = walk_create(space.root, virt, 2, pte::present | pte::writable | pte::user);
    if (entry == nullptr || ((*entry & pte::present) && !(*entry & pte::large)))
        return false; // a table of 4 KiB pages is there: leave it to them
    constexpr uint64_t kWrite = 2, kExecute = 4;
    *entry = phys | pte::present | pte::user | pte::large | ((rights & kWrite) ? pte::writable : 0) |
             ((rights & kExecute) ? 0 : no_execute) | (uncached ? pte::cache_disable | pte::write_through : 0);
    tlb::invalidate(space, virt, kLargePage / kPage);
    return true;
}

uint64_t unmap_user_page(AddressSpace space, uint64_t virt)
{
    if (virt >= kUserEnd)
        return 0;
    uint64_t table = space.root;
    for (int level = 4; level > 1; --level) {
        uint64_t& entry = table_at(table)[index_at(virt, level)];
        if (!(entry & pte::present))
            return 0;
        if ((entry & pte::large) && level != 2)
            return 0; // user space has no 1 GiB pages
        if ((entry & pte::large) && !split_large(entry)) {
            // No memory to split this 2 MiB page: take the whole of it away. The mapping
            // database still lists its other pages, so a fault on one maps it again.
            uint64_t base = virt & ~(kLargePage - 1);
            uint64_t phys = (entry & kLargeAddressMask) + (virt - base);
            entry = 0;
            tlb::invalidate(space, base, kLargePage / kPage);
            return phys;
        }
        table = entry & pte::address_mask;
    }
    uint64_t& entry = table_at(table)[index_at(virt, 1)];
    if (!(entry & pte::present))
        return 0;
    uint64_t phys = entry & pte::address_mask;
    entry = 0;
    tlb::invalidate(space, virt, 1);
    return phys;
}

void for_each_user_page(uint64_t root, void (*fn)(void* context, uint64_t virt), void* context)
{
    uint64_t* pml4 = table_at(root);
    for (uint64_t i = 0; i < 256; ++i) {
        if (!(pml4[i] & pte::present))
            continue;
        uint64_t* pdpt = table_at(pml4[i] & pte::address_mask);
        for (uint64_t j = 0; j < 512; ++j) {
            if (!(pdpt[j] & pte::present) || (pdpt[j] & pte::large))
                continue;
            uint64_t* pd = table_at(pdpt[j] & pte::address_mask);
            for (uint64_t k = 0; k < 512; ++k) {
                if (!(pd[k] & pte::present))
                    continue;
                if (pd[k] & pte::large) { // a 2 MiB page: all of its 4 KiB pages
                    for (uint64_t l = 0; l < 512; ++l)
                        fn(context, (i << 39) | (j << 30) | (k << 21) | (l << 12));
                    continue;
                }
                uint64_t* pt = table_at(pd[k] & pte::address_mask);
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
        tlb::load_kernel(pml4_phys);
    // Walk the lower half only; frames mapped at level 1 belong to their owner, not to us.
    uint64_t* pml4 = table_at(space.root);
    for (unsigned i = 0; i < 256; ++i) {
        if (!(pml4[i] & pte::present))
            continue;
        uint64_t* pdpt = table_at(pml4[i] & pte::address_mask);
        for (unsigned j = 0; j < 512; ++j) {
            if (!(pdpt[j] & pte::present) || (pdpt[j] & pte::large))
                continue;
            uint64_t* pd = table_at(pdpt[j] & pte::address_mask);
            for (unsigned k = 0; k < 512; ++k)
                if ((pd[k] & pte::present) && !(pd[k] & pte::large))
                    free_user_table(pd[k] & pte::address_mask);
            free_user_table(pdpt[j] & pte::address_mask);
        }
        free_user_table(pml4[i] & pte::address_mask);
    }
    (void)frame_allocator->free(space.root);
    tlb::free_tag(space.tag); // stale when handed out again: its entries may still be cached
}

} // namespace paging
