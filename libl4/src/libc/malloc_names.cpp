// The standard names of the heap functions, for user tasks only (see l4/libc.hpp).
#include "l4/libc.hpp"

extern "C" {

void* malloc(size_t size) { return l4_malloc(size); }
void free(void* pointer) { l4_free(pointer); }
void* calloc(size_t count, size_t size) { return l4_calloc(count, size); }
void* realloc(void* pointer, size_t size) { return l4_realloc(pointer, size); }
void* aligned_alloc(size_t alignment, size_t size) { return l4_aligned_alloc(alignment, size); }
int posix_memalign(void** result, size_t alignment, size_t size) { return l4_posix_memalign(result, alignment, size); }
size_t malloc_usable_size(const void* pointer) { return l4_malloc_usable_size(pointer); }

} // extern "C"
