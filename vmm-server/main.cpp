// vmm-server: the root task (boot module 1). It starts a guest for every boot module whose
// command line begins with `guest` (docs/hypercalls.md, "Starting guests"), then serves their
// hypercalls and vCPU faults on one endpoint, one message at a time.
#include "l4/libc.hpp"
#include "events.hpp"
#include "guest.hpp"
#include "hypercalls.hpp"
#include "l4/abi/boot.hpp"
#include "l4/abi/boot_info.hpp"
#include "l4/format.hpp"
#include "l4/sigma0.hpp"
#include "serial.hpp"

namespace {

namespace abi = l4::abi;
using abi::Error;
using vmm::Guest;

// Boot modules in the VMM's space, 1 GiB apart (a module is at most that large).
constexpr uint64_t kModuleWindow = 0x0000'0800'0000'0000;
constexpr uint64_t kModuleWindowStride = uint64_t{1} << 30;
constexpr uint64_t kFirstGuestModule = 2; // 0 is sigma0, 1 the VMM

Guest guests[vmm::kMaxGuests];
uint64_t guest_count = 0;
bool any_refused = false; // a guest line was refused: the run's status says it failed

// The ports that leave the emulator (kernel option exit=qemu): QEMU's isa-debug-exit and Bochs'
// shutdown port, as the kernel uses them (docs/boot.md).
constexpr uint16_t kDebugExitPort = 0xf4, kBochsShutdownPort = 0x8900;
constexpr l4::Selector kDebugExitSelector = 52, kBochsShutdownSelector = 53;
bool may_leave = false;

const abi::BootInfo& boot_info() { return *reinterpret_cast<const abi::BootInfo*>(abi::kBootInfoAddress); }

// The module's bytes in the VMM's space, mapped from sigma0; null (and says why) when it cannot be.
const uint8_t* map_module(uint64_t index)
{
    const abi::BootModule& module = boot_info().modules[index];
    const uint64_t at = kModuleWindow + index * kModuleWindowStride;
    if (module.size > kModuleWindowStride - abi::kPageSize) {
        l4::println("vmm: module {} is too large ({} bytes)", index, module.size);
        return nullptr;
    }
    const Error e = l4::sigma0::map_physical_range(module.base, module.size, at);
    if (e != Error::ok) {
        l4::println("vmm: module {} cannot be mapped: error {} ({})", index, static_cast<uint64_t>(e),
                    abi::error_name(e));
        return nullptr;
    }
    return reinterpret_cast<const uint8_t*>(at + module.base % abi::kPageSize);
}

// The module named `name` (the first word of its command line) that is not a guest.
bool find_named_module(const char* name, uint64_t& index)
{
    const abi::BootInfo& info = boot_info();
    const size_t n = strlen(name);
    for (uint64_t i = kFirstGuestModule; i < info.module_count && i < abi::kMaxBootModules; ++i) {
        const char* line = info.modules[i].cmdline;
        if (!vmm::is_guest_line(line) && memcmp(line, name, n) == 0 && (line[n] == '\0' || line[n] == ' ')) {
            index = i;
            return true;
        }
    }
    return false;
}

bool name_taken(const char* name)
{
    for (uint64_t i = 0; i < guest_count; ++i)
        if (strcmp(guests[i].config.name, name) == 0)
            return true;
    return false;
}

// Takes the guest of module `index` into the table; false (and says why) when it cannot be.
bool admit(uint64_t index)
{
    const abi::BootModule& module = boot_info().modules[index];
    if (guest_count == vmm::kMaxGuests) {
        l4::println("vmm: module {}: guest refused: at most {} guests", index, vmm::kMaxGuests);
        return false;
    }
    Guest& guest = guests[guest_count];
    guest = Guest{};
    const vmm::ConfigResult parsed = vmm::parse_guest_config(module.cmdline, guest.config);
    if (!parsed.ok) {
        if (guest.config.name[0] != '\0')
            l4::println("vmm: guest \"{}\" (module {}) refused: {}", guest.config.name, index, parsed.message);
        else
            l4::println("vmm: module {}: guest refused: {}", index, parsed.message);
        return false;
    }
    const char* name = guest.config.name;
    if (name_taken(name)) {
        l4::println("vmm: guest \"{}\" (module {}) refused: another guest has that name", name, index);
        return false;
    }
    if (guest.config.initrd[0] != '\0') {
        uint64_t initrd = 0;
        if (!find_named_module(guest.config.initrd, initrd)) {
            l4::println("vmm: guest \"{}\" refused: no boot module \"{}\" for its initrd", name, guest.config.initrd);
            return false;
        }
        if ((guest.initrd = map_module(initrd)) == nullptr)
            return false;
        guest.initrd_size = boot_info().modules[initrd].size;
    }
    if (guest.config.disk[0] != '\0') {
        uint64_t disk = 0;
        if (!find_named_module(guest.config.disk, disk)) {
            l4::println("vmm: guest \"{}\" refused: no boot module \"{}\" for its disk", name, guest.config.disk);
            return false;
        }
        uint8_t* bytes = const_cast<uint8_t*>(map_module(disk)); // a ramdisk: the guest writes it
        if (bytes == nullptr)
            return false;
        guest.devices.disk = vmm::Ramdisk{bytes, boot_info().modules[disk].size / l4::abi::hc::pv::kSectorBytes};
    }
    if ((guest.kernel = map_module(index)) == nullptr)
        return false;
    guest.kernel_size = module.size;
    guest.module = index;
    guest.index = guest_count++;
    return true;
}

// Asks sigma0 for the exit ports when the kernel was booted to leave the emulator.
void prepare_leaving(const abi::BootInfo& info)
{
    if ((info.boot_flags & abi::kBootLeavesEmulator) == 0)
        return;
    Error e = l4::sigma0::io_ports(kDebugExitPort, 1, kDebugExitSelector);
    if (e == Error::ok)
        e = l4::sigma0::io_ports(kBochsShutdownPort, 1, kBochsShutdownSelector);
    if (e == Error::ok)
        e = l4::ioport_enable(kDebugExitSelector);
    if (e == Error::ok)
        e = l4::ioport_enable(kBochsShutdownSelector);
    may_leave = e == Error::ok;
    if (!may_leave)
        l4::println("vmm: exit=qemu, but no exit ports from sigma0: error {} ({}); the emulator stays",
                    static_cast<uint64_t>(e), abi::error_name(e));
}

void outb(uint16_t port, uint8_t value) { asm volatile("outb %0, %1" ::"a"(value), "Nd"(port)); }

// Every guest has stopped: the run's status, and out of the emulator when the kernel was booted
// with exit=qemu (QEMU exits with 2 * status + 1, docs/hypercalls.md "Exit status").
void all_stopped()
{
    uint64_t statuses[vmm::kMaxGuests + 1];
    for (uint64_t i = 0; i < guest_count; ++i)
        statuses[i] = guests[i].exit_status;
    statuses[guest_count] = any_refused ? vmm::kFaultStatus : 0;
    const uint64_t status = vmm::combined_status(statuses, guest_count + 1);
    l4::println("vmm: all guests have stopped: status {}", status);
    if (!may_leave)
        return;
    // Said first: Bochs has no exit port, its harness reads the code from this line.
    l4::println("vmm: leaving the emulator: exit code {:#x}", status);
    outb(kDebugExitPort, static_cast<uint8_t>(status));
    for (const char* c = "Shutdown"; *c != '\0'; ++c)
        outb(kBochsShutdownPort, static_cast<uint8_t>(*c));
}

bool any_running()
{
    for (uint64_t i = 0; i < guest_count; ++i)
        if (guests[i].running)
            return true;
    return false;
}

// A doorbell: every guest whose bit is set gets its rings served, and the switch makes a pass.
void ring_doorbells(uint64_t bits)
{
    for (uint64_t i = 0; i < guest_count; ++i)
        if ((bits & vmm::doorbell_bit(i)) && guests[i].running)
            vmm::serve_devices(guests[i]);
}

// Serves again what a budget cut short last round (a flooding guest waits its turn like this);
// true when some is still left.
bool serve_leftovers(bool& switch_more)
{
    bool left = false;
    for (uint64_t i = 0; i < guest_count; ++i)
        if (guests[i].running && guests[i].devices.more) {
            vmm::serve_devices(guests[i]);
            left = left || guests[i].devices.more;
        }
    if (switch_more)
        switch_more = vmm::serve_switch(guests, guest_count);
    return left || switch_more;
}

[[noreturn]] void serve()
{
    l4::Message m;
    bool answer = false; // m holds the reply to the last hypercall
    bool all_stopped_said = false;
    bool switch_more = false;
    for (;;) {
        vmm::serial_follow_owner(guests, guest_count);
        if (!any_running() && !all_stopped_said) {
            all_stopped();
            all_stopped_said = true;
        }
        // Work left over: look again at once, after whatever else waits.
        const uint64_t timeout =
            serve_leftovers(switch_more) ? abi::kTimeoutZero : vmm::next_timeout(guests, guest_count);
        const Error e = answer ? l4::reply_wait(vmm::kEndpoint, m, timeout) : l4::receive(vmm::kEndpoint, m, timeout);
        answer = false;
        vmm::fire_timers(guests, guest_count);
        if (e != Error::ok)
            continue; // a timeout, or a caller that went away meanwhile
        if (m.tag.label() == abi::label::notification && m.badge == 0) {
            if (m.words[0] & vmm::kSerialBit)
                vmm::serial_input(guests, guest_count);
            ring_doorbells(m.words[0]);
            switch_more = vmm::serve_switch(guests, guest_count);
            continue;
        }
        const uint64_t index = (m.badge >> 1) - 1;
        if (m.badge < 2 || index >= guest_count || !guests[index].running)
            continue; // no guest's, or a guest's last words
        all_stopped_said = false;
        Guest& guest = guests[index];
        if ((m.badge & 1) == static_cast<uint64_t>(vmm::BadgeKind::fault))
            vmm::serve_fault(guest, m);
        else
            answer = vmm::serve_hypercall(guest, m) == vmm::Outcome::reply;
    }
}

} // namespace

int main()
{
    const abi::BootInfo& info = boot_info();
    Error e = l4::factory_create(abi::boot::kFactorySelector, abi::ObjectKind::endpoint, vmm::kEndpoint);
    if (e == Error::ok)
        e = l4::factory_create(abi::boot::kFactorySelector, abi::ObjectKind::notification, vmm::kDoorbell);
    if (e == Error::ok)
        e = l4::bind_notification(abi::boot::kThreadSelector, vmm::kDoorbell);
    if (e != Error::ok) {
        l4::println("vmm: cannot create its endpoint and doorbell: error {} ({})", static_cast<uint64_t>(e),
                    abi::error_name(e));
        return 1;
    }
    vmm::init_clock(info);
    prepare_leaving(info);
    for (uint64_t i = kFirstGuestModule; i < info.module_count && i < abi::kMaxBootModules; ++i)
        if (vmm::is_guest_line(info.modules[i].cmdline) && !admit(i))
            any_refused = true;
    uint64_t started = 0;
    for (uint64_t i = 0; i < guest_count; ++i)
        started += vmm::start_guest(guests[i]) ? 1u : 0u;
    l4::println("vmm: {} of {} guests started", started, guest_count);
    vmm::serial_start(guests, guest_count);
    serve();
}
