// User memory access. The kernel is not preemptible and, for now, runs on one CPU, so a
// page found mapped by check() stays mapped for the copy that follows; SMAP is opened
// (stac) only around that copy.
#include "arch/x86_64/user_access.hpp"

#include "arch/x86_64/cpu.hpp"
#include "arch/x86_64/paging.hpp"
#include "common/string.hpp"

namespace user_access {
namespace {

constexpr uint64_t kPage = l4::abi::kPageSize;

struct SmapOpen {
    SmapOpen() : smap(cpu::features().smap)
    {
        if (smap)
            asm volatile("stac" ::: "memory");
    }
    ~SmapOpen()
    {
        if (smap)
            asm volatile("clac" ::: "memory");
    }
    bool smap;
};

} // namespace

bool check(uint64_t root, uint64_t address, size_t length, bool write)
{
    if (length == 0)
        return address <= paging::kUserEnd;
    uint64_t last = address + (length - 1);
    if (last < address || last >= paging::kUserEnd)
        return false;
    for (uint64_t page = address & ~(kPage - 1); page <= last; page += kPage) {
        uint64_t entry = paging::lookup_in(root, page);
        if (!(entry & paging::pte::present) || !(entry & paging::pte::user))
            return false;
        if (write && !(entry & paging::pte::writable))
            return false;
    }
    return true;
}

bool copy_from_user(uint64_t root, void* destination, uint64_t source, size_t length)
{
    if (!check(root, source, length, false))
        return false;
    SmapOpen open;
    memcpy(destination, reinterpret_cast<const void*>(source), length);
    return true;
}

bool copy_to_user(uint64_t root, uint64_t destination, const void* source, size_t length)
{
    if (!check(root, destination, length, true))
        return false;
    SmapOpen open;
    memcpy(reinterpret_cast<void*>(destination), source, length);
    return true;
}

} // namespace user_access
