/*
 * Command child and process-tree kill for the shim. The shim is single-threaded, so the child may
 * call anything; it still only reports through the status pipe and _exit()s on failure.
 */
#include "task/shim_child.h"
#include "task/shim_env.h"
#include "task/cgroup.h"
#include "task/shim_hide.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

__attribute__((noreturn)) static void fail(const struct shim_child_args *a, const char *msg)
{
    size_t n = strlen(msg);

    if (a->status_fd >= 0 && write(a->status_fd, msg, n) < 0)
        _exit(126);
    _exit(127);
}

static void reset_signals(void)
{
    sigset_t none;
    struct sigaction dfl = { .sa_handler = SIG_DFL };

    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    /* SIG_IGN survives exec (libwebsockets ignores SIGPIPE process-wide) */
    for (int s = 1; s < NSIG; s++)
        if (s != SIGKILL && s != SIGSTOP)
            sigaction(s, &dfl, NULL);
}

/* setgroups (the list initgroups would set, made by the shim) + setgid + setuid, each checked,
 * then proof that there is no way back. As root this always runs, even for user root, so the
 * supplementary groups are the user's and never whatever the agent was started with. */
static void drop_privileges(const struct shim_child_args *a)
{
    char msg[512];
    const char *what = NULL;

    if (geteuid() != 0) {
        /* an unprivileged agent (tests) can only run tasks as itself */
        if (getuid() == a->uid && geteuid() == a->uid)
            return;
        snprintf(msg, sizeof msg, "cannot run as user '%s': the agent does not run as root",
                 a->user);
        fail(a, msg);
    }
    if (setgroups((size_t)a->ngroups, a->groups) < 0)
        what = "setgroups";
    else if (setgid(a->gid) < 0)
        what = "setgid";
    else if (setuid(a->uid) < 0)
        what = "setuid";
    if (what) {
        snprintf(msg, sizeof msg, "%s for user '%s' failed: %s", what, a->user, strerror(errno));
        fail(a, msg);
    }
    if (getuid() != a->uid || geteuid() != a->uid || getgid() != a->gid || getegid() != a->gid ||
        (a->uid != 0 && setuid(0) == 0)) {
        snprintf(msg, sizeof msg, "could not drop privileges to user '%s'", a->user);
        fail(a, msg);
    }
}

/* What both children do first: own session, default signals, the task's cgroups (joined while
 * still root: cgroup.procs belongs to root), the secrets hidden, then the user's identity. */
static void become_user(const struct shim_child_args *a)
{
    char msg[CG_PATH + 128], failed[CG_PATH] = "";
    int rc;

    setsid();
    reset_signals();
    if (a->cg && cgroup_task_active(a->cg) &&
        (rc = cgroup_task_join(a->cg, failed, sizeof failed)) != 0) {
        snprintf(msg, sizeof msg, "cannot join the task cgroup %s: %s", failed, strerror(-rc));
        fail(a, msg);
    }
    /* Root tasks only: a non-root user cannot open the 0600 files anyway. Best effort: the agent
     * logged at startup whether namespaces work here, and a task is not refused for it. */
    if (a->hide && a->uid == 0 && geteuid() == 0)
        (void)shim_hide_apply(a->hide);
    drop_privileges(a);
}

static void setup_fds(const struct shim_child_args *a)
{
    int null = open("/dev/null", O_RDONLY);
    int sfd = a->status_fd;

    if (null < 0 || dup2(null, 0) < 0 || dup2(a->out_fd, 1) < 0 || dup2(a->err_fd, 2) < 0)
        fail(a, "cannot set up standard streams");
    /* keep only 0-2 and the status pipe (moved to 3, close-on-exec) */
    if (sfd != 3) {
        if (dup3(sfd, 3, O_CLOEXEC) < 0)
            fail(a, "cannot set up the status pipe");
        ((struct shim_child_args *)a)->status_fd = 3;
    }
    close_range(4, ~0U, 0);
}

void shim_child_exec(const struct shim_child_args *a)
{
    char *argv[3];
    char path[PATH_MAX], msg[PATH_MAX + 256];
    const char *dirs = shim_env_path();
    int last_err = ENOENT;

    become_user(a);
    /* checked as the user: root may enter directories the user cannot */
    if (chdir(a->workdir) < 0) {
        if (a->workdir_explicit || chdir("/") < 0) {
            snprintf(msg, sizeof msg, "workdir '%s' is not accessible to user '%s': %s",
                     a->workdir, a->user, strerror(errno));
            fail(a, msg);
        }
    }
    /* the interpreter would say only "Permission denied"; name the cause instead */
    if (access(a->script, R_OK) < 0) {
        snprintf(msg, sizeof msg,
                 "script '%s' is not readable by user '%s' (is every directory above the data "
                 "directory traversable?): %s", a->script, a->user, strerror(errno));
        fail(a, msg);
    }
    setup_fds(a);
    argv[0] = (char *)a->interpreter;
    argv[1] = (char *)a->script;
    argv[2] = NULL;
    while (*dirs) {
        size_t len = strcspn(dirs, ":");
        if (snprintf(path, sizeof path, "%.*s/%s", (int)len, dirs, a->interpreter) <
            (int)sizeof path) {
            execve(path, argv, a->envp);
            if (errno != ENOENT)
                last_err = errno;
        }
        dirs += len;
        if (*dirs == ':')
            dirs++;
    }
    snprintf(msg, sizeof msg, "cannot run interpreter '%s': %s", a->interpreter,
             strerror(last_err));
    fail(a, msg);
}

void shim_child_profile(const struct shim_child_args *a, const char *shell, const char *script,
                        int env_fd)
{
    char *argv[] = { (char *)shell, "-c", (char *)script, NULL };
    int null;

    become_user(a);
    if (chdir(a->workdir) < 0 && chdir("/") < 0)
        _exit(127);
    null = open("/dev/null", O_RDWR);
    /* profile chatter is discarded; only fd 3 (the environment pipe) leads back to the shim */
    if (null < 0 || dup2(null, 0) < 0 || dup2(null, 1) < 0 || dup2(null, 2) < 0)
        _exit(127);
    /* dup2 onto itself would keep close-on-exec */
    if (env_fd == 3 ? fcntl(3, F_SETFD, 0) < 0 : dup2(env_fd, 3) != 3)
        _exit(127);
    close_range(4, ~0U, 0);
    execve(shell, argv, a->envp);
    _exit(127);
}

/* Parent pid from /proc/<pid>/stat (after the last ')'), or -1. */
static pid_t parent_of(pid_t pid)
{
    char path[64], text[512], *p;
    ssize_t n;
    int fd, ppid;

    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    n = read(fd, text, sizeof text - 1);
    close(fd);
    if (n <= 0)
        return -1;
    text[n] = '\0';
    p = strrchr(text, ')');
    if (!p || sscanf(p + 1, " %*c %d", &ppid) != 1)
        return -1;
    return ppid;
}

int shim_kill_descendants(int sig)
{
    pid_t self = getpid(), *pids = NULL, *ppids = NULL;
    size_t n = 0, cap = 0;
    struct dirent *de;
    int count = 0;
    bool changed = true;
    DIR *d = opendir("/proc");
    char *mark;

    if (!d)
        return 0;
    while ((de = readdir(d)) != NULL) {
        char *end;
        long pid = strtol(de->d_name, &end, 10);
        if (*end || pid <= 1 || pid == self)
            continue;
        if (n == cap) {
            size_t nc = cap ? cap * 2 : 256;
            pid_t *np = realloc(pids, nc * sizeof *np), *npp;
            if (!np)
                break;
            pids = np;
            npp = realloc(ppids, nc * sizeof *npp);
            if (!npp)
                break;
            ppids = npp;
            cap = nc;
        }
        pids[n] = (pid_t)pid;
        ppids[n] = parent_of((pid_t)pid);
        n++;
    }
    closedir(d);
    /* transitive closure of "parent is the shim or a marked process" */
    mark = calloc(n ? n : 1, 1);
    while (mark && changed) {
        changed = false;
        for (size_t i = 0; i < n; i++) {
            if (mark[i])
                continue;
            bool hit = ppids[i] == self;
            for (size_t j = 0; !hit && j < n; j++)
                hit = mark[j] && pids[j] == ppids[i];
            if (hit) {
                mark[i] = 1;
                changed = true;
            }
        }
    }
    for (size_t i = 0; mark && i < n; i++)
        if (mark[i] && kill(pids[i], sig) == 0)
            count++;
    free(mark);
    free(pids);
    free(ppids);
    return count;
}
