// The test guest's peer on the virtual switch (scenario vmm-pv-net): it announces itself with a
// broadcast "hello" every few milliseconds until the test guest answers "ack", then sends every
// frame of its EtherType back to where it came from (its MACs swapped), until "bye". Frames of
// other types it drops. Prints how many it sent back and powers off.
#include "common/string.hpp"
#include "l4/guest_console.hpp"
#include "l4/pv_device.hpp"

namespace {

namespace hc = l4::abi::hc;
namespace pv = hc::pv;

constexpr uint32_t kEntries = 8;
constexpr uint32_t kBufferBytes = 2048; // a whole frame
constexpr uint64_t kHelloNs = 5'000'000;
constexpr uint8_t kPeerMac[6] = {0x02, 0, 0, 0, 0x70, 0x02};
constexpr uint8_t kEtherType[2] = {0x88, 0xb6}; // the test guest's peer tests (pv_peer_tests.cpp)

alignas(pv::kRingAlignment) uint8_t ring_area[pv::ring_bytes(hc::DeviceKind::net, kEntries)];
// kEntries rx buffers, then kEntries tx buffers.
alignas(4096) uint8_t data_area[2 * kEntries * kBufferBytes];
l4::hc::DeviceRing ring;
uint32_t next_tx = 0;

uint8_t* buffer(uint32_t index) { return data_area + index * kBufferBytes; }

void post_rx(uint32_t index)
{
    (void)ring.post(pv::queue::net_rx, pv::BufferRequest{index, 0, uint64_t{index} * kBufferBytes, kBufferBytes, 0});
}

// Sends `length` bytes already in tx buffer `index`.
void send(uint32_t index, uint32_t length)
{
    pv::Response done;
    while (ring.take_response(pv::queue::net_tx, done)) {
    }
    if (ring.post(pv::queue::net_tx, pv::BufferRequest{index, 0, uint64_t{index} * kBufferBytes, length, 0}))
        l4::hc::doorbell();
}

// The tx buffers in turn: kEntries of them, as many as the tx queue holds.
uint32_t take_tx_buffer() { return kEntries + next_tx++ % kEntries; }

void send_hello()
{
    const uint32_t index = take_tx_buffer();
    uint8_t* frame = buffer(index);
    memset(frame, 0xff, 6);
    memcpy(frame + 6, kPeerMac, 6);
    memcpy(frame + 12, kEtherType, 2);
    memcpy(frame + 14, "hello", 6);
    send(index, 14 + 6);
}

// Sends the frame back to its source, from this guest's MAC.
void reflect(const uint8_t* frame, uint32_t length)
{
    const uint32_t index = take_tx_buffer();
    uint8_t* copy = buffer(index);
    memcpy(copy, frame + 6, 6);
    memcpy(copy + 6, kPeerMac, 6);
    memcpy(copy + 12, frame + 12, length - 12);
    send(index, length);
}

} // namespace

extern "C" [[noreturn]] void l4_start()
{
    ring.init(hc::DeviceKind::net, ring_area, kEntries);
    for (uint32_t index = 0; index < kEntries; ++index)
        post_rx(index);
    const hc::HcStatus attached =
        l4::hc::device_attach(hc::DeviceKind::net, ring_area, sizeof ring_area, data_area, sizeof data_area);
    if (attached != hc::HcStatus::ok) {
        l4::hc::println("net-peer: FAIL attach: status {}", static_cast<uint64_t>(attached));
        (void)l4::hc::shutdown(hc::ShutdownReason::poweroff, 1);
    }
    l4::hc::enable_sources(uint64_t{1} << hc::source::net | uint64_t{1} << hc::source::timer);
    bool announcing = true, done = false;
    uint64_t reflected = 0;
    while (!done) {
        if (announcing)
            send_hello();
        (void)l4::hc::timer_set(l4::hc::now_ns() + kHelloNs);
        (void)l4::hc::yield();
        (void)l4::hc::take_events();
        pv::Response r;
        while (ring.take_response(pv::queue::net_rx, r)) {
            const uint32_t index = r.id % kEntries;
            const uint8_t* frame = buffer(index);
            if (r.status == static_cast<uint32_t>(pv::Status::ok) && r.length >= 14 &&
                memcmp(frame + 12, kEtherType, 2) == 0) {
                const char* payload = reinterpret_cast<const char*>(frame + 14);
                if (r.length >= 14 + 4 && memcmp(payload, "ack", 4) == 0) {
                    announcing = false;
                } else if (r.length >= 14 + 4 && memcmp(payload, "bye", 4) == 0) {
                    done = true;
                } else {
                    reflect(frame, r.length);
                    ++reflected;
                }
            }
            post_rx(index);
        }
        l4::hc::doorbell(); // for the buffers posted again
    }
    l4::hc::println("net-peer: sent back {} frames", reflected);
    (void)l4::hc::shutdown(hc::ShutdownReason::poweroff, 0);
    for (;;) {
    }
}
