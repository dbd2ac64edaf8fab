/*
 * Command child and process-tree kill for the shim. The shim is single-threaded, so the child may
 * call anything; it still only reports through the status pipe and _exit()s on failure.
 */
#include "task/shim_child.h"
#include "task/shim_env.h"

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

__attribute__((noreturn)) static void fail(const struct shim_child_args *a, const char *fmt,
                                           const char *arg, int err)
{
    char msg[512];
    int n = snprintf(msg, sizeof msg, fmt, arg, strerror(err));
    if (n > 0 && write(a->status_fd, msg, (size_t)n < sizeof msg ? (size_t)n : sizeof msg - 1) < 0)
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

static void drop_privileges(const struct shim_child_args *a)
{
    if (getuid() == a->uid && geteuid() == a->uid && getgid() == a->gid)
        return;
    if (initgroups(a->user, a->gid) < 0)
        fail(a, "initgroups for user '%s' failed: %s", a->user, errno);
    if (setgid(a->gid) < 0)
        fail(a, "setgid for user '%s' failed: %s", a->user, errno);
    if (setuid(a->uid) < 0)
        fail(a, "setuid for user '%s' failed: %s", a->user, errno);
    /* paranoia: make sure there is no way back */
    if (a->uid != 0 && (setuid(0) == 0 || geteuid() != a->uid))
        fail(a, "could not drop privileges to user '%s'%s", a->user, 0);
}

static void setup_fds(const struct shim_child_args *a)
{
    int null = open("/dev/null", O_RDONLY);
    int sfd = a->status_fd;

    if (null < 0 || dup2(null, 0) < 0 || dup2(a->out_fd, 1) < 0 || dup2(a->err_fd, 2) < 0)
        fail(a, "cannot set up standard streams%s: %s", "", errno);
    /* keep only 0-2 and the status pipe (moved to 3, close-on-exec) */
    if (sfd != 3) {
        if (dup3(sfd, 3, O_CLOEXEC) < 0)
            fail(a, "cannot set up status pipe%s: %s", "", errno);
        ((struct shim_child_args *)a)->status_fd = 3;
    }
    close_range(4, ~0U, 0);
}

void shim_child_exec(const struct shim_child_args *a)
{
    char *argv[3];
    char path[PATH_MAX];
    const char *dirs = shim_env_path();
    int last_err = ENOENT;

    setsid();
    reset_signals();
    drop_privileges(a);
    if (chdir(a->workdir) < 0)
        fail(a, "cannot change to directory '%s': %s", a->workdir, errno);
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
    fail(a, "cannot run interpreter '%s': %s", a->interpreter, last_err);
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
