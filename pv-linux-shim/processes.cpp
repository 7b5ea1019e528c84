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

// The guest's 512 capability slots (docs/hypercalls.md) hold this many processes; fork beyond
// them is EAGAIN.
constexpr uint64_t kMaxProcesses = 64;
constexpr l4::Selector kEndpoint = 16, kFirstProcessSelector = 20, kSelectorsPerProcess = 4,
                       kScratch = kFirstProcessSelector + kMaxProcesses * kSelectorsPerProcess;
constexpr uint64_t kMaxArguments = 64, kArgumentBytes = 8192;
constexpr uint64_t kNoMemoryForStack = 1;            // exec's result when the new program cannot have its stack
constexpr uint64_t kPieBase = 0x0000'5555'5555'0000; // where a static-PIE program goes, as on Linux

constexpr uint64_t kCloneVm = 0x100, kCloneChildSettid = 0x0100'0000, kSignalMask = 0xff;
constexpr uint64_t kWnohang = 1, kWuntraced = 2, kWexited = 4, kWcontinued = 8, kWnowait = 0x0100'0000;
constexpr uint64_t kPAll = 0, kPPid = 1, kPPgid = 2;
constexpr int kSigSegv = signals::kSigSegv, kSigKill = signals::kSigKill;
constexpr size_t kSyscallBytes = 2; // `syscall`: a restarted call goes back over it

PagePool pool;
Process table[kMaxProcesses];
uint64_t next_pid = 1;
Process* serving = nullptr; // the process whose IPC is being answered: its signals wait for that

// How a process goes on from the shim: with rax set, or with all its registers.
struct Answer {
    bool with_registers = false;
    uint64_t rax = 0;
    abi::ExceptionState state; // read only with_registers: not cleared for each call
};

void send_signal(Process& target, const signals::Info& info, bool from_kernel_fault = false);
[[noreturn]] void power_down(const char* what, const char* how, uint64_t caller);

uint64_t error(int errno_value) { return static_cast<uint64_t>(-static_cast<int64_t>(errno_value)); }

// Every system call looks its process up, so the table keeps where each pid went (a guess:
// pids 64 apart share a hint) and a mask of the processes whose calls wait.
static_assert(kMaxProcesses <= 64);
uint8_t slot_hint[64];
uint64_t waiting_slots = 0;

uint64_t slot_bit(const Process& p) { return uint64_t{1} << (&p - table); }

uint64_t alarm_slots = 0; // processes with an alarm set

void set_alarm(Process& p, uint64_t deadline, uint64_t interval)
{
    p.alarm_deadline = deadline;
    p.alarm_interval = interval;
    alarm_slots = deadline != 0 ? alarm_slots | slot_bit(p) : alarm_slots & ~slot_bit(p);
}

void set_waiting(Process& p, bool waiting)
{
    p.waiting = waiting;
    waiting_slots = waiting ? waiting_slots | slot_bit(p) : waiting_slots & ~slot_bit(p);
}

Process* by_pid(uint64_t pid)
{
    Process& hinted = table[slot_hint[pid % 64]];
    if ((hinted.exists() || hinted.zombie) && hinted.pid() == pid)
        return &hinted;
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
            slot_hint[next_pid % 64] = static_cast<uint8_t>(i);
            ++next_pid;
            return &table[i];
        }
    return nullptr;
}

// A kernel-made message (foreign syscall, exception) as its struct: the first words came in
// registers, the rest are in the UTCB. (The builtin copies are inlined: every system call
// passes here.)
template <typename T>
T received(const l4::Message& m)
{
    static_assert(sizeof(T) % 8 == 0 && sizeof(T) >= sizeof m.words && sizeof(T) <= sizeof l4::utcb()->mr);
    uint64_t words[sizeof(T) / 8];
    __builtin_memcpy(words, m.words, sizeof m.words);
    __builtin_memcpy(words + abi::kRegisterWords, l4::utcb()->mr + abi::kRegisterWords, sizeof words - sizeof m.words);
    T value;
    __builtin_memcpy(&value, words, sizeof value);
    return value;
}

// The reply that sends a process on as `answer` says (made just before it goes: the UTCB holds
// its registers).
void compose(l4::Message& m, const Answer& answer)
{
    m = l4::Message{};
    if (!answer.with_registers) {
        m.tag = abi::MessageTag::make(abi::reply_label::resume_with_rax, 1);
        m.words[0] = answer.rax;
        return;
    }
    m.tag = abi::MessageTag::make(abi::reply_label::resume_with_registers, abi::kExceptionWords);
    __builtin_memcpy(l4::utcb()->mr, &answer.state, sizeof answer.state);
    __builtin_memcpy(m.words, &answer.state, sizeof m.words);
}

signals::Info child_info(const Process& child, int32_t code, int32_t status)
{
    signals::Info info;
    info.signo = signals::kSigChld;
    info.code = code;
    info.pid = static_cast<int32_t>(child.pid());
    info.status = status;
    return info;
}

Process* live_parent(const Process& child)
{
    for (Process& p : table)
        if (p.exists() && p.pid() == child.parent)
            return &p;
    return nullptr;
}

// Whether `child`'s parent ignores SIGCHLD (or asked SA_NOCLDWAIT): it has no zombies then.
bool parent_reaps_at_once(const Process& child)
{
    const Process* parent = live_parent(child);
    if (parent == nullptr)
        return false;
    const signals::Action& a = parent->actions[signals::kSigChld - 1];
    return a.handler == signals::kSigIgn || (a.flags & signals::kSaNocldwait) != 0;
}

// SIGCHLD to `child`'s parent (none for a stop or a continue under SA_NOCLDSTOP).
void tell_parent(const Process& child, int32_t code, int32_t status)
{
    Process* parent = live_parent(child);
    if (parent == nullptr)
        return;
    const bool stop_or_continue = code == signals::kCldStopped || code == signals::kCldContinued;
    if (!(stop_or_continue && (parent->actions[signals::kSigChld - 1].flags & signals::kSaNocldstop) != 0))
        send_signal(*parent, child_info(child, code, status));
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
    p.exit_status = status;
    set_waiting(p, false);
    set_alarm(p, 0, 0);
    p.stopped = false;
    p.pending = 0;
    for (Process& child : table)
        if ((child.exists() || child.zombie) && child.parent == p.pid())
            child.parent = 1;
    const bool killed = (status & 0x7f) != 0;
    p.zombie = !parent_reaps_at_once(p); // or the slot is free now
    tell_parent(p, killed ? signals::kCldKilled : signals::kCldExited,
                static_cast<int32_t>(killed ? status & 0x7f : status >> 8));
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
    p.load(exec_image.image);                 // from here on the old program is gone
    for (signals::Action& action : p.actions) // handlers are gone with the program; SIG_IGN stays
        if (action.handler != signals::kSigIgn)
            action = signals::Action{};
    p.alt_stack = signals::AltStack{0, signals::kSsDisable, 0, 0};
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
// True with `answer` the registers that start the new program; false with `result` an errno,
// or kNoMemoryForStack when the old program is gone and the new one cannot start.
bool execve(Process& p, const abi::ForeignSyscall& c, Answer& answer, uint64_t& result)
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
    result = exec(p, path, argv, counts[0], envp, counts[1], answer.state);
    answer.with_registers = result == 0;
    return result == 0;
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
        child->pending = 0;
        set_alarm(*child, 0, 0); // alarms are not inherited
        child->alt_stack = parent.alt_stack;
        child->stopped = child->report_stop = child->report_continue = child->suspend_mask_saved = false;
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

// Signals ---------------------------------------------------------------------------------
//
// A signal is posted as pending, then delivered where the shim has the process in hand: when it
// answers its system call, fault or forced exception, or when it interrupts a call it keeps
// waiting. A process running its own code is sent into its exception handler first
// (force_exception): it then arrives as an exception of kForcedVector.

uint64_t deliverable(const Process& p) { return p.pending & ~p.blocked; }

void stop_process(Process& p, int signal)
{
    p.stopped = true;
    p.stop_signal = signal;
    p.report_stop = true;
    p.report_continue = false;
    (void)l4::thread_control(p.thread(), abi::ThreadOp::suspend); // an IPC of it stays in place
    tell_parent(p, signals::kCldStopped, signal);
}

void continue_process(Process& p)
{
    p.pending &= ~signals::kStopSignals;
    if (!p.stopped)
        return;
    p.stopped = false;
    p.report_stop = false;
    p.report_continue = true;
    (void)l4::thread_control(p.thread(), abi::ThreadOp::resume);
    tell_parent(p, signals::kCldContinued, signals::kSigCont);
}

enum class Delivered : uint8_t { nothing, handler, stopped, gone };

// Takes `p`'s deliverable signals with `state` the registers it would go on with: default
// actions are carried out, handlers get their frames (one above the other when several are
// due, as Linux nests them). `interrupted`: the number of a waiting call the first handler
// interrupts (its result becomes -EINTR, or it restarts under SA_RESTART), or ~0 for none.
Delivered deliver(Process& p, abi::ExceptionState& state, uint64_t interrupted = ~uint64_t{0})
{
    Delivered result = Delivered::nothing;
    static l4::FpuImage fpu;
    bool have_fpu = false;
    while (deliverable(p) != 0) {
        const int s = __builtin_ctzll(deliverable(p)) + 1;
        p.pending &= ~signals::bit(s);
        signals::Action& action = p.actions[s - 1];
        if (action.handler == signals::kSigIgn)
            continue;
        if (action.handler == signals::kSigDfl) {
            const signals::Default what = signals::default_action(s);
            if (what == signals::Default::terminate) {
                end_process(p, static_cast<uint64_t>(s));
                return Delivered::gone;
            }
            if (what == signals::Default::stop && !p.stopped) {
                stop_process(p, s);
                if (result == Delivered::nothing)
                    result = Delivered::stopped;
            }
            continue;
        }
        if (interrupted != ~uint64_t{0}) {
            if ((action.flags & signals::kSaRestart) != 0 && signals::restarts_with_sa_restart(interrupted)) {
                state.rip -= kSyscallBytes;
                state.rax = interrupted;
            } else {
                state.rax = error(kEINTR);
            }
            interrupted = ~uint64_t{0};
        }
        if (!have_fpu && l4::read_fpu(p.thread(), fpu) != Error::ok)
            memset(fpu.bytes, 0, sizeof fpu.bytes);
        have_fpu = true;
        static signals::Frame frame;
        const signals::Delivery d{
            state,  fpu.bytes,  p.suspend_mask_saved ? p.suspend_saved_mask : p.blocked, p.pending_info[s - 1],
            action, p.alt_stack};
        p.suspend_mask_saved = false;
        if ((action.flags & signals::kSaRestorer) == 0 || !signals::build_frame(d, frame) ||
            !p.copy_out(frame.fpu_address, frame.fpu, sizeof frame.fpu) ||
            !p.copy_out(frame.frame_address, frame.frame, sizeof frame.frame)) {
            l4::hc::println("shim: process {} ({}): no room for a signal frame at {:#x}: killed by signal 11", p.pid(),
                            p.exe, state.rsp);
            end_process(p, kSigSegv); // as Linux's force_sigsegv
            return Delivered::gone;
        }
        state = frame.entry;
        p.blocked |= action.mask | ((action.flags & signals::kSaNodefer) != 0 ? 0 : signals::bit(s));
        p.blocked &= ~signals::kUnblockable;
        if ((action.flags & signals::kSaResethand) != 0)
            action = signals::Action{};
        result = Delivered::handler;
    }
    return result;
}

// A waiting call of `p` meets its deliverable signals: a handler ends the call (its reply goes
// now), a default action may end the process; stopped or ignored, it goes on waiting.
bool finish(Process& p, Answer& answer);
Outcome call(Process& p, const abi::ForeignSyscall& c, Answer& answer);

// The reply that ends `p`'s waiting call as `answer` says (its signals delivered first).
void end_wait(Process& p, Answer& answer)
{
    set_waiting(p, false);
    p.wake_deadline = 0;
    if (!finish(p, answer))
        return;
    l4::Message m;
    compose(m, answer);
    (void)l4::reply_to(p.reply(), m);
}

// Tries `p`'s waiting call again; false while it still waits.
bool retry(Process& p)
{
    Process* const outer = serving;
    serving = &p;
    Answer answer;
    const Outcome outcome = call(p, p.waiting_call, answer);
    serving = outer;
    if (outcome == Outcome::wait)
        return false;
    if (outcome == Outcome::resume)
        end_wait(p, answer);
    return true;
}

void interrupt_waiting(Process& p)
{
    abi::ExceptionState state{};
    if (!p.waiting || p.stopped || deliverable(p) == 0 || retry(p) || !p.exists() || deliverable(p) == 0 ||
        l4::read_registers(p.thread(), state) != Error::ok)
        return; // (a call that can end now ends as Linux's would: its result first, then the handler)
    const abi::ForeignSyscall call = p.waiting_call;
    const uint64_t deadline = p.wake_deadline;
    if (deliver(p, state, call.rax) != Delivered::handler)
        return;
    const uint64_t now = l4::hc::now_ns();
    const uint64_t remaining_at = call.rax == nr_nanosleep ? call.rsi : call.rax == nr_clock_nanosleep ? call.r10 : 0;
    if (remaining_at != 0 && deadline > now) { // what a sleep had left, as nanosleep(2) says
        const uint64_t left[2] = {(deadline - now) / 1'000'000'000, (deadline - now) % 1'000'000'000};
        (void)p.copy_out(remaining_at, left, sizeof left);
    }
    Answer answer;
    answer.with_registers = true;
    answer.state = state;
    end_wait(p, answer);
}

// Posts `info.signo` to `target` (man 7 signal): SIGKILL ends it, SIGCONT continues it, an
// ignored signal is dropped, the rest wait to be delivered.
void send_signal(Process& target, const signals::Info& info, bool from_kernel_fault)
{
    const int s = info.signo;
    if (!target.exists() || s < 1 || s > signals::kMaxSignal)
        return;
    const signals::Action& action = target.actions[s - 1];
    // init gets only the signals it has handlers for (Linux's SIGNAL_UNKILLABLE). The three that
    // busybox's halt, poweroff and reboot send to init do what an init does for them (a shell
    // as init, with no handler, would otherwise ignore them).
    if (target.pid() == 1 && !from_kernel_fault && action.handler == signals::kSigDfl) {
        if (s == signals::kSigUsr1 || s == signals::kSigUsr2 || s == signals::kSigTerm)
            power_down(s == signals::kSigUsr1   ? "halted"
                       : s == signals::kSigUsr2 ? "powered off"
                                                : "restarting",
                       s == signals::kSigUsr1   ? "SIGUSR1 to init"
                       : s == signals::kSigUsr2 ? "SIGUSR2 to init"
                                                : "SIGTERM to init",
                       static_cast<uint64_t>(info.pid));
        return;
    }
    if (s == signals::kSigKill) {
        if (&target == serving) { // ended when its call is answered
            target.pending |= signals::bit(s);
            return;
        }
        end_process(target, static_cast<uint64_t>(s));
        return;
    }
    if (s == signals::kSigCont)
        continue_process(target);
    if ((signals::kStopSignals & signals::bit(s)) != 0)
        target.pending &= ~signals::bit(signals::kSigCont);
    if (signals::ignored(s, action) && (target.blocked & signals::bit(s)) == 0)
        return;
    if ((target.pending & signals::bit(s)) == 0)
        target.pending_info[s - 1] = info; // a standard signal pends once: the first one's info
    target.pending |= signals::bit(s);
    if (&target == serving || (deliverable(target) & signals::bit(s)) == 0)
        return;
    if (target.waiting)
        interrupt_waiting(target);
    else
        (void)l4::thread_control(target.thread(), abi::ThreadOp::force_exception); // busy: in IPC to us
}

signals::Info user_signal(const Process& sender, uint64_t signal, int32_t code = signals::kSiUser)
{
    signals::Info info;
    info.signo = static_cast<int32_t>(signal);
    info.code = code;
    info.pid = static_cast<int32_t>(sender.pid());
    return info;
}

// kill(2): a process, the caller's group (0), every process but init and the caller (-1), or
// the group -pid.
uint64_t kill(Process& p, uint64_t pid_word, uint64_t signal)
{
    const auto pid = static_cast<int64_t>(static_cast<int32_t>(pid_word));
    if (signal > signals::kMaxSignal)
        return error(kEINVAL);
    const uint64_t group = pid == 0 ? p.group : pid < -1 ? static_cast<uint64_t>(-pid) : 0;
    bool found = false;
    for (Process& target : table) {
        if (!target.exists())
            continue;
        const bool chosen = pid > 0     ? target.pid() == static_cast<uint64_t>(pid)
                            : pid == -1 ? target.pid() != 1 && &target != &p
                                        : target.group == group;
        if (!chosen)
            continue;
        found = true;
        if (signal != 0)
            send_signal(target, user_signal(p, signal));
    }
    return found ? 0 : error(kESRCH);
}

// tgkill(2) and tkill(2): a process is one thread, its tid its pid.
uint64_t thread_kill(Process& p, uint64_t group_id, uint64_t tid, uint64_t signal)
{
    if (signal > signals::kMaxSignal || static_cast<int64_t>(static_cast<int32_t>(tid)) <= 0 ||
        (group_id != ~uint64_t{0} && static_cast<int64_t>(static_cast<int32_t>(group_id)) <= 0))
        return error(kEINVAL);
    Process* target = by_pid(static_cast<uint32_t>(tid));
    if (target == nullptr || !target->exists() || (group_id != ~uint64_t{0} && group_id != tid))
        return error(kESRCH);
    if (signal != 0)
        send_signal(*target, user_signal(p, signal, signals::kSiTkill));
    return 0;
}

// rt_sigreturn(2): the registers, mask and FPU state of the frame at rsp - 8.
bool sigreturn(Process& p, const abi::ForeignSyscall& c, Answer& answer)
{
    static uint8_t ucontext[signals::kUcontextBytes];
    abi::ExceptionState now{};
    signals::Restored restored;
    if (!p.copy_in(ucontext, c.rsp, sizeof ucontext) || l4::read_registers(p.thread(), now) != Error::ok)
        return false;
    signals::parse_ucontext(ucontext, now, restored);
    static l4::FpuImage fpu;
    if (restored.fpu_address != 0) {
        if (!p.copy_in(fpu.bytes, restored.fpu_address, sizeof fpu.bytes) ||
            l4::write_fpu(p.thread(), fpu) != Error::ok)
            return false;
    }
    p.blocked = restored.mask;
    if ((restored.alt_stack.flags & signals::kSsDisable) != 0 || restored.alt_stack.size >= signals::kMinSigStackSize)
        p.alt_stack = signals::AltStack{restored.alt_stack.sp, restored.alt_stack.flags & signals::kSsDisable, 0,
                                        restored.alt_stack.size};
    answer.with_registers = true;
    answer.state = restored.registers;
    return true;
}

// sigaltstack(2).
uint64_t sigaltstack(Process& p, uint64_t stack, uint64_t old_stack, uint64_t rsp)
{
    const signals::AltStack& alt = p.alt_stack;
    const bool on = (alt.flags & signals::kSsDisable) == 0 && rsp - alt.sp <= alt.size && rsp != alt.sp;
    if (old_stack != 0) {
        const signals::AltStack old{alt.sp,
                                    (alt.flags & signals::kSsDisable) != 0 ? signals::kSsDisable
                                    : on                                   ? signals::kSsOnstack
                                                                           : 0,
                                    0, alt.size};
        if (!p.copy_out(old_stack, &old, sizeof old))
            return error(kEFAULT);
    }
    if (stack == 0)
        return 0;
    signals::AltStack next;
    if (!p.copy_in(&next, stack, sizeof next))
        return error(kEFAULT);
    if (on)
        return error(kEPERM);
    if ((next.flags & ~signals::kSsDisable) != 0)
        return error(kEINVAL);
    if ((next.flags & signals::kSsDisable) == 0 && next.size < signals::kMinSigStackSize)
        return error(kENOMEM);
    p.alt_stack = (next.flags & signals::kSsDisable) != 0 ? signals::AltStack{0, signals::kSsDisable, 0, 0}
                                                          : signals::AltStack{next.sp, 0, 0, next.size};
    return 0;
}

// rt_sigsuspend(2) (and pause(2), `mask` 0 for the mask as it is): waits with that mask until
// a handler runs; then -EINTR, and the handler's frame puts the old mask back.
uint64_t sigsuspend(Process& p, uint64_t mask_address, uint64_t set_size, bool keep_mask, Outcome& outcome)
{
    if (!p.waiting && !keep_mask) {
        uint64_t mask = 0;
        if (set_size != 8)
            return error(kEINVAL);
        if (!p.copy_in(&mask, mask_address, sizeof mask))
            return error(kEFAULT);
        p.suspend_saved_mask = p.blocked;
        p.suspend_mask_saved = true;
        p.blocked = mask & ~signals::kUnblockable;
    }
    outcome = Outcome::wait;
    return 0;
}

// Ends every process and the guest: `what` is "powered off", "halted" or "restarting" (a
// reboot, which the VMM's restart=on-crash starts again), `how` and `caller` say who asked.
[[noreturn]] void power_down(const char* what, const char* how, uint64_t caller)
{
    const bool restart = what[0] == 'r'; // "restarting"
    for (Process& left : table)
        if (left.exists())
            end_process(left, kSigKill);
    l4::hc::println("shim: {} by {} from process {}", what, how, caller);
    (void)l4::hc::shutdown(restart ? hc::ShutdownReason::reboot : hc::ShutdownReason::poweroff, 0);
    for (;;) {
    }
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
    power_down(restart ? "restarting" : command == kHalt ? "halted" : "powered off", "reboot(2)", p.pid());
}

// Whether `child` is one `pid` (wait4's and waitid's choice, as wait4 encodes it) names for `p`.
bool chosen_child(const Process& p, const Process& child, int64_t pid)
{
    if (!(child.exists() || child.zombie) || child.parent != p.pid())
        return false;
    if (pid > 0)
        return child.pid() == static_cast<uint64_t>(pid);
    if (pid == 0)
        return child.group == p.group;
    return pid == -1 || child.group == static_cast<uint64_t>(-pid);
}

// A change of a child of `p` that `options` ask for: its wait status word (exit, a signal,
// stopped, continued), taking it unless WNOWAIT; nullptr when none has one (and `any` whether
// there are children at all).
Process* child_change(Process& p, int64_t pid, uint64_t options, uint32_t& status, int32_t& code, bool& any)
{
    any = false;
    for (Process& child : table) {
        if (!chosen_child(p, child, pid))
            continue;
        any = true;
        const bool take = (options & kWnowait) == 0;
        if (child.zombie && (options & kWexited) != 0) {
            status = static_cast<uint32_t>(child.exit_status);
            code = (status & 0x7f) != 0 ? signals::kCldKilled : signals::kCldExited;
            if (take)
                child.zombie = false; // reaped: the slot is free
            return &child;
        }
        if (child.exists() && child.stopped && child.report_stop && (options & kWuntraced) != 0) {
            status = static_cast<uint32_t>(child.stop_signal) << 8 | 0x7f;
            code = signals::kCldStopped;
            child.report_stop = !take;
            return &child;
        }
        if (child.exists() && child.report_continue && (options & kWcontinued) != 0) {
            status = 0xffff;
            code = signals::kCldContinued;
            child.report_continue = !take;
            return &child;
        }
    }
    return nullptr;
}

// wait4(2); waits unless WNOHANG.
uint64_t wait4(Process& p, const abi::ForeignSyscall& c, Outcome& outcome)
{
    uint32_t status = 0;
    int32_t code = 0;
    bool any = false;
    if ((c.rdx & ~(kWnohang | kWuntraced | kWcontinued | 0xe000'0000)) != 0)
        return error(kEINVAL);
    Process* child = child_change(p, static_cast<int32_t>(c.rdi), (c.rdx & ~kWnowait) | kWexited, status, code, any);
    if (child != nullptr) {
        static const uint64_t no_usage[18] = {}; // struct rusage: no times are kept
        if ((c.rsi != 0 && !p.copy_out(c.rsi, &status, sizeof status)) ||
            (c.r10 != 0 && !p.copy_out(c.r10, no_usage, sizeof no_usage)))
            return error(kEFAULT);
        return child->pid();
    }
    if (!any)
        return error(kECHILD);
    if ((c.rdx & kWnohang) == 0)
        outcome = Outcome::wait;
    return 0;
}

// waitid(2): P_ALL, P_PID, P_PGID, its siginfo.
uint64_t waitid(Process& p, const abi::ForeignSyscall& c, Outcome& outcome)
{
    const uint64_t options = c.r10;
    if (c.rdi > kPPgid || (options & (kWexited | kWuntraced | kWcontinued)) == 0 ||
        (options & ~(kWnohang | kWexited | kWuntraced | kWcontinued | kWnowait | 0xe000'0000)) != 0)
        return error(kEINVAL);
    const auto id = static_cast<int64_t>(static_cast<int32_t>(c.rsi));
    const int64_t pid = c.rdi == kPAll ? -1 : c.rdi == kPPid ? id : id == 0 ? 0 : -id;
    if (c.rdi != kPAll && id < 0)
        return error(kEINVAL);
    uint32_t status = 0;
    int32_t code = 0;
    bool any = false;
    Process* child = child_change(p, pid, options, status, code, any);
    if (child == nullptr && !any)
        return error(kECHILD);
    if (child == nullptr && (options & kWnohang) == 0) {
        outcome = Outcome::wait;
        return 0;
    }
    int32_t info[32] = {}; // siginfo: all zero when WNOHANG found nothing
    if (child != nullptr) {
        info[0] = signals::kSigChld;
        info[2] = code;
        info[4] = static_cast<int32_t>(child->pid());
        info[6] = code == signals::kCldExited    ? static_cast<int32_t>(status >> 8 & 0xff)
                  : code == signals::kCldKilled  ? static_cast<int32_t>(status & 0x7f)
                  : code == signals::kCldStopped ? static_cast<int32_t>(status >> 8)
                                                 : signals::kSigCont;
    }
    return c.rdx == 0 || p.copy_out(c.rdx, info, sizeof info) ? 0 : error(kEFAULT);
}

// The guest's one timer, set for the earliest of the sleeps, timeouts and alarms.
uint64_t timer_armed = 0; // the deadline the VMM has now (0: none, or it passed)

void arm_timer()
{
    uint64_t earliest = 0;
    for (uint64_t bits = waiting_slots | alarm_slots; bits != 0; bits &= bits - 1) {
        const Process& p = table[__builtin_ctzll(bits)];
        const uint64_t deadlines[2] = {p.waiting ? p.wake_deadline : 0, p.alarm_deadline};
        for (uint64_t deadline : deadlines)
            if (deadline != 0 && (earliest == 0 || deadline < earliest))
                earliest = deadline;
    }
    if (earliest != timer_armed) // a hypercall only for a change: most system calls make none
        (void)l4::hc::timer_set(earliest);
    timer_armed = earliest;
}

// SIGALRM for the alarms (alarm, setitimer ITIMER_REAL) that are due; an interval reloads.
void fire_alarms()
{
    const uint64_t now = l4::hc::now_ns();
    for (uint64_t bits = alarm_slots; bits != 0; bits &= bits - 1) {
        Process& p = table[__builtin_ctzll(bits)];
        if (!p.exists() || p.alarm_deadline > now)
            continue;
        set_alarm(p, p.alarm_interval != 0 ? now + p.alarm_interval : 0, p.alarm_interval);
        signals::Info info;
        info.signo = signals::kSigAlrm;
        info.code = signals::kSiKernel;
        send_signal(p, info);
    }
}

// setitimer(2) and getitimer(2) of ITIMER_REAL (`set` 0: get only); struct itimerval is two
// timevals: the interval, then the time left.
uint64_t itimer(Process& p, uint64_t which, uint64_t set, uint64_t old)
{
    constexpr uint64_t kMicro = 1000;
    if (which != 0)
        return error(kEINVAL); // ITIMER_VIRTUAL and ITIMER_PROF: no process CPU time is kept
    const uint64_t now = l4::hc::now_ns();
    const uint64_t left = p.alarm_deadline > now ? p.alarm_deadline - now : p.alarm_deadline != 0 ? kMicro : 0;
    const int64_t current[4] = {static_cast<int64_t>(p.alarm_interval / 1'000'000'000),
                                static_cast<int64_t>(p.alarm_interval % 1'000'000'000 / kMicro),
                                static_cast<int64_t>(left / 1'000'000'000),
                                static_cast<int64_t>(left % 1'000'000'000 / kMicro)};
    int64_t next[4] = {};
    if (set != 0 && !p.copy_in(next, set, sizeof next))
        return error(kEFAULT);
    for (int i = 0; set != 0 && i < 4; ++i)
        if (next[i] < 0 || (i % 2 == 1 && next[i] >= 1'000'000))
            return error(kEINVAL);
    if (old != 0 && !p.copy_out(old, current, sizeof current))
        return error(kEFAULT);
    if (set != 0) {
        const auto ns = [](int64_t seconds, int64_t micros) {
            return static_cast<uint64_t>(seconds) * 1'000'000'000 + static_cast<uint64_t>(micros) * kMicro;
        };
        const uint64_t value = ns(next[2], next[3]);
        set_alarm(p, value != 0 ? now + value : 0, ns(next[0], next[1]));
        arm_timer();
    }
    return 0;
}

// alarm(2): SIGALRM in `seconds` (0: none); the seconds the earlier alarm had left.
uint64_t alarm(Process& p, uint64_t seconds)
{
    const uint64_t now = l4::hc::now_ns();
    const uint64_t left = p.alarm_deadline > now ? p.alarm_deadline - now : 0;
    const uint64_t span = uint64_t{static_cast<uint32_t>(seconds)} * 1'000'000'000;
    set_alarm(p, span != 0 ? now + span : 0, 0);
    arm_timer();
    const uint64_t rounded = (left + 500'000'000) / 1'000'000'000; // to the nearest second, as Linux
    return left != 0 && rounded == 0 ? 1 : rounded;
}

// setpgid(2): the caller or a child of it into a group of its session (a new one: its own pid).
uint64_t setpgid(Process& p, uint64_t pid_word, uint64_t group_word)
{
    const auto pid = static_cast<int32_t>(pid_word), group = static_cast<int32_t>(group_word);
    if (pid < 0 || group < 0)
        return error(kEINVAL);
    Process* target = pid == 0 ? &p : by_pid(static_cast<uint64_t>(pid));
    if (target == nullptr || !target->exists() || (target != &p && target->parent != p.pid()))
        return error(kESRCH);
    const uint64_t wanted = group == 0 ? target->pid() : static_cast<uint64_t>(group);
    if (target->session == target->pid() || target->session != p.session)
        return error(kEPERM);
    bool exists = wanted == target->pid();
    for (const Process& other : table)
        exists = exists || (other.exists() && other.group == wanted && other.session == p.session);
    if (!exists)
        return error(kEPERM);
    target->group = wanted;
    return 0;
}

// getpgid(2) and getsid(2) of a process (0: the caller).
uint64_t group_or_session(Process& p, uint64_t pid, bool session)
{
    const Process* target = static_cast<uint32_t>(pid) == 0 ? &p : by_pid(static_cast<uint32_t>(pid));
    if (target == nullptr || !target->exists())
        return error(kESRCH);
    return session ? target->session : target->group;
}

// sysinfo(2): uptime from the VMM's clock, memory as the shim's page pool has it, no swap, no
// load average kept.
uint64_t sysinfo(Process& p, uint64_t where)
{
    struct {
        int64_t uptime;
        uint64_t loads[3];
        uint64_t total_ram, free_ram, shared_ram, buffer_ram, total_swap, free_swap;
        uint16_t processes, pad[3];
        uint64_t total_high, free_high;
        uint32_t memory_unit;
        uint8_t rest[4];
    } info{};
    static_assert(sizeof info == 112);
    info.uptime = static_cast<int64_t>(l4::hc::now_ns() / 1'000'000'000);
    info.total_ram = l4::hc::start_info().memory_size;
    info.free_ram = pool.free_pages() * 4096;
    for (const Process& other : table)
        info.processes = static_cast<uint16_t>(info.processes + (other.exists() ? 1 : 0));
    info.memory_unit = 1;
    return p.copy_out(where, &info, sizeof info) ? 0 : error(kEFAULT);
}

// What `p`'s system call comes to; `answer` says how it goes on when it is answered at once.
Outcome call(Process& p, const abi::ForeignSyscall& c, Answer& answer)
{
    uint64_t result = 0;
    Outcome outcome = Outcome::resume;
    switch (c.rax) {
    case nr_clone: result = (c.rdi & kSignalMask) == 17 ? fork(p, c, c.rdi, c.r10) : error(kENOSYS); break;
    case nr_fork:
    case nr_vfork: result = fork(p, c, 0, 0); break; // vfork as fork: the child has its own copy
    case nr_execve:
        if (execve(p, c, answer, result))
            return Outcome::resume;
        if (result == kNoMemoryForStack) {
            l4::hc::println("shim: process {}: no memory for the stack of {}", p.pid(), p.exe);
            end_process(p, kSigSegv);
            return Outcome::exited;
        }
        break;
    case nr_wait4: result = wait4(p, c, outcome); break;
    case nr_waitid: result = waitid(p, c, outcome); break;
    case nr_getppid: result = p.parent; break;
    case nr_setpgid: result = setpgid(p, c.rdi, c.rsi); break;
    case nr_getpgid: result = group_or_session(p, c.rdi, false); break;
    case nr_getsid: result = group_or_session(p, c.rdi, true); break;
    case nr_reboot: result = reboot(p, c); break;
    case nr_sysinfo: result = sysinfo(p, c.rdi); break;
    case nr_sync: result = 0; break; // the ramfs has nothing to write back
    case nr_exit:
    case nr_exit_group: end_process(p, (c.rdi & 0xff) << 8); return Outcome::exited;
    case nr_kill: result = kill(p, c.rdi, c.rsi); break;
    case nr_tkill: result = thread_kill(p, ~uint64_t{0}, c.rdi, c.rsi); break;
    case nr_tgkill: result = thread_kill(p, c.rdi, c.rsi, c.rdx); break;
    case nr_rt_sigreturn:
        if (sigreturn(p, c, answer))
            return Outcome::resume;
        l4::hc::println("shim: process {} ({}): bad signal frame at {:#x}: killed by signal 11", p.pid(), p.exe, c.rsp);
        end_process(p, kSigSegv); // as Linux does for a frame it cannot take back
        return Outcome::exited;
    case nr_rt_sigsuspend: result = sigsuspend(p, c.rdi, c.rsi, false, outcome); break;
    case nr_pause: result = sigsuspend(p, 0, 0, true, outcome); break;
    case nr_rt_sigpending: {
        const uint64_t set = p.pending & p.blocked;
        result = c.rsi > 8 ? error(kEINVAL) : p.copy_out(c.rdi, &set, c.rsi) ? 0 : error(kEFAULT);
        break;
    }
    case nr_sigaltstack: result = sigaltstack(p, c.rdi, c.rsi, c.rsp); break;
    case nr_alarm: result = alarm(p, c.rdi); break;
    case nr_setitimer: result = itimer(p, c.rdi, c.rsi, c.rdx); break;
    case nr_getitimer: result = c.rsi == 0 ? error(kEFAULT) : itimer(p, c.rdi, 0, c.rsi); break;
    default:
        outcome = handle_syscall(p, c, result);
        if (result == error(kEPIPE) && (c.rax == nr_write || c.rax == nr_writev))
            send_signal(p, user_signal(p, signals::kSigPipe));
        break;
    }
    if (!p.exists())
        return Outcome::exited; // it signalled itself to an end
    answer.rax = result;
    return outcome;
}

// Delivers `p`'s signals before it goes on as `answer` says; false when they ended it.
bool finish(Process& p, Answer& answer)
{
    if (deliverable(p) == 0)
        return true;
    if (!answer.with_registers) {
        if (l4::read_registers(p.thread(), answer.state) != Error::ok)
            return true;
        answer.state.rax = answer.rax;
        answer.with_registers = true;
    }
    return deliver(p, answer.state) != Delivered::gone;
}

// Tries every waiting call again (after an event, or a process's exit).
void retry_waiting()
{
    for (uint64_t bits = waiting_slots; bits != 0; bits &= bits - 1) {
        Process& p = table[__builtin_ctzll(bits)];
        if (p.exists() && p.waiting && !p.stopped)
            (void)retry(p);
    }
    arm_timer();
}

// A process's CPU exception as Linux's signal for it (man 7 signal), with its si_code.
signals::Info fault_info(uint64_t vector, uint64_t address)
{
    signals::Info info;
    info.trap = vector;
    info.address = address;
    switch (vector) {
    case 0: info.signo = signals::kSigFpe, info.code = 1; break;                   // #DE: FPE_INTDIV
    case 3: info.signo = signals::kSigTrap, info.code = signals::kSiKernel; break; // int3
    case 6: info.signo = signals::kSigIll, info.code = 2; break;                   // #UD: ILL_ILLOPN
    case 16:
    case 19: info.signo = signals::kSigFpe, info.code = 0; break; // x87 or SIMD floating point
    case 17: info.signo = signals::kSigBus, info.code = 1; break; // #AC: BUS_ADRALN
    case 14: info.signo = signals::kSigSegv, info.code = signals::kSegvMaperr; break;
    default: info.signo = signals::kSigSegv, info.code = signals::kSiKernel; break; // #GP and the rest
    }
    return info;
}

// A fault's signal: its handler runs when it has one and does not block it (`state` then goes
// on there); otherwise the process ends by it (and the shim says where). False: it is gone.
bool fault(Process& p, const signals::Info& info, const char* why, abi::ExceptionState& state)
{
    const int s = info.signo;
    const uint64_t handler = p.actions[s - 1].handler;
    if (handler != signals::kSigDfl && handler != signals::kSigIgn && (p.blocked & signals::bit(s)) == 0) {
        p.pending |= signals::bit(s);
        p.pending_info[s - 1] = info;
        return deliver(p, state) != Delivered::gone;
    }
    l4::hc::println("shim: process {} ({}) killed by signal {}: {} at {:#x}, rip {:#x}", p.pid(), p.exe, s, why,
                    info.address, state.rip);
    end_process(p, static_cast<uint64_t>(s));
    return false;
}

// The signals the terminal's keys made, to its foreground group.
void send_terminal_signals()
{
    for (uint64_t bits = console().take_signals(); bits != 0; bits &= bits - 1) {
        signals::Info info;
        info.signo = __builtin_ctzll(bits) + 1;
        info.code = signals::kSiKernel;
        for (Process& target : table)
            if (target.exists() && target.group == console().foreground_group)
                send_signal(target, info);
    }
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
        Answer reply;
        if (e == Error::ok && label == abi::label::notification) {
            (void)l4::hc::take_events();
            timer_armed = 0; // it may have passed: set again what is still due
            console().take_input();
            send_terminal_signals();
            fire_alarms();
            retry_waiting();
        } else if (p != nullptr && p->exists() && label == abi::label::foreign_syscall) {
            const auto c = received<abi::ForeignSyscall>(m);
            serving = p;
            const Outcome outcome = call(*p, c, reply);
            serving = nullptr;
            if (outcome == Outcome::wait) {
                set_waiting(*p, true);
                p->waiting_call = c;
                (void)l4::reply_save(p->reply()); // kept until an event lets the call finish
                interrupt_waiting(*p);            // a signal it sent itself, or one its new mask lets through
            } else if (outcome == Outcome::resume) {
                answer = finish(*p, reply);
            }
            retry_waiting(); // a pipe may have moved, a parent in wait4 may have its child's end
        } else if (p != nullptr && p->exists() && label == abi::label::page_fault) {
            const uint64_t address = m.words[0], access = m.words[1];
            abi::ExceptionState& at = reply.state;
            const bool mapped = p->resolve(address, static_cast<uint32_t>(access)) != 0;
            // The fault is answered with a retry; a handler to run first is in its registers.
            if ((!mapped || deliverable(*p) != 0) && l4::read_registers(p->thread(), at) == Error::ok) {
                serving = p;
                answer = mapped ? deliver(*p, at) != Delivered::gone
                                : fault(*p, fault_info(14, address),
                                        access == 2   ? "write"
                                        : access == 4 ? "execute"
                                                      : "read",
                                        at);
                serving = nullptr;
                if (answer)
                    (void)l4::write_registers(p->thread(), at);
            } else {
                answer = mapped;
            }
            m = l4::Message{};
            m.tag = abi::MessageTag::make(0, 0); // mapped by now (or its handler is): the access is retried
            retry_waiting();
        } else if (p != nullptr && p->exists()) {
            reply.state = received<abi::ExceptionState>(m);
            reply.with_registers = true;
            serving = p;
            if (reply.state.vector == abi::kForcedVector) // sent here to take its signals
                answer = deliver(*p, reply.state) != Delivered::gone;
            else
                answer = fault(*p, fault_info(reply.state.vector, reply.state.fault_address), "exception", reply.state);
            serving = nullptr;
            retry_waiting();
        }
        if (answer && label != abi::label::page_fault)
            compose(m, reply); // last: the UTCB carries the registers
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
