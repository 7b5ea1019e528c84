// Host tests of the kernel command-line parser.
#include "boot/cmdline.hpp"

#include <catch2/catch.hpp>

#include <string>

using cmdline::ExitMode;
using cmdline::LogLevel;
using cmdline::TestHook;

namespace {

bool all_default(const cmdline::Options& options)
{
    return options.log_level == LogLevel::info && options.test == TestHook::none && options.exit == ExitMode::halt &&
           options.timer_hz == 100 && options.unknown_count == 0 && options.first_unknown == nullptr &&
           options.first_unknown_len == 0 && options.bad_value_count == 0 && options.first_bad == nullptr &&
           options.first_bad_len == 0;
}

std::string first_unknown(const cmdline::Options& options)
{
    return options.first_unknown == nullptr ? "" : std::string(options.first_unknown, options.first_unknown_len);
}

std::string first_bad(const cmdline::Options& options)
{
    return options.first_bad == nullptr ? "" : std::string(options.first_bad, options.first_bad_len);
}

} // namespace

TEST_CASE("cmdline: empty lines give the defaults", "[cmdline]")
{
    CHECK(all_default(cmdline::parse(nullptr)));
    CHECK(all_default(cmdline::parse("")));
    CHECK(all_default(cmdline::parse("   ")));
    CHECK(all_default(cmdline::parse(" \t \t")));
}

TEST_CASE("cmdline: loglevel", "[cmdline]")
{
    CHECK(cmdline::parse("loglevel=error").log_level == LogLevel::error);
    CHECK(cmdline::parse("loglevel=warn").log_level == LogLevel::warn);
    CHECK(cmdline::parse("loglevel=info").log_level == LogLevel::info);
    CHECK(cmdline::parse("loglevel=debug").log_level == LogLevel::debug);
    CHECK(cmdline::parse("loglevel=0").log_level == LogLevel::error);
    CHECK(cmdline::parse("loglevel=1").log_level == LogLevel::warn);
    CHECK(cmdline::parse("loglevel=2").log_level == LogLevel::info);
    CHECK(cmdline::parse("loglevel=3").log_level == LogLevel::debug);

    for (const char* bad : {"loglevel=4", "loglevel=DEBUG", "loglevel=", "loglevel", "loglevel=debugx", "loglevel=deb",
                            "loglevel=03", "loglevel=-1", "loglevel==debug"}) {
        INFO(bad);
        cmdline::Options options = cmdline::parse(bad);
        CHECK(options.log_level == LogLevel::info);
        CHECK(options.bad_value_count == 1);
        CHECK(options.unknown_count == 0);
        CHECK(first_bad(options) == bad);
    }
}

TEST_CASE("cmdline: test hooks", "[cmdline]")
{
    CHECK(cmdline::parse("test=pagefault").test == TestHook::page_fault);
    CHECK(cmdline::parse("test=stackoverflow").test == TestHook::stack_overflow);
    CHECK(cmdline::parse("test=ticks").test == TestHook::ticks);
    CHECK(cmdline::parse("test=ud").test == TestHook::ud);
    CHECK(cmdline::parse("test=panic").test == TestHook::panic);
    CHECK(cmdline::parse("test=writerodata").test == TestHook::write_rodata);
    CHECK(cmdline::parse("test=execdata").test == TestHook::exec_data);
    CHECK(cmdline::parse("test=ud test=none").test == TestHook::none);

    for (const char* bad : {"test=page_fault", "test=", "test", "test=UD", "test=tick"}) {
        INFO(bad);
        cmdline::Options options = cmdline::parse(bad);
        CHECK(options.test == TestHook::none);
        CHECK(options.bad_value_count == 1);
    }
}

TEST_CASE("cmdline: exit mode", "[cmdline]")
{
    CHECK(cmdline::parse("exit=qemu").exit == ExitMode::qemu);
    CHECK(cmdline::parse("exit=qemu exit=halt").exit == ExitMode::halt);
    CHECK(cmdline::parse("exit=qemu-waiting").exit == ExitMode::qemu_waiting);
    cmdline::Options options = cmdline::parse("exit=reboot");
    CHECK(options.exit == ExitMode::halt);
    CHECK(options.bad_value_count == 1);
    CHECK(cmdline::parse("exit").bad_value_count == 1);
}

TEST_CASE("cmdline: pcid", "[cmdline]")
{
    CHECK(cmdline::parse("").pcid);
    CHECK_FALSE(cmdline::parse("pcid=off").pcid);
    CHECK(cmdline::parse("pcid=off pcid=on").pcid);
    cmdline::Options options = cmdline::parse("pcid=no");
    CHECK(options.pcid);
    CHECK(options.bad_value_count == 1);
    CHECK(cmdline::parse("pcid").bad_value_count == 1);
    CHECK(cmdline::parse("pcid=").bad_value_count == 1);
}

TEST_CASE("cmdline: timer frequency", "[cmdline]")
{
    CHECK(cmdline::parse("hz=10").timer_hz == 10);
    CHECK(cmdline::parse("hz=250").timer_hz == 250);
    CHECK(cmdline::parse("hz=1000").timer_hz == 1000);
    CHECK(cmdline::parse("hz=10000").timer_hz == 10000);
    CHECK(cmdline::parse("hz=0050").timer_hz == 50);

    for (const char* bad : {"hz=9", "hz=0", "hz=10001", "hz=4294967296", "hz=99999999999999999999", "hz=", "hz",
                            "hz=-100", "hz=+100", "hz=0x64", "hz=100hz", "hz= 100"}) {
        INFO(bad);
        cmdline::Options options = cmdline::parse(bad);
        CHECK(options.timer_hz == 100);
        CHECK(options.bad_value_count >= 1);
    }
}

TEST_CASE("cmdline: several options, extra spaces, last one wins", "[cmdline]")
{
    cmdline::Options options = cmdline::parse("  loglevel=debug \t test=ticks   exit=qemu hz=1000 loglevel=warn  ");
    CHECK(options.log_level == LogLevel::warn);
    CHECK(options.test == TestHook::ticks);
    CHECK(options.exit == ExitMode::qemu);
    CHECK(options.timer_hz == 1000);
    CHECK(options.unknown_count == 0);
    CHECK(options.bad_value_count == 0);
}

TEST_CASE("cmdline: unknown words and bad values are counted, the first one kept", "[cmdline]")
{
    const char* line = "quiet loglevel=loud hz=1000 console=ttyS0 hz=5 splash =x";
    cmdline::Options options = cmdline::parse(line);
    CHECK(options.unknown_count == 4); // quiet, console=ttyS0, splash, =x
    CHECK(first_unknown(options) == "quiet");
    CHECK(options.first_unknown == line);
    CHECK(options.bad_value_count == 2); // loglevel=loud, hz=5
    CHECK(first_bad(options) == "loglevel=loud");
    CHECK(options.first_bad == line + 6);
    CHECK(options.log_level == LogLevel::info);
    CHECK(options.timer_hz == 1000); // a later bad value keeps the earlier good one

    cmdline::Options prefix = cmdline::parse("   loglevelx=debug");
    CHECK(prefix.unknown_count == 1);
    CHECK(first_unknown(prefix) == "loglevelx=debug");
    CHECK(prefix.log_level == LogLevel::info);

    cmdline::Options partial = cmdline::parse("log=debug hz=250");
    CHECK(partial.unknown_count == 1);
    CHECK(first_unknown(partial) == "log=debug");
    CHECK(partial.first_unknown_len == 9);
    CHECK(partial.timer_hz == 250);
}
