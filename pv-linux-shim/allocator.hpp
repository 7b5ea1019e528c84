// Where the shim's file system gets its memory: the guest's heap, or malloc in the host tests.
#pragma once

#include <stddef.h>
#include <stdint.h>

namespace shim {

class Allocator {
public:
    // nullptr when there is no memory; the caller then fails with ENOMEM.
    virtual void* allocate(size_t size) = 0;
    // `size` is what allocate was asked for.
    virtual void free(void* memory, size_t size) = 0;

protected:
    ~Allocator() = default;
};

// The time file changes are stamped with, in nanoseconds since the epoch.
class Clock {
public:
    virtual int64_t now_ns() = 0;

protected:
    ~Clock() = default;
};

} // namespace shim
