// IPC message tags and the typed items a message may carry.
#pragma once

#include <stdint.h>

namespace l4::abi {

constexpr uint64_t kMessageWords = 64; // untyped words in one message (UTCB mr[])
constexpr uint64_t kRegisterWords = 6; // of those, the first travel in registers
constexpr uint64_t kMaxTypedItems = 4; // capabilities in one message
constexpr uint64_t kMaxMapItems = 4;   // flexpages in one message

// The tag (rsi): what a message holds. label is free for the protocol (a method number,
// an exception vector); words, caps and pages say how much of the UTCB is message.
struct MessageTag {
    uint64_t raw;

    static constexpr MessageTag make(uint64_t label, uint64_t words, uint64_t caps = 0, uint64_t pages = 0)
    {
        return {(label << 16) | ((pages & 0x7) << 10) | ((caps & 0x7) << 7) | (words & 0x7f)};
    }
    constexpr uint64_t words() const { return raw & 0x7f; }
    constexpr uint64_t caps() const { return (raw >> 7) & 0x7; }
    constexpr uint64_t pages() const { return (raw >> 10) & 0x7; }
    constexpr uint64_t label() const { return raw >> 16; }
};

// Access rights to memory.
namespace page_rights {
constexpr uint64_t read = 1, write = 2, execute = 4, all = 7;
}

// A flexpage: the 2^order bytes at base (aligned to that size, order 12..47), with rights.
struct Flexpage {
    uint64_t raw;

    static constexpr uint64_t kMinOrder = 12, kMaxOrder = 47;
    static constexpr Flexpage make(uint64_t base, uint64_t order, uint64_t rights)
    {
        return {(base & ~uint64_t{0xfff}) | ((order & 0x3f) << 4) | (rights & 7)};
    }
    static constexpr Flexpage whole_space() { return make(0, kMaxOrder, page_rights::all); }
    constexpr uint64_t base() const { return raw & ~uint64_t{0xfff}; }
    constexpr uint64_t order() const { return (raw >> 4) & 0x3f; }
    constexpr uint64_t size() const { return uint64_t{1} << order(); }
    constexpr uint64_t rights() const { return raw & 7; }
    constexpr bool valid() const
    {
        return order() >= kMinOrder && order() <= kMaxOrder && base() % size() == 0 &&
               base() + size() <= (uint64_t{1} << kMaxOrder);
    }
};

// Memory sent in a message: `page` of the sender's space. Where it lands in the receiver's
// receive window: the window's base plus `hotspot` modulo the window's size, rounded down to
// the flexpage's size. grant: the sender loses it (otherwise it keeps it: map).
struct MapItem {
    uint64_t page; // Flexpage
    uint64_t hotspot;
    uint64_t grant; // 0 map, 1 grant
};

// Labels the kernel uses for the messages it sends on a thread's behalf.
namespace label {
constexpr uint64_t exception = 0xffff'ffff'fff0;       // exception IPC: words are ExceptionState
constexpr uint64_t foreign_syscall = 0xffff'ffff'fff1; // `syscall` of a foreign-ABI thread
constexpr uint64_t page_fault = 0xffff'ffff'fff2;      // to the pager: words PageFault; the reply maps
constexpr uint64_t notification = 0xffff'ffff'fff3;    // a receive ended by the bound notification: word 0 = bits
} // namespace label

// A page fault as the pager receives it (message words 0..2). The faulting thread's receive
// window for the reply is its whole address space.
struct PageFault {
    uint64_t address;
    uint64_t access; // page_rights: what the access needed (read, write or execute)
    uint64_t rip;
};
constexpr uint64_t kPageFaultWords = 3;

// The reply to an exception IPC: label resume_with_registers takes the reply's words as the
// new ExceptionState (registers); label resume keeps them; resume_with_rax sets rax alone (a
// foreign syscall's result); anything else leaves the thread stopped (suspended).
namespace reply_label {
constexpr uint64_t resume = 0;
constexpr uint64_t resume_with_registers = 1;
constexpr uint64_t resume_with_rax = 2; // word 0: the thread's new rax; every other register stays
} // namespace reply_label

} // namespace l4::abi
