// What a thread does on its way back to user mode, and the force that asks for it.
#include "user_return.hpp"

#include "endpoint.hpp"
#include "ipc.hpp"
#include "l4/abi/rights.hpp"
#include "l4/abi/utcb.hpp"
#include "scheduler.hpp"

namespace user_return {

using l4::abi::Error;

Error force_exception(Thread& target)
{
    if (target.state() == Thread::State::inactive || target.kernel_message)
        return Error::busy;
    auto handler = target.special_caps().lookup<Endpoint>(Thread::exception_handler, l4::abi::rights::send);
    if (handler.error != Error::ok)
        return Error::invalid_argument; // stop() would kill it: refused, so that no guest kills by accident
    if ((target.return_work & Thread::forced_exception) != 0)
        return Error::ok;
    target.return_work |= Thread::forced_exception;
    if (target.state() == Thread::State::blocked)
        ipc::cancel(target); // ready (or suspended) now; the status is in its registers
    return Error::ok;
}

void run(Thread& self)
{
    while (self.return_work != 0) {
        if (self.dying())
            scheduler::exit_current();
        self.return_work &= static_cast<uint8_t>(~Thread::forced_exception);
        // A handler that went since the force was asked for: the force is dropped.
        (void)ipc::raise_exception(self, l4::abi::kForcedVector, 0, 0);
    }
}

} // namespace user_return
