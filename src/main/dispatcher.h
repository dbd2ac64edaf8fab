/*
 * Dispatcher thread: on every kick it pulls tasks (POST /v1/agent/tasks/pull {"max": free
 * slots}), validates and journals each one, applies the cancel list, and starts workers, at most
 * max_concurrent_tasks at once; the rest wait in FIFO order.
 */
#ifndef TETHER_AGENT_DISPATCHER_H
#define TETHER_AGENT_DISPATCHER_H

struct agent;
struct dispatcher;

struct dispatcher *dispatcher_create(struct agent *a);
/* Re-attaches to unfinished journal entries (before start). Returns how many. */
int dispatcher_reattach(struct dispatcher *d);
int dispatcher_start(struct dispatcher *d);
void dispatcher_kick(struct dispatcher *d);
/* Joins the dispatcher and waits for every worker to return (they stop on a->stopping). */
void dispatcher_join(struct dispatcher *d);
void dispatcher_destroy(struct dispatcher *d);

#endif
