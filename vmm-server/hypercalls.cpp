// A guest's hypercalls and vCPU faults (hypercalls.hpp).
#include "hypercalls.hpp"

#include "events.hpp"

#include "l4/abi/hypercall.hpp"
#include "l4/abi/utcb.hpp"
#include "l4/format.hpp"

namespace vmm {

namespace {

namespace abi = l4::abi;
namespace hc = abi::hc;
using hc::Call;
using hc::HcStatus;

const char* reason_name(hc::ShutdownReason reason)
{
    switch (reason) {
    case hc::ShutdownReason::poweroff: return "poweroff";
    case hc::ShutdownReason::reboot: return "reboot";
    default: return "crash";
    }
}

// x86 exception mnemonics by vector, for the report of a guest that was stopped.
const char* vector_name(uint64_t vector)
{
    static constexpr const char* kNames[] = {"#DE divide error",
                                             "#DB debug",
                                             "NMI",
                                             "#BP breakpoint",
                                             "#OF overflow",
                                             "#BR bound range",
                                             "#UD invalid opcode",
                                             "#NM device not available",
                                             "#DF double fault",
                                             "coprocessor overrun",
                                             "#TS invalid TSS",
                                             "#NP segment not present",
                                             "#SS stack fault",
                                             "#GP general protection",
                                             "#PF page fault",
                                             "reserved",
                                             "#MF x87 floating point",
                                             "#AC alignment check",
                                             "#MC machine check",
                                             "#XM SIMD floating point"};
    if (vector < sizeof kNames / sizeof kNames[0])
        return kNames[vector];
    return vector == abi::kForcedVector ? "forced exception" : "exception";
}

HcStatus console_write(Guest& guest, const l4::Message& m)
{
    const uint64_t length = m.words[0];
    if (length == 0 || length > hc::kConsoleBytes || m.tag.words() < 1 + (length + 7) / 8)
        return HcStatus::invalid_argument;
    uint8_t bytes[hc::kConsoleBytes];
    for (uint64_t i = 0; i < length; ++i)
        bytes[i] = static_cast<uint8_t>(m.words[1 + i / 8] >> (8 * (i % 8)));
    console_output(guest, bytes, length);
    return HcStatus::ok;
}

// What version() offers this guest: the console ring and the network always, the block device
// when its line named a disk.
uint64_t features(const Guest& guest)
{
    namespace f = hc::features;
    return f::console_ring | f::net | (guest.devices.disk.sectors != 0 ? f::block : 0);
}

// After a stop and its report: what the stop gave back, then a restart if the guest may have
// one (said either way).
void after_stop(Guest& guest, bool crashed)
{
    l4::println("vmm: guest \"{}\" gave back {} bytes of kernel memory", guest.config.name, guest.kernel_memory_back);
    if (!crashed || guest.config.restart != Restart::on_crash)
        return;
    if (guest.restarts == kMaxRestarts) {
        l4::println("vmm: guest \"{}\" is not restarted: it crashed {} times", guest.config.name, kMaxRestarts + 1);
        return;
    }
    ++guest.restarts;
    l4::println("vmm: restarting guest \"{}\" ({} of {})", guest.config.name, guest.restarts, kMaxRestarts);
    (void)start_guest(guest);
}

} // namespace

void set_answer(l4::Message& m, HcStatus status, uint64_t result1, uint64_t result2)
{
    m = l4::Message{};
    m.tag = abi::MessageTag::make(0, 3);
    m.words[0] = static_cast<uint64_t>(status);
    m.words[1] = result1;
    m.words[2] = result2;
}

Outcome serve_hypercall(Guest& guest, l4::Message& m)
{
    switch (static_cast<Call>(m.tag.label())) {
    case Call::version: set_answer(m, HcStatus::ok, hc::kVersion, features(guest)); return Outcome::reply;
    case Call::console_write: set_answer(m, console_write(guest, m)); return Outcome::reply;
    case Call::yield: return yield(guest, m);
    case Call::timer_set: return timer_set(guest, m);
    case Call::device_attach: set_answer(m, attach_device(guest, m)); return Outcome::reply;
    case Call::shutdown: {
        const uint64_t reason = m.words[0], status = m.words[1];
        if (m.tag.words() < 2 || reason > static_cast<uint64_t>(hc::ShutdownReason::crash) || status > 255) {
            set_answer(m, HcStatus::invalid_argument);
            return Outcome::reply;
        }
        const auto why = static_cast<hc::ShutdownReason>(reason);
        stop_guest(guest);
        // A crash says it failed, whatever its status.
        guest.exit_status = why == hc::ShutdownReason::crash && status == 0 ? kFaultStatus : status;
        l4::println("vmm: guest \"{}\" shut down ({}, status {})", guest.config.name, reason_name(why), status);
        after_stop(guest, why != hc::ShutdownReason::poweroff);
        return Outcome::no_reply;
    }
    default: set_answer(m, HcStatus::unknown_call); return Outcome::reply;
    }
}

void serve_fault(Guest& guest, const l4::Message& m)
{
    stop_guest(guest);
    guest.exit_status = kFaultStatus;
    if (m.tag.label() == abi::label::page_fault && m.tag.words() >= abi::kPageFaultWords) {
        l4::println("vmm: guest \"{}\" stopped: page fault ({} at {:#x}) at rip {:#x}", guest.config.name,
                    m.words[1] == abi::page_rights::write     ? "write"
                    : m.words[1] == abi::page_rights::execute ? "execute"
                                                              : "read",
                    m.words[0], m.words[2]);
    } else if (m.tag.label() == abi::label::exception && m.tag.words() >= abi::kExceptionWords) {
        // The first six words came in registers, the rest in the UTCB.
        uint64_t words[abi::kExceptionWords];
        __builtin_memcpy(words, m.words, sizeof m.words);
        __builtin_memcpy(words + abi::kRegisterWords, l4::utcb()->mr + abi::kRegisterWords,
                         sizeof words - sizeof m.words);
        abi::ExceptionState state;
        __builtin_memcpy(&state, words, sizeof state);
        l4::println("vmm: guest \"{}\" stopped: {} (vector {}) at rip {:#x}", guest.config.name,
                    vector_name(state.vector), state.vector, state.rip);
    } else {
        l4::println("vmm: guest \"{}\" stopped: a fault message with label {:#x}", guest.config.name, m.tag.label());
    }
    after_stop(guest, true);
}

} // namespace vmm
