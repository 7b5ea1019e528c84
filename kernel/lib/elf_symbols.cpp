// The kernel's own symbol table, read defensively from the ELF section headers.
#include "lib/elf_symbols.hpp"

#include "common/bytes.hpp"

namespace elf {
namespace {

constexpr uint32_t kSectionHeaderSize = 64;
constexpr uint64_t kSymbolSize = 24;
constexpr uint32_t kSymtab = 2;
constexpr uint32_t kStrtab = 3;
constexpr uint8_t kTypeFunc = 2;

struct Section {
    uint32_t type;
    uint64_t address;
    uint64_t size;
    uint32_t link;
};

Section section_at(const uint8_t* headers, uint32_t index)
{
    const uint8_t* h = headers + size_t{index} * kSectionHeaderSize;
    return Section{bytes::load_u32(h + 4), bytes::load_u64(h + 16), bytes::load_u64(h + 32), bytes::load_u32(h + 40)};
}

// Appends to a bounded output buffer, remembering whether anything was cut.
struct Output {
    char* out;
    size_t size;
    size_t length = 0;
    bool complete = true;

    void append(const char* text, size_t count)
    {
        for (size_t i = 0; i < count; ++i) {
            if (length + 1 >= size) {
                complete = false;
                return;
            }
            out[length++] = text[i];
        }
    }
};

// One <source-name>: decimal length, then that many characters.
bool source_name(const char*& p, Output& output)
{
    size_t length = 0;
    if (*p < '1' || *p > '9')
        return false;
    while (*p >= '0' && *p <= '9') {
        length = length * 10 + static_cast<size_t>(*p++ - '0');
        if (length > 4096)
            return false;
    }
    for (size_t i = 0; i < length; ++i)
        if (p[i] == '\0')
            return false;
    constexpr char anonymous[] = "_GLOBAL__N";
    bool is_anonymous = length >= sizeof anonymous - 1;
    for (size_t i = 0; is_anonymous && i < sizeof anonymous - 1; ++i)
        is_anonymous = p[i] == anonymous[i];
    if (is_anonymous)
        output.append("(anonymous)", 11);
    else
        output.append(p, length);
    p += length;
    return true;
}

} // namespace

bool demangle(const char* symbol, char* out, size_t size)
{
    Output output{out, size};
    const char* p = symbol;
    bool ok = p[0] == '_' && p[1] == 'Z';
    if (ok) {
        p += 2;
        if (*p == 'L') // internal linkage
            ++p;
        if (*p == 'N') { // nested name: qualifiers, then components up to 'E'
            ++p;
            while (*p == 'K' || *p == 'V' || *p == 'r')
                ++p;
            bool first = true;
            while (ok && *p != 'E' && *p != 'I') {
                if (!first)
                    output.append("::", 2);
                if (*p == 'C' || *p == 'D') { // constructor or destructor
                    output.append(*p == 'C' ? "(constructor)" : "(destructor)", *p == 'C' ? 13 : 12);
                    break;
                }
                ok = source_name(p, output);
                first = false;
            }
        } else {
            ok = source_name(p, output);
        }
    }
    if (!ok) { // not a name we understand: show it raw
        output.length = 0;
        output.complete = true;
        size_t length = 0;
        while (symbol[length] != '\0')
            ++length;
        output.append(symbol, length);
    }
    if (size > 0)
        out[output.length] = '\0';
    return output.complete;
}

SymbolTable::Error SymbolTable::init(const uint8_t* headers, uint32_t count, uint32_t entry_size, Map map)
{
    *this = SymbolTable();
    if (headers == nullptr || entry_size != kSectionHeaderSize)
        return Error::bad_entry_size;

    uint32_t index = 0;
    while (index < count && section_at(headers, index).type != kSymtab)
        ++index;
    if (index == count)
        return Error::no_symtab;

    Section symtab = section_at(headers, index);
    if (symtab.size == 0 || symtab.size % kSymbolSize != 0 || symtab.address == 0)
        return Error::bad_symtab;
    if (symtab.link >= count || symtab.link == index)
        return Error::bad_strtab;
    Section strtab = section_at(headers, symtab.link);
    if (strtab.type != kStrtab || strtab.size == 0 || strtab.address == 0)
        return Error::bad_strtab;

    auto* symbols = static_cast<const uint8_t*>(map(symtab.address, symtab.size));
    auto* strings = static_cast<const char*>(map(strtab.address, strtab.size));
    if (symbols == nullptr || strings == nullptr)
        return Error::unmapped;

    symbols_ = symbols;
    symbol_count_ = static_cast<size_t>(symtab.size / kSymbolSize);
    strings_ = strings;
    strings_size_ = static_cast<size_t>(strtab.size);
    symtab_range_ = {symtab.address, symtab.size};
    strtab_range_ = {strtab.address, strtab.size};
    return Error::none;
}

bool SymbolTable::lookup(uint64_t address, Symbol& out) const
{
    const uint8_t* best = nullptr;
    uint64_t best_value = 0;
    for (size_t i = 0; i < symbol_count_; ++i) {
        const uint8_t* sym = symbols_ + i * kSymbolSize;
        uint64_t value = bytes::load_u64(sym + 8);
        uint64_t size = bytes::load_u64(sym + 16);
        if ((sym[4] & 0xf) != kTypeFunc || value > address || value < best_value)
            continue;
        if (size != 0 && address - value >= size)
            continue;
        best = sym;
        best_value = value;
    }
    if (best == nullptr)
        return false;

    // The name must start and end inside the string table.
    auto name = static_cast<size_t>(bytes::load_u32(best));
    size_t end = name;
    while (end < strings_size_ && strings_[end] != '\0')
        ++end;
    if (end >= strings_size_)
        return false;
    out = Symbol{strings_ + name, best_value, bytes::load_u64(best + 16)};
    return true;
}

} // namespace elf
