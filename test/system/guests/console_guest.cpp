// A guest that reads its console input ring (scenario system-vmm-console-input): it prints each
// line typed to it as `got "LINE"`, a byte outside printable ASCII (or a backslash) as \xHH, and
// skips empty lines (the scenario's input begins with newlines, as many of which as the
// kernel's UART reset drops at boot may be lost). At the line `bye` it powers off; at the line
// `end` it stops polling and waits, running, for input that does not come.
//
// Why poll: the kernel ends a test run once every thread is blocked and no timeout is pending,
// which must not happen while input is still on its way from QEMU; until its last line the
// guest keeps a timer set.
#include "common/string.hpp"
#include "l4/guest_console.hpp"
#include "l4/pv_device.hpp"

namespace {

namespace hc = l4::abi::hc;
namespace pv = hc::pv;

constexpr uint32_t kEntries = 4;
constexpr uint32_t kBufferBytes = 8; // small: a line fills several buffers
constexpr uint64_t kPollNs = 10'000'000;
constexpr size_t kMaxLine = 60; // bytes kept of a line; the rest is dropped

alignas(pv::kRingAlignment) uint8_t ring_area[pv::ring_bytes(hc::DeviceKind::console, kEntries)];
alignas(64) uint8_t data_area[kEntries * kBufferBytes];
l4::hc::DeviceRing ring;
uint8_t line[kMaxLine];
size_t line_length = 0;
bool polling = true;

void post_input(uint32_t id)
{
    (void)ring.post(pv::queue::console_input, pv::BufferRequest{id, 0, uint64_t{id} * kBufferBytes, kBufferBytes, 0});
}

bool line_is(const char* word) { return line_length == strlen(word) && memcmp(line, word, line_length) == 0; }

void print_line()
{
    constexpr char kHex[] = "0123456789abcdef";
    char shown[kMaxLine * 4 + 1];
    size_t n = 0;
    for (size_t i = 0; i < line_length; ++i) {
        const uint8_t c = line[i];
        if (c >= 0x20 && c < 0x7f && c != '\\') {
            shown[n++] = static_cast<char>(c);
            continue;
        }
        shown[n++] = '\\';
        shown[n++] = 'x';
        shown[n++] = kHex[c >> 4];
        shown[n++] = kHex[c & 0xf];
    }
    shown[n] = '\0';
    l4::hc::println("got \"{}\"", shown);
}

void end_of_line()
{
    if (line_length == 0)
        return;
    print_line();
    if (line_is("bye")) {
        l4::hc::println("powering off");
        (void)l4::hc::shutdown(hc::ShutdownReason::poweroff, 0);
    }
    if (line_is("end"))
        polling = false;
    line_length = 0;
}

void take(const uint8_t* bytes, uint32_t length)
{
    for (uint32_t i = 0; i < length; ++i) {
        if (bytes[i] == '\n')
            end_of_line();
        else if (line_length < kMaxLine)
            line[line_length++] = bytes[i];
    }
}

} // namespace

// The vCPU starts in crt0.S with rsp at the top of guest memory.
extern "C" [[noreturn]] void l4_start()
{
    ring.init(hc::DeviceKind::console, ring_area, kEntries);
    const hc::HcStatus attached =
        l4::hc::device_attach(hc::DeviceKind::console, ring_area, sizeof ring_area, data_area, sizeof data_area);
    if (attached != hc::HcStatus::ok) {
        l4::hc::println("cannot attach the console: status {}", static_cast<uint64_t>(attached));
        (void)l4::hc::shutdown(hc::ShutdownReason::crash, 1);
    }
    for (uint32_t id = 0; id < kEntries; ++id)
        post_input(id);
    l4::hc::doorbell();
    l4::hc::enable_sources(uint64_t{1} << hc::source::timer | uint64_t{1} << hc::source::console);
    l4::hc::println("reading the console");
    for (;;) {
        pv::Response done;
        bool posted = false;
        while (ring.take_response(pv::queue::console_input, done)) {
            const uint32_t id = done.id % kEntries;
            take(data_area + id * kBufferBytes, done.length < kBufferBytes ? done.length : kBufferBytes);
            post_input(id);
            posted = true;
        }
        if (posted)
            l4::hc::doorbell();
        if (polling)
            (void)l4::hc::timer_set(l4::hc::now_ns() + kPollNs);
        (void)l4::hc::yield();
        (void)l4::hc::take_events();
    }
}
