// C++ start-up for user tasks: global constructors, main, thread exit.
#include "l4/syscall.hpp"

extern "C" {
using Constructor = void (*)();
extern Constructor __init_array_start[], __init_array_end[];
int main();

[[noreturn]] void l4_start()
{
    for (Constructor* c = __init_array_start; c != __init_array_end; ++c)
        (*c)();
    main();
    l4::thread_exit();
}

void __cxa_pure_virtual()
{
    static const char message[] = "pure virtual function called\n";
    l4::debug_write(message, sizeof message - 1);
    l4::thread_exit();
}
}
