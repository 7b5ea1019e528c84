// The VMM's parser of guest command lines (vmm-server/guest_config.cpp): every key, the
// defaults, and a refusal naming the word for each kind of bad line.
#include <catch2/catch.hpp>
#include <string>

#include "guest_config.hpp"

using vmm::GuestConfig;
using vmm::parse_guest_config;

namespace {

// The refusal message for `line`, or "accepted".
std::string refusal(const char* line)
{
    GuestConfig config;
    const vmm::ConfigResult r = parse_guest_config(line, config);
    return r.ok ? "accepted" : r.message;
}

} // namespace

TEST_CASE("guest config: a full line", "[vmm]")
{
    GuestConfig c;
    const auto r = parse_guest_config("guest name=linux0 mem=64M initrd=rootfs.cpio disk=disk.img console=off "
                                      "restart=on-crash -- init=/bin/sh  quiet",
                                      c);
    REQUIRE(r.ok);
    CHECK(std::string(c.name) == "linux0");
    CHECK(c.memory_bytes == 64u << 20);
    CHECK(std::string(c.initrd) == "rootfs.cpio");
    CHECK(std::string(c.disk) == "disk.img");
    CHECK(c.console == vmm::ConsoleMode::off);
    CHECK(c.restart == vmm::Restart::on_crash);
    CHECK(std::string(c.cmdline) == "init=/bin/sh  quiet");
}

TEST_CASE("guest config: console=raw", "[vmm]")
{
    GuestConfig c;
    REQUIRE(parse_guest_config("guest name=sh console=raw", c).ok);
    CHECK(c.console == vmm::ConsoleMode::raw);
}

TEST_CASE("guest config: kmem= sets the kernel-memory quota, within bounds", "[vmm]")
{
    GuestConfig c;
    REQUIRE(parse_guest_config("guest name=a", c).ok);
    CHECK(c.kernel_memory_bytes == 0); // the VMM's share
    REQUIRE(parse_guest_config("guest name=a kmem=4M", c).ok);
    CHECK(c.kernel_memory_bytes == 4u << 20);
    REQUIRE(parse_guest_config("guest name=a kmem=64K", c).ok);
    CHECK(c.kernel_memory_bytes == 64u << 10);
    CHECK(refusal("guest name=a kmem=63K") == "word \"kmem=63K\": kmem out of bounds (64K to 16M)");
    CHECK(refusal("guest name=a kmem=17M") == "word \"kmem=17M\": kmem out of bounds (64K to 16M)");
    CHECK(refusal("guest name=a kmem=4Q") == "word \"kmem=4Q\": bad size (digits, then K, M or G)");
    CHECK(refusal("guest name=a kmem=4M kmem=4M") == "word \"kmem=4M\": duplicate key");
}

TEST_CASE("guest config: defaults and spacing", "[vmm]")
{
    GuestConfig c;
    REQUIRE(parse_guest_config("  guest\tname=a  ", c).ok);
    CHECK(std::string(c.name) == "a");
    CHECK(c.memory_bytes == vmm::kDefaultGuestMemory);
    CHECK(c.initrd[0] == '\0');
    CHECK(c.disk[0] == '\0');
    CHECK(c.console == vmm::ConsoleMode::lines);
    CHECK(c.restart == vmm::Restart::no);
    CHECK(c.cmdline[0] == '\0');
    REQUIRE(parse_guest_config("guest mem=1024K name=b.c_d-9 restart=no console=on --", c).ok);
    CHECK(c.memory_bytes == 1u << 20);
    CHECK(std::string(c.name) == "b.c_d-9");
    REQUIRE(parse_guest_config("guest name=big mem=1G", c).ok);
    CHECK(c.memory_bytes == 1u << 30);
    REQUIRE(parse_guest_config("guest name=odd mem=1052672", c).ok); // 1 MiB + 4 KiB
    CHECK(c.memory_bytes == (1u << 20) + 4096);
}

TEST_CASE("guest config: is_guest_line looks at the first word only", "[vmm]")
{
    CHECK(vmm::is_guest_line("guest name=x"));
    CHECK(vmm::is_guest_line("  guest"));
    CHECK_FALSE(vmm::is_guest_line("guests name=x"));
    CHECK_FALSE(vmm::is_guest_line("rootfs.cpio"));
    CHECK_FALSE(vmm::is_guest_line(""));
}

TEST_CASE("guest config: sizes", "[vmm]")
{
    uint64_t v = 0;
    CHECK((vmm::parse_size("4096", 4, v) && v == 4096));
    CHECK((vmm::parse_size("2K", 2, v) && v == 2048));
    CHECK((vmm::parse_size("3M", 2, v) && v == 3u << 20));
    CHECK((vmm::parse_size("1G", 2, v) && v == 1u << 30));
    CHECK((vmm::parse_size("18446744073709551615", 20, v) && v == UINT64_MAX));
    CHECK_FALSE(vmm::parse_size("18446744073709551616", 20, v));
    CHECK_FALSE(vmm::parse_size("17179869184G", 12, v)); // 2^34 GiB: past 64 bits
    CHECK_FALSE(vmm::parse_size("", 0, v));
    CHECK_FALSE(vmm::parse_size("M", 1, v));
    CHECK_FALSE(vmm::parse_size("12m", 3, v));
    CHECK_FALSE(vmm::parse_size("1MB", 3, v));
    CHECK_FALSE(vmm::parse_size("-1", 2, v));
    CHECK_FALSE(vmm::parse_size("0x10", 4, v));
}

TEST_CASE("guest config: every malformed line is refused, naming its word", "[vmm]")
{
    CHECK(refusal("") == "empty line");
    CHECK(refusal("   ") == "empty line");
    CHECK(refusal("guests name=a") == "word \"guests\": a guest line starts with \"guest\"");
    CHECK(refusal("guest") == "missing name=");
    CHECK(refusal("guest mem=4M") == "missing name=");
    CHECK(refusal("guest name=a frob=1") ==
          "word \"frob=1\": unknown key (name, mem, initrd, disk, console, restart, kmem)");
    CHECK(refusal("guest name=a =1") == "word \"=1\": unknown key (name, mem, initrd, disk, console, restart, kmem)");
    CHECK(refusal("guest name=a verbose") == "word \"verbose\": not key=value");
    CHECK(refusal("guest name=a name=b") == "word \"name=b\": duplicate key");
    CHECK(refusal("guest name=a mem=4M mem=8M") == "word \"mem=8M\": duplicate key");
    CHECK(refusal("guest name=a mem=12Q") == "word \"mem=12Q\": bad size (digits, then K, M or G)");
    CHECK(refusal("guest name=a mem=") == "word \"mem=\": bad size (digits, then K, M or G)");
    CHECK(refusal("guest name=a mem=99999999999999999999") ==
          "word \"mem=99999999999999999999\": bad size (digits, then K, M or G)");
    CHECK(refusal("guest name=a mem=512K") == "word \"mem=512K\": mem out of bounds (1M to 1G, in whole 4K pages)");
    CHECK(refusal("guest name=a mem=2G") == "word \"mem=2G\": mem out of bounds (1M to 1G, in whole 4K pages)");
    CHECK(refusal("guest name=a mem=1048577") ==
          "word \"mem=1048577\": mem out of bounds (1M to 1G, in whole 4K pages)");
    CHECK(refusal("guest name=") == "word \"name=\": empty name");
    CHECK(refusal("guest name=abcdefghijklmnopqrstuvwxyz012345") ==
          "word \"name=abcdefghijklmnopqrstuvwxyz012345\": name too long (at most 31 characters)");
    CHECK(refusal("guest name=a\"b") == "word \"name=a\"b\": name may hold only letters, digits, '-', '_' and '.'");
    CHECK(refusal("guest name=a initrd=x/y") ==
          "word \"initrd=x/y\": name may hold only letters, digits, '-', '_' and '.'");
    CHECK(refusal("guest name=a disk=") == "word \"disk=\": empty name");
    CHECK(refusal("guest name=a disk=a disk=b") == "word \"disk=b\": duplicate key");
    CHECK(refusal("guest name=a console=yes") == "word \"console=yes\": want on, off or raw");
    CHECK(refusal("guest name=a console=Raw") == "word \"console=Raw\": want on, off or raw");
    CHECK(refusal("guest name=a restart=always") == "word \"restart=always\": want no or on-crash");
    const std::string long_cmdline = "guest name=a -- " + std::string(256, 'x');
    CHECK(refusal(long_cmdline.c_str()) ==
          "word \"--\": the guest's command line after it is too long (at most 255 bytes)");
}

TEST_CASE("guest config: a refused line keeps the name read before the bad word", "[vmm]")
{
    GuestConfig c;
    REQUIRE_FALSE(parse_guest_config("guest name=pv mem=lots", c).ok);
    CHECK(std::string(c.name) == "pv");
    REQUIRE_FALSE(parse_guest_config("guest mem=lots name=pv", c).ok);
    CHECK(c.name[0] == '\0');
}

TEST_CASE("guest config: a long word is cut in the message", "[vmm]")
{
    const std::string word = "frob=" + std::string(90, 'y');
    const std::string message = refusal(("guest name=a " + word).c_str());
    CHECK(message.size() < vmm::kMaxConfigMessage);
    CHECK(message.rfind("word \"frob=yyy", 0) == 0);
}
