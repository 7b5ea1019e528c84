// The shape of a user address space on x86-64 (4-level paging).
#pragma once

#include <stdint.h>

namespace l4::abi {

constexpr uint64_t kPageSize = 4096;
constexpr uint64_t kUserEnd = 0x0000800000000000; // user space is [0, kUserEnd)
// Never mapped: a `syscall` ending on it would return to the non-canonical kUserEnd.
constexpr uint64_t kLastUserPage = kUserEnd - kPageSize;

} // namespace l4::abi
