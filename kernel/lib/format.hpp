// Type-safe formatted printing for kernel logs: format("x={} at {:#x}", a, b).
//
// Placeholders are `{}` or `{:spec}` with spec = [fill][<|>][#][0][width][type], type one of
// d x X b o c s p. `{{` and `}}` print braces. Arguments carry their type with them, so a
// mismatch can print oddly but never reads the wrong thing off the stack as printf can.
// A placeholder with no argument prints `{?}`, a malformed spec `{!}`.
#pragma once

#include <stddef.h>
#include <stdint.h>
#include <type_traits>

namespace fmt {

// Where formatted text goes: the serial console, a buffer, a test's string.
struct Sink {
    void (*write)(void* context, const char* text, size_t length);
    void* context;
};

// A string that need not end in NUL.
struct Str {
    const char* text;
    size_t length;
};

class Arg {
public:
    enum class Kind : uint8_t { none, sint, uint, boolean, character, cstring, str, pointer };

    Arg() = default;
    constexpr Arg(Kind kind, uint64_t value) : kind_(kind), value_(value) {}
    constexpr Arg(const char* text) : kind_(Kind::cstring), text_(text) {}
    constexpr Arg(Str str) : kind_(Kind::str), text_(str.text), length_(str.length) {}

    Kind kind() const { return kind_; }
    uint64_t value() const { return value_; }
    const char* text() const { return text_; }
    size_t length() const { return length_; }

private:
    Kind kind_ = Kind::none;
    uint64_t value_ = 0;
    const char* text_ = nullptr;
    size_t length_ = 0;
};

template <typename T>
constexpr Arg make_arg(const T& value)
{
    using U = std::remove_cv_t<T>;
    if constexpr (std::is_same_v<U, bool>)
        return Arg(Arg::Kind::boolean, value ? 1 : 0);
    else if constexpr (std::is_same_v<U, char>)
        return Arg(Arg::Kind::character, static_cast<unsigned char>(value));
    else if constexpr (std::is_enum_v<U>)
        return make_arg(static_cast<std::underlying_type_t<U>>(value));
    else if constexpr (std::is_integral_v<U> && std::is_signed_v<U>)
        return Arg(Arg::Kind::sint, static_cast<uint64_t>(static_cast<int64_t>(value)));
    else if constexpr (std::is_integral_v<U>)
        return Arg(Arg::Kind::uint, static_cast<uint64_t>(value));
    else if constexpr (std::is_same_v<U, Str>)
        return Arg(value);
    else if constexpr (std::is_null_pointer_v<U>)
        return Arg(Arg::Kind::pointer, 0);
    else if constexpr (std::is_convertible_v<U, const char*>)
        return Arg(static_cast<const char*>(value));
    else if constexpr (std::is_pointer_v<U>)
        return Arg(Arg::Kind::pointer, reinterpret_cast<uintptr_t>(value));
    else
        static_assert(sizeof(U) == 0, "fmt: no formatter for this type");
}

void vformat(const Sink& sink, const char* format, const Arg* args, size_t count);

template <typename... Args>
void format(const Sink& sink, const char* format_string, const Args&... args)
{
    const Arg list[] = {make_arg(args)..., Arg()};
    vformat(sink, format_string, list, sizeof...(Args));
}

// Formats into buf (always NUL-terminated when size > 0, truncating if needed) and returns
// the length the whole text would have had.
size_t vformat_to(char* buf, size_t size, const char* format, const Arg* args, size_t count);

template <typename... Args>
size_t format_to(char* buf, size_t size, const char* format_string, const Args&... args)
{
    const Arg list[] = {make_arg(args)..., Arg()};
    return vformat_to(buf, size, format_string, list, sizeof...(Args));
}

} // namespace fmt
