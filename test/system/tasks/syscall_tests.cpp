// System-call entry, argument checks and register preservation.
#include "ktest.hpp"
#include "l4/syscall.hpp"

using l4::Error;

namespace {

constexpr uint64_t kKernelAddress = 0xffffffff80200000;
constexpr uint64_t kUnmappedAddress = 0x1000;

const char kText[] = "ktest: debug_write works\n";

} // namespace

KTEST(debug_write_success) { KEXPECT_EQ(l4::debug_write(kText, sizeof kText - 1), Error::ok); }

KTEST(debug_write_empty) { KEXPECT_EQ(l4::debug_write(kText, 0), Error::ok); }

KTEST(debug_write_kernel_pointer)
{
    KEXPECT_EQ(l4::debug_write(reinterpret_cast<const char*>(kKernelAddress), 16), Error::bad_address);
}

KTEST(debug_write_unmapped_pointer)
{
    KEXPECT_EQ(l4::debug_write(reinterpret_cast<const char*>(kUnmappedAddress), 16), Error::bad_address);
}

KTEST(debug_write_wrapping_range)
{
    KEXPECT_EQ(l4::debug_write(reinterpret_cast<const char*>(~uint64_t{0}), 2), Error::bad_address);
}

KTEST(debug_write_straddling_user_end)
{
    KEXPECT_EQ(l4::debug_write(reinterpret_cast<const char*>(0x00007ffffffffff8), 16), Error::bad_address);
}

// 135 bytes: three slices of 64 bytes (the call restarts itself between them when an
// interrupt waits), one line on the console that the user-ktest scenario matches whole.
KTEST(debug_write_in_slices)
{
    char line[136];
    const char head[] = "ktest: a long line in slices: ";
    uint64_t n = 0;
    for (const char* c = head; *c != '\0'; ++c)
        line[n++] = *c;
    for (int i = 0; i < 100; ++i)
        line[n++] = static_cast<char>('0' + i % 10);
    for (const char* c = "|end\n"; *c != '\0'; ++c)
        line[n++] = *c;
    KEXPECT_EQ(n, 135);
    KEXPECT_EQ(l4::debug_write(line, n), Error::ok);
}

KTEST(debug_write_too_long)
{
    KEXPECT_EQ(l4::debug_write(kText, l4::abi::kMaxDebugWrite + 1), Error::invalid_argument);
}

KTEST(unknown_syscall_number)
{
    KEXPECT_EQ(l4::raw_syscall(999), Error::unknown_syscall);
    KEXPECT_EQ(l4::raw_syscall(~uint64_t{0}), Error::unknown_syscall);
    KEXPECT_EQ(l4::raw_syscall(static_cast<uint64_t>(l4::abi::Syscall::count)), Error::unknown_syscall);
}

KTEST(yield_returns_ok) { KEXPECT_EQ(l4::yield(), Error::ok); }

// Every register but rax, rcx and r11 survives a system call.
KTEST(syscall_preserves_registers)
{
    uint64_t values[8];
    asm volatile("push %%rbp\n"
                 "mov $0x1111, %%rbx\n"
                 "mov $0x2222, %%rbp\n"
                 "mov $0x3333, %%r12\n"
                 "mov $0x4444, %%r13\n"
                 "mov $0x5555, %%r14\n"
                 "mov $0x6666, %%r15\n"
                 "mov $0x7777, %%r8\n"
                 "mov $0x8888, %%r9\n"
                 "mov %[yield], %%eax\n"
                 "syscall\n"
                 "mov %%rbx, 0(%[out])\n"
                 "mov %%rbp, 8(%[out])\n"
                 "mov %%r12, 16(%[out])\n"
                 "mov %%r13, 24(%[out])\n"
                 "mov %%r14, 32(%[out])\n"
                 "mov %%r15, 40(%[out])\n"
                 "mov %%r8, 48(%[out])\n"
                 "mov %%r9, 56(%[out])\n"
                 "pop %%rbp\n"
                 :
                 : [out] "D"(values), [yield] "i"(static_cast<int>(l4::abi::Syscall::yield))
                 : "rax", "rbx", "rcx", "r8", "r9", "r11", "r12", "r13", "r14", "r15", "memory");
    const uint64_t expected[8] = {0x1111, 0x2222, 0x3333, 0x4444, 0x5555, 0x6666, 0x7777, 0x8888};
    for (int i = 0; i < 8; ++i)
        KEXPECT_EQ(values[i], expected[i]);
}
