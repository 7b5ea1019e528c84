// Host tests of the common ELF reader (common/elf.hpp): valid images field by field, every
// error with its program-header index, ET_DYN at a load bias, PT_TLS, PT_GNU_RELRO and PT_INTERP,
// the layout of Debian's static busybox, and fuzzing under ASan/UBSan (every parse reads a heap
// block that ends where the image ends, so any over-read is caught).
#include "common/elf.hpp"

#include <catch2/catch.hpp>

#include "xorshift.hpp"

#include <algorithm>
#include <cstring>
#include <fstream>
#include <iterator>
#include <memory>
#include <random>
#include <string>
#include <vector>

namespace {

using elf::Error;
using elf::kUserEnd;

constexpr uint32_t kPtLoad = 1, kPtInterp = 3, kPtNote = 4, kPtTls = 7, kPtGnuStack = 0x6474e551,
                   kPtGnuRelro = 0x6474e552;
constexpr uint32_t R = elf::kFlagRead, W = elf::kFlagWrite, X = elf::kFlagExecute;
constexpr size_t kEhdrSize = 64, kPhdrSize = 56;
constexpr uint16_t kEtExec = 2, kEtDyn = 3;

const elf::Options kExec{}; // ET_EXEC only: what the kernel and libl4's loader ask for

elf::Options dyn_at(uint64_t bias)
{
    elf::Options options;
    options.accept_exec = false;
    options.accept_dyn = true;
    options.load_bias = bias;
    return options;
}

struct Phdr {
    uint32_t type = kPtLoad;
    uint32_t flags = R;
    uint64_t offset = 0, vaddr = 0, filesz = 0, memsz = 0;
    uint64_t paddr = 0, align = 0x1000;
};

void put(std::vector<uint8_t>& out, size_t at, uint64_t value, size_t bytes)
{
    if (at + bytes > out.size()) {
        FAIL("builder writes past its blob");
    }
    for (size_t i = 0; i < bytes; ++i) {
        out[at + i] = static_cast<uint8_t>(value >> (8 * i));
    }
}

// Lays out an executable the way ld does: ELF header, program headers right after it (or
// at `phoff`), the rest of the file filled with a pattern. Fields are public so a test can
// break exactly one.
struct Builder {
    uint8_t ident_class = 2, ident_data = 1, ident_version = 1;
    uint16_t type = kEtExec, machine = 62, phentsize = kPhdrSize;
    uint32_t version = 1;
    uint64_t entry = 0;
    uint64_t phoff = kEhdrSize;
    int phnum = -1;       // -1: phdrs.size()
    size_t file_size = 0; // grown to hold the header and the program headers
    std::vector<Phdr> phdrs;

    std::vector<uint8_t> bytes() const
    {
        const size_t table_end = static_cast<size_t>(phoff) + phdrs.size() * kPhdrSize;
        std::vector<uint8_t> out(std::max({file_size, table_end, kEhdrSize}));
        for (size_t i = 0; i < out.size(); ++i) {
            out[i] = static_cast<uint8_t>(i * 7 + 3);
        }
        std::memset(out.data(), 0, kEhdrSize);
        const uint8_t magic[] = {0x7f, 'E', 'L', 'F', ident_class, ident_data, ident_version};
        std::memcpy(out.data(), magic, sizeof magic);
        put(out, 16, type, 2);
        put(out, 18, machine, 2);
        put(out, 20, version, 4);
        put(out, 24, entry, 8);
        put(out, 32, phoff, 8);
        put(out, 52, kEhdrSize, 2);
        put(out, 54, phentsize, 2);
        put(out, 56, phnum < 0 ? phdrs.size() : static_cast<size_t>(phnum), 2);
        for (size_t i = 0; i < phdrs.size(); ++i) {
            const size_t at = static_cast<size_t>(phoff) + i * kPhdrSize;
            const Phdr& p = phdrs[i];
            put(out, at + 0, p.type, 4);
            put(out, at + 4, p.flags, 4);
            put(out, at + 8, p.offset, 8);
            put(out, at + 16, p.vaddr, 8);
            put(out, at + 24, p.paddr, 8);
            put(out, at + 32, p.filesz, 8);
            put(out, at + 40, p.memsz, 8);
            put(out, at + 48, p.align, 8);
        }
        return out;
    }
};

// What a small static executable looks like: text RX from offset 0 (headers included),
// data RW with bss on its own page, and a PT_GNU_STACK that the reader must ignore.
Builder valid_builder()
{
    Builder b;
    b.entry = 0x400100;
    b.file_size = 0x2110;
    b.phdrs = {
        {.type = kPtLoad, .flags = R | X, .offset = 0, .vaddr = 0x400000, .filesz = 0x1234, .memsz = 0x1234},
        {.type = kPtLoad, .flags = R | W, .offset = 0x2010, .vaddr = 0x403010, .filesz = 0x100, .memsz = 0x2000},
        {.type = kPtGnuStack, .flags = R | W, .align = 16},
    };
    return b;
}

// An ET_EXEC image: header, program headers at phoff, file_size bytes in all.
std::vector<uint8_t> image(const std::vector<Phdr>& phs, uint64_t entry, size_t file_size = 0x3000,
                           uint64_t phoff = kEhdrSize)
{
    Builder b;
    b.entry = entry;
    b.file_size = file_size;
    b.phoff = phoff;
    b.phdrs = phs;
    return b.bytes();
}

// A typical static executable: text, rodata, data + bss.
std::vector<Phdr> typical()
{
    return {
        {.flags = R | X, .offset = 0, .vaddr = 0x400000, .filesz = 0x1000, .memsz = 0x1000},
        {.flags = R, .offset = 0x1000, .vaddr = 0x401000, .filesz = 0x800, .memsz = 0x800},
        {.flags = R | W, .offset = 0x2000, .vaddr = 0x402000, .filesz = 0x100, .memsz = 0x3000},
    };
}

bool inside(uint64_t offset, uint64_t length, size_t size) { return offset <= size && length <= size - offset; }

// What a successful parse promises (common/elf.hpp), checked independently of the reader.
void check_invariants(const std::vector<uint8_t>& blob, const elf::Image& image, const elf::Options& options)
{
    const uint64_t limit = options.user_limit & ~(elf::kPageSize - 1);
    REQUIRE(image.segment_count >= 1);
    REQUIRE(image.segment_count <= elf::kMaxSegments);
    REQUIRE((image.type == elf::Type::exec || image.type == elf::Type::dyn));
    REQUIRE((image.type == elf::Type::exec ? options.accept_exec : options.accept_dyn));
    REQUIRE(image.bias == (image.type == elf::Type::dyn ? options.load_bias : 0));
    REQUIRE(image.bias % elf::kPageSize == 0);
    REQUIRE(image.low < image.high);
    REQUIRE(image.high <= limit);
    REQUIRE(image.max_align >= elf::kPageSize);
    bool entry_found = false;
    for (size_t i = 0; i < image.segment_count; ++i) {
        const elf::Segment& s = image.segments[i];
        REQUIRE(s.memsz > 0);
        REQUIRE(s.filesz <= s.memsz);
        REQUIRE(inside(s.offset, s.filesz, blob.size()));
        REQUIRE(s.vaddr < limit);
        REQUIRE(s.memsz <= limit - s.vaddr);
        REQUIRE(s.vaddr % 4096 == s.offset % 4096);
        REQUIRE(s.page_base() < s.page_limit());
        REQUIRE(s.page_base() >= image.low);
        REQUIRE(s.page_limit() <= image.high);
        for (size_t j = 0; j < i; ++j) {
            const elf::Segment& o = image.segments[j];
            REQUIRE((s.page_limit() <= o.page_base() || o.page_limit() <= s.page_base()));
        }
        if (s.executable() && image.entry >= s.vaddr && image.entry - s.vaddr < s.memsz) {
            entry_found = true;
        }
        if (s.filesz > 0) {
            // Touch the first and last file byte through file_bytes (ASan checks them).
            volatile uint8_t first = image.file_bytes(s)[0];
            volatile uint8_t last = image.file_bytes(s)[s.filesz - 1];
            (void)first;
            (void)last;
        }
    }
    REQUIRE(entry_found);
    if (image.tls.present) {
        REQUIRE(image.tls.filesz <= image.tls.memsz);
        REQUIRE(inside(image.tls.offset, image.tls.filesz, blob.size()));
        REQUIRE(image.tls.vaddr < limit);
        REQUIRE(image.tls.memsz <= limit - image.tls.vaddr);
        REQUIRE((image.tls.align & (image.tls.align - 1)) == 0);
    }
    if (image.relro.present) {
        REQUIRE(image.relro.vaddr < limit);
        REQUIRE(image.relro.memsz <= limit - image.relro.vaddr);
    }
    if (image.interpreter.present) {
        REQUIRE(options.accept_interpreter);
        REQUIRE(image.interpreter.filesz > 0);
        REQUIRE(inside(image.interpreter.offset, image.interpreter.filesz, blob.size()));
        REQUIRE(blob[image.interpreter.offset + image.interpreter.filesz - 1] == '\0');
    }
}

// Parses a copy that ends exactly at the end of a heap block (so ASan sees any over-read) and
// starts at an odd address (so byte-wise loads are required). Checks what an accepted image
// promises, and that a refused one leaves `out` empty.
elf::Result parse(const std::vector<uint8_t>& blob, elf::Image& out, const elf::Options& options = kExec)
{
    std::unique_ptr<uint8_t[]> block(new uint8_t[blob.size() + 1]);
    uint8_t* data = block.get() + 1;
    if (!blob.empty()) {
        std::memcpy(data, blob.data(), blob.size());
    }
    const elf::Result result = elf::parse(data, blob.size(), options, out);
    if (result.error == Error::none) {
        check_invariants(blob, out, options);
    } else {
        REQUIRE(out.segment_count == 0);
        REQUIRE(out.entry == 0);
    }
    out.file = nullptr; // the copy goes away
    return result;
}

elf::Result result_of(const std::vector<uint8_t>& blob, const elf::Options& options = kExec)
{
    elf::Image image{};
    return parse(blob, image, options);
}

Error error_of(const std::vector<uint8_t>& blob, const elf::Options& options = kExec)
{
    return result_of(blob, options).error;
}

// Parses and checks the error, the index, and that a failed parse leaves `out` empty.
void expect(const Builder& b, Error error, uint32_t index, const elf::Options& options = kExec)
{
    elf::Image image{};
    image.entry = 0xdead;
    image.segment_count = 7;
    const elf::Result result = parse(b.bytes(), image, options);
    CHECK(result.error == error);
    CHECK(result.index == index);
}

// A parsed segment, field by field, against the program header it came from.
void check_segment(const elf::Segment& s, const Phdr& p, uint64_t page_base, uint64_t page_limit)
{
    CHECK(s.vaddr == p.vaddr);
    CHECK(s.memsz == p.memsz);
    CHECK(s.offset == p.offset);
    CHECK(s.filesz == p.filesz);
    CHECK(s.readable() == ((p.flags & R) != 0));
    CHECK(s.writable() == ((p.flags & W) != 0));
    CHECK(s.executable() == ((p.flags & X) != 0));
    CHECK(s.page_base() == page_base);
    CHECK(s.page_limit() == page_limit);
}

} // namespace

TEST_CASE("elf: valid two-segment executable", "[elf]")
{
    const std::vector<uint8_t> blob = valid_builder().bytes();
    REQUIRE(blob.size() == 0x2110);
    elf::Image image{};
    const elf::Result result = parse(blob, image);
    REQUIRE(result.error == Error::none);
    CHECK(result.index == 0);
    CHECK(image.entry == 0x400100);
    REQUIRE(image.segment_count == 2);

    check_segment(image.segments[0],
                  {.flags = R | X, .offset = 0, .vaddr = 0x400000, .filesz = 0x1234, .memsz = 0x1234}, 0x400000,
                  0x402000);
    check_segment(image.segments[1],
                  {.flags = R | W, .offset = 0x2010, .vaddr = 0x403010, .filesz = 0x100, .memsz = 0x2000}, 0x403000,
                  0x406000);
}

TEST_CASE("elf: edge cases that are accepted", "[elf]")
{
    SECTION("segment ending exactly at kUserEnd")
    {
        Builder b = valid_builder();
        b.phdrs[1].vaddr = kUserEnd - 0x2000 + 0x10;
        b.phdrs[1].memsz = 0x2000 - 0x10;
        expect(b, Error::none, 0);
    }
    SECTION("segments on adjacent pages, listed out of address order")
    {
        Builder b = valid_builder();
        b.phdrs[1].vaddr = 0x3ff010; // page 0x3ff000, just below text's first page
        b.phdrs[1].memsz = 0xff0;
        expect(b, Error::none, 0);
    }
    SECTION("PT_LOAD with memsz 0 is skipped, even with wild fields")
    {
        Builder b = valid_builder();
        b.phdrs.insert(b.phdrs.begin() + 1, Phdr{.offset = ~0ull, .vaddr = 0x400000, .filesz = 5, .memsz = 0});
        elf::Image image{};
        REQUIRE(parse(b.bytes(), image).error == Error::none);
        CHECK(image.segment_count == 2);
        CHECK(image.segments[1].vaddr == 0x403010);
    }
    SECTION("bss-only segment and a PT_NOTE")
    {
        Builder b = valid_builder();
        b.phdrs[1].filesz = 0;
        b.phdrs.push_back({.type = kPtNote, .offset = ~0ull, .vaddr = ~0ull, .filesz = ~0ull, .memsz = ~0ull});
        expect(b, Error::none, 0);
    }
    SECTION("entry at the last byte of the executable segment")
    {
        Builder b = valid_builder();
        b.entry = 0x400000 + 0x1234 - 1;
        expect(b, Error::none, 0);
    }
    SECTION("program headers at the very end of the file")
    {
        Builder b = valid_builder();
        b.phoff = 0x2110;
        b.file_size = 0x2110 + 3 * kPhdrSize;
        expect(b, Error::none, 0);
    }
    SECTION("exactly kMaxSegments loadable segments")
    {
        Builder b = valid_builder();
        b.phdrs.clear();
        for (uint64_t i = 0; i < elf::kMaxSegments; ++i) {
            b.phdrs.push_back(
                {.flags = R | X, .offset = 0, .vaddr = 0x400000 + i * 0x1000, .filesz = 0x200, .memsz = 0x200});
        }
        expect(b, Error::none, 0);
    }
}

TEST_CASE("elf: header errors", "[elf]")
{
    SECTION("too small")
    {
        std::vector<uint8_t> blob = valid_builder().bytes();
        elf::Image image{};
        blob.resize(63);
        CHECK(parse(blob, image).error == Error::too_small);
        blob.clear();
        CHECK(parse(blob, image).error == Error::too_small);
        CHECK(elf::parse(nullptr, 100, kExec, image).error == Error::too_small);
    }
    SECTION("bad magic, each byte")
    {
        for (size_t i = 0; i < 4; ++i) {
            std::vector<uint8_t> blob = valid_builder().bytes();
            blob[i] ^= 0x20;
            elf::Image image{};
            const elf::Result result = parse(blob, image);
            CHECK(result.error == Error::bad_magic);
            CHECK(result.index == 0);
        }
    }
    Builder b = valid_builder();
    SECTION("32-bit")
    {
        b.ident_class = 1;
        expect(b, Error::not_64_bit, 0);
    }
    SECTION("big-endian")
    {
        b.ident_data = 2;
        expect(b, Error::not_little_endian, 0);
    }
    SECTION("EI_VERSION 0")
    {
        b.ident_version = 0;
        expect(b, Error::bad_version, 0);
    }
    SECTION("e_version 2")
    {
        b.version = 2;
        expect(b, Error::bad_version, 0);
    }
    SECTION("ET_DYN (PIE)")
    {
        b.type = 3;
        expect(b, Error::not_executable, 0);
    }
    SECTION("ET_REL")
    {
        b.type = 1;
        expect(b, Error::not_executable, 0);
    }
    SECTION("i386")
    {
        b.machine = 3;
        expect(b, Error::wrong_machine, 0);
    }
}

TEST_CASE("elf: bad program header table", "[elf]")
{
    Builder b = valid_builder();
    SECTION("entry size 32")
    {
        b.phentsize = 32;
        expect(b, Error::bad_program_headers, 0);
    }
    SECTION("entry size 64")
    {
        b.phentsize = 64;
        expect(b, Error::bad_program_headers, 0);
    }
    SECTION("table one byte past the end")
    {
        b.phoff = 0x2110 - 3 * kPhdrSize + 1;
        b.file_size = 0x2110;
        std::vector<uint8_t> blob = b.bytes();
        blob.resize(0x2110);
        elf::Image image{};
        CHECK(parse(blob, image).error == Error::bad_program_headers);
    }
    SECTION("phoff past the end")
    {
        std::vector<uint8_t> blob = b.bytes();
        put(blob, 32, 0x2111, 8);
        elf::Image image{};
        CHECK(parse(blob, image).error == Error::bad_program_headers);
    }
    SECTION("phoff so large the end wraps")
    {
        std::vector<uint8_t> blob = b.bytes();
        put(blob, 32, ~0ull - 8, 8);
        elf::Image image{};
        CHECK(parse(blob, image).error == Error::bad_program_headers);
    }
    SECTION("phnum claims more headers than the file holds")
    {
        b.phnum = 200;
        expect(b, Error::bad_program_headers, 0);
    }
    SECTION("PN_XNUM")
    {
        b.phnum = 0xffff;
        b.file_size = kEhdrSize + 0xffff * kPhdrSize; // even when the table would fit
        expect(b, Error::bad_program_headers, 0);
    }
}

TEST_CASE("elf: segment errors carry the program header index", "[elf]")
{
    Builder b = valid_builder();
    SECTION("file bytes one past the end")
    {
        b.phdrs[1].filesz = 0x101;
        b.phdrs[1].memsz = 0x2000;
        expect(b, Error::segment_past_file, 1);
    }
    SECTION("offset past the end with filesz 0")
    {
        b.phdrs[1].offset = 0x3010;
        b.phdrs[1].filesz = 0;
        expect(b, Error::segment_past_file, 1);
    }
    SECTION("offset + filesz wraps")
    {
        b.phdrs[1].offset = ~0ull - 0xfef; // congruent to vaddr mod 4096
        b.phdrs[1].filesz = 0x1000;
        b.phdrs[1].memsz = 0x2000;
        expect(b, Error::segment_past_file, 1);
    }
    SECTION("filesz larger than memsz")
    {
        b.phdrs[0].memsz = 0x1233;
        expect(b, Error::segment_file_larger_than_memory, 0);
    }
    SECTION("in the kernel half")
    {
        b.phdrs[1].vaddr = 0xffffffff80003010;
        expect(b, Error::segment_outside_user, 1);
    }
    SECTION("starting at kUserEnd")
    {
        b.phdrs[1].vaddr = kUserEnd + 0x10;
        expect(b, Error::segment_outside_user, 1);
    }
    SECTION("one byte past kUserEnd")
    {
        b.phdrs[1].vaddr = kUserEnd - 0x2000 + 0x10;
        b.phdrs[1].memsz = 0x2000 - 0x10 + 1;
        expect(b, Error::segment_outside_user, 1);
    }
    SECTION("vaddr + memsz wraps")
    {
        b.phdrs[1].vaddr = 0x403010;
        b.phdrs[1].memsz = ~0ull - 0x10;
        expect(b, Error::segment_outside_user, 1);
    }
    SECTION("pages overlap: data starts on text's last page")
    {
        b.phdrs[1].vaddr = 0x401010;
        expect(b, Error::segments_overlap, 1);
    }
    SECTION("pages overlap: no byte in common, but text's last page")
    {
        b.phdrs[1].vaddr = 0x401240; // text ends at 0x401234
        b.phdrs[1].offset = 0x1240;
        expect(b, Error::segments_overlap, 1);
    }
    SECTION("pages overlap: data ends on text's first page, listed later")
    {
        b.phdrs[1].vaddr = 0x3ff010; // 0x3ff010 + 0x2000 reaches page 0x401000
        expect(b, Error::segments_overlap, 1);
    }
    SECTION("pages overlap: the same segment twice")
    {
        b.phdrs.push_back(b.phdrs[0]);
        expect(b, Error::segments_overlap, 3);
    }
    SECTION("vaddr and offset disagree mod 4096")
    {
        b.phdrs[1].offset = 0x2020;
        b.phdrs[1].filesz = 0xf0;
        expect(b, Error::segment_misaligned, 1);
    }
    SECTION("more than kMaxSegments loadable segments")
    {
        b.phdrs.clear();
        for (uint64_t i = 0; i <= elf::kMaxSegments; ++i) {
            b.phdrs.push_back(
                {.flags = R | X, .offset = 0, .vaddr = 0x400000 + i * 0x1000, .filesz = 0x200, .memsz = 0x200});
            if (i == 3) {
                b.phdrs.push_back({.type = kPtLoad, .memsz = 0}); // not counted
                b.phdrs.push_back({.type = kPtGnuStack});
            }
        }
        expect(b, Error::too_many_segments, static_cast<uint32_t>(elf::kMaxSegments + 2));
    }
}

TEST_CASE("elf: no loadable segment, entry outside", "[elf]")
{
    Builder b = valid_builder();
    SECTION("phnum 0")
    {
        b.phdrs.clear();
        b.phoff = 0;
        b.phentsize = 0;
        expect(b, Error::no_loadable_segment, 0);
    }
    SECTION("only PT_GNU_STACK")
    {
        b.phdrs.erase(b.phdrs.begin(), b.phdrs.begin() + 2);
        expect(b, Error::no_loadable_segment, 0);
    }
    SECTION("only empty PT_LOAD")
    {
        b.phdrs[0].memsz = b.phdrs[0].filesz = 0;
        b.phdrs[1].memsz = b.phdrs[1].filesz = 0;
        expect(b, Error::no_loadable_segment, 0);
    }
    SECTION("entry in the data segment")
    {
        b.entry = 0x403010;
        expect(b, Error::entry_outside_segments, 0);
    }
    SECTION("entry one past the text segment")
    {
        b.entry = 0x401234;
        expect(b, Error::entry_outside_segments, 0);
    }
    SECTION("entry just below the text segment")
    {
        b.entry = 0x3fffff;
        expect(b, Error::entry_outside_segments, 0);
    }
    SECTION("entry 0")
    {
        b.entry = 0;
        expect(b, Error::entry_outside_segments, 0);
    }
    SECTION("entry in the kernel half")
    {
        b.entry = 0xffffffff80000000;
        expect(b, Error::entry_outside_segments, 0);
    }
    SECTION("text not executable")
    {
        b.phdrs[0].flags = R;
        expect(b, Error::entry_outside_segments, 0);
    }
}

TEST_CASE("elf: every error has a description", "[elf]")
{
    for (int e = 0; e <= static_cast<int>(elf::kLastError); ++e) {
        const char* text = elf::describe(static_cast<Error>(e));
        REQUIRE(text != nullptr);
        CHECK(std::strcmp(text, "unknown ELF error") != 0);
    }
    CHECK(std::strcmp(elf::describe(static_cast<Error>(200)), "unknown ELF error") == 0);
}

namespace {

// A mutation may land after a truncation: write only what still fits.
void put_if_fits(std::vector<uint8_t>& out, size_t at, uint64_t value, size_t bytes)
{
    if (at + bytes <= out.size()) {
        put(out, at, value, bytes);
    }
}

} // namespace

TEST_CASE("elf: fuzzed modules never crash and parse only into sound images", "[elf]")
{
    Builder base = valid_builder();
    // A third segment makes more of the overlap and counting paths reachable.
    base.phdrs.push_back({.flags = R, .offset = 0x10, .vaddr = 0x600010, .filesz = 0x20, .memsz = 0x20});
    const std::vector<uint8_t> original = base.bytes();
    const size_t table_end = kEhdrSize + base.phdrs.size() * kPhdrSize;
    const uint64_t interesting[] = {0,
                                    1,
                                    0xfff,
                                    0x1000,
                                    0x400000,
                                    0x401000,
                                    0x403010,
                                    kUserEnd - 1,
                                    kUserEnd,
                                    kUserEnd - 0x1000,
                                    ~0ull,
                                    ~0ull - 0xfff,
                                    original.size(),
                                    original.size() - 1,
                                    0x7fffffff,
                                    0x80000000};

    XorShift rng{0x9e3779b97f4a7c15ull};
    size_t accepted = 0;
    for (int round = 0; round < 20000; ++round) {
        std::vector<uint8_t> blob = original;
        const size_t mutations = 1 + rng.below(4);
        for (size_t m = 0; m < mutations; ++m) {
            switch (rng.below(6)) {
            case 0: // flip a bit in the headers, where nearly every byte matters
                blob[rng.below(std::min(blob.size(), table_end))] ^= static_cast<uint8_t>(1u << rng.below(8));
                break;
            case 1: // a random byte anywhere
                blob[rng.below(blob.size())] = static_cast<uint8_t>(rng.next());
                break;
            case 2: { // an interesting value over an 8-byte program header field
                const size_t field = kEhdrSize + rng.below(base.phdrs.size()) * kPhdrSize + 8 + 8 * rng.below(6);
                put_if_fits(blob, field, interesting[rng.below(std::size(interesting))], 8);
                break;
            }
            case 3: { // an interesting value over e_entry or e_phoff, or a small e_phnum
                if (rng.below(3) == 0) {
                    put_if_fits(blob, 56, rng.below(24), 2);
                } else {
                    put_if_fits(blob, 24 + 8 * rng.below(2), interesting[rng.below(std::size(interesting))], 8);
                }
                break;
            }
            case 4: // a program header's type or flags
                put_if_fits(blob, kEhdrSize + rng.below(base.phdrs.size()) * kPhdrSize + 4 * rng.below(2), rng.below(8),
                            4);
                break;
            default: // truncation
                blob.resize(rng.below(blob.size() + 1));
                if (blob.empty()) {
                    blob.push_back(0x7f);
                }
                break;
            }
        }
        accepted += error_of(blob) == Error::none; // parse checks the invariants
    }
    // The mutations must leave a fair share parseable, or the invariants go unexercised.
    CHECK(accepted > 1000);
    CHECK(accepted < 19000);
}

TEST_CASE("elf: a typical static executable", "[elf]")
{
    std::vector<Phdr> phs = typical();
    phs.insert(phs.begin() + 1,
               Phdr{.type = kPtNote, .offset = 0x1f00, .vaddr = 0x401f00, .filesz = 0x20, .memsz = 0x20});
    phs.push_back(Phdr{.type = kPtGnuStack, .flags = R | W});
    phs.push_back(Phdr{.flags = R, .offset = 0, .vaddr = 0x400000, .filesz = 0, .memsz = 0}); // empty: skipped
    auto bytes = image(phs, 0x400123);
    bytes[0x2000] = 0x42;
    std::unique_ptr<uint8_t[]> copy(new uint8_t[bytes.size()]);
    std::memcpy(copy.get(), bytes.data(), bytes.size());
    elf::Image exe{};
    const auto result = elf::parse(copy.get(), bytes.size(), kExec, exe);
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
    CHECK(std::string(elf::describe(Error::segments_overlap)) == "segments share a page");
}

TEST_CASE("elf: the header checks", "[elf]")
{
    const auto good = image(typical(), 0x400000);
    CHECK(error_of(good) == Error::none);
    CHECK(error_of({}) == Error::too_small);
    CHECK(error_of(std::vector<uint8_t>(good.begin(), good.begin() + 63)) == Error::too_small);
    elf::Image exe{};
    CHECK(elf::parse(nullptr, 4096, kExec, exe).error == Error::too_small);

    auto bad = good;
    bad[1] = 'e';
    CHECK(error_of(bad) == Error::bad_magic);
    bad = good;
    bad[4] = 1; // ELFCLASS32
    CHECK(error_of(bad) == Error::not_64_bit);
    bad = good;
    bad[5] = 2; // big-endian
    CHECK(error_of(bad) == Error::not_little_endian);
    bad = good;
    bad[6] = 0;
    CHECK(error_of(bad) == Error::bad_version);
    bad = good;
    put(bad, 20, 2, 4);
    CHECK(error_of(bad) == Error::bad_version);
    bad = good;
    put(bad, 16, 3, 2); // ET_DYN: PIE
    CHECK(error_of(bad) == Error::not_executable);
    bad = good;
    put(bad, 16, 1, 2); // ET_REL
    CHECK(error_of(bad) == Error::not_executable);
    bad = good;
    put(bad, 18, 3, 2); // EM_386
    CHECK(error_of(bad) == Error::wrong_machine);
    bad = good;
    put(bad, 18, 183, 2); // EM_AARCH64
    CHECK(error_of(bad) == Error::wrong_machine);
}

TEST_CASE("elf: the program header table must be inside the file", "[elf]")
{
    const auto good = image(typical(), 0x400000);
    auto bad = good;
    put(bad, 54, 32, 2); // e_phentsize
    CHECK(error_of(bad) == Error::bad_program_headers);
    bad = good;
    put(bad, 32, good.size(), 8); // the table starts at the end
    CHECK(error_of(bad) == Error::bad_program_headers);
    bad = good;
    put(bad, 32, good.size() - 100, 8); // straddles the end
    CHECK(error_of(bad) == Error::bad_program_headers);
    bad = good;
    put(bad, 32, ~uint64_t{0} - 50, 8); // offset + size would wrap
    CHECK(error_of(bad) == Error::bad_program_headers);
    bad = good;
    put(bad, 56, 0xffff, 2); // PN_XNUM
    CHECK(error_of(bad) == Error::bad_program_headers);
    bad = good;
    put(bad, 56, 0xfffe, 2); // far more headers than the file holds
    CHECK(error_of(bad) == Error::bad_program_headers);

    // A table that ends exactly at the end of the file is fine.
    auto tight =
        image({{.flags = R | X, .offset = 0, .vaddr = 0x400000, .filesz = 0x40, .memsz = 0x1000}}, 0x400000, 64 + 56);
    CHECK(error_of(tight) == Error::none);

    CHECK(error_of(image({}, 0x400000)) == Error::no_loadable_segment);
    CHECK(error_of(image({{.type = kPtNote, .offset = 0x100, .filesz = 8, .memsz = 8}}, 0x400000)) ==
          Error::no_loadable_segment);
    CHECK(error_of(image({{.flags = R | X, .vaddr = 0x400000}}, 0x400000)) == Error::no_loadable_segment);
}

TEST_CASE("elf: each segment check, with the offending index", "[elf]")
{
    auto with = [](size_t index, auto change) {
        std::vector<Phdr> phs = typical();
        phs.insert(phs.begin(), Phdr{.type = kPtGnuStack, .flags = R | W}); // indices shift by one
        change(phs[index + 1]);
        return result_of(image(phs, 0x400000));
    };
    auto expect_result = [](elf::Result r, Error error, uint32_t index) {
        CHECK(r.error == error);
        CHECK(r.index == index);
    };
    expect_result(with(2, [](Phdr& p) { p.filesz = 0x3001; }), Error::segment_file_larger_than_memory, 3);
    expect_result(with(1,
                       [](Phdr& p) {
                           p.offset = 0x3000;
                           p.vaddr = 0x403000;
                           p.filesz = 1;
                           p.memsz = 1;
                       }),
                  Error::segment_past_file, 2);
    expect_result(with(1,
                       [](Phdr& p) {
                           p.offset = 0x2f00;
                           p.vaddr = 0x401f00;
                           p.filesz = 0x101;
                           p.memsz = 0x101;
                       }),
                  Error::segment_past_file, 2);
    expect_result(with(1,
                       [](Phdr& p) {
                           p.offset = 0x3000;
                           p.filesz = 0;
                           p.vaddr = 0x401000;
                       }),
                  Error::none, 0); // at the end, no bytes
    expect_result(with(1,
                       [](Phdr& p) {
                           p.offset = ~uint64_t{0} - 0xfff;
                           p.vaddr = 0x400000 - 0x1000;
                           p.filesz = 0x2000;
                           p.memsz = 0x2000;
                       }),
                  Error::segment_past_file, 2); // offset + filesz wraps
    expect_result(with(1, [](Phdr& p) { p.vaddr = kUserEnd + 0x1000; }), Error::segment_outside_user, 2);
    expect_result(with(1, [](Phdr& p) { p.vaddr = 0xffffffff80001000; }), Error::segment_outside_user,
                  2); // kernel half
    expect_result(with(2,
                       [](Phdr& p) {
                           p.vaddr = kUserEnd - 0x1000;
                           p.memsz = 0x1001;
                           p.filesz = 0x100;
                       }),
                  Error::segment_outside_user, 3);
    expect_result(with(2,
                       [](Phdr& p) {
                           p.vaddr = kUserEnd - 0x3000;
                           p.memsz = 0x3000;
                           p.filesz = 0x100;
                       }),
                  Error::none,
                  0); // ends exactly at the top of user space
    expect_result(with(2,
                       [](Phdr& p) {
                           p.vaddr = 0x7ffffffff000;
                           p.memsz = ~uint64_t{0} - 0x100;
                           p.filesz = 0;
                       }),
                  Error::segment_outside_user, 3); // vaddr + memsz wraps
    expect_result(with(1, [](Phdr& p) { p.vaddr = 0x401010; }), Error::segment_misaligned, 2);
    // Same page, different bytes.
    expect_result(with(1,
                       [](Phdr& p) {
                           p.offset = 0x1800;
                           p.vaddr = 0x400800;
                           p.filesz = 0x100;
                           p.memsz = 0x100;
                       }),
                  Error::segments_overlap, 2);
    // The bss of the data segment runs into a later segment's page.
    std::vector<Phdr> phs = typical();
    phs.push_back({.flags = R, .offset = 0x2000, .vaddr = 0x404000, .filesz = 0x10, .memsz = 0x10});
    const auto r = result_of(image(phs, 0x400000));
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

TEST_CASE("elf: the entry point and the segment limit", "[elf]")
{
    CHECK(error_of(image(typical(), 0x400fff)) == Error::none);
    CHECK(error_of(image(typical(), 0x401000)) == Error::entry_outside_segments); // rodata: not executable
    CHECK(error_of(image(typical(), 0x402010)) == Error::entry_outside_segments); // data
    CHECK(error_of(image(typical(), 0x3fffff)) == Error::entry_outside_segments);
    CHECK(error_of(image(typical(), 0)) == Error::entry_outside_segments);
    CHECK(error_of(image(typical(), ~uint64_t{0})) == Error::entry_outside_segments);
    // An executable segment smaller than its page: the entry must be inside its bytes.
    std::vector<Phdr> phs = typical();
    phs[0].filesz = phs[0].memsz = 0x10;
    CHECK(error_of(image(phs, 0x40000f)) == Error::none);
    CHECK(error_of(image(phs, 0x400010)) == Error::entry_outside_segments);

    auto many = [](size_t count) {
        std::vector<Phdr> list;
        for (size_t i = 0; i < count; ++i)
            list.push_back(
                {.flags = R | X, .offset = 0, .vaddr = 0x400000 + i * 0x1000, .filesz = 0x10, .memsz = 0x10});
        return image(list, 0x400000, 0x2000);
    };
    CHECK(error_of(many(16)) == Error::none);
    const auto r = result_of(many(17));
    CHECK(r.error == Error::too_many_segments);
    CHECK(r.index == 16);
}

TEST_CASE("elf: every truncation of a valid image fails cleanly", "[elf]")
{
    const auto good = image(typical(), 0x400000, 0x2100);
    CHECK(error_of(good) == Error::none);
    for (size_t cut = 0; cut < good.size(); ++cut) {
        INFO("cut at " << cut);
        const Error e = error_of(std::vector<uint8_t>(good.begin(), good.begin() + static_cast<ptrdiff_t>(cut)));
        CHECK((e == Error::too_small || e == Error::bad_program_headers || e == Error::segment_past_file));
    }
}

TEST_CASE("elf: fuzzed images never read out of bounds", "[elf]")
{
    std::mt19937_64 rng(0xe1f);
    std::vector<Phdr> phs = typical();
    phs.push_back({.type = kPtNote, .offset = 0x1f00, .filesz = 0x20, .memsz = 0x20});
    const auto good = image(phs, 0x400010, 0x2200);
    const uint64_t interesting[] = {0,
                                    1,
                                    0x1000,
                                    0x400000,
                                    0x2200,
                                    kUserEnd,
                                    kUserEnd - 0x1000,
                                    ~uint64_t{0},
                                    ~uint64_t{0} - 0xfff,
                                    0x7fffffffffff};
    size_t accepted = 0;
    for (int round = 0; round < 6000; ++round) {
        auto bytes = good;
        const int changes = 1 + static_cast<int>(rng() % 4);
        for (int i = 0; i < changes; ++i) {
            // Mostly the headers (the first 64 + 4 * 56 bytes), sometimes a whole field.
            const size_t at = rng() % (64 + 4 * 56);
            if (rng() % 3 == 0 && at + 8 <= bytes.size())
                put(bytes, at & ~size_t{7}, interesting[rng() % std::size(interesting)] + rng() % 3, 8);
            else
                bytes[at] = static_cast<uint8_t>(rng());
        }
        if (rng() % 4 == 0)
            bytes.resize(rng() % (bytes.size() + 1));
        accepted += error_of(bytes) == Error::none;
    }
    CHECK(accepted > 0);
}

TEST_CASE("elf: the host's own executable does not crash the reader", "[elf]")
{
    std::ifstream in("/proc/self/exe", std::ios::binary);
    const std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    REQUIRE(bytes.size() > 64);
    const Error e = error_of(bytes); // PIE, or an ET_EXEC whose checks run on real data
    CHECK(e != Error::bad_magic);
    CHECK(e != Error::too_small);
}

// New with the common reader: ET_DYN, the caller's limit, PT_TLS / PT_GNU_RELRO / PT_INTERP -----

namespace {

// A static-PIE: linked at 0, text RX, data RW with TLS and RELRO at its start.
Builder pie_builder()
{
    Builder b;
    b.type = kEtDyn;
    b.entry = 0x1040;
    b.file_size = 0x3100;
    b.phdrs = {
        {.flags = R, .offset = 0, .vaddr = 0, .filesz = 0x400, .memsz = 0x400},
        {.flags = R | X, .offset = 0x1000, .vaddr = 0x1000, .filesz = 0x800, .memsz = 0x800},
        {.flags = R | W, .offset = 0x2e10, .vaddr = 0x3e10, .filesz = 0x2f0, .memsz = 0x1200, .align = 0x200000},
        {.type = kPtTls, .flags = R, .offset = 0x2e10, .vaddr = 0x3e10, .filesz = 0x20, .memsz = 0x48, .align = 8},
        {.type = kPtGnuRelro,
         .flags = R,
         .offset = 0x2e10,
         .vaddr = 0x3e10,
         .filesz = 0x1f0,
         .memsz = 0x1f0,
         .align = 1},
        {.type = kPtGnuStack, .flags = R | W, .align = 16},
    };
    return b;
}

} // namespace

TEST_CASE("elf: ET_DYN (static-PIE) only when accepted, at the caller's bias", "[elf]")
{
    const Builder b = pie_builder();
    expect(b, Error::not_executable, 0); // ET_EXEC only
    elf::Options both = kExec;
    both.accept_dyn = true;
    expect(b, Error::none, 0, both); // bias 0: at its link addresses

    const uint64_t bias = 0x555555554000;
    elf::Image image{};
    REQUIRE(parse(b.bytes(), image, dyn_at(bias)).error == Error::none);
    CHECK(image.type == elf::Type::dyn);
    CHECK(image.bias == bias);
    CHECK(image.entry == bias + 0x1040);
    REQUIRE(image.segment_count == 3);
    CHECK(image.segments[0].vaddr == bias);
    CHECK(image.segments[2].vaddr == bias + 0x3e10);
    CHECK(image.segments[2].offset == 0x2e10);
    CHECK(image.segments[2].align == 0x200000);
    CHECK(image.low == bias);
    CHECK(image.high == bias + 0x6000);
    CHECK(image.max_align == 0x200000);
    CHECK(image.tls.present);
    CHECK(image.tls.vaddr == bias + 0x3e10);
    CHECK(image.tls.offset == 0x2e10);
    CHECK(image.tls.filesz == 0x20);
    CHECK(image.tls.memsz == 0x48);
    CHECK(image.tls.align == 8);
    CHECK(image.relro.present);
    CHECK(image.relro.vaddr == bias + 0x3e10);
    CHECK(image.relro.memsz == 0x1f0);
    CHECK_FALSE(image.interpreter.present);

    SECTION("an ET_EXEC is refused where only ET_DYN is accepted")
    {
        expect(valid_builder(), Error::not_executable, 0, dyn_at(0));
    }
    SECTION("the bias must be page-aligned") { expect(b, Error::bad_load_bias, 0, dyn_at(bias + 0x10)); }
    SECTION("an ET_EXEC takes no bias")
    {
        elf::Options exec_biased = both;
        exec_biased.load_bias = 0x1000;
        expect(valid_builder(), Error::bad_load_bias, 0, exec_biased);
        expect(b, Error::none, 0, exec_biased); // the same options suit the PIE
    }
    SECTION("a bias that moves the image past user space")
    {
        expect(b, Error::segment_outside_user, 2, dyn_at(kUserEnd - 0x5000));
        expect(b, Error::segment_outside_user, 0, dyn_at(kUserEnd));
        expect(b, Error::segment_outside_user, 0, dyn_at(~uint64_t{0} & ~uint64_t{0xfff}));
    }
    SECTION("a bias that ends the image exactly at the top of user space")
    {
        expect(b, Error::none, 0, dyn_at(kUserEnd - 0x6000));
    }
    SECTION("an entry point that wraps when moved")
    {
        Builder wild = b;
        wild.entry = ~uint64_t{0} - 0x10;
        expect(wild, Error::entry_outside_segments, 0, dyn_at(bias));
    }
}

TEST_CASE("elf: the caller's user-space limit", "[elf]")
{
    const Builder b = valid_builder(); // data ends at 0x405010, page 0x406000
    elf::Options options = kExec;
    options.user_limit = 0x406000;
    expect(b, Error::none, 0, options);
    options.user_limit = 0x405000;
    expect(b, Error::segment_outside_user, 1, options);
    options.user_limit = 0x405fff; // rounded down to a page: the same
    expect(b, Error::segment_outside_user, 1, options);
    options.user_limit = 0x400000;
    expect(b, Error::segment_outside_user, 0, options);
    options.user_limit = 0;
    expect(b, Error::segment_outside_user, 0, options);
}

TEST_CASE("elf: PT_TLS and PT_GNU_RELRO and PT_INTERP", "[elf]")
{
    Builder b = valid_builder();
    SECTION("a TLS image in the data segment is reported")
    {
        b.phdrs.push_back(
            {.type = kPtTls, .offset = 0x2010, .vaddr = 0x403010, .filesz = 0x10, .memsz = 0x30, .align = 16});
        elf::Image image{};
        REQUIRE(parse(b.bytes(), image).error == Error::none);
        CHECK(image.tls.present);
        CHECK(image.tls.vaddr == 0x403010);
        CHECK(image.tls.memsz == 0x30);
        CHECK(image.tls.align == 16);
        CHECK_FALSE(image.relro.present);
    }
    SECTION("TLS with alignment 0 (none)")
    {
        b.phdrs.push_back({.type = kPtTls, .offset = 0x2010, .vaddr = 0x403010, .filesz = 0, .memsz = 8, .align = 0});
        expect(b, Error::none, 0);
    }
    SECTION("TLS errors")
    {
        Phdr tls{.type = kPtTls, .offset = 0x2010, .vaddr = 0x403010, .filesz = 0x10, .memsz = 0x30, .align = 16};
        Phdr bad = tls;
        SECTION("twice") { b.phdrs.push_back(tls); }
        SECTION("filesz > memsz") { bad.filesz = 0x31; }
        SECTION("image past the file") { bad.offset = 0x2110 - 0xf; }
        SECTION("offset + filesz wraps") { bad.offset = ~uint64_t{0} - 4; }
        SECTION("alignment 24") { bad.align = 24; }
        SECTION("outside user space") { bad.vaddr = kUserEnd - 0x10; }
        SECTION("vaddr + memsz wraps") { bad.vaddr = ~uint64_t{0} - 0x10; }
        b.phdrs.push_back(bad);
        expect(b, Error::bad_tls, static_cast<uint32_t>(b.phdrs.size() - 1));
    }
    SECTION("RELRO is reported; twice or outside user space it is refused")
    {
        const Phdr relro{
            .type = kPtGnuRelro, .offset = 0x2010, .vaddr = 0x403010, .filesz = 0x80, .memsz = 0xff0, .align = 1};
        b.phdrs.push_back(relro);
        elf::Image image{};
        REQUIRE(parse(b.bytes(), image).error == Error::none);
        CHECK(image.relro.present);
        CHECK(image.relro.vaddr == 0x403010);
        CHECK(image.relro.memsz == 0xff0);
        b.phdrs.push_back(relro);
        expect(b, Error::bad_relro, 4);
        b.phdrs.pop_back();
        b.phdrs.back().vaddr = kUserEnd - 0x100;
        expect(b, Error::bad_relro, 3);
    }
    SECTION("PT_INTERP is refused unless accepted, then reported")
    {
        Builder d = valid_builder();
        const char path[] = "/lib64/ld-linux-x86-64.so.2";
        d.phdrs.insert(
            d.phdrs.begin(),
            Phdr{.type = kPtInterp, .offset = 0x200, .filesz = sizeof path, .memsz = sizeof path, .align = 1});
        std::vector<uint8_t> blob = d.bytes();
        std::memcpy(blob.data() + 0x200, path, sizeof path);
        CHECK(result_of(blob).error == Error::interpreter_refused);
        CHECK(result_of(blob).index == 0);
        elf::Options options = kExec;
        options.accept_interpreter = true;
        elf::Image image{};
        std::unique_ptr<uint8_t[]> copy(new uint8_t[blob.size()]);
        std::memcpy(copy.get(), blob.data(), blob.size());
        REQUIRE(elf::parse(copy.get(), blob.size(), options, image).error == Error::none);
        REQUIRE(image.interpreter.present);
        CHECK(std::string(reinterpret_cast<const char*>(image.file + image.interpreter.offset)) == path);
        CHECK(image.interpreter.filesz == sizeof path);

        blob[0x200 + sizeof path - 1] = 'x'; // no NUL at the end
        CHECK(error_of(blob, options) == Error::bad_interpreter);
        blob[0x200 + sizeof path - 1] = '\0';
        put(blob, kEhdrSize + 8, blob.size() - 4, 8); // runs past the file
        CHECK(error_of(blob, options) == Error::bad_interpreter);
        put(blob, kEhdrSize + 8, 0x200, 8);
        put(blob, kEhdrSize + 32, 0, 8); // empty
        CHECK(error_of(blob, options) == Error::bad_interpreter);
    }
}

namespace {

// The program headers of Debian 12's busybox-static (1:1.35.0-4+deb12u1+b1, `readelf -lW`): a
// static ET_EXEC whose data segment starts mid-page in the file and in memory, with TLS and
// RELRO at its start and bss after it.
Builder busybox_builder()
{
    Builder b;
    b.entry = 0x40ebf0;
    b.file_size = 0x1e3710; // the data segment's file bytes end there; section headers omitted
    b.phdrs = {
        {.flags = R, .offset = 0, .vaddr = 0x400000, .filesz = 0x6e0, .memsz = 0x6e0},
        {.flags = R | X, .offset = 0x1000, .vaddr = 0x401000, .filesz = 0x183989, .memsz = 0x183989},
        {.flags = R, .offset = 0x185000, .vaddr = 0x585000, .filesz = 0x55017, .memsz = 0x55017},
        {.flags = R | W, .offset = 0x1da708, .vaddr = 0x5db708, .filesz = 0x9008, .memsz = 0x10450},
        {.type = kPtNote, .offset = 0x270, .vaddr = 0x400270, .filesz = 0x20, .memsz = 0x20, .align = 8},
        {.type = kPtNote, .offset = 0x290, .vaddr = 0x400290, .filesz = 0x44, .memsz = 0x44, .align = 4},
        {.type = kPtTls, .offset = 0x1da708, .vaddr = 0x5db708, .filesz = 0x28, .memsz = 0x8a, .align = 8},
        {.type = 0x6474e553,
         .offset = 0x270,
         .vaddr = 0x400270,
         .filesz = 0x20,
         .memsz = 0x20,
         .align = 8}, // GNU_PROPERTY
        {.type = kPtGnuStack, .flags = R | W, .align = 0x10},
        {.type = kPtGnuRelro, .offset = 0x1da708, .vaddr = 0x5db708, .filesz = 0x68f8, .memsz = 0x68f8, .align = 1},
    };
    return b;
}

} // namespace

TEST_CASE("elf: the layout of Debian's static busybox", "[elf]")
{
    const std::vector<uint8_t> blob = busybox_builder().bytes();
    elf::Image image{};
    REQUIRE(parse(blob, image).error == Error::none);
    CHECK(image.type == elf::Type::exec);
    CHECK(image.entry == 0x40ebf0);
    REQUIRE(image.segment_count == 4);
    const elf::Segment& data = image.segments[3];
    CHECK(data.offset == 0x1da708);
    CHECK(data.vaddr == 0x5db708);
    CHECK(data.filesz == 0x9008);
    CHECK(data.memsz == 0x10450);
    CHECK(data.page_base() == 0x5db000);
    CHECK(data.page_limit() == 0x5ec000);
    CHECK(image.low == 0x400000);
    CHECK(image.high == 0x5ec000);
    CHECK(image.tls.present);
    CHECK(image.tls.memsz == 0x8a);
    CHECK(image.relro.present);
    CHECK(image.relro.memsz == 0x68f8);
    // The file ends with the data segment's last byte: one byte less and it runs past.
    std::vector<uint8_t> short_blob(blob.begin(), blob.end() - 1);
    CHECK(result_of(short_blob).error == Error::segment_past_file);
    CHECK(result_of(short_blob).index == 3);
}

TEST_CASE("elf: 100000 mutations of a PIE with TLS and RELRO and every truncation", "[elf]")
{
    const Builder base = pie_builder();
    const std::vector<uint8_t> original = base.bytes();
    const size_t table_end = kEhdrSize + base.phdrs.size() * kPhdrSize;
    const uint64_t interesting[] = {0,
                                    1,
                                    7,
                                    8,
                                    0x10,
                                    0xfff,
                                    0x1000,
                                    0x1040,
                                    0x2e10,
                                    0x3e10,
                                    0x200000,
                                    kUserEnd - 1,
                                    kUserEnd,
                                    kUserEnd - 0x1000,
                                    ~0ull,
                                    ~0ull - 0xfff,
                                    original.size(),
                                    original.size() - 1,
                                    0x7fffffff,
                                    0x80000000};
    const elf::Options option_sets[] = {kExec, dyn_at(0), dyn_at(0x555555554000), dyn_at(kUserEnd - 0x8000)};
    const uint32_t types[] = {kPtLoad, kPtInterp, kPtNote, kPtTls, kPtGnuStack, kPtGnuRelro, 0, 2, 6};

    XorShift rng{0x243f6a8885a308d3ull};
    size_t accepted = 0;
    for (int round = 0; round < 100000; ++round) {
        std::vector<uint8_t> blob = original;
        const size_t mutations = 1 + rng.below(4);
        for (size_t m = 0; m < mutations; ++m) {
            const size_t header = kEhdrSize + rng.below(base.phdrs.size()) * kPhdrSize;
            switch (rng.below(7)) {
            case 0: // a bit in the headers
                blob[rng.below(std::min(blob.size(), table_end))] ^= static_cast<uint8_t>(1u << rng.below(8));
                break;
            case 1: // a random byte anywhere
                blob[rng.below(blob.size())] = static_cast<uint8_t>(rng.next());
                break;
            case 2: // an interesting value, a little off, over a program header's 8-byte field
                put_if_fits(blob, header + 8 + 8 * rng.below(6),
                            interesting[rng.below(std::size(interesting))] + rng.below(3), 8);
                break;
            case 3: // e_type, e_entry, e_phoff or e_phnum
                if (rng.chance(25))
                    put_if_fits(blob, 16, rng.below(5), 2);
                else if (rng.chance(33))
                    put_if_fits(blob, 56, rng.below(16), 2);
                else
                    put_if_fits(blob, 24 + 8 * rng.below(2), interesting[rng.below(std::size(interesting))], 8);
                break;
            case 4: // a program header's type or flags
                put_if_fits(blob, header, rng.chance(50) ? types[rng.below(std::size(types))] : rng.below(8), 4);
                break;
            case 5: // one program header over another
                if (header + kPhdrSize <= blob.size()) {
                    const size_t other = kEhdrSize + rng.below(base.phdrs.size()) * kPhdrSize;
                    std::memmove(blob.data() + header, blob.data() + other, kPhdrSize);
                }
                break;
            default: // truncation
                blob.resize(rng.below(blob.size() + 1));
                break;
            }
        }
        accepted += error_of(blob, option_sets[rng.below(std::size(option_sets))]) == Error::none;
    }
    INFO("accepted " << accepted);
    // Enough parse to exercise the invariants, enough fail to exercise the checks.
    CHECK(accepted > 10000);
    CHECK(accepted < 90000);

    for (size_t cut = 0; cut < original.size(); ++cut) {
        const std::vector<uint8_t> blob(original.begin(), original.begin() + static_cast<ptrdiff_t>(cut));
        const Error e = error_of(blob, dyn_at(0x400000));
        INFO("cut at " << cut);
        CHECK((e == Error::too_small || e == Error::bad_program_headers || e == Error::segment_past_file ||
               e == Error::bad_tls));
    }
}

TEST_CASE("elf: random bytes behind a valid ELF identification", "[elf]")
{
    XorShift rng{0x13198a2e03707344ull};
    const elf::Options both = [] {
        elf::Options o = kExec;
        o.accept_dyn = true;
        o.accept_interpreter = true;
        return o;
    }();
    for (int round = 0; round < 20000; ++round) {
        std::vector<uint8_t> blob(rng.below(1024));
        for (uint8_t& byte : blob)
            byte = static_cast<uint8_t>(rng.next());
        // Mostly a header that passes, so the program header paths run on random data.
        const uint8_t ident[] = {0x7f, 'E', 'L', 'F', 2, 1, 1};
        for (size_t i = 0; i < sizeof ident && i < blob.size() && rng.chance(95); ++i)
            blob[i] = ident[i];
        if (blob.size() >= kEhdrSize && rng.chance(90)) {
            put(blob, 16, rng.chance(50) ? kEtExec : kEtDyn, 2);
            put(blob, 18, 62, 2);
            put(blob, 20, 1, 4);
            put(blob, 32, kEhdrSize, 8);
            put(blob, 54, kPhdrSize, 2);
            put(blob, 56, rng.below(18), 2);
        }
        (void)error_of(blob, rng.chance(50) ? both : dyn_at(0x10000));
    }
}
