/*
 * timeout_checker: once a second while tasks run, signal the shims past their deadline (the shim
 * then does TERM -> kill_grace -> KILL on the whole tree). Sleeps without a timeout while the
 * table is empty, so an idle agent gets no wakeups from here.
 */
#include "bypass/bypass.h"
#include "bypass/running_tasks.h"
#include "common/tm.h"

void *timeout_checker_main(void *arg)
{
    struct agent *a = arg;

    while (!atomic_load(&a->stopping)) {
        int n = running_tasks_check_deadlines(a->rt, tm_mono_ms());
        waiter_wait(&a->timeouts, n > 0 ? 1000 : -1);
    }
    return NULL;
}
