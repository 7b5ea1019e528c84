// System-call dispatch: decode the saved registers, check, act, return a status in rax.
#include "arch/x86_64/interrupts.hpp"
#include "arch/x86_64/user_access.hpp"
#include "l4/abi/error.hpp"
#include "l4/abi/syscall.hpp"
#include "log.hpp"
#include "scheduler.hpp"
#include "task.hpp"
#include "thread.hpp"

using l4::abi::Error;
using l4::abi::Syscall;

namespace {

// The arguments of a system call, as the register convention (l4/abi/syscall.hpp) has them.
struct Arguments {
    explicit Arguments(const interrupts::InterruptFrame& f) : a{f.rdi, f.rsi, f.rdx, f.r10, f.r8, f.r9} {}
    uint64_t a[6];
};

Error debug_write(const Arguments& args)
{
    uint64_t text = args.a[0];
    uint64_t length = args.a[1];
    if (length > l4::abi::kMaxDebugWrite)
        return Error::invalid_argument;
    Thread& self = scheduler::current();
    char chunk[256];
    for (uint64_t done = 0; done < length;) {
        size_t part = length - done < sizeof chunk ? static_cast<size_t>(length - done) : sizeof chunk;
        if (!user_access::copy_from_user(self.task()->page_root(), chunk, text + done, part))
            return Error::bad_address;
        klog::print("{}", fmt::Str{chunk, part});
        done += part;
    }
    return Error::ok;
}

} // namespace

extern "C" void syscall_dispatch(interrupts::InterruptFrame* frame)
{
    Arguments args(*frame);
    Error result;
    switch (static_cast<Syscall>(frame->rax)) {
    case Syscall::debug_write:
        result = debug_write(args);
        break;
    case Syscall::thread_exit:
        scheduler::exit_current();
        return;
    case Syscall::yield:
        frame->rax = static_cast<uint64_t>(Error::ok);
        scheduler::yield();
        return;
    default:
        result = Error::unknown_syscall;
        break;
    }
    frame->rax = static_cast<uint64_t>(result);
    scheduler::preempt_if_needed();
}
