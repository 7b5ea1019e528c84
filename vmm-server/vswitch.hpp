// The virtual switch between guests' network devices (docs/hypercalls.md, "Virtual switch").
// Portable: it reaches the guests' rings through a Ports type given to pass(), so the host tests
// drive it with plain memory.
//
// Rules:
// - One port per guest. A frame is copied once into each receiver's buffer, straight from the
//   sender's data area; the switch keeps no frames, so a sender never waits.
// - A receiver without a posted buffer loses the frame (counted); nobody waits for it.
// - A source MAC belongs to the first port that sends from it, until that port is detached or
//   its own newer MACs push it out of the port's share of the table; a frame from another port
//   with that source is dropped (counted as spoofed), so no guest takes another's traffic.
// - Each port sends at most `budget` frames a pass, one per round, so no guest starves another.
#pragma once

#include <stdint.h>

#include "common/string.hpp"
#include "l4/abi/pv_ring.hpp"

namespace vmm {

namespace pv = l4::abi::hc::pv;

constexpr uint32_t kMacBytes = 6;
constexpr uint32_t kMaxPorts = 8;
constexpr uint32_t kMacsPerPort = 16; // a port's share of the table

struct Mac {
    uint8_t bytes[kMacBytes];

    bool operator==(const Mac& other) const { return memcmp(bytes, other.bytes, kMacBytes) == 0; }
    bool group() const { return bytes[0] & 1; } // broadcast or multicast
};

// Source MAC -> port, each port learning into its own share, least recently seen out first.
class MacTable {
public:
    enum class Learn { learned, refreshed, spoofed, group_source };

    Learn learn(const Mac& source, uint32_t port);
    // The port that owns `mac`, or kMaxPorts when none does.
    uint32_t lookup(const Mac& mac) const;
    void forget(uint32_t port);
    uint32_t count(uint32_t port) const;

private:
    struct Entry {
        Mac mac;
        uint64_t last_seen; // 0: free
    };
    bool find(const Mac& mac, uint32_t& port, uint32_t& slot) const;

    Entry entries_[kMaxPorts][kMacsPerPort] = {};
    uint64_t clock_ = 0;
};

// What the switch sees of a port's device.
struct TxFrame {
    const uint8_t* bytes; // in the sender's data area
    uint32_t length;
};
struct RxBuffer {
    uint8_t* bytes; // in the receiver's data area
    uint32_t capacity;
};

struct PortCounters {
    uint64_t tx_frames = 0;       // forwarded (to none, some or all)
    uint64_t tx_bad_length = 0;   // outside kFrameMinBytes..kFrameMaxBytes: answered bad_length
    uint64_t tx_spoofed = 0;      // source owned by another port: dropped
    uint64_t tx_bad_source = 0;   // group source MAC: dropped
    uint64_t rx_frames = 0;       // delivered
    uint64_t rx_no_buffer = 0;    // lost: no buffer posted
    uint64_t rx_small_buffer = 0; // lost: the buffer was answered bad_length
};

// Ports must offer, for a port number:
//   bool next_tx(uint32_t port, TxFrame&);     the next frame the guest sent, inside its data area
//   void tx_done(uint32_t port, pv::Status);   answers that frame
//   bool rx_buffer(uint32_t port, RxBuffer&);  the next buffer the guest posted
//   void rx_done(uint32_t port, pv::Status, uint32_t length); answers that buffer
class VSwitch {
public:
    bool attach(uint32_t port); // false when out of range or attached already
    void detach(uint32_t port); // its MACs are forgotten
    bool attached(uint32_t port) const { return port < kMaxPorts && (attached_ & bit(port)); }

    // The ports a frame from `source` with this header goes to (a bit each), learning its
    // source; 0 when it is dropped. `header` is the switch's own copy.
    uint32_t destinations(uint32_t source, const uint8_t (&header)[pv::kFrameMinBytes]);

    // Moves up to `budget` frames from each port, round robin; returns how many were taken.
    template <class Ports>
    uint32_t pass(Ports& ports, uint32_t budget);

    const PortCounters& counters(uint32_t port) const { return counters_[port]; }
    const MacTable& table() const { return table_; }

private:
    static uint32_t bit(uint32_t port) { return 1u << port; }
    uint32_t first_after(uint32_t port) const; // the first attached port from `port` on, cyclically
    template <class Ports>
    void forward(Ports& ports, uint32_t source, const TxFrame& frame);

    MacTable table_;
    PortCounters counters_[kMaxPorts];
    uint32_t attached_ = 0;
    uint32_t first_port_ = 0; // who opens the next pass's rounds: attached ports take turns
};

template <class Ports>
uint32_t VSwitch::pass(Ports& ports, uint32_t budget)
{
    uint32_t sent[kMaxPorts] = {};
    uint32_t active = budget == 0 ? 0 : attached_;
    uint32_t first = first_after(first_port_);
    first_port_ = (first + 1) % kMaxPorts;
    uint32_t taken = 0;
    while (active != 0) {
        for (uint32_t i = 0; i < kMaxPorts; ++i) {
            uint32_t port = (first + i) % kMaxPorts;
            if (!(active & bit(port)))
                continue;
            TxFrame frame;
            if (!ports.next_tx(port, frame)) {
                active &= ~bit(port);
                continue;
            }
            ++taken;
            if (++sent[port] == budget)
                active &= ~bit(port);
            forward(ports, port, frame);
        }
    }
    return taken;
}

template <class Ports>
void VSwitch::forward(Ports& ports, uint32_t source, const TxFrame& frame)
{
    PortCounters& sender = counters_[source];
    if (frame.length < pv::kFrameMinBytes || frame.length > pv::kFrameMaxBytes) {
        ++sender.tx_bad_length;
        ports.tx_done(source, pv::Status::bad_length);
        return;
    }
    // The sender may rewrite its frame at any time: decide on a copy of the header.
    uint8_t header[pv::kFrameMinBytes];
    memcpy(header, frame.bytes, sizeof(header));
    __atomic_signal_fence(__ATOMIC_SEQ_CST);
    uint32_t targets = destinations(source, header);
    for (uint32_t port = 0; port < kMaxPorts; ++port) {
        if (!(targets & bit(port)))
            continue;
        PortCounters& receiver = counters_[port];
        RxBuffer buffer;
        if (!ports.rx_buffer(port, buffer)) {
            ++receiver.rx_no_buffer;
        } else if (buffer.capacity < frame.length) {
            ++receiver.rx_small_buffer;
            ports.rx_done(port, pv::Status::bad_length, 0);
        } else {
            memcpy(buffer.bytes, frame.bytes, frame.length);
            ++receiver.rx_frames;
            ports.rx_done(port, pv::Status::ok, frame.length);
        }
    }
    // Drops are the network's, not the sender's fault: its frame was taken.
    ports.tx_done(source, pv::Status::ok);
}

} // namespace vmm
