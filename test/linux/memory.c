/* Memory: brk, anonymous mmap, munmap, mprotect (a write to a read-only page is SIGSEGV, seen
 * in a child's wait status), and EFAULT from a call given unmapped memory. */
#include "check.h"

#include <signal.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>

#define PAGE 4096L

/* Runs `body` in a child; its wait status. */
static int in_child(void (*body)(void *), void *arg)
{
    pid_t child = fork();
    if (child == 0) {
        body(arg);
        _exit(0);
    }
    int status = -1;
    if (waitpid(child, &status, 0) != child)
        return -1;
    return status;
}

static void write_byte(void *p)
{
    *(volatile char *)p = 1;
}

static void read_byte(void *p)
{
    (void)*(volatile char *)p;
}

static void test_brk(void)
{
    uintptr_t start = syscall(SYS_brk, 0);
    CHECK(start != 0);
    CHECK_EQ(syscall(SYS_brk, start + 3 * PAGE), start + 3 * PAGE);
    memset((void *)start, 0xab, 3 * PAGE);
    CHECK_EQ(((unsigned char *)start)[3 * PAGE - 1], 0xab);
    CHECK_EQ(syscall(SYS_brk, start + PAGE), start + PAGE);
    CHECK_EQ(syscall(SYS_brk, 0), start + PAGE);
    CHECK_EQ(syscall(SYS_brk, start + 2 * PAGE), start + 2 * PAGE);
    CHECK_EQ(((unsigned char *)start)[PAGE], 0); /* given back, then new: zeros */
    CHECK_EQ(syscall(SYS_brk, 1), start + 2 * PAGE); /* below the start: unchanged */
    CHECK_EQ(syscall(SYS_brk, start), start);
}

static void test_mmap(void)
{
    char *p = mmap(NULL, 4 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECK(p != MAP_FAILED);
    if (p == MAP_FAILED)
        return; /* nothing to test the rest on */
    CHECK_EQ((uintptr_t)p % PAGE, 0);
    int zeros = 1;
    for (long i = 0; i < 4 * PAGE; i++)
        zeros &= p[i] == 0;
    CHECK_EQ(zeros, 1);
    p[0] = 'a';
    p[4 * PAGE - 1] = 'z';
    CHECK_EQ(p[0] + p[4 * PAGE - 1], 'a' + 'z');

    CHECK_EQ(munmap(p + PAGE, PAGE), 0);
    CHECK_EQ(p[0], 'a');
    int status = in_child(read_byte, p + PAGE);
    CHECK_EQ(WIFSIGNALED(status), 1);
    CHECK_EQ(WTERMSIG(status), SIGSEGV);
    CHECK_ERR(write(1, p + PAGE, 1), EFAULT);
    char buf[8];
    int fd[2];
    CHECK_EQ(pipe(fd), 0);
    CHECK_EQ(write(fd[1], "abcd", 4), 4);
    CHECK_ERR(read(fd[0], p + PAGE, 4), EFAULT);
    close(fd[0]);
    close(fd[1]);
    (void)buf;

    CHECK_EQ(mprotect(p, PAGE, PROT_READ), 0);
    CHECK_EQ(p[0], 'a');
    status = in_child(write_byte, p);
    CHECK_EQ(WIFSIGNALED(status), 1);
    CHECK_EQ(WTERMSIG(status), SIGSEGV);
    CHECK_EQ(mprotect(p, PAGE, PROT_READ | PROT_WRITE), 0);
    status = in_child(write_byte, p);
    CHECK_EQ(WIFEXITED(status), 1);
    CHECK_EQ(mprotect(p + 2 * PAGE, PAGE, PROT_NONE), 0);
    status = in_child(read_byte, p + 2 * PAGE);
    CHECK_EQ(WTERMSIG(status), SIGSEGV);

    CHECK_ERR(mprotect(p + 1, PAGE, PROT_READ), EINVAL);
    CHECK_ERR(munmap(p + 1, PAGE), EINVAL);
    CHECK_ERR(munmap(p, 0), EINVAL);
    CHECK_ERR(mmap(NULL, 0, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0), EINVAL);
    CHECK_ERR(mmap(NULL, PAGE, PROT_READ, MAP_ANONYMOUS, -1, 0), EINVAL); /* neither private nor shared */
    CHECK_ERR(mmap(NULL, PAGE, PROT_READ, MAP_PRIVATE, 999, 0), EBADF);
    CHECK_EQ(munmap(p, 4 * PAGE), 0);
    CHECK_EQ(munmap(p, 4 * PAGE), 0); /* nothing there: still fine */

    /* A fixed mapping where we say. */
    char *want = (char *)0x7000000000L;
    char *q = mmap(want, 2 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
    CHECK_EQ((uintptr_t)q, (uintptr_t)want);
    q[PAGE] = 5;
    CHECK_EQ(q[PAGE], 5);
    CHECK_EQ(munmap(q, 2 * PAGE), 0);

    /* A large one, touched sparsely. */
    char *big = mmap(NULL, 64L << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECK(big != MAP_FAILED);
    big[0] = 1;
    big[(64L << 20) - 1] = 2;
    CHECK_EQ(big[0] + big[(64L << 20) - 1], 3);
    CHECK_EQ(munmap(big, 64L << 20), 0);
}

static void test_efault(void)
{
    struct timespec *wild_ts = WILD;
    CHECK_ERR(syscall(SYS_clock_gettime, CLOCK_MONOTONIC, wild_ts), EFAULT);
    CHECK_ERR(syscall(SYS_uname, WILD), EFAULT);
    CHECK_ERR(syscall(SYS_pipe, WILD), EFAULT);
    CHECK_ERR(syscall(SYS_getcwd, WILD, 100), EFAULT);
}

int main(void)
{
    test_brk();
    test_mmap();
    test_efault();
    return check_summary("memory");
}
