// The shim's files (files.hpp).
#include "files.hpp"

#include <new>

#include "common/string.hpp"
#include "dirents.hpp"
#include "heap.hpp"
#include "l4/guest_console.hpp"
#include "linux_abi.hpp"
#include "path.hpp"

namespace shim {

namespace {

using namespace linux_abi;

constexpr int32_t kAtFdcwd = -100;
constexpr uint64_t kAtSymlinkNofollow = 0x100, kAtRemovedir = 0x200, kAtEmptyPath = 0x1000;
constexpr uint64_t kOAccess = 3, kOWronly = 1, kORdwr = 2, kOCreat = 0100, kOExcl = 0200, kOTrunc = 01000,
                   kOAppend = 02000, kODirectory = 0200000, kONofollow = 0400000;
constexpr uint64_t kSeekSet = 0, kSeekCur = 1, kSeekEnd = 2;
constexpr size_t kMaxOpenFiles = 128;
constexpr size_t kSlice = 4096; // bytes moved between a process and a file at a time

alignas(Ramfs) uint8_t fs_storage[sizeof(Ramfs)];
Ramfs* fs = nullptr;
alignas(Heap) uint8_t heap_storage[sizeof(Heap)];
GuestClock guest_clock;
OpenFile open_files[kMaxOpenFiles];
constexpr size_t kMaxPipes = 16;
Pipe pipes[kMaxPipes];
bool pipe_used[kMaxPipes];
char path_buffer[kPathMax];

uint64_t error(int errno_value) { return static_cast<uint64_t>(-static_cast<int64_t>(errno_value)); }
uint64_t result_of(int64_t value) { return static_cast<uint64_t>(value); }

// struct stat of x86-64 (asm/stat.h), 144 bytes.
struct Stat {
    uint64_t dev, ino, nlink;
    uint32_t mode, uid, gid, pad0;
    uint64_t rdev;
    int64_t size, blksize, blocks;
    int64_t atime, atime_ns, mtime, mtime_ns, ctime, ctime_ns;
    int64_t unused[3];
};
static_assert(sizeof(Stat) == 144);

Stat stat_of(const Inode& inode)
{
    Stat st{};
    st.dev = 1;
    st.ino = inode.ino;
    st.nlink = inode.nlink;
    st.mode = inode.mode;
    st.uid = inode.uid;
    st.gid = inode.gid;
    st.rdev = uint64_t{inode.rdev_major} << 8 | inode.rdev_minor;
    st.size = static_cast<int64_t>(inode.size);
    st.blksize = 4096;
    st.blocks = static_cast<int64_t>((inode.size + 511) / 512);
    constexpr int64_t kNs = 1'000'000'000;
    st.atime = inode.atime_ns / kNs, st.atime_ns = inode.atime_ns % kNs;
    st.mtime = inode.mtime_ns / kNs, st.mtime_ns = inode.mtime_ns % kNs;
    st.ctime = inode.ctime_ns / kNs, st.ctime_ns = inode.ctime_ns % kNs;
    return st;
}

// The process's path string at `address`, into path_buffer; -errno when it cannot be had.
int copy_path(Process& p, uint64_t address, size_t& length)
{
    if (!p.copy_string(path_buffer, address, sizeof path_buffer))
        return -kENAMETOOLONG; // or EFAULT: copy_string does not say which
    length = strlen(path_buffer);
    return 0;
}

// Where a *at call's relative path starts: the working directory or a directory's descriptor.
int base_of(Process& p, uint64_t dirfd, Inode*& base)
{
    if (static_cast<int32_t>(dirfd) == kAtFdcwd) {
        base = p.cwd != nullptr ? p.cwd : fs->root();
        return 0;
    }
    OpenFile* file = dirfd < Process::kMaxFiles ? open_file(p.files[dirfd]) : nullptr;
    if (file == nullptr)
        return -kEBADF;
    if (file->kind != OpenFile::Kind::inode || !file->inode->is_directory())
        return -kENOTDIR;
    base = file->inode;
    return 0;
}

int resolve_at(Process& p, uint64_t dirfd, uint64_t path, Follow follow, Inode*& out)
{
    size_t length = 0;
    Inode* base = nullptr;
    int e = copy_path(p, path, length);
    if (e == 0)
        e = base_of(p, dirfd, base);
    return e != 0 ? e : resolve(PathContext{*fs, fs->root(), base}, path_buffer, length, follow, out);
}

int parent_at(Process& p, uint64_t dirfd, uint64_t path, ParentResult& out)
{
    size_t length = 0;
    Inode* base = nullptr;
    int e = copy_path(p, path, length);
    if (e == 0)
        e = base_of(p, dirfd, base);
    return e != 0 ? e : resolve_parent(PathContext{*fs, fs->root(), base}, path_buffer, length, out);
}

uint16_t new_open_file(OpenFile::Kind kind, Inode* inode, uint32_t flags, Pipe* pipe = nullptr)
{
    for (size_t i = kConsoleFile + 1; i < kMaxOpenFiles; ++i)
        if (open_files[i].kind == OpenFile::Kind::free) {
            open_files[i] = OpenFile{kind, inode, pipe, 0, flags, 1};
            if (inode != nullptr)
                fs->hold(inode);
            return static_cast<uint16_t>(i);
        }
    return 0;
}

// What opening a device node gives (Linux's numbers: mem 1, tty 5).
OpenFile::Kind device_kind(const Inode& inode)
{
    if (inode.rdev_major == 1 && inode.rdev_minor == 3)
        return OpenFile::Kind::null;
    if (inode.rdev_major == 1 && (inode.rdev_minor == 5 || inode.rdev_minor == 7))
        return OpenFile::Kind::zero;
    if (inode.rdev_major == 1 && (inode.rdev_minor == 8 || inode.rdev_minor == 9))
        return OpenFile::Kind::random;
    if (inode.rdev_major == 5 || inode.rdev_major == 4)
        return OpenFile::Kind::console;
    return OpenFile::Kind::free; // no driver
}

} // namespace

bool init_files(PagePool& pool, const uint8_t* archive, size_t size)
{
    auto* heap = new (heap_storage) Heap(pool);
    fs = new (fs_storage) Ramfs(*heap, guest_clock);
    open_files[kConsoleFile] = OpenFile{OpenFile::Kind::console, nullptr, nullptr, 0, kORdwr, 1};
    const int loaded = fs->valid() ? fs->load(archive, size) : -kENOMEM;
    if (loaded != 0)
        l4::hc::println("shim: the initramfs did not load whole: error {}", -loaded);
    return fs->valid();
}

Ramfs& file_system() { return *fs; }

OpenFile* open_file(uint16_t handle)
{
    return handle != 0 && handle < kMaxOpenFiles && open_files[handle].kind != OpenFile::Kind::free
               ? &open_files[handle]
               : nullptr;
}

void retain(uint16_t handle)
{
    if (OpenFile* file = open_file(handle))
        ++file->references;
}

void release(uint16_t handle)
{
    OpenFile* file = open_file(handle);
    if (file == nullptr || handle == kConsoleFile || --file->references != 0)
        return;
    if (file->inode != nullptr)
        fs->release(file->inode);
    if (file->pipe != nullptr) {
        uint32_t& ends = file->kind == OpenFile::Kind::pipe_read ? file->pipe->readers : file->pipe->writers;
        if (--ends == 0 && file->pipe->readers == 0 && file->pipe->writers == 0)
            pipe_used[file->pipe - pipes] = false;
    }
    *file = OpenFile{};
}

int program_bytes(Process& p, const char* path, const uint8_t*& bytes, size_t& size)
{
    Inode* inode = nullptr;
    const int e = resolve(PathContext{*fs, fs->root(), p.cwd != nullptr ? p.cwd : fs->root()}, path, strlen(path),
                          Follow::yes, inode);
    if (e != 0)
        return e;
    if (!inode->is_regular())
        return -kEACCES;
    bytes = inode->data;
    size = inode->size;
    return 0;
}

uint64_t sys_openat(Process& p, uint64_t dirfd, uint64_t path, uint64_t flags, uint64_t mode)
{
    Inode* inode = nullptr;
    int e = resolve_at(p, dirfd, path, (flags & kONofollow) ? Follow::no : Follow::yes, inode);
    if (e == -kENOENT && (flags & kOCreat)) {
        ParentResult parent{};
        e = parent_at(p, dirfd, path, parent);
        if (e == 0)
            e = fs->create(parent.dir, parent.name, parent.name_length, static_cast<uint32_t>(mode) & 07777 & ~p.umask,
                           inode);
    } else if (e == 0 && (flags & kOCreat) && (flags & kOExcl)) {
        e = -kEEXIST;
    }
    if (e != 0)
        return error(-e);
    if ((flags & kODirectory) && !inode->is_directory())
        return error(kENOTDIR);
    if (inode->is_directory() && (flags & kOAccess) != 0)
        return error(kEISDIR);
    if (inode->is_symlink())
        return error(kELOOP); // O_NOFOLLOW on a symlink
    OpenFile::Kind kind = OpenFile::Kind::inode;
    if (inode->type() == kS_IFCHR && (kind = device_kind(*inode)) == OpenFile::Kind::free)
        return error(kENXIO);
    if ((flags & kOTrunc) && inode->is_regular() && (flags & kOAccess) != 0)
        (void)fs->truncate(inode, 0);
    const uint16_t handle = kind == OpenFile::Kind::console
                                ? (retain(kConsoleFile), kConsoleFile)
                                : new_open_file(kind, kind == OpenFile::Kind::inode ? inode : nullptr,
                                                static_cast<uint32_t>(flags & (kOAccess | kOAppend)));
    if (handle == 0)
        return error(kENFILE);
    for (uint64_t fd = 0; fd < Process::kMaxFiles; ++fd)
        if (p.files[fd] == 0) {
            p.files[fd] = handle;
            return fd;
        }
    release(handle);
    return error(kEMFILE);
}

uint64_t sys_read_file(Process& p, OpenFile& file, uint64_t buffer, uint64_t length)
{
    static uint8_t slice[kSlice];
    if ((file.flags & kOAccess) == kOWronly)
        return error(kEBADF);
    if (file.kind == OpenFile::Kind::null)
        return 0;
    if (file.kind == OpenFile::Kind::zero || file.kind == OpenFile::Kind::random) {
        const uint64_t n = length < kSlice ? length : kSlice;
        for (uint64_t i = 0; i < n; ++i)
            slice[i] =
                file.kind == OpenFile::Kind::zero ? 0 : static_cast<uint8_t>(l4::hc::now_ns() * 0x9e37'79b9 >> 24);
        return p.copy_out(buffer, slice, n) ? n : error(kEFAULT);
    }
    if (file.inode->is_directory())
        return error(kEISDIR);
    uint64_t done = 0;
    while (done < length) {
        const uint64_t want = length - done < kSlice ? length - done : kSlice;
        const int64_t got = fs->read(file.inode, file.offset, slice, want);
        if (got <= 0)
            return done != 0 ? done : result_of(got);
        if (!p.copy_out(buffer + done, slice, static_cast<size_t>(got)))
            return done != 0 ? done : error(kEFAULT);
        file.offset += static_cast<uint64_t>(got);
        done += static_cast<uint64_t>(got);
        if (static_cast<uint64_t>(got) < want)
            break;
    }
    return done;
}

uint64_t sys_write_file(Process& p, OpenFile& file, uint64_t buffer, uint64_t length)
{
    static uint8_t slice[kSlice];
    if ((file.flags & kOAccess) == 0)
        return error(kEBADF);
    if (file.kind != OpenFile::Kind::inode)
        return file.kind == OpenFile::Kind::zero ? error(kENOSPC) : length; // /dev/full, /dev/null
    if (file.flags & kOAppend)
        file.offset = file.inode->size;
    uint64_t done = 0;
    while (done < length) {
        const uint64_t n = length - done < kSlice ? length - done : kSlice;
        if (!p.copy_in(slice, buffer + done, n))
            return done != 0 ? done : error(kEFAULT);
        const int64_t put = fs->write(file.inode, file.offset, slice, n);
        if (put < 0)
            return done != 0 ? done : result_of(put);
        file.offset += static_cast<uint64_t>(put);
        done += static_cast<uint64_t>(put);
    }
    return done;
}

uint64_t sys_lseek(Process& p, uint64_t fd, uint64_t offset, uint64_t whence)
{
    OpenFile* file = fd < Process::kMaxFiles ? open_file(p.files[fd]) : nullptr;
    if (file == nullptr)
        return error(kEBADF);
    if (file->kind != OpenFile::Kind::inode)
        return file->kind == OpenFile::Kind::console ? error(kESPIPE) : 0;
    const auto delta = static_cast<int64_t>(offset);
    const int64_t from = whence == kSeekSet   ? 0
                         : whence == kSeekCur ? static_cast<int64_t>(file->offset)
                         : whence == kSeekEnd ? static_cast<int64_t>(file->inode->size)
                                              : -1;
    if (from < 0 || (delta < 0 && -delta > from))
        return error(kEINVAL);
    file->offset = static_cast<uint64_t>(from + delta);
    return file->offset;
}

uint64_t sys_fstat(Process& p, uint64_t fd, uint64_t buffer)
{
    OpenFile* file = fd < Process::kMaxFiles ? open_file(p.files[fd]) : nullptr;
    if (file == nullptr)
        return error(kEBADF);
    Stat st{};
    if (file->inode != nullptr) {
        st = stat_of(*file->inode);
    } else { // the console and the devices: character devices
        st.mode = kS_IFCHR | 0620;
        st.nlink = 1;
        st.rdev = file->kind == OpenFile::Kind::console ? (5 << 8 | 1) : (1 << 8 | 3);
        st.blksize = 1024;
    }
    return p.copy_out(buffer, &st, sizeof st) ? 0 : error(kEFAULT);
}

uint64_t sys_fstatat(Process& p, uint64_t dirfd, uint64_t path, uint64_t buffer, uint64_t flags)
{
    char first = 0;
    if (!p.copy_in(&first, path, 1))
        return error(kEFAULT);
    if (first == '\0')
        return (flags & kAtEmptyPath) ? sys_fstat(p, dirfd, buffer) : error(kENOENT);
    Inode* inode = nullptr;
    const int e = resolve_at(p, dirfd, path, (flags & kAtSymlinkNofollow) ? Follow::no : Follow::yes, inode);
    if (e != 0)
        return error(-e);
    const Stat st = stat_of(*inode);
    return p.copy_out(buffer, &st, sizeof st) ? 0 : error(kEFAULT);
}

uint64_t sys_getdents64(Process& p, uint64_t fd, uint64_t buffer, uint64_t size)
{
    static uint8_t records[kSlice];
    OpenFile* file = fd < Process::kMaxFiles ? open_file(p.files[fd]) : nullptr;
    if (file == nullptr)
        return error(kEBADF);
    if (file->kind != OpenFile::Kind::inode)
        return error(kENOTDIR);
    const int64_t n = pack_dirents(*fs, file->inode, file->offset, records, size < kSlice ? size : kSlice);
    if (n <= 0)
        return result_of(n);
    return p.copy_out(buffer, records, static_cast<size_t>(n)) ? static_cast<uint64_t>(n) : error(kEFAULT);
}

uint64_t sys_readlinkat(Process& p, uint64_t dirfd, uint64_t path, uint64_t buffer, uint64_t size)
{
    static char target[kPathMax];
    if (static_cast<int64_t>(size) <= 0)
        return error(kEINVAL);
    Inode* inode = nullptr;
    const int e = resolve_at(p, dirfd, path, Follow::no, inode);
    if (e != 0)
        return error(-e);
    if (!inode->is_symlink())
        return error(kEINVAL);
    const int64_t n = fs->readlink(inode, target, size < sizeof target ? size : sizeof target);
    return n < 0                                                ? result_of(n)
           : p.copy_out(buffer, target, static_cast<size_t>(n)) ? static_cast<uint64_t>(n)
                                                                : error(kEFAULT);
}

uint64_t sys_getcwd(Process& p, uint64_t buffer, uint64_t size)
{
    // Built from the end: each directory's name as its parent lists it.
    static char path[kPathMax];
    size_t start = sizeof path - 1;
    path[start] = '\0';
    for (Inode* dir = p.cwd != nullptr ? p.cwd : fs->root(); dir != fs->root() && dir->parent != nullptr;
         dir = dir->parent) {
        DirRecord record{};
        bool found = false;
        for (uint64_t cursor = 2; fs->readdir(dir->parent, cursor, record) == 1; cursor = record.next_cursor)
            if (record.ino == dir->ino) {
                found = true;
                break;
            }
        if (!found || record.name_length + 1 > start)
            return error(found ? kENAMETOOLONG : kENOENT);
        start -= record.name_length;
        memcpy(path + start, record.name, record.name_length);
        path[--start] = '/';
    }
    if (start == sizeof path - 1)
        path[--start] = '/';
    const size_t length = sizeof path - start; // with the NUL
    if (size < length)
        return error(kERANGE);
    return p.copy_out(buffer, path + start, length) ? length : error(kEFAULT);
}

uint64_t sys_chdir(Process& p, uint64_t path)
{
    Inode* inode = nullptr;
    const int e = resolve_at(p, static_cast<uint64_t>(static_cast<int64_t>(kAtFdcwd)), path, Follow::yes, inode);
    if (e != 0)
        return error(-e);
    if (!inode->is_directory())
        return error(kENOTDIR);
    fs->hold(inode);
    if (p.cwd != nullptr)
        fs->release(p.cwd);
    p.cwd = inode;
    return 0;
}

uint64_t sys_mkdirat(Process& p, uint64_t dirfd, uint64_t path, uint64_t mode)
{
    ParentResult parent{};
    Inode* made = nullptr;
    int e = parent_at(p, dirfd, path, parent);
    if (e == 0)
        e = parent.last == ParentResult::Last::normal ? fs->mkdir(parent.dir, parent.name, parent.name_length,
                                                                  static_cast<uint32_t>(mode) & 07777 & ~p.umask, made)
                                                      : -kEEXIST;
    return e != 0 ? error(-e) : 0;
}

uint64_t sys_unlinkat(Process& p, uint64_t dirfd, uint64_t path, uint64_t flags)
{
    ParentResult parent{};
    int e = parent_at(p, dirfd, path, parent);
    if (e == 0 && parent.last != ParentResult::Last::normal)
        e = (flags & kAtRemovedir) ? (parent.last == ParentResult::Last::dot ? -kEINVAL : -kENOTEMPTY) : -kEISDIR;
    if (e == 0)
        e = (flags & kAtRemovedir) ? fs->rmdir(parent.dir, parent.name, parent.name_length)
                                   : fs->unlink(parent.dir, parent.name, parent.name_length);
    return e != 0 ? error(-e) : 0;
}

uint64_t sys_renameat(Process& p, uint64_t old_dirfd, uint64_t old_path, uint64_t new_dirfd, uint64_t new_path)
{
    static char old_name[kNameMax + 1];
    ParentResult from{}, to{};
    int e = parent_at(p, old_dirfd, old_path, from);
    if (e == 0 && from.last != ParentResult::Last::normal)
        e = -kEBUSY;
    if (e != 0)
        return error(-e);
    memcpy(old_name, from.name, from.name_length); // path_buffer is about to hold the new path
    old_name[from.name_length] = '\0';
    const size_t old_length = from.name_length;
    e = parent_at(p, new_dirfd, new_path, to);
    if (e == 0 && to.last != ParentResult::Last::normal)
        e = -kEBUSY;
    if (e == 0)
        e = fs->rename(from.dir, old_name, old_length, to.dir, to.name, to.name_length);
    return e != 0 ? error(-e) : 0;
}

uint64_t sys_symlinkat(Process& p, uint64_t target, uint64_t dirfd, uint64_t path)
{
    static char link_target[kPathMax];
    if (!p.copy_string(link_target, target, sizeof link_target))
        return error(kEFAULT);
    ParentResult parent{};
    Inode* made = nullptr;
    int e = parent_at(p, dirfd, path, parent);
    if (e == 0)
        e = parent.last == ParentResult::Last::normal
                ? fs->symlink(parent.dir, parent.name, parent.name_length, link_target, strlen(link_target), made)
                : -kEEXIST;
    return e != 0 ? error(-e) : 0;
}

uint64_t sys_faccessat(Process& p, uint64_t dirfd, uint64_t path)
{
    Inode* inode = nullptr;
    const int e = resolve_at(p, dirfd, path, Follow::yes, inode);
    return e != 0 ? error(-e) : 0; // uid 0 may do anything to what exists
}

uint64_t sys_ftruncate(Process& p, uint64_t fd, uint64_t length)
{
    OpenFile* file = fd < Process::kMaxFiles ? open_file(p.files[fd]) : nullptr;
    if (file == nullptr || (file->flags & kOAccess) == 0)
        return error(file == nullptr ? kEBADF : kEINVAL);
    if (file->kind != OpenFile::Kind::inode || !file->inode->is_regular())
        return error(kEINVAL);
    const int e = fs->truncate(file->inode, length);
    return e != 0 ? error(-e) : 0;
}

uint64_t sys_pipe2(Process& p, uint64_t fds, uint64_t flags)
{
    constexpr uint64_t kOCloexec = 02000000, kONonblock = 04000;
    if ((flags & ~(kOCloexec | kONonblock)) != 0)
        return error(kEINVAL);
    size_t index = 0;
    while (index < kMaxPipes && pipe_used[index])
        ++index;
    int32_t pair[2] = {-1, -1};
    for (uint64_t fd = 0; fd < Process::kMaxFiles && pair[1] < 0; ++fd)
        if (p.files[fd] == 0)
            (pair[0] < 0 ? pair[0] : pair[1]) = static_cast<int32_t>(fd);
    if (index == kMaxPipes || pair[1] < 0)
        return error(index == kMaxPipes ? kENFILE : kEMFILE);
    Pipe& pipe = pipes[index];
    pipe = Pipe{};
    const uint16_t read_end = new_open_file(OpenFile::Kind::pipe_read, nullptr, 0, &pipe);
    const uint16_t write_end = read_end == 0 ? 0 : new_open_file(OpenFile::Kind::pipe_write, nullptr, kOWronly, &pipe);
    if (write_end == 0) {
        open_files[read_end] = OpenFile{};
        return error(kENFILE);
    }
    pipe_used[index] = true;
    pipe.readers = pipe.writers = 1;
    if (!p.copy_out(fds, pair, sizeof pair)) {
        release(read_end);
        release(write_end);
        return error(kEFAULT);
    }
    p.files[pair[0]] = read_end;
    p.files[pair[1]] = write_end;
    return 0;
}

uint64_t pipe_read(Process& p, OpenFile& file, uint64_t buffer, uint64_t length)
{
    if (file.kind != OpenFile::Kind::pipe_read)
        return error(kEBADF);
    Pipe& pipe = *file.pipe;
    if (length == 0)
        return 0;
    if (pipe.length == 0)
        return pipe.writers == 0 ? 0 : kMustWait; // 0: end of file
    uint64_t done = 0;
    while (done < length && pipe.length != 0) {
        const uint32_t run = pipe.start + pipe.length <= Pipe::kBytes ? pipe.length : Pipe::kBytes - pipe.start;
        const uint64_t n = length - done < run ? length - done : run;
        if (!p.copy_out(buffer + done, pipe.bytes + pipe.start, n))
            return done != 0 ? done : error(kEFAULT);
        pipe.start = static_cast<uint32_t>((pipe.start + n) % Pipe::kBytes);
        pipe.length -= static_cast<uint32_t>(n);
        done += n;
    }
    return done;
}

uint64_t pipe_write(Process& p, OpenFile& file, uint64_t buffer, uint64_t length)
{
    if (file.kind != OpenFile::Kind::pipe_write)
        return error(kEBADF);
    Pipe& pipe = *file.pipe;
    if (pipe.readers == 0)
        return error(kEPIPE); // SIGPIPE is not delivered yet
    if (length == 0)
        return 0;
    if (pipe.length == Pipe::kBytes)
        return kMustWait;
    uint64_t done = 0;
    while (done < length && pipe.length != Pipe::kBytes) {
        const uint32_t end = (pipe.start + pipe.length) % Pipe::kBytes;
        const uint32_t run = end >= pipe.start ? Pipe::kBytes - end : pipe.start - end;
        const uint32_t room = Pipe::kBytes - pipe.length < run ? Pipe::kBytes - pipe.length : run;
        const uint64_t n = length - done < room ? length - done : room;
        if (!p.copy_in(pipe.bytes + end, buffer + done, n))
            return done != 0 ? done : error(kEFAULT);
        pipe.length += static_cast<uint32_t>(n);
        done += n;
    }
    return done;
}

int16_t poll_bits(const OpenFile& file, bool console_readable)
{
    constexpr int16_t kIn = 1, kOut = 4, kHup = 0x10;
    switch (file.kind) {
    case OpenFile::Kind::console: return static_cast<int16_t>((console_readable ? kIn : 0) | kOut);
    case OpenFile::Kind::pipe_read:
        return static_cast<int16_t>((file.pipe->length != 0 ? kIn : 0) | (file.pipe->writers == 0 ? kHup : 0));
    case OpenFile::Kind::pipe_write:
        return static_cast<int16_t>(file.pipe->readers == 0 ? 0x8 : (file.pipe->length < Pipe::kBytes ? kOut : 0));
    default: return kIn | kOut; // files and devices are always ready
    }
}

} // namespace shim
