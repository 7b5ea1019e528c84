// The shim's console and its line discipline (console.hpp).
#include "console.hpp"

#include "common/string.hpp"
#include "l4/guest_console.hpp"

namespace shim {

namespace {

namespace hc = l4::abi::hc;
namespace pv = hc::pv;

// termios bits (asm-generic/termbits.h).
constexpr uint32_t kIcrnl = 0000400, kOpost = 0000001, kOnlcr = 0000004;
constexpr uint32_t kIsig = 0000001, kIcanon = 0000002, kEcho = 0000010, kEchoe = 0000020, kEchok = 0000040,
                   kNoflsh = 0000200, kEchoctl = 0001000;
constexpr int kSigInt = 2, kSigQuit = 3, kSigTstp = 20;
constexpr uint32_t kCs8 = 0000060, kCread = 0000200, kB38400 = 0000017;
constexpr uint32_t kVerase = 2, kVkill = 3, kVeof = 4, kVmin = 6, kVintr = 0, kVquit = 1, kVsusp = 10;

alignas(pv::kRingAlignment) uint8_t ring_area[pv::ring_bytes(hc::DeviceKind::console, 4)];
alignas(4096) uint8_t data_area[4 * 64];

} // namespace

Console& console()
{
    static Console the_console;
    return the_console;
}

bool Console::attach()
{
    termios = Termios{};
    termios.iflag = kIcrnl;
    termios.oflag = kOpost | kOnlcr;
    termios.cflag = kB38400 | kCs8 | kCread;
    termios.lflag = kIsig | kIcanon | kEcho | kEchoe | kEchok;
    termios.cc[kVintr] = 3;
    termios.cc[kVquit] = 034;
    termios.cc[kVerase] = 0177;
    termios.cc[kVkill] = 025;
    termios.cc[kVeof] = 4;
    termios.cc[kVmin] = 1;
    termios.cc[kVsusp] = 032;
    ring_.init(hc::DeviceKind::console, ring_area, kBuffers);
    for (uint32_t i = 0; i < kBuffers; ++i)
        (void)ring_.post(pv::queue::console_input,
                         pv::BufferRequest{i, 0, uint64_t{i} * kBufferBytes, kBufferBytes, 0});
    const hc::HcStatus s =
        l4::hc::device_attach(hc::DeviceKind::console, ring_area, sizeof ring_area, data_area, sizeof data_area);
    if (s != hc::HcStatus::ok) {
        l4::hc::println("shim: no console input: device_attach said {}", static_cast<uint64_t>(s));
        return false;
    }
    l4::hc::enable_sources(uint64_t{1} << hc::source::console);
    l4::hc::doorbell(); // input typed before the attach waits in the VMM for a doorbell
    return true;
}

void Console::take_input()
{
    pv::Response r;
    bool posted = false;
    while (ring_.take_response(pv::queue::console_input, r)) {
        const uint32_t id = r.id % kBuffers;
        const uint32_t length = r.length < kBufferBytes ? r.length : kBufferBytes;
        for (uint32_t i = 0; r.status == 0 && i < length; ++i)
            receive(data_area[id * kBufferBytes + i]);
        (void)ring_.post(pv::queue::console_input,
                         pv::BufferRequest{id, 0, uint64_t{id} * kBufferBytes, kBufferBytes, 0});
        posted = true;
    }
    if (posted)
        l4::hc::doorbell();
}

void Console::echo(const char* bytes, size_t count)
{
    if (termios.lflag & kEcho)
        write(reinterpret_cast<const uint8_t*>(bytes), count);
}

void Console::receive(uint8_t byte)
{
    if (byte == '\r' && (termios.iflag & kIcrnl))
        byte = '\n';
    if ((termios.lflag & kIsig) && byte != 0) { // (0 is _POSIX_VDISABLE: no key)
        const int signal = byte == termios.cc[kVintr]   ? kSigInt
                           : byte == termios.cc[kVquit] ? kSigQuit
                           : byte == termios.cc[kVsusp] ? kSigTstp
                                                        : 0;
        if (signal != 0) {
            signals_ |= uint64_t{1} << (signal - 1);
            if (!(termios.lflag & kNoflsh)) {
                input_length_ = line_end_ = 0;
                eof_ = false;
            }
            if (termios.lflag & kEchoctl) {
                const char shown[2] = {'^', static_cast<char>(byte + 0x40)};
                echo(shown, sizeof shown);
            }
            return;
        }
    }
    if (!(termios.lflag & kIcanon)) {
        if (input_length_ < sizeof input_)
            input_[input_length_++] = byte;
        return;
    }
    if (byte == termios.cc[kVerase] || byte == '\b') {
        if (input_length_ > line_end_) {
            --input_length_;
            if (termios.lflag & kEchoe)
                echo("\b \b", 3);
        }
        return;
    }
    if (byte == termios.cc[kVkill]) {
        while (input_length_ > line_end_) {
            --input_length_;
            echo("\b \b", 3);
        }
        return;
    }
    if (byte == termios.cc[kVeof]) { // ends the line without a newline; alone, it reads as end of file
        if (input_length_ > line_end_)
            line_end_ = input_length_;
        else
            eof_ = true;
        return;
    }
    if (input_length_ == sizeof input_)
        return; // a full line buffer drops what comes, as Linux does past 4095
    input_[input_length_++] = byte;
    echo(reinterpret_cast<const char*>(&byte), 1);
    if (byte == '\n')
        line_end_ = input_length_;
}

uint64_t Console::take_signals()
{
    const uint64_t taken = signals_;
    signals_ = 0;
    return taken;
}

size_t Console::readable() const
{
    if (termios.lflag & kIcanon)
        return line_end_ != 0 ? line_end_ : (eof_ ? 1 : 0);
    return input_length_;
}

size_t Console::read(uint8_t* to, size_t capacity)
{
    size_t n = readable();
    if (eof_ && line_end_ == 0 && (termios.lflag & kIcanon)) {
        eof_ = false;
        return 0;
    }
    if (n > capacity)
        n = capacity;
    memcpy(to, input_, n);
    memmove(input_, input_ + n, input_length_ - n);
    input_length_ -= n;
    line_end_ = line_end_ > n ? line_end_ - n : 0;
    return n;
}

void Console::write(const uint8_t* bytes, size_t count)
{
    l4::hc::console_write_all(reinterpret_cast<const char*>(bytes), count);
}

} // namespace shim
