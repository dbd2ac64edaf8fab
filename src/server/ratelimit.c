/* Token buckets per source address; see ratelimit.h. */
#include "server/ratelimit.h"

#include <stdio.h>
#include <string.h>

void rl_init(struct ratelimit *rl, int64_t burst, int64_t per_min)
{
    memset(rl, 0, sizeof *rl);
    rl->burst = (double)(burst > 0 ? burst : 1);
    rl->per_ms = (double)(per_min > 0 ? per_min : 1) / 60000.0;
}

static unsigned addr_hash(const char *addr)
{
    unsigned h = 2166136261u;
    for (const char *p = addr; *p; p++)
        h = (h ^ (unsigned char)*p) * 16777619u;
    return h;
}

static void refill(const struct ratelimit *rl, struct rl_entry *e, int64_t now_ms)
{
    if (now_ms > e->updated_ms) {
        e->tokens += (double)(now_ms - e->updated_ms) * rl->per_ms;
        if (e->tokens > rl->burst)
            e->tokens = rl->burst;
    }
    e->updated_ms = now_ms;
}

/* Linear probing over a short window: the entry for addr, or NULL (create: a slot to reuse). */
#define RL_PROBE 16
static struct rl_entry *lookup(struct ratelimit *rl, const char *addr, int64_t now_ms, bool create)
{
    unsigned h = addr_hash(addr);
    struct rl_entry *victim = NULL;
    for (unsigned i = 0; i < RL_PROBE; i++) {
        struct rl_entry *e = &rl->slots[(h + i) % RL_SLOTS];
        if (e->addr[0] && !strcmp(e->addr, addr)) {
            refill(rl, e, now_ms);
            return e;
        }
        if (!create)
            continue;
        if (!e->addr[0]) {
            if (!victim || victim->addr[0])
                victim = e;
            continue;
        }
        refill(rl, e, now_ms);
        if (!victim || (victim->addr[0] && e->tokens > victim->tokens))
            victim = e;
    }
    if (!victim)
        return NULL;
    snprintf(victim->addr, sizeof victim->addr, "%s", addr);
    victim->tokens = rl->burst;
    victim->updated_ms = now_ms;
    return victim;
}

bool rl_blocked(struct ratelimit *rl, const char *addr, int64_t now_ms, int64_t *retry_after_s)
{
    struct rl_entry *e = lookup(rl, addr, now_ms, false);
    if (!e || e->tokens >= 1.0)
        return false;
    if (retry_after_s) {
        double ms = (1.0 - e->tokens) / rl->per_ms;
        int64_t s = ((int64_t)ms + 999) / 1000;   /* rounded up */
        *retry_after_s = s < 1 ? 1 : s;
    }
    return true;
}

void rl_fail(struct ratelimit *rl, const char *addr, int64_t now_ms)
{
    struct rl_entry *e = lookup(rl, addr, now_ms, true);
    if (!e)
        return;
    e->tokens -= 1.0;
    if (e->tokens < -rl->burst)
        e->tokens = -rl->burst;   /* a long flood does not block an address for hours */
}
