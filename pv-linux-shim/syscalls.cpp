// The shim's Linux system calls (syscalls.hpp).
#include "syscalls.hpp"

#include "common/string.hpp"
#include "l4/guest_console.hpp"
#include "console.hpp"
#include "files.hpp"
#include "futex.hpp"
#include "l4/hypercall.hpp"
#include "linux_abi.hpp"
#include "syscall_numbers.hpp"

namespace shim {

namespace {

using namespace linux_abi;

constexpr uint64_t kArchSetFs = 0x1002, kArchGetFs = 0x1003;
constexpr uint64_t kPrSetName = 15, kPrGetName = 16;
constexpr uint64_t kRlimitStack = 3, kRlimInfinity = ~uint64_t{0};
constexpr uint64_t kProtRead = 1, kProtWrite = 2, kProtExec = 4;
constexpr uint64_t kMapPrivate = 0x02, kMapFixed = 0x10, kMapAnonymous = 0x20;
constexpr uint64_t kMaxIov = 1024;
constexpr uint64_t kFDupfd = 0, kFGetfd = 1, kFSetfd = 2, kFGetfl = 3, kFSetfl = 4, kFDupfdCloexec = 1030;
constexpr uint64_t kTcgets = 0x5401, kTcsets = 0x5402, kTcsetsw = 0x5403, kTcsetsf = 0x5404, kTiocgpgrp = 0x540f,
                   kTiocspgrp = 0x5410, kTiocgwinsz = 0x5413, kTiocswinsz = 0x5414;
constexpr uint64_t kSigKill = 9, kSigStop = 19, kSigBlock = 0, kSigUnblock = 1, kSigSetmask = 2;
constexpr int16_t kPollNval = 0x20;
constexpr uint64_t kNsPerSecond = 1'000'000'000;
constexpr uint64_t kAtFdcwd = static_cast<uint64_t>(-100), kAtSymlinkNofollow = 0x100, kAtRemovedir = 0x200;

uint64_t error(int errno_value) { return static_cast<uint64_t>(-static_cast<int64_t>(errno_value)); }

Process* current = nullptr; // the process whose call is being answered

OpenFile* file_of(uint64_t fd) { return fd < Process::kMaxFiles ? open_file(current->files[fd]) : nullptr; }

bool is_console(uint64_t fd)
{
    const OpenFile* file = file_of(fd);
    return file != nullptr && file->kind == OpenFile::Kind::console;
}

// The lowest free descriptor from `from` on for `handle` (retained), or -EMFILE.
uint64_t new_descriptor(Process& p, uint64_t from, uint16_t handle)
{
    for (uint64_t fd = from; fd < Process::kMaxFiles; ++fd)
        if (p.files[fd] == 0) {
            retain(handle);
            p.files[fd] = handle;
            return fd;
        }
    return error(kEMFILE);
}

// A write to a file or the console (copied out of the process a slice at a time).
uint64_t write_any(Process& p, uint64_t fd, uint64_t buffer, uint64_t length)
{
    OpenFile* file = file_of(fd);
    if (file == nullptr)
        return error(kEBADF);
    if (file->kind == OpenFile::Kind::pipe_write || file->kind == OpenFile::Kind::pipe_read)
        return pipe_write(p, *file, buffer, length);
    if (file->kind != OpenFile::Kind::console)
        return sys_write_file(p, *file, buffer, length);
    char slice[256];
    for (uint64_t done = 0; done < length;) {
        const uint64_t n = length - done < sizeof slice ? length - done : sizeof slice;
        if (!p.copy_in(slice, buffer + done, n))
            return done != 0 ? done : error(kEFAULT);
        console().write(reinterpret_cast<const uint8_t*>(slice), n);
        done += n;
    }
    return length;
}

uint64_t writev(Process& p, uint64_t fd, uint64_t iov, uint64_t count, Outcome& outcome)
{
    if (count > kMaxIov)
        return error(kEINVAL);
    uint64_t total = 0;
    for (uint64_t i = 0; i < count; ++i) {
        uint64_t vector[2];
        if (!p.copy_in(vector, iov + i * sizeof vector, sizeof vector))
            return total != 0 ? total : error(kEFAULT);
        const uint64_t written = write_any(p, fd, vector[0], vector[1]);
        if (written == kMustWait) { // a full pipe: what went so far, or wait for room
            if (total == 0)
                outcome = Outcome::wait;
            return total;
        }
        if (static_cast<int64_t>(written) < 0)
            return total != 0 ? total : written;
        total += written;
    }
    return total;
}

uint32_t rights_of_prot(uint64_t prot)
{
    return ((prot & kProtRead) ? kRead : 0) | ((prot & kProtWrite) ? kWrite : 0) | ((prot & kProtExec) ? kExecute : 0);
}

uint64_t mmap(Process& p, uint64_t address, uint64_t length, uint64_t prot, uint64_t flags, uint64_t fd)
{
    // Anonymous memory only, for now: private, or shared (MAP_SHARED or MAP_SHARED_VALIDATE) with
    // the children forked after; a file cannot be mapped (ENODEV, as for a file system without
    // mmap). As on Linux, an anonymous mapping's fd is not looked at (glibc passes -1 in 32 bits).
    const uint64_t type = flags & 0x03;
    if ((flags & kMapAnonymous) == 0)
        return error(file_of(fd & 0xffff'ffff) == nullptr ? kEBADF : kENODEV);
    if (length == 0 || type == 0)
        return error(kEINVAL);
    const uint64_t fixed = (flags & kMapFixed) != 0 ? address : 0; // otherwise a hint
    if ((flags & kMapFixed) != 0 && (address == 0 || (address & 4095) != 0))
        return error(kEINVAL);
    const uint64_t at = p.map_anonymous(length, type != kMapPrivate, fixed);
    if (at == 0)
        return error(kENOMEM);
    if (rights_of_prot(prot) != (kRead | kWrite) && !p.protect(at, length, rights_of_prot(prot)))
        return error(kENOMEM);
    return at;
}

uint64_t fcntl(Process& p, uint64_t fd, uint64_t command, uint64_t argument)
{
    if (file_of(fd) == nullptr)
        return error(kEBADF);
    switch (command) {
    case kFDupfd:
    case kFDupfdCloexec:
        return argument >= Process::kMaxFiles ? error(kEINVAL) : new_descriptor(p, argument, p.files[fd]);
    case kFGetfl: return file_of(fd)->flags;
    case kFSetfl: return 0;
    case kFGetfd:
    case kFSetfd: return 0; // no close-on-exec to keep yet: nothing is ever exec'd
    default: return error(kEINVAL);
    }
}

uint64_t uname(Process& p, uint64_t buffer)
{
    // struct utsname: six fields of 65 bytes.
    char fields[6][65] = {};
    const char* values[6] = {"Linux", "kestrel", "6.1.0-kestrel", "#1 pv-linux-shim", "x86_64", "(none)"};
    for (int i = 0; i < 6; ++i)
        memcpy(fields[i], values[i], strlen(values[i]));
    return p.copy_out(buffer, fields, sizeof fields) ? 0 : error(kEFAULT);
}

// /proc/self/exe (busybox asks it once per exec) until there is a /proc; other links from the
// file system.
uint64_t readlink(Process& p, uint64_t dirfd, uint64_t path, uint64_t buffer, uint64_t size)
{
    char name[64];
    static constexpr char kSelfExe[] = "/proc/self/exe";
    if (p.copy_string(name, path, sizeof name) && strlen(name) == sizeof kSelfExe - 1 &&
        memcmp(name, kSelfExe, sizeof kSelfExe) == 0) {
        if (static_cast<int64_t>(size) <= 0)
            return error(kEINVAL);
        const uint64_t n = size < strlen(p.exe) ? size : strlen(p.exe);
        return p.copy_out(buffer, p.exe, n) ? n : error(kEFAULT);
    }
    return sys_readlinkat(p, dirfd, path, buffer, size);
}

uint64_t prlimit(Process& p, uint64_t pid, uint64_t resource, uint64_t new_limit, uint64_t old_limit)
{
    if (pid != 0 && pid != p.pid())
        return error(kESRCH);
    if (resource >= 16) // RLIM_NLIMITS
        return error(kEINVAL);
    if (new_limit != 0)
        return error(kEPERM); // no limit can be changed yet
    const uint64_t limit[2] = {resource == kRlimitStack ? kStackLimit : kRlimInfinity, kRlimInfinity};
    return old_limit == 0 || p.copy_out(old_limit, limit, sizeof limit) ? 0 : error(kEFAULT);
}

// xorshift64*, seeded from the TSC at first use: getrandom's bytes.
uint64_t next_random()
{
    static uint64_t state = 0;
    if (state == 0) {
        uint32_t lo, hi;
        asm volatile("rdtsc" : "=a"(lo), "=d"(hi));
        state = (uint64_t{hi} << 32 | lo) | 1;
    }
    state ^= state >> 12;
    state ^= state << 25;
    state ^= state >> 27;
    return state * 0x2545'f491'4f6c'dd1d;
}

uint64_t getrandom(Process& p, uint64_t buffer, uint64_t length, uint64_t flags)
{
    if ((flags & ~uint64_t{7}) != 0) // GRND_NONBLOCK, GRND_RANDOM, GRND_INSECURE
        return error(kEINVAL);
    for (uint64_t done = 0; done < length; done += 8) {
        const uint64_t bits = next_random();
        if (!p.copy_out(buffer + done, &bits, length - done < 8 ? length - done : 8))
            return done != 0 ? done : error(kEFAULT);
    }
    return length;
}

uint64_t prctl(Process& p, uint64_t option, uint64_t argument)
{
    if (option == kPrSetName) { // at most 15 bytes of the name: a longer one is cut
        char name[sizeof p.name] = {};
        for (size_t i = 0; i + 1 < sizeof name && (i == 0 || name[i - 1] != '\0'); ++i)
            if (!p.copy_in(&name[i], argument + i, 1))
                return error(kEFAULT);
        memcpy(p.name, name, sizeof name);
        return 0;
    }
    if (option == kPrGetName)
        return p.copy_out(argument, p.name, sizeof p.name) ? 0 : error(kEFAULT);
    return error(kEINVAL);
}

uint64_t arch_prctl(Process& p, uint64_t code, uint64_t address)
{
    if (code == kArchSetFs) {
        const l4::Error e = l4::thread_control(p.thread(), l4::abi::ThreadOp::set_fs_base, address);
        if (e != l4::Error::ok)
            return error(kEPERM); // not a user address
        p.fs_base = address;
        return 0;
    }
    if (code == kArchGetFs)
        return p.copy_out(address, &p.fs_base, sizeof p.fs_base) ? 0 : error(kEFAULT);
    return error(kEINVAL);
}

uint64_t read(Process& p, uint64_t fd, uint64_t buffer, uint64_t length, Outcome& outcome)
{
    OpenFile* file = file_of(fd);
    if (file == nullptr)
        return error(kEBADF);
    if (file->kind == OpenFile::Kind::pipe_read || file->kind == OpenFile::Kind::pipe_write) {
        const uint64_t got = pipe_read(p, *file, buffer, length);
        if (got == kMustWait)
            outcome = Outcome::wait;
        return got == kMustWait ? 0 : got;
    }
    if (file->kind != OpenFile::Kind::console)
        return sys_read_file(p, *file, buffer, length);
    if (length == 0)
        return 0;
    if (console().readable() == 0) {
        outcome = Outcome::wait;
        return 0;
    }
    uint8_t bytes[256];
    const size_t n = console().read(bytes, length < sizeof bytes ? length : sizeof bytes);
    return p.copy_out(buffer, bytes, n) ? n : error(kEFAULT);
}

// poll(2) over the console's descriptors; waits (until `timeout` ms, -1: for ever) when none
// is ready.
uint64_t poll(Process& p, uint64_t fds, uint64_t count, uint64_t timeout, Outcome& outcome)
{
    struct PollFd {
        int32_t fd;
        int16_t events, revents;
    };
    if (count > Process::kMaxFiles)
        return error(kEINVAL);
    PollFd polled[Process::kMaxFiles];
    if (!p.copy_in(polled, fds, count * sizeof(PollFd)))
        return error(kEFAULT);
    uint64_t ready = 0;
    for (uint64_t i = 0; i < count; ++i) {
        PollFd& f = polled[i];
        f.revents = 0;
        if (f.fd < 0)
            continue;
        const OpenFile* file = file_of(static_cast<uint64_t>(f.fd));
        if (file == nullptr)
            f.revents = kPollNval;
        else // POLLHUP and POLLERR come whether asked for or not
            f.revents = static_cast<int16_t>(poll_bits(*file, console().readable() != 0) & (f.events | 0x18));
        ready += f.revents != 0;
    }
    const auto ms = static_cast<int64_t>(static_cast<int32_t>(timeout));
    if (ready == 0 && ms != 0) {
        if (!p.waiting && ms > 0)
            p.wake_deadline = l4::hc::now_ns() + static_cast<uint64_t>(ms) * 1'000'000;
        if (p.wake_deadline == 0 || l4::hc::now_ns() < p.wake_deadline) {
            outcome = Outcome::wait;
            return 0;
        }
    }
    p.wake_deadline = 0;
    return p.copy_out(fds, polled, count * sizeof(PollFd)) ? ready : error(kEFAULT);
}

// nanosleep and clock_nanosleep (relative): waits until the deadline.
uint64_t sleep(Process& p, uint64_t request, Outcome& outcome)
{
    if (!p.waiting) {
        int64_t span[2];
        if (!p.copy_in(span, request, sizeof span))
            return error(kEFAULT);
        if (span[0] < 0 || span[1] < 0 || span[1] >= static_cast<int64_t>(kNsPerSecond))
            return error(kEINVAL);
        p.wake_deadline =
            l4::hc::now_ns() + static_cast<uint64_t>(span[0]) * kNsPerSecond + static_cast<uint64_t>(span[1]);
    }
    if (l4::hc::now_ns() < p.wake_deadline) {
        outcome = Outcome::wait;
        return 0;
    }
    p.wake_deadline = 0;
    return 0;
}

// gettimeofday(2): the clock of clock_gettime; no time zone (tz is zeroed).
uint64_t gettimeofday(Process& p, uint64_t where, uint64_t zone)
{
    const uint64_t now = l4::hc::now_ns();
    const uint64_t value[2] = {now / kNsPerSecond, now % kNsPerSecond / 1000};
    const uint32_t no_zone[2] = {};
    if ((where != 0 && !p.copy_out(where, value, sizeof value)) ||
        (zone != 0 && !p.copy_out(zone, no_zone, sizeof no_zone)))
        return error(kEFAULT);
    return 0;
}

// clock_getres(2): the VMM's clock counts nanoseconds.
uint64_t clock_getres(Process& p, uint64_t clock, uint64_t where)
{
    const uint64_t resolution[2] = {0, 1};
    if (clock > 11)
        return error(kEINVAL);
    return where == 0 || p.copy_out(where, resolution, sizeof resolution) ? 0 : error(kEFAULT);
}

uint64_t clock_gettime(Process& p, uint64_t clock, uint64_t where)
{
    if (clock > 11)
        return error(kEINVAL);
    const uint64_t now = l4::hc::now_ns();
    const uint64_t span[2] = {now / kNsPerSecond, now % kNsPerSecond};
    return p.copy_out(where, span, sizeof span) ? 0 : error(kEFAULT);
}

uint64_t ioctl(Process& p, uint64_t fd, uint64_t request, uint64_t argument)
{
    if (!is_console(fd))
        return error(kEBADF);
    Console& tty = console();
    switch (request) {
    case kTcgets: return p.copy_out(argument, &tty.termios, sizeof tty.termios) ? 0 : error(kEFAULT);
    case kTcsets:
    case kTcsetsw:
    case kTcsetsf: return p.copy_in(&tty.termios, argument, sizeof tty.termios) ? 0 : error(kEFAULT);
    case kTiocgpgrp: {
        const auto group = static_cast<int32_t>(tty.foreground_group);
        return p.copy_out(argument, &group, sizeof group) ? 0 : error(kEFAULT);
    }
    case kTiocspgrp: {
        int32_t group = 0;
        if (!p.copy_in(&group, argument, sizeof group))
            return error(kEFAULT);
        if (group <= 0)
            return error(kEINVAL);
        tty.foreground_group = static_cast<uint64_t>(group);
        return 0;
    }
    case kTiocgwinsz: {
        const uint16_t size[4] = {24, 80, 0, 0};
        return p.copy_out(argument, size, sizeof size) ? 0 : error(kEFAULT);
    }
    case kTiocswinsz: return 0;
    default: return error(kENOTTY);
    }
}

uint64_t close(Process& p, uint64_t fd)
{
    if (file_of(fd) == nullptr)
        return error(kEBADF);
    release(p.files[fd]);
    p.files[fd] = 0;
    return 0;
}

uint64_t dup2(Process& p, uint64_t from, uint64_t to)
{
    if (file_of(from) == nullptr || to >= Process::kMaxFiles)
        return error(kEBADF);
    if (from == to)
        return to;
    retain(p.files[from]);
    release(p.files[to]);
    p.files[to] = p.files[from];
    return to;
}

uint64_t sigaction(Process& p, uint64_t signal, uint64_t action, uint64_t old_action, uint64_t set_size)
{
    if (signal == 0 || signal > 64 || set_size != 8)
        return error(kEINVAL);
    Process::SignalAction& a = p.actions[signal - 1];
    if (old_action != 0 && !p.copy_out(old_action, &a, sizeof a))
        return error(kEFAULT);
    if (action != 0) {
        if (signal == kSigKill || signal == kSigStop)
            return error(kEINVAL);
        Process::SignalAction next;
        if (!p.copy_in(&next, action, sizeof next))
            return error(kEFAULT);
        a = next;
        if (signals::ignored(static_cast<int>(signal), a)) // what is pending of it goes (man 2 sigaction)
            p.pending &= ~signals::bit(static_cast<int>(signal));
    }
    return 0;
}

uint64_t sigprocmask(Process& p, uint64_t how, uint64_t set, uint64_t old_set, uint64_t set_size)
{
    if (set_size != 8)
        return error(kEINVAL);
    if (old_set != 0 && !p.copy_out(old_set, &p.blocked, sizeof p.blocked))
        return error(kEFAULT);
    if (set == 0)
        return 0;
    uint64_t mask = 0;
    if (!p.copy_in(&mask, set, sizeof mask))
        return error(kEFAULT);
    mask &= ~(uint64_t{1} << (kSigKill - 1) | uint64_t{1} << (kSigStop - 1));
    switch (how) {
    case kSigBlock: p.blocked |= mask; return 0;
    case kSigUnblock: p.blocked &= ~mask; return 0;
    case kSigSetmask: p.blocked = mask; return 0;
    default: return error(kEINVAL);
    }
}

// Names of calls the shim does not offer yet, for its log (syscall_64.tbl).
struct Named {
    uint64_t number;
    const char* name;
};
constexpr Named kUnsupportedNames[] = {
    {2, "open"},       {4, "stat"},         {6, "lstat"},        {8, "lseek"},       {17, "pread64"},
    {18, "pwrite64"},  {19, "readv"},       {21, "access"},      {22, "pipe"},       {32, "dup"},
    {40, "sendfile"},  {56, "clone"},       {57, "fork"},        {58, "vfork"},      {59, "execve"},
    {61, "wait4"},     {77, "ftruncate"},   {80, "chdir"},       {82, "rename"},     {83, "mkdir"},
    {84, "rmdir"},     {87, "unlink"},      {95, "umask"},       {99, "sysinfo"},    {137, "statfs"},
    {202, "futex"},    {217, "getdents64"},

    {263, "unlinkat"}, {267, "readlinkat"}, {269, "faccessat"},  {280, "utimensat"}, {293, "pipe2"},
    {332, "statx"},    {334, "rseq"},       {439, "faccessat2"},
};

// A call the shim does not offer: -ENOSYS, said once per number (by name where it has one).
uint64_t unsupported(uint64_t number)
{
    static uint64_t said[8] = {}; // a bit per number below 512
    if (number >= 512 || (said[number / 64] & (uint64_t{1} << (number % 64))) != 0)
        return error(kENOSYS);
    said[number / 64] |= uint64_t{1} << (number % 64);
    const char* name = "?";
    for (const Named& n : kUnsupportedNames)
        if (n.number == number)
            name = n.name;
    l4::hc::println("shim: system call {} ({}) is not supported yet: ENOSYS", number, name);
    return error(kENOSYS);
}

} // namespace

Outcome handle_syscall(Process& p, const l4::abi::ForeignSyscall& c, uint64_t& result)
{
    current = &p;
    Outcome outcome = Outcome::resume;
    switch (c.rax) {
    case nr_read: result = read(p, c.rdi, c.rsi, c.rdx, outcome); break;
    case nr_poll: result = poll(p, c.rdi, c.rsi, c.rdx, outcome); break;
    case nr_nanosleep: result = sleep(p, c.rdi, outcome); break;
    case nr_clock_nanosleep: result = c.rsi != 0 ? error(kEINVAL) : sleep(p, c.rdx, outcome); break; // relative only
    case nr_clock_gettime: result = clock_gettime(p, c.rdi, c.rsi); break;
    case nr_time: { // seconds since the guest started: there is no wall clock yet
        const uint64_t seconds = l4::hc::now_ns() / kNsPerSecond;
        result = c.rdi == 0 || p.copy_out(c.rdi, &seconds, sizeof seconds) ? seconds : error(kEFAULT);
        break;
    }
    case nr_ioctl: result = ioctl(p, c.rdi, c.rsi, c.rdx); break;
    case nr_openat: result = sys_openat(p, c.rdi, c.rsi, c.rdx, c.r10); break;
    case nr_close: result = close(p, c.rdi); break;
    case nr_dup2: result = dup2(p, c.rdi, c.rsi); break;
    case nr_dup3: result = c.rdi == c.rsi ? error(kEINVAL) : dup2(p, c.rdi, c.rsi); break;
    case nr_rt_sigaction: result = sigaction(p, c.rdi, c.rsi, c.rdx, c.r10); break;
    case nr_rt_sigprocmask: result = sigprocmask(p, c.rdi, c.rsi, c.rdx, c.r10); break;
    case nr_getcwd: result = sys_getcwd(p, c.rdi, c.rsi); break;
    case nr_getpgrp: result = p.group; break;
    case nr_setsid: result = p.group == p.pid() ? error(kEPERM) : (p.session = p.group = p.pid()); break;
    case nr_write:
        result = write_any(p, c.rdi, c.rsi, c.rdx);
        if (result == kMustWait)
            outcome = Outcome::wait;
        break;
    case nr_pipe: result = sys_pipe2(p, c.rdi, 0); break;
    case nr_pipe2: result = sys_pipe2(p, c.rdi, c.rsi); break;
    case nr_writev: result = writev(p, c.rdi, c.rsi, c.rdx, outcome); break;
    case nr_mmap: result = mmap(p, c.rdi, c.rsi, c.rdx, c.r10, c.r8); break;
    case nr_mprotect: result = p.protect(c.rdi, c.rsi, rights_of_prot(c.rdx)) ? 0 : error(kEINVAL); break;
    case nr_munmap: result = p.unmap(c.rdi, c.rsi) ? 0 : error(kEINVAL); break;
    case nr_brk: result = p.set_break(c.rdi); break;
    case nr_getpid:
    case nr_gettid: result = p.pid(); break;
    case nr_fcntl: result = fcntl(p, c.rdi, c.rsi, c.rdx); break;
    case nr_fstat: result = sys_fstat(p, c.rdi, c.rsi); break;
    case nr_newfstatat: result = sys_fstatat(p, c.rdi, c.rsi, c.rdx, c.r10); break;
    case nr_stat: result = sys_fstatat(p, kAtFdcwd, c.rdi, c.rsi, 0); break;
    case nr_lstat: result = sys_fstatat(p, kAtFdcwd, c.rdi, c.rsi, kAtSymlinkNofollow); break;
    case nr_open: result = sys_openat(p, kAtFdcwd, c.rdi, c.rsi, c.rdx); break;
    case nr_lseek: result = sys_lseek(p, c.rdi, c.rsi, c.rdx); break;
    case nr_getdents64: result = sys_getdents64(p, c.rdi, c.rsi, c.rdx); break;
    case nr_chdir: result = sys_chdir(p, c.rdi); break;
    case nr_mkdir: result = sys_mkdirat(p, kAtFdcwd, c.rdi, c.rsi); break;
    case nr_mkdirat: result = sys_mkdirat(p, c.rdi, c.rsi, c.rdx); break;
    case nr_unlink: result = sys_unlinkat(p, kAtFdcwd, c.rdi, 0); break;
    case nr_rmdir: result = sys_unlinkat(p, kAtFdcwd, c.rdi, kAtRemovedir); break;
    case nr_unlinkat: result = sys_unlinkat(p, c.rdi, c.rsi, c.rdx); break;
    case nr_rename: result = sys_renameat(p, kAtFdcwd, c.rdi, kAtFdcwd, c.rsi); break;
    case nr_renameat: result = sys_renameat(p, c.rdi, c.rsi, c.rdx, c.r10); break;
    case nr_symlink: result = sys_symlinkat(p, c.rdi, kAtFdcwd, c.rsi); break;
    case nr_symlinkat: result = sys_symlinkat(p, c.rdi, c.rsi, c.rdx); break;
    case nr_readlinkat: result = readlink(p, c.rdi, c.rsi, c.rdx, c.r10); break;
    case nr_access: result = sys_faccessat(p, kAtFdcwd, c.rdi); break;
    case nr_faccessat:
    case nr_faccessat2: result = sys_faccessat(p, c.rdi, c.rsi); break;
    case nr_ftruncate: result = sys_ftruncate(p, c.rdi, c.rsi); break;
    case nr_umask: {
        const uint32_t old = p.umask;
        p.umask = static_cast<uint32_t>(c.rdi) & 0777;
        result = old;
        break;
    }
    case nr_getppid: result = 0; break;
    case nr_getuid:
    case nr_getgid:
    case nr_geteuid:
    case nr_getegid: result = 0; break; // root, the only user
    case nr_uname: result = uname(p, c.rdi); break;
    case nr_readlink: result = readlink(p, kAtFdcwd, c.rdi, c.rsi, c.rdx); break;
    case nr_prctl: result = prctl(p, c.rdi, c.rsi); break;
    case nr_arch_prctl: result = arch_prctl(p, c.rdi, c.rsi); break;
    case nr_set_tid_address: result = p.pid(); break; // clear_child_tid matters for threads: none yet
    case nr_set_robust_list: result = c.rsi == 24 ? 0 : error(kEINVAL); break;
    // Answered as a Linux without them would, and not logged: glibc runs without rseq (as before
    // Linux 4.18), and busybox copies by read and write when sendfile says EINVAL (as Linux does
    // for files that cannot be sent).
    case nr_rseq: result = error(kENOSYS); break;
    case nr_sendfile: result = error(kEINVAL); break;
    case nr_prlimit64: result = prlimit(p, c.rdi, c.rsi, c.rdx, c.r10); break;
    case nr_getrandom: result = getrandom(p, c.rdi, c.rsi, c.rdx); break;
    case nr_gettimeofday: result = gettimeofday(p, c.rdi, c.rsi); break;
    case nr_clock_getres: result = clock_getres(p, c.rdi, c.rsi); break;
    case nr_futex: outcome = sys_futex(p, c, result); break;
    default: result = unsupported(c.rax); break;
    }
    return outcome;
}

} // namespace shim
