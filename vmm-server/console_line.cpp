// Collecting a guest's console output into lines (console_line.hpp).
#include "console_line.hpp"

namespace vmm {

bool ConsoleLine::put(uint8_t byte)
{
    if (byte == '\r')
        return false;
    if (byte == '\n') {
        text[length] = '\0';
        return true;
    }
    const bool printable = (byte >= 0x20 && byte < 0x7f) || byte == '\t';
    text[length++] = printable ? static_cast<char>(byte) : '?';
    text[length] = '\0';
    return length == kConsoleLineBytes;
}

} // namespace vmm
