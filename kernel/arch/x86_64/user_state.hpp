// The per-thread and per-task CPU state a switch loads besides the kernel stack and the
// address space: the TLS base (FS), the UTCB pointer (GS), the I/O permission bitmap. Generic
// code says what it wants; this file knows the MSRs and the TSS.
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "arch/x86_64/cpu.hpp"
#include "arch/x86_64/gdt.hpp"

namespace arch {

// Bytes of a task's I/O permission bitmap (a set bit denies the port).
constexpr size_t kIoBitmapBytes = gdt::kIoBitmapBytes;

// The thread about to run in user mode: its TLS base and its UTCB (%gs:0 holds the UTCB's
// address); then its task's I/O bitmap (nullptr: no port). (The host unit tests link a fake:
// cpu_local.hpp.)
#ifdef KESTREL_FAKE_ARCH
void load_thread_bases(uint64_t tls_base, uint64_t utcb_address);
#else
inline void load_thread_bases(uint64_t tls_base, uint64_t utcb_address)
{
    cpu::wrmsr(cpu::msr::fs_base, tls_base);
    cpu::wrmsr(cpu::msr::kernel_gs_base, utcb_address);
}
#endif
inline void load_io_bitmap(const uint8_t* io_bitmap) { gdt::set_io_bitmap(io_bitmap); }

// The running thread's TLS base changes now.
inline void set_tls_base(uint64_t base) { cpu::wrmsr(cpu::msr::fs_base, base); }

// The running task's I/O bitmap changed (or appeared): effective at once.
inline void io_bitmap_changed(const uint8_t* bitmap)
{
    gdt::forget_io_bitmap(bitmap); // the copy the TSS holds must be refreshed
    gdt::set_io_bitmap(bitmap);
}

// A task's bitmap is freed: memory reused later must be copied afresh.
inline void io_bitmap_freed(const uint8_t* bitmap) { gdt::forget_io_bitmap(bitmap); }

} // namespace arch
