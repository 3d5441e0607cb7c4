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
        if (gid >= 0) {
            if (setgroups(0, NULL) != 0 && errno != EPERM) { err = errno; goto fail; }
            if (setgid((gid_t)gid) != 0) { err = errno; goto fail; }
        }
        if (uid >= 0 && setuid((uid_t)uid) != 0) { err = errno; goto fail; }
        if (cwd && chdir(cwd) != 0) { err = errno; goto fail; }
        execve(path, argv, envp);
        err = errno;
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
