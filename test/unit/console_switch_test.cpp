// The console's key sequence (vmm-server/console_switch.hpp): bytes for the guest, switches,
// sequences cut between two reads, malformed ones; and which guest runs next.
#include <catch2/catch.hpp>

#include <string>

#include "console_switch.hpp"

using vmm::ConsoleSwitch;
using vmm::kNoGuest;
using vmm::next_running;
using Kind = vmm::SwitchStep::Kind;

namespace {

// What the switch made of `input`, one step per byte: a delivered byte as itself, a select as
// <N> (the guest's number, index + 1), next as <n>, nothing as '.'.
std::string steps(ConsoleSwitch& console_switch, const std::string& input)
{
    std::string out;
    for (char c : input) {
        const vmm::SwitchStep step = console_switch.feed(static_cast<uint8_t>(c));
        switch (step.kind) {
        case Kind::nothing: out += '.'; break;
        case Kind::deliver: out += static_cast<char>(step.byte); break;
        case Kind::select: out += "<" + std::to_string(step.guest + 1) + ">"; break;
        case Kind::next: out += "<n>"; break;
        }
    }
    return out;
}

std::string steps(const std::string& input)
{
    ConsoleSwitch fresh;
    return steps(fresh, input);
}

const std::string E = "\x1d"; // Ctrl-]

} // namespace

TEST_CASE("console switch: plain bytes go to the guest unchanged, every value but the escape")
{
    ConsoleSwitch console_switch;
    for (int value = 0; value < 256; ++value) {
        if (value == 0x1d)
            continue;
        const vmm::SwitchStep step = console_switch.feed(static_cast<uint8_t>(value));
        REQUIRE(step.kind == Kind::deliver);
        REQUIRE(step.byte == value);
    }
    CHECK(steps("hello\r\n1n") == "hello\r\n1n");
}

TEST_CASE("console switch: Ctrl-] 1..8 selects a guest by start order, Ctrl-] n the next")
{
    ConsoleSwitch console_switch;
    CHECK(console_switch.feed(0x1d).kind == Kind::nothing);
    const vmm::SwitchStep first = console_switch.feed('1');
    CHECK(first.kind == Kind::select);
    CHECK(first.guest == 0);
    CHECK(steps(E + "1" + E + "2" + E + "8") == ".<1>.<2>.<8>");
    CHECK(steps("ab" + E + "ncd") == "ab.<n>cd");
}

TEST_CASE("console switch: Ctrl-] Ctrl-] is one literal Ctrl-], a third begins a sequence again")
{
    CHECK(steps(E + E) == "." + E);
    CHECK(steps(E + E + E) == "." + E + ".");
    CHECK(steps(E + E + E + "2") == "." + E + ".<2>");
    CHECK(steps(E + E + E + E) == "." + E + "." + E);
    CHECK(steps(E + E + "2") == "." + E + "2"); // the 2 after a literal Ctrl-] is plain
}

TEST_CASE("console switch: any other byte after Ctrl-] is delivered and the escape dropped")
{
    CHECK(steps(E + "0") == ".0");
    CHECK(steps(E + "9") == ".9");
    CHECK(steps(E + "N") == ".N");
    CHECK(steps(E + "\n") == ".\n");
    CHECK(steps(E + std::string(1, '\0')) == "." + std::string(1, '\0'));
    CHECK(steps("a" + E + "9b" + E + "0c") == "a.9b.0c");
    // The sequence is over after one byte: what follows is plain again.
    CHECK(steps(E + "x1") == ".x1");
    CHECK(steps(E + "1" + "1") == ".<1>1");
}

TEST_CASE("console switch: a sequence cut between two reads of the line works as one")
{
    ConsoleSwitch console_switch;
    CHECK(steps(console_switch, "abc" + E) == "abc.");
    CHECK(steps(console_switch, "2def") == "<2>def");
    CHECK(steps(console_switch, E) == ".");
    CHECK(steps(console_switch, E) == E);
    CHECK(steps(console_switch, E) == ".");
    CHECK(steps(console_switch, "n") == "<n>");
    CHECK(steps(console_switch, E) == ".");
    CHECK(steps(console_switch, "9") == "9");
    CHECK(steps(console_switch, "") == "");
    CHECK(steps(console_switch, "5") == "5"); // nothing pending any more
}

TEST_CASE("console switch: the next running guest goes round and skips stopped ones")
{
    CHECK(next_running(0, 0b11, 2) == 1);
    CHECK(next_running(1, 0b11, 2) == 0);
    CHECK(next_running(0, 0b01, 2) == 0); // the only one runs: itself
    CHECK(next_running(0, 0b00, 2) == kNoGuest);
    CHECK(next_running(2, 0b10101, 5) == 4);
    CHECK(next_running(4, 0b10101, 5) == 0);
    CHECK(next_running(1, 0b10100, 5) == 2);
    // From no guest: the first that runs.
    CHECK(next_running(kNoGuest, 0b110, 3) == 1);
    CHECK(next_running(kNoGuest, 0, 3) == kNoGuest);
    // Bits beyond the guests count for nothing.
    CHECK(next_running(0, 0b100, 2) == kNoGuest);
    CHECK(next_running(kNoGuest, 0xff, 0) == kNoGuest);
    CHECK(next_running(7, uint64_t{1} << 63, 64) == 63);
}
