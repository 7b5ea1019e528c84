/* A tiny check library for the Linux C tests: each failed check prints its line with the
 * expected and actual values; check_summary() prints "NAME: N passed, N failed" and gives the
 * exit status (0 only if none failed). The tests call the kernel through raw syscall(2) where
 * glibc would hide what the kernel answered, so they test the kernel, not the library. */
#ifndef KESTREL_TEST_CHECK_H
#define KESTREL_TEST_CHECK_H

#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

static int check_passed, check_failed;

static void check_report(int ok, const char *file, int line, const char *what, long long want,
                         long long got)
{
    if (ok) {
        check_passed++;
        return;
    }
    check_failed++;
    printf("%s:%d: %s: expected %lld, got %lld\n", file, line, what, want, got);
    fflush(stdout);
}

#define CHECK_EQ(actual, expected)                                                              \
    do {                                                                                        \
        long long got_ = (long long)(actual), want_ = (long long)(expected);                    \
        check_report(got_ == want_, __FILE__, __LINE__, #actual " == " #expected, want_, got_); \
    } while (0)

#define CHECK(cond) check_report(!!(cond), __FILE__, __LINE__, #cond, 1, !!(cond))

/* A call that must fail with -1 and errno `err`. */
#define CHECK_ERR(call, err)                                                              \
    do {                                                                                  \
        errno = 0;                                                                        \
        long long r_ = (long long)(call);                                                 \
        int e_ = errno;                                                                   \
        check_report(r_ == -1, __FILE__, __LINE__, #call " fails", -1, r_);               \
        check_report(e_ == (err), __FILE__, __LINE__, #call " errno " #err, (err), e_);   \
    } while (0)

#define CHECK_STR(actual, expected)                                                     \
    do {                                                                                \
        const char *got_ = (actual), *want_ = (expected);                               \
        int ok_ = got_ != NULL && strcmp(got_, want_) == 0;                             \
        if (!ok_)                                                                       \
            printf("%s:%d: %s: expected \"%s\", got \"%s\"\n", __FILE__, __LINE__,      \
                   #actual, want_, got_ ? got_ : "(null)");                             \
        check_report(ok_, __FILE__, __LINE__, #actual, 1, ok_);                         \
    } while (0)

#define CHECK_MEM(actual, expected, n) CHECK(memcmp((actual), (expected), (n)) == 0)

/* An address nothing is mapped at, for EFAULT (through a volatile, so the compiler cannot
 * see it is wild). */
static volatile unsigned long check_wild_address = 0x10;
#define WILD ((void *)check_wild_address)

static int check_summary(const char *name)
{
    printf("%s: %d passed, %d failed\n", name, check_passed, check_failed);
    fflush(stdout);
    return check_failed != 0;
}

#endif
