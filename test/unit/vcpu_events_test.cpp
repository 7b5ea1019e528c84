// The VMM's half of the vCPU page protocol (vmm-server/vcpu_events.hpp): which raises signal
// the guest, what ends a yield, and the clock's scale.
#include <catch2/catch.hpp>

#include "vcpu_events.hpp"

namespace {

namespace source = l4::abi::hc::source;
using l4::abi::hc::VcpuPage;

uint64_t bit(uint64_t s) { return uint64_t{1} << s; }

} // namespace

TEST_CASE("vcpu events: a disabled source is recorded but neither pends nor signals")
{
    VcpuPage page{};
    CHECK_FALSE(vmm::raise_event(page, source::timer));
    CHECK(page.pending_sources == bit(source::timer));
    CHECK(page.pending == 0);
    CHECK_FALSE(vmm::event_waiting(page));
    // Enabling it later: the guest sees it waiting at its next check.
    page.enabled_sources = bit(source::timer);
    CHECK(vmm::event_waiting(page));
}

TEST_CASE("vcpu events: an enabled source pends and signals only while unmasked")
{
    VcpuPage page{};
    page.enabled_sources = bit(source::net) | bit(source::block);
    CHECK(vmm::raise_event(page, source::net));
    CHECK(page.pending == 1);
    CHECK(page.pending_sources == bit(source::net));

    page.masked = 1;
    CHECK_FALSE(vmm::raise_event(page, source::block));
    CHECK(page.pending == 1);
    CHECK(page.pending_sources == (bit(source::net) | bit(source::block)));
    CHECK(vmm::event_waiting(page));
}

TEST_CASE("vcpu events: raising twice keeps one bit; other sources are untouched")
{
    VcpuPage page{};
    page.enabled_sources = ~uint64_t{0};
    page.pending_sources = bit(source::console);
    CHECK(vmm::raise_event(page, source::shutdown_request));
    CHECK(vmm::raise_event(page, source::shutdown_request));
    CHECK(page.pending_sources == (bit(source::console) | bit(source::shutdown_request)));
}

TEST_CASE("vcpu events: the clock scale converts TSC ticks to nanoseconds")
{
    const vmm::TimeScale ghz = vmm::time_scale(1'000'000'000);
    CHECK(ghz.mul == uint64_t{1} << 32);
    CHECK(ghz.shift == 32);
    CHECK(vmm::scale_to_ns(123'456'789, ghz) == 123'456'789);
    // 3 GHz: 3 ticks a nanosecond; an hour of ticks does not overflow the product.
    const vmm::TimeScale fast = vmm::time_scale(3'000'000'000);
    CHECK(vmm::scale_to_ns(3'000'000'000, fast) >= 999'999'999);
    CHECK(vmm::scale_to_ns(3'000'000'000, fast) <= 1'000'000'000);
    CHECK(vmm::scale_to_ns(uint64_t{3'000'000'000} * 3600, fast) / 1'000'000'000 == 3599);
    // Unknown rate: taken as 1 GHz.
    CHECK(vmm::time_scale(0).mul == ghz.mul);
    // A slow 1 MHz counter: 1,000 ns a tick.
    CHECK(vmm::scale_to_ns(5, vmm::time_scale(1'000'000)) == 5000);
}

TEST_CASE("vcpu events: init_vcpu_page publishes the scale with an even sequence")
{
    VcpuPage page{};
    vmm::init_vcpu_page(page, 777, vmm::time_scale(2'000'000'000));
    CHECK(page.tsc_base == 777);
    CHECK(page.ns_base == 0);
    CHECK(page.mul == uint64_t{1} << 31);
    CHECK(page.shift == 32);
    CHECK(page.time_sequence % 2 == 0);
    CHECK(page.time_sequence != 0);
}

TEST_CASE("vcpu events: timeout ticks round up, wait at least one tick and do not overflow")
{
    constexpr uint64_t tick = 10'000'000;
    CHECK(vmm::timeout_ticks(100, 100, tick) == 1);        // due now
    CHECK(vmm::timeout_ticks(5, 100, tick) == 1);          // past
    CHECK(vmm::timeout_ticks(101, 100, tick) == 1);        // 1 ns ahead
    CHECK(vmm::timeout_ticks(100 + tick, 100, tick) == 1); // one tick ahead exactly
    CHECK(vmm::timeout_ticks(101 + tick, 100, tick) == 2);
    CHECK(vmm::timeout_ticks(~uint64_t{0}, 0, tick) == (~uint64_t{0} - 1) / tick + 1);
    CHECK(vmm::timeout_ticks(~uint64_t{0}, 1, 1) == ~uint64_t{0} - 1);
}
