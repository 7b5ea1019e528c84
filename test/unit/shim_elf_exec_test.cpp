// pv-linux-shim/elf_exec.hpp over hand-made ELF files: ET_EXEC, static-PIE, PT_INTERP refused,
// AT_PHDR, PT_GNU_STACK and PT_TLS.
#include <catch2/catch.hpp>

#include <cstring>
#include <vector>

#include "elf_exec.hpp"
#include "linux_abi.hpp"

using linux_abi::kENOEXEC;
using shim::ExecImage;

namespace {

constexpr uint32_t kPtLoad = 1, kPtInterp = 3, kPtTls = 7, kPtGnuStack = 0x6474e551;
constexpr uint32_t kR = 4, kW = 2, kX = 1;

struct Phdr {
    uint32_t type, flags;
    uint64_t offset, vaddr, filesz, memsz, align;
};

template <class T>
void put(std::vector<uint8_t>& file, size_t at, T value)
{
    std::memcpy(file.data() + at, &value, sizeof value);
}

// A 0x3000-byte file: the ELF header, then the program headers at 64.
std::vector<uint8_t> make_elf(uint16_t type, uint64_t entry, const std::vector<Phdr>& headers)
{
    std::vector<uint8_t> file(0x3000, 0);
    const uint8_t ident[] = {0x7f, 'E', 'L', 'F', 2, 1, 1};
    std::memcpy(file.data(), ident, sizeof ident);
    put<uint16_t>(file, 16, type);
    put<uint16_t>(file, 18, 62); // EM_X86_64
    put<uint32_t>(file, 20, 1);
    put<uint64_t>(file, 24, entry);
    put<uint64_t>(file, 32, 64); // e_phoff
    put<uint16_t>(file, 52, 64);
    put<uint16_t>(file, 54, 56);
    put<uint16_t>(file, 56, static_cast<uint16_t>(headers.size()));
    for (size_t i = 0; i < headers.size(); ++i) {
        const size_t at = 64 + 56 * i;
        const Phdr& h = headers[i];
        put(file, at, h.type);
        put(file, at + 4, h.flags);
        put(file, at + 8, h.offset);
        put(file, at + 16, h.vaddr);
        put(file, at + 24, h.vaddr);
        put(file, at + 32, h.filesz);
        put(file, at + 40, h.memsz);
        put(file, at + 48, h.align);
    }
    std::memcpy(file.data() + 0x2000, "/lib64/ld-linux-x86-64.so.2", 28);
    return file;
}

// A static program's usual headers, at `base` (0 for static-PIE).
std::vector<Phdr> static_headers(uint64_t base, uint32_t stack_flags = kR | kW)
{
    return {
        {kPtLoad, kR | kX, 0, base, 0x2000, 0x2000, 0x1000},
        {kPtLoad, kR | kW, 0x2000, base + 0x3000, 0x100, 0x800, 0x1000},
        {kPtTls, kR, 0x2000, base + 0x3000, 0x10, 0x40, 16},
        {kPtGnuStack, stack_flags, 0, 0, 0, 0, 16},
    };
}

} // namespace

TEST_CASE("elf exec: a static ET_EXEC stays at its addresses", "[shim][elf]")
{
    const auto file = make_elf(2, 0x401000, static_headers(0x400000));
    ExecImage exec{};
    REQUIRE(shim::prepare_exec(file.data(), file.size(), 0x555555554000, exec) == 0);
    CHECK(exec.image.type == elf::Type::exec);
    CHECK(exec.image.bias == 0);
    CHECK(exec.image.entry == 0x401000);
    CHECK(exec.image.segment_count == 2);
    CHECK(exec.phdr == 0x400040);
    CHECK(exec.phent == 56);
    CHECK(exec.phnum == 4);
    CHECK(exec.has_gnu_stack);
    CHECK_FALSE(exec.executable_stack);
    CHECK(exec.image.tls.present);
    CHECK(exec.image.tls.vaddr == 0x403000);
    CHECK(exec.image.tls.filesz == 0x10);
    CHECK(exec.image.tls.memsz == 0x40);
    CHECK(exec.image.tls.align == 16);
}

TEST_CASE("elf exec: a static-PIE goes to the base, rounded up to its alignment", "[shim][elf]")
{
    auto headers = static_headers(0);
    headers[0].align = 0x200000;
    const auto file = make_elf(3, 0x1000, headers);
    ExecImage exec{};
    REQUIRE(shim::prepare_exec(file.data(), file.size(), 0x555555554000, exec) == 0);
    CHECK(exec.image.type == elf::Type::dyn);
    CHECK(exec.image.bias == 0x555555600000);
    CHECK(exec.image.entry == 0x555555601000);
    CHECK(exec.phdr == 0x555555600040);
    CHECK(exec.image.segments[1].vaddr == 0x555555603000);
    CHECK(exec.image.tls.vaddr == 0x555555603000);
    REQUIRE(shim::prepare_exec(file.data(), file.size(), 0x555555600000, exec) == 0);
    CHECK(exec.image.bias == 0x555555600000);
}

TEST_CASE("elf exec: PT_GNU_STACK absent or executable", "[shim][elf]")
{
    auto headers = static_headers(0x400000, kR | kW | kX);
    ExecImage exec{};
    auto file = make_elf(2, 0x401000, headers);
    REQUIRE(shim::prepare_exec(file.data(), file.size(), 0, exec) == 0);
    CHECK(exec.has_gnu_stack);
    CHECK(exec.executable_stack);
    headers.pop_back();
    file = make_elf(2, 0x401000, headers);
    REQUIRE(shim::prepare_exec(file.data(), file.size(), 0, exec) == 0);
    CHECK_FALSE(exec.has_gnu_stack);
    CHECK_FALSE(exec.executable_stack);
    CHECK(exec.phnum == 3);
}

TEST_CASE("elf exec: dynamic programs and broken files are ENOEXEC", "[shim][elf]")
{
    ExecImage exec{};
    const Phdr interp{kPtInterp, kR, 0x2000, 0x402000, 28, 28, 1};
    auto headers = static_headers(0x400000);
    headers.insert(headers.begin(), interp);
    auto file = make_elf(2, 0x401000, headers);
    CHECK(shim::prepare_exec(file.data(), file.size(), 0, exec) == -kENOEXEC);
    auto pie = static_headers(0);
    pie.insert(pie.begin(), Phdr{kPtInterp, kR, 0x2000, 0x2000, 28, 28, 1});
    file = make_elf(3, 0x1000, pie);
    CHECK(shim::prepare_exec(file.data(), file.size(), 0x555555554000, exec) == -kENOEXEC);

    file = make_elf(1, 0x401000, static_headers(0x400000)); // ET_REL
    CHECK(shim::prepare_exec(file.data(), file.size(), 0, exec) == -kENOEXEC);
    file = make_elf(2, 0x401000, static_headers(0x400000));
    file[0] = 0;
    CHECK(shim::prepare_exec(file.data(), file.size(), 0, exec) == -kENOEXEC);
    CHECK(shim::prepare_exec(file.data(), 63, 0, exec) == -kENOEXEC);
    CHECK(shim::prepare_exec(nullptr, 0, 0, exec) == -kENOEXEC);
    // A static-PIE whose base leaves no room below the end of user space.
    file = make_elf(3, 0x1000, static_headers(0));
    CHECK(shim::prepare_exec(file.data(), file.size(), 0x7ffffffff000, exec) == -kENOEXEC);
    CHECK(shim::prepare_exec(file.data(), file.size(), UINT64_MAX - 0x100, exec) == -kENOEXEC);
}

TEST_CASE("elf exec: program headers outside every segment are ENOEXEC", "[shim][elf]")
{
    // The first segment starts after the program headers in the file.
    std::vector<Phdr> headers = {
        {kPtLoad, kR | kX, 0x1000, 0x401000, 0x1000, 0x1000, 0x1000},
        {kPtGnuStack, kR | kW, 0, 0, 0, 0, 16},
    };
    const auto file = make_elf(2, 0x401000, headers);
    ExecImage exec{};
    CHECK(shim::prepare_exec(file.data(), file.size(), 0, exec) == -kENOEXEC);
}
