// The shim's in-memory file system, built from the initramfs (cpio newc) and writable at run
// time, with Linux's errno semantics.
//
// Rules:
//   - Every operation returns 0 (or a count) on success and a negative Linux errno on failure;
//     a failed operation changes nothing. Allocation happens before anything is changed, so
//     ENOMEM leaves the file system as it was.
//   - Names are 1..255 bytes without '/' or NUL. "." and ".." never appear as entries: lookup
//     answers them from the directory itself (".." of the root is the root), and the other
//     operations refuse them with the errno Linux gives.
//   - A regular file's or symlink's bytes may point into the archive (never written to) until
//     the first change, which copies them into allocated storage.
//   - nlink counts the entries naming an inode (a directory: its entry, its "." and each
//     subdirectory's ".."). An inode is freed when no entry names it and no one holds it
//     (hold/release: open files, a working directory).
//   - Paths are path.hpp's business; this class sees one directory and one name at a time.
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "allocator.hpp"
#include "linux_abi.hpp"

namespace shim {

struct DirEntry;
struct LoadItem;

struct Inode {
    uint64_t ino;
    uint32_t mode; // type and permission bits (linux_abi::kS_IF*)
    uint32_t uid, gid;
    uint32_t nlink;
    uint64_t size; // bytes of a file, the target's length for a symlink
    int64_t atime_ns, mtime_ns, ctime_ns;
    uint32_t rdev_major, rdev_minor; // character and block devices

    uint32_t type() const { return mode & linux_abi::kS_IFMT; }
    bool is_directory() const { return type() == linux_abi::kS_IFDIR; }
    bool is_regular() const { return type() == linux_abi::kS_IFREG; }
    bool is_symlink() const { return type() == linux_abi::kS_IFLNK; }

    // Owned by Ramfs.
    const uint8_t* data; // size bytes: the archive's, or `storage`
    uint8_t* storage;    // allocated bytes (capacity of them), or nullptr
    size_t capacity;
    DirEntry* entries;    // a directory's, in creation order
    DirEntry* last_entry; // where the next one goes
    uint64_t next_position;
    Inode* parent;        // a directory's ".."
    uint32_t holds;       // hold() minus release()
    uint64_t archive_key; // cpio hard-link identity (0: none)
    Inode* prev_inode;    // every inode, for teardown
    Inode* next_inode;
};

// One name in a directory.
struct DirEntry {
    DirEntry* next;
    Inode* inode;
    uint64_t position; // readdir cursor: stable while other entries come and go
    uint8_t name_length;
    char name[1]; // name_length bytes and a NUL, allocated with the entry
};

// One directory record, as readdir gives it.
struct DirRecord {
    const char* name;
    size_t name_length;
    uint64_t ino;
    uint8_t type;         // linux_abi::kDT_*
    uint64_t next_cursor; // getdents64's d_off
};

// How set_times changes one time stamp (utimensat's UTIME_NOW and UTIME_OMIT).
struct TimeChange {
    enum class Kind : uint8_t { set, now, omit };
    Kind kind;
    int64_t ns;
};

class Ramfs {
public:
    // The root directory alone (0755, owned by 0:0).
    Ramfs(Allocator& allocator, Clock& clock);
    ~Ramfs();
    Ramfs(const Ramfs&) = delete;
    Ramfs& operator=(const Ramfs&) = delete;

    // False if the root could not be allocated; then nothing else may be called.
    bool valid() const { return root_ != nullptr; }
    Inode* root() const { return root_; }
    size_t inode_count() const { return inode_count_; }

    // Adds the archive's entries. The archive must outlive the file system (files point into
    // it until written). Leading "/" and "./" of names are dropped, "." is the root, missing
    // directories are made (0755, 0:0, the entry's mtime), a later entry replaces an earlier
    // one of the same path (a directory is updated in place), and regular files with nlink > 1
    // and the same inode and device numbers become hard links. -EINVAL for a malformed archive
    // or entry (a ".." component, an empty symlink), -ENAMETOOLONG, -ENOMEM, -ENOTEMPTY (a file
    // over a non-empty directory); entries before the failure stay.
    int load(const void* archive, size_t size);

    int lookup(Inode* dir, const char* name, size_t length, Inode*& out) const;

    int create(Inode* dir, const char* name, size_t length, uint32_t permissions, Inode*& out);
    int mkdir(Inode* dir, const char* name, size_t length, uint32_t permissions, Inode*& out);
    // A node of any type but directory and symlink (mode holds type and permissions).
    int mknod(Inode* dir, const char* name, size_t length, uint32_t mode, uint32_t major, uint32_t minor, Inode*& out);
    int symlink(Inode* dir, const char* name, size_t length, const char* target, size_t target_length, Inode*& out);
    int link(Inode* target, Inode* dir, const char* name, size_t length);
    int unlink(Inode* dir, const char* name, size_t length);
    int rmdir(Inode* dir, const char* name, size_t length);
    int rename(Inode* old_dir, const char* old_name, size_t old_length, Inode* new_dir, const char* new_name,
               size_t new_length);

    // Bytes copied (at most size, no NUL added).
    int64_t readlink(const Inode* inode, char* buffer, size_t size) const;
    // Bytes read (0 at or past the end).
    int64_t read(Inode* inode, uint64_t offset, void* buffer, size_t count) const;
    // Bytes written; a write past the end leaves a hole of zeros.
    int64_t write(Inode* inode, uint64_t offset, const void* buffer, size_t count);
    int truncate(Inode* inode, uint64_t length);

    // The record at `cursor` (0 is ".", 1 is "..", then the entries): 1 with `out` filled,
    // 0 at the end.
    int readdir(const Inode* dir, uint64_t cursor, DirRecord& out) const;

    int chmod(Inode* inode, uint32_t permissions);
    int set_times(Inode* inode, TimeChange atime, TimeChange mtime);

    // Keeps an inode alive while unlinked (an open file, a working directory).
    void hold(Inode* inode) { ++inode->holds; }
    void release(Inode* inode);

    // The largest file: offsets past it give EFBIG.
    static constexpr uint64_t kMaxFileSize = uint64_t{1} << 40;

private:
    Inode* new_inode(uint32_t mode);
    DirEntry* new_entry(const char* name, size_t length);
    void add_entry(Inode* dir, DirEntry* entry, Inode* inode);
    DirEntry* find_entry(const Inode* dir, const char* name, size_t length, DirEntry** previous) const;
    void remove_entry(Inode* dir, DirEntry* entry, DirEntry* previous);
    Inode* retarget(Inode* dir, DirEntry* entry, Inode* inode);
    void drop_link(Inode* inode);
    void erase(Inode* dir, DirEntry* entry, DirEntry* previous);
    void free_inode(Inode* inode);
    int make_node(Inode* dir, const char* name, size_t length, uint32_t mode, Inode*& out);
    int reserve(Inode* inode, uint64_t size);
    void touch_change(Inode* inode);
    void touch_modify(Inode* inode);
    int load_entry(const LoadItem& item);
    int load_parent(const char*& name, size_t& length, int64_t mtime_ns, Inode*& dir);
    int load_place(Inode* dir, const char* name, size_t length, const LoadItem& item);

    Allocator& allocator_;
    Clock& clock_;
    Inode* root_ = nullptr;
    Inode* inodes_ = nullptr;
    size_t inode_count_ = 0;
    uint64_t next_ino_ = 1;
};

// The d_type of an inode's type.
uint8_t dirent_type(uint32_t mode);

} // namespace shim
