/* A flag + condition variable: how the agent's threads sleep until poked, a timeout, or stop. */
#ifndef TETHER_AGENT_WAITER_H
#define TETHER_AGENT_WAITER_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

struct waiter {
    pthread_mutex_t lock;
    pthread_cond_t cond; /* CLOCK_MONOTONIC */
    bool poked;
    const atomic_bool *stop;
};

void waiter_init(struct waiter *w, const atomic_bool *stop);
void waiter_destroy(struct waiter *w);
/* Sets the flag and wakes the sleeper. Safe from any thread (not from signal handlers). */
void waiter_poke(struct waiter *w);
/* Waits until poked, stopped, or timeout_ms elapsed (< 0: no timeout). Consumes the flag.
 * Returns true if poked. */
bool waiter_wait(struct waiter *w, int64_t timeout_ms);

#endif
