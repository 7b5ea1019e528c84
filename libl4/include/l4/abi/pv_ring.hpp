// The paravirtual devices' rings, shared by a guest and the VMM (docs/hypercalls.md, "Rings").
// A device's ring area (device_attach's ring address and bytes) holds a RingHeader, then for each
// of the device's queues its request entries and then its response entries. Buffers are named by
// offset into the device's data area (device_attach's data address and bytes), never by pointer.
#pragma once

#include <stdint.h>

#include "l4/abi/hypercall.hpp"

namespace l4::abi::hc::pv {

constexpr uint32_t kMaxEntries = 4096;  // per queue
constexpr uint64_t kRingAlignment = 64; // of the ring area, so the indices are naturally aligned
constexpr uint32_t kMaxQueues = 2;

// Free-running 32-bit indices: entry i lives in slot i & (entries - 1), and producer - consumer
// (modulo 2^32) is how many entries wait. Read and written with acquire/release atomics.
struct QueueIndices {
    uint32_t request_producer;  // written by the guest after it fills the entry
    uint32_t response_producer; // written by the VMM after it fills the entry
};

struct RingHeader {
    uint32_t entries; // per queue, a power of two (1..kMaxEntries): set before attach, read once then
    uint32_t reserved;
    QueueIndices queues[kMaxQueues];
    uint8_t padding[40];
};
static_assert(sizeof(RingHeader) == kRingAlignment);

// Which queue is which, per device.
namespace queue {
constexpr uint32_t block = 0;
constexpr uint32_t console_output = 0, console_input = 1; // input: buffers the guest posts
constexpr uint32_t net_tx = 0, net_rx = 1;                // rx: buffers the guest posts
} // namespace queue

// A response's status.
enum class Status : uint32_t {
    ok = 0,
    bad_op = 1,     // an operation the device does not know
    bad_buffer = 2, // offset + length not wholly inside the data area
    bad_sector = 3, // sectors beyond the disk
    bad_length = 4, // a length the operation does not take (a frame outside 14..1514, a short buffer)
};

enum class BlockOp : uint32_t { read = 1, write = 2, flush = 3, size = 4 };
constexpr uint64_t kSectorBytes = 512;

// read/write: count sectors from `sector`, length = count * kSectorBytes bytes at `offset`.
// flush: count = length = 0. size: the disk's sector count, a uint64_t written at `offset`
// (length >= 8); the response's length is 8.
struct BlockRequest {
    uint32_t id; // echoed in the response
    uint32_t op; // BlockOp
    uint64_t sector;
    uint64_t offset;
    uint32_t length;
    uint32_t count;
};
static_assert(sizeof(BlockRequest) == 32);

// Console output text, console input buffers, network tx frames and rx buffers.
struct BufferRequest {
    uint32_t id;
    uint32_t reserved0;
    uint64_t offset;
    uint32_t length; // of the text or frame; of the buffer (its capacity) when posted for input
    uint32_t reserved1;
};
static_assert(sizeof(BufferRequest) == 24);

// Every device's response.
struct Response {
    uint32_t id;     // the request's
    uint32_t status; // Status
    uint32_t length; // bytes the VMM wrote into the buffer (input, rx, block read, size)
    uint32_t reserved;
};
static_assert(sizeof(Response) == 16);

// Ethernet frames through the switch: header (14) to header + 1500 payload.
constexpr uint32_t kFrameMinBytes = 14, kFrameMaxBytes = 1514;

constexpr uint32_t queue_count(DeviceKind kind)
{
    switch (kind) {
    case DeviceKind::block: return 1;
    case DeviceKind::console:
    case DeviceKind::net: return 2;
    }
    return 0;
}

constexpr uint64_t request_bytes(DeviceKind kind)
{
    return kind == DeviceKind::block ? sizeof(BlockRequest) : sizeof(BufferRequest);
}

constexpr uint64_t queue_bytes(DeviceKind kind, uint32_t entries)
{
    return entries * (request_bytes(kind) + sizeof(Response));
}

// Offsets from the start of the ring area.
constexpr uint64_t requests_offset(DeviceKind kind, uint32_t entries, uint32_t queue)
{
    return sizeof(RingHeader) + queue * queue_bytes(kind, entries);
}
constexpr uint64_t responses_offset(DeviceKind kind, uint32_t entries, uint32_t queue)
{
    return requests_offset(kind, entries, queue) + entries * request_bytes(kind);
}

// The least ring bytes device_attach takes for `entries` per queue.
constexpr uint64_t ring_bytes(DeviceKind kind, uint32_t entries)
{
    return sizeof(RingHeader) + queue_count(kind) * queue_bytes(kind, entries);
}
static_assert(ring_bytes(DeviceKind::net, 64) == 64 + 2 * 64 * 40);

} // namespace l4::abi::hc::pv
