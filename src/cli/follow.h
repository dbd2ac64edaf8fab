/*
 * Following an invocation until every task is final: the engine behind `tether run` and
 * `tether logs -f`.
 *
 * It reads GET /v1/invocations/{id}/events (SSE). The stream replays the stored state first, so a
 * reconnect is harmless: output chunks are de-duplicated by their per-task seq. If the stream
 * breaks twice without progress (or is refused), the engine polls GET /v1/invocations/{id} and
 * fetches what it has not yet delivered from GET /v1/tasks/{id}/output?stream=…, counting bytes
 * per stream, so output is never lost silently. Bytes and status changes go to a sink.
 */
#ifndef TETHER_CLI_FOLLOW_H
#define TETHER_CLI_FOLLOW_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cli/cli.h"
#include "cli/prefix.h"
#include "cli/sse.h"
#include "common/ids.h"

struct follow_task {
    char id[ID_BUF];
    char name[72];
    json_t *obj;             /* latest task object from the server (owned) */
    bool final;
    int64_t next_seq;        /* next output seq expected from the event stream */
    uint64_t delivered[2];   /* bytes given to the sink, per stream */
    int64_t polled_bytes;    /* output_bytes at the last fetch in polling mode (-1: never) */
};

struct follow_sink {
    /* Output bytes of tasks[idx], in order. */
    void (*output)(void *ud, size_t idx, enum out_stream s, const char *data, size_t n);
    /* tasks[idx] changed state (may be NULL). */
    void (*task)(void *ud, size_t idx);
    void *ud;
};

struct follow {
    struct cli *cli;
    char inv_id[ID_BUF];
    char only_task[ID_BUF];  /* "" for all tasks */
    struct follow_task *tasks;
    size_t ntasks;
    struct follow_sink sink;
    struct sse_parser sse;
    bool ended;              /* saw the "end" event or polling found every task final */
    bool progress;           /* the current stream delivered an event */
    bool quiet;              /* no notice on stderr when falling back to polling */
};

/* tasks may be NULL or the "tasks" array of an invocation object. only_task NULL for all.
 * Returns 0 or -ENOMEM / -EINVAL (bad id). */
int follow_init(struct follow *f, struct cli *c, const char *inv_id, json_t *tasks,
                const char *only_task, const struct follow_sink *sink);
/* Updates or adds a task from its object; returns its index or -errno (invalid id, filtered out:
 * -ENOENT). */
long follow_update_task(struct follow *f, json_t *task);
/* Handles one SSE event; returns 0 to go on, 1 after "end". Exposed for tests. */
int follow_on_event(struct follow *f, const char *event, const char *data, size_t len);
/* Runs until every task is final. Returns 0, or EXIT_API after printing why. */
int follow_run(struct follow *f);
void follow_free(struct follow *f);

#endif
