// A guest kernel's network device (docs/hypercalls.md, "Virtual switch"), over DeviceRing:
// `Entries` receive buffers, all posted while the guest is not looking at one, and `Entries`
// transmit buffers, in one data area. Header-only and free of kernel calls but device_attach,
// like pv_device.hpp.
//
//   NetDevice<8> net;
//   net.attach();                          // every rx buffer posted
//   uint8_t* f = net.tx_frame();           // a free tx buffer, or null while all are in flight
//   ...fill f; net.send(f, length); l4::hc::doorbell();
//   while (net.receive(frame, length)) ... // valid until the next receive()
#pragma once

#include <stdint.h>

#include "l4/hypercall.hpp"
#include "l4/pv_device.hpp"

namespace l4::hc {

constexpr uint32_t kMacBytes = 6;
constexpr uint32_t kEthernetHeaderBytes = 14;

// An Ethernet header at `frame`: destination, source, type.
inline void write_ethernet_header(uint8_t* frame, const uint8_t (&to)[kMacBytes], const uint8_t (&from)[kMacBytes],
                                  uint16_t type)
{
    for (uint32_t i = 0; i < kMacBytes; ++i) {
        frame[i] = to[i];
        frame[kMacBytes + i] = from[i];
    }
    frame[12] = static_cast<uint8_t>(type >> 8);
    frame[13] = static_cast<uint8_t>(type);
}

inline uint16_t ethernet_type(const uint8_t* frame) { return static_cast<uint16_t>(frame[12] << 8 | frame[13]); }

template <uint32_t Entries>
class NetDevice {
    static_assert(Entries != 0 && (Entries & (Entries - 1)) == 0, "a power of two");

public:
    static constexpr uint32_t kBufferBytes = 2048; // one whole frame

    HcStatus attach()
    {
        ring_.init(abi::hc::DeviceKind::net, ring_area_, Entries);
        for (uint32_t id = 0; id < Entries; ++id)
            post_rx(id);
        return device_attach(abi::hc::DeviceKind::net, ring_area_, sizeof ring_area_, data_, sizeof data_);
    }

    // The next free transmit buffer, or null while every one is in flight.
    uint8_t* tx_frame()
    {
        abi::hc::pv::Response done;
        while (ring_.take_response(pv::queue::net_tx, done)) {
        }
        if (ring_.in_flight(pv::queue::net_tx) == Entries)
            return nullptr;
        return buffer(Entries + ring_.header().queues[pv::queue::net_tx].request_producer % Entries);
    }

    // Posts the frame tx_frame() gave (length kFrameMinBytes..kFrameMaxBytes); the doorbell is
    // the caller's, once for a batch.
    void send(const uint8_t* frame, uint32_t length)
    {
        const auto id = static_cast<uint32_t>((frame - data_) / kBufferBytes);
        (void)ring_.post(pv::queue::net_tx, pv::BufferRequest{id, 0, uint64_t{id} * kBufferBytes, length, 0});
    }

    // The next frame received whole (answers with an error status are skipped), valid until
    // the next call, which posts its buffer again; false when none waits.
    bool receive(const uint8_t*& frame, uint32_t& length)
    {
        if (held_ != kNone)
            post_rx(held_);
        held_ = kNone;
        abi::hc::pv::Response r;
        while (ring_.take_response(pv::queue::net_rx, r)) {
            const uint32_t id = r.id % Entries;
            if (r.status != static_cast<uint32_t>(pv::Status::ok) || r.length > kBufferBytes) {
                post_rx(id);
                continue;
            }
            held_ = id;
            frame = buffer(id);
            length = r.length;
            return true;
        }
        return false;
    }

    // For tests that post entries of their own (malformed ones, say) and read the answers.
    DeviceRing& ring() { return ring_; }
    uint64_t data_bytes() const { return sizeof data_; }

private:
    static constexpr uint32_t kNone = ~uint32_t{0};

    uint8_t* buffer(uint32_t id) { return data_ + uint64_t{id} * kBufferBytes; }

    void post_rx(uint32_t id)
    {
        (void)ring_.post(pv::queue::net_rx, pv::BufferRequest{id, 0, uint64_t{id} * kBufferBytes, kBufferBytes, 0});
    }

    alignas(pv::kRingAlignment) uint8_t ring_area_[pv::ring_bytes(abi::hc::DeviceKind::net, Entries)];
    alignas(4096) uint8_t data_[2 * Entries * kBufferBytes]; // rx buffers, then tx buffers
    DeviceRing ring_;
    uint32_t held_ = kNone; // the rx buffer receive() last gave
};

} // namespace l4::hc
