// The VMM's ring checks (vmm-server/ring.hpp): device_attach's ranges, producers that run
// ahead, buffers outside the data area, the copy taken before the check, the budget.
#include <catch2/catch.hpp>

#include <vector>

#include "block.hpp"
#include "ring_guest.hpp"
#include "xorshift.hpp"

using namespace ring_test;

namespace {

HcStatus attach(Guest& guest, uint64_t kind, uint64_t ring, uint64_t ring_bytes, uint64_t data, uint64_t data_bytes)
{
    vmm::DeviceRings rings;
    rings.entries = 77; // a refusal changes nothing
    HcStatus status = vmm::attach_rings(guest.memory(), kind, ring, ring_bytes, data, data_bytes, rings);
    if (status != HcStatus::ok)
        CHECK(rings.entries == 77);
    return status;
}

constexpr uint64_t kNet = uint64_t(DeviceKind::net);
const uint64_t kNetRing64 = pv::ring_bytes(DeviceKind::net, 64);

// Serves `queue`, answering every good request ok with its length and recording the copies.
vmm::PassResult serve_recording(vmm::RingQueue<pv::BufferRequest>& queue, uint32_t budget,
                                std::vector<pv::BufferRequest>& seen)
{
    return vmm::serve(queue, budget, [&](const pv::BufferRequest& copy, uint8_t*) {
        seen.push_back(copy);
        return pv::Response{0, status_of(pv::Status::ok), copy.length, 0};
    });
}

} // namespace

TEST_CASE("vmm ring: the layout a guest computes", "[vmm-ring]")
{
    CHECK(pv::ring_bytes(DeviceKind::block, 8) == 64 + 8 * (32 + 16));
    CHECK(pv::ring_bytes(DeviceKind::console, 4) == 64 + 2 * 4 * (24 + 16));
    CHECK(pv::requests_offset(DeviceKind::net, 64, 1) == 64 + 64 * 40);
    CHECK(pv::responses_offset(DeviceKind::net, 64, 1) == 64 + 64 * 40 + 64 * 24);
}

TEST_CASE("vmm ring: attach keeps the bounds it checked", "[vmm-ring]")
{
    Guest guest;
    guest.header().entries = 64;
    vmm::DeviceRings rings;
    REQUIRE(vmm::attach_rings(guest.memory(), kNet, kRing, kNetRing64, kData, kDataBytes, rings) == HcStatus::ok);
    CHECK(rings.kind == DeviceKind::net);
    CHECK(rings.ring == guest.at(kRing));
    CHECK(rings.ring_bytes == 5184);
    CHECK(rings.data == guest.at(kData));
    CHECK(rings.data_bytes == kDataBytes);
    CHECK(rings.entries == 64);
    // attach_rings keeps no state: refusing a second attach (busy) is the caller's.
    CHECK(attach(guest, kNet, kRing, kNetRing64, kData, kDataBytes) == HcStatus::ok);
    // Larger than needed is fine; the data area may end guest memory exactly, and touch the ring.
    CHECK(attach(guest, kNet, kRing, 0x2000, kRing + 0x2000, kGuestBase + kGuestBytes - kRing - 0x2000) ==
          HcStatus::ok);
}

TEST_CASE("vmm ring: attach refuses what it cannot take", "[vmm-ring]")
{
    Guest guest;
    guest.header().entries = 64;
    const uint64_t end = kGuestBase + kGuestBytes;

    SECTION("kinds and sizes")
    {
        CHECK(attach(guest, 0, kRing, kNetRing64, kData, kDataBytes) == HcStatus::invalid_argument);
        CHECK(attach(guest, 4, kRing, kNetRing64, kData, kDataBytes) == HcStatus::invalid_argument);
        CHECK(attach(guest, kNet, kRing, 0, kData, kDataBytes) == HcStatus::invalid_argument);
        CHECK(attach(guest, kNet, kRing, kNetRing64, kData, 0) == HcStatus::invalid_argument);
        CHECK(attach(guest, kNet, kRing, 32, kData, kDataBytes) == HcStatus::invalid_argument); // below a header
        CHECK(attach(guest, kNet, kRing, kNetRing64 - 1, kData, kDataBytes) == HcStatus::invalid_argument);
        CHECK(attach(guest, kNet, kRing + 8, kNetRing64, kData, kDataBytes) == HcStatus::invalid_argument);
    }
    SECTION("entry counts")
    {
        for (uint32_t entries : {0u, 3u, 96u, 8192u, 0x8000'0000u, 0xffff'ffffu}) {
            guest.header().entries = entries;
            CHECK(attach(guest, kNet, kRing, 0x6000, kData + 0x2000, 0x2000) == HcStatus::invalid_argument);
        }
        guest.header().entries = 4096; // the most, but needs 327,744 bytes
        CHECK(attach(guest, kNet, kRing, 0x6000, kData + 0x2000, 0x2000) == HcStatus::invalid_argument);
        guest.header().entries = 1;
        CHECK(attach(guest, kNet, kRing, 64 + 2 * 40, kData, kDataBytes) == HcStatus::ok);
    }
    SECTION("overlapping ring and data")
    {
        CHECK(attach(guest, kNet, kRing, kNetRing64, kRing + 100, 8) == HcStatus::invalid_argument);
        CHECK(attach(guest, kNet, kRing, kNetRing64, kRing - 8, 9) == HcStatus::invalid_argument);
        CHECK(attach(guest, kNet, kRing, kNetRing64, kRing - 0x100, 0x2000) == HcStatus::invalid_argument);
        CHECK(attach(guest, kNet, kRing, kNetRing64, kRing - 8, 8) == HcStatus::ok);
    }
    SECTION("ranges outside guest memory")
    {
        CHECK(attach(guest, kNet, kGuestBase - 0x1000, kNetRing64, kData, kDataBytes) == HcStatus::out_of_range);
        CHECK(attach(guest, kNet, end, kNetRing64, kData, kDataBytes) == HcStatus::out_of_range);
        CHECK(attach(guest, kNet, end - 0x1000, kNetRing64, kData, kDataBytes) == HcStatus::out_of_range);
        CHECK(attach(guest, kNet, kRing, kNetRing64, kData, end - kData + 1) == HcStatus::out_of_range);
        CHECK(attach(guest, kNet, kRing, kNetRing64, kGuestBase - 1, 2) == HcStatus::out_of_range);
        // Sums that wrap past 2^64 land inside if added carelessly.
        CHECK(attach(guest, kNet, kRing, ~uint64_t{0} - kRing + kGuestBase + 2, kData, kDataBytes) ==
              HcStatus::out_of_range);
        CHECK(attach(guest, kNet, kRing, kNetRing64, kData, ~uint64_t{0}) == HcStatus::out_of_range);
        CHECK(attach(guest, kNet, ~uint64_t{0} - 63, kNetRing64, kData, kDataBytes) == HcStatus::out_of_range);
    }
}

TEST_CASE("vmm ring: guest memory that ends at 2^64", "[vmm-ring]")
{
    Guest guest;
    guest.header().entries = 64;
    vmm::GuestMemory top = guest.memory();
    top.guest_base = 0 - kGuestBytes; // its end wraps to 0
    const uint64_t ring = top.guest_base + (kRing - kGuestBase), data = top.guest_base + (kData - kGuestBase);
    vmm::DeviceRings rings;
    CHECK(vmm::attach_rings(top, kNet, ring, kNetRing64, data, kDataBytes, rings) == HcStatus::ok);
    CHECK(vmm::attach_rings(top, kNet, ring, kNetRing64, data, 0 - data, rings) == HcStatus::ok); // to the end
    CHECK(vmm::attach_rings(top, kNet, ring, kNetRing64, ring + 64, 8, rings) == HcStatus::invalid_argument);
    // The data area's end is 2^64, which a sum of addresses would call 0.
    CHECK(vmm::attach_rings(top, kNet, ring, kNetRing64, top.guest_base, kGuestBytes, rings) ==
          HcStatus::invalid_argument);
    CHECK(vmm::attach_rings(top, kNet, ring, kNetRing64, data, 0 - data + 1, rings) == HcStatus::out_of_range);
    CHECK(vmm::attach_rings(top, kNet, ring, kNetRing64, 0, 8, rings) == HcStatus::out_of_range);
}

TEST_CASE("vmm ring: requests served in order, responses posted", "[vmm-ring]")
{
    Guest guest;
    vmm::RingQueue<pv::BlockRequest> queue(guest.attach(DeviceKind::block, 8), pv::queue::block);
    guest.post(0, pv::BlockRequest{7, uint32_t(pv::BlockOp::read), 12, 0x200, 1024, 2});
    guest.post(0, pv::BlockRequest{8, uint32_t(pv::BlockOp::flush), 0, 0, 0, 0});
    std::vector<uint32_t> ids;
    std::vector<uint8_t*> buffers;
    auto result = vmm::serve(queue, 16, [&](const pv::BlockRequest& copy, uint8_t* buffer) {
        ids.push_back(copy.id);
        buffers.push_back(buffer);
        return pv::Response{999, status_of(pv::Status::ok), copy.length, 0};
    });
    CHECK(result.status == vmm::Pass::idle);
    CHECK(result.served == 2);
    CHECK(ids == std::vector<uint32_t>{7, 8});
    CHECK(buffers == std::vector<uint8_t*>{guest.at(kData + 0x200), guest.at(kData)});
    CHECK(guest.indices(0).response_producer == 2);
    CHECK(guest.response(0, 0).id == 7); // the VMM sets the id, not the handler
    CHECK(guest.response(0, 0).length == 1024);
    CHECK(guest.response(0, 1).id == 8);
    CHECK(guest.response(0, 1).status == 0);
    CHECK(queue.consumer() == 2);
}

TEST_CASE("vmm ring: requests posted before the attach are served", "[vmm-ring]")
{
    // A driver posts its receive buffers, then attaches: each buffer once, in order.
    Guest guest;
    const vmm::DeviceRings rings = guest.attach(DeviceKind::net, 4);
    for (uint32_t id = 1; id <= 3; ++id)
        guest.post(pv::queue::net_rx, buffer_request(id, 64 * id, 64));
    vmm::RingQueue<pv::BufferRequest> queue(rings, pv::queue::net_rx); // the VMM's side of the attach
    std::vector<pv::BufferRequest> seen;
    CHECK(serve_recording(queue, 16, seen).served == 3);
    REQUIRE(seen.size() == 3);
    CHECK(seen[0].id == 1);
    CHECK(seen[2].offset == 192);
    CHECK(guest.indices(pv::queue::net_rx).response_producer == 3);
    CHECK(serve_recording(queue, 16, seen).served == 0); // none twice
}

TEST_CASE("vmm ring: a guest whose indices were far apart at the attach breaks the queue", "[vmm-ring]")
{
    Guest guest;
    const vmm::DeviceRings rings = guest.attach(DeviceKind::net, 4);
    guest.indices(pv::queue::net_tx).request_producer = 5;
    vmm::RingQueue<pv::BufferRequest> queue(rings, pv::queue::net_tx);
    std::vector<pv::BufferRequest> seen;
    CHECK(serve_recording(queue, 16, seen).status == vmm::Pass::broken);
    CHECK(queue.broken_producer() == 5);
    CHECK(guest.indices(pv::queue::net_tx).response_producer == 0);
}

TEST_CASE("vmm ring: indices wrap at 2^32", "[vmm-ring]")
{
    Guest guest;
    vmm::RingQueue<pv::BufferRequest> queue(guest.attach(DeviceKind::net, 4, 0xffff'fffe), pv::queue::net_tx);
    CHECK(guest.indices(0).response_producer == 0xffff'fffe); // starts where the guest stands
    for (uint32_t id = 1; id <= 4; ++id)
        guest.post(0, buffer_request(id, 0, 64));
    CHECK(guest.indices(0).request_producer == 2);
    std::vector<pv::BufferRequest> seen;
    CHECK(serve_recording(queue, 16, seen).served == 4);
    CHECK(queue.consumer() == 2);
    CHECK(guest.indices(0).response_producer == 2);
    CHECK(guest.response(0, 0xffff'fffe).id == 1);
    CHECK(guest.response(0, 0xffff'ffff).id == 2);
    CHECK(guest.response(0, 0).id == 3);
    CHECK(guest.response(0, 1).id == 4);
}

TEST_CASE("vmm ring: a producer running ahead breaks the queue for good", "[vmm-ring]")
{
    Guest guest;
    auto start = GENERATE(0u, 0xffff'fff0u, 0xffff'fffcu);
    vmm::RingQueue<pv::BufferRequest> queue(guest.attach(DeviceKind::net, 8, start), pv::queue::net_tx);
    std::vector<pv::BufferRequest> seen;

    SECTION("exactly a ring's worth is fine")
    {
        guest.indices(0).request_producer = start + 8;
        auto result = serve_recording(queue, 16, seen);
        CHECK(result.status == vmm::Pass::idle);
        CHECK(result.served == 8);
        CHECK(guest.indices(0).response_producer == start + 8);
    }
    SECTION("one more is not")
    {
        guest.indices(0).request_producer = start + 9;
        auto result = serve_recording(queue, 16, seen);
        CHECK(result.status == vmm::Pass::broken);
        CHECK(result.served == 0);
        CHECK(queue.broken());
        CHECK(queue.broken_producer() == start + 9);
        CHECK(guest.indices(0).response_producer == start); // nothing posted
        guest.indices(0).request_producer = start + 1;      // too late to mend
        CHECK(serve_recording(queue, 16, seen).status == vmm::Pass::broken);
        CHECK(seen.empty());
    }
    SECTION("a producer behind the consumer")
    {
        guest.indices(0).request_producer = start - 1;
        CHECK(serve_recording(queue, 16, seen).status == vmm::Pass::broken);
    }
    SECTION("the other queue goes on")
    {
        vmm::RingQueue<pv::BufferRequest> rx(guest.attach(DeviceKind::net, 8, start), pv::queue::net_rx);
        guest.indices(0).request_producer = start + 1000;
        guest.post(1, buffer_request(5, 0, 1514));
        CHECK(serve_recording(queue, 16, seen).status == vmm::Pass::broken);
        pv::BufferRequest copy;
        CHECK(rx.take(copy) == vmm::Take::ok);
        CHECK(copy.id == 5);
    }
}

TEST_CASE("vmm ring: the producer is read once per batch", "[vmm-ring]")
{
    Guest guest;
    vmm::RingQueue<pv::BufferRequest> queue(guest.attach(DeviceKind::net, 8), pv::queue::net_rx);
    guest.post(1, buffer_request(1, 0, 100));
    guest.post(1, buffer_request(2, 100, 100));
    pv::BufferRequest copy;
    REQUIRE(queue.take(copy) == vmm::Take::ok);
    guest.indices(1).request_producer = 100; // ahead, but not read until the two are taken
    REQUIRE(queue.take(copy) == vmm::Take::ok);
    CHECK(copy.id == 2);
    CHECK(queue.take(copy) == vmm::Take::broken);
}

TEST_CASE("vmm ring: buffers outside the data area are answered bad_buffer", "[vmm-ring]")
{
    Guest guest;
    vmm::RingQueue<pv::BufferRequest> queue(guest.attach(DeviceKind::console, 16), pv::queue::console_output);
    struct Case {
        uint64_t offset;
        uint32_t length;
        bool good;
    };
    const Case cases[] = {
        {0, uint32_t(kDataBytes), true}, {kDataBytes, 0, true}, // empty, at the end
        {kDataBytes - 1, 1, true},       {kDataBytes, 1, false},        {kDataBytes - 1, 2, false},
        {0, 0xffff'ffff, false},         {~uint64_t{0} - 3, 8, false}, // offset + length wraps to 4
        {~uint64_t{0}, 1, false},        {uint64_t{1} << 63, 0, false},
    };
    uint32_t id = 100;
    for (const Case& c : cases)
        guest.post(0, buffer_request(id++, c.offset, c.length));
    std::vector<pv::BufferRequest> seen;
    auto result = serve_recording(queue, 16, seen);
    CHECK(result.status == vmm::Pass::idle);
    CHECK(result.served == 9);
    CHECK(seen.size() == 3); // the handler sees good ones only
    for (uint32_t i = 0; i < 9; ++i) {
        pv::Response response = guest.response(0, i);
        CHECK(response.id == 100 + i);
        CHECK(response.status == status_of(cases[i].good ? pv::Status::ok : pv::Status::bad_buffer));
        CHECK(response.length == (cases[i].good ? cases[i].length : 0));
    }
}

TEST_CASE("vmm ring: the copy is what is checked and used", "[vmm-ring]")
{
    Guest guest;
    vmm::RingQueue<pv::BufferRequest> queue(guest.attach(DeviceKind::net, 8), pv::queue::net_tx);
    guest.post(0, buffer_request(1, 0x100, 60));
    auto& slot = guest.request_slot<pv::BufferRequest>(0, 0);
    vmm::serve(queue, 1, [&](const pv::BufferRequest& copy, uint8_t* buffer) {
        slot = buffer_request(66, ~uint64_t{0}, 0xffff'ffff); // the guest strikes after the copy
        CHECK(copy.id == 1);
        CHECK(copy.offset == 0x100);
        CHECK(copy.length == 60);
        CHECK(buffer == guest.at(kData + 0x100));
        return pv::Response{0, 0, copy.length, 0};
    });
    CHECK(guest.response(0, 0).id == 1);
    CHECK(guest.response(0, 0).length == 60);

    // The entry count too was read once: growing it later lets no more through.
    guest.header().entries = 4096;
    guest.indices(0).request_producer = 1 + 9;
    pv::BufferRequest copy;
    CHECK(queue.take(copy) == vmm::Take::broken);
}

TEST_CASE("vmm ring: the budget bounds a pass", "[vmm-ring]")
{
    Guest guest;
    vmm::RingQueue<pv::BufferRequest> queue(guest.attach(DeviceKind::net, 8), pv::queue::net_tx);
    for (uint32_t id = 0; id < 7; ++id)
        guest.post(0, buffer_request(id, 0, 60));
    std::vector<pv::BufferRequest> seen;
    auto first = serve_recording(queue, 3, seen);
    CHECK(first.status == vmm::Pass::budget_spent);
    CHECK(first.served == 3);
    CHECK(guest.indices(0).response_producer == 3);
    auto second = serve_recording(queue, 3, seen);
    CHECK(second.status == vmm::Pass::budget_spent);
    CHECK(second.served == 3);
    auto third = serve_recording(queue, 3, seen);
    CHECK(third.status == vmm::Pass::idle);
    CHECK(third.served == 1);
    CHECK(seen.size() == 7);
    CHECK(seen.back().id == 6);
    CHECK(serve_recording(queue, 0, seen).served == 0);
}

TEST_CASE("vmm ring: an unattached queue is broken", "[vmm-ring]")
{
    vmm::RingQueue<pv::BufferRequest> queue;
    pv::BufferRequest copy;
    CHECK(queue.take(copy) == vmm::Take::broken);
    queue.respond(pv::Response{}); // nowhere to write: ignored
}

TEST_CASE("vmm ring: the block device over a ramdisk", "[vmm-ring]")
{
    Guest guest;
    vmm::RingQueue<pv::BlockRequest> queue(guest.attach(DeviceKind::block, 16), pv::queue::block);
    std::vector<uint8_t> disk(64 * pv::kSectorBytes, 0);
    vmm::Ramdisk ramdisk{disk.data(), 64};
    memset(guest.at(kData), 0xab, 1024);
    auto request = [&](uint32_t id, pv::BlockOp op, uint64_t sector, uint32_t count, uint64_t offset, uint32_t length) {
        guest.post(0, pv::BlockRequest{id, uint32_t(op), sector, offset, length, count});
    };
    using pv::BlockOp;
    request(1, BlockOp::write, 2, 2, 0, 1024);
    request(2, BlockOp::read, 3, 1, 0x1000, 512);
    request(3, BlockOp::size, 0, 0, 0x2000, 8);
    request(4, BlockOp::flush, 0, 0, 0, 0);
    request(5, BlockOp::write, 63, 1, 0, 512); // the last sector
    request(6, BlockOp::read, 63, 2, 0, 1024);
    request(7, BlockOp::read, ~uint64_t{0}, 2, 0, 1024); // sector + count wraps
    request(8, BlockOp::read, 0, 1, 0, 1024);
    request(9, BlockOp::read, 0, 0, 0, 0);
    request(10, BlockOp::size, 0, 0, 0x2000, 4);
    request(11, BlockOp::flush, 0, 1, 0, 0);
    request(12, BlockOp(9), 0, 0, 0, 0);
    request(13, BlockOp(0), 0, 0, 0, 0);
    request(14, BlockOp::read, 0, 1, kDataBytes - 256, 512); // the ring's check comes first
    auto result = vmm::serve(queue, 16, [&](const pv::BlockRequest& copy, uint8_t* buffer) {
        return vmm::block_serve(ramdisk, copy, buffer);
    });
    CHECK(result.served == 14);
    using pv::Status;
    const std::pair<Status, uint32_t> expected[] = {
        {Status::ok, 0},         {Status::ok, 512},       {Status::ok, 8},         {Status::ok, 0},
        {Status::ok, 0},         {Status::bad_sector, 0}, {Status::bad_sector, 0}, {Status::bad_length, 0},
        {Status::bad_length, 0}, {Status::bad_length, 0}, {Status::bad_length, 0}, {Status::bad_op, 0},
        {Status::bad_op, 0},     {Status::bad_buffer, 0},
    };
    for (uint32_t i = 0; i < 14; ++i) {
        CHECK(guest.response(0, i).id == i + 1);
        CHECK(guest.response(0, i).status == status_of(expected[i].first));
        CHECK(guest.response(0, i).length == expected[i].second);
    }
    CHECK(disk[2 * 512 - 1] == 0);
    CHECK(disk[2 * 512] == 0xab);
    CHECK(disk[4 * 512 - 1] == 0xab);
    CHECK(disk[4 * 512] == 0);
    CHECK(disk[63 * 512] == 0xab);
    CHECK(guest.at(kData + 0x1000)[511] == 0xab);
    uint64_t sectors = 0;
    memcpy(&sectors, guest.at(kData + 0x2000), 8);
    CHECK(sectors == 64);
}

TEST_CASE("vmm ring: random guests against a model", "[vmm-ring]")
{
    XorShift random{0x5eed'0001};
    for (int round = 0; round < 200; ++round) {
        Guest guest;
        uint32_t entries = 1u << random.below(5);
        uint32_t start = random.chance(50) ? uint32_t(random.next()) : 0xffff'ffffu - uint32_t(random.below(40));
        vmm::RingQueue<pv::BufferRequest> queue(guest.attach(DeviceKind::net, entries, start), pv::queue::net_tx);
        uint32_t model_consumer = start, next_id = 0;
        bool model_broken = false;
        std::vector<bool> good; // by id
        for (int step = 0; step < 50 && !model_broken; ++step) {
            uint32_t waiting = guest.indices(0).request_producer - model_consumer;
            uint32_t posts = uint32_t(random.below(entries - waiting + 1));
            for (uint32_t i = 0; i < posts; ++i) {
                bool inside = random.chance(70);
                uint64_t offset = inside ? random.below(kDataBytes) : kDataBytes - random.below(4);
                uint32_t length = uint32_t(inside ? random.below(kDataBytes - offset + 1) : 5 + random.below(9));
                good.push_back(inside);
                guest.post(0, buffer_request(next_id++, offset, length));
            }
            uint32_t good_waiting = guest.indices(0).request_producer - model_consumer;
            if (random.chance(5)) {
                guest.indices(0).request_producer += entries + 1 + uint32_t(random.below(1000));
                model_broken = true;
            }
            uint32_t budget = uint32_t(random.below(entries + 2));
            std::vector<pv::BufferRequest> seen;
            auto result = serve_recording(queue, budget, seen);
            if (model_broken) {
                // What the VMM had seen before the jump may still be served, then it stops, unless
                // the budget runs out first.
                CHECK(result.served <= good_waiting);
                if (result.status != vmm::Pass::broken)
                    CHECK((result.status == vmm::Pass::budget_spent && result.served == budget));
                break;
            }
            waiting = guest.indices(0).request_producer - model_consumer;
            uint32_t served = waiting < budget ? waiting : budget;
            REQUIRE(result.served == served);
            CHECK(result.status == (waiting < budget ? vmm::Pass::idle : vmm::Pass::budget_spent));
            for (uint32_t i = 0; i < served; ++i) {
                pv::Response response = guest.response(0, model_consumer + i);
                uint32_t id = model_consumer + i - start;
                REQUIRE(response.id == id);
                CHECK(response.status == status_of(good[id] ? pv::Status::ok : pv::Status::bad_buffer));
            }
            model_consumer += served;
            CHECK(guest.indices(0).response_producer == model_consumer);
        }
    }
}
