// Capability rights: one bit mask for all object types; each type gives the bits a meaning.
// Rights only shrink as a capability is copied.
#pragma once

#include <stdint.h>

namespace l4::abi {

using Rights = uint32_t;

namespace rights {
constexpr Rights send = 1u << 0;    // endpoint: send/call; notification: signal
constexpr Rights receive = 1u << 1; // endpoint: receive; notification: wait/poll
constexpr Rights grant = 1u << 2;   // endpoint: messages may carry capabilities and memory
constexpr Rights control = 1u << 3; // task, thread, factory, irq: configure and use
constexpr Rights all = send | receive | grant | control;
} // namespace rights

} // namespace l4::abi
