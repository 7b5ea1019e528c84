// The shim's ramfs (pv-linux-shim/ramfs.hpp): every operation, its Linux errno, link counts,
// time stamps, and that every failed allocation leaves the file system as it was.
#include <catch2/catch.hpp>

#include <cstring>
#include <string>
#include <vector>

#include "linux_abi.hpp"
#include "ramfs.hpp"
#include "shim_fakes.hpp"

using namespace linux_abi;
using shim::DirRecord;
using shim::Inode;
using shim::Ramfs;
using shim::TimeChange;
using shim_test::CountingAllocator;
using shim_test::FakeClock;

namespace {

int mk(Ramfs& fs, Inode* dir, const std::string& name, Inode*& out, uint32_t permissions = 0755)
{
    return fs.mkdir(dir, name.data(), name.size(), permissions, out);
}

int touch(Ramfs& fs, Inode* dir, const std::string& name, Inode*& out)
{
    return fs.create(dir, name.data(), name.size(), 0644, out);
}

Inode* find(Ramfs& fs, Inode* dir, const std::string& name)
{
    Inode* out = nullptr;
    return fs.lookup(dir, name.data(), name.size(), out) == 0 ? out : nullptr;
}

int unlink(Ramfs& fs, Inode* dir, const std::string& name) { return fs.unlink(dir, name.data(), name.size()); }
int rmdir(Ramfs& fs, Inode* dir, const std::string& name) { return fs.rmdir(dir, name.data(), name.size()); }
int rename(Ramfs& fs, Inode* from, const std::string& a, Inode* to, const std::string& b)
{
    return fs.rename(from, a.data(), a.size(), to, b.data(), b.size());
}

int64_t write(Ramfs& fs, Inode* file, uint64_t offset, const std::string& text)
{
    return fs.write(file, offset, text.data(), text.size());
}

std::string contents(Ramfs& fs, Inode* file)
{
    std::string out(file->size, '?');
    REQUIRE(fs.read(file, 0, out.data(), out.size()) == static_cast<int64_t>(file->size));
    return out;
}

struct Record {
    std::string name;
    uint64_t ino;
    uint8_t type;
    bool operator==(const Record& other) const { return name == other.name && ino == other.ino && type == other.type; }
};

std::vector<Record> list(Ramfs& fs, Inode* dir)
{
    std::vector<Record> out;
    DirRecord record{};
    for (uint64_t cursor = 0; fs.readdir(dir, cursor, record) == 1; cursor = record.next_cursor)
        out.push_back({std::string(record.name, record.name_length), record.ino, record.type});
    return out;
}

using Fixture = shim_test::TestFs;

} // namespace

TEST_CASE("ramfs: a new file system is one root directory", "[shim][ramfs]")
{
    Fixture f;
    REQUIRE(f.fs.valid());
    CHECK(f.root->ino == 1);
    CHECK(f.root->mode == (kS_IFDIR | 0755));
    CHECK(f.root->nlink == 2);
    CHECK(f.root->uid == 0);
    CHECK(f.root->mtime_ns == 1000);
    CHECK(f.fs.inode_count() == 1);
    CHECK(find(f.fs, f.root, ".") == f.root);
    CHECK(find(f.fs, f.root, "..") == f.root);
    CHECK(list(f.fs, f.root) == std::vector<Record>{{".", 1, kDT_DIR}, {"..", 1, kDT_DIR}});
}

TEST_CASE("ramfs: no memory for the root gives an invalid file system", "[shim][ramfs]")
{
    CountingAllocator allocator;
    FakeClock clock;
    allocator.fail_after(0);
    Ramfs fs(allocator, clock);
    CHECK_FALSE(fs.valid());
    CHECK(fs.inode_count() == 0);
}

TEST_CASE("ramfs: create, mkdir and mknod give typed inodes with fresh numbers", "[shim][ramfs]")
{
    Fixture f;
    f.clock.now = 5000;
    Inode *file = nullptr, *dir = nullptr, *tty = nullptr;
    REQUIRE(touch(f.fs, f.root, "file", file) == 0);
    REQUIRE(mk(f.fs, f.root, "dir", dir, 0700) == 0);
    REQUIRE(f.fs.mknod(dir, "tty", 3, kS_IFCHR | 0620, 5, 0, tty) == 0);
    CHECK(file->ino == 2);
    CHECK(file->mode == (kS_IFREG | 0644));
    CHECK(file->nlink == 1);
    CHECK(file->size == 0);
    CHECK(file->mtime_ns == 5000);
    CHECK(file->atime_ns == 5000);
    CHECK(file->ctime_ns == 5000);
    CHECK(dir->ino == 3);
    CHECK(dir->mode == (kS_IFDIR | 0700));
    CHECK(dir->nlink == 2);
    CHECK(f.root->nlink == 3); // dir's ".."
    CHECK(f.root->mtime_ns == 5000);
    CHECK(tty->mode == (kS_IFCHR | 0620));
    CHECK(tty->rdev_major == 5);
    CHECK(tty->rdev_minor == 0);
    CHECK(find(f.fs, dir, "..") == f.root);
    CHECK(list(f.fs, f.root) ==
          std::vector<Record>{{".", 1, kDT_DIR}, {"..", 1, kDT_DIR}, {"file", 2, kDT_REG}, {"dir", 3, kDT_DIR}});
    CHECK(list(f.fs, dir) == std::vector<Record>{{".", 3, kDT_DIR}, {"..", 1, kDT_DIR}, {"tty", 4, kDT_CHR}});
    CHECK(f.fs.inode_count() == 4);
}

TEST_CASE("ramfs: names that cannot be created", "[shim][ramfs]")
{
    Fixture f;
    Inode *file = nullptr, *out = nullptr;
    REQUIRE(touch(f.fs, f.root, "file", file) == 0);
    CHECK(touch(f.fs, f.root, "file", out) == -kEEXIST);
    CHECK(mk(f.fs, f.root, "file", out) == -kEEXIST);
    CHECK(mk(f.fs, f.root, ".", out) == -kEEXIST);
    CHECK(mk(f.fs, f.root, "..", out) == -kEEXIST);
    CHECK(touch(f.fs, f.root, "", out) == -kENOENT);
    CHECK(touch(f.fs, f.root, std::string(256, 'n'), out) == -kENAMETOOLONG);
    CHECK(touch(f.fs, f.root, std::string(255, 'n'), out) == 0);
    CHECK(touch(f.fs, f.root, "a/b", out) == -kEINVAL);
    CHECK(touch(f.fs, file, "x", out) == -kENOTDIR);
    CHECK(f.fs.mknod(f.root, "d", 1, kS_IFDIR | 0755, 0, 0, out) == -kEINVAL);
    CHECK(f.fs.mknod(f.root, "l", 1, kS_IFLNK | 0777, 0, 0, out) == -kEINVAL);
    REQUIRE(f.fs.mknod(f.root, "z", 1, 0600, 0, 0, out) == 0);
    CHECK(out->mode == (kS_IFREG | 0600));
    REQUIRE(f.fs.mknod(f.root, "p", 1, kS_IFIFO | 0600, 0, 0, out) == 0);
    CHECK(out->mode == (kS_IFIFO | 0600));
    CHECK(f.fs.inode_count() == 5);
}

TEST_CASE("ramfs: lookup errors", "[shim][ramfs]")
{
    Fixture f;
    Inode *file = nullptr, *out = nullptr;
    REQUIRE(touch(f.fs, f.root, "file", file) == 0);
    CHECK(f.fs.lookup(f.root, "nope", 4, out) == -kENOENT);
    CHECK(f.fs.lookup(f.root, "", 0, out) == -kENOENT);
    CHECK(f.fs.lookup(file, "x", 1, out) == -kENOTDIR);
    const std::string long_name(256, 'a');
    CHECK(f.fs.lookup(f.root, long_name.data(), long_name.size(), out) == -kENAMETOOLONG);
    CHECK(f.fs.lookup(f.root, "fil", 3, out) == -kENOENT);
}

TEST_CASE("ramfs: write and read at offsets, with growth and holes", "[shim][ramfs]")
{
    Fixture f;
    Inode* file = nullptr;
    REQUIRE(touch(f.fs, f.root, "f", file) == 0);
    f.clock.now = 7000;
    CHECK(write(f.fs, file, 0, "hello") == 5);
    CHECK(file->size == 5);
    CHECK(file->mtime_ns == 7000);
    CHECK(file->ctime_ns == 7000);
    CHECK(write(f.fs, file, 3, "p me") == 4);
    CHECK(contents(f.fs, file) == "help me");
    CHECK(write(f.fs, file, 10, "end") == 3);
    CHECK(file->size == 13);
    CHECK(contents(f.fs, file) == std::string("help me\0\0\0end", 13));
    char buffer[8] = {};
    CHECK(f.fs.read(file, 5, buffer, 4) == 4);
    CHECK(std::string(buffer, 4) == std::string("me\0\0", 4));
    CHECK(f.fs.read(file, 11, buffer, 8) == 2);
    CHECK(std::string(buffer, 2) == "nd");
    CHECK(f.fs.read(file, 13, buffer, 8) == 0);
    CHECK(f.fs.read(file, 1000, buffer, 8) == 0);
    CHECK(write(f.fs, file, 2, "") == 0);
    CHECK(file->size == 13);
    // Many appends: the storage grows, the bytes stay.
    std::string expected = contents(f.fs, file);
    for (int i = 0; i < 500; ++i) {
        const std::string piece = std::to_string(i) + ",";
        CHECK(write(f.fs, file, file->size, piece) == static_cast<int64_t>(piece.size()));
        expected += piece;
    }
    CHECK(contents(f.fs, file) == expected);
}

TEST_CASE("ramfs: read and write refuse what is not a regular file", "[shim][ramfs]")
{
    Fixture f;
    Inode *dir = nullptr, *tty = nullptr, *link = nullptr;
    REQUIRE(mk(f.fs, f.root, "d", dir) == 0);
    REQUIRE(f.fs.mknod(f.root, "tty", 3, kS_IFCHR | 0600, 5, 0, tty) == 0);
    REQUIRE(f.fs.symlink(f.root, "l", 1, "d", 1, link) == 0);
    char buffer[4];
    CHECK(f.fs.read(dir, 0, buffer, 4) == -kEISDIR);
    CHECK(write(f.fs, dir, 0, "x") == -kEISDIR);
    CHECK(f.fs.truncate(dir, 0) == -kEISDIR);
    CHECK(f.fs.read(tty, 0, buffer, 4) == -kEINVAL);
    CHECK(write(f.fs, tty, 0, "x") == -kEINVAL);
    CHECK(f.fs.truncate(tty, 0) == -kEINVAL);
    CHECK(f.fs.read(link, 0, buffer, 4) == -kEINVAL);
    CHECK(f.fs.readlink(dir, buffer, 4) == -kEINVAL);
}

TEST_CASE("ramfs: the file size limit gives EFBIG, a write up to it is cut", "[shim][ramfs]")
{
    Fixture f;
    Inode* file = nullptr;
    REQUIRE(touch(f.fs, f.root, "f", file) == 0);
    CHECK(write(f.fs, file, Ramfs::kMaxFileSize, "x") == -kEFBIG);
    CHECK(write(f.fs, file, UINT64_MAX, "x") == -kEFBIG);
    CHECK(f.fs.truncate(file, Ramfs::kMaxFileSize + 1) == -kEFBIG);
    CHECK(file->size == 0);
}

TEST_CASE("ramfs: truncate shrinks and grows with zeros", "[shim][ramfs]")
{
    Fixture f;
    Inode* file = nullptr;
    REQUIRE(touch(f.fs, f.root, "f", file) == 0);
    REQUIRE(write(f.fs, file, 0, "abcdefgh") == 8);
    f.clock.now = 9000;
    CHECK(f.fs.truncate(file, 3) == 0);
    CHECK(file->size == 3);
    CHECK(file->mtime_ns == 9000);
    CHECK(f.fs.truncate(file, 6) == 0);
    CHECK(contents(f.fs, file) == std::string("abc\0\0\0", 6));
    CHECK(f.fs.truncate(file, 0) == 0);
    CHECK(contents(f.fs, file).empty());
    CHECK(write(f.fs, file, 2, "z") == 1);
    CHECK(contents(f.fs, file) == std::string("\0\0z", 3));
}

TEST_CASE("ramfs: symlink and readlink", "[shim][ramfs]")
{
    Fixture f;
    Inode* link = nullptr;
    REQUIRE(f.fs.symlink(f.root, "sh", 2, "/bin/busybox", 12, link) == 0);
    CHECK(link->mode == (kS_IFLNK | 0777));
    CHECK(link->size == 12);
    CHECK(link->nlink == 1);
    char buffer[32] = {};
    CHECK(f.fs.readlink(link, buffer, sizeof buffer) == 12);
    CHECK(std::string(buffer) == "/bin/busybox");
    CHECK(f.fs.readlink(link, buffer, 4) == 4); // cut, no NUL: readlink(2)
    CHECK(std::string(buffer, 4) == "/bin");
    Inode* out = nullptr;
    CHECK(f.fs.symlink(f.root, "e", 1, "", 0, out) == -kENOENT);
    const std::string long_target(4096, 'x');
    CHECK(f.fs.symlink(f.root, "e", 1, long_target.data(), long_target.size(), out) == -kENAMETOOLONG);
    CHECK(f.fs.symlink(f.root, "e", 1, long_target.data(), 4095, out) == 0);
    CHECK(f.fs.symlink(f.root, "sh", 2, "x", 1, out) == -kEEXIST);
    CHECK(list(f.fs, f.root)[2] == Record{"sh", 2, kDT_LNK});
}

TEST_CASE("ramfs: hard links count and outlive their first name", "[shim][ramfs]")
{
    Fixture f;
    Inode *file = nullptr, *dir = nullptr;
    REQUIRE(touch(f.fs, f.root, "a", file) == 0);
    REQUIRE(mk(f.fs, f.root, "d", dir) == 0);
    REQUIRE(write(f.fs, file, 0, "data") == 4);
    f.clock.now = 3000;
    CHECK(f.fs.link(file, dir, "b", 1) == 0);
    CHECK(file->nlink == 2);
    CHECK(file->ctime_ns == 3000);
    CHECK(dir->mtime_ns == 3000);
    CHECK(find(f.fs, dir, "b") == file);
    CHECK(f.fs.link(file, dir, "b", 1) == -kEEXIST);
    CHECK(f.fs.link(file, dir, ".", 1) == -kEEXIST);
    CHECK(f.fs.link(dir, f.root, "d2", 2) == -kEPERM);
    CHECK(f.fs.link(file, file, "x", 1) == -kENOTDIR);
    CHECK(unlink(f.fs, f.root, "a") == 0);
    CHECK(file->nlink == 1);
    CHECK(contents(f.fs, file) == "data");
    CHECK(f.fs.inode_count() == 3);
    CHECK(unlink(f.fs, dir, "b") == 0);
    CHECK(f.fs.inode_count() == 2);
}

TEST_CASE("ramfs: unlink errors", "[shim][ramfs]")
{
    Fixture f;
    Inode *dir = nullptr, *file = nullptr;
    REQUIRE(mk(f.fs, f.root, "d", dir) == 0);
    REQUIRE(touch(f.fs, f.root, "f", file) == 0);
    CHECK(unlink(f.fs, f.root, "d") == -kEISDIR);
    CHECK(unlink(f.fs, f.root, ".") == -kEISDIR);
    CHECK(unlink(f.fs, f.root, "..") == -kEISDIR);
    CHECK(unlink(f.fs, f.root, "nope") == -kENOENT);
    CHECK(unlink(f.fs, f.root, "") == -kENOENT);
    CHECK(unlink(f.fs, file, "x") == -kENOTDIR);
    CHECK(unlink(f.fs, f.root, std::string(256, 'x')) == -kENAMETOOLONG);
    CHECK(f.fs.inode_count() == 3);
}

TEST_CASE("ramfs: rmdir", "[shim][ramfs]")
{
    Fixture f;
    Inode *dir = nullptr, *sub = nullptr, *file = nullptr;
    REQUIRE(mk(f.fs, f.root, "d", dir) == 0);
    REQUIRE(mk(f.fs, dir, "s", sub) == 0);
    REQUIRE(touch(f.fs, f.root, "f", file) == 0);
    CHECK(dir->nlink == 3);
    CHECK(f.root->nlink == 3);
    CHECK(rmdir(f.fs, f.root, "d") == -kENOTEMPTY);
    CHECK(rmdir(f.fs, f.root, "f") == -kENOTDIR);
    CHECK(rmdir(f.fs, dir, ".") == -kEINVAL);
    CHECK(rmdir(f.fs, dir, "..") == -kENOTEMPTY);
    CHECK(rmdir(f.fs, f.root, "nope") == -kENOENT);
    CHECK(rmdir(f.fs, file, "x") == -kENOTDIR);
    CHECK(rmdir(f.fs, dir, "s") == 0);
    CHECK(dir->nlink == 2);
    CHECK(rmdir(f.fs, f.root, "d") == 0);
    CHECK(f.root->nlink == 2);
    CHECK(f.fs.inode_count() == 2);
    CHECK(list(f.fs, f.root).size() == 3);
}

TEST_CASE("ramfs: a held directory outlives rmdir and takes no new entries", "[shim][ramfs]")
{
    Fixture f;
    Inode *dir = nullptr, *out = nullptr;
    REQUIRE(mk(f.fs, f.root, "d", dir) == 0);
    f.fs.hold(dir);
    CHECK(rmdir(f.fs, f.root, "d") == 0);
    CHECK(dir->nlink == 0);
    CHECK(f.fs.inode_count() == 2);
    CHECK(touch(f.fs, dir, "x", out) == -kENOENT);
    CHECK(mk(f.fs, dir, "x", out) == -kENOENT);
    CHECK(list(f.fs, dir).size() == 2);
    f.fs.release(dir);
    CHECK(f.fs.inode_count() == 1);
}

TEST_CASE("ramfs: a held file outlives its last name", "[shim][ramfs]")
{
    Fixture f;
    Inode* file = nullptr;
    REQUIRE(touch(f.fs, f.root, "f", file) == 0);
    REQUIRE(write(f.fs, file, 0, "open") == 4);
    f.fs.hold(file);
    CHECK(unlink(f.fs, f.root, "f") == 0);
    CHECK(file->nlink == 0);
    CHECK(contents(f.fs, file) == "open");
    CHECK(f.fs.link(file, f.root, "g", 1) == -kENOENT);
    f.fs.release(file);
    CHECK(f.fs.inode_count() == 1);
    CHECK(f.allocator.live_blocks() == 1);
}

TEST_CASE("ramfs: rename within and across directories", "[shim][ramfs]")
{
    Fixture f;
    Inode *a = nullptr, *b = nullptr, *file = nullptr, *sub = nullptr;
    REQUIRE(mk(f.fs, f.root, "a", a) == 0);
    REQUIRE(mk(f.fs, f.root, "b", b) == 0);
    REQUIRE(touch(f.fs, a, "f", file) == 0);
    REQUIRE(mk(f.fs, a, "sub", sub) == 0);
    f.clock.now = 4000;
    CHECK(rename(f.fs, a, "f", a, "g") == 0);
    CHECK(find(f.fs, a, "f") == nullptr);
    CHECK(find(f.fs, a, "g") == file);
    CHECK(file->nlink == 1);
    CHECK(file->ctime_ns == 4000);
    CHECK(rename(f.fs, a, "g", b, "h") == 0);
    CHECK(find(f.fs, b, "h") == file);
    CHECK(rename(f.fs, a, "sub", b, "sub") == 0);
    CHECK(find(f.fs, sub, "..") == b);
    CHECK(a->nlink == 2);
    CHECK(b->nlink == 3);
    CHECK(sub->nlink == 2);
    CHECK(a->mtime_ns == 4000);
    CHECK(f.fs.inode_count() == 5);
}

TEST_CASE("ramfs: rename over an existing name", "[shim][ramfs]")
{
    Fixture f;
    Inode *x = nullptr, *y = nullptr, *d = nullptr, *e = nullptr, *full = nullptr, *inner = nullptr;
    REQUIRE(touch(f.fs, f.root, "x", x) == 0);
    REQUIRE(touch(f.fs, f.root, "y", y) == 0);
    REQUIRE(mk(f.fs, f.root, "d", d) == 0);
    REQUIRE(mk(f.fs, f.root, "e", e) == 0);
    REQUIRE(mk(f.fs, f.root, "full", full) == 0);
    REQUIRE(touch(f.fs, full, "inner", inner) == 0);
    CHECK(f.fs.inode_count() == 7);
    CHECK(rename(f.fs, f.root, "x", f.root, "y") == 0); // y's inode goes
    CHECK(find(f.fs, f.root, "y") == x);
    CHECK(find(f.fs, f.root, "x") == nullptr);
    CHECK(f.fs.inode_count() == 6);
    CHECK(rename(f.fs, f.root, "y", f.root, "d") == -kEISDIR);
    CHECK(rename(f.fs, f.root, "d", f.root, "y") == -kENOTDIR);
    CHECK(rename(f.fs, f.root, "d", f.root, "full") == -kENOTEMPTY);
    CHECK(f.root->nlink == 5);
    CHECK(rename(f.fs, f.root, "d", f.root, "e") == 0); // the empty e goes
    CHECK(find(f.fs, f.root, "e") == d);
    CHECK(f.root->nlink == 4);
    CHECK(f.fs.inode_count() == 5);
    // A file over its own parent directory: Linux says ENOTEMPTY before EISDIR.
    CHECK(rename(f.fs, full, "inner", f.root, "full") == -kENOTEMPTY);
    CHECK(list(f.fs, f.root) == std::vector<Record>{{".", 1, kDT_DIR},
                                                    {"..", 1, kDT_DIR},
                                                    {"y", x->ino, kDT_REG}, // in y's place
                                                    {"e", d->ino, kDT_DIR},
                                                    {"full", full->ino, kDT_DIR}});
}

TEST_CASE("ramfs: rename refuses to move a directory into itself", "[shim][ramfs]")
{
    Fixture f;
    Inode *a = nullptr, *b = nullptr, *c = nullptr;
    REQUIRE(mk(f.fs, f.root, "a", a) == 0);
    REQUIRE(mk(f.fs, a, "b", b) == 0);
    REQUIRE(mk(f.fs, b, "c", c) == 0);
    CHECK(rename(f.fs, f.root, "a", b, "a2") == -kEINVAL);
    CHECK(rename(f.fs, f.root, "a", a, "a2") == -kEINVAL);
    CHECK(rename(f.fs, a, "b", c, "b") == -kEINVAL);
    CHECK(rename(f.fs, a, "b", a, "b") == 0); // itself: nothing happens
    CHECK(rename(f.fs, f.root, ".", f.root, "z") == -kEBUSY);
    CHECK(rename(f.fs, f.root, "a", f.root, "..") == -kEBUSY);
    CHECK(rename(f.fs, f.root, "nope", f.root, "z") == -kENOENT);
    CHECK(rename(f.fs, f.root, "", f.root, "z") == -kENOENT);
    CHECK(rename(f.fs, f.root, "a", f.root, std::string(256, 'z')) == -kENAMETOOLONG);
    CHECK(find(f.fs, b, "..") == a);
    CHECK(a->nlink == 3);
}

TEST_CASE("ramfs: rename of two links to one file does nothing", "[shim][ramfs]")
{
    Fixture f;
    Inode* file = nullptr;
    REQUIRE(touch(f.fs, f.root, "a", file) == 0);
    REQUIRE(f.fs.link(file, f.root, "b", 1) == 0);
    CHECK(rename(f.fs, f.root, "a", f.root, "b") == 0);
    CHECK(find(f.fs, f.root, "a") == file);
    CHECK(find(f.fs, f.root, "b") == file);
    CHECK(file->nlink == 2);
}

TEST_CASE("ramfs: readdir cursors survive entries coming and going", "[shim][ramfs]")
{
    Fixture f;
    Inode* out = nullptr;
    for (const char* name : {"a", "b", "c", "d"})
        REQUIRE(touch(f.fs, f.root, name, out) == 0);
    DirRecord record{};
    REQUIRE(f.fs.readdir(f.root, 2, record) == 1);
    CHECK(std::string(record.name, record.name_length) == "a");
    CHECK(record.next_cursor == 3);
    REQUIRE(f.fs.readdir(f.root, 3, record) == 1);
    CHECK(std::string(record.name, record.name_length) == "b");
    const uint64_t resume = record.next_cursor;
    CHECK(unlink(f.fs, f.root, "c") == 0); // the next one goes
    REQUIRE(touch(f.fs, f.root, "e", out) == 0);
    REQUIRE(f.fs.readdir(f.root, resume, record) == 1);
    CHECK(std::string(record.name, record.name_length) == "d");
    REQUIRE(f.fs.readdir(f.root, record.next_cursor, record) == 1);
    CHECK(std::string(record.name, record.name_length) == "e");
    CHECK(record.next_cursor == 7);
    CHECK(f.fs.readdir(f.root, 7, record) == 0);
    CHECK(f.fs.readdir(f.root, UINT64_MAX, record) == 0);
    CHECK(f.fs.readdir(out, 0, record) == -kENOTDIR);
}

TEST_CASE("ramfs: chmod keeps the type, set_times follows utimensat", "[shim][ramfs]")
{
    Fixture f;
    Inode* file = nullptr;
    REQUIRE(touch(f.fs, f.root, "f", file) == 0);
    f.clock.now = 2000;
    CHECK(f.fs.chmod(file, 0104755) == 0); // only the permission bits count
    CHECK(file->mode == (kS_IFREG | 04755));
    CHECK(file->ctime_ns == 2000);
    CHECK(file->mtime_ns == 1000);
    using Kind = TimeChange::Kind;
    f.clock.now = 3000;
    CHECK(f.fs.set_times(file, {Kind::set, 11}, {Kind::set, 22}) == 0);
    CHECK(file->atime_ns == 11);
    CHECK(file->mtime_ns == 22);
    CHECK(file->ctime_ns == 3000);
    f.clock.now = 4000;
    CHECK(f.fs.set_times(file, {Kind::omit, 0}, {Kind::now, 0}) == 0);
    CHECK(file->atime_ns == 11);
    CHECK(file->mtime_ns == 4000);
    CHECK(file->ctime_ns == 4000);
    f.clock.now = 5000;
    CHECK(f.fs.set_times(file, {Kind::omit, 0}, {Kind::omit, 0}) == 0);
    CHECK(file->ctime_ns == 4000);
}

TEST_CASE("ramfs: every failed allocation fails cleanly and changes nothing", "[shim][ramfs]")
{
    // Each operation is run with the first n allocations allowed, n = 0, 1, ... until it
    // succeeds; every failure must be ENOMEM and leave the tree and the memory as they were.
    struct Step {
        const char* what;
        int (*run)(Ramfs& fs, Inode* root);
    };
    const Step steps[] = {
        {"create",
         [](Ramfs& fs, Inode* root) {
             Inode* out;
             return touch(fs, root, "new", out);
         }},
        {"mkdir",
         [](Ramfs& fs, Inode* root) {
             Inode* out;
             return mk(fs, root, "newdir", out);
         }},
        {"symlink",
         [](Ramfs& fs, Inode* root) {
             Inode* out;
             return fs.symlink(root, "ln", 2, "target", 6, out);
         }},
        {"link", [](Ramfs& fs, Inode* root) { return fs.link(find(fs, root, "file"), root, "hard", 4); }},
        {"rename", [](Ramfs& fs, Inode* root) { return rename(fs, root, "file", find(fs, root, "dir"), "moved"); }},
        {"write",
         [](Ramfs& fs, Inode* root) {
             return static_cast<int>(write(fs, find(fs, find(fs, root, "dir"), "moved"), 100, "grow"));
         }},
        {"truncate",
         [](Ramfs& fs, Inode* root) { return fs.truncate(find(fs, find(fs, root, "dir"), "moved"), 5000); }},
    };
    Fixture f;
    Inode *file = nullptr, *dir = nullptr;
    REQUIRE(touch(f.fs, f.root, "file", file) == 0);
    REQUIRE(write(f.fs, file, 0, "abc") == 3);
    REQUIRE(mk(f.fs, f.root, "dir", dir) == 0);
    for (const Step& step : steps) {
        INFO(step.what);
        for (int64_t allowed = 0;; ++allowed) {
            const uint64_t blocks = f.allocator.live_blocks(), bytes = f.allocator.live_bytes();
            const auto before = list(f.fs, f.root), before_dir = list(f.fs, dir);
            const uint64_t file_size = file->size, nlink = file->nlink, count = f.fs.inode_count();
            f.allocator.fail_after(allowed);
            const int result = step.run(f.fs, f.root);
            f.allocator.fail_after(-1);
            if (result >= 0)
                break;
            REQUIRE(result == -kENOMEM);
            CHECK(f.allocator.live_blocks() == blocks);
            CHECK(f.allocator.live_bytes() == bytes);
            CHECK(list(f.fs, f.root) == before);
            CHECK(list(f.fs, dir) == before_dir);
            CHECK(file->size == file_size);
            CHECK(file->nlink == nlink);
            CHECK(f.fs.inode_count() == count);
            REQUIRE(allowed < 4);
        }
    }
    CHECK(contents(f.fs, file) == std::string("abc") + std::string(97, '\0') + "grow" + std::string(4896, '\0'));
    CHECK(find(f.fs, f.root, "hard") == file);
}

TEST_CASE("ramfs: the destructor gives back every byte", "[shim][ramfs]")
{
    CountingAllocator allocator;
    FakeClock clock;
    {
        Ramfs fs(allocator, clock);
        Inode *dir = nullptr, *file = nullptr, *link = nullptr;
        REQUIRE(mk(fs, fs.root(), "d", dir) == 0);
        REQUIRE(touch(fs, dir, "f", file) == 0);
        REQUIRE(write(fs, file, 0, std::string(10000, 'x')) == 10000);
        REQUIRE(fs.symlink(dir, "l", 1, "f", 1, link) == 0);
        fs.hold(file);
        REQUIRE(unlink(fs, dir, "f") == 0);
        CHECK(allocator.live_blocks() == 8); // 4 inodes, 2 entries, file and link bytes
    }
    CHECK(allocator.live_blocks() == 0);
    CHECK(allocator.live_bytes() == 0);
}
