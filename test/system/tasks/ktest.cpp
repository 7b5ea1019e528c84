// The in-QEMU test framework: registration, check counts, failure reports, the summary line.
#include "ktest.hpp"

#include "l4/syscall.hpp"

namespace ktest {
namespace {

Test* first;
Test* last;
// Of the running case; its other threads check (and fail) too.
bool current_failed;
uint64_t current_checks;

// Formats one line and writes it with one debug_write, so that it cannot interleave with
// another thread's output. A line longer than the buffer ends in "..." instead.
template <typename... Args>
void write_line(const char* format, const Args&... args)
{
    char line[512];
    static_assert(sizeof line <= l4::abi::kMaxDebugWrite);
    constexpr size_t kMaxText = sizeof line - 2; // room for the newline and format_to's NUL
    size_t length = l4::format_to(line, sizeof line - 1, format, args...);
    if (length > kMaxText) {
        length = kMaxText;
        line[length - 3] = line[length - 2] = line[length - 1] = '.';
    }
    line[length] = '\n';
    l4::debug_write(line, length + 1);
}

} // namespace

void add(Test* test)
{
    if (last == nullptr)
        first = test;
    else
        last->next = test;
    last = test;
}

void fail(const char* file, int line, const char* expression, uint64_t actual, uint64_t expected)
{
    __atomic_fetch_add(&current_checks, 1, __ATOMIC_RELAXED);
    __atomic_store_n(&current_failed, true, __ATOMIC_RELAXED);
    write_line("ktest: FAIL {}:{}: {} is {:#x}, expected {:#x}", file, line, expression, actual, expected);
}

bool expect_eq(const char* file, int line, const char* expression, uint64_t actual, uint64_t expected)
{
    if (actual != expected) {
        fail(file, line, expression, actual, expected);
        return false;
    }
    __atomic_fetch_add(&current_checks, 1, __ATOMIC_RELAXED);
    return true;
}

int run_all()
{
    uint64_t registered = 0;
    for (Test* test = first; test != nullptr; test = test->next)
        ++registered;
    write_line(registered == 1 ? "ktest: {} case registered" : "ktest: {} cases registered", registered);

    uint64_t passed = 0, failed = 0;
    for (Test* test = first; test != nullptr; test = test->next) {
        __atomic_store_n(&current_failed, false, __ATOMIC_RELAXED);
        __atomic_store_n(&current_checks, 0, __ATOMIC_RELAXED);
        test->body();
        bool case_failed = __atomic_load_n(&current_failed, __ATOMIC_RELAXED);
        if (__atomic_load_n(&current_checks, __ATOMIC_RELAXED) == 0) {
            write_line("ktest: FAIL {}: reached no check", test->name);
            case_failed = true;
        }
        write_line(case_failed ? "ktest: failed {}" : "ktest: passed {}", test->name);
        (case_failed ? failed : passed) += 1;
    }
    write_line("ktest: {} passed, {} failed", passed, failed);
    return static_cast<int>(failed);
}

} // namespace ktest

int main() { return ktest::run_all(); }
