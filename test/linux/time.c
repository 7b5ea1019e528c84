/* Time: the monotonic clock goes forward, nanosleep sleeps at least as asked, and the
 * wall-clock calls agree with each other. */
#include "check.h"

#include <sys/time.h>
#include <time.h>

static long long ns(struct timespec t)
{
    return t.tv_sec * 1000000000LL + t.tv_nsec;
}

int main(void)
{
    struct timespec a, b, c;
    CHECK_EQ(syscall(SYS_clock_gettime, CLOCK_MONOTONIC, &a), 0);
    CHECK_EQ(syscall(SYS_clock_gettime, CLOCK_MONOTONIC, &b), 0);
    CHECK(ns(b) >= ns(a));
    CHECK(a.tv_nsec >= 0 && a.tv_nsec < 1000000000);

    struct timespec nap = {0, 30 * 1000 * 1000}, left = {7, 7};
    CHECK_EQ(syscall(SYS_nanosleep, &nap, &left), 0);
    CHECK_EQ(syscall(SYS_clock_gettime, CLOCK_MONOTONIC, &c), 0);
    CHECK(ns(c) - ns(b) >= 30 * 1000 * 1000);
    struct timespec bad = {0, 1000000000};
    CHECK_ERR(syscall(SYS_nanosleep, &bad, NULL), EINVAL);
    struct timespec negative = {-1, 0};
    CHECK_ERR(syscall(SYS_nanosleep, &negative, NULL), EINVAL);
    CHECK_ERR(syscall(SYS_nanosleep, WILD, NULL), EFAULT);
    CHECK_EQ(syscall(SYS_clock_nanosleep, CLOCK_MONOTONIC, 0, &nap, NULL), 0);
    CHECK_ERR(syscall(SYS_clock_gettime, 12345, &a), EINVAL);

    struct timespec real, coarse, boot;
    CHECK_EQ(syscall(SYS_clock_gettime, CLOCK_REALTIME, &real), 0);
    CHECK_EQ(syscall(SYS_clock_gettime, CLOCK_MONOTONIC_COARSE, &coarse), 0);
    CHECK_EQ(syscall(SYS_clock_gettime, CLOCK_BOOTTIME, &boot), 0);
    struct timeval tv;
    CHECK_EQ(syscall(SYS_gettimeofday, &tv, NULL), 0);
    CHECK(tv.tv_usec >= 0 && tv.tv_usec < 1000000);
    long t = syscall(SYS_time, NULL);
    CHECK(t >= real.tv_sec && t <= real.tv_sec + 2);
    CHECK(tv.tv_sec >= real.tv_sec && tv.tv_sec <= real.tv_sec + 2);
    long stored = 0;
    CHECK_EQ(syscall(SYS_time, &stored), stored);
    CHECK(stored >= t);
    CHECK_ERR(syscall(SYS_time, WILD), EFAULT);
    CHECK_ERR(syscall(SYS_gettimeofday, WILD, NULL), EFAULT);

    struct timespec res;
    CHECK_EQ(syscall(SYS_clock_getres, CLOCK_MONOTONIC, &res), 0);
    CHECK(res.tv_sec == 0 && res.tv_nsec > 0);
    return check_summary("time");
}
