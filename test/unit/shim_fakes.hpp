// Test stand-ins for the shim's allocator and clock, and a cpio newc archive writer.
#pragma once

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "allocator.hpp"
#include "ramfs.hpp"

namespace shim_test {

// malloc, counted to the byte, and made to fail from the Nth allocation on when asked.
class CountingAllocator final : public shim::Allocator {
public:
    void* allocate(size_t size) override
    {
        if (fail_after_ >= 0 && allocations_ >= static_cast<uint64_t>(fail_after_))
            return nullptr;
        ++allocations_;
        ++live_blocks_;
        live_bytes_ += size;
        return std::malloc(size);
    }
    void free(void* memory, size_t size) override
    {
        --live_blocks_;
        live_bytes_ -= size;
        std::free(memory);
    }
    // -1: never fail; n: the allocations after the next n fail.
    void fail_after(int64_t n) { fail_after_ = n < 0 ? -1 : static_cast<int64_t>(allocations_) + n; }
    uint64_t live_blocks() const { return live_blocks_; }
    uint64_t live_bytes() const { return live_bytes_; }

private:
    int64_t fail_after_ = -1;
    uint64_t allocations_ = 0, live_blocks_ = 0, live_bytes_ = 0;
};

class FakeClock final : public shim::Clock {
public:
    int64_t now_ns() override { return now; }
    int64_t now = 1000;
};

// A fresh file system over the two fakes.
struct TestFs {
    CountingAllocator allocator;
    FakeClock clock;
    shim::Ramfs fs{allocator, clock};
    shim::Inode* root = fs.root();
};

// One newc member.
struct CpioMember {
    std::string name;
    std::string data;
    uint32_t mode = 0100644;
    uint32_t ino = 0; // 0: a fresh number
    uint32_t uid = 0, gid = 0, nlink = 1, mtime = 0;
    uint32_t rdev_major = 0, rdev_minor = 0;
};

class CpioWriter {
public:
    CpioWriter& add(const CpioMember& m)
    {
        const uint32_t ino = m.ino != 0 ? m.ino : next_ino_++;
        out_ += "070701";
        for (uint64_t field :
             {uint64_t{ino}, uint64_t{m.mode}, uint64_t{m.uid}, uint64_t{m.gid}, uint64_t{m.nlink}, uint64_t{m.mtime},
              uint64_t{m.data.size()}, uint64_t{0}, uint64_t{0}, uint64_t{m.rdev_major}, uint64_t{m.rdev_minor},
              uint64_t{m.name.size() + 1}, uint64_t{0}}) {
            char text[9];
            std::snprintf(text, sizeof text, "%08llX", static_cast<unsigned long long>(field));
            out_ += text;
        }
        out_ += m.name;
        out_.push_back('\0');
        pad();
        out_ += m.data;
        pad();
        return *this;
    }
    CpioWriter& file(const std::string& name, const std::string& data, uint32_t mode = 0100644)
    {
        return add({name, data, mode});
    }
    CpioWriter& dir(const std::string& name, uint32_t mode = 040755) { return add({name, "", mode}); }
    CpioWriter& symlink(const std::string& name, const std::string& target) { return add({name, target, 0120777}); }
    // The archive with its trailer.
    std::string finish()
    {
        add({"TRAILER!!!", "", 0});
        return out_;
    }

private:
    void pad()
    {
        while (out_.size() % 4 != 0)
            out_.push_back('\0');
    }
    std::string out_;
    uint32_t next_ino_ = 100;
};

} // namespace shim_test
