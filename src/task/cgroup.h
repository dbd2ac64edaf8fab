/*
 * Per-task cgroups. The shim detects what the host offers (cgroup2 and/or v1 hierarchies, from
 * /proc/self/mountinfo and /proc/self/cgroup), makes one cgroup per task, puts the limits on it,
 * and uses it to find and kill every process of the task, however it escaped its session.
 *
 * Paths: v2 `<v2 mount>/tether/<task_id>` (the tree root: only there can the controllers be enabled
 * without running into the "no internal processes" rule). v1 `<controller mount><own cgroup>/
 * tether/<task_id>`: nested under the agent's own cgroup so a task never leaves the limits the host
 * put on the agent (a container, a systemd slice); on a host where the agent sits at "/" this is
 * `<controller>/tether/<task_id>`.
 *
 * Per controller the v2 tree is preferred when it has the controller; on hybrid hosts (v2 without
 * controllers at /sys/fs/cgroup/unified) the v1 controllers carry the limits and the v2 cgroup is
 * joined anyway for cgroup.kill. The v1 freezer is used for the kill only when there is no v2.
 */
#ifndef TETHER_TASK_CGROUP_H
#define TETHER_TASK_CGROUP_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum cgroup_ctrl { CG_MEMORY, CG_PIDS, CG_CPU, CG_FREEZER, CG_NCTRL };

#define CG_PATH 1024

/* What the host offers. Empty strings mean "not there". */
struct cgroup_host {
    char v2[CG_PATH];                 /* cgroup2 mount point */
    char v1[CG_NCTRL][CG_PATH];       /* v1 mount point of each controller */
    char v1_root[CG_NCTRL][CG_PATH];  /* the hierarchy path mounted there (mountinfo "root") */
    char v1_self[CG_NCTRL][CG_PATH];  /* our own cgroup in that hierarchy (/proc/self/cgroup) */
};

struct cgroup_limits {
    int64_t memory_bytes, cpu_percent, pids; /* 0: none */
};

/* One task's cgroups. Paths are "" when that cgroup is not used. */
struct cgroup_task {
    char v2[CG_PATH];
    char v1[CG_NCTRL][CG_PATH];
    bool v2_ctrl[CG_NCTRL];  /* controller enabled in the v2 cgroup */
    struct cgroup_limits limits;
};

#define CG_HIT_MEMORY 1u
#define CG_HIT_PIDS 2u

const char *cgroup_ctrl_name(enum cgroup_ctrl c);

/* Pure parsers (unit-tested). The mountinfo parser keeps the first mount of each hierarchy and
 * undoes the octal escapes of mount points. Both return 0 or -EINVAL on input they cannot read. */
int cgroup_parse_mountinfo(const char *text, struct cgroup_host *h);
int cgroup_parse_self(const char *text, struct cgroup_host *h);
/* Reads /proc/self/mountinfo and /proc/self/cgroup. Returns 0, or -ENOENT when the host has no
 * usable hierarchy at all (why says what is missing), or -errno. */
int cgroup_host_detect(struct cgroup_host *h, char *why, size_t whylen);
/* Where the v1 cgroups of the task (or with task_id NULL, the "tether" parent) go. Returns 0 or
 * -ENAMETOOLONG; out is "" when the controller is not mounted. */
int cgroup_v1_path(const struct cgroup_host *h, enum cgroup_ctrl c, const char *task_id, char *out,
                   size_t n);
/* One line for the agent log: what would be used ("v2 /sys/fs/cgroup (memory pids cpu)", ...). */
void cgroup_host_describe(const struct cgroup_host *h, char *out, size_t n);

/* Makes the task's cgroups and writes the limits. Returns 0, or -errno with why filled when no
 * cgroup could be made or a requested limit has no controller (nothing is left behind then). */
int cgroup_task_create(const struct cgroup_host *h, const char *task_id,
                       const struct cgroup_limits *lim, struct cgroup_task *t, char *why,
                       size_t whylen);
bool cgroup_task_active(const struct cgroup_task *t);
/* Moves the calling process into every cgroup of the task (write "0" to cgroup.procs). Meant for
 * the command child before it drops privileges. Returns 0 or -errno; failed names the file. */
int cgroup_task_join(const struct cgroup_task *t, char *failed, size_t n);
/* Sends sig to every member. Returns how many were signalled. */
int cgroup_task_signal(const struct cgroup_task *t, int sig);
/* SIGKILL to everything in the task: cgroup.kill, else freeze + kill + thaw, then members. */
void cgroup_task_kill(const struct cgroup_task *t);
bool cgroup_task_empty(const struct cgroup_task *t);
/* CG_HIT_* bits for limits that were hit (OOM kills, refused forks). */
unsigned cgroup_task_hits(const struct cgroup_task *t);
/* rmdir of every task cgroup. Returns 0 or -EBUSY when members remain (those are kept). */
int cgroup_task_remove(const struct cgroup_task *t);

/* Removes empty `tether/<task_id>` cgroups left behind (a task whose daemons outlived it). keep()
 * says which ids are still running and must not be touched. Returns how many were removed. */
int cgroup_gc(const struct cgroup_host *h, bool (*keep)(void *ud, const char *task_id), void *ud);

/* The error of a task that hit limits (bits from cgroup_task_hits), or "" for none. */
void cgroup_limit_error(unsigned hits, const struct cgroup_limits *lim, char *out, size_t n);

#endif
