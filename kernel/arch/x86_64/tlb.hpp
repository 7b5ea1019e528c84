// The TLB: address spaces tagged with PCIDs where the CPU has them, so that a switch keeps
// every space's translations, and invalidation of exactly what a change removes. The
// decisions are mem::TlbPolicy's; this supplies the instructions (Intel SDM vol. 3A, 4.10).
//
// With CR4.PCIDE set, CR3 bits 11:0 name the live PCID, and a MOV to CR3 with bit 63 set
// keeps that PCID's entries; with bit 63 clear it flushes them (only them). INVLPG drops a
// page of the live PCID; INVPCID type 0 drops a page of any PCID. Kernel pages are global and
// live under every PCID. Inline: a switch and every page change pass through here.
#pragma once

#include <stdint.h>

#include "arch/x86_64/cpu.hpp"
#include "mem/tlb_policy.hpp"

namespace tlb {

using AddressSpace = mem::TlbSpace;
using Mode = mem::TlbMode;

struct X86Tlb {
    static constexpr uint64_t kKeepEntries = uint64_t{1} << 63; // CR3 bit 63: no flush

    // CR3's table, kept here as it is written: cheaper to compare than CR3 is to read.
    uint64_t live = 0;

    uint64_t live_root() { return live; }

    void load(uint64_t root, uint16_t tag, bool keep)
    {
        cpu::write_cr3(root | tag | (keep ? kKeepEntries : 0));
        live = root;
    }

    void invalidate_live(uint64_t virt) { asm volatile("invlpg (%0)" ::"r"(virt) : "memory"); }

    void invalidate_tagged(uint16_t tag, uint64_t virt)
    {
        constexpr uint64_t kIndividualAddress = 0;
        struct {
            uint64_t pcid, address;
        } descriptor{tag, virt};
        asm volatile("invpcid %0, %1" ::"m"(descriptor), "r"(kIndividualAddress) : "memory");
    }
};

extern mem::TlbPolicy<X86Tlb> policy;

// Turns PCIDs on when the CPU has them and `allowed` (the pcid= option); after paging::init,
// with the kernel's root live and untagged.
void init(bool allowed);
inline Mode mode() { return policy.mode(); }

// The host unit tests link a fake of the functions below (cpu_local.hpp, fake_arch.hpp).
#ifdef KESTREL_FAKE_ARCH
uint16_t new_tag();
void free_tag(uint16_t tag);
bool is_live(uint64_t root);
void load(AddressSpace space);
void load_kernel(uint64_t kernel_root);
void invalidate(AddressSpace space, uint64_t virt, uint64_t pages);
#else
// A tag for a new address space, and its return.
inline uint16_t new_tag() { return policy.new_tag(); }
inline void free_tag(uint16_t tag) { policy.free_tag(tag); }

// Whether `root` is the one the CPU translates through now.
inline bool is_live(uint64_t root) { return policy.is_live(root); }

// Makes `space` the live one (nothing when it is), flushing its tag if it is stale.
inline void load(AddressSpace space) { policy.load(space); }
// Makes the kernel's root (`kernel_root`) live: before a live space's tables are freed.
inline void load_kernel(uint64_t kernel_root) { policy.load_kernel(kernel_root); }

// Drops the TLB entries of `pages` pages from `virt` on in `space`, live or not.
inline void invalidate(AddressSpace space, uint64_t virt, uint64_t pages) { policy.invalidate(space, virt, pages); }
#endif

} // namespace tlb
