// libl4's formatter (l4/format.hpp) and its C string and character functions (l4/libc.hpp).
#include <catch2/catch.hpp>

#include <cctype>
#include <climits>
#include <cstdint>
#include <cstring>
#include <random>
#include <string>

#include "l4/format.hpp"
#include "l4/libc.hpp"

namespace {

template <typename... Args>
std::string f(const char* format, const Args&... args)
{
    std::string out;
    l4::FormatSink sink{[](void* ctx, const char* s, size_t n) { static_cast<std::string*>(ctx)->append(s, n); },
                        &out};
    const size_t length = l4::format(sink, format, args...);
    CHECK(length == out.size());
    // format_to agrees with the sink, and its result is the full length.
    char buf[512];
    CHECK(l4::format_to(buf, sizeof buf, format, args...) == out.size());
    if (out.size() < sizeof buf)
        CHECK(std::string(buf) == out);
    return out;
}

enum class Color : uint8_t { red = 3 };
enum Plain { kSeven = 7 };

} // namespace

TEST_CASE("libl4 format: plain text and braces")
{
    CHECK(f("hello") == "hello");
    CHECK(f("") == "");
    CHECK(f("{{}}") == "{}");
    CHECK(f("a } b") == "a } b");
    CHECK(f("{{{}}}", 5) == "{5}");
    CHECK(f(nullptr) == "");
}

TEST_CASE("libl4 format: integers of every width and sign")
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

TEST_CASE("libl4 format: bases, prefixes, padding, alignment")
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
    CHECK(f("{:<05}|", 7) == "7    |");   // an explicit alignment wins over '0'
    CHECK(f("{:3}", 12345) == "12345");
    CHECK(f("{:d}", 0x10) == "16");
}

TEST_CASE("libl4 format: text, characters, booleans, pointers")
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
    CHECK(f("[{}]", l4::Str{"hello world", 5}) == "[hello]");
    CHECK(f("[{:>7}]", l4::Str{"hello world", 5}) == "[  hello]");
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

TEST_CASE("libl4 format: missing arguments and malformed placeholders")
{
    CHECK(f("{} {}", 1) == "1 {?}");
    CHECK(f("{}") == "{?}");
    CHECK(f("a", 1, 2) == "a");
    CHECK(f("{:q}", 1) == "{!}");
    CHECK(f("{:q} {}", 1, 2) == "{!} 2");   // the bad one used up its argument
    CHECK(f("{x}", 1) == "{!}");
    CHECK(f("{:5", 1) == "{!}");
    CHECK(f("open {") == "open {!}");
    CHECK(f("{:.}", "a") == "{!}");
    CHECK(f("{:99999}", 1) == "{!}");   // width above kMaxFormatWidth
    CHECK(f("{:1024}", 1).size() == 1024);
}

TEST_CASE("libl4 format: format_to cuts, terminates, returns the full length")
{
    char buf[8];
    std::memset(buf, 'Z', sizeof buf);
    CHECK(l4::format_to(buf, sizeof buf, "value={}", 123456) == 12);
    CHECK(std::string(buf) == "value=1");

    std::memset(buf, 'Z', sizeof buf);
    CHECK(l4::format_to(buf, 1, "abc") == 3);
    CHECK(buf[0] == '\0');
    CHECK(buf[1] == 'Z');

    CHECK(l4::format_to(nullptr, 0, "{}-{}", 10, 20) == 5);

    std::memset(buf, 'Z', sizeof buf);
    CHECK(l4::format_to(buf, 4, "{:10}", 1) == 10);
    CHECK(std::string(buf) == "   ");
    CHECK(buf[4] == 'Z');

    CHECK(l4::format_to(buf, sizeof buf, "1234567") == 7);
    CHECK(std::string(buf) == "1234567");
}

TEST_CASE("libl4 format: random specs never overrun the buffer")
{
    std::mt19937 rng(1234);
    const char* pieces[] = {"{", "}", ":", "<", ">", "^", "#", "0", "5", ".", "3", "x", "X", "b", "o", "c",
                            "s", "p", "d", "q", "+", "*", "a", " "};
    for (int round = 0; round < 3000; ++round) {
        std::string format;
        const int n = static_cast<int>(rng() % 12);
        for (int i = 0; i < n; ++i)
            format += pieces[rng() % (sizeof pieces / sizeof pieces[0])];
        const size_t size = rng() % 24;
        std::string buf(size + 8, '\x7f');
        const size_t length = l4::format_to(buf.data(), size, format.c_str(), -5, "str", 'c', true,
                                            static_cast<void*>(nullptr), UINT64_MAX);
        std::string unbounded(length + 1, '\0');
        REQUIRE(l4::format_to(unbounded.data(), unbounded.size(), format.c_str(), -5, "str", 'c', true,
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

// String and character functions -------------------------------------------------------------

namespace {
int sign(int value) { return (value > 0) - (value < 0); }
} // namespace

TEST_CASE("libl4 string: comparisons agree with the host's")
{
    const char* words[] = {"", "a", "ab", "abc", "abd", "b", "\xff", "\x01", "A", "ab\xe9"};
    for (const char* a : words) {
        for (const char* b : words) {
            CHECK(sign(l4_strcmp(a, b)) == sign(std::strcmp(a, b)));
            for (size_t n = 0; n < 5; ++n)
                CHECK(sign(l4_strncmp(a, b, n)) == sign(std::strncmp(a, b, n)));
        }
    }
}

TEST_CASE("libl4 string: searching")
{
    const char* text = "hello, world";
    CHECK(l4_strchr(text, 'o') == text + 4);
    CHECK(l4_strrchr(text, 'o') == text + 8);
    CHECK(l4_strchr(text, 'z') == nullptr);
    CHECK(l4_strrchr(text, 'z') == nullptr);
    CHECK(l4_strchr(text, '\0') == text + 12);
    CHECK(l4_strrchr(text, '\0') == text + 12);
    CHECK(l4_strchr(text, 'h' + 256) == text);   // converted to char, as in C

    const unsigned char bytes[] = {1, 2, 0xff, 0, 5};
    CHECK(l4_memchr(bytes, 0xff, sizeof bytes) == bytes + 2);
    CHECK(l4_memchr(bytes, 0, sizeof bytes) == bytes + 3);
    CHECK(l4_memchr(bytes, 5, 4) == nullptr);   // not read past count
    CHECK(l4_memchr(bytes, -1, sizeof bytes) == bytes + 2);
    CHECK(l4_memchr(nullptr, 0, 0) == nullptr);

    const char unterminated[4] = {'a', 'b', 'c', 'd'};
    CHECK(l4_strnlen(unterminated, 4) == 4);
    CHECK(l4_strnlen("ab", 10) == 2);
    CHECK(l4_strnlen("ab", 0) == 0);
}

TEST_CASE("libl4 string: strlcpy and strlcat")
{
    char buf[6];
    std::memset(buf, 'Z', sizeof buf);
    CHECK(l4_strlcpy(buf, "hello world", sizeof buf) == 11);
    CHECK(std::string(buf) == "hello");
    CHECK(l4_strlcpy(buf, "hi", sizeof buf) == 2);
    CHECK(std::string(buf) == "hi");
    std::memset(buf, 'Z', sizeof buf);
    CHECK(l4_strlcpy(buf, "abc", 0) == 3);
    CHECK(buf[0] == 'Z');
    CHECK(l4_strlcpy(buf, "abc", 1) == 3);
    CHECK(buf[0] == '\0');

    l4_strlcpy(buf, "ab", sizeof buf);
    CHECK(l4_strlcat(buf, "cd", sizeof buf) == 4);
    CHECK(std::string(buf) == "abcd");
    CHECK(l4_strlcat(buf, "efgh", sizeof buf) == 8);
    CHECK(std::string(buf) == "abcde");
    char full[3] = {'x', 'y', 'z'};   // not terminated within size: nothing appended
    CHECK(l4_strlcat(full, "abc", sizeof full) == 6);
    CHECK(full[2] == 'z');
}

TEST_CASE("libl4 string: strtoull")
{
    char* end = nullptr;
    const char* text = "  123abc";
    CHECK(l4_strtoull(text, &end, 10) == 123);
    CHECK(end == text + 5);
    CHECK(l4_strtoull("0x1F", nullptr, 0) == 31);
    CHECK(l4_strtoull("0X1f", nullptr, 16) == 31);
    CHECK(l4_strtoull("1f", nullptr, 16) == 31);
    CHECK(l4_strtoull("017", nullptr, 0) == 15);
    CHECK(l4_strtoull("101", nullptr, 2) == 5);
    CHECK(l4_strtoull("zz", nullptr, 36) == 35 * 36 + 35);
    CHECK(l4_strtoull("+7", nullptr, 10) == 7);
    CHECK(l4_strtoull("-1", nullptr, 10) == ULLONG_MAX);
    CHECK(l4_strtoull("18446744073709551615", nullptr, 10) == ULLONG_MAX);
    CHECK(l4_strtoull("18446744073709551616", &end, 10) == ULLONG_MAX);
    CHECK(*end == '\0');
    text = "0x";
    CHECK(l4_strtoull(text, &end, 0) == 0);
    CHECK(end == text + 1);   // the "0" is the number
    text = "  -";
    CHECK(l4_strtoull(text, &end, 10) == 0);
    CHECK(end == text);       // no digits
    CHECK(l4_strtoull("12", &end, 1) == 0);
    CHECK(l4_strtoull("12", &end, 37) == 0);
}

TEST_CASE("libl4 string: character classes agree with the C locale")
{
    for (int c = -1; c < 256; ++c) {
        INFO("c = " << c);
        CHECK(!!l4_isdigit(c) == !!std::isdigit(c));
        CHECK(!!l4_isxdigit(c) == !!std::isxdigit(c));
        CHECK(!!l4_isalpha(c) == !!std::isalpha(c));
        CHECK(!!l4_isalnum(c) == !!std::isalnum(c));
        CHECK(!!l4_isspace(c) == !!std::isspace(c));
        CHECK(!!l4_isupper(c) == !!std::isupper(c));
        CHECK(!!l4_islower(c) == !!std::islower(c));
        CHECK(!!l4_isprint(c) == !!std::isprint(c));
        CHECK(!!l4_ispunct(c) == !!std::ispunct(c));
        CHECK(l4_toupper(c) == std::toupper(c));
        CHECK(l4_tolower(c) == std::tolower(c));
    }
}
