/* Per-task cgroups at run time: create, limit, join, signal, kill, inspect, remove; see cgroup.h. */
#include "task/cgroup.h"
#include "common/fsutil.h"
#include "common/ids.h"
#include "common/tm.h"

#include <dirent.h>
#include <time.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define CPU_PERIOD_US 100000

static int cg_write(const char *dir, const char *file, const char *value)
{
    char path[CG_PATH + 64];
    int fd, rc = 0;

    if (snprintf(path, sizeof path, "%s/%s", dir, file) >= (int)sizeof path)
        return -ENAMETOOLONG;
    fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    /* one write(): cgroup files take a value per write call */
    if (write(fd, value, strlen(value)) < 0)
        rc = -errno;
    if (close(fd) < 0 && !rc)
        rc = -errno;
    return rc;
}

/* Reads a small cgroup file into buf (NUL-terminated). Returns 0 or -errno. */
static int cg_read(const char *dir, const char *file, char *buf, size_t n)
{
    char path[CG_PATH + 64];
    ssize_t got;
    int fd;

    if (snprintf(path, sizeof path, "%s/%s", dir, file) >= (int)sizeof path)
        return -ENAMETOOLONG;
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    got = read(fd, buf, n - 1);
    close(fd);
    if (got < 0)
        return -errno;
    buf[got] = '\0';
    return 0;
}

/* The value of "key N" in a flat-keyed file (memory.events, pids.events, oom_control), or -1. */
static int64_t cg_keyed(const char *dir, const char *file, const char *key)
{
    char buf[2048], *p = buf;
    size_t kl = strlen(key);

    if (cg_read(dir, file, buf, sizeof buf) != 0)
        return -1;
    while (*p) {
        if (strncmp(p, key, kl) == 0 && p[kl] == ' ')
            return strtoll(p + kl + 1, NULL, 10);
        p = strchr(p, '\n');
        if (!p)
            break;
        p++;
    }
    return -1;
}

static int64_t cg_int(const char *dir, const char *file)
{
    char buf[64];

    return cg_read(dir, file, buf, sizeof buf) == 0 ? strtoll(buf, NULL, 10) : -1;
}

static bool has_word(const char *list, const char *word)
{
    size_t wl = strlen(word);

    for (const char *p = list; (p = strstr(p, word)) != NULL; p += wl)
        if ((p == list || p[-1] == ' ') && (p[wl] == ' ' || p[wl] == '\n' || p[wl] == '\0'))
            return true;
    return false;
}

bool cgroup_task_active(const struct cgroup_task *t)
{
    if (t->v2[0])
        return true;
    for (int c = 0; c < CG_NCTRL; c++)
        if (t->v1[c][0])
            return true;
    return false;
}

/* v2: tether/<id> under the mount root, with memory/pids/cpu enabled on the way down. */
static int make_v2(const struct cgroup_host *h, const char *task_id, struct cgroup_task *t,
                   char *why, size_t whylen)
{
    static const enum cgroup_ctrl want[] = { CG_MEMORY, CG_PIDS, CG_CPU };
    char parent[CG_PATH], avail[512] = "", enable[16];
    int rc;

    if (snprintf(parent, sizeof parent, "%s/tether", h->v2) >= (int)sizeof parent ||
        snprintf(t->v2, sizeof t->v2, "%s/%s", parent, task_id) >= (int)sizeof t->v2)
        return -ENAMETOOLONG;
    if (mkdir(parent, 0755) < 0 && errno != EEXIST)
        goto fail;
    cg_read(h->v2, "cgroup.controllers", avail, sizeof avail);
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        if (!has_word(avail, cgroup_ctrl_name(want[i])))
            continue;
        snprintf(enable, sizeof enable, "+%s", cgroup_ctrl_name(want[i]));
        /* best effort: a controller that cannot be enabled is taken from v1 or reported */
        cg_write(h->v2, "cgroup.subtree_control", enable);
        cg_write(parent, "cgroup.subtree_control", enable);
    }
    if (mkdir(t->v2, 0755) < 0)
        goto fail;
    avail[0] = '\0';
    cg_read(t->v2, "cgroup.controllers", avail, sizeof avail);
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
        t->v2_ctrl[want[i]] = has_word(avail, cgroup_ctrl_name(want[i]));
    return 0;
fail:
    rc = -errno;
    snprintf(why, whylen, "cannot create %.300s: %s", t->v2, strerror(errno));
    t->v2[0] = '\0';
    return rc;
}

static int make_v1(const struct cgroup_host *h, enum cgroup_ctrl c, const char *task_id,
                   struct cgroup_task *t, char *why, size_t whylen)
{
    int rc = cgroup_v1_path(h, c, task_id, t->v1[c], sizeof t->v1[c]);

    if (rc || !t->v1[c][0])
        return rc ? rc : -ENOENT;
    rc = fs_mkdir_p(t->v1[c], 0755);
    if (rc) {
        snprintf(why, whylen, "cannot create %.300s: %s", t->v1[c], strerror(-rc));
        t->v1[c][0] = '\0';
    }
    return rc;
}

/* Writes one limit to whichever cgroup has its controller. */
static int set_limit(struct cgroup_task *t, enum cgroup_ctrl c, int64_t value, char *why,
                     size_t whylen)
{
    char v[64], q[64];
    int rc = -ENOENT;

    if (t->v2_ctrl[c]) {
        snprintf(v, sizeof v, "%" PRId64, value);
        if (c == CG_MEMORY && (rc = cg_write(t->v2, "memory.max", v)) == 0)
            cg_write(t->v2, "memory.swap.max", "0"); /* absent without swap accounting */
        if (c == CG_PIDS)
            rc = cg_write(t->v2, "pids.max", v);
        snprintf(q, sizeof q, "%" PRId64 " %d", value * CPU_PERIOD_US / 100, CPU_PERIOD_US);
        if (c == CG_CPU)
            rc = cg_write(t->v2, "cpu.max", q);
    } else if (t->v1[c][0]) {
        snprintf(v, sizeof v, "%" PRId64, value);
        if (c == CG_MEMORY && (rc = cg_write(t->v1[c], "memory.limit_in_bytes", v)) == 0) {
            int m = cg_write(t->v1[c], "memory.memsw.limit_in_bytes", v);
            rc = m == -ENOENT ? 0 : m; /* no swap accounting: the RAM limit alone */
        }
        if (c == CG_PIDS)
            rc = cg_write(t->v1[c], "pids.max", v);
        if (c == CG_CPU && (rc = cg_write(t->v1[c], "cpu.cfs_period_us", "100000")) == 0) {
            snprintf(q, sizeof q, "%" PRId64, value * CPU_PERIOD_US / 100);
            rc = cg_write(t->v1[c], "cpu.cfs_quota_us", q);
        }
    }
    if (rc == -ENOENT)
        snprintf(why, whylen, "no %s controller", cgroup_ctrl_name(c));
    else if (rc)
        snprintf(why, whylen, "cannot set the %s limit: %s", cgroup_ctrl_name(c), strerror(-rc));
    return rc;
}

int cgroup_task_create(const struct cgroup_host *h, const char *task_id,
                       const struct cgroup_limits *lim, struct cgroup_task *t, char *why,
                       size_t whylen)
{
    const int64_t want[CG_NCTRL] = { lim->memory_bytes, lim->pids, lim->cpu_percent, 0 };
    char v2why[512] = "", v1why[512] = "";
    int rc = 0;

    memset(t, 0, sizeof *t);
    t->limits = *lim;
    if (!id_valid(task_id, ID_TASK)) {
        snprintf(why, whylen, "invalid task id");
        return -EINVAL;
    }
    if (h->v2[0])
        make_v2(h, task_id, t, v2why, sizeof v2why);
    for (int c = 0; c < CG_NCTRL; c++) {
        /* With a v2 cgroup to track and kill the tree, a v1 hierarchy is joined only for a limit
         * v2 cannot set: on a hybrid host each extra join costs a mkdir, a migration and an
         * rmdir on the path of every task. The freezer is only needed to kill when there is
         * no v2 cgroup.kill / cgroup.freeze. */
        if (t->v2_ctrl[c] || (t->v2[0] && (c == CG_FREEZER || want[c] <= 0)))
            continue;
        make_v1(h, (enum cgroup_ctrl)c, task_id, t, v1why, sizeof v1why);
    }
    if (!cgroup_task_active(t)) {
        snprintf(why, whylen, "%s%s%s", v2why[0] ? v2why : "", v2why[0] && v1why[0] ? "; " : "",
                 v1why[0] ? v1why : (v2why[0] ? "" : "no cgroup hierarchy is mounted"));
        return -ENOTSUP;
    }
    for (int c = 0; c < CG_FREEZER && !rc; c++)
        if (want[c] > 0)
            rc = set_limit(t, (enum cgroup_ctrl)c, want[c], why, whylen);
    if (rc) {
        cgroup_task_remove(t);
        memset(t, 0, sizeof *t);
    }
    return rc;
}

int cgroup_task_join(const struct cgroup_task *t, char *failed, size_t n)
{
    int rc;

    if (t->v2[0] && (rc = cg_write(t->v2, "cgroup.procs", "0")) != 0) {
        snprintf(failed, n, "%s", t->v2);
        return rc;
    }
    for (int c = 0; c < CG_NCTRL; c++) {
        if (t->v1[c][0] && (rc = cg_write(t->v1[c], "cgroup.procs", "0")) != 0) {
            snprintf(failed, n, "%s", t->v1[c]);
            return rc;
        }
    }
    return 0;
}

/* Calls fn(pid) for each pid listed in DIR/cgroup.procs. Returns how many were listed. */
static int each_member(const char *dir, int sig)
{
    char path[CG_PATH + 32], line[32];
    int count = 0;
    FILE *f;

    snprintf(path, sizeof path, "%s/cgroup.procs", dir);
    f = fopen(path, "re");
    if (!f)
        return 0;
    while (fgets(line, sizeof line, f)) {
        long pid = strtol(line, NULL, 10);
        if (pid > 1 && pid != getpid()) {
            count++;
            if (sig)
                kill((pid_t)pid, sig);
        }
    }
    fclose(f);
    return count;
}

int cgroup_task_signal(const struct cgroup_task *t, int sig)
{
    int n = 0;

    if (t->v2[0])
        n += each_member(t->v2, sig);
    for (int c = 0; c < CG_NCTRL; c++)
        if (t->v1[c][0])
            n += each_member(t->v1[c], sig);
    return n;
}

bool cgroup_task_empty(const struct cgroup_task *t)
{
    return cgroup_task_active(t) && cgroup_task_signal(t, 0) == 0;
}

/* v1 freezer: freeze so nothing forks while it is being killed, kill every member, thaw so the
 * SIGKILLs are delivered. */
static void kill_frozen_v1(const char *dir)
{
    char state[64] = "";

    if (cg_write(dir, "freezer.state", "FROZEN") != 0)
        return;
    for (int i = 0; i < 50; i++) {
        if (cg_read(dir, "freezer.state", state, sizeof state) != 0 ||
            strncmp(state, "FROZEN", 6) == 0)
            break;
        tm_sleep_ms(2);
    }
    each_member(dir, SIGKILL);
    cg_write(dir, "freezer.state", "THAWED");
}

void cgroup_task_kill(const struct cgroup_task *t)
{
    if (t->v2[0] && cg_write(t->v2, "cgroup.kill", "1") != 0 &&
        cg_write(t->v2, "cgroup.freeze", "1") == 0) {
        each_member(t->v2, SIGKILL);
        cg_write(t->v2, "cgroup.freeze", "0");
    }
    if (t->v1[CG_FREEZER][0])
        kill_frozen_v1(t->v1[CG_FREEZER]);
    /* whatever is still listed anywhere (a fork that raced the kill) */
    for (int round = 0; round < 3 && cgroup_task_signal(t, SIGKILL) > 0; round++)
        tm_sleep_ms(5);
}

unsigned cgroup_task_hits(const struct cgroup_task *t)
{
    unsigned hits = 0;
    int64_t v;

    if (t->limits.memory_bytes > 0) {
        if (t->v2_ctrl[CG_MEMORY])
            v = cg_keyed(t->v2, "memory.events", "oom_kill");
        else if ((v = cg_keyed(t->v1[CG_MEMORY], "memory.oom_control", "oom_kill")) < 0)
            v = cg_int(t->v1[CG_MEMORY], "memory.failcnt"); /* kernels before 4.13 */
        if (v > 0)
            hits |= CG_HIT_MEMORY;
    }
    if (t->limits.pids > 0) {
        v = cg_keyed(t->v2_ctrl[CG_PIDS] ? t->v2 : t->v1[CG_PIDS], "pids.events", "max");
        if (v > 0)
            hits |= CG_HIT_PIDS;
    }
    return hits;
}

int cgroup_task_remove(const struct cgroup_task *t)
{
    int rc = 0;

    if (t->v2[0] && rmdir(t->v2) < 0 && errno != ENOENT)
        rc = -errno;
    for (int c = 0; c < CG_NCTRL; c++)
        if (t->v1[c][0] && rmdir(t->v1[c]) < 0 && errno != ENOENT)
            rc = -errno;
    return rc;
}

static int gc_dir(const char *parent, bool (*keep)(void *, const char *), void *ud)
{
    char path[CG_PATH + 64];
    struct dirent *de;
    int removed = 0;
    DIR *d = opendir(parent);

    if (!d)
        return 0;
    while ((de = readdir(d)) != NULL) {
        if (!id_valid(de->d_name, ID_TASK) || (keep && keep(ud, de->d_name)))
            continue;
        if (snprintf(path, sizeof path, "%s/%s", parent, de->d_name) >= (int)sizeof path)
            continue;
        /* A cgroup made in the last minute may belong to a shim that has not joined it yet
         * (this agent's, or another agent's on the same host): empty is not the same as done. */
        struct stat st;
        if (stat(path, &st) == 0 && time(NULL) - st.st_mtime < 60)
            continue;
        if (rmdir(path) == 0)
            removed++;
    }
    closedir(d);
    return removed;
}

int cgroup_gc(const struct cgroup_host *h, bool (*keep)(void *ud, const char *task_id), void *ud)
{
    char parent[CG_PATH];
    int n = 0;

    if (h->v2[0] && snprintf(parent, sizeof parent, "%s/tether", h->v2) < (int)sizeof parent)
        n += gc_dir(parent, keep, ud);
    for (int c = 0; c < CG_NCTRL; c++)
        if (cgroup_v1_path(h, (enum cgroup_ctrl)c, NULL, parent, sizeof parent) == 0 && parent[0])
            n += gc_dir(parent, keep, ud);
    return n;
}
