/* Pipes: pipe and pipe2, data in order, poll, EOF when the writers are gone, EPIPE (and
 * SIGPIPE, ignored here: signals.c tests its delivery). */
#include "check.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <time.h>

static void test_pipe(void)
{
    int p[2];
    CHECK_EQ(pipe(p), 0);
    CHECK_EQ(write(p[1], "abc", 3), 3);
    CHECK_EQ(write(p[1], "def", 3), 3);
    char buf[16] = {0};
    CHECK_EQ(read(p[0], buf, 4), 4);
    CHECK_STR(buf, "abcd");
    memset(buf, 0, sizeof buf);
    CHECK_EQ(read(p[0], buf, sizeof buf), 2);
    CHECK_STR(buf, "ef");
    CHECK_ERR(write(p[0], "x", 1), EBADF);
    CHECK_ERR(read(p[1], buf, 1), EBADF);
    CHECK_EQ(fcntl(p[0], F_GETFL) & O_ACCMODE, O_RDONLY);
    CHECK_EQ(fcntl(p[1], F_GETFL) & O_ACCMODE, O_WRONLY);
    close(p[1]);
    CHECK_EQ(read(p[0], buf, sizeof buf), 0); /* EOF */
    close(p[0]);

    CHECK_EQ(pipe2(p, O_CLOEXEC | O_NONBLOCK), 0);
    CHECK_EQ(fcntl(p[0], F_GETFD), FD_CLOEXEC);
    CHECK_EQ(fcntl(p[1], F_GETFD), FD_CLOEXEC);
    CHECK_EQ(fcntl(p[0], F_GETFL) & O_NONBLOCK, O_NONBLOCK);
    if (fcntl(p[0], F_GETFL) & O_NONBLOCK) {
        CHECK_ERR(read(p[0], buf, 1), EAGAIN);
    } else { /* it would block: two checks failed, not tried */
        CHECK(!"read of an empty O_NONBLOCK pipe fails");
        CHECK(!"read of an empty O_NONBLOCK pipe errno EAGAIN");
    }
    /* fill it: non-blocking writes stop with EAGAIN (not tried where they would block) */
    static char block[4096];
    long total = 0, n = 0;
    while ((fcntl(p[1], F_GETFL) & O_NONBLOCK) && (n = write(p[1], block, sizeof block)) > 0)
        total += n;
    CHECK_EQ(n, -1);
    CHECK_EQ(errno, EAGAIN);
    CHECK(total >= 4096);
    close(p[0]);
    close(p[1]);
    CHECK_ERR(pipe2(p, 0x1), EINVAL);
    CHECK_ERR(pipe(WILD), EFAULT);
}

static void test_poll(void)
{
    int p[2];
    pipe(p);
    struct pollfd fds[2] = {{p[0], POLLIN, 0}, {p[1], POLLOUT, 0}};
    CHECK_EQ(poll(fds, 2, 0), 1);
    CHECK_EQ(fds[0].revents, 0);
    CHECK_EQ(fds[1].revents, POLLOUT);
    write(p[1], "x", 1);
    CHECK_EQ(poll(fds, 1, 0), 1);
    CHECK_EQ(fds[0].revents, POLLIN);
    close(p[1]);
    char c;
    read(p[0], &c, 1);
    CHECK_EQ(poll(fds, 1, 1000), 1);
    CHECK_EQ(fds[0].revents, POLLHUP);
    close(p[0]);

    /* poll waits for a writer in another process */
    pipe(p);
    pid_t child = fork();
    if (child == 0) {
        struct timespec t = {0, 20 * 1000 * 1000};
        nanosleep(&t, NULL);
        _exit(write(p[1], "y", 1) == 1 ? 0 : 1);
    }
    struct pollfd in = {p[0], POLLIN, 0};
    CHECK_EQ(poll(&in, 1, 5000), 1);
    CHECK_EQ(in.revents & POLLIN, POLLIN);
    CHECK_EQ(read(p[0], &c, 1), 1);
    CHECK_EQ(c, 'y');
    int status;
    CHECK_EQ(waitpid(child, &status, 0), child);
    CHECK_EQ(status, 0);
    struct pollfd bad = {999, POLLIN, 0};
    CHECK_EQ(poll(&bad, 1, 0), 1);
    CHECK_EQ(bad.revents, POLLNVAL);
    CHECK_ERR(poll(WILD, 1, 0), EFAULT);
    close(p[0]);
    close(p[1]);
}

static void test_eof_and_epipe(void)
{
    int p[2];
    pipe(p);
    pid_t child = fork();
    if (child == 0) {
        close(p[0]);
        for (int i = 0; i < 3; i++)
            write(p[1], "data", 4);
        _exit(0);
    }
    close(p[1]);
    char buf[64];
    long total = 0, n;
    while ((n = read(p[0], buf, sizeof buf)) > 0)
        total += n;
    CHECK_EQ(n, 0);
    CHECK_EQ(total, 12);
    waitpid(child, NULL, 0);
    close(p[0]);

    signal(SIGPIPE, SIG_IGN);
    pipe(p);
    close(p[0]);
    CHECK_ERR(write(p[1], "x", 1), EPIPE);
    close(p[1]);
    signal(SIGPIPE, SIG_DFL);

    /* Without a handler SIGPIPE ends the writer. */
    pipe(p);
    child = fork();
    if (child == 0) {
        close(p[0]);
        write(p[1], "x", 1);
        _exit(50);
    }
    close(p[0]);
    close(p[1]);
    int status = -1;
    CHECK_EQ(waitpid(child, &status, 0), child);
    CHECK_EQ(WIFSIGNALED(status), 1);
    CHECK_EQ(WTERMSIG(status), SIGPIPE);
}

int main(void)
{
    test_pipe();
    test_poll();
    test_eof_and_epipe();
    return check_summary("pipes");
}
