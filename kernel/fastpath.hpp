// The IPC fast path: the few IPC shapes a client-server loop and a guest kernel repeat all
// the time, done with a direct switch to a partner that is already waiting (fastpath.cpp).
// Each function either finishes the operation and leaves the kernel through the partner's
// user frame (it does not return; the host tests' fake arch returns true), or returns false
// having changed nothing, and the caller takes the general path (ipc.cpp), which decides
// every other case. (reply_wait also returns true when a pager's reply could not be paid for:
// its status is then in the pager's registers, as the general path would leave it.)
#pragma once

#include <stdint.h>

#include "arch/x86_64/user_context.hpp"

class Endpoint;
class Thread;

namespace fastpath {

// ipc_call and ipc_reply_wait of the current thread `self`, with its saved registers `f`.
bool call(Thread& self, arch::UserContext f);
bool reply_wait(Thread& self, arch::UserContext f);

// The kernel message `self` has staged (an exception, a foreign syscall, a page fault: see
// ipc::raise_exception) to its handler or pager `ep`, through a capability with `badge`.
bool kernel_message(Thread& self, Endpoint& ep, uint64_t badge);

} // namespace fastpath
