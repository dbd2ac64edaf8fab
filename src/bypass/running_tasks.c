/* Running task table; see running_tasks.h. */
#include "bypass/running_tasks.h"
#include "common/ids.h"
#include "common/log.h"
#include "common/tm.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/pidfd.h>

struct rt_entry {
    char task_id[ID_BUF];
    pid_t pid;
    int pidfd;
    int64_t deadline_mono;
    int64_t started_wall;
    bool cancel_requested, cancel_sent, timeout_sent;
};

struct running_tasks {
    pthread_mutex_t lock;
    struct rt_entry *v;
    size_t n, cap;
    struct waiter *timeouts;
};

struct running_tasks *running_tasks_create(struct waiter *timeouts)
{
    struct running_tasks *rt = calloc(1, sizeof *rt);
    if (!rt)
        return NULL;
    pthread_mutex_init(&rt->lock, NULL);
    rt->timeouts = timeouts;
    return rt;
}

void running_tasks_destroy(struct running_tasks *rt)
{
    if (!rt)
        return;
    pthread_mutex_destroy(&rt->lock);
    free(rt->v);
    free(rt);
}

static struct rt_entry *find(struct running_tasks *rt, const char *task_id)
{
    for (size_t i = 0; i < rt->n; i++)
        if (strcmp(rt->v[i].task_id, task_id) == 0)
            return &rt->v[i];
    return NULL;
}

int running_tasks_add(struct running_tasks *rt, const char *task_id, int64_t deadline_mono)
{
    int rc = 0;

    pthread_mutex_lock(&rt->lock);
    if (find(rt, task_id)) {
        rc = -EEXIST;
    } else if (rt->n == rt->cap) {
        size_t cap = rt->cap ? rt->cap * 2 : 16;
        struct rt_entry *nv = realloc(rt->v, cap * sizeof *nv);
        if (!nv)
            rc = -ENOMEM;
        else {
            rt->v = nv;
            rt->cap = cap;
        }
    }
    if (!rc) {
        struct rt_entry *e = &rt->v[rt->n++];
        memset(e, 0, sizeof *e);
        memcpy(e->task_id, task_id, ID_BUF);
        e->pidfd = -1;
        e->deadline_mono = deadline_mono;
        e->started_wall = tm_now_ms();
    }
    pthread_mutex_unlock(&rt->lock);
    if (!rc && rt->timeouts)
        waiter_poke(rt->timeouts);
    return rc;
}

static void signal_entry(struct rt_entry *e, int sig)
{
    if (e->pidfd >= 0 && pidfd_send_signal(e->pidfd, sig, NULL, 0) < 0 && errno != ESRCH)
        log_warn("task %s: cannot signal shim %d: %s", e->task_id, (int)e->pid, strerror(errno));
}

void running_tasks_set_shim(struct running_tasks *rt, const char *task_id, pid_t pid, int pidfd)
{
    struct rt_entry *e;

    pthread_mutex_lock(&rt->lock);
    if ((e = find(rt, task_id)) != NULL) {
        e->pid = pid;
        e->pidfd = pidfd;
        if (e->cancel_requested && !e->cancel_sent) {
            signal_entry(e, SIGUSR2);
            e->cancel_sent = true;
        }
    }
    pthread_mutex_unlock(&rt->lock);
}

void running_tasks_remove(struct running_tasks *rt, const char *task_id)
{
    struct rt_entry *e;

    pthread_mutex_lock(&rt->lock);
    if ((e = find(rt, task_id)) != NULL)
        *e = rt->v[--rt->n];
    pthread_mutex_unlock(&rt->lock);
}

int running_tasks_count(struct running_tasks *rt)
{
    int n;
    pthread_mutex_lock(&rt->lock);
    n = (int)rt->n;
    pthread_mutex_unlock(&rt->lock);
    return n;
}

int running_tasks_cancel(struct running_tasks *rt, const char *task_id)
{
    struct rt_entry *e;
    int rc = 0;

    pthread_mutex_lock(&rt->lock);
    if ((e = find(rt, task_id)) == NULL) {
        rc = -ENOENT;
    } else if (!e->cancel_requested) {
        e->cancel_requested = true;
        if (e->pidfd >= 0) {
            log_info("task %s: cancelling", task_id);
            signal_entry(e, SIGUSR2);
            e->cancel_sent = true;
        }
    }
    pthread_mutex_unlock(&rt->lock);
    return rc;
}

int running_tasks_check_deadlines(struct running_tasks *rt, int64_t now_mono)
{
    int n;

    pthread_mutex_lock(&rt->lock);
    for (size_t i = 0; i < rt->n; i++) {
        struct rt_entry *e = &rt->v[i];
        if (!e->timeout_sent && e->pidfd >= 0 && now_mono >= e->deadline_mono) {
            log_info("task %s: deadline reached, timing out", e->task_id);
            signal_entry(e, SIGUSR1);
            e->timeout_sent = true;
        }
    }
    n = (int)rt->n;
    pthread_mutex_unlock(&rt->lock);
    return n;
}

json_t *running_tasks_json(struct running_tasks *rt)
{
    json_t *arr = json_array();
    char ts[32];

    pthread_mutex_lock(&rt->lock);
    for (size_t i = 0; arr && i < rt->n; i++) {
        tm_format_rfc3339(rt->v[i].started_wall, ts, sizeof ts);
        json_array_append_new(arr, json_pack("{s:s, s:i, s:s}", "task_id", rt->v[i].task_id,
                                             "pid", (int)rt->v[i].pid, "started_at", ts));
    }
    pthread_mutex_unlock(&rt->lock);
    return arr;
}
