// A guest's console output collected into lines (vmm-server/console_line.cpp): newlines end a
// line, long lines are cut, and nothing but printable ASCII reaches the terminal.
#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "console_line.hpp"

namespace {

// The lines the bytes of `text` complete, and what is left over.
std::vector<std::string> lines_of(const std::string& text, vmm::ConsoleLine& line)
{
    std::vector<std::string> lines;
    for (const char c : text)
        if (line.put(static_cast<uint8_t>(c))) {
            lines.emplace_back(line.text);
            line.clear();
        }
    return lines;
}

} // namespace

TEST_CASE("console line: newlines end lines, the rest waits", "[vmm]")
{
    vmm::ConsoleLine line;
    CHECK(line.empty());
    CHECK(lines_of("one\ntwo\r\n\nthr", line) == std::vector<std::string>{"one", "two", ""});
    CHECK(std::string(line.text) == "thr");
    CHECK(lines_of("ee\n", line) == std::vector<std::string>{"three"});
    CHECK(line.empty());
}

TEST_CASE("console line: control bytes and non-ASCII show as '?'", "[vmm]")
{
    vmm::ConsoleLine line;
    CHECK(lines_of("a\x1b[2Jb\tc\x7f\xff\x01\n", line) == std::vector<std::string>{"a?[2Jb\tc???"});
}

TEST_CASE("console line: a long line is cut into full pieces", "[vmm]")
{
    vmm::ConsoleLine line;
    const std::string text(vmm::kConsoleLineBytes * 2 + 5, 'x');
    const auto lines = lines_of(text + "\n", line);
    REQUIRE(lines.size() == 3);
    CHECK(lines[0].size() == vmm::kConsoleLineBytes);
    CHECK(lines[1].size() == vmm::kConsoleLineBytes);
    CHECK(lines[2] == "xxxxx");
}
