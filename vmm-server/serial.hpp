// Serial input for the guests (docs/hypercalls.md, "Console input"): what COM1 receives goes to
// one guest's console input at a time, and the key sequence of console_switch.hpp moves it.
// The kernel keeps COM1 for its output (it programmed the line); the VMM only takes the
// received-data interrupt and reads the bytes.
#pragma once

#include <stdint.h>

namespace vmm {

struct Guest;

// Takes COM1's ports and interrupt line from sigma0 and turns the interrupt on; input goes to
// the first running guest. Without the ports, the line or a UART it says so in one line, and
// the VMM runs without input.
void serial_start(Guest* guests, uint64_t count);

// On the doorbell's serial bit: reads every byte COM1 holds and hands each where the key
// sequence says.
void serial_input(Guest* guests, uint64_t count);

// When the guest that has the input stopped, gives it to the next running guest (and says so).
void serial_follow_owner(Guest* guests, uint64_t count);

} // namespace vmm
