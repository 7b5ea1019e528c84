// Kernel stacks in guarded slots of the region at KERNEL_STACKS_BASE.
#include "arch/x86_64/kernel_stack.hpp"

#include "arch/x86_64/paging.hpp"
#include "memory.hpp"

namespace kernel_stack {
namespace {

constexpr uint64_t kPage = l4::abi::kPageSize;
// A slot: an unmapped guard of kSize bytes, then the stack (the guard is as large as the
// stack so that one big frame cannot jump over it).
constexpr uint64_t kSlotSize = 2 * kSize;
constexpr uint64_t kSlots = KERNEL_STACKS_SIZE / kSlotSize;
constexpr uint64_t kPattern = 0x5afe'57ac'5afe'57ac;
static_assert(kChargedBytes - kSize >= kPage * kSlotSize / (2 * 1024 * 1024),
              "a stack pays for its share of the page table that maps its slot");

uint64_t used[kSlots / 64]; // bit per slot
uint64_t next_hint;
size_t deepest;

uint64_t slot_base(uint64_t slot) { return KERNEL_STACKS_BASE + slot * kSlotSize; }

} // namespace

uint8_t* allocate()
{
    for (uint64_t n = 0; n < kSlots; ++n) {
        uint64_t slot = (next_hint + n) % kSlots;
        if (used[slot / 64] & (uint64_t{1} << (slot % 64)))
            continue;
        uint64_t stack = slot_base(slot) + kSize;
        uint64_t mapped = 0;
        for (; mapped < kSize; mapped += kPage) {
            uint64_t frame = memory::frames().alloc();
            if (frame == mem::FrameAllocator::kNone || !paging::map_kernel_page(stack + mapped, frame)) {
                if (frame != mem::FrameAllocator::kNone)
                    (void)memory::frames().free(frame);
                break;
            }
        }
        if (mapped < kSize) {
            for (uint64_t page = 0; page < mapped; page += kPage)
                (void)memory::frames().free(paging::unmap_kernel_page(stack + page));
            return nullptr;
        }
        used[slot / 64] |= uint64_t{1} << (slot % 64);
        next_hint = slot + 1;
        auto* words = reinterpret_cast<uint64_t*>(stack);
        for (size_t i = 0; i < kSize / 8; ++i)
            words[i] = kPattern;
        return reinterpret_cast<uint8_t*>(stack);
    }
    return nullptr;
}

void free(uint8_t* stack)
{
    measure(stack);
    auto address = reinterpret_cast<uint64_t>(stack);
    uint64_t slot = (address - KERNEL_STACKS_BASE) / kSlotSize;
    for (uint64_t page = 0; page < kSize; page += kPage)
        (void)memory::frames().free(paging::unmap_kernel_page(address + page));
    used[slot / 64] &= ~(uint64_t{1} << (slot % 64));
}

bool in_guard(uint64_t address)
{
    return address >= KERNEL_STACKS_BASE && address - KERNEL_STACKS_BASE < KERNEL_STACKS_SIZE &&
           (address - KERNEL_STACKS_BASE) % kSlotSize < kSize;
}

void measure(const uint8_t* stack)
{
    auto* words = reinterpret_cast<const uint64_t*>(stack);
    size_t untouched = 0;
    while (untouched < kSize / 8 && words[untouched] == kPattern)
        ++untouched;
    size_t use = kSize - untouched * 8;
    if (use > deepest)
        deepest = use;
}

size_t deepest_use() { return deepest; }

} // namespace kernel_stack
