// System calls for user-level drivers: interrupt lines and I/O ports.
#include "arch/x86_64/user_state.hpp"
#include "io_ports.hpp"
#include "irq.hpp"
#include "l4/abi/syscall.hpp"
#include "syscalls.hpp"
#include "task.hpp"
#include "thread.hpp"

namespace syscalls {

namespace rights = l4::abi::rights;

Error irq_control(Thread& self, Frame& f)
{
    auto found = self.task()->caps().lookup<Irq>(f.arg(0), rights::control);
    if (found.error != Error::ok)
        return found.error;
    Irq* irq = found.object;
    switch (static_cast<l4::abi::IrqOp>(f.arg(1))) {
    case l4::abi::IrqOp::bind: return irq->bind(self.task()->caps(), f.arg(2));
    case l4::abi::IrqOp::acknowledge: irq->acknowledge(); return Error::ok;
    }
    return Error::invalid_argument;
}

Error ioport_enable(Thread& self, Frame& f)
{
    auto found = self.task()->caps().lookup<IoPorts>(f.arg(0), rights::control);
    if (found.error != Error::ok)
        return found.error;
    IoPorts* ports = found.object;
    Error error = self.task()->enable_ports(ports->first(), ports->count());
    if (error == Error::ok)
        arch::io_bitmap_changed(self.task()->io_bitmap()); // effective at once for the caller
    return error;
}

} // namespace syscalls
