// The ramfs under random operations and random allocation failures: after every step the tree
// must keep its invariants (link counts, ".." pointers, one name per directory, no leaked or
// unreachable inode, readdir positions in order), and at the end every byte comes back.
#include <catch2/catch.hpp>

#include <map>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "linux_abi.hpp"
#include "ramfs.hpp"
#include "shim_fakes.hpp"

using shim::DirEntry;
using shim::Inode;
using shim::Ramfs;

namespace {

struct Census {
    std::map<const Inode*, uint32_t> names; // entries naming each inode
    std::vector<Inode*> dirs;
    std::vector<Inode*> files;
};

void visit(Inode* dir, Census& census)
{
    census.dirs.push_back(dir);
    uint32_t subdirs = 0;
    uint64_t last_position = 1;
    std::set<std::string> seen;
    for (DirEntry* entry = dir->entries; entry != nullptr; entry = entry->next) {
        REQUIRE(entry->position > last_position);
        last_position = entry->position;
        REQUIRE(seen.insert(std::string(entry->name, entry->name_length)).second);
        REQUIRE(entry->name[entry->name_length] == '\0');
        Inode* inode = entry->inode;
        if (inode->is_directory()) {
            REQUIRE(census.names.count(inode) == 0); // a directory has one name: no cycles
            REQUIRE(inode->parent == dir);
            ++subdirs;
            census.names[inode] = 1;
            visit(inode, census);
        } else {
            if (census.names[inode]++ == 0)
                census.files.push_back(inode);
        }
    }
    if (dir->last_entry != nullptr)
        REQUIRE(dir->last_entry->next == nullptr);
    REQUIRE(dir->nlink == 2 + subdirs);
}

Census check(Ramfs& fs)
{
    Census census;
    census.names[fs.root()] = 1;
    REQUIRE(fs.root()->parent == fs.root());
    visit(fs.root(), census);
    for (Inode* file : census.files)
        REQUIRE(file->nlink == census.names[file]);
    REQUIRE(census.names.size() == fs.inode_count());
    return census;
}

} // namespace

TEST_CASE("ramfs fuzz: random operations keep every invariant", "[shim][ramfs]")
{
    std::mt19937_64 random(12);
    const char* names[] = {"a", "b", "c", "dd", "e"};
    for (int round = 0; round < 20; ++round) {
        shim_test::CountingAllocator allocator;
        shim_test::FakeClock clock;
        {
            Ramfs fs(allocator, clock);
            std::map<int, int> results;
            for (int step = 0; step < 400; ++step) {
                Census census = check(fs);
                auto pick_dir = [&] { return census.dirs[random() % census.dirs.size()]; };
                const char* name = names[random() % 5];
                const char* other = names[random() % 5];
                const size_t length = std::char_traits<char>::length(name);
                const size_t other_length = std::char_traits<char>::length(other);
                Inode* dir = pick_dir();
                Inode* out = nullptr;
                allocator.fail_after(random() % 8 == 0 ? static_cast<int64_t>(random() % 2) : -1);
                int result = 0;
                switch (random() % 10) {
                case 0: result = fs.create(dir, name, length, 0644, out); break;
                case 1:
                case 2: result = fs.mkdir(dir, name, length, 0755, out); break;
                case 3: result = fs.unlink(dir, name, length); break;
                case 4: result = fs.rmdir(dir, name, length); break;
                case 5:
                case 6: result = fs.rename(dir, name, length, pick_dir(), other, other_length); break;
                case 7:
                    if (!census.files.empty())
                        result = fs.link(census.files[random() % census.files.size()], dir, name, length);
                    break;
                case 8: result = fs.symlink(dir, name, length, other, other_length, out); break;
                default:
                    if (!census.files.empty()) {
                        Inode* file = census.files[random() % census.files.size()];
                        const std::string text(random() % 100, 'x');
                        result = random() % 2
                                     ? static_cast<int>(fs.write(file, random() % 200, text.data(), text.size()))
                                     : fs.truncate(file, random() % 300);
                    }
                }
                allocator.fail_after(-1);
                ++results[result < 0 ? result : 0];
            }
            check(fs);
            // The operations did happen, and failed in the ways Linux has.
            CHECK(results[0] > 100);
            for (const auto& [result, count] : results)
                CHECK((result == 0 || result == -linux_abi::kENOMEM || result == -linux_abi::kEEXIST ||
                       result == -linux_abi::kENOENT || result == -linux_abi::kENOTDIR ||
                       result == -linux_abi::kEISDIR || result == -linux_abi::kENOTEMPTY ||
                       result == -linux_abi::kEINVAL || result == -linux_abi::kEPERM || result == -linux_abi::kEBUSY));
        }
        CHECK(allocator.live_blocks() == 0);
        CHECK(allocator.live_bytes() == 0);
    }
}
