// 16550 UART on COM1: the kernel console.
#pragma once

#include <stddef.h>

namespace serial {

void init();
void write(const char* text, size_t length); // turns "\n" into "\r\n"
// Waits (bounded) until the UART has sent every byte: before the machine stops.
void drain();

} // namespace serial
