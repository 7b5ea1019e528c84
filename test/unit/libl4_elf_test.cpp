// libl4's ELF64 executable reader (l4/elf.hpp): valid images, each check, and a fuzz loop.
#include <catch2/catch.hpp>

#include <cstdint>
#include <cstring>
#include <fstream>
#include <iterator>
#include <memory>
#include <random>
#include <vector>

#include "l4/elf.hpp"

using l4::elf::Error;
using l4::elf::Executable;
using l4::elf::kUserEnd;

namespace {

constexpr uint32_t kPtLoad = 1, kPtNote = 4, kPtGnuStack = 0x6474e551;
constexpr uint32_t R = 4, W = 2, X = 1;

struct Ph {
    uint32_t type = kPtLoad;
    uint32_t flags = R;
    uint64_t offset = 0, vaddr = 0, filesz = 0, memsz = 0;
};

template <typename T>
void put(std::vector<uint8_t>& out, size_t at, T value)
{
    for (size_t i = 0; i < sizeof(T); ++i)
        out[at + i] = static_cast<uint8_t>(static_cast<uint64_t>(value) >> (8 * i));
}

// An ET_EXEC image: header, program headers at phoff, file_size bytes in all.
std::vector<uint8_t> image(const std::vector<Ph>& phs, uint64_t entry, size_t file_size = 0x3000, uint64_t phoff = 64)
{
    std::vector<uint8_t> out(file_size, 0xcc);
    const uint8_t ident[16] = {0x7f, 'E', 'L', 'F', 2, 1, 1, 0};
    std::memcpy(out.data(), ident, sizeof ident);
    put<uint16_t>(out, 16, 2);    // ET_EXEC
    put<uint16_t>(out, 18, 62);   // EM_X86_64
    put<uint32_t>(out, 20, 1);
    put<uint64_t>(out, 24, entry);
    put<uint64_t>(out, 32, phoff);
    put<uint64_t>(out, 40, 0);
    put<uint32_t>(out, 48, 0);
    put<uint16_t>(out, 52, 64);
    put<uint16_t>(out, 54, 56);
    put<uint16_t>(out, 56, static_cast<uint16_t>(phs.size()));
    for (size_t i = 0; i < phs.size(); ++i) {
        const size_t at = phoff + i * 56;
        if (at + 56 > out.size())
            break;
        put<uint32_t>(out, at, phs[i].type);
        put<uint32_t>(out, at + 4, phs[i].flags);
        put<uint64_t>(out, at + 8, phs[i].offset);
        put<uint64_t>(out, at + 16, phs[i].vaddr);
        put<uint64_t>(out, at + 24, phs[i].vaddr);   // p_paddr
        put<uint64_t>(out, at + 32, phs[i].filesz);
        put<uint64_t>(out, at + 40, phs[i].memsz);
        put<uint64_t>(out, at + 48, 0x1000);
    }
    return out;
}

// A typical static executable: text, rodata, data + bss.
std::vector<Ph> typical()
{
    return {
        {.flags = R | X, .offset = 0, .vaddr = 0x400000, .filesz = 0x1000, .memsz = 0x1000},
        {.flags = R, .offset = 0x1000, .vaddr = 0x401000, .filesz = 0x800, .memsz = 0x800},
        {.flags = R | W, .offset = 0x2000, .vaddr = 0x402000, .filesz = 0x100, .memsz = 0x3000},
    };
}

struct Parsed {
    l4::elf::Result result;
    Executable exe;
};

// Parses an exact-size copy (so ASan sees any read past the end).
Parsed parse(const std::vector<uint8_t>& bytes)
{
    std::unique_ptr<uint8_t[]> copy(new uint8_t[bytes.size() ? bytes.size() : 1]);
    if (!bytes.empty())
        std::memcpy(copy.get(), bytes.data(), bytes.size());
    Parsed p{};
    p.result = l4::elf::parse(copy.get(), bytes.size(), p.exe);
    if (p.result.error == Error::none) {
        // What a loader relies on.
        REQUIRE(p.exe.segment_count >= 1);
        REQUIRE(p.exe.segment_count <= l4::elf::kMaxSegments);
        bool entry_ok = false;
        for (size_t i = 0; i < p.exe.segment_count; ++i) {
            const auto& s = p.exe.segments[i];
            REQUIRE(s.memsz > 0);
            REQUIRE(s.filesz <= s.memsz);
            REQUIRE(s.offset <= bytes.size());
            REQUIRE(s.filesz <= bytes.size() - s.offset);
            REQUIRE(s.vaddr < kUserEnd);
            REQUIRE(s.memsz <= kUserEnd - s.vaddr);
            REQUIRE(s.vaddr % 4096 == s.offset % 4096);
            for (size_t j = 0; j < i; ++j) {
                const auto& o = p.exe.segments[j];
                REQUIRE((s.page_limit() <= o.page_base() || o.page_limit() <= s.page_base()));
            }
            entry_ok = entry_ok || (s.executable() && p.exe.entry >= s.vaddr && p.exe.entry < s.vaddr + s.memsz);
            if (s.filesz > 0) {
                // Touch the first and last file byte through file_bytes (ASan checks them).
                volatile uint8_t first = p.exe.file_bytes(s)[0];
                volatile uint8_t last = p.exe.file_bytes(s)[s.filesz - 1];
                (void)first;
                (void)last;
            }
        }
        REQUIRE(entry_ok);
        p.exe.file = nullptr;   // the copy goes away
    } else {
        REQUIRE(p.exe.segment_count == 0);
        REQUIRE(p.exe.entry == 0);
    }
    return p;
}

Error error_of(const std::vector<uint8_t>& bytes) { return parse(bytes).result.error; }

} // namespace

TEST_CASE("libl4 elf: a typical static executable")
{
    std::vector<Ph> phs = typical();
    phs.insert(phs.begin() + 1, Ph{.type = kPtNote, .offset = 0x1f00, .vaddr = 0x401f00, .filesz = 0x20, .memsz = 0x20});
    phs.push_back(Ph{.type = kPtGnuStack, .flags = R | W});
    phs.push_back(Ph{.flags = R, .offset = 0, .vaddr = 0x400000, .filesz = 0, .memsz = 0});   // empty: skipped
    auto bytes = image(phs, 0x400123);
    bytes[0x2000] = 0x42;
    std::unique_ptr<uint8_t[]> copy(new uint8_t[bytes.size()]);
    std::memcpy(copy.get(), bytes.data(), bytes.size());
    Executable exe{};
    const auto result = l4::elf::parse(copy.get(), bytes.size(), exe);
    REQUIRE(result.error == Error::none);
    CHECK(result.index == 0);
    CHECK(exe.entry == 0x400123);
    REQUIRE(exe.segment_count == 3);
    CHECK(exe.segments[0].vaddr == 0x400000);
    CHECK(exe.segments[0].executable());
    CHECK(exe.segments[0].readable());
    CHECK(!exe.segments[0].writable());
    CHECK(exe.segments[1].vaddr == 0x401000);
    CHECK(exe.segments[1].flags == R);
    CHECK(exe.segments[2].writable());
    CHECK(exe.segments[2].filesz == 0x100);
    CHECK(exe.segments[2].memsz == 0x3000);
    CHECK(exe.segments[2].page_base() == 0x402000);
    CHECK(exe.segments[2].page_limit() == 0x405000);
    CHECK(exe.file == copy.get());
    CHECK(exe.file_size == bytes.size());
    CHECK(exe.file_bytes(exe.segments[2])[0] == 0x42);
    CHECK(std::string(l4::elf::describe(Error::segments_overlap)) == "segments share a page");
}

TEST_CASE("libl4 elf: the header checks")
{
    const auto good = image(typical(), 0x400000);
    CHECK(error_of(good) == Error::none);
    CHECK(error_of({}) == Error::too_small);
    CHECK(error_of(std::vector<uint8_t>(good.begin(), good.begin() + 63)) == Error::too_small);
    Executable exe{};
    CHECK(l4::elf::parse(nullptr, 4096, exe).error == Error::too_small);

    auto bad = good;
    bad[1] = 'e';
    CHECK(error_of(bad) == Error::bad_magic);
    bad = good;
    bad[4] = 1;   // ELFCLASS32
    CHECK(error_of(bad) == Error::not_64_bit);
    bad = good;
    bad[5] = 2;   // big-endian
    CHECK(error_of(bad) == Error::not_little_endian);
    bad = good;
    bad[6] = 0;
    CHECK(error_of(bad) == Error::bad_version);
    bad = good;
    put<uint32_t>(bad, 20, 2);
    CHECK(error_of(bad) == Error::bad_version);
    bad = good;
    put<uint16_t>(bad, 16, 3);   // ET_DYN: PIE
    CHECK(error_of(bad) == Error::not_executable);
    bad = good;
    put<uint16_t>(bad, 16, 1);   // ET_REL
    CHECK(error_of(bad) == Error::not_executable);
    bad = good;
    put<uint16_t>(bad, 18, 3);   // EM_386
    CHECK(error_of(bad) == Error::wrong_machine);
    bad = good;
    put<uint16_t>(bad, 18, 183);   // EM_AARCH64
    CHECK(error_of(bad) == Error::wrong_machine);
}

TEST_CASE("libl4 elf: the program header table must be inside the file")
{
    const auto good = image(typical(), 0x400000);
    auto bad = good;
    put<uint16_t>(bad, 54, 32);   // e_phentsize
    CHECK(error_of(bad) == Error::bad_program_headers);
    bad = good;
    put<uint64_t>(bad, 32, good.size());   // the table starts at the end
    CHECK(error_of(bad) == Error::bad_program_headers);
    bad = good;
    put<uint64_t>(bad, 32, good.size() - 100);   // straddles the end
    CHECK(error_of(bad) == Error::bad_program_headers);
    bad = good;
    put<uint64_t>(bad, 32, ~uint64_t{0} - 50);   // offset + size would wrap
    CHECK(error_of(bad) == Error::bad_program_headers);
    bad = good;
    put<uint16_t>(bad, 56, 0xffff);   // PN_XNUM
    CHECK(error_of(bad) == Error::bad_program_headers);
    bad = good;
    put<uint16_t>(bad, 56, 0xfffe);   // far more headers than the file holds
    CHECK(error_of(bad) == Error::bad_program_headers);

    // A table that ends exactly at the end of the file is fine.
    auto tight = image({{.flags = R | X, .offset = 0, .vaddr = 0x400000, .filesz = 0x40, .memsz = 0x1000}}, 0x400000,
                       64 + 56);
    CHECK(error_of(tight) == Error::none);

    CHECK(error_of(image({}, 0x400000)) == Error::no_loadable_segment);
    CHECK(error_of(image({{.type = kPtNote, .offset = 0x100, .filesz = 8, .memsz = 8}}, 0x400000)) ==
          Error::no_loadable_segment);
    CHECK(error_of(image({{.flags = R | X, .vaddr = 0x400000}}, 0x400000)) == Error::no_loadable_segment);
}

TEST_CASE("libl4 elf: each segment check, with the offending index")
{
    auto with = [](size_t index, auto change) {
        std::vector<Ph> phs = typical();
        phs.insert(phs.begin(), Ph{.type = kPtGnuStack, .flags = R | W});   // indices shift by one
        change(phs[index + 1]);
        return parse(image(phs, 0x400000)).result;
    };
    auto expect = [](l4::elf::Result r, Error error, uint32_t index) {
        CHECK(r.error == error);
        CHECK(r.index == index);
    };
    expect(with(2, [](Ph& p) { p.filesz = 0x3001; }), Error::segment_file_larger_than_memory, 3);
    expect(with(1, [](Ph& p) { p.offset = 0x3000; p.vaddr = 0x403000; p.filesz = 1; p.memsz = 1; }),
           Error::segment_past_file, 2);
    expect(with(1, [](Ph& p) { p.offset = 0x2f00; p.vaddr = 0x401f00; p.filesz = 0x101; p.memsz = 0x101; }),
           Error::segment_past_file, 2);
    expect(with(1, [](Ph& p) { p.offset = 0x3000; p.filesz = 0; p.vaddr = 0x401000; }), Error::none, 0);   // at the end, no bytes
    expect(with(1, [](Ph& p) { p.offset = ~uint64_t{0} - 0xfff; p.vaddr = 0x400000 - 0x1000; p.filesz = 0x2000;
                                p.memsz = 0x2000; }),
           Error::segment_past_file, 2);   // offset + filesz wraps
    expect(with(1, [](Ph& p) { p.vaddr = kUserEnd + 0x1000; }), Error::segment_outside_user, 2);
    expect(with(1, [](Ph& p) { p.vaddr = 0xffffffff80001000; }), Error::segment_outside_user, 2);   // kernel half
    expect(with(2, [](Ph& p) { p.vaddr = kUserEnd - 0x1000; p.memsz = 0x1001; p.filesz = 0x100; }),
           Error::segment_outside_user, 3);
    expect(with(2, [](Ph& p) { p.vaddr = kUserEnd - 0x3000; p.memsz = 0x3000; p.filesz = 0x100; }), Error::none,
           0);   // ends exactly at the top of user space
    expect(with(2, [](Ph& p) { p.vaddr = 0x7ffffffff000; p.memsz = ~uint64_t{0} - 0x100; p.filesz = 0; }),
           Error::segment_outside_user, 3);   // vaddr + memsz wraps
    expect(with(1, [](Ph& p) { p.vaddr = 0x401010; }), Error::segment_misaligned, 2);
    // Same page, different bytes.
    expect(with(1, [](Ph& p) { p.offset = 0x1800; p.vaddr = 0x400800; p.filesz = 0x100; p.memsz = 0x100; }),
           Error::segments_overlap, 2);
    // The bss of the data segment runs into a later segment's page.
    std::vector<Ph> phs = typical();
    phs.push_back({.flags = R, .offset = 0x2000, .vaddr = 0x404000, .filesz = 0x10, .memsz = 0x10});
    const auto r = parse(image(phs, 0x400000)).result;
    CHECK(r.error == Error::segments_overlap);
    CHECK(r.index == 3);
    // The same page twice, in either order, and a segment inside another.
    phs = typical();
    phs.push_back(phs[0]);
    CHECK(error_of(image(phs, 0x400000)) == Error::segments_overlap);
    phs = typical();
    phs[2].memsz = 0x100000;
    phs.push_back({.flags = R, .offset = 0x2000, .vaddr = 0x480000, .filesz = 0x10, .memsz = 0x10});
    CHECK(error_of(image(phs, 0x400000)) == Error::segments_overlap);
}

TEST_CASE("libl4 elf: the entry point and the segment limit")
{
    CHECK(error_of(image(typical(), 0x400fff)) == Error::none);
    CHECK(error_of(image(typical(), 0x401000)) == Error::entry_outside_segments);   // rodata: not executable
    CHECK(error_of(image(typical(), 0x402010)) == Error::entry_outside_segments);   // data
    CHECK(error_of(image(typical(), 0x3fffff)) == Error::entry_outside_segments);
    CHECK(error_of(image(typical(), 0)) == Error::entry_outside_segments);
    CHECK(error_of(image(typical(), ~uint64_t{0})) == Error::entry_outside_segments);
    // An executable segment smaller than its page: the entry must be inside its bytes.
    std::vector<Ph> phs = typical();
    phs[0].filesz = phs[0].memsz = 0x10;
    CHECK(error_of(image(phs, 0x40000f)) == Error::none);
    CHECK(error_of(image(phs, 0x400010)) == Error::entry_outside_segments);

    auto many = [](size_t count) {
        std::vector<Ph> list;
        for (size_t i = 0; i < count; ++i)
            list.push_back({.flags = R | X, .offset = 0, .vaddr = 0x400000 + i * 0x1000, .filesz = 0x10, .memsz = 0x10});
        return image(list, 0x400000, 0x2000);
    };
    CHECK(error_of(many(16)) == Error::none);
    const auto r = parse(many(17)).result;
    CHECK(r.error == Error::too_many_segments);
    CHECK(r.index == 16);
}

TEST_CASE("libl4 elf: every truncation of a valid image fails cleanly")
{
    const auto good = image(typical(), 0x400000, 0x2100);
    CHECK(error_of(good) == Error::none);
    for (size_t cut = 0; cut < good.size(); cut += (cut < 400 ? 1 : 61)) {
        INFO("cut at " << cut);
        const Error e = error_of(std::vector<uint8_t>(good.begin(), good.begin() + static_cast<ptrdiff_t>(cut)));
        CHECK((e == Error::too_small || e == Error::bad_program_headers || e == Error::segment_past_file));
    }
}

TEST_CASE("libl4 elf: fuzzed images never read out of bounds")
{
    std::mt19937_64 rng(0xe1f);
    std::vector<Ph> phs = typical();
    phs.push_back({.type = kPtNote, .offset = 0x1f00, .filesz = 0x20, .memsz = 0x20});
    const auto good = image(phs, 0x400010, 0x2200);
    const uint64_t interesting[] = {0, 1, 0x1000, 0x400000, 0x2200, kUserEnd, kUserEnd - 0x1000,
                                    ~uint64_t{0}, ~uint64_t{0} - 0xfff, 0x7fffffffffff};
    size_t accepted = 0;
    for (int round = 0; round < 6000; ++round) {
        auto bytes = good;
        const int changes = 1 + static_cast<int>(rng() % 4);
        for (int i = 0; i < changes; ++i) {
            // Mostly the headers (the first 64 + 4 * 56 bytes), sometimes a whole field.
            const size_t at = rng() % (64 + 4 * 56);
            if (rng() % 3 == 0 && at + 8 <= bytes.size())
                put<uint64_t>(bytes, at & ~size_t{7}, interesting[rng() % std::size(interesting)] + rng() % 3);
            else
                bytes[at] = static_cast<uint8_t>(rng());
        }
        if (rng() % 4 == 0)
            bytes.resize(rng() % (bytes.size() + 1));
        accepted += error_of(bytes) == Error::none;
    }
    CHECK(accepted > 0);
}

TEST_CASE("libl4 elf: the host's own executable does not crash the reader")
{
    std::ifstream in("/proc/self/exe", std::ios::binary);
    const std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    REQUIRE(bytes.size() > 64);
    const Error e = error_of(bytes);   // PIE, or an ET_EXEC whose checks run on real data
    CHECK(e != Error::bad_magic);
    CHECK(e != Error::too_small);
}
