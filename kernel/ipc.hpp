// Synchronous IPC: rendezvous on endpoints, the implicit reply capability, timeouts, and
// exception IPC. Messages move straight from the sender's saved registers and UTCB into the
// receiver's.
#pragma once

#include <stdint.h>

#include "l4/abi/error.hpp"
#include "thread.hpp"

class Endpoint;
class Reply;

namespace ipc {

using l4::abi::Error;

// What a system call returns when it blocked and whoever woke the thread already put the
// status (and results) in its saved registers.
constexpr Error kStatusSet = static_cast<Error>(~uint64_t{0});

// What a receive reports besides the message words: the tag, the badge, ok, and how many
// capabilities and 4 KiB pages arrived.
inline void complete_receive(Thread& receiver, uint64_t tag, uint64_t badge, uint64_t caps = 0, uint64_t pages = 0)
{
    arch::UserContext to = receiver.user_context();
    to.set_tag(tag);
    to.set_badge(badge);
    to.set_status(Error::ok);
    receiver.utcb().received_caps = caps;
    receiver.utcb().received_pages = pages;
}

// The message `from` sends (its checked tag, its registers and UTCB, or its kernel message)
// lands in `to`'s registers and UTCB, with `badge`.
void deliver(Thread& from, Thread& to, uint64_t badge);

// Sends the current thread's message (tag, words in registers and UTCB) through `ep`,
// as a call when `call`. Arguments were checked by the caller.
Error send(Thread& self, Endpoint& ep, uint64_t badge, bool call, uint64_t timeout);
// `replied`: a caller just answered (reply_wait), made ready here or run at once if self blocks.
Error receive(Thread& self, Endpoint& ep, uint64_t timeout, Thread* replied = nullptr);
// Answers the thread waiting for self's reply with self's message; `pages`: the 4 KiB pages
// the reply installed in the caller's space (0 for an exception reply). With `deferred`, a
// plain reply leaves the caller to the receive that follows (it is returned there).
// quota_exhausted: a page-fault reply the faulting task's quota could not pay for, and its
// faulting page is still missing; the thread still waits for self's reply (`pages` counts
// what did arrive).
Error reply(Thread& self, uint64_t& pages, Thread** deferred = nullptr);

// The map items of a pager's reply (its checked tag) reach `faulted`'s whole space: ok when
// the faulting page is there now, quota_exhausted when the faulting task's quota refused and
// that page is still missing (`pages` counts what did arrive either way).
Error map_fault_reply(Thread& pager, Thread& faulted, uint64_t& pages);

// Deferred replies: the reply self would send next (to its caller) moves into `reply`, which
// must be empty (busy otherwise; invalid_selector when self has no caller); reply_to answers
// the caller kept there (invalid_selector when it keeps none; `pages` and quota_exhausted as
// for reply, and then the caller stays kept); drop_reply ends the kept call with
// object_destroyed (the reply object is going).
Error save_reply(Thread& self, Reply& reply);
Error reply_to(Thread& self, Reply& reply, uint64_t& pages);
void drop_reply(Reply& reply);

// The sends queued on `ep` through capabilities with `badge` fail with object_destroyed (the
// last capability with that badge went, or was revoked).
void cancel_sends(Endpoint& ep, uint64_t badge);

// A receiver waiting on an endpoint gets `bits` of its bound notification instead of a
// message (tag label::notification, word 0); false (nothing done) when it is not receiving.
bool end_receive_with_bits(Thread& receiver, uint64_t bits);

// A CPU exception (or a foreign-ABI syscall) of the current thread becomes a call to its
// exception handler; false when it has none (the caller then stops it).
bool raise_exception(Thread& self, uint64_t vector, uint64_t error_code, uint64_t fault_address);

// A page fault of the current thread becomes a call to its pager; false when it has none.
bool raise_page_fault(Thread& self, uint64_t address, uint64_t access, uint64_t rip);

// Blocks the current thread waiting for `what`, for at most `timeout` ticks.
void block(Thread& self, Thread::Wait what, uint64_t timeout, Thread* hand_over = nullptr);
// Ends a thread's wait with `status` as its system call's result.
void wake(Thread& thread, Error status);
// Ends the wait of a thread blocked in IPC of its own (a send, a receive, a notification wait,
// a call waiting for its reply: not a kernel message) with Error::cancelled; a server's later
// reply to it finds no caller, as if it had been killed.
void cancel(Thread& thread);
// Takes a thread out of every IPC relation (it is being destroyed).
void detach(Thread& thread);
// True while some thread waits with a finite timeout.
bool timeouts_pending();
// Wakes threads whose timeout has passed.
void expire_timeouts(uint64_t now);

} // namespace ipc
