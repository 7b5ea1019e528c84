// Kernel heap: slab size classes over single pages, large objects as whole pages.
#include "mem/kernel_heap.hpp"

namespace mem {

// Lives in the first bytes of its page. A bitmap rather than a free list: it costs the same
// page space, lets free() catch double frees, and a use-after-free write into a free object
// cannot corrupt the allocator's own state.
struct KernelHeap::Slab {
    Slab* next;
    Slab* prev;
    uint32_t magic;
    uint16_t in_use;
    uint8_t class_index;
    uint8_t unused;
    uint64_t used[4]; // bit set: object allocated, or a slot past the end of the page
};

namespace {

constexpr uint32_t kSlabMagic = 0x51ab5eed;
constexpr size_t kPageSize = KernelHeap::kPageSize;
constexpr size_t kBits = 64;

constexpr size_t class_size(size_t index) { return KernelHeap::kMinSize << index; }

constexpr size_t class_index(size_t size)
{
    size_t index = 0;
    while (class_size(index) < size)
        ++index;
    return index;
}

// Objects start at the first multiple of their size past the header: natural alignment.
constexpr size_t first_offset(size_t index)
{
    const size_t size = class_size(index);
    return (sizeof(KernelHeap::Slab) + size - 1) / size * size;
}

constexpr size_t capacity(size_t index) { return (kPageSize - first_offset(index)) / class_size(index); }

static_assert(sizeof(KernelHeap::Slab) <= 64, "the slab header fits in one cache line");
static_assert(class_size(KernelHeap::kClassCount - 1) == KernelHeap::kMaxSlabSize);
static_assert(capacity(0) <= 4 * kBits, "the used bitmap covers every 16-byte slot");
static_assert(capacity(KernelHeap::kClassCount - 1) >= 1);

uintptr_t address_of(const void* p) { return reinterpret_cast<uintptr_t>(p); }

} // namespace

size_t KernelHeap::charged_size(size_t size)
{
    if (size == 0)
        return 0;
    if (size > kMaxSlabSize) {
        if (size > ~size_t{0} - (kPageSize - 1))
            return ~size_t{0};
        return (size + kPageSize - 1) / kPageSize * kPageSize;
    }
    const size_t objects = capacity(class_index(size));
    return (kPageSize + objects - 1) / objects;
}

void KernelHeap::init(PageSource source)
{
    *this = KernelHeap{};
    source_ = source;
}

KernelHeap::Slab* KernelHeap::new_slab(size_t index)
{
    void* page = source_.alloc_pages(source_.context, 1);
    if (page == nullptr)
        return nullptr;
    ++pages_held_;

    Slab* slab = static_cast<Slab*>(page);
    slab->next = nullptr;
    slab->prev = nullptr;
    slab->magic = kSlabMagic;
    slab->in_use = 0;
    slab->class_index = static_cast<uint8_t>(index);
    slab->unused = 0;
    // Slots past the end of the page look allocated, so the search never returns them.
    const size_t cap = capacity(index);
    for (size_t w = 0; w < 4; ++w) {
        const size_t lo = w * kBits;
        uint64_t word = 0;
        if (cap <= lo)
            word = ~uint64_t{0};
        else if (cap < lo + kBits)
            word = ~uint64_t{0} << (cap - lo);
        slab->used[w] = word;
    }
    return slab;
}

void KernelHeap::release_slab(Slab* slab)
{
    slab->magic = 0; // a late free() of an object in this page then fails loudly
    source_.free_pages(source_.context, slab, 1);
    --pages_held_;
}

namespace {

void list_push(KernelHeap::Slab*& head, KernelHeap::Slab* slab)
{
    slab->prev = nullptr;
    slab->next = head;
    if (head != nullptr)
        head->prev = slab;
    head = slab;
}

void list_remove(KernelHeap::Slab*& head, KernelHeap::Slab* slab)
{
    if (slab->prev != nullptr)
        slab->prev->next = slab->next;
    else
        head = slab->next;
    if (slab->next != nullptr)
        slab->next->prev = slab->prev;
    slab->next = nullptr;
    slab->prev = nullptr;
}

} // namespace

void* KernelHeap::alloc(size_t size)
{
    if (size == 0 || source_.alloc_pages == nullptr)
        return nullptr;

    if (size > kMaxSlabSize) {
        if (size > ~size_t{0} - (kPageSize - 1))
            return nullptr; // would wrap
        const size_t pages = (size + kPageSize - 1) / kPageSize;
        void* p = source_.alloc_pages(source_.context, pages);
        if (p == nullptr)
            return nullptr;
        pages_held_ += pages;
        bytes_in_use_ += pages * kPageSize;
        return p;
    }

    const size_t index = class_index(size);
    SizeClass& cls = classes_[index];
    Slab* slab = cls.partial;
    if (slab == nullptr) {
        slab = cls.empty;
        cls.empty = nullptr;
        if (slab == nullptr)
            slab = new_slab(index);
        if (slab == nullptr)
            return nullptr;
        list_push(cls.partial, slab);
    }

    size_t slot = 0;
    for (size_t w = 0; w < 4; ++w) {
        if (slab->used[w] != ~uint64_t{0}) {
            const size_t bit = static_cast<size_t>(__builtin_ctzll(~slab->used[w]));
            slab->used[w] |= uint64_t{1} << bit;
            slot = w * kBits + bit;
            break;
        }
    }
    // A slab on the partial list always has a free slot, so the loop above found one.
    ++slab->in_use;
    if (slab->in_use == capacity(index))
        list_remove(cls.partial, slab);

    bytes_in_use_ += class_size(index);
    const uintptr_t object = address_of(slab) + first_offset(index) + slot * class_size(index);
    return reinterpret_cast<void*>(object);
}

KernelHeap::FreeError KernelHeap::free(void* object, size_t size)
{
    if (object == nullptr)
        return FreeError::none;
    const uintptr_t addr = address_of(object);
    if (size == 0)
        return FreeError::size_mismatch; // alloc(0) never returned an object

    if (size > kMaxSlabSize) {
        // Large objects carry no header, so beyond this the size is taken on trust.
        if (size > ~size_t{0} - (kPageSize - 1))
            return FreeError::size_mismatch;
        if (addr % kPageSize != 0)
            return FreeError::misaligned;
        const size_t pages = (size + kPageSize - 1) / kPageSize;
        source_.free_pages(source_.context, object, pages);
        pages_held_ -= pages;
        bytes_in_use_ -= pages * kPageSize;
        return FreeError::none;
    }

    // Slab objects never sit at offset 0 of their page: the header is there.
    const uintptr_t page = addr & ~uintptr_t{kPageSize - 1};
    if (page == addr)
        return FreeError::not_slab_object;
    Slab* slab = reinterpret_cast<Slab*>(page);
    if (slab->magic != kSlabMagic || slab->class_index >= kClassCount)
        return FreeError::not_slab_object;
    const size_t index = class_index(size);
    if (slab->class_index != index)
        return FreeError::size_mismatch;

    const size_t offset = addr - page;
    const size_t first = first_offset(index);
    if (offset < first || (offset - first) % class_size(index) != 0)
        return FreeError::misaligned;
    const size_t slot = (offset - first) / class_size(index);
    const uint64_t bit = uint64_t{1} << (slot % kBits);
    if (slot >= capacity(index) || (slab->used[slot / kBits] & bit) == 0)
        return FreeError::double_free;

    SizeClass& cls = classes_[index];
    const bool was_full = slab->in_use == capacity(index);
    slab->used[slot / kBits] &= ~bit;
    --slab->in_use;
    bytes_in_use_ -= class_size(index);

    if (slab->in_use == 0) {
        if (!was_full)
            list_remove(cls.partial, slab);
        if (cls.empty == nullptr)
            cls.empty = slab;
        else
            release_slab(slab);
    } else if (was_full) {
        list_push(cls.partial, slab);
    }
    return FreeError::none;
}

void KernelHeap::trim()
{
    for (SizeClass& cls : classes_) {
        if (cls.empty != nullptr)
            release_slab(cls.empty);
        cls.empty = nullptr;
    }
}

} // namespace mem
