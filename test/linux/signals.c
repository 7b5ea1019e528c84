/* Signals: sigaction and a handler that runs, sigreturn giving back every register it
 * changed, sigprocmask holding a signal back, kill, SIGCHLD, SIGPIPE, sigsuspend, and the
 * default actions seen in wait statuses. */
#include "check.h"

#include <signal.h>
#include <stdint.h>
#include <sys/wait.h>

static volatile sig_atomic_t got, got_signo, got_chld;

static void handler(int signo)
{
    got++;
    got_signo = signo;
}

static void on_chld(int signo)
{
    (void)signo;
    got_chld++;
}

/* Clobbers callee-saved registers and the SSE state in the handler; the interrupted code must
 * see its own again after sigreturn. */
static void clobber(int signo)
{
    (void)signo;
    __asm__ volatile("mov $1, %%rbx\n mov $2, %%r12\n mov $3, %%r13\n mov $4, %%r14\n mov $5, %%r15\n"
                     "pcmpeqd %%xmm0, %%xmm0\n pcmpeqd %%xmm7, %%xmm7"
                     ::: "rbx", "r12", "r13", "r14", "r15", "xmm0", "xmm7");
    got++;
}

static void test_handler(void)
{
    struct sigaction sa, old;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = handler;
    CHECK_EQ(sigaction(SIGUSR1, &sa, NULL), 0);
    CHECK_EQ(sigaction(SIGUSR1, NULL, &old), 0);
    CHECK_EQ((uintptr_t)old.sa_handler, (uintptr_t)handler);
    got = 0;
    CHECK_EQ(kill(getpid(), SIGUSR1), 0);
    CHECK_EQ(got, 1);
    CHECK_EQ(got_signo, SIGUSR1);
    CHECK_EQ(raise(SIGUSR1), 0);
    CHECK_EQ(got, 2);
    CHECK_ERR(sigaction(SIGKILL, &sa, NULL), EINVAL);
    CHECK_ERR(sigaction(SIGSTOP, &sa, NULL), EINVAL);
    CHECK_ERR(sigaction(0, &sa, NULL), EINVAL);
    CHECK_ERR(sigaction(65, &sa, NULL), EINVAL);
    CHECK_ERR(kill(getpid(), 65), EINVAL);
    CHECK_ERR(kill(99999, SIGUSR1), ESRCH);
    CHECK_EQ(kill(getpid(), 0), 0);
}

static void test_sigreturn_registers(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = clobber;
    sigaction(SIGUSR2, &sa, NULL);
    got = 0;
    uint64_t rbx, r12, r13, r14, r15, x0[2], x7[2];
    long nr = SYS_kill, pid = getpid(), sig = SIGUSR2, ret;
    __asm__ volatile("mov $0x1111, %%rbx\n mov $0x1212, %%r12\n mov $0x1313, %%r13\n"
                     "mov $0x1414, %%r14\n mov $0x1515, %%r15\n"
                     "pxor %%xmm0, %%xmm0\n pxor %%xmm7, %%xmm7\n"
                     "syscall\n"
                     "mov %%rbx, %1\n mov %%r12, %2\n mov %%r13, %3\n mov %%r14, %4\n mov %%r15, %5\n"
                     "movdqu %%xmm0, %6\n movdqu %%xmm7, %7"
                     : "=a"(ret), "=m"(rbx), "=m"(r12), "=m"(r13), "=m"(r14), "=m"(r15), "=m"(x0), "=m"(x7)
                     : "a"(nr), "D"(pid), "S"(sig)
                     : "rbx", "r12", "r13", "r14", "r15", "rcx", "r11", "xmm0", "xmm7", "memory");
    CHECK_EQ(ret, 0);
    CHECK_EQ(got, 1);
    CHECK_EQ(rbx, 0x1111);
    CHECK_EQ(r12, 0x1212);
    CHECK_EQ(r13, 0x1313);
    CHECK_EQ(r14, 0x1414);
    CHECK_EQ(r15, 0x1515);
    CHECK_EQ(x0[0] | x0[1] | x7[0] | x7[1], 0);
}

static void test_mask(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = handler;
    sigaction(SIGUSR1, &sa, NULL);
    sigset_t block, old, pending;
    sigemptyset(&block);
    sigaddset(&block, SIGUSR1);
    got = 0;
    CHECK_EQ(sigprocmask(SIG_BLOCK, &block, &old), 0);
    CHECK_EQ(sigismember(&old, SIGUSR1), 0);
    kill(getpid(), SIGUSR1);
    CHECK_EQ(got, 0);
    CHECK_EQ(sigpending(&pending), 0);
    CHECK_EQ(sigismember(&pending, SIGUSR1), 1);
    CHECK_EQ(sigprocmask(SIG_UNBLOCK, &block, NULL), 0);
    CHECK_EQ(got, 1); /* delivered as it is unblocked */
    sigset_t now;
    sigprocmask(SIG_SETMASK, NULL, &now);
    CHECK_EQ(sigismember(&now, SIGUSR1), 0);
    CHECK_ERR(sigprocmask(99, &block, NULL), EINVAL);
    /* SIGKILL and SIGSTOP cannot be blocked: quietly left out */
    sigset_t all;
    sigfillset(&all);
    sigprocmask(SIG_SETMASK, &all, &old);
    sigprocmask(SIG_SETMASK, NULL, &now);
    CHECK_EQ(sigismember(&now, SIGKILL), 0);
    CHECK_EQ(sigismember(&now, SIGSTOP), 0);
    sigprocmask(SIG_SETMASK, &old, NULL);

    /* sigsuspend: waits with SIGUSR1 let through, returns EINTR after its handler */
    sigprocmask(SIG_BLOCK, &block, &old);
    got = 0;
    pid_t child = fork();
    if (child == 0) {
        kill(getppid(), SIGUSR1);
        _exit(0);
    }
    sigset_t wait_mask;
    sigemptyset(&wait_mask);
    CHECK_ERR(sigsuspend(&wait_mask), EINTR);
    CHECK_EQ(got, 1);
    sigprocmask(SIG_SETMASK, &old, NULL);
    waitpid(child, NULL, 0);
}

static void test_children(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_chld;
    sigaction(SIGCHLD, &sa, NULL);
    sigset_t block, old;
    sigemptyset(&block);
    sigaddset(&block, SIGCHLD);
    sigprocmask(SIG_BLOCK, &block, &old);
    got_chld = 0;
    pid_t child = fork();
    if (child == 0)
        _exit(1);
    int status;
    CHECK_EQ(waitpid(child, &status, 0), child);
    sigprocmask(SIG_SETMASK, &old, NULL);
    CHECK_EQ(got_chld, 1);
    signal(SIGCHLD, SIG_DFL);

    /* default actions: terminate, and ignore */
    child = fork();
    if (child == 0) {
        kill(getpid(), SIGTERM);
        _exit(70);
    }
    waitpid(child, &status, 0);
    CHECK_EQ(WIFSIGNALED(status), 1);
    CHECK_EQ(WTERMSIG(status), SIGTERM);
    child = fork();
    if (child == 0) {
        for (;;)
            pause();
    }
    CHECK_EQ(kill(child, SIGKILL), 0);
    waitpid(child, &status, 0);
    CHECK_EQ(WTERMSIG(status), SIGKILL);
    child = fork();
    if (child == 0) {
        kill(getpid(), SIGWINCH); /* ignored by default */
        signal(SIGUSR1, SIG_IGN);
        kill(getpid(), SIGUSR1);
        _exit(71);
    }
    waitpid(child, &status, 0);
    CHECK_EQ(WIFEXITED(status), 1);
    CHECK_EQ(WEXITSTATUS(status), 71);

    /* SIGPIPE with a handler: it runs, and write says EPIPE */
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = handler;
    sigaction(SIGPIPE, &sa, NULL);
    got = 0;
    int p[2];
    pipe(p);
    close(p[0]);
    CHECK_ERR(write(p[1], "x", 1), EPIPE);
    CHECK_EQ(got, 1);
    CHECK_EQ(got_signo, SIGPIPE);
    close(p[1]);
    signal(SIGPIPE, SIG_DFL);
}

int main(void)
{
    test_handler();
    test_sigreturn_registers();
    test_mask();
    test_children();
    return check_summary("signals");
}
