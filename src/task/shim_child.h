/* The command child of the shim: drops to the task's user and execs the interpreter. */
#ifndef TETHER_TASK_SHIM_CHILD_H
#define TETHER_TASK_SHIM_CHILD_H

#include <sys/types.h>

struct shim_child_args {
    const char *user;
    uid_t uid;
    gid_t gid;
    const char *workdir;     /* absolute */
    const char *interpreter; /* bare name, looked up in the task's PATH */
    const char *script;      /* absolute path */
    char *const *envp;
    int out_fd, err_fd;      /* pipe write ends */
    int status_fd;           /* CLOEXEC pipe: a start failure reason is written here */
};

/* Runs in the forked child; never returns. */
void shim_child_exec(const struct shim_child_args *a) __attribute__((noreturn));

/* Signals every descendant of the calling process (a subreaper) found in /proc. Returns how many
 * were signalled. */
int shim_kill_descendants(int sig);

#endif
