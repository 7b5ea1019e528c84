// The shim's in-memory file system: inodes, directory entries and file bytes.
#include "ramfs.hpp"

#include "common/string.hpp"
#include "linux_abi.hpp"

namespace shim {

using namespace linux_abi;

namespace {

bool is_dot(const char* name, size_t length) { return length == 1 && name[0] == '.'; }
bool is_dotdot(const char* name, size_t length) { return length == 2 && name[0] == '.' && name[1] == '.'; }
bool is_dot_or_dotdot(const char* name, size_t length) { return is_dot(name, length) || is_dotdot(name, length); }

// 0, or why the name cannot be looked up at all.
int check_name(const char* name, size_t length)
{
    if (length == 0)
        return -kENOENT;
    if (length > kNameMax)
        return -kENAMETOOLONG;
    for (size_t i = 0; i < length; ++i)
        if (name[i] == '/' || name[i] == '\0')
            return -kEINVAL;
    return 0;
}

// 0 if `name` can be looked up in `dir`.
int check_lookup(const Inode* dir, const char* name, size_t length)
{
    if (!dir->is_directory())
        return -kENOTDIR;
    return check_name(name, length);
}

// 0 if `dir` can take a new entry: a directory that is still linked.
int check_live_directory(const Inode* dir)
{
    if (!dir->is_directory())
        return -kENOTDIR;
    if (dir->nlink == 0)
        return -kENOENT; // removed while someone stood in it
    return 0;
}

// True if `inode` is `dir` or lies below it.
bool within(const Inode* inode, const Inode* dir)
{
    for (const Inode* up = inode;; up = up->parent) {
        if (up == dir)
            return true;
        if (up == up->parent)
            return false;
    }
}

} // namespace

uint8_t dirent_type(uint32_t mode)
{
    switch (mode & kS_IFMT) {
    case kS_IFREG: return kDT_REG;
    case kS_IFDIR: return kDT_DIR;
    case kS_IFLNK: return kDT_LNK;
    case kS_IFCHR: return kDT_CHR;
    case kS_IFBLK: return kDT_BLK;
    case kS_IFIFO: return kDT_FIFO;
    case kS_IFSOCK: return kDT_SOCK;
    default: return kDT_UNKNOWN;
    }
}

Ramfs::Ramfs(Allocator& allocator, Clock& clock) : allocator_(allocator), clock_(clock)
{
    root_ = new_inode(kS_IFDIR | 0755);
    if (root_ == nullptr)
        return;
    root_->nlink = 2; // "." and its own ".."
    root_->parent = root_;
}

Ramfs::~Ramfs()
{
    while (inodes_ != nullptr)
        free_inode(inodes_);
}

Inode* Ramfs::new_inode(uint32_t mode)
{
    auto* inode = static_cast<Inode*>(allocator_.allocate(sizeof(Inode)));
    if (inode == nullptr)
        return nullptr;
    memset(inode, 0, sizeof(Inode));
    inode->ino = next_ino_++;
    inode->mode = mode;
    inode->atime_ns = inode->mtime_ns = inode->ctime_ns = clock_.now_ns();
    inode->next_position = 2; // after "." and ".."
    inode->next_inode = inodes_;
    if (inodes_ != nullptr)
        inodes_->prev_inode = inode;
    inodes_ = inode;
    ++inode_count_;
    return inode;
}

void Ramfs::free_inode(Inode* inode)
{
    while (inode->entries != nullptr) {
        DirEntry* entry = inode->entries;
        inode->entries = entry->next;
        allocator_.free(entry, sizeof(DirEntry) + entry->name_length);
    }
    if (inode->storage != nullptr)
        allocator_.free(inode->storage, inode->capacity);
    if (inode->prev_inode != nullptr)
        inode->prev_inode->next_inode = inode->next_inode;
    else
        inodes_ = inode->next_inode;
    if (inode->next_inode != nullptr)
        inode->next_inode->prev_inode = inode->prev_inode;
    --inode_count_;
    allocator_.free(inode, sizeof(Inode));
}

DirEntry* Ramfs::new_entry(const char* name, size_t length)
{
    // name[1] in the struct holds the NUL.
    auto* entry = static_cast<DirEntry*>(allocator_.allocate(sizeof(DirEntry) + length));
    if (entry == nullptr)
        return nullptr;
    memset(entry, 0, sizeof(DirEntry));
    entry->name_length = static_cast<uint8_t>(length);
    memcpy(entry->name, name, length);
    entry->name[length] = '\0';
    return entry;
}

void Ramfs::add_entry(Inode* dir, DirEntry* entry, Inode* inode)
{
    entry->inode = inode;
    entry->next = nullptr;
    entry->position = dir->next_position++;
    if (dir->last_entry != nullptr)
        dir->last_entry->next = entry;
    else
        dir->entries = entry;
    dir->last_entry = entry;
    ++inode->nlink;
    if (inode->is_directory()) {
        inode->parent = dir;
        ++dir->nlink; // the child's ".."
    }
}

DirEntry* Ramfs::find_entry(const Inode* dir, const char* name, size_t length, DirEntry** previous) const
{
    DirEntry* before = nullptr;
    for (DirEntry* entry = dir->entries; entry != nullptr; before = entry, entry = entry->next) {
        if (entry->name_length == length && memcmp(entry->name, name, length) == 0) {
            if (previous != nullptr)
                *previous = before;
            return entry;
        }
    }
    return nullptr;
}

// Unhooks the entry (it stays allocated); the inode loses the link but is not freed here.
void Ramfs::remove_entry(Inode* dir, DirEntry* entry, DirEntry* previous)
{
    if (previous != nullptr)
        previous->next = entry->next;
    else
        dir->entries = entry->next;
    if (dir->last_entry == entry)
        dir->last_entry = previous;
    entry->next = nullptr;
    --entry->inode->nlink;
    if (entry->inode->is_directory())
        --dir->nlink;
}

// Points an entry at another inode, in place (its readdir position stays); returns the one
// it named, which has lost the link but is not freed here.
Inode* Ramfs::retarget(Inode* dir, DirEntry* entry, Inode* inode)
{
    Inode* replaced = entry->inode;
    --replaced->nlink;
    if (replaced->is_directory())
        --dir->nlink;
    entry->inode = inode;
    ++inode->nlink;
    if (inode->is_directory()) {
        inode->parent = dir;
        ++dir->nlink;
    }
    return replaced;
}

void Ramfs::drop_link(Inode* inode)
{
    if (inode->is_directory())
        inode->nlink = 0; // its "." goes with its entry
    inode->ctime_ns = clock_.now_ns();
    if (inode->nlink == 0 && inode->holds == 0)
        free_inode(inode);
}

// unlink and rmdir: the name goes, and its inode if that was the last link.
void Ramfs::erase(Inode* dir, DirEntry* entry, DirEntry* previous)
{
    Inode* inode = entry->inode;
    remove_entry(dir, entry, previous);
    allocator_.free(entry, sizeof(DirEntry) + entry->name_length);
    drop_link(inode);
    touch_modify(dir);
}

void Ramfs::release(Inode* inode)
{
    --inode->holds;
    if (inode->nlink == 0 && inode->holds == 0)
        free_inode(inode);
}

void Ramfs::touch_change(Inode* inode) { inode->ctime_ns = clock_.now_ns(); }

void Ramfs::touch_modify(Inode* inode) { inode->mtime_ns = inode->ctime_ns = clock_.now_ns(); }

int Ramfs::lookup(Inode* dir, const char* name, size_t length, Inode*& out) const
{
    if (int error = check_lookup(dir, name, length))
        return error;
    if (is_dot(name, length)) {
        out = dir;
        return 0;
    }
    if (is_dotdot(name, length)) {
        out = dir->parent;
        return 0;
    }
    DirEntry* entry = find_entry(dir, name, length, nullptr);
    if (entry == nullptr)
        return -kENOENT;
    out = entry->inode;
    return 0;
}

int Ramfs::make_node(Inode* dir, const char* name, size_t length, uint32_t mode, Inode*& out)
{
    if (int error = check_live_directory(dir))
        return error;
    if (int error = check_name(name, length))
        return error;
    if (is_dot_or_dotdot(name, length) || find_entry(dir, name, length, nullptr) != nullptr)
        return -kEEXIST;
    DirEntry* entry = new_entry(name, length);
    if (entry == nullptr)
        return -kENOMEM;
    Inode* inode = new_inode(mode);
    if (inode == nullptr) {
        allocator_.free(entry, sizeof(DirEntry) + length);
        return -kENOMEM;
    }
    if (inode->is_directory())
        inode->nlink = 1; // its "."
    add_entry(dir, entry, inode);
    touch_modify(dir);
    out = inode;
    return 0;
}

int Ramfs::create(Inode* dir, const char* name, size_t length, uint32_t permissions, Inode*& out)
{
    return make_node(dir, name, length, kS_IFREG | (permissions & kPermissionMask), out);
}

int Ramfs::mkdir(Inode* dir, const char* name, size_t length, uint32_t permissions, Inode*& out)
{
    return make_node(dir, name, length, kS_IFDIR | (permissions & kPermissionMask), out);
}

int Ramfs::mknod(Inode* dir, const char* name, size_t length, uint32_t mode, uint32_t major, uint32_t minor,
                 Inode*& out)
{
    const uint32_t type = mode & kS_IFMT;
    if (type == 0)
        mode |= kS_IFREG; // mknod(2): a zero type is a regular file
    else if (type != kS_IFREG && type != kS_IFCHR && type != kS_IFBLK && type != kS_IFIFO && type != kS_IFSOCK)
        return -kEINVAL;
    int result = make_node(dir, name, length, mode & (kS_IFMT | kPermissionMask), out);
    if (result == 0) {
        out->rdev_major = major;
        out->rdev_minor = minor;
    }
    return result;
}

int Ramfs::symlink(Inode* dir, const char* name, size_t length, const char* target, size_t target_length, Inode*& out)
{
    if (target_length == 0)
        return -kENOENT;
    if (target_length >= kPathMax)
        return -kENAMETOOLONG;
    auto* storage = static_cast<uint8_t*>(allocator_.allocate(target_length));
    if (storage == nullptr)
        return -kENOMEM;
    int result = make_node(dir, name, length, kS_IFLNK | 0777, out);
    if (result != 0) {
        allocator_.free(storage, target_length);
        return result;
    }
    memcpy(storage, target, target_length);
    out->storage = storage;
    out->data = storage;
    out->capacity = target_length;
    out->size = target_length;
    return 0;
}

int Ramfs::link(Inode* target, Inode* dir, const char* name, size_t length)
{
    if (int error = check_live_directory(dir))
        return error;
    if (int error = check_name(name, length))
        return error;
    if (is_dot_or_dotdot(name, length) || find_entry(dir, name, length, nullptr) != nullptr)
        return -kEEXIST;
    if (target->is_directory())
        return -kEPERM;
    if (target->nlink == 0)
        return -kENOENT; // unlinked and only held open
    DirEntry* entry = new_entry(name, length);
    if (entry == nullptr)
        return -kENOMEM;
    add_entry(dir, entry, target);
    touch_change(target);
    touch_modify(dir);
    return 0;
}

int Ramfs::unlink(Inode* dir, const char* name, size_t length)
{
    if (int error = check_lookup(dir, name, length))
        return error;
    if (is_dot_or_dotdot(name, length))
        return -kEISDIR;
    DirEntry* previous = nullptr;
    DirEntry* entry = find_entry(dir, name, length, &previous);
    if (entry == nullptr)
        return -kENOENT;
    if (entry->inode->is_directory())
        return -kEISDIR;
    erase(dir, entry, previous);
    return 0;
}

int Ramfs::rmdir(Inode* dir, const char* name, size_t length)
{
    if (int error = check_lookup(dir, name, length))
        return error;
    if (is_dot(name, length))
        return -kEINVAL;
    if (is_dotdot(name, length))
        return -kENOTEMPTY;
    DirEntry* previous = nullptr;
    DirEntry* entry = find_entry(dir, name, length, &previous);
    if (entry == nullptr)
        return -kENOENT;
    Inode* inode = entry->inode;
    if (!inode->is_directory())
        return -kENOTDIR;
    if (inode->entries != nullptr)
        return -kENOTEMPTY;
    erase(dir, entry, previous);
    return 0;
}

int Ramfs::rename(Inode* old_dir, const char* old_name, size_t old_length, Inode* new_dir, const char* new_name,
                  size_t new_length)
{
    if (!old_dir->is_directory() || !new_dir->is_directory())
        return -kENOTDIR;
    if (int error = check_name(old_name, old_length))
        return error;
    if (int error = check_name(new_name, new_length))
        return error;
    if (is_dot_or_dotdot(old_name, old_length) || is_dot_or_dotdot(new_name, new_length))
        return -kEBUSY;
    DirEntry* source = find_entry(old_dir, old_name, old_length, nullptr);
    if (source == nullptr)
        return -kENOENT;
    if (new_dir->nlink == 0)
        return -kENOENT;
    Inode* moving = source->inode;
    DirEntry* target = find_entry(new_dir, new_name, new_length, nullptr);
    if (target != nullptr && target->inode == moving)
        return 0; // two names of one file: POSIX says do nothing
    // Into itself or below itself would cut the tree loose.
    if (moving->is_directory() && within(new_dir, moving))
        return -kEINVAL;
    if (target != nullptr) {
        // Over one of its own ancestors: that one is not empty (Linux checks this first).
        if (target->inode->is_directory() && within(old_dir, target->inode))
            return -kENOTEMPTY;
        if (moving->is_directory() && !target->inode->is_directory())
            return -kENOTDIR;
        if (!moving->is_directory() && target->inode->is_directory())
            return -kEISDIR;
        if (target->inode->entries != nullptr)
            return -kENOTEMPTY;
    }
    DirEntry* entry = nullptr;
    if (target == nullptr) {
        entry = new_entry(new_name, new_length);
        if (entry == nullptr)
            return -kENOMEM;
    }
    DirEntry* previous = nullptr;
    find_entry(old_dir, old_name, old_length, &previous);
    remove_entry(old_dir, source, previous);
    allocator_.free(source, sizeof(DirEntry) + source->name_length);
    if (target != nullptr)
        drop_link(retarget(new_dir, target, moving));
    else
        add_entry(new_dir, entry, moving);
    touch_change(moving);
    touch_modify(old_dir);
    touch_modify(new_dir);
    return 0;
}

int64_t Ramfs::readlink(const Inode* inode, char* buffer, size_t size) const
{
    if (!inode->is_symlink())
        return -kEINVAL;
    const size_t count = size < inode->size ? size : inode->size;
    memcpy(buffer, inode->data, count);
    return static_cast<int64_t>(count);
}

int64_t Ramfs::read(Inode* inode, uint64_t offset, void* buffer, size_t count) const
{
    if (inode->is_directory())
        return -kEISDIR;
    if (!inode->is_regular())
        return -kEINVAL;
    if (offset >= inode->size)
        return 0;
    const uint64_t left = inode->size - offset;
    const size_t length = count < left ? count : left;
    memcpy(buffer, inode->data + offset, length);
    return static_cast<int64_t>(length);
}

// Makes the file's bytes its own, with room for `size` (>= its size) of them.
int Ramfs::reserve(Inode* inode, uint64_t size)
{
    if (inode->storage != nullptr && inode->capacity >= size)
        return 0;
    size_t capacity = size;
    if (inode->storage != nullptr && inode->capacity * 2 > size)
        capacity = inode->capacity * 2; // appends cost amortised O(1)
    auto* storage = static_cast<uint8_t*>(allocator_.allocate(capacity));
    if (storage == nullptr && capacity > size) {
        capacity = size;
        storage = static_cast<uint8_t*>(allocator_.allocate(capacity));
    }
    if (storage == nullptr)
        return -kENOMEM;
    if (inode->size != 0)
        memcpy(storage, inode->data, inode->size);
    if (inode->storage != nullptr)
        allocator_.free(inode->storage, inode->capacity);
    inode->storage = storage;
    inode->data = storage;
    inode->capacity = capacity;
    return 0;
}

int64_t Ramfs::write(Inode* inode, uint64_t offset, const void* buffer, size_t count)
{
    if (inode->is_directory())
        return -kEISDIR;
    if (!inode->is_regular())
        return -kEINVAL;
    if (offset >= kMaxFileSize)
        return -kEFBIG;
    if (count > kMaxFileSize - offset)
        count = kMaxFileSize - offset; // Linux writes up to the limit
    if (count == 0)
        return 0;
    const uint64_t end = offset + count;
    const uint64_t new_size = end > inode->size ? end : inode->size;
    if (int error = reserve(inode, new_size))
        return error;
    if (offset > inode->size)
        memset(inode->storage + inode->size, 0, offset - inode->size);
    memcpy(inode->storage + offset, buffer, count);
    inode->size = new_size;
    touch_modify(inode);
    return static_cast<int64_t>(count);
}

int Ramfs::truncate(Inode* inode, uint64_t length)
{
    if (inode->is_directory())
        return -kEISDIR;
    if (!inode->is_regular())
        return -kEINVAL;
    if (length > kMaxFileSize)
        return -kEFBIG;
    if (length > inode->size) {
        if (int error = reserve(inode, length))
            return error;
        memset(inode->storage + inode->size, 0, length - inode->size);
    }
    inode->size = length; // a shorter archive file keeps pointing into the archive
    touch_modify(inode);
    return 0;
}

int Ramfs::readdir(const Inode* dir, uint64_t cursor, DirRecord& out) const
{
    if (!dir->is_directory())
        return -kENOTDIR;
    if (cursor < 2) {
        out.name = cursor == 0 ? "." : "..";
        out.name_length = cursor + 1;
        out.ino = cursor == 0 ? dir->ino : dir->parent->ino;
        out.type = kDT_DIR;
        out.next_cursor = cursor + 1;
        return 1;
    }
    for (const DirEntry* entry = dir->entries; entry != nullptr; entry = entry->next) {
        if (entry->position >= cursor) {
            out.name = entry->name;
            out.name_length = entry->name_length;
            out.ino = entry->inode->ino;
            out.type = dirent_type(entry->inode->mode);
            out.next_cursor = entry->position + 1;
            return 1;
        }
    }
    return 0;
}

int Ramfs::chmod(Inode* inode, uint32_t permissions)
{
    inode->mode = inode->type() | (permissions & kPermissionMask);
    touch_change(inode);
    return 0;
}

int Ramfs::set_times(Inode* inode, TimeChange atime, TimeChange mtime)
{
    using Kind = TimeChange::Kind;
    if (atime.kind == Kind::omit && mtime.kind == Kind::omit)
        return 0; // utimensat: nothing changes, not even ctime
    const int64_t now = clock_.now_ns();
    if (atime.kind != Kind::omit)
        inode->atime_ns = atime.kind == Kind::now ? now : atime.ns;
    if (mtime.kind != Kind::omit)
        inode->mtime_ns = mtime.kind == Kind::now ? now : mtime.ns;
    inode->ctime_ns = now;
    return 0;
}

} // namespace shim
