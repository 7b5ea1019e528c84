// Limits sized by the machine's memory: the boot quota the boot information states, and more
// mappings than a fixed 8 MiB of quotas (the old database: 174,763 nodes) could hold.
// Selectors 260-299.
#include "memory_probe.hpp"

using namespace kt;

namespace {

constexpr Selector kSub = 260, kSub2 = 261, kScratch = 262, kChild = 263;
constexpr uint64_t kMiB = 1024 * 1024;
constexpr uint64_t kNodeCharge = 48; // docs/syscalls.md: what each mapping costs its holder
constexpr uint64_t kPage = 4096;

// 4 MiB of our memory (1,024 pages, 2 MiB pages in the child) mapped at this many places in a
// child: 184,320 nodes, more than the old database had.
constexpr uint64_t kCopies = 180;
constexpr uint64_t kCopyPages = 1024;
constexpr uint64_t kChildBase = uint64_t{1} << 32; // 1 GiB aligned: one PDPT and one PD
constexpr uint64_t kChildTables = 2 * kPage;
// Unmapping 4 KiB entries splits each 2 MiB page first: two page tables a copy, which stay
// until the child goes.
constexpr uint64_t kSplitTables = 2 * kPage;
constexpr uint64_t kCopyCost = kCopyPages * kNodeCharge + kSplitTables;

} // namespace

// Our boot factory (ktest is sigma0) holds what the boot information says: a sub-factory of
// all that is left fits, a byte more does not, and alone we have what the kernel can spare.
KTEST(boot_quota_is_the_boot_informations)
{
    Slots slots(260, 300);
    const abi::BootInfo& info = boot_info();
    uint64_t quota = boot_quota();
    if (info.module_count == 1) {
        KEXPECT_EQ(info.root_quota, 0);
        KEXPECT_EQ(quota > 16 * kMiB, true); // under QEMU's -m 256M: a few tens of MiB
    } else {
        KEXPECT_EQ(info.root_quota >= quota, true); // sigma0 has at most half beside a root task
    }
    KEXPECT_EQ(l4::factory_create(kFactory, ObjectKind::factory, kSub, quota + 1), Error::quota_exhausted);
    KEXPECT_EQ(l4::factory_create(kFactory, ObjectKind::factory, kSub, quota), Error::quota_exhausted);
    uint64_t left = available(kFactory, kScratch);
    KEXPECT_EQ(left < quota, true);
    KEXPECT_EQ(quota - left < 2 * kMiB, true); // what we hold ourselves: task, threads, tables, pages
    KEXPECT_EQ(l4::factory_create(kFactory, ObjectKind::factory, kSub, left + 1), Error::quota_exhausted);
    KREQUIRE_EQ(l4::factory_create(kFactory, ObjectKind::factory, kSub, left), Error::ok);
    KEXPECT_EQ(l4::factory_create(kFactory, ObjectKind::factory, kSub2, 0), Error::quota_exhausted);
    KEXPECT_EQ(l4::cap_delete(kSub), Error::ok);
    KEXPECT_EQ(available(kFactory, kScratch), left);
}

// 4 MiB of our memory mapped 180 times into a child (as 2 MiB pages): every node is charged to
// the child's factory (ours), 48 bytes each to the byte, and comes back when unmapped; the
// tables stay until the child goes. Beside a root task (sigma0's share is smaller) as many copies as fit.
KTEST(memory_map_to_more_than_a_fixed_database)
{
    Slots slots(260, 300);
    const abi::MemoryRegion* region = kt::mem::highest_free(48 * kMiB);
    KREQUIRE_EQ(region != nullptr, true);
    uint64_t phys = (region->base + region->size - 40 * kMiB) & ~(4 * kMiB - 1);
    KREQUIRE_EQ(phys >= region->base, true);
    uint64_t source = abi::kSigma0Window + phys;
    for (uint64_t page = 0; page < kCopyPages; ++page) // ours first (sigma0's window)
        (void)*reinterpret_cast<volatile uint64_t*>(source + page * kPage);
    uint64_t start = available(kFactory, kScratch);
    KREQUIRE_EQ(l4::factory_create(kFactory, ObjectKind::task, kChild, 16), Error::ok);
    uint64_t before = available(kFactory, kScratch);
    uint64_t copies = kCopies;
    if ((before - kChildTables) / kCopyCost < copies)
        copies = (before - kChildTables) / kCopyCost;
    if (boot_info().module_count == 1)
        KEXPECT_EQ(copies, kCopies);
    for (uint64_t i = 0; i < copies; ++i) {
        uint64_t mapped = 0;
        KREQUIRE_EQ(l4::memory_map_to(kChild, abi::Flexpage::make(source, 22, abi::page_rights::all),
                                      kChildBase + i * 4 * kMiB, mapped),
                    Error::ok);
        KREQUIRE_EQ(mapped, kCopyPages);
    }
    uint64_t nodes = copies * kCopyPages;
    KEXPECT_EQ(available(kFactory, kScratch), before - kChildTables - nodes * kNodeCharge);
    uint64_t affected = 0;
    KEXPECT_EQ(l4::memory_unmap_in(kChild, abi::Flexpage::make(kChildBase, 30, abi::page_rights::all), affected),
               Error::ok);
    KEXPECT_EQ(affected, nodes);
    KEXPECT_EQ(available(kFactory, kScratch), before - kChildTables - copies * kSplitTables);
    KEXPECT_EQ(release_slot(kChild), Error::ok);
    KEXPECT_EQ(available(kFactory, kScratch), start);
}
