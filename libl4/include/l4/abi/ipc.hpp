// IPC message tags and the typed items a message may carry.
#pragma once

#include <stdint.h>

namespace l4::abi {

constexpr uint64_t kMessageWords = 64;     // untyped words in one message (UTCB mr[])
constexpr uint64_t kRegisterWords = 6;     // of those, the first travel in registers
constexpr uint64_t kMaxTypedItems = 4;     // capabilities in one message

// The tag (rsi): what a message holds. label is free for the protocol (a method number,
// an exception vector); words and caps say how much of the UTCB is message.
struct MessageTag {
    uint64_t raw;

    static constexpr MessageTag make(uint64_t label, uint64_t words, uint64_t caps = 0)
    {
        return {(label << 16) | ((caps & 0x7) << 7) | (words & 0x7f)};
    }
    constexpr uint64_t words() const { return raw & 0x7f; }
    constexpr uint64_t caps() const { return (raw >> 7) & 0x7; }
    constexpr uint64_t label() const { return raw >> 16; }
};

// Labels the kernel uses for the messages it sends on a thread's behalf.
namespace label {
constexpr uint64_t exception = 0xffff'ffff'fff0;   // exception IPC: words are ExceptionState
constexpr uint64_t foreign_syscall = 0xffff'ffff'fff1; // `syscall` of a foreign-ABI thread
} // namespace label

// The reply to an exception IPC: label resume_with_registers takes the reply's words as the
// new ExceptionState (registers); label resume keeps them; anything else leaves the thread
// stopped (suspended).
namespace reply_label {
constexpr uint64_t resume = 0;
constexpr uint64_t resume_with_registers = 1;
} // namespace reply_label

} // namespace l4::abi
