/*
 * The user's login environment: run the profile files of the user's shell family as that user,
 * with output discarded and stdin /dev/null, and read back the resulting environment (`env -0` on
 * fd 3). Bounded by profile_timeout: a hanging ~/.profile must not hang the task.
 */
#ifndef TETHER_TASK_SHIM_PROFILE_H
#define TETHER_TASK_SHIM_PROFILE_H

#include <stddef.h>
#include <stdint.h>

#include "task/shim_child.h"
#include "task/shim_env.h"

/* Which shell sources which files: bash runs /etc/profile then the first readable of
 * ~/.bash_profile ~/.bash_login ~/.profile (as bash -l does); any other shell gets /bin/sh with
 * /etc/profile and ~/.profile. Sets *shell (the program to run) and *script (static text). */
void shim_profile_plan(const char *login_shell, const char **shell, const char **script);

enum profile_result {
    PROFILE_OK,        /* out holds the captured environment */
    PROFILE_TIMEOUT,   /* did not finish in time; its process group was killed */
    PROFILE_FAILED,    /* exited without printing an environment */
    PROFILE_SIGNALLED, /* the shim got a signal in the meantime (*sig says which) */
};

/* Forks a child that becomes the user (a->envp is the base environment, a->workdir the home) and
 * runs the plan; collects at most 1 MiB of environment into out. sig_fd is the shim's signalfd:
 * SIGCHLD on it is consumed, any other signal stops the capture (returned in *sig). */
enum profile_result shim_profile_capture(const struct shim_child_args *a, const char *login_shell,
                                         int64_t timeout_ms, int sig_fd, struct shim_env *out,
                                         int *sig);

#endif
