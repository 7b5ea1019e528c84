// The network device with a peer on the switch (frame_echo_guest.cpp, scenario vmm-pv-net): rx
// buffers good and bad, frames the peer sends back, a spoofed frame and one to ourselves
// (docs/hypercalls.md, "Virtual switch").
#include "common/string.hpp"
#include "pv_devices.hpp"

namespace pvtest {

namespace {

using pv::Status;

constexpr uint8_t kPeerMac[6] = {0x02, 0, 0, 0, 0x70, 0x02};
constexpr uint32_t kHelloTries = 10; // of kResponseWaitNs each: the peer may start late
constexpr uint32_t kEchoBytes = 60;

// Where the frames and rx buffers lie in the data area (8192 bytes).
namespace at {
constexpr uint64_t tx = 0, small = 6144, first = 6272, second = 6400, big = 6144;
constexpr uint64_t outside = 8190; // 64 bytes from here are not inside
} // namespace at

uint32_t post_rx(Device& net, uint64_t offset, uint64_t capacity)
{
    pv::BufferRequest request = buffer(offset, capacity);
    request.id = Exchange::take_id();
    expect(net.ring.post(pv::queue::net_rx, request), "an rx buffer posted");
    return request.id;
}

// Sends `length` bytes of the peer's type, carrying `text`, and checks the tx response.
void send(Device& net, const uint8_t (&to)[6], const uint8_t (&from)[6], uint32_t length, const char* text,
          const char* what)
{
    const pv::BufferRequest request = frame(net, at::tx, to, from, length, kPeerType);
    memcpy(net.data + at::tx + pv::kFrameMinBytes, text, strlen(text) + 1);
    Exchange tx(net, pv::queue::net_tx);
    tx.post(request, Status::ok, 0, what);
    tx.finish();
}

// The next rx response: for buffer `id`, with exactly this status and length.
void expect_rx(Device& net, uint32_t id, Status status, uint32_t length, const char* what)
{
    pv::Response r{};
    const bool came = next_response(net, pv::queue::net_rx, r, kResponseWaitNs);
    expect(came && r.id == id && r.status == static_cast<uint32_t>(status) && r.length == length, what,
           came ? uint64_t{r.id} << 40 | uint64_t{r.status} << 32 | r.length : ~uint64_t{0});
}

void expect_no_rx(Device& net, const char* what)
{
    pv::Response r{};
    expect(!next_response(net, pv::queue::net_rx, r, kSilenceNs), what, r.id);
}

// The frame in the rx buffer at `offset` came back from the peer to us with our text.
bool sent_back(const Device& net, uint64_t offset, const char* text)
{
    const uint8_t* frame = net.data + offset;
    return memcmp(frame, kOwnMac, 6) == 0 && memcmp(frame + 6, kPeerMac, 6) == 0 &&
           memcmp(frame + pv::kFrameMinBytes, text, strlen(text) + 1) == 0;
}

// Waits for the peer's hello in one rx buffer, answers ack, and lets the hellos still on their
// way find no buffer: afterwards only the frames sent here come back.
void meet_peer(Device& net)
{
    const uint32_t id = post_rx(net, at::first, 128);
    pv::Response r{};
    bool came = false;
    for (uint32_t i = 0; i < kHelloTries && !came; ++i)
        came = next_response(net, pv::queue::net_rx, r, kResponseWaitNs);
    const uint8_t* hello = net.data + at::first;
    expect(came && r.id == id && r.status == 0 && r.length == pv::kFrameMinBytes + 6 &&
               memcmp(hello + 6, kPeerMac, 6) == 0 && memcmp(hello + pv::kFrameMinBytes, "hello", 6) == 0,
           "the peer's hello", r.length);
    send(net, kPeerMac, kOwnMac, kEchoBytes, "ack", "ack to the peer");
    sleep_until(l4::hc::now_ns() + kSilenceNs);
}

} // namespace

void check_peer(Device& net)
{
    set_context("net with a peer");
    meet_peer(net);
    const uint32_t outside = post_rx(net, at::outside, 64);
    const uint32_t small = post_rx(net, at::small, 20);
    const uint32_t first = post_rx(net, at::first, 128);
    const uint32_t second = post_rx(net, at::second, 128);
    l4::hc::doorbell();
    send(net, kPeerMac, kOwnMac, kEchoBytes, "echo 1", "a frame to the peer");
    expect_rx(net, outside, Status::bad_buffer, 0, "an rx buffer outside the data area: bad_buffer, the frame lost");
    send(net, kPeerMac, kOwnMac, kEchoBytes, "echo 2", "a frame to the peer");
    expect_rx(net, small, Status::bad_length, 0, "an rx buffer of 20 bytes for 60: bad_length, the frame lost");
    send(net, kPeerMac, kOwnMac, kEchoBytes, "echo 3", "a frame to the peer");
    expect_rx(net, first, Status::ok, kEchoBytes, "a frame back from the peer");
    expect(sent_back(net, at::first, "echo 3"), "the frame back: to us, from the peer, our text");
    // The peer would send these back too (the harness counts what it sent): the switch drops the
    // first, and nothing goes back to the port it came from.
    send(net, kPeerMac, kPeerMac, kEchoBytes, "spoofed", "a frame from the peer's MAC");
    send(net, kOwnMac, kOwnMac, kEchoBytes, "to myself", "a frame to our own MAC");
    expect_no_rx(net, "a spoofed frame and one to ourselves: nothing back");
    send(net, kPeerMac, kOwnMac, kEchoBytes, "echo 4", "a frame to the peer");
    expect_rx(net, second, Status::ok, kEchoBytes, "a frame back into the next buffer");
    expect(sent_back(net, at::second, "echo 4"), "the frame back: to us, from the peer, our text");
    const uint32_t big = post_rx(net, at::big, pv::kFrameMaxBytes);
    send(net, kPeerMac, kOwnMac, pv::kFrameMaxBytes, "echo 5", "a frame of 1514 bytes to the peer");
    expect_rx(net, big, Status::ok, pv::kFrameMaxBytes, "a frame of 1514 bytes back");
    expect(sent_back(net, at::big, "echo 5") &&
               memcmp(net.data + at::big + 12, net.data + at::tx + 12, pv::kFrameMaxBytes - 12) == 0,
           "the frame of 1514 bytes back: every byte after the MACs as sent");
    send(net, kPeerMac, kOwnMac, kEchoBytes, "bye", "bye to the peer");
}

} // namespace pvtest
