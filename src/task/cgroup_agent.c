/* See cgroup_agent.h. */
#include "task/cgroup_agent.h"
#include "task/cgroup.h"
#include "task/journal.h"
#include "common/log.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int cgroup_agent_report(const char *mode)
{
    struct cgroup_host *h;
    char why[256], desc[1024];

    if (mode && strcmp(mode, "off") == 0) {
        log_info("cgroups: off by configuration; tasks are contained by session and subreaper "
                 "tracking, and tasks with limits are refused");
        return 0;
    }
    if (mode && strcmp(mode, "auto") != 0) {
        log_error("cgroups: '%s' is not auto or off", mode);
        return -EINVAL;
    }
    h = calloc(1, sizeof *h);
    if (!h)
        return -ENOMEM;
    if (geteuid() != 0)
        log_warn("cgroups: not used (the agent does not run as root); tasks are contained by "
                 "session and subreaper tracking, and tasks with limits are refused");
    else if (cgroup_host_detect(h, why, sizeof why) != 0)
        log_warn("cgroups: not available (%s); tasks are contained by session and subreaper "
                 "tracking, and tasks with limits are refused", why);
    else {
        cgroup_host_describe(h, desc, sizeof desc);
        log_info("cgroups: per-task cgroups from %s", desc);
    }
    free(h);
    return 0;
}

static bool still_running(void *ud, const char *task_id)
{
    const char *data_dir = ud;
    char dir[PATH_MAX], path[PATH_MAX + 16];
    struct stat st;

    if (journal_dir(data_dir, task_id, dir, sizeof dir) != 0 || stat(dir, &st) != 0)
        return false;
    snprintf(path, sizeof path, "%s/result", dir);
    return stat(path, &st) != 0;
}

int cgroup_agent_gc(const char *data_dir)
{
    struct cgroup_host *h = calloc(1, sizeof *h);
    char why[256];
    int n = 0;

    if (h && geteuid() == 0 && cgroup_host_detect(h, why, sizeof why) == 0)
        n = cgroup_gc(h, still_running, (void *)data_dir);
    free(h);
    return n;
}
