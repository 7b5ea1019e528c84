// The frames the test and benchmark guests exchange through the switch: an Ethernet header of
// type kTestEtherType, a kind byte and a 32-bit number (a round, a window). Header-only, for
// guests (no libl4).
#pragma once

#include <stdint.h>

#include "common/string.hpp"
#include "l4/pv_net.hpp"

namespace test_frames {

using l4::hc::kEthernetHeaderBytes;
using l4::hc::kMacBytes;

constexpr uint16_t kTestEtherType = 0x88b5; // IEEE's "local experimental"
constexpr uint32_t kTaggedBytes = kEthernetHeaderBytes + 5;

struct Tagged {
    uint8_t from[kMacBytes];
    uint8_t kind;
    uint32_t number;
};

// Posts a tagged frame of `length` bytes (at least kTaggedBytes), ringing the doorbell while
// every transmit buffer is in flight; the doorbell for the frame itself is the caller's.
template <uint32_t Entries>
void send(l4::hc::NetDevice<Entries>& net, const uint8_t (&to)[kMacBytes], const uint8_t (&from)[kMacBytes],
          uint8_t kind, uint32_t number, uint32_t length = kTaggedBytes)
{
    uint8_t* frame = nullptr;
    while ((frame = net.tx_frame()) == nullptr)
        l4::hc::doorbell();
    l4::hc::write_ethernet_header(frame, to, from, kTestEtherType);
    frame[kEthernetHeaderBytes] = kind;
    memcpy(frame + kEthernetHeaderBytes + 1, &number, sizeof number);
    net.send(frame, length);
}

// The next frame received; false when none waits. `ours` says whether it is a tagged frame.
template <uint32_t Entries>
bool receive(l4::hc::NetDevice<Entries>& net, Tagged& got, bool& ours)
{
    const uint8_t* frame = nullptr;
    uint32_t length = 0;
    if (!net.receive(frame, length))
        return false;
    ours = length >= kTaggedBytes && l4::hc::ethernet_type(frame) == kTestEtherType;
    memcpy(got.from, frame + kMacBytes, kMacBytes);
    got.kind = ours ? frame[kEthernetHeaderBytes] : 0;
    got.number = 0;
    if (ours)
        memcpy(&got.number, frame + kEthernetHeaderBytes + 1, sizeof got.number);
    return true;
}

// Sleeps until an event or `patience` ns; false when the time ran out.
inline bool wait(uint64_t patience)
{
    const uint64_t deadline = l4::hc::now_ns() + patience;
    (void)l4::hc::timer_set(deadline);
    (void)l4::hc::yield();
    (void)l4::hc::take_events();
    return l4::hc::now_ns() < deadline;
}

} // namespace test_frames
