// Ramfs::load (pv-linux-shim/ramfs_load.cpp): an initramfs into the file system, implicit
// directories, hard links, replacement, copy-on-write of archive bytes, and malformed archives.
#include <catch2/catch.hpp>

#include <string>

#include "linux_abi.hpp"
#include "ramfs.hpp"
#include "shim_fakes.hpp"

using namespace linux_abi;
using shim::Inode;
using shim::Ramfs;
using shim_test::CountingAllocator;
using shim_test::CpioMember;
using shim_test::CpioWriter;
using shim_test::FakeClock;

namespace {

Inode* walk(Ramfs& fs, const std::string& path)
{
    Inode* at = fs.root();
    size_t start = 0;
    while (start < path.size()) {
        size_t end = path.find('/', start);
        if (end == std::string::npos)
            end = path.size();
        Inode* next = nullptr;
        if (fs.lookup(at, path.data() + start, end - start, next) != 0)
            return nullptr;
        at = next;
        start = end + 1;
    }
    return at;
}

std::string contents(Ramfs& fs, Inode* file)
{
    std::string out(file->size, '?');
    REQUIRE(fs.read(file, 0, out.data(), out.size()) == static_cast<int64_t>(file->size));
    return out;
}

using Fixture = shim_test::TestFs;

} // namespace

TEST_CASE("ramfs load: files, directories, symlinks and devices with their attributes", "[shim][ramfs]")
{
    const std::string archive = CpioWriter()
                                    .add({".", "", 040700, 0, 0, 0, 1, 1600000000})
                                    .add({"bin", "", 040755, 0, 0, 0, 2, 1600000001})
                                    .add({"bin/busybox", "ELF!", 0100755, 0, 1000, 100, 1, 1600000002})
                                    .add({"bin/sh", "busybox", 0120777, 0, 0, 0, 1, 1600000003})
                                    .add({"dev", "", 040755})
                                    .add({"dev/console", "", 020600, 0, 0, 5, 1, 0, 5, 1})
                                    .finish();
    Fixture f;
    REQUIRE(f.fs.load(archive.data(), archive.size()) == 0);
    Inode* root = f.fs.root();
    CHECK(root->mode == (kS_IFDIR | 0700));
    CHECK(root->mtime_ns == 1600000000000000000);
    Inode* busybox = walk(f.fs, "bin/busybox");
    REQUIRE(busybox != nullptr);
    CHECK(busybox->mode == (kS_IFREG | 0755));
    CHECK(busybox->uid == 1000);
    CHECK(busybox->gid == 100);
    CHECK(busybox->nlink == 1);
    CHECK(busybox->size == 4);
    CHECK(busybox->mtime_ns == 1600000002000000000);
    CHECK(busybox->atime_ns == 1600000002000000000);
    CHECK(busybox->ctime_ns == 1600000002000000000);
    CHECK(busybox->data == reinterpret_cast<const uint8_t*>(archive.data()) + archive.find("ELF!"));
    CHECK(contents(f.fs, busybox) == "ELF!");
    Inode* sh = walk(f.fs, "bin/sh");
    REQUIRE(sh != nullptr);
    char target[16] = {};
    CHECK(f.fs.readlink(sh, target, sizeof target) == 7);
    CHECK(std::string(target) == "busybox");
    Inode* console = walk(f.fs, "dev/console");
    REQUIRE(console != nullptr);
    CHECK(console->mode == (kS_IFCHR | 0600));
    CHECK(console->rdev_major == 5);
    CHECK(console->rdev_minor == 1);
    CHECK(walk(f.fs, "bin")->nlink == 2);
    CHECK(root->nlink == 4);
    CHECK(f.fs.inode_count() == 6);
}

TEST_CASE("ramfs load: missing directories are made, leading / and ./ dropped", "[shim][ramfs]")
{
    const std::string archive = CpioWriter()
                                    .add({"./usr/share/misc/magic", "m", 0100644, 0, 0, 0, 1, 77})
                                    .add({"/etc/passwd", "root:x:0:0::/root:/bin/sh\n"})
                                    .add({"usr/share", "", 040711, 0, 5, 6, 1, 88}) // after its child
                                    .add({"a//b/./c/", "", 040755})
                                    .finish();
    Fixture f;
    REQUIRE(f.fs.load(archive.data(), archive.size()) == 0);
    Inode* usr = walk(f.fs, "usr");
    REQUIRE(usr != nullptr);
    CHECK(usr->mode == (kS_IFDIR | 0755));
    CHECK(usr->uid == 0);
    CHECK(usr->mtime_ns == 77000000000);
    Inode* share = walk(f.fs, "usr/share");
    REQUIRE(share != nullptr);
    CHECK(share->mode == (kS_IFDIR | 0711)); // the explicit entry updated the implicit one
    CHECK(share->uid == 5);
    CHECK(share->gid == 6);
    CHECK(share->mtime_ns == 88000000000);
    CHECK(share->nlink == 3);
    CHECK(contents(f.fs, walk(f.fs, "usr/share/misc/magic")) == "m");
    CHECK(contents(f.fs, walk(f.fs, "etc/passwd")) == "root:x:0:0::/root:/bin/sh\n");
    REQUIRE(walk(f.fs, "a/b/c") != nullptr);
    CHECK(walk(f.fs, "a/b/c")->is_directory());
    CHECK(f.fs.inode_count() == 10);
}

TEST_CASE("ramfs load: members with one inode number and nlink > 1 are hard links", "[shim][ramfs]")
{
    // GNU cpio writes a link set's data with its last member only.
    const std::string archive = CpioWriter()
                                    .add({"bin/ls", "", 0100755, 42, 0, 0, 3})
                                    .add({"bin/cat", "", 0100755, 42, 0, 0, 3})
                                    .add({"bin/echo", "shared", 0100755, 42, 0, 0, 3})
                                    .add({"bin/other", "own", 0100755, 43, 0, 0, 1})
                                    .add({"bin/same-ino", "x", 0100755, 43, 0, 0, 1}) // nlink 1: no link
                                    .finish();
    Fixture f;
    REQUIRE(f.fs.load(archive.data(), archive.size()) == 0);
    Inode* ls = walk(f.fs, "bin/ls");
    REQUIRE(ls != nullptr);
    CHECK(walk(f.fs, "bin/cat") == ls);
    CHECK(walk(f.fs, "bin/echo") == ls);
    CHECK(ls->nlink == 3);
    CHECK(contents(f.fs, ls) == "shared");
    CHECK(walk(f.fs, "bin/other") != walk(f.fs, "bin/same-ino"));
    CHECK(f.fs.inode_count() == 5);
}

TEST_CASE("ramfs load: a later member replaces an earlier one of the same path", "[shim][ramfs]")
{
    const std::string archive = CpioWriter()
                                    .file("x", "first")
                                    .file("x", "second")
                                    .dir("empty")
                                    .file("empty", "now a file")
                                    .symlink("s", "x")
                                    .dir("s")
                                    .finish();
    Fixture f;
    REQUIRE(f.fs.load(archive.data(), archive.size()) == 0);
    CHECK(contents(f.fs, walk(f.fs, "x")) == "second");
    CHECK(walk(f.fs, "x")->nlink == 1);
    CHECK(contents(f.fs, walk(f.fs, "empty")) == "now a file");
    CHECK(walk(f.fs, "s")->is_directory());
    CHECK(f.fs.root()->nlink == 3);
    CHECK(f.fs.inode_count() == 4);
}

TEST_CASE("ramfs load: archive bytes are copied on the first write only", "[shim][ramfs]")
{
    const std::string archive = CpioWriter().file("f", "archive bytes").finish();
    const std::string pristine = archive;
    Fixture f;
    REQUIRE(f.fs.load(archive.data(), archive.size()) == 0);
    Inode* file = walk(f.fs, "f");
    REQUIRE(file != nullptr);
    CHECK(file->storage == nullptr);
    CHECK(f.fs.truncate(file, 7) == 0); // shorter: still the archive's
    CHECK(file->storage == nullptr);
    CHECK(contents(f.fs, file) == "archive");
    CHECK(f.fs.write(file, 0, "A", 1) == 1);
    CHECK(file->storage != nullptr);
    CHECK(file->data == file->storage);
    CHECK(contents(f.fs, file) == "Archive");
    CHECK(archive == pristine);
}

TEST_CASE("ramfs load: malformed archives and entries", "[shim][ramfs]")
{
    Fixture f;
    SECTION("a damaged archive changes nothing")
    {
        std::string archive = CpioWriter().file("a", "1").file("b", "2").finish();
        archive[archive.find("070701", 10)] = 'X';
        CHECK(f.fs.load(archive.data(), archive.size()) == -kEINVAL);
        CHECK(f.fs.inode_count() == 1);
        const std::string untrailed = CpioWriter().file("a", "1").finish().substr(0, 116);
        CHECK(f.fs.load(untrailed.data(), untrailed.size()) == -kEINVAL);
        CHECK(f.fs.load(nullptr, 0) == -kEINVAL);
        CHECK(f.fs.inode_count() == 1);
    }
    SECTION("a .. component")
    {
        const std::string archive = CpioWriter().file("ok", "").file("a/../b", "x").finish();
        CHECK(f.fs.load(archive.data(), archive.size()) == -kEINVAL);
        CHECK(walk(f.fs, "ok") != nullptr); // entries before the bad one stay
    }
    SECTION("a name component over 255 bytes")
    {
        const std::string archive = CpioWriter().file(std::string(256, 'n') + "/x", "").finish();
        CHECK(f.fs.load(archive.data(), archive.size()) == -kENAMETOOLONG);
        const std::string last = CpioWriter().file("d/" + std::string(256, 'n'), "").finish();
        CHECK(f.fs.load(last.data(), last.size()) == -kENAMETOOLONG);
    }
    SECTION("an empty symlink, a typeless entry, a file as the root")
    {
        const std::string empty_link = CpioWriter().symlink("l", "").finish();
        CHECK(f.fs.load(empty_link.data(), empty_link.size()) == -kEINVAL);
        const std::string typeless = CpioWriter().add({"t", "", 0644}).finish();
        CHECK(f.fs.load(typeless.data(), typeless.size()) == -kEINVAL);
        const std::string root_file = CpioWriter().file(".", "x").finish();
        CHECK(f.fs.load(root_file.data(), root_file.size()) == -kEINVAL);
        CHECK(f.fs.inode_count() == 1);
    }
    SECTION("a path through a file, a file over a full directory")
    {
        const std::string through = CpioWriter().file("f", "").file("f/x", "").finish();
        CHECK(f.fs.load(through.data(), through.size()) == -kENOTDIR);
        const std::string over = CpioWriter().file("d/x", "").file("d", "").finish();
        CHECK(f.fs.load(over.data(), over.size()) == -kENOTEMPTY);
        CHECK(walk(f.fs, "d/x") != nullptr);
    }
}

TEST_CASE("ramfs load: no memory gives ENOMEM and a consistent tree", "[shim][ramfs]")
{
    const std::string archive = CpioWriter()
                                    .file("bin/a", "1")
                                    .add({"bin/b", "", 0100755, 9, 0, 0, 2})
                                    .add({"bin/c", "2", 0100755, 9, 0, 0, 2})
                                    .file("bin/a", "3")
                                    .finish();
    for (int64_t allowed = 0;; ++allowed) {
        INFO(allowed);
        CountingAllocator allocator;
        FakeClock clock;
        {
            Ramfs fs(allocator, clock);
            allocator.fail_after(allowed);
            const int result = fs.load(archive.data(), archive.size());
            allocator.fail_after(-1);
            if (result == 0) {
                CHECK(contents(fs, walk(fs, "bin/a")) == "3");
                CHECK(walk(fs, "bin/b") == walk(fs, "bin/c"));
                CHECK(walk(fs, "bin/b")->nlink == 2);
                CHECK(fs.inode_count() == 4);
                CHECK(allowed == 8); // bin, a and b (inode and entry each), c's entry, the second a's inode
                break;
            }
            CHECK(result == -kENOMEM);
            CHECK(fs.root()->nlink == (walk(fs, "bin") != nullptr ? 3u : 2u));
        }
        CHECK(allocator.live_blocks() == 0);
        REQUIRE(allowed < 10);
    }
}
