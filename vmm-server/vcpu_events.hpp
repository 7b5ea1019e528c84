// The VMM's side of a vCPU page (docs/hypercalls.md, "The vCPU page"): raising an event source
// and the guest clock's scale. Portable (no kernel calls): the host tests drive it over plain
// memory.
//
// The protocol, the VMM's half: set the source's bit in `pending_sources`; if the guest enabled
// the source, set `pending`, then (after a full fence) read `masked` and signal the guest only
// when it is clear. The guest's half: clear `masked`, fence, then read `pending`. One of the two
// always sees the other's store, so an event is never lost between them.
#pragma once

#include <stdint.h>

#include "l4/abi/hypercall.hpp"

namespace vmm {

namespace hc = l4::abi::hc;

// guest ns = ns_base + ((tsc - tsc_base) * mul) >> shift, with a 128-bit product.
struct TimeScale {
    uint64_t mul;
    uint64_t shift;
};

// The scale for a TSC of `tsc_hz` (0, unknown: taken as 1 GHz, QEMU's rate under -icount).
TimeScale time_scale(uint64_t tsc_hz);

// Nanoseconds in `ticks` TSC ticks.
inline uint64_t scale_to_ns(uint64_t ticks, TimeScale scale) { return hc::scale_tsc(ticks, scale.mul, scale.shift); }

// The IPC timeout in kernel ticks of `tick_ns` until `deadline` (guest ns) at `now`: rounded
// up, at least one (a timeout of 0 would not wait at all), without overflow near 2^64.
constexpr uint64_t timeout_ticks(uint64_t deadline, uint64_t now, uint64_t tick_ns)
{
    return deadline <= now ? 1 : (deadline - now - 1) / tick_ns + 1;
}

// The guest's clock starts at 0 at TSC `tsc_base`.
void init_vcpu_page(hc::VcpuPage& page, uint64_t tsc_base, TimeScale scale);

// Raises `source` (hc::source::*). True when the guest must be signalled now: the source is
// enabled and the guest does not mask events.
bool raise_event(hc::VcpuPage& page, uint64_t source);

// Whether an enabled source is pending: what ends a yield.
bool event_waiting(const hc::VcpuPage& page);

} // namespace vmm
