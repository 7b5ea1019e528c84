// getdents64 records (pv-linux-shim/dirents.hpp): the host's struct dirent64 layout, record
// lengths, buffers too small, and resuming where a full buffer stopped.
#include <catch2/catch.hpp>

#include <cstddef>
#include <cstring>
#include <dirent.h>
#include <string>
#include <vector>

#include "dirents.hpp"
#include "linux_abi.hpp"
#include "ramfs.hpp"
#include "shim_fakes.hpp"

using namespace linux_abi;
using shim::Inode;

namespace {

struct Record {
    uint64_t ino;
    int64_t off;
    uint16_t reclen;
    uint8_t type;
    std::string name;
    bool operator==(const Record& o) const
    {
        return ino == o.ino && off == o.off && reclen == o.reclen && type == o.type && name == o.name;
    }
};

// Reads the records back the way a libc's readdir does, checking each one's padding.
std::vector<Record> unpack(const uint8_t* buffer, size_t size)
{
    std::vector<Record> out;
    for (size_t at = 0; at < size;) {
        Record r{};
        std::memcpy(&r.ino, buffer + at, 8);
        std::memcpy(&r.off, buffer + at + 8, 8);
        std::memcpy(&r.reclen, buffer + at + 16, 2);
        r.type = buffer[at + 18];
        r.name = reinterpret_cast<const char*>(buffer + at + 19);
        REQUIRE(r.reclen % 8 == 0);
        REQUIRE(at + r.reclen <= size);
        for (size_t i = at + 19 + r.name.size(); i < at + r.reclen; ++i)
            CHECK(buffer[i] == 0);
        out.push_back(r);
        at += r.reclen;
    }
    return out;
}

struct Fixture : shim_test::TestFs {
    Inode *file = nullptr, *dir = nullptr;
    const std::string long_name = std::string(255, 'L');
    Fixture()
    {
        REQUIRE(fs.create(root, "abcde", 5, 0644, file) == 0);
        REQUIRE(fs.mkdir(root, "d", 1, 0755, dir) == 0);
        Inode* out = nullptr;
        REQUIRE(fs.create(root, long_name.data(), long_name.size(), 0644, out) == 0);
    }
};

} // namespace

TEST_CASE("dirents: the record layout is the host's struct dirent64", "[shim][dirents]")
{
    CHECK(offsetof(struct dirent64, d_ino) == 0);
    CHECK(offsetof(struct dirent64, d_off) == 8);
    CHECK(offsetof(struct dirent64, d_reclen) == 16);
    CHECK(offsetof(struct dirent64, d_type) == 18);
    CHECK(offsetof(struct dirent64, d_name) == shim::kDirentNameOffset);
    CHECK(shim::dirent_size(1) == 24);
    CHECK(shim::dirent_size(4) == 24);
    CHECK(shim::dirent_size(5) == 32);
    CHECK(shim::dirent_size(255) == 280);
}

TEST_CASE("dirents: a whole directory in one buffer", "[shim][dirents]")
{
    Fixture f;
    std::vector<uint8_t> buffer(1024, 0xee);
    uint64_t cursor = 0;
    const int64_t used = shim::pack_dirents(f.fs, f.root, cursor, buffer.data(), buffer.size());
    REQUIRE(used == 24 + 24 + 32 + 24 + 280);
    CHECK(cursor == 5);
    CHECK(unpack(buffer.data(), static_cast<size_t>(used)) ==
          std::vector<Record>{{1, 1, 24, kDT_DIR, "."},
                              {1, 2, 24, kDT_DIR, ".."},
                              {f.file->ino, 3, 32, kDT_REG, "abcde"},
                              {f.dir->ino, 4, 24, kDT_DIR, "d"},
                              {4, 5, 280, kDT_REG, f.long_name}});
    CHECK(buffer[static_cast<size_t>(used)] == 0xee);
    CHECK(shim::pack_dirents(f.fs, f.root, cursor, buffer.data(), buffer.size()) == 0);
    CHECK(cursor == 5);
}

TEST_CASE("dirents: small buffers stop between records and resume there", "[shim][dirents]")
{
    Fixture f;
    std::vector<uint8_t> buffer(300);
    uint64_t cursor = 0;
    CHECK(shim::pack_dirents(f.fs, f.root, cursor, buffer.data(), 23) == -kEINVAL);
    CHECK(cursor == 0);
    CHECK(shim::pack_dirents(f.fs, f.root, cursor, buffer.data(), 24) == 24);
    CHECK(cursor == 1);
    CHECK(shim::pack_dirents(f.fs, f.root, cursor, buffer.data(), 55) == 24); // ".." and not "abcde"
    CHECK(cursor == 2);
    CHECK(shim::pack_dirents(f.fs, f.root, cursor, buffer.data(), 279) == 56);
    CHECK(unpack(buffer.data(), 56) ==
          std::vector<Record>{{f.file->ino, 3, 32, kDT_REG, "abcde"}, {f.dir->ino, 4, 24, kDT_DIR, "d"}});
    CHECK(shim::pack_dirents(f.fs, f.root, cursor, buffer.data(), 279) == -kEINVAL);
    CHECK(shim::pack_dirents(f.fs, f.root, cursor, buffer.data(), 280) == 280);
    CHECK(shim::pack_dirents(f.fs, f.root, cursor, buffer.data(), 280) == 0);
}

TEST_CASE("dirents: a non-directory is ENOTDIR", "[shim][dirents]")
{
    Fixture f;
    uint8_t buffer[64];
    uint64_t cursor = 0;
    CHECK(shim::pack_dirents(f.fs, f.file, cursor, buffer, sizeof buffer) == -kENOTDIR);
    CHECK(shim::pack_dirents(f.fs, f.dir, cursor, buffer, sizeof buffer) == 48);
    CHECK(unpack(buffer, 48) == std::vector<Record>{{f.dir->ino, 1, 24, kDT_DIR, "."}, {1, 2, 24, kDT_DIR, ".."}});
}
