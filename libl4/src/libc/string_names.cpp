// The standard names of libl4's string and character functions, for user tasks only (the host
// tests use the l4_ names, beside the host's C library).
#include "l4/libc.hpp"

extern "C" {

int strcmp(const char* a, const char* b) { return l4_strcmp(a, b); }
int strncmp(const char* a, const char* b, size_t count) { return l4_strncmp(a, b, count); }
char* strchr(const char* text, int c) { return l4_strchr(text, c); }
char* strrchr(const char* text, int c) { return l4_strrchr(text, c); }
size_t strnlen(const char* text, size_t limit) { return l4_strnlen(text, limit); }
void* memchr(const void* memory, int c, size_t count) { return l4_memchr(memory, c, count); }
size_t strlcpy(char* destination, const char* source, size_t size) { return l4_strlcpy(destination, source, size); }
size_t strlcat(char* destination, const char* source, size_t size) { return l4_strlcat(destination, source, size); }
unsigned long long strtoull(const char* text, char** end, int base) { return l4_strtoull(text, end, base); }
unsigned long strtoul(const char* text, char** end, int base) { return l4_strtoull(text, end, base); }

int isdigit(int c) { return l4_isdigit(c); }
int isxdigit(int c) { return l4_isxdigit(c); }
int isalpha(int c) { return l4_isalpha(c); }
int isalnum(int c) { return l4_isalnum(c); }
int isspace(int c) { return l4_isspace(c); }
int isupper(int c) { return l4_isupper(c); }
int islower(int c) { return l4_islower(c); }
int isprint(int c) { return l4_isprint(c); }
int ispunct(int c) { return l4_ispunct(c); }
int toupper(int c) { return l4_toupper(c); }
int tolower(int c) { return l4_tolower(c); }

} // extern "C"
