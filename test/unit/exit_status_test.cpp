// The VMM's exit status (vmm-server/exit_status.hpp): the largest guest status, clamped to what
// QEMU's 8-bit exit code can tell apart.
#include <catch2/catch.hpp>

#include "exit_status.hpp"

TEST_CASE("exit status: the largest guest status, at most 127", "[vmm]")
{
    const uint64_t none[1] = {};
    CHECK(vmm::combined_status(none, 0) == 0);
    const uint64_t some[] = {5, 42, 0};
    CHECK(vmm::combined_status(some, 3) == 42);
    const uint64_t big[] = {3, 255, 128};
    CHECK(vmm::combined_status(big, 3) == 127);
    const uint64_t huge[] = {~uint64_t{0}};
    CHECK(vmm::combined_status(huge, 1) == vmm::kFaultStatus);
}

TEST_CASE("exit status: QEMU's exit code is 2 * status + 1", "[vmm]")
{
    CHECK(vmm::qemu_exit_code(0) == 1);
    CHECK(vmm::qemu_exit_code(42) == 85);
    CHECK(vmm::qemu_exit_code(127) == 255);
    CHECK(vmm::qemu_exit_code(200) == 255); // clamped: 200 would wrap to 145 = 72's code
}
