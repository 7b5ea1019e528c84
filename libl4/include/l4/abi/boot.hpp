// The capabilities a boot task (sigma0, the root task) finds in its capability space.
#pragma once

#include <stdint.h>

namespace l4::abi::boot {

constexpr uint64_t kTaskSelector = 0;      // its own task (control)
constexpr uint64_t kThreadSelector = 1;    // its first thread (control)
constexpr uint64_t kFactorySelector = 2;   // a factory holding its kernel-memory quota
constexpr uint64_t kFirstFreeSelector = 16;
constexpr uint64_t kBootTaskSlots = 1024;
constexpr uint64_t kBootQuotaBytes = 4 * 1024 * 1024;

} // namespace l4::abi::boot
