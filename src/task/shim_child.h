/* The command child of the shim: drops to the task's user and execs the interpreter. */
#ifndef TETHER_TASK_SHIM_CHILD_H
#define TETHER_TASK_SHIM_CHILD_H

#include <stdbool.h>
#include <sys/types.h>

struct cgroup_task;
struct shim_hide;

struct shim_child_args {
    const char *user;
    uid_t uid;
    gid_t gid;
    const gid_t *groups;     /* supplementary groups, listed by the shim (getgrouplist) */
    int ngroups;
    const char *workdir;     /* absolute */
    bool workdir_explicit;   /* false: the home, and "/" when the home cannot be entered */
    const char *interpreter; /* bare name, looked up in the task's PATH */
    const char *script;      /* absolute path */
    char *const *envp;
    int out_fd, err_fd;      /* pipe write ends */
    int status_fd;           /* CLOEXEC pipe: a start failure reason is written here (-1: none) */
    const struct cgroup_task *cg; /* joined before dropping privileges; NULL or inactive: none */
    const struct shim_hide *hide; /* covered in a private mount namespace for root; NULL: none */
};

/* Runs in the forked child; never returns. */
void shim_child_exec(const struct shim_child_args *a) __attribute__((noreturn));

/* Runs in the forked child: becomes the user like shim_child_exec (cgroups, groups, ids, home as
 * cwd), then execs `shell -c script` with stdin/stdout/stderr on /dev/null and env_fd as fd 3.
 * Never returns; exits 127 when it cannot get there. */
void shim_child_profile(const struct shim_child_args *a, const char *shell, const char *script,
                        int env_fd) __attribute__((noreturn));

/* Signals every descendant of the calling process (a subreaper) found in /proc. Returns how many
 * were signalled. */
int shim_kill_descendants(int sig);

#endif
