// Ramfs::load: the initramfs (cpio newc) into the file system.
#include "common/string.hpp"
#include "l4/cpio.hpp"
#include "linux_abi.hpp"
#include "ramfs.hpp"

namespace shim {

using namespace linux_abi;

// One archive entry, as load needs it.
struct LoadItem {
    const char* name;
    size_t length;
    uint32_t mode, uid, gid;
    int64_t mtime_ns;
    const uint8_t* data;
    size_t size;
    uint32_t rdev_major, rdev_minor;
    uint64_t link_key; // hard-link identity, 0 if the entry is not part of a link set
};

namespace {

constexpr int64_t kNanosecondsPerSecond = 1000000000;

bool is_directory_mode(uint32_t mode) { return (mode & kS_IFMT) == kS_IFDIR; }

// The next component of [name, name + length): skips slashes and "." components.
bool next_component(const char*& name, size_t& length, const char*& component, size_t& component_length)
{
    for (;;) {
        while (length > 0 && *name == '/') {
            ++name;
            --length;
        }
        if (length == 0)
            return false;
        component = name;
        while (length > 0 && *name != '/') {
            ++name;
            --length;
        }
        component_length = static_cast<size_t>(name - component);
        if (component_length != 1 || component[0] != '.')
            return true;
    }
}

// True if nothing but slashes is left.
bool only_slashes(const char* name, size_t length)
{
    for (size_t i = 0; i < length; ++i)
        if (name[i] != '/')
            return false;
    return true;
}

// The archive's times win: adding a child must not restamp its directory (Linux's initramfs
// sets directory times after the fact for the same reason).
class KeepTimes {
public:
    explicit KeepTimes(Inode* inode)
        : inode_(inode), atime_(inode->atime_ns), mtime_(inode->mtime_ns), ctime_(inode->ctime_ns)
    {
    }
    ~KeepTimes()
    {
        inode_->atime_ns = atime_;
        inode_->mtime_ns = mtime_;
        inode_->ctime_ns = ctime_;
    }

private:
    Inode* inode_;
    int64_t atime_, mtime_, ctime_;
};

void take_attributes(Inode* inode, const LoadItem& item)
{
    inode->mode = item.mode;
    inode->uid = item.uid;
    inode->gid = item.gid;
    inode->atime_ns = inode->mtime_ns = inode->ctime_ns = item.mtime_ns;
}

} // namespace

int Ramfs::load(const void* archive, size_t size)
{
    // A damaged archive changes nothing.
    if (l4::cpio::validate(archive, size) != l4::cpio::Error::none)
        return -kEINVAL;
    l4::cpio::Reader reader(archive, size);
    l4::cpio::Entry entry;
    while (reader.next(entry)) {
        LoadItem item{};
        item.name = entry.name;
        item.length = entry.name_length;
        item.mode = entry.mode & (kS_IFMT | kPermissionMask);
        item.uid = entry.uid;
        item.gid = entry.gid;
        item.mtime_ns = static_cast<int64_t>(entry.mtime) * kNanosecondsPerSecond;
        item.data = entry.data;
        item.size = entry.size;
        item.rdev_major = entry.rdev_major;
        item.rdev_minor = entry.rdev_minor;
        if ((item.mode & kS_IFMT) == kS_IFREG && entry.nlink > 1)
            item.link_key = uint64_t{entry.inode} << 32 ^ uint64_t { entry.dev_major } << 16 ^ entry.dev_minor ^
                            uint64_t { 1 } << 63;
        if (int error = load_entry(item))
            return error;
    }
    return 0;
}

int Ramfs::load_entry(const LoadItem& item)
{
    const uint32_t type = item.mode & kS_IFMT;
    if (type == 0)
        return -kEINVAL;
    if (type == kS_IFLNK && (item.size == 0 || item.size >= kPathMax))
        return -kEINVAL;
    const char* rest = item.name;
    size_t rest_length = item.length;
    Inode* dir = root_;
    const char* name = nullptr;
    size_t length = 0;
    if (!next_component(rest, rest_length, name, length)) {
        if (type != kS_IFDIR)
            return -kEINVAL; // only a directory can be the root
        take_attributes(root_, item);
        return 0;
    }
    // Walk (and make) the directories above the last component.
    for (;;) {
        if (length == 2 && name[0] == '.' && name[1] == '.')
            return -kEINVAL;
        if (length > kNameMax)
            return -kENAMETOOLONG;
        const char* next = nullptr;
        size_t next_length = 0;
        if (only_slashes(rest, rest_length))
            break;
        next_component(rest, rest_length, next, next_length);
        Inode* child = nullptr;
        int result = lookup(dir, name, length, child);
        if (result == -kENOENT) {
            KeepTimes keep(dir);
            result = mkdir(dir, name, length, 0755, child);
            if (result == 0)
                child->atime_ns = child->mtime_ns = child->ctime_ns = item.mtime_ns;
        }
        if (result != 0)
            return result;
        if (!child->is_directory())
            return -kENOTDIR;
        dir = child;
        name = next;
        length = next_length;
    }
    return load_place(dir, name, length, item);
}

// Puts the entry's inode at (dir, name): a new one, the hard link's earlier one, or the
// directory already there.
int Ramfs::load_place(Inode* dir, const char* name, size_t length, const LoadItem& item)
{
    KeepTimes keep(dir);
    DirEntry* existing = find_entry(dir, name, length, nullptr);
    if (existing != nullptr && existing->inode->is_directory()) {
        if (is_directory_mode(item.mode)) {
            take_attributes(existing->inode, item);
            return 0;
        }
        if (existing->inode->entries != nullptr)
            return -kENOTEMPTY;
    }
    Inode* linked = nullptr;
    if (item.link_key != 0)
        for (Inode* inode = inodes_; inode != nullptr; inode = inode->next_inode)
            if (inode->archive_key == item.link_key && inode->nlink > 0)
                linked = inode;
    Inode* inode = linked;
    if (inode == nullptr) {
        inode = new_inode(item.mode);
        if (inode == nullptr)
            return -kENOMEM;
        take_attributes(inode, item);
        inode->archive_key = item.link_key;
        inode->rdev_major = item.rdev_major;
        inode->rdev_minor = item.rdev_minor;
        if (inode->is_directory())
            inode->nlink = 1; // its "."
    }
    if (existing == nullptr) {
        DirEntry* entry = new_entry(name, length);
        if (entry == nullptr) {
            if (linked == nullptr)
                free_inode(inode);
            return -kENOMEM;
        }
        add_entry(dir, entry, inode);
    } else if (existing->inode != inode) {
        drop_link(retarget(dir, existing, inode));
    }
    // Archive bytes until written; with hard links, the member that carries them wins.
    if ((inode->is_regular() || inode->is_symlink()) && (linked == nullptr || item.size > 0)) {
        if (inode->storage != nullptr)
            allocator_.free(inode->storage, inode->capacity);
        inode->storage = nullptr;
        inode->capacity = 0;
        inode->data = item.data;
        inode->size = item.size;
    }
    return 0;
}

} // namespace shim
