// The shim's files: the ramfs built from the initramfs, the open files (an offset and flags
// shared by the descriptors dup and fork make), and the file system calls over them. The
// console and the /dev nodes are open files of their own kinds.
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "page_pool.hpp"
#include "process.hpp"
#include "ramfs.hpp"

namespace shim {

// Builds the file system from the initramfs; false (and says why) when it cannot.
bool init_files(PagePool& pool, const uint8_t* archive, size_t size);
Ramfs& file_system();

// A pipe's bytes in flight (PIPE_BUF of them) and how many open files hold each end.
struct Pipe {
    static constexpr uint32_t kBytes = 4096;
    uint8_t bytes[kBytes];
    uint32_t start = 0, length = 0;
    uint32_t readers = 0, writers = 0;
};

struct OpenFile {
    enum class Kind : uint8_t { free, console, inode, null, zero, random, pipe_read, pipe_write };
    Kind kind = Kind::free;
    Inode* inode = nullptr;
    Pipe* pipe = nullptr;
    uint64_t offset = 0; // a regular file's; a directory's readdir cursor
    uint32_t flags = 0;  // open's access mode and O_APPEND
    uint32_t references = 0;
};

// Handles as descriptors hold them (Process::files): 0 is none, kConsoleFile the console.
constexpr uint16_t kConsoleFile = 1;
OpenFile* open_file(uint16_t handle);
void retain(uint16_t handle);
void release(uint16_t handle);

// A regular file's bytes in one piece for execve (`path` resolved from the process's root and
// working directory); -errno otherwise.
int program_bytes(Process& process, const char* path, const uint8_t*& bytes, size_t& size);

// The file system calls; each returns the call's result (or -errno), as Linux does.
uint64_t sys_openat(Process& p, uint64_t dirfd, uint64_t path, uint64_t flags, uint64_t mode);
uint64_t sys_read_file(Process& p, OpenFile& file, uint64_t buffer, uint64_t length);
uint64_t sys_write_file(Process& p, OpenFile& file, uint64_t buffer, uint64_t length);
uint64_t sys_lseek(Process& p, uint64_t fd, uint64_t offset, uint64_t whence);
uint64_t sys_fstat(Process& p, uint64_t fd, uint64_t buffer);
uint64_t sys_fstatat(Process& p, uint64_t dirfd, uint64_t path, uint64_t buffer, uint64_t flags);
uint64_t sys_getdents64(Process& p, uint64_t fd, uint64_t buffer, uint64_t size);
uint64_t sys_readlinkat(Process& p, uint64_t dirfd, uint64_t path, uint64_t buffer, uint64_t size);
uint64_t sys_getcwd(Process& p, uint64_t buffer, uint64_t size);
uint64_t sys_chdir(Process& p, uint64_t path);
uint64_t sys_mkdirat(Process& p, uint64_t dirfd, uint64_t path, uint64_t mode);
uint64_t sys_unlinkat(Process& p, uint64_t dirfd, uint64_t path, uint64_t flags);
uint64_t sys_renameat(Process& p, uint64_t old_dirfd, uint64_t old_path, uint64_t new_dirfd, uint64_t new_path);
uint64_t sys_symlinkat(Process& p, uint64_t target, uint64_t dirfd, uint64_t path);
uint64_t sys_faccessat(Process& p, uint64_t dirfd, uint64_t path);
uint64_t sys_ftruncate(Process& p, uint64_t fd, uint64_t length);
uint64_t sys_pipe2(Process& p, uint64_t fds, uint64_t flags);

// Pipe reads and writes: -EAGAIN (as the shim's own marker, never seen by a process) when the
// caller must wait: no bytes yet with a writer left, no room with a reader left.
constexpr uint64_t kMustWait = static_cast<uint64_t>(-11);
uint64_t pipe_read(Process& p, OpenFile& file, uint64_t buffer, uint64_t length);
uint64_t pipe_write(Process& p, OpenFile& file, uint64_t buffer, uint64_t length);
// poll's view of an open file: POLLIN, POLLOUT and POLLHUP bits.
int16_t poll_bits(const OpenFile& file, bool console_readable);

} // namespace shim
