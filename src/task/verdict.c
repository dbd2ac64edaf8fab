/* Task verdict; see verdict.h. */
#include "task/verdict.h"

#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>

void task_verdict_decide(const struct task_outcome *o, struct task_verdict *v)
{
    int st = o->wait_status;

    memset(v, 0, sizeof *v);
    if (WIFSIGNALED(st) && sigabbrev_np(WTERMSIG(st)))
        snprintf(v->signal, sizeof v->signal, "SIG%s", sigabbrev_np(WTERMSIG(st)));
    else if (WIFSIGNALED(st))
        snprintf(v->signal, sizeof v->signal, "SIG%d", WTERMSIG(st));
    if (WIFEXITED(st)) {
        v->has_exit_code = true;
        v->exit_code = WEXITSTATUS(st);
    }
    if (o->reason == KILL_TIMEOUT) {
        v->status = "timed_out";
        snprintf(v->error, sizeof v->error, "timed out after %" PRId64 " s", o->timeout_s);
    } else if (o->reason == KILL_CANCEL) {
        v->status = "cancelled";
        snprintf(v->error, sizeof v->error, "cancelled");
    } else if (o->hits) {
        /* a task cut short by its limits did not succeed, whatever its main process returned */
        v->status = "failed";
        cgroup_limit_error(o->hits, &o->limits, v->error, sizeof v->error);
    } else {
        v->status = v->has_exit_code && v->exit_code == 0 ? "succeeded" : "failed";
    }
    if (!v->error[0] && o->dropped && o->spool_errno)
        snprintf(v->error, sizeof v->error,
                 "output spool stopped: %s; %" PRIu64 " bytes dropped", strerror(o->spool_errno),
                 o->dropped);
    else if (!v->error[0] && o->dropped)
        snprintf(v->error, sizeof v->error,
                 "spool limit of %" PRId64 " bytes reached; %" PRIu64 " bytes dropped",
                 o->spool_limit, o->dropped);
}
