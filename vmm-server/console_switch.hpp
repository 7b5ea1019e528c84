// Who gets the serial line's input (docs/hypercalls.md, "Console input"): the key sequence that
// switches it between guests, fed one byte at a time. Portable: the host tests drive it.
//
//   Ctrl-] 1 .. Ctrl-] 8   the guest started 1st .. 8th
//   Ctrl-] n               the next running guest
//   Ctrl-] Ctrl-]          one Ctrl-] (0x1d) for the guest
//   Ctrl-] anything else   that byte for the guest, the escape dropped
//
// The state is one flag, so a sequence may be cut between two reads of the line.
#pragma once

#include <stdint.h>

namespace vmm {

constexpr uint8_t kConsoleEscape = 0x1d;  // Ctrl-], as telnet's
constexpr uint64_t kSelectableGuests = 8; // Ctrl-] 1 .. Ctrl-] 8
constexpr uint64_t kNoGuest = ~uint64_t{0};

struct SwitchStep {
    enum class Kind : uint8_t { nothing, deliver, select, next };
    Kind kind = Kind::nothing;
    uint8_t byte = 0;   // deliver: the byte for the guest that has the input
    uint64_t guest = 0; // select: the guest's index (start order, from 0)
};

class ConsoleSwitch {
public:
    SwitchStep feed(uint8_t byte);

private:
    bool escaped_ = false; // the last byte began a sequence
};

// The first guest after `after`, going round (`after` itself last), whose bit (1 << index) is set
// in `running`; kNoGuest when none of the `count` guests runs. `after` may be kNoGuest: then
// the search starts at guest 0.
uint64_t next_running(uint64_t after, uint64_t running, uint64_t count);

} // namespace vmm
