// device_attach's checks of a guest's ring and data areas.
#include "ring.hpp"

namespace vmm {

uint8_t* GuestMemory::find(uint64_t address, uint64_t bytes) const
{
    // Both tests needed, in case of overflow: nothing is added before it is known to fit.
    if (address < guest_base || !inside_area(address - guest_base, bytes, size))
        return nullptr;
    return host + (address - guest_base);
}

static bool known_kind(uint64_t kind)
{
    return kind == uint64_t(DeviceKind::console) || kind == uint64_t(DeviceKind::block) ||
           kind == uint64_t(DeviceKind::net);
}

HcStatus attach_rings(const GuestMemory& memory, uint64_t kind, uint64_t ring_address, uint64_t ring_bytes,
                      uint64_t data_address, uint64_t data_bytes, DeviceRings& rings)
{
    if (!known_kind(kind) || ring_bytes == 0 || data_bytes == 0)
        return HcStatus::invalid_argument;
    uint8_t* ring = memory.find(ring_address, ring_bytes);
    uint8_t* data = memory.find(data_address, data_bytes);
    if (ring == nullptr || data == nullptr)
        return HcStatus::out_of_range;
    // As offsets into guest memory, both ends are at most its size: no sum wraps.
    uint64_t ring_offset = ring_address - memory.guest_base, data_offset = data_address - memory.guest_base;
    bool overlap = ring_offset < data_offset + data_bytes && data_offset < ring_offset + ring_bytes;
    if (ring_address % pv::kRingAlignment != 0 || overlap || ring_bytes < sizeof(pv::RingHeader))
        return HcStatus::invalid_argument;

    // Read once: the VMM's copy is the one that counts from now on.
    uint32_t entries = __atomic_load_n(&reinterpret_cast<pv::RingHeader*>(ring)->entries, __ATOMIC_RELAXED);
    auto device = DeviceKind(kind);
    bool power_of_two = entries != 0 && (entries & (entries - 1)) == 0;
    if (!power_of_two || entries > pv::kMaxEntries || ring_bytes < pv::ring_bytes(device, entries))
        return HcStatus::invalid_argument;

    rings = DeviceRings{device, ring, ring_bytes, data, data_bytes, entries};
    return HcStatus::ok;
}

} // namespace vmm
