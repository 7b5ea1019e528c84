// A task that dies of an invalid opcode: the kernel must stop it and only it.
#include "l4/print.hpp"

int main()
{
    l4::print("faulter: executing ud2\n");
    asm volatile("ud2");
    l4::print("faulter: survived ud2\n");
    return 0;
}
