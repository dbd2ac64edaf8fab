/*
 * schedule_kick: the fallback pull. Every poll_interval (±20 % jitter, so a fleet does not pull in
 * lockstep) and right after every WebSocket (re)connect, it wakes the dispatcher, so a lost kick
 * costs at most one interval. It also garbage-collects the journal and
 * empty task cgroups hourly.
 */
#include "bypass/bypass.h"
#include "task/cgroup_agent.h"
#include "task/journal.h"
#include "common/crypto.h"
#include "common/log.h"
#include "common/tm.h"

#define GC_EVERY_MS (3600 * 1000)
#define JOURNAL_KEEP_MS (24 * 3600 * 1000)

int64_t bypass_jitter(int64_t lo, int64_t hi)
{
    uint32_t r = 0;
    if (hi <= lo)
        return lo;
    crypto_random(&r, sizeof r);
    return lo + (int64_t)(r % (uint64_t)(hi - lo + 1));
}

void *schedule_kick_main(void *arg)
{
    struct agent *a = arg;
    int64_t last_gc = tm_mono_ms();

    while (!atomic_load(&a->stopping)) {
        int64_t base = a->cfg.poll_interval * 1000;
        bool reconnected = waiter_wait(&a->kick_fallback, bypass_jitter(base * 8 / 10, base * 12 / 10));
        if (atomic_load(&a->stopping))
            break;
        agent_kick(a, reconnected ? "connected" : "poll");
        if (tm_mono_ms() - last_gc >= GC_EVERY_MS) {
            int n = journal_gc(a->cfg.data_dir, JOURNAL_KEEP_MS);
            if (n > 0)
                log_info("journal: removed %d old entries", n);
            n = cgroup_agent_gc(a->cfg.data_dir);
            if (n > 0)
                log_info("cgroups: removed %d empty task cgroup(s)", n);
            last_gc = tm_mono_ms();
        }
    }
    return NULL;
}
