// The demonstration guest scripts/run boots twice beside the VMM: it says who it is, then the
// two play ping-pong with Ethernet frames through the VMM's virtual switch, and power off.
// The command line after `--` gives the role: `ping` sends ping 1..3 and waits for each pong
// (sending again on a timer when a frame found no buffer, as before the peer attached); `pong`
// answers each ping and powers off after the last.
#include "common/string.hpp"
#include "l4/guest_console.hpp"
#include "l4/pv_net.hpp"

namespace {

namespace hc = l4::abi::hc;

constexpr uint64_t kRounds = 3;
constexpr uint64_t kResendNs = 5'000'000; // 5 ms
constexpr uint16_t kEtherType = 0x88b5;   // IEEE's "local experimental"
constexpr uint8_t kBroadcast[l4::hc::kMacBytes] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};

l4::hc::NetDevice<8> net;
uint8_t my_mac[l4::hc::kMacBytes] = {0x02, 0, 0, 0, 0, 0};

// A broadcast frame carrying `text` (two guests share the switch: no need to learn the peer).
void send(const char* text)
{
    uint8_t* frame = net.tx_frame();
    if (frame == nullptr)
        return; // all in flight: the resend timer tries again
    l4::hc::write_ethernet_header(frame, kBroadcast, my_mac, kEtherType);
    const size_t length = strlen(text);
    memcpy(frame + l4::hc::kEthernetHeaderBytes, text, length + 1);
    net.send(frame, static_cast<uint32_t>(l4::hc::kEthernetHeaderBytes + length + 1));
    l4::hc::doorbell();
}

// The text of the next frame received of our type, copied to `text`; false when none waits.
bool receive(char (&text)[64])
{
    const uint8_t* frame = nullptr;
    uint32_t length = 0;
    while (net.receive(frame, length)) {
        constexpr uint32_t kHeader = l4::hc::kEthernetHeaderBytes;
        if (length <= kHeader || l4::hc::ethernet_type(frame) != kEtherType || memcmp(frame + 6, my_mac, 6) == 0)
            continue;
        const uint32_t n = length - kHeader < sizeof text ? length - kHeader : sizeof text;
        memcpy(text, frame + kHeader, n);
        text[sizeof text - 1] = '\0';
        return true;
    }
    return false;
}

// Sleeps until a frame or the timer.
void wait()
{
    (void)l4::hc::timer_set(l4::hc::now_ns() + kResendNs);
    (void)l4::hc::yield();
    (void)l4::hc::take_events();
}

void format(char (&text)[64], const char* what, uint64_t round, const char* name)
{
    fmt::format_to(text, sizeof text, "{} {} from {}", what, round, name);
}

// Takes what was received; true (and says so) once the pong of `round` is among it.
bool pong_came(uint64_t round)
{
    char got[64];
    while (receive(got))
        if (memcmp(got, "pong ", 5) == 0 && got[5] == static_cast<char>('0' + round)) {
            l4::hc::println("got \"{}\"", got);
            return true;
        }
    return false;
}

void ping(const char* name)
{
    for (uint64_t round = 1; round <= kRounds; ++round) {
        char frame[64];
        format(frame, "ping", round, name);
        send(frame);
        l4::hc::println("sent \"{}\"", frame);
        // Nothing in time: the frame found no buffer (the peer had not attached yet): again.
        while (!pong_came(round)) {
            wait();
            if (pong_came(round))
                break;
            send(frame);
        }
    }
}

void pong(const char* name)
{
    uint64_t answered = 0;
    while (answered < kRounds) {
        char got[64], frame[64];
        while (answered < kRounds && receive(got)) {
            if (memcmp(got, "ping ", 5) != 0)
                continue;
            const uint64_t round = static_cast<uint64_t>(got[5] - '0');
            if (round == answered + 1) {
                l4::hc::println("got \"{}\"", got);
                ++answered;
            }
            format(frame, "pong", round, name); // a ping sent again gets its pong again
            send(frame);
        }
        if (answered < kRounds)
            wait();
    }
}

} // namespace

// The vCPU starts in crt0.S with rsp at the top of guest memory.
extern "C" [[noreturn]] void l4_start()
{
    const hc::StartInfo& info = l4::hc::start_info();
    l4::hc::println("hello, I am guest \"{}\": {} KiB of memory at {:#x}, in my own task", info.name,
                    info.memory_size / 1024, info.memory_base);
    my_mac[5] = static_cast<uint8_t>(info.name[0]);
    const hc::HcStatus attached = net.attach();
    if (attached != hc::HcStatus::ok) {
        l4::hc::println("cannot attach the network device: status {}", static_cast<uint64_t>(attached));
        (void)l4::hc::shutdown(hc::ShutdownReason::crash, 1);
    }
    l4::hc::enable_sources(uint64_t{1} << hc::source::timer | uint64_t{1} << hc::source::net);
    if (memcmp(info.cmdline, "pong", 5) == 0)
        pong(info.name);
    else
        ping(info.name);
    l4::hc::println("done: powering off");
    (void)l4::hc::shutdown(hc::ShutdownReason::poweroff, 0);
    for (;;) {
    }
}
