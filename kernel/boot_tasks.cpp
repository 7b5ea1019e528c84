// Loading the boot modules' ELF images into new tasks. Until pagers exist the kernel maps
// their segments and a stack itself, from its own frames.
#include "boot_tasks.hpp"

#include "arch/x86_64/paging.hpp"
#include "boot_info.hpp"
#include "common/elf.hpp"
#include "common/string.hpp"
#include "endpoint.hpp"
#include "io_ports.hpp"
#include "irq.hpp"
#include "factory.hpp"
#include "l4/abi/boot.hpp"
#include "log.hpp"
#include "memory.hpp"
#include "panic.hpp"
#include "scheduler.hpp"
#include "task.hpp"
#include "thread.hpp"

namespace {

constexpr uint64_t kPage = l4::abi::kPageSize;
constexpr uint64_t kStackTop = 0x00007fffffff0000;
constexpr uint64_t kStackPages = 16;
constexpr uint8_t kBootPriority = 100;
constexpr size_t kBootModules = 2; // sigma0, root task
constexpr const char* kRoles[kBootModules] = {"sigma0", "root task"};

// The module's name: its command line up to the first space.
void module_name(const mb2::Module& module, char* out, size_t size)
{
    size_t i = 0;
    for (; i + 1 < size && module.cmdline[i] != '\0' && module.cmdline[i] != ' '; ++i)
        out[i] = module.cmdline[i];
    out[i] = '\0';
}

// Maps and fills one PT_LOAD segment, page by page.
bool load_segment(Task& task, const elf::Segment& segment, const uint8_t* file)
{
    uint64_t first = segment.vaddr & ~(kPage - 1);
    uint64_t end = segment.vaddr + segment.memsz;
    for (uint64_t page = first; page < end; page += kPage) {
        uint64_t rights = l4::abi::page_rights::read | (segment.writable() ? l4::abi::page_rights::write : 0) |
                          (segment.executable() ? l4::abi::page_rights::execute : 0);
        uint64_t frame = task.map_new_page(page, rights, true);
        if (frame == 0)
            return false;
        // The part of [page, page + 4 KiB) that comes from the file; the rest stays zero.
        uint64_t from = page > segment.vaddr ? page : segment.vaddr;
        uint64_t file_end = segment.vaddr + segment.filesz;
        uint64_t to = page + kPage < file_end ? page + kPage : file_end;
        if (from < to)
            memcpy(static_cast<uint8_t*>(paging::phys_to_virt(frame)) + (from - page),
                   file + segment.offset + (from - segment.vaddr), to - from);
    }
    return true;
}

Task* start_task(const mb2::Module& module, const char* role, bool sigma0)
{
    char name[24];
    module_name(module, name, sizeof name);
    auto* data = static_cast<const uint8_t*>(paging::phys_to_virt(module.start));
    // Static executables at their own addresses (elf::Options' defaults).
    elf::Image image{};
    elf::Result parsed = elf::parse(data, module.end - module.start, elf::Options{}, image);
    if (parsed.error != elf::Error::none) {
        klog::error("{} \"{}\": not loaded: {} (program header {})", role, name, elf::describe(parsed.error),
                    parsed.index);
        return nullptr;
    }
    namespace boot = l4::abi::boot;
    l4::abi::Error error = l4::abi::Error::ok;
    const mem::Budget& budget = memory::budget();
    Factory* factory = Factory::create_root(sigma0 ? budget.sigma0_quota : budget.root_quota);
    Task* task = factory != nullptr ? Task::create(factory, boot::kBootTaskSlots, name, error) : nullptr;
    bool loaded = task != nullptr;
    if (loaded && sigma0)
        task->set_sigma0();
    for (size_t i = 0; i < image.segment_count && loaded; ++i)
        loaded = load_segment(*task, image.segments[i], data);
    for (uint64_t i = 0; i < l4::abi::kBootInfoPages && loaded; ++i) {
        paging::ChargeTables charged(task->table_account());
        loaded = paging::map_user_page(task->page_root(), l4::abi::kBootInfoAddress + i * kPage,
                                       boot_info::pages() + i * kPage, false, false);
    }
    for (uint64_t page = kStackTop - kStackPages * kPage; page < kStackTop && loaded; page += kPage)
        loaded = task->map_new_page(page, l4::abi::page_rights::read | l4::abi::page_rights::write, true) != 0;
    Thread* thread = loaded ? Thread::create(factory, task, name, kBootPriority, error) : nullptr;
    if (thread == nullptr) {
        // Out of memory this early is fatal for this task only; what it had is lost until
        // tasks own their memory through pagers.
        klog::error("{} \"{}\": not loaded: out of memory", role, name);
        return nullptr;
    }
    cap::CapSpace& caps = task->caps();
    bool granted = caps.insert_original(boot::kTaskSelector, task, l4::abi::rights::all) == l4::abi::Error::ok &&
                   caps.insert_original(boot::kThreadSelector, thread, l4::abi::rights::all) == l4::abi::Error::ok &&
                   caps.insert_original(boot::kFactorySelector, factory, l4::abi::rights::all) == l4::abi::Error::ok;
    if (!granted)
        panic("{} \"{}\": cannot place its first capabilities", role, name);
    thread->set_entry(image.entry, kStackTop);
    scheduler::make_ready(*thread);
    klog::info("{} \"{}\": {} segments, entry {:#x}", role, name, image.segment_count, image.entry);
    return task;
}

// The endpoint over which the root task calls sigma0.
void connect(Task& sigma0, Task& root)
{
    namespace boot = l4::abi::boot;
    namespace rights = l4::abi::rights;
    l4::abi::Error error = l4::abi::Error::ok;
    Endpoint* channel = Endpoint::create(sigma0.factory(), error);
    if (channel == nullptr ||
        sigma0.caps().insert_original(boot::kSigma0EndpointSelector, channel,
                                      rights::send | rights::receive | rights::grant) != l4::abi::Error::ok ||
        cap::CapSpace::derive(sigma0.caps(), boot::kSigma0EndpointSelector, root.caps(), boot::kSigma0EndpointSelector,
                              rights::send | rights::grant) != l4::abi::Error::ok)
        panic("cannot connect sigma0 and the root task");
    // sigma0 is the root task's pager: its first thread's page faults go there.
    Thread* first = root.first_thread();
    if (first == nullptr || cap::CapSpace::derive(sigma0.caps(), boot::kSigma0EndpointSelector, first->special_caps(),
                                                  Thread::pager, rights::send) != l4::abi::Error::ok)
        panic("cannot make sigma0 the root task's pager");
}

// sigma0 is the root of every resource, devices included: all I/O ports and every legacy
// interrupt line but the PIC cascade.
void grant_devices(Task& sigma0)
{
    namespace boot = l4::abi::boot;
    l4::abi::Error error = l4::abi::Error::ok;
    IoPorts* ports = IoPorts::create(sigma0.factory(), 0, IoPorts::kPorts, error);
    if (ports == nullptr ||
        sigma0.caps().insert_original(boot::kIoPortsSelector, ports, l4::abi::rights::all) != l4::abi::Error::ok)
        panic("cannot give sigma0 the I/O ports");
    for (uint32_t line = 0; line < Irq::kLines; ++line) {
        if (line == boot::kCascadeIrqLine)
            continue;
        Irq* irq = Irq::create(sigma0.factory(), line, error);
        if (irq == nullptr || sigma0.caps().insert_original(boot::kIrqSelectorBase + line, irq, l4::abi::rights::all) !=
                                  l4::abi::Error::ok)
            panic("cannot give sigma0 interrupt line {}", line);
    }
}

} // namespace

size_t start_boot_tasks(const mb2::BootInfo& info)
{
    Task* tasks[kBootModules] = {};
    size_t started = 0;
    for (size_t i = 0; i < kBootModules && i < info.module_count; ++i) {
        tasks[i] = start_task(info.modules[i], kRoles[i], i == 0);
        started += tasks[i] != nullptr ? 1u : 0u;
    }
    if (tasks[0] != nullptr)
        grant_devices(*tasks[0]);
    if (tasks[0] != nullptr && tasks[1] != nullptr)
        connect(*tasks[0], *tasks[1]);
    return started;
}
