// Console output for user tasks: println and print_format over debug_write, and the heap's
// default error handler.
#include "l4/format.hpp"
#include "l4/heap.hpp"
#include "l4/syscall.hpp"

namespace l4 {

namespace {

// Collects output and writes it in as few debug_write calls as the buffer allows.
struct ConsoleBuffer {
    char text[512];
    size_t used = 0;

    void flush()
    {
        if (used > 0)
            debug_write(text, used);
        used = 0;
    }
};

static_assert(sizeof(ConsoleBuffer::text) <= abi::kMaxDebugWrite);

void write_to_console(void* context, const char* text, size_t length)
{
    auto* b = static_cast<ConsoleBuffer*>(context);
    while (length > 0) {
        if (b->used == sizeof b->text)
            b->flush();
        size_t n = sizeof b->text - b->used;
        if (n > length)
            n = length;
        for (size_t i = 0; i < n; ++i)
            b->text[b->used + i] = text[i];
        b->used += n;
        text += n;
        length -= n;
    }
}

} // namespace

void detail::console_vprint(const char* format, const fmt::Arg* args, size_t count, bool newline)
{
    ConsoleBuffer buffer;
    fmt::vformat(fmt::Sink{write_to_console, &buffer}, format, args, count);
    if (newline)
        write_to_console(&buffer, "\n", 1);
    buffer.flush();
}

} // namespace l4

namespace l4 {

void heap_fatal(HeapError error, const void* pointer)
{
    println("heap: {} of {}", describe(error), pointer);
    thread_exit();
}

} // namespace l4
