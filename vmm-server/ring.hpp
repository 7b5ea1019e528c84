// The VMM's side of a paravirtual device's rings: the attach checks and one queue's server.
// Portable (no kernel calls), so the host tests drive it over plain memory.
//
// Rules (docs/hypercalls.md, "Rings"):
// - Guest memory is the guest's to change at any moment: every index and entry is read once,
//   into the VMM's own memory, and only that copy is checked and used.
// - The bounds of the ring and data areas, the entry count and the consumer index are checked
//   at attach and kept privately; the guest's copies of them are never read again.
// - A producer index that runs ahead of the ring breaks the queue for good: the VMM reports it
//   and serves that queue no more; a bad entry only gets a bad status in its response.
#pragma once

#include <stdint.h>

#include "common/string.hpp"
#include "l4/abi/pv_ring.hpp"

namespace vmm {

namespace pv = l4::abi::hc::pv;
using l4::abi::hc::DeviceKind;
using l4::abi::hc::HcStatus;

// The guest's memory as the VMM maps it: guest addresses [guest_base, guest_base + size) at
// `host`.
struct GuestMemory {
    uint8_t* host = nullptr;
    uint64_t guest_base = 0;
    uint64_t size = 0;

    // Where [address, address + bytes) lies in the VMM; nullptr unless wholly inside.
    uint8_t* find(uint64_t address, uint64_t bytes) const;
};

// A device's rings as attach checked them.
struct DeviceRings {
    DeviceKind kind = DeviceKind::console;
    uint8_t* ring = nullptr;
    uint64_t ring_bytes = 0;
    uint8_t* data = nullptr;
    uint64_t data_bytes = 0;
    uint32_t entries = 0; // per queue
};

// device_attach's checks (w0..w4 as the guest passed them): invalid_argument for an unknown kind,
// a zero size, a ring not aligned to kRingAlignment, ring and data overlapping, an entry count
// that is no power of two or above kMaxEntries, or a ring too small for it; out_of_range unless
// both areas lie wholly inside guest memory. Refusing a second attach is the caller's.
HcStatus attach_rings(const GuestMemory& memory, uint64_t kind, uint64_t ring_address, uint64_t ring_bytes,
                      uint64_t data_address, uint64_t data_bytes, DeviceRings& rings);

// Whether [offset, offset + length) lies inside a data area of `area_bytes`, without overflow.
constexpr bool inside_area(uint64_t offset, uint64_t length, uint64_t area_bytes)
{
    return offset <= area_bytes && length <= area_bytes - offset;
}

enum class Take {
    ok,         // `copy` holds the next request, its buffer inside the data area
    empty,      // nothing waits
    bad_buffer, // `copy` holds the next request, its buffer is not inside: answer it bad_buffer
    broken,     // the guest's producer ran ahead of the ring: the queue is served no more
};

// One queue of a device: takes the guest's requests in order and posts responses.
template <class Request>
class RingQueue {
public:
    RingQueue() = default;                               // broken until given rings
    RingQueue(const DeviceRings& rings, uint32_t queue); // queue < pv::queue_count(rings.kind)

    // The next request, copied out of guest memory before it is checked. The guest's producer is
    // read only when the requests seen last are all taken.
    Take take(Request& copy);

    // Where the buffer of a request that take() returned ok lies in the VMM.
    uint8_t* buffer(const Request& copy) const { return data_ + copy.offset; }

    // Posts `response` at the VMM's response producer, then publishes the index.
    void respond(const pv::Response& response);

    bool broken() const { return broken_; }
    uint32_t consumer() const { return consumer_; }
    uint32_t broken_producer() const { return seen_producer_; } // the index that broke it

private:
    pv::QueueIndices* indices_ = nullptr;
    Request* requests_ = nullptr;
    pv::Response* responses_ = nullptr;
    uint8_t* data_ = nullptr;
    uint64_t data_bytes_ = 0;
    uint32_t mask_ = 0;
    uint32_t consumer_ = 0;
    uint32_t seen_producer_ = 0;
    uint32_t response_producer_ = 0;
    bool broken_ = true;
};

enum class Pass {
    idle,         // every request that waited was served
    budget_spent, // the budget ran out first: more may wait
    broken,       // see Take::broken
};

struct PassResult {
    Pass status;
    uint32_t served; // responses posted, bad ones included
};

// Serves at most `budget` requests of `queue`: handle(const Request& copy, uint8_t* buffer)
// returns the response for a good one (its id is set here); a bad buffer is answered bad_buffer.
template <class Request, class Handler>
PassResult serve(RingQueue<Request>& queue, uint32_t budget, Handler&& handle)
{
    PassResult result{Pass::budget_spent, 0};
    for (; result.served < budget; ++result.served) {
        Request copy;
        Take taken = queue.take(copy);
        if (taken == Take::empty || taken == Take::broken) {
            result.status = taken == Take::empty ? Pass::idle : Pass::broken;
            return result;
        }
        pv::Response response{};
        if (taken == Take::ok)
            response = handle(copy, queue.buffer(copy));
        else
            response.status = static_cast<uint32_t>(pv::Status::bad_buffer);
        response.id = copy.id;
        queue.respond(response);
    }
    return result;
}

// --- RingQueue ---------------------------------------------------------------------------------

template <class Request>
RingQueue<Request>::RingQueue(const DeviceRings& rings, uint32_t queue)
    : indices_(&reinterpret_cast<pv::RingHeader*>(rings.ring)->queues[queue]),
      requests_(reinterpret_cast<Request*>(rings.ring + pv::requests_offset(rings.kind, rings.entries, queue))),
      responses_(reinterpret_cast<pv::Response*>(rings.ring + pv::responses_offset(rings.kind, rings.entries, queue))),
      data_(rings.data), data_bytes_(rings.data_bytes), mask_(rings.entries - 1), broken_(false)
{
    static_assert(sizeof(Request) == sizeof(pv::BlockRequest) || sizeof(Request) == sizeof(pv::BufferRequest));
    // The queue starts at the guest's response producer: requests it posted before the attach
    // (receive buffers, say) are served like any later one.
    consumer_ = seen_producer_ = response_producer_ = __atomic_load_n(&indices_->response_producer, __ATOMIC_ACQUIRE);
}

template <class Request>
Take RingQueue<Request>::take(Request& copy)
{
    if (broken_)
        return Take::broken;
    if (consumer_ == seen_producer_) {
        uint32_t producer = __atomic_load_n(&indices_->request_producer, __ATOMIC_ACQUIRE);
        // More than a ring's worth waiting (modulo 2^32, so a producer behind the consumer too).
        if (producer - consumer_ > mask_ + 1) {
            broken_ = true;
            seen_producer_ = producer;
            return Take::broken;
        }
        seen_producer_ = producer;
        if (consumer_ == seen_producer_)
            return Take::empty;
    }
    memcpy(&copy, &requests_[consumer_ & mask_], sizeof(Request));
    // The compiler may not read the entry again in place of the copy.
    __atomic_signal_fence(__ATOMIC_SEQ_CST);
    ++consumer_;
    return inside_area(copy.offset, copy.length, data_bytes_) ? Take::ok : Take::bad_buffer;
}

template <class Request>
void RingQueue<Request>::respond(const pv::Response& response)
{
    if (broken_)
        return;
    memcpy(&responses_[response_producer_ & mask_], &response, sizeof(response));
    ++response_producer_;
    __atomic_store_n(&indices_->response_producer, response_producer_, __ATOMIC_RELEASE);
}

} // namespace vmm
