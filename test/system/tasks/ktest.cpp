// The in-QEMU test framework: registration, failure reports, the summary line.
#include "ktest.hpp"

namespace ktest {
namespace {

Test* first;
Test* last;
bool current_failed;

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
    current_failed = true;
    l4::print("ktest: FAIL ");
    l4::print(file);
    l4::print(":");
    l4::print(static_cast<uint64_t>(line));
    l4::print(": ");
    l4::print(expression);
    l4::print(" is ");
    l4::print(actual, true);
    l4::print(", expected ");
    l4::print(expected, true);
    l4::print("\n");
}

int run_all()
{
    uint64_t passed = 0, failed = 0;
    for (Test* test = first; test != nullptr; test = test->next) {
        current_failed = false;
        test->body();
        l4::print(current_failed ? "ktest: failed " : "ktest: passed ");
        l4::print(test->name);
        l4::print("\n");
        (current_failed ? failed : passed) += 1;
    }
    l4::print("ktest: ");
    l4::print(passed);
    l4::print(" passed, ");
    l4::print(failed);
    l4::print(" failed\n");
    return static_cast<int>(failed);
}

} // namespace ktest

int main() { return ktest::run_all(); }
