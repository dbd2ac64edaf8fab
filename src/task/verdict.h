/*
 * A finished task's status, exit code, signal and error, decided from what the shim observed.
 * Error priority: timeout/cancel, then a memory limit, a pids limit, then the spool cap.
 */
#ifndef TETHER_TASK_VERDICT_H
#define TETHER_TASK_VERDICT_H

#include <stdbool.h>
#include <stdint.h>

#include "task/cgroup.h"

enum kill_reason { KILL_NONE, KILL_TIMEOUT, KILL_CANCEL };

struct task_outcome {
    enum kill_reason reason;
    int wait_status;            /* from waitpid */
    unsigned hits;              /* CG_HIT_* */
    struct cgroup_limits limits;
    int64_t timeout_s;
    uint64_t dropped;           /* output bytes past the spool cap */
    int64_t spool_limit;
    int spool_errno;            /* why the spool stopped taking output (ENOSPC…), 0 if it did not */
};

struct task_verdict {
    const char *status;         /* static string */
    bool has_exit_code;
    int exit_code;
    char signal[32];            /* "" for none */
    char error[256];            /* "" for none */
};

void task_verdict_decide(const struct task_outcome *o, struct task_verdict *v);

#endif
