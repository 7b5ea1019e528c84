// Serving a guest: its hypercalls (docs/hypercalls.md) and its vCPU's faults.
#pragma once

#include "guest.hpp"
#include "l4/syscall.hpp"

namespace vmm {

enum class Outcome { reply, no_reply };

// Makes `m` the reply: status in word 0, results in words 1 and 2.
void set_answer(l4::Message& m, HcStatus status, uint64_t result1 = 0, uint64_t result2 = 0);

// The hypercall `m` of the running guest: `m` becomes the reply (Outcome::reply), or the guest
// was shut down (and restarted, if it asked to) and no one waits for a reply.
Outcome serve_hypercall(Guest& guest, l4::Message& m);

// An exception or page fault of the guest's vCPU (all of its memory is mapped, so any fault is
// the guest's own doing): the guest is stopped, and restarted if its line says restart=on-crash.
void serve_fault(Guest& guest, const l4::Message& m);

} // namespace vmm
