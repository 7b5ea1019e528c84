// User memory over the mapping database. The kernel is not preemptible and runs on one CPU,
// so page tables and the database change together without a lock; tlb::invalidate takes
// the changed pages out of the TLB entries of their space, live or not.
#include "vm.hpp"

#include <new>

#include "arch/x86_64/paging.hpp"
#include "boot_info.hpp"
#include "factory.hpp"
#include "log.hpp"
#include "mem/mapping_db.hpp"
#include "memory.hpp"
#include "panic.hpp"
#include "task.hpp"

namespace vm {
namespace {

using l4::abi::Flexpage;
using l4::abi::MemoryKind;

constexpr uint64_t kPage = l4::abi::kPageSize;
constexpr uint64_t kLargePage = 2 * 1024 * 1024;
constexpr uint32_t kMaxSpaces = 4096;
// One global database, but no task can drain it for others: every node is charged kNodeCost
// to its holder's factory, and the database holds as many nodes as all quotas together could
// pay for (memory::budget). A map that finds it full is a kernel bug.
constexpr uint64_t kNodeCost = mem::kMappingCost;

mem::MappingDb* database;
uint64_t* sigma0_frames;     // bit per frame: sigma0 claimed it (it stays sigma0's)
uint64_t sigma0_frame_limit; // frames the bitmap covers
Task* spaces[kMaxSpaces];    // space number -> task; 0 is never used
Task* node_refused;          // whose charge_node was refused last (transfer_charged clears it)

// Device memory stays uncached wherever it is mapped: the caching follows the frame.
bool device_frame(uint64_t frame)
{
    const l4::abi::MemoryRegion* region = boot_info::region_of(frame * kPage);
    return region != nullptr && region->kind == MemoryKind::device;
}

// A mapping costs its holder's factory a database node and its index slots, so no task can
// fill the database for others. Charged before it is made, given back when it goes; the task
// counts its nodes, so that its end can find any its page tables do not show.
bool charge_node(Task& task)
{
    if (!task.factory()->charge(kNodeCost)) [[unlikely]] {
        node_refused = &task;
        return false;
    }
    task.count_mapping_nodes(+1);
    return true;
}

void refund_node(Task& task)
{
    task.factory()->refund(kNodeCost);
    task.count_mapping_nodes(-1);
}

// A charged node the database could not make. Each live node is charged, and the charges of
// all quotas cover kNodes, so the database being full here means a node escaped its charge.
void refund_failed_node(Task& task)
{
    if (database->size() >= database->capacity())
        panic("vm: mapping database full ({} nodes) within the quotas", database->size());
    refund_node(task);
}

// The database tells us of every entry that lost rights or went away.
void update_entry(void*, uint32_t space, uint64_t page, uint64_t frame, uint8_t rights)
{
    Task* task = spaces[space];
    if (task == nullptr)
        return;
    uint64_t virt = page * kPage;
    paging::ChargeTables charged(task->table_account());
    if (rights == 0) {
        (void)paging::unmap_user_page(task->address_space(), virt);
        refund_node(*task);
    } else if (!paging::install_user_page(task->address_space(), virt, frame * kPage, rights, device_frame(frame)))
        // Taking rights must never fail: with no memory to split a 2 MiB page, the entry goes
        // (all of the 2 MiB page, if need be) and faults back in with its new rights.
        (void)paging::unmap_user_page(task->address_space(), virt);
}

constexpr mem::MappingChanged kUpdate{update_entry, nullptr};

uint8_t page_rights(uint64_t rights) { return static_cast<uint8_t>(rights & l4::abi::page_rights::all); }

// A page the kernel put there itself (UTCB, boot information): never replaced by a mapping.
bool kernel_owned(Task& task, uint64_t virt)
{
    return (paging::lookup_in(task.page_root(), virt) & paging::pte::present) &&
           database->find(task.space(), virt / kPage) == nullptr;
}

// Writes the page-table entry of a mapping just made. When that fails (no memory or quota
// for a page table) the mapping goes again, with anything derived from it: the database never
// keeps a mapping that its task's page tables do not show.
bool install(Task& task, mem::Mapping& m)
{
    paging::ChargeTables charged(task.table_account());
    if (paging::install_user_page(task.address_space(), m.page() * kPage, m.frame() * kPage, m.rights(),
                                  device_frame(m.frame())))
        return true;
    database->unmap(&m, l4::abi::page_rights::all, true, kUpdate);
    return false;
}

} // namespace

uint64_t bitmap_bytes(uint64_t ram_end) { return (ram_end / kPage / 8 + kPage - 1) / kPage * kPage; }

bool init(uint64_t ram_end)
{
    sigma0_frame_limit = ram_end / kPage;
    uint64_t bitmap_pages = bitmap_bytes(ram_end) / kPage;
    uint64_t bitmap = memory::frames().alloc(bitmap_pages);
    if (bitmap == mem::FrameAllocator::kNone)
        return false;
    sigma0_frames = static_cast<uint64_t*>(paging::phys_to_virt(bitmap));
    __builtin_memset(sigma0_frames, 0, bitmap_pages * kPage);

    uint64_t nodes = memory::budget().database_nodes;
    mem::DatabaseSize size = mem::database_size(nodes);
    uint64_t storage = memory::frames().alloc(size.node_pages + size.index_pages);
    void* self = memory::heap().alloc(sizeof(mem::MappingDb));
    if (storage == mem::FrameAllocator::kNone || self == nullptr)
        return false;
    auto* base = static_cast<uint8_t*>(paging::phys_to_virt(storage));
    database = new (self) mem::MappingDb(reinterpret_cast<mem::Mapping*>(base), nodes,
                                         reinterpret_cast<uint32_t*>(base + size.node_pages * kPage), 2 * nodes);
    return true;
}

uint32_t register_space(Task& task)
{
    for (uint32_t i = 1; i < kMaxSpaces; ++i)
        if (spaces[i] == nullptr) {
            spaces[i] = &task;
            return i;
        }
    return 0;
}

void unregister_space(uint32_t space) { spaces[space] = nullptr; }

bool map_root(Task& task, uint64_t virt, uint64_t frame, uint64_t rights)
{
    if (!charge_node(task))
        return false;
    mem::Mapping* m = database->insert_root(task.space(), virt / kPage, frame / kPage, page_rights(rights));
    if (m == nullptr)
        refund_failed_node(task);
    return m != nullptr && install(task, *m);
}

bool check_items(const l4::abi::MapItem* items, uint64_t count)
{
    for (uint64_t i = 0; i < count; ++i) {
        Flexpage page{items[i].page};
        if (!page.valid() || page.order() > kMaxItemOrder || items[i].grant > 1)
            return false;
    }
    return true;
}

bool sigma0_fault(Task& sigma0, uint64_t address);

namespace {

// Maps (or grants) up to 2 MiB of `from` at `source` to `to` at `target`: the database first,
// then the page tables, with one 2 MiB page when a whole aligned 2 MiB of contiguous frames
// arrives with one set of rights. How many 4 KiB pages arrived.
uint64_t move_chunk(Task& from, uint64_t source, uint64_t size, Task& to, uint64_t target, uint8_t rights, bool grant)
{
    constexpr uint64_t kLargePages = kLargePage / kPage;
    uint64_t pages = size / kPage;
    uint64_t count = 0, installed = 0, first_frame = 0;
    uint8_t first_rights = 0;
    // Page-table entries wait while a 2 MiB page is still possible; once it is not, the ones
    // that waited are written (catch_up) and the rest at once.
    bool deferring = size == kLargePage;
    auto catch_up = [&](uint64_t end) {
        for (uint64_t j = 0; j < end; ++j)
            if (mem::Mapping* done = database->find(to.space(), (target + j * kPage) / kPage);
                done != nullptr && done->frame() == first_frame + j && install(to, *done))
                ++installed;
    };
    for (uint64_t i = 0; i < pages; ++i) {
        uint64_t offset = i * kPage;
        mem::Mapping* m = database->find(from.space(), (source + offset) / kPage);
        if (m == nullptr && from.is_sigma0() && sigma0_fault(from, source + offset))
            m = database->find(from.space(), (source + offset) / kPage); // its window is all its own
        // The last user page never holds a mapping (paging::kLastUserPage).
        bool arrives = m != nullptr && target + offset < paging::kLastUserPage && !kernel_owned(to, target + offset);
        if (arrives && charge_node(to)) {
            uint64_t destination = (target + offset) / kPage;
            bool added = false;
            m = grant ? database->grant(m, to.space(), destination, rights, kUpdate, &added)
                      : database->map(m, to.space(), destination, rights, kUpdate, &added);
            arrives = m != nullptr;
            if (m == nullptr)
                refund_failed_node(to);
            else if (!added)
                refund_node(to); // nothing new: the mapping that was there was kept
        } else {
            arrives = false; // not the sender's, the kernel's page, or over the receiver's quota
        }
        if (deferring) {
            if (arrives && count == 0) {
                first_frame = m->frame() - i;
                first_rights = m->rights();
            }
            if (arrives && i == count && m->frame() == first_frame + i && m->rights() == first_rights) {
                ++count;
                continue;
            }
            deferring = false; // a gap, another frame or other rights: 4 KiB pages after all
            catch_up(count);
        }
        if (arrives && install(to, *m))
            ++installed;
    }
    if (!deferring)
        return installed;
    paging::ChargeTables charged(to.table_account());
    if (first_frame % kLargePages == 0 &&
        paging::install_user_large_page(to.address_space(), target, first_frame * kPage, first_rights,
                                        device_frame(first_frame))) {
        klog::debug("vm: 2 MiB page at {:#x} in \"{}\"", target, to.name());
        return count;
    }
    catch_up(count);
    return installed;
}

} // namespace

uint64_t transfer(Task& from, const l4::abi::MapItem* items, uint64_t count, Task& to, Flexpage window)
{
    uint64_t moved = 0;
    if (!window.valid())
        return 0;
    for (uint64_t i = 0; i < count; ++i) {
        Flexpage page{items[i].page};
        if (!page.valid() || page.order() > kMaxItemOrder || page.size() > window.size())
            continue;
        uint64_t target = window.base() + ((items[i].hotspot & (window.size() - 1)) & ~(page.size() - 1));
        uint8_t rights = page_rights(page.rights() & window.rights());
        uint64_t chunk = page.size() < kLargePage ? page.size() : kLargePage;
        for (uint64_t offset = 0; offset < page.size(); offset += chunk)
            moved += move_chunk(from, page.base() + offset, chunk, to, target + offset, rights, items[i].grant == 1);
    }
    return moved;
}

Error transfer_charged(Task& from, const l4::abi::MapItem* items, uint64_t count, Task& to, Flexpage window,
                       uint64_t& moved)
{
    node_refused = nullptr;
    to.table_account().refused = false;
    moved = transfer(from, items, count, to, window);
    return node_refused == &to || to.table_account().refused ? Error::quota_exhausted : Error::ok;
}

bool page_mapped(Task& task, uint64_t address, uint64_t rights)
{
    if (address >= paging::kLastUserPage)
        return false;
    mem::Mapping* m = database->find(task.space(), address / kPage);
    return m != nullptr && (m->rights() & page_rights(rights)) == page_rights(rights);
}

// A map item of the whole chunk into a window of its size, so that memory_map_to moves pages
// exactly as IPC does (transfer and move_chunk stay one path). Each chunk is at most 2 MiB:
// the first one in which `to`'s quota refused a page (a node or a page table) is the last.
Error map_to(Task& from, Flexpage page, Task& to, uint64_t destination, uint64_t& mapped)
{
    mapped = 0;
    if (!page.valid() || page.order() > kMaxItemOrder || (page.rights() & l4::abi::page_rights::read) == 0)
        return Error::invalid_argument;
    if (destination % page.size() != 0)
        return Error::misaligned;
    if (destination >= paging::kLastUserPage || page.size() > paging::kLastUserPage - destination)
        return Error::bad_address;
    uint64_t order = page.order() < 21 ? page.order() : 21;
    for (uint64_t offset = 0; offset < page.size(); offset += uint64_t{1} << order) {
        l4::abi::MapItem item{Flexpage::make(page.base() + offset, order, page.rights()).raw, 0, 0};
        uint64_t moved = 0;
        Error refused = transfer_charged(from, &item, 1, to,
                                         Flexpage::make(destination + offset, order, l4::abi::page_rights::all), moved);
        mapped += moved;
        if (refused != Error::ok)
            return refused;
    }
    return Error::ok;
}

bool sigma0_fault(Task& sigma0, uint64_t address)
{
    if (address < l4::abi::kSigma0Window || address - l4::abi::kSigma0Window >= (uint64_t{1} << 46))
        return false;
    uint64_t phys = (address - l4::abi::kSigma0Window) & ~(kPage - 1);
    const l4::abi::MemoryRegion* region = boot_info::region_of(phys);
    if (region == nullptr || database->find(sigma0.space(), address / kPage) != nullptr)
        return false;
    if (region->kind == MemoryKind::free) {
        // Once claimed a frame stays sigma0's: after an unmap or grant it maps again.
        uint64_t frame = phys / kPage;
        if (frame >= sigma0_frame_limit)
            return false;
        bool owned = sigma0_frames[frame / 64] & (uint64_t{1} << (frame % 64));
        if (!owned && !memory::frames().claim(phys))
            return false; // the kernel outgrew its pool and took this frame
        sigma0_frames[frame / 64] |= uint64_t{1} << (frame % 64);
    }
    if (!charge_node(sigma0))
        return false;
    mem::Mapping* m = database->insert_root(sigma0.space(), address / kPage, phys / kPage, l4::abi::page_rights::all);
    if (m == nullptr)
        refund_failed_node(sigma0);
    return m != nullptr && install(sigma0, *m);
}

Error unmap(Task& task, Flexpage page, bool include_self)
{
    if (!page.valid() || page.order() > kMaxUnmapOrder)
        return Error::invalid_argument;
    uint8_t rights = page_rights(page.rights());
    for (uint64_t offset = 0; offset < page.size(); offset += kPage)
        if (mem::Mapping* m = database->find(task.space(), (page.base() + offset) / kPage))
            database->unmap(m, rights, include_self, kUpdate);
    return Error::ok;
}

Error unmap_in(Task& task, Flexpage page, uint64_t& affected)
{
    affected = 0;
    if (!page.valid() || page.order() > kMaxUnmapOrder)
        return Error::invalid_argument;
    uint8_t rights = page_rights(page.rights());
    for (uint64_t offset = 0; offset < page.size(); offset += kPage) {
        mem::Mapping* m = database->find(task.space(), (page.base() + offset) / kPage);
        if (m != nullptr && (m->rights() & rights) != 0) {
            ++affected;
            database->unmap(m, rights, true, kUpdate);
        }
    }
    return Error::ok;
}

void release_space(Task& task)
{
    // Walk the task's page tables for its mappings: cheaper than searching the database.
    // (Unmapping changes only leaf entries, so the walk stays valid.)
    paging::for_each_user_page(
        task.page_root(),
        [](void* context, uint64_t virt) {
            auto& owner = *static_cast<Task*>(context);
            if (mem::Mapping* m = database->find(owner.space(), virt / kPage))
                database->unmap(m, l4::abi::page_rights::all, true, kUpdate);
        },
        &task);
    // Mappings without an entry (a 2 MiB page taken away whole when it could not be split)
    // are found by a sweep of the database: none may outlive the task, or pass to the next
    // task given its space number.
    uint32_t cursor = 0;
    while (task.mapping_nodes() != 0) {
        mem::Mapping* m = database->next_in_space(task.space(), cursor);
        if (m == nullptr) { // a miscount: a kernel bug, but nothing left to free
            klog::error("vm: task \"{}\" counts {} mappings the database does not hold", task.name(),
                        task.mapping_nodes());
            break;
        }
        database->unmap(m, l4::abi::page_rights::all, true, kUpdate);
    }
}

uint64_t mappings() { return database->size(); }

} // namespace vm
