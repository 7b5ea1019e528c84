// Kernel page tables. The kernel image is mapped with 4 KiB pages so every section gets
// exactly its rights (text RX, rodata R, data RW+NX) and the boot stack's guard page stays
// unmapped; RAM is direct-mapped RW+NX with 2 MiB pages. User spaces are page_table.cpp's.
#include "arch/x86_64/paging.hpp"

#include "arch/x86_64/page_table.hpp"

#include "arch/x86_64/cpu.hpp"
#include "mem/frame_allocator.hpp"
#include "panic.hpp"

extern "C" char __text_start[], __text_end[], __rodata_start[], __rodata_end[], __data_start[], __kernel_end[],
    boot_stack_guard[];

namespace paging {

namespace {

using table::kLargePage;
using table::kPage;
using table::walk_create;
constexpr uint64_t kBootReachable = uint64_t{4} << 30; // boot tables map 0-4 GiB
constexpr uint64_t kMmioWindowSize = 256 * 1024 * 1024;

mem::FrameAllocator* frame_allocator;
uint64_t pml4_phys;
uint64_t no_execute; // pte::no_execute when the CPU has NX, else 0 (the bit would be reserved)
uint64_t global_bit; // pte::global when the CPU has PGE
uint64_t mmio_next = MMIO_WINDOW_BASE;
uint64_t table_limit = kBootReachable; // lifted once the full direct map is live

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
    pml4_phys = table::new_table();
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

uint64_t kernel_root() { return pml4_phys; }

namespace table {
uint64_t alloc_frame() { return frame_allocator->alloc(1, kPage, table_limit); }
void free_frame(uint64_t phys) { (void)frame_allocator->free(phys); }
uint64_t no_execute() { return paging::no_execute; }
} // namespace table

} // namespace paging
