/* See waiter.h. */
#include "main/waiter.h"
#include "common/tm.h"

#include <time.h>

void waiter_init(struct waiter *w, const atomic_bool *stop)
{
    pthread_condattr_t ca;

    pthread_mutex_init(&w->lock, NULL);
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&w->cond, &ca);
    pthread_condattr_destroy(&ca);
    w->poked = false;
    w->stop = stop;
}

void waiter_destroy(struct waiter *w)
{
    pthread_cond_destroy(&w->cond);
    pthread_mutex_destroy(&w->lock);
}

void waiter_poke(struct waiter *w)
{
    pthread_mutex_lock(&w->lock);
    w->poked = true;
    pthread_cond_broadcast(&w->cond);
    pthread_mutex_unlock(&w->lock);
}

bool waiter_wait(struct waiter *w, int64_t timeout_ms)
{
    struct timespec ts;
    bool poked;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    if (timeout_ms >= 0) {
        ts.tv_sec += timeout_ms / 1000;
        ts.tv_nsec += (timeout_ms % 1000) * 1000000L;
        if (ts.tv_nsec >= 1000000000L) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000L;
        }
    }
    pthread_mutex_lock(&w->lock);
    while (!w->poked && !atomic_load(w->stop)) {
        int rc = timeout_ms >= 0 ? pthread_cond_timedwait(&w->cond, &w->lock, &ts)
                                 : pthread_cond_wait(&w->cond, &w->lock);
        if (rc)
            break; /* ETIMEDOUT */
    }
    poked = w->poked;
    w->poked = false;
    pthread_mutex_unlock(&w->lock);
    return poked;
}
