// A tiny program that the loader test (loader_root.cpp) loads from a boot module into a new
// task. It starts with nothing mapped: every page it touches (code, constants, .data, .bss,
// stack) arrives through its pager, the root task. It checks what it finds and says so.
//
// Built a second time with -DCHILD_TOUCH_NULL: then it touches address 0 first, which its
// pager refuses, so the kernel stops it there.
#include <stddef.h>
#include <stdint.h>

#include "l4/format.hpp"

namespace {

#ifndef CHILD_TOUCH_NULL
constexpr size_t kDataWords = 1500; // 12,000 bytes of .data: spans pages, ends inside one
constexpr size_t kBssWords = 4096;  // 32 KiB of .bss, from the middle of the last .data page on
constexpr size_t kStackBytes = 24 * 1024;

struct Table {
    uint64_t words[kDataWords];
};

constexpr Table make_table()
{
    Table t{};
    for (size_t i = 0; i < kDataWords; ++i)
        t.words[i] = i * i + 7;
    return t;
}

constexpr uint64_t sum_of(const Table& t)
{
    uint64_t sum = 0;
    for (size_t i = 0; i < kDataWords; ++i)
        sum += t.words[i];
    return sum;
}

constexpr uint64_t kExpectedSum = sum_of(make_table());

constinit Table table = make_table(); // .data: file bytes the pager must copy
uint64_t zeros[kBssWords];            // .bss: memory the pager must zero

// Touches kStackBytes of stack: several pages below the first.
[[gnu::noinline]] uint64_t use_stack()
{
    volatile uint8_t buffer[kStackBytes];
    for (size_t i = 0; i < kStackBytes; i += 512)
        buffer[i] = static_cast<uint8_t>(i >> 9);
    uint64_t sum = 0;
    for (size_t i = 0; i < kStackBytes; i += 512)
        sum += buffer[i];
    return sum;
}
#endif

} // namespace

int main()
{
#ifdef CHILD_TOUCH_NULL
    l4::println("child: touching address 0");
    uint64_t null = 0;
    asm volatile("" : "+r"(null)); // the compiler must not see that it is null
    *reinterpret_cast<volatile uint64_t*>(null) = 1;
    l4::println("child: survived touching address 0");
    return 0;
#else
    l4::println("child: hello from a loaded task");
    uint64_t sum = 0;
    for (size_t i = 0; i < kDataWords; ++i)
        sum += *static_cast<volatile uint64_t*>(&table.words[i]);
    uint64_t zero_bytes = 0;
    for (size_t i = 0; i < kBssWords; ++i)
        zero_bytes += *static_cast<volatile uint64_t*>(&zeros[i]) == 0 ? sizeof(uint64_t) : 0;
    l4::println("child: .data sum {} {}, .bss {} bytes zero {}", sum, sum == kExpectedSum ? "ok" : "WRONG", zero_bytes,
                zero_bytes == sizeof zeros ? "ok" : "WRONG");
    // Both are writable: .data and .bss pages came read/write.
    for (size_t i = 0; i < kBssWords; ++i)
        zeros[i] = table.words[i % kDataWords];
    table.words[0] = zeros[kBssWords - 1];
    const uint64_t stack = use_stack();
    l4::println("child: wrote .data and .bss, touched {} KiB of stack (checksum {}), done", kStackBytes / 1024, stack);
    return 0;
#endif
}
