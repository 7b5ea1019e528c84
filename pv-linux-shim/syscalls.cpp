// The shim's Linux system calls (syscalls.hpp).
#include "syscalls.hpp"

#include "common/string.hpp"
#include "l4/guest_console.hpp"
#include "linux_abi.hpp"

namespace shim {

namespace {

using namespace linux_abi;

// System-call numbers (arch/x86/entry/syscalls/syscall_64.tbl).
enum Number : uint64_t {
    nr_write = 1,
    nr_fstat = 5,
    nr_mmap = 9,
    nr_mprotect = 10,
    nr_munmap = 11,
    nr_brk = 12,
    nr_writev = 20,
    nr_getpid = 39,
    nr_fcntl = 72,
    nr_exit = 60,
    nr_uname = 63,
    nr_readlink = 89,
    nr_getuid = 102,
    nr_getgid = 104,
    nr_geteuid = 107,
    nr_getegid = 108,
    nr_getppid = 110,
    nr_prctl = 157,
    nr_arch_prctl = 158,
    nr_gettid = 186,
    nr_set_tid_address = 218,
    nr_exit_group = 231,
    nr_newfstatat = 262,
    nr_set_robust_list = 273,
    nr_prlimit64 = 302,
    nr_getrandom = 318,
};

constexpr uint64_t kArchSetFs = 0x1002, kArchGetFs = 0x1003;
constexpr uint64_t kPrSetName = 15, kPrGetName = 16;
constexpr uint64_t kRlimitStack = 3, kRlimInfinity = ~uint64_t{0};
constexpr uint64_t kProtRead = 1, kProtWrite = 2, kProtExec = 4;
constexpr uint64_t kMapPrivate = 0x02, kMapFixed = 0x10, kMapAnonymous = 0x20;
constexpr uint64_t kMaxIov = 1024;
constexpr uint64_t kFGetfd = 1, kFSetfd = 2, kFGetfl = 3, kORdwr = 2;
constexpr uint64_t kAtEmptyPath = 0x1000;
constexpr uint64_t kConsoleMajor = 5, kConsoleMinor = 1;

// struct stat of x86-64 (asm/stat.h), 144 bytes.
struct Stat {
    uint64_t dev, ino, nlink;
    uint32_t mode, uid, gid, pad0;
    uint64_t rdev;
    int64_t size, blksize, blocks;
    uint64_t atime, atime_ns, mtime, mtime_ns, ctime, ctime_ns;
    int64_t unused[3];
};
static_assert(sizeof(Stat) == 144);

// The only files so far: the console on fd 0, 1 and 2.
bool is_console(uint64_t fd) { return fd <= 2; }

uint64_t error(int errno_value) { return static_cast<uint64_t>(-static_cast<int64_t>(errno_value)); }

// Console output of fd 1 and 2, copied out of the process a slice at a time.
uint64_t write_console(Process& p, uint64_t fd, uint64_t buffer, uint64_t length)
{
    if (fd != 1 && fd != 2)
        return error(kEBADF);
    char slice[256];
    for (uint64_t done = 0; done < length;) {
        const uint64_t n = length - done < sizeof slice ? length - done : sizeof slice;
        if (!p.copy_in(slice, buffer + done, n))
            return done != 0 ? done : error(kEFAULT);
        l4::hc::console_write_all(slice, n);
        done += n;
    }
    return length;
}

uint64_t writev(Process& p, uint64_t fd, uint64_t iov, uint64_t count)
{
    if (count > kMaxIov)
        return error(kEINVAL);
    uint64_t total = 0;
    for (uint64_t i = 0; i < count; ++i) {
        uint64_t vector[2];
        if (!p.copy_in(vector, iov + i * sizeof vector, sizeof vector))
            return total != 0 ? total : error(kEFAULT);
        const uint64_t written = write_console(p, fd, vector[0], vector[1]);
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
    // Anonymous private memory only, for now (what busybox uses); MAP_FIXED is not taken yet.
    if (length == 0 || (flags & kMapAnonymous) == 0 || (flags & 0x03) != kMapPrivate || (flags & kMapFixed) != 0 ||
        static_cast<int64_t>(fd) != -1)
        return error((flags & kMapAnonymous) == 0 ? kENODEV : kEINVAL);
    (void)address; // a hint
    const uint64_t at = p.map_anonymous(length);
    if (at == 0)
        return error(kENOMEM);
    if (rights_of_prot(prot) != (kRead | kWrite) && !p.protect(at, length, rights_of_prot(prot)))
        return error(kENOMEM);
    return at;
}

uint64_t fcntl(uint64_t fd, uint64_t command)
{
    if (!is_console(fd))
        return error(kEBADF);
    switch (command) {
    case kFGetfl: return kORdwr;
    case kFGetfd:
    case kFSetfd: return 0; // no close-on-exec to keep yet: nothing is ever exec'd
    default: return error(kEINVAL);
    }
}

uint64_t fstat(Process& p, uint64_t fd, uint64_t buffer)
{
    if (!is_console(fd))
        return error(kEBADF);
    Stat st{};
    st.mode = kS_IFCHR | 0620;
    st.nlink = 1;
    st.rdev = kConsoleMajor << 8 | kConsoleMinor;
    st.blksize = 1024;
    return p.copy_out(buffer, &st, sizeof st) ? 0 : error(kEFAULT);
}

// newfstatat: only fstat's form (an empty path with AT_EMPTY_PATH) until there are files.
uint64_t fstatat(Process& p, uint64_t fd, uint64_t path, uint64_t buffer, uint64_t flags)
{
    char first = 0;
    if (!p.copy_in(&first, path, 1))
        return error(kEFAULT);
    if (first != '\0' || (flags & kAtEmptyPath) == 0)
        return error(kENOENT);
    return fstat(p, fd, buffer);
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

uint64_t readlink(Process& p, uint64_t path, uint64_t buffer, uint64_t size)
{
    char name[64];
    if (!p.copy_string(name, path, sizeof name))
        return error(kEFAULT);
    // Only /proc/self/exe for now (busybox asks it once per exec).
    static constexpr char kSelfExe[] = "/proc/self/exe", kExe[] = "/bin/busybox";
    if (strlen(name) != sizeof kSelfExe - 1 || memcmp(name, kSelfExe, sizeof kSelfExe) != 0)
        return error(kENOENT);
    const uint64_t n = size < sizeof kExe - 1 ? size : sizeof kExe - 1;
    if (static_cast<int64_t>(size) <= 0)
        return error(kEINVAL);
    return p.copy_out(buffer, kExe, n) ? n : error(kEFAULT);
}

uint64_t prlimit(Process& p, uint64_t pid, uint64_t resource, uint64_t new_limit, uint64_t old_limit)
{
    if (pid != 0 && pid != p.pid())
        return error(kESRCH);
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

uint64_t getrandom(Process& p, uint64_t buffer, uint64_t length)
{
    for (uint64_t done = 0; done < length; done += 8) {
        const uint64_t bits = next_random();
        if (!p.copy_out(buffer + done, &bits, length - done < 8 ? length - done : 8))
            return done != 0 ? done : error(kEFAULT);
    }
    return length;
}

uint64_t prctl(Process& p, uint64_t option, uint64_t argument)
{
    if (option == kPrSetName)
        return p.copy_string(p.name, argument, sizeof p.name) || (p.name[sizeof p.name - 1] = '\0', true)
                   ? 0
                   : error(kEFAULT);
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

// A call the shim does not offer: -ENOSYS, said once per number.
uint64_t unsupported(uint64_t number)
{
    static uint64_t said[8] = {}; // a bit per number below 512
    if (number < 512 && (said[number / 64] & (uint64_t{1} << (number % 64))) == 0) {
        said[number / 64] |= uint64_t{1} << (number % 64);
        l4::hc::println("shim: system call {} is not supported (ENOSYS)", number);
    }
    return error(kENOSYS);
}

} // namespace

Outcome handle_syscall(Process& p, const l4::abi::ForeignSyscall& c, uint64_t& result)
{
    switch (c.rax) {
    case nr_write: result = write_console(p, c.rdi, c.rsi, c.rdx); break;
    case nr_writev: result = writev(p, c.rdi, c.rsi, c.rdx); break;
    case nr_mmap: result = mmap(p, c.rdi, c.rsi, c.rdx, c.r10, c.r8); break;
    case nr_mprotect: result = p.protect(c.rdi, c.rsi, rights_of_prot(c.rdx)) ? 0 : error(kEINVAL); break;
    case nr_munmap: result = p.unmap(c.rdi, c.rsi) ? 0 : error(kEINVAL); break;
    case nr_brk: result = p.set_break(c.rdi); break;
    case nr_getpid:
    case nr_gettid: result = p.pid(); break;
    case nr_fcntl: result = fcntl(c.rdi, c.rsi); break;
    case nr_fstat: result = fstat(p, c.rdi, c.rsi); break;
    case nr_newfstatat: result = fstatat(p, c.rdi, c.rsi, c.rdx, c.r10); break;
    case nr_getppid: result = 0; break;
    case nr_getuid:
    case nr_getgid:
    case nr_geteuid:
    case nr_getegid: result = 0; break; // root, the only user
    case nr_uname: result = uname(p, c.rdi); break;
    case nr_readlink: result = readlink(p, c.rdi, c.rsi, c.rdx); break;
    case nr_prctl: result = prctl(p, c.rdi, c.rsi); break;
    case nr_arch_prctl: result = arch_prctl(p, c.rdi, c.rsi); break;
    case nr_set_tid_address: result = p.pid(); break; // clear_child_tid matters for threads: none yet
    case nr_set_robust_list: result = c.rsi == 24 ? 0 : error(kEINVAL); break;
    case nr_prlimit64: result = prlimit(p, c.rdi, c.rsi, c.rdx, c.r10); break;
    case nr_getrandom: result = getrandom(p, c.rdi, c.rsi); break;
    case nr_exit:
    case nr_exit_group: result = c.rdi & 0xff; return Outcome::exited;
    default: result = unsupported(c.rax); break;
    }
    return Outcome::resume;
}

} // namespace shim
