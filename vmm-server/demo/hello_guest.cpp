// The demonstration guest scripts/run boots twice beside the VMM: it says who it is, takes a
// few turns with the other guest (yield), and powers off.
#include "l4/guest_console.hpp"

namespace {
constexpr uint64_t kRounds = 3;
}

// The vCPU starts in crt0.S with rsp at the top of guest memory.
extern "C" [[noreturn]] void l4_start()
{
    namespace hc = l4::abi::hc;
    const hc::StartInfo& info = l4::hc::start_info();
    l4::hc::println("hello, I am guest \"{}\": {} KiB of memory at {:#x}, in my own task", info.name,
                    info.memory_size / 1024, info.memory_base);
    l4::hc::enable_sources(uint64_t{1} << hc::source::timer);
    for (uint64_t round = 1; round <= kRounds; ++round) {
        l4::hc::println("round {} of {}", round, kRounds);
        (void)l4::hc::timer_set(l4::hc::now_ns() + 1'000'000); // 1 ms
        (void)l4::hc::yield();
        (void)l4::hc::take_events();
    }
    l4::hc::println("done: powering off");
    (void)l4::hc::shutdown(hc::ShutdownReason::poweroff, 0);
    for (;;) {
    }
}
