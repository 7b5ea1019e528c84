// A validating reader of ELF64 executables, for user-side loaders (the VMM, the shim).
//
// The checks are the kernel's for boot modules, so an image this accepts the kernel would load
// as well: a little-endian x86-64 ET_EXEC, version 1, its program header table inside the
// file, and for each PT_LOAD with p_memsz > 0: file bytes inside the file, p_filesz <=
// p_memsz, [p_vaddr, p_vaddr + p_memsz) inside user space without wrapping, p_vaddr and
// p_offset equal modulo the page size, no page shared with another PT_LOAD; at least one
// PT_LOAD, and the entry point inside an executable one. Fields are read byte-wise (the file
// may sit at any address) and every sum is checked for overflow.
//
// Portable: the host unit tests build this too.
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "l4/abi/address_space.hpp"

namespace l4::elf {

// First non-canonical address of x86-64: user space is [0, kUserEnd).
using l4::abi::kUserEnd;
constexpr uint64_t kPageSize = 4096;
constexpr size_t kMaxSegments = 16;

enum class Error : uint8_t {
    none,
    too_small,                        // shorter than the 64-byte ELF header (or null)
    bad_magic,
    not_64_bit,
    not_little_endian,
    bad_version,                      // EI_VERSION or e_version is not 1
    not_executable,                   // e_type is not ET_EXEC (PIE and shared objects are ET_DYN)
    wrong_machine,                    // e_machine is not EM_X86_64
    bad_program_headers,              // e_phentsize != 56, table outside the file, or PN_XNUM
    segment_past_file,                // p_offset + p_filesz beyond the end of the file
    segment_file_larger_than_memory,  // p_filesz > p_memsz
    segment_outside_user,             // p_vaddr + p_memsz wraps or passes kUserEnd
    segment_misaligned,               // p_vaddr and p_offset differ modulo kPageSize
    segments_overlap,                 // two PT_LOAD touch the same page
    too_many_segments,                // more than kMaxSegments PT_LOAD with p_memsz > 0
    no_loadable_segment,
    entry_outside_segments,           // e_entry is not inside an executable PT_LOAD
};

// A short phrase, e.g. "segments share a page".
const char* describe(Error error);

// Program header flags.
constexpr uint32_t kFlagExecute = 1, kFlagWrite = 2, kFlagRead = 4;

// One PT_LOAD: memory [vaddr, vaddr + memsz), its first filesz bytes from the file at offset,
// the rest zero.
struct Segment {
    uint64_t vaddr, memsz, offset, filesz;
    uint32_t flags;   // kFlag* bits

    bool readable() const { return (flags & kFlagRead) != 0; }
    bool writable() const { return (flags & kFlagWrite) != 0; }
    bool executable() const { return (flags & kFlagExecute) != 0; }
    // The whole pages it touches, [page_base(), page_limit()): no other segment touches them.
    uint64_t page_base() const { return vaddr & ~(kPageSize - 1); }
    uint64_t page_limit() const { return (vaddr + memsz + kPageSize - 1) & ~(kPageSize - 1); }
};

struct Executable {
    uint64_t entry;
    Segment segments[kMaxSegments];   // in program-header order
    size_t segment_count;             // 1..kMaxSegments after a successful parse
    const uint8_t* file;              // what was parsed
    size_t file_size;

    // The segment's bytes in the file (filesz of them; valid after a successful parse).
    const uint8_t* file_bytes(const Segment& segment) const { return file + segment.offset; }
};

struct Result {
    Error error;
    uint32_t index;   // the offending program header, 0 where none is to blame
};

// On error `out` is left empty (no segments, entry 0). Program headers other than PT_LOAD,
// and PT_LOAD with p_memsz == 0, are skipped.
[[nodiscard]] Result parse(const void* file, size_t size, Executable& out);

} // namespace l4::elf
