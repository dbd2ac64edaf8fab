/* Login environment capture; see shim_profile.h. */
#include "task/shim_profile.h"
#include "task/cgroup.h"
#include "common/tm.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <unistd.h>

#define ENV_MAX (1 << 20)

/* The files are tested before sourcing: in sh a failing `.` ends the shell. The environment goes
 * to fd 3 through /usr/bin/env so a profile that changes PATH cannot break the capture. */
static const char bash_script[] =
    "if [ -r /etc/profile ]; then . /etc/profile; fi; "
    "if [ -r \"$HOME/.bash_profile\" ]; then . \"$HOME/.bash_profile\"; "
    "elif [ -r \"$HOME/.bash_login\" ]; then . \"$HOME/.bash_login\"; "
    "elif [ -r \"$HOME/.profile\" ]; then . \"$HOME/.profile\"; fi; "
    "exec /usr/bin/env -0 >&3";
static const char sh_script[] =
    "if [ -r /etc/profile ]; then . /etc/profile; fi; "
    "if [ -r \"$HOME/.profile\" ]; then . \"$HOME/.profile\"; fi; "
    "exec /usr/bin/env -0 >&3";

void shim_profile_plan(const char *login_shell, const char **shell, const char **script)
{
    const char *base = login_shell ? strrchr(login_shell, '/') : NULL;

    base = base ? base + 1 : login_shell;
    if (base && strcmp(base, "bash") == 0 && access(login_shell, X_OK) == 0) {
        *shell = login_shell;
        *script = bash_script;
    } else {
        *shell = "/bin/sh";
        *script = sh_script;
    }
}

struct capture {
    char *buf;
    size_t len;
    bool overflow;
};

/* Reads what the pipe has. Returns true at EOF. */
static bool take(struct capture *c, int fd)
{
    char tmp[16384];
    ssize_t n;

    while ((n = read(fd, tmp, sizeof tmp)) > 0) {
        if (c->len + (size_t)n > ENV_MAX) {
            c->overflow = true;
            continue;
        }
        memcpy(c->buf + c->len, tmp, (size_t)n);
        c->len += (size_t)n;
    }
    return n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR);
}

/* Returns the first non-SIGCHLD signal read from the signalfd, or 0. */
static int other_signal(int sig_fd)
{
    struct signalfd_siginfo si;
    int got = 0;

    while (read(sig_fd, &si, sizeof si) == (ssize_t)sizeof si)
        if (si.ssi_signo != SIGCHLD && !got)
            got = (int)si.ssi_signo;
    return got;
}

static void kill_group(const struct shim_child_args *a, pid_t pid)
{
    kill(-pid, SIGKILL);
    kill(pid, SIGKILL);
    if (a->cg && cgroup_task_active(a->cg))
        cgroup_task_kill(a->cg);
    waitpid(pid, NULL, 0);
}

enum profile_result shim_profile_capture(const struct shim_child_args *a, const char *login_shell,
                                         int64_t timeout_ms, int sig_fd, struct shim_env *out,
                                         int *sig)
{
    struct capture c = { .buf = malloc(ENV_MAX) };
    const char *shell, *script;
    int p[2] = { -1, -1 }, status = 0;
    int64_t deadline = tm_mono_ms() + timeout_ms;
    enum profile_result res = PROFILE_FAILED;
    bool exited = false, pipe_open = true;
    pid_t pid;

    *sig = 0;
    shim_profile_plan(login_shell, &shell, &script);
    if (!c.buf || pipe2(p, O_CLOEXEC | O_NONBLOCK) < 0)
        goto out;
    pid = fork();
    if (pid < 0)
        goto out;
    if (pid == 0) {
        fcntl(p[1], F_SETFL, 0); /* the writer blocks normally */
        shim_child_profile(a, shell, script, p[1]);
    }
    close(p[1]);
    p[1] = -1;
    while (!exited) {
        /* the shell's exit arrives as SIGCHLD on the signalfd; the pipe alone is not enough (a
         * daemon started by the profile may hold fd 3 open) */
        struct pollfd pf[2] = { { .fd = pipe_open ? p[0] : -1, .events = POLLIN },
                                { .fd = sig_fd, .events = POLLIN } };
        int64_t left = deadline - tm_mono_ms();
        if (left <= 0) {
            kill_group(a, pid);
            res = PROFILE_TIMEOUT;
            goto out;
        }
        poll(pf, 2, left > INT32_MAX ? INT32_MAX : (int)left);
        if (pipe_open && pf[0].revents && take(&c, p[0]))
            pipe_open = false;
        if ((pf[1].revents & POLLIN) && (*sig = other_signal(sig_fd)) != 0) {
            kill_group(a, pid);
            res = PROFILE_SIGNALLED;
            goto out;
        }
        exited = waitpid(pid, &status, WNOHANG) == pid;
    }
    if (pipe_open)
        take(&c, p[0]);
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0 && !c.overflow && c.len > 0 &&
        shim_env_parse_nul(out, c.buf, c.len) > 0)
        res = PROFILE_OK;
out:
    if (p[0] >= 0)
        close(p[0]);
    if (p[1] >= 0)
        close(p[1]);
    free(c.buf);
    return res;
}
