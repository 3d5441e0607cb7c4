// CSpawn: start a child process from an argv list, optionally as another user.
//
// posix_spawn cannot change the user, and fork() from Swift is not safe, so the
// fork/exec lives here and the child only makes async-signal-safe calls.
#ifndef CSPAWN_H
#define CSPAWN_H
#include <sys/types.h>

/// Starts `path` with `argv`/`envp` (NULL-terminated) in its own process group.
/// `cwd` may be NULL; `uid`/`gid` < 0 keep the current user. `fds[0..2]` become the
/// child's stdin, stdout and stderr. Returns the pid, or -errno on failure; an exec
/// failure in the child is reported through `*exec_errno` (0 when exec succeeded).
pid_t cs_spawn(const char *path, char *const argv[], char *const envp[], const char *cwd,
               long uid, long gid, const int fds[3], int *exec_errno);

/// Starts `path` detached: a double fork with setsid() in between, so the child is in a session
/// of its own, is not polarrun's child (init adopts it) and outlives polarrun. Its stdin is
/// /dev/null; stdout and stderr go to `out_fd`. Returns the child's pid, or -errno; an exec
/// failure is reported through `*exec_errno` as in cs_spawn.
pid_t cs_spawn_detached(const char *path, char *const argv[], char *const envp[], const char *cwd,
                        long uid, long gid, int out_fd, int *exec_errno);

/// pipe2(fds, O_CLOEXEC).
int cs_pipe(int fds[2]);

/// Reaps one exited child whose pid is not in `keep` (their owners wait for them).
/// Returns its pid, 0 when no such child has exited, -1 when there are no children.
/// For PID 1 (a container entrypoint), which inherits every orphan of the container.
pid_t cs_reap_orphan(const pid_t *keep, int nkeep);

#endif
