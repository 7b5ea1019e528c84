// The way back to user mode: a thread marked dying exits there, and a forced exception
// (ThreadOp::force_exception) becomes exception IPC there, with the registers the thread would
// have gone on with. Every kernel exit to user mode passes check() once it will switch no more.
#pragma once

#include "l4/abi/error.hpp"
#include "thread.hpp"

namespace user_return {

// ThreadOp::force_exception on `target` (alive: thread_control checked): it calls its exception
// handler with vector kForcedVector before it runs user code again. A blocked IPC of its own is
// cancelled first (Error::cancelled in its status register). busy: never started, or its
// handler or pager has it already (a kernel message); invalid_argument: it has no exception
// handler (nothing changes). Asked again before it got there: still one exception.
l4::abi::Error force_exception(Thread& target);

// check()'s slow path: exits a dying thread; raises the forced exception (for as long as a new
// one is asked for while the handler has it).
void run(Thread& self);

inline void check(Thread& self)
{
    if (self.return_work != 0) [[unlikely]]
        run(self);
}

} // namespace user_return
