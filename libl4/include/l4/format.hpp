// Type-safe formatting for user tasks: format_to(buf, size, "x={} at {:#x}", a, b).
//
// Placeholders are `{}` or `{:spec}`, spec = [[fill]align][+][#][0][width][.precision][type]:
//   align      < left, > right, ^ centre (numbers default to right, text to left)
//   +          a sign for non-negative numbers too
//   #          0x / 0X / 0b / 0 prefix for x / X / b / o
//   0          pad numbers with zeros after sign and prefix (ignored when align is given)
//   width      minimum field width, at most kMaxFormatWidth
//   .precision at most this many characters of a string
//   type       d x X b o (integers, chars, bools, pointers), c (integer as a character),
//              s (text, bools as true/false), p (0x-prefixed hexadecimal)
// `{{` and `}}` print braces. Arguments carry their type, so a mismatch prints oddly but never
// reads what was not passed (as printf's varargs can). A placeholder without an argument
// prints `{?}`, a malformed one `{!}`; extra arguments are ignored.
//
// Portable: the host unit tests build this too. println and print_format write to the kernel
// console (debug_write) and exist only in user tasks (src/console.cpp).
#pragma once

#include <stddef.h>
#include <stdint.h>
#include <type_traits>

namespace l4 {

constexpr size_t kMaxFormatWidth = 1024;

// Text that need not end in NUL (a cpio name, part of a buffer).
struct Str {
    const char* text;
    size_t length;
};

// Where formatted text goes; called with pieces of the output, in order.
struct FormatSink {
    void (*write)(void* context, const char* text, size_t length);
    void* context;
};

class FormatArg {
public:
    enum class Kind : uint8_t { none, sint, uint, boolean, character, text, pointer };

    constexpr FormatArg() = default;
    constexpr FormatArg(Kind kind, uint64_t value) : kind_(kind), value_(value) {}
    constexpr FormatArg(const char* text, size_t length) : kind_(Kind::text), value_(length), text_(text) {}

    constexpr Kind kind() const { return kind_; }
    constexpr uint64_t value() const { return value_; }
    constexpr const char* text() const { return text_; }   // Kind::text: value() is the length

private:
    Kind kind_ = Kind::none;
    uint64_t value_ = 0;
    const char* text_ = nullptr;
};

namespace detail {
size_t c_string_length(const char* text);   // 6 for a null pointer: it prints "(null)"
}

template <typename T>
constexpr FormatArg make_format_arg(const T& value)
{
    using U = std::remove_cv_t<T>;
    using Kind = FormatArg::Kind;
    if constexpr (std::is_same_v<U, bool>)
        return FormatArg(Kind::boolean, value ? 1 : 0);
    else if constexpr (std::is_same_v<U, char>)
        return FormatArg(Kind::character, static_cast<unsigned char>(value));
    else if constexpr (std::is_enum_v<U>)
        return make_format_arg(static_cast<std::underlying_type_t<U>>(value));
    else if constexpr (std::is_integral_v<U> && std::is_signed_v<U>)
        return FormatArg(Kind::sint, static_cast<uint64_t>(static_cast<int64_t>(value)));
    else if constexpr (std::is_integral_v<U>)
        return FormatArg(Kind::uint, static_cast<uint64_t>(value));
    else if constexpr (std::is_same_v<U, Str>)
        return FormatArg(value.text, value.length);
    else if constexpr (std::is_null_pointer_v<U>)
        return FormatArg(Kind::pointer, 0);
    else if constexpr (std::is_convertible_v<const U&, const char*>)
        return FormatArg(static_cast<const char*>(value), detail::c_string_length(value));
    else if constexpr (std::is_pointer_v<U>)
        return FormatArg(Kind::pointer, reinterpret_cast<uintptr_t>(value));
    else
        static_assert(sizeof(U) == 0, "l4::format: no formatter for this type");
}

// Formats into `sink`; returns the number of characters written.
size_t vformat(const FormatSink& sink, const char* format, const FormatArg* args, size_t count);

// Formats into buf: always NUL-terminated when size > 0, cut if it does not fit. Returns the
// length the whole text has (as snprintf does), so `result >= size` means it was cut.
size_t vformat_to(char* buf, size_t size, const char* format, const FormatArg* args, size_t count);

template <typename... Args>
size_t format(const FormatSink& sink, const char* format_string, const Args&... args)
{
    const FormatArg list[] = {make_format_arg(args)..., FormatArg()};
    return vformat(sink, format_string, list, sizeof...(Args));
}

template <typename... Args>
size_t format_to(char* buf, size_t size, const char* format_string, const Args&... args)
{
    const FormatArg list[] = {make_format_arg(args)..., FormatArg()};
    return vformat_to(buf, size, format_string, list, sizeof...(Args));
}

// Console output (user tasks only): a line is written with one debug_write when it fits in
// 512 bytes, so lines of different threads do not interleave.
namespace detail {
void console_vprint(const char* format, const FormatArg* args, size_t count, bool newline);
}

template <typename... Args>
void print_format(const char* format_string, const Args&... args)
{
    const FormatArg list[] = {make_format_arg(args)..., FormatArg()};
    detail::console_vprint(format_string, list, sizeof...(Args), false);
}

template <typename... Args>
void println(const char* format_string, const Args&... args)
{
    const FormatArg list[] = {make_format_arg(args)..., FormatArg()};
    detail::console_vprint(format_string, list, sizeof...(Args), true);
}

} // namespace l4
