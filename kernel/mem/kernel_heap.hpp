// Kernel heap: power-of-two slabs for small kernel objects, whole pages for big ones.
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "l4/abi/address_space.hpp"

namespace mem {

// Where the heap gets its memory: whole 4 KiB pages, page aligned.
struct PageSource {
    void* context;
    void* (*alloc_pages)(void* context, size_t count); // nullptr on exhaustion
    void (*free_pages)(void* context, void* pages, size_t count);
};

// Size classes 16..2048 bytes, each object aligned to its class size. Each slab is one page
// that starts with a small header (list links and an allocation bitmap), so the object's page
// is found by masking its address and no per-object header is needed: the caller passes the
// size back to free(). Requests above 2048 bytes take whole pages straight from the source.
//
// The header costs each slab one object (four for 16-byte objects, two for 32), which for
// 2048-byte objects means one per page. Not thread-safe: the caller locks.
class KernelHeap {
public:
    static constexpr size_t kPageSize = l4::abi::kPageSize;
    static constexpr size_t kMinSize = 16;
    static constexpr size_t kMaxSlabSize = 2048;
    static constexpr size_t kClassCount = 8; // 16, 32, ..., 2048

    void init(PageSource source);

    // nullptr when size is 0 or the page source is exhausted.
    [[nodiscard]] void* alloc(size_t size);

    // What an object of `size` bytes really costs the heap, to charge a quota with: its
    // share of a slab page, header included (4096 / objects per slab, rounded up), or its
    // whole pages. A charge of charged_size(size) for each of n objects covers every slab
    // page they fill. 0 for size 0.
    static size_t charged_size(size_t size);

    // Caller bugs that free() detects; the heap is left unchanged when it reports one.
    enum class FreeError : uint8_t {
        none,
        not_slab_object, // the page holds no slab (or not one of this heap's size classes)
        size_mismatch,   // the slab's size class is not the one `size` maps to
        misaligned,      // not the start of an object (or of a page, for large sizes)
        double_free,
    };

    // `size` as passed to alloc(); nullptr is a no-op. Anything but FreeError::none is a caller
    // bug the kernel should panic on. Slab objects are checked fully (page, size class, slot,
    // double free); for large objects only page alignment can be checked.
    FreeError free(void* object, size_t size);

    // Returns the cached empty slabs to the page source (memory pressure, or teardown).
    void trim();

    // Bytes handed out, counting what each object really occupies: its class size, or whole
    // pages for large objects.
    size_t bytes_in_use() const { return bytes_in_use_; }
    // Pages taken from the source and not yet given back, cached empty slabs included.
    size_t pages_held() const { return pages_held_; }

    struct Slab; // the per-page header; defined in kernel_heap.cpp

private:
    struct SizeClass {
        Slab* partial = nullptr; // slabs with at least one free and one used object
        Slab* empty = nullptr;   // at most one cached empty slab, to avoid page ping-pong
    };

    Slab* new_slab(size_t class_index);
    void release_slab(Slab* slab);

    PageSource source_{nullptr, nullptr, nullptr};
    SizeClass classes_[kClassCount];
    size_t bytes_in_use_ = 0;
    size_t pages_held_ = 0;
};

} // namespace mem
