// Type-safe formatting for kernel and user code: fmt::format(sink, "x={} at {:#x}", a, b).
//
// Placeholders are `{}` or `{:spec}`, spec = [[fill]align][+][#][0][width][.precision][type]:
//   align      < left, > right, ^ centre (numbers default to right, text to left)
//   +          a sign for non-negative numbers too
//   #          0x / 0X / 0b / 0 prefix for x / X / b / o
//   0          pad numbers with zeros after sign and prefix (ignored when align is given)
//   width      minimum field width, at most kMaxWidth
//   .precision at most this many characters of a string
//   type       d x X b o (integers, chars, bools, pointers), c (integer as a character),
//              s (text, bools as true/false), p (0x-prefixed hexadecimal)
// Negative numbers print a sign in every base ({:x} of -255 is -ff); a pointer prints as
// {:p}, 0x and its digits ({:#018x} gives all sixteen). `{{` and `}}` print braces.
// Arguments carry their type, so a mismatch prints oddly but never reads what was not passed
// (as printf's varargs can). A placeholder without an argument prints `{?}`, a malformed one
// `{!}` (and uses up its argument); extra arguments are ignored.
//
// The caller brings the output: the kernel log writes to the serial port (kernel/log.hpp),
// libl4's println to debug_write (l4/format.hpp), format_to to a buffer.
#pragma once

#include <stddef.h>
#include <stdint.h>
#include <type_traits>

namespace fmt {

constexpr size_t kMaxWidth = 1024;

// Text that need not end in NUL (a cpio name, part of a buffer).
struct Str {
    const char* text;
    size_t length;
};

// Where formatted text goes; called with pieces of the output, in order.
struct Sink {
    void (*write)(void* context, const char* text, size_t length);
    void* context;
};

class Arg {
public:
    enum class Kind : uint8_t { none, sint, uint, boolean, character, text, pointer };

    constexpr Arg() = default;
    constexpr Arg(Kind kind, uint64_t value) : kind_(kind), value_(value) {}
    constexpr Arg(const char* text, size_t length) : kind_(Kind::text), value_(length), text_(text) {}

    constexpr Kind kind() const { return kind_; }
    constexpr uint64_t value() const { return value_; }
    constexpr const char* text() const { return text_; } // Kind::text: value() is the length

private:
    Kind kind_ = Kind::none;
    uint64_t value_ = 0;
    const char* text_ = nullptr;
};

namespace detail {
size_t c_string_length(const char* text); // 6 for a null pointer: it prints "(null)"
}

template <typename T>
constexpr Arg make_arg(const T& value)
{
    using U = std::remove_cv_t<T>;
    using Kind = Arg::Kind;
    if constexpr (std::is_same_v<U, bool>)
        return Arg(Kind::boolean, value ? 1 : 0);
    else if constexpr (std::is_same_v<U, char>)
        return Arg(Kind::character, static_cast<unsigned char>(value));
    else if constexpr (std::is_enum_v<U>)
        return make_arg(static_cast<std::underlying_type_t<U>>(value));
    else if constexpr (std::is_integral_v<U> && std::is_signed_v<U>)
        return Arg(Kind::sint, static_cast<uint64_t>(static_cast<int64_t>(value)));
    else if constexpr (std::is_integral_v<U>)
        return Arg(Kind::uint, static_cast<uint64_t>(value));
    else if constexpr (std::is_same_v<U, Str>)
        return Arg(value.text, value.length);
    else if constexpr (std::is_null_pointer_v<U>)
        return Arg(Kind::pointer, 0);
    else if constexpr (std::is_convertible_v<const U&, const char*>)
        return Arg(static_cast<const char*>(value), detail::c_string_length(value));
    else if constexpr (std::is_pointer_v<U>)
        return Arg(Kind::pointer, reinterpret_cast<uintptr_t>(value));
    else
        static_assert(sizeof(U) == 0, "fmt: no formatter for this type");
}

// Formats into `sink`; returns the number of characters written.
size_t vformat(const Sink& sink, const char* format, const Arg* args, size_t count);

// Formats into buf: always NUL-terminated when size > 0, cut if it does not fit. Returns the
// length the whole text has (as snprintf does), so `result >= size` means it was cut.
size_t vformat_to(char* buf, size_t size, const char* format, const Arg* args, size_t count);

template <typename... Args>
size_t format(const Sink& sink, const char* format_string, const Args&... args)
{
    const Arg list[] = {make_arg(args)..., Arg()};
    return vformat(sink, format_string, list, sizeof...(Args));
}

template <typename... Args>
size_t format_to(char* buf, size_t size, const char* format_string, const Args&... args)
{
    const Arg list[] = {make_arg(args)..., Arg()};
    return vformat_to(buf, size, format_string, list, sizeof...(Args));
}

} // namespace fmt
