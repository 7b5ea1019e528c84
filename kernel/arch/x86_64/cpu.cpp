// CPU identification: vendor, model and the features the kernel uses.
#include "arch/x86_64/cpu.hpp"

namespace cpu {
namespace {

Features detected;

void copy_registers(char* out, const uint32_t* words, int count)
{
    for (int i = 0; i < count; ++i)
        for (int b = 0; b < 4; ++b)
            out[i * 4 + b] = static_cast<char>(words[i] >> (8 * b));
}

} // namespace

const Features& features() { return detected; }

void detect_features()
{
    Features& f = detected;
    CpuidResult leaf0 = cpuid(0);
    const uint32_t vendor_words[3] = {leaf0.ebx, leaf0.edx, leaf0.ecx};
    copy_registers(f.vendor, vendor_words, 3);
    f.vendor[12] = '\0';

    CpuidResult leaf1 = cpuid(1);
    uint32_t base_family = (leaf1.eax >> 8) & 0xf;
    f.family = base_family == 0xf ? base_family + ((leaf1.eax >> 20) & 0xff) : base_family;
    f.model = (leaf1.eax >> 4) & 0xf;
    if (base_family == 0x6 || base_family == 0xf)
        f.model |= ((leaf1.eax >> 16) & 0xf) << 4;
    f.stepping = leaf1.eax & 0xf;
    f.pge = leaf1.edx & (1u << 13);
    f.apic = leaf1.edx & (1u << 9);
    f.pcid = leaf1.ecx & (1u << 17);
    f.x2apic = leaf1.ecx & (1u << 21);
    f.tsc_deadline = leaf1.ecx & (1u << 24);

    if (leaf0.eax >= 7) {
        CpuidResult leaf7 = cpuid(7);
        f.fsgsbase = leaf7.ebx & (1u << 0);
        f.umip = leaf7.ecx & (1u << 2);
        f.smep = leaf7.ebx & (1u << 7);
        f.invpcid = leaf7.ebx & (1u << 10);
        f.smap = leaf7.ebx & (1u << 20);
    }

    uint32_t max_extended = cpuid(0x80000000).eax;
    if (max_extended >= 0x80000001) {
        CpuidResult ext1 = cpuid(0x80000001);
        f.nx = ext1.edx & (1u << 20);
        f.huge_1g = ext1.edx & (1u << 26);
    }
    f.brand[0] = '\0';
    if (max_extended >= 0x80000004) {
        for (uint32_t i = 0; i < 3; ++i) {
            CpuidResult r = cpuid(0x80000002 + i);
            const uint32_t words[4] = {r.eax, r.ebx, r.ecx, r.edx};
            copy_registers(f.brand + i * 16, words, 4);
        }
        f.brand[48] = '\0';
    }
    if (max_extended >= 0x80000007)
        f.invariant_tsc = cpuid(0x80000007).edx & (1u << 8);
}

} // namespace cpu
