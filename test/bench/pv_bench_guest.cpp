// Benchmarks of the paravirtual path, as two guests of vmm-server (scripts/bench boots them).
// The `sender` measures the hypercall round trip (version), the timer's expiry to its handler
// (from the VMM raising the event, vCPU page event_tsc, to the guest back from its yield), and
// streams frames of 1,514 bytes (1,500 of payload) through the switch to the `receiver`, which
// acknowledges each window of kWindow frames. Under -icount the TSC counts instructions, of
// the whole machine (both guests, the VMM, the kernel): the figures are instruction counts,
// printed as "bench: NAME median N min M runs R".
#include "bench_stats.hpp"
#include "common/string.hpp"
#include "l4/guest_console.hpp"
#include "l4/pv_net.hpp"
#include "../system/guests/test_frames.hpp"

namespace {

namespace hc = l4::abi::hc;
using l4::hc::kEthernetHeaderBytes;
using l4::hc::kMacBytes;

constexpr uint64_t kHypercallRuns = 10000, kTimerRuns = 100, kTransfers = 11;
constexpr uint32_t kWindow = 32, kWindowsPerTransfer = 8; // frames per doorbell, windows per sample
constexpr uint32_t kFramesPerTransfer = kWindow * kWindowsPerTransfer;
constexpr uint32_t kFrameBytes = kEthernetHeaderBytes + 1500;
constexpr uint64_t kTimerDelayNs = 1'000'000;
constexpr uint64_t kPatienceNs = 100'000'000; // no frame for this long: one was lost
// The payload's first byte says what a frame is; bytes 1..4 carry a window's number.
enum Kind : uint8_t { hello = 'H', data = 'D', ack = 'A' };

constexpr uint8_t kBroadcast[kMacBytes] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
constexpr uint8_t kSenderMac[kMacBytes] = {0x02, 0, 0, 0, 0, 's'};
constexpr uint8_t kReceiverMac[kMacBytes] = {0x02, 0, 0, 0, 0, 'r'};

l4::hc::NetDevice<2 * kWindow> net;
uint64_t samples[kHypercallRuns], scratch[kHypercallRuns];
uint64_t overhead = 0; // of an empty measurement

[[noreturn]] void finish(uint64_t status)
{
    l4::hc::println("bench: {}", status == 0 ? "guest done" : "FAILED");
    (void)l4::hc::shutdown(hc::ShutdownReason::poweroff, status);
    for (;;) {
    }
}

void report(const char* name, uint64_t runs, uint64_t divisor = 1)
{
    const bench::Stats s = bench::summarize(samples, scratch, runs);
    auto net_of = [](uint64_t v) { return v > overhead ? v - overhead : 0; };
    l4::hc::println("bench: {} median {} min {} runs {}", name, net_of(s.median) / divisor, net_of(s.minimum) / divisor,
                    runs);
}

void send(const uint8_t (&to)[kMacBytes], const uint8_t (&from)[kMacBytes], Kind kind, uint32_t window,
          uint32_t length = test_frames::kTaggedBytes)
{
    test_frames::send(net, to, from, kind, window, length);
}

// The next frame of ours: its kind and window; false when none waits.
bool receive(Kind& kind, uint32_t& window)
{
    test_frames::Tagged got;
    bool ours = false;
    while (test_frames::receive(net, got, ours))
        if (ours) {
            kind = static_cast<Kind>(got.kind);
            window = got.number;
            return true;
        }
    return false;
}

using test_frames::wait;

// Waits for the receiver's ack of `window`, saying hello (again) while none comes when
// `hello_first`; false when it never came.
bool await_ack(uint32_t window, bool hello_first)
{
    for (uint64_t tries = 0; tries < 50; ++tries) {
        if (hello_first) {
            send(kBroadcast, kSenderMac, hello, window);
            l4::hc::doorbell();
        }
        for (;;) {
            Kind kind{};
            uint32_t acked = 0;
            while (receive(kind, acked))
                if (kind == ack && acked == window)
                    return true;
            if (!wait(hello_first ? kPatienceNs / 20 : kPatienceNs))
                break;
        }
        if (!hello_first)
            return false;
    }
    return false;
}

void bench_hypercall()
{
    for (uint64_t i = 0; i < kHypercallRuns; ++i) {
        uint64_t version = 0, features = 0;
        const uint64_t start = bench::tsc();
        (void)l4::hc::version(version, features);
        samples[i] = bench::tsc() - start;
    }
    report("hypercall_round_trip", kHypercallRuns);
}

void bench_timer()
{
    for (uint64_t i = 0; i < kTimerRuns; ++i) {
        (void)l4::hc::timer_set(l4::hc::now_ns() + kTimerDelayNs);
        while ((l4::hc::vcpu().pending_sources & (uint64_t{1} << hc::source::timer)) == 0)
            (void)l4::hc::yield();
        samples[i] = bench::tsc() - l4::hc::vcpu().event_tsc;
        (void)l4::hc::take_events();
    }
    report("timer_expiry_to_guest", kTimerRuns);
}

// Each sample: kFramesPerTransfer frames, in windows, each acknowledged; per frame.
bool bench_frames()
{
    if (!await_ack(0, true)) {
        l4::hc::println("bench: FAILED: no answer from the receiver");
        return false;
    }
    uint32_t window = 0;
    for (uint64_t t = 0; t < kTransfers; ++t) {
        const uint64_t start = bench::tsc();
        for (uint32_t w = 0; w < kWindowsPerTransfer; ++w) {
            ++window;
            for (uint32_t f = 0; f < kWindow; ++f)
                send(kReceiverMac, kSenderMac, data, window, kFrameBytes);
            l4::hc::doorbell();
            if (!await_ack(window, false)) {
                l4::hc::println("bench: FAILED: window {} was not acknowledged (a frame was lost)", window);
                return false;
            }
        }
        samples[t] = bench::tsc() - start;
    }
    report("switch_frame_1500", kTransfers, kFramesPerTransfer);
    return true;
}

void sender()
{
    for (uint64_t i = 0; i < kHypercallRuns; ++i) {
        const uint64_t start = bench::tsc();
        samples[i] = bench::tsc() - start;
    }
    overhead = bench::summarize(samples, scratch, kHypercallRuns).median;
    bench_hypercall();
    bench_timer();
    finish(bench_frames() ? 0 : 1);
}

// Acknowledges the hellos, and each window once all its frames came.
void receiver()
{
    const uint32_t total = kTransfers * kFramesPerTransfer;
    uint32_t frames = 0, strays = 0;
    while (frames < total) {
        Kind kind{};
        uint32_t window = 0;
        bool answered = false;
        while (receive(kind, window)) {
            if (kind == hello) {
                send(kSenderMac, kReceiverMac, ack, 0);
                answered = true;
            } else if (kind == data && window != frames / kWindow + 1) {
                ++strays; // not of the window that is due: a duplicate or a frame out of order
                l4::hc::println("bench: FAILED: a frame of window {} while {} frames came", window, frames);
            } else if (kind == data && ++frames % kWindow == 0) {
                send(kSenderMac, kReceiverMac, ack, frames / kWindow);
                answered = true;
            }
        }
        if (answered)
            l4::hc::doorbell();
        if (frames < total && !wait(frames == 0 ? 20 * kPatienceNs : kPatienceNs)) {
            l4::hc::println("bench: FAILED: {} of {} frames came", frames, total);
            finish(1);
        }
    }
    l4::hc::println("bench: received {} frames of {} bytes, none lost, {} stray", frames, kFrameBytes, strays);
    finish(strays == 0 ? 0 : 1);
}

} // namespace

// The vCPU starts in crt0.S with rsp at the top of guest memory.
extern "C" [[noreturn]] void l4_start()
{
    const hc::StartInfo& info = l4::hc::start_info();
    const hc::HcStatus attached = net.attach();
    if (attached != hc::HcStatus::ok) {
        l4::hc::println("bench: FAILED: cannot attach the network device: status {}", static_cast<uint64_t>(attached));
        finish(1);
    }
    l4::hc::enable_sources(uint64_t{1} << hc::source::timer | uint64_t{1} << hc::source::net);
    if (memcmp(info.cmdline, "receiver", sizeof "receiver") == 0)
        receiver();
    else
        sender();
    finish(1);
}
