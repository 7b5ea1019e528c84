// The sigma0 protocol: calls on l4::abi::boot::kSigma0EndpointSelector (docs/sigma0.md).
#pragma once

#include <stdint.h>

namespace l4::abi::sigma0 {

// Request labels. The reply's label is an l4::abi::Error (0: ok).
enum class Request : uint64_t {
    allocate = 1,     // words: order (12..22), alignment order (>= order, <= 22); maps 2^order
                      // bytes of free memory into the caller's receive window
    map_physical = 2, // words: physical base, order (12..22): device memory, module data or
                      // firmware tables at that address (never free memory, never the kernel's)
    memory_map = 3,   // reply words: count, then (base, size, kind) per region, up to 20
    free_pages = 4,   // reply word 0: 4 KiB pages still free to hand out
    io_ports = 5,     // words: first port, count (1..65536, first + count <= 65536); the reply
                      // carries an I/O port capability (all rights) for exactly that range
    irq = 6,          // word: line (0..15, not 2); the reply carries a copy of sigma0's
                      // capability to that line; each line once (busy after)
};

constexpr uint64_t kMinOrder = 12;
constexpr uint64_t kMaxOrder = 22;
constexpr uint64_t kMemoryMapEntries = 20;
constexpr uint64_t kIoPorts = 65536; // ports 0..65535

} // namespace l4::abi::sigma0
