// String and character functions of libl4's C library, under l4_ names (see l4/libc.hpp).
// Portable: built for user tasks and for the host unit tests.
#include "l4/libc.hpp"

namespace {

unsigned char byte(char c) { return static_cast<unsigned char>(c); }

// Value of a digit in bases up to 36, or 36 for anything else.
unsigned digit_value(char c)
{
    if (c >= '0' && c <= '9')
        return static_cast<unsigned>(c - '0');
    if (c >= 'a' && c <= 'z')
        return static_cast<unsigned>(c - 'a') + 10;
    if (c >= 'A' && c <= 'Z')
        return static_cast<unsigned>(c - 'A') + 10;
    return 36;
}

} // namespace

extern "C" {

int l4_strcmp(const char* a, const char* b)
{
    while (*a != '\0' && *a == *b) {
        ++a;
        ++b;
    }
    return static_cast<int>(byte(*a)) - static_cast<int>(byte(*b));
}

int l4_strncmp(const char* a, const char* b, size_t count)
{
    for (size_t i = 0; i < count; ++i) {
        if (a[i] != b[i] || a[i] == '\0')
            return static_cast<int>(byte(a[i])) - static_cast<int>(byte(b[i]));
    }
    return 0;
}

char* l4_strchr(const char* text, int c)
{
    const char wanted = static_cast<char>(c);
    for (;; ++text) {
        if (*text == wanted)
            return const_cast<char*>(text);
        if (*text == '\0')
            return nullptr;
    }
}

char* l4_strrchr(const char* text, int c)
{
    const char wanted = static_cast<char>(c);
    const char* found = nullptr;
    for (;; ++text) {
        if (*text == wanted)
            found = text;
        if (*text == '\0')
            return const_cast<char*>(found);
    }
}

size_t l4_strnlen(const char* text, size_t limit)
{
    size_t length = 0;
    while (length < limit && text[length] != '\0')
        ++length;
    return length;
}

void* l4_memchr(const void* memory, int c, size_t count)
{
    const auto* p = static_cast<const unsigned char*>(memory);
    const auto wanted = static_cast<unsigned char>(c);
    for (size_t i = 0; i < count; ++i)
        if (p[i] == wanted)
            return const_cast<unsigned char*>(p + i);
    return nullptr;
}

size_t l4_strlcpy(char* destination, const char* source, size_t size)
{
    size_t length = 0;
    while (source[length] != '\0')
        ++length;
    if (size > 0) {
        const size_t n = length < size - 1 ? length : size - 1;
        for (size_t i = 0; i < n; ++i)
            destination[i] = source[i];
        destination[n] = '\0';
    }
    return length;
}

size_t l4_strlcat(char* destination, const char* source, size_t size)
{
    // Not terminated within size: nothing is appended (and nothing read past size).
    const size_t used = l4_strnlen(destination, size);
    if (used == size)
        return size + l4_strnlen(source, ~size_t{0} - size);
    return used + l4_strlcpy(destination + used, source, size - used);
}

unsigned long long l4_strtoull(const char* text, char** end, int base)
{
    const char* p = text;
    while (l4_isspace(byte(*p)))
        ++p;
    bool negative = false;
    if (*p == '+' || *p == '-') {
        negative = *p == '-';
        ++p;
    }
    if (base < 0 || base == 1 || base > 36) {
        if (end != nullptr)
            *end = const_cast<char*>(text);
        return 0;
    }
    // A "0x" counts as a prefix only if a hex digit follows; otherwise the "0" is the number.
    if ((base == 0 || base == 16) && p[0] == '0' && (p[1] == 'x' || p[1] == 'X') && digit_value(p[2]) < 16) {
        p += 2;
        base = 16;
    } else if (base == 0) {
        base = p[0] == '0' ? 8 : 10;
    }

    const auto radix = static_cast<unsigned>(base);
    const unsigned long long limit = ~0ull;
    unsigned long long value = 0;
    bool overflow = false;
    const char* digits = p;
    for (unsigned d; (d = digit_value(*p)) < radix; ++p) {
        if (value > (limit - d) / radix)
            overflow = true;
        else
            value = value * radix + d;
    }
    if (end != nullptr)
        *end = const_cast<char*>(p == digits ? text : p);
    if (overflow)
        return limit;
    return negative ? 0 - value : value;
}

int l4_isdigit(int c) { return c >= '0' && c <= '9'; }
int l4_isupper(int c) { return c >= 'A' && c <= 'Z'; }
int l4_islower(int c) { return c >= 'a' && c <= 'z'; }
int l4_isalpha(int c) { return l4_isupper(c) || l4_islower(c); }
int l4_isalnum(int c) { return l4_isalpha(c) || l4_isdigit(c); }
int l4_isxdigit(int c) { return l4_isdigit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }
int l4_isspace(int c) { return c == ' ' || (c >= '\t' && c <= '\r'); }
int l4_isprint(int c) { return c >= 0x20 && c < 0x7f; }
int l4_ispunct(int c) { return l4_isprint(c) && c != ' ' && !l4_isalnum(c); }
int l4_toupper(int c) { return l4_islower(c) ? c - 'a' + 'A' : c; }
int l4_tolower(int c) { return l4_isupper(c) ? c - 'A' + 'a' : c; }

} // extern "C"
