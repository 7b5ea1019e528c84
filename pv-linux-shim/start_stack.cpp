// The start-up stack (start_stack.hpp).
#include "start_stack.hpp"

#include "common/string.hpp"
#include "linux_abi.hpp"

namespace shim {

namespace {

using namespace linux_abi;

constexpr uint64_t kMaxBytes = 16 * 4096;

// Builds the stack top-down in `area`, a picture of [kStackTop - kMaxBytes, kStackTop).
class Builder {
public:
    explicit Builder(uint8_t* area) : area_(area) {}

    // Pushes bytes; their address in the process, or 0 when full.
    uint64_t push(const void* bytes, uint64_t length)
    {
        if (length > used_limit())
            return overflow();
        top_ -= length;
        memcpy(area_ + top_, bytes, length);
        return kStackTop - kMaxBytes + top_;
    }
    uint64_t push_string(const char* text) { return push(text, strlen(text) + 1); }
    uint64_t push_word(uint64_t word) { return push(&word, sizeof word); }
    void align(uint64_t to) { top_ &= ~(to - 1); }
    bool ok() const { return ok_; }
    uint64_t address() const { return kStackTop - kMaxBytes + top_; }
    uint64_t top() const { return top_; }

private:
    uint64_t used_limit() const { return top_; }
    uint64_t overflow()
    {
        ok_ = false;
        return 0;
    }

    uint8_t* area_;
    uint64_t top_ = kMaxBytes;
    bool ok_ = true;
};

uint64_t random_word()
{
    uint32_t lo, hi;
    asm volatile("rdtsc" : "=a"(lo), "=d"(hi));
    uint64_t x = (uint64_t{hi} << 32 | lo) * 0x9e37'79b9'7f4a'7c15;
    return x ^ (x >> 29);
}

} // namespace

bool write_start_stack(Process& process, const StartStack& s, uint64_t& rsp)
{
    static uint8_t area[kMaxBytes];
    Builder b(area);
    const uint64_t platform = b.push_string("x86_64");
    const uint64_t execfn = b.push_string(s.execfn);
    uint64_t argv[64], envp[64];
    if (s.argc > 64 || s.envc > 64)
        return false;
    for (uint64_t i = s.envc; i-- > 0;)
        envp[i] = b.push_string(s.envp[i]);
    for (uint64_t i = s.argc; i-- > 0;)
        argv[i] = b.push_string(s.argv[i]);
    const uint64_t random_bytes[2] = {random_word(), random_word()};
    const uint64_t random = b.push(random_bytes, sizeof random_bytes);
    b.align(16);
    const elf::Image& image = s.image;
    // The program headers as loaded: in the segment that holds their file bytes (e_phoff).
    uint64_t phoff = 0, phdr = 0;
    uint16_t phnum = 0;
    memcpy(&phoff, image.file + 32, sizeof phoff);
    memcpy(&phnum, image.file + 56, sizeof phnum);
    for (size_t i = 0; i < image.segment_count; ++i) {
        const elf::Segment& segment = image.segments[i];
        if (phoff >= segment.offset && phoff - segment.offset < segment.filesz)
            phdr = segment.vaddr + (phoff - segment.offset);
    }
    const uint64_t auxv[][2] = {
        {kAT_PHDR, phdr},     {kAT_PHENT, 56},          {kAT_PHNUM, phnum},   {kAT_PAGESZ, 4096},    {kAT_BASE, 0},
        {kAT_FLAGS, 0},       {kAT_ENTRY, image.entry}, {kAT_UID, 0},         {kAT_EUID, 0},         {kAT_GID, 0},
        {kAT_EGID, 0},        {kAT_PLATFORM, platform}, {kAT_HWCAP, 0},       {kAT_CLKTCK, kUserHz}, {kAT_SECURE, 0},
        {kAT_RANDOM, random}, {kAT_HWCAP2, 0},          {kAT_EXECFN, execfn}, {kAT_NULL, 0},
    };
    const uint64_t words = 1 + s.argc + 1 + s.envc + 1 + 2 * (sizeof auxv / sizeof auxv[0]);
    if (words % 2 != 0)
        b.push_word(0); // so that argc lands 16-byte aligned
    for (uint64_t i = sizeof auxv / sizeof auxv[0]; i-- > 0;) {
        b.push_word(auxv[i][1]);
        b.push_word(auxv[i][0]);
    }
    b.push_word(0);
    for (uint64_t i = s.envc; i-- > 0;)
        b.push_word(envp[i]);
    b.push_word(0);
    for (uint64_t i = s.argc; i-- > 0;)
        b.push_word(argv[i]);
    b.push_word(s.argc);
    if (!b.ok())
        return false;
    rsp = b.address();
    return process.copy_out(rsp, area + b.top(), kMaxBytes - b.top());
}

} // namespace shim
