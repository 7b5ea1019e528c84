// The virtual switch's MAC table and forwarding decision.
#include "vswitch.hpp"

namespace vmm {

bool MacTable::find(const Mac& mac, uint32_t& port, uint32_t& slot) const
{
    for (port = 0; port < kMaxPorts; ++port)
        for (slot = 0; slot < kMacsPerPort; ++slot)
            if (entries_[port][slot].last_seen != 0 && entries_[port][slot].mac == mac)
                return true;
    return false;
}

MacTable::Learn MacTable::learn(const Mac& source, uint32_t port)
{
    if (source.group())
        return Learn::group_source;
    ++clock_;
    uint32_t owner, slot;
    if (find(source, owner, slot)) {
        if (owner != port)
            return Learn::spoofed;
        entries_[owner][slot].last_seen = clock_;
        return Learn::refreshed;
    }
    // Only the port's own share: a guest inventing sources pushes out nobody's MACs but its own.
    Entry* oldest = &entries_[port][0]; // a free entry is the oldest of all
    for (Entry& entry : entries_[port])
        if (entry.last_seen < oldest->last_seen)
            oldest = &entry;
    *oldest = Entry{source, clock_};
    return Learn::learned;
}

uint32_t MacTable::lookup(const Mac& mac) const
{
    uint32_t port, slot;
    return find(mac, port, slot) ? port : kMaxPorts;
}

void MacTable::forget(uint32_t port)
{
    for (Entry& entry : entries_[port])
        entry = Entry{};
}

uint32_t MacTable::count(uint32_t port) const
{
    uint32_t used = 0;
    for (const Entry& entry : entries_[port])
        used += entry.last_seen != 0;
    return used;
}

bool VSwitch::attach(uint32_t port)
{
    if (port >= kMaxPorts || attached(port))
        return false;
    attached_ |= bit(port);
    counters_[port] = PortCounters{};
    return true;
}

void VSwitch::detach(uint32_t port)
{
    if (!attached(port))
        return;
    attached_ &= ~bit(port);
    table_.forget(port);
}

uint32_t VSwitch::first_after(uint32_t port) const
{
    for (uint32_t i = 0; i < kMaxPorts; ++i)
        if (attached((port + i) % kMaxPorts))
            return (port + i) % kMaxPorts;
    return port;
}

uint32_t VSwitch::destinations(uint32_t source, const uint8_t (&header)[pv::kFrameMinBytes])
{
    Mac destination, from;
    memcpy(destination.bytes, header, kMacBytes);
    memcpy(from.bytes, header + kMacBytes, kMacBytes);
    PortCounters& sender = counters_[source];
    switch (table_.learn(from, source)) {
    case MacTable::Learn::spoofed: ++sender.tx_spoofed; return 0;
    case MacTable::Learn::group_source: ++sender.tx_bad_source; return 0;
    case MacTable::Learn::learned:
    case MacTable::Learn::refreshed: break;
    }
    ++sender.tx_frames;
    uint32_t owner = destination.group() ? kMaxPorts : table_.lookup(destination);
    if (owner == kMaxPorts)
        return attached_ & ~bit(source); // flooded: broadcast, multicast or not learned yet
    // A destination on the sender's own port is filtered: never back to the sender.
    return owner == source ? 0 : bit(owner);
}

} // namespace vmm
