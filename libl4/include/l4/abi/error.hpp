// Status codes every system call returns (in rax). Zero is success.
#pragma once

#include <stdint.h>

namespace l4::abi {

enum class Error : uint64_t {
    ok = 0,
    invalid_selector = 1,  // out of the capability space's range, or an empty slot
    wrong_type = 2,        // the capability names another kind of object
    missing_rights = 3,    // the capability lacks a right the operation needs
    bad_address = 4,       // a user pointer into the kernel half, unmapped, or wrapping
    misaligned = 5,        // an address or size not aligned as the call requires
    quota_exhausted = 6,   // the factory's kernel-memory quota cannot cover the object
    timeout = 7,           // an IPC timeout expired (zero timeout: no partner was ready)
    invalid_argument = 8,  // a malformed argument (message length, priority, flags, ...)
    unknown_syscall = 9,   // no such system call number
    slot_occupied = 10,    // the destination capability slot is not empty
    object_destroyed = 11, // the object went away while the caller waited on it
    busy = 12,             // the object is in a state that does not allow the operation
    out_of_memory = 13,    // the kernel could not get memory (not a quota matter)
    cancelled = 14,        // a blocked IPC or notification wait was ended by ThreadOp::force_exception
};

// The enumerator's name ("missing_rights"), for messages; "unknown error" for other values.
constexpr const char* error_name(Error error)
{
    switch (error) {
    case Error::ok: return "ok";
    case Error::invalid_selector: return "invalid_selector";
    case Error::wrong_type: return "wrong_type";
    case Error::missing_rights: return "missing_rights";
    case Error::bad_address: return "bad_address";
    case Error::misaligned: return "misaligned";
    case Error::quota_exhausted: return "quota_exhausted";
    case Error::timeout: return "timeout";
    case Error::invalid_argument: return "invalid_argument";
    case Error::unknown_syscall: return "unknown_syscall";
    case Error::slot_occupied: return "slot_occupied";
    case Error::object_destroyed: return "object_destroyed";
    case Error::busy: return "busy";
    case Error::out_of_memory: return "out_of_memory";
    case Error::cancelled: return "cancelled";
    }
    return "unknown error";
}

} // namespace l4::abi
