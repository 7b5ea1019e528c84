// ELF64 boot modules (sigma0, the root task): a validating reader of their program headers.
//
// A module is a static, non-PIE x86-64 executable (ET_EXEC). Nothing in it is trusted:
// every field is loaded byte-wise (a module may sit at any address), every sum is checked
// for overflow, and a parsed Image promises what the loader relies on: each segment's file
// bytes lie inside the module, its memory lies inside user space, no two segments share a
// page, and the entry point is in an executable segment.
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "l4/abi/address_space.hpp"

namespace elf {

// First non-canonical address: user space is [0, kUserEnd).
using l4::abi::kUserEnd;
constexpr uint64_t kPageSize = 4096;

enum class ImageError : uint8_t {
    none,
    too_small,                        // shorter than the 64-byte ELF header (or null)
    bad_magic,
    not_64_bit,
    not_little_endian,
    bad_version,                      // EI_VERSION or e_version is not 1
    not_executable,                   // e_type != ET_EXEC (PIE and shared objects are ET_DYN)
    wrong_machine,                    // e_machine != EM_X86_64
    bad_program_headers,              // e_phentsize != 56, table outside the file, or PN_XNUM
    segment_past_file,                // p_offset + p_filesz beyond the module
    segment_file_larger_than_memory,  // p_filesz > p_memsz
    segment_outside_user,             // p_vaddr + p_memsz wraps or passes kUserEnd
    segments_overlap,                 // page-rounded ranges of two PT_LOAD overlap
    segment_misaligned,               // p_vaddr % 4096 != p_offset % 4096
    no_loadable_segment,
    entry_outside_segments,           // e_entry not inside an executable PT_LOAD
    too_many_segments,                // more than kMaxSegments PT_LOAD with p_memsz > 0
};

// A short human sentence, e.g. "program segments overlap".
const char* describe(ImageError error);

// One PT_LOAD: map [vaddr, vaddr + memsz), the first filesz bytes from module[offset...],
// the rest zero.
struct Segment {
    uint64_t vaddr, memsz, offset, filesz;
    bool readable, writable, executable;

    // The whole pages the segment touches: [page_base(), page_limit()). No other segment
    // touches them, so the loader may give each page this segment's rights. Bytes of these
    // pages outside [vaddr, vaddr + filesz) must be zero, not copied from the module.
    uint64_t page_base() const { return vaddr & ~(kPageSize - 1); }
    uint64_t page_limit() const { return (vaddr + memsz + kPageSize - 1) & ~(kPageSize - 1); }
};

constexpr size_t kMaxSegments = 16;

struct Image {
    uint64_t entry;
    Segment segments[kMaxSegments];   // in program-header order (not sorted)
    size_t segment_count;             // 1..kMaxSegments after a successful parse
};

struct ImageResult {
    ImageError error;
    uint32_t index;   // the offending program header, 0 if n/a
};

// `data` holds the whole module, `size` bytes. On error `out` is left empty (entry 0, no
// segments). Segments with p_memsz == 0 and program headers other than PT_LOAD (PT_NOTE,
// PT_GNU_STACK, PT_TLS, ...) are skipped.
[[nodiscard]] ImageResult parse_image(const uint8_t* data, size_t size, Image& out);

} // namespace elf
