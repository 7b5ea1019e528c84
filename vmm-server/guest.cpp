// Starting and stopping a guest (guest.hpp).
#include "guest.hpp"

#include "events.hpp"

#include "common/elf.hpp"
#include "l4/abi/boot.hpp"
#include "l4/abi/boot_info.hpp"
#include "l4/abi/hypercall.hpp"
#include "l4/format.hpp"
#include "l4/libc.hpp"
#include "l4/quota.hpp"
#include "l4/sigma0.hpp"

namespace vmm {

namespace {

namespace abi = l4::abi;
namespace hc = abi::hc;
using abi::Error;
using abi::Flexpage;
using abi::ObjectKind;
using abi::ThreadOp;

constexpr uint64_t kPage = abi::kPageSize;
constexpr uint64_t kMaxBlockOrder = abi::sigma0::kMaxOrder; // 4 MiB
// Each guest's window in the VMM: its memory, then (past the largest memory) its start-info
// and vCPU pages.
constexpr uint64_t kWindowBase = 0x0000'5000'0000'0000;
constexpr uint64_t kWindowSize = uint64_t{4} << 30;
constexpr uint64_t kPagesOffset = uint64_t{2} << 30;

// The VMM's selectors for guest i: kSelectorBase + i * kSelectorsPerGuest + one of these.
constexpr l4::Selector kSelectorBase = 64, kSelectorsPerGuest = 8;
constexpr l4::Selector kScratchSelector = 54; // empty but while kernel memory is measured
enum Slot : l4::Selector { slot_factory, slot_task, slot_thread, slot_fault, slot_event, slot_yield_reply };

l4::Selector selector(const Guest& guest, Slot slot) { return kSelectorBase + guest.index * kSelectorsPerGuest + slot; }

uint64_t memory_end(const Guest& guest) { return kGuestMemoryBase + guest.config.memory_bytes; }
uint64_t start_info_in_vmm(const Guest& guest) { return window_of(guest) + kPagesOffset; }
uint64_t vcpu_page_in_vmm(const Guest& guest) { return window_of(guest) + kPagesOffset + kPage; }
uint64_t align_up(uint64_t value) { return (value + kPage - 1) & ~(kPage - 1); }

// The largest block (order 12..22) at `offset` that fits in `left` bytes and is aligned there.
uint64_t block_order(uint64_t offset, uint64_t left)
{
    uint64_t order = kMaxBlockOrder;
    while (order > abi::sigma0::kMinOrder &&
           ((offset & ((uint64_t{1} << order) - 1)) != 0 || (uint64_t{1} << order) > left))
        --order;
    return order;
}

bool report(const Guest& guest, const char* step, Error e)
{
    l4::println("vmm: guest \"{}\" not started: {}: error {} ({})", guest.config.name, step, static_cast<uint64_t>(e),
                abi::error_name(e));
    return false;
}

// Guest memory, the start-info and the vCPU page from sigma0, into the guest's window.
bool fetch_memory(Guest& guest)
{
    const uint64_t size = guest.config.memory_bytes, window = window_of(guest);
    for (uint64_t offset = 0; offset < size;) {
        const uint64_t order = block_order(offset, size - offset);
        const Error e = l4::sigma0::allocate(order, window + offset);
        if (e != Error::ok)
            return report(guest, "guest memory from sigma0", e);
        offset += uint64_t{1} << order;
    }
    Error e = l4::sigma0::allocate(abi::sigma0::kMinOrder, start_info_in_vmm(guest));
    if (e == Error::ok)
        e = l4::sigma0::allocate(abi::sigma0::kMinOrder, vcpu_page_in_vmm(guest));
    if (e != Error::ok)
        return report(guest, "start-info and vCPU pages from sigma0", e);
    guest.memory_ready = true;
    return true;
}

// Refuses (and says why) a kernel ELF that is corrupt or does not fit in the guest's memory
// with its initrd and kMinStackBytes to spare.
bool check_kernel(const Guest& guest, elf::Image& image)
{
    elf::Options options;
    options.user_limit = memory_end(guest);
    const elf::Result parsed = elf::parse(guest.kernel, guest.kernel_size, options, image);
    if (parsed.error != elf::Error::none) {
        l4::println("vmm: guest \"{}\" not started: its kernel is no ELF it can run: {} (program header {})",
                    guest.config.name, elf::describe(parsed.error), parsed.index);
        return false;
    }
    const uint64_t used = align_up(image.high) + align_up(guest.initrd_size);
    if (image.low < kGuestMemoryBase || used > memory_end(guest) || memory_end(guest) - used < kMinStackBytes) {
        l4::println("vmm: guest \"{}\" not started: its kernel [{:#x}, {:#x}) and initrd ({} bytes) do not fit in "
                    "its memory [{:#x}, {:#x}) with {} KiB to spare",
                    guest.config.name, image.low, image.high, guest.initrd_size, kGuestMemoryBase, memory_end(guest),
                    kMinStackBytes / 1024);
        return false;
    }
    return true;
}

// The kernel's segments at their addresses, then the initrd after it; everything else zero.
// Fills `info` with what it placed.
void load_kernel(Guest& guest, const elf::Image& image, hc::StartInfo& info)
{
    auto* memory = reinterpret_cast<uint8_t*>(window_of(guest));
    memset(memory, 0, guest.config.memory_bytes);
    for (size_t i = 0; i < image.segment_count; ++i) {
        const elf::Segment& s = image.segments[i];
        memcpy(memory + (s.vaddr - kGuestMemoryBase), image.file_bytes(s), s.filesz);
    }
    info.kernel_end = align_up(image.high);
    if (guest.initrd != nullptr) {
        memcpy(memory + (info.kernel_end - kGuestMemoryBase), guest.initrd, guest.initrd_size);
        info.modules[0] = hc::Module{info.kernel_end, guest.initrd_size};
        info.module_count = 1;
    }
}

void fill_start_info(const Guest& guest, hc::StartInfo& info, uint64_t quota)
{
    info.magic = hc::kStartInfoMagic;
    info.version = hc::kVersion;
    memcpy(info.name, guest.config.name, sizeof guest.config.name);
    info.memory_base = kGuestMemoryBase;
    info.memory_size = guest.config.memory_bytes;
    info.quota_bytes = quota;
    info.factory_selector = kGuestFactorySelector;
    memcpy(info.cmdline, guest.config.cmdline, sizeof guest.config.cmdline);
}

// Maps [from, from + size) of the VMM into the guest's task at `to`, in blocks of up to 4 MiB.
Error map_into_guest(const Guest& guest, uint64_t from, uint64_t size, uint64_t to, uint64_t rights)
{
    for (uint64_t offset = 0; offset < size;) {
        const uint64_t order = block_order(offset, size - offset);
        uint64_t mapped = 0;
        const Error e = l4::memory_map_to(selector(guest, slot_task), Flexpage::make(from + offset, order, rights),
                                          to + offset, mapped);
        if (e != Error::ok)
            return e;
        offset += uint64_t{1} << order;
    }
    return Error::ok;
}

// The kernel objects, the mappings and the capabilities of a guest whose memory is loaded.
bool create_objects(Guest& guest, uint64_t quota, uint64_t entry)
{
    namespace rights = abi::rights;
    namespace page_rights = abi::page_rights;
    const l4::Selector factory = selector(guest, slot_factory), task = selector(guest, slot_task),
                       thread = selector(guest, slot_thread), fault = selector(guest, slot_fault);
    Error e = l4::factory_create(abi::boot::kFactorySelector, ObjectKind::factory, factory, quota);
    if (e != Error::ok)
        return report(guest, "its factory", e);
    if ((e = l4::factory_create(factory, ObjectKind::task, task, kGuestCapabilitySlots)) != Error::ok)
        return report(guest, "its task", e);
    if ((e = map_into_guest(guest, window_of(guest), guest.config.memory_bytes, kGuestMemoryBase, page_rights::all)) !=
        Error::ok)
        return report(guest, "mapping its memory", e);
    if ((e = map_into_guest(guest, start_info_in_vmm(guest), kPage, hc::kStartInfoAddress, page_rights::read)) !=
            Error::ok ||
        (e = map_into_guest(guest, vcpu_page_in_vmm(guest), kPage, hc::kVcpuPageAddress,
                            page_rights::read | page_rights::write)) != Error::ok)
        return report(guest, "mapping its start-info and vCPU pages", e);
    if ((e = l4::cap_copy_to(task, kEndpoint, hc::kHypercallSelector, rights::send,
                             badge_of(guest.index, BadgeKind::hypercall))) != Error::ok ||
        (e = l4::cap_copy_to(task, factory, kGuestFactorySelector)) != Error::ok)
        return report(guest, "its capabilities", e);
    if ((e = l4::cap_copy(kEndpoint, fault, rights::send, badge_of(guest.index, BadgeKind::fault))) != Error::ok)
        return report(guest, "its fault endpoint", e);
    // The event notification and the yield's reply object are the guest's, charged to its
    // factory; the guest may only wait on the notification, and only the VMM signals it.
    const l4::Selector event = selector(guest, slot_event);
    if ((e = l4::factory_create(factory, ObjectKind::notification, event)) != Error::ok ||
        (e = l4::factory_create(factory, ObjectKind::reply, selector(guest, slot_yield_reply))) != Error::ok ||
        (e = l4::cap_copy_to(task, event, hc::kEventSelector, rights::receive)) != Error::ok ||
        (e = l4::cap_copy_to(task, kDoorbell, hc::kDoorbellSelector, rights::send, doorbell_bit(guest.index))) !=
            Error::ok)
        return report(guest, "its event and doorbell notifications", e);
    if ((e = l4::factory_create(factory, ObjectKind::thread, thread, task, kGuestPriority)) != Error::ok)
        return report(guest, "its vCPU thread", e);
    if ((e = l4::bind_notification(thread, event)) != Error::ok ||
        (e = l4::thread_control(thread, ThreadOp::set_pager, fault)) != Error::ok ||
        (e = l4::thread_control(thread, ThreadOp::set_exception_handler, fault)) != Error::ok ||
        (e = l4::thread_start(thread, entry, memory_end(guest))) != Error::ok)
        return report(guest, "starting its vCPU", e);
    return true;
}

void delete_objects(const Guest& guest)
{
    // The vCPU first, so that nothing of the guest runs while the rest goes.
    constexpr Slot kOrder[] = {slot_thread, slot_task, slot_fault, slot_yield_reply, slot_event, slot_factory};
    for (Slot slot : kOrder)
        (void)l4::cap_delete(selector(guest, slot));
}

} // namespace

uint64_t window_of(const Guest& guest) { return kWindowBase + guest.index * kWindowSize; }

GuestMemory memory_of(const Guest& guest)
{
    return GuestMemory{reinterpret_cast<uint8_t*>(window_of(guest)), kGuestMemoryBase, guest.config.memory_bytes};
}

hc::VcpuPage& vcpu_page(const Guest& guest) { return *reinterpret_cast<hc::VcpuPage*>(vcpu_page_in_vmm(guest)); }
l4::Selector event_notification(const Guest& guest) { return selector(guest, slot_event); }
l4::Selector yield_reply(const Guest& guest) { return selector(guest, slot_yield_reply); }

bool start_guest(Guest& guest)
{
    elf::Image image{};
    if (!check_kernel(guest, image) || (!guest.memory_ready && !fetch_memory(guest)))
        return false;
    auto& info = *reinterpret_cast<hc::StartInfo*>(start_info_in_vmm(guest));
    memset(&info, 0, kPage);
    memset(reinterpret_cast<void*>(vcpu_page_in_vmm(guest)), 0, kPage);
    start_clock(guest);
    load_kernel(guest, image, info);
    const uint64_t entry = image.entry;
    const auto& boot = *reinterpret_cast<const abi::BootInfo*>(abi::kBootInfoAddress);
    const uint64_t quota =
        guest.config.kernel_memory_bytes != 0 ? guest.config.kernel_memory_bytes : boot.root_quota / kQuotaShares;
    fill_start_info(guest, info, quota);
    if (!create_objects(guest, quota, entry)) {
        delete_objects(guest);
        return false;
    }
    guest.console.clear();
    guest.running = true;
    l4::println("vmm: guest \"{}\" started: {} KiB at {:#x}, entry {:#x}, kernel memory {} KiB", guest.config.name,
                guest.config.memory_bytes / 1024, kGuestMemoryBase, entry, quota / 1024);
    return true;
}

void stop_guest(Guest& guest)
{
    // What deleting the guest's objects gives back: the same for every stop of every guest of a
    // size, whatever the guest did with its quota (scenario vmm-hostile-guest checks it).
    const uint64_t before = l4::factory_free_bytes(abi::boot::kFactorySelector, kScratchSelector);
    delete_objects(guest);
    const uint64_t after = l4::factory_free_bytes(abi::boot::kFactorySelector, kScratchSelector);
    guest.kernel_memory_back = after - before;
    detach_devices(guest);
    flush_console(guest);
    guest.running = false;
}

void console_output(Guest& guest, const uint8_t* bytes, uint64_t count)
{
    switch (guest.config.console) {
    case ConsoleMode::off: return;
    case ConsoleMode::raw:
        for (uint64_t done = 0; done < count; done += abi::kMaxDebugWrite) {
            const uint64_t n = count - done < abi::kMaxDebugWrite ? count - done : abi::kMaxDebugWrite;
            (void)l4::debug_write(reinterpret_cast<const char*>(bytes + done), n);
        }
        return;
    case ConsoleMode::lines:
        for (uint64_t i = 0; i < count; ++i)
            if (guest.console.put(bytes[i])) {
                l4::println("[{}] {}", guest.config.name, guest.console.text);
                guest.console.clear();
            }
        return;
    }
}

void flush_console(Guest& guest)
{
    if (guest.console.empty())
        return;
    l4::println("[{}] {}", guest.config.name, guest.console.text);
    guest.console.clear();
}

} // namespace vmm
