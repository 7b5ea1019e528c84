/* The rest: uname, getrandom, prctl names, arch_prctl, prlimit64, sysinfo, and ENOSYS for a
 * system call number Linux does not have. */
#include "check.h"

#include <asm/prctl.h>
#include <stdint.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/sysinfo.h>
#include <sys/utsname.h>

static void test_uname(void)
{
    struct utsname u;
    CHECK_EQ(syscall(SYS_uname, &u), 0);
    CHECK_STR(u.sysname, "Linux");
    CHECK_STR(u.machine, "x86_64");
    CHECK(u.release[0] >= '3' && u.release[0] <= '9');
    CHECK(u.nodename[0] != 0);
}

static void test_getrandom(void)
{
    unsigned char a[32] = {0}, b[32] = {0};
    CHECK_EQ(syscall(SYS_getrandom, a, sizeof a, 0), 32);
    CHECK_EQ(syscall(SYS_getrandom, b, sizeof b, 1 /* GRND_NONBLOCK */), 32);
    CHECK(memcmp(a, b, sizeof a) != 0);
    int zeros = 0;
    for (unsigned i = 0; i < sizeof a; i++)
        zeros += a[i] == 0;
    CHECK(zeros < 8);
    CHECK_EQ(syscall(SYS_getrandom, a, 0, 0), 0);
    CHECK_ERR(syscall(SYS_getrandom, a, sizeof a, 0x100), EINVAL);
    CHECK_ERR(syscall(SYS_getrandom, WILD, 16, 0), EFAULT);
}

static void test_prctl(void)
{
    char name[32] = {0};
    CHECK_EQ(prctl(PR_SET_NAME, "kestrel-misc-long-name"), 0);
    CHECK_EQ(prctl(PR_GET_NAME, name), 0);
    CHECK_STR(name, "kestrel-misc-lo"); /* 15 bytes and the NUL */
    CHECK_EQ(prctl(PR_SET_NAME, "short"), 0);
    CHECK_EQ(prctl(PR_GET_NAME, name), 0);
    CHECK_STR(name, "short");
    CHECK_ERR(prctl(PR_SET_NAME, WILD), EFAULT);
    CHECK_ERR(prctl(9999, 0), EINVAL);
}

static __thread int tls_value = 1234;

static void test_arch_prctl(void)
{
    unsigned long fs = 0;
    CHECK_EQ(syscall(SYS_arch_prctl, ARCH_GET_FS, &fs), 0);
    CHECK(fs != 0);
    CHECK_EQ(tls_value, 1234);
    unsigned long here;
    __asm__("mov %%fs:0, %0" : "=r"(here)); /* the TCB points at itself */
    CHECK_EQ(here, fs);
    CHECK_EQ(syscall(SYS_arch_prctl, ARCH_SET_FS, fs), 0);
    CHECK_EQ(tls_value, 1234);
    CHECK_ERR(syscall(SYS_arch_prctl, 0x9999, 0), EINVAL);
    CHECK_ERR(syscall(SYS_arch_prctl, ARCH_GET_FS, WILD), EFAULT);
}

static void test_limits(void)
{
    struct rlimit old;
    CHECK_EQ(syscall(SYS_prlimit64, 0, RLIMIT_STACK, NULL, &old), 0);
    CHECK(old.rlim_cur > 0);
    CHECK(old.rlim_cur <= old.rlim_max);
    struct rlimit files;
    CHECK_EQ(syscall(SYS_prlimit64, 0, RLIMIT_NOFILE, NULL, &files), 0);
    CHECK(files.rlim_cur >= 16);
    CHECK_ERR(syscall(SYS_prlimit64, 0, 999, NULL, &old), EINVAL);
    CHECK_ERR(syscall(SYS_prlimit64, 0, RLIMIT_STACK, NULL, WILD), EFAULT);

    struct sysinfo si;
    memset(&si, 0, sizeof si);
    CHECK_EQ(syscall(SYS_sysinfo, &si), 0);
    CHECK(si.totalram > 0);
    CHECK(si.freeram <= si.totalram);
    CHECK(si.mem_unit >= 1);
    CHECK(si.procs >= 1);
    CHECK_ERR(syscall(SYS_sysinfo, WILD), EFAULT);
}

int main(void)
{
    test_uname();
    test_getrandom();
    test_prctl();
    test_arch_prctl();
    test_limits();
    CHECK_ERR(syscall(500), ENOSYS); /* past the table (this host kills callers of far larger ones) */
    return check_summary("misc");
}
