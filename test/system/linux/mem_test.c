// pv-linux-shim's memory and processes, as a static Linux program sees them: fork is
// copy-on-write (private writes stay private, also a system call's; a parent bigger than free
// memory can still fork), MAP_SHARED anonymous memory stays shared across fork, futex waits and
// wakes (also between processes), fork beyond the process limit is EAGAIN and the shim
// recovers, and running out of memory kills only the process that faulted. Prints each check
// that fails and ends with "N passed, N failed"; the exit status is the failure count.
#define _GNU_SOURCE
#include <errno.h>
#include <linux/futex.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static int passed, failed;

#define CHECK(condition)                                                                                               \
    do {                                                                                                               \
        if (condition)                                                                                                 \
            ++passed;                                                                                                  \
        else {                                                                                                         \
            ++failed;                                                                                                  \
            printf("FAILED line %d: %s (errno %d)\n", __LINE__, #condition, errno);                                   \
        }                                                                                                              \
    } while (0)

static long futex(void* word, int op, uint32_t value, const struct timespec* timeout, uint32_t bitset)
{
    return syscall(SYS_futex, word, op, value, timeout, NULL, bitset);
}

// The child's exit status, or 1000 + its signal.
static int reap(pid_t pid)
{
    int status = 0;
    if (waitpid(pid, &status, 0) != pid)
        return -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 1000 + WTERMSIG(status);
}

static void pause_ms(long ms)
{
    struct timespec t = {0, ms * 1000000};
    nanosleep(&t, NULL);
}

static char global[8192] = "parent";

// Private writes after fork stay private, on both sides; so does a system call's write (read
// into a page both still share).
static void copy_on_write(void)
{
    char* heap = mmap(NULL, 16 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    memset(heap, 'p', 16 * 4096);
    int to_child[2], to_parent[2];
    CHECK(pipe(to_child) == 0 && pipe(to_parent) == 0);
    pid_t pid = fork();
    if (pid == 0) {
        int bad = strcmp(global, "parent") != 0 || heap[5 * 4096] != 'p';
        strcpy(global, "child");
        heap[5 * 4096] = 'c';
        char got[8] = {0};
        bad |= read(to_child[0], heap + 7 * 4096, 6) != 6 || memcmp(heap + 7 * 4096, "hello!", 6) != 0;
        bad |= write(to_parent[1], "x", 1) != 1;
        bad |= read(to_child[0], got, 1) != 1 || strcmp(global, "child") != 0 || heap[5 * 4096] != 'c';
        _exit(bad ? 3 : 7);
    }
    CHECK(pid > 0);
    char x;
    CHECK(write(to_child[1], "hello!", 6) == 6);
    CHECK(read(to_parent[0], &x, 1) == 1); // the child wrote all it writes
    CHECK(strcmp(global, "parent") == 0);
    CHECK(heap[5 * 4096] == 'p' && heap[7 * 4096] == 'p');
    strcpy(global, "parent2"); // the parent's write, while the child still lives
    heap[5 * 4096] = 'q';
    CHECK(write(to_child[1], "y", 1) == 1);
    CHECK(reap(pid) == 7);
    CHECK(strcmp(global, "parent2") == 0 && heap[5 * 4096] == 'q');
    for (int i = 0; i < 2; ++i) {
        close(to_child[i]);
        close(to_parent[i]);
    }
    munmap(heap, 16 * 4096);
}

// A parent with more memory touched than is free forks four children (copying would need four
// times that): each reads all of it and writes a page of its own.
static void big_parent(void)
{
    const size_t bytes = 12u << 20;
    unsigned char* big = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECK(big != MAP_FAILED);
    for (size_t i = 0; i < bytes; i += 4096)
        big[i] = (unsigned char)(i >> 12);
    pid_t pids[4];
    int forked = 0;
    for (int n = 0; n < 4; ++n) {
        pids[n] = fork();
        if (pids[n] == 0) {
            int bad = 0;
            for (size_t i = 0; i < bytes; i += 4096)
                bad |= big[i] != (unsigned char)(i >> 12);
            big[n * 4096] = 0xee;
            pause_ms(50);
            _exit(bad ? 1 : 10 + n);
        }
        forked += pids[n] > 0;
    }
    CHECK(forked == 4);
    for (int n = 0; n < 4; ++n)
        CHECK(pids[n] > 0 && reap(pids[n]) == 10 + n);
    int same = 1;
    for (size_t i = 0; i < bytes; i += 4096)
        same &= big[i] == (unsigned char)(i >> 12);
    CHECK(same);
    printf("mem-test: 4 forks of a %zu MiB parent\n", bytes >> 20);
    munmap(big, bytes);
}

// MAP_SHARED|MAP_ANONYMOUS stays shared with the child: a page touched before fork, and one not.
static void shared_mapping(void)
{
    volatile int* shared = mmap(NULL, 2 * 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    CHECK(shared != MAP_FAILED);
    shared[0] = 1;
    pid_t pid = fork();
    if (pid == 0) {
        shared[0] = 41;
        shared[1024] = 42;
        _exit(0);
    }
    CHECK(reap(pid) == 0);
    CHECK(shared[0] == 41 && shared[1024] == 42);
    munmap((void*)shared, 2 * 4096);
}

// futex's answers on one process, then a wait woken by another process over shared memory.
static void futexes(void)
{
    static uint32_t word = 5;
    struct timespec short_wait = {0, 20 * 1000000}, bad = {0, 1000000000};
    errno = 0;
    CHECK(futex(&word, FUTEX_WAIT_PRIVATE, 6, NULL, 0) == -1 && errno == EAGAIN);
    CHECK(futex(&word, FUTEX_WAIT_PRIVATE, 5, &short_wait, 0) == -1 && errno == ETIMEDOUT);
    CHECK(futex(&word, FUTEX_WAIT, 5, &bad, 0) == -1 && errno == EINVAL);
    CHECK(futex((char*)&word + 1, FUTEX_WAIT, 5, NULL, 0) == -1 && errno == EINVAL);
    CHECK(futex((void*)16, FUTEX_WAIT, 0, NULL, 0) == -1 && errno == EFAULT);
    CHECK(futex(&word, FUTEX_WAIT, 5, (void*)16, 0) == -1 && errno == EFAULT);
    CHECK(futex(&word, 99, 0, NULL, 0) == -1 && errno == ENOSYS);
    CHECK(futex(&word, FUTEX_WAIT_BITSET, 5, NULL, 0) == -1 && errno == EINVAL);
    CHECK(futex(&word, FUTEX_WAKE_PRIVATE, 1, NULL, 0) == 0);

    uint32_t* shared = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    shared[0] = 0;
    pid_t pid = fork();
    if (pid == 0) {
        _exit(futex(&shared[0], FUTEX_WAIT, 0, NULL, 0) == 0 ? 0 : 1);
    }
    // Wakes until the child waits (each try that finds no one says 0): exactly one woken.
    long woken = 0;
    for (int tries = 0; tries < 2000 && woken == 0; ++tries) {
        woken = futex(&shared[0], FUTEX_WAKE, 1, NULL, 0);
        if (woken == 0)
            pause_ms(1);
    }
    CHECK(woken == 1);
    CHECK(reap(pid) == 0);
    munmap(shared, 4096);
}

// Fork until the process table is full: EAGAIN, every child there, and then all of them gone
// and fork working again.
static void fork_limit(void)
{
    int release[2];
    CHECK(pipe(release) == 0);
    pid_t pids[100];
    int count = 0, last_errno = 0;
    while (count < 100) {
        pid_t pid = fork();
        if (pid == 0) {
            char c;
            close(release[1]);
            _exit(read(release[0], &c, 1) == 0 ? 0 : 1); // until the parent closes its end
        }
        if (pid < 0) {
            last_errno = errno;
            break;
        }
        pids[count++] = pid;
    }
    printf("mem-test: %d processes forked, then errno %d\n", count, last_errno);
    CHECK(last_errno == EAGAIN);
    close(release[1]);
    int clean = 0;
    for (int i = 0; i < count; ++i)
        clean += reap(pids[i]) == 0;
    CHECK(clean == count);
    close(release[0]);
    pid_t pid = fork();
    if (pid == 0)
        _exit(5);
    CHECK(pid > 0 && reap(pid) == 5);
}

// Children that touch more memory than there is: one holds 14 MiB while another touches
// pages until none is left and dies of SIGSEGV; the first, and the parent, go on.
static void exhaustion(void)
{
    volatile uint64_t* pages = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    int release[2];
    CHECK(pipe(release) == 0);
    pages[0] = pages[1] = 0;
    pid_t holder = fork();
    if (holder == 0) {
        const size_t bytes = 14u << 20;
        char* held = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        for (size_t i = 0; held != MAP_FAILED && i < bytes; i += 4096)
            held[i] = 1;
        pages[1] = 1;
        char c;
        close(release[1]);
        _exit(read(release[0], &c, 1) == 0 && held != MAP_FAILED ? 0 : 1);
    }
    while (pages[1] == 0)
        pause_ms(1);
    pid_t pid = fork();
    if (pid == 0) {
        const size_t bytes = 1ul << 30;
        char* huge = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        for (size_t i = 0; huge != MAP_FAILED && i < bytes; i += 4096, ++pages[0])
            huge[i] = 1;
        _exit(2);
    }
    CHECK(reap(pid) == 1000 + SIGSEGV);
    printf("mem-test: a child touched %llu pages, then SIGSEGV\n", (unsigned long long)pages[0]);
    CHECK(pages[0] > 1000);
    close(release[1]);
    CHECK(reap(holder) == 0);
    close(release[0]);
    errno = 0;
    CHECK(mmap(NULL, 1ul << 47, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0) == MAP_FAILED && errno == ENOMEM);
    // mprotect and munmap of a range far larger than what is mapped there (the shim walks its
    // page map, not the range).
    char* vast = mmap(NULL, 1ul << 45, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECK(vast != MAP_FAILED);
    CHECK(mprotect(vast, 1ul << 45, PROT_READ | PROT_WRITE) == 0);
    vast[12345 * 4096] = 1;
    CHECK(munmap(vast, 1ul << 45) == 0);
    munmap((void*)pages, 4096);
}

int main(void)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    copy_on_write();
    big_parent();
    shared_mapping();
    futexes();
    fork_limit();
    exhaustion();
    printf("mem-test: %d passed, %d failed\n", passed, failed);
    return failed;
}
