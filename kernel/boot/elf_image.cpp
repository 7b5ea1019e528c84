// ELF64 boot modules: a validating reader of their program headers.
#include "boot/elf_image.hpp"

#include "lib/bytes.hpp"

namespace elf {

namespace {

// ELF header (System V gABI, ELF-64 object file format).
constexpr size_t kEhdrSize = 64;
constexpr size_t kEiClass = 4, kEiData = 5, kEiVersion = 6;
constexpr uint8_t kElfClass64 = 2;
constexpr uint8_t kElfData2Lsb = 1;
constexpr uint8_t kEvCurrent = 1;
constexpr uint16_t kEtExec = 2;
constexpr uint16_t kEmX86_64 = 62;
constexpr size_t kOffType = 16, kOffMachine = 18, kOffVersion = 20, kOffEntry = 24,
                 kOffPhoff = 32, kOffPhentsize = 54, kOffPhnum = 56;
// e_phnum == PN_XNUM means the real count is in section header 0; static executables
// never need that many, and honouring it would mean trusting the section headers too.
constexpr uint16_t kPnXnum = 0xffff;

// Program header.
constexpr size_t kPhdrSize = 56;
constexpr size_t kPhType = 0, kPhFlags = 4, kPhOffset = 8, kPhVaddr = 16, kPhFilesz = 32,
                 kPhMemsz = 40;
constexpr uint32_t kPtLoad = 1;
constexpr uint32_t kPfX = 1, kPfW = 2, kPfR = 4;

using bytes::load_u16;
using bytes::load_u32;
using bytes::load_u64;

void reset(Image& out)
{
    out.entry = 0;
    out.segment_count = 0;
    for (Segment& segment : out.segments) {
        segment = Segment{};
    }
}

ImageResult fail(Image& out, ImageError error, uint32_t index = 0)
{
    reset(out);
    return {error, index};
}

ImageError check_header(const uint8_t* data, size_t size)
{
    if (data == nullptr || size < kEhdrSize) {
        return ImageError::too_small;
    }
    if (data[0] != 0x7f || data[1] != 'E' || data[2] != 'L' || data[3] != 'F') {
        return ImageError::bad_magic;
    }
    if (data[kEiClass] != kElfClass64) {
        return ImageError::not_64_bit;
    }
    if (data[kEiData] != kElfData2Lsb) {
        return ImageError::not_little_endian;
    }
    if (data[kEiVersion] != kEvCurrent || load_u32(data + kOffVersion) != kEvCurrent) {
        return ImageError::bad_version;
    }
    if (load_u16(data + kOffType) != kEtExec) {
        return ImageError::not_executable;
    }
    if (load_u16(data + kOffMachine) != kEmX86_64) {
        return ImageError::wrong_machine;
    }
    return ImageError::none;
}

// Checks one PT_LOAD on its own (not against the others).
ImageError check_segment(const Segment& s, size_t size)
{
    if (s.filesz > s.memsz) {
        return ImageError::segment_file_larger_than_memory;
    }
    // Both tests needed: offset alone may already be past the end, or the sum may wrap.
    if (s.offset > size || s.filesz > size - s.offset) {
        return ImageError::segment_past_file;
    }
    if (s.vaddr >= kUserEnd || s.memsz > kUserEnd - s.vaddr) {
        return ImageError::segment_outside_user;
    }
    // Pages are mapped straight from the module's page-aligned copy only if these agree.
    if (s.vaddr % kPageSize != s.offset % kPageSize) {
        return ImageError::segment_misaligned;
    }
    return ImageError::none;
}

// Page-rounded, so that every page has one owner and one set of rights.
bool pages_overlap(const Segment& a, const Segment& b)
{
    return a.page_base() < b.page_limit() && b.page_base() < a.page_limit();
}

} // namespace

const char* describe(ImageError error)
{
    switch (error) {
    case ImageError::none: return "no error";
    case ImageError::too_small: return "module is smaller than an ELF header";
    case ImageError::bad_magic: return "module is not an ELF file (bad magic)";
    case ImageError::not_64_bit: return "ELF file is not 64-bit";
    case ImageError::not_little_endian: return "ELF file is not little-endian";
    case ImageError::bad_version: return "ELF version is not 1";
    case ImageError::not_executable: return "ELF file is not a static executable (ET_EXEC)";
    case ImageError::wrong_machine: return "ELF file is not for x86-64";
    case ImageError::bad_program_headers: return "ELF program header table is malformed";
    case ImageError::segment_past_file: return "segment's file bytes run past the module";
    case ImageError::segment_file_larger_than_memory:
        return "segment's file size exceeds its memory size";
    case ImageError::segment_outside_user: return "segment lies outside user space";
    case ImageError::segments_overlap: return "segments share a page";
    case ImageError::segment_misaligned: return "segment's address and file offset differ modulo the page size";
    case ImageError::no_loadable_segment: return "no loadable segment";
    case ImageError::entry_outside_segments: return "entry point is not in an executable segment";
    case ImageError::too_many_segments: return "too many loadable segments";
    }
    return "unknown error";
}

ImageResult parse_image(const uint8_t* data, size_t size, Image& out)
{
    reset(out);
    if (ImageError error = check_header(data, size); error != ImageError::none) {
        return fail(out, error);
    }

    const uint64_t entry = load_u64(data + kOffEntry);
    const uint64_t phoff = load_u64(data + kOffPhoff);
    const uint16_t phentsize = load_u16(data + kOffPhentsize);
    const uint16_t phnum = load_u16(data + kOffPhnum);
    if (phnum == 0) {
        // No table at all: e_phoff and e_phentsize mean nothing then.
        return fail(out, ImageError::no_loadable_segment);
    }
    // phnum * 56 < 2^22 cannot wrap; the offset test comes first so the difference can't.
    const uint64_t table_size = uint64_t{phnum} * kPhdrSize;
    if (phentsize != kPhdrSize || phnum == kPnXnum || phoff > size || table_size > size - phoff) {
        return fail(out, ImageError::bad_program_headers);
    }

    size_t count = 0;
    for (uint32_t i = 0; i < phnum; ++i) {
        const uint8_t* ph = data + phoff + i * kPhdrSize;
        if (load_u32(ph + kPhType) != kPtLoad) {
            continue;
        }
        const uint32_t flags = load_u32(ph + kPhFlags);
        const Segment segment{
            .vaddr = load_u64(ph + kPhVaddr),
            .memsz = load_u64(ph + kPhMemsz),
            .offset = load_u64(ph + kPhOffset),
            .filesz = load_u64(ph + kPhFilesz),
            .readable = (flags & kPfR) != 0,
            .writable = (flags & kPfW) != 0,
            .executable = (flags & kPfX) != 0,
        };
        if (segment.memsz == 0) {
            continue;   // occupies no memory: nothing to load or to overlap
        }
        if (ImageError error = check_segment(segment, size); error != ImageError::none) {
            return fail(out, error, i);
        }
        if (count == kMaxSegments) {
            return fail(out, ImageError::too_many_segments, i);
        }
        for (size_t j = 0; j < count; ++j) {
            if (pages_overlap(out.segments[j], segment)) {
                return fail(out, ImageError::segments_overlap, i);
            }
        }
        out.segments[count++] = segment;
    }
    if (count == 0) {
        return fail(out, ImageError::no_loadable_segment);
    }

    bool entry_ok = false;
    for (size_t j = 0; j < count; ++j) {
        const Segment& s = out.segments[j];
        // No overflow: check_segment made vaddr + memsz <= kUserEnd.
        if (s.executable && entry >= s.vaddr && entry < s.vaddr + s.memsz) {
            entry_ok = true;
        }
    }
    if (!entry_ok) {
        return fail(out, ImageError::entry_outside_segments);
    }
    out.entry = entry;
    out.segment_count = count;
    return {ImageError::none, 0};
}

} // namespace elf
