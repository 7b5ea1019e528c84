// A guest's paravirtual devices (docs/hypercalls.md, "Devices"): device_attach, and serving the
// rings when the guest rings the doorbell. The console's output ring goes to the serial line
// after the guest's name, its input ring gets the serial input while the guest has the console;
// the block device serves a ramdisk boot module; the network device is a port of the switch.
#pragma once

#include <stdint.h>

#include "block.hpp"
#include "l4/syscall.hpp"
#include "ring.hpp"

namespace vmm {

struct Guest;

// Requests served per queue per doorbell: a guest that floods its rings waits for the next
// round while the others are served.
constexpr uint32_t kRingBudget = 64;
constexpr uint32_t kSwitchBudget = 32; // frames per port per pass

constexpr uint32_t kInputBytes = 256; // typed ahead of the guest's input buffers; more is lost

struct GuestDevices {
    bool attached[4] = {};    // by DeviceKind
    uint32_t broken_said = 0; // a bit per queue reported broken (console out, in, block, net)
    RingQueue<pv::BufferRequest> console_output, console_input;
    RingQueue<pv::BlockRequest> block;
    Ramdisk disk;      // the disk= module (sectors 0: none)
    bool more = false; // a budget ran out: serve again before waiting
    uint8_t input[kInputBytes] = {};
    uint32_t input_length = 0;
};

// device_attach with the guest's words: the checks of attach_rings, busy for a second attach of
// a kind, invalid_argument for a block device without a disk= module.
HcStatus attach_device(Guest& guest, const l4::Message& m);

// Serves every queue of the guest's attached devices (each within its budget) and raises the
// guest's events for what was answered. A broken queue is reported once and served no more.
void serve_devices(Guest& guest);

// Moves frames between the guests' network devices (one pass of the switch) and raises the
// net event of every guest whose rings changed. True when a port sent its whole budget: more
// may wait.
bool serve_switch(Guest* guests, uint64_t count);

// Gives the guest's console input ring what the serial line typed. Up to kInputBytes wait for
// buffers, also before the guest attaches its console (input typed during its boot is kept);
// false when the guest does not run (the bytes are dropped then).
bool console_input(Guest& guest, const uint8_t* bytes, uint64_t count);

// Forgets the guest's devices (its rings are gone with a stop or restart).
void detach_devices(Guest& guest);

} // namespace vmm
