// Port I/O for user-level drivers. The task needs the ports' capability and ioport_enable on it
// (l4/syscall.hpp) first; any other port raises #GP, which becomes an exception IPC.
#pragma once

#include <stdint.h>

namespace l4 {

inline uint8_t port_in8(uint16_t port)
{
    uint8_t value;
    asm volatile("inb %1, %0" : "=a"(value) : "Nd"(port));
    return value;
}

inline void port_out8(uint16_t port, uint8_t value) { asm volatile("outb %0, %1" ::"a"(value), "Nd"(port)); }

} // namespace l4
