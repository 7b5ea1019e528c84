// Hypercalls from a guest kernel (l4/abi/hypercall.hpp, docs/hypercalls.md): one inline call
// each, over l4::call on the VMM's endpoint. Header-only, so that a guest links no libl4.
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "l4/abi/hypercall.hpp"
#include "l4/syscall.hpp"

namespace l4::hc {

using abi::hc::Call;
using abi::hc::HcStatus;

// A hypercall with the given number and argument words; the reply lands in `m`. The status is
// reply word 0, or invalid_argument when the IPC itself failed (the VMM is gone).
inline HcStatus hypercall(Call number, Message& m, uint64_t words)
{
    m.tag = abi::MessageTag::make(static_cast<uint64_t>(number), words);
    if (call(abi::hc::kHypercallSelector, m) != Error::ok)
        return HcStatus::invalid_argument;
    return static_cast<HcStatus>(m.words[0]);
}

// A hypercall of any number with these argument words (the tag says `words` of them): for
// tests that send what a careless or hostile guest might.
inline HcStatus raw_hypercall(uint64_t number, uint64_t words, uint64_t w0 = 0, uint64_t w1 = 0, uint64_t w2 = 0,
                              uint64_t w3 = 0, uint64_t w4 = 0)
{
    Message m;
    m.words[0] = w0;
    m.words[1] = w1;
    m.words[2] = w2;
    m.words[3] = w3;
    m.words[4] = w4;
    return hypercall(static_cast<Call>(number), m, words);
}

inline HcStatus version(uint64_t& version, uint64_t& features)
{
    Message m;
    const HcStatus s = hypercall(Call::version, m, 0);
    version = m.words[1];
    features = m.words[2];
    return s;
}

// Up to kConsoleBytes bytes of `text`, packed into words 1..5.
inline HcStatus console_write(const char* text, size_t length)
{
    Message m;
    m.words[0] = length;
    for (size_t i = 0; i < length && i < abi::hc::kConsoleBytes; ++i)
        m.words[1 + i / 8] |= uint64_t{static_cast<uint8_t>(text[i])} << (8 * (i % 8));
    return hypercall(Call::console_write, m, 1 + (length + 7) / 8 < 6 ? 1 + (length + 7) / 8 : 6);
}

inline HcStatus yield()
{
    Message m;
    return hypercall(Call::yield, m, 0);
}

// One-shot timer at `deadline` guest nanoseconds (now_ns()); 0 cancels. Raises source timer.
inline HcStatus timer_set(uint64_t deadline)
{
    Message m;
    m.words[0] = deadline;
    return hypercall(Call::timer_set, m, 1);
}

// The device's ring area and data area, in guest memory; the ring header's entries set first.
inline HcStatus device_attach(abi::hc::DeviceKind kind, const void* ring, uint64_t ring_bytes, const void* data,
                              uint64_t data_bytes)
{
    Message m;
    m.words[0] = static_cast<uint64_t>(kind);
    m.words[1] = reinterpret_cast<uint64_t>(ring);
    m.words[2] = ring_bytes;
    m.words[3] = reinterpret_cast<uint64_t>(data);
    m.words[4] = data_bytes;
    return hypercall(Call::device_attach, m, 5);
}

// Tells the VMM that a device's rings have new requests (any device: it looks at them all).
inline void doorbell() { (void)notify_signal(abi::hc::kDoorbellSelector, 0); }

// The vCPU page the VMM shares with this vCPU.
inline abi::hc::VcpuPage& vcpu() { return *reinterpret_cast<abi::hc::VcpuPage*>(abi::hc::kVcpuPageAddress); }

// Guest nanoseconds since the guest started, read from the vCPU page without a hypercall.
inline uint64_t now_ns()
{
    const abi::hc::VcpuPage& page = vcpu();
    for (;;) {
        const uint64_t sequence = __atomic_load_n(&page.time_sequence, __ATOMIC_ACQUIRE);
        uint32_t lo, hi;
        __asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
        const uint64_t tsc = uint64_t{hi} << 32 | lo;
        const uint64_t ns = page.ns_base + abi::hc::scale_tsc(tsc - page.tsc_base, page.mul, page.shift);
        __atomic_thread_fence(__ATOMIC_ACQUIRE);
        if (sequence % 2 == 0 && __atomic_load_n(&page.time_sequence, __ATOMIC_ACQUIRE) == sequence)
            return ns;
    }
}

// Takes the pending sources (a bit per hc::source), clearing them and the pending flag.
inline uint64_t take_events()
{
    abi::hc::VcpuPage& page = vcpu();
    __atomic_store_n(&page.pending, 0, __ATOMIC_SEQ_CST);
    return __atomic_exchange_n(&page.pending_sources, 0, __ATOMIC_SEQ_CST);
}

inline void mask_events() { __atomic_store_n(&vcpu().masked, 1, __ATOMIC_SEQ_CST); }

// Unmasks, then looks: true when an event came while masked (take_events() then).
inline bool unmask_events()
{
    abi::hc::VcpuPage& page = vcpu();
    __atomic_store_n(&page.masked, 0, __ATOMIC_SEQ_CST);
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    return __atomic_load_n(&page.pending, __ATOMIC_SEQ_CST) != 0;
}

inline void enable_sources(uint64_t bits) { __atomic_fetch_or(&vcpu().enabled_sources, bits, __ATOMIC_SEQ_CST); }

// The start-info page the VMM mapped read-only.
inline const abi::hc::StartInfo& start_info()
{
    return *reinterpret_cast<const abi::hc::StartInfo*>(abi::hc::kStartInfoAddress);
}

// Returns only when the VMM refused the arguments.
inline HcStatus shutdown(abi::hc::ShutdownReason reason, uint64_t status)
{
    Message m;
    m.words[0] = static_cast<uint64_t>(reason);
    m.words[1] = status;
    return hypercall(Call::shutdown, m, 2);
}

} // namespace l4::hc
