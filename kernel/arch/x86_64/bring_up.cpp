// The boot CPU's bring-up steps.
#include "arch/x86_64/bring_up.hpp"

#include "arch/x86_64/apic.hpp"
#include "arch/x86_64/cpu.hpp"
#include "arch/x86_64/cpu_local.hpp"
#include "arch/x86_64/fpu.hpp"
#include "arch/x86_64/gdt.hpp"
#include "arch/x86_64/interrupts.hpp"
#include "arch/x86_64/platform.hpp"
#include "arch/x86_64/serial.hpp"
#include "arch/x86_64/tlb.hpp"
#include "log.hpp"
#include "panic.hpp"

namespace arch {

void init_boot_cpu()
{
    serial::init();
    gdt::init();
    interrupts::init();
    cpu::detect_features();
    cpu_local::init_boot_cpu();
    fpu::init();
}

timer::Calibration init_timer(uint32_t hz)
{
    platform::disable_legacy_pic();
    if (!apic::init())
        panic("no local APIC: the kernel needs one for its timer");
    return timer::init(hz);
}

void print_cpu()
{
    const cpu::Features& f = cpu::features();
    klog::print("cpu: {} \"{}\" family {} model {} stepping {}\n", f.vendor, f.brand, f.family, f.model, f.stepping);
    klog::print("cpu features:{}{}{}{}{}{}{}{}{}{}{}\n", f.nx ? " nx" : "", f.pge ? " pge" : "", f.pcid ? " pcid" : "",
                f.invpcid ? " invpcid" : "", f.smep ? " smep" : "", f.smap ? " smap" : "", f.umip ? " umip" : "",
                f.fsgsbase ? " fsgsbase" : "", f.x2apic ? " x2apic" : "", f.tsc_deadline ? " tsc-deadline" : "",
                f.invariant_tsc ? " invariant-tsc" : "");
}

void print_tlb_mode(bool pcid_allowed)
{
    switch (tlb::mode()) {
    case tlb::Mode::tagged_invalidate_any: klog::info("tlb: PCID on, INVPCID on"); break;
    case tlb::Mode::tagged: klog::info("tlb: PCID on, INVPCID off"); break;
    case tlb::Mode::untagged: klog::info("tlb: PCID off ({})", pcid_allowed ? "not on this CPU" : "pcid=off"); break;
    }
}

} // namespace arch
