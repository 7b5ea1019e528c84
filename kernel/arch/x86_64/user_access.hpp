// Copies between the kernel and user memory, after checking every page the copy touches.
#pragma once

#include <stddef.h>
#include <stdint.h>

namespace user_access {

// [address, address + length) lies in user space, does not wrap, and every page of it is
// mapped user-accessible (and writable, if `write`) under `root`.
[[nodiscard]] bool check(uint64_t root, uint64_t address, size_t length, bool write);

[[nodiscard]] bool copy_from_user(uint64_t root, void* destination, uint64_t source, size_t length);
[[nodiscard]] bool copy_to_user(uint64_t root, uint64_t destination, const void* source, size_t length);

} // namespace user_access
