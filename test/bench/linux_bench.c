/* The same static Linux program measured in pv-linux-shim and on Debian's Linux kernel, both
 * in QEMU TCG with -icount shift=0 (the TSC then counts the whole machine's instructions:
 * scripts/bench). Each line: "linux-bench: NAME median M min N" over RUNS samples.
 * As init (pid 1) it powers the machine off at the end. */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/reboot.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

enum { kMaxRuns = 2000, kPage = 4096 };

static uint64_t samples[kMaxRuns];

static inline uint64_t tsc(void)
{
    uint32_t lo, hi;
    __asm__ volatile("lfence; rdtsc" : "=a"(lo), "=d"(hi)::"memory");
    return (uint64_t)hi << 32 | lo;
}

static int compare(const void* a, const void* b)
{
    const uint64_t x = *(const uint64_t*)a, y = *(const uint64_t*)b;
    return x < y ? -1 : x > y;
}

static void report(const char* name, int runs)
{
    qsort(samples, (size_t)runs, sizeof samples[0], compare);
    printf("linux-bench: %s median %llu min %llu\n", name, (unsigned long long)samples[runs / 2],
           (unsigned long long)samples[0]);
    fflush(stdout);
}

static void fail(const char* what)
{
    printf("linux-bench: FAILED: %s\n", what);
    fflush(stdout);
    exit(1);
}

static void getpid_cost(void)
{
    for (int i = 0; i < kMaxRuns; ++i) {
        const uint64_t start = tsc();
        syscall(SYS_getpid); /* not glibc's getpid(), which may be cached */
        samples[i] = tsc() - start;
    }
    report("getpid", kMaxRuns);
}

/* fork, the child exits at once (or runs busybox's `true` first), the parent waits for it. */
static void fork_wait(const char* name, int runs, int exec_true)
{
    for (int i = 0; i < runs; ++i) {
        const uint64_t start = tsc();
        const pid_t child = fork();
        if (child == 0) {
            char* const argv[] = {"true", NULL};
            if (exec_true)
                execv("/bin/true", argv);
            _exit(exec_true ? 127 : 0);
        }
        int status = 0;
        if (child < 0 || waitpid(child, &status, 0) != child || status != 0)
            fail(name);
        samples[i] = tsc() - start;
    }
    report(name, runs);
}

/* One byte to a child and back through two pipes; and 1 MiB one way in 4 KiB writes. */
static void pipes(void)
{
    int there[2], back[2];
    if (pipe(there) != 0 || pipe(back) != 0)
        fail("pipe");
    const int runs = 400;
    pid_t child = fork();
    if (child == 0) {
        char byte;
        close(there[1]); /* or its own copy would keep the pipe from ending */
        close(back[0]);
        while (read(there[0], &byte, 1) == 1)
            if (write(back[1], &byte, 1) != 1)
                _exit(1);
        _exit(0);
    }
    close(there[0]);
    close(back[1]);
    for (int i = 0; i < runs; ++i) {
        char byte = (char)i;
        const uint64_t start = tsc();
        if (write(there[1], &byte, 1) != 1 || read(back[0], &byte, 1) != 1 || byte != (char)i)
            fail("pipe round trip");
        samples[i] = tsc() - start;
    }
    close(there[1]);
    close(back[0]);
    waitpid(child, NULL, 0);
    report("pipe_round_trip", runs);

    static char buffer[kPage];
    const int mib_runs = 5;
    for (int r = 0; r < mib_runs; ++r) {
        int p[2];
        if (pipe(p) != 0)
            fail("pipe");
        const uint64_t start = tsc();
        child = fork();
        if (child == 0) {
            close(p[1]);
            size_t total = 0;
            ssize_t n;
            while ((n = read(p[0], buffer, sizeof buffer)) > 0)
                total += (size_t)n;
            _exit(total == (1u << 20) ? 0 : 1);
        }
        close(p[0]);
        for (int i = 0; i < (1 << 20) / kPage; ++i)
            if (write(p[1], buffer, sizeof buffer) != sizeof buffer)
                fail("pipe write");
        close(p[1]);
        int status = 0;
        if (waitpid(child, &status, 0) != child || status != 0)
            fail("pipe throughput");
        samples[r] = tsc() - start;
    }
    report("pipe_1mib", mib_runs);
}

/* The first write to fresh anonymous pages; then writes to pages shared copy-on-write after
 * fork, in the child. */
static void faults(void)
{
    const int pages = 256;
    char* area = mmap(NULL, (size_t)pages * kPage, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (area == MAP_FAILED)
        fail("mmap");
    for (int i = 0; i < pages; ++i) {
        const uint64_t start = tsc();
        area[(size_t)i * kPage] = 1;
        samples[i] = tsc() - start;
    }
    report("page_fault", pages);

    int p[2];
    if (pipe(p) != 0)
        fail("pipe");
    const pid_t child = fork();
    if (child == 0) {
        for (int i = 0; i < pages; ++i) {
            const uint64_t start = tsc();
            area[(size_t)i * kPage] = 2;
            samples[i] = tsc() - start;
        }
        _exit(write(p[1], samples, (size_t)pages * sizeof samples[0]) == (ssize_t)(pages * sizeof samples[0]) ? 0 : 1);
    }
    close(p[1]);
    size_t got = 0;
    while (got < (size_t)pages * sizeof samples[0]) {
        const ssize_t n = read(p[0], (char*)samples + got, (size_t)pages * sizeof samples[0] - got);
        if (n <= 0)
            fail("cow samples");
        got += (size_t)n;
    }
    int status = 0;
    if (waitpid(child, &status, 0) != child || status != 0 || area[0] != 1)
        fail("copy-on-write");
    report("cow_fault", pages);
}

int main(void)
{
    samples[0] = tsc(); /* the machine's instructions since QEMU started: its boot to here */
    report("boot_to_init", 1);
    getpid_cost();
    fork_wait("fork_exit_wait", 40, 0);
    fork_wait("fork_exec_wait", 20, 1);
    pipes();
    faults();
    printf("linux-bench: done\n");
    fflush(stdout);
    if (getpid() == 1)
        reboot(RB_POWER_OFF);
    return 0;
}
