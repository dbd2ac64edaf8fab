/*
 * The main thread's libwebsockets client: holds ws(s)://SERVER/v1/agent/ws, sends hello, acks
 * every kick/cancel, wakes the dispatcher, reconnects with full-jitter backoff (1 s -> 60 s,
 * reset after a connection that lived 30 s).
 */
#ifndef TETHER_AGENT_WS_CLIENT_H
#define TETHER_AGENT_WS_CLIENT_H

struct agent;
struct ws_client;

struct ws_client *ws_client_create(struct agent *a);
/* Runs the service loop until a->stopping. Returns 0 or -errno. */
int ws_client_run(struct ws_client *w);
/* Wakes the loop (any thread): it re-checks a->stopping and its send queue. */
void ws_client_wake(struct ws_client *w);
/* Queues a text frame (copied). Any thread. Returns 0 or -ENOMEM/-ENOBUFS. */
int ws_client_send(struct ws_client *w, const char *text);
void ws_client_destroy(struct ws_client *w);

#endif
