// A guest that crashes, the way its command line (after `--`) says: `ud2` executes an invalid
// opcode, `wild-write` writes outside its memory. The VMM is to stop it, report it, and restart
// it when asked to, while other guests go on; `privileged` executes cli, which user mode may
// not. `exit N` powers off with status N instead.
#include "common/string.hpp"
#include "l4/guest_console.hpp"
#include "l4/hypercall.hpp"

// The vCPU starts in crt0.S with rsp at the top of guest memory.
extern "C" [[noreturn]] void l4_start()
{
    const l4::abi::hc::StartInfo& info = l4::hc::start_info();
    if (memcmp(info.cmdline, "exit ", 5) == 0) {
        uint64_t status = 0;
        for (const char* digit = info.cmdline + 5; *digit >= '0' && *digit <= '9'; ++digit)
            status = status * 10 + static_cast<uint64_t>(*digit - '0');
        (void)l4::hc::shutdown(l4::abi::hc::ShutdownReason::poweroff, status);
    }
    l4::hc::println("crash-test: \"{}\" crashes with {}", info.name, info.cmdline);
    if (memcmp(info.cmdline, "wild-write", sizeof "wild-write") == 0)
        *reinterpret_cast<volatile uint64_t*>(info.memory_base + info.memory_size + 0x10000) = 1;
    if (memcmp(info.cmdline, "privileged", sizeof "privileged") == 0)
        asm volatile("cli");
    __builtin_trap(); // ud2
}
