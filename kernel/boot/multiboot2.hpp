// Multiboot2 boot information (what GRUB leaves in EBX): a defensive parser.
//
// Nothing in the structure is trusted. Every length is checked against `total_size` and
// `available` before a byte is read, every field is loaded byte-wise (a hostile blob may
// put a u64 anywhere), strings must end inside their tag, and the memory map comes out
// sorted, without zero-sized, wrapping or overlapping regions. Pointers in BootInfo point
// into the info itself, so it must stay mapped (and unmodified) while they are used.
#pragma once

#include <stddef.h>
#include <stdint.h>

namespace mb2 {

constexpr uint32_t kBootloaderMagic = 0x36d76289;
constexpr size_t kMaxRegions = 128;
constexpr size_t kMaxModules = 32;

// Tag types of the boot information (Multiboot2 specification, section 3.6).
enum class TagType : uint32_t {
    end = 0,
    cmdline = 1,
    bootloader_name = 2,
    module = 3,
    basic_meminfo = 4,
    bootdev = 5,
    mmap = 6,
    vbe = 7,
    framebuffer = 8,
    elf_sections = 9,
    apm = 10,
    efi32 = 11,
    efi64 = 12,
    smbios = 13,
    acpi_old = 14,
    acpi_new = 15,
    network = 16,
    efi_mmap = 17,
    efi_boot_services = 18,
    efi32_image_handle = 19,
    efi64_image_handle = 20,
    load_base_addr = 21,
};

// The parser stores only these values in MemoryRegion::type: any other value a loader
// reports is stored as `reserved`, so consumers may switch on it exhaustively.
enum class RegionType : uint32_t { available = 1, reserved = 2, acpi_reclaimable = 3, acpi_nvs = 4, bad = 5 };

struct MemoryRegion {
    uint64_t base;
    uint64_t length; // > 0, and base + length does not wrap
    uint32_t type;   // a RegionType value
};

struct Module {
    uint64_t start; // [start, end) physical, inside available RAM
    uint64_t end;
    const char* cmdline; // NUL-terminated, points into the info
};

struct Framebuffer {
    bool present;
    uint64_t addr;
    uint32_t pitch, width, height;
    uint8_t bpp, type; // type: 0 indexed, 1 direct RGB, 2 EGA text; not validated further
};

// Tag 9: the kernel's ELF section headers, kept for its symbol table. `headers` is only
// 4-byte aligned inside the tag (it follows three u32), so read it byte-wise.
struct ElfSections {
    bool present;
    uint32_t count, entry_size, string_index; // entry_size is 64; string_index < count
    const uint8_t* headers;
    size_t headers_size; // count * entry_size, all inside the tag
};

// Tags 14/15: a copy of the RSDP. When both are present the new one (version 2) wins.
struct Acpi {
    bool present;
    uint8_t version; // 1: old tag (14), at least 20 bytes; 2: new tag (15), at least 36 bytes
    const uint8_t* rsdp;
    size_t rsdp_size;
};

struct BootInfo {
    const char* cmdline;               // "" when absent
    const char* bootloader_name;       // "" when absent
    MemoryRegion regions[kMaxRegions]; // sorted by base, non-overlapping
    size_t region_count;
    Module modules[kMaxModules]; // in the order the loader listed them
    size_t module_count;
    Framebuffer framebuffer;
    ElfSections elf_sections;
    Acpi acpi;
    uint32_t total_size;

    uint64_t available_bytes() const; // sum of the available regions
};

enum class Error : uint8_t {
    none,
    null_info,
    misaligned_info,
    total_size_too_small,
    total_size_too_large, // past `available`
    tag_misaligned,       // total_size is not a multiple of 8, so tags cannot all be aligned
    tag_too_small,        // size < 8, or too small for the tag's fixed fields
    tag_past_end,
    missing_end_tag,
    string_unterminated,
    mmap_entry_size_bad, // < 24, not a multiple of 8, or entries do not fill the tag
    mmap_version_bad,
    too_many_regions,
    region_zero_size,
    region_wraps,
    regions_overlap,
    too_many_modules,
    module_empty, // start >= end
    module_outside_ram,
    no_memory_map, // no mmap tag, or one without entries
    duplicate_tag, // a second cmdline, loader name, mmap, framebuffer, ELF or ACPI tag
    elf_sections_bad,
};

// A short human sentence, e.g. "memory map regions overlap".
const char* describe(Error error);

struct Result {
    Error error;
    uint32_t offset; // byte offset in the info of the offending tag, 0 if n/a
};

// `info` points at the structure (8-byte aligned), `available` is how many bytes may be
// read there. On any error `out` is left empty (counts 0, strings "", nothing present),
// so a caller that ignores the error still sees no half-parsed data.
[[nodiscard]] Result parse(const void* info, size_t available, BootInfo& out);

} // namespace mb2
