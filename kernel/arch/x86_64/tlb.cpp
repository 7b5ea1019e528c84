// The TLB's state (one CPU), and turning PCIDs on.
#include "arch/x86_64/tlb.hpp"

namespace tlb {

mem::TlbPolicy<X86Tlb> policy;

void init(bool allowed)
{
    policy.hardware().live = cpu::read_cr3(); // paging::init's kernel root, PCID 0
    const cpu::Features& features = cpu::features();
    if (!allowed || !features.pcid)
        return;
    cpu::write_cr4(cpu::read_cr4() | cpu::cr4::pcide); // the kernel's root is live as PCID 0
    policy.set_mode(features.invpcid ? Mode::tagged_invalidate_any : Mode::tagged);
}

} // namespace tlb
