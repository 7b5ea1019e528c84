// System-call handlers: each decodes the saved registers, looks up and validates its
// capabilities, acts, and returns a status (ipc::kStatusSet when it blocked and the status
// was already written by whoever woke it).
#pragma once

#include "arch/x86_64/user_context.hpp"
#include "l4/abi/error.hpp"

class Thread;

namespace syscalls {

using Error = l4::abi::Error;
using Frame = arch::UserContext;
using Handler = Error (*)(Thread& self, Frame& frame);

Error ipc_call(Thread& self, Frame& f);
Error ipc_send(Thread& self, Frame& f);
Error ipc_receive(Thread& self, Frame& f);
Error ipc_reply_wait(Thread& self, Frame& f);
Error ipc_reply(Thread& self, Frame& f);
Error notify_signal(Thread& self, Frame& f);
Error notify_wait(Thread& self, Frame& f);
Error reply_save(Thread& self, Frame& f);
Error reply_to(Thread& self, Frame& f);
Error notify_poll(Thread& self, Frame& f);

Error cap_copy(Thread& self, Frame& f);
Error cap_copy_to(Thread& self, Frame& f);
Error cap_delete(Thread& self, Frame& f);
Error cap_revoke(Thread& self, Frame& f);
Error factory_create(Thread& self, Frame& f);

Error thread_control(Thread& self, Frame& f);

Error irq_control(Thread& self, Frame& f);
Error ioport_enable(Thread& self, Frame& f);
Error memory_unmap(Thread& self, Frame& f);
Error memory_map_to(Thread& self, Frame& f);
Error memory_unmap_in(Thread& self, Frame& f);

} // namespace syscalls
