// Status codes every system call returns (in rax). Zero is success.
#pragma once

#include <stdint.h>

namespace l4::abi {

enum class Error : uint64_t {
    ok = 0,
    invalid_selector = 1,   // out of the capability space's range, or an empty slot
    wrong_type = 2,         // the capability names another kind of object
    missing_rights = 3,     // the capability lacks a right the operation needs
    bad_address = 4,        // a user pointer into the kernel half, unmapped, or wrapping
    misaligned = 5,         // an address or size not aligned as the call requires
    quota_exhausted = 6,    // the factory's kernel-memory quota cannot cover the object
    timeout = 7,            // an IPC timeout expired (zero timeout: no partner was ready)
    invalid_argument = 8,   // a malformed argument (message length, priority, flags, ...)
    unknown_syscall = 9,    // no such system call number
    slot_occupied = 10,     // the destination capability slot is not empty
    object_destroyed = 11,  // the object went away while the caller waited on it
    busy = 12,              // the object is in a state that does not allow the operation
    out_of_memory = 13,     // the kernel could not get memory (not a quota matter)
};

} // namespace l4::abi
