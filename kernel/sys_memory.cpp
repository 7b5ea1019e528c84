// System calls on another task's memory: what a server that owns its clients' memory needs
// (a VMM, a guest kernel whose processes are tasks) besides IPC map items.
#include "l4/abi/syscall.hpp"
#include "syscalls.hpp"
#include "task.hpp"
#include "thread.hpp"
#include "vm.hpp"

namespace syscalls {
namespace {

// The task a call is aimed at (control right; not the caller's own: memory_unmap and IPC map
// items are for that), and its flags; rsi counts pages from here on, 0 until some are.
Error aimed_at(Thread& self, Frame& f, uint64_t flags, Task*& task)
{
    f.set_result(1, 0);
    auto found = self.task()->caps().lookup<Task>(f.arg(0), l4::abi::rights::control);
    if (found.error != Error::ok)
        return found.error;
    if (found.object == self.task() || flags != 0)
        return Error::invalid_argument;
    task = found.object;
    return Error::ok;
}

} // namespace

Error memory_map_to(Thread& self, Frame& f)
{
    l4::abi::Flexpage page{f.arg(1)};
    uint64_t destination = f.arg(2);
    Task* target = nullptr;
    Error error = aimed_at(self, f, f.arg(3), target);
    if (error != Error::ok)
        return error;
    uint64_t mapped = 0;
    error = vm::map_to(*self.task(), page, *target, destination, mapped);
    f.set_result(1, mapped);
    return error;
}

Error memory_unmap_in(Thread& self, Frame& f)
{
    l4::abi::Flexpage page{f.arg(1)};
    Task* target = nullptr;
    Error error = aimed_at(self, f, f.arg(2), target);
    if (error != Error::ok)
        return error;
    uint64_t affected = 0;
    error = vm::unmap_in(*target, page, affected);
    f.set_result(1, affected);
    return error;
}

} // namespace syscalls
