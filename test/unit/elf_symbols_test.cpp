// Looking up kernel symbols for backtraces, with hostile section headers.
#include <catch2/catch.hpp>
#include <cstring>
#include <string>
#include <vector>

#include "lib/elf_symbols.hpp"

namespace {

// In these tests sh_addr holds a host pointer.
const void* identity(uint64_t address, uint64_t) { return reinterpret_cast<const void*>(address); }
const void* unreachable(uint64_t, uint64_t) { return nullptr; }

struct Image {
    std::string strings{'\0'};
    std::vector<uint8_t> symbols;
    std::vector<uint8_t> headers;

    void add_symbol(const char* name, uint64_t value, uint64_t size, uint8_t type = 2)
    {
        uint8_t sym[24] = {};
        auto offset = static_cast<uint32_t>(strings.size());
        strings += name;
        strings += '\0';
        std::memcpy(sym, &offset, 4);
        sym[4] = static_cast<uint8_t>(0x10 | type); // global binding
        std::memcpy(sym + 8, &value, 8);
        std::memcpy(sym + 16, &size, 8);
        symbols.insert(symbols.end(), sym, sym + 24);
    }

    void add_section(uint32_t type, uint64_t address, uint64_t size, uint32_t link)
    {
        uint8_t h[64] = {};
        std::memcpy(h + 4, &type, 4);
        std::memcpy(h + 16, &address, 8);
        std::memcpy(h + 32, &size, 8);
        std::memcpy(h + 40, &link, 4);
        headers.insert(headers.end(), h, h + 64);
    }

    // Null section, .text (ignored), .symtab -> .strtab.
    void finish()
    {
        add_section(0, 0, 0, 0);
        add_section(1, 0xffffffff80200000, 0x1000, 0);
        add_section(2, reinterpret_cast<uint64_t>(symbols.data()), symbols.size(), 3);
        add_section(3, reinterpret_cast<uint64_t>(strings.data()), strings.size(), 0);
    }

    uint32_t count() const { return static_cast<uint32_t>(headers.size() / 64); }
};

Image sample()
{
    Image image;
    image.add_symbol("kernel_main", 0x1000, 0x100);
    image.add_symbol("panic", 0x1200, 0x80);
    image.add_symbol("data_object", 0x1100, 0x100, 1); // an object, never a backtrace name
    image.add_symbol("no_size", 0x2000, 0);
    return image;
}

} // namespace

TEST_CASE("elf symbols: lookup inside, between and outside functions")
{
    Image image = sample();
    image.finish();
    elf::SymbolTable table;
    REQUIRE(table.init(image.headers.data(), image.count(), 64, identity) == elf::SymbolTable::Error::none);
    REQUIRE(table.valid());
    CHECK(table.symtab_range().size == 4 * 24);

    elf::Symbol s{};
    REQUIRE(table.lookup(0x1000, s));
    CHECK(std::string(s.name) == "kernel_main");
    CHECK(s.address == 0x1000);
    REQUIRE(table.lookup(0x10ff, s));
    CHECK(std::string(s.name) == "kernel_main");
    CHECK_FALSE(table.lookup(0x1100, s)); // past kernel_main's size, inside an object only
    REQUIRE(table.lookup(0x1234, s));
    CHECK(std::string(s.name) == "panic");
    CHECK_FALSE(table.lookup(0xfff, s));
    REQUIRE(table.lookup(0x9999, s)); // unknown size: nearest below
    CHECK(std::string(s.name) == "no_size");
}

TEST_CASE("elf symbols: malformed headers are refused")
{
    using Error = elf::SymbolTable::Error;
    elf::SymbolTable table;

    Image image = sample();
    image.finish();
    CHECK(table.init(image.headers.data(), image.count(), 40, identity) == Error::bad_entry_size);
    CHECK(table.init(nullptr, 4, 64, identity) == Error::bad_entry_size);
    CHECK(table.init(image.headers.data(), 2, 64, identity) == Error::no_symtab);
    CHECK(table.init(image.headers.data(), image.count(), 64, unreachable) == Error::unmapped);
    CHECK_FALSE(table.valid());

    SECTION("symtab size not a multiple of a symbol")
    {
        Image bad = sample();
        bad.add_section(0, 0, 0, 0);
        bad.add_section(2, reinterpret_cast<uint64_t>(bad.symbols.data()), bad.symbols.size() - 1, 2);
        bad.add_section(3, reinterpret_cast<uint64_t>(bad.strings.data()), bad.strings.size(), 0);
        CHECK(table.init(bad.headers.data(), bad.count(), 64, identity) == Error::bad_symtab);
    }
    SECTION("string table link out of range or of the wrong type")
    {
        Image bad = sample();
        bad.add_section(0, 0, 0, 0);
        bad.add_section(2, reinterpret_cast<uint64_t>(bad.symbols.data()), bad.symbols.size(), 9);
        CHECK(table.init(bad.headers.data(), bad.count(), 64, identity) == Error::bad_strtab);
        Image self = sample();
        self.add_section(2, reinterpret_cast<uint64_t>(self.symbols.data()), self.symbols.size(), 0);
        CHECK(table.init(self.headers.data(), self.count(), 64, identity) == Error::bad_strtab);
    }
}

TEST_CASE("elf symbols: a name running past the string table is not returned")
{
    Image image;
    image.add_symbol("truncated", 0x1000, 0x10);
    image.strings.pop_back(); // drop the final NUL
    image.finish();
    elf::SymbolTable table;
    REQUIRE(table.init(image.headers.data(), image.count(), 64, identity) == elf::SymbolTable::Error::none);
    elf::Symbol s{};
    CHECK_FALSE(table.lookup(0x1004, s));
}

TEST_CASE("elf symbols: demangling keeps the qualified name")
{
    char out[64];
    auto d = [&](const char* symbol) {
        elf::demangle(symbol, out, sizeof out);
        return std::string(out);
    };
    CHECK(d("kernel_main") == "kernel_main");
    CHECK(d("_Z13run_test_hookN7cmdline8TestHookE") == "run_test_hook");
    CHECK(d("_ZN7cmdline5parseEPKc") == "cmdline::parse");
    CHECK(d("_ZN12_GLOBAL__N_19backtraceEmm") == "(anonymous)::backtrace");
    CHECK(d("_ZN3mem14FrameAllocator5allocEmmm") == "mem::FrameAllocator::alloc");
    CHECK(d("_ZNK3elf11SymbolTable6lookupEmRNS_6SymbolE") == "elf::SymbolTable::lookup");
    CHECK(d("_ZN3mem10KernelHeapC2Ev") == "mem::KernelHeap::(constructor)");
    CHECK(d("_ZL6helperv") == "helper");
    CHECK(d("_Z") == "_Z");           // malformed: raw
    CHECK(d("_Z99abc") == "_Z99abc"); // length past the end: raw

    char small[8];
    CHECK_FALSE(elf::demangle("_ZN7cmdline5parseEPKc", small, sizeof small));
    CHECK(std::string(small) == "cmdline");
}
