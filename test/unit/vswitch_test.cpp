// The virtual switch (vmm-server/vswitch.hpp) over plain memory standing in for the guests'
// rings: learning, flooding, drops, spoofing, the table's shares and the per-port budget.
#include <catch2/catch.hpp>

#include <deque>
#include <map>
#include <vector>

#include "net_ports.hpp"
#include "ring_guest.hpp"
#include "vswitch.hpp"
#include "xorshift.hpp"

using vmm::kMaxPorts;
using vmm::Mac;
namespace pv = l4::abi::hc::pv;
using Bytes = std::vector<uint8_t>;

namespace {

// Each port's guest: frames it sent, buffers it posted, and what it got back.
struct FakePorts {
    struct Port {
        std::deque<Bytes> tx;
        std::vector<pv::Status> tx_answers;
        std::deque<Bytes> rx_buffers;
        std::vector<pv::Status> rx_answers;
        std::vector<Bytes> received; // buffers answered ok, cut to their length
        Bytes sending, lent;         // what the switch holds now
    };
    Port ports[kMaxPorts];

    // The queue's first bytes, now held by the switch.
    template <class Bytes8>
    static bool lend(std::deque<Bytes>& queue, Bytes& held, Bytes8*& bytes, uint32_t& length)
    {
        if (queue.empty())
            return false;
        held = queue.front();
        queue.pop_front();
        bytes = held.data();
        length = uint32_t(held.size());
        return true;
    }
    bool next_tx(uint32_t port, vmm::TxFrame& frame)
    {
        return lend(ports[port].tx, ports[port].sending, frame.bytes, frame.length);
    }
    void tx_done(uint32_t port, pv::Status status) { ports[port].tx_answers.push_back(status); }
    bool rx_buffer(uint32_t port, vmm::RxBuffer& buffer)
    {
        return lend(ports[port].rx_buffers, ports[port].lent, buffer.bytes, buffer.capacity);
    }
    void rx_done(uint32_t port, pv::Status status, uint32_t length)
    {
        Port& p = ports[port];
        p.rx_answers.push_back(status);
        if (status == pv::Status::ok) {
            p.lent.resize(length);
            p.received.push_back(p.lent);
        }
    }

    void post_buffers(uint32_t port, uint32_t count, uint32_t capacity = pv::kFrameMaxBytes)
    {
        for (uint32_t i = 0; i < count; ++i)
            ports[port].rx_buffers.push_back(Bytes(capacity, 0xee));
    }
};

Mac station(uint8_t n) { return Mac{{0x02, 0, 0, 0, 0, n}}; } // locally administered unicast
const Mac kBroadcast{{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}};
const Mac kMulticast{{0x01, 0x00, 0x5e, 0x00, 0x00, 0x01}};

// A frame of `length` bytes whose payload is `fill`.
Bytes frame(const Mac& to, const Mac& from, uint8_t fill = 0x55, uint32_t length = 60)
{
    Bytes bytes(length, fill);
    for (uint32_t i = 0; i < vmm::kMacBytes && i < length; ++i) {
        bytes[i] = to.bytes[i];
        if (vmm::kMacBytes + i < length)
            bytes[vmm::kMacBytes + i] = from.bytes[i];
    }
    return bytes;
}

// A switch with ports 0..count-1, each with `buffers` rx buffers.
struct Scene {
    vmm::VSwitch net;
    FakePorts guests;

    explicit Scene(uint32_t count, uint32_t buffers = 8)
    {
        for (uint32_t port = 0; port < count; ++port) {
            REQUIRE(net.attach(port));
            guests.post_buffers(port, buffers);
        }
    }
    // Sends one frame from `port` in a pass of its own.
    void send(uint32_t port, const Bytes& bytes)
    {
        guests.ports[port].tx.push_back(bytes);
        CHECK(net.pass(guests, 64) == 1);
    }
    size_t received(uint32_t port) const { return guests.ports[port].received.size(); }
};

} // namespace

TEST_CASE("vswitch: ports attach once", "[vswitch]")
{
    vmm::VSwitch net;
    CHECK(net.attach(0));
    CHECK_FALSE(net.attach(0));
    CHECK_FALSE(net.attach(kMaxPorts));
    CHECK(net.attached(0));
    CHECK_FALSE(net.attached(kMaxPorts + 100));
    net.detach(0);
    CHECK_FALSE(net.attached(0));
    CHECK(net.attach(0));
}

TEST_CASE("vswitch: unknown destinations flood, learned ones go to their port", "[vswitch]")
{
    Scene scene(3);
    Bytes hello = frame(station(2), station(0), 0xa1);
    scene.send(0, hello); // station 2 not learned yet: to 1 and 2, never back to 0
    CHECK(scene.received(0) == 0);
    CHECK(scene.received(1) == 1);
    REQUIRE(scene.received(2) == 1);
    CHECK(scene.guests.ports[2].received[0] == hello); // whole and exact
    CHECK(scene.net.table().lookup(station(0)) == 0);

    scene.send(2, frame(station(0), station(2))); // station 0 is known: to 0 only
    CHECK(scene.received(0) == 1);
    CHECK(scene.received(1) == 1);
    scene.send(0, frame(station(2), station(0))); // and now station 2 too
    CHECK(scene.received(1) == 1);
    CHECK(scene.received(2) == 2);

    CHECK(scene.guests.ports[0].tx_answers == std::vector<pv::Status>{pv::Status::ok, pv::Status::ok});
    CHECK(scene.net.counters(0).tx_frames == 2);
    CHECK(scene.net.counters(1).rx_frames == 1);
    CHECK(scene.net.counters(2).rx_frames == 2);
}

TEST_CASE("vswitch: broadcast and multicast reach every other port", "[vswitch]")
{
    Scene scene(4);
    scene.send(1, frame(station(9), station(1))); // everyone learns nothing but station 1
    scene.send(1, frame(kBroadcast, station(1)));
    scene.send(2, frame(kMulticast, station(2)));
    CHECK(scene.received(0) == 3);
    CHECK(scene.received(1) == 1); // only port 2's multicast
    CHECK(scene.received(2) == 2);
    CHECK(scene.received(3) == 3);
}

TEST_CASE("vswitch: a destination on the sender's own port is filtered", "[vswitch]")
{
    Scene scene(2);
    scene.send(0, frame(kBroadcast, station(5)));
    scene.send(0, frame(station(5), station(6))); // 5 lives on port 0 itself
    CHECK(scene.received(1) == 1);
    CHECK(scene.guests.ports[0].tx_answers.size() == 2);
    CHECK(scene.net.counters(0).tx_frames == 2);
}

TEST_CASE("vswitch: a receiver without a buffer loses the frame, nobody waits", "[vswitch]")
{
    Scene scene(3, 0);
    scene.guests.post_buffers(2, 1);
    scene.guests.post_buffers(2, 1, 100); // too small for the second frame
    scene.send(0, frame(kBroadcast, station(0)));
    scene.send(0, frame(kBroadcast, station(0), 0x55, 200));
    CHECK(scene.received(1) == 0);
    CHECK(scene.received(2) == 1);
    CHECK(scene.net.counters(1).rx_no_buffer == 2);
    CHECK(scene.net.counters(2).rx_frames == 1);
    CHECK(scene.net.counters(2).rx_small_buffer == 1);
    CHECK(scene.guests.ports[2].rx_answers == std::vector<pv::Status>{pv::Status::ok, pv::Status::bad_length});
    CHECK(scene.guests.ports[0].tx_answers == std::vector<pv::Status>{pv::Status::ok, pv::Status::ok});
}

TEST_CASE("vswitch: frames are 14 to 1514 bytes", "[vswitch]")
{
    Scene scene(2, 16);
    const std::pair<uint32_t, bool> lengths[] = {{0, false},   {1, false},    {13, false},   {14, true},
                                                 {1514, true}, {1515, false}, {9000, false}, {0xffff, false}};
    std::vector<pv::Status> expected;
    for (auto [length, good] : lengths) {
        scene.send(0, frame(kBroadcast, station(0), 0x33, length));
        expected.push_back(good ? pv::Status::ok : pv::Status::bad_length);
    }
    CHECK(scene.guests.ports[0].tx_answers == expected);
    CHECK(scene.net.counters(0).tx_bad_length == 6);
    CHECK(scene.net.counters(0).tx_frames == 2);
    REQUIRE(scene.received(1) == 2);
    CHECK(scene.guests.ports[1].received[0].size() == 14);
    CHECK(scene.guests.ports[1].received[1].size() == 1514);
}

TEST_CASE("vswitch: a spoofed source is dropped and moves nothing", "[vswitch]")
{
    Scene scene(3);
    scene.send(0, frame(kBroadcast, station(0)));
    scene.send(1, frame(kBroadcast, station(0))); // port 1 pretends to be station 0
    CHECK(scene.net.counters(1).tx_spoofed == 1);
    CHECK(scene.net.counters(1).tx_frames == 0);
    CHECK(scene.guests.ports[1].tx_answers == std::vector<pv::Status>{pv::Status::ok});
    CHECK(scene.received(2) == 1); // the first frame only
    CHECK(scene.net.table().lookup(station(0)) == 0);
    scene.send(2, frame(station(0), station(2)));
    CHECK(scene.received(0) == 1);
    CHECK(scene.received(1) == 1); // the first broadcast, not port 2's frame to station 0

    // Once port 0 is gone its MACs are free.
    scene.net.detach(0);
    CHECK(scene.net.table().lookup(station(0)) == kMaxPorts);
    scene.send(1, frame(kBroadcast, station(0)));
    CHECK(scene.net.table().lookup(station(0)) == 1);
    CHECK(scene.received(0) == 1); // a detached port gets nothing
}

TEST_CASE("vswitch: a group source is dropped", "[vswitch]")
{
    Scene scene(2);
    scene.send(0, frame(station(1), kMulticast));
    scene.send(0, frame(station(1), kBroadcast));
    CHECK(scene.net.counters(0).tx_bad_source == 2);
    CHECK(scene.received(1) == 0);
    CHECK(scene.net.table().count(0) == 0);
}

TEST_CASE("vswitch: a port's share of the table full, its least recently seen MAC goes", "[vswitch]")
{
    Scene scene(3, 64);
    scene.send(1, frame(kBroadcast, station(200)));
    for (uint8_t n = 0; n < vmm::kMacsPerPort; ++n)
        scene.send(0, frame(kBroadcast, station(n)));
    CHECK(scene.net.table().count(0) == 16);
    scene.send(0, frame(kBroadcast, station(0))); // station 0 seen again: station 1 is the oldest
    scene.send(0, frame(kBroadcast, station(100)));
    CHECK(scene.net.table().count(0) == 16);
    CHECK(scene.net.table().lookup(station(1)) == kMaxPorts);
    CHECK(scene.net.table().lookup(station(0)) == 0);
    CHECK(scene.net.table().lookup(station(2)) == 0);
    CHECK(scene.net.table().lookup(station(100)) == 0);
    CHECK(scene.net.table().lookup(station(200)) == 1); // port 1's share untouched
    CHECK(scene.net.table().count(1) == 1);

    // Frames to the forgotten MAC flood again.
    size_t before = scene.received(0) + scene.received(2);
    scene.send(1, frame(station(1), station(200)));
    CHECK(scene.received(0) + scene.received(2) == before + 2);
}

TEST_CASE("vswitch: each port sends its budget a pass, one a round, turns rotating", "[vswitch]")
{
    Scene scene(4, 100);
    scene.send(3, frame(kBroadcast, station(3))); // the sink, learned
    scene.guests.ports[0].received.clear();
    scene.guests.ports[1].received.clear();
    scene.guests.ports[2].received.clear();
    const uint32_t queued[3] = {100, 10, 3};
    for (uint32_t port = 0; port < 3; ++port)
        for (uint32_t i = 0; i < queued[port]; ++i)
            scene.guests.ports[port].tx.push_back(frame(station(3), station(uint8_t(port)), uint8_t(port)));

    auto senders = [&] {
        std::vector<uint8_t> order;
        for (const Bytes& bytes : scene.guests.ports[3].received)
            order.push_back(bytes.back());
        scene.guests.ports[3].received.clear();
        return order;
    };
    // The sink's pass was opened by port 0, so port 1 opens the next, then 2, then 3 (the sink).
    CHECK(scene.net.pass(scene.guests, 4) == 11);
    CHECK(senders() == std::vector<uint8_t>{1, 2, 0, 1, 2, 0, 1, 2, 0, 1, 0});
    CHECK(scene.net.pass(scene.guests, 4) == 8); // port 2 opens with nothing left
    CHECK(senders() == std::vector<uint8_t>{0, 1, 0, 1, 0, 1, 0, 1});
    CHECK(scene.net.pass(scene.guests, 4) == 6);
    CHECK(senders() == std::vector<uint8_t>{0, 1, 0, 1, 0, 0});
    CHECK(scene.net.pass(scene.guests, 4) == 4);
    CHECK(scene.guests.ports[0].tx.size() == 100 - 16);
    CHECK(scene.guests.ports[1].tx.empty());
    CHECK(scene.guests.ports[2].tx.empty());
    CHECK(scene.net.counters(0).tx_frames == 16);
    CHECK(scene.net.counters(1).tx_frames == 10);
    CHECK(scene.net.counters(2).tx_frames == 3);
    CHECK(scene.net.pass(scene.guests, 0) == 0);
}

TEST_CASE("vswitch: random traffic against a model", "[vswitch]")
{
    XorShift random{0x5eed'0002};
    Scene scene(5, 0);
    std::map<uint8_t, uint32_t> owner; // a model without eviction: few enough stations per port
    uint64_t delivered[kMaxPorts] = {}, lost[kMaxPorts] = {};
    for (int step = 0; step < 3000; ++step) {
        auto port = uint32_t(random.below(5));
        auto from = uint8_t(random.below(30)), to = uint8_t(random.below(31));
        Mac destination = to == 30 ? kBroadcast : station(to);
        if (random.chance(30))
            scene.guests.post_buffers(uint32_t(random.below(5)), 1);
        uint32_t buffers[kMaxPorts];
        for (uint32_t p = 0; p < 5; ++p)
            buffers[p] = uint32_t(scene.guests.ports[p].rx_buffers.size());

        scene.send(port, frame(destination, station(from), uint8_t(step)));
        auto known = owner.find(from);
        if (known != owner.end() && known->second != port)
            continue; // spoofed
        owner[from] = port;
        auto target = owner.find(to);
        for (uint32_t p = 0; p < 5; ++p) {
            bool wanted = p != port && (to == 30 || target == owner.end() || target->second == p);
            if (wanted)
                ++(buffers[p] ? delivered[p] : lost[p]);
        }
    }
    for (uint32_t p = 0; p < 5; ++p) {
        CHECK(scene.net.counters(p).rx_frames == delivered[p]);
        CHECK(scene.net.counters(p).rx_no_buffer == lost[p]);
        CHECK(scene.net.table().count(p) <= vmm::kMacsPerPort);
    }
}

TEST_CASE("vswitch: frames between two guests' rings", "[vswitch]")
{
    using namespace ring_test;
    Guest a, b;
    vmm::VSwitch net;
    vmm::NetPorts ports;
    REQUIRE(net.attach(0));
    REQUIRE(net.attach(1));
    ports.bind(0, a.attach(DeviceKind::net, 8));
    ports.bind(1, b.attach(DeviceKind::net, 8, 0xffff'ffff));

    Bytes hello = frame(kBroadcast, station(0xa), 0x42, 100);
    memcpy(a.at(kData + 0x40), hello.data(), hello.size());
    a.post(pv::queue::net_tx, buffer_request(1, 0x40, 100));
    a.post(pv::queue::net_tx, buffer_request(2, kDataBytes - 10, 100)); // outside: ends a's turn
    a.post(pv::queue::net_tx, buffer_request(3, 0x40, 100));
    b.post(pv::queue::net_rx, buffer_request(9, 0x800, 1514));

    CHECK(net.pass(ports, 8) == 1);
    CHECK(ports.take_answered() == 0b11); // both rings got responses: both guests are told
    CHECK(ports.take_answered() == 0);
    CHECK(a.indices(pv::queue::net_tx).response_producer == 2);
    CHECK(a.response(pv::queue::net_tx, 0).id == 1);
    CHECK(a.response(pv::queue::net_tx, 0).status == status_of(pv::Status::ok));
    CHECK(a.response(pv::queue::net_tx, 1).id == 2);
    CHECK(a.response(pv::queue::net_tx, 1).status == status_of(pv::Status::bad_buffer));
    CHECK(b.indices(pv::queue::net_rx).response_producer == 0);
    pv::Response got = b.response(pv::queue::net_rx, 0xffff'ffff);
    CHECK(got.id == 9);
    CHECK(got.length == 100);
    CHECK(Bytes(b.at(kData + 0x800), b.at(kData + 0x800) + 100) == hello);

    CHECK(net.pass(ports, 8) == 1); // frame 3: b has no buffer left
    CHECK(net.counters(1).rx_no_buffer == 1);
    CHECK(ports.take_answered() == 0b01);
    CHECK(a.indices(pv::queue::net_tx).response_producer == 3);

    // A bad buffer alone is answered, and its guest told, though no frame moves.
    a.post(pv::queue::net_tx, buffer_request(4, kDataBytes, 14));
    CHECK(net.pass(ports, 8) == 0);
    CHECK(a.response(pv::queue::net_tx, 3).status == status_of(pv::Status::bad_buffer));
    CHECK(ports.take_answered() == 0b01);

    a.indices(pv::queue::net_tx).request_producer += 100;
    CHECK(net.pass(ports, 8) == 0);
    CHECK(ports.broken(0));
    CHECK(ports.broken_producer(0) == 104);
    CHECK_FALSE(ports.broken(1));
}
