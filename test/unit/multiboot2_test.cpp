// Host tests of the Multiboot2 boot-information parser: well-formed info, every malformed
// case, and a deterministic fuzz loop run under ASan/UBSan.
#include "boot/multiboot2.hpp"

#include <catch2/catch.hpp>

#include "xorshift.hpp"

#include <algorithm>
#include <cstring>
#include <iterator>
#include <memory>
#include <string>
#include <vector>

namespace {

using mb2::Error;

struct Region {
    uint64_t base, length;
    uint32_t type;
};

constexpr uint32_t kAvailable = 1, kReserved = 2, kAcpiReclaimable = 3;

// Little-endian payload bytes, appended field by field.
struct Bytes : std::vector<uint8_t> {
    Bytes& u8(uint8_t value)
    {
        push_back(value);
        return *this;
    }
    Bytes& u32(uint32_t value)
    {
        for (int i = 0; i < 4; ++i) {
            u8(static_cast<uint8_t>(value >> (8 * i)));
        }
        return *this;
    }
    Bytes& u64(uint64_t value) { return u32(static_cast<uint32_t>(value)).u32(static_cast<uint32_t>(value >> 32)); }
    Bytes& str(const std::string& text)
    {
        insert(end(), text.begin(), text.end());
        return u8(0);
    }
};

void write_u32(std::vector<uint8_t>& out, size_t at, uint32_t value)
{
    for (size_t i = 0; i < 4; ++i) {
        out[at + i] = static_cast<uint8_t>(value >> (8 * i));
    }
}

// Assembles a boot-information blob the way GRUB lays it out: a header, tags at 8-byte
// aligned offsets, `total_size` patched in by bytes().
class Builder {
public:
    // A tag whose size field is 8 + payload size (or `size_override`), padded to 8.
    Builder& tag(uint32_t type, const std::vector<uint8_t>& payload, uint32_t size_override = 0)
    {
        last_offset_ = static_cast<uint32_t>(data_.size());
        data_.u32(type).u32(size_override != 0 ? size_override : static_cast<uint32_t>(8 + payload.size()));
        data_.insert(data_.end(), payload.begin(), payload.end());
        data_.resize((data_.size() + 7) / 8 * 8, 0);
        return *this;
    }

    Builder& cmdline(const std::string& text) { return tag(1, Bytes().str(text)); }
    Builder& loader(const std::string& text) { return tag(2, Bytes().str(text)); }
    Builder& module(uint32_t start, uint32_t end, const std::string& text)
    {
        return tag(3, Bytes().u32(start).u32(end).str(text));
    }

    Builder& mmap(const std::vector<Region>& regions, uint32_t entry_size = 24, uint32_t version = 0)
    {
        Bytes payload;
        payload.u32(entry_size).u32(version);
        for (const Region& region : regions) {
            size_t at = payload.size();
            payload.u64(region.base).u64(region.length).u32(region.type);
            payload.resize(at + entry_size, 0); // reserved field and any extension
        }
        return tag(6, payload);
    }

    // GRUB's layout: u16 reserved after the type, then (direct RGB) six colour bytes.
    Builder& framebuffer(uint64_t addr, uint32_t pitch, uint32_t width, uint32_t height, uint8_t bpp, uint8_t type)
    {
        Bytes payload;
        payload.u64(addr).u32(pitch).u32(width).u32(height).u8(bpp).u8(type).u8(0).u8(0);
        payload.u8(16).u8(8).u8(8).u8(8).u8(0).u8(8);
        return tag(8, payload);
    }

    Builder& elf_sections(uint32_t count, uint32_t entry_size, uint32_t string_index, size_t header_bytes)
    {
        Bytes payload;
        payload.u32(count).u32(entry_size).u32(string_index);
        for (size_t i = 0; i < header_bytes; ++i) {
            payload.u8(static_cast<uint8_t>(i));
        }
        return tag(9, payload);
    }

    Builder& acpi(uint32_t type, size_t rsdp_size)
    {
        return tag(type, std::vector<uint8_t>(rsdp_size, static_cast<uint8_t>(type)));
    }

    Builder& end() { return tag(0, {}); }

    uint32_t last_offset() const { return last_offset_; }

    std::vector<uint8_t> bytes() const
    {
        std::vector<uint8_t> out = data_;
        write_u32(out, 0, static_cast<uint32_t>(out.size()));
        return out;
    }

private:
    Bytes data_ = Bytes().u32(0).u32(0); // total_size (patched by bytes()), reserved
    uint32_t last_offset_ = 0;
};

// The blob in a heap block of exactly its size (operator new[] aligns to 16), so ASan
// reports any read past `available`.
struct Parsed {
    std::unique_ptr<uint8_t[]> memory;
    std::unique_ptr<mb2::BootInfo> info = std::make_unique<mb2::BootInfo>();
    mb2::Result result{};
};

Parsed run(const std::vector<uint8_t>& blob, size_t available)
{
    Parsed parsed;
    parsed.memory.reset(new uint8_t[available]());
    std::memcpy(parsed.memory.get(), blob.data(), std::min(available, blob.size()));
    parsed.result = mb2::parse(parsed.memory.get(), available, *parsed.info);
    return parsed;
}

Parsed run(const std::vector<uint8_t>& blob) { return run(blob, blob.size()); }

// RAM from 1 MiB to 128 MiB with the legacy hole, as QEMU reports it.
const std::vector<Region> kRam = {
    {0x0, 0x9fc00, kAvailable}, {0x9fc00, 0x400, kReserved}, {0x100000, 0x7f00000, kAvailable}};

Builder minimal() { return Builder().mmap(kRam); }

bool is_empty(const mb2::BootInfo& info)
{
    return info.region_count == 0 && info.module_count == 0 && std::strcmp(info.cmdline, "") == 0 &&
           std::strcmp(info.bootloader_name, "") == 0 && !info.framebuffer.present && !info.elf_sections.present &&
           !info.acpi.present && info.total_size == 0;
}

void check_error(const Parsed& parsed, Error expected, uint32_t offset)
{
    INFO(mb2::describe(parsed.result.error));
    CHECK(parsed.result.error == expected);
    CHECK(parsed.result.offset == offset);
    CHECK(is_empty(*parsed.info));
}

// The builder's last tag is the offending one; the end tag is added here.
void expect_error(Builder b, Error expected)
{
    uint32_t at = b.last_offset();
    check_error(run(b.end().bytes()), expected, at);
}

} // namespace

TEST_CASE("mb2: a well-formed info is parsed exactly", "[mb2]")
{
    Builder b;
    uint32_t cmdline_at = b.cmdline("loglevel=debug hz=250").last_offset();
    b.tag(4, {0x80, 0x02, 0, 0, 0x00, 0xfc, 0x01, 0}); // basic meminfo: skipped
    uint32_t loader_at = b.loader("GRUB 2.06").last_offset();
    uint32_t module0_at = b.module(0x200000, 0x201000, "sigma0").last_offset();
    b.mmap({{0x100000, 0x7f00000, kAvailable}, {0x0, 0x9fc00, kAvailable}, {0x9fc00, 0x400, kReserved}});
    uint32_t module1_at = b.module(0x300000, 0x380000, "vmm-server guests=2").last_offset();
    b.framebuffer(0xfd000000, 4096, 1024, 768, 32, 1);
    uint32_t elf_at = b.elf_sections(3, 64, 2, 3 * 64).last_offset();
    b.acpi(14, 20).tag(99, {1, 2, 3}); // unknown type: skipped
    uint32_t acpi_new_at = b.acpi(15, 36).last_offset();
    std::vector<uint8_t> blob = b.tag(21, {0, 0, 0x20, 0}).end().bytes(); // load base: skipped

    Parsed parsed = run(blob);
    REQUIRE(parsed.result.error == Error::none);
    CHECK(parsed.result.offset == 0);
    const mb2::BootInfo& info = *parsed.info;
    const uint8_t* base = parsed.memory.get();

    CHECK(info.total_size == blob.size());
    CHECK(std::string(info.cmdline) == "loglevel=debug hz=250");
    CHECK(reinterpret_cast<const uint8_t*>(info.cmdline) == base + cmdline_at + 8);
    CHECK(std::string(info.bootloader_name) == "GRUB 2.06");
    CHECK(reinterpret_cast<const uint8_t*>(info.bootloader_name) == base + loader_at + 8);

    REQUIRE(info.region_count == 3);
    for (size_t i = 0; i < 3; ++i) {
        CHECK(info.regions[i].base == kRam[i].base);
        CHECK(info.regions[i].length == kRam[i].length);
        CHECK(info.regions[i].type == kRam[i].type);
    }
    CHECK(info.available_bytes() == 0x9fc00 + 0x7f00000);

    REQUIRE(info.module_count == 2);
    const mb2::Module expected[] = {{0x200000, 0x201000, "sigma0"}, {0x300000, 0x380000, "vmm-server guests=2"}};
    const uint32_t module_at[] = {module0_at, module1_at};
    for (size_t i = 0; i < 2; ++i) {
        CHECK(info.modules[i].start == expected[i].start);
        CHECK(info.modules[i].end == expected[i].end);
        CHECK(std::string(info.modules[i].cmdline) == expected[i].cmdline);
        CHECK(reinterpret_cast<const uint8_t*>(info.modules[i].cmdline) == base + module_at[i] + 16);
    }

    CHECK(info.framebuffer.present);
    CHECK(info.framebuffer.addr == 0xfd000000);
    CHECK(info.framebuffer.pitch == 4096);
    CHECK(info.framebuffer.width == 1024);
    CHECK(info.framebuffer.height == 768);
    CHECK(info.framebuffer.bpp == 32);
    CHECK(info.framebuffer.type == 1);

    CHECK(info.elf_sections.present);
    CHECK(info.elf_sections.count == 3);
    CHECK(info.elf_sections.entry_size == 64);
    CHECK(info.elf_sections.string_index == 2);
    CHECK(info.elf_sections.headers == base + elf_at + 20);
    CHECK(info.elf_sections.headers_size == 192);
    CHECK(info.elf_sections.headers[191] == 191);

    CHECK(info.acpi.present);
    CHECK(info.acpi.version == 2); // the new RSDP wins over the old one
    CHECK(info.acpi.rsdp == base + acpi_new_at + 8);
    CHECK(info.acpi.rsdp_size == 36);
    CHECK(info.acpi.rsdp[0] == 15);
}

TEST_CASE("mb2: optional tags absent, old ACPI tag only", "[mb2]")
{
    Parsed both = run(minimal().acpi(15, 36).acpi(14, 20).end().bytes()); // order must not matter
    REQUIRE(both.result.error == Error::none);
    CHECK(both.info->acpi.version == 2);

    Builder old_only = minimal();
    uint32_t acpi_at = old_only.acpi(14, 20).last_offset();
    Parsed parsed = run(old_only.end().bytes());
    REQUIRE(parsed.result.error == Error::none);
    const mb2::BootInfo& info = *parsed.info;
    CHECK((*info.cmdline == '\0' && *info.bootloader_name == '\0'));
    CHECK((info.module_count == 0 && !info.framebuffer.present && !info.elf_sections.present));
    CHECK(info.acpi.present);
    CHECK(info.acpi.version == 1);
    CHECK(info.acpi.rsdp == parsed.memory.get() + acpi_at + 8);
    CHECK(info.acpi.rsdp_size == 20);
}

TEST_CASE("mb2: unknown region types are stored as reserved, long entries accepted", "[mb2]")
{
    // 32-byte entries: a loader may extend them, the parser uses the first 20 bytes.
    std::vector<Region> regions = {{0x0, 0x1000, 7},    {0x1000, 0x1000, 0}, {0x2000, 0x1000, kAcpiReclaimable},
                                   {0x3000, 0x1000, 4}, {0x4000, 0x1000, 5}, {0x5000, 0x1000, kAvailable}};
    Parsed parsed = run(Builder().mmap(regions, 32).end().bytes());
    REQUIRE(parsed.result.error == Error::none);
    REQUIRE(parsed.info->region_count == 6);
    const uint32_t expected[] = {kReserved, kReserved, kAcpiReclaimable, 4, 5, kAvailable};
    for (size_t i = 0; i < 6; ++i) {
        CHECK(parsed.info->regions[i].base == regions[i].base);
        CHECK(parsed.info->regions[i].type == expected[i]);
    }
    CHECK(parsed.info->available_bytes() == 0x1000);
}

TEST_CASE("mb2: pointer and size of the info", "[mb2]")
{
    mb2::BootInfo info{};
    CHECK(mb2::parse(nullptr, 4096, info).error == Error::null_info);
    CHECK(is_empty(info));

    std::vector<uint8_t> blob = minimal().end().bytes();
    std::vector<uint64_t> storage(blob.size() / 8 + 1);
    uint8_t* odd_address = reinterpret_cast<uint8_t*>(storage.data()) + 4;
    std::memcpy(odd_address, blob.data(), blob.size());
    CHECK(mb2::parse(odd_address, blob.size(), info).error == Error::misaligned_info);

    // total_size larger than what may be read
    check_error(run(blob, blob.size() - 8), Error::total_size_too_large, 0);
    check_error(run(blob, 7), Error::total_size_too_large, 0);
    check_error(run(blob, 0), Error::total_size_too_large, 0);
    CHECK(run(blob, blob.size() + 64).result.error == Error::none);

    std::vector<uint8_t> bad = blob;
    write_u32(bad, 0, 8); // no room for an end tag
    check_error(run(bad), Error::total_size_too_small, 0);
    write_u32(bad, 0, 0);
    check_error(run(bad), Error::total_size_too_small, 0);
    write_u32(bad, 0, static_cast<uint32_t>(blob.size() - 4));
    check_error(run(bad), Error::tag_misaligned, 0);
}

TEST_CASE("mb2: malformed tag headers", "[mb2]")
{
    expect_error(minimal().tag(1, {'a', 0}, 4), Error::tag_too_small);
    expect_error(minimal().tag(1, {'a', 0}, 64), Error::tag_past_end);
    check_error(run(minimal().bytes()), Error::missing_end_tag, 0);

    std::vector<uint8_t> blob = minimal().end().bytes();
    write_u32(blob, 0, static_cast<uint32_t>(blob.size() - 8)); // the end tag lies past total_size
    check_error(run(blob), Error::missing_end_tag, 0);

    check_error(run(Builder().cmdline("x").end().bytes()), Error::no_memory_map, 0);
    expect_error(Builder().mmap({}), Error::no_memory_map);
}

TEST_CASE("mb2: unterminated strings", "[mb2]")
{
    expect_error(minimal().tag(1, {'a', 'b', 'c'}), Error::string_unterminated);
    expect_error(minimal().tag(1, {}), Error::string_unterminated);                          // no room for a NUL
    expect_error(minimal().tag(2, {'G', 'R', 'U', 'B', 0}, 12), Error::string_unterminated); // NUL in padding
    expect_error(minimal().tag(3, {0, 0, 0x20, 0, 0, 0x10, 0x20, 0, 'm', 'o', 'd'}), Error::string_unterminated);
    expect_error(minimal().tag(3, {0, 0, 0x20, 0}), Error::tag_too_small); // no room for the addresses
}

TEST_CASE("mb2: bad memory map tags", "[mb2]")
{
    expect_error(Builder().mmap(kRam, 20), Error::mmap_entry_size_bad);
    expect_error(Builder().mmap(kRam, 28), Error::mmap_entry_size_bad);
    expect_error(Builder().mmap({}, 0), Error::mmap_entry_size_bad);
    std::vector<uint8_t> blob = Builder().mmap(kRam).end().bytes();
    write_u32(blob, 16, 32); // 3 * 24 bytes of entries cannot be 32-byte entries
    check_error(run(blob), Error::mmap_entry_size_bad, 8);

    expect_error(Builder().mmap(kRam, 24, 1), Error::mmap_version_bad);
    expect_error(Builder().tag(6, {24, 0, 0, 0}), Error::tag_too_small);
    expect_error(minimal().mmap({{0x10000000, 0x1000, kAvailable}}), Error::duplicate_tag);
    expect_error(Builder().mmap({{0x0, 0x1000, kAvailable}, {0x2000, 0, kReserved}}), Error::region_zero_size);

    expect_error(Builder().mmap({{0xfffffffffffff000, 0x2000, kReserved}}), Error::region_wraps);
    // Ending exactly at 2^64 cannot be written as an exclusive end either.
    expect_error(Builder().mmap({{0xfffffffffffff000, 0x1000, kReserved}}), Error::region_wraps);
    CHECK(run(Builder().mmap({{0xfffffffffffff000, 0xfff, kReserved}}).end().bytes()).result.error == Error::none);
}

TEST_CASE("mb2: overlapping regions (any types, any order), too many regions", "[mb2]")
{
    const std::vector<Region> cases[] = {
        {{0x100000, 0x1000, kAvailable}, {0x0, 0x100001, kReserved}},
        {{0x0, 0x1000, kAvailable}, {0x0, 0x1000, kAvailable}},
        {{0x0, 0x10000, kReserved}, {0x8000, 0x10, kAvailable}, {0x20000, 0x10, kAvailable}},
        // A long region swallowing one that is not its neighbour once sorted.
        {{0x3000, 0x1000, kAvailable}, {0x0, 0x1000, kAvailable}, {0x1000, 0x10000, kReserved}},
    };
    for (const std::vector<Region>& overlapping : cases) {
        expect_error(Builder().mmap(overlapping), Error::regions_overlap);
    }

    std::vector<Region> regions;
    for (uint64_t i = 0; i < mb2::kMaxRegions; ++i) {
        regions.push_back({i * 0x1000, 0x1000, kAvailable});
    }
    Parsed full = run(Builder().mmap(regions).end().bytes());
    CHECK(full.result.error == Error::none);
    CHECK(full.info->region_count == mb2::kMaxRegions);
    regions.push_back({mb2::kMaxRegions * 0x1000, 0x1000, kAvailable});
    expect_error(Builder().mmap(regions), Error::too_many_regions);
}

TEST_CASE("mb2: duplicate single-instance tags", "[mb2]")
{
    expect_error(minimal().cmdline("one").cmdline("two"), Error::duplicate_tag);
    expect_error(minimal().loader("one").loader("two"), Error::duplicate_tag);
    expect_error(minimal().framebuffer(0xb8000, 160, 80, 25, 16, 2).framebuffer(0xb8000, 160, 80, 25, 16, 2),
                 Error::duplicate_tag);
    expect_error(minimal().elf_sections(0, 64, 0, 0).elf_sections(0, 64, 0, 0), Error::duplicate_tag);
    expect_error(minimal().acpi(15, 36).acpi(15, 36), Error::duplicate_tag);
}

TEST_CASE("mb2: modules empty or outside RAM", "[mb2]")
{
    expect_error(minimal().module(0x200000, 0x200000, "zero"), Error::module_empty);
    expect_error(minimal().module(0x200001, 0x200000, "backwards"), Error::module_empty);

    expect_error(minimal().module(0x9fc00, 0x9fd00, "in reserved"), Error::module_outside_ram);
    expect_error(minimal().module(0x9f000, 0xa0000, "into reserved"), Error::module_outside_ram);
    expect_error(minimal().module(0xa0000, 0x101000, "in the hole"), Error::module_outside_ram);
    expect_error(minimal().module(0x7fff000, 0x8001000, "past the top"), Error::module_outside_ram);
    expect_error(minimal().module(0x10000000, 0x10001000, "far away"), Error::module_outside_ram);
    // The memory map may come after the modules.
    check_error(run(Builder().module(0x9fc00, 0x9fd00, "late").mmap(kRam).end().bytes()), Error::module_outside_ram, 8);

    std::vector<Region> gap = {{0x100000, 0x100000, kAvailable}, {0x201000, 0x100000, kAvailable}};
    expect_error(Builder().mmap(gap).module(0x180000, 0x280000, "over a gap"), Error::module_outside_ram);
    std::vector<Region> mixed = {{0x100000, 0x100000, kAvailable}, {0x200000, 0x100000, kAcpiReclaimable}};
    expect_error(Builder().mmap(mixed).module(0x180000, 0x280000, "into ACPI"), Error::module_outside_ram);
}

TEST_CASE("mb2: modules straddling adjacent available regions are accepted", "[mb2]")
{
    std::vector<Region> split = {
        {0x200000, 0x100000, kAvailable}, {0x100000, 0x100000, kAvailable}, {0x300000, 0x100000, kAvailable}};
    Builder b = Builder().module(0x180000, 0x280000, "spans two").module(0x100000, 0x400000, "spans all");
    Parsed parsed = run(b.mmap(split).end().bytes());
    REQUIRE(parsed.result.error == Error::none);
    REQUIRE(parsed.info->module_count == 2);
    CHECK(parsed.info->modules[0].start == 0x180000);
    CHECK(parsed.info->modules[0].end == 0x280000);
    CHECK(parsed.info->modules[1].start == 0x100000);
    CHECK(parsed.info->modules[1].end == 0x400000);
}

TEST_CASE("mb2: too many modules", "[mb2]")
{
    Builder b = minimal();
    for (uint32_t i = 0; i < mb2::kMaxModules; ++i) {
        b.module(0x200000 + i * 0x1000, 0x201000 + i * 0x1000, "m" + std::to_string(i));
    }
    Parsed full = run(Builder(b).end().bytes());
    REQUIRE(full.result.error == Error::none);
    CHECK(full.info->module_count == mb2::kMaxModules);
    CHECK(std::string(full.info->modules[31].cmdline) == "m31");
    expect_error(b.module(0x300000, 0x301000, "one too many"), Error::too_many_modules);
}

TEST_CASE("mb2: framebuffer, ELF and ACPI tags too small or inconsistent", "[mb2]")
{
    expect_error(minimal().tag(8, std::vector<uint8_t>(21, 0)), Error::tag_too_small);
    expect_error(minimal().tag(9, std::vector<uint8_t>(8, 0)), Error::tag_too_small);
    expect_error(minimal().acpi(14, 19), Error::tag_too_small);
    expect_error(minimal().acpi(15, 24), Error::tag_too_small);
    expect_error(minimal().elf_sections(3, 40, 2, 3 * 40), Error::elf_sections_bad);     // ELF32 headers
    expect_error(minimal().elf_sections(3, 64, 2, 2 * 64), Error::elf_sections_bad);     // headers cut short
    expect_error(minimal().elf_sections(3, 64, 3, 3 * 64), Error::elf_sections_bad);     // string index too big
    expect_error(minimal().elf_sections(0x4000001, 64, 0, 64), Error::elf_sections_bad); // count * size > 2^32

    Parsed none = run(minimal().elf_sections(0, 64, 0, 0).end().bytes());
    REQUIRE(none.result.error == Error::none);
    CHECK(none.info->elf_sections.present);
    CHECK(none.info->elf_sections.count == 0);
    CHECK(none.info->elf_sections.headers_size == 0);
}

TEST_CASE("mb2: every error has its own description", "[mb2]")
{
    std::vector<std::string> seen;
    for (int e = 0; e <= static_cast<int>(Error::elf_sections_bad); ++e) {
        std::string text = mb2::describe(static_cast<Error>(e));
        CHECK(!text.empty());
        CHECK(std::find(seen.begin(), seen.end(), text) == seen.end());
        seen.push_back(text);
    }
    CHECK(std::string(mb2::describe(Error::regions_overlap)) == "memory map regions overlap");
}

namespace {

// What a successful parse promises; returns a reason or nullptr.
const char* broken_invariant(const mb2::BootInfo& info, const uint8_t* base, size_t size)
{
    if (info.region_count == 0 || info.region_count > mb2::kMaxRegions || info.module_count > mb2::kMaxModules ||
        info.total_size > size || info.total_size % 8 != 0) {
        return "counts or total size";
    }
    const uint8_t* end = base + info.total_size;
    auto string_inside = [&](const char* text) {
        auto* first = reinterpret_cast<const uint8_t*>(text);
        return first >= base && first < end && std::memchr(first, 0, static_cast<size_t>(end - first)) != nullptr;
    };
    for (size_t i = 0; i < info.region_count; ++i) {
        const mb2::MemoryRegion& r = info.regions[i];
        if (r.length == 0 || r.base + r.length <= r.base || r.type < 1 || r.type > 5) {
            return "region";
        }
        if (i > 0 && info.regions[i - 1].base + info.regions[i - 1].length > r.base) {
            return "regions unsorted or overlapping";
        }
    }
    for (size_t m = 0; m < info.module_count; ++m) {
        const mb2::Module& mod = info.modules[m];
        if (mod.start >= mod.end || !string_inside(mod.cmdline)) {
            return "module fields";
        }
        uint64_t covered = mod.start; // regions are sorted: one pass joins adjacent ones
        for (size_t i = 0; i < info.region_count; ++i) {
            const mb2::MemoryRegion& r = info.regions[i];
            if (r.type == kAvailable && r.base <= covered && covered < r.base + r.length) {
                covered = r.base + r.length;
            }
        }
        if (covered < mod.end) {
            return "module outside RAM";
        }
    }
    if ((*info.cmdline != '\0' && !string_inside(info.cmdline)) ||
        (*info.bootloader_name != '\0' && !string_inside(info.bootloader_name))) {
        return "string";
    }
    if ((info.elf_sections.present &&
         (info.elf_sections.headers < base || info.elf_sections.headers + info.elf_sections.headers_size > end)) ||
        (info.acpi.present && (info.acpi.rsdp < base || info.acpi.rsdp + info.acpi.rsdp_size > end))) {
        return "ELF headers or RSDP";
    }
    return nullptr;
}

} // namespace

TEST_CASE("mb2: fuzzed blobs never crash and valid results keep the invariants", "[mb2][fuzz]")
{
    Builder b;
    b.cmdline("loglevel=debug").loader("GRUB");
    b.module(0x200000, 0x201000, "sigma0").module(0x9f000, 0x9fc00, "low");
    b.mmap({{0x100000, 0x7f00000, kAvailable}, {0x0, 0x9fc00, kAvailable}, {0x9fc00, 0x400, kReserved}});
    b.framebuffer(0xfd000000, 4096, 1024, 768, 32, 1).elf_sections(2, 64, 1, 128);
    b.acpi(14, 20).acpi(15, 36).end();
    const std::vector<uint8_t> valid = b.bytes();
    const uint32_t interesting[] = {0, 1, 7, 8, 9, 16, 24, 0x7fffffff, 0x80000000, 0xffffffff, 0xfffffff8};

    XorShift rng{0x9e3779b97f4a7c15};
    size_t accepted = 0;
    size_t failures = 0;
    std::string first_failure;
    for (int iteration = 0; iteration < 20000; ++iteration) {
        std::vector<uint8_t> blob = valid;
        int mutations = 1 + static_cast<int>(rng.next() % 4);
        for (int m = 0; m < mutations; ++m) {
            uint64_t r = rng.next();
            size_t at = static_cast<size_t>(r >> 16) % blob.size();
            if (r % 4 == 0) { // a random byte
                blob[at] = static_cast<uint8_t>(r >> 8);
            } else if (r % 4 == 1) { // a single bit
                blob[at] = static_cast<uint8_t>(blob[at] ^ (1u << ((r >> 8) % 8)));
            } else if (r % 4 == 2 && at + 4 <= blob.size()) { // an interesting u32 where fields live
                write_u32(blob, at & ~size_t{3}, interesting[(r >> 8) % std::size(interesting)]);
            } else if (r % 4 == 3) { // truncation of what is readable, sometimes of total_size too
                blob.resize(std::max<size_t>(at, 1));
                if ((r >> 8) % 2 != 0 && blob.size() >= 4) {
                    write_u32(blob, 0, static_cast<uint32_t>(blob.size()));
                }
            }
        }
        Parsed parsed = run(blob);
        if (parsed.result.error != Error::none) {
            if (!is_empty(*parsed.info) && failures++ == 0) {
                first_failure = "not reset after error, iteration " + std::to_string(iteration);
            }
            continue;
        }
        ++accepted;
        if (const char* reason = broken_invariant(*parsed.info, parsed.memory.get(), blob.size());
            reason != nullptr && failures++ == 0) {
            first_failure = std::string(reason) + ", iteration " + std::to_string(iteration);
        }
    }
    INFO(first_failure);
    CHECK(failures == 0);
    // The mutations must leave enough blobs valid for the invariant checks to mean something.
    CHECK(accepted > 1000);
    CHECK(accepted < 19000);
}
