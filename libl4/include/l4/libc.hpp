// The small C library of libl4: string, character and heap functions.
//
// Each function is implemented once under an l4_ name (src/libc/l4_string.cpp, src/heap.cpp),
// portable, so the host unit tests link those without clashing with the host's C library. User
// tasks also get the standard names (strcmp, malloc, ...), which forward to the l4_ ones
// (src/libc/string_names.cpp, malloc_names.cpp); they are declared here only in freestanding
// builds. Do not mix this header with a hosted <string.h> or <stdlib.h>.
//
// Not thread-safe where state is involved (the heap): see l4/heap.hpp.
#pragma once

#include <stddef.h>

#include "common/string.hpp"

extern "C" {

// Strings and memory ------------------------------------------------------------------------
int l4_strcmp(const char* a, const char* b);
int l4_strncmp(const char* a, const char* b, size_t count);
char* l4_strchr(const char* text, int c); // c == '\0' finds the terminator
char* l4_strrchr(const char* text, int c);
size_t l4_strnlen(const char* text, size_t limit);
void* l4_memchr(const void* memory, int c, size_t count);
// Copies at most size - 1 characters and always NUL-terminates (size > 0); returns
// strlen(source), so `result >= size` means the copy was cut.
size_t l4_strlcpy(char* destination, const char* source, size_t size);
// Appends like strlcpy; returns the length the whole string would have had.
size_t l4_strlcat(char* destination, const char* source, size_t size);
// Base 0 (0x/0 prefixes), 2..36. Skips leading spaces, takes an optional sign (a '-' negates
// modulo 2^64, as in C), saturates at ~0 on overflow. *end (if given) gets the first
// character not used, or `text` when there were no digits.
unsigned long long l4_strtoull(const char* text, char** end, int base);

// Characters (the "C" locale; EOF and values outside unsigned char are never members) ---------
int l4_isdigit(int c);
int l4_isxdigit(int c);
int l4_isalpha(int c);
int l4_isalnum(int c);
int l4_isspace(int c);
int l4_isupper(int c);
int l4_islower(int c);
int l4_isprint(int c);
int l4_ispunct(int c);
int l4_toupper(int c);
int l4_tolower(int c);

// Heap (l4/heap.hpp: the global heap after l4::heap_init) -------------------------------------
void* l4_malloc(size_t size);                                        // size 0: a unique minimal block
void l4_free(void* pointer);                                         // null: nothing
void* l4_calloc(size_t count, size_t size);                          // zeroed; null if count * size overflows
void* l4_realloc(void* pointer, size_t size);                        // size 0: frees and returns null
void* l4_aligned_alloc(size_t alignment, size_t size);               // alignment: a power of two
int l4_posix_memalign(void** result, size_t alignment, size_t size); // 0, or 12 (ENOMEM) / 22 (EINVAL)
size_t l4_malloc_usable_size(const void* pointer);

#if !__STDC_HOSTED__
// The standard names, user tasks only. (memcpy, memset, memmove, memcmp and strlen are
// common/string.hpp's, shared with the kernel.)
int strcmp(const char* a, const char* b);
int strncmp(const char* a, const char* b, size_t count);
char* strchr(const char* text, int c);
char* strrchr(const char* text, int c);
size_t strnlen(const char* text, size_t limit);
void* memchr(const void* memory, int c, size_t count);
size_t strlcpy(char* destination, const char* source, size_t size);
size_t strlcat(char* destination, const char* source, size_t size);
unsigned long long strtoull(const char* text, char** end, int base);
unsigned long strtoul(const char* text, char** end, int base);

int isdigit(int c);
int isxdigit(int c);
int isalpha(int c);
int isalnum(int c);
int isspace(int c);
int isupper(int c);
int islower(int c);
int isprint(int c);
int ispunct(int c);
int toupper(int c);
int tolower(int c);

void* malloc(size_t size);
void free(void* pointer);
void* calloc(size_t count, size_t size);
void* realloc(void* pointer, size_t size);
void* aligned_alloc(size_t alignment, size_t size);
int posix_memalign(void** result, size_t alignment, size_t size);
size_t malloc_usable_size(const void* pointer);
#endif

} // extern "C"
