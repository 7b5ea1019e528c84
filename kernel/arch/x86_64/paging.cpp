// Kernel page tables. The kernel image is mapped with 4 KiB pages so every section gets
// exactly its rights (text RX, rodata R, data RW+NX) and the boot stack's guard page stays
// unmapped; RAM is direct-mapped RW+NX with 2 MiB pages.
#include "arch/x86_64/paging.hpp"

#include "arch/x86_64/cpu.hpp"
#include "mem/frame_allocator.hpp"
#include "panic.hpp"

extern "C" char __text_start[], __text_end[], __rodata_start[], __rodata_end[], __data_start[],
    __kernel_end[], boot_stack_guard[];

namespace paging {
namespace {

constexpr uint64_t kPage = 4096;
constexpr uint64_t kLargePage = 2 * 1024 * 1024;
constexpr uint64_t kBootReachable = uint64_t{4} << 30; // boot tables map 0-4 GiB
constexpr uint64_t kMmioWindowSize = 256 * 1024 * 1024;

mem::FrameAllocator* frame_allocator;
uint64_t pml4_phys;
uint64_t no_execute;   // pte::no_execute when the CPU has NX, else 0 (the bit would be reserved)
uint64_t global_bit;   // pte::global when the CPU has PGE
uint64_t mmio_next = MMIO_WINDOW_BASE;
uint64_t table_limit = kBootReachable; // lifted once the full direct map is live

uint64_t* table_at(uint64_t phys) { return static_cast<uint64_t*>(phys_to_virt(phys)); }

uint64_t new_table()
{
    uint64_t phys = frame_allocator->alloc(1, kPage, table_limit);
    if (phys == mem::FrameAllocator::kNone)
        panic("paging: out of memory for page tables");
    uint64_t* table = table_at(phys);
    for (int i = 0; i < 512; ++i)
        table[i] = 0;
    return phys;
}

unsigned index_at(uint64_t virt, int level) { return (virt >> (12 + 9 * (level - 1))) & 511; }

// The entry for `virt` at `level` (1: 4 KiB page, 2: 2 MiB page), creating tables on the way.
uint64_t* entry_for(uint64_t virt, int level)
{
    uint64_t table = pml4_phys;
    for (int l = 4; l > level; --l) {
        uint64_t& entry = table_at(table)[index_at(virt, l)];
        if (!(entry & pte::present))
            entry = new_table() | pte::present | pte::writable;
        else if (entry & pte::large)
            panic("paging: {:#x} is already inside a large page", virt);
        table = entry & pte::address_mask;
    }
    return &table_at(table)[index_at(virt, level)];
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

    map_range(reinterpret_cast<uint64_t>(__text_start), reinterpret_cast<uint64_t>(__text_end), 0);
    map_range(reinterpret_cast<uint64_t>(__rodata_start), reinterpret_cast<uint64_t>(__rodata_end),
              no_execute);
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
        *entry_for(virt + done, 1) = (first + done) | pte::present | pte::writable |
                                     pte::cache_disable | pte::write_through | global_bit | no_execute;
    return reinterpret_cast<void*>(virt + offset);
}

uint64_t lookup(uint64_t virt)
{
    uint64_t table = pml4_phys;
    for (int level = 4; level >= 1; --level) {
        uint64_t entry = table_at(table)[index_at(virt, level)];
        if (!(entry & pte::present) || level == 1 || (entry & pte::large))
            return entry;
        table = entry & pte::address_mask;
    }
    return 0;
}

} // namespace paging
