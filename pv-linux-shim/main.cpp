// pv-linux-shim: a paravirtualized guest kernel of vmm-server that runs static Linux x86-64
// programs from its initramfs, L4Linux-style: each Linux process is a task of the microkernel
// whose system calls (foreign-ABI exception IPC) and page faults (pager IPC) come to the shim.
//
// What it does so far (docs/pv-linux-shim.md): it starts the program its command line names
// (after `--`: a path in the initramfs and its arguments), serves the system calls of
// syscalls.cpp and its page faults, and powers the guest off with the program's exit status.
#include "common/elf.hpp"
#include "common/string.hpp"
#include "l4/cpio.hpp"
#include "l4/guest_console.hpp"
#include "page_pool.hpp"
#include "console.hpp"
#include "process.hpp"
#include "start_stack.hpp"
#include "syscalls.hpp"

namespace {

namespace abi = l4::abi;
namespace hc = abi::hc;
using abi::Error;

constexpr l4::Selector kEndpoint = 16, kReply = 17, kFirstProcessSelector = 20;
constexpr uint64_t kShimStackBytes = 256 * 1024; // the vCPU's own stack, at the top of memory
constexpr uint64_t kMaxArguments = 32;
constexpr uint64_t kMaxSymlinks = 8;

shim::PagePool pool;
shim::Process init_process;

[[noreturn]] void power_off(uint64_t status, hc::ShutdownReason reason = hc::ShutdownReason::poweroff)
{
    (void)l4::hc::shutdown(reason, status);
    for (;;) {
    }
}

// `path` with `part` (one name) applied: ".." drops the last name, "." and "" change nothing.
bool apply(char (&path)[256], const char* part, size_t length)
{
    size_t end = strlen(path);
    if (length == 2 && part[0] == '.' && part[1] == '.') {
        while (end > 0 && path[end - 1] != '/')
            --end;
        path[end > 0 ? end - 1 : 0] = '\0';
        return true;
    }
    if (length == 0 || (length == 1 && part[0] == '.'))
        return true;
    if (end + 1 + length >= sizeof path)
        return false;
    path[end] = '/';
    memcpy(path + end + 1, part, length);
    path[end + 1 + length] = '\0';
    return true;
}

// The initramfs file at `path`, following symbolic links; false when there is none.
bool find_file(const uint8_t* archive, size_t size, const char* path, l4::cpio::Entry& file)
{
    char current[256];
    if (strlen(path) >= sizeof current)
        return false;
    memcpy(current, path, strlen(path) + 1);
    for (uint64_t hops = 0; hops <= kMaxSymlinks; ++hops) {
        if (l4::cpio::find(archive, size, current, file) != l4::cpio::Error::none)
            return false;
        if (!file.is_symlink())
            return file.is_regular();
        // The link's target, against the link's directory when relative.
        const auto* target = static_cast<const char*>(static_cast<const void*>(file.data));
        if (file.size > 0 && target[0] == '/')
            current[0] = '\0';
        else if (!apply(current, "..", 2))
            return false;
        for (size_t start = 0, i = 0; i <= file.size; ++i)
            if (i == file.size || target[i] == '/') {
                if (!apply(current, target + start, i - start))
                    return false;
                start = i + 1;
            }
    }
    return false;
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

// The message that resumes a process after a system call with `result` in rax.
void resume_with(l4::Message& m, uint64_t result)
{
    m = l4::Message{};
    m.tag = abi::MessageTag::make(abi::reply_label::resume_with_rax, 1);
    m.words[0] = result;
}

// After an event: the console's input taken, and a waiting system call tried again; true when
// it ended the process (`status`).
bool after_event(shim::Process& process, uint64_t& status)
{
    (void)l4::hc::take_events();
    shim::console().take_input();
    if (!process.waiting)
        return false;
    uint64_t result = 0;
    switch (shim::handle_syscall(process, process.waiting_call, result)) {
    case shim::Outcome::wait:
        if (process.wake_deadline != 0)
            (void)l4::hc::timer_set(process.wake_deadline);
        return false;
    case shim::Outcome::exited: status = result; return true;
    case shim::Outcome::resume: break;
    }
    process.waiting = false;
    l4::Message m;
    resume_with(m, result);
    (void)l4::reply_to(kReply, m);
    return false;
}

// Serves the process until it exits or is killed; its exit status (128 + signal when killed).
uint64_t serve(shim::Process& process)
{
    l4::Message m;
    Error e = l4::receive(kEndpoint, m);
    for (;;) {
        uint64_t status = 0;
        const uint64_t label = m.tag.label();
        if (e == Error::ok && label == abi::label::notification) {
            if (after_event(process, status))
                return status;
            e = l4::receive(kEndpoint, m);
            continue;
        }
        if (e != Error::ok || m.badge != process.pid()) {
            e = l4::receive(kEndpoint, m); // nobody's, or a caller that went away
            continue;
        }
        if (label == abi::label::foreign_syscall) {
            abi::ForeignSyscall call;
            uint64_t words[abi::kForeignSyscallWords];
            memcpy(words, m.words, sizeof m.words);
            memcpy(words + abi::kRegisterWords, l4::utcb()->mr + abi::kRegisterWords, sizeof words - sizeof m.words);
            memcpy(&call, words, sizeof call);
            uint64_t result = 0;
            const shim::Outcome outcome = shim::handle_syscall(process, call, result);
            if (outcome == shim::Outcome::exited)
                return result;
            if (outcome == shim::Outcome::wait) {
                // Its reply is kept until an event lets the call finish.
                process.waiting = true;
                process.waiting_call = call;
                (void)l4::reply_save(kReply);
                if (process.wake_deadline != 0)
                    (void)l4::hc::timer_set(process.wake_deadline);
                e = l4::receive(kEndpoint, m);
                continue;
            }
            resume_with(m, result);
        } else if (label == abi::label::page_fault) {
            const uint64_t address = m.words[0], access = m.words[1], rip = m.words[2];
            if (process.resolve(address, static_cast<uint32_t>(access)) == 0) {
                l4::hc::println("shim: process {} killed by SIGSEGV: {} at {:#x}, rip {:#x}", process.pid(),
                                access == 2   ? "write"
                                : access == 4 ? "execute"
                                              : "read",
                                address, rip);
                return 128 + 11;
            }
            m = l4::Message{};
            m.tag = abi::MessageTag::make(0, 0); // mapped by now: the access is retried
        } else {
            abi::ExceptionState state;
            uint64_t words[abi::kExceptionWords];
            memcpy(words, m.words, sizeof m.words);
            memcpy(words + abi::kRegisterWords, l4::utcb()->mr + abi::kRegisterWords, sizeof words - sizeof m.words);
            memcpy(&state, words, sizeof state);
            l4::hc::println("shim: process {} killed: exception vector {} at rip {:#x}", process.pid(), state.vector,
                            state.rip);
            return 128 + 4; // SIGILL
        }
        e = l4::reply_wait(kEndpoint, m);
    }
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
    const auto* archive = reinterpret_cast<const uint8_t*>(info.modules[0].address);
    const uint64_t archive_size = info.modules[0].size;
    const uint64_t free_begin = (info.modules[0].address + archive_size + 4095) & ~uint64_t{4095};
    pool.init(free_begin, info.memory_base + info.memory_size - kShimStackBytes);

    static char line[sizeof info.cmdline];
    memcpy(line, info.cmdline, sizeof line);
    const char* argv[kMaxArguments] = {};
    const uint64_t argc = split(line, argv);
    if (argc == 0) {
        l4::hc::println("shim: no program to run (after -- on the guest's line)");
        power_off(1, hc::ShutdownReason::crash);
    }
    l4::cpio::Entry file;
    if (!find_file(archive, archive_size, argv[0], file)) {
        l4::hc::println("shim: {}: no such file in the initramfs", argv[0]);
        power_off(127);
    }
    elf::Image image{};
    const elf::Result parsed = elf::parse(file.data, file.size, elf::Options{}, image);
    if (parsed.error != elf::Error::none) {
        l4::hc::println("shim: {}: not an executable it can run: {}", argv[0], elf::describe(parsed.error));
        power_off(126);
    }
    const auto factory = static_cast<l4::Selector>(info.factory_selector);
    if (l4::factory_create(factory, abi::ObjectKind::endpoint, kEndpoint) != Error::ok ||
        l4::factory_create(factory, abi::ObjectKind::reply, kReply) != Error::ok ||
        !init_process.create(1, image, kEndpoint, kFirstProcessSelector, pool))
        power_off(1, hc::ShutdownReason::crash);
    l4::hc::enable_sources(uint64_t{1} << hc::source::timer);
    (void)shim::console().attach();
    const char* envp[] = {"HOME=/root", "PATH=/bin:/sbin:/usr/bin:/usr/sbin", "TERM=vt100"};
    shim::StartStack stack{argv, argc, envp, sizeof envp / sizeof envp[0], argv[0], image};
    uint64_t rsp = 0;
    if (!shim::write_start_stack(init_process, stack, rsp) || init_process.start(image.entry, rsp) != Error::ok) {
        l4::hc::println("shim: cannot start {}", argv[0]);
        power_off(1, hc::ShutdownReason::crash);
    }
    const uint64_t status = serve(init_process);
    init_process.destroy();
    l4::hc::println("shim: {} exited with status {}", argv[0], status);
    power_off(status);
}
