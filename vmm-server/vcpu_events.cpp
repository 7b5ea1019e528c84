// Raising events on a vCPU page and the guest clock's scale (vcpu_events.hpp).
#include "vcpu_events.hpp"

namespace vmm {

namespace {
constexpr uint64_t kNsPerSecond = 1'000'000'000;
constexpr uint64_t kScaleShift = 32;
} // namespace

TimeScale time_scale(uint64_t tsc_hz)
{
    if (tsc_hz == 0)
        tsc_hz = kNsPerSecond;
    // 10^9 < 2^30, so 10^9 << 32 fits 64 bits (no 128-bit division in a freestanding VMM).
    return TimeScale{(kNsPerSecond << kScaleShift) / tsc_hz, kScaleShift};
}

void init_vcpu_page(hc::VcpuPage& page, uint64_t tsc_base, TimeScale scale)
{
    page.time_sequence = 1; // odd: the guest waits while the scale changes
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    page.tsc_base = tsc_base;
    page.ns_base = 0;
    page.mul = scale.mul;
    page.shift = scale.shift;
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    page.time_sequence = 2;
}

bool raise_event(hc::VcpuPage& page, uint64_t source)
{
    const uint64_t bit = uint64_t{1} << source;
    __atomic_fetch_or(&page.pending_sources, bit, __ATOMIC_SEQ_CST);
    if ((__atomic_load_n(&page.enabled_sources, __ATOMIC_SEQ_CST) & bit) == 0)
        return false;
    __atomic_store_n(&page.pending, 1, __ATOMIC_SEQ_CST);
    // The store above before the load below: the guest clears masked, then reads pending.
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    return __atomic_load_n(&page.masked, __ATOMIC_SEQ_CST) == 0;
}

bool event_waiting(const hc::VcpuPage& page)
{
    return (__atomic_load_n(&page.pending_sources, __ATOMIC_SEQ_CST) &
            __atomic_load_n(&page.enabled_sources, __ATOMIC_SEQ_CST)) != 0;
}

} // namespace vmm
