// A process's page map (page_map.hpp).
#include "page_map.hpp"

namespace shim {

namespace {
constexpr uint64_t kMask = kPageMapEntries - 1;
} // namespace

PageEntry* page_map_find(PageEntry* table, uint64_t virtual_page)
{
    // An empty entry ends the search: nothing past it was put there while it was empty.
    uint64_t i = ((virtual_page >> 12) * 0x9e37'79b9'7f4a'7c15) >> (64 - 13);
    for (uint64_t n = 0; n < kPageMapEntries; ++n, i = (i + 1) & kMask)
        if (table[i].virtual_page == virtual_page || table[i].virtual_page == 0)
            return &table[i];
    return nullptr;
}

void page_map_erase(PageEntry* table, PageEntry* entry)
{
    const uint64_t index = static_cast<uint64_t>(entry - table);
    *entry = PageEntry{};
    for (uint64_t i = (index + 1) & kMask; table[i].virtual_page != 0; i = (i + 1) & kMask) {
        const PageEntry moved = table[i];
        table[i] = PageEntry{};
        *page_map_find(table, moved.virtual_page) = moved;
    }
}

} // namespace shim
