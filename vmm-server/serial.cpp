// Serial input for the guests (serial.hpp).
#include "serial.hpp"

#include "console_switch.hpp"
#include "guest.hpp"
#include "l4/format.hpp"
#include "l4/ioport.hpp"
#include "l4/sigma0.hpp"

namespace vmm {

namespace {

static_assert(kMaxGuests <= kSelectableGuests, "every guest has its key");

constexpr uint16_t kCom1 = 0x3f8, kCom1Ports = 8;
constexpr uint64_t kCom1Line = 4;
constexpr uint16_t kData = kCom1 + 0, kInterruptEnable = kCom1 + 1, kModemControl = kCom1 + 4, kLineStatus = kCom1 + 5;
constexpr uint8_t kReceivedDataInterrupt = 1 << 0; // interrupt enable
constexpr uint8_t kOut2 = 1 << 3;                  // modem control: gates the interrupt on PC boards
constexpr uint8_t kDataReady = 1 << 0;             // line status
constexpr uint8_t kNoUart = 0xff;                  // line status where nothing answers
constexpr uint64_t kReadBudget = 256;              // bytes per doorbell

bool started = false;
ConsoleSwitch console_switch;
uint64_t owner = kNoGuest; // the guest that gets the input

uint64_t running_guests(const Guest* guests, uint64_t count)
{
    uint64_t running = 0;
    for (uint64_t i = 0; i < count; ++i)
        if (guests[i].running)
            running |= uint64_t{1} << i;
    return running;
}

void give_input_to(const Guest* guests, uint64_t index)
{
    owner = index;
    l4::println("vmm: console input goes to guest \"{}\"", guests[index].config.name);
}

void select(const Guest* guests, uint64_t count, uint64_t index)
{
    if (index < count && guests[index].running)
        give_input_to(guests, index);
    else
        l4::println("vmm: no running guest {} for console input", index + 1);
}

void select_next(const Guest* guests, uint64_t count)
{
    const uint64_t next = next_running(owner, running_guests(guests, count), count);
    if (next != kNoGuest)
        give_input_to(guests, next);
    else
        l4::println("vmm: no running guest for console input");
}

void deliver(Guest* guests, const uint8_t* bytes, uint64_t length)
{
    if (length != 0 && owner != kNoGuest)
        (void)console_input(guests[owner], bytes, length);
}

// Runs the bytes through the key sequence. What the guest gets is packed in place, at the
// front: a step yields at most the byte it came from.
void route(Guest* guests, uint64_t count, uint8_t* bytes, uint64_t length)
{
    uint64_t kept = 0;
    for (uint64_t i = 0; i < length; ++i) {
        const SwitchStep step = console_switch.feed(bytes[i]);
        if (step.kind == SwitchStep::Kind::deliver) {
            bytes[kept++] = step.byte;
            continue;
        }
        if (step.kind == SwitchStep::Kind::nothing)
            continue;
        deliver(guests, bytes, kept); // what came before the switch is the old owner's
        kept = 0;
        if (step.kind == SwitchStep::Kind::select)
            select(guests, count, step.guest);
        else
            select_next(guests, count);
    }
    deliver(guests, bytes, kept);
}

// Says why there is no input, gives back what it took, and returns false.
bool no_input(const char* what, l4::abi::Error e)
{
    l4::println("vmm: no serial input ({}: error {} ({}))", what, static_cast<uint64_t>(e), l4::abi::error_name(e));
    (void)l4::cap_delete(kSerialIrq);
    (void)l4::cap_delete(kSerialPorts);
    return false;
}

bool take_com1()
{
    using l4::abi::Error;
    Error e = l4::sigma0::io_ports(kCom1, kCom1Ports, kSerialPorts);
    if (e != Error::ok || (e = l4::ioport_enable(kSerialPorts)) != Error::ok)
        return no_input("COM1's ports", e);
    if (l4::port_in8(kLineStatus) == kNoUart) {
        l4::println("vmm: no serial input (no UART at COM1)");
        (void)l4::cap_delete(kSerialPorts);
        return false;
    }
    if ((e = l4::sigma0::irq_line(kCom1Line, kSerialIrq)) != Error::ok)
        return no_input("interrupt line 4", e);
    // The line fires the doorbell with bit 0, kSerialBit (the kernel signals badge | 1).
    if ((e = l4::irq_bind(kSerialIrq, kDoorbell)) != Error::ok)
        return no_input("binding interrupt line 4", e);
    return true;
}

} // namespace

void serial_start(Guest* guests, uint64_t count)
{
    if (!take_com1())
        return;
    // Bound first, then enabled: the first edge finds the line unmasked. Baud rate and line
    // format stay as the kernel set them.
    l4::port_out8(kInterruptEnable, kReceivedDataInterrupt);
    l4::port_out8(kModemControl, static_cast<uint8_t>(l4::port_in8(kModemControl) | kOut2));
    started = true;
    serial_follow_owner(guests, count);
    // Bytes that came before the interrupt was on raise no edge: read them now.
    (void)l4::notify_signal(kDoorbell, kSerialBit);
}

void serial_input(Guest* guests, uint64_t count)
{
    if (!started)
        return;
    uint8_t bytes[kReadBudget];
    uint64_t length = 0;
    while (length < kReadBudget && (l4::port_in8(kLineStatus) & kDataReady) != 0)
        bytes[length++] = l4::port_in8(kData);
    (void)l4::irq_acknowledge(kSerialIrq);
    // Bytes left behind keep the line up without a new edge: come back for them.
    if ((l4::port_in8(kLineStatus) & kDataReady) != 0)
        (void)l4::notify_signal(kDoorbell, kSerialBit);
    route(guests, count, bytes, length);
}

void serial_follow_owner(Guest* guests, uint64_t count)
{
    if (!started || (owner != kNoGuest && guests[owner].running))
        return;
    const uint64_t next = next_running(owner, running_guests(guests, count), count);
    if (next != kNoGuest)
        give_input_to(guests, next);
}

} // namespace vmm
