// User-level drivers: I/O port capabilities and a real device interrupt (the RTC's periodic
// interrupt on IRQ 8) delivered to a notification.
#include "helpers.hpp"
#include "l4/ioport.hpp"

using namespace kt;

namespace {

constexpr Selector kPorts = abi::boot::kIoPortsSelector;
constexpr Selector kRtcIrq = abi::boot::kIrqSelectorBase + 8;
constexpr Selector kCmosPorts = 700, kNotification = 701, kOtherPorts = 702;
constexpr uint16_t kCmosIndex = 0x70, kCmosData = 0x71;
constexpr uint8_t kRegisterB = 0x0b, kRegisterC = 0x0c, kNmiDisable = 0x80, kPeriodicEnable = 0x40;

uint8_t cmos_read(uint8_t reg)
{
    l4::port_out8(kCmosIndex, static_cast<uint8_t>(reg | kNmiDisable));
    return l4::port_in8(kCmosData);
}

void cmos_write(uint8_t reg, uint8_t value)
{
    l4::port_out8(kCmosIndex, static_cast<uint8_t>(reg | kNmiDisable));
    l4::port_out8(kCmosData, value);
}

uint64_t ports(uint64_t first, uint64_t count) { return first | (count << 16); }

} // namespace

KTEST(io_ports_subrange_creation)
{
    Slots slots(700, 710);
    KEXPECT_EQ(l4::factory_create(kFactory, ObjectKind::io_ports, kCmosPorts, kPorts, ports(0x70, 2)), Error::ok);
    // A subrange of a subrange; then ranges that leave their source.
    KEXPECT_EQ(l4::factory_create(kFactory, ObjectKind::io_ports, kOtherPorts, kCmosPorts, ports(0x71, 1)), Error::ok);
    KEXPECT_EQ(l4::cap_delete(kOtherPorts), Error::ok);
    KEXPECT_EQ(l4::factory_create(kFactory, ObjectKind::io_ports, kOtherPorts, kCmosPorts, ports(0x70, 3)),
               Error::invalid_argument);
    KEXPECT_EQ(l4::factory_create(kFactory, ObjectKind::io_ports, kOtherPorts, kPorts, ports(0xffff, 2)),
               Error::invalid_argument);
    KEXPECT_EQ(l4::factory_create(kFactory, ObjectKind::io_ports, kOtherPorts, kPorts, ports(0x60, 0)),
               Error::invalid_argument);
    KEXPECT_EQ(l4::factory_create(kFactory, ObjectKind::io_ports, kOtherPorts, kTask, ports(0x60, 1)),
               Error::wrong_type);
}

KTEST(ioport_enable_checks_its_capability)
{
    KEXPECT_EQ(l4::ioport_enable(kTask), Error::wrong_type);
    KEXPECT_EQ(l4::ioport_enable(999), Error::invalid_selector);
    Slots slots(700, 710);
    KREQUIRE_EQ(l4::cap_copy(kPorts, kOtherPorts, rights::send), Error::ok);
    KEXPECT_EQ(l4::ioport_enable(kOtherPorts), Error::missing_rights);
}

KTEST(irq_control_checks)
{
    Slots slots(700, 710);
    KEXPECT_EQ(l4::irq_bind(kRtcIrq, kTask), Error::wrong_type);
    KEXPECT_EQ(l4::raw_syscall(static_cast<uint64_t>(abi::Syscall::irq_control), kRtcIrq, 7), Error::invalid_argument);
    KEXPECT_EQ(l4::irq_acknowledge(kTask), Error::wrong_type);
    // The PIC cascade line has no capability.
    KEXPECT_EQ(l4::irq_acknowledge(abi::boot::kIrqSelectorBase + 2), Error::invalid_selector);
}

// Three periodic interrupts of the RTC reach the notification; each is acknowledged in the
// device (register C) and at the kernel (unmasking the line).
KTEST(rtc_interrupt_reaches_notification)
{
    Slots slots(700, 710);
    KREQUIRE_EQ(l4::factory_create(kFactory, ObjectKind::io_ports, kCmosPorts, kPorts, ports(0x70, 2)), Error::ok);
    KREQUIRE_EQ(l4::ioport_enable(kCmosPorts), Error::ok);
    KREQUIRE_EQ(make(kNotification, ObjectKind::notification), Error::ok);
    KREQUIRE_EQ(l4::irq_bind(kRtcIrq, kNotification), Error::ok);
    (void)cmos_read(kRegisterC); // clear a stale flag
    uint8_t b = cmos_read(kRegisterB);
    cmos_write(kRegisterB, static_cast<uint8_t>(b | kPeriodicEnable));

    uint64_t delivered = 0;
    for (int interrupt = 0; interrupt < 3; ++interrupt) {
        uint64_t bits = 0;
        wait_until([&] { return l4::notify_poll(kNotification, bits) == Error::ok && bits != 0; });
        KEXPECT_EQ(bits, 1);
        delivered += bits != 0 ? 1 : 0;
        (void)cmos_read(kRegisterC);
        KEXPECT_EQ(l4::irq_acknowledge(kRtcIrq), Error::ok);
    }
    cmos_write(kRegisterB, static_cast<uint8_t>(b & ~kPeriodicEnable));
    KEXPECT_EQ(delivered, 3);
}
