// The kernel's formatted printer.
#include <catch2/catch.hpp>
#include <string>

#include "lib/format.hpp"

namespace {

template <typename... Args>
std::string f(const char* format, const Args&... args)
{
    std::string out;
    fmt::Sink sink{[](void* ctx, const char* s, size_t n) { static_cast<std::string*>(ctx)->append(s, n); },
                   &out};
    fmt::format(sink, format, args...);
    return out;
}

enum class Color : uint8_t { red = 3 };

} // namespace

TEST_CASE("format: plain text and escapes")
{
    CHECK(f("hello") == "hello");
    CHECK(f("") == "");
    CHECK(f("{{}}") == "{}");
    CHECK(f("a } b") == "a } b");
    CHECK(f("open {") == "open {");
}

TEST_CASE("format: integers of every width and sign")
{
    CHECK(f("{}", 0) == "0");
    CHECK(f("{}", -42) == "-42");
    CHECK(f("{}", uint8_t{255}) == "255");
    CHECK(f("{}", int8_t{-128}) == "-128");
    CHECK(f("{}", INT64_MIN) == "-9223372036854775808");
    CHECK(f("{}", UINT64_MAX) == "18446744073709551615");
    CHECK(f("{} {}", 1u, 2ul) == "1 2");
    CHECK(f("{}", Color::red) == "3");
}

TEST_CASE("format: bases, prefixes, padding")
{
    CHECK(f("{:x}", 0xdeadbeefu) == "deadbeef");
    CHECK(f("{:X}", 0xdeadbeefu) == "DEADBEEF");
    CHECK(f("{:#x}", 255) == "0xff");
    CHECK(f("{:#X}", 255) == "0XFF");
    CHECK(f("{:b}", 5) == "101");
    CHECK(f("{:#b}", 5) == "0b101");
    CHECK(f("{:o}", 8) == "10");
    CHECK(f("{:016x}", 0x1234u) == "0000000000001234");
    CHECK(f("{:#010x}", 0x1234u) == "0x00001234");
    CHECK(f("{:5}", 42) == "   42");
    CHECK(f("{:<5}|", 42) == "42   |");
    CHECK(f("{:*>6}", 7) == "*****7");
    CHECK(f("{:.<6}", "ab") == "ab....");
    CHECK(f("{:05}", -42) == "-0042");
    CHECK(f("{:3}", 12345) == "12345");
    CHECK(f("{:x}", -1) == "ffffffffffffffff");
}

TEST_CASE("format: strings, chars, bools, pointers")
{
    CHECK(f("{}", "text") == "text");
    const char* null_string = nullptr;
    CHECK(f("{}", null_string) == "(null)");
    CHECK(f("[{:8}]", "ab") == "[      ab]");
    CHECK(f("{}", fmt::Str{"abcdef", 3}) == "abc");
    CHECK(f("{}", 'z') == "z");
    CHECK(f("{:c}", 65) == "A");
    CHECK(f("{:d}", 'A') == "65");
    CHECK(f("{} {}", true, false) == "true false");
    CHECK(f("{:d}", true) == "1");
    CHECK(f("{}", reinterpret_cast<void*>(0x1000)) == "0x0000000000001000");
    CHECK(f("{:x}", reinterpret_cast<void*>(0x1000)) == "1000");
    CHECK(f("{}", nullptr) == "0x0000000000000000");
}

TEST_CASE("format: missing arguments and bad specs are visible, not fatal")
{
    CHECK(f("{} {}", 1) == "1 {?}");
    CHECK(f("{}") == "{?}");
    CHECK(f("{:q}", 1) == "{!}");
    CHECK(f("{:999}", 1) == "{!}");
    CHECK(f("{x}", 1) == "{!}");
    CHECK(f("{} {}", 1, 2, 3) == "1 2");
    CHECK(f("{:!}{}", 1, 2) == "{!}2");
}

TEST_CASE("format_to: truncates, terminates, reports the full length")
{
    char buf[8];
    CHECK(fmt::format_to(buf, sizeof buf, "{}-{}", 123, 456) == 7);
    CHECK(std::string(buf) == "123-456");
    CHECK(fmt::format_to(buf, sizeof buf, "{}", "0123456789") == 10);
    CHECK(std::string(buf) == "0123456");
    CHECK(fmt::format_to(buf, 1, "abc") == 3);
    CHECK(buf[0] == '\0');
    CHECK(fmt::format_to(nullptr, 0, "abc") == 3);
}
