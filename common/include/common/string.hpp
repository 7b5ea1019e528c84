// The memory and string functions the compiler may call (and our code calls by name).
//
// Freestanding builds (kernel, user programs) get them from common/src/string.cpp; the host
// tests use the host's C library, so this header is only its <string.h> there.
#pragma once

#include <stddef.h>

#if __STDC_HOSTED__
#include <string.h>
#else
extern "C" {
void* memcpy(void* destination, const void* source, size_t count);
void* memset(void* destination, int value, size_t count);
void* memmove(void* destination, const void* source, size_t count);
int memcmp(const void* a, const void* b, size_t count);
size_t strlen(const char* text);
}
#endif
