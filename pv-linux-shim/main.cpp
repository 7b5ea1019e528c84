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

// The command line's words, split at spaces in place; 'single quotes' keep spaces in a word
// (as a shell's do: `-- /bin/sh -c 'echo hi; exit 3'`). GRUB hands a module's command line on
// with a backslash before each quote and backslash: `\'` is such a quote, `\\` a backslash.
uint64_t split(char* line, const char* (&words)[kMaxArguments])
{
    uint64_t count = 0;
    char* out = line;
    for (const char* in = line; *in != '\0' && count < kMaxArguments;) {
        while (*in == ' ')
            ++in;
        if (*in == '\0')
            break;
        words[count++] = out;
        bool quoted = false;
        for (; *in != '\0' && (quoted || *in != ' '); ++in) {
            if (*in == '\\' && in[1] != '\0')
                ++in; // GRUB's escape: what follows is the character itself
            if (*in == '\'')
                quoted = !quoted;
            else
                *out++ = *in;
        }
        if (*in == ' ')
            ++in; // before the NUL goes in: `out` may stand where the space was
        *out++ = '\0';
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
