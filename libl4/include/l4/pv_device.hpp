// A guest kernel's side of a paravirtual device's rings (l4/abi/pv_ring.hpp, docs/hypercalls.md
// "Rings"): it lays out the ring area, posts requests and takes responses. Header-only and free
// of kernel calls, so guests (which link no libl4) and the host tests use the same code.
#pragma once

#include <stdint.h>

#include "l4/abi/pv_ring.hpp"

namespace l4::hc {

namespace pv = abi::hc::pv;

class DeviceRing {
public:
    // `ring`: pv::ring_bytes(kind, entries) bytes aligned to pv::kRingAlignment, in guest memory;
    // `entries` a power of two. Call before device_attach: it writes the header attach reads.
    // `first`: where every queue's indices start (any value: they wrap at 2^32).
    void init(abi::hc::DeviceKind kind, void* ring, uint32_t entries, uint32_t first = 0)
    {
        kind_ = kind;
        ring_ = static_cast<uint8_t*>(ring);
        entries_ = entries;
        for (uint64_t i = 0; i < pv::ring_bytes(kind, entries); ++i)
            ring_[i] = 0;
        header().entries = entries;
        for (uint32_t queue = 0; queue < pv::kMaxQueues; ++queue) {
            pv::QueueIndices& indices = header().queues[queue];
            indices.request_producer = indices.response_producer = response_consumer_[queue] = first;
        }
    }

    // Posts a request (pv::BlockRequest for block, pv::BufferRequest otherwise); false when the
    // queue has `entries` requests without a response taken.
    template <class Request>
    bool post(uint32_t queue, const Request& request)
    {
        pv::QueueIndices& indices = header().queues[queue];
        const uint32_t producer = indices.request_producer;
        if (producer - response_consumer_[queue] >= entries_)
            return false;
        auto* slots = reinterpret_cast<Request*>(ring_ + pv::requests_offset(kind_, entries_, queue));
        slots[producer & (entries_ - 1)] = request;
        __atomic_store_n(&indices.request_producer, producer + 1, __ATOMIC_RELEASE);
        return true;
    }

    // The next response of `queue`, if the VMM posted one.
    bool take_response(uint32_t queue, pv::Response& response)
    {
        const uint32_t produced = __atomic_load_n(&header().queues[queue].response_producer, __ATOMIC_ACQUIRE);
        if (produced == response_consumer_[queue])
            return false;
        const auto* slots = reinterpret_cast<const pv::Response*>(ring_ + pv::responses_offset(kind_, entries_, queue));
        response = slots[response_consumer_[queue]++ & (entries_ - 1)];
        return true;
    }

    // Requests posted and not yet answered.
    uint32_t in_flight(uint32_t queue) const
    {
        return header().queues[queue].request_producer - response_consumer_[queue];
    }

    pv::RingHeader& header() const { return *reinterpret_cast<pv::RingHeader*>(ring_); }
    void* ring() const { return ring_; }
    uint64_t ring_bytes() const { return pv::ring_bytes(kind_, entries_); }

private:
    abi::hc::DeviceKind kind_ = abi::hc::DeviceKind::console;
    uint8_t* ring_ = nullptr;
    uint32_t entries_ = 0;
    uint32_t response_consumer_[pv::kMaxQueues] = {};
};

} // namespace l4::hc
