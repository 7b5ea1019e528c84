// libl4's C string and character functions (l4/libc.hpp), against the host's.
#include <catch2/catch.hpp>

#include <cctype>
#include <climits>
#include <cstdint>
#include <cstring>
#include <string>

#include "l4/libc.hpp"

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
    CHECK(l4_strchr(text, 'h' + 256) == text); // converted to char, as in C

    const unsigned char bytes[] = {1, 2, 0xff, 0, 5};
    CHECK(l4_memchr(bytes, 0xff, sizeof bytes) == bytes + 2);
    CHECK(l4_memchr(bytes, 0, sizeof bytes) == bytes + 3);
    CHECK(l4_memchr(bytes, 5, 4) == nullptr); // not read past count
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
    char full[3] = {'x', 'y', 'z'}; // not terminated within size: nothing appended
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
    CHECK(end == text + 1); // the "0" is the number
    text = "  -";
    CHECK(l4_strtoull(text, &end, 10) == 0);
    CHECK(end == text); // no digits
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
