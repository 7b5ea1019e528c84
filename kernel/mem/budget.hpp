// The kernel's memory budget, planned once at boot from the free memory: the pool the kernel
// keeps for itself, the mapping database sized for every quota, and the boot tasks' quotas.
#pragma once

#include <stdint.h>

#include "mem/mapping_db.hpp"

namespace mem {

// What one mapping costs its holder's quota: a database node and its two index slots.
constexpr uint64_t kMappingCost = sizeof(Mapping) + 2 * sizeof(uint32_t);

// The database's storage for `nodes` nodes, whole pages each: the nodes, and the index.
struct DatabaseSize {
    uint64_t node_pages;
    uint64_t index_pages;
    uint64_t bytes() const;
};
DatabaseSize database_size(uint64_t nodes);

struct Budget {
    uint64_t pool_bytes;     // free memory the kernel keeps, lowest first; sigma0 gets the rest
    uint64_t database_nodes; // as many as all quotas together can pay for, plus one
    uint64_t sigma0_quota;   // boot module 0
    uint64_t root_quota;     // boot module 1; 0 when there is none (sigma0 then has it all)
    uint64_t quotas() const { return sigma0_quota + root_quota; }
};

// The plan for `free_bytes` of free memory at boot, of which `fixed_bytes` go to the kernel's
// own tables before any quota (sigma0's frame bitmap, the boot information), with or without
// a root task. The pool is a quarter of free memory (16-256 MiB, whole MiB); of it, a reserve
// stays for objects charged to nobody, and the rest is split evenly between the quotas and
// the database that can hold every node they could pay for. sigma0 beside a root task gets
// what mapping each of its pages once costs, plus kSigma0Objects; the root task the rest.
Budget plan_budget(uint64_t free_bytes, uint64_t fixed_bytes, bool root_task);

constexpr uint64_t kMiB = 1024 * 1024;
constexpr uint64_t kMinPool = 16 * kMiB;
constexpr uint64_t kMaxPool = 256 * kMiB;
constexpr uint64_t kKernelReserve = 2 * kMiB; // root factories, the idle thread, heap slack
constexpr uint64_t kSigma0Objects = 4 * kMiB; // sigma0's own objects beside a root task
// A page's share of the page tables that map it: one 8-byte entry of a page table, and a
// generous share of the tables above.
constexpr uint64_t kTableShare = 16;

} // namespace mem
