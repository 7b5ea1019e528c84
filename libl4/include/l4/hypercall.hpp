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
