// Synchronous IPC: rendezvous on endpoints, the implicit reply capability, timeouts, and
// exception IPC. Messages move straight from the sender's saved registers and UTCB into the
// receiver's.
#pragma once

#include <stdint.h>

#include "l4/abi/error.hpp"
#include "thread.hpp"

class Endpoint;

namespace ipc {

using l4::abi::Error;

// What a system call returns when it blocked and whoever woke the thread already put the
// status (and results) in its saved registers.
constexpr Error kStatusSet = static_cast<Error>(~uint64_t{0});

// Sends the current thread's message (tag, words in registers and UTCB) through `ep`,
// as a call when `call`. Arguments were checked by the caller.
Error send(Thread& self, Endpoint& ep, uint64_t badge, bool call, uint64_t timeout);
// `replied`: a caller just answered (reply_wait), made ready here or run at once if self blocks.
Error receive(Thread& self, Endpoint& ep, uint64_t timeout, Thread* replied = nullptr);
// Answers the thread waiting for self's reply with self's message. With `deferred`, a plain
// reply leaves the caller to the receive that follows (it is returned there).
Error reply(Thread& self);
Error reply(Thread& self, Thread** deferred);

// A CPU exception (or a foreign-ABI syscall) of the current thread becomes a call to its
// exception handler; false when it has none (the caller then stops it).
bool raise_exception(Thread& self, uint64_t vector, uint64_t error_code, uint64_t fault_address);

// A page fault of the current thread becomes a call to its pager; false when it has none.
bool raise_page_fault(Thread& self, uint64_t address, uint64_t access, uint64_t rip);

// Blocks the current thread waiting for `what`, for at most `timeout` ticks.
void block(Thread& self, Thread::Wait what, uint64_t timeout, Thread* hand_over = nullptr);
// Ends a thread's wait with `status` as its system call's result.
void wake(Thread& thread, Error status);
// Takes a thread out of every IPC relation (it is being destroyed).
void detach(Thread& thread);
// True while some thread waits with a finite timeout.
bool timeouts_pending();
// Wakes threads whose timeout has passed.
void expire_timeouts(uint64_t now);

} // namespace ipc
