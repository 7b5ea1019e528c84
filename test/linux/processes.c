/* Processes: fork, vfork, clone as fork, execve, wait4 and waitid, exit statuses, and
 * process groups and sessions. Run with an argument, it is the program execve starts. */
#include "check.h"

#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>

static void test_fork_wait(void)
{
    pid_t me = getpid();
    pid_t child = fork();
    if (child == 0) {
        if (getppid() != me)
            _exit(99);
        _exit(42);
    }
    CHECK(child > me);
    int status = -1;
    CHECK_EQ(wait4(child, &status, 0, NULL), child);
    CHECK_EQ(WIFEXITED(status), 1);
    CHECK_EQ(WEXITSTATUS(status), 42);
    CHECK_ERR(wait4(child, &status, 0, NULL), ECHILD);
    CHECK_ERR(wait4(-1, &status, WNOHANG, NULL), ECHILD);

    /* WNOHANG: 0 while the child runs (it waits for our byte on a pipe). */
    int p[2];
    CHECK_EQ(pipe(p), 0);
    child = fork();
    if (child == 0) {
        char c;
        close(p[1]);
        _exit(read(p[0], &c, 1) == 1 ? c : 98);
    }
    close(p[0]);
    CHECK_EQ(wait4(child, &status, WNOHANG, NULL), 0);
    CHECK_EQ(write(p[1], "\x07", 1), 1);
    close(p[1]);
    CHECK_EQ(wait4(-1, &status, 0, NULL), child);
    CHECK_EQ(WEXITSTATUS(status), 7);

    /* Memory is the child's own copy. */
    static int shared = 1;
    child = fork();
    if (child == 0) {
        shared = 2;
        _exit(shared);
    }
    CHECK_EQ(waitpid(child, &status, 0), child);
    CHECK_EQ(WEXITSTATUS(status), 2);
    CHECK_EQ(shared, 1);

    /* exit takes the status's low byte */
    child = fork();
    if (child == 0)
        syscall(SYS_exit_group, 0x1ff);
    waitpid(child, &status, 0);
    CHECK_EQ(WEXITSTATUS(status), 0xff);

    CHECK_ERR(wait4(-1, WILD, 0, NULL), ECHILD); /* no child: ECHILD before the pointer */
    child = fork();
    if (child == 0)
        _exit(0);
    CHECK_ERR(wait4(child, WILD, 0, NULL), EFAULT);
    CHECK_ERR(wait4(child, NULL, 0, NULL), ECHILD); /* Linux reaped it all the same */
}

static void test_vfork_clone(void)
{
    int status = -1;
    pid_t child = vfork();
    if (child == 0)
        _exit(5);
    CHECK(child > 0);
    CHECK_EQ(waitpid(child, &status, 0), child);
    CHECK_EQ(WEXITSTATUS(status), 5);

    /* clone as glibc's fork makes it: a child with its pid written at child_tid */
    static pid_t tid = 0;
    long r = syscall(SYS_clone, CLONE_CHILD_SETTID | CLONE_CHILD_CLEARTID | SIGCHLD, 0, NULL, &tid, 0);
    if (r == 0)
        syscall(SYS_exit_group, tid == getpid() ? 6 : 96);
    CHECK(r > 0);
    CHECK_EQ(tid, 0); /* written in the child's memory only */
    CHECK_EQ(waitpid(r, &status, 0), r);
    CHECK_EQ(WEXITSTATUS(status), 6);
}

static void test_waitid(void)
{
    pid_t child = fork();
    if (child == 0)
        _exit(9);
    siginfo_t info;
    memset(&info, 0, sizeof info);
    CHECK_EQ(waitid(P_PID, child, &info, WEXITED), 0);
    CHECK_EQ(info.si_pid, child);
    CHECK_EQ(info.si_code, CLD_EXITED);
    CHECK_EQ(info.si_status, 9);
    CHECK_EQ(info.si_signo, SIGCHLD);
    CHECK_ERR(waitid(P_PID, child, &info, WEXITED), ECHILD);
    CHECK_ERR(waitid(P_ALL, 0, &info, 0), EINVAL);
}

static void test_execve(const char *self)
{
    int status = -1;
    pid_t child = fork();
    if (child == 0) {
        char *argv[] = {(char *)self, "exec-child", "arg two", NULL};
        char *envp[] = {"KESTREL_TEST=yes", NULL};
        execve(self, argv, envp);
        _exit(97);
    }
    CHECK_EQ(waitpid(child, &status, 0), child);
    CHECK_EQ(WIFEXITED(status), 1);
    CHECK_EQ(WEXITSTATUS(status), 33);

    char *argv[] = {"x", NULL};
    CHECK_ERR(execve("/nonexistent", argv, argv + 1), ENOENT);
    CHECK_ERR(execve("/tmp", argv, argv + 1), EACCES);
    CHECK_ERR(execve(WILD, argv, argv + 1), EFAULT);
}

static void test_ids(void)
{
    pid_t me = getpid();
    CHECK(me > 0);
    CHECK(getppid() >= 0);
    CHECK_EQ(syscall(SYS_gettid), me);
    CHECK_EQ(getpgid(0), getpgrp());
    CHECK_ERR(getpgid(99999), ESRCH);
    int status = -1;
    pid_t child = fork();
    if (child == 0) {
        /* a new group of its own, then a session */
        int ok = setpgid(0, 0) == 0 && getpgid(0) == getpid();
        ok = ok && setsid() == -1 && errno == EPERM; /* a group leader cannot */
        _exit(ok ? 3 : 93);
    }
    CHECK_EQ(waitpid(child, &status, 0), child);
    CHECK_EQ(WEXITSTATUS(status), 3);
    child = fork();
    if (child == 0) {
        pid_t sid = setsid();
        int ok = sid == getpid() && getsid(0) == sid && getpgid(0) == sid;
        _exit(ok ? 4 : 94);
    }
    CHECK_EQ(waitpid(child, &status, 0), child);
    CHECK_EQ(WEXITSTATUS(status), 4);
    CHECK_ERR(setpgid(99999, 0), ESRCH);
    CHECK_ERR(setpgid(0, -1), EINVAL);
}

int main(int argc, char **argv)
{
    if (argc == 3 && !strcmp(argv[1], "exec-child")) {
        const char *env = getenv("KESTREL_TEST");
        return !strcmp(argv[2], "arg two") && env && !strcmp(env, "yes") ? 33 : 1;
    }
    test_fork_wait();
    test_vfork_clone();
    test_waitid();
    test_execve(argv[0]);
    test_ids();
    return check_summary("processes");
}
