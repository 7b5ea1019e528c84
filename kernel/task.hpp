// Task: an address space (and, with capabilities, a capability space).
#pragma once

#include <stdint.h>

#include "cap/capability.hpp"

class Task : public cap::Object {
public:
    static constexpr cap::ObjectType kType = cap::ObjectType::task;

    // nullptr when the kernel is out of memory.
    [[nodiscard]] static Task* create(const char* name);
    void destroy();

    uint64_t page_root() const { return page_root_; }
    const char* name() const { return name_; }

    // Maps a fresh zeroed frame at `virt`; its physical address, or 0 on failure.
    [[nodiscard]] uint64_t map_new_page(uint64_t virt, bool writable, bool executable);

private:
    Task(uint64_t page_root, const char* name);

    uint64_t page_root_;
    char name_[24];
};
