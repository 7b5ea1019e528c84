// Boot information for sigma0 and the root task.
#include "boot_info.hpp"

#include "arch/x86_64/paging.hpp"
#include "log.hpp"
#include "memory.hpp"

namespace boot_info {
namespace {

using l4::abi::MemoryKind;
using l4::abi::MemoryRegion;

uint64_t pages_phys;
l4::abi::BootInfo* view;

void add(MemoryKind kind, uint64_t base, uint64_t end)
{
    if (end <= base || view->region_count == l4::abi::kMaxBootRegions)
        return;
    view->regions[view->region_count++] = MemoryRegion{base, end - base, kind, 0};
}

void sort_regions()
{
    for (uint64_t i = 1; i < view->region_count; ++i)
        for (uint64_t j = i; j > 0 && view->regions[j].base < view->regions[j - 1].base; --j) {
            MemoryRegion t = view->regions[j];
            view->regions[j] = view->regions[j - 1];
            view->regions[j - 1] = t;
        }
}

void copy_string(char* out, uint64_t size, const char* in)
{
    uint64_t i = 0;
    for (; i + 1 < size && in[i] != '\0'; ++i)
        out[i] = in[i];
    out[i] = '\0';
}

} // namespace

bool build(const mb2::BootInfo& multiboot, const timer::Calibration& timer, const cmdline::Options& options)
{
    pages_phys = memory::frames().alloc(l4::abi::kBootInfoPages);
    if (pages_phys == mem::FrameAllocator::kNone)
        return false;
    view = static_cast<l4::abi::BootInfo*>(paging::phys_to_virt(pages_phys));
    __builtin_memset(view, 0, l4::abi::kBootInfoPages * 4096);
    view->magic = l4::abi::kBootInfoMagic;

    uint64_t floor = memory::pool_floor();
    uint64_t base = 0, end = 0;
    for (uint64_t from = floor; memory::frames().next_free_run(from, base, end); from = end)
        add(MemoryKind::free, base < floor ? floor : base, end);
    for (size_t i = 0; i < multiboot.module_count && i < l4::abi::kMaxBootModules; ++i) {
        const mb2::Module& m = multiboot.modules[i];
        add(MemoryKind::module, m.start & ~uint64_t{4095}, (m.end + 4095) & ~uint64_t{4095});
        view->modules[i].base = m.start;
        view->modules[i].size = m.end - m.start;
        copy_string(view->modules[i].cmdline, sizeof view->modules[i].cmdline, m.cmdline);
        view->module_count = i + 1;
    }
    for (size_t i = 0; i < multiboot.region_count; ++i) {
        const mb2::MemoryRegion& r = multiboot.regions[i];
        auto type = static_cast<mb2::RegionType>(r.type);
        if (type == mb2::RegionType::reserved)
            add(MemoryKind::device, r.base, r.base + r.length);
        else if (type == mb2::RegionType::acpi_reclaimable || type == mb2::RegionType::acpi_nvs)
            add(MemoryKind::firmware, r.base, r.base + r.length);
    }
    sort_regions();
    copy_string(view->cmdline, sizeof view->cmdline, multiboot.cmdline);
    view->tsc_hz = timer.tsc_hz;
    view->tick_hz = options.timer_hz;
    view->tick_ns = 1'000'000'000 / options.timer_hz;
    view->time_flags = (timer.tsc_invariant ? l4::abi::kTimeTscInvariant : 0) |
                       (timer.tsc_from_cpuid ? l4::abi::kTimeTscFromCpuid : 0);
    const mem::Budget& budget = memory::budget();
    view->sigma0_quota = budget.sigma0_quota;
    view->root_quota = budget.root_quota;
    view->boot_flags = options.exit != cmdline::ExitMode::halt ? l4::abi::kBootLeavesEmulator : 0;
    klog::info("sigma0 memory: free from {:#x}, {} regions; kernel pool below ({} KiB)", floor, view->region_count,
               budget.pool_bytes / 1024);
    klog::info("kernel memory: mapping database of {} nodes; quotas: sigma0 {} KiB, root task {} KiB",
               budget.database_nodes, budget.sigma0_quota / 1024, budget.root_quota / 1024);
    return true;
}

uint64_t pages() { return pages_phys; }
const l4::abi::BootInfo& info() { return *view; }

// Every mapping asks (vm's device_frame): a binary search of the sorted regions, for the
// last one that starts at or below phys. Free memory, modules and the firmware's reserved
// ranges are disjoint; where a firmware map's own entries overlap, the later start wins.
const l4::abi::MemoryRegion* region_of(uint64_t phys)
{
    uint64_t low = 0, high = view->region_count; // the answer is below high
    while (low < high) {
        uint64_t middle = (low + high) / 2;
        if (view->regions[middle].base <= phys)
            low = middle + 1;
        else
            high = middle;
    }
    if (low == 0)
        return nullptr;
    const MemoryRegion& r = view->regions[low - 1];
    return phys - r.base < r.size ? &r : nullptr;
}

} // namespace boot_info
