// A validating reader of ELF64 x86-64 executables: the one every loader uses (the kernel for
// its boot modules, libl4's task loader, the VMM and the Linux guest).
//
// Nothing in the file is trusted. Fields are read byte-wise (the file may sit at any address),
// every sum is checked for overflow, and nothing outside [file, file + size) is ever read. A
// successful parse promises (the invariants the host fuzz test checks):
//   - the type is one the caller accepts: ET_EXEC at its own addresses (bias 0), or ET_DYN
//     (static-PIE) moved by the caller's page-aligned load bias; every address below is biased;
//   - 1..kMaxSegments segments, the PT_LOAD with p_memsz > 0 in program-header order, each
//     with filesz <= memsz, its file bytes [offset, offset + filesz) inside the file, its
//     memory [vaddr, vaddr + memsz) inside [0, user_limit) without wrapping, and vaddr and
//     offset equal modulo the page size (neither need be page-aligned: pages are filled by
//     copying, as Linux maps them at page granularity); p_align is reported, not enforced;
//   - no page is touched by two segments, so each page gets one segment's bytes and rights;
//   - the entry point lies inside an executable segment;
//   - PT_TLS (at most one) has its initial image inside the file and its memory inside user
//     space, filesz <= memsz and a power-of-two alignment (0 and 1 mean none);
//   - PT_GNU_RELRO (at most one) lies inside user space;
//   - PT_INTERP (a dynamically linked program) is refused unless the caller accepts it; then
//     its path lies inside the file and ends in NUL.
// Other program headers (PT_NOTE, PT_GNU_STACK, PT_DYNAMIC, ...) are skipped.
//
// Portable and dependency-free but for the ABI: kernel, user programs and host tests build it.
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "l4/abi/address_space.hpp"

namespace elf {

// First non-canonical address of x86-64: user space is [0, kUserEnd).
using l4::abi::kUserEnd;
constexpr uint64_t kPageSize = l4::abi::kPageSize;
constexpr size_t kMaxSegments = 16;

enum class Error : uint8_t {
    none,
    too_small, // shorter than the 64-byte ELF header (or null)
    bad_magic,
    not_64_bit,
    not_little_endian,
    bad_version,                     // EI_VERSION or e_version is not 1
    not_executable,                  // e_type is not one the caller accepts (ET_EXEC, ET_DYN)
    wrong_machine,                   // e_machine is not EM_X86_64
    bad_program_headers,             // e_phentsize != 56, table outside the file, or PN_XNUM
    segment_past_file,               // p_offset + p_filesz beyond the end of the file
    segment_file_larger_than_memory, // p_filesz > p_memsz
    segment_outside_user,            // p_vaddr + bias + p_memsz wraps or passes the user limit
    segment_misaligned,              // p_vaddr and p_offset differ modulo kPageSize
    segments_overlap,                // two PT_LOAD touch the same page
    too_many_segments,               // more than kMaxSegments PT_LOAD with p_memsz > 0
    no_loadable_segment,
    entry_outside_segments, // e_entry (+ bias) is not inside an executable PT_LOAD
    bad_load_bias,          // not page-aligned, or not 0 for ET_EXEC
    interpreter_refused,    // PT_INTERP and the caller does not accept it
    bad_interpreter,        // PT_INTERP twice, outside the file, or not NUL-terminated
    bad_tls,                // PT_TLS twice, outside the file or user space, or a bad alignment
    bad_relro,              // PT_GNU_RELRO twice, or outside user space
};
constexpr Error kLastError = Error::bad_relro;

// A short phrase, e.g. "segments share a page".
const char* describe(Error error);

// e_type values.
enum class Type : uint16_t { exec = 2, dyn = 3 };

// What the caller accepts, and where an ET_DYN image goes.
struct Options {
    bool accept_exec = true;         // ET_EXEC, loaded at its own addresses
    bool accept_dyn = false;         // ET_DYN (static-PIE), loaded at load_bias
    bool accept_interpreter = false; // PT_INTERP reported in Image::interpreter, not refused
    uint64_t load_bias = 0;          // page-aligned; added to every address of an ET_DYN image
    uint64_t user_limit = kUserEnd;  // all memory lies in [0, user_limit) (rounded down to a page)
};

// Program header flags.
constexpr uint32_t kFlagExecute = 1, kFlagWrite = 2, kFlagRead = 4;

// One PT_LOAD: memory [vaddr, vaddr + memsz), its first filesz bytes from the file at offset,
// the rest zero.
struct Segment {
    uint64_t vaddr, memsz, offset, filesz;
    uint64_t align; // p_align, as the file says
    uint32_t flags; // kFlag* bits

    bool readable() const { return (flags & kFlagRead) != 0; }
    bool writable() const { return (flags & kFlagWrite) != 0; }
    bool executable() const { return (flags & kFlagExecute) != 0; }
    // The whole pages it touches, [page_base(), page_limit()): no other segment touches them.
    // Bytes of these pages outside [vaddr, vaddr + filesz) are zero, not copied from the file.
    uint64_t page_base() const { return vaddr & ~(kPageSize - 1); }
    uint64_t page_limit() const { return (vaddr + memsz + kPageSize - 1) & ~(kPageSize - 1); }
};

// A region a program header describes besides the PT_LOAD (present: its header was there).
struct Region {
    bool present;
    uint64_t vaddr, memsz;   // PT_TLS, PT_GNU_RELRO: in memory (biased)
    uint64_t offset, filesz; // PT_TLS: the initial image; PT_INTERP: the path, with its NUL
    uint64_t align;          // PT_TLS: a power of two (0 or 1: none)
};

struct Image {
    Type type;
    uint64_t bias; // added to the file's addresses (0 for ET_EXEC)
    uint64_t entry;
    Segment segments[kMaxSegments]; // in program-header order (not sorted)
    size_t segment_count;           // 1..kMaxSegments after a successful parse
    uint64_t low, high;             // [low, high): the pages of all segments, lowest to highest
    uint64_t max_align;             // the largest power-of-two p_align of a segment (at least a page)
    Region tls;                     // PT_TLS
    Region relro;                   // PT_GNU_RELRO: to make read-only once relocated
    Region interpreter;             // PT_INTERP (only with Options::accept_interpreter)
    const uint8_t* file;            // what was parsed
    size_t file_size;

    // The segment's bytes in the file (filesz of them; valid after a successful parse).
    const uint8_t* file_bytes(const Segment& segment) const { return file + segment.offset; }
};

struct Result {
    Error error;
    uint32_t index; // the offending program header, 0 where none is to blame
};

// Parses the `size` bytes at `file`. On error `out` is left empty (no segments, entry 0).
// For an ET_DYN image whose bias is yet to be chosen, parse with load_bias 0 to learn its span
// ([low, high)) and max_align, then again with the bias.
[[nodiscard]] Result parse(const void* file, size_t size, const Options& options, Image& out);

} // namespace elf
