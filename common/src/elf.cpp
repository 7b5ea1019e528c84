// A validating reader of ELF64 executables (common/elf.hpp).
#include "common/elf.hpp"

#include "common/bytes.hpp"

namespace elf {

namespace {

using bytes::load_u16;
using bytes::load_u32;
using bytes::load_u64;

// Offsets in the ELF header and a program header (System V gABI, ELF-64).
namespace ehdr {
constexpr size_t size = 64;
constexpr size_t ident_class = 4, ident_data = 5, ident_version = 6;
constexpr size_t type = 16, machine = 18, version = 20, entry = 24, phoff = 32, phentsize = 54, phnum = 56;
} // namespace ehdr
namespace phdr {
constexpr size_t size = 56;
constexpr size_t type = 0, flags = 4, offset = 8, vaddr = 16, filesz = 32, memsz = 40, align = 48;
} // namespace phdr

constexpr uint8_t kClass64 = 2, kData2Lsb = 1, kVersionCurrent = 1;
constexpr uint16_t kMachineX86_64 = 62;
// e_phnum == PN_XNUM puts the real count in section header 0: refused (static executables never
// need that many, and honouring it would mean trusting the section headers too).
constexpr uint16_t kPnXnum = 0xffff;
constexpr uint32_t kPtLoad = 1, kPtInterp = 3, kPtTls = 7, kPtGnuRelro = 0x6474e552;
constexpr uint64_t kPageMask = kPageSize - 1;

// One program header as the file has it.
struct Header {
    uint32_t type, flags;
    uint64_t offset, vaddr, filesz, memsz, align;
};

Header header_at(const uint8_t* ph)
{
    return {load_u32(ph + phdr::type),  load_u32(ph + phdr::flags),  load_u64(ph + phdr::offset),
            load_u64(ph + phdr::vaddr), load_u64(ph + phdr::filesz), load_u64(ph + phdr::memsz),
            load_u64(ph + phdr::align)};
}

Error check_header(const uint8_t* f, size_t size, const Options& options)
{
    if (f == nullptr || size < ehdr::size)
        return Error::too_small;
    if (f[0] != 0x7f || f[1] != 'E' || f[2] != 'L' || f[3] != 'F')
        return Error::bad_magic;
    if (f[ehdr::ident_class] != kClass64)
        return Error::not_64_bit;
    if (f[ehdr::ident_data] != kData2Lsb)
        return Error::not_little_endian;
    if (f[ehdr::ident_version] != kVersionCurrent || load_u32(f + ehdr::version) != kVersionCurrent)
        return Error::bad_version;
    const uint16_t type = load_u16(f + ehdr::type);
    const bool exec = type == static_cast<uint16_t>(Type::exec) && options.accept_exec;
    const bool dyn = type == static_cast<uint16_t>(Type::dyn) && options.accept_dyn;
    if (!exec && !dyn)
        return Error::not_executable;
    if (load_u16(f + ehdr::machine) != kMachineX86_64)
        return Error::wrong_machine;
    if (options.load_bias % kPageSize != 0 || (exec && options.load_bias != 0))
        return Error::bad_load_bias;
    return Error::none;
}

bool inside_file(uint64_t offset, uint64_t length, size_t size)
{
    return offset <= size && length <= size - offset; // two tests: the sum could wrap
}

// [vaddr + bias, vaddr + bias + memsz) inside [0, limit): `moved` gets vaddr + bias.
bool inside_user(uint64_t vaddr, uint64_t memsz, uint64_t bias, uint64_t limit, uint64_t& moved)
{
    if (bias >= limit || vaddr >= limit - bias)
        return false;
    moved = vaddr + bias;
    return memsz <= limit - moved;
}

Error check_segment(const Header& h, size_t size, uint64_t bias, uint64_t limit, Segment& out)
{
    if (h.filesz > h.memsz)
        return Error::segment_file_larger_than_memory;
    if (!inside_file(h.offset, h.filesz, size))
        return Error::segment_past_file;
    uint64_t vaddr = 0;
    if (!inside_user(h.vaddr, h.memsz, bias, limit, vaddr))
        return Error::segment_outside_user;
    // A page is filled from the file's bytes at the same offset within the page.
    if (h.vaddr % kPageSize != h.offset % kPageSize)
        return Error::segment_misaligned;
    out = Segment{vaddr, h.memsz, h.offset, h.filesz, h.align, h.flags};
    return Error::none;
}

Error check_tls(const Header& h, size_t size, uint64_t bias, uint64_t limit, Region& out)
{
    uint64_t vaddr = 0;
    const bool power_of_two = (h.align & (h.align - 1)) == 0;
    if (out.present || h.filesz > h.memsz || !power_of_two || !inside_file(h.offset, h.filesz, size) ||
        !inside_user(h.vaddr, h.memsz, bias, limit, vaddr))
        return Error::bad_tls;
    out = Region{true, vaddr, h.memsz, h.offset, h.filesz, h.align};
    return Error::none;
}

Error check_relro(const Header& h, uint64_t bias, uint64_t limit, Region& out)
{
    uint64_t vaddr = 0;
    if (out.present || !inside_user(h.vaddr, h.memsz, bias, limit, vaddr))
        return Error::bad_relro;
    out = Region{true, vaddr, h.memsz, 0, 0, 0};
    return Error::none;
}

Error check_interpreter(const Header& h, const uint8_t* f, size_t size, const Options& options, Region& out)
{
    if (!options.accept_interpreter)
        return Error::interpreter_refused;
    if (out.present || h.filesz == 0 || !inside_file(h.offset, h.filesz, size) || f[h.offset + h.filesz - 1] != '\0')
        return Error::bad_interpreter;
    out = Region{true, 0, 0, h.offset, h.filesz, 0};
    return Error::none;
}

// Whole pages: each page gets one segment's contents and rights.
bool pages_overlap(const Segment& a, const Segment& b)
{
    return a.page_base() < b.page_limit() && b.page_base() < a.page_limit();
}

// The segments' span and largest alignment, once all are in.
void summarize(Image& out)
{
    out.low = out.segments[0].page_base();
    out.high = out.segments[0].page_limit();
    out.max_align = kPageSize;
    for (size_t i = 0; i < out.segment_count; ++i) {
        const Segment& s = out.segments[i];
        out.low = s.page_base() < out.low ? s.page_base() : out.low;
        out.high = s.page_limit() > out.high ? s.page_limit() : out.high;
        if ((s.align & (s.align - 1)) == 0 && s.align > out.max_align)
            out.max_align = s.align;
    }
}

Result fail(Image& out, Error error, uint32_t index = 0)
{
    out = Image{};
    return {error, index};
}

} // namespace

const char* describe(Error error)
{
    switch (error) {
    case Error::none: return "no error";
    case Error::too_small: return "file is smaller than an ELF header";
    case Error::bad_magic: return "not an ELF file (bad magic)";
    case Error::not_64_bit: return "ELF file is not 64-bit";
    case Error::not_little_endian: return "ELF file is not little-endian";
    case Error::bad_version: return "ELF version is not 1";
    case Error::not_executable: return "ELF file is not an executable of an accepted type";
    case Error::wrong_machine: return "ELF file is not for x86-64";
    case Error::bad_program_headers: return "program header table is malformed";
    case Error::segment_past_file: return "segment's file bytes run past the end of the file";
    case Error::segment_file_larger_than_memory: return "segment's file size exceeds its memory size";
    case Error::segment_outside_user: return "segment lies outside user space";
    case Error::segment_misaligned: return "segment's address and file offset differ modulo the page size";
    case Error::segments_overlap: return "segments share a page";
    case Error::too_many_segments: return "too many loadable segments";
    case Error::no_loadable_segment: return "no loadable segment";
    case Error::entry_outside_segments: return "entry point is not in an executable segment";
    case Error::bad_load_bias: return "load bias is not page-aligned, or given for a fixed-address executable";
    case Error::interpreter_refused: return "ELF file needs an interpreter (dynamically linked)";
    case Error::bad_interpreter: return "interpreter path is malformed";
    case Error::bad_tls: return "TLS segment is malformed";
    case Error::bad_relro: return "RELRO region is malformed";
    }
    return "unknown ELF error";
}

Result parse(const void* file, size_t size, const Options& options, Image& out)
{
    const auto* f = static_cast<const uint8_t*>(file);
    out = Image{};
    if (Error error = check_header(f, size, options); error != Error::none)
        return fail(out, error);

    const bool dyn = load_u16(f + ehdr::type) == static_cast<uint16_t>(Type::dyn);
    const uint64_t bias = dyn ? options.load_bias : 0;
    const uint64_t limit = options.user_limit & ~kPageMask;
    const uint64_t entry = load_u64(f + ehdr::entry);
    const uint64_t table = load_u64(f + ehdr::phoff);
    const uint16_t entry_size = load_u16(f + ehdr::phentsize);
    const uint16_t count = load_u16(f + ehdr::phnum);
    if (count == 0)
        return fail(out, Error::no_loadable_segment); // no table: phoff means nothing
    // count * 56 < 2^22 cannot wrap; inside_file tests the offset first, so nothing can.
    if (entry_size != phdr::size || count == kPnXnum || !inside_file(table, uint64_t{count} * phdr::size, size))
        return fail(out, Error::bad_program_headers);

    size_t loaded = 0;
    for (uint32_t i = 0; i < count; ++i) {
        const Header h = header_at(f + table + size_t{i} * phdr::size);
        Error error = Error::none;
        if (h.type == kPtTls)
            error = check_tls(h, size, bias, limit, out.tls);
        else if (h.type == kPtGnuRelro)
            error = check_relro(h, bias, limit, out.relro);
        else if (h.type == kPtInterp)
            error = check_interpreter(h, f, size, options, out.interpreter);
        if (error != Error::none)
            return fail(out, error, i);
        if (h.type != kPtLoad || h.memsz == 0)
            continue; // no memory: nothing to load, nothing to overlap
        Segment s{};
        if (error = check_segment(h, size, bias, limit, s); error != Error::none)
            return fail(out, error, i);
        if (loaded == kMaxSegments)
            return fail(out, Error::too_many_segments, i);
        for (size_t j = 0; j < loaded; ++j)
            if (pages_overlap(s, out.segments[j]))
                return fail(out, Error::segments_overlap, i);
        out.segments[loaded++] = s;
    }
    if (loaded == 0)
        return fail(out, Error::no_loadable_segment);

    // The entry must lie in an executable segment; those end at or below the limit, so the
    // sum cannot wrap once entry < limit - bias.
    const bool entry_moves = entry < limit - bias;
    const uint64_t moved_entry = entry_moves ? entry + bias : 0;
    bool entry_ok = false;
    for (size_t j = 0; j < loaded && entry_moves; ++j) {
        const Segment& s = out.segments[j];
        entry_ok = entry_ok || (s.executable() && moved_entry >= s.vaddr && moved_entry - s.vaddr < s.memsz);
    }
    if (!entry_ok)
        return fail(out, Error::entry_outside_segments);

    out.type = dyn ? Type::dyn : Type::exec;
    out.bias = bias;
    out.entry = moved_entry;
    out.segment_count = loaded;
    out.file = f;
    out.file_size = size;
    summarize(out);
    return {Error::none, 0};
}

} // namespace elf
