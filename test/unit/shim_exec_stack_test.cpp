// The start-up stack (pv-linux-shim/exec_stack.hpp), read back the way a libc's _start reads
// it: argc at rsp, argv and envp up to their NULLs, then the auxv pairs up to AT_NULL.
#include <catch2/catch.hpp>

#include <cstring>
#include <string>
#include <utility>
#include <vector>

#include "exec_stack.hpp"
#include "linux_abi.hpp"

using namespace linux_abi;
using shim::StackLayout;
using shim::StackRequest;

namespace {

constexpr uint64_t kTop = 0x7ffffffff000;
constexpr size_t kGuard = 64;
const uint8_t kRandom[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};

// A stack buffer with guard bytes on both sides, and the request's string arrays.
struct Stack {
    std::vector<uint8_t> memory;
    size_t size;
    size_t skew; // the buffer's misalignment
    std::vector<std::string> argv_text, envp_text;
    std::vector<const char*> argv, envp;
    std::string exec_file_name = "/bin/sh";

    Stack(size_t size_, std::vector<std::string> args, std::vector<std::string> env, size_t skew_ = 0)
        : memory(size_ + 2 * kGuard + skew_, 0xa5), size(size_), skew(skew_), argv_text(std::move(args)),
          envp_text(std::move(env))
    {
        for (const auto& text : argv_text)
            argv.push_back(text.c_str());
        for (const auto& text : envp_text)
            envp.push_back(text.c_str());
    }
    uint8_t* buffer() { return memory.data() + kGuard + skew; }
    uint64_t low() const { return kTop - size; }

    int build(StackLayout& layout)
    {
        StackRequest request{};
        request.buffer = buffer();
        request.size = size;
        request.stack_top = kTop;
        request.argv = {argv.data(), argv.size()};
        request.envp = {envp.data(), envp.size()};
        request.exec_file_name = exec_file_name.c_str();
        request.exec = {0x400040, 56, 10, 0x401000, 0};
        request.random = kRandom;
        request.hwcap = 0x178bfbff;
        request.hwcap2 = 2;
        request.uid = 1;
        request.euid = 2;
        request.gid = 3;
        request.egid = 4;
        return shim::build_start_stack(request, layout);
    }

    uint64_t load(uint64_t address)
    {
        REQUIRE(address >= low());
        REQUIRE(address + 8 <= kTop);
        uint64_t value;
        std::memcpy(&value, buffer() + (address - low()), 8);
        return value;
    }
    std::string string_at(uint64_t address)
    {
        std::string out;
        for (;; ++address) {
            REQUIRE(address >= low());
            REQUIRE(address < kTop);
            const char c = static_cast<char>(buffer()[address - low()]);
            if (c == '\0')
                return out;
            out.push_back(c);
        }
    }
    bool guards_intact() const
    {
        for (size_t i = 0; i < kGuard + skew; ++i)
            if (memory[i] != 0xa5)
                return false;
        for (size_t i = kGuard + skew + size; i < memory.size(); ++i)
            if (memory[i] != 0xa5)
                return false;
        return true;
    }
};

// What _start sees.
struct Parsed {
    uint64_t argc;
    std::vector<std::string> argv, envp;
    std::vector<std::pair<uint64_t, uint64_t>> auxv;
};

Parsed parse(Stack& stack, uint64_t rsp)
{
    Parsed out;
    out.argc = stack.load(rsp);
    uint64_t at = rsp + 8;
    for (uint64_t pointer; (pointer = stack.load(at)) != 0; at += 8)
        out.argv.push_back(stack.string_at(pointer));
    for (at += 8; stack.load(at) != 0; at += 8)
        out.envp.push_back(stack.string_at(stack.load(at)));
    for (at += 8;; at += 16) {
        out.auxv.emplace_back(stack.load(at), stack.load(at + 8));
        if (out.auxv.back().first == kAT_NULL)
            return out;
    }
}

} // namespace

TEST_CASE("exec stack: argc, argv, envp and every auxv value, as _start reads them", "[shim][exec]")
{
    Stack stack(4096, {"sh", "-c", "echo hi"}, {"PATH=/bin", "HOME=/"});
    StackLayout layout{};
    REQUIRE(stack.build(layout) == 0);
    // 39 string bytes, 8 of end marker, 7 of "x86_64", 16 random, 46 table words, padding.
    CHECK(layout.used == 448);
    CHECK(layout.rsp == kTop - 448);
    CHECK(layout.rsp % 16 == 0);
    CHECK(layout.argv == layout.rsp + 8);
    CHECK(layout.envp == layout.rsp + 40);
    CHECK(layout.auxv == layout.rsp + 64);
    CHECK(layout.random == kTop - 70);
    CHECK(layout.platform == kTop - 54);
    CHECK(layout.exec_file_name == kTop - 16);

    const Parsed parsed = parse(stack, layout.rsp);
    CHECK(parsed.argc == 3);
    CHECK(parsed.argv == std::vector<std::string>{"sh", "-c", "echo hi"});
    CHECK(parsed.envp == std::vector<std::string>{"PATH=/bin", "HOME=/"});
    const std::vector<std::pair<uint64_t, uint64_t>> expected = {
        {kAT_HWCAP, 0x178bfbff}, {kAT_PAGESZ, 4096},
        {kAT_CLKTCK, 100},       {kAT_PHDR, 0x400040},
        {kAT_PHENT, 56},         {kAT_PHNUM, 10},
        {kAT_BASE, 0},           {kAT_FLAGS, 0},
        {kAT_ENTRY, 0x401000},   {kAT_UID, 1},
        {kAT_EUID, 2},           {kAT_GID, 3},
        {kAT_EGID, 4},           {kAT_SECURE, 0},
        {kAT_RANDOM, kTop - 70}, {kAT_HWCAP2, 2},
        {kAT_EXECFN, kTop - 16}, {kAT_PLATFORM, kTop - 54},
        {kAT_NULL, 0},
    };
    CHECK(parsed.auxv == expected);
    CHECK(stack.string_at(kTop - 54) == "x86_64");
    CHECK(stack.string_at(kTop - 16) == "/bin/sh");
    CHECK(std::memcmp(stack.buffer() + (kTop - 70 - stack.low()), kRandom, 16) == 0);
    CHECK(stack.load(kTop - 8) == 0); // the end marker
    // Linux's order of the strings, upwards from the lowest.
    CHECK(stack.string_at(kTop - 47) == "sh");
    CHECK(stack.string_at(kTop - 33) == "PATH=/bin");
    // The padding between auxv and the random bytes is zero, not left over.
    for (uint64_t a = layout.auxv + 16 * shim::kAuxvPairs; a < layout.random; ++a)
        CHECK(stack.buffer()[a - stack.low()] == 0);
    CHECK(stack.guards_intact());
}

TEST_CASE("exec stack: rsp is 16-aligned whatever the counts, and the buffer's alignment", "[shim][exec]")
{
    for (size_t argc = 0; argc < 5; ++argc) {
        for (size_t envc = 0; envc < 5; ++envc) {
            for (size_t skew : {size_t{0}, size_t{1}, size_t{7}}) {
                std::vector<std::string> args, env;
                for (size_t i = 0; i < argc; ++i)
                    args.push_back(std::string(i + 1, static_cast<char>('a' + i)));
                for (size_t i = 0; i < envc; ++i)
                    env.push_back("V" + std::to_string(i) + "=" + std::string(i * 3, 'x'));
                Stack stack(2048, args, env, skew);
                StackLayout layout{};
                INFO("argc " << argc << " envc " << envc << " skew " << skew);
                REQUIRE(stack.build(layout) == 0);
                CHECK(layout.rsp % 16 == 0);
                const Parsed parsed = parse(stack, layout.rsp);
                CHECK(parsed.argc == argc);
                CHECK(parsed.argv == args);
                CHECK(parsed.envp == env);
                CHECK(parsed.auxv.size() == shim::kAuxvPairs);
                CHECK(stack.guards_intact());
            }
        }
    }
}

TEST_CASE("exec stack: E2BIG when it does not fit, and for a string over MAX_ARG_STRLEN", "[shim][exec]")
{
    StackLayout layout{};
    {
        // Worst-case need: 8 + 39 + 7 + 16 + 368 + 15 bytes.
        Stack fits(453, {"sh", "-c", "echo hi"}, {"PATH=/bin", "HOME=/"});
        CHECK(fits.build(layout) == 0);
        CHECK(fits.guards_intact());
        Stack short_by_one(452, {"sh", "-c", "echo hi"}, {"PATH=/bin", "HOME=/"});
        CHECK(short_by_one.build(layout) == -kE2BIG);
        CHECK(short_by_one.guards_intact());
        Stack nothing(0, {"sh"}, {});
        CHECK(nothing.build(layout) == -kE2BIG);
    }
    {
        Stack longest(1 << 20, {std::string(kMaxArgStrlen - 1, 'a')}, {});
        CHECK(longest.build(layout) == 0);
        Stack too_long(1 << 20, {std::string(kMaxArgStrlen, 'a')}, {});
        CHECK(too_long.build(layout) == -kE2BIG);
        Stack env_too_long(1 << 20, {"x"}, {std::string(kMaxArgStrlen, 'a')});
        CHECK(env_too_long.build(layout) == -kE2BIG);
        Stack name_too_long(1 << 20, {"x"}, {});
        name_too_long.exec_file_name = std::string(kMaxArgStrlen, 'n');
        CHECK(name_too_long.build(layout) == -kE2BIG);
    }
    {
        // More pointers than the buffer could ever hold.
        Stack many(64, std::vector<std::string>(9, ""), {});
        CHECK(many.build(layout) == -kE2BIG);
        CHECK(many.guards_intact());
    }
}

TEST_CASE("exec stack: EINVAL for a misaligned top or a buffer below address 0", "[shim][exec]")
{
    std::vector<uint8_t> buffer(256);
    const char* argv[] = {"x"};
    StackRequest request{};
    request.buffer = buffer.data();
    request.size = buffer.size();
    request.argv = {argv, 1};
    request.envp = {nullptr, 0};
    request.exec_file_name = "x";
    request.random = kRandom;
    StackLayout layout{};
    request.stack_top = kTop + 8;
    CHECK(shim::build_start_stack(request, layout) == -kEINVAL);
    request.stack_top = 128;
    CHECK(shim::build_start_stack(request, layout) == -kEINVAL);
    request.stack_top = 256;
    CHECK(shim::build_start_stack(request, layout) == -kE2BIG); // 256 bytes are too few
}
