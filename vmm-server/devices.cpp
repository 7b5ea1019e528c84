// A guest's paravirtual devices (devices.hpp).
#include "devices.hpp"

#include "events.hpp"
#include "guest.hpp"
#include "l4/format.hpp"
#include "net_ports.hpp"
#include "vswitch.hpp"

namespace vmm {

namespace {

VSwitch vswitch;
NetPorts net_ports;

enum QueueBit : uint32_t { console_output_bit = 1, console_input_bit = 2, block_bit = 4, net_bit = 8 };

bool attached(const Guest& guest, DeviceKind kind) { return guest.devices.attached[static_cast<uint64_t>(kind)]; }

// Says once per queue that the guest broke it.
void report_broken(Guest& guest, QueueBit queue, const char* name, uint32_t producer)
{
    if (guest.devices.broken_said & queue)
        return;
    guest.devices.broken_said |= queue;
    l4::println("vmm: guest \"{}\": its {} ring is broken (request producer {} runs ahead of the ring): served no "
                "more",
                guest.config.name, name, producer);
}

// What a pass tells the guest: an event when anything was answered, another round when the
// budget ran out, a report when the queue broke.
template <class Request>
void after_pass(Guest& guest, const PassResult& result, RingQueue<Request>& queue, QueueBit bit, const char* name,
                uint64_t source)
{
    if (result.served != 0)
        raise(guest, source);
    if (result.status == Pass::budget_spent)
        guest.devices.more = true;
    else if (result.status == Pass::broken)
        report_broken(guest, bit, name, queue.broken_producer());
}

void serve_console_output(Guest& guest)
{
    const PassResult result =
        serve(guest.devices.console_output, kRingBudget, [&guest](const pv::BufferRequest& copy, const uint8_t* text) {
            console_output(guest, text, copy.length);
            return pv::Response{0, static_cast<uint32_t>(pv::Status::ok), 0, 0};
        });
    after_pass(guest, result, guest.devices.console_output, console_output_bit, "console output", hc::source::console);
}

// Moves typed-ahead input into the buffers the guest posted.
void flush_input(Guest& guest)
{
    GuestDevices& d = guest.devices;
    uint32_t given = 0;
    PassResult result{Pass::idle, 0};
    while (d.input_length != given) {
        result = serve(d.console_input, 1, [&](const pv::BufferRequest& copy, uint8_t* buffer) {
            uint32_t n = d.input_length - given;
            if (n > copy.length)
                n = copy.length;
            memcpy(buffer, d.input + given, n);
            given += n;
            return pv::Response{0, static_cast<uint32_t>(pv::Status::ok), n, 0};
        });
        if (result.served == 0)
            break;
    }
    memmove(d.input, d.input + given, d.input_length - given);
    d.input_length -= given;
    if (given != 0)
        raise(guest, hc::source::console);
    if (result.status == Pass::broken)
        report_broken(guest, console_input_bit, "console input", d.console_input.broken_producer());
}

void serve_block(Guest& guest)
{
    const Ramdisk& disk = guest.devices.disk;
    const PassResult result =
        serve(guest.devices.block, kRingBudget,
              [&disk](const pv::BlockRequest& copy, uint8_t* buffer) { return block_serve(disk, copy, buffer); });
    after_pass(guest, result, guest.devices.block, block_bit, "block", hc::source::block);
}

// The switch's view of the ports, noting who sent a whole budget (more may wait).
struct BudgetedPorts {
    NetPorts& ports;
    uint32_t sent[kMaxPorts] = {};
    bool more = false;

    bool next_tx(uint32_t port, TxFrame& frame)
    {
        const bool taken = ports.next_tx(port, frame);
        if (taken && ++sent[port] == kSwitchBudget)
            more = true;
        return taken;
    }
    void tx_done(uint32_t port, pv::Status status) { ports.tx_done(port, status); }
    bool rx_buffer(uint32_t port, RxBuffer& buffer) { return ports.rx_buffer(port, buffer); }
    void rx_done(uint32_t port, pv::Status status, uint32_t length) { ports.rx_done(port, status, length); }
};

} // namespace

HcStatus attach_device(Guest& guest, const l4::Message& m)
{
    if (m.tag.words() < 5)
        return HcStatus::invalid_argument;
    const uint64_t kind = m.words[0];
    DeviceRings rings;
    const HcStatus status = attach_rings(memory_of(guest), kind, m.words[1], m.words[2], m.words[3], m.words[4], rings);
    if (status != HcStatus::ok)
        return status;
    GuestDevices& d = guest.devices;
    if (d.attached[kind])
        return HcStatus::busy;
    switch (rings.kind) {
    case DeviceKind::console:
        d.console_output = RingQueue<pv::BufferRequest>(rings, pv::queue::console_output);
        d.console_input = RingQueue<pv::BufferRequest>(rings, pv::queue::console_input);
        break;
    case DeviceKind::block:
        if (d.disk.sectors == 0)
            return HcStatus::invalid_argument; // no disk= module
        d.block = RingQueue<pv::BlockRequest>(rings, pv::queue::block);
        break;
    case DeviceKind::net:
        if (!vswitch.attach(static_cast<uint32_t>(guest.index)))
            return HcStatus::busy;
        net_ports.bind(static_cast<uint32_t>(guest.index), rings);
        break;
    }
    d.attached[kind] = true;
    return HcStatus::ok;
}

void serve_devices(Guest& guest)
{
    guest.devices.more = false;
    if (attached(guest, DeviceKind::console)) {
        serve_console_output(guest);
        flush_input(guest);
    }
    if (attached(guest, DeviceKind::block))
        serve_block(guest);
}

bool serve_switch(Guest* guests, uint64_t count)
{
    BudgetedPorts ports{net_ports};
    (void)vswitch.pass(ports, kSwitchBudget);
    const uint32_t answered = net_ports.take_answered();
    for (uint64_t i = 0; i < count; ++i) {
        Guest& guest = guests[i];
        const auto port = static_cast<uint32_t>(i);
        if (!guest.running || !attached(guest, DeviceKind::net))
            continue;
        if (answered & (1u << port))
            raise(guest, hc::source::net);
        if (net_ports.broken(port))
            report_broken(guest, net_bit, "network", net_ports.broken_producer(port));
    }
    return ports.more;
}

bool console_input(Guest& guest, const uint8_t* bytes, uint64_t count)
{
    GuestDevices& d = guest.devices;
    if (!guest.running)
        return false;
    for (uint64_t i = 0; i < count && d.input_length < kInputBytes; ++i)
        d.input[d.input_length++] = bytes[i];
    if (attached(guest, DeviceKind::console))
        flush_input(guest);
    return true;
}

void detach_devices(Guest& guest)
{
    if (attached(guest, DeviceKind::net)) {
        vswitch.detach(static_cast<uint32_t>(guest.index));
        net_ports.unbind(static_cast<uint32_t>(guest.index));
    }
    const Ramdisk disk = guest.devices.disk; // the module stays the guest's across a restart
    guest.devices = GuestDevices{};
    guest.devices.disk = disk;
}

} // namespace vmm
