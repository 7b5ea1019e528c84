// The shim's processes (processes.hpp).
#include "processes.hpp"

#include "common/string.hpp"
#include "console.hpp"
#include "elf_exec.hpp"
#include "files.hpp"
#include "l4/guest_console.hpp"
#include "l4/quota.hpp"
#include "linux_abi.hpp"
#include "page_pool.hpp"
#include "process.hpp"
#include "start_stack.hpp"
#include "syscall_numbers.hpp"
#include "syscalls.hpp"

namespace shim {

namespace {

namespace abi = l4::abi;
namespace hc = abi::hc;
using abi::Error;
using namespace linux_abi;

constexpr l4::Selector kEndpoint = 16, kFirstProcessSelector = 20, kSelectorsPerProcess = 4, kScratch = 63;
constexpr uint64_t kMaxProcesses = 10; // the guest's 64 capability slots hold this many
constexpr uint64_t kMaxArguments = 64, kArgumentBytes = 8192;
constexpr uint64_t kNoMemoryForStack = 1;            // exec's result when the new program cannot have its stack
constexpr uint64_t kPieBase = 0x0000'5555'5555'0000; // where a static-PIE program goes, as on Linux

constexpr uint64_t kCloneVm = 0x100, kCloneChildSettid = 0x0100'0000, kSignalMask = 0xff;
constexpr uint64_t kWnohang = 1, kSigSegv = 11, kSigIll = 4, kSigKill = 9;

PagePool pool;
Process table[kMaxProcesses];
uint64_t next_pid = 1;

uint64_t error(int errno_value) { return static_cast<uint64_t>(-static_cast<int64_t>(errno_value)); }

Process* by_pid(uint64_t pid)
{
    for (Process& p : table)
        if ((p.exists() || p.zombie) && p.pid() == pid)
            return &p;
    return nullptr;
}

Process* new_process()
{
    for (uint64_t i = 0; i < kMaxProcesses; ++i)
        if (!table[i].exists() && !table[i].zombie) {
            if (!table[i].create(next_pid, kEndpoint, kFirstProcessSelector + i * kSelectorsPerProcess, pool))
                return nullptr;
            ++next_pid;
            return &table[i];
        }
    return nullptr;
}

void resume_with(l4::Message& m, uint64_t result)
{
    m = l4::Message{};
    m.tag = abi::MessageTag::make(abi::reply_label::resume_with_rax, 1);
    m.words[0] = result;
}

// Ends the process with wait4's status word `status`: its objects and memory go now, its
// status waits for its parent, its children go to init.
void end_process(Process& p, uint64_t status)
{
    for (uint16_t& handle : p.files) {
        release(handle);
        handle = 0;
    }
    if (p.cwd != nullptr)
        file_system().release(p.cwd);
    p.cwd = nullptr;
    p.destroy();
    p.zombie = true;
    p.exit_status = status;
    p.waiting = false;
    for (Process& child : table)
        if ((child.exists() || child.zombie) && child.parent == p.pid())
            child.parent = 1;
}

// Loads `path` into `p` with its arguments, and fills `state` to start it; -errno on a refusal
// that leaves `p` as it was.
uint64_t exec(Process& p, const char* path, const char* const* argv, uint64_t argc, const char* const* envp,
              uint64_t envc, abi::ExceptionState& state)
{
    const uint8_t* bytes = nullptr;
    size_t size = 0;
    const int found = program_bytes(p, path, bytes, size);
    if (found != 0)
        return static_cast<uint64_t>(static_cast<int64_t>(found));
    static ExecImage exec_image;
    const int prepared = prepare_exec(bytes, size, kPieBase, exec_image);
    if (prepared != 0)
        return static_cast<uint64_t>(static_cast<int64_t>(prepared));
    uint64_t rsp = 0;
    const int laid_out = prepare_start_stack(StartStack{argv, argc, envp, envc, path, exec_image}, rsp);
    if (laid_out != 0)
        return static_cast<uint64_t>(static_cast<int64_t>(laid_out));
    p.load(exec_image.image); // from here on the old program is gone
    if (!write_start_stack(p))
        return kNoMemoryForStack;
    const size_t n = strlen(path) < sizeof p.exe - 1 ? strlen(path) : sizeof p.exe - 1;
    memcpy(p.exe, path, n);
    p.exe[n] = '\0';
    state = abi::ExceptionState{};
    state.rip = exec_image.image.entry;
    state.rsp = rsp;
    state.rflags = 0x202;
    p.fs_base = 0;
    return 0;
}

// execve(2): the arguments copied out of the process first, since loading replaces its memory.
// True with `m` holding the reply that starts the new program; false with `result` an errno,
// or kNoMemoryForStack when the old program is gone and the new one cannot start.
bool execve(Process& p, const abi::ForeignSyscall& c, l4::Message& m, uint64_t& result)
{
    static char path[256], strings[kArgumentBytes];
    static const char* argv[kMaxArguments];
    static const char* envp[kMaxArguments];
    if (!p.copy_string(path, c.rdi, sizeof path)) {
        result = error(kEFAULT);
        return false;
    }
    if (memcmp(path, "/proc/self/exe", sizeof "/proc/self/exe") == 0)
        memcpy(path, p.exe, sizeof p.exe);
    uint64_t used = 0, counts[2] = {};
    const char** lists[2] = {argv, envp};
    const uint64_t arrays[2] = {c.rsi, c.rdx};
    for (int list = 0; list < 2; ++list)
        for (uint64_t i = 0; arrays[list] != 0; ++i) {
            uint64_t pointer = 0;
            if (!p.copy_in(&pointer, arrays[list] + 8 * i, sizeof pointer)) {
                result = error(kEFAULT);
                return false;
            }
            if (pointer == 0)
                break;
            if (i == kMaxArguments || !p.copy_string(strings + used, pointer, sizeof strings - used)) {
                result = error(i == kMaxArguments ? kE2BIG : kEFAULT);
                return false;
            }
            lists[list][i] = strings + used;
            used += strlen(strings + used) + 1;
            counts[list] = i + 1;
        }
    abi::ExceptionState state{};
    result = exec(p, path, argv, counts[0], envp, counts[1], state);
    if (result != 0)
        return false;
    m = l4::Message{};
    m.tag = abi::MessageTag::make(abi::reply_label::resume_with_registers, abi::kExceptionWords);
    memcpy(l4::utcb()->mr, &state, sizeof state);
    memcpy(m.words, &state, sizeof m.words);
    return true;
}

// fork(2), and clone(2) as fork: the child's memory a copy, its registers the parent's at the
// call with rax 0; the child's pid to the parent.
uint64_t fork(Process& parent, const abi::ForeignSyscall& c, uint64_t flags, uint64_t child_tid)
{
    if ((flags & kCloneVm) != 0)
        return error(kENOSYS); // threads are not offered yet
    Process* child = new_process();
    if (child == nullptr)
        return error(kEAGAIN);
    abi::ExceptionState state{};
    l4::FpuImage fpu{};
    bool ok = child->copy_memory_from(parent) && l4::read_registers(parent.thread(), state) == Error::ok &&
              l4::read_fpu(parent.thread(), fpu) == Error::ok;
    if (ok) {
        for (uint64_t fd = 0; fd < Process::kMaxFiles; ++fd) {
            retain(parent.files[fd]);
            child->files[fd] = parent.files[fd];
        }
        child->cwd = parent.cwd;
        if (child->cwd != nullptr)
            file_system().hold(child->cwd);
        child->umask = parent.umask;
        for (uint64_t s = 0; s < 64; ++s)
            child->actions[s] = parent.actions[s];
        child->blocked = parent.blocked;
        child->group = parent.group;
        child->session = parent.session;
        child->parent = parent.pid();
        child->fs_base = parent.fs_base;
        memcpy(child->name, parent.name, sizeof child->name);
        memcpy(child->exe, parent.exe, sizeof child->exe);
        state.rax = 0;
        state.rip = c.rip;
        state.rsp = c.rsp;
        const auto pid = static_cast<uint32_t>(child->pid());
        ok = ((flags & kCloneChildSettid) == 0 || child->copy_out(child_tid, &pid, sizeof pid)) &&
             l4::write_registers(child->thread(), state) == Error::ok &&
             l4::write_fpu(child->thread(), fpu) == Error::ok && child->start(state.rip, state.rsp) == Error::ok;
    }
    if (!ok) {
        child->destroy();
        child->zombie = false;
        return error(kENOMEM);
    }
    return child->pid();
}

// wait4(2) for a child of `p` that exited; waits unless WNOHANG.
uint64_t wait4(Process& p, const abi::ForeignSyscall& c, Outcome& outcome)
{
    const auto wanted = static_cast<int64_t>(static_cast<int32_t>(c.rdi));
    bool any_child = false;
    for (Process& child : table) {
        if (!(child.exists() || child.zombie) || child.parent != p.pid() ||
            (wanted > 0 && child.pid() != static_cast<uint64_t>(wanted)))
            continue;
        any_child = true;
        if (!child.zombie)
            continue;
        const auto status = static_cast<uint32_t>(child.exit_status);
        child.zombie = false; // reaped, the slot free, even when the status cannot go out (as Linux)
        if (c.rsi != 0 && !p.copy_out(c.rsi, &status, sizeof status))
            return error(kEFAULT);
        return child.pid();
    }
    if (!any_child)
        return error(kECHILD);
    if ((c.rdx & kWnohang) != 0)
        return 0;
    outcome = Outcome::wait;
    return 0;
}

// reboot(2): with Linux's magic numbers, power off, halt and restart end every process and the
// guest (restart as a reboot, which the VMM's restart=on-crash starts again); Ctrl-Alt-Del's
// setting is accepted and means nothing here. Returns only with -EINVAL, or 0.
uint64_t reboot(Process& p, const abi::ForeignSyscall& c)
{
    constexpr uint32_t kMagic1 = 0xfee1'dead, kMagic2[] = {672274793, 85072278, 369367448, 537993216};
    constexpr uint32_t kRestart = 0x0123'4567, kRestart2 = 0xa1b2'c3d4, kHalt = 0xcdef'0123, kPowerOff = 0x4321'fedc,
                       kCadOn = 0x89ab'cdef, kCadOff = 0;
    const auto magic2 = static_cast<uint32_t>(c.rsi), command = static_cast<uint32_t>(c.rdx);
    bool magic_ok = false;
    for (uint32_t m : kMagic2)
        magic_ok = magic_ok || m == magic2;
    if (static_cast<uint32_t>(c.rdi) != kMagic1 || !magic_ok)
        return error(kEINVAL);
    if (command == kCadOn || command == kCadOff)
        return 0;
    const bool restart = command == kRestart || command == kRestart2;
    if (!restart && command != kHalt && command != kPowerOff)
        return error(kEINVAL); // kexec, suspend: this kernel has neither
    const uint64_t caller = p.pid();
    for (Process& left : table)
        if (left.exists())
            end_process(left, kSigKill);
    l4::hc::println("shim: {} by reboot(2) from process {}",
                    restart            ? "restarting"
                    : command == kHalt ? "halted"
                                       : "powered off",
                    caller);
    (void)l4::hc::shutdown(restart ? hc::ShutdownReason::reboot : hc::ShutdownReason::poweroff, 0);
    for (;;) {
    }
}

// What `p`'s system call comes to; `m` holds the reply when it is answered at once.
Outcome call(Process& p, const abi::ForeignSyscall& c, l4::Message& m)
{
    uint64_t result = 0;
    Outcome outcome = Outcome::resume;
    switch (c.rax) {
    case nr_clone: result = (c.rdi & kSignalMask) == 17 ? fork(p, c, c.rdi, c.r10) : error(kENOSYS); break;
    case nr_fork:
    case nr_vfork: result = fork(p, c, 0, 0); break; // vfork as fork: the child has its own copy
    case nr_execve:
        if (execve(p, c, m, result))
            return Outcome::resume;
        if (result == kNoMemoryForStack) {
            l4::hc::println("shim: process {}: no memory for the stack of {}", p.pid(), p.exe);
            end_process(p, kSigSegv);
            return Outcome::exited;
        }
        break;
    case nr_wait4: result = wait4(p, c, outcome); break;
    case nr_getppid: result = p.parent; break;
    case nr_reboot: result = reboot(p, c); break;
    case nr_sync: result = 0; break; // the ramfs has nothing to write back
    case nr_exit:
    case nr_exit_group: end_process(p, (c.rdi & 0xff) << 8); return Outcome::exited;
    default: outcome = handle_syscall(p, c, result); break;
    }
    if (outcome == Outcome::resume)
        resume_with(m, result);
    return outcome;
}

// Tries every waiting call again (after an event, or a process's exit).
void retry_waiting()
{
    for (Process& p : table) {
        if (!p.exists() || !p.waiting)
            continue;
        l4::Message m;
        const Outcome outcome = call(p, p.waiting_call, m);
        if (outcome == Outcome::wait) {
            if (p.wake_deadline != 0)
                (void)l4::hc::timer_set(p.wake_deadline);
            continue;
        }
        if (outcome == Outcome::resume) {
            p.waiting = false;
            (void)l4::reply_to(p.reply(), m);
        }
    }
}

void kill(Process& p, uint64_t signal, const char* why, uint64_t address, uint64_t rip)
{
    l4::hc::println("shim: process {} ({}) killed by signal {}: {} at {:#x}, rip {:#x}", p.pid(), p.exe, signal, why,
                    address, rip);
    end_process(p, signal);
}

} // namespace

uint64_t run_init(const Initramfs& initramfs, const char* const* argv, uint64_t argc)
{
    const hc::StartInfo& info = l4::hc::start_info();
    const uint64_t free_begin =
        (reinterpret_cast<uint64_t>(initramfs.archive) + initramfs.size + 4095) & ~uint64_t{4095};
    pool.init(free_begin, info.memory_base + info.memory_size - 256 * 1024); // the vCPU's stack above
    if (!init_files(pool, initramfs.archive, initramfs.size))
        return 127;
    if (l4::factory_create(static_cast<l4::Selector>(info.factory_selector), abi::ObjectKind::endpoint, kEndpoint) !=
        Error::ok)
        return 127;
    l4::hc::enable_sources(uint64_t{1} << hc::source::timer);
    (void)console().attach();
    // What init and its descendants must give back when init is gone (nothing leaks over any
    // number of forks, execs and exits).
    const auto factory = static_cast<l4::Selector>(info.factory_selector);
    const uint64_t pages_before = pool.free_pages(), bytes_before = l4::factory_free_bytes(factory, kScratch);
    Process* init = new_process();
    for (uint64_t fd = 0; init != nullptr && fd < 3; ++fd) {
        retain(kConsoleFile);
        init->files[fd] = kConsoleFile;
    }
    const char* envp[] = {"HOME=/root", "PATH=/bin:/sbin:/usr/bin:/usr/sbin", "TERM=vt100"};
    abi::ExceptionState state{};
    if (init == nullptr || exec(*init, argv[0], argv, argc, envp, sizeof envp / sizeof envp[0], state) != 0 ||
        init->start(state.rip, state.rsp) != Error::ok) {
        l4::hc::println("shim: cannot start {}", argv[0]);
        return 127;
    }
    l4::Message m;
    Error e = l4::receive(kEndpoint, m);
    for (;;) {
        Process* p = e == Error::ok ? by_pid(m.badge) : nullptr;
        const uint64_t label = m.tag.label();
        bool answer = false;
        if (e == Error::ok && label == abi::label::notification) {
            (void)l4::hc::take_events();
            console().take_input();
            retry_waiting();
        } else if (p != nullptr && p->exists() && label == abi::label::foreign_syscall) {
            abi::ForeignSyscall c;
            uint64_t words[abi::kForeignSyscallWords];
            memcpy(words, m.words, sizeof m.words);
            memcpy(words + abi::kRegisterWords, l4::utcb()->mr + abi::kRegisterWords, sizeof words - sizeof m.words);
            memcpy(&c, words, sizeof c);
            const Outcome outcome = call(*p, c, m);
            if (outcome == Outcome::wait) {
                p->waiting = true;
                p->waiting_call = c;
                (void)l4::reply_save(p->reply()); // kept until an event lets the call finish
                if (p->wake_deadline != 0)
                    (void)l4::hc::timer_set(p->wake_deadline);
            } else {
                answer = outcome == Outcome::resume;
            }
            retry_waiting(); // a pipe may have moved, a parent in wait4 may have its child's end
        } else if (p != nullptr && p->exists() && label == abi::label::page_fault) {
            const uint64_t address = m.words[0], access = m.words[1], rip = m.words[2];
            if (p->resolve(address, static_cast<uint32_t>(access)) != 0) {
                m = l4::Message{};
                m.tag = abi::MessageTag::make(0, 0); // mapped by now: the access is retried
                answer = true;
            } else {
                kill(*p, kSigSegv, access == 2 ? "write" : access == 4 ? "execute" : "read", address, rip);
                retry_waiting();
            }
        } else if (p != nullptr && p->exists()) {
            abi::ExceptionState s;
            uint64_t words[abi::kExceptionWords];
            memcpy(words, m.words, sizeof m.words);
            memcpy(words + abi::kRegisterWords, l4::utcb()->mr + abi::kRegisterWords, sizeof words - sizeof m.words);
            memcpy(&s, words, sizeof s);
            kill(*p, kSigIll, "exception", s.vector, s.rip);
            retry_waiting();
        }
        Process* first = by_pid(1);
        if (first != nullptr && first->zombie) {
            for (Process& left : table) // init is gone: so is everything else (Linux would panic)
                if (left.exists())
                    end_process(left, kSigKill);
            l4::hc::println("shim: all processes gone: {} of {} pages and {} of {} bytes of kernel memory back",
                            pool.free_pages(), pages_before, l4::factory_free_bytes(factory, kScratch), bytes_before);
            return (first->exit_status & 0x7f) != 0 ? 128 + (first->exit_status & 0x7f) : first->exit_status >> 8;
        }
        e = answer ? l4::reply_wait(kEndpoint, m) : l4::receive(kEndpoint, m);
    }
}

} // namespace shim
