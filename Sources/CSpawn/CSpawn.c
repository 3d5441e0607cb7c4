#define _GNU_SOURCE
#include "CSpawn.h"
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <sys/wait.h>

/* In a forked child: drop to gid/uid (-1: keep), enter cwd, exec. Returns only on failure, with
 * the errno to report; both spawn flavours share it so their children start the same way. */
static int become_and_exec(const char *path, char *const argv[], char *const envp[], const char *cwd,
                           long uid, long gid) {
    if (gid >= 0) {
        if (setgroups(0, NULL) != 0 && errno != EPERM) return errno;
        if (setgid((gid_t)gid) != 0) return errno;
    }
    if (uid >= 0 && setuid((uid_t)uid) != 0) return errno;
    if (cwd && chdir(cwd) != 0) return errno;
    execve(path, argv, envp);
    return errno;
}

pid_t cs_spawn(const char *path, char *const argv[], char *const envp[], const char *cwd,
               long uid, long gid, const int fds[3], int *exec_errno) {
    int report[2];
    if (pipe2(report, O_CLOEXEC) != 0) return -errno;
    pid_t pid = fork();
    if (pid < 0) { int e = errno; close(report[0]); close(report[1]); return -e; }
    if (pid == 0) {
        int err = 0;
        setpgid(0, 0);
        /* restore default signal dispositions and mask for the child */
        sigset_t none; sigemptyset(&none); sigprocmask(SIG_SETMASK, &none, NULL);
        signal(SIGPIPE, SIG_DFL); signal(SIGINT, SIG_DFL); signal(SIGTERM, SIG_DFL);
        for (int i = 0; i < 3; i++) {
            if (fds[i] >= 0 && fds[i] != i) { if (dup2(fds[i], i) < 0) { err = errno; goto fail; } }
            else if (fds[i] == i) { fcntl(i, F_SETFD, 0); }
        }
        /* no other descriptor of ours leaks into the child */
        if (report[1] > 3) syscall(SYS_close_range, 3, (unsigned)report[1] - 1, 0);
        syscall(SYS_close_range, (unsigned)report[1] + 1, ~0U, 0);
        err = become_and_exec(path, argv, envp, cwd, uid, gid);
    fail:
        (void)!write(report[1], &err, sizeof err);
        _exit(127);
    }
    close(report[1]);
    int err = 0;
    ssize_t n;
    do { n = read(report[0], &err, sizeof err); } while (n < 0 && errno == EINTR);
    close(report[0]);
    *exec_errno = (n == (ssize_t)sizeof err) ? err : 0;
    return pid;
}

int cs_pipe(int fds[2]) { return pipe2(fds, O_CLOEXEC); }

pid_t cs_reap_orphan(const pid_t *keep, int nkeep) {
    siginfo_t info;
    memset(&info, 0, sizeof info);
    /* peek without reaping: a child we own must be reaped by the code that waits for it */
    if (waitid(P_ALL, 0, &info, WEXITED | WNOHANG | WNOWAIT) != 0) return -1;
    pid_t pid = info.si_pid;
    if (pid == 0) return 0;
    for (int i = 0; i < nkeep; i++) if (keep[i] == pid) return 0;
    int st;
    waitpid(pid, &st, 0);
    return pid;
}

static ssize_t read_full(int fd, void *buf, size_t n) {
    ssize_t r;
    do { r = read(fd, buf, n); } while (r < 0 && errno == EINTR);
    return r;
}

pid_t cs_spawn_detached(const char *path, char *const argv[], char *const envp[], const char *cwd,
                        long uid, long gid, int out_fd, int *exec_errno) {
    int pidpipe[2], report[2];
    if (pipe2(pidpipe, O_CLOEXEC) != 0) return -errno;
    if (pipe2(report, O_CLOEXEC) != 0) { int e = errno; close(pidpipe[0]); close(pidpipe[1]); return -e; }
    int devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
    pid_t middle = fork();
    if (middle < 0) {
        int e = errno;
        close(pidpipe[0]); close(pidpipe[1]); close(report[0]); close(report[1]);
        if (devnull >= 0) close(devnull);
        return -e;
    }
    if (middle == 0) {
        /* the middle process: a new session, then the real child, then gone */
        close(pidpipe[0]); close(report[0]);
        setsid();
        pid_t child = fork();
        if (child == 0) {
            int err = 0;
            sigset_t none; sigemptyset(&none); sigprocmask(SIG_SETMASK, &none, NULL);
            signal(SIGPIPE, SIG_DFL); signal(SIGINT, SIG_DFL); signal(SIGTERM, SIG_DFL); signal(SIGHUP, SIG_DFL);
            if (devnull < 0 || dup2(devnull, 0) < 0 || dup2(out_fd, 1) < 0 || dup2(out_fd, 2) < 0) { err = errno; goto fail; }
            /* no other descriptor of ours leaks into the child (report[1] closes at exec) */
            syscall(SYS_close_range, 3, (unsigned)report[1] - 1, 0);
            syscall(SYS_close_range, (unsigned)report[1] + 1, ~0U, 0);
            err = become_and_exec(path, argv, envp, cwd, uid, gid);
        fail:
            (void)!write(report[1], &err, sizeof err);
            _exit(127);
        }
        pid_t sent = child < 0 ? -errno : child;
        (void)!write(pidpipe[1], &sent, sizeof sent);
        _exit(0);
    }
    close(pidpipe[1]); close(report[1]);
    if (devnull >= 0) close(devnull);
    int st;
    while (waitpid(middle, &st, 0) < 0 && errno == EINTR) {}
    pid_t child = 0;
    if (read_full(pidpipe[0], &child, sizeof child) != (ssize_t)sizeof child) child = -EIO;
    close(pidpipe[0]);
    int err = 0;
    ssize_t n = child > 0 ? read_full(report[0], &err, sizeof err) : 0;
    close(report[0]);
    *exec_errno = (n == (ssize_t)sizeof err) ? err : 0;
    return child;
}
