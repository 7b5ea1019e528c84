// Path resolution (pv-linux-shim/path.hpp) over a ramfs made from a small initramfs: ".", "..",
// slashes, symlinks (relative, absolute, looping, dangling, chains at the limit of 40),
// ENAMETOOLONG, chroot, and the parent mode of create and rename.
#include <catch2/catch.hpp>

#include <string>

#include "linux_abi.hpp"
#include "path.hpp"
#include "ramfs.hpp"
#include "shim_fakes.hpp"

using namespace linux_abi;
using shim::Follow;
using shim::Inode;
using shim::ParentResult;
using shim::PathContext;
using shim::Ramfs;
using shim_test::CountingAllocator;
using shim_test::CpioWriter;
using shim_test::FakeClock;

namespace {

std::string make_archive()
{
    CpioWriter writer;
    writer.file("bin/busybox", "bb", 0100755)
        .symlink("bin/sh", "busybox")
        .symlink("usr/bin/env", "../../bin/busybox")
        .symlink("abs", "/bin")
        .symlink("loop", "loop")
        .symlink("a", "b")
        .symlink("b", "a")
        .symlink("dangling", "nowhere")
        .file("file", "f")
        .symlink("filelink", "file")
        .symlink("dirslash", "bin/")
        .symlink("fileslash", "file/")
        .dir("home/user")
        .symlink("home/up", "/user");
    // L0 -> L1 -> ... -> L40 -> file: 41 links from L0, 40 from L1.
    for (int i = 0; i < 40; ++i)
        writer.symlink("L" + std::to_string(i), "L" + std::to_string(i + 1));
    writer.symlink("L40", "file");
    return writer.finish();
}

struct Fixture {
    std::string archive = make_archive();
    CountingAllocator allocator;
    FakeClock clock;
    Ramfs fs{allocator, clock};
    Fixture() { REQUIRE(fs.load(archive.data(), archive.size()) == 0); }

    // The inode, found without path.cpp.
    Inode* at(std::initializer_list<const char*> names)
    {
        Inode* inode = fs.root();
        for (const char* name : names)
            REQUIRE(fs.lookup(inode, name, std::char_traits<char>::length(name), inode) == 0);
        return inode;
    }

    int resolve(const std::string& path, Inode*& out, Follow follow = Follow::yes, Inode* cwd = nullptr,
                Inode* root = nullptr)
    {
        PathContext context{fs, root != nullptr ? root : fs.root(), cwd != nullptr ? cwd : fs.root()};
        out = nullptr;
        return shim::resolve(context, path.data(), path.size(), follow, out);
    }

    // The inode, or nullptr on any error.
    Inode* get(const std::string& path, Follow follow = Follow::yes, Inode* cwd = nullptr, Inode* root = nullptr)
    {
        Inode* out = nullptr;
        return resolve(path, out, follow, cwd, root) == 0 ? out : nullptr;
    }
    int error(const std::string& path, Follow follow = Follow::yes, Inode* cwd = nullptr)
    {
        Inode* out = nullptr;
        return resolve(path, out, follow, cwd);
    }
};

} // namespace

TEST_CASE("path: absolute and relative paths, dots and slashes", "[shim][path]")
{
    Fixture f;
    Inode* root = f.fs.root();
    Inode* bin = f.at({"bin"});
    Inode* busybox = f.at({"bin", "busybox"});
    Inode* home = f.at({"home"});
    Inode* user = f.at({"home", "user"});
    CHECK(f.get("/") == root);
    CHECK(f.get("///") == root);
    CHECK(f.get("/bin/busybox") == busybox);
    CHECK(f.get("bin/busybox") == busybox);
    CHECK(f.get("bin//busybox") == busybox);
    CHECK(f.get("/bin/./busybox") == busybox);
    CHECK(f.get("/bin/") == bin);
    CHECK(f.get("/bin/.") == bin);
    CHECK(f.get(".", Follow::yes, user) == user);
    CHECK(f.get("..", Follow::yes, user) == home);
    CHECK(f.get("../../bin/busybox", Follow::yes, user) == busybox);
    CHECK(f.get("/home/user/../../bin/../bin/busybox") == busybox);
    CHECK(f.get("/..") == root);
    CHECK(f.get("/../../bin") == bin);
    CHECK(f.get("../../../..", Follow::yes, user) == root);
    CHECK(f.get("/home/user/") == user);
    CHECK(f.get("/home/user//") == user);
}

TEST_CASE("path: missing components, files in the middle, trailing slashes", "[shim][path]")
{
    Fixture f;
    CHECK(f.error("") == -kENOENT);
    CHECK(f.error("/nope") == -kENOENT);
    CHECK(f.error("/nope/x") == -kENOENT);
    CHECK(f.error("nope/") == -kENOENT);
    CHECK(f.error("/bin/busybox/") == -kENOTDIR);
    CHECK(f.error("/bin/busybox/.") == -kENOTDIR);
    CHECK(f.error("/bin/busybox/..") == -kENOTDIR);
    CHECK(f.error("/bin/busybox/x") == -kENOTDIR);
    CHECK(f.error("/file//") == -kENOTDIR);
    CHECK(f.error("/file/", Follow::no) == -kENOTDIR);
}

TEST_CASE("path: symlinks, followed or not", "[shim][path]")
{
    Fixture f;
    Inode* bin = f.at({"bin"});
    Inode* busybox = f.at({"bin", "busybox"});
    Inode* file = f.at({"file"});
    CHECK(f.get("/bin/sh") == busybox);
    CHECK(f.get("/bin/sh", Follow::no) == f.at({"bin", "sh"}));
    CHECK(f.get("/usr/bin/env") == busybox); // relative to the link's directory
    CHECK(f.get("/abs/busybox") == busybox);
    CHECK(f.get("/abs/sh", Follow::no) == f.at({"bin", "sh"}));
    CHECK(f.get("/abs", Follow::no) == f.at({"abs"}));
    CHECK(f.get("/abs/", Follow::no) == bin); // a trailing slash follows even for lstat
    CHECK(f.get("/abs/..") == f.fs.root());   // ".." of where the link led
    CHECK(f.get("/dirslash") == bin);
    CHECK(f.get("/dirslash", Follow::no) == f.at({"dirslash"}));
    CHECK(f.get("/filelink") == file);
    CHECK(f.error("/filelink/") == -kENOTDIR);
    CHECK(f.error("/fileslash") == -kENOTDIR); // the target's own trailing slash
    CHECK(f.get("/fileslash", Follow::no) == f.at({"fileslash"}));
    CHECK(f.error("/dangling") == -kENOENT);
    CHECK(f.error("/dangling/") == -kENOENT);
    CHECK(f.get("/dangling", Follow::no) == f.at({"dangling"}));
}

TEST_CASE("path: loops and the limit of 40 symlinks", "[shim][path]")
{
    Fixture f;
    Inode* file = f.at({"file"});
    CHECK(f.error("/loop") == -kELOOP);
    CHECK(f.error("/loop/x") == -kELOOP);
    CHECK(f.error("/loop/", Follow::no) == -kELOOP);
    CHECK(f.get("/loop", Follow::no) == f.at({"loop"}));
    CHECK(f.error("/a") == -kELOOP);
    CHECK(f.get("/L1") == file);      // 40 links
    CHECK(f.error("/L0") == -kELOOP); // 41
    CHECK(f.error("/L0/x") == -kELOOP);
    CHECK(f.get("/L0", Follow::no) == f.at({"L0"}));
    CHECK(f.get("L39") == file);
}

TEST_CASE("path: ENAMETOOLONG for long components and paths", "[shim][path]")
{
    Fixture f;
    const std::string name255(255, 'n'), name256(256, 'n');
    CHECK(f.error("/" + name255) == -kENOENT);
    CHECK(f.error("/" + name256) == -kENAMETOOLONG);
    CHECK(f.error("/bin/" + name256 + "/x") == -kENAMETOOLONG);
    CHECK(f.error("/nope/" + name256) == -kENOENT);                // the walk stops first
    CHECK(f.get(std::string(4092, '/') + "bin") == f.at({"bin"})); // 4095 bytes
    CHECK(f.error(std::string(4093, '/') + "bin") == -kENAMETOOLONG);
}

TEST_CASE("path: a chroot's root is the top for .. and absolute links", "[shim][path]")
{
    Fixture f;
    Inode* home = f.at({"home"});
    Inode* user = f.at({"home", "user"});
    CHECK(f.get("/..", Follow::yes, home, home) == home);
    CHECK(f.get("/../user", Follow::yes, home, home) == user);
    CHECK(f.get("../..", Follow::yes, user, home) == home);
    CHECK(f.get("/up", Follow::yes, home, home) == user); // "/user" inside the chroot
    CHECK(f.get("/home/up") == nullptr);                  // "/user" outside it does not exist
}

TEST_CASE("path: parent mode gives the directory and the last name", "[shim][path]")
{
    Fixture f;
    Inode* root = f.fs.root();
    Inode* bin = f.at({"bin"});
    Inode* user = f.at({"home", "user"});
    std::string held; // the result points into it until the next call
    auto parent = [&](const std::string& path, ParentResult& out, Inode* cwd = nullptr) {
        PathContext context{f.fs, root, cwd != nullptr ? cwd : root};
        held = path;
        out = {};
        return shim::resolve_parent(context, held.data(), held.size(), out);
    };
    ParentResult r{};
    REQUIRE(parent("/bin/newfile", r) == 0);
    CHECK(r.dir == bin);
    CHECK(r.name == held.data() + 5);
    CHECK(std::string(r.name, r.name_length) == "newfile");
    CHECK(r.last == ParentResult::Last::normal);
    CHECK_FALSE(r.trailing_slash);
    REQUIRE(parent("newdir//", r, user) == 0);
    CHECK(r.dir == user);
    CHECK(std::string(r.name, r.name_length) == "newdir");
    CHECK(r.trailing_slash);
    REQUIRE(parent("/bin/sh", r) == 0); // the last is never followed
    CHECK(r.dir == bin);
    CHECK(std::string(r.name, r.name_length) == "sh");
    REQUIRE(parent("/abs/x", r) == 0); // the ones before it are
    CHECK(r.dir == bin);
    CHECK(std::string(r.name, r.name_length) == "x");
    REQUIRE(parent("/loop", r) == 0);
    CHECK(r.dir == root);
    REQUIRE(parent("//", r) == 0);
    CHECK(r.dir == root);
    CHECK(r.name_length == 0);
    CHECK(r.last == ParentResult::Last::root);
    REQUIRE(parent("/bin/.", r) == 0);
    CHECK(r.dir == bin);
    CHECK(r.last == ParentResult::Last::dot);
    REQUIRE(parent("/bin/../", r) == 0);
    CHECK(r.dir == bin);
    CHECK(r.last == ParentResult::Last::dotdot);
    CHECK(r.trailing_slash);
    CHECK(parent("", r) == -kENOENT);
    CHECK(parent("/nope/x", r) == -kENOENT);
    CHECK(parent("/file/x", r) == -kENOTDIR);
    CHECK(parent("/loop/x", r) == -kELOOP);
    CHECK(parent("/bin/" + std::string(256, 'n'), r) == -kENAMETOOLONG);
    CHECK(parent(std::string(4096, '/'), r) == -kENAMETOOLONG);
}

TEST_CASE("path: parent mode and the ramfs make and rename files", "[shim][path]")
{
    Fixture f;
    PathContext context{f.fs, f.fs.root(), f.fs.root()};
    ParentResult r{};
    const std::string made = "/abs/made";
    REQUIRE(shim::resolve_parent(context, made.data(), made.size(), r) == 0);
    Inode* file = nullptr;
    REQUIRE(f.fs.create(r.dir, r.name, r.name_length, 0644, file) == 0);
    CHECK(f.get("/bin/made") == file);
    ParentResult to{};
    const std::string target = "/home/user/renamed";
    REQUIRE(shim::resolve_parent(context, target.data(), target.size(), to) == 0);
    CHECK(f.fs.rename(r.dir, r.name, r.name_length, to.dir, to.name, to.name_length) == 0);
    CHECK(f.get("/home/user/renamed") == file);
    CHECK(f.error("/bin/made") == -kENOENT);
}
