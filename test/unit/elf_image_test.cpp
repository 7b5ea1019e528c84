// Host tests of the ELF64 boot-module reader: a valid image field by field, every error
// with its program-header index, and a deterministic fuzz loop run under ASan/UBSan.
#include "boot/elf_image.hpp"

#include <catch2/catch.hpp>

#include "xorshift.hpp"

#include <algorithm>
#include <cstring>
#include <iterator>
#include <memory>
#include <vector>

namespace {

using elf::ImageError;
using elf::kUserEnd;

constexpr uint32_t kPtLoad = 1, kPtNote = 4, kPtGnuStack = 0x6474e551;
constexpr uint32_t kPfX = 1, kPfW = 2, kPfR = 4;
constexpr size_t kEhdrSize = 64, kPhdrSize = 56;

struct Phdr {
    uint32_t type = kPtLoad;
    uint32_t flags = kPfR;
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
    uint16_t type = 2, machine = 62, phentsize = kPhdrSize;
    uint32_t version = 1;
    uint64_t entry = 0;
    uint64_t phoff = kEhdrSize;
    int phnum = -1;            // -1: phdrs.size()
    size_t file_size = 0;      // grown to hold the header and the program headers
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
        {.type = kPtLoad, .flags = kPfR | kPfX, .offset = 0, .vaddr = 0x400000, .filesz = 0x1234, .memsz = 0x1234},
        {.type = kPtLoad, .flags = kPfR | kPfW, .offset = 0x2010, .vaddr = 0x403010, .filesz = 0x100, .memsz = 0x2000},
        {.type = kPtGnuStack, .flags = kPfR | kPfW, .align = 16},
    };
    return b;
}

// Parses a copy that ends exactly at the end of a heap block (so ASan sees any over-read)
// and starts at an odd address (so byte-wise loads are required).
elf::ImageResult parse(const std::vector<uint8_t>& blob, elf::Image& out)
{
    std::unique_ptr<uint8_t[]> block(new uint8_t[blob.size() + 1]);
    uint8_t* data = block.get() + 1;
    if (!blob.empty()) {
        std::memcpy(data, blob.data(), blob.size());
    }
    return elf::parse_image(data, blob.size(), out);
}

// Parses and checks the error, the index, and that a failed parse leaves `out` empty.
void expect(const Builder& b, ImageError error, uint32_t index)
{
    elf::Image image{};
    image.entry = 0xdead;
    image.segment_count = 7;
    const elf::ImageResult result = parse(b.bytes(), image);
    CHECK(result.error == error);
    CHECK(result.index == index);
    if (error != ImageError::none) {
        CHECK(image.segment_count == 0);
        CHECK(image.entry == 0);
    }
}

} // namespace

TEST_CASE("elf image: valid two-segment executable", "[elf_image]")
{
    const std::vector<uint8_t> blob = valid_builder().bytes();
    REQUIRE(blob.size() == 0x2110);
    elf::Image image{};
    const elf::ImageResult result = parse(blob, image);
    REQUIRE(result.error == ImageError::none);
    CHECK(result.index == 0);
    CHECK(image.entry == 0x400100);
    REQUIRE(image.segment_count == 2);

    const elf::Segment& text = image.segments[0];
    CHECK(text.vaddr == 0x400000);
    CHECK(text.memsz == 0x1234);
    CHECK(text.offset == 0);
    CHECK(text.filesz == 0x1234);
    CHECK(text.readable);
    CHECK_FALSE(text.writable);
    CHECK(text.executable);
    CHECK(text.page_base() == 0x400000);
    CHECK(text.page_limit() == 0x402000);

    const elf::Segment& data = image.segments[1];
    CHECK(data.vaddr == 0x403010);
    CHECK(data.memsz == 0x2000);
    CHECK(data.offset == 0x2010);
    CHECK(data.filesz == 0x100);
    CHECK(data.readable);
    CHECK(data.writable);
    CHECK_FALSE(data.executable);
    CHECK(data.page_base() == 0x403000);
    CHECK(data.page_limit() == 0x406000);
}

TEST_CASE("elf image: edge cases that are accepted", "[elf_image]")
{
    SECTION("segment ending exactly at kUserEnd")
    {
        Builder b = valid_builder();
        b.phdrs[1].vaddr = kUserEnd - 0x2000 + 0x10;
        b.phdrs[1].memsz = 0x2000 - 0x10;
        expect(b, ImageError::none, 0);
    }
    SECTION("segments on adjacent pages, listed out of address order")
    {
        Builder b = valid_builder();
        b.phdrs[1].vaddr = 0x3ff010;   // page 0x3ff000, just below text's first page
        b.phdrs[1].memsz = 0xff0;
        expect(b, ImageError::none, 0);
    }
    SECTION("PT_LOAD with memsz 0 is skipped, even with wild fields")
    {
        Builder b = valid_builder();
        b.phdrs.insert(b.phdrs.begin() + 1, Phdr{.offset = ~0ull, .vaddr = 0x400000, .filesz = 5, .memsz = 0});
        elf::Image image{};
        REQUIRE(parse(b.bytes(), image).error == ImageError::none);
        CHECK(image.segment_count == 2);
        CHECK(image.segments[1].vaddr == 0x403010);
    }
    SECTION("bss-only segment and a PT_NOTE")
    {
        Builder b = valid_builder();
        b.phdrs[1].filesz = 0;
        b.phdrs.push_back({.type = kPtNote, .offset = ~0ull, .vaddr = ~0ull, .filesz = ~0ull, .memsz = ~0ull});
        expect(b, ImageError::none, 0);
    }
    SECTION("entry at the last byte of the executable segment")
    {
        Builder b = valid_builder();
        b.entry = 0x400000 + 0x1234 - 1;
        expect(b, ImageError::none, 0);
    }
    SECTION("program headers at the very end of the file")
    {
        Builder b = valid_builder();
        b.phoff = 0x2110;
        b.file_size = 0x2110 + 3 * kPhdrSize;
        expect(b, ImageError::none, 0);
    }
    SECTION("exactly kMaxSegments loadable segments")
    {
        Builder b = valid_builder();
        b.phdrs.clear();
        for (uint64_t i = 0; i < elf::kMaxSegments; ++i) {
            b.phdrs.push_back({.flags = kPfR | kPfX, .offset = 0, .vaddr = 0x400000 + i * 0x1000, .filesz = 0x200, .memsz = 0x200});
        }
        expect(b, ImageError::none, 0);
    }
}

TEST_CASE("elf image: header errors", "[elf_image]")
{
    SECTION("too small")
    {
        std::vector<uint8_t> blob = valid_builder().bytes();
        elf::Image image{};
        blob.resize(63);
        CHECK(parse(blob, image).error == ImageError::too_small);
        blob.clear();
        CHECK(parse(blob, image).error == ImageError::too_small);
        CHECK(elf::parse_image(nullptr, 100, image).error == ImageError::too_small);
    }
    SECTION("bad magic, each byte")
    {
        for (size_t i = 0; i < 4; ++i) {
            std::vector<uint8_t> blob = valid_builder().bytes();
            blob[i] ^= 0x20;
            elf::Image image{};
            const elf::ImageResult result = parse(blob, image);
            CHECK(result.error == ImageError::bad_magic);
            CHECK(result.index == 0);
        }
    }
    Builder b = valid_builder();
    SECTION("32-bit") { b.ident_class = 1; expect(b, ImageError::not_64_bit, 0); }
    SECTION("big-endian") { b.ident_data = 2; expect(b, ImageError::not_little_endian, 0); }
    SECTION("EI_VERSION 0") { b.ident_version = 0; expect(b, ImageError::bad_version, 0); }
    SECTION("e_version 2") { b.version = 2; expect(b, ImageError::bad_version, 0); }
    SECTION("ET_DYN (PIE)") { b.type = 3; expect(b, ImageError::not_executable, 0); }
    SECTION("ET_REL") { b.type = 1; expect(b, ImageError::not_executable, 0); }
    SECTION("i386") { b.machine = 3; expect(b, ImageError::wrong_machine, 0); }
}

TEST_CASE("elf image: bad program header table", "[elf_image]")
{
    Builder b = valid_builder();
    SECTION("entry size 32") { b.phentsize = 32; expect(b, ImageError::bad_program_headers, 0); }
    SECTION("entry size 64") { b.phentsize = 64; expect(b, ImageError::bad_program_headers, 0); }
    SECTION("table one byte past the end")
    {
        b.phoff = 0x2110 - 3 * kPhdrSize + 1;
        b.file_size = 0x2110;
        std::vector<uint8_t> blob = b.bytes();
        blob.resize(0x2110);
        elf::Image image{};
        CHECK(parse(blob, image).error == ImageError::bad_program_headers);
    }
    SECTION("phoff past the end")
    {
        std::vector<uint8_t> blob = b.bytes();
        put(blob, 32, 0x2111, 8);
        elf::Image image{};
        CHECK(parse(blob, image).error == ImageError::bad_program_headers);
    }
    SECTION("phoff so large the end wraps")
    {
        std::vector<uint8_t> blob = b.bytes();
        put(blob, 32, ~0ull - 8, 8);
        elf::Image image{};
        CHECK(parse(blob, image).error == ImageError::bad_program_headers);
    }
    SECTION("phnum claims more headers than the file holds") { b.phnum = 200; expect(b, ImageError::bad_program_headers, 0); }
    SECTION("PN_XNUM")
    {
        b.phnum = 0xffff;
        b.file_size = kEhdrSize + 0xffff * kPhdrSize;   // even when the table would fit
        expect(b, ImageError::bad_program_headers, 0);
    }
}

TEST_CASE("elf image: segment errors carry the program header index", "[elf_image]")
{
    Builder b = valid_builder();
    SECTION("file bytes one past the end")
    {
        b.phdrs[1].filesz = 0x101;
        b.phdrs[1].memsz = 0x2000;
        expect(b, ImageError::segment_past_file, 1);
    }
    SECTION("offset past the end with filesz 0")
    {
        b.phdrs[1].offset = 0x3010;
        b.phdrs[1].filesz = 0;
        expect(b, ImageError::segment_past_file, 1);
    }
    SECTION("offset + filesz wraps")
    {
        b.phdrs[1].offset = ~0ull - 0xfef;   // congruent to vaddr mod 4096
        b.phdrs[1].filesz = 0x1000;
        b.phdrs[1].memsz = 0x2000;
        expect(b, ImageError::segment_past_file, 1);
    }
    SECTION("filesz larger than memsz") { b.phdrs[0].memsz = 0x1233; expect(b, ImageError::segment_file_larger_than_memory, 0); }
    SECTION("in the kernel half")
    {
        b.phdrs[1].vaddr = 0xffffffff80003010;
        expect(b, ImageError::segment_outside_user, 1);
    }
    SECTION("starting at kUserEnd")
    {
        b.phdrs[1].vaddr = kUserEnd + 0x10;
        expect(b, ImageError::segment_outside_user, 1);
    }
    SECTION("one byte past kUserEnd")
    {
        b.phdrs[1].vaddr = kUserEnd - 0x2000 + 0x10;
        b.phdrs[1].memsz = 0x2000 - 0x10 + 1;
        expect(b, ImageError::segment_outside_user, 1);
    }
    SECTION("vaddr + memsz wraps")
    {
        b.phdrs[1].vaddr = 0x403010;
        b.phdrs[1].memsz = ~0ull - 0x10;
        expect(b, ImageError::segment_outside_user, 1);
    }
    SECTION("pages overlap: data starts on text's last page")
    {
        b.phdrs[1].vaddr = 0x401010;
        expect(b, ImageError::segments_overlap, 1);
    }
    SECTION("pages overlap: no byte in common, but text's last page")
    {
        b.phdrs[1].vaddr = 0x401240;   // text ends at 0x401234
        b.phdrs[1].offset = 0x1240;
        expect(b, ImageError::segments_overlap, 1);
    }
    SECTION("pages overlap: data ends on text's first page, listed later")
    {
        b.phdrs[1].vaddr = 0x3ff010;   // 0x3ff010 + 0x2000 reaches page 0x401000
        expect(b, ImageError::segments_overlap, 1);
    }
    SECTION("pages overlap: the same segment twice")
    {
        b.phdrs.push_back(b.phdrs[0]);
        expect(b, ImageError::segments_overlap, 3);
    }
    SECTION("vaddr and offset disagree mod 4096")
    {
        b.phdrs[1].offset = 0x2020;
        b.phdrs[1].filesz = 0xf0;
        expect(b, ImageError::segment_misaligned, 1);
    }
    SECTION("more than kMaxSegments loadable segments")
    {
        b.phdrs.clear();
        for (uint64_t i = 0; i <= elf::kMaxSegments; ++i) {
            b.phdrs.push_back({.flags = kPfR | kPfX, .offset = 0, .vaddr = 0x400000 + i * 0x1000, .filesz = 0x200, .memsz = 0x200});
            if (i == 3) {
                b.phdrs.push_back({.type = kPtLoad, .memsz = 0});   // not counted
                b.phdrs.push_back({.type = kPtGnuStack});
            }
        }
        expect(b, ImageError::too_many_segments, static_cast<uint32_t>(elf::kMaxSegments + 2));
    }
}

TEST_CASE("elf image: no loadable segment, entry outside", "[elf_image]")
{
    Builder b = valid_builder();
    SECTION("phnum 0") { b.phdrs.clear(); b.phoff = 0; b.phentsize = 0; expect(b, ImageError::no_loadable_segment, 0); }
    SECTION("only PT_GNU_STACK") { b.phdrs.erase(b.phdrs.begin(), b.phdrs.begin() + 2); expect(b, ImageError::no_loadable_segment, 0); }
    SECTION("only empty PT_LOAD")
    {
        b.phdrs[0].memsz = b.phdrs[0].filesz = 0;
        b.phdrs[1].memsz = b.phdrs[1].filesz = 0;
        expect(b, ImageError::no_loadable_segment, 0);
    }
    SECTION("entry in the data segment") { b.entry = 0x403010; expect(b, ImageError::entry_outside_segments, 0); }
    SECTION("entry one past the text segment") { b.entry = 0x401234; expect(b, ImageError::entry_outside_segments, 0); }
    SECTION("entry just below the text segment") { b.entry = 0x3fffff; expect(b, ImageError::entry_outside_segments, 0); }
    SECTION("entry 0") { b.entry = 0; expect(b, ImageError::entry_outside_segments, 0); }
    SECTION("entry in the kernel half") { b.entry = 0xffffffff80000000; expect(b, ImageError::entry_outside_segments, 0); }
    SECTION("text not executable") { b.phdrs[0].flags = kPfR; expect(b, ImageError::entry_outside_segments, 0); }
}

TEST_CASE("elf image: every error has a description", "[elf_image]")
{
    for (int e = 0; e <= static_cast<int>(ImageError::too_many_segments); ++e) {
        const char* text = elf::describe(static_cast<ImageError>(e));
        REQUIRE(text != nullptr);
        CHECK(std::strcmp(text, "unknown error") != 0);
    }
    CHECK(std::strcmp(elf::describe(static_cast<ImageError>(200)), "unknown error") == 0);
}

namespace {

// A mutation may land after a truncation: write only what still fits.
void put_if_fits(std::vector<uint8_t>& out, size_t at, uint64_t value, size_t bytes)
{
    if (at + bytes <= out.size()) {
        put(out, at, value, bytes);
    }
}


// What a successful parse promises the loader, checked independently of the reader.
void check_invariants(const std::vector<uint8_t>& blob, const elf::Image& image)
{
    REQUIRE(image.segment_count >= 1);
    REQUIRE(image.segment_count <= elf::kMaxSegments);
    bool entry_found = false;
    for (size_t i = 0; i < image.segment_count; ++i) {
        const elf::Segment& s = image.segments[i];
        REQUIRE(s.memsz > 0);
        REQUIRE(s.filesz <= s.memsz);
        REQUIRE(s.offset <= blob.size());
        REQUIRE(s.filesz <= blob.size() - s.offset);
        REQUIRE(s.vaddr < kUserEnd);
        REQUIRE(s.memsz <= kUserEnd - s.vaddr);
        REQUIRE(s.vaddr % 4096 == s.offset % 4096);
        REQUIRE(s.page_base() < s.page_limit());
        REQUIRE(s.page_limit() <= kUserEnd);
        for (size_t j = 0; j < i; ++j) {
            const elf::Segment& o = image.segments[j];
            REQUIRE((s.page_limit() <= o.page_base() || o.page_limit() <= s.page_base()));
        }
        if (s.executable && image.entry >= s.vaddr && image.entry - s.vaddr < s.memsz) {
            entry_found = true;
        }
    }
    REQUIRE(entry_found);
}

} // namespace

TEST_CASE("elf image: fuzzed modules never crash and parse only into sound images", "[elf_image]")
{
    Builder base = valid_builder();
    // A third segment makes more of the overlap and counting paths reachable.
    base.phdrs.push_back({.flags = kPfR, .offset = 0x10, .vaddr = 0x600010, .filesz = 0x20, .memsz = 0x20});
    const std::vector<uint8_t> original = base.bytes();
    const size_t table_end = kEhdrSize + base.phdrs.size() * kPhdrSize;
    const uint64_t interesting[] = {0, 1, 0xfff, 0x1000, 0x400000, 0x401000, 0x403010, kUserEnd - 1,
                                    kUserEnd, kUserEnd - 0x1000, ~0ull, ~0ull - 0xfff, original.size(),
                                    original.size() - 1, 0x7fffffff, 0x80000000};

    XorShift rng{0x9e3779b97f4a7c15ull};
    size_t accepted = 0;
    for (int round = 0; round < 20000; ++round) {
        std::vector<uint8_t> blob = original;
        const size_t mutations = 1 + rng.below(4);
        for (size_t m = 0; m < mutations; ++m) {
            switch (rng.below(6)) {
            case 0:   // flip a bit in the headers, where nearly every byte matters
                blob[rng.below(std::min(blob.size(), table_end))] ^= static_cast<uint8_t>(1u << rng.below(8));
                break;
            case 1:   // a random byte anywhere
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
            case 4:   // a program header's type or flags
                put_if_fits(blob, kEhdrSize + rng.below(base.phdrs.size()) * kPhdrSize + 4 * rng.below(2), rng.below(8), 4);
                break;
            default:  // truncation
                blob.resize(rng.below(blob.size() + 1));
                if (blob.empty()) {
                    blob.push_back(0x7f);
                }
                break;
            }
        }
        elf::Image image{};
        const elf::ImageResult result = parse(blob, image);
        if (result.error == ImageError::none) {
            ++accepted;
            check_invariants(blob, image);
        } else {
            REQUIRE(image.segment_count == 0);
        }
    }
    // The mutations must leave a fair share parseable, or the invariants go unexercised.
    CHECK(accepted > 1000);
    CHECK(accepted < 19000);
}
