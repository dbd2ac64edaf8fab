/* Secrets out of a root task's view; see shim_hide.h. */
#include "task/shim_hide.h"
#include "common/log.h"

#include <errno.h>
#include <sched.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

int shim_hide_apply(const struct shim_hide *h)
{
    struct stat st;

    if (!h || !h->paths[0])
        return 0;
    if (unshare(CLONE_NEWNS) < 0)
        return -errno;
    /* Slave rather than private: the task still sees what the host mounts while it runs, and
     * neither our bind mounts nor anything the task mounts leak back to the host. */
    if (mount(NULL, "/", NULL, MS_REC | MS_SLAVE, NULL) < 0)
        return -errno;
    for (size_t i = 0; i < SHIM_HIDE_MAX && h->paths[i]; i++) {
        if (stat(h->paths[i], &st) < 0 || !S_ISREG(st.st_mode))
            continue; /* nothing there to hide */
        if (mount("/dev/null", h->paths[i], NULL, MS_BIND, NULL) < 0)
            return -errno;
    }
    return 0;
}

void shim_hide_report(void)
{
    int status = 0;
    pid_t pid;

    if (geteuid() != 0) {
        log_info("tasks: the agent does not run as root; secrets are protected by file modes only");
        return;
    }
    pid = fork();
    if (pid < 0)
        return;
    if (pid == 0) /* async-signal-safe only: the agent has threads */
        _exit(unshare(CLONE_NEWNS) == 0 ? 0 : errno & 0x7f);
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
        log_info("tasks: root tasks run in a mount namespace with the agent's identity hidden");
    else
        log_warn("tasks: cannot create mount namespaces (%s); root tasks can read the agent's "
                 "identity file", WIFEXITED(status) ? strerror(WEXITSTATUS(status)) : "probe died");
}
