/*
 * The authoritative table of running tasks (bypass thread family): who runs, their shim's pid and
 * pidfd, their deadline. Workers add/remove entries; the WebSocket thread and the dispatcher cancel
 * through it; timeout_checker scans deadlines; status.json and heartbeats count it. Signals go
 * through pidfds so a recycled pid is never hit. (Reaping is done by each worker on its own shim's
 * pidfd, so this table needs no thread of its own.)
 */
#ifndef TETHER_BYPASS_RUNNING_TASKS_H
#define TETHER_BYPASS_RUNNING_TASKS_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "main/waiter.h"

struct running_tasks;

/* timeouts is poked when a task is added (the checker sleeps while the table is empty). */
struct running_tasks *running_tasks_create(struct waiter *timeouts);
void running_tasks_destroy(struct running_tasks *rt);
/* Reserves an entry before the shim exists. Returns 0, -EEXIST or -ENOMEM. */
int running_tasks_add(struct running_tasks *rt, const char *task_id, int64_t deadline_mono);
/* Records the shim; delivers a cancel that arrived in the meantime. The table does not own pidfd. */
void running_tasks_set_shim(struct running_tasks *rt, const char *task_id, pid_t pid, int pidfd);
void running_tasks_remove(struct running_tasks *rt, const char *task_id);
int running_tasks_count(struct running_tasks *rt);
/* Cancels a task: SIGUSR2 to its shim now, or as soon as it has one. -ENOENT if not running. */
int running_tasks_cancel(struct running_tasks *rt, const char *task_id);
/* Sends SIGUSR1 (time out) to shims past their deadline, once. Returns the number of entries. */
int running_tasks_check_deadlines(struct running_tasks *rt, int64_t now_mono);
/* [{"task_id","pid","started_at"}...] for status.json. New reference. */
json_t *running_tasks_json(struct running_tasks *rt);

#endif
