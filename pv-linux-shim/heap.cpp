// The shim's heap (heap.hpp).
#include "heap.hpp"

#include "l4/hypercall.hpp"

// Abstract classes' vtables name it; nothing calls a pure virtual function here.
extern "C" void __cxa_pure_virtual()
{
    for (;;) {
    }
}

namespace shim {

namespace {
constexpr size_t kPage = 4096, kSmallest = 16;
} // namespace

size_t Heap::class_of(size_t size)
{
    size_t index = 0;
    while ((kSmallest << index) < size)
        ++index;
    return index;
}

void* Heap::allocate(size_t size)
{
    if (size == 0)
        size = 1;
    if (size > (kSmallest << (kClasses - 1)))
        return reinterpret_cast<void*>(pool_.allocate_contiguous((size + kPage - 1) / kPage));
    const size_t index = class_of(size), block = kSmallest << index;
    if (free_[index] == nullptr) {
        const uint64_t page = pool_.allocate();
        if (page == 0)
            return nullptr;
        for (size_t offset = 0; offset < kPage; offset += block) { // thread the page's blocks
            void** link = reinterpret_cast<void**>(page + offset);
            *link = free_[index];
            free_[index] = link;
        }
    }
    void** link = static_cast<void**>(free_[index]);
    free_[index] = *link;
    return link;
}

void Heap::free(void* memory, size_t size)
{
    if (memory == nullptr)
        return;
    if (size == 0)
        size = 1;
    if (size > (kSmallest << (kClasses - 1))) {
        pool_.free_contiguous(reinterpret_cast<uint64_t>(memory), (size + kPage - 1) / kPage);
        return;
    }
    const size_t index = class_of(size);
    void** link = static_cast<void**>(memory);
    *link = free_[index];
    free_[index] = link;
}

int64_t GuestClock::now_ns() { return static_cast<int64_t>(l4::hc::now_ns()); }

} // namespace shim
