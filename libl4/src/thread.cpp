// Threads (l4/thread.hpp). A new thread starts at l4_thread_entry with its body on the stack:
// the entry pops it, calls it with the stack aligned, and exits the thread when it returns.
#include "l4/thread.hpp"

extern "C" char l4_thread_entry[];

asm(R"(
    .text
    .globl l4_thread_entry
    .type l4_thread_entry, @function
l4_thread_entry:
    pop %rax                /* the body; rsp is now 16-byte aligned */
    xor %ebp, %ebp          /* the end of backtraces */
    call *%rax
    mov $1, %eax            /* thread_exit: checked below */
    syscall
    ud2
)");
// File-scope asm takes no operands: the number it writes is tied to the ABI here.
static_assert(static_cast<uint64_t>(l4::abi::Syscall::thread_exit) == 1);

namespace l4 {

Error start_thread(Selector thread, ThreadBody body, void* stack, size_t size)
{
    constexpr size_t kMinStack = 64;
    if (body == nullptr || stack == nullptr || size < kMinStack)
        return Error::invalid_argument;
    auto top = (reinterpret_cast<uint64_t>(stack) + size) & ~uint64_t{15};
    auto* slot = reinterpret_cast<uint64_t*>(top - 8);
    *slot = reinterpret_cast<uint64_t>(body);
    return thread_start(thread, reinterpret_cast<uint64_t>(l4_thread_entry), reinterpret_cast<uint64_t>(slot));
}

Error spawn_thread(Selector factory, Selector task, Selector slot, uint64_t priority, ThreadBody body, void* stack,
                   size_t size)
{
    Error e = factory_create(factory, abi::ObjectKind::thread, slot, task, priority);
    if (e != Error::ok)
        return e;
    e = start_thread(slot, body, stack, size);
    if (e != Error::ok)
        (void)cap_delete(slot);
    return e;
}

} // namespace l4
