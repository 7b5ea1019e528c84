// The shim's console: its console device (the input ring; output goes by console_write), and the
// terminal on top of it, as Linux's tty line discipline has it: termios (TCGETS, TCSETS), the
// foreground process group, canonical lines with echo and erase, or raw bytes.
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "l4/pv_device.hpp"

namespace shim {

// struct termios of the kernel (asm-generic/termbits.h): what TCGETS and TCSETS carry.
struct Termios {
    uint32_t iflag, oflag, cflag, lflag;
    uint8_t line;
    uint8_t cc[19];
};
static_assert(sizeof(Termios) == 36);

class Console {
public:
    // Attaches the console device with its input ring; false (and says why) when it cannot.
    bool attach();
    // Takes what the VMM typed into the input ring (after a console event) through the line
    // discipline, and posts the buffers again.
    void take_input();

    // What a read may take now (a canonical line, or raw bytes); 0 when it must wait.
    size_t readable() const;
    size_t read(uint8_t* to, size_t capacity);

    void write(const uint8_t* bytes, size_t count);

    // The signals (a bit each, signal - 1) ^C, ^\ and ^Z made since the last call: for the
    // foreground group.
    uint64_t take_signals();

    Termios termios{};
    uint64_t foreground_group = 1;

private:
    void receive(uint8_t byte);
    void echo(const char* bytes, size_t count);

    static constexpr uint32_t kBuffers = 4, kBufferBytes = 64;
    l4::hc::DeviceRing ring_;
    uint8_t input_[1024] = {}; // bytes the discipline passed on, not yet read
    size_t input_length_ = 0;
    size_t line_end_ = 0;  // canonical mode: input_[0, line_end_) holds whole lines
    bool eof_ = false;     // canonical mode: ^D on an empty line, for the next read
    uint64_t signals_ = 0; // ISIG's, not yet taken
};

// The guest's one console.
Console& console();

} // namespace shim
