// device_attach with bad arguments, each refused with its exact status, then the good attach
// that proves the refusals changed nothing, then a second attach (docs/hypercalls.md, "What
// device_attach checks").
#include "pv_devices.hpp"

namespace pvtest {

namespace {

constexpr HcStatus kInvalid = HcStatus::invalid_argument, kOutside = HcStatus::out_of_range;

// Areas outside guest memory, or reaching out of it: out_of_range.
void check_ranges(uint64_t kind, const Areas& good)
{
    const hc::StartInfo& info = l4::hc::start_info();
    const uint64_t base = info.memory_base, end = info.memory_base + info.memory_size;
    const uint64_t rb = good.ring_bytes, db = good.data_bytes;
    struct Refusal {
        Areas areas;
        const char* what;
    };
    const Refusal refusals[] = {
        {{base - 4096, rb, good.data, db}, "attach: ring below guest memory"},
        {{base - 64, rb, good.data, db}, "attach: ring across the start of guest memory"},
        {{end - 64, rb, good.data, db}, "attach: ring across the end of guest memory"},
        {{end, rb, good.data, db}, "attach: ring right after guest memory"},
        {{0 - uint64_t{64}, rb, good.data, db}, "attach: ring across 2^64"},
        {{good.ring, 0 - good.ring + 64, good.data, db}, "attach: ring bytes that wrap 2^64"},
        {{hc::kStartInfoAddress, rb, good.data, db}, "attach: ring on the start-info page"},
        {{good.ring, rb, hc::kVcpuPageAddress, 4096}, "attach: data on the vCPU page"},
        {{good.ring, rb, 0, db}, "attach: data at address 0"},
        {{good.ring, rb, end - 1, 2}, "attach: data across the end of guest memory"},
        {{good.ring, rb, good.data, ~uint64_t{0}}, "attach: data of 2^64 - 1 bytes"},
        {{good.ring, rb, good.data, 0 - good.data}, "attach: data up to 2^64"},
    };
    for (const Refusal& refusal : refusals)
        expect_status(attach(kind, refusal.areas), kOutside, refusal.what);
}

// Areas inside guest memory that are still no ring: invalid_argument.
void check_shapes(uint64_t kind, const Areas& good)
{
    const uint64_t rb = good.ring_bytes, db = good.data_bytes;
    struct Refusal {
        Areas areas;
        const char* what;
    };
    const Refusal refusals[] = {
        {{good.ring, 0, good.data, db}, "attach: a ring of 0 bytes"},
        {{good.ring, rb, good.data, 0}, "attach: a data area of 0 bytes"},
        {{good.ring + 8, rb, good.data, db}, "attach: ring 8 bytes off its alignment"},
        {{good.ring + 32, rb, good.data, db}, "attach: ring 32 bytes off its alignment"},
        {{good.ring, rb, good.ring + 64, 64}, "attach: data inside the ring"},
        {{good.ring, rb, good.ring - 64, 128}, "attach: data across the ring's start"},
        {{good.data, rb, good.data, db}, "attach: ring inside the data area"},
        {{good.ring, 63, good.data, db}, "attach: ring smaller than its header"},
        {{good.ring, 64, good.data, db}, "attach: ring of a header only"},
        {{good.ring, rb - 1, good.data, db}, "attach: ring a byte short of its entries"},
    };
    for (const Refusal& refusal : refusals)
        expect_status(attach(kind, refusal.areas), kInvalid, refusal.what);
    expect_status(attach(kind, good, 4), kInvalid, "attach: 4 words");
    expect_status(attach(kind, good, 0), kInvalid, "attach: no words");
}

// The header's entries, read once at the attach: each bad count is refused.
void check_entries(Device& device)
{
    pv::RingHeader& header = device.ring.header();
    const uint32_t good = header.entries;
    // Twice the good count is a power of two, but more than the ring was laid out for.
    const uint32_t bad_entries[] = {0, 3, 12, 2 * good, pv::kMaxEntries * 2, 0x8000'0000};
    for (const uint32_t entries : bad_entries) {
        header.entries = entries;
        expect_status(attach(static_cast<uint64_t>(device.kind), device.areas()), kInvalid,
                      "attach: entries that are no power of two, too many, or more than the ring holds");
    }
    header.entries = good;
}

} // namespace

void check_attach(Device& device, bool has_disk)
{
    const uint64_t kind = static_cast<uint64_t>(device.kind);
    check_ranges(kind, device.areas());
    check_shapes(kind, device.areas());
    check_entries(device);
    if (!has_disk) {
        // Twice: the first refusal attached nothing (a second attach would be busy).
        expect_status(attach(kind, device.areas()), kInvalid, "attach: a block device without disk=");
        expect_status(attach(kind, device.areas()), kInvalid, "attach: a block device without disk=, again");
        return;
    }
    uint32_t responses_before[pv::kMaxQueues];
    for (uint32_t queue = 0; queue < pv::kMaxQueues; ++queue)
        responses_before[queue] = device.ring.header().queues[queue].response_producer;
    expect_status(attach(kind, device.areas()), HcStatus::ok, "attach after the refusals");
    Device other = make_device(device.kind, device.data_bytes, 0);
    expect_status(attach(kind, device.areas()), HcStatus::busy, "attach again, the same areas");
    expect_status(attach(kind, other.areas()), HcStatus::busy, "attach again, other areas");
    // The VMM starts each queue at the guest's response producer and answers nothing yet.
    for (uint32_t queue = 0; queue < pv::queue_count(device.kind); ++queue)
        expect(device.ring.header().queues[queue].response_producer == responses_before[queue],
               "attach: the response producer stays where the guest left it",
               device.ring.header().queues[queue].response_producer);
}

void check_unknown_kinds(const Device& device)
{
    constexpr uint64_t kUnknownKinds[] = {0, 4, 255, uint64_t{1} << 32 | 1, ~uint64_t{0}};
    for (const uint64_t kind : kUnknownKinds)
        expect_status(attach(kind, device.areas()), kInvalid, "attach: an unknown kind");
}

} // namespace pvtest
