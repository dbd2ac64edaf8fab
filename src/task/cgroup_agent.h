/* The agent's side of task cgroups: one log line at startup saying what tasks will get, and the
 * hourly removal of empty task cgroups left behind by daemons that outlived their task. */
#ifndef TETHER_TASK_CGROUP_AGENT_H
#define TETHER_TASK_CGROUP_AGENT_H

/* mode is the `cgroups` option (auto|off). Logs once; returns 0, or -EINVAL for a bad mode. */
int cgroup_agent_report(const char *mode);
/* rmdir of empty task cgroups whose task is not running (journal entry gone or with a result).
 * Returns how many were removed. */
int cgroup_agent_gc(const char *data_dir);

#endif
