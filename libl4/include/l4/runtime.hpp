// The C++ runtime of user tasks (src/cxx_runtime.cpp, src/cxx_new.cpp).
//
// operator new and delete in every form use the heap (l4/heap.hpp). Built without exceptions,
// the throwing forms cannot throw: when the heap is out of memory they call out_of_memory(),
// which prints the request and ends the calling thread, so `new T` never yields null (the
// compiler constructs into the result without testing it). Use `new (std::nothrow) T` to get
// null instead. Sized deletes ignore the size.
//
// Function-local statics: user tasks are built with -fno-threadsafe-statics, so the compiler
// emits no guard calls; __cxa_guard_acquire/release/abort exist for code built without it and
// are single-threaded (no lock: two threads racing to the first use may both construct).
// Recursive initialization of the same static ends the thread with a message.
//
// Destructors of statics never run (tasks end with thread_exit): __cxa_atexit and atexit
// register nothing and report success.
#pragma once

#include <stddef.h>

namespace l4 {

// Prints "out of memory: new of <bytes> bytes" and ends the calling thread.
[[noreturn]] void out_of_memory(size_t bytes);

// Prints "abort" and ends the calling thread (also reached through abort()).
[[noreturn]] void abort_thread(const char* why);

} // namespace l4
