// Threads: create one from a factory and start it on a stack of the caller's, in a few lines.
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "l4/syscall.hpp"

namespace l4 {

// What a thread runs. It may return: the thread then exits (thread_exit).
using ThreadBody = void (*)();

// Starts the created thread `thread` at `body` on the stack [stack, stack + size), which the
// caller keeps (and does not touch) while the thread lives. The thread starts as if called:
// the stack is 16-byte aligned as the ABI wants. invalid_argument for a null body or stack, or
// a stack under 64 bytes; otherwise thread_control(start)'s errors.
[[nodiscard]] Error start_thread(Selector thread, ThreadBody body, void* stack, size_t size);

// factory_create(thread) in `task` at `slot` with `priority`, then start_thread. On an error
// of the start the thread is deleted again, so nothing is left behind.
[[nodiscard]] Error spawn_thread(Selector factory, Selector task, Selector slot, uint64_t priority, ThreadBody body,
                                 void* stack, size_t size);

} // namespace l4
