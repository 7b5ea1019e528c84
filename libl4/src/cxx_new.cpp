// operator new and delete over the heap (l4/runtime.hpp).
#include <new>

#include "l4/libc.hpp"
#include "l4/runtime.hpp"

// The object `new (std::nothrow) T` names; libsupc++ would define it, but user tasks link
// without it.
namespace std {
const nothrow_t nothrow{};
}

namespace {

void* allocate_or_die(size_t size)
{
    void* p = l4_malloc(size);
    if (p == nullptr)
        l4::out_of_memory(size);
    return p;
}

void* allocate_aligned_or_die(size_t size, std::align_val_t alignment)
{
    void* p = l4_aligned_alloc(static_cast<size_t>(alignment), size);
    if (p == nullptr)
        l4::out_of_memory(size);
    return p;
}

} // namespace

void* operator new(size_t size) { return allocate_or_die(size); }
void* operator new[](size_t size) { return allocate_or_die(size); }
void* operator new(size_t size, std::align_val_t alignment) { return allocate_aligned_or_die(size, alignment); }
void* operator new[](size_t size, std::align_val_t alignment) { return allocate_aligned_or_die(size, alignment); }

void* operator new(size_t size, const std::nothrow_t&) noexcept { return l4_malloc(size); }
void* operator new[](size_t size, const std::nothrow_t&) noexcept { return l4_malloc(size); }
void* operator new(size_t size, std::align_val_t alignment, const std::nothrow_t&) noexcept
{
    return l4_aligned_alloc(static_cast<size_t>(alignment), size);
}
void* operator new[](size_t size, std::align_val_t alignment, const std::nothrow_t&) noexcept
{
    return l4_aligned_alloc(static_cast<size_t>(alignment), size);
}

void operator delete(void* p) noexcept { l4_free(p); }
void operator delete[](void* p) noexcept { l4_free(p); }
void operator delete(void* p, size_t) noexcept { l4_free(p); }
void operator delete[](void* p, size_t) noexcept { l4_free(p); }
void operator delete(void* p, std::align_val_t) noexcept { l4_free(p); }
void operator delete[](void* p, std::align_val_t) noexcept { l4_free(p); }
void operator delete(void* p, size_t, std::align_val_t) noexcept { l4_free(p); }
void operator delete[](void* p, size_t, std::align_val_t) noexcept { l4_free(p); }
void operator delete(void* p, const std::nothrow_t&) noexcept { l4_free(p); }
void operator delete[](void* p, const std::nothrow_t&) noexcept { l4_free(p); }
void operator delete(void* p, std::align_val_t, const std::nothrow_t&) noexcept { l4_free(p); }
void operator delete[](void* p, std::align_val_t, const std::nothrow_t&) noexcept { l4_free(p); }
