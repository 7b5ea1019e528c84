// A process of the shim (process.hpp).
#include "process.hpp"

#include "common/string.hpp"
#include "l4/guest_console.hpp"

namespace shim {

namespace {

namespace abi = l4::abi;
using abi::Error;

constexpr uint64_t kPage = 4096;
constexpr uint64_t kPriority = 40; // below the shim's vCPU: the shim answers at once
constexpr uint64_t kTaskSlots = 16;

uint64_t page_of(uint64_t address) { return address & ~(kPage - 1); }
uint64_t page_up(uint64_t address) { return (address + kPage - 1) & ~(kPage - 1); }

Error map_page(l4::Selector task, uint64_t shim_page, uint32_t rights, uint64_t page)
{
    uint64_t mapped = 0;
    return l4::memory_map_to(task, abi::Flexpage::make(shim_page, 12, rights), page, mapped);
}

// Takes `rights` of the task's page at `page` (all of them: the page is gone from it).
void unmap_page(l4::Selector task, uint64_t page, uint64_t rights)
{
    uint64_t affected = 0;
    (void)l4::memory_unmap_in(task, abi::Flexpage::make(page, 12, rights), affected);
}

} // namespace

bool Process::create(uint64_t pid, l4::Selector endpoint, l4::Selector first_selector, PagePool& pool)
{
    pid_ = pid;
    pool_ = &pool;
    first_selector_ = first_selector;
    page_count_ = 0;
    for (uint16_t& file : files)
        file = 0;
    cwd = nullptr;
    umask = 022;
    for (SignalAction& a : actions)
        a = SignalAction{};
    blocked = 0;
    group = session = pid;
    parent = 0;
    zombie = false;
    exit_status = 0;
    waiting = false;
    wake_deadline = 0;
    image_ = elf::Image{};
    pages_ = reinterpret_cast<PageEntry*>(pool.allocate_contiguous(kPageMapPages));
    if (pages_ == nullptr) {
        l4::hc::println("shim: no memory for the page map of process {}", pid);
        return false;
    }
    const auto factory = static_cast<l4::Selector>(l4::hc::start_info().factory_selector);
    const l4::Selector task = first_selector, thread = first_selector + 1, badged = first_selector + 2;
    Error e = l4::factory_create(factory, abi::ObjectKind::task, task, kTaskSlots);
    if (e == Error::ok)
        e = l4::cap_copy(endpoint, badged, abi::rights::send, pid);
    if (e == Error::ok)
        e = l4::factory_create(factory, abi::ObjectKind::reply, reply());
    if (e == Error::ok)
        e = l4::factory_create(factory, abi::ObjectKind::thread, thread, task, kPriority);
    if (e == Error::ok)
        e = l4::thread_control(thread, abi::ThreadOp::set_pager, badged);
    if (e == Error::ok)
        e = l4::thread_control(thread, abi::ThreadOp::set_exception_handler, badged);
    if (e == Error::ok)
        e = l4::thread_control(thread, abi::ThreadOp::set_foreign_abi, abi::foreign_abi::short_message);
    if (e != Error::ok) {
        static bool said_quota = false; // a fork bomb runs into the quota again and again: said once
        if (e != Error::quota_exhausted || !said_quota)
            l4::hc::println("shim: cannot make process {}: error {} ({})", pid, static_cast<uint64_t>(e),
                            abi::error_name(e));
        said_quota |= e == Error::quota_exhausted;
        destroy();
        return false;
    }
    return true;
}

void Process::load(const elf::Image& image)
{
    for (uint64_t i = 0; page_count_ != 0 && i < kPageMapEntries; ++i)
        if (pages_[i].virtual_page != 0) {
            if ((pages_[i].flags & kNotMapped) == 0)
                unmap_page(first_selector_, pages_[i].virtual_page, abi::page_rights::all);
            pool_->free(pages_[i].shim_page);
            pages_[i] = PageEntry{};
        }
    page_count_ = 0;
    image_ = image;
    brk_start_ = brk_ = page_up(image.high);
    mmap_next_ = kMmapTop;
    for (Mapping& m : mappings_)
        m = Mapping{};
    for (Protection& p : protections_)
        p = Protection{};
}

bool Process::insert(uint64_t page, uint32_t rights, uint64_t shim_page, uint32_t flags)
{
    PageEntry* entry = find(page);
    if (entry == nullptr || page_count_ + 1 >= kPageMapEntries / 2 ||
        ((flags & kNotMapped) == 0 &&
         map_page(first_selector_, shim_page, mapped_rights(rights, flags), page) != Error::ok))
        return false;
    *entry = PageEntry{page, shim_page, rights, flags};
    ++page_count_;
    return true;
}

bool Process::copy_memory_from(Process& from_process)
{
    load(from_process.image_);
    brk_start_ = from_process.brk_start_;
    brk_ = from_process.brk_;
    mmap_next_ = from_process.mmap_next_;
    for (uint64_t i = 0; i < kMaxMappings; ++i)
        mappings_[i] = from_process.mappings_[i];
    for (uint64_t i = 0; i < sizeof protections_ / sizeof protections_[0]; ++i)
        protections_[i] = from_process.protections_[i];
    if (!from_process.fill_shared())
        return false;
    for (uint64_t i = 0; i < kPageMapEntries; ++i) {
        PageEntry& from = from_process.pages_[i];
        if (from.virtual_page == 0)
            continue;
        if ((from.flags & (kShared | kCopyOnWrite)) == 0) { // the parent writes it no more either
            if ((from.rights & kWrite) != 0)
                unmap_page(from_process.first_selector_, from.virtual_page, abi::page_rights::write);
            from.flags |= kCopyOnWrite;
        }
        if (!pool_->share(from.shim_page))
            return false;
        // The child maps its pages as it touches them: after fork most are never touched (exec).
        if (!insert(from.virtual_page, from.rights, from.shim_page, from.flags | kNotMapped)) {
            pool_->free(from.shim_page);
            return false;
        }
    }
    return true;
}

bool Process::fill_shared()
{
    for (const Mapping& m : mappings_)
        for (uint64_t page = m.start; m.shared && page < m.end; page += kPage) {
            PageEntry* entry = find(page);
            const elf::Segment* segment = nullptr;
            const uint32_t rights = rights_of(page, &segment);
            if (entry == nullptr ||
                (entry->virtual_page != page && rights != 0 && fault_in(page, rights, nullptr) == 0))
                return false; // (a page without rights, PROT_NONE, has nothing to share yet)
        }
    return true;
}

bool Process::take_private(PageEntry& entry)
{
    if (pool_->references(entry.shim_page) > 1) {
        const uint64_t copy = pool_->allocate(false); // all of it copied over
        if (copy == 0)
            return false;
        memcpy(reinterpret_cast<void*>(copy), reinterpret_cast<const void*>(entry.shim_page), kPage);
        // The copy replaces the shared page in the task (the kernel swaps the mapping).
        if (map_page(first_selector_, copy, entry.rights, entry.virtual_page) != Error::ok) {
            pool_->free(copy);
            return false;
        }
        pool_->free(entry.shim_page);
        entry.shim_page = copy;
    } else if (map_page(first_selector_, entry.shim_page, entry.rights, entry.virtual_page) != Error::ok) {
        return false; // the last holder: the same page again, now with write
    }
    entry.flags &= ~(kCopyOnWrite | kNotMapped);
    return true;
}

Error Process::start(uint64_t entry, uint64_t rsp) { return l4::thread_start(thread(), entry, rsp); }

void Process::destroy()
{
    for (l4::Selector s = first_selector_ + 1; s < first_selector_ + 4; ++s) // the thread first
        (void)l4::cap_delete(s);
    (void)l4::cap_delete(first_selector_);
    if (pages_ != nullptr) {
        for (uint64_t i = 0; i < kPageMapEntries; ++i)
            if (pages_[i].virtual_page != 0) {
                pool_->free(pages_[i].shim_page);
                pages_[i] = PageEntry{};
            }
        // Every entry is zero now (a free one always is): the next process's map needs no clearing.
        pool_->free_contiguous(reinterpret_cast<uint64_t>(pages_), kPageMapPages, true);
        pages_ = nullptr;
    }
}

uint32_t Process::rights_of(uint64_t page, const elf::Segment** segment) const
{
    *segment = nullptr;
    const uint32_t rights = base_rights_of(page, segment);
    for (const Protection& p : protections_)
        if (rights != 0 && page >= p.start && page < p.end)
            return p.rights;
    return rights;
}

uint32_t Process::base_rights_of(uint64_t page, const elf::Segment** segment) const
{
    for (size_t i = 0; i < image_.segment_count; ++i) {
        const elf::Segment& s = image_.segments[i];
        if (page >= s.page_base() && page < s.page_limit()) {
            *segment = &s;
            return (s.readable() ? kRead : 0) | (s.writable() ? kWrite : 0) | (s.executable() ? kExecute : 0);
        }
    }
    if ((page >= brk_start_ && page < page_up(brk_)) || (page >= kStackTop - kStackLimit && page < kStackTop))
        return kRead | kWrite;
    for (const Mapping& m : mappings_)
        if (page >= m.start && page < m.end)
            return kRead | kWrite;
    return 0;
}

uint64_t Process::resolve(uint64_t address, uint32_t access)
{
    const uint64_t page = page_of(address);
    PageEntry* entry = page == 0 ? nullptr : find(page);
    if (entry == nullptr)
        return 0;
    if (entry->virtual_page == page) {
        if ((entry->rights & access) != access)
            return 0;
        if ((access & kWrite) != 0 && (entry->flags & kCopyOnWrite) != 0) {
            if (!take_private(*entry))
                return 0;
        } else if ((entry->flags & kNotMapped) != 0) {
            if (map_page(first_selector_, entry->shim_page, mapped_rights(entry->rights, entry->flags), page) !=
                Error::ok)
                return 0;
        }
        entry->flags &= ~kNotMapped;
        return entry->shim_page + (address - page);
    }
    const elf::Segment* segment = nullptr;
    const uint32_t rights = rights_of(page, &segment);
    if ((rights & access) != access || rights == 0)
        return 0;
    const uint64_t shim_page = fault_in(page, rights, segment);
    return shim_page == 0 ? 0 : shim_page + (address - page);
}

bool Process::is_shared(uint64_t address)
{
    const PageEntry* entry = find(page_of(address));
    return entry != nullptr && entry->virtual_page == page_of(address) && (entry->flags & kShared) != 0;
}

bool Process::in_shared_mapping(uint64_t page) const
{
    for (const Mapping& m : mappings_)
        if (m.shared && page >= m.start && page < m.end)
            return true;
    return false;
}

uint64_t Process::fault_in(uint64_t page, uint32_t rights, const elf::Segment* segment)
{
    if (page_count_ + 1 >= kPageMapEntries / 2)
        return 0;
    // The file's bytes of this page: [vaddr, vaddr + filesz) of the segment, the rest zero.
    uint64_t from = 0, to = 0;
    if (segment != nullptr && image_.file != nullptr) {
        const uint64_t file_end = segment->vaddr + segment->filesz;
        from = page > segment->vaddr ? page : segment->vaddr;
        to = page + kPage < file_end ? page + kPage : file_end;
    }
    const uint64_t shim_page = pool_->allocate(!(from == page && to == page + kPage)); // all file: no clearing
    if (shim_page == 0)
        return 0;
    if (from < to)
        memcpy(reinterpret_cast<void*>(shim_page + (from - page)),
               image_.file_bytes(*segment) + (from - segment->vaddr), to - from);
    if (!insert(page, rights, shim_page, in_shared_mapping(page) ? kShared : 0)) {
        pool_->free(shim_page);
        return 0;
    }
    return shim_page;
}

bool Process::copy_in(void* to, uint64_t from, size_t bytes)
{
    auto* out = static_cast<uint8_t*>(to);
    while (bytes != 0) {
        const uint64_t at = resolve(from, kRead);
        if (at == 0)
            return false;
        const size_t n = kPage - (from & (kPage - 1)) < bytes ? kPage - (from & (kPage - 1)) : bytes;
        memcpy(out, reinterpret_cast<const void*>(at), n);
        out += n;
        from += n;
        bytes -= n;
    }
    return true;
}

bool Process::copy_out(uint64_t to, const void* from, size_t bytes)
{
    const auto* in = static_cast<const uint8_t*>(from);
    while (bytes != 0) {
        const uint64_t at = resolve(to, kWrite);
        if (at == 0)
            return false;
        const size_t n = kPage - (to & (kPage - 1)) < bytes ? kPage - (to & (kPage - 1)) : bytes;
        memcpy(reinterpret_cast<void*>(at), in, n);
        in += n;
        to += n;
        bytes -= n;
    }
    return true;
}

bool Process::copy_string(char* to, uint64_t from, size_t capacity)
{
    for (size_t i = 0; i < capacity; ++i) {
        const uint64_t at = resolve(from + i, kRead);
        if (at == 0)
            return false;
        to[i] = *reinterpret_cast<const char*>(at);
        if (to[i] == '\0')
            return true;
    }
    return false;
}

void Process::forget(PageEntry* entry)
{
    if ((entry->flags & kNotMapped) == 0)
        unmap_page(first_selector_, entry->virtual_page, abi::page_rights::all);
    pool_->free(entry->shim_page);
    page_map_erase(pages_, entry);
    --page_count_;
}

template <typename Action>
void Process::for_each_page(uint64_t start, uint64_t end, Action action)
{
    if ((end - start) / kPage <= kPageMapEntries) {
        for (uint64_t page = start; page < end; page += kPage) {
            PageEntry* entry = find(page);
            if (entry != nullptr && entry->virtual_page == page)
                (void)action(*entry);
        }
        return;
    }
    // A range larger than the map (mmap may reserve terabytes): a walk of the map instead, again
    // after taking entries out moved others.
    for (bool again = true; again;) {
        again = false;
        for (uint64_t i = 0; i < kPageMapEntries; ++i)
            if (pages_[i].virtual_page != 0 && pages_[i].virtual_page >= start && pages_[i].virtual_page < end)
                again |= action(pages_[i]);
    }
}

uint64_t Process::set_break(uint64_t requested)
{
    if (requested < brk_start_ || requested - brk_start_ > kBrkLimit)
        return brk_;
    // Shrinking gives the pages above the new break back.
    for_each_page(page_up(requested), page_up(brk_), [this](PageEntry& entry) {
        forget(&entry);
        return true;
    });
    brk_ = requested;
    return brk_;
}

uint64_t Process::map_anonymous(uint64_t bytes, bool shared, uint64_t fixed)
{
    bytes = page_up(bytes);
    Mapping* free = nullptr;
    for (Mapping& m : mappings_)
        if (free == nullptr && m.start == m.end)
            free = &m;
    if (fixed != 0) { // MAP_FIXED: what was there goes first
        if ((fixed & (kPage - 1)) != 0 || bytes == 0 || fixed + bytes < fixed || fixed + bytes > kMmapTop)
            return 0;
        if (free == nullptr || !unmap(fixed, bytes))
            return 0;
        *free = Mapping{fixed, fixed + bytes, shared};
        return fixed;
    }
    if (bytes == 0 || bytes > mmap_next_ - (brk_start_ + kBrkLimit) || free == nullptr)
        return 0;
    mmap_next_ -= bytes;
    *free = Mapping{mmap_next_, mmap_next_ + bytes, shared};
    return free->start;
}

bool Process::unmap(uint64_t address, uint64_t bytes)
{
    if ((address & (kPage - 1)) != 0 || bytes == 0 || address + page_up(bytes) < address)
        return false;
    const uint64_t end = address + page_up(bytes);
    Mapping* free = nullptr;
    Mapping* holed = nullptr; // a mapping the range is inside of: cut in two
    for (Mapping& m : mappings_) {
        if (free == nullptr && m.start == m.end)
            free = &m;
        if (m.start < address && m.end > end)
            holed = &m;
    }
    if (holed != nullptr && free == nullptr)
        return false; // no room for its second half
    for_each_page(address, end, [this](PageEntry& entry) {
        forget(&entry);
        return true;
    });
    if (holed != nullptr) {
        *free = Mapping{end, holed->end, holed->shared};
        holed->end = address;
    }
    for (Mapping& m : mappings_) // whole mappings inside the range are gone; others are cut
        if (m.start >= address && m.end <= end)
            m = Mapping{};
        else if (m.start < address && m.end > address && m.end <= end)
            m.end = address;
        else if (m.start >= address && m.start < end && m.end > end)
            m.start = end;
    return true;
}

bool Process::protect(uint64_t address, uint64_t bytes, uint32_t rights)
{
    if ((address & (kPage - 1)) != 0 || address + page_up(bytes) < address)
        return false;
    const uint64_t end = address + page_up(bytes);
    if (protections_[sizeof protections_ / sizeof protections_[0] - 1].end != 0)
        return false; // no room to remember another range
    for (size_t i = sizeof protections_ / sizeof protections_[0] - 1; i > 0; --i)
        protections_[i] = protections_[i - 1];
    protections_[0] = Protection{address, end, rights};
    for_each_page(address, end, [this, rights](PageEntry& entry) {
        unmap_page(first_selector_, entry.virtual_page, abi::page_rights::all);
        entry.rights = rights;
        if (rights != 0)
            (void)map_page(first_selector_, entry.shim_page, mapped_rights(rights, entry.flags), entry.virtual_page);
        return false;
    });
    return true;
}

} // namespace shim
