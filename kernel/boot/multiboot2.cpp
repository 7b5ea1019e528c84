// Multiboot2 boot information: a defensive parser.
#include "boot/multiboot2.hpp"

#include "common/bytes.hpp"

namespace mb2 {

namespace {

constexpr size_t kInfoHeaderSize = 8; // u32 total_size, u32 reserved
constexpr size_t kTagHeaderSize = 8;  // u32 type, u32 size
constexpr size_t kTagAlign = 8;
constexpr size_t kMinTotalSize = 16;       // info header + end tag
constexpr size_t kMmapHeaderSize = 16;     // tag header, u32 entry_size, u32 entry_version
constexpr uint32_t kMmapMinEntrySize = 24; // u64 base, u64 length, u32 type, u32 reserved
constexpr size_t kModuleHeaderSize = 16;   // tag header, u32 mod_start, u32 mod_end
constexpr size_t kFramebufferMinSize = 30; // up to and including framebuffer_type
// GRUB's layout (u32 num, entsize, shndx), not the u16 fields of older spec text.
constexpr size_t kElfHeaderSize = 20;
constexpr uint32_t kElf64SectionHeaderSize = 64;
constexpr size_t kRsdpV1Size = 20;
constexpr size_t kRsdpV2Size = 36;

using bytes::load_u32;
using bytes::load_u64;

size_t align_up(size_t value, size_t align) { return (value + align - 1) & ~(align - 1); }

// The NUL-terminated string at tag[from], or nullptr if no NUL comes before tag[size].
const char* tag_string(const uint8_t* tag, size_t from, size_t size)
{
    for (size_t i = from; i < size; ++i) {
        if (tag[i] == 0) {
            return reinterpret_cast<const char*>(tag + from);
        }
    }
    return nullptr;
}

uint32_t normalize_region_type(uint32_t raw)
{
    switch (static_cast<RegionType>(raw)) {
    case RegionType::available:
    case RegionType::reserved:
    case RegionType::acpi_reclaimable:
    case RegionType::acpi_nvs:
    case RegionType::bad: return raw;
    }
    return static_cast<uint32_t>(RegionType::reserved);
}

bool is_available(const MemoryRegion& region) { return region.type == static_cast<uint32_t>(RegionType::available); }

void reset(BootInfo& out)
{
    out.cmdline = "";
    out.bootloader_name = "";
    out.region_count = 0;
    out.module_count = 0;
    out.framebuffer = Framebuffer{};
    out.elf_sections = ElfSections{};
    out.acpi = Acpi{};
    out.total_size = 0;
}

// State of one parse that does not belong in BootInfo.
struct Parser {
    Parser(const uint8_t* info, BootInfo& into) : base(info), out(into) {}

    const uint8_t* base;
    BootInfo& out;
    uint32_t seen = 0; // bit per single-instance tag type already met
    uint32_t mmap_offset = 0;
    uint32_t module_offsets[kMaxModules] = {}; // for error reports after the walk

    // Tags of which a second copy is an error: the kernel consumes exactly one of each.
    static bool single_instance(TagType type)
    {
        switch (type) {
        case TagType::cmdline:
        case TagType::bootloader_name:
        case TagType::mmap:
        case TagType::framebuffer:
        case TagType::elf_sections:
        case TagType::acpi_old:
        case TagType::acpi_new: return true;
        default: return false;
        }
    }

    bool seen_type(TagType type) const { return (seen >> static_cast<uint32_t>(type) & 1u) != 0; }

    Error handle(TagType type, const uint8_t* tag, uint32_t offset, size_t size)
    {
        if (single_instance(type)) {
            if (seen_type(type)) {
                return Error::duplicate_tag;
            }
            seen |= 1u << static_cast<uint32_t>(type);
        }
        switch (type) {
        case TagType::cmdline: return parse_string(tag, size, out.cmdline);
        case TagType::bootloader_name: return parse_string(tag, size, out.bootloader_name);
        case TagType::module: return parse_module(tag, offset, size);
        case TagType::mmap: mmap_offset = offset; return parse_mmap(tag, size);
        case TagType::framebuffer: return parse_framebuffer(tag, size);
        case TagType::elf_sections: return parse_elf_sections(tag, size);
        case TagType::acpi_old:
        case TagType::acpi_new: return parse_acpi(type, tag, size);
        default: return Error::none; // unknown or unused: skipped
        }
    }

    static Error parse_string(const uint8_t* tag, size_t size, const char*& into)
    {
        const char* text = tag_string(tag, kTagHeaderSize, size);
        if (text == nullptr) {
            return Error::string_unterminated;
        }
        into = text;
        return Error::none;
    }

    Error parse_module(const uint8_t* tag, uint32_t offset, size_t size)
    {
        if (size < kModuleHeaderSize) {
            return Error::tag_too_small;
        }
        if (out.module_count == kMaxModules) {
            return Error::too_many_modules;
        }
        uint32_t start = load_u32(tag + 8);
        uint32_t end = load_u32(tag + 12);
        const char* text = tag_string(tag, kModuleHeaderSize, size);
        if (text == nullptr) {
            return Error::string_unterminated;
        }
        if (start >= end) {
            return Error::module_empty;
        }
        // Whether it lies in RAM is checked once the memory map is known: it may come later.
        module_offsets[out.module_count] = offset;
        out.modules[out.module_count++] = Module{start, end, text};
        return Error::none;
    }

    Error parse_mmap(const uint8_t* tag, size_t size)
    {
        if (size < kMmapHeaderSize) {
            return Error::tag_too_small;
        }
        uint32_t entry_size = load_u32(tag + 8);
        uint32_t version = load_u32(tag + 12);
        if (entry_size < kMmapMinEntrySize || entry_size % 8 != 0) {
            return Error::mmap_entry_size_bad;
        }
        if (version != 0) {
            return Error::mmap_version_bad;
        }
        size_t bytes = size - kMmapHeaderSize;
        if (bytes % entry_size != 0) {
            return Error::mmap_entry_size_bad;
        }
        size_t count = bytes / entry_size;
        if (count > kMaxRegions) {
            return Error::too_many_regions;
        }
        for (size_t i = 0; i < count; ++i) {
            const uint8_t* entry = tag + kMmapHeaderSize + i * entry_size;
            uint64_t region_base = load_u64(entry);
            uint64_t length = load_u64(entry + 8);
            if (length == 0) {
                return Error::region_zero_size;
            }
            // Also rejects an end of exactly 2^64: no exclusive end would represent it.
            if (length > UINT64_MAX - region_base) {
                return Error::region_wraps;
            }
            out.regions[i] = MemoryRegion{region_base, length, normalize_region_type(load_u32(entry + 16))};
        }
        out.region_count = count;
        return Error::none;
    }

    Error parse_framebuffer(const uint8_t* tag, size_t size)
    {
        if (size < kFramebufferMinSize) {
            return Error::tag_too_small;
        }
        out.framebuffer = Framebuffer{
            true, load_u64(tag + 8), load_u32(tag + 16), load_u32(tag + 20), load_u32(tag + 24), tag[28], tag[29]};
        return Error::none;
    }

    Error parse_elf_sections(const uint8_t* tag, size_t size)
    {
        if (size < kElfHeaderSize) {
            return Error::tag_too_small;
        }
        uint32_t count = load_u32(tag + 8);
        uint32_t entry_size = load_u32(tag + 12);
        uint32_t string_index = load_u32(tag + 16);
        // 64-bit product: count * entry_size may not fit in 32 bits.
        uint64_t headers_size = static_cast<uint64_t>(count) * entry_size;
        if (entry_size != kElf64SectionHeaderSize || headers_size > size - kElfHeaderSize) {
            return Error::elf_sections_bad;
        }
        if (count != 0 && string_index >= count) {
            return Error::elf_sections_bad;
        }
        out.elf_sections =
            ElfSections{true, count, entry_size, string_index, tag + kElfHeaderSize, static_cast<size_t>(headers_size)};
        return Error::none;
    }

    Error parse_acpi(TagType type, const uint8_t* tag, size_t size)
    {
        bool is_new = type == TagType::acpi_new;
        size_t rsdp_size = size - kTagHeaderSize;
        if (rsdp_size < (is_new ? kRsdpV2Size : kRsdpV1Size)) {
            return Error::tag_too_small;
        }
        // GRUB passes both tags when it can; the new one (XSDT) is preferred in any order.
        if (!is_new && out.acpi.present) {
            return Error::none;
        }
        out.acpi = Acpi{true, static_cast<uint8_t>(is_new ? 2 : 1), tag + kTagHeaderSize, rsdp_size};
        return Error::none;
    }

    void sort_regions()
    {
        MemoryRegion* regions = out.regions;
        for (size_t i = 1; i < out.region_count; ++i) {
            MemoryRegion moving = regions[i];
            size_t j = i;
            for (; j > 0 && regions[j - 1].base > moving.base; --j) {
                regions[j] = regions[j - 1];
            }
            regions[j] = moving;
        }
    }

    // Sorted and non-empty, a region can only overlap its successor: a region overlapping
    // a later one would overlap every region in between too.
    bool regions_overlap() const
    {
        for (size_t i = 1; i < out.region_count; ++i) {
            const MemoryRegion& previous = out.regions[i - 1];
            if (out.regions[i].base - previous.base < previous.length) {
                return true;
            }
        }
        return false;
    }

    // True when [start, end) is covered by available regions, adjacent ones joined.
    bool in_ram(uint64_t start, uint64_t end) const
    {
        uint64_t covered = start;
        for (size_t i = 0; i < out.region_count && covered < end; ++i) {
            const MemoryRegion& region = out.regions[i];
            uint64_t region_end = region.base + region.length;
            if (region_end <= covered) {
                continue;
            }
            if (region.base > covered || !is_available(region)) {
                return false; // a gap or a non-RAM region before the module ends
            }
            covered = region_end;
        }
        return covered >= end;
    }

    Result finish()
    {
        if (out.region_count == 0) {
            return {Error::no_memory_map, mmap_offset};
        }
        sort_regions();
        if (regions_overlap()) {
            return {Error::regions_overlap, mmap_offset};
        }
        for (size_t i = 0; i < out.module_count; ++i) {
            if (!in_ram(out.modules[i].start, out.modules[i].end)) {
                return {Error::module_outside_ram, module_offsets[i]};
            }
        }
        return {Error::none, 0};
    }

    Result walk(uint32_t total_size)
    {
        size_t offset = kInfoHeaderSize;
        // Each tag takes at least 8 bytes, so the walk ends.
        while (offset + kTagHeaderSize <= total_size) {
            const uint8_t* tag = base + offset;
            uint32_t tag_offset = static_cast<uint32_t>(offset);
            uint32_t type = load_u32(tag);
            uint32_t size = load_u32(tag + 4);
            if (size < kTagHeaderSize) {
                return {Error::tag_too_small, tag_offset};
            }
            if (size > total_size - offset) {
                return {Error::tag_past_end, tag_offset};
            }
            if (static_cast<TagType>(type) == TagType::end) {
                return finish();
            }
            Error error = handle(static_cast<TagType>(type), tag, tag_offset, size);
            if (error != Error::none) {
                return {error, tag_offset};
            }
            offset += align_up(size, kTagAlign);
        }
        return {Error::missing_end_tag, 0};
    }
};

} // namespace

uint64_t BootInfo::available_bytes() const
{
    uint64_t sum = 0;
    for (size_t i = 0; i < region_count; ++i) {
        if (is_available(regions[i])) {
            sum += regions[i].length;
        }
    }
    return sum;
}

const char* describe(Error error)
{
    switch (error) {
    case Error::none: return "no error";
    case Error::null_info: return "boot information pointer is null";
    case Error::misaligned_info: return "boot information is not 8-byte aligned";
    case Error::total_size_too_small: return "boot information total size is too small";
    case Error::total_size_too_large: return "boot information is larger than the readable memory";
    case Error::tag_misaligned: return "boot information total size is not a multiple of 8";
    case Error::tag_too_small: return "tag is too small for its fields";
    case Error::tag_past_end: return "tag runs past the end of the boot information";
    case Error::missing_end_tag: return "tag list has no end tag";
    case Error::string_unterminated: return "string is not terminated inside its tag";
    case Error::mmap_entry_size_bad: return "memory map entry size is bad";
    case Error::mmap_version_bad: return "memory map entry version is not 0";
    case Error::too_many_regions: return "memory map has too many regions";
    case Error::region_zero_size: return "memory map region has size zero";
    case Error::region_wraps: return "memory map region wraps around the address space";
    case Error::regions_overlap: return "memory map regions overlap";
    case Error::too_many_modules: return "too many boot modules";
    case Error::module_empty: return "boot module is empty (start >= end)";
    case Error::module_outside_ram: return "boot module lies outside available RAM";
    case Error::no_memory_map: return "no memory map";
    case Error::duplicate_tag: return "tag that may appear once appears twice";
    case Error::elf_sections_bad: return "ELF section headers tag is malformed";
    }
    return "unknown error";
}

Result parse(const void* info, size_t available, BootInfo& out)
{
    reset(out);
    if (info == nullptr) {
        return {Error::null_info, 0};
    }
    if (reinterpret_cast<uintptr_t>(info) % kTagAlign != 0) {
        return {Error::misaligned_info, 0};
    }
    // Not even the header is readable: the info claims more than we may read.
    if (available < kInfoHeaderSize) {
        return {Error::total_size_too_large, 0};
    }
    const uint8_t* base = static_cast<const uint8_t*>(info);
    uint32_t total_size = load_u32(base);
    if (total_size < kMinTotalSize) {
        return {Error::total_size_too_small, 0};
    }
    if (total_size > available) {
        return {Error::total_size_too_large, 0};
    }
    if (total_size % kTagAlign != 0) {
        return {Error::tag_misaligned, 0};
    }

    Parser parser(base, out);
    Result result = parser.walk(total_size);
    if (result.error != Error::none) {
        reset(out);
        return result;
    }
    out.total_size = total_size;
    return result;
}

} // namespace mb2
