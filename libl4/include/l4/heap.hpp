// The user-side heap: malloc/free (l4/libc.hpp) and operator new/delete over pages that a
// callback supplies.
//
//   l4::heap_init(get_pages);            // then malloc, new, ...
//   l4::heap_add_memory(arena, sizeof arena);   // or (also) hand it memory directly
//
// A boundary-tag allocator: every block has a 16-byte header (its size, its neighbour's size
// and a used/free mark), blocks are 16-byte aligned, a freed block merges with free neighbours
// at once, and free blocks sit in power-of-two size bins searched first-fit. Pages are never
// given back. Freeing a block twice, or a pointer that is no block, is noticed in most cases
// (the mark is checked) and then ignored and reported to the error handler; in user tasks the
// default handler prints the error and ends the thread.
//
// Not thread-safe: there is no lock. A task whose threads share the heap must serialize its
// use. malloc before heap_init returns null (there is no memory yet).
//
// Portable: the host unit tests build this too (with the l4_ names, see l4/libc.hpp).
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "l4/abi/address_space.hpp"

namespace l4 {

constexpr size_t kHeapPageSize = abi::kPageSize;
constexpr size_t kHeapAlignment = 16;

// `count` contiguous pages of kHeapPageSize bytes (page-aligned, any content), or null.
using PageSource = void* (*)(size_t count);

enum class HeapError : uint8_t {
    double_free,     // the block is already free
    invalid_pointer, // not the start of a heap block (misaligned, or no block mark before it)
    corrupted,       // a block's header disagrees with its neighbour's (overwritten)
};
const char* describe(HeapError error);

using HeapErrorHandler = void (*)(HeapError error, const void* pointer);

#if __STDC_HOSTED__
inline constexpr HeapErrorHandler kDefaultHeapErrorHandler = nullptr; // count and ignore
#else
// Prints "heap: double free of 0x..." and ends the calling thread (src/console.cpp).
[[noreturn]] void heap_fatal(HeapError error, const void* pointer);
inline constexpr HeapErrorHandler kDefaultHeapErrorHandler = heap_fatal;
#endif

struct HeapStats {
    size_t regions;       // separate runs of memory (adjacent runs are merged)
    size_t bytes_managed; // in those runs
    size_t blocks_in_use; // live allocations
    size_t bytes_in_use;  // their block sizes, headers and rounding included
    size_t free_blocks;
    size_t bytes_free;   // free block sizes, headers included
    size_t largest_free; // the largest free block's size, header included
    size_t errors;       // bad frees and reallocs noticed (and ignored)
};

class Heap {
public:
    // Requests above this fail (blocks must fit the headers' 32-bit size fields).
    static constexpr size_t kMaxAllocation = size_t{1} << 34;

    constexpr Heap() = default;
    Heap(const Heap&) = delete;
    Heap& operator=(const Heap&) = delete;

    // Forgets any earlier memory: call once, before the first allocation.
    void init(PageSource source, HeapErrorHandler on_error = kDefaultHeapErrorHandler);
    // Adds [base, base + size) (any alignment; tiny pieces are refused). Memory that directly
    // follows the last run added is merged with it.
    bool add_memory(void* base, size_t size);

    [[nodiscard]] void* allocate(size_t size); // 0 gives a unique minimal block
    // alignment a power of two (16 and less are the default); null otherwise or when out.
    [[nodiscard]] void* allocate_aligned(size_t alignment, size_t size);
    // realloc: null pointer allocates, size 0 frees (null result); grows in place when the
    // next block is free. On failure the old block is left as it was.
    [[nodiscard]] void* reallocate(void* pointer, size_t size);
    void release(void* pointer); // null: nothing

    size_t usable_size(const void* pointer) const; // 0 for null or a pointer that is no live block
    HeapStats stats() const;
    // Walks every block and free list; false on any inconsistency (for tests and debugging).
    bool check() const;

private:
    struct Chunk;
    struct Region;
    static constexpr size_t kBins = 32;

    bool grow(size_t chunk_size);
    Chunk* find_fit(size_t chunk_size) const;
    void insert_free(Chunk* chunk);
    void remove_free(Chunk* chunk);
    void free_chunk(Chunk* chunk);
    void split(Chunk* chunk, size_t keep);
    Chunk* live_chunk(const void* pointer, HeapError& error) const;
    void report(HeapError error, const void* pointer);

    PageSource source_ = nullptr;
    HeapErrorHandler on_error_ = kDefaultHeapErrorHandler;
    Region* regions_ = nullptr; // newest first
    Chunk* bins_[kBins] = {};
    uint64_t bin_mask_ = 0; // bit i: bins_[i] is not empty
    size_t bytes_managed_ = 0;
    size_t blocks_in_use_ = 0;
    size_t bytes_in_use_ = 0;
    size_t errors_ = 0;
};

// The heap behind malloc and operator new.
Heap& global_heap();
void heap_init(PageSource source, HeapErrorHandler on_error = kDefaultHeapErrorHandler);
bool heap_add_memory(void* base, size_t size);
HeapStats heap_stats();
bool heap_check();

} // namespace l4
