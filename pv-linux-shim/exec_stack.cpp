// The Linux x86-64 start-up stack: strings from the top down, then the tables below them.
#include "exec_stack.hpp"

#include "common/string.hpp"
#include "linux_abi.hpp"

namespace shim {

using namespace linux_abi;

namespace {

constexpr char kPlatform[] = "x86_64";
constexpr uint64_t kPageSize = 4096;
constexpr size_t kRandomBytes = 16;

// The user address `address` inside the buffer.
struct Window {
    uint8_t* buffer;
    uint64_t low;

    uint8_t* at(uint64_t address) const { return buffer + (address - low); }
    // memcpy: the caller's buffer need not be aligned.
    void store(uint64_t address, uint64_t value) const { memcpy(at(address), &value, sizeof value); }
    uint64_t put(uint64_t address, const void* bytes, size_t length) const
    {
        memcpy(at(address), bytes, length);
        return address;
    }
};

// The bytes a list's strings take with their NULs; false if one is longer than Linux takes.
bool measure(const StringList& list, uint64_t& total)
{
    for (size_t i = 0; i < list.count; ++i) {
        const size_t length = strlen(list.items[i]) + 1;
        if (length > kMaxArgStrlen)
            return false;
        total += length;
    }
    return true;
}

// Writes the strings upwards from `address` and their addresses into the table at `slots`,
// then the NULL that ends it; returns the address after the last string.
uint64_t put_strings(const Window& window, const StringList& list, uint64_t address, uint64_t slots)
{
    for (size_t i = 0; i < list.count; ++i) {
        const size_t length = strlen(list.items[i]) + 1;
        window.store(slots + 8 * i, window.put(address, list.items[i], length));
        address += length;
    }
    window.store(slots + 8 * list.count, 0);
    return address;
}

} // namespace

int build_start_stack(const StackRequest& request, StackLayout& out)
{
    if (request.stack_top % 16 != 0 || request.size > request.stack_top)
        return -kEINVAL;
    const StringList& argv = request.argv;
    const StringList& envp = request.envp;
    if (argv.count > request.size / 8 || envp.count > request.size / 8)
        return -kE2BIG;
    uint64_t string_bytes = 0;
    const StringList exec_file_name{&request.exec_file_name, 1};
    if (!measure(argv, string_bytes) || !measure(envp, string_bytes) || !measure(exec_file_name, string_bytes))
        return -kE2BIG;
    const uint64_t table_bytes = 8 * (1 + (argv.count + 1) + (envp.count + 1) + 2 * kAuxvPairs);
    // The end marker, strings, platform, random bytes and table, with the worst padding.
    if (8 + string_bytes + sizeof kPlatform + kRandomBytes + table_bytes + 15 > request.size)
        return -kE2BIG;

    // Linux's order, upwards: argv strings, envp strings, the file name, 8 zero bytes.
    const uint64_t strings = request.stack_top - 8 - string_bytes;
    const uint64_t platform = strings - sizeof kPlatform;
    const uint64_t random = platform - kRandomBytes;
    const uint64_t rsp = (random - table_bytes) & ~uint64_t{15};
    const uint64_t argv_slots = rsp + 8;
    const uint64_t envp_slots = argv_slots + 8 * (argv.count + 1);
    const uint64_t auxv = envp_slots + 8 * (envp.count + 1);

    const Window window{request.buffer, request.stack_top - request.size};
    uint64_t next = put_strings(window, argv, strings, argv_slots);
    next = put_strings(window, envp, next, envp_slots);
    const uint64_t file_name = window.put(next, request.exec_file_name, strlen(request.exec_file_name) + 1);
    window.store(request.stack_top - 8, 0);
    window.put(platform, kPlatform, sizeof kPlatform);
    window.put(random, request.random, kRandomBytes);
    memset(window.at(auxv + 16 * kAuxvPairs), 0, random - (auxv + 16 * kAuxvPairs)); // the padding
    window.store(rsp, argv.count);

    const uint64_t pairs[kAuxvPairs][2] = {
        {kAT_HWCAP, request.hwcap},
        {kAT_PAGESZ, kPageSize},
        {kAT_CLKTCK, kUserHz},
        {kAT_PHDR, request.exec.phdr},
        {kAT_PHENT, request.exec.phent},
        {kAT_PHNUM, request.exec.phnum},
        {kAT_BASE, request.exec.base},
        {kAT_FLAGS, 0},
        {kAT_ENTRY, request.exec.entry},
        {kAT_UID, request.uid},
        {kAT_EUID, request.euid},
        {kAT_GID, request.gid},
        {kAT_EGID, request.egid},
        {kAT_SECURE, 0},
        {kAT_RANDOM, random},
        {kAT_HWCAP2, request.hwcap2},
        {kAT_EXECFN, file_name},
        {kAT_PLATFORM, platform},
        {kAT_NULL, 0},
    };
    for (size_t i = 0; i < kAuxvPairs; ++i) {
        window.store(auxv + 16 * i, pairs[i][0]);
        window.store(auxv + 16 * i + 8, pairs[i][1]);
    }
    out = {rsp,    argv_slots, envp_slots, auxv,
           random, platform,   file_name,  static_cast<size_t>(request.stack_top - rsp)};
    return 0;
}

} // namespace shim
