// The kernel's memory budget: plain arithmetic, tested on the host.
#include "mem/budget.hpp"

namespace mem {
namespace {

constexpr uint64_t kPage = 4096;

uint64_t pages_for(uint64_t bytes) { return (bytes + kPage - 1) / kPage; }

uint64_t pool_for(uint64_t free_bytes)
{
    uint64_t pool = free_bytes / 4;
    pool = pool < kMinPool ? kMinPool : pool > kMaxPool ? kMaxPool : pool;
    pool = (pool + kMiB - 1) / kMiB * kMiB; // whole MiB: sigma0's memory starts page aligned
    return pool < free_bytes ? pool : free_bytes;
}

uint64_t nodes_for(uint64_t quotas) { return quotas / kMappingCost + 1; }

} // namespace

uint64_t DatabaseSize::bytes() const { return (node_pages + index_pages) * kPage; }

DatabaseSize database_size(uint64_t nodes)
{
    return DatabaseSize{pages_for(nodes * sizeof(Mapping)), pages_for(2 * nodes * sizeof(uint32_t))};
}

Budget plan_budget(uint64_t free_bytes, uint64_t fixed_bytes, bool root_task)
{
    Budget plan{};
    plan.pool_bytes = pool_for(free_bytes);
    uint64_t taken = fixed_bytes + kKernelReserve;
    uint64_t spare = plan.pool_bytes > taken ? plan.pool_bytes - taken : 0;
    // Quotas and database share the spare memory: the database needs about as many bytes as
    // the quotas it serves (a node costs kMappingCost), so each gets half, in whole pages,
    // less what rounding the database to pages adds.
    uint64_t quotas = spare / 2 / kPage * kPage;
    while (quotas > 0 && quotas + database_size(nodes_for(quotas)).bytes() > spare)
        quotas -= kPage;
    plan.database_nodes = nodes_for(quotas);
    if (!root_task) {
        plan.sigma0_quota = quotas;
        return plan;
    }
    uint64_t sigma0_pages = (free_bytes - plan.pool_bytes) / kPage;
    uint64_t sigma0 = kSigma0Objects + sigma0_pages * (kMappingCost + kTableShare);
    plan.sigma0_quota = sigma0 < quotas / 2 ? sigma0 : quotas / 2;
    plan.root_quota = quotas - plan.sigma0_quota;
    return plan;
}

} // namespace mem
