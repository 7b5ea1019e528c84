// Loading an ELF executable into a new, demand-paged task (l4/loader.hpp).
#include "l4/loader.hpp"

#include "l4/abi/address_space.hpp"
#include "l4/sigma0.hpp"

namespace l4 {

namespace {

using abi::Flexpage;
using abi::MessageTag;
using abi::ObjectKind;
using abi::ThreadOp;
namespace page_rights = abi::page_rights;

constexpr uint64_t kPage = abi::kPageSize;

uint64_t scratch_next = kLoaderScratchBase; // the next default scratch range

uint64_t pages_of(const elf::Segment& segment) { return (segment.page_limit() - segment.page_base()) / kPage; }

bool overlaps(uint64_t a_begin, uint64_t a_end, uint64_t b_begin, uint64_t b_end)
{
    return a_begin < b_end && b_begin < a_end;
}

uint64_t rights_of(const elf::Segment& segment)
{
    // x86 cannot map a page without read access: every page is readable.
    return page_rights::read | (segment.writable() ? page_rights::write : 0) |
           (segment.executable() ? page_rights::execute : 0);
}

// Where a page of the task comes from: its index in the image and the rights it gets, and
// the segment whose bytes fill it (null for a stack page). False outside both.
bool locate(const LoadedImage& image, uint64_t page, uint64_t& index, uint64_t& rights, const elf::Segment*& segment)
{
    if (page >= abi::kLastUserPage)
        return false; // never mapped (a reply could not resolve the fault)
    const elf::Image& exe = image.executable;
    for (size_t i = 0; i < exe.segment_count; ++i) {
        const elf::Segment& s = exe.segments[i];
        if (page >= s.page_base() && page < s.page_limit()) {
            index = image.first_page[i] + (page - s.page_base()) / kPage;
            rights = rights_of(s);
            segment = &s;
            return true;
        }
    }
    if (page >= image.stack_base && page < image.stack_top) {
        index = image.page_count - (image.stack_top - page) / kPage;
        rights = page_rights::read | page_rights::write;
        segment = nullptr;
        return true;
    }
    return false;
}

// The page at `page` of the task, as the file and the segment say: file bytes where the
// segment has them, zero everywhere else.
void fill(const LoadedImage& image, const elf::Segment* segment, uint64_t page, uint8_t* to)
{
    __builtin_memset(to, 0, kPage);
    if (segment == nullptr)
        return;
    const uint64_t file_end = segment->vaddr + segment->filesz;
    const uint64_t from = page > segment->vaddr ? page : segment->vaddr;
    const uint64_t until = page + kPage < file_end ? page + kPage : file_end;
    if (from < until)
        __builtin_memcpy(to + (from - page), image.executable.file_bytes(*segment) + (from - segment->vaddr),
                         until - from);
}

Error refuse(LoadedImage& image, Message& m, Error why)
{
    ++image.faults_refused;
    m = Message{};
    m.tag = MessageTag::make(static_cast<uint64_t>(why), 0);
    return why;
}

} // namespace

Error load_task(const uint8_t* image, size_t size, Selector factory, Selector task_slot, Selector thread_slot,
                Selector pager_endpoint, LoadedImage& out, const LoadOptions& options)
{
    out = LoadedImage{};
    out.parse_result = elf::parse(image, size, elf::Options{}, out.executable);
    if (out.parse_result.error != elf::Error::none)
        return Error::invalid_argument;

    // The page indexes: the segments in order, then the stack.
    const elf::Image& exe = out.executable;
    uint64_t pages = 0;
    for (size_t i = 0; i < exe.segment_count; ++i) {
        out.first_page[i] = pages;
        pages += pages_of(exe.segments[i]);
    }
    const uint64_t top = options.stack_top, stack = options.stack_size;
    if (top % kPage != 0 || stack % kPage != 0 || stack == 0 || top > abi::kLastUserPage || top < stack)
        return Error::invalid_argument;
    for (size_t i = 0; i < exe.segment_count; ++i)
        if (overlaps(top - stack, top, exe.segments[i].page_base(), exe.segments[i].page_limit()))
            return Error::invalid_argument;
    pages += stack / kPage;
    if (pages > kLoaderMaxPages)
        return Error::invalid_argument;

    // The scratch range: the caller's, or the next default one (with a guard page after it).
    uint64_t scratch = options.scratch_base;
    const uint64_t scratch_bytes = pages * kPage;
    const bool default_scratch = scratch == 0;
    if (default_scratch) {
        scratch = scratch_next;
        if (kLoaderScratchBase + kLoaderScratchSize - scratch < scratch_bytes + kPage)
            return Error::invalid_argument;
    } else if (scratch % kPage != 0 || scratch >= abi::kUserEnd || abi::kUserEnd - scratch < scratch_bytes) {
        return Error::invalid_argument;
    }

    Error e = factory_create(factory, ObjectKind::task, task_slot, options.capability_slots);
    if (e != Error::ok)
        return e;
    e = factory_create(factory, ObjectKind::thread, thread_slot, task_slot, options.priority);
    if (e != Error::ok) {
        (void)cap_delete(task_slot);
        return e;
    }
    e = thread_control(thread_slot, ThreadOp::set_pager, pager_endpoint);
    if (e == Error::ok)
        e = thread_start(thread_slot, exe.entry, top);
    if (e != Error::ok) {
        (void)cap_delete(thread_slot);
        (void)cap_delete(task_slot);
        return e;
    }
    if (default_scratch)
        scratch_next = scratch + scratch_bytes + kPage;
    out.stack_base = top - stack;
    out.stack_top = top;
    out.scratch_base = scratch;
    out.page_count = pages;
    out.fetch_page = options.fetch_page;
    return Error::ok;
}

Error serve_loader_fault(LoadedImage& image, Message& m)
{
    if (m.tag.label() != abi::label::page_fault || m.tag.words() < abi::kPageFaultWords)
        return refuse(image, m, Error::invalid_argument);
    const uint64_t address = m.words[0], access = m.words[1];
    const uint64_t page = address & ~(kPage - 1);
    uint64_t index = 0, rights = 0;
    const elf::Segment* segment = nullptr;
    if (!locate(image, page, index, rights, segment))
        return refuse(image, m, Error::bad_address);
    if ((access & ~rights) != 0)
        return refuse(image, m, Error::missing_rights);

    const uint64_t scratch = image.scratch_base + index * kPage;
    uint64_t& word = image.present[index / 64];
    const uint64_t bit = uint64_t{1} << (index % 64);
    if ((word & bit) == 0) {
        const Error e =
            image.fetch_page != nullptr ? image.fetch_page(scratch) : sigma0::allocate(abi::sigma0::kMinOrder, scratch);
        if (e != Error::ok)
            return refuse(image, m, e);
        ++image.pages_fetched;
        fill(image, segment, page, reinterpret_cast<uint8_t*>(scratch));
        word |= bit;
    }
    ++image.faults_served;
    utcb()->send_pages[0] = abi::MapItem{Flexpage::make(scratch, abi::sigma0::kMinOrder, rights).raw, page, 0};
    m = Message{};
    m.tag = MessageTag::make(0, 0, 0, 1);
    return Error::ok;
}

Error serve_until_exit(LoadedImage& image, Selector pager_endpoint, Selector thread_slot, uint64_t poll_ticks,
                       uint64_t max_idle_polls)
{
    Message m;
    bool answer = false; // m holds a reply for the last fault
    for (uint64_t idle = 0;;) {
        const Error e = answer ? reply_wait(pager_endpoint, m, poll_ticks) : receive(pager_endpoint, m, poll_ticks);
        answer = false;
        if (e == Error::timeout) {
            // read_registers leaves the thread as it is; on a dead thread it fails so.
            if (thread_control(thread_slot, ThreadOp::read_registers) == Error::object_destroyed)
                return Error::ok;
            if (++idle >= max_idle_polls)
                return Error::timeout;
            continue;
        }
        if (e != Error::ok)
            return e;
        idle = 0;
        (void)serve_loader_fault(image, m);
        answer = true;
    }
}

} // namespace l4
