/*
 * The frame of `tether top`: a header line, the agents (name, status, running tasks, load,
 * version, last seen) and the running tasks (id, agent, running for, command), fitted to the
 * terminal. Pure: cmd_top.c fetches and draws; tests render fixed input.
 */
#ifndef TETHER_CLI_TOP_VIEW_H
#define TETHER_CLI_TOP_VIEW_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"

struct top_input {
    const char *server;        /* shown in the header */
    json_t *agents;            /* GET /v1/agents "agents" (may be NULL) */
    json_t *tasks;             /* GET /v1/tasks?status=running "tasks" (may be NULL) */
    int64_t running_total;     /* its "count": running tasks in all, listed or not */
    const char *error;         /* why the last refresh failed, or NULL */
    int64_t now_ms;
};

struct top_size {
    size_t cols;               /* 0: no limit (a snapshot to a pipe) */
    size_t rows;               /* 0: no limit */
};

#define TOP_COMMAND_COLS 60    /* command column width when cols is 0 */

/* Appends the frame to out, each line ended by eol ("\n"; "\x1b[K\n" on a screen). Remote text
 * is escaped. Returns 0 or -ENOMEM. */
int top_render(const struct top_input *in, const struct top_size *size, const char *eol,
               struct buf *out);
/* "45s", "2m05s", "1h02m", "3d04h". */
void top_fmt_duration(int64_t ms, char *out, size_t n);

#endif
