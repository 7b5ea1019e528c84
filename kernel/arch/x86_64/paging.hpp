// The kernel's address space: W^X kernel image, direct map of RAM, MMIO window.
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "l4/abi/address_space.hpp"

#include "arch/x86_64/layout.hpp"
#include "arch/x86_64/tlb.hpp"

namespace mem {
class FrameAllocator;
}

namespace paging {

namespace pte {
constexpr uint64_t present = 1u << 0;
constexpr uint64_t writable = 1u << 1;
constexpr uint64_t user = 1u << 2;
constexpr uint64_t write_through = 1u << 3;
constexpr uint64_t cache_disable = 1u << 4;
constexpr uint64_t large = 1u << 7;
constexpr uint64_t global = 1u << 8;
constexpr uint64_t no_execute = uint64_t{1} << 63;
constexpr uint64_t address_mask = 0x000ffffffffff000;
} // namespace pte

// The direct map, through which generic code reaches frames. The host unit tests link a fake
// whose "physical memory" is a host buffer (cpu_local.hpp).
#ifdef KESTREL_FAKE_ARCH
void* phys_to_virt(uint64_t phys);
uint64_t direct_virt_to_phys(const void* virt);
#else
inline void* phys_to_virt(uint64_t phys) { return reinterpret_cast<void*>(DIRECT_MAP_BASE + phys); }
inline uint64_t direct_virt_to_phys(const void* virt) { return reinterpret_cast<uint64_t>(virt) - DIRECT_MAP_BASE; }
#endif

// Builds the kernel page tables (direct map of [0, direct_map_end)) and switches to them.
// Until then only the boot tables' first 4 GiB are reachable, so page tables come from there.
void init(mem::FrameAllocator& frames, uint64_t direct_map_end);

// Maps device registers uncached; returns their virtual address, or nullptr when out of room.
[[nodiscard]] void* map_mmio(uint64_t phys, size_t size);

// Maps one 4 KiB kernel page (read/write, no execute, global) at `virt` in the part of the
// kernel half every space shares; false when out of memory for a page table or already mapped.
[[nodiscard]] bool map_kernel_page(uint64_t virt, uint64_t phys);
// Removes it (and its TLB entry); its frame's physical address.
uint64_t unmap_kernel_page(uint64_t virt);

// The leaf page-table entry that maps `virt` (0 when unmapped), in the kernel's tables or
// under another root.
uint64_t lookup(uint64_t virt);
uint64_t lookup_in(uint64_t root, uint64_t virt);

using l4::abi::kLastUserPage; // never mapped: iretq to kUserEnd would fault in the kernel
using l4::abi::kUserEnd;

uint64_t kernel_root();

// Who pays for the page tables below a user root (a task's factory, one page each): charge
// returns false when over quota.
struct TableAccount {
    bool (*charge)(void* context);
    void (*refund)(void* context);
    void* context;
    mutable bool refused = false; // a charge was refused: over quota, not out of memory
};

// While one lives, user page tables made (or freed by free_user_tables) are charged to (or
// refunded to) `account`; without one they are the kernel's.
class ChargeTables {
public:
    explicit ChargeTables(const TableAccount& account) : previous_(current_) { current_ = &account; }
    ~ChargeTables() { current_ = previous_; }
    ChargeTables(const ChargeTables&) = delete;
    ChargeTables& operator=(const ChargeTables&) = delete;

    // For the page-table code: one table charged to (or refunded to) the account in force. A
    // refused charge is noted in the account (TableAccount::refused).
    static bool charge()
    {
        if (current_ == nullptr || current_->charge(current_->context))
            return true;
        current_->refused = true;
        return false;
    }
    static void refund()
    {
        if (current_ != nullptr)
            current_->refund(current_->context);
    }

private:
    const TableAccount* previous_;
    static inline const TableAccount* current_ = nullptr;
};

using tlb::AddressSpace;

// A new address space sharing the kernel half, with its own TLB tag; root 0 when out of memory.
[[nodiscard]] AddressSpace new_user_space();

// Maps one 4 KiB user page; false when out of memory, misaligned, outside user space, or
// the page is already mapped.
[[nodiscard]] bool map_user_page(uint64_t root, uint64_t virt, uint64_t phys, bool writable, bool executable);

// Sets the user page at `virt` to `phys` with `rights` (l4::abi::page_rights; read is
// implied), replacing what was there and invalidating it in the space's TLB entries. False when out of
// memory for a page table or outside user space.
[[nodiscard]] bool install_user_page(AddressSpace space, uint64_t virt, uint64_t phys, uint64_t rights, bool uncached);

// The same for a 2 MiB page (virt and phys 2 MiB aligned); false, changing nothing, when a
// table of 4 KiB pages is already there. A later change to one of its pages splits it.
[[nodiscard]] bool install_user_large_page(AddressSpace space, uint64_t virt, uint64_t phys, uint64_t rights,
                                           bool uncached);

// Removes the user page at `virt`; its frame's physical address, or 0 if none was mapped.
uint64_t unmap_user_page(AddressSpace space, uint64_t virt);

// Calls fn(context, virt) for every present 4 KiB user page under `root`.
void for_each_user_page(uint64_t root, void (*fn)(void* context, uint64_t virt), void* context);

// Frees the page tables of a user address space (not the frames they map), and its tag.
void free_user_space(AddressSpace space);

} // namespace paging
