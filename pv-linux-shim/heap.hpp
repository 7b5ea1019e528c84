// The shim's heap for its file system: blocks of 16 to 2048 bytes in size classes carved out of
// pool pages, larger ones as runs of whole pages.
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "allocator.hpp"
#include "page_pool.hpp"

namespace shim {

class Heap final : public Allocator {
public:
    explicit Heap(PagePool& pool) : pool_(pool) {}
    void* allocate(size_t size) override;
    void free(void* memory, size_t size) override;

private:
    static constexpr size_t kClasses = 8; // 16 << 0 .. 16 << 7 = 2048
    static size_t class_of(size_t size);

    PagePool& pool_;
    void* free_[kClasses] = {};
};

// The guest clock, for the file system's time stamps: nanoseconds since the guest started.
class GuestClock final : public Clock {
public:
    int64_t now_ns() override;
};

} // namespace shim
