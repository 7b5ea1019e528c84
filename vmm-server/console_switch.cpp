// The console's key sequence (console_switch.hpp).
#include "console_switch.hpp"

namespace vmm {

SwitchStep ConsoleSwitch::feed(uint8_t byte)
{
    using Kind = SwitchStep::Kind;
    if (!escaped_) {
        if (byte == kConsoleEscape) {
            escaped_ = true;
            return {};
        }
        return {Kind::deliver, byte, 0};
    }
    escaped_ = false;
    if (byte >= '1' && byte < '1' + kSelectableGuests)
        return {Kind::select, 0, static_cast<uint64_t>(byte - '1')};
    if (byte == 'n')
        return {Kind::next, 0, 0};
    return {Kind::deliver, byte, 0}; // Ctrl-] itself, or a byte that begins no sequence
}

uint64_t next_running(uint64_t after, uint64_t running, uint64_t count)
{
    if (count > 64)
        count = 64; // one bit each
    const uint64_t start = after < count ? after + 1 : 0;
    for (uint64_t step = 0; step < count; ++step) {
        const uint64_t index = (start + step) % count;
        if ((running >> index & 1) != 0)
            return index;
    }
    return kNoGuest;
}

} // namespace vmm
