// The C++ ABI support user tasks may need besides start.cpp's: static guards, atexit, the DSO
// handle, abort (see l4/runtime.hpp for what each promises).
#include <stdint.h>

#include "l4/format.hpp"
#include "l4/runtime.hpp"
#include "l4/syscall.hpp"

namespace l4 {

void out_of_memory(size_t bytes)
{
    println("out of memory: new of {} bytes", bytes);
    thread_exit();
}

void abort_thread(const char* why)
{
    println("abort: {}", why);
    thread_exit();
}

} // namespace l4

namespace {

// The Itanium C++ ABI's guard: byte 0 set once the static is constructed. Byte 1 marks a
// construction in progress.
uint8_t* guard_bytes(uint64_t* guard) { return reinterpret_cast<uint8_t*>(guard); }

} // namespace

extern "C" {

// Single-threaded: see l4/runtime.hpp. Returns 1 when the caller must construct the static.
int __cxa_guard_acquire(uint64_t* guard)
{
    uint8_t* bytes = guard_bytes(guard);
    if (bytes[0] != 0)
        return 0;
    if (bytes[1] != 0)
        l4::abort_thread("recursive initialization of a function-local static");
    bytes[1] = 1;
    return 1;
}

void __cxa_guard_release(uint64_t* guard)
{
    uint8_t* bytes = guard_bytes(guard);
    bytes[1] = 0;
    bytes[0] = 1;
}

void __cxa_guard_abort(uint64_t* guard) { guard_bytes(guard)[1] = 0; }

// Destructors of statics never run: tasks end with thread_exit.
int __cxa_atexit(void (*)(void*), void*, void*) { return 0; }
int atexit(void (*)()) { return 0; }

__attribute__((visibility("hidden"))) void* __dso_handle = &__dso_handle;

void __cxa_deleted_virtual() { l4::abort_thread("deleted virtual function called"); }

[[noreturn]] void abort() { l4::abort_thread("abort() called"); }

} // extern "C"
