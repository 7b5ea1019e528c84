// The kernel's own symbol table, for naming functions in panic backtraces.
//
// GRUB hands the kernel its ELF section headers (multiboot2 tag 9) and loads the
// non-allocated sections (.symtab, .strtab) into memory, writing their physical address
// into sh_addr. Nothing in them is trusted: every offset is checked before it is read.
#pragma once

#include <stddef.h>
#include <stdint.h>

namespace elf {

struct Symbol {
    const char* name; // NUL-terminated, inside the string table
    uint64_t address;
    uint64_t size;
};

// Byte range of a loaded section, so the frame allocator can keep it.
struct SectionRange {
    uint64_t address;
    uint64_t size;
};

// Writes the qualified name of an Itanium-mangled C++ symbol ("_ZN7cmdline5parseEPKc" ->
// "cmdline::parse"), without parameter types; other names are copied as they are. Always
// NUL-terminates `out` (size > 0); returns false when the name was cut short.
bool demangle(const char* symbol, char* out, size_t size);

class SymbolTable {
public:
    // Turns a section's sh_addr into a readable pointer (nullptr if it cannot be reached).
    using Map = const void* (*)(uint64_t address, uint64_t size);

    enum class Error : uint8_t { none, bad_entry_size, no_symtab, bad_symtab, bad_strtab, unmapped };

    [[nodiscard]] Error init(const uint8_t* headers, uint32_t count, uint32_t entry_size, Map map);

    // The function symbol that contains `address` (or, for symbols of unknown size, the
    // nearest one below it). False when no symbol covers the address.
    [[nodiscard]] bool lookup(uint64_t address, Symbol& out) const;

    bool valid() const { return symbols_ != nullptr; }
    SectionRange symtab_range() const { return symtab_range_; }
    SectionRange strtab_range() const { return strtab_range_; }

private:
    const uint8_t* symbols_ = nullptr;
    size_t symbol_count_ = 0;
    const char* strings_ = nullptr;
    size_t strings_size_ = 0;
    SectionRange symtab_range_{};
    SectionRange strtab_range_{};
};

} // namespace elf
