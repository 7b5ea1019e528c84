// The virtual switch's ports over the guests' network rings: what VSwitch::pass() takes as Ports.
#pragma once

#include "ring.hpp"
#include "vswitch.hpp"

namespace vmm {

class NetPorts {
public:
    // Port `port` serves the guest's attached network device from now on.
    void bind(uint32_t port, const DeviceRings& rings)
    {
        tx_[port] = RingQueue<pv::BufferRequest>(rings, pv::queue::net_tx);
        rx_[port] = RingQueue<pv::BufferRequest>(rings, pv::queue::net_rx);
    }
    void unbind(uint32_t port) { tx_[port] = rx_[port] = RingQueue<pv::BufferRequest>(); }
    bool broken(uint32_t port) const { return tx_[port].broken() || rx_[port].broken(); }
    // The producer index that broke the port's queue (tx first).
    uint32_t broken_producer(uint32_t port) const
    {
        return tx_[port].broken() ? tx_[port].broken_producer() : rx_[port].broken_producer();
    }
    // The ports whose rings got a response since the last call (a bit each): theirs to be told.
    uint32_t take_answered()
    {
        const uint32_t answered = answered_;
        answered_ = 0;
        return answered;
    }

    // A bad entry is answered here and ends the port's turn, so it costs the guest its pass.
    bool next_tx(uint32_t port, TxFrame& frame)
    {
        uint8_t* bytes = take(port, tx_[port], tx_id_[port], frame.length);
        frame.bytes = bytes;
        return bytes != nullptr;
    }
    void tx_done(uint32_t port, pv::Status status) { answer(port, tx_[port], tx_id_[port], status, 0); }

    bool rx_buffer(uint32_t port, RxBuffer& buffer)
    {
        buffer.bytes = take(port, rx_[port], rx_id_[port], buffer.capacity);
        return buffer.bytes != nullptr;
    }
    void rx_done(uint32_t port, pv::Status status, uint32_t length)
    {
        answer(port, rx_[port], rx_id_[port], status, length);
    }

private:
    using Queue = RingQueue<pv::BufferRequest>;

    uint8_t* take(uint32_t port, Queue& queue, uint32_t& id, uint32_t& length)
    {
        pv::BufferRequest copy;
        Take taken = queue.take(copy);
        if (taken == Take::bad_buffer)
            answer(port, queue, copy.id, pv::Status::bad_buffer, 0);
        if (taken != Take::ok)
            return nullptr;
        id = copy.id;
        length = copy.length;
        return queue.buffer(copy);
    }
    void answer(uint32_t port, Queue& queue, uint32_t id, pv::Status status, uint32_t length)
    {
        queue.respond(pv::Response{id, static_cast<uint32_t>(status), length, 0});
        answered_ |= 1u << port;
    }

    Queue tx_[kMaxPorts], rx_[kMaxPorts];
    uint32_t tx_id_[kMaxPorts] = {}, rx_id_[kMaxPorts] = {};
    uint32_t answered_ = 0;
};

} // namespace vmm
