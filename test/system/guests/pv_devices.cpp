// The test guest's devices and their exchanges (pv_devices.hpp).
#include "pv_devices.hpp"

#include "common/string.hpp"
#include "l4/guest_console.hpp"

namespace pvtest {

Device make_device(DeviceKind kind, uint64_t data_bytes, uint32_t first_index, uint32_t entries)
{
    Device device{kind, {}, take_memory(data_bytes), data_bytes};
    device.ring.init(kind, take_memory(pv::ring_bytes(kind, entries)), entries, first_index);
    return device;
}

pv::BufferRequest buffer(uint64_t offset, uint64_t length)
{
    return pv::BufferRequest{0, 0, offset, static_cast<uint32_t>(length), 0};
}

pv::BufferRequest frame(Device& net, uint64_t offset, const uint8_t (&to)[6], const uint8_t (&from)[6], uint32_t length,
                        uint16_t type)
{
    uint8_t header[pv::kFrameMinBytes] = {};
    memcpy(header, to, 6);
    memcpy(header + 6, from, 6);
    header[12] = static_cast<uint8_t>(type >> 8);
    header[13] = static_cast<uint8_t>(type);
    memcpy(net.data + offset, header, length < sizeof header ? length : sizeof header);
    return buffer(offset, length);
}

HcStatus attach(uint64_t kind, const Areas& areas, uint64_t words)
{
    return raw_hypercall(static_cast<uint64_t>(Call::device_attach), words, kind, areas.ring, areas.ring_bytes,
                         areas.data, areas.data_bytes);
}

void sleep_until(uint64_t deadline)
{
    (void)l4::hc::timer_set(deadline);
    while (l4::hc::now_ns() < deadline) {
        (void)l4::hc::yield();
        (void)l4::hc::take_events();
    }
}

bool next_response(Device& device, uint32_t queue, pv::Response& response, uint64_t wait_ns)
{
    const uint64_t deadline = l4::hc::now_ns() + wait_ns;
    (void)l4::hc::timer_set(deadline);
    for (;;) {
        if (device.ring.take_response(queue, response))
            return true;
        if (l4::hc::now_ns() >= deadline)
            return false;
        // Any enabled source ends the yield: the device's event, or the timer at the deadline.
        (void)l4::hc::yield();
        (void)l4::hc::take_events();
    }
}

uint32_t Exchange::take_id()
{
    static uint32_t next_id = 1;
    return next_id++;
}

void Exchange::finish(uint64_t extra_bits, uint64_t settle_ns)
{
    if (count_ == 0)
        return;
    (void)l4::notify_signal(hc::kDoorbellSelector, extra_bits);
    if (settle_ns != 0)
        sleep_until(l4::hc::now_ns() + settle_ns);
    for (uint32_t i = 0; i < count_; ++i) {
        const Wanted& want = wanted_[i];
        pv::Response got{};
        const bool came = next_response(device_, queue_, got, kResponseWaitNs);
        const bool right =
            came && got.id == want.id && got.status == static_cast<uint32_t>(want.status) && got.length == want.length;
        if (!right)
            l4::hc::println("pv-test: response {}: id {} status {} length {}; wanted id {} status {} length {}",
                            came ? "taken" : "missing", got.id, got.status, got.length, want.id,
                            static_cast<uint32_t>(want.status), want.length);
        expect(right, want.what, got.status);
    }
    count_ = 0;
}

} // namespace pvtest
