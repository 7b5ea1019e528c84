// The boot plan of kernel memory (kernel/mem/budget.cpp): the pool, the database sized for
// every quota, and the boot tasks' shares, to the byte.
#include <catch2/catch.hpp>

#include "mem/budget.hpp"

namespace {

constexpr uint64_t kPage = 4096;
constexpr uint64_t kMiB = 1024 * 1024;

// What the quotas can pay for always fits the database, and the plan spends the pool: one
// page more of quota would not fit beside its database.
void check_fits(const mem::Budget& plan, uint64_t fixed_bytes)
{
    uint64_t spare = plan.pool_bytes - fixed_bytes - mem::kKernelReserve;
    CHECK(plan.database_nodes * mem::kMappingCost > plan.quotas());
    CHECK(plan.quotas() + mem::database_size(plan.database_nodes).bytes() <= spare);
    uint64_t more = plan.quotas() + kPage;
    CHECK(more + mem::database_size(more / mem::kMappingCost + 1).bytes() > spare);
}

} // namespace

TEST_CASE("budget: a node costs its 40 bytes and two index slots", "[budget]")
{
    CHECK(mem::kMappingCost == 48);
    mem::DatabaseSize size = mem::database_size(676950);
    CHECK(size.node_pages == 6611);  // 27,078,000 bytes
    CHECK(size.index_pages == 1323); // 5,415,600 bytes
    CHECK(size.bytes() == (6611 + 1323) * kPage);
    CHECK(mem::database_size(1).bytes() == 2 * kPage);
}

TEST_CASE("budget: alone, sigma0 has every quota (QEMU -m 256M)", "[budget]")
{
    mem::Budget plan = mem::plan_budget(256 * kMiB, 16384, false);
    CHECK(plan.pool_bytes == 64 * kMiB);
    CHECK(plan.database_nodes == 676950);
    CHECK(plan.sigma0_quota == 32493568); // 31,732 KiB
    CHECK(plan.root_quota == 0);
    check_fits(plan, 16384);
}

TEST_CASE("budget: beside a root task, sigma0 keeps what mapping its pages costs", "[budget]")
{
    mem::Budget plan = mem::plan_budget(250 * kMiB, 16384, true);
    CHECK(plan.pool_bytes == 63 * kMiB); // 62.5 MiB, up to a whole MiB
    CHECK(plan.database_nodes == 666027);
    uint64_t sigma0_pages = (250 - 63) * kMiB / kPage;
    CHECK(plan.sigma0_quota == mem::kSigma0Objects + sigma0_pages * (mem::kMappingCost + mem::kTableShare));
    CHECK(plan.sigma0_quota == 7258112);
    CHECK(plan.root_quota == 24711168);
    // A VMM with 256 MiB of guest processes, mapped through four levels, fits its quota.
    CHECK(plan.root_quota >= 4 * 65536 * mem::kMappingCost);
    check_fits(plan, 16384);
}

TEST_CASE("budget: the pool is a quarter of free memory, 16-256 MiB", "[budget]")
{
    CHECK(mem::plan_budget(32 * kMiB, 0, false).pool_bytes == 16 * kMiB);
    CHECK(mem::plan_budget(102 * kMiB, 0, false).pool_bytes == 26 * kMiB); // 25.5, up
    CHECK(mem::plan_budget(uint64_t{4} << 30, 0, false).pool_bytes == 256 * kMiB);
    CHECK(mem::plan_budget(uint64_t{64} << 30, 0, false).pool_bytes == 256 * kMiB);
    mem::Budget small = mem::plan_budget(32 * kMiB, 0, false);
    CHECK(small.sigma0_quota == 7335936);
    CHECK(small.database_nodes == 152833);
    check_fits(small, 0);
}

TEST_CASE("budget: sigma0 beside a root task has at most half", "[budget]")
{
    mem::Budget plan = mem::plan_budget(uint64_t{4} << 30, 1 << 17, true);
    CHECK(plan.pool_bytes == 256 * kMiB);
    CHECK(plan.sigma0_quota == 66549760);
    CHECK(plan.root_quota == 66549760);
    check_fits(plan, 1 << 17);
    // Less free memory than the pool: the kernel keeps it all, sigma0 gets no pages.
    mem::Budget tiny = mem::plan_budget(8 * kMiB, 0, true);
    CHECK(tiny.pool_bytes == 8 * kMiB);
    CHECK(tiny.sigma0_quota == 1570816);
    CHECK(tiny.root_quota == 1570816);
    check_fits(tiny, 0);
}

TEST_CASE("budget: with no spare memory, no quota and a database of one node", "[budget]")
{
    mem::Budget plan = mem::plan_budget(kMiB, 0, true);
    CHECK(plan.pool_bytes == kMiB);
    CHECK(plan.quotas() == 0);
    CHECK(plan.database_nodes == 1);
}
