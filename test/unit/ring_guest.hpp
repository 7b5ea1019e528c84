// A guest's memory in the host tests of the VMM's rings: it attaches devices, posts requests and
// reads responses the way a guest kernel would, through the layout of l4/abi/pv_ring.hpp.
#pragma once

#include <catch2/catch.hpp>

#include <memory>
#include <string.h>

#include "ring.hpp"

namespace ring_test {

namespace pv = l4::abi::hc::pv;
using l4::abi::hc::DeviceKind;
using l4::abi::hc::HcStatus;

constexpr uint64_t kGuestBase = 0x10'0000;
constexpr uint64_t kGuestBytes = 0x1'0000;
constexpr uint64_t kRing = kGuestBase + 0x1000;
constexpr uint64_t kData = kGuestBase + 0x8000;
constexpr uint64_t kDataBytes = 0x4000;

struct GuestMemoryBytes {
    alignas(64) uint8_t bytes[kGuestBytes];
};

class Guest {
public:
    Guest() : memory_(new GuestMemoryBytes{}) {}

    vmm::GuestMemory memory() const { return {memory_->bytes, kGuestBase, kGuestBytes}; }
    uint8_t* at(uint64_t address) { return memory_->bytes + (address - kGuestBase); }
    pv::RingHeader& header() { return *reinterpret_cast<pv::RingHeader*>(at(kRing)); }
    pv::QueueIndices& indices(uint32_t queue) { return header().queues[queue]; }

    // Attaches `kind` at kRing/kData with `entries` per queue, producers starting at `start`.
    vmm::DeviceRings attach(DeviceKind kind, uint32_t entries, uint32_t start = 0)
    {
        kind_ = kind;
        entries_ = entries;
        header().entries = entries;
        for (auto& queue : header().queues)
            queue.request_producer = queue.response_producer = start;
        vmm::DeviceRings rings;
        REQUIRE(vmm::attach_rings(memory(), uint64_t(kind), kRing, pv::ring_bytes(kind, entries), kData, kDataBytes,
                                  rings) == HcStatus::ok);
        return rings;
    }

    template <class Request>
    Request& request_slot(uint32_t queue, uint32_t index)
    {
        auto* slots = reinterpret_cast<Request*>(at(kRing + pv::requests_offset(kind_, entries_, queue)));
        return slots[index & (entries_ - 1)];
    }

    // Writes the entry at the producer, then publishes it.
    template <class Request>
    void post(uint32_t queue, const Request& request)
    {
        uint32_t& producer = indices(queue).request_producer;
        memcpy(&request_slot<Request>(queue, producer), &request, sizeof(request));
        ++producer;
    }

    pv::Response response(uint32_t queue, uint32_t index)
    {
        auto* slots = reinterpret_cast<pv::Response*>(at(kRing + pv::responses_offset(kind_, entries_, queue)));
        return slots[index & (entries_ - 1)];
    }

private:
    std::unique_ptr<GuestMemoryBytes> memory_;
    DeviceKind kind_ = DeviceKind::console;
    uint32_t entries_ = 0;
};

inline pv::BufferRequest buffer_request(uint32_t id, uint64_t offset, uint32_t length)
{
    return {id, 0, offset, length, 0};
}

inline uint32_t status_of(pv::Status status) { return static_cast<uint32_t>(status); }

} // namespace ring_test
