// System-call dispatch: one table, indexed by the clamped number.
#include "syscalls.hpp"

#include "arch/x86_64/cpu_local_offsets.hpp"
#include "arch/x86_64/platform.hpp"
#include "arch/x86_64/user_access.hpp"
#include "fastpath.hpp"
#include "ipc.hpp"
#include "l4/abi/syscall.hpp"
#include "log.hpp"
#include "objects.hpp"
#include "scheduler.hpp"
#include "task.hpp"
#include "thread.hpp"
#include "user_return.hpp"

using l4::abi::Error;
using l4::abi::Syscall;

namespace syscalls {
namespace {

// The console is polled with interrupts off, so the kernel writes in slices (about 6 ms at
// 115200 baud) and looks for a waiting interrupt after each: when one waits, the call
// restarts from user mode, where interrupts are on, with its arguments advanced past what
// was written.
constexpr uint64_t kDebugWriteSlice = 64;

Error debug_write(Thread& self, Frame& f)
{
    uint64_t text = f.arg(0);
    uint64_t length = f.arg(1);
    if (length > l4::abi::kMaxDebugWrite)
        return Error::invalid_argument;
    char chunk[kDebugWriteSlice];
    uint64_t done = 0;
    do {
        size_t part = length - done < sizeof chunk ? static_cast<size_t>(length - done) : sizeof chunk;
        if (!user_access::copy_from_user(self.task()->page_root(), chunk, text + done, part))
            return Error::bad_address;
        klog::print("{}", fmt::Str{chunk, part});
        done += part;
    } while (done < length && !platform::interrupt_waiting());
    if (done == length)
        return Error::ok;
    // Lines of other threads may come between slices, so only when an interrupt waits.
    f.set_arg(0, text + done);
    f.set_arg(1, length - done);
    f.set_syscall_number(static_cast<uint64_t>(Syscall::debug_write));
    f.restart_syscall();
    return ipc::kStatusSet;
}

Error thread_exit(Thread& self, Frame&)
{
    kill_thread(self); // marks it dying: it ends on the way out
    return Error::ok;
}

Error yield(Thread&, Frame& f)
{
    f.set_status(Error::ok);
    scheduler::yield();
    return ipc::kStatusSet;
}

Error unknown(Thread&, Frame&) { return Error::unknown_syscall; }

// Not ours to interpret: the thread's exception handler emulates it. Out of line, so that the
// native path's kernel exit stays one test.
[[gnu::noinline]] void foreign_syscall(Thread& self, Frame& f)
{
    if (!ipc::raise_exception(self, l4::abi::kForeignSyscallVector, 0, 0)) {
        klog::error("thread \"{}\": foreign-ABI syscall {} and no exception handler: thread stopped", self.name(),
                    f.syscall_number());
        kill_thread(self);
    }
}

constexpr Handler kHandlers[] = {
    debug_write,     thread_exit,    yield,       ipc_call,      ipc_send,     ipc_receive, ipc_reply_wait,
    ipc_reply,       notify_signal,  notify_wait, notify_poll,   cap_copy,     cap_delete,  cap_revoke,
    factory_create,  thread_control, irq_control, ioport_enable, memory_unmap, cap_copy_to, memory_map_to,
    memory_unmap_in, reply_save,     reply_to,    unknown,
};
static_assert(sizeof kHandlers / sizeof kHandlers[0] == static_cast<size_t>(Syscall::count) + 1);

} // namespace
} // namespace syscalls

extern "C" void syscall_dispatch(interrupts::InterruptFrame* frame)
{
    Thread& self = scheduler::current();
    arch::UserContext context{*frame};
    if (self.foreign_abi) {
        syscalls::foreign_syscall(self, context);
    } else {
        constexpr uint64_t last = static_cast<uint64_t>(Syscall::count);
        uint64_t number = context.syscall_number() < last ? context.syscall_number() : last;
        Error result = syscalls::kHandlers[number](self, context);
        if (result != ipc::kStatusSet)
            context.set_status(result);
    }
    user_return::check(self); // exits a dying thread, raises a forced exception
    scheduler::preempt_if_needed();
}

// entry.S sends the system calls from ipc_call to ipc_reply_wait here: two of them may take
// the fast path, which returns only when it cannot.
static_assert(SYSCALL_FIRST_FAST == static_cast<uint64_t>(Syscall::ipc_call));
static_assert(SYSCALL_LAST_FAST == static_cast<uint64_t>(Syscall::ipc_reply_wait));
extern "C" void syscall_dispatch_ipc(interrupts::InterruptFrame* frame)
{
    Thread& self = scheduler::current();
    arch::UserContext context{*frame};
    if (self.foreign_abi == 0) {
        if (context.syscall_number() == static_cast<uint64_t>(Syscall::ipc_call))
            (void)fastpath::call(self, context); // true only in host tests
        else if (context.syscall_number() == static_cast<uint64_t>(Syscall::ipc_reply_wait) &&
                 fastpath::reply_wait(self, context))
            return; // a refused pager reply: its status is set
    }
    syscall_dispatch(frame);
}
