// A validating reader of ELF64 executables (l4/elf.hpp).
#include "l4/elf.hpp"

namespace l4::elf {

namespace {

// Offsets in the ELF header and a program header (System V gABI, ELF-64).
namespace ehdr {
constexpr size_t size = 64;
constexpr size_t ident_class = 4, ident_data = 5, ident_version = 6;
constexpr size_t type = 16, machine = 18, version = 20, entry = 24, phoff = 32, phentsize = 54, phnum = 56;
} // namespace ehdr
namespace phdr {
constexpr size_t size = 56;
constexpr size_t type = 0, flags = 4, offset = 8, vaddr = 16, filesz = 32, memsz = 40;
} // namespace phdr

constexpr uint8_t kClass64 = 2, kData2Lsb = 1, kVersionCurrent = 1;
constexpr uint16_t kTypeExec = 2, kMachineX86_64 = 62;
constexpr uint16_t kPnXnum = 0xffff;   // the real count would be in section header 0: refused
constexpr uint32_t kPtLoad = 1;

// A little-endian number of N bytes at p (any alignment).
template <size_t N>
uint64_t load(const uint8_t* p)
{
    uint64_t value = 0;
    for (size_t i = N; i-- > 0;)
        value = value << 8 | p[i];
    return value;
}

Error check_header(const uint8_t* f, size_t size)
{
    if (f == nullptr || size < ehdr::size)
        return Error::too_small;
    if (f[0] != 0x7f || f[1] != 'E' || f[2] != 'L' || f[3] != 'F')
        return Error::bad_magic;
    if (f[ehdr::ident_class] != kClass64)
        return Error::not_64_bit;
    if (f[ehdr::ident_data] != kData2Lsb)
        return Error::not_little_endian;
    if (f[ehdr::ident_version] != kVersionCurrent || load<4>(f + ehdr::version) != kVersionCurrent)
        return Error::bad_version;
    if (load<2>(f + ehdr::type) != kTypeExec)
        return Error::not_executable;
    if (load<2>(f + ehdr::machine) != kMachineX86_64)
        return Error::wrong_machine;
    return Error::none;
}

Error check_segment(const Segment& s, size_t size)
{
    if (s.filesz > s.memsz)
        return Error::segment_file_larger_than_memory;
    if (s.offset > size || s.filesz > size - s.offset)   // two tests: the sum could wrap
        return Error::segment_past_file;
    if (s.vaddr >= kUserEnd || s.memsz > kUserEnd - s.vaddr)
        return Error::segment_outside_user;
    if (s.vaddr % kPageSize != s.offset % kPageSize)
        return Error::segment_misaligned;
    return Error::none;
}

Result fail(Executable& out, Error error, uint32_t index = 0)
{
    out = Executable{};
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
    case Error::not_executable: return "ELF file is not a static executable (ET_EXEC)";
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
    }
    return "unknown ELF error";
}

Result parse(const void* file, size_t size, Executable& out)
{
    const auto* f = static_cast<const uint8_t*>(file);
    out = Executable{};
    if (Error error = check_header(f, size); error != Error::none)
        return fail(out, error);

    const uint64_t entry = load<8>(f + ehdr::entry);
    const uint64_t table = load<8>(f + ehdr::phoff);
    const auto entry_size = load<2>(f + ehdr::phentsize);
    const auto count = static_cast<uint16_t>(load<2>(f + ehdr::phnum));
    if (count == 0)
        return fail(out, Error::no_loadable_segment);   // no table: phoff means nothing
    if (entry_size != phdr::size || count == kPnXnum || table > size || uint64_t{count} * phdr::size > size - table)
        return fail(out, Error::bad_program_headers);

    size_t loaded = 0;
    for (uint32_t i = 0; i < count; ++i) {
        const uint8_t* ph = f + table + size_t{i} * phdr::size;
        if (load<4>(ph + phdr::type) != kPtLoad)
            continue;
        const Segment s{
            .vaddr = load<8>(ph + phdr::vaddr),
            .memsz = load<8>(ph + phdr::memsz),
            .offset = load<8>(ph + phdr::offset),
            .filesz = load<8>(ph + phdr::filesz),
            .flags = static_cast<uint32_t>(load<4>(ph + phdr::flags)),
        };
        if (s.memsz == 0)
            continue;   // no memory: nothing to load, nothing to overlap
        if (Error error = check_segment(s, size); error != Error::none)
            return fail(out, error, i);
        if (loaded == kMaxSegments)
            return fail(out, Error::too_many_segments, i);
        // Whole pages: each page gets one segment's contents and rights.
        for (size_t j = 0; j < loaded; ++j) {
            const Segment& other = out.segments[j];
            if (s.page_base() < other.page_limit() && other.page_base() < s.page_limit())
                return fail(out, Error::segments_overlap, i);
        }
        out.segments[loaded++] = s;
    }
    if (loaded == 0)
        return fail(out, Error::no_loadable_segment);

    bool entry_ok = false;
    for (size_t j = 0; j < loaded; ++j) {
        const Segment& s = out.segments[j];
        // vaddr + memsz <= kUserEnd: no wrap.
        entry_ok = entry_ok || (s.executable() && entry >= s.vaddr && entry - s.vaddr < s.memsz);
    }
    if (!entry_ok)
        return fail(out, Error::entry_outside_segments);

    out.entry = entry;
    out.segment_count = loaded;
    out.file = f;
    out.file_size = size;
    return {Error::none, 0};
}

} // namespace l4::elf
