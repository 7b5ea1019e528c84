// Trap policy: a user fault goes to the thread's pager or exception handler as IPC, and a
// thread without one is stopped, alone; sigma0's window is filled by the kernel itself.
#include "trap.hpp"

#include "arch/x86_64/interrupts.hpp"
#include "ipc.hpp"
#include "irq.hpp"
#include "log.hpp"
#include "objects.hpp"
#include "scheduler.hpp"
#include "task.hpp"
#include "thread.hpp"
#include "user_return.hpp"
#include "vm.hpp"

namespace trap {
namespace {

void stop(Thread& thread, uint64_t vector, uint64_t error_code, uint64_t fault_address, uint64_t ip)
{
    klog::error("thread \"{}\": {} (vector {}) at rip {:#x}, error code {:#x}, cr2 {:#x}: thread stopped",
                thread.name(), interrupts::exception_name(vector), vector, ip, error_code, fault_address);
    kill_thread(thread);
}

} // namespace

bool user_page_fault(uint64_t address, uint64_t access, bool not_present, uint64_t ip)
{
    Thread& thread = scheduler::current();
    if (thread.task()->is_sigma0() && not_present && vm::sigma0_fault(*thread.task(), address))
        return true;
    if (!ipc::raise_page_fault(thread, address, access, ip))
        return false;
    user_return::check(thread); // killed meanwhile, or forced after the pager's answer
    return true;
}

void user_exception(uint64_t vector, uint64_t error_code, uint64_t fault_address, uint64_t ip)
{
    Thread& thread = scheduler::current();
    if (!ipc::raise_exception(thread, vector, error_code, fault_address))
        stop(thread, vector, error_code, fault_address, ip);
    user_return::check(thread);
}

void timer_tick(uint64_t now)
{
    ipc::expire_timeouts(now);
    scheduler::timer_tick();
}

void device_interrupt(uint32_t line)
{
    Irq::deliver(line);
    scheduler::preempt_if_needed(); // the driver may outrank what was interrupted
}

} // namespace trap
