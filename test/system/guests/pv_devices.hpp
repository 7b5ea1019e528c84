// The paravirtual test guest's devices: a ring and data area each, attached by the tests of
// pv_attach_tests.cpp and driven by those of pv_device_tests.cpp and pv_peer_tests.cpp, and the
// exchange of requests and exactly expected responses they drive them with.
#pragma once

#include "pv_test.hpp"

namespace pvtest {

constexpr uint32_t kEntries = 8; // per queue, unless a device asks for more
// A doorbell is served long before this: a response that takes longer is missing.
constexpr uint64_t kResponseWaitNs = 200'000'000;

// How long a response that must not come is waited for.
constexpr uint64_t kSilenceNs = 20'000'000;

// The test guest's source MAC (locally administered), and the broadcast address.
constexpr uint8_t kOwnMac[6] = {0x02, 0, 0, 0, 0x70, 0x01};
constexpr uint8_t kBroadcastMac[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
// IEEE's "local experimental" EtherTypes: the device tests', and what the peer sends back.
constexpr uint16_t kTestType = 0x88b5, kPeerType = 0x88b6;

struct Areas {
    uint64_t ring, ring_bytes, data, data_bytes;
};

struct Device {
    DeviceKind kind;
    l4::hc::DeviceRing ring;
    uint8_t* data;
    uint64_t data_bytes;

    Areas areas() const
    {
        return {reinterpret_cast<uint64_t>(ring.ring()), ring.ring_bytes(), reinterpret_cast<uint64_t>(data),
                data_bytes};
    }
};

// A device in fresh guest memory, its queues' indices starting at `first_index`.
Device make_device(DeviceKind kind, uint64_t data_bytes, uint32_t first_index, uint32_t entries = kEntries);

// A request naming `length` bytes at `offset` of the data area.
pv::BufferRequest buffer(uint64_t offset, uint64_t length);

// A frame of `length` bytes at `offset` of the network device's data area: its header, as far
// as it goes, then whatever lies there.
pv::BufferRequest frame(Device& net, uint64_t offset, const uint8_t (&to)[6], const uint8_t (&from)[6], uint32_t length,
                        uint16_t type = kTestType);

// device_attach with the areas as given and `words` argument words.
HcStatus attach(uint64_t kind, const Areas& areas, uint64_t words = 5);

// Every refusal device_attach owes this device's kind, then the attach, then a second attach
// (busy); the block device of a guest without a disk is refused invalid_argument instead.
void check_attach(Device& device, bool has_disk = true);

// device_attach with kinds that are none: invalid_argument.
void check_unknown_kinds(const Device& device);

// Sleeps (yields) until guest time `deadline`.
void sleep_until(uint64_t deadline);

// The network device with the peer guest (pv_peer_tests.cpp).
void check_peer(Device& net);

// Waits up to `wait_ns` for the next response of `queue`: false when none came.
bool next_response(Device& device, uint32_t queue, pv::Response& response, uint64_t wait_ns);

// Requests posted together and the response each must get: one doorbell, then the responses in
// order, each checked exactly (id, status, length). A ninth request first finishes the eight.
// Its ids are unique: the next id it gives is take_id()'s.
class Exchange {
public:
    Exchange(Device& device, uint32_t queue) : device_(device), queue_(queue) {}

    // Posts `request` with a fresh id.
    template <class Request>
    void post(Request request, pv::Status status, uint32_t length, const char* what)
    {
        if (count_ == kEntries)
            finish();
        request.id = take_id();
        if (!device_.ring.post(queue_, request)) {
            expect(false, what, device_.ring.in_flight(queue_));
            return;
        }
        wanted_[count_++] = Wanted{request.id, status, length, what};
    }

    // Rings the doorbell with `extra_bits` besides the guest's badge, and checks the responses,
    // taking the first after `settle_ns` (the VMM has answered by then).
    void finish(uint64_t extra_bits = 0, uint64_t settle_ns = 0);

    static uint32_t take_id();

private:
    struct Wanted {
        uint32_t id;
        pv::Status status;
        uint32_t length;
        const char* what;
    };
    Device& device_;
    uint32_t queue_;
    Wanted wanted_[kEntries] = {};
    uint32_t count_ = 0;
};

} // namespace pvtest
