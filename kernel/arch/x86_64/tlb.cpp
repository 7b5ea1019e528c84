// The x86 TLB instructions under mem::TlbPolicy (Intel SDM vol. 3A, 4.10).
//
// With CR4.PCIDE set, CR3 bits 11:0 name the live PCID, and a MOV to CR3 with bit 63 set
// keeps that PCID's entries; with bit 63 clear it flushes them (only them). INVLPG drops a
// page of the live PCID; INVPCID type 0 drops a page of any PCID. Kernel pages are global and
// live under every PCID.
#include "arch/x86_64/tlb.hpp"

#include "arch/x86_64/cpu.hpp"

namespace tlb {
namespace {

struct X86Tlb {
    static constexpr uint64_t kRootMask = 0x000ffffffffff000;
    static constexpr uint64_t kKeepEntries = uint64_t{1} << 63;   // CR3 bit 63: no flush

    uint64_t live_root() { return cpu::read_cr3() & kRootMask; }

    void load(uint64_t root, uint16_t tag, bool keep) { cpu::write_cr3(root | tag | (keep ? kKeepEntries : 0)); }

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

X86Tlb hardware;
mem::TlbPolicy<X86Tlb> policy(hardware);

} // namespace

void init(bool allowed)
{
    const cpu::Features& features = cpu::features();
    if (!allowed || !features.pcid)
        return;
    cpu::write_cr4(cpu::read_cr4() | cpu::cr4::pcide);   // the kernel's root is live as PCID 0
    policy.set_mode(features.invpcid ? Mode::tagged_invalidate_any : Mode::tagged);
}

Mode mode() { return policy.mode(); }
uint16_t new_tag() { return policy.new_tag(); }
void free_tag(uint16_t tag) { policy.free_tag(tag); }
bool is_live(uint64_t root) { return policy.is_live(root); }
void load(AddressSpace space) { policy.load(space); }
void load_kernel(uint64_t kernel_root) { policy.load_kernel(kernel_root); }
void invalidate(AddressSpace space, uint64_t virt, uint64_t pages) { policy.invalidate(space, virt, pages); }

} // namespace tlb
