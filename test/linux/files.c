/* Files: open flags, reading and writing at offsets, stat in its forms, directories, links,
 * descriptors, and the errno of each bad input. Works in a directory of its own under /tmp. */
#include "check.h"

#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/uio.h>

static long sys(long n, long a, long b, long c, long d, long e)
{
    return syscall(n, a, b, c, d, e);
}

static void test_open_flags(void)
{
    int fd = open("f", O_CREAT | O_EXCL | O_WRONLY, 0644);
    CHECK(fd >= 0);
    CHECK_EQ(write(fd, "hello", 5), 5);
    CHECK_EQ(close(fd), 0);
    CHECK_ERR(open("f", O_CREAT | O_EXCL | O_WRONLY, 0644), EEXIST);

    fd = open("f", O_WRONLY | O_APPEND);
    CHECK_EQ(write(fd, " world", 6), 6);
    CHECK_EQ(lseek(fd, 0, SEEK_CUR), 11);
    close(fd);
    char buf[32] = {0};
    fd = open("f", O_RDONLY);
    CHECK_EQ(read(fd, buf, sizeof buf), 11);
    CHECK_STR(buf, "hello world");
    CHECK_ERR(write(fd, "x", 1), EBADF); /* read-only */
    close(fd);

    fd = open("f", O_RDWR | O_TRUNC);
    struct stat st;
    CHECK_EQ(fstat(fd, &st), 0);
    CHECK_EQ(st.st_size, 0);
    close(fd);

    CHECK_ERR(open("f", O_RDONLY | O_DIRECTORY), ENOTDIR);
    CHECK_ERR(open("missing", O_RDONLY), ENOENT);
    CHECK_ERR(open("missing/x", O_RDONLY | O_CREAT, 0644), ENOENT);
    CHECK_ERR(open("f/x", O_RDONLY), ENOTDIR);
    CHECK_ERR(open(".", O_WRONLY), EISDIR);
    CHECK_ERR(open(WILD, O_RDONLY), EFAULT);
    char long_name[300];
    memset(long_name, 'n', sizeof long_name - 1);
    long_name[sizeof long_name - 1] = 0;
    CHECK_ERR(open(long_name, O_RDONLY | O_CREAT, 0644), ENAMETOOLONG);
    static char long_path[PATH_MAX + 10];
    memset(long_path, 'a', sizeof long_path - 1);
    CHECK_ERR(open(long_path, O_RDONLY), ENAMETOOLONG);

    int dir = open(".", O_RDONLY | O_DIRECTORY);
    CHECK(dir >= 0);
    fd = openat(dir, "g", O_CREAT | O_RDWR, 0600);
    CHECK(fd >= 0);
    CHECK_EQ(fstatat(AT_FDCWD, "g", &st, 0), 0);
    CHECK_EQ(st.st_mode & 07777, 0600);
    CHECK_EQ(S_ISREG(st.st_mode), 1);
    close(fd);
    CHECK_ERR(openat(12345, "g", O_RDONLY), EBADF);
    CHECK_ERR(openat(fd, "g", O_RDONLY), EBADF); /* closed */
    close(dir);
}

static void test_read_write(void)
{
    int fd = open("rw", O_CREAT | O_RDWR | O_TRUNC, 0644);
    CHECK_EQ(write(fd, "0123456789", 10), 10);
    CHECK_EQ(lseek(fd, 2, SEEK_SET), 2);
    char buf[16] = {0};
    CHECK_EQ(read(fd, buf, 3), 3);
    CHECK_STR(buf, "234");
    CHECK_EQ(lseek(fd, -1, SEEK_END), 9);
    CHECK_EQ(lseek(fd, 20, SEEK_SET), 20);
    CHECK_EQ(read(fd, buf, 4), 0);
    CHECK_ERR(lseek(fd, -1, SEEK_SET), EINVAL);
    CHECK_ERR(lseek(fd, 0, 99), EINVAL);

    memset(buf, 0, sizeof buf);
    CHECK_EQ(pread(fd, buf, 4, 6), 4);
    CHECK_STR(buf, "6789");
    CHECK_EQ(lseek(fd, 0, SEEK_CUR), 20); /* pread keeps the offset */
    CHECK_EQ(pwrite(fd, "ab", 2, 1), 2);
    CHECK_EQ(pread(fd, buf, 4, 0), 4);
    CHECK_MEM(buf, "0ab3", 4);
    CHECK_ERR(pread(fd, buf, 4, -1), EINVAL);

    lseek(fd, 0, SEEK_SET);
    struct iovec out[2] = {{"xy", 2}, {"zw", 2}};
    CHECK_EQ(writev(fd, out, 2), 4);
    char a[3] = {0}, b[3] = {0};
    struct iovec in[2] = {{a, 2}, {b, 2}};
    lseek(fd, 0, SEEK_SET);
    CHECK_EQ(readv(fd, in, 2), 4);
    CHECK_STR(a, "xy");
    CHECK_STR(b, "zw");

    CHECK_EQ(ftruncate(fd, 3), 0);
    struct stat st;
    fstat(fd, &st);
    CHECK_EQ(st.st_size, 3);
    CHECK_EQ(ftruncate(fd, 8192), 0);
    fstat(fd, &st);
    CHECK_EQ(st.st_size, 8192);
    CHECK_EQ(pread(fd, buf, 2, 4000), 2);
    CHECK_MEM(buf, "\0\0", 2);
    CHECK_ERR(ftruncate(fd, -1), EINVAL);

    CHECK_ERR(read(fd, WILD, 4), EFAULT);
    CHECK_ERR(write(fd, WILD, 4), EFAULT);
    CHECK_ERR(read(999, buf, 1), EBADF);
    CHECK_ERR(write(-1, buf, 1), EBADF);
    close(fd);
    CHECK_ERR(close(fd), EBADF);
    int dir = open(".", O_RDONLY | O_DIRECTORY);
    CHECK_ERR(read(dir, buf, 1), EISDIR);
    CHECK_ERR(ftruncate(dir, 0), EINVAL);
    close(dir);
}

static void test_stat(void)
{
    struct stat st, lst;
    CHECK_EQ(symlink("rw", "ln"), 0);
    CHECK_EQ(stat("ln", &st), 0);
    CHECK_EQ(S_ISREG(st.st_mode), 1);
    CHECK_EQ(st.st_size, 8192);
    CHECK_EQ(lstat("ln", &lst), 0);
    CHECK_EQ(S_ISLNK(lst.st_mode), 1);
    CHECK_EQ(lst.st_size, 2);
    CHECK(lst.st_ino != st.st_ino);
    char target[16] = {0};
    CHECK_EQ(readlink("ln", target, sizeof target), 2);
    CHECK_STR(target, "rw");
    CHECK_EQ(readlink("ln", target, 1), 1); /* truncated, not an error */
    CHECK_ERR(readlink("rw", target, sizeof target), EINVAL);
    CHECK_ERR(readlink("ln", target, 0), EINVAL);
    CHECK_ERR(symlink("x", "ln"), EEXIST);

    int fd = open("rw", O_RDONLY);
    struct stat by_fd, by_empty;
    CHECK_EQ(fstat(fd, &by_fd), 0);
    CHECK_EQ(by_fd.st_ino, st.st_ino);
    CHECK_EQ(fstatat(fd, "", &by_empty, AT_EMPTY_PATH), 0);
    CHECK_EQ(by_empty.st_ino, st.st_ino);
    CHECK_ERR(fstatat(fd, "", &by_empty, 0), ENOENT);
    CHECK_ERR(fstat(fd, WILD), EFAULT);
    CHECK_ERR(fstat(-5, &by_fd), EBADF);
    CHECK_ERR(stat("missing", &st), ENOENT);
    CHECK_ERR(stat("rw/x", &st), ENOTDIR);
    CHECK_ERR(stat(WILD, &st), EFAULT);
    CHECK_ERR(stat("", &st), ENOENT);

    struct statx sx;
    memset(&sx, 0, sizeof sx);
    CHECK_EQ(sys(SYS_statx, AT_FDCWD, (long)"rw", 0, STATX_BASIC_STATS, (long)&sx), 0);
    CHECK_EQ(sx.stx_size, 8192);
    CHECK_EQ(sx.stx_ino, st.st_ino);
    CHECK_EQ(S_ISREG(sx.stx_mode), 1);
    CHECK_EQ(sx.stx_mask & STATX_BASIC_STATS, STATX_BASIC_STATS);
    CHECK_EQ(sys(SYS_statx, fd, (long)"", AT_EMPTY_PATH, STATX_SIZE, (long)&sx), 0);
    CHECK_EQ(sx.stx_size, 8192);
    CHECK_ERR(sys(SYS_statx, AT_FDCWD, (long)"missing", 0, STATX_BASIC_STATS, (long)&sx), ENOENT);
    close(fd);
}

static void test_directories(void)
{
    CHECK_EQ(mkdir("d", 0755), 0);
    CHECK_ERR(mkdir("d", 0755), EEXIST);
    CHECK_ERR(mkdir("nope/d", 0755), ENOENT);
    CHECK_ERR(mkdir("rw/d", 0755), ENOTDIR);
    close(open("d/a", O_CREAT | O_WRONLY, 0644));
    CHECK_EQ(mkdir("d/sub", 0700), 0);

    int dir = open("d", O_RDONLY | O_DIRECTORY);
    char buf[1024];
    long n, total = 0;
    int dot = 0, dotdot = 0, a = 0, sub = 0, others = 0;
    while ((n = syscall(SYS_getdents64, dir, buf, sizeof buf)) > 0) {
        for (long off = 0; off < n;) {
            struct dirent64 {
                unsigned long long ino;
                long long off;
                unsigned short reclen;
                unsigned char type;
                char name[];
            } *e = (void *)(buf + off);
            if (!strcmp(e->name, "."))
                dot++;
            else if (!strcmp(e->name, ".."))
                dotdot++;
            else if (!strcmp(e->name, "a"))
                a += e->type == DT_REG;
            else if (!strcmp(e->name, "sub"))
                sub += e->type == DT_DIR;
            else
                others++;
            off += e->reclen;
            total++;
        }
    }
    CHECK_EQ(n, 0);
    CHECK_EQ(total, 4);
    CHECK_EQ(dot + dotdot + a + sub, 4);
    CHECK_EQ(others, 0);
    CHECK_EQ(lseek(dir, 0, SEEK_SET), 0);
    CHECK_ERR(syscall(SYS_getdents64, dir, buf, 1), EINVAL);
    CHECK_ERR(syscall(SYS_getdents64, 777, buf, sizeof buf), EBADF);
    int file = open("rw", O_RDONLY);
    CHECK_ERR(syscall(SYS_getdents64, file, buf, sizeof buf), ENOTDIR);
    close(file);
    close(dir);

    CHECK_ERR(rmdir("d"), ENOTEMPTY);
    CHECK_ERR(rmdir("rw"), ENOTDIR);
    CHECK_ERR(unlink("d"), EISDIR);
    CHECK_EQ(rename("d/a", "d/b"), 0);
    CHECK_ERR(access("d/a", F_OK), ENOENT);
    CHECK_EQ(access("d/b", R_OK | W_OK), 0);
    CHECK_ERR(rename("d/b", "d/sub"), EISDIR);
    CHECK_ERR(rename("d", "d/sub/x"), EINVAL);
    CHECK_ERR(rename("missing", "x"), ENOENT);
    CHECK_EQ(link("d/b", "d/c"), 0);
    struct stat st;
    CHECK_EQ(stat("d/c", &st), 0);
    CHECK_EQ(st.st_nlink, 2);
    CHECK_ERR(link("d", "d2"), EPERM);
    CHECK_ERR(link("d/b", "d/c"), EEXIST);
    CHECK_EQ(unlink("d/b"), 0);
    CHECK_EQ(unlink("d/c"), 0);
    CHECK_ERR(unlink("d/c"), ENOENT);
    CHECK_EQ(rmdir("d/sub"), 0);
    CHECK_EQ(rmdir("d"), 0);
    CHECK_ERR(rmdir("d"), ENOENT);

    CHECK_EQ(faccessat(AT_FDCWD, "rw", F_OK, 0), 0);
    CHECK_ERR(faccessat(AT_FDCWD, "missing", F_OK, 0), ENOENT);
    CHECK_ERR(access(WILD, F_OK), EFAULT);
    CHECK_ERR(access("rw", 0x40), EINVAL);
}

static void test_cwd_umask(const char *home)
{
    char buf[PATH_MAX];
    CHECK(getcwd(buf, sizeof buf) != NULL);
    CHECK_STR(buf, home);
    CHECK_EQ(mkdir("w", 0755), 0);
    CHECK_EQ(chdir("w"), 0);
    char want[PATH_MAX];
    snprintf(want, sizeof want, "%s/w", home);
    CHECK_STR(getcwd(buf, sizeof buf), want);
    CHECK_ERR(syscall(SYS_getcwd, buf, 1), ERANGE);
    CHECK_ERR(syscall(SYS_getcwd, WILD, sizeof buf), EFAULT);
    CHECK_EQ(chdir(".."), 0);
    CHECK_ERR(chdir("rw"), ENOTDIR);
    CHECK_ERR(chdir("missing"), ENOENT);
    CHECK_EQ(rmdir("w"), 0);

    mode_t old = umask(027);
    CHECK_EQ(umask(027), 027);
    int fd = open("masked", O_CREAT | O_WRONLY, 0666);
    struct stat st;
    fstat(fd, &st);
    CHECK_EQ(st.st_mode & 0777, 0640);
    close(fd);
    CHECK_EQ(mkdir("mdir", 0777), 0);
    stat("mdir", &st);
    CHECK_EQ(st.st_mode & 0777, 0750);
    rmdir("mdir");
    unlink("masked");
    umask(old);
}

static void test_descriptors(void)
{
    int fd = open("rw", O_RDONLY);
    int copy = dup(fd);
    CHECK(copy > fd);
    CHECK_EQ(lseek(fd, 5, SEEK_SET), 5);
    CHECK_EQ(lseek(copy, 0, SEEK_CUR), 5); /* one open file */
    CHECK_EQ(dup2(fd, 50), 50);
    CHECK_EQ(dup2(fd, fd), fd);
    CHECK_ERR(dup2(fd, -1), EBADF);
    CHECK_ERR(dup2(999, 51), EBADF);
    CHECK_EQ(dup3(fd, 51, O_CLOEXEC), 51);
    CHECK_EQ(fcntl(51, F_GETFD), FD_CLOEXEC);
    CHECK_EQ(fcntl(50, F_GETFD), 0);
    CHECK_ERR(dup3(fd, fd, 0), EINVAL);
    CHECK_ERR(dup3(fd, 52, 0x4), EINVAL);
    CHECK_ERR(dup(999), EBADF);
    CHECK_EQ(fcntl(50, F_SETFD, FD_CLOEXEC), 0);
    CHECK_EQ(fcntl(50, F_GETFD), FD_CLOEXEC);
    CHECK_EQ(fcntl(fd, F_GETFL) & O_ACCMODE, O_RDONLY);
    int low = fcntl(fd, F_DUPFD, 60);
    CHECK_EQ(low, 60);
    CHECK_EQ(fcntl(fd, F_DUPFD_CLOEXEC, 60), 61);
    CHECK_EQ(fcntl(61, F_GETFD), FD_CLOEXEC);
    CHECK_ERR(fcntl(999, F_GETFD), EBADF);
    CHECK_ERR(fcntl(fd, 9999), EINVAL);
    int fl = open("fl", O_CREAT | O_RDWR, 0644);
    CHECK_EQ(fcntl(fl, F_SETFL, O_APPEND), 0);
    CHECK_EQ(fcntl(fl, F_GETFL) & (O_APPEND | O_ACCMODE), O_APPEND | O_RDWR);
    close(fl);
    unlink("fl");
    close(copy), close(50), close(51), close(60), close(61), close(fd);
}

int main(void)
{
    char home[64];
    snprintf(home, sizeof home, "/tmp/files-%d", (int)getpid());
    mkdir(home, 0755);
    if (chdir(home) != 0) {
        printf("files: cannot work in %s\n", home);
        return 1;
    }
    test_open_flags();
    test_read_write();
    test_stat();
    test_directories();
    test_cwd_umask(home);
    test_descriptors();
    unlink("f"), unlink("g"), unlink("rw"), unlink("ln");
    chdir("/");
    CHECK_EQ(rmdir(home), 0);
    return check_summary("files");
}
