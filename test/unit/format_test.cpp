// The common formatter (common/format.hpp), which the kernel log and libl4's println share.
#include <catch2/catch.hpp>

#include <cstdint>
#include <cstring>
#include <random>
#include <string>

#include "common/format.hpp"

namespace {

// Formats through a sink and through format_to, checks that they agree and that both return
// the full length, and returns the text.
template <typename... Args>
std::string f(const char* format, const Args&... args)
{
    std::string out;
    fmt::Sink sink{[](void* ctx, const char* s, size_t n) { static_cast<std::string*>(ctx)->append(s, n); }, &out};
    const size_t length = fmt::format(sink, format, args...);
    CHECK(length == out.size());
    char buf[512];
    CHECK(fmt::format_to(buf, sizeof buf, format, args...) == out.size());
    if (out.size() < sizeof buf)
        CHECK(std::string(buf) == out);
    return out;
}

enum class Color : uint8_t { red = 3 };
enum Plain { kSeven = 7 };

} // namespace

TEST_CASE("format: plain text and braces")
{
    CHECK(f("hello") == "hello");
    CHECK(f("") == "");
    CHECK(f("{{}}") == "{}");
    CHECK(f("a } b") == "a } b");
    CHECK(f("{{{}}}", 5) == "{5}");
    CHECK(f(nullptr) == "");
}

TEST_CASE("format: integers of every width and sign")
{
    CHECK(f("{}", 0) == "0");
    CHECK(f("{}", -42) == "-42");
    CHECK(f("{}", uint8_t{255}) == "255");
    CHECK(f("{}", int8_t{-128}) == "-128");
    CHECK(f("{}", short{-300}) == "-300");
    CHECK(f("{}", INT64_MIN) == "-9223372036854775808");
    CHECK(f("{}", INT64_MAX) == "9223372036854775807");
    CHECK(f("{}", UINT64_MAX) == "18446744073709551615");
    CHECK(f("{} {} {}", 1u, 2ul, 3ull) == "1 2 3");
    CHECK(f("{}", Color::red) == "3");
    CHECK(f("{}", kSeven) == "7");
    CHECK(f("{:d}", 'A') == "65");
    CHECK(f("{:+}", 5) == "+5");
    CHECK(f("{:+}", -5) == "-5");
    CHECK(f("x={} y={:#x}", 10, 255) == "x=10 y=0xff");
}

TEST_CASE("format: bases, prefixes, padding, alignment")
{
    CHECK(f("{:x}", 0xdeadbeefu) == "deadbeef");
    CHECK(f("{:X}", 0xdeadbeefu) == "DEADBEEF");
    CHECK(f("{:#x}", 255) == "0xff");
    CHECK(f("{:#X}", 255) == "0XFF");
    CHECK(f("{:x}", -255) == "-ff");
    CHECK(f("{:#x}", 0) == "0x0");
    CHECK(f("{:b}", 5) == "101");
    CHECK(f("{:#b}", 5) == "0b101");
    CHECK(f("{:o}", 8) == "10");
    CHECK(f("{:#o}", 8) == "010");
    CHECK(f("{:#o}", 0) == "0");
    CHECK(f("{:x}", UINT64_MAX) == "ffffffffffffffff");
    CHECK(f("{:b}", UINT64_MAX) == std::string(64, '1'));
    CHECK(f("{:08x}", 0x1234u) == "00001234");
    CHECK(f("{:#010x}", 0x1234u) == "0x00001234");
    CHECK(f("{:05}", -42) == "-0042");
    CHECK(f("{:+05}", 42) == "+0042");
    CHECK(f("{:5}", 42) == "   42");
    CHECK(f("{:<5}|", 42) == "42   |");
    CHECK(f("{:^6}|", 42) == "  42  |");
    CHECK(f("{:^5}|", 42) == " 42  |");
    CHECK(f("{:*>6}", 7) == "*****7");
    CHECK(f("{:0>4}", 7) == "0007");
    CHECK(f("{:<05}|", 7) == "7    |"); // an explicit alignment wins over '0'
    CHECK(f("{:3}", 12345) == "12345");
    CHECK(f("{:d}", 0x10) == "16");
}

TEST_CASE("format: text, characters, booleans, pointers")
{
    CHECK(f("{}", "abc") == "abc");
    CHECK(f("{:5}|", "ab") == "ab   |");
    CHECK(f("{:>5}", "ab") == "   ab");
    CHECK(f("{:.<6}", "ab") == "ab....");
    CHECK(f("{:.2}", "abcdef") == "ab");
    CHECK(f("{:>4.2}", "abcdef") == "  ab");
    CHECK(f("{:.0}|", "abc") == "|");
    const char* none = nullptr;
    CHECK(f("{}", none) == "(null)");
    char array[8] = "xyz";
    CHECK(f("{}", array) == "xyz");
    char* mutable_text = array;
    CHECK(f("{}", mutable_text) == "xyz");
    CHECK(f("[{}]", fmt::Str{"hello world", 5}) == "[hello]");
    CHECK(f("[{:>7}]", fmt::Str{"hello world", 5}) == "[  hello]");
    CHECK(f("{}", 'x') == "x");
    CHECK(f("{:3}|", 'x') == "x  |");
    CHECK(f("{:c}", 65) == "A");
    CHECK(f("{:x}", 'A') == "41");
    CHECK(f("{}", true) == "true");
    CHECK(f("{:>6}", false) == " false");
    CHECK(f("{:d}", true) == "1");
    CHECK(f("{}", nullptr) == "0x0");
    CHECK(f("{}", reinterpret_cast<void*>(0x1000)) == "0x1000");
    CHECK(f("{}", reinterpret_cast<const int*>(0xabc)) == "0xabc");
    CHECK(f("{:x}", reinterpret_cast<void*>(0xabc)) == "abc");
    CHECK(f("{:#018x}", reinterpret_cast<void*>(0xabc)) == "0x0000000000000abc");
    CHECK(f("{:p}", 255) == "0xff");
    CHECK(f("{:d}", reinterpret_cast<void*>(100)) == "100");
}

TEST_CASE("format: missing arguments and malformed placeholders")
{
    CHECK(f("{} {}", 1) == "1 {?}");
    CHECK(f("{}") == "{?}");
    CHECK(f("a", 1, 2) == "a");
    CHECK(f("{:q}", 1) == "{!}");
    CHECK(f("{:q} {}", 1, 2) == "{!} 2"); // the bad one used up its argument
    CHECK(f("{x}", 1) == "{!}");
    CHECK(f("{:5", 1) == "{!}");
    CHECK(f("open {") == "open {!}");
    CHECK(f("{:.}", "a") == "{!}");
    CHECK(f("{:99999}", 1) == "{!}"); // width above kMaxWidth
    CHECK(f("{:1024}", 1).size() == 1024);
}

TEST_CASE("format: format_to cuts, terminates, returns the full length")
{
    char buf[8];
    std::memset(buf, 'Z', sizeof buf);
    CHECK(fmt::format_to(buf, sizeof buf, "value={}", 123456) == 12);
    CHECK(std::string(buf) == "value=1");

    std::memset(buf, 'Z', sizeof buf);
    CHECK(fmt::format_to(buf, 1, "abc") == 3);
    CHECK(buf[0] == '\0');
    CHECK(buf[1] == 'Z');

    CHECK(fmt::format_to(nullptr, 0, "{}-{}", 10, 20) == 5);

    std::memset(buf, 'Z', sizeof buf);
    CHECK(fmt::format_to(buf, 4, "{:10}", 1) == 10);
    CHECK(std::string(buf) == "   ");
    CHECK(buf[4] == 'Z');

    CHECK(fmt::format_to(buf, sizeof buf, "1234567") == 7);
    CHECK(std::string(buf) == "1234567");
}

TEST_CASE("format: random specs never overrun the buffer")
{
    std::mt19937 rng(1234);
    const char* pieces[] = {"{", "}", ":", "<", ">", "^", "#", "0", "5", ".", "3", "x",
                            "X", "b", "o", "c", "s", "p", "d", "q", "+", "*", "a", " "};
    for (int round = 0; round < 3000; ++round) {
        std::string format;
        const int n = static_cast<int>(rng() % 12);
        for (int i = 0; i < n; ++i)
            format += pieces[rng() % (sizeof pieces / sizeof pieces[0])];
        const size_t size = rng() % 24;
        std::string buf(size + 8, '\x7f');
        const size_t length = fmt::format_to(buf.data(), size, format.c_str(), -5, "str", 'c', true,
                                             static_cast<void*>(nullptr), UINT64_MAX);
        std::string unbounded(length + 1, '\0');
        REQUIRE(fmt::format_to(unbounded.data(), unbounded.size(), format.c_str(), -5, "str", 'c', true,
                               static_cast<void*>(nullptr), UINT64_MAX) == length);
        for (size_t i = size; i < buf.size(); ++i)
            REQUIRE(buf[i] == '\x7f');
        if (size > 0) {
            const size_t kept = length < size - 1 ? length : size - 1;
            REQUIRE(buf[kept] == '\0');
            REQUIRE(buf.compare(0, kept, unbounded, 0, kept) == 0);
        }
    }
}

// Cases from the kernel's former formatter. Where it answered differently, the merged formatter
// follows std::format (and libl4): text is left-aligned by default, negative numbers keep their
// sign in every base, a pointer prints as {:p}, an unterminated placeholder as {!}, widths go to
// kMaxWidth. The kernel's call sites ask for what they printed before ({:#018x} for pointers).
TEST_CASE("format: what the kernel's log relies on")
{
    CHECK(f("{:016x}", 0x1234u) == "0000000000001234");
    CHECK(f("{:#018x}", 0x1234u) == "0x0000000000001234");
    CHECK(f("  #{:<2} {:#018x} ?", 3, 0xffffffff80001000ull) == "  #3  0xffffffff80001000 ?");
    CHECK(f("{:x}", -1) == "-1"); // was ffffffffffffffff
    CHECK(f("{:x}", static_cast<uint64_t>(-1)) == "ffffffffffffffff");
    CHECK(f("[{:8}]", "ab") == "[ab      ]"); // was right-aligned
    CHECK(f("[{:>8}]", "ab") == "[      ab]");
    CHECK(f("{}", fmt::Str{"abcdef", 3}) == "abc");
    CHECK(f("{}", reinterpret_cast<void*>(0x1000)) == "0x1000"); // was 0x0000000000001000
    CHECK(f("{:#018x}", reinterpret_cast<void*>(0x1000)) == "0x0000000000001000");
    CHECK(f("{:#018x}", nullptr) == "0x0000000000000000");
    CHECK(f("{:999}", 1).size() == 999); // was {!}: the kernel allowed 128
    CHECK(f("{:1025}", 1) == "{!}");
    CHECK(f("{} {}", 1, 2, 3) == "1 2");
    CHECK(f("{:!}{}", 1, 2) == "{!}2");
}

TEST_CASE("format: format_to as the kernel used it")
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
