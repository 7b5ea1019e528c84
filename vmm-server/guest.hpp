// A guest of the VMM: its configuration, its kernel objects and its memory, and starting and
// stopping it (docs/hypercalls.md, "Starting guests").
//
// Guest memory is fetched from sigma0 once per guest, in blocks of up to 4 MiB, and seen twice:
// by the guest at [kGuestMemoryBase, kGuestMemoryBase + size) and by the VMM in the guest's
// window (window_of()), which is how the VMM loads the kernel and will read the guest's rings.
// A restart reuses the memory, zeroed, with new kernel objects.
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "console_line.hpp"
#include "devices.hpp"
#include "exit_status.hpp"
#include "guest_config.hpp"
#include "l4/abi/hypercall.hpp"
#include "l4/syscall.hpp"

namespace vmm {

namespace hc = l4::abi::hc;

constexpr uint64_t kMaxGuests = 8;
// Where a guest sees its memory: guest kernels are linked to run inside it.
constexpr uint64_t kGuestMemoryBase = 0x400000;
// Free memory the guest must have above its kernel and modules: the vCPU starts with rsp at
// the top of guest memory.
constexpr uint64_t kMinStackBytes = 64 * 1024;
// A guest's share of the VMM's kernel memory at boot: 1/kQuotaShares each.
constexpr uint64_t kQuotaShares = 16;
constexpr uint64_t kGuestPriority = 50; // below the VMM's 100: the VMM always answers
// Enough for a guest kernel's processes: pv-linux-shim takes 4 for each of its 64.
constexpr uint64_t kGuestCapabilitySlots = 512;
constexpr uint64_t kGuestFactorySelector = 11; // in the guest: its own factory (StartInfo)
constexpr uint64_t kMaxRestarts = 3;

// The VMM's endpoint, on which every hypercall and vCPU fault arrives.
constexpr l4::Selector kEndpoint = 48;
// The VMM's doorbell notification, bound to its thread: guest i signals it through a copy
// badged doorbell_bit(i); the serial line's interrupt sets bit 0.
constexpr l4::Selector kDoorbell = 49;
constexpr uint64_t kSerialBit = 1;
// COM1's I/O ports and interrupt line, from sigma0 (serial.hpp).
constexpr l4::Selector kSerialPorts = 50, kSerialIrq = 51;
constexpr uint64_t doorbell_bit(uint64_t index) { return uint64_t{1} << (8 + index); }

// A badge says which guest and what came: (index + 1) << 1 | kind.
enum class BadgeKind : uint64_t { hypercall = 0, fault = 1 };
constexpr uint64_t badge_of(uint64_t index, BadgeKind kind) { return (index + 1) << 1 | static_cast<uint64_t>(kind); }

struct Guest {
    GuestConfig config;
    uint64_t index = 0;
    uint64_t module = 0;             // its kernel's boot module
    const uint8_t* kernel = nullptr; // the kernel ELF, mapped from the module
    size_t kernel_size = 0;
    const uint8_t* initrd = nullptr; // the initrd= module, or null
    size_t initrd_size = 0;
    bool memory_ready = false; // fetched from sigma0 (once)
    bool running = false;
    uint64_t restarts = 0;
    uint64_t kernel_memory_back = 0;     // what deleting its objects gave back, at its last stop
    uint64_t exit_status = kFaultStatus; // of its last stop (exit_status.hpp); kFaultStatus until then
    ConsoleLine console;
    uint64_t tsc_base = 0;       // the TSC at its start: guest time 0
    uint64_t timer_deadline = 0; // guest ns; 0: no timer
    bool yielding = false;       // its yield's reply is kept until an event
    GuestDevices devices;
};

// Creates the guest's objects, loads its kernel into its memory and starts its vCPU. On any
// failure it says why (naming the guest), leaves nothing behind and returns false.
bool start_guest(Guest& guest);

// Destroys the guest's objects (its vCPU first), noting what that gave back; its memory stays
// for a restart.
void stop_guest(Guest& guest);

// The guest's console output (console_write or its console ring), as its console= word says.
void console_output(Guest& guest, const uint8_t* bytes, uint64_t count);

// Prints what is left in the guest's console line.
void flush_console(Guest& guest);

// Where the VMM sees the guest's memory, and how the ring checks see it.
uint64_t window_of(const Guest& guest);
GuestMemory memory_of(const Guest& guest);

hc::VcpuPage& vcpu_page(const Guest& guest);
l4::Selector event_notification(const Guest& guest); // the VMM's capability (send)
l4::Selector yield_reply(const Guest& guest);        // where a yield's reply is kept

} // namespace vmm
