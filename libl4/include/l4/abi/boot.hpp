// The capabilities a boot task (sigma0, the root task) finds in its capability space.
#pragma once

#include <stdint.h>

namespace l4::abi::boot {

constexpr uint64_t kTaskSelector = 0;    // its own task (control)
constexpr uint64_t kThreadSelector = 1;  // its first thread (control)
constexpr uint64_t kFactorySelector = 2; // a factory holding its kernel-memory quota (BootInfo)
// The channel between the two: sigma0 holds it with send, receive and grant, the root task
// with send and grant (its requests to sigma0 are calls on it).
constexpr uint64_t kSigma0EndpointSelector = 3;
// Devices, held by sigma0 (the root of all resources, as in L4): every I/O port, and an
// interrupt line capability per legacy ISA IRQ (line 2, the PIC cascade, excepted).
constexpr uint64_t kIoPortsSelector = 4;
constexpr uint64_t kIrqSelectorBase = 32; // + line, lines 0..15
constexpr uint64_t kIrqLines = 16;
constexpr uint64_t kCascadeIrqLine = 2; // the PIC cascade: no capability
constexpr uint64_t kFirstFreeSelector = 48;
constexpr uint64_t kBootTaskSlots = 1024;

} // namespace l4::abi::boot
