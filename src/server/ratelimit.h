/*
 * Failed-authentication limiter (ratelimit.c): one token bucket per source address. Every failed
 * authentication takes a token; an address with no token left is "blocked" until it earns one
 * back (per_min tokens a minute, at most burst). Pure: time is passed in, so tests drive it.
 * The table has a fixed size; when it is full the entry that would be unblocked soonest (the
 * fullest bucket) is reused, so a flood of spoofed-looking addresses cannot grow memory.
 */
#ifndef TETHER_SERVER_RATELIMIT_H
#define TETHER_SERVER_RATELIMIT_H

#include <stdbool.h>
#include <stdint.h>

#define RL_SLOTS 4096
#define RL_ADDR_MAX 64

struct rl_entry {
    char addr[RL_ADDR_MAX];   /* "" = free */
    double tokens;
    int64_t updated_ms;
};

struct ratelimit {
    double burst, per_ms;
    struct rl_entry slots[RL_SLOTS];
};

void rl_init(struct ratelimit *rl, int64_t burst, int64_t per_min);
/* True when addr has no token left; *retry_after_s (may be NULL) gets the seconds until it has
 * one again (at least 1). */
bool rl_blocked(struct ratelimit *rl, const char *addr, int64_t now_ms, int64_t *retry_after_s);
/* Records one failed authentication from addr. */
void rl_fail(struct ratelimit *rl, const char *addr, int64_t now_ms);

#endif
