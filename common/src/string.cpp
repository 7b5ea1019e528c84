// The memory and string functions the compiler may call (common/string.hpp). Freestanding
// only: the kernel and libl4 build it, the host tests have their C library.
#include "common/string.hpp"

extern "C" {

// rep movsb/stosb: short, and fast on CPUs with ERMSB.
void* memcpy(void* destination, const void* source, size_t count)
{
    void* start = destination;
    asm volatile("rep movsb" : "+D"(destination), "+S"(source), "+c"(count)::"memory");
    return start;
}

void* memset(void* destination, int value, size_t count)
{
    void* start = destination;
    asm volatile("rep stosb" : "+D"(destination), "+c"(count) : "a"(value) : "memory");
    return start;
}

void* memmove(void* destination, const void* source, size_t count)
{
    auto* d = static_cast<unsigned char*>(destination);
    auto* s = static_cast<const unsigned char*>(source);
    if (d <= s || d >= s + count)
        return memcpy(destination, source, count);
    while (count-- > 0)
        d[count] = s[count];
    return destination;
}

int memcmp(const void* a, const void* b, size_t count)
{
    auto* x = static_cast<const unsigned char*>(a);
    auto* y = static_cast<const unsigned char*>(b);
    for (size_t i = 0; i < count; ++i)
        if (x[i] != y[i])
            return x[i] < y[i] ? -1 : 1;
    return 0;
}

size_t strlen(const char* text)
{
    size_t length = 0;
    while (text[length] != '\0')
        ++length;
    return length;
}

} // extern "C"
