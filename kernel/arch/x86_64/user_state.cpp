// The per-thread CPU state a switch loads (user_state.hpp).
#include "arch/x86_64/user_state.hpp"

namespace arch {

void load_thread_bases(uint64_t tls_base, uint64_t utcb_address)
{
    cpu::wrmsr(msr::fs_base, tls_base);
    cpu::wrmsr(msr::kernel_gs_base, utcb_address);
}

} // namespace arch
