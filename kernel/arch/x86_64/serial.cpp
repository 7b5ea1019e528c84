// 16550 UART on COM1, polled: the console must work before interrupts and in a panic.
#include "arch/x86_64/serial.hpp"

#include "arch/x86_64/cpu.hpp"

namespace serial {
namespace {

constexpr uint16_t kCom1 = 0x3f8;
constexpr uint16_t kData = 0, kInterruptEnable = 1, kFifoControl = 2, kLineControl = 3, kModemControl = 4,
                   kLineStatus = 5;
constexpr uint8_t kHoldingEmpty = 1 << 5;    // room for the next byte
constexpr uint8_t kTransmitterIdle = 1 << 6; // every byte is out on the line
constexpr uint16_t kDivisor115200 = 1;

// Bounded so a missing UART (some boards have none) cannot hang the kernel.
void wait_for(uint8_t status)
{
    for (int spins = 0; spins < 100000; ++spins)
        if (cpu::inb(kCom1 + kLineStatus) & status)
            return;
}

void put(char c)
{
    wait_for(kHoldingEmpty);
    cpu::outb(kCom1 + kData, static_cast<uint8_t>(c));
}

} // namespace

void init()
{
    cpu::outb(kCom1 + kInterruptEnable, 0x00);
    cpu::outb(kCom1 + kLineControl, 0x80); // divisor latch access
    cpu::outb(kCom1 + 0, kDivisor115200 & 0xff);
    cpu::outb(kCom1 + 1, kDivisor115200 >> 8);
    cpu::outb(kCom1 + kLineControl, 0x03);  // 8 data bits, no parity, one stop bit
    cpu::outb(kCom1 + kFifoControl, 0xc7);  // FIFO on, cleared, 14-byte threshold
    cpu::outb(kCom1 + kModemControl, 0x03); // DTR, RTS
}

void drain() { wait_for(kTransmitterIdle); }

void write(const char* text, size_t length)
{
    for (size_t i = 0; i < length; ++i) {
        if (text[i] == '\n')
            put('\r');
        put(text[i]);
    }
}

} // namespace serial
