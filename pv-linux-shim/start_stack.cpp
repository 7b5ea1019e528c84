// The start-up stack written into a process (start_stack.hpp).
#include "start_stack.hpp"

#include "exec_stack.hpp"
#include "linux_abi.hpp"

namespace shim {

namespace {

constexpr size_t kMaxStartStack = 32 * 4096; // argv and envp of a shell's command line

uint64_t random_word()
{
    uint32_t lo, hi;
    asm volatile("rdtsc" : "=a"(lo), "=d"(hi));
    const uint64_t x = (uint64_t{hi} << 32 | lo) * 0x9e37'79b9'7f4a'7c15;
    return x ^ (x >> 29);
}

uint8_t area[kMaxStartStack];
size_t used = 0; // bytes of area laid out, at its end

} // namespace

int prepare_start_stack(const StartStack& s, uint64_t& rsp)
{
    const uint64_t random[2] = {random_word(), random_word()};
    StackRequest request{};
    request.buffer = area;
    request.size = sizeof area;
    request.stack_top = kStackTop;
    request.argv = StringList{s.argv, s.argc};
    request.envp = StringList{s.envp, s.envc};
    request.exec_file_name = s.execfn;
    request.exec = ExecFacts{s.exec.phdr, s.exec.phent, s.exec.phnum, s.exec.image.entry, 0};
    request.random = reinterpret_cast<const uint8_t*>(random);
    StackLayout layout{};
    const int built = build_start_stack(request, layout);
    if (built != 0)
        return built;
    rsp = layout.rsp;
    used = layout.used;
    return 0;
}

bool write_start_stack(Process& process)
{
    return process.copy_out(kStackTop - used, area + (sizeof area - used), used);
}

} // namespace shim
