// The little C++ runtime the kernel needs: global constructors and the pure-virtual trap.
#include "panic.hpp"

extern "C" {
using Constructor = void (*)();
extern Constructor __init_array_start[], __init_array_end[];

void __cxa_pure_virtual() { panic("pure virtual function called"); }
}

void run_global_constructors()
{
    for (Constructor* c = __init_array_start; c != __init_array_end; ++c)
        (*c)();
}
