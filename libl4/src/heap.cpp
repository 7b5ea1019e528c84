// The user-side heap: boundary tags, immediate coalescing, power-of-two bins (l4/heap.hpp).
#include "l4/heap.hpp"

#include "l4/libc.hpp"

namespace l4 {

// Every block starts with this header; a free block keeps its list links in its payload.
// The header after a block (the next block's, or the region's fence) records the block's size,
// so a freed block finds both neighbours in constant time.
struct Heap::Chunk {
    uint64_t size;       // bytes, header included; a multiple of 16 (0 in a fence)
    uint32_t prev_units; // the previous block's size / 16; 0: first block of its region
    uint32_t magic;      // kUsed, kFree or kFence
    Chunk* next_free;    // free blocks only
    Chunk* prev_free;
};

// At the start of each run of memory: [Region][block]...[block][fence header].
struct Heap::Region {
    Region* next;
    size_t size; // bytes, this header and the fence included
};

namespace {

constexpr size_t kHeader = 16;
constexpr size_t kMinChunk = 32; // header + the two free-list links
constexpr size_t kFenceSize = kHeader;
constexpr size_t kMaxRegion = size_t{1} << 35; // keeps every block's size / 16 in 32 bits
constexpr size_t kGrowPages = 16;              // ask for at least 64 KiB at a time

constexpr uint32_t kUsed = 0x55534544;  // "USED"
constexpr uint32_t kFree = 0x46524545;  // "FREE"
constexpr uint32_t kFence = 0x46454e43; // "FENC"

static_assert(kHeader % kHeapAlignment == 0);
static_assert(Heap::kMaxAllocation + 2 * kMinChunk + kHeapPageSize < kMaxRegion);

uintptr_t address(const void* p) { return reinterpret_cast<uintptr_t>(p); }

uint32_t units(size_t size) { return static_cast<uint32_t>(size / 16); }

// The block size that holds `size` bytes of payload.
size_t chunk_size_for(size_t size)
{
    const size_t rounded = (size + kHeader + 15) & ~size_t{15};
    return rounded < kMinChunk ? kMinChunk : rounded;
}

size_t bin_index(size_t chunk_size)
{
    const auto log2 = static_cast<size_t>(63 - __builtin_clzll(chunk_size));
    const size_t index = log2 - 5; // kMinChunk is 2^5
    return index < 32 ? index : 31;
}

// The header at address `a` (T is Heap::Chunk, named where access to it is allowed).
template <typename T>
T* at(uintptr_t a)
{
    return reinterpret_cast<T*>(a);
}

// Writes a header only (a fence has no room for the free-list links).
template <typename T>
void set_header(T* chunk, uint64_t size, uint32_t prev_units, uint32_t magic)
{
    chunk->size = size;
    chunk->prev_units = prev_units;
    chunk->magic = magic;
}

Heap g_heap;

} // namespace

const char* describe(HeapError error)
{
    switch (error) {
    case HeapError::double_free: return "double free";
    case HeapError::invalid_pointer: return "free of a pointer that is no heap block";
    case HeapError::corrupted: return "heap block header overwritten";
    }
    return "unknown heap error";
}

void Heap::init(PageSource source, HeapErrorHandler on_error)
{
    source_ = source;
    on_error_ = on_error;
    regions_ = nullptr;
    for (Chunk*& bin : bins_)
        bin = nullptr;
    bin_mask_ = 0;
    bytes_managed_ = blocks_in_use_ = bytes_in_use_ = errors_ = 0;
}

bool Heap::add_memory(void* base, size_t size)
{
    const uintptr_t start = (address(base) + 15) & ~uintptr_t{15};
    if (base == nullptr || start < address(base) || size < start - address(base))
        return false;
    size = (size - (start - address(base))) & ~size_t{15};
    if (size > kMaxRegion)
        size = kMaxRegion;

    // Memory right after the newest run: its fence becomes the header of a new free block.
    if (regions_ != nullptr && start == address(regions_) + regions_->size && size >= kMinChunk &&
        regions_->size + size <= kMaxRegion) {
        auto* old_fence = at<Chunk>(start - kFenceSize);
        auto* fence = at<Chunk>(start + size - kFenceSize);
        set_header(fence, 0, units(size), kFence);
        old_fence->size = size;
        regions_->size += size;
        bytes_managed_ += size;
        free_chunk(old_fence);
        return true;
    }

    if (size < sizeof(Region) + kMinChunk + kFenceSize)
        return false;
    auto* region = reinterpret_cast<Region*>(start);
    *region = Region{regions_, size};
    regions_ = region;
    const size_t chunk_size = size - sizeof(Region) - kFenceSize;
    auto* chunk = at<Chunk>(start + sizeof(Region));
    set_header(chunk, chunk_size, 0, kFree);
    set_header(at<Chunk>(start + size - kFenceSize), 0, units(chunk_size), kFence);
    bytes_managed_ += size;
    free_chunk(chunk);
    return true;
}

bool Heap::grow(size_t chunk_size)
{
    if (source_ == nullptr)
        return false;
    const size_t bytes = chunk_size + sizeof(Region) + kFenceSize;
    const size_t pages = (bytes + kHeapPageSize - 1) / kHeapPageSize;
    size_t count = pages < kGrowPages ? kGrowPages : pages;
    void* base = source_(count);
    if (base == nullptr && count > pages) {
        count = pages;
        base = source_(count);
    }
    return base != nullptr && add_memory(base, count * kHeapPageSize);
}

void Heap::insert_free(Chunk* chunk)
{
    const size_t index = bin_index(chunk->size);
    chunk->magic = kFree;
    chunk->prev_free = nullptr;
    chunk->next_free = bins_[index];
    if (bins_[index] != nullptr)
        bins_[index]->prev_free = chunk;
    bins_[index] = chunk;
    bin_mask_ |= uint64_t{1} << index;
}

void Heap::remove_free(Chunk* chunk)
{
    const size_t index = bin_index(chunk->size);
    if (chunk->prev_free != nullptr)
        chunk->prev_free->next_free = chunk->next_free;
    else
        bins_[index] = chunk->next_free;
    if (chunk->next_free != nullptr)
        chunk->next_free->prev_free = chunk->prev_free;
    if (bins_[index] == nullptr)
        bin_mask_ &= ~(uint64_t{1} << index);
}

Heap::Chunk* Heap::find_fit(size_t chunk_size) const
{
    const size_t index = bin_index(chunk_size);
    for (Chunk* c = bins_[index]; c != nullptr; c = c->next_free)
        if (c->size >= chunk_size)
            return c;
    // Every block in a higher bin is large enough.
    const uint64_t higher = index + 1 < kBins ? bin_mask_ & ~((uint64_t{2} << index) - 1) : 0;
    return higher != 0 ? bins_[__builtin_ctzll(higher)] : nullptr;
}

// Marks `chunk` (in no list) free, merges it with free neighbours and files it in its bin.
void Heap::free_chunk(Chunk* chunk)
{
    chunk->magic = kFree; // stays behind in a merged-away header: a later free of it is a double free
    auto* next = at<Chunk>(address(chunk) + chunk->size);
    if (next->magic == kFree) {
        remove_free(next);
        chunk->size += next->size;
    }
    if (chunk->prev_units != 0) {
        auto* prev = at<Chunk>(address(chunk) - size_t{chunk->prev_units} * 16);
        if (prev->magic == kFree) {
            remove_free(prev);
            prev->size += chunk->size;
            chunk = prev;
        }
    }
    at<Chunk>(address(chunk) + chunk->size)->prev_units = units(chunk->size);
    insert_free(chunk);
}

// Cuts a used block down to `keep` bytes when the rest can be a block of its own.
void Heap::split(Chunk* chunk, size_t keep)
{
    if (chunk->size < keep + kMinChunk)
        return;
    auto* rest = at<Chunk>(address(chunk) + keep);
    set_header(rest, chunk->size - keep, units(keep), kFree);
    chunk->size = keep;
    at<Chunk>(address(rest) + rest->size)->prev_units = units(rest->size);
    free_chunk(rest);
}

// The live block `pointer` is the payload of, or null with the reason in `error`.
Heap::Chunk* Heap::live_chunk(const void* pointer, HeapError& error) const
{
    if (address(pointer) % kHeapAlignment != 0 || address(pointer) < kHeader) {
        error = HeapError::invalid_pointer;
        return nullptr;
    }
    auto* chunk = at<Chunk>(address(pointer) - kHeader);
    if (chunk->magic != kUsed) {
        error = chunk->magic == kFree ? HeapError::double_free : HeapError::invalid_pointer;
        return nullptr;
    }
    if (chunk->size < kMinChunk || chunk->size % 16 != 0 || chunk->size > kMaxRegion ||
        at<Chunk>(address(chunk) + chunk->size)->prev_units != units(chunk->size)) {
        error = HeapError::corrupted;
        return nullptr;
    }
    return chunk;
}

void Heap::report(HeapError error, const void* pointer)
{
    ++errors_;
    if (on_error_ != nullptr)
        on_error_(error, pointer);
}

void* Heap::allocate(size_t size)
{
    if (size > kMaxAllocation)
        return nullptr;
    const size_t need = chunk_size_for(size);
    Chunk* chunk = find_fit(need);
    if (chunk == nullptr) {
        if (!grow(need))
            return nullptr;
        chunk = find_fit(need);
        if (chunk == nullptr)
            return nullptr;
    }
    remove_free(chunk);
    chunk->magic = kUsed;
    split(chunk, need);
    ++blocks_in_use_;
    bytes_in_use_ += chunk->size;
    return reinterpret_cast<void*>(address(chunk) + kHeader);
}

void* Heap::allocate_aligned(size_t alignment, size_t size)
{
    if (alignment == 0 || (alignment & (alignment - 1)) != 0 || alignment > kMaxAllocation)
        return nullptr;
    if (alignment <= kHeapAlignment)
        return allocate(size);
    if (size > kMaxAllocation)
        return nullptr;
    // Room to move the payload up to the next aligned address, leaving a free block before it.
    void* raw = allocate(size + alignment + kMinChunk);
    if (raw == nullptr)
        return nullptr;
    auto* chunk = at<Chunk>(address(raw) - kHeader);
    uintptr_t aligned = (address(raw) + alignment - 1) & ~(alignment - 1);
    if (aligned != address(raw) && aligned - address(raw) < kMinChunk)
        aligned += alignment;
    if (aligned != address(raw)) {
        const size_t lead = aligned - address(raw);
        auto* moved = at<Chunk>(aligned - kHeader);
        set_header(moved, chunk->size - lead, units(lead), kUsed);
        at<Chunk>(address(moved) + moved->size)->prev_units = units(moved->size);
        chunk->size = lead;
        bytes_in_use_ -= lead;
        free_chunk(chunk);
        chunk = moved;
    }
    const size_t before = chunk->size;
    split(chunk, chunk_size_for(size));
    bytes_in_use_ -= before - chunk->size;
    return reinterpret_cast<void*>(aligned);
}

void Heap::release(void* pointer)
{
    if (pointer == nullptr)
        return;
    HeapError error{};
    Chunk* chunk = live_chunk(pointer, error);
    if (chunk == nullptr)
        return report(error, pointer);
    --blocks_in_use_;
    bytes_in_use_ -= chunk->size;
    free_chunk(chunk);
}

void* Heap::reallocate(void* pointer, size_t size)
{
    if (pointer == nullptr)
        return allocate(size);
    if (size == 0) {
        release(pointer);
        return nullptr;
    }
    HeapError error{};
    Chunk* chunk = live_chunk(pointer, error);
    if (chunk == nullptr) {
        report(error, pointer);
        return nullptr;
    }
    if (size > kMaxAllocation)
        return nullptr;
    const size_t need = chunk_size_for(size);
    const size_t before = chunk->size;
    auto* next = at<Chunk>(address(chunk) + chunk->size);
    if (need > chunk->size && next->magic == kFree && chunk->size + next->size >= need) {
        remove_free(next);
        chunk->size += next->size;
        at<Chunk>(address(chunk) + chunk->size)->prev_units = units(chunk->size);
    }
    if (need <= chunk->size) {
        split(chunk, need);
        bytes_in_use_ = bytes_in_use_ - before + chunk->size;
        return pointer;
    }
    void* moved = allocate(size);
    if (moved == nullptr)
        return nullptr;
    __builtin_memcpy(moved, pointer, chunk->size - kHeader);
    release(pointer);
    return moved;
}

size_t Heap::usable_size(const void* pointer) const
{
    HeapError error{};
    const Chunk* chunk = pointer != nullptr ? live_chunk(pointer, error) : nullptr;
    return chunk != nullptr ? chunk->size - kHeader : 0;
}

HeapStats Heap::stats() const
{
    HeapStats s{};
    for (const Region* r = regions_; r != nullptr; r = r->next)
        ++s.regions;
    for (Chunk* bin : bins_) {
        for (const Chunk* c = bin; c != nullptr; c = c->next_free) {
            ++s.free_blocks;
            s.bytes_free += c->size;
            if (c->size > s.largest_free)
                s.largest_free = c->size;
        }
    }
    s.bytes_managed = bytes_managed_;
    s.blocks_in_use = blocks_in_use_;
    s.bytes_in_use = bytes_in_use_;
    s.errors = errors_;
    return s;
}

bool Heap::check() const
{
    size_t free_seen = 0, used_seen = 0, used_bytes = 0, managed = 0;
    for (const Region* r = regions_; r != nullptr; r = r->next) {
        managed += r->size;
        const uintptr_t end = address(r) + r->size - kFenceSize; // the fence
        uintptr_t a = address(r) + sizeof(Region);
        size_t prev_size = 0;
        bool prev_free = false;
        while (a < end) {
            const Chunk* c = at<Chunk>(a);
            if (c->size < kMinChunk || c->size % 16 != 0 || c->size > end - a || c->prev_units != units(prev_size))
                return false;
            if (c->magic == kFree) {
                if (prev_free)
                    return false; // two free neighbours should have merged
                ++free_seen;
            } else if (c->magic == kUsed) {
                ++used_seen;
                used_bytes += c->size;
            } else {
                return false;
            }
            prev_free = c->magic == kFree;
            prev_size = c->size;
            a += c->size;
        }
        const Chunk* fence = at<Chunk>(a);
        if (a != end || fence->magic != kFence || fence->size != 0 || fence->prev_units != units(prev_size))
            return false;
    }
    size_t listed = 0;
    for (size_t i = 0; i < kBins; ++i) {
        if (((bin_mask_ >> i) & 1) != (bins_[i] != nullptr ? 1u : 0u))
            return false;
        const Chunk* back = nullptr;
        for (const Chunk* c = bins_[i]; c != nullptr; c = c->next_free) {
            if (++listed > free_seen || c->magic != kFree || bin_index(c->size) != i || c->prev_free != back)
                return false;
            back = c;
        }
    }
    return listed == free_seen && used_seen == blocks_in_use_ && used_bytes == bytes_in_use_ &&
           managed == bytes_managed_;
}

Heap& global_heap() { return g_heap; }
void heap_init(PageSource source, HeapErrorHandler on_error) { g_heap.init(source, on_error); }
bool heap_add_memory(void* base, size_t size) { return g_heap.add_memory(base, size); }
HeapStats heap_stats() { return g_heap.stats(); }
bool heap_check() { return g_heap.check(); }

} // namespace l4

extern "C" {

void* l4_malloc(size_t size) { return l4::g_heap.allocate(size); }
void l4_free(void* pointer) { l4::g_heap.release(pointer); }
void* l4_realloc(void* pointer, size_t size) { return l4::g_heap.reallocate(pointer, size); }
void* l4_aligned_alloc(size_t alignment, size_t size) { return l4::g_heap.allocate_aligned(alignment, size); }
size_t l4_malloc_usable_size(const void* pointer) { return l4::g_heap.usable_size(pointer); }

void* l4_calloc(size_t count, size_t size)
{
    size_t bytes = 0;
    if (__builtin_mul_overflow(count, size, &bytes))
        return nullptr;
    void* p = l4::g_heap.allocate(bytes);
    if (p != nullptr)
        __builtin_memset(p, 0, bytes); // pages come with any content
    return p;
}

int l4_posix_memalign(void** result, size_t alignment, size_t size)
{
    constexpr int kEnomem = 12, kEinval = 22;
    if (alignment < sizeof(void*) || (alignment & (alignment - 1)) != 0)
        return kEinval;
    void* p = l4::g_heap.allocate_aligned(alignment, size);
    if (p == nullptr)
        return kEnomem;
    *result = p;
    return 0;
}

} // extern "C"
