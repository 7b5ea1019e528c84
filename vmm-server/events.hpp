// Events from the VMM to a guest: raising a source on its vCPU page and signalling its event
// notification, yields that wait for an event, the one-shot timer, and the guest clock
// (docs/hypercalls.md, "The vCPU page").
#pragma once

#include <stdint.h>

#include "l4/abi/boot_info.hpp"
#include "l4/syscall.hpp"

namespace vmm {

struct Guest;
enum class Outcome;

// Takes the TSC rate and the kernel tick from the boot information.
void init_clock(const l4::abi::BootInfo& info);

uint64_t read_tsc();

// Guest nanoseconds: 0 at the guest's start.
uint64_t guest_now(const Guest& guest);

// Sets up the vCPU page's clock of a guest that starts now.
void start_clock(Guest& guest);

// Raises `source` for the guest: its pending bit, the signal when unmasked, the end of a yield.
void raise(Guest& guest, uint64_t source);

// The hypercalls; m holds the call and, for a reply, the answer.
Outcome timer_set(Guest& guest, l4::Message& m);
Outcome yield(Guest& guest, l4::Message& m);

// The IPC timeout (in kernel ticks) until the earliest guest timer, kTimeoutNever when none.
uint64_t next_timeout(const Guest* guests, uint64_t count);

// Raises the timer of every guest whose deadline has passed.
void fire_timers(Guest* guests, uint64_t count);

} // namespace vmm
