// Static Linux programs for execve, over common/elf.hpp's checked reader.
#include "elf_exec.hpp"

#include "common/bytes.hpp"
#include "linux_abi.hpp"

namespace shim {

using namespace linux_abi;

namespace {

// ELF-64 offsets and values the reader does not report (System V gABI).
constexpr size_t kPhoffOffset = 32, kPhnumOffset = 56;
constexpr uint64_t kPhentSize = 56;
constexpr uint32_t kPtGnuStack = 0x6474e551;

// The address of file bytes [offset, offset + length) in a loaded segment, or 0.
uint64_t address_of(const elf::Image& image, uint64_t offset, uint64_t length)
{
    for (size_t i = 0; i < image.segment_count; ++i) {
        const elf::Segment& segment = image.segments[i];
        if (offset >= segment.offset && offset - segment.offset <= segment.filesz &&
            length <= segment.filesz - (offset - segment.offset))
            return segment.vaddr + (offset - segment.offset);
    }
    return 0;
}

} // namespace

int prepare_exec(const void* file, size_t size, uint64_t pie_base, ExecImage& out)
{
    elf::Options options;
    options.accept_dyn = true;
    options.accept_interpreter = true; // to refuse it with Linux's errno, not the reader's
    if (elf::parse(file, size, options, out.image).error != elf::Error::none)
        return -kENOEXEC;
    if (out.image.interpreter.present)
        return -kENOEXEC;
    if (out.image.type == elf::Type::dyn) {
        const uint64_t align = out.image.max_align;
        if (pie_base > UINT64_MAX - align)
            return -kENOEXEC;
        options.load_bias = (pie_base + align - 1) & ~(align - 1);
        if (elf::parse(file, size, options, out.image).error != elf::Error::none)
            return -kENOEXEC;
    }
    const auto* bytes = static_cast<const uint8_t*>(file);
    const uint64_t phoff = bytes::load_u64(bytes + kPhoffOffset);
    out.phnum = bytes::load_u16(bytes + kPhnumOffset);
    out.phent = kPhentSize;
    out.phdr = address_of(out.image, phoff, out.phnum * kPhentSize);
    if (out.phdr == 0)
        return -kENOEXEC;
    out.has_gnu_stack = false;
    out.executable_stack = false;
    for (uint64_t i = 0; i < out.phnum; ++i) {
        const uint8_t* header = bytes + phoff + i * kPhentSize; // inside the file: parse checked
        const uint32_t type = bytes::load_u32(header);
        if (type == kPtGnuStack) {
            out.has_gnu_stack = true;
            out.executable_stack = (bytes::load_u32(header + 4) & elf::kFlagExecute) != 0;
        }
    }
    return 0;
}

} // namespace shim
