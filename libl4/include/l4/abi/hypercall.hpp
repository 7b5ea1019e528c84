// The hypercall ABI between vmm-server and a paravirtualized guest kernel (docs/hypercalls.md).
// A hypercall is an IPC call on the endpoint capability the VMM placed at kHypercallSelector in
// the guest's capability space, badged with the guest's identity: the tag's label is the
// hypercall number, the arguments are message words 0-5 (registers), and the reply's word 0 is
// an HcStatus, its other words the results. Every hypercall fits in registers: none needs the
// guest's UTCB, so each takes the kernel's IPC fast path. Declared once, here, for the VMM and
// for every guest.
#pragma once

#include <stdint.h>

namespace l4::abi::hc {

// The ABI's version, in version()'s result: major << 16 | minor. A guest refuses a major it
// does not know; a minor only adds.
constexpr uint64_t kVersionMajor = 1, kVersionMinor = 0;
constexpr uint64_t kVersion = kVersionMajor << 16 | kVersionMinor;

// Capabilities the VMM places in a guest's capability space.
constexpr uint64_t kHypercallSelector = 8;   // the VMM's endpoint (send), badged with the guest
constexpr uint64_t kEventSelector = 9;       // the guest's event notification (receive): VMM -> guest
constexpr uint64_t kDoorbellSelector = 10;   // the VMM's doorbell notification (send), badged: guest -> VMM
constexpr uint64_t kFirstGuestSelector = 16; // from here on the guest's own

// Where the guest finds what the VMM gives it, in its own address space.
constexpr uint64_t kStartInfoAddress = 0x0000'7fff'ffe0'0000; // one page, read-only
constexpr uint64_t kVcpuPageAddress = 0x0000'7fff'ffe0'1000;  // one page, shared read/write

// Hypercall numbers (the tag's label).
enum class Call : uint64_t {
    version = 1,       // -> w1 = kVersion, w2 = feature bits (features::)
    console_write = 2, // w0 = length (1..kConsoleBytes), w1..w5 = the bytes, packed little-endian
    timer_set = 3,     // w0 = absolute deadline in guest nanoseconds (0: cancel) -> event source timer
    shutdown = 4,      // w0 = ShutdownReason, w1 = exit status (0..255); does not return
    yield = 5,         // the vCPU has nothing to do until an event: returns at once or after one
    device_attach = 6, // w0 = DeviceKind, w1 = ring address, w2 = ring bytes, w3 = data address, w4 = data bytes
};

// The guest's first 40 console bytes per hypercall (5 words); the real console is a ring.
constexpr uint64_t kConsoleBytes = 40;

namespace features {
constexpr uint64_t console_ring = 1 << 0;
constexpr uint64_t block = 1 << 1;
constexpr uint64_t net = 1 << 2;
} // namespace features

enum class ShutdownReason : uint64_t { poweroff = 0, reboot = 1, crash = 2 };

enum class DeviceKind : uint64_t { console = 1, block = 2, net = 3 };

// Reply word 0.
enum class HcStatus : uint64_t {
    ok = 0,
    unknown_call = 1,     // no such hypercall number
    invalid_argument = 2, // a length, a reason, a kind or a flag the call does not take
    out_of_range = 3,     // an address range not wholly inside the guest's memory
    busy = 4,             // a device attached twice
    no_memory = 5,        // the guest's quota cannot pay for it
};

// Event sources: bit n of the vCPU page's pending and enabled words.
namespace source {
constexpr uint64_t timer = 0, console = 1, block = 2, net = 3, shutdown_request = 4;
} // namespace source

// The vCPU page (Xen's vcpu_info is the model). The guest sets `masked` to hold off events and
// clears it, then checks `pending`: the VMM signals the guest's event notification only while
// it is unmasked, after setting the source's bit in `pending_sources` and then `pending`, so no
// event is lost between the two. Time: guest ns = ns_base + ((tsc - tsc_base) * mul) >> shift,
// read while `time_sequence` is even and unchanged across the read.
struct VcpuPage {
    volatile uint8_t masked;
    volatile uint8_t pending;
    uint8_t reserved0[6];
    volatile uint64_t pending_sources; // set by the VMM, cleared by the guest (atomically)
    volatile uint64_t enabled_sources; // set by the guest
    volatile uint64_t time_sequence;
    volatile uint64_t tsc_base;
    volatile uint64_t ns_base;
    volatile uint64_t mul;
    volatile uint64_t shift;
    // The TSC when the VMM last raised an event for this vCPU: the guest's handler may measure
    // how long the event took to reach it (scripts/bench does).
    volatile uint64_t event_tsc;
};
static_assert(sizeof(VcpuPage) <= 4096);

// The time formula's scaling, (ticks * mul) >> shift with a 128-bit product: the VMM's and the
// guest's clocks share it.
constexpr uint64_t scale_tsc(uint64_t ticks, uint64_t mul, uint64_t shift)
{
    return static_cast<uint64_t>((static_cast<unsigned __int128>(ticks) * mul) >> shift);
}

// The start-info page: what the guest was given.
constexpr uint64_t kStartInfoMagic = 0x4b53'5452'4749'4e46; // "KSTRGINF"
constexpr uint64_t kMaxModules = 4;
struct Module {
    uint64_t address; // in the guest's address space (inside its memory)
    uint64_t size;
};
struct StartInfo {
    uint64_t magic;
    uint64_t version;      // kVersion
    char name[32];         // the guest's name, NUL-terminated
    uint64_t memory_base;  // the guest's memory: [memory_base, memory_base + memory_size)
    uint64_t memory_size;  // in its own address space, backed by the VMM
    uint64_t kernel_end;   // the first byte of memory the guest kernel image does not use
    uint64_t quota_bytes;  // kernel memory the guest's factory holds
    uint64_t module_count; // the initrd first
    Module modules[kMaxModules];
    uint64_t factory_selector; // the guest's factory (sub-factory of the VMM's), for its processes
    char cmdline[256];         // the guest's command line, NUL-terminated
};
static_assert(sizeof(StartInfo) <= 4096);

} // namespace l4::abi::hc
