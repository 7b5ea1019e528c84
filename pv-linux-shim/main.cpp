// pv-linux-shim: a paravirtualized guest kernel of vmm-server that runs static Linux x86-64
// programs from its initramfs, L4Linux-style: each Linux process is a task of the microkernel
// whose system calls (foreign-ABI exception IPC) and page faults (pager IPC) come to the shim
// (docs/pv-linux-shim.md). Its command line (after `--`) names init and its arguments; the guest
// powers off with init's exit status.
#include "common/string.hpp"
#include "l4/guest_console.hpp"
#include "processes.hpp"

namespace {

namespace hc = l4::abi::hc;

constexpr uint64_t kMaxArguments = 32;

[[noreturn]] void power_off(uint64_t status, hc::ShutdownReason reason = hc::ShutdownReason::poweroff)
{
    (void)l4::hc::shutdown(reason, status);
    for (;;) {
    }
}

// The command line's words, split at spaces in place.
uint64_t split(char* line, const char* (&words)[kMaxArguments])
{
    uint64_t count = 0;
    for (char* p = line; *p != '\0' && count < kMaxArguments;) {
        while (*p == ' ')
            *p++ = '\0';
        if (*p == '\0')
            break;
        words[count++] = p;
        while (*p != '\0' && *p != ' ')
            ++p;
    }
    return count;
}

} // namespace

// The vCPU starts in crt0.S with rsp at the top of guest memory.
extern "C" [[noreturn]] void l4_start()
{
    const hc::StartInfo& info = l4::hc::start_info();
    if (info.module_count == 0) {
        l4::hc::println("shim: no initramfs (initrd= on the guest's line)");
        power_off(1, hc::ShutdownReason::crash);
    }
    static char line[sizeof info.cmdline];
    memcpy(line, info.cmdline, sizeof line);
    const char* argv[kMaxArguments] = {};
    const uint64_t argc = split(line, argv);
    if (argc == 0) {
        l4::hc::println("shim: no program to run (after -- on the guest's line)");
        power_off(1, hc::ShutdownReason::crash);
    }
    const shim::Initramfs initramfs{reinterpret_cast<const uint8_t*>(info.modules[0].address), info.modules[0].size};
    const uint64_t status = shim::run_init(initramfs, argv, argc);
    l4::hc::println("shim: {} exited with status {}", argv[0], status);
    power_off(status);
}
